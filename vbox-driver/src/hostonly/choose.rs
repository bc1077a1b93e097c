//! Choosing the cluster's network: the requested one when VirtualBox allows it and nothing of the
//! host's overlaps it, or the first free /24 VirtualBox allows. A refusal names what is in the
//! way and suggests a network that would do.

use std::net::Ipv4Addr;
use std::path::Path;

use ipnet::Ipv4Net;

use super::{
    AllowedRanges, DEFAULT_ALLOWED, HostAddress, HostNetworks, HostRoute, LEGACY_DEFAULT,
    NetworkError, parse_host_cidr,
};
use crate::parse::{HostOnlyInterface, VBoxVersion};

/// Networks a host-only network must not overlap on any host: VirtualBox's NAT network (every
/// node's first adapter), Docker's default bridge inside every node, and swarm's default pool
/// for overlay networks.
pub const RESERVED: &[(&str, &str)] = &[
    (
        "10.0.2.0/24",
        "VirtualBox's NAT network (every node's first adapter)",
    ),
    ("172.17.0.0/16", "Docker's default bridge inside every node"),
    (
        "10.0.0.0/8",
        "swarm's default address pool for overlay networks",
    ),
];

/// Chooses the cluster's network: the requested one if allowed and free, else the first free
/// /24 VirtualBox allows (192.168.56.1/24 first), or docker-machine's 192.168.99.1/24 where any
/// network is allowed. Free means: no host interface's address, no host route, and none of the
/// [`RESERVED`] networks overlaps it; an interface already configured with the network (and
/// its route) is not a collision.
pub fn choose_network(
    requested: Option<&str>,
    allowed: &AllowedRanges,
    version: &VBoxVersion,
    conf: &Path,
    host: &HostNetworks,
    hostonly: &[HostOnlyInterface],
) -> Result<Ipv4Net, NetworkError> {
    let suggest = || {
        first_free(allowed, host, hostonly)
            .map(|n| n.to_string())
            .unwrap_or_else(|| "192.168.56.1/24".into())
    };
    if let Some(text) = requested {
        let net = parse_host_cidr(text)?;
        if !allowed.allows(net) {
            return Err(NetworkError::NotAllowed {
                cidr: net,
                network: net.trunc(),
                version: version.to_string(),
                allowed: allowed.describe(),
                conf: conf.display().to_string(),
                suggestion: suggest(),
            });
        }
        return match collision(net, host, hostonly) {
            None => Ok(net),
            Some(Taken::Interface(a)) => Err(NetworkError::Collision {
                cidr: net,
                interface: a.interface.clone(),
                their: a.net,
                suggestion: suggest(),
            }),
            Some(Taken::Route(r)) => Err(NetworkError::RouteCollision {
                cidr: net,
                route: r.net,
                interface: r.interface.clone(),
                suggestion: suggest(),
            }),
            Some(Taken::Reserved(reserved, what)) => Err(NetworkError::Reserved {
                cidr: net,
                reserved,
                what: what.to_string(),
                suggestion: suggest(),
            }),
        };
    }
    if allowed.0.is_none() {
        let legacy: Ipv4Net = LEGACY_DEFAULT.parse().expect("constant parses");
        if collision(legacy, host, hostonly).is_none() {
            return Ok(legacy);
        }
    }
    first_free(allowed, host, hostonly).ok_or_else(|| NetworkError::NoFreeNetwork {
        allowed: allowed.describe(),
        conf: conf.display().to_string(),
    })
}

