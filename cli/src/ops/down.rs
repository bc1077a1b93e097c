//! `vswarm down`: the cluster gone, and everything vswarm made for it: its VMs, the host-only
//! interface and DHCP server when vswarm created them and no other VM uses them, the docker
//! context, and the cluster's folder. Works from the record, which names what vswarm made
//! (also what an interrupted `up` may have made).

use serde::Serialize;
use vbox_driver::driver::Driver;
use vbox_driver::hostonly::{
    list_hostonly_networks, remove_hostonly_net, remove_hostonly_network, survey_hostonly,
    vms_on_hostonly,
};
use vbox_driver::virtualbox::{VirtualBoxError, marked_vms};

use super::{Session, Target, locate_virtualbox, recorded_network};
use crate::context::{DockerContext, docker_config_dir};
use crate::error::{Doing, Result};
use crate::events::{Event, Phase};
use crate::ops::up::PhaseTimer;
use crate::state::ClusterRecord;

/// What `down` removed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DownReport {
    pub cluster: String,
    pub vms: Vec<String>,
    /// The host-only interface, when vswarm made it and nothing else uses it.
    pub interface: Option<String>,
    pub dhcp_server: bool,
    /// Why the network was left in place, when it was.
    pub network_kept: Option<String>,
    pub context: Option<String>,
}

pub async fn down(session: &Session<'_>, target: &Target) -> Result<DownReport> {
    let Some(name) = session.cluster_name(target, None)? else {
        session.note("no cluster has been brought up: nothing to remove");
        return Ok(DownReport::default());
    };
    let dir = session.dir(&name);
    let file_nodes = session.file_nodes(target);
    let _lock = session.lock(&name, "down").await?;
    // Read under the lock: an `up` may have finished meanwhile. A damaged record is no reason
    // to keep the cluster: what carries its mark goes.
    let record = match dir.read_record() {
        Ok(record) => record,
        Err(e) => {
            session.warn(format!(
                "{e}; removing the VMs that carry the cluster's mark instead"
            ));
            None
        }
    };
    if record.is_none() && file_nodes.is_none() && !dir.root.exists() {
        session.note(format!(
            "the cluster '{name}' has not been brought up: nothing to remove"
        ));
        return Ok(DownReport::default());
    }
    let mut report = DownReport {
        cluster: name.clone(),
        ..DownReport::default()
    };
    let phase = PhaseTimer::start(session.reporter, Phase::Teardown);
    let vbm = locate_virtualbox()?;
    // What to remove: the VMs the record names, those the file names, and (without a record)
    // every VM marked as this cluster's, whatever its id.
    let known = record.clone().unwrap_or_else(|| ClusterRecord {
        name: name.clone(),
        ..ClusterRecord::default()
    });
    let mut owner = super::owner(&known);
    let mut candidates: Vec<(String, String)> = known
        .nodes
        .iter()
        .map(|n| (n.name.clone(), n.vm.clone()))
        .collect();
    for node in file_nodes.unwrap_or_default() {
        if !candidates.iter().any(|(n, _)| *n == node) {
            candidates.push((node.clone(), super::vm_name(&name, &node)));
        }
    }
    if record.is_none() {
        owner.tag = format!("{name}/");
        for vm in marked_vms(&vbm, &owner)
            .await
            .doing("looking for the cluster's VMs")?
        {
            if !candidates.iter().any(|(_, v)| *v == vm) {
                candidates.push((vm.clone(), vm));
            }
        }
    }
    let driver =
        super::driver(vbm.clone(), recorded_network(&known), &dir, &known).with_owner(owner);
    let removals = futures::future::join_all(candidates.iter().map(|(node, vm)| async {
        session.reporter.event(Event::NodeStep {
            node: node.clone(),
            step: crate::events::NodeStep::Removing,
            elapsed: std::time::Duration::ZERO,
        });
        driver.remove(vm).await
    }))
    .await;
    for ((node, vm), result) in candidates.iter().zip(removals) {
        match result {
            Ok(()) => report.vms.push(node.clone()),
            Err(VirtualBoxError::NotOurs { .. }) => {
                session.note(format!("{vm} is not this cluster's VM: left as it is"))
            }
            Err(e) => return Err(e).doing(format!("removing the VM of {node}")),
        }
    }

    if let Some(net) = &known.network {
        // An interrupted `up` may have made an interface it did not get to record.
        let interface = match (&net.interface, &net.creating_since) {
            (Some(i), _) => Some(i.clone()),
            (None, Some(before)) if net.hostonlynet => list_hostonly_networks(&vbm)
                .await
                .doing("reading VirtualBox's host-only networks")?
                .into_iter()
                .find(|n| !before.contains(&n.name))
                .map(|n| n.name),
            (None, Some(before)) => survey_hostonly(&vbm)
                .await
                .doing("reading VirtualBox's host-only networks")?
                .interfaces
                .into_iter()
                .find(|i| !before.contains(&i.name))
                .map(|i| i.name),
            (None, None) => None,
        };
        let made = net.created_interface || net.created_dhcp || net.creating_since.is_some();
        if let Some(interface) = interface.filter(|_| made) {
            let users = vms_on_hostonly(&vbm, &interface)
                .await
                .doing("checking which VMs use the host-only network")?;
            if users.is_empty() {
                let remove_interface = net.created_interface || net.creating_since.is_some();
                let remove_dhcp = net.created_dhcp || net.creating_since.is_some();
                if net.hostonlynet {
                    if remove_interface {
                        remove_hostonly_net(&vbm, &interface)
                            .await
                            .doing(format!("removing the host-only network {interface}"))?;
                    }
                } else {
                    remove_hostonly_network(&vbm, &interface, remove_dhcp, remove_interface)
                        .await
                        .doing(format!("removing the host-only network {interface}"))?;
                    crate::state::MadeNetworks::update(&session.home, |m| {
                        if remove_interface {
                            m.interfaces.retain(|i| *i != interface);
                        }
                        if remove_dhcp {
                            let netname = vbox_driver::hostonly::dhcp_network_name(&interface);
                            m.dhcp_servers.retain(|d| *d != netname);
                        }
                    })?;
                }
                report.dhcp_server = remove_dhcp;
                if remove_interface {
                    report.interface = Some(interface);
                }
            } else {
                let why = format!("{interface} is still used by {}", users.join(", "));
                session.note(format!("{why}: the network stays"));
                report.network_kept = Some(why);
            }
        }
    }

    if let Some(context) = &known.context
        && let Some(config) = docker_config_dir()
    {
        DockerContext::new(&config, context).remove()?;
        report.context = Some(context.clone());
    }
    dir.remove()?;
    phase.done(format!(
        "{} VMs removed{}",
        report.vms.len(),
        match &report.interface {
            Some(i) => format!(", {i} and its DHCP server removed"),
            None => String::new(),
        }
    ));
    Ok(report)
}
