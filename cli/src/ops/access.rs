//! Reaching a cluster's nodes: `ls`, `ip`, `env`, `inspect`, `ssh` and `scp`.
//!
//! `ssh` and `scp` run the system's OpenSSH client (interactive sessions need its terminal
//! handling) with a configuration vswarm writes for the cluster: each node is a `Host` whose
//! key is pinned in the cluster's `known_hosts` (strict checking, the user's own ssh
//! configuration not consulted). vswarm's own work over SSH goes through its library.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use swarm_bootstrap::ssh::SshConnection;
use vbox_driver::driver::{Driver, MachineState};
use vbox_driver::virtualbox::machine_states;

use super::{Cluster, Session, Target, locate_virtualbox};
use crate::cluster::{DEFAULT_FILE, Role};
use crate::error::{Doing, Error, InputError, Result};
use crate::shell::Shell;
use crate::state::{NodeRecord, recorded_clusters};

/// A cluster as `ls` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterListing {
    pub cluster: String,
    pub file: Option<PathBuf>,
    pub network: Option<String>,
    pub leader: Option<String>,
    pub nodes: Vec<NodeListing>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeListing {
    pub name: String,
    pub role: Role,
    pub state: &'static str,
    pub ip: Option<String>,
    pub docker_host: Option<String>,
}

/// The clusters `target` designates: one with a file or a name (or `./vswarm.yml`), every
/// recorded cluster otherwise. One round of VirtualBox calls for all their nodes.
pub async fn ls(session: &Session<'_>, target: &Target) -> Result<Vec<ClusterListing>> {
    let clusters: Vec<Cluster> = match target {
        Target::Here if !std::path::Path::new(DEFAULT_FILE).exists() => {
            recorded_clusters(&session.home)
                .iter()
                .filter_map(|name| {
                    let dir = session.dir(name);
                    let record = dir.read_record().ok().flatten()?;
                    Some(Cluster { dir, record })
                })
                .collect()
        }
        _ => vec![session.cluster(target, None)?],
    };
    let vms: Vec<String> = clusters
        .iter()
        .flat_map(|c| c.record.nodes.iter().map(|n| n.vm.clone()))
        .collect();
    let states = if vms.is_empty() {
        Default::default()
    } else {
        let vbm = locate_virtualbox()?;
        machine_states(&vbm, &vms)
            .await
            .doing("asking VirtualBox the VMs' states")?
    };
    Ok(clusters
        .iter()
        .map(|c| ClusterListing {
            cluster: c.record.name.clone(),
            file: c.record.file.clone(),
            network: c.record.network.as_ref().map(|n| n.cidr.clone()),
            leader: c.record.leader.clone(),
            nodes: c
                .record
                .nodes
                .iter()
                .map(|n| NodeListing {
                    name: n.name.clone(),
                    role: n.role,
                    state: states
                        .get(&n.vm)
                        .copied()
                        .unwrap_or(MachineState::Missing)
                        .as_str(),
                    ip: n.ip.clone(),
                    docker_host: n.ip.as_ref().map(|ip| format!("tcp://{ip}:2376")),
                })
                .collect(),
        })
        .collect())
}

/// A node's host-only address, as the running VM reports it.
pub async fn ip(session: &Session<'_>, target: &Target, name: &str) -> Result<String> {
    let cluster = session.cluster(target, Some(name))?;
    let node = cluster.node(name)?;
    let vbm = locate_virtualbox()?;
    let mut driver = super::driver(vbm, cluster.network(), &cluster.dir, &cluster.record);
    let state = driver
        .state(&node.vm)
        .await
        .doing(format!("asking VirtualBox the state of {name}"))?;
    if state != MachineState::Running {
        return Err(Error::message(
            format!("finding the address of {name}"),
            format!("{name} is {state}"),
        )
        .with_help(format!("start it with `vswarm start {name}`")));
    }
    driver.ip_timeout = Duration::from_secs(30);
    let ip = driver
        .ip(&node.vm)
        .await
        .doing(format!("finding the address of {name}"))?;
    // A node fixed at an address has it from its boot script on, while the guest additions may
    // report the lease it replaced until their next round (10 s): the guest is asked.
    if let Some(pinned) = node
        .pinned
        .as_deref()
        .and_then(|p| p.parse::<std::net::Ipv4Addr>().ok())
        .filter(|p| *p != ip)
        && guest_has_address(&cluster, node, pinned).await
    {
        return Ok(pinned.to_string());
    }
    Ok(ip.to_string())
}

