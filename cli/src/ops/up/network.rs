//! `up`'s network: the preflight that reads VirtualBox and plans the host-only network without
//! changing anything, the nodes' fixed addresses checked against that plan, and the plan
//! applied.
//!
//! Apart from the nodes because it runs first and alone: a CIDR VirtualBox would refuse, or an
//! `ip` in the DHCP pool, is reported at its line of the cluster file before anything exists.

use vbox_driver::hostonly::{
    AppliedNetwork, HostOnlyKind, HostOnlySurvey, InterfaceAction, NetworkError, NetworkPlan,
    NetworkRequest, apply_network_plan, list_hostonly_networks, plan_hostonly_network,
    survey_hostonly, uses_hostonly_networks,
};
use vbox_driver::parse::VBoxVersion;
use vbox_driver::runner::VBoxManage;

use super::Recorder;
use crate::cluster::ClusterSpec;
use crate::error::{Doing, Error, InputError, Result};
use crate::ops::{NETWORKS_LOCK, Session, locate_virtualbox};
use crate::state::{ClusterRecord, NetworkRecord};

/// What the preflight found: VirtualBox and the network's plan.
pub(super) struct Preflight {
    pub(super) vbm: VBoxManage,
    pub(super) version: VBoxVersion,
    /// VirtualBox makes host-only networks, not adapters (7.x on macOS).
    networks: bool,
    request: NetworkRequest,
    survey: HostOnlySurvey,
    pub(super) plan: NetworkPlan,
    /// An interface an interrupted run created (found by the record's `creating_since`).
    claimed: Option<String>,
}

/// Reads VirtualBox (version, interfaces, DHCP servers, at once), checks the host and decides
/// the network. Changes nothing.
pub(super) async fn preflight(
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
pub(super) async fn set_up_network(
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
            .lock_named(NETWORKS_LOCK, "the host's host-only networks", "up")
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
