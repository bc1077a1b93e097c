//! Deciding what setting up the cluster's network will do, from a survey and without changing
//! anything: the network, the interface that carries it (kept, configured or created) and its
//! DHCP server (kept, modified or added). The plan can be shown, and a run that changes nothing
//! makes no VirtualBox call.

use std::path::PathBuf;

use ipnet::Ipv4Net;

use super::{
    AllowedRanges, DhcpRange, HostNetworks, HostOnlyKind, HostOnlySurvey, NETWORKS_CONF,
    NetworkError, NetworkRequest, carries, choose_network, dhcp_network_name, interface_net,
    plan_hostonly_net, same_dhcp,
};
use crate::parse::VBoxVersion;

/// What the interface of the cluster's network needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterfaceAction {
    /// It exists with the network's address: nothing to do.
    Keep(String),
    /// It exists but VirtualBox records another address: `hostonlyif ipconfig`.
    Configure(String),
    /// None fits: `hostonlyif create`, then `ipconfig`.
    Create,
}

/// What the interface's DHCP server needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DhcpAction {
    Keep,
    Modify,
    Add,
}

/// What setting up a cluster's network will do, decided without changing anything: the
/// network, and the VirtualBox calls that make it so (none when it is as it should be).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkPlan {
    pub net: Ipv4Net,
    pub interface: InterfaceAction,
    pub dhcp: DhcpAction,
    pub range: DhcpRange,
    pub kind: HostOnlyKind,
}

impl NetworkPlan {
    /// No VirtualBox call changes anything (the kernel link may still need fixing).
    pub fn changes_nothing(&self) -> bool {
        matches!(self.interface, InterfaceAction::Keep(_)) && self.dhcp == DhcpAction::Keep
    }
}

/// Decides the cluster's network from a survey: the requested (or owned, or first free allowed)
/// network, the interface that carries it, and its DHCP server. Reads networks.conf and the
/// host's addresses; calls nothing.
pub fn plan_hostonly_network(
    version: &VBoxVersion,
    request: &NetworkRequest,
    survey: &HostOnlySurvey,
) -> Result<NetworkPlan, NetworkError> {
    plan_for_host(version, request, survey, &HostNetworks::read())
}

/// [`plan_hostonly_network`] against the host networks `host`.
pub fn plan_for_host(
    version: &VBoxVersion,
    request: &NetworkRequest,
    survey: &HostOnlySurvey,
    host: &HostNetworks,
) -> Result<NetworkPlan, NetworkError> {
    if let Some(networks) = &survey.networks {
        return plan_hostonly_net(version, request, networks, host);
    }
    let conf = request
        .networks_conf
        .clone()
        .unwrap_or_else(|| PathBuf::from(NETWORKS_CONF));
    let allowed = AllowedRanges::read(version, &conf);
    let owned = request
        .owned_interface
        .as_deref()
        .and_then(|name| survey.interfaces.iter().find(|h| h.name == name));
    // The network an interface of ours already carries stays the cluster's, while allowed.
    let kept = owned
        .and_then(interface_net)
        .filter(|net| request.cidr.is_none() && allowed.allows(*net));
    let net = match kept {
        Some(net) => net,
        None => choose_network(
            request.cidr.as_deref(),
            &allowed,
            version,
            &conf,
            host,
            &survey.interfaces,
        )?,
    };
    let interface = match survey.interfaces.iter().find(|h| carries(h, net)) {
        Some(h) => InterfaceAction::Keep(h.name.clone()),
        None => match owned {
            Some(h) => InterfaceAction::Configure(h.name.clone()),
            None => InterfaceAction::Create,
        },
    };
    let mut range = DhcpRange::for_network(net);
    let dhcp = match &interface {
        InterfaceAction::Create => DhcpAction::Add,
        InterfaceAction::Keep(name) | InterfaceAction::Configure(name) => {
            let server = survey
                .dhcp_servers
                .iter()
                .find(|s| s.network_name == dhcp_network_name(name));
            let ours = owned.is_some_and(|o| o.name == *name);
            match server {
                Some(s) if same_dhcp(s, range, net) => DhcpAction::Keep,
                _ if ours => match server {
                    Some(_) => DhcpAction::Modify,
                    None => DhcpAction::Add,
                },
                // Not vswarm's: its DHCP server is used as it is, when it can serve the nodes.
                Some(s) => match (s.enabled, s.lower_ip, s.upper_ip) {
                    (true, Some(lower), Some(upper))
                        if net.trunc().contains(&lower) && net.trunc().contains(&upper) =>
                    {
                        range = DhcpRange {
                            server: s.server_ip.unwrap_or(range.server),
                            lower,
                            upper,
                        };
                        DhcpAction::Keep
                    }
                    (false, _, _) => {
                        return Err(NetworkError::ForeignDhcp {
                            interface: name.clone(),
                            cidr: net,
                            why: "is disabled".into(),
                        });
                    }
                    _ => {
                        return Err(NetworkError::ForeignDhcp {
                            interface: name.clone(),
                            cidr: net,
                            why: "leases addresses outside it".into(),
                        });
                    }
                },
                None => {
                    return Err(NetworkError::ForeignDhcp {
                        interface: name.clone(),
                        cidr: net,
                        why: "does not exist".into(),
                    });
                }
            }
        }
    };
    check_pool(request, net, range)?;
    Ok(NetworkPlan {
        net,
        interface,
        dhcp,
        range,
        kind: HostOnlyKind::Adapter,
    })
}

