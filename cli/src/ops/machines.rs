//! `vswarm start|stop|restart|kill [NODE...]` and `vswarm rm NODE`: nodes' VMs, as
//! docker-machine's commands of those names, with the swarm kept in step.

use std::time::{Duration, Instant};

use serde::Serialize;
use swarm_bootstrap::engine::Engine;
use swarm_bootstrap::provision::{
    Boot2Docker, FixedAddress, ensure_fixed_address, renew_server_certificate,
};
use swarm_bootstrap::swarm::remove_member;
use swarm_bootstrap::tls::ClusterCa;
use vbox_driver::driver::Driver;
use vbox_driver::virtualbox::VirtualBoxDriver;

use super::{Cluster, Session, Target, locate_virtualbox};
use crate::cluster::Role;
use crate::context::{DockerContext, docker_config_dir};
use crate::error::{Doing, Error, Result};
use crate::events::{Event, NodeStep};
use crate::state::NodeRecord;

/// What happened to a node.
#[derive(Debug, Clone, Serialize)]
pub struct NodeChange {
    pub node: String,
    /// `started`, `stopped`, `killed`, `restarted`, `removed`.
    pub action: &'static str,
    pub ip: Option<String>,
    pub seconds: f64,
}

/// The VM action of [`power`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    Start,
    Stop,
    Restart,
    Kill,
}

/// Starts, stops, restarts or kills `names` (all nodes when empty), in parallel. A started
/// node is waited for until Docker answers; if DHCP gave it a new address, it gets a new
/// server certificate first.
pub async fn power(
    session: &Session<'_>,
    target: &Target,
    names: &[String],
    what: Power,
) -> Result<Vec<NodeChange>> {
    let hint = names.first().map(String::as_str);
    let cluster = session.cluster(target, hint)?;
    let command = match what {
        Power::Start => "start",
        Power::Stop => "stop",
        Power::Restart => "restart",
        Power::Kill => "kill",
    };
    let _lock = session.lock(cluster.name(), command).await?;
    let mut cluster = Cluster {
        record: cluster.dir.read_record()?.unwrap_or(cluster.record.clone()),
        dir: cluster.dir,
    };
    let chosen = cluster.chosen(names)?;
    let vbm = locate_virtualbox()?;
    let driver = super::driver(vbm, cluster.network(), &cluster.dir, &cluster.record);
    let results = futures::future::join_all(
        chosen
            .iter()
            .map(|n| power_one(session, &cluster, &driver, n, what)),
    )
    .await;
    let mut changes = Vec::new();
    let mut first_error = None;
    for r in results {
        match r {
            Ok(change) => {
                if let Some(ip) = &change.ip
                    && let Some(n) = cluster.record.node_mut(&change.node)
                {
                    n.ip = Some(ip.clone());
                }
                changes.push(change);
            }
            Err(e) if first_error.is_none() => first_error = Some(e),
            Err(_) => {}
        }
    }
    cluster.write()?;
    match first_error {
        Some(e) => Err(e),
        None => Ok(changes),
    }
}

