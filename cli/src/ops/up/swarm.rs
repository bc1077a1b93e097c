//! `up`'s swarm and its stacks: the ready nodes formed into a swarm, each stack of the cluster
//! file deployed on it, waited for and its published ports probed, and the docker context
//! pointed at the leader.
//!
//! These run after every node answers and one after the other: each needs the leader the
//! swarm phase found.

use std::net::IpAddr;
use std::time::Duration;

use swarm_bootstrap::deploy::deploy_stack;
use swarm_bootstrap::engine::Engine;
use swarm_bootstrap::stack::StackSpec;
use swarm_bootstrap::swarm::{Role as SwarmRole, SwarmMember, form_swarm};
use swarm_bootstrap::tls::ClientFiles;
use swarm_bootstrap::verify::{probe_ports, wait_for_stack};

use super::machines::ReadyNode;
use super::report::{PortReport, StackReport};
use super::{PhaseTimer, Recorder};
use crate::cluster::{ClusterSpec, Role};
use crate::context::{DockerContext, context_name, docker_config_dir};
use crate::error::{Doing, Error, Result};
use crate::events::Phase;
use crate::ops::Session;
use crate::state::StackRecord;

/// Forms the swarm of the ready nodes (the swarm phase) and records its leader; returns the
/// leader's name and a client of its daemon.
pub(super) async fn form(
    session: &Session<'_>,
    recorder: &Recorder,
    ready: &[ReadyNode],
) -> Result<(String, Engine)> {
    let phase = PhaseTimer::start(session.reporter, Phase::Swarm);
    let members: Vec<SwarmMember> = ready
        .iter()
        .map(|n| SwarmMember {
            engine: n.engine.clone(),
            role: match n.role {
                Role::Manager => SwarmRole::Manager,
                Role::Worker => SwarmRole::Worker,
            },
            labels: n.labels.clone().into_iter().collect(),
            availability: n.availability.map(|a| a.to_string()),
        })
        .collect();
    // A swarm whose managers were all just created is gone: nodes still in it were in a swarm
    // of this cluster's VMs, and leave it to join the new one.
    let managers_all_new = ready
        .iter()
        .filter(|n| n.role == Role::Manager)
        .all(|n| n.created);
    let summary = form_swarm(&members, managers_all_new)
        .await
        .doing("forming the swarm")?;
    phase.done(format!(
        "led by {}: {} joined, {} already in",
        summary.leader,
        summary.joined.len(),
        summary.unchanged.len()
    ));
    let leader = ready
        .iter()
        .find(|n| n.name == summary.leader)
        .map(|n| n.engine.clone())
        .ok_or_else(|| Error::message("forming the swarm", "the leader is not among the nodes"))?;
    recorder.update(|r| r.leader = Some(summary.leader.clone()))?;
    Ok((summary.leader, leader))
}

/// Deploys each stack of the cluster file on the leader (a phase each), waits for it to run and
/// probes its published ports on every node.
pub(super) async fn deploy_stacks(
    session: &Session<'_>,
    spec: &ClusterSpec,
    recorder: &Recorder,
    leader: &Engine,
    ready: &[ReadyNode],
) -> Result<Vec<StackReport>> {
    let targets: Vec<(String, IpAddr)> = ready.iter().map(|n| (n.name.clone(), n.ip)).collect();
    let mut stacks = Vec::new();
    for entry in &spec.stacks {
        let phase = PhaseTimer::start(session.reporter, Phase::Stack(entry.name.clone()));
        for warning in &entry.warnings {
            session.warn(format!("stack {}: {warning}", entry.name));
        }
        let report = deploy_stack(leader, &entry.spec)
            .await
            .doing(format!("deploying the stack {}", entry.name))?;
        wait_for_stack(leader, &entry.name, Duration::from_secs(300))
            .await
            .doing(format!("waiting for the stack {} to run", entry.name))?;
        let ports = check_ports(&entry.spec, &targets).await;
        let answered: usize = ports.iter().map(|p| p.answered).sum();
        let probed: usize = ports.iter().map(|p| p.probed).sum();
        phase.done(format!(
            "{} created, {} updated, {} unchanged; {answered}/{probed} port checks answered",
            report.services_created.len(),
            report.services_updated.len(),
            report.services_unchanged.len(),
        ));
        recorder.update(|r| {
            r.stacks.retain(|s| s.name != entry.name);
            r.stacks.push(StackRecord {
                name: entry.name.clone(),
                file: entry.file.clone(),
            });
        })?;
        stacks.push(StackReport {
            name: entry.name.clone(),
            created: report.services_created,
            updated: report.services_updated,
            unchanged: report.services_unchanged,
            ports,
        });
    }
    Ok(stacks)
}

/// Probes every published port of a stack on every node.
async fn check_ports(stack: &StackSpec, nodes: &[(String, IpAddr)]) -> Vec<PortReport> {
    let mut reports = Vec::new();
    {
        for p in stack.published_ports() {
            let published = p.published;
            let probes = if p.protocol == "tcp" {
                probe_ports(nodes, &[published]).await
            } else {
                Vec::new()
            };
            let urls: Vec<String> = probes
                .iter()
                .filter(|pr| pr.answer.is_ok())
                .map(|pr| format!("http://{}:{}/", pr.ip, pr.port))
                .collect();
            reports.push(PortReport {
                service: p.service.clone(),
                port: published,
                protocol: p.protocol.clone(),
                mode: if p.mode == "host" { "host" } else { "ingress" },
                answered: urls.len(),
                probed: probes.len(),
                urls,
            });
        }
    }
    reports
}

/// Writes the cluster's docker context (pointing at the leader); a failure is a warning, not a
/// failed `up`.
pub(super) fn write_context(
    session: &Session<'_>,
    cluster: &str,
    leader: &Engine,
    client: &ClientFiles,
    recorder: &Recorder,
) -> Option<String> {
    let phase = PhaseTimer::start(session.reporter, Phase::Context);
    let name = context_name(cluster);
    let Some(config) = docker_config_dir() else {
        session
            .warn("no home folder for the docker CLI's configuration: no docker context written");
        return None;
    };
    let context = DockerContext::new(&config, &name);
    let host = format!("tcp://{}:2376", leader.ip);
    match context.write(
        &format!("vswarm cluster {cluster}"),
        &host,
        &client.ca,
        &client.cert,
        &client.key,
    ) {
        Ok(()) => {
            let _ = recorder.update(|r| r.context = Some(name.clone()));
            phase.done(format!("{name} -> {host}"));
            Some(name)
        }
        Err(e) => {
            session.warn(format!("could not write the docker context {name}: {e}"));
            None
        }
    }
}