/// Refuses a pool too small for the request's nodes, naming the prefix that would hold them.
pub(super) fn check_pool(
    request: &NetworkRequest,
    net: Ipv4Net,
    range: DhcpRange,
) -> Result<(), NetworkError> {
    if request.nodes > 0 && (range.size() as usize) < request.nodes {
        // The prefix whose pool would hold them (host, server and the network's ends aside).
        let needed = request.nodes as u32 + 4;
        let prefix = (32 - needed.next_power_of_two().trailing_zeros()).min(29) as u8;
        return Err(NetworkError::SmallPool {
            cidr: net,
            pool: range.size(),
            lower: range.lower,
            upper: range.upper,
            nodes: request.nodes,
            prefix,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hostonly::tests::{addr, hif, hosts, v};
    use crate::parse;
    use std::path::PathBuf;

    fn dhcp(
        iface: &str,
        server: &str,
        lower: &str,
        upper: &str,
        enabled: bool,
    ) -> parse::DhcpServer {
        parse::DhcpServer {
            network_name: dhcp_network_name(iface),
            server_ip: server.parse().ok(),
            netmask: "255.255.255.0".parse().ok(),
            lower_ip: lower.parse().ok(),
            upper_ip: upper.parse().ok(),
            enabled,
        }
    }

    #[test]
    fn a_pool_too_small_for_the_nodes_is_refused() {
        let v7 = v("7.0.20r163906");
        let request = NetworkRequest {
            cidr: Some("192.168.56.1/29".into()),
            nodes: 5,
            networks_conf: Some(PathBuf::from("/nonexistent")),
            ..NetworkRequest::default()
        };
        let e = plan_for_host(&v7, &request, &HostOnlySurvey::default(), &hosts(&[])).unwrap_err();
        let text = e.to_string();
        assert!(
            matches!(
                e,
                NetworkError::SmallPool {
                    pool: 4,
                    nodes: 5,
                    ..
                }
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "leases 4 addresses (192.168.56.3 to 192.168.56.6) but the cluster has 5 nodes"
            ),
            "{text}"
        );
        assert!(text.contains("such as a /28"), "{text}");
        let fits = NetworkRequest {
            nodes: 4,
            ..request
        };
        assert!(plan_for_host(&v7, &fits, &HostOnlySurvey::default(), &hosts(&[])).is_ok());
    }

    #[test]
    fn interfaces_and_dhcp_servers_vswarm_did_not_make_are_used_as_they_are_or_refused() {
        let v7 = v("7.0.20r163906");
        let theirs = HostOnlySurvey {
            interfaces: vec![hif("vboxnet0", "192.168.56.1")],
            dhcp_servers: vec![dhcp(
                "vboxnet0",
                "192.168.56.7",
                "192.168.56.50",
                "192.168.56.60",
                true,
            )],
            networks: None,
        };
        let request = NetworkRequest {
            networks_conf: Some(PathBuf::from("/nonexistent")),
            nodes: 3,
            ..NetworkRequest::default()
        };
        let host = hosts(&[addr("vboxnet0", "192.168.56.1/24")]);
        // Theirs, serving the network: kept as it is, its range used.
        let plan = plan_for_host(&v7, &request, &theirs, &host).unwrap();
        assert!(plan.changes_nothing(), "{plan:?}");
        assert_eq!(plan.range.lower.to_string(), "192.168.56.50");
        // Theirs, disabled: refused, saying how to let vswarm configure it.
        let disabled = HostOnlySurvey {
            dhcp_servers: vec![dhcp(
                "vboxnet0",
                "192.168.56.7",
                "192.168.56.50",
                "192.168.56.60",
                false,
            )],
            ..theirs.clone()
        };
        let e = plan_for_host(&v7, &request, &disabled, &host)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("was not made by vswarm")
                && e.contains("is disabled")
                && e.contains("interface: vboxnet0"),
            "{e}"
        );
        // Named by the user (or made by vswarm): configured.
        let named = NetworkRequest {
            owned_interface: Some("vboxnet0".into()),
            ..request
        };
        let plan = plan_for_host(&v7, &named, &disabled, &host).unwrap();
        assert_eq!(plan.dhcp, DhcpAction::Modify);
    }
}
