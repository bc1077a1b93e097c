//! `vswarm up`: the cluster file made real, convergently.
//!
//! In order: the cluster's lock; a preflight that reads VirtualBox (version, host-only
//! interfaces, DHCP servers, all at once) and decides the network without changing anything, so
//! that a CIDR VirtualBox would refuse is reported at its line before anything exists; the ISO;
//! the network (only the calls that change something); then every node in parallel, each from
//! VM to Docker answering over mutual TLS; the swarm; the stacks with their checks; the docker
//! context. Run again, it makes no changing VirtualBox call.
//!
//! The record is written before each thing is made, so Ctrl-C or a crash at any point leaves a
//! state the next `up` completes and `down` removes. A failed `up` removes the VMs it created
//! (unless told to keep them).
//!
//! The phases live in `network` (preflight and the host-only network), `machines` (the nodes),
//! `swarm` (the swarm, the stacks, the docker context) and `report` (what `up` returns); this
//! module runs them in order, and rolls back on failure.

mod machines;
mod network;
mod report;
mod swarm;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use swarm_bootstrap::provision::EngineOptions;
use swarm_bootstrap::ssh::KnownHosts;
use swarm_bootstrap::tls::ClusterCa;
use vbox_driver::driver::Driver;
use vbox_driver::hostonly::{AppliedNetwork, InterfaceAction};
use vbox_driver::virtualbox::VirtualBoxDriver;

use self::machines::Machines;
pub use self::report::{NodeReport, PortReport, StackReport, UpReport};
use super::Session;
use crate::cluster::ClusterSpec;
use crate::error::{Doing, Result};
use crate::events::{Event, Phase, Reporter};
use crate::state::{ClusterDir, ClusterRecord, IsoRecord};

/// How `up` behaves on failure.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// Keep the VMs a failed `up` created (to look at them), rather than removing them.
    pub keep_on_failure: bool,
}

/// The record, shared by the nodes' tasks; every change is written at once.
struct Recorder {
    dir: ClusterDir,
    record: Mutex<ClusterRecord>,
    /// Nodes fixed at an address in this run: their recorded address is current (another
    /// node's record may name one its VM, recreated in this run, no longer has).
    fixed_now: Mutex<HashSet<String>>,
}

impl Recorder {
    fn update(&self, change: impl FnOnce(&mut ClusterRecord)) -> Result<()> {
        let mut record = self.record.lock().unwrap_or_else(|e| e.into_inner());
        change(&mut record);
        self.dir.write_record(&record)
    }

