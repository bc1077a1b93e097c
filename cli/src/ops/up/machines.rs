//! `up`'s machines: every node from VM to Docker answering over mutual TLS, in parallel, and
//! the address each node is fixed at.
//!
//! A node is recorded before its VM is made and as soon as its address is chosen, so that an
//! interrupted `up` leaves a record naming every VM it may have made, and nodes coming up
//! together never pick the same address.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use futures::future::join_all;
use swarm_bootstrap::engine::Engine;
use swarm_bootstrap::provision::{
    Boot2Docker, EngineOptions, FixedAddress, NodeAccess, provision_node,
};
use swarm_bootstrap::ssh::{KnownHosts, SshTarget};
use swarm_bootstrap::tls::{ClientFiles, ClusterCa};
use vbox_driver::driver::{Created, Driver, NodeSpec, UpStep};
use vbox_driver::hostonly::HostOnlyNetwork;
use vbox_driver::virtualbox::VirtualBoxDriver;

use super::{PhaseTimer, Recorder};
use crate::cluster::{Availability, NodeEntry, Role};
use crate::error::{Doing, Result};
use crate::events::{Event, NodeStep, Phase, Reporter};
use crate::ops::vm_name;
use crate::state::{ClusterRecord, NodeRecord};

/// What every node's bring-up shares: the cluster's record, its driver, the boot image, the
/// keys and the engine's options.
pub(super) struct Machines<'a> {
    pub(super) reporter: &'a dyn Reporter,
    pub(super) recorder: &'a Recorder,
    pub(super) driver: &'a VirtualBoxDriver,
    pub(super) iso: &'a Path,
    pub(super) public_key: &'a str,
    pub(super) ca: &'a ClusterCa,
    pub(super) client: &'a ClientFiles,
    pub(super) known: &'a KnownHosts,
    pub(super) options: &'a EngineOptions,
    /// (node, VM) pairs this run created: what a failed `up` removes.
    pub(super) created_now: &'a Mutex<Vec<(String, String)>>,
}

/// A node that is up, provisioned and answering.
pub(super) struct ReadyNode {
    pub(super) name: String,
    pub(super) role: Role,
    pub(super) ip: IpAddr,
    pub(super) ssh_port: u16,
    pub(super) created: bool,
    pub(super) changed: Vec<&'static str>,
    pub(super) engine: Engine,
    pub(super) labels: BTreeMap<String, String>,
    pub(super) availability: Option<Availability>,
}