/// What a candidate network overlaps.
enum Taken<'a> {
    Interface(&'a HostAddress),
    Route(&'a HostRoute),
    Reserved(Ipv4Net, &'static str),
}

/// The first thing of the host's that `net` overlaps. A host-only interface that carries
/// exactly `net` (and its kernel address and route) is the network itself, not a collision.
fn collision<'a>(
    net: Ipv4Net,
    host: &'a HostNetworks,
    hostonly: &[HostOnlyInterface],
) -> Option<Taken<'a>> {
    let carrier = hostonly
        .iter()
        .find(|h| carries(h, net))
        .map(|h| h.name.as_str());
    if let Some(a) = host.addresses.iter().find(|a| {
        overlaps(a.net, net)
            && !(a.net.trunc() == net.trunc()
                && (Some(a.interface.as_str()) == carrier
                    || a.net.addr() == net.addr() && carrier.is_some()))
    }) {
        return Some(Taken::Interface(a));
    }
    // The carrier's kernel interface may have another name than VirtualBox gives it (Windows
    // lists `VirtualBox Host-Only Network #2` for `... Ethernet Adapter #2`): the one with the
    // network's host address is it, and its route is the network's own.
    let carrier_kernel: Vec<&str> = host
        .addresses
        .iter()
        .filter(|a| carrier.is_some() && a.net.addr() == net.addr() && a.net.trunc() == net.trunc())
        .map(|a| a.interface.as_str())
        .collect();
    if let Some(r) = host.routes.iter().find(|r| {
        overlaps(r.net, net)
            && Some(r.interface.as_str()) != carrier
            && !carrier_kernel.contains(&r.interface.as_str())
    }) {
        return Some(Taken::Route(r));
    }
    RESERVED.iter().find_map(|(cidr, what)| {
        let reserved: Ipv4Net = cidr.parse().ok()?;
        overlaps(reserved, net).then_some(Taken::Reserved(reserved, what))
    })
}

/// The first /24 (host address .1) inside the allowed ranges that nothing of the host's
/// overlaps, or that a host-only interface already carries.
fn first_free(
    allowed: &AllowedRanges,
    host: &HostNetworks,
    hostonly: &[HostOnlyInterface],
) -> Option<Ipv4Net> {
    let ranges = allowed
        .0
        .clone()
        .unwrap_or_else(|| vec![DEFAULT_ALLOWED.parse().expect("constant parses")]);
    for range in ranges {
        let Ok(subnets) = range.subnets(24.max(range.prefix_len())) else {
            continue;
        };
        for sub in subnets {
            let candidate = Ipv4Net::new(
                Ipv4Addr::from(u32::from(sub.network()) + 1),
                sub.prefix_len(),
            )
            .ok()?;
            if hostonly.iter().any(|h| interface_net(h) == Some(candidate)) {
                return Some(candidate);
            }
            let used = collision(candidate, host, hostonly).is_some()
                || hostonly
                    .iter()
                    .filter_map(interface_net)
                    .any(|n| overlaps(n, candidate));
            if !used {
                return Some(candidate);
            }
        }
    }
    None
}