async fn power_one(
    session: &Session<'_>,
    cluster: &Cluster,
    driver: &VirtualBoxDriver,
    node: &NodeRecord,
    what: Power,
) -> Result<NodeChange> {
    let start = Instant::now();
    let step = |s| {
        session.reporter.event(Event::NodeStep {
            node: node.name.clone(),
            step: s,
            elapsed: start.elapsed(),
        })
    };
    let stop = |kill: bool| async move {
        step(if kill {
            NodeStep::Killing
        } else {
            NodeStep::Stopping
        });
        if kill {
            driver.kill(&node.vm).await
        } else {
            driver.stop(&node.vm).await
        }
        .doing(format!("stopping {}", node.name))
    };
    let (action, ip) = match what {
        Power::Stop => {
            stop(false).await?;
            ("stopped", None)
        }
        Power::Kill => {
            stop(true).await?;
            ("killed", None)
        }
        Power::Start => (
            "started",
            Some(start_node(session, cluster, driver, node, &step).await?),
        ),
        Power::Restart => {
            stop(false).await?;
            (
                "restarted",
                Some(start_node(session, cluster, driver, node, &step).await?),
            )
        }
    };
    session.reporter.event(Event::NodeDone {
        node: node.name.clone(),
        detail: action.to_string(),
        elapsed: start.elapsed(),
    });
    Ok(NodeChange {
        node: node.name.clone(),
        action,
        ip,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Starts a node's VM and waits until its Docker answers over TLS at its address.
async fn start_node(
    session: &Session<'_>,
    cluster: &Cluster,
    driver: &VirtualBoxDriver,
    node: &NodeRecord,
    step: &(dyn Fn(NodeStep) + Sync),
) -> Result<String> {
    step(NodeStep::Starting);
    driver
        .start(&node.vm)
        .await
        .doing(format!("starting {}", node.name))?;
    step(NodeStep::WaitingForIp);
    let ip = driver
        .ip(&node.vm)
        .await
        .doing(format!("waiting for the address of {}", node.name))?;
    let client = cluster.client();
    // A node with a fixed address comes up at it (its boot script sets it); the guest
    // additions may first report the DHCP lease the script replaces, so the guest is asked.
    let fixed = node
        .pinned
        .as_deref()
        .and_then(|p| p.parse::<std::net::Ipv4Addr>().ok())
        .zip(cluster.network_prefix());
    let ip = match fixed {
        Some((pinned, prefix)) => {
            if ip != pinned {
                let access = cluster.access(node, pinned.into(), Some(FixedAddress { prefix }))?;
                let changed = ensure_fixed_address(&Boot2Docker, &access, &cluster.known_hosts())
                    .await
                    .doing(format!("setting the fixed address of {}", node.name))?;
                if !changed.is_empty() {
                    session.warn(format!(
                        "{}'s boot script had not set its address {pinned} (it came up at {ip}): set it",
                        node.name
                    ));
                }
            }
            pinned
        }
        None => ip,
    };
    if node.ip.as_deref() != Some(ip.to_string().as_str()) {
        // DHCP moved it: its certificate must name the new address. Docker restarts at boot
        // anyway, so restarting it now stops nothing that was running.
        session.warn(format!(
            "{} came back at {ip} (was {}): issuing its certificate for the new address",
            node.name,
            node.ip.as_deref().unwrap_or("unknown")
        ));
        step(NodeStep::Renewing);
        let ca = ClusterCa::load_or_create(&cluster.dir.tls(), cluster.name())
            .doing("reading the cluster's CA")?;
        let access = cluster.access(node, ip.into(), None)?;
        renew_server_certificate(
            &Boot2Docker,
            &access,
            &ca,
            &client,
            &cluster.known_hosts(),
            true,
        )
        .await
        .doing(format!("renewing the certificate of {}", node.name))?;
    }
    Engine::wait_until_answering(&node.name, ip.into(), &client, Duration::from_secs(120))
        .await
        .doing(format!("waiting for Docker on {}", node.name))?;
    Ok(ip.to_string())
}

/// Removes one node: it leaves the swarm first (demoted if it managed), then its VM and every
/// file vswarm wrote for it go. `force` removes the VM even when the swarm cannot be reached.
pub async fn rm(
    session: &Session<'_>,
    target: &Target,
    name: &str,
    force: bool,
) -> Result<NodeChange> {
    let cluster = session.cluster(target, Some(name))?;
    let _lock = session.lock(cluster.name(), "rm").await?;
    let mut cluster = Cluster {
        record: cluster.dir.read_record()?.unwrap_or(cluster.record.clone()),
        dir: cluster.dir,
    };
    let node = cluster.node(name)?.clone();
    let start = Instant::now();
    session.reporter.event(Event::NodeStep {
        node: name.to_string(),
        step: NodeStep::Removing,
        elapsed: Duration::ZERO,
    });
    // A manager other than this node carries out the removal.
    let others: Vec<NodeRecord> = cluster
        .record
        .nodes
        .iter()
        .filter(|n| n.name != name && n.role == Role::Manager)
        .cloned()
        .collect();
    let mut manager = None;
    for m in &others {
        if let Ok(e) = cluster.engine(m, Duration::from_secs(5)).await {
            manager = Some((m.name.clone(), e));
            break;
        }
    }
    let member = cluster.engine(&node, Duration::from_secs(5)).await.ok();
    match (&manager, &member) {
        (Some((_, leader)), _) => remove_member(leader, member.as_ref(), name)
            .await
            .doing(format!("taking {name} out of the swarm"))?,
        (None, Some(only)) if others.is_empty() && node.role == Role::Manager => {
            return Err(Error::message(
                format!("removing {name}"),
                format!("{name} is the swarm's only manager"),
            )
            .with_help("`vswarm down` removes the whole cluster"));
        }
        (None, Some(worker)) if !force => {
            return Err(Error::message(
                format!("removing {name}"),
                "no manager of the swarm answers, so the node cannot be taken out of it",
            )
            .with_help(format!(
                "start the managers (`vswarm start`), or `vswarm rm --force {name}` to remove the VM anyway; worker {} answers",
                worker.node
            )));
        }
        _ if !force => {
            return Err(Error::message(
                format!("removing {name}"),
                "neither the swarm's managers nor the node answer",
            )
            .with_help(format!(
                "start the cluster (`vswarm start`), or `vswarm rm --force {name}` to remove the VM anyway"
            )));
        }
        _ => session.warn(format!(
            "the swarm cannot be reached: {name} stays listed in it until a manager removes it (docker node rm)"
        )),
    }
    let vbm = locate_virtualbox()?;
    let driver = super::driver(vbm, cluster.network(), &cluster.dir, &cluster.record);
    driver
        .remove(&node.vm)
        .await
        .doing(format!("removing the VM of {name}"))?;
    cluster
        .known_hosts()
        .forget(name)
        .doing("forgetting the node's host key")?;
    cluster.record.nodes.retain(|n| n.name != name);
    if cluster.record.leader.as_deref() == Some(name) {
        cluster.record.leader = manager.as_ref().map(|(m, _)| m.clone());
        if let (Some((_, e)), Some(context), Some(config)) =
            (&manager, &cluster.record.context, docker_config_dir())
        {
            let client = cluster.client();
            let host = format!("tcp://{}:2376", e.ip);
            DockerContext::new(&config, context).write(
                &format!("vswarm cluster {}", cluster.name()),
                &host,
                &client.ca,
                &client.cert,
                &client.key,
            )?;
        }
    }
    cluster.write()?;
    if let Some(file) = &cluster.record.file
        && crate::cluster::ClusterSpec::load(file)
            .ok()
            .is_some_and(|s| s.nodes.iter().any(|n| n.name == name))
    {
        session.note(format!(
            "{name} is still in {}: the next `vswarm up` creates it again",
            file.display()
        ));
    }
    Ok(NodeChange {
        node: name.to_string(),
        action: "removed",
        ip: None,
        seconds: start.elapsed().as_secs_f64(),
    })
}