/// Whether the node's guest has `ip` on an interface (asked over SSH, its host key pinned).
async fn guest_has_address(
    cluster: &super::Cluster,
    node: &crate::state::NodeRecord,
    ip: std::net::Ipv4Addr,
) -> bool {
    let Ok(target) = cluster.ssh_target(node) else {
        return false;
    };
    let Ok(ssh) = swarm_bootstrap::ssh::SshConnection::connect(
        &target,
        &cluster.known_hosts(),
        Duration::from_secs(10),
    )
    .await
    else {
        return false;
    };
    ssh.run("ip -4 addr show").await.is_ok_and(|out| {
        swarm_bootstrap::provision::interface_addresses(&out)
            .iter()
            .any(|(_, a, _)| *a == ip)
    })
}

/// The variables that point the docker CLI at a node (the leader when none is named).
pub fn env(
    session: &Session<'_>,
    target: &Target,
    name: Option<&str>,
) -> Result<Vec<(&'static str, String)>> {
    let cluster = session.cluster(target, name)?;
    let node = match name {
        Some(n) => cluster.node(n)?.clone(),
        None => {
            let leader = cluster.record.leader.clone().ok_or_else(|| {
                Error::from(
                    InputError::new("the cluster has no leader recorded")
                        .help("name a node: `vswarm env NODE`"),
                )
            })?;
            cluster.node(&leader)?.clone()
        }
    };
    let ip = cluster.ip(&node)?;
    Ok(vec![
        ("DOCKER_TLS_VERIFY", "1".to_string()),
        ("DOCKER_HOST", format!("tcp://{ip}:2376")),
        (
            "DOCKER_CERT_PATH",
            cluster.dir.client().display().to_string(),
        ),
        ("DOCKER_MACHINE_NAME", node.name.clone()),
    ])
}

/// The script `vswarm env` prints.
pub fn env_script(vars: &[(&str, String)], shell: Shell, args: &str) -> String {
    shell.script(vars, args)
}

/// Everything vswarm knows about a node, for `inspect`.
#[derive(Debug, Clone, Serialize)]
pub struct NodeInspection {
    pub name: String,
    pub cluster: String,
    pub role: Role,
    pub leader: bool,
    pub state: &'static str,
    pub ip: Option<String>,
    pub vm: VmInspection,
    pub docker: DockerInspection,
    pub ssh: SshInspection,
}

