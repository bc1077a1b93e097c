//! `vswarm down`: the cluster gone, and everything vswarm made for it: its VMs, the host-only
//! interface and DHCP server when vswarm created them and no other VM uses them, the docker
//! context, and the cluster's folder. Works from the record, which names what vswarm made
//! (also what an interrupted `up` may have made).

use serde::Serialize;
use vbox_driver::driver::Driver;
use vbox_driver::hostonly::{remove_hostonly_network, survey_hostonly, vms_on_hostonly};

use super::{Session, Target, locate_virtualbox, recorded_network};
use crate::context::{DockerContext, docker_config_dir};
use crate::error::{Doing, Result};
use crate::events::{Event, Phase};
use crate::ops::up::PhaseTimer;

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
    let Some(cluster) = session.find_cluster(target, None)? else {
        session.note("no cluster of that name has been brought up: nothing to remove");
        return Ok(DownReport::default());
    };
    let name = cluster.name().to_string();
    let _lock = session.lock(&name, "down").await?;
    // Read again under the lock: an `up` may have finished meanwhile.
    let record = cluster.dir.read_record()?.unwrap_or(cluster.record.clone());
    let mut report = DownReport {
        cluster: name.clone(),
        ..DownReport::default()
    };
    let phase = PhaseTimer::start(session.reporter, Phase::Teardown);
    let vbm = locate_virtualbox()?;
    let driver = super::driver(vbm.clone(), recorded_network(&record), &cluster.dir);
    let removals = futures::future::join_all(record.nodes.iter().map(|n| async {
        session.reporter.event(Event::NodeStep {
            node: n.name.clone(),
            step: crate::events::NodeStep::Removing,
            elapsed: std::time::Duration::ZERO,
        });
        driver.remove(&n.vm).await
    }))
    .await;
    for (n, result) in record.nodes.iter().zip(removals) {
        result.doing(format!("removing the VM of {}", n.name))?;
        report.vms.push(n.name.clone());
    }

    if let Some(net) = &record.network {
        // An interrupted `up` may have made an interface it did not get to record.
        let interface = match (&net.interface, &net.creating_since) {
            (Some(i), _) => Some(i.clone()),
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
                remove_hostonly_network(&vbm, &interface, remove_dhcp, remove_interface)
                    .await
                    .doing(format!("removing the host-only network {interface}"))?;
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

    if let Some(context) = &record.context
        && let Some(config) = docker_config_dir()
    {
        DockerContext::new(&config, context).remove()?;
        report.context = Some(context.clone());
    }
    cluster.dir.remove()?;
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