    fn snapshot(&self) -> ClusterRecord {
        self.record
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Brings the cluster `spec` up (or converges it).
pub async fn up(
    session: &Session<'_>,
    spec: &ClusterSpec,
    options: &UpOptions,
) -> Result<UpReport> {
    let started = Instant::now();
    let dir = session.dir(&spec.name);
    let _lock = session.lock(&spec.name, "up").await?;
    let existing = dir.read_record()?;
    let record = existing.clone().unwrap_or_else(|| ClusterRecord {
        format: 2,
        name: spec.name.clone(),
        id: uuid::Uuid::new_v4().to_string(),
        ..ClusterRecord::default()
    });

    let phase = PhaseTimer::start(session.reporter, Phase::Preflight);
    let pre = network::preflight(session, spec, &record).await?;
    phase.done(format!(
        "VirtualBox {}; network {} {}",
        pre.version,
        pre.plan.net,
        match &pre.plan.interface {
            InterfaceAction::Keep(i) => format!("on {i}"),
            InterfaceAction::Configure(i) => format!("to configure on {i}"),
            InterfaceAction::Create => "on a new interface".to_string(),
        }
    ));

    let recorder = Arc::new(Recorder {
        dir: dir.clone(),
        record: Mutex::new(record),
        fixed_now: Mutex::new(HashSet::new()),
    });
    recorder.update(|r| {
        r.file = spec.file.clone();
        if r.id.is_empty() {
            r.id = uuid::Uuid::new_v4().to_string();
        }
    })?;

    let iso = boot_iso(session, spec, &recorder.snapshot()).await?;
    recorder.update(|r| {
        r.iso = Some(IsoRecord {
            source: spec.iso.clone(),
            path: iso.clone(),
        })
    })?;

    let phase = PhaseTimer::start(session.reporter, Phase::Network);
    let network = network::set_up_network(&pre, &recorder, session, spec).await?;
    phase.done(format!(
        "{} on {}{}",
        network.network.host,
        network.network.interface,
        match (network.created_interface, network.fixed_link) {
            (true, _) => " (created)",
            (false, true) => " (brought up)",
            _ => "",
        }
    ));

    // (node, VM) pairs this run created.
    let created_now: Arc<Mutex<Vec<(String, String)>>> = Arc::new(Mutex::new(Vec::new()));
    let driver = crate::ops::driver(
        pre.vbm.clone(),
        network.network.clone(),
        &dir,
        &recorder.snapshot(),
    )
    .with_nat_localhost_reachable(pre.version.major >= 7);
    let outcome = converge(
        session,
        spec,
        &recorder,
        &driver,
        &iso,
        &created_now,
        started,
        &network,
    )
    .await;
    match outcome {
        Ok(report) => Ok(report),
        Err(e) => {
            let created: Vec<(String, String)> = created_now
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            if options.keep_on_failure || created.is_empty() {
                return Err(e);
            }
            let phase = PhaseTimer::start(session.reporter, Phase::Rollback);
            let known = KnownHosts::new(dir.known_hosts());
            let removed =
                futures::future::join_all(created.iter().map(|(_, vm)| driver.remove(vm))).await;
            let mut kept = Vec::new();
            let created: Vec<String> = created.into_iter().map(|(node, _)| node).collect();
            for (name, result) in created.iter().zip(removed) {
                match result {
                    Ok(()) => {
                        let _ = known.forget(name);
                        recorder.update(|r| r.nodes.retain(|n| &n.name != name))?;
                    }
                    Err(err) => {
                        session.warn(format!("could not remove {name} after the failure: {err}"));
                        kept.push(name.clone());
                    }
                }
            }
            phase.done(format!(
                "removed the VMs this run created ({}){}",
                created.join(", "),
                if kept.is_empty() {
                    String::new()
                } else {
                    format!("; kept {}", kept.join(", "))
                }
            ));
            Err(e)
        }
    }
}

/// The ISO the cluster boots: the one its record names while the file asks for the same, else
/// the one the file names (or the latest release), pulled into the cache.
async fn boot_iso(
    session: &Session<'_>,
    spec: &ClusterSpec,
    record: &ClusterRecord,
) -> Result<PathBuf> {
    if let Some(iso) = &record.iso
        && iso.source == spec.iso
        && iso.path.exists()
    {
        PhaseTimer::start(session.reporter, Phase::Iso)
            .done(format!("{} (the cluster's own)", iso.path.display()));
        return Ok(iso.path.clone());
    }
    crate::ops::images::pull(
        session,
        spec.iso.as_deref(),
        spec.iso_sha256.as_deref(),
        images::PullPolicy::PreferCached,
    )
    .await
    .map(|image| image.path)
}

/// Everything after the network: nodes, swarm, stacks, context.
#[allow(clippy::too_many_arguments)]
async fn converge(
    session: &Session<'_>,
    spec: &ClusterSpec,
    recorder: &Arc<Recorder>,
    driver: &VirtualBoxDriver,
    iso: &Path,
    created_now: &Arc<Mutex<Vec<(String, String)>>>,
    started: Instant,
    network: &AppliedNetwork,
) -> Result<UpReport> {
    let dir = &recorder.dir;
    let public_key = dir.ensure_key()?;
    let ca = ClusterCa::load_or_create(&dir.tls(), &spec.name)
        .doing("preparing the cluster's TLS material")?;
    let client = ca
        .client_files(&dir.client())
        .doing("preparing the client certificate")?;
    let known = KnownHosts::new(dir.known_hosts());
    let mut labels = vec!["provider=virtualbox".to_string()];
    labels.extend(spec.engine.labels.iter().cloned());
    let engine_options = EngineOptions {
        labels,
        ..spec.engine.clone()
    };

    let ready = Machines {
        reporter: session.reporter,
        recorder,
        driver,
        iso,
        public_key: &public_key,
        ca: &ca,
        client: &client,
        known: &known,
        options: &engine_options,
        created_now,
    }
    .bring_all(&spec.nodes)
    .await?;
    let (leader_name, leader) = swarm::form(session, recorder, &ready).await?;
    let stacks = swarm::deploy_stacks(session, spec, recorder, &leader, &ready).await?;
    let context = swarm::write_context(session, &spec.name, &leader, &client, recorder);
    let orphans = report::orphans(session, spec, &recorder.snapshot());
    Ok(UpReport {
        cluster: spec.name.clone(),
        seconds: started.elapsed().as_secs_f64(),
        leader: leader_name,
        context,
        network: network.network.host.to_string(),
        interface: network.network.interface.clone(),
        nodes: ready.iter().map(NodeReport::from).collect(),
        stacks,
        orphans,
    })
}

/// A phase's start and end, as events.
pub(crate) struct PhaseTimer<'a> {
    reporter: &'a dyn Reporter,
    phase: Phase,
    start: Instant,
}

impl<'a> PhaseTimer<'a> {
    pub(crate) fn start(reporter: &'a dyn Reporter, phase: Phase) -> PhaseTimer<'a> {
        reporter.event(Event::PhaseStarted {
            phase: phase.clone(),
        });
        PhaseTimer {
            reporter,
            phase,
            start: Instant::now(),
        }
    }

    pub(crate) fn done(self, detail: impl Into<String>) {
        self.reporter.event(Event::PhaseDone {
            phase: self.phase,
            detail: detail.into(),
            elapsed: self.start.elapsed(),
        });
    }
}
