//! The host-only network of a cluster, right the first time.
//!
//! Three things broke docker-machine here. VirtualBox 6.1.28 and later refuse host-only
//! addresses outside the ranges of `/etc/vbox/networks.conf` (only 192.168.56.0/21 without it),
//! so the old default 192.168.99.1/24 fails with E_ACCESSDENIED. On Linux the interface can come
//! up DOWN with no address when VirtualBox's helper cannot configure it (the seed's `vboxnet0`).
//! And the network was set up again for every machine, racing itself. [`ensure_hostonly_network`]
//! is called once per cluster: it picks or checks the network, finds or creates the interface,
//! configures it and its DHCP server, removes orphan DHCP servers, and checks (and on Linux
//! fixes) the kernel interface.
//!
//! # Files
//!
//! One concern each, with its tests: `ranges.rs` (what VirtualBox allows: networks.conf and the
//! requested CIDR), `host_networks.rs` (what the host already uses: addresses and routes),
//! `choose.rs` (picking a free /24 among them), `dhcp.rs` (the DHCP server's range and calls),
//! `survey.rs` (reading VirtualBox's interfaces, servers and networks), `plan.rs` (deciding what
//! to do, without doing it), `hostonlynet.rs` (VirtualBox 7 on macOS, where host-only networks
//! replace adapters), `apply.rs` (doing it, and [`ensure_hostonly_network`]), `link.rs` (the
//! kernel interface's check and fix) and `remove.rs` (removing what vswarm made). This file
//! holds the types they share and [`NetworkError`]; everything public is re-exported here, so
//! callers name `crate::hostonly::X`.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use ipnet::Ipv4Net;

use crate::parse::ParseError;
use crate::runner::VBoxManageError;

mod apply;
mod choose;
mod dhcp;
mod host_networks;
mod hostonlynet;
mod link;
mod plan;
mod ranges;
mod remove;
mod survey;

pub use apply::*;
pub use choose::*;
pub use dhcp::*;
pub use host_networks::*;
pub use hostonlynet::*;
pub use link::*;
pub use plan::*;
pub use ranges::*;
pub use remove::*;
pub use survey::*;

/// Why the kernel interface could not be fixed: the source of [`NetworkError::LinkFix`].
pub use crate::netlink::NetlinkError;

/// The configured host-only network of a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostOnlyNetwork {
    /// `vboxnet0`, or `VirtualBox Host-Only Ethernet Adapter #2` on Windows; a host-only
    /// network's name with [`HostOnlyKind::Network`].
    pub interface: String,
    /// The host's address and the prefix: `192.168.56.1/24`.
    pub host: Ipv4Net,
    pub dhcp: DhcpRange,
    pub kind: HostOnlyKind,
}

/// How VirtualBox makes a host-only network on this host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HostOnlyKind {
    /// A host-only adapter (`hostonlyif`, `vboxnetN`) with a DHCP server (`dhcpserver`).
    #[default]
    Adapter,
    /// A host-only network (`hostonlynet`): VirtualBox 7 on macOS, where adapters are gone and
    /// Apple's vmnet gives the host the lower address and leases the rest of the range.
    Network,
}