impl Machines<'_> {
    /// Every node brought up in parallel (the machines phase); the first failure is the
    /// phase's.
    pub(super) async fn bring_all(&self, nodes: &[NodeEntry]) -> Result<Vec<ReadyNode>> {
        let phase = PhaseTimer::start(self.reporter, Phase::Machines);
        let nodes = join_all(nodes.iter().map(|n| self.bring(n))).await;
        let mut ready = Vec::new();
        let mut first_error = None;
        for r in nodes {
            match r {
                Ok(n) => ready.push(n),
                Err(e) if first_error.is_none() => first_error = Some(e),
                Err(_) => {}
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        let created: Vec<&str> = ready
            .iter()
            .filter(|n| n.created)
            .map(|n| n.name.as_str())
            .collect();
        phase.done(format!(
            "{} nodes answering over mutual TLS{}",
            ready.len(),
            if created.is_empty() {
                String::new()
            } else {
                format!(" ({} new)", created.len())
            }
        ));
        Ok(ready)
    }

    /// One node from VM to Docker answering over mutual TLS.
    async fn bring(&self, node: &NodeEntry) -> Result<ReadyNode> {
        let Machines {
            reporter,
            recorder,
            driver,
            iso,
            public_key,
            ca,
            client,
            known,
            options,
            created_now,
        } = *self;
        let start = Instant::now();
        let name = node.name.clone();
        let step = |s: NodeStep| {
            reporter.event(Event::NodeStep {
                node: name.clone(),
                step: s,
                elapsed: start.elapsed(),
            })
        };
        let mut vm = vm_name(&recorder.snapshot().name, &name);
        recorder.update(|r| match r.node_mut(&name) {
            Some(n) => {
                n.role = node.role;
                vm = n.vm.clone();
            }
            None => r.nodes.push(NodeRecord {
                name: name.clone(),
                role: node.role,
                vm: vm.clone(),
                ip: None,
                ssh_port: None,
                made: false,
                pinned: None,
            }),
        })?;
        // A node fixed on a network the cluster left (VirtualBox refused it) comes up there first.
        let moved_from = recorder
            .snapshot()
            .node(&name)
            .and_then(|n| n.pinned.as_deref())
            .and_then(|p| p.parse::<Ipv4Addr>().ok())
            .filter(|p| !driver.network().host.trunc().contains(p));
        let vm_spec = NodeSpec {
            moved_from,
            name: vm.clone(),
            cpus: node.cpus,
            memory_mb: node.memory,
            disk_mb: node.disk,
            iso: iso.to_path_buf(),
            ssh_public_key: public_key.to_string(),
        };
        let on_step = |s: UpStep| {
            if s == UpStep::Creating {
                // From here the VM is this run's: recorded as made (before `createvm`), removed by
                // a failed run, and its host key is new.
                let _ = recorder.update(|r| {
                    if let Some(n) = r.node_mut(&name) {
                        n.made = true;
                    }
                });
                created_now
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((name.clone(), vm.clone()));
                let _ = known.forget(&name);
            }
            step(match s {
                UpStep::Creating => NodeStep::Creating,
                UpStep::Configuring => NodeStep::Configuring,
                UpStep::Starting => NodeStep::Starting,
                UpStep::WaitingForIp => NodeStep::WaitingForIp,
            })
        };
        let up = driver
            .bring_up(&vm_spec, &on_step)
            .await
            .doing(format!("bringing up the VM of {name}"))?;
        // Chosen and recorded at once: nodes coming up together see each other's choice.
        let mut ip = up.ip;
        {
            let mut fixed_now = recorder.fixed_now.lock().unwrap_or_else(|e| e.into_inner());
            let created: Vec<String> = created_now
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .map(|(node, _)| node.clone())
                .collect();
            // Another node's fixed address counts unless its VM was made in this run and it has
            // not been fixed in this run yet (the record then names its old VM's address).
            let current =
                |other: &str| !created.iter().any(|c| c == other) || fixed_now.contains(other);
            recorder.update(|r| {
                ip = fixed_address(
                    r,
                    node,
                    up.ip,
                    driver.network(),
                    up.created == Created::New,
                    &current,
                );
                if let Some(n) = r.node_mut(&name) {
                    n.ssh_port = Some(up.ssh.port);
                    n.pinned = Some(ip.to_string());
                }
            })?;
            fixed_now.insert(name.clone());
        }
        step(NodeStep::Provisioning);
        let access = NodeAccess {
            name: name.clone(),
            ssh: SshTarget {
                node: name.clone(),
                host: up.ssh.host.clone(),
                port: up.ssh.port,
                user: up.ssh.user.clone(),
                key: recorder.dir.key(),
            },
            ip: IpAddr::V4(ip),
            fixed: Some(FixedAddress {
                prefix: driver.network().host.prefix_len(),
            }),
        };
        let (report, engine) = provision_node(&Boot2Docker, &access, ca, client, known, options)
            .await
            .doing(format!("provisioning Docker on {name}"))?;
        recorder.update(|r| {
            if let Some(n) = r.node_mut(&name) {
                n.ip = Some(ip.to_string());
                n.pinned = Some(ip.to_string());
            }
        })?;
        reporter.event(Event::NodeDone {
            node: name.clone(),
            detail: format!(
                "{} {}",
                ip,
                if up.created == Created::New {
                    "(new)"
                } else {
                    ""
                }
            )
            .trim_end()
            .to_string(),
            elapsed: start.elapsed(),
        });
        Ok(ReadyNode {
            name,
            role: node.role,
            ip: IpAddr::V4(ip),
            ssh_port: up.ssh.port,
            created: up.created == Created::New,
            changed: report.changed,
            engine,
            labels: node.labels.clone(),
            availability: node.availability,
        })
    }
}

/// The address a node is fixed at: the cluster file's `ip`, else the one it was fixed at
/// before (unless its VM is new: a new machine takes a new address, as a recreated
/// docker-machine one does), else the one it came up at (its first lease), unless another node
/// of the cluster is fixed there (a DHCP server that forgot its leases) or it is off the network
/// (a moved network): then the highest address of the pool no node is fixed at (DHCP servers
/// lend from the bottom).
fn fixed_address(
    record: &ClusterRecord,
    node: &NodeEntry,
    came_up_at: Ipv4Addr,
    network: &HostOnlyNetwork,
    new_vm: bool,
    current: &dyn Fn(&str) -> bool,
) -> Ipv4Addr {
    let pool = &network.dhcp;
    let network = network.host.trunc();
    if let Some(ip) = node.ip {
        return ip;
    }
    let held: Vec<Ipv4Addr> = record
        .nodes
        .iter()
        .filter(|n| n.name != node.name && current(&n.name))
        .filter_map(|n| n.pinned.as_deref())
        .filter_map(|ip| ip.parse().ok())
        .filter(|ip| network.contains(ip))
        .collect();
    // A fixed address off the network (the network moved: VirtualBox refuses the old one) is
    // given up for the one the node came up at on the new network.
    if let Some(ip) = record
        .node(&node.name)
        .and_then(|n| n.pinned.as_deref())
        .and_then(|ip| ip.parse().ok())
        .filter(|ip| network.contains(ip) && !new_vm)
    {
        return ip;
    }
    // The node may come up at its old fixed address on a network the cluster left (its boot
    // script set it before the guest reported its new lease): that address is no choice.
    if network.contains(&came_up_at) && !held.contains(&came_up_at) {
        return came_up_at;
    }
    (u32::from(pool.lower)..=u32::from(pool.upper))
        .rev()
        .map(Ipv4Addr::from)
        .find(|a| !held.contains(a) && *a != came_up_at)
        .unwrap_or(came_up_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vbox_driver::hostonly::{DhcpRange, HostOnlyKind};

    fn network() -> HostOnlyNetwork {
        HostOnlyNetwork {
            interface: "vboxnet0".into(),
            host: "192.168.56.1/24".parse().expect("net"),
            dhcp: DhcpRange {
                server: "192.168.56.100".parse().expect("ip"),
                lower: "192.168.56.101".parse().expect("ip"),
                upper: "192.168.56.254".parse().expect("ip"),
            },
            kind: HostOnlyKind::default(),
        }
    }

    fn node(name: &str) -> NodeEntry {
        NodeEntry {
            name: name.into(),
            role: Role::Worker,
            cpus: 1,
            memory: 1024,
            disk: 20000,
            labels: Default::default(),
            availability: None,
            ip: None,
            ip_at: None,
        }
    }

    fn record(pins: &[(&str, &str)]) -> ClusterRecord {
        ClusterRecord {
            nodes: pins
                .iter()
                .map(|(name, ip)| NodeRecord {
                    name: name.to_string(),
                    role: Role::Worker,
                    vm: format!("c-{name}"),
                    ip: Some(ip.to_string()),
                    ssh_port: None,
                    made: true,
                    pinned: Some(ip.to_string()),
                })
                .collect(),
            ..ClusterRecord::default()
        }
    }

    #[test]
    fn a_node_that_came_up_at_its_old_network_address_gets_one_on_the_new_network() {
        // Its boot script set the address of the network the cluster left before the guest
        // reported its new lease.
        let r = record(&[("a", "192.168.99.101"), ("b", "192.168.56.254")]);
        let ip = fixed_address(
            &r,
            &node("a"),
            "192.168.99.101".parse().expect("ip"),
            &network(),
            false,
            &|_| true,
        );
        assert_eq!(ip.to_string(), "192.168.56.253");
    }

    #[test]
    fn a_node_keeps_its_address_and_a_lease_another_node_holds_is_not_taken() {
        let r = record(&[("a", "192.168.56.101"), ("b", "192.168.56.102")]);
        let net = network();
        let keep = fixed_address(
            &r,
            &node("a"),
            "192.168.56.105".parse().expect("ip"),
            &net,
            false,
            &|_| true,
        );
        assert_eq!(keep.to_string(), "192.168.56.101");
        let r = record(&[("b", "192.168.56.101")]);
        let other = fixed_address(
            &r,
            &node("a"),
            "192.168.56.101".parse().expect("ip"),
            &net,
            true,
            &|_| true,
        );
        assert_eq!(other.to_string(), "192.168.56.254");
    }
}