fn overlaps(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The mask Windows reports for a new adapter for a while after `hostonlyif create`
/// (docker/machine#1843): the adapter has its address all the same.
pub const SETTLING_MASK: Ipv4Addr = Ipv4Addr::new(15, 0, 0, 0);

/// Whether the interface carries `net`: its address and mask, or its address while Windows
/// still reports [`SETTLING_MASK`] (counting it as another network made docker-machine create a
/// second adapter).
pub fn carries(h: &HostOnlyInterface, net: Ipv4Net) -> bool {
    interface_net(h) == Some(net)
        || (h.netmask == Some(SETTLING_MASK) && h.ipv4 == Some(net.addr()))
}

/// A host-only interface's network as VirtualBox records it.
pub fn interface_net(h: &HostOnlyInterface) -> Option<Ipv4Net> {
    let ip = h.ipv4?;
    let mask = h.netmask?;
    Ipv4Net::with_netmask(ip, mask).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hostonly::tests::{addr, hif, hosts, v};

    #[test]
    fn the_first_free_allowed_network_is_picked() {
        let conf = Path::new("/nonexistent/networks.conf");
        let v7 = v("7.0.20r163906");
        let allowed = AllowedRanges::read(&v7, conf);
        let net = choose_network(None, &allowed, &v7, conf, &hosts(&[]), &[]).unwrap();
        assert_eq!(net.to_string(), "192.168.56.1/24");
        // A LAN on .56 pushes us to .57.
        let host = [addr("wlan0", "192.168.56.20/24")];
        assert_eq!(
            choose_network(None, &allowed, &v7, conf, &hosts(&host), &[])
                .unwrap()
                .to_string(),
            "192.168.57.1/24"
        );
        // An interface already on .56 is reused, even with its kernel address.
        let host = [addr("vboxnet0", "192.168.56.1/24")];
        let listed = [hif("vboxnet0", "192.168.56.1")];
        assert_eq!(
            choose_network(None, &allowed, &v7, conf, &hosts(&host), &listed)
                .unwrap()
                .to_string(),
            "192.168.56.1/24"
        );
        // Older VirtualBox: docker-machine's default.
        let v6 = v("6.1.26r145957");
        let any = AllowedRanges::read(&v6, conf);
        assert_eq!(
            choose_network(None, &any, &v6, conf, &hosts(&[]), &[])
                .unwrap()
                .to_string(),
            "192.168.99.1/24"
        );
    }

    #[test]
    fn refusals_say_how_to_fix() {
        let conf = Path::new("/etc/vbox/networks.conf");
        let v7 = v("7.1.4r165100");
        let allowed = AllowedRanges(Some(vec![DEFAULT_ALLOWED.parse().unwrap()]));
        let e = choose_network(
            Some("192.168.99.1/24"),
            &allowed,
            &v7,
            conf,
            &hosts(&[]),
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("does not allow the host-only network 192.168.99.1/24"),
            "{e}"
        );
        assert!(
            e.contains("`* 192.168.99.0/24` to /etc/vbox/networks.conf"),
            "{e}"
        );
        assert!(e.contains("such as 192.168.56.1/24"), "{e}");
        let host = [addr("eth0", "192.168.56.10/24")];
        let e = choose_network(
            Some("192.168.56.1/24"),
            &allowed,
            &v7,
            conf,
            &hosts(&host),
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("overlaps 192.168.56.10/24 on the host interface 'eth0'"),
            "{e}"
        );
    }

    #[test]
    fn a_new_windows_adapter_with_its_bogus_mask_carries_its_network() {
        let mut h = hif("VirtualBox Host-Only Ethernet Adapter #2", "192.168.57.1");
        h.netmask = Some(SETTLING_MASK);
        let net: Ipv4Net = "192.168.57.1/24".parse().unwrap();
        assert_ne!(interface_net(&h), Some(net));
        assert!(carries(&h, net));
        assert!(!carries(&h, "192.168.58.1/24".parse().unwrap()));
    }

    #[test]
    fn routes_and_reserved_networks_are_refused_with_an_alternative() {
        let conf = Path::new("/etc/vbox/networks.conf");
        let v7 = v("7.1.4r165100");
        let any = AllowedRanges(Some(vec![
            "10.0.0.0/8".parse().unwrap(),
            "172.16.0.0/12".parse().unwrap(),
            "192.168.0.0/16".parse().unwrap(),
        ]));
        let vpn = HostNetworks {
            addresses: Vec::new(),
            routes: vec![HostRoute {
                interface: "tun0".into(),
                net: "192.168.60.0/22".parse().unwrap(),
            }],
        };
        let e = choose_network(Some("192.168.61.1/24"), &any, &v7, conf, &vpn, &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("route to 192.168.60.0/22 (via 'tun0'") && e.contains("such as "),
            "{e}"
        );
        for (cidr, what) in [
            ("10.0.2.1/24", "VirtualBox's NAT"),
            ("172.17.5.1/24", "Docker's default bridge"),
            ("10.20.0.1/24", "swarm's default address pool"),
        ] {
            let e = choose_network(Some(cidr), &any, &v7, conf, &hosts(&[]), &[])
                .unwrap_err()
                .to_string();
            assert!(e.contains(what), "{cidr}: {e}");
        }
    }
}
