//! The host side of host-only networking: Linux bridges named `vboxnetN`, configured the way
//! VirtualBox's setuid helper VBoxNetAdpCtl does it, and the allowed ranges of
//! `/etc/vbox/networks.conf` (here `VBOXSIM_NETWORKS_CONF`).

use std::net::Ipv4Addr;
use std::process::Command;

use ipnet::Ipv4Net;

/// Runs `ip ARGS`; returns stderr on failure.
pub fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn iptables(args: &[&str]) -> bool {
    Command::new("iptables")
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether a kernel interface of this name exists.
pub fn link_exists(name: &str) -> bool {
    std::path::Path::new("/sys/class/net").join(name).exists()
}

/// Whether the kernel interface is administratively up (IFF_UP).
pub fn link_is_up(name: &str) -> bool {
    std::fs::read_to_string(format!("/sys/class/net/{name}/flags"))
        .ok()
        .and_then(|f| u32::from_str_radix(f.trim().trim_start_matches("0x"), 16).ok())
        .is_some_and(|flags| flags & 1 == 1)
}

/// The first IPv4 address and prefix on an interface, if any.
pub fn link_ipv4(name: &str) -> Option<(Ipv4Addr, u8)> {
    link_ipv4_in(None, name)
}

/// [`link_ipv4`] inside the network namespace of process `pid` (a guest's), or the host's.
pub fn link_ipv4_in(pid: Option<u32>, name: &str) -> Option<(Ipv4Addr, u8)> {
    let mut cmd = match pid {
        Some(pid) => {
            let mut c = Command::new("nsenter");
            c.arg(format!("--net=/proc/{pid}/ns/net")).arg("ip");
            c
        }
        None => Command::new("ip"),
    };
    let out = cmd
        .args(["-4", "-o", "addr", "show", "dev", name])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let word = text
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)?;
    let net: Ipv4Net = word.parse().ok()?;
    Some((net.addr(), net.prefix_len()))
}

/// The first IPv6 address and prefix length on an interface, from /proc/net/if_inet6.
pub fn link_ipv6(name: &str) -> Option<(String, u8)> {
    let text = std::fs::read_to_string("/proc/net/if_inet6").ok()?;
    text.lines().find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 6 || f[5] != name {
            return None;
        }
        let hex = f[0];
        let mut segs = [0u16; 8];
        for (i, s) in segs.iter_mut().enumerate() {
            *s = u16::from_str_radix(hex.get(i * 4..i * 4 + 4)?, 16).ok()?;
        }
        let addr = std::net::Ipv6Addr::from(segs);
        Some((addr.to_string(), u8::from_str_radix(f[2], 16).ok()?))
    })
}

/// Creates the bridge `name`, down and without address, as the vboxnetadp driver leaves a new
/// interface. Fails if the name is taken (that is how concurrent creators stay apart).
pub fn create_bridge(name: &str, mac: &str) -> Result<(), String> {
    ip(&[
        "link", "add", "name", name, "address", mac, "type", "bridge",
    ])?;
    // A host dockerd may have set the FORWARD policy to DROP; bridged guest traffic needs this.
    iptables(&["-I", "FORWARD", "-i", name, "-o", name, "-j", "ACCEPT"]);
    Ok(())
}

/// Removes the bridge and its FORWARD rule.
pub fn delete_bridge(name: &str) {
    while iptables(&["-D", "FORWARD", "-i", name, "-o", name, "-j", "ACCEPT"]) {}
    let _ = ip(&["link", "del", "dev", name]);
}

/// What VBoxNetAdpCtl does for `hostonlyif ipconfig`: address, broadcast, link up.
pub fn configure_ipv4(name: &str, addr: Ipv4Addr, prefix: u8) -> Result<(), String> {
    let net = Ipv4Net::new(addr, prefix).map_err(|e| e.to_string())?;
    ip(&["addr", "flush", "dev", name])?;
    ip(&[
        "addr",
        "add",
        &format!("{addr}/{prefix}"),
        "broadcast",
        &net.broadcast().to_string(),
        "dev",
        name,
    ])?;
    ip(&["link", "set", "dev", name, "up"])
}

