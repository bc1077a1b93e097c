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

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;

use crate::parse::{self, HostOnlyInterface, VBoxVersion};
use crate::runner::{VBoxManage, VBoxManageError};

/// docker-machine's network, still the default where VirtualBox allows it.
pub const LEGACY_DEFAULT: &str = "192.168.99.1/24";
/// What VirtualBox >= 6.1.28 allows when `/etc/vbox/networks.conf` does not exist.
pub const DEFAULT_ALLOWED: &str = "192.168.56.0/21";
/// VirtualBox's own file of allowed ranges.
pub const NETWORKS_CONF: &str = "/etc/vbox/networks.conf";

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
    #[error("could not bring the host-only interface {interface} up with {cidr}: {detail}")]
    LinkFix {
        interface: String,
        cidr: Ipv4Net,
        detail: String,
    },
    #[error(transparent)]
    VBoxManage(#[from] VBoxManageError),
    #[error("reading VBoxManage's output: {0}")]
    Parse(String),
}

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

/// A host-only interface's network as VirtualBox records it.
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

pub fn interface_net(h: &HostOnlyInterface) -> Option<Ipv4Net> {
    let ip = h.ipv4?;
    let mask = h.netmask?;
    Ipv4Net::with_netmask(ip, mask).ok()
}

/// VirtualBox's host-only interfaces and DHCP servers as they are now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostOnlySurvey {
    pub interfaces: Vec<HostOnlyInterface>,
    pub dhcp_servers: Vec<parse::DhcpServer>,
    /// The host-only networks, on a host that has them instead of adapters (see
    /// [`uses_hostonly_networks`]); None elsewhere.
    pub networks: Option<Vec<parse::HostOnlyNet>>,
}

/// Whether this VirtualBox makes host-only networks rather than adapters: version 7 or later
/// on macOS (`list hostinfo` names the host's OS; only asked of 7.x).
pub async fn uses_hostonly_networks(
    vbm: &VBoxManage,
    version: &VBoxVersion,
) -> Result<bool, NetworkError> {
    if version.major < 7 {
        return Ok(false);
    }
    let out = vbm.run(&["list", "hostinfo"]).await?;
    Ok(parse::parse_host_os(&out.stdout).is_some_and(|os| os.eq_ignore_ascii_case("darwin")))
}

/// The host-only networks (`list hostonlynets`).
pub async fn list_hostonly_networks(
    vbm: &VBoxManage,
) -> Result<Vec<parse::HostOnlyNet>, NetworkError> {
    let out = vbm.run(&["list", "hostonlynets"]).await?;
    parse::parse_hostonlynets(&out.stdout).map_err(|e| NetworkError::Parse(e.to_string()))
}

