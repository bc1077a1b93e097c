//! Carrying out a plan: creating or configuring the interface and its DHCP server, then checking
//! (and on Linux, as root, fixing) the kernel interface; and [`ensure_hostonly_network`], which
//! surveys, plans and applies once per cluster. VirtualBox's quirks met on the way (an interface
//! created despite an error, Windows' settling mask) are handled here.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use backon::{ConstantBuilder, Retryable};
use ipnet::Ipv4Net;

use super::{
    DhcpAction, HostOnlyKind, HostOnlyNetwork, HostOnlySurvey, InterfaceAction, NetworkError,
    NetworkPlan, NetworkRequest, dhcp_network_name, dhcp_server, ensure_link_up, hostonly_net,
    hostonly_net_name, interface_net, is_root, list_dhcp_servers, list_hostonlyifs,
    plan_hostonly_network, same_dhcp, survey_hostonly,
};
use crate::parse::{self, HostOnlyInterface, VBoxVersion};
use crate::runner::VBoxManage;

/// The network after [`apply_network_plan`], and what this run created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedNetwork {
    pub network: HostOnlyNetwork,
    /// `hostonlyif create` made the interface in this run.
    pub created_interface: bool,
    /// `dhcpserver add` made the DHCP server in this run (or VirtualBox made it with the
    /// interface).
    pub created_dhcp: bool,
    /// The kernel interface was brought up or given its address.
    pub fixed_link: bool,
}

/// Carries out a plan: creates or configures the interface and its DHCP server as decided,
/// then checks (and on Linux, as root, fixes) the kernel interface. A plan that changes nothing
/// makes no VirtualBox call.
pub async fn apply_network_plan(
    vbm: &VBoxManage,
    plan: &NetworkPlan,
    survey: &HostOnlySurvey,
    fix_link: Option<bool>,
) -> Result<AppliedNetwork, NetworkError> {
    let net = plan.net;
    if plan.kind == HostOnlyKind::Network {
        let (interface, created) = match &plan.interface {
            InterfaceAction::Keep(name) => (name.clone(), false),
            InterfaceAction::Configure(name) => {
                hostonly_net(vbm, "modify", name, net, plan.range).await?;
                (name.clone(), false)
            }
            InterfaceAction::Create => {
                let name = hostonly_net_name(net);
                hostonly_net(vbm, "add", &name, net, plan.range).await?;
                (name, true)
            }
        };
        tracing::info!(network = %interface, cidr = %net, created, "host-only network ready");
        return Ok(AppliedNetwork {
            network: HostOnlyNetwork {
                interface,
                host: net,
                dhcp: plan.range,
                kind: HostOnlyKind::Network,
            },
            created_interface: created,
            created_dhcp: false,
            fixed_link: false,
        });
    }
    let (interface, created_interface) = match &plan.interface {
        InterfaceAction::Keep(name) => (name.clone(), false),
        InterfaceAction::Configure(name) => {
            ipconfig(vbm, name, net).await?;
            (name.clone(), false)
        }
        InterfaceAction::Create => {
            let name = create_interface(vbm, &survey.interfaces).await?;
            ipconfig(vbm, &name, net).await?;
            wait_until_settled(vbm, &name, net).await?;
            (name, true)
        }
    };
    let created_dhcp = match plan.dhcp {
        DhcpAction::Keep => false,
        DhcpAction::Modify => {
            dhcp_server(vbm, "modify", &interface, net, plan.range).await?;
            false
        }
        // A new interface may come with a server VirtualBox made for it: it is ours all the same.
        DhcpAction::Add if created_interface => {
            let servers = list_dhcp_servers(vbm).await?;
            let verb = match servers
                .iter()
                .find(|s| s.network_name == dhcp_network_name(&interface))
            {
                Some(s) if same_dhcp(s, plan.range, net) => None,
                Some(_) => Some("modify"),
                None => Some("add"),
            };
            if let Some(verb) = verb {
                dhcp_server(vbm, verb, &interface, net, plan.range).await?;
            }
            true
        }
        DhcpAction::Add => {
            dhcp_server(vbm, "add", &interface, net, plan.range).await?;
            true
        }
    };
    let mut fixed_link = false;
    if cfg!(target_os = "linux") {
        let fix = fix_link.unwrap_or_else(is_root);
        fixed_link = ensure_link_up(&interface, net, fix).await?;
    }
    tracing::info!(interface = %interface, network = %net, created_interface, created_dhcp, "host-only network ready");
    Ok(AppliedNetwork {
        network: HostOnlyNetwork {
            interface,
            host: net,
            dhcp: plan.range,
            kind: HostOnlyKind::Adapter,
        },
        created_interface,
        created_dhcp,
        fixed_link,
    })
}

