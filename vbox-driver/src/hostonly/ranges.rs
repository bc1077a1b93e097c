//! The networks VirtualBox lets a host-only interface use: since 6.1.28 (not on Windows) only the
//! ranges of `/etc/vbox/networks.conf`, or 192.168.56.0/21 without it, so that a network outside
//! them fails with E_ACCESSDENIED. Checked here before anything is asked of VirtualBox, along
//! with the shape of a requested CIDR.

use std::net::Ipv4Addr;
use std::path::Path;

use ipnet::Ipv4Net;

use super::NetworkError;
use crate::parse::VBoxVersion;

/// docker-machine's network, still the default where VirtualBox allows it.
pub const LEGACY_DEFAULT: &str = "192.168.99.1/24";
/// What VirtualBox >= 6.1.28 allows when `/etc/vbox/networks.conf` does not exist.
pub const DEFAULT_ALLOWED: &str = "192.168.56.0/21";
/// VirtualBox's own file of allowed ranges.
pub const NETWORKS_CONF: &str = "/etc/vbox/networks.conf";

/// The ranges VirtualBox lets host-only networks use; None: any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedRanges(pub Option<Vec<Ipv4Net>>);

impl AllowedRanges {
    /// What `version` allows, from the networks.conf at `conf` (VirtualBox's own rules).
    pub fn read(version: &VBoxVersion, conf: &Path) -> AllowedRanges {
        if !restricts_ranges(version) {
            return AllowedRanges(None);
        }
        match std::fs::read_to_string(conf) {
            Ok(text) => AllowedRanges(Some(parse_networks_conf(&text))),
            Err(_) => AllowedRanges(Some(vec![
                DEFAULT_ALLOWED.parse().expect("constant parses"),
            ])),
        }
    }

    /// VirtualBox's rule: the network is at least as narrow as a range and inside it.
    pub fn allows(&self, net: Ipv4Net) -> bool {
        match &self.0 {
            None => true,
            Some(ranges) => ranges
                .iter()
                .any(|r| net.prefix_len() >= r.prefix_len() && r.contains(&net.addr())),
        }
    }

    /// The ranges as text, `any network` when unrestricted.
    pub fn describe(&self) -> String {
        match &self.0 {
            None => "any network".into(),
            Some(r) if r.is_empty() => "no network".into(),
            Some(r) => r
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// VirtualBox >= 6.1.28 checks ranges on Linux, macOS and Solaris; Windows has no such limit.
fn restricts_ranges(v: &VBoxVersion) -> bool {
    !cfg!(windows) && (v.major, v.minor, v.build) >= (6, 1, 28)
}

/// Lines starting with `*` list allowed CIDRs.
pub fn parse_networks_conf(text: &str) -> Vec<Ipv4Net> {
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix('*'))
        .flat_map(|rest| {
            rest.split_whitespace()
                .filter_map(|w| w.parse::<Ipv4Net>().ok())
        })
        .collect()
}

/// Parses and checks a requested network: a host address (not the network or broadcast
/// address) with a prefix between /8 and /30.
pub fn parse_host_cidr(cidr: &str) -> Result<Ipv4Net, NetworkError> {
    let invalid = |reason: &str| NetworkError::InvalidCidr {
        cidr: cidr.to_string(),
        reason: reason.to_string(),
    };
    let net: Ipv4Net = cidr
        .trim()
        .parse()
        .map_err(|_| invalid("expected an IPv4 address and a prefix length"))?;
    if !(16..=29).contains(&net.prefix_len()) {
        return Err(invalid(
            "the prefix must be between /16 and /29 (a host-only network needs room for its DHCP pool, and no more than a /16)",
        ));
    }
    if net.addr() == net.network() {
        return Err(invalid(&format!(
            "{} is the network's own address; use a host address such as {}/{}",
            net.addr(),
            Ipv4Addr::from(u32::from(net.network()) + 1),
            net.prefix_len()
        )));
    }
    if net.addr() == net.broadcast() {
        return Err(invalid(&format!("{} is the broadcast address", net.addr())));
    }
    Ok(net)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hostonly::tests::v;

    #[test]
    fn ranges_follow_virtualbox() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.conf");
        assert_eq!(
            AllowedRanges::read(&v("6.1.26r145957"), &missing),
            AllowedRanges(None)
        );
        let r = AllowedRanges::read(&v("7.0.20r163906"), &missing);
        assert!(r.allows("192.168.56.1/24".parse().unwrap()));
        assert!(r.allows("192.168.63.1/24".parse().unwrap()));
        assert!(!r.allows("192.168.99.1/24".parse().unwrap()));
        let conf = dir.path().join("networks.conf");
        std::fs::write(&conf, "# comment\n* 10.0.0.0/8 192.168.0.0/16\n").unwrap();
        let r = AllowedRanges::read(&v("6.1.28r147628"), &conf);
        assert!(r.allows("192.168.99.1/24".parse().unwrap()));
        assert!(!r.allows("172.16.0.1/24".parse().unwrap()));
        assert!(!r.allows("10.0.0.1/7".parse().unwrap()));
    }

    #[test]
    fn cidrs_must_be_host_addresses() {
        assert!(parse_host_cidr("192.168.56.1/24").is_ok());
        let e = parse_host_cidr("192.168.56.0/24").unwrap_err().to_string();
        assert!(
            e.contains("network's own address") && e.contains("192.168.56.1/24"),
            "{e}"
        );
        assert!(parse_host_cidr("192.168.56.255/24").is_err());
        assert!(parse_host_cidr("192.168.56.1").is_err());
        assert!(parse_host_cidr("300.1.1.1/24").is_err());
        assert!(parse_host_cidr("10.0.0.1/31").is_err());
        assert!(
            parse_host_cidr("10.0.0.1/8").is_err(),
            "a /8 is no host-only network"
        );
        assert!(parse_host_cidr("192.168.56.1/29").is_ok());
        assert!(parse_host_cidr("192.168.56.1/30").is_err());
    }
}