/// A host-only network's own network: its lower address (the host's) and mask.
pub fn hostonly_net_of(n: &parse::HostOnlyNet) -> Option<Ipv4Net> {
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

/// Reads the host-only interfaces and the DHCP servers (two read-only calls, run together).
pub async fn survey_hostonly(vbm: &VBoxManage) -> Result<HostOnlySurvey, NetworkError> {
    let (interfaces, servers) = tokio::join!(list_hostonlyifs(vbm), list_dhcp_servers(vbm));
    Ok(HostOnlySurvey {
        interfaces: interfaces?,
        dhcp_servers: servers?,
        networks: None,
    })
}

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

/// [`plan_for_host`] where VirtualBox makes host-only networks (7.x on macOS): a network whose
/// host address is the cluster's is used as it is (whoever made it); the one vswarm made is
/// modified to fit; otherwise one is added. There is no DHCP server to plan: vmnet leases.
fn plan_hostonly_net(
    version: &VBoxVersion,
    request: &NetworkRequest,
    networks: &[parse::HostOnlyNet],
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

/// Refuses a pool too small for the request's nodes, naming the prefix that would hold them.
fn check_pool(
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

/// `hostonlynet add|modify` of the network `name` with the host on `net`'s address.
async fn hostonly_net(
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

/// Removes what vswarm made of a network: the DHCP server (when `dhcp`) and the interface (when
/// `interface`). Either being gone already is not an error.
pub async fn remove_hostonly_network(
    vbm: &VBoxManage,
    name: &str,
    dhcp: bool,
    interface: bool,
) -> Result<(), NetworkError> {
    if dhcp {
        let netname = dhcp_network_name(name);
        match vbm
            .run(&["dhcpserver", "remove", "--netname", &netname])
            .await
        {
            Ok(_) => tracing::info!(network = %netname, "removed the DHCP server"),
            Err(e) if is_missing(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if interface {
        match vbm.run(&["hostonlyif", "remove", name]).await {
            Ok(_) => tracing::info!(interface = name, "removed the host-only interface"),
            Err(e) if is_missing(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Removes a host-only network vswarm made (VirtualBox 7 on macOS); one gone already is fine.
pub async fn remove_hostonly_net(vbm: &VBoxManage, name: &str) -> Result<(), NetworkError> {
    match vbm.run(&["hostonlynet", "remove", "--name", name]).await {
        Ok(_) => {
            tracing::info!(network = name, "removed the host-only network");
            Ok(())
        }
        Err(e) if is_missing(&e) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// VirtualBox's words for a DHCP server or interface that does not exist.
fn is_missing(e: &VBoxManageError) -> bool {
    let text = e.stderr();
    e.is_not_found()
        || text.contains("DHCP server does not exist")
        || text.contains("could not be found")
        || text.contains("Could not find")
        || text.contains("VBOX_E_OBJECT_NOT_FOUND")
}

/// The VMs (by name) whose adapters are attached to the host-only interface `name`: one
/// `list vms` and one `showvminfo` per VM, run together.
pub async fn vms_on_hostonly(vbm: &VBoxManage, name: &str) -> Result<Vec<String>, NetworkError> {
    let out = vbm.run(&["list", "vms"]).await?;
    let vms = parse::parse_list_vms(&out.stdout);
    let infos = futures::future::join_all(vms.iter().map(|vm| async move {
        let out = vbm
            .run(&["showvminfo", &vm.uuid, "--machinereadable"])
            .await;
        (vm.name.clone(), out)
    }))
    .await;
    let mut using = Vec::new();
    for (vm, out) in infos {
        let Ok(out) = out else { continue };
        let Ok(info) = parse::parse_showvminfo(&out.stdout) else {
            continue;
        };
        if (1..=8).any(|slot| {
            info.nic(slot).is_some_and(|n| {
                n.hostonly_adapter.as_deref() == Some(name)
                    || n.hostonly_network.as_deref() == Some(name)
            })
        }) {
            using.push(vm);
        }
    }
    Ok(using)
}

async fn list_hostonlyifs(vbm: &VBoxManage) -> Result<Vec<HostOnlyInterface>, NetworkError> {
    let out = vbm.run(&["list", "hostonlyifs"]).await?;
    parse::parse_hostonlyifs(&out.stdout).map_err(|e| NetworkError::Parse(e.to_string()))
}

async fn list_dhcp_servers(vbm: &VBoxManage) -> Result<Vec<parse::DhcpServer>, NetworkError> {
    let out = vbm.run(&["list", "dhcpservers"]).await?;
    parse::parse_dhcpservers(&out.stdout).map_err(|e| NetworkError::Parse(e.to_string()))
}

/// `HostInterfaceNetworking-<interface>`: the network name VirtualBox keys DHCP servers by.
pub fn dhcp_network_name(interface: &str) -> String {
    format!("HostInterfaceNetworking-{interface}")
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
/// still sees it later counts the interface as the network's all the same ([`carries`]).
async fn wait_until_settled(
    vbm: &VBoxManage,
    interface: &str,
    net: Ipv4Net,
) -> Result<(), NetworkError> {
    for attempt in 0..20 {
        let listed = list_hostonlyifs(vbm).await?;
        match listed.iter().find(|h| h.name == interface) {
            Some(h) if interface_net(h) == Some(net) => return Ok(()),
            Some(h) if attempt == 0 => tracing::info!(
                interface,
                mask = ?h.netmask,
                "waiting for VirtualBox to report the new interface's network"
            ),
            _ => {}
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
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

/// `dhcpserver add|modify` for the interface's network with the range of `net`.
async fn dhcp_server(
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

fn same_dhcp(s: &parse::DhcpServer, d: DhcpRange, net: Ipv4Net) -> bool {
    s.enabled
        && s.server_ip == Some(d.server)
        && s.lower_ip == Some(d.lower)
        && s.upper_ip == Some(d.upper)
        && s.netmask == Some(net.netmask())
}

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
async fn ensure_link_up(interface: &str, net: Ipv4Net, fix: bool) -> Result<bool, NetworkError> {
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
        .map_err(|detail| NetworkError::LinkFix {
            interface: interface.to_string(),
            cidr: net,
            detail,
        })?;
    match link_state(interface) {
        Some(s) if s.up && s.addresses.contains(&net) => Ok(true),
        _ => Err(NetworkError::LinkFix {
            interface: interface.to_string(),
            cidr: net,
            detail: "the interface is still not up with its address after the fix".into(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> VBoxVersion {
        parse::parse_version(s).expect("version parses")
    }

    fn hif(name: &str, ip: &str) -> HostOnlyInterface {
        let text = format!(
            "Name:            {name}\nGUID:            x\nDHCP:            Disabled\nIPAddress:       {ip}\nNetworkMask:     255.255.255.0\nIPV6Address:     \nIPV6NetworkMaskPrefixLength: 0\nHardwareAddress: 0a:00:27:00:00:00\nMediumType:      Ethernet\nWireless:        No\nStatus:          Down\nVBoxNetworkName: HostInterfaceNetworking-{name}\n\n"
        );
        parse::parse_hostonlyifs(&text).expect("parses").remove(0)
    }

    fn addr(i: &str, n: &str) -> HostAddress {
        HostAddress {
            interface: i.into(),
            net: n.parse().unwrap(),
        }
    }

    fn hosts(addresses: &[HostAddress]) -> HostNetworks {
        HostNetworks {
            addresses: addresses.to_vec(),
            routes: Vec::new(),
        }
    }

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
