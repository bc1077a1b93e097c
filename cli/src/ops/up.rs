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

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use swarm_bootstrap::deploy::deploy_stack;
use swarm_bootstrap::engine::Engine;
use swarm_bootstrap::provision::{
    Boot2Docker, EngineOptions, FixedAddress, NodeAccess, provision_node,
};
use swarm_bootstrap::ssh::{KnownHosts, SshTarget};
use swarm_bootstrap::swarm::{Role as SwarmRole, SwarmMember, form_swarm};
use swarm_bootstrap::tls::{ClientFiles, ClusterCa};
use swarm_bootstrap::verify::{probe_ports, wait_for_stack};
use vbox_driver::driver::{Created, Driver, NodeSpec, UpStep};
use vbox_driver::hostonly::{
    AppliedNetwork, HostOnlyKind, HostOnlySurvey, InterfaceAction, NetworkError, NetworkPlan,
    NetworkRequest, apply_network_plan, list_hostonly_networks, plan_hostonly_network,
    survey_hostonly, uses_hostonly_networks,
};
use vbox_driver::parse::VBoxVersion;
use vbox_driver::runner::VBoxManage;
use vbox_driver::virtualbox::VirtualBoxDriver;

use super::{Session, locate_virtualbox};
use crate::cluster::{ClusterSpec, NodeEntry, Role};
use crate::context::{DockerContext, context_name, docker_config_dir};
use crate::error::{Doing, Error, InputError, Result};
use crate::events::{Event, NodeStep, Phase, Reporter};
use crate::state::{ClusterDir, ClusterRecord, IsoRecord, NetworkRecord, NodeRecord, StackRecord};

/// How `up` behaves on failure.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// Keep the VMs a failed `up` created (to look at them), rather than removing them.
    pub keep_on_failure: bool,
}

