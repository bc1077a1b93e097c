//! The kernel's side of a host-only interface on Linux: it can come up DOWN, or without its
//! address, when VirtualBox's helper cannot configure it (the seed's `vboxnet0`), and then no VM
//! is reachable. Checked after every setup; fixed through netlink when vswarm runs as root, else
//! refused with the two commands that fix it.

use std::path::Path;

use ipnet::Ipv4Net;

use super::{NetlinkError, NetworkError, host_addresses};

/// Whether this process runs as root (and so may configure interfaces).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The kernel's view of an interface: administratively up, and its IPv4 networks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkState {
    pub up: bool,
    pub addresses: Vec<Ipv4Net>,
}

pub fn link_state(interface: &str) -> Option<LinkState> {
    let flags = std::fs::read_to_string(format!("/sys/class/net/{interface}/flags")).ok()?;
    let flags = u32::from_str_radix(flags.trim().trim_start_matches("0x"), 16).ok()?;
    let addresses = host_addresses()
        .into_iter()
        .filter(|a| a.interface == interface)
        .map(|a| a.net)
        .collect();
    Some(LinkState {
        up: flags & 1 == 1,
        addresses,
    })
}

/// Brings the kernel interface up with `net` (the vboxnet0 fix), as root; true when it had to.
pub async fn fix_link(interface: &str, net: Ipv4Net) -> Result<bool, NetworkError> {
    ensure_link_up(interface, net, true).await
}

/// The vboxnet0 fix: the kernel interface must be UP and carry the address. As root it is
/// fixed through netlink; otherwise the error names the two commands to run. True when it was
/// fixed.
pub(super) async fn ensure_link_up(
    interface: &str,
    net: Ipv4Net,
    fix: bool,
) -> Result<bool, NetworkError> {
    let Some(state) = link_state(interface) else {
        // No kernel interface of that name (not Linux's vboxnet naming): nothing to check.
        return Ok(false);
    };
    let has_addr = state.addresses.contains(&net);
    if state.up && has_addr {
        return Ok(false);
    }
    let what = match (state.up, has_addr) {
        (false, false) => "DOWN and has no address",
        (false, true) => "DOWN",
        _ => "UP but without its address",
    };
    if !fix {
        return Err(NetworkError::LinkDown {
            interface: interface.to_string(),
            state: what.to_string(),
            cause: likely_link_cause(),
            commands: [
                format!("sudo ip addr add {net} dev {interface}"),
                format!("sudo ip link set dev {interface} up"),
            ],
        });
    }
    tracing::warn!(interface, state = what, "fixing the host-only interface");
    crate::netlink::bring_up(interface, net, !has_addr)
        .await
        .map_err(|source| NetworkError::LinkFix {
            interface: interface.to_string(),
            cidr: net,
            source,
        })?;
    match link_state(interface) {
        Some(s) if s.up && s.addresses.contains(&net) => Ok(true),
        _ => Err(NetworkError::LinkFix {
            interface: interface.to_string(),
            cidr: net,
            source: NetlinkError::StillDown,
        }),
    }
}

/// Why VirtualBox's helper (VBoxNetAdpCtl) could not configure the interface.
fn likely_link_cause() -> String {
    if !Path::new("/dev/vboxnetctl").exists() {
        return "the vboxnetadp kernel module is not loaded (/dev/vboxnetctl is missing; `sudo modprobe vboxnetadp` or `sudo /sbin/vboxconfig`)".into();
    }
    let has_ip = ["/sbin/ip", "/usr/sbin/ip", "/bin/ip", "/usr/bin/ip"]
        .iter()
        .any(|p| Path::new(p).exists());
    let has_ifconfig = ["/sbin/ifconfig", "/usr/sbin/ifconfig", "/bin/ifconfig"]
        .iter()
        .any(|p| Path::new(p).exists());
    if !has_ip && !has_ifconfig {
        return "VirtualBox's helper VBoxNetAdpCtl needs `ip` (iproute2) or `ifconfig` (net-tools), and neither is installed".into();
    }
    "VirtualBox's helper VBoxNetAdpCtl could not configure the interface (an older release without `ifconfig`, as on Arch without net-tools, or a broken installation)".into()
}