/// Prefix length of a dotted netmask, if it is a valid contiguous mask.
pub fn mask_prefix(mask: Ipv4Addr) -> Option<u8> {
    let m = u32::from(mask);
    let prefix = m.leading_ones();
    (m.checked_shl(prefix).unwrap_or(0) == 0).then_some(prefix as u8)
}

/// The ranges VirtualBox >= 6.1.28 allows for host-only networks on Linux, macOS and Solaris.
///
/// From `VBOXSIM_NETWORKS_CONF` (standing in for /etc/vbox/networks.conf): every line that
/// starts with `*` lists CIDRs. With no file, only 192.168.56.0/21.
pub fn allowed_ranges() -> Vec<Ipv4Net> {
    let default = || vec!["192.168.56.0/21".parse().expect("valid literal")];
    let Some(path) = std::env::var_os("VBOXSIM_NETWORKS_CONF") else {
        return default();
    };
    let Ok(text) = std::fs::read_to_string(path) else {
        return default();
    };
    // Apart from vbox-driver's parser on purpose: sharing the product's logic would hide its bugs.
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix('*'))
        .flat_map(|rest| {
            rest.split_whitespace()
                .filter_map(|w| w.parse::<Ipv4Net>().ok())
        })
        .collect()
}

/// VirtualBox's rule: the network must be at least as narrow as a range and lie inside it.
pub fn address_allowed(addr: Ipv4Addr, prefix: u8, ranges: &[Ipv4Net]) -> bool {
    ranges
        .iter()
        .any(|r| prefix >= r.prefix_len() && r.contains(&addr))
}

/// `0a:00:27:00:00:00`: a MAC address as VirtualBox lists host interfaces.
pub fn mac_text(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The GUID VirtualBox derives for `vboxnetN` on Linux and macOS: the name's bytes in the UUID
/// fields (little-endian, version 4 and RFC variant bits forced) followed by the MAC.
pub fn hostonly_guid(name: &str, mac: &[u8; 6]) -> String {
    let mut b = [0u8; 10];
    for (i, c) in name.bytes().take(10).enumerate() {
        b[i] = c;
    }
    let f1 = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let f2 = u16::from_le_bytes([b[4], b[5]]);
    let f3 = (u16::from_le_bytes([b[6], b[7]]) & 0x0fff) | 0x4000;
    let f4 = (b[8] & 0x3f) | 0x80;
    format!(
        "{f1:08x}-{f2:04x}-{f3:04x}-{f4:02x}{:02x}-{}",
        b[9],
        mac.iter().map(|x| format!("{x:02x}")).collect::<String>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_match_real_virtualbox() {
        assert_eq!(
            hostonly_guid("vboxnet0", &[0x0a, 0, 0x27, 0, 0, 0]),
            "786f6276-656e-4074-8000-0a0027000000"
        );
        assert_eq!(
            hostonly_guid("vboxnet10", &[0x0a, 0, 0x27, 0, 0, 0x0a]),
            "786f6276-656e-4174-b000-0a002700000a"
        );
        assert_eq!(
            hostonly_guid("vboxnet11", &[0x0a, 0, 0x27, 0, 0, 0x0b]),
            "786f6276-656e-4174-b100-0a002700000b"
        );
    }

    #[test]
    fn allowed_range_rules() {
        let r: Vec<Ipv4Net> = vec!["192.168.56.0/21".parse().unwrap()];
        assert!(address_allowed("192.168.56.1".parse().unwrap(), 24, &r));
        assert!(address_allowed("192.168.63.1".parse().unwrap(), 24, &r));
        assert!(!address_allowed("192.168.99.1".parse().unwrap(), 24, &r));
        assert!(!address_allowed("192.168.56.1".parse().unwrap(), 16, &r));
        assert_eq!(mask_prefix("255.255.255.0".parse().unwrap()), Some(24));
        assert_eq!(mask_prefix("255.0.255.0".parse().unwrap()), None);
    }
}