#[derive(Debug, Clone, Serialize)]
pub struct VmInspection {
    pub name: String,
    pub uuid: Option<String>,
    pub cpus: Option<u32>,
    pub memory_mb: Option<u32>,
    pub settings_file: Option<String>,
    pub iso: Option<String>,
    pub disk: Option<String>,
    pub hostonly_adapter: Option<String>,
    pub mac: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DockerInspection {
    pub host: Option<String>,
    pub tls_verify: bool,
    pub cert_path: PathBuf,
    pub context: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SshInspection {
    pub host: &'static str,
    pub port: Option<u16>,
    pub user: &'static str,
    pub key: PathBuf,
    pub known_hosts: PathBuf,
    pub config: PathBuf,
}

pub async fn inspect(session: &Session<'_>, target: &Target, name: &str) -> Result<NodeInspection> {
    let cluster = session.cluster(target, Some(name))?;
    let node = cluster.node(name)?.clone();
    let vbm = locate_virtualbox()?;
    let driver = super::driver(vbm, cluster.network(), &cluster.dir, &cluster.record);
    let info = driver
        .info(&node.vm)
        .await
        .doing(format!("asking VirtualBox about {name}"))?;
    let state = info
        .as_ref()
        .map(|i| vbox_driver::virtualbox::state_of(i).as_str())
        .unwrap_or(MachineState::Missing.as_str());
    let nic = info.as_ref().and_then(|i| i.nic(2));
    Ok(NodeInspection {
        name: node.name.clone(),
        cluster: cluster.name().to_string(),
        role: node.role,
        leader: cluster.record.leader.as_deref() == Some(name),
        state,
        ip: node.ip.clone(),
        vm: VmInspection {
            name: node.vm.clone(),
            uuid: info.as_ref().and_then(|i| i.uuid().map(str::to_string)),
            cpus: info.as_ref().and_then(|i| i.cpus()),
            memory_mb: info.as_ref().and_then(|i| i.memory_mb()),
            settings_file: info.as_ref().and_then(|i| i.cfg_file().map(str::to_string)),
            iso: info.as_ref().and_then(|i| i.storage("SATA", 0, 0)),
            disk: info.as_ref().and_then(|i| i.storage("SATA", 1, 0)),
            hostonly_adapter: nic.as_ref().and_then(|n| n.hostonly_adapter.clone()),
            mac: nic.and_then(|n| n.mac),
        },
        docker: DockerInspection {
            host: node.ip.as_ref().map(|ip| format!("tcp://{ip}:2376")),
            tls_verify: true,
            cert_path: cluster.dir.client(),
            context: cluster.record.context.clone(),
        },
        ssh: SshInspection {
            host: "127.0.0.1",
            port: node.ssh_port,
            user: "docker",
            key: cluster.dir.key(),
            known_hosts: cluster.dir.known_hosts(),
            config: cluster.dir.ssh_config(),
        },
    })
}

/// A program for the binary to run in the foreground, its exit status becoming vswarm's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct External {
    pub program: String,
    pub args: Vec<String>,
}

/// `ssh` to a node, with `command` (its words) or an interactive shell.
pub async fn ssh(
    session: &Session<'_>,
    target: &Target,
    name: &str,
    command: &[String],
) -> Result<External> {
    let cluster = session.cluster(target, Some(name))?;
    let node = cluster.node(name)?.clone();
    let config = prepare_ssh(&cluster, &[&node]).await?;
    let mut args = vec!["-F".to_string(), config.display().to_string()];
    if command.is_empty() {
        args.push("-t".into());
    }
    args.push(node.name.clone());
    if !command.is_empty() {
        // As ssh itself does: the words are joined and the node's shell reads them, so a
        // quoted pipeline (`-- 'ps | grep docker'`) runs there.
        args.push("--".into());
        args.push(command.join(" "));
    }
    Ok(External {
        program: "ssh".into(),
        args,
    })
}

/// `scp` between the host and nodes: `NODE:PATH` names a node's file.
pub async fn scp(
    session: &Session<'_>,
    target: &Target,
    paths: &[String],
    recursive: bool,
) -> Result<External> {
    let nodes: Vec<&str> = paths.iter().filter_map(|p| remote_node(p)).collect();
    if nodes.is_empty() {
        return Err(InputError::new("none of the paths names a node")
            .help("write a node's file as NODE:PATH, such as node-01:/tmp/file")
            .into());
    }
    let cluster = session.cluster(target, nodes.first().copied())?;
    let records: Vec<&NodeRecord> = nodes
        .iter()
        .map(|n| cluster.node(n))
        .collect::<Result<_>>()?;
    let config = prepare_ssh(&cluster, &records).await?;
    let mut args = vec!["-F".to_string(), config.display().to_string(), "-q".into()];
    if recursive {
        args.push("-r".into());
    }
    if nodes.len() > 1 {
        // Node to node: through the host.
        args.push("-3".into());
    }
    args.extend(paths.iter().cloned());
    Ok(External {
        program: "scp".into(),
        args,
    })
}

/// The node a `NODE:PATH` argument names (local paths have no colon before a slash).
fn remote_node(path: &str) -> Option<&str> {
    let (node, _) = path.split_once(':')?;
    (!node.is_empty() && !node.contains('/')).then_some(node)
}

/// Writes the cluster's ssh configuration (every node a Host) and pins the keys of `nodes`
/// not pinned yet (first contact through vswarm's own client). Returns the file.
async fn prepare_ssh(cluster: &Cluster, nodes: &[&NodeRecord]) -> Result<PathBuf> {
    let known = cluster.known_hosts();
    for node in nodes {
        if known
            .recorded(&node.name)
            .doing("reading the pinned host keys")?
            .is_none()
        {
            let target = cluster.ssh_target(node)?;
            SshConnection::connect(&target, &known, Duration::from_secs(20))
                .await
                .doing(format!("connecting to {} over SSH", node.name))?;
        }
    }
    let mut text =
        String::from("# Written by vswarm for the cluster's nodes: ssh -F THIS-FILE NODE\n");
    for n in &cluster.record.nodes {
        let Some(port) = n.ssh_port else { continue };
        let _ = write!(
            text,
            "\nHost {name}\n  HostName 127.0.0.1\n  Port {port}\n  User docker\n  IdentityFile \"{key}\"\n  IdentitiesOnly yes\n  HostKeyAlias {name}\n  UserKnownHostsFile \"{known}\"\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  PasswordAuthentication no\n  LogLevel ERROR\n",
            name = n.name,
            key = cluster.dir.key().display(),
            known = cluster.dir.known_hosts().display(),
        );
    }
    let path = cluster.dir.ssh_config();
    crate::state::write_private(&path, text.as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_paths_name_their_node() {
        assert_eq!(remote_node("node-01:/tmp/x"), Some("node-01"));
        assert_eq!(remote_node("./local:file"), None);
        assert_eq!(remote_node("/abs/path"), None);
        assert_eq!(remote_node("file.txt"), None);
    }
}
