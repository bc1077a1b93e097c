//! The DHCP server of a host-only interface: where its address and pool go on the network, and
//! the `dhcpserver` calls that make it so. VirtualBox keys servers by the interface's network
//! name, and a server vswarm did not make is used as it is, never changed (see `plan.rs`).

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::NetworkError;
use crate::parse::DhcpServer;
use crate::runner::VBoxManage;

/// The DHCP server's address and the range it leases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DhcpRange {
    pub server: Ipv4Addr,
    pub lower: Ipv4Addr,
    pub upper: Ipv4Addr,
}

impl DhcpRange {
    /// The DHCP server and its pool placed around the host's address: the server on `.2` (`.1`
    /// when the host is `.2`), the pool on docker-machine's `.100` to `.254` of a /24 (from the
    /// first free address on smaller networks), skipping the host's and the server's addresses:
    /// the largest run of the rest, the upper one on a tie.
    pub fn for_network(host: Ipv4Net) -> DhcpRange {
        let net = u32::from(host.network());
        let first = net + 1;
        let last = u32::from(host.broadcast()).saturating_sub(1).max(first);
        let h = u32::from(host.addr());
        let server = if h != net + 2 { net + 2 } else { net + 1 };
        let low = if last.saturating_sub(first) >= 200 {
            net + 100
        } else {
            first
        };
        // Runs of [low, last] between the taken addresses.
        let mut taken = [h, server];
        taken.sort_unstable();
        let mut runs = Vec::new();
        let mut start = low;
        for t in taken {
            if t >= start && t <= last {
                if t > start {
                    runs.push((start, t - 1));
                }
                start = t + 1;
            }
        }
        if start <= last {
            runs.push((start, last));
        }
        let (lower, upper) = runs
            .into_iter()
            .max_by_key(|(a, b)| (b - a, *a))
            .unwrap_or((last, last));
        DhcpRange {
            server: Ipv4Addr::from(server),
            lower: Ipv4Addr::from(lower),
            upper: Ipv4Addr::from(upper),
        }
    }

    /// How many addresses the pool leases.
    pub fn size(&self) -> u32 {
        u32::from(self.upper).saturating_sub(u32::from(self.lower)) + 1
    }
}

/// `HostInterfaceNetworking-<interface>`: the network name VirtualBox keys DHCP servers by.
pub fn dhcp_network_name(interface: &str) -> String {
    format!("HostInterfaceNetworking-{interface}")
}

/// `dhcpserver add|modify` for the interface's network with the range of `net`.
pub(super) async fn dhcp_server(
    vbm: &VBoxManage,
    verb: &str,
    interface: &str,
    net: Ipv4Net,
    d: DhcpRange,
) -> Result<(), NetworkError> {
    let network = dhcp_network_name(interface);
    let (server, lower, upper, mask) = (
        d.server.to_string(),
        d.lower.to_string(),
        d.upper.to_string(),
        net.netmask().to_string(),
    );
    vbm.run(&[
        "dhcpserver",
        verb,
        "--netname",
        &network,
        "--ip",
        &server,
        "--netmask",
        &mask,
        "--lowerip",
        &lower,
        "--upperip",
        &upper,
        "--enable",
    ])
    .await?;
    Ok(())
}

pub(super) fn same_dhcp(s: &DhcpServer, d: DhcpRange, net: Ipv4Net) -> bool {
    s.enabled
        && s.server_ip == Some(d.server)
        && s.lower_ip == Some(d.lower)
        && s.upper_ip == Some(d.upper)
        && s.netmask == Some(net.netmask())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dhcp_ranges() {
        let d = DhcpRange::for_network("192.168.56.1/24".parse().unwrap());
        assert_eq!(
            (
                d.server.to_string(),
                d.lower.to_string(),
                d.upper.to_string()
            ),
            (
                "192.168.56.2".into(),
                "192.168.56.100".into(),
                "192.168.56.254".into()
            )
        );
        let d = DhcpRange::for_network("10.1.2.1/26".parse().unwrap());
        assert_eq!(
            (d.lower.to_string(), d.upper.to_string()),
            ("10.1.2.3".into(), "10.1.2.62".into())
        );
    }

    #[test]
    fn dhcp_is_placed_around_the_host() {
        let d = DhcpRange::for_network("192.168.56.150/24".parse().unwrap());
        assert_eq!(
            (
                d.server.to_string(),
                d.lower.to_string(),
                d.upper.to_string()
            ),
            (
                "192.168.56.2".into(),
                "192.168.56.151".into(),
                "192.168.56.254".into()
            )
        );
        let d = DhcpRange::for_network("192.168.56.2/24".parse().unwrap());
        assert_eq!(d.server.to_string(), "192.168.56.1");
        assert_eq!(d.lower.to_string(), "192.168.56.100");
        let d = DhcpRange::for_network("192.168.56.1/29".parse().unwrap());
        assert_eq!(
            (d.lower.to_string(), d.upper.to_string(), d.size()),
            ("192.168.56.3".into(), "192.168.56.6".into(), 4)
        );
    }
}