/// What `up` brought up.
#[derive(Debug, Clone, Serialize)]
pub struct UpReport {
    pub cluster: String,
    pub seconds: f64,
    pub leader: String,
    /// The docker context written for the cluster.
    pub context: Option<String>,
    pub network: String,
    pub interface: String,
    pub nodes: Vec<NodeReport>,
    pub stacks: Vec<StackReport>,
    /// Nodes in the record that the cluster file no longer lists.
    pub orphans: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeReport {
    pub name: String,
    pub role: Role,
    pub state: &'static str,
    pub ip: String,
    pub docker_host: String,
    pub ssh_port: u16,
    /// The VM was created by this run.
    pub created: bool,
    /// What provisioning changed (`certificates`, `docker restarted`, ...).
    pub changed: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StackReport {
    pub name: String,
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    pub ports: Vec<PortReport>,
}

/// A published port and where it answers.
#[derive(Debug, Clone, Serialize)]
pub struct PortReport {
    pub service: String,
    pub port: u16,
    pub protocol: String,
    /// `ingress` or `host`.
    pub mode: &'static str,
    /// `http://IP:PORT/` on each node that answered HTTP.
    pub urls: Vec<String>,
    /// Nodes probed, and how many answered.
    pub probed: usize,
    pub answered: usize,
}

/// The record, shared by the nodes' tasks; every change is written at once.
struct Recorder {
    dir: ClusterDir,
    record: Mutex<ClusterRecord>,
    /// Nodes fixed at an address in this run: their recorded address is current (another
    /// node's record may name one its VM, recreated in this run, no longer has).
    fixed_now: Mutex<std::collections::HashSet<String>>,
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

/// What the preflight found: VirtualBox and the network's plan.
struct Preflight {
    vbm: VBoxManage,
    version: VBoxVersion,
    /// VirtualBox makes host-only networks, not adapters (7.x on macOS).
    networks: bool,
    request: NetworkRequest,
    survey: HostOnlySurvey,
    plan: NetworkPlan,
    /// An interface an interrupted run created (found by the record's `creating_since`).
    claimed: Option<String>,
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
    let pre = preflight(session, spec, &record).await?;
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
        fixed_now: Mutex::new(std::collections::HashSet::new()),
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
    let network = set_up_network(&pre, &recorder, session, spec).await?;
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
    let driver = super::driver(
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

/// Reads VirtualBox (version, interfaces, DHCP servers, at once), checks the host and decides
/// the network. Changes nothing.
async fn preflight(
    session: &Session<'_>,
    spec: &ClusterSpec,
    record: &ClusterRecord,
) -> Result<Preflight> {
    let vbm = locate_virtualbox()?;
    let (version_out, survey) = tokio::join!(vbm.run(&["--version"]), survey_hostonly(&vbm));
    let version_out = version_out.doing("asking VirtualBox its version")?;
    let version = vbox_driver::parse::parse_version(&version_out.stdout)
        .doing("reading VirtualBox's version")?;
    if (version.major, version.minor) < vbox_driver::virtualbox::MINIMUM_VERSION {
        return Err(Error::message(
            "checking VirtualBox",
            format!("VirtualBox {version} is too old: vswarm needs 5.0 or later"),
        )
        .with_help("upgrade VirtualBox"));
    }
    for problem in vbox_driver::host::check_host(&version_out.stdout) {
        if problem.blocking {
            return Err(Error::message("checking the host", problem.what).with_help(problem.fix));
        }
        session.warn(format!("{} (fix: {})", problem.what, problem.fix));
    }
    let mut survey = survey.doing("reading VirtualBox's host-only networks")?;
    // Whether VirtualBox makes host-only networks here is asked once per cluster: the record
    // keeps the kind of network it got (a no-op `up` makes no extra call).
    let networks = match record.network.as_ref() {
        Some(n) if n.interface.is_some() => n.hostonlynet,
        _ => uses_hostonly_networks(&vbm, &version)
            .await
            .doing("asking VirtualBox about the host")?,
    };
    if networks {
        survey.networks = Some(
            list_hostonly_networks(&vbm)
                .await
                .doing("reading VirtualBox's host-only networks")?,
        );
    }
    let recorded = record.network.as_ref();
    // An interface an interrupted `up` was creating: one that did not exist before.
    let claimed = recorded
        .filter(|n| n.interface.is_none())
        .and_then(|n| n.creating_since.as_ref())
        .and_then(|before| {
            let names: Vec<&String> = match &survey.networks {
                Some(networks) => networks.iter().map(|n| &n.name).collect(),
                None => survey.interfaces.iter().map(|i| &i.name).collect(),
            };
            names.into_iter().find(|n| !before.contains(n)).cloned()
        });
    // Interfaces vswarm may configure: the one it made (or was making) for this cluster, or
    // the one the user names. Any other is used as it is, or not at all.
    let made = recorded
        .filter(|n| n.created_interface)
        .and_then(|n| n.interface.clone());
    let request = NetworkRequest {
        cidr: spec.cidr.clone(),
        owned_interface: claimed.clone().or_else(|| spec.interface.clone()).or(made),
        nodes: spec.nodes.len(),
        ..NetworkRequest::default()
    };
    let plan =
        plan_hostonly_network(&version, &request, &survey).map_err(|e| network_error(e, spec))?;
    check_fixed_addresses(spec, &plan)?;
    Ok(Preflight {
        vbm,
        version,
        networks,
        request,
        survey,
        plan,
        claimed,
    })
}

/// Each node's `ip` against the network: on it, neither the host's nor the DHCP server's, and
/// outside the pool the server leases (which would hand it to another machine).
fn check_fixed_addresses(
    spec: &ClusterSpec,
    plan: &vbox_driver::hostonly::NetworkPlan,
) -> Result<()> {
    let net = plan.net.trunc();
    let range = plan.range;
    for node in &spec.nodes {
        let Some(ip) = node.ip else { continue };
        let why = if !net.contains(&ip) {
            format!(
                "ip {ip} of {} is not on the cluster's network {net}",
                node.name
            )
        } else if ip == net.network() || ip == net.broadcast() {
            format!(
                "ip {ip} of {} is the network's own (network or broadcast) address",
                node.name
            )
        } else if ip == plan.net.addr() {
            format!(
                "ip {ip} of {} is the host's address on the network",
                node.name
            )
        } else if ip == range.server {
            format!("ip {ip} of {} is the DHCP server's address", node.name)
        } else if (u32::from(range.lower)..=u32::from(range.upper)).contains(&u32::from(ip)) {
            format!(
                "ip {ip} of {} lies in the DHCP pool {}-{}, which may lend it to another machine",
                node.name, range.lower, range.upper
            )
        } else {
            continue;
        };
        let free = (u32::from(net.network()) + 1..u32::from(net.broadcast()))
            .map(std::net::Ipv4Addr::from)
            .find(|a| {
                *a != plan.net.addr()
                    && *a != range.server
                    && !(u32::from(range.lower)..=u32::from(range.upper)).contains(&u32::from(*a))
                    && !spec.nodes.iter().any(|n| n.ip == Some(*a))
            });
        let help = match free {
            Some(a) => format!(
                "pick an address of {net} outside {}-{}, such as {a}",
                range.lower, range.upper
            ),
            None => format!(
                "the network {net} has no address outside its DHCP pool: leave `ip` out, or use a larger network"
            ),
        };
        let e = InputError::new(why).help(help);
        return Err(match &node.ip_at {
            Some(at) => e.at(at.clone(), spec.text.as_deref()),
            None => e,
        }
        .into());
    }
    Ok(())
}

/// A network error: the cluster file's fault when it names the CIDR.
fn network_error(e: NetworkError, spec: &ClusterSpec) -> Error {
    let about_the_request = matches!(
        e,
        NetworkError::InvalidCidr { .. }
            | NetworkError::NotAllowed { .. }
            | NetworkError::Collision { .. }
            | NetworkError::RouteCollision { .. }
            | NetworkError::Reserved { .. }
            | NetworkError::SmallPool { .. }
            | NetworkError::ForeignDhcp { .. }
    );
    match (&spec.cidr_at, about_the_request) {
        (Some(at), true) => InputError::new(e.to_string())
            .at(at.clone(), spec.text.as_deref())
            .help("choose a network VirtualBox allows and no host interface uses, or leave `network.cidr` out to let vswarm pick one")
            .into(),
        _ => Error::failed("choosing the host-only network", e),
    }
}

/// Applies the network plan, recording an interface's creation before it happens.
async fn set_up_network(
    pre: &Preflight,
    recorder: &Recorder,
    session: &Session<'_>,
    spec: &ClusterSpec,
) -> Result<AppliedNetwork> {
    // A network to change is planned again under the host-wide lock: another cluster's `up`
    // may have taken the network this one picked meanwhile.
    let (_networks_lock, survey, plan) = if pre.plan.changes_nothing() {
        (None, pre.survey.clone(), pre.plan.clone())
    } else {
        let lock = session
            .lock_named(super::NETWORKS_LOCK, "the host's host-only networks", "up")
            .await?;
        let mut survey = survey_hostonly(&pre.vbm)
            .await
            .doing("reading VirtualBox's host-only networks")?;
        if pre.networks {
            survey.networks = Some(
                list_hostonly_networks(&pre.vbm)
                    .await
                    .doing("reading VirtualBox's host-only networks")?,
            );
        }
        let plan = plan_hostonly_network(&pre.version, &pre.request, &survey)
            .map_err(|e| network_error(e, spec))?;
        (Some(lock), survey, plan)
    };
    let pre = &Preflight {
        vbm: pre.vbm.clone(),
        version: pre.version.clone(),
        networks: pre.networks,
        request: pre.request.clone(),
        survey,
        plan,
        claimed: pre.claimed.clone(),
    };
    let previous = recorder.snapshot().network;
    if pre.plan.interface == InterfaceAction::Create {
        let before: Vec<String> = match &pre.survey.networks {
            Some(networks) => networks.iter().map(|n| n.name.clone()).collect(),
            None => pre
                .survey
                .interfaces
                .iter()
                .map(|i| i.name.clone())
                .collect(),
        };
        recorder.update(|r| {
            r.network = Some(NetworkRecord {
                interface: None,
                cidr: pre.plan.net.to_string(),
                created_interface: false,
                created_dhcp: false,
                creating_since: Some(before),
                hostonlynet: pre.networks,
            })
        })?;
    }
    let applied = apply_network_plan(&pre.vbm, &pre.plan, &pre.survey, None)
        .await
        .doing("setting up the host-only network")?;
    let same =
        |n: &&NetworkRecord| n.interface.as_deref() == Some(applied.network.interface.as_str());
    let kept = previous.as_ref().filter(same);
    if let Some(old) = previous.as_ref().filter(|n| !same(n))
        && old.created_interface
        && let Some(name) = &old.interface
    {
        session.warn(format!(
            "the cluster now uses {}; vswarm made {name} for it earlier and leaves it in place (remove it with `VBoxManage hostonlyif remove {name}` if nothing uses it)",
            applied.network.interface
        ));
    }
    if applied.network.kind == HostOnlyKind::Adapter
        && (applied.created_interface || applied.created_dhcp)
    {
        let name = applied.network.interface.clone();
        crate::state::MadeNetworks::update(&session.home, |m| {
            if applied.created_interface {
                m.interfaces.push(name.clone());
            }
            if applied.created_dhcp {
                m.dhcp_servers
                    .push(vbox_driver::hostonly::dhcp_network_name(&name));
            }
        })?;
    }
    let claimed = pre.claimed.as_deref() == Some(applied.network.interface.as_str());
    recorder.update(|r| {
        r.network = Some(NetworkRecord {
            interface: Some(applied.network.interface.clone()),
            cidr: applied.network.host.to_string(),
            created_interface: applied.created_interface
                || claimed
                || kept.is_some_and(|k| k.created_interface),
            created_dhcp: applied.created_dhcp || claimed || kept.is_some_and(|k| k.created_dhcp),
            creating_since: None,
            hostonlynet: applied.network.kind == HostOnlyKind::Network,
        })
    })?;
    Ok(applied)
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
    super::images::pull(
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
    iso: &std::path::Path,
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

    let phase = PhaseTimer::start(session.reporter, Phase::Machines);
    let nodes = futures::future::join_all(spec.nodes.iter().map(|n| {
        bring_node(
            session.reporter,
            recorder,
            driver,
            n,
            iso,
            &public_key,
            &ca,
            &client,
            &known,
            &engine_options,
            created_now,
        )
    }))
    .await;
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

    let targets: Vec<(String, IpAddr)> = ready.iter().map(|n| (n.name.clone(), n.ip)).collect();
    let mut stacks = Vec::new();
    for entry in &spec.stacks {
        let phase = PhaseTimer::start(session.reporter, Phase::Stack(entry.name.clone()));
        for warning in &entry.warnings {
            session.warn(format!("stack {}: {warning}", entry.name));
        }
        let report = deploy_stack(&leader, &entry.spec)
            .await
            .doing(format!("deploying the stack {}", entry.name))?;
        wait_for_stack(&leader, &entry.name, Duration::from_secs(300))
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

    let context = write_context(session, &spec.name, &leader, &client, recorder);

    let record = recorder.snapshot();
    let orphans: Vec<String> = record
        .nodes
        .iter()
        .filter(|n| !spec.nodes.iter().any(|s| s.name == n.name))
        .map(|n| n.name.clone())
        .collect();
    for o in &orphans {
        session.warn(format!(
            "{o} is no longer in the cluster file but still exists: `vswarm rm {o}` removes it"
        ));
    }
    Ok(UpReport {
        cluster: spec.name.clone(),
        seconds: started.elapsed().as_secs_f64(),
        leader: summary.leader,
        context,
        network: network.network.host.to_string(),
        interface: network.network.interface.clone(),
        nodes: ready
            .iter()
            .map(|n| NodeReport {
                name: n.name.clone(),
                role: n.role,
                state: "running",
                ip: n.ip.to_string(),
                docker_host: format!("tcp://{}:2376", n.ip),
                ssh_port: n.ssh_port,
                created: n.created,
                changed: n.changed.clone(),
            })
            .collect(),
        stacks,
        orphans,
    })
}

/// A node that is up, provisioned and answering.
struct ReadyNode {
    name: String,
    role: Role,
    ip: IpAddr,
    ssh_port: u16,
    created: bool,
    changed: Vec<&'static str>,
    engine: Engine,
    labels: std::collections::BTreeMap<String, String>,
    availability: Option<crate::cluster::Availability>,
}

/// One node from VM to Docker answering over mutual TLS.
#[allow(clippy::too_many_arguments)]
async fn bring_node(
    reporter: &dyn Reporter,
    recorder: &Recorder,
    driver: &VirtualBoxDriver,
    node: &NodeEntry,
    iso: &std::path::Path,
    public_key: &str,
    ca: &ClusterCa,
    client: &ClientFiles,
    known: &KnownHosts,
    options: &EngineOptions,
    created_now: &Mutex<Vec<(String, String)>>,
) -> Result<ReadyNode> {
    let start = Instant::now();
    let name = node.name.clone();
    let step = |s: NodeStep| {
        reporter.event(Event::NodeStep {
            node: name.clone(),
            step: s,
            elapsed: start.elapsed(),
        })
    };
    let mut vm = super::vm_name(&recorder.snapshot().name, &name);
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
        .and_then(|p| p.parse::<std::net::Ipv4Addr>().ok())
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

/// The address a node is fixed at: the cluster file's `ip`, else the one it was fixed at
/// before (unless its VM is new: a new machine takes a new address, as a recreated
/// docker-machine one does), else the one it came up at (its first lease), unless another node
/// of the cluster is fixed there (a DHCP server that forgot its leases) or it is off the network
/// (a moved network): then the highest address of the pool no node is fixed at (DHCP servers
/// lend from the bottom).
fn fixed_address(
    record: &ClusterRecord,
    node: &NodeEntry,
    came_up_at: std::net::Ipv4Addr,
    network: &vbox_driver::hostonly::HostOnlyNetwork,
    new_vm: bool,
    current: &dyn Fn(&str) -> bool,
) -> std::net::Ipv4Addr {
    let pool = &network.dhcp;
    let network = network.host.trunc();
    if let Some(ip) = node.ip {
        return ip;
    }
    let held: Vec<std::net::Ipv4Addr> = record
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
        .map(std::net::Ipv4Addr::from)
        .find(|a| !held.contains(a) && *a != came_up_at)
        .unwrap_or(came_up_at)
}

/// Probes every published port of a stack on every node.
async fn check_ports(
    stack: &swarm_bootstrap::stack::StackSpec,
    nodes: &[(String, IpAddr)],
) -> Vec<PortReport> {
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
fn write_context(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{NodeEntry, Role};
    use crate::state::{ClusterRecord, NodeRecord};
    use vbox_driver::hostonly::{DhcpRange, HostOnlyKind, HostOnlyNetwork};

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
