//! What the host already uses, read from the host itself: the addresses of its interfaces and
//! (on Linux) its routes. A host-only network overlapping one of them would take traffic meant for
//! a LAN or a VPN, so the choice of the network is checked against these.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// An address on a host interface, as the collision check sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAddress {
    pub interface: String,
    pub net: Ipv4Net,
}

/// A route of the host's table (not the default route).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRoute {
    pub interface: String,
    pub net: Ipv4Net,
}

/// The host's routes (Linux: `/proc/net/route`; elsewhere none are read).
pub fn host_routes() -> Vec<HostRoute> {
    std::fs::read_to_string("/proc/net/route")
        .map(|text| parse_proc_net_route(&text))
        .unwrap_or_default()
}

/// Parses `/proc/net/route`: interface, destination and mask in little-endian hex; the
/// default route is left out.
pub fn parse_proc_net_route(text: &str) -> Vec<HostRoute> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            // The kernel prints the address's bytes as a native-endian number.
            let hex = |s: &str| {
                u32::from_str_radix(s, 16)
                    .ok()
                    .map(|v| Ipv4Addr::from(v.to_ne_bytes()))
            };
            let (iface, dest, mask) = (f.first()?, hex(f.get(1)?)?, hex(f.get(7)?)?);
            let net = Ipv4Net::with_netmask(dest, mask).ok()?;
            (net.prefix_len() > 0).then(|| HostRoute {
                interface: iface.to_string(),
                net,
            })
        })
        .collect()
}

/// The host's IPv4 addresses, down interfaces included.
pub fn host_addresses() -> Vec<HostAddress> {
    let Ok(interfaces) = if_addrs::get_if_addrs() else {
        return Vec::new();
    };
    interfaces
        .into_iter()
        .filter_map(|i| match i.addr {
            if_addrs::IfAddr::V4(a) => Some(HostAddress {
                net: Ipv4Net::with_netmask(a.ip, a.netmask).ok()?,
                interface: i.name,
            }),
            _ => None,
        })
        .collect()
}

/// What the host already uses that a host-only network must not overlap.
#[derive(Debug, Clone, Default)]
pub struct HostNetworks {
    pub addresses: Vec<HostAddress>,
    pub routes: Vec<HostRoute>,
}

impl HostNetworks {
    /// The host's addresses and routes, read now.
    pub fn read() -> HostNetworks {
        HostNetworks {
            addresses: host_addresses(),
            routes: host_routes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_net_route_is_read() {
        let text = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\neth0\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\ntun0\t00083C0A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";
        let routes = parse_proc_net_route(text);
        assert_eq!(routes.len(), 1, "the default route is left out");
        assert_eq!(routes[0].interface, "tun0");
        if cfg!(target_endian = "little") {
            assert_eq!(routes[0].net.to_string(), "10.60.8.0/16");
        }
    }
}
