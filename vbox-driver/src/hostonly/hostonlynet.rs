//! Host-only networks (`hostonlynet`), what VirtualBox 7 makes on macOS instead of adapters:
//! Apple's vmnet gives the host the lower address and leases the rest of the range, so there is
//! no DHCP server to plan. The plan and the calls for such a host.

use std::net::Ipv4Addr;
use std::path::Path;

use ipnet::Ipv4Net;

use super::{
    AllowedRanges, DhcpAction, DhcpRange, HostNetworks, HostOnlyKind, InterfaceAction,
    NETWORKS_CONF, NetworkError, NetworkPlan, NetworkRequest, check_pool, choose_network,
    parse_host_cidr,
};
use crate::parse::{HostOnlyNet, VBoxVersion};
use crate::runner::VBoxManage;

/// A host-only network's own network: its lower address (the host's) and mask.
pub fn hostonly_net_of(n: &HostOnlyNet) -> Option<Ipv4Net> {
    Ipv4Net::with_netmask(n.lower, n.netmask).ok()
}

/// The range of a host-only network vswarm makes for `host`: the host on its address (vmnet's
/// lower address), guests leased from the next one up to three quarters of the network, and
/// the top quarter left for fixed addresses (`nodes[].ip`).
pub fn hostonly_net_range(host: Ipv4Net) -> DhcpRange {
    let h = u32::from(host.addr());
    let last = u32::from(host.broadcast()).saturating_sub(1);
    let usable = last.saturating_sub(u32::from(host.network()));
    let upper = (u32::from(host.network()) + usable * 3 / 4).clamp(h + 1, last.max(h + 1));
    DhcpRange {
        server: host.addr(),
        lower: Ipv4Addr::from(h + 1),
        upper: Ipv4Addr::from(upper),
    }
}

/// The name vswarm gives a host-only network it makes: `vswarm-192.168.56.0`.
pub fn hostonly_net_name(net: Ipv4Net) -> String {
    format!("vswarm-{}", net.network())
}

/// [`plan_for_host`](super::plan_for_host) where VirtualBox makes host-only networks (7.x on
/// macOS): a network whose host address is the cluster's is used as it is (whoever made it); the
/// one vswarm made is modified to fit; otherwise one is added. There is no DHCP server to plan:
/// vmnet leases.
pub(super) fn plan_hostonly_net(
    version: &VBoxVersion,
    request: &NetworkRequest,
    networks: &[HostOnlyNet],
    host: &HostNetworks,
) -> Result<NetworkPlan, NetworkError> {
    let owned = request
        .owned_interface
        .as_deref()
        .and_then(|name| networks.iter().find(|n| n.name == name));
    let kept = owned
        .and_then(hostonly_net_of)
        .filter(|_| request.cidr.is_none());
    // A network that already has the requested address is the one to use: vmnet's bridge for
    // it carries the host's address, which is no collision.
    let requested = request
        .cidr
        .as_deref()
        .and_then(|c| parse_host_cidr(c).ok())
        .filter(|net| {
            networks
                .iter()
                .any(|n| n.enabled && hostonly_net_of(n) == Some(*net))
        });
    let net = match kept.or(requested) {
        Some(net) => net,
        None => choose_network(
            request.cidr.as_deref(),
            &AllowedRanges(None),
            version,
            Path::new(NETWORKS_CONF),
            host,
            &[],
        )?,
    };
    let existing = networks
        .iter()
        .find(|n| n.enabled && hostonly_net_of(n) == Some(net));
    let (interface, range) = match existing {
        Some(n) => (
            InterfaceAction::Keep(n.name.clone()),
            DhcpRange {
                server: n.lower,
                lower: Ipv4Addr::from(u32::from(n.lower) + 1),
                upper: n.upper,
            },
        ),
        None => (
            match owned {
                Some(o) => InterfaceAction::Configure(o.name.clone()),
                None => InterfaceAction::Create,
            },
            hostonly_net_range(net),
        ),
    };
    check_pool(request, net, range)?;
    Ok(NetworkPlan {
        net,
        interface,
        dhcp: DhcpAction::Keep,
        range,
        kind: HostOnlyKind::Network,
    })
}

/// `hostonlynet add|modify` of the network `name` with the host on `net`'s address.
pub(super) async fn hostonly_net(
    vbm: &VBoxManage,
    verb: &str,
    name: &str,
    net: Ipv4Net,
    range: DhcpRange,
) -> Result<(), NetworkError> {
    let (mask, lower, upper) = (
        net.netmask().to_string(),
        net.addr().to_string(),
        range.upper.to_string(),
    );
    vbm.run(&[
        "hostonlynet",
        verb,
        "--name",
        name,
        "--netmask",
        &mask,
        "--lower-ip",
        &lower,
        "--upper-ip",
        &upper,
        "--enable",
    ])
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostonly_network_ranges_keep_the_host_first_and_the_top_quarter_free() {
        let r = hostonly_net_range("192.168.56.1/24".parse().unwrap());
        assert_eq!(
            (
                r.server.to_string(),
                r.lower.to_string(),
                r.upper.to_string()
            ),
            (
                "192.168.56.1".into(),
                "192.168.56.2".into(),
                "192.168.56.190".into()
            )
        );
        let small = hostonly_net_range("10.1.1.1/29".parse().unwrap());
        assert_eq!(small.lower.to_string(), "10.1.1.2");
        assert!(small.upper >= small.lower, "{small:?}");
        assert_eq!(
            hostonly_net_name("192.168.56.1/24".parse().unwrap()),
            "vswarm-192.168.56.0"
        );
    }
}