/// What the caller wants.
#[derive(Debug, Clone, Default)]
pub struct NetworkRequest {
    /// An explicit `host address/prefix`; None picks one.
    pub cidr: Option<String>,
    /// Where VirtualBox's allowed ranges are read (default `/etc/vbox/networks.conf`).
    pub networks_conf: Option<PathBuf>,
    /// Whether to fix a DOWN or bare kernel interface (needs CAP_NET_ADMIN). None: when root.
    pub fix_link: Option<bool>,
    /// An interface this cluster made earlier (or the user named): reused, and reconfigured
    /// with its DHCP server if needed, rather than creating another. Interfaces and DHCP
    /// servers that are neither are used as they are, never changed.
    pub owned_interface: Option<String>,
    /// How many nodes need a lease: the DHCP pool must hold them (0: not checked).
    pub nodes: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("'{cidr}' is not a host network like 192.168.56.1/24: {reason}")]
    InvalidCidr { cidr: String, reason: String },
    #[error(
        "VirtualBox {version} does not allow the host-only network {cidr}: it allows only {allowed}.\n\
         Fix: add the line `* {network}` to {conf} (as root), or choose a network inside {allowed}, such as {suggestion}."
    )]
    NotAllowed {
        cidr: Ipv4Net,
        network: Ipv4Net,
        version: String,
        allowed: String,
        conf: String,
        suggestion: String,
    },
    #[error(
        "the host-only network {cidr} overlaps {their} on the host interface '{interface}'; choose another network, such as {suggestion}"
    )]
    Collision {
        cidr: Ipv4Net,
        interface: String,
        their: Ipv4Net,
        suggestion: String,
    },
    #[error(
        "the host-only network {cidr} overlaps the host's route to {route} (via '{interface}', a VPN or another network): its traffic would go astray; choose another network, such as {suggestion}"
    )]
    RouteCollision {
        cidr: Ipv4Net,
        route: Ipv4Net,
        interface: String,
        suggestion: String,
    },
    #[error(
        "the host-only network {cidr} overlaps {reserved}, {what}; choose another network, such as {suggestion}"
    )]
    Reserved {
        cidr: Ipv4Net,
        reserved: Ipv4Net,
        what: String,
        suggestion: String,
    },
    #[error(
        "the host-only network {cidr} leases {pool} addresses ({lower} to {upper}) but the cluster has {nodes} nodes: choose a wider network, such as a /{prefix}"
    )]
    SmallPool {
        cidr: Ipv4Net,
        pool: u32,
        lower: Ipv4Addr,
        upper: Ipv4Addr,
        nodes: usize,
        prefix: u8,
    },
    #[error(
        "the host-only interface '{interface}' carries {cidr} but was not made by vswarm, and its DHCP server {why}: vswarm does not change what it did not make. Name it in the cluster file (`network: {{ interface: {interface} }}`) to let vswarm configure it, or choose another network"
    )]
    ForeignDhcp {
        interface: String,
        cidr: Ipv4Net,
        why: String,
    },
    #[error(
        "no free /24 is left in the allowed host-only ranges ({allowed}); add a range to {conf}"
    )]
    NoFreeNetwork { allowed: String, conf: String },
    #[error(
        "VirtualBox reported a new host-only interface but none appeared in `VBoxManage list hostonlyifs`: {detail}"
    )]
    InterfaceNotCreated { detail: String },
    #[error(
        "the host-only interface {interface} is {state} on the host, so the VMs cannot be reached.\n\
         Likely cause: {cause}.\n\
         Fix it with:\n    {}\n    {}\n\
         then run vswarm again.",
        commands[0], commands[1]
    )]
    LinkDown {
        interface: String,
        state: String,
        cause: String,
        commands: [String; 2],
    },
    #[error("could not bring the host-only interface {interface} up with {cidr}")]
    LinkFix {
        interface: String,
        cidr: Ipv4Net,
        #[source]
        source: NetlinkError,
    },
    #[error(transparent)]
    VBoxManage(#[from] VBoxManageError),
    /// An output that could not be read: the [`ParseError`] names the output and the line.
    #[error(transparent)]
    Parse(#[from] ParseError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{self, HostOnlyInterface, VBoxVersion};

    pub(super) fn v(s: &str) -> VBoxVersion {
        parse::parse_version(s).expect("version parses")
    }

    pub(super) fn hif(name: &str, ip: &str) -> HostOnlyInterface {
        let text = format!(
            "Name:            {name}\nGUID:            x\nDHCP:            Disabled\nIPAddress:       {ip}\nNetworkMask:     255.255.255.0\nIPV6Address:     \nIPV6NetworkMaskPrefixLength: 0\nHardwareAddress: 0a:00:27:00:00:00\nMediumType:      Ethernet\nWireless:        No\nStatus:          Down\nVBoxNetworkName: HostInterfaceNetworking-{name}\n\n"
        );
        parse::parse_hostonlyifs(&text).expect("parses").remove(0)
    }

    pub(super) fn addr(i: &str, n: &str) -> HostAddress {
        HostAddress {
            interface: i.into(),
            net: n.parse().unwrap(),
        }
    }

    pub(super) fn hosts(addresses: &[HostAddress]) -> HostNetworks {
        HostNetworks {
            addresses: addresses.to_vec(),
            routes: Vec::new(),
        }
    }

    #[test]
    fn link_down_errors_name_the_two_commands() {
        let e = NetworkError::LinkDown {
            interface: "vboxnet0".into(),
            state: "DOWN and has no address".into(),
            cause: "x".into(),
            commands: [
                "sudo ip addr add 192.168.56.1/24 dev vboxnet0".into(),
                "sudo ip link set dev vboxnet0 up".into(),
            ],
        };
        let text = e.to_string();
        assert!(text.contains("sudo ip addr add 192.168.56.1/24 dev vboxnet0\n    sudo ip link set dev vboxnet0 up"), "{text}");
    }
}