/// Sets up the cluster's host-only network: survey, plan, apply. Calls are serialized within
/// the process: run it once per cluster, before any node is created.
pub async fn ensure_hostonly_network(
    vbm: &VBoxManage,
    version: &VBoxVersion,
    request: &NetworkRequest,
) -> Result<HostOnlyNetwork, NetworkError> {
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one_at_a_time = SERIAL.lock().await;
    let survey = survey_hostonly(vbm).await?;
    let plan = plan_hostonly_network(version, request, &survey)?;
    Ok(apply_network_plan(vbm, &plan, &survey, request.fix_link)
        .await?
        .network)
}

/// `hostonlyif create`, surviving VirtualBox's bug where the interface is created but the
/// command reports an error: the list is read again and the new interface taken.
async fn create_interface(
    vbm: &VBoxManage,
    before: &[HostOnlyInterface],
) -> Result<String, NetworkError> {
    let created = vbm.run(&["hostonlyif", "create"]).await;
    if let Ok(out) = &created
        && let Some(name) = parse::parse_created_hostonlyif(&out.stdout)
    {
        return Ok(name);
    }
    let after = list_hostonlyifs(vbm).await?;
    let new: Vec<&HostOnlyInterface> = after
        .iter()
        .filter(|a| !before.iter().any(|b| b.name == a.name))
        .collect();
    match (new.as_slice(), created) {
        ([one], _) => {
            tracing::warn!(interface = %one.name, "VirtualBox reported an error but created the interface; using it");
            Ok(one.name.clone())
        }
        (_, Err(e)) => Err(e.into()),
        (_, Ok(out)) => Err(NetworkError::InterfaceNotCreated {
            detail: out.stdout.trim().to_string(),
        }),
    }
}

/// Waits (up to 10 s, as docker-machine does) until VirtualBox lists a new interface with its
/// network: Windows reports a bogus mask for a while after `hostonlyif create`. A run that
/// still sees it later counts the interface as the network's all the same
/// ([`carries`](super::carries)).
async fn wait_until_settled(
    vbm: &VBoxManage,
    interface: &str,
    net: Ipv4Net,
) -> Result<(), NetworkError> {
    // Err(None): listed with another network (or not yet), asked again every 500 ms.
    let first = AtomicBool::new(true);
    let settled = || async {
        let listed = list_hostonlyifs(vbm).await.map_err(Some)?;
        match listed.iter().find(|h| h.name == interface) {
            Some(h) if interface_net(h) == Some(net) => return Ok(()),
            Some(h) if first.load(Ordering::Relaxed) => tracing::info!(
                interface,
                mask = ?h.netmask,
                "waiting for VirtualBox to report the new interface's network"
            ),
            _ => {}
        }
        first.store(false, Ordering::Relaxed);
        Err(None)
    };
    let waited = settled
        .retry(
            ConstantBuilder::new()
                .with_delay(Duration::from_millis(500))
                .with_max_times(19),
        )
        .when(Option::is_none)
        .await;
    match waited {
        Ok(()) => return Ok(()),
        Err(Some(e)) => return Err(e),
        Err(None) => {}
    }
    tracing::warn!(interface, %net, "VirtualBox still reports another network for the new interface");
    Ok(())
}

async fn ipconfig(vbm: &VBoxManage, interface: &str, net: Ipv4Net) -> Result<(), NetworkError> {
    let mask = net.netmask().to_string();
    let ip = net.addr().to_string();
    vbm.run(&[
        "hostonlyif",
        "ipconfig",
        interface,
        "--ip",
        &ip,
        "--netmask",
        &mask,
    ])
    .await?;
    Ok(())
}
