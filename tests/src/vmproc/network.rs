//! The guest's network adapters: veth pairs into the guest's namespace, eth0 for NAT (its host
//! end carries nothing) and ethN on the host-only bridge (or vmnet's, VirtualBox 7 on macOS),
//! with a DHCP lease from the network's server, stable per MAC address.

use std::fs;
use std::net::Ipv4Addr;
use std::process::Command;

use anyhow::{Result, anyhow, bail};

use super::{Adapter, VmProcess, log};
use crate::sim::state::{Lease, LockedRegistry};

impl VmProcess {
    /// Creates eth0 (NAT) and the host-only adapters inside the guest, and takes DHCP leases.
    pub(super) fn wire_adapters(&mut self) -> Result<()> {
        let pid = self
            .guest
            .as_ref()
            .map(|c| c.id())
            .ok_or_else(|| anyhow!("no guest"))?;
        let ns = format!("--net=/proc/{pid}/ns/net");
        let in_guest = |args: &[&str]| -> Result<()> {
            let out = Command::new("nsenter")
                .arg(&ns)
                .arg("ip")
                .args(args)
                .output()?;
            if out.status.success() {
                Ok(())
            } else {
                Err(anyhow!(
                    "ip {} (in guest): {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr).trim()
                ))
            }
        };
        in_guest(&["link", "set", "lo", "up"])?;
        let tag = self.vm.uuid.replace('-', "");
        for (i, nic) in self.vm.nics.clone().iter().enumerate() {
            let slot = i + 1;
            let eth = format!("eth{i}");
            let mac = colon_mac(&nic.mac);
            match nic.attachment.as_str() {
                "nat" => {
                    // VirtualBox's NAT engine lives in the VM process: the guest has an address and
                    // a gateway, and only the forwarded ports reach it from the host. The host end
                    // of this veth has no address and answers no ARP, so nothing leaves by it.
                    let host_end = format!("vb{}n{slot}", &tag[..8]);
                    add_veth(&host_end, &eth, &mac, pid)?;
                    host_ip(&["link", "set", &host_end, "arp", "off", "up"])?;
                    self.nat_ends.push(host_end);
                    in_guest(&["addr", "add", "10.0.2.15/24", "dev", &eth])?;
                    if nic.cable_connected {
                        in_guest(&["link", "set", &eth, "up"])?;
                        in_guest(&["route", "add", "default", "via", "10.0.2.2", "dev", &eth])?;
                    }
                }
                "hostonly" | "hostonlynet" => {
                    let host_end = format!("vb{}h{slot}", &tag[..8]);
                    add_veth(&host_end, &eth, &mac, pid)?;
                    let bridge = match nic.attachment.as_str() {
                        "hostonlynet" => self.vmnet_bridge(&nic.hostonly_network)?,
                        _ => LockedRegistry::open(&self.sim.home)?
                            .reg
                            .hostonlyif(&nic.hostonly_adapter)
                            .map_or_else(|| nic.hostonly_adapter.clone(), |h| h.link().to_string()),
                    };
                    host_ip(&["link", "set", &host_end, "master", &bridge, "up"])?;
                    let mut adapter = Adapter {
                        slot,
                        mac: nic.mac.clone(),
                        bridge,
                        host_end,
                        lease: None,
                    };
                    if nic.cable_connected {
                        in_guest(&["link", "set", &eth, "up"])?;
                        adapter.lease = self.take_lease(&adapter)?;
                        if let Some((ip, prefix)) = adapter.lease {
                            in_guest(&[
                                "addr",
                                "add",
                                &format!("{ip}/{prefix}"),
                                "brd",
                                "+",
                                "dev",
                                &eth,
                            ])?;
                            log(&format!(
                                "DHCP: {eth} ({mac}) leased {ip}/{prefix} on {}",
                                adapter.bridge
                            ));
                        } else {
                            log(&format!("DHCP: no lease for {eth} on {}", adapter.bridge));
                        }
                    }
                    self.adapters.push(adapter);
                }
                "none" | "null" => {}
                other => log(&format!(
                    "Adapter {slot}: attachment '{other}' is not simulated; left unplugged"
                )),
            }
        }
        Ok(())
    }

    /// The bridge standing in for vmnet's interface of a host-only network (VirtualBox 7 on
    /// macOS): made when a VM first attaches, with the network's lower address as the host's.
    fn vmnet_bridge(&self, network: &str) -> Result<String> {
        let reg = LockedRegistry::open(&self.sim.home)?;
        let net = reg
            .reg
            .hostonlynet(network)
            .filter(|n| n.enabled)
            .cloned()
            .ok_or_else(|| anyhow!("no enabled host-only network named '{network}'"))?;
        let bridge = net.bridge(&reg.reg);
        // Made under the registry's lock: the cluster's VMs start together.
        if !crate::sim::hostnet::link_exists(&bridge) {
            let (Ok(lower), Ok(mask)) =
                (net.lower.parse::<Ipv4Addr>(), net.mask.parse::<Ipv4Addr>())
            else {
                bail!("host-only network '{network}' has no usable range");
            };
            let prefix =
                crate::sim::hostnet::mask_prefix(mask).ok_or_else(|| anyhow!("bad mask {mask}"))?;
            let mac = crate::sim::hostnet::mac_text(&[0x0e, 0x00, 0x27, 0x00, 0x01, 0x00]);
            crate::sim::hostnet::create_bridge(&bridge, &mac).map_err(|e| anyhow!(e))?;
            crate::sim::hostnet::configure_ipv4(&bridge, lower, prefix).map_err(|e| anyhow!(e))?;
            log(&format!(
                "vmnet: {bridge} up with {lower}/{prefix} for '{network}'"
            ));
        }
        drop(reg);
        Ok(bridge)
    }

    /// The range an adapter's network leases from: its DHCP server's, or (a host-only network)
    /// vmnet's, which keeps the lower address for the host. None when nothing leases.
    fn lease_range(
        &self,
        reg: &crate::sim::state::Registry,
        a: &Adapter,
    ) -> Option<(String, Ipv4Addr, Ipv4Addr, Ipv4Addr, String)> {
        if let Some(net) = reg
            .hostonlynets
            .iter()
            .find(|n| n.enabled && n.bridge(reg) == a.bridge)
        {
            let lower: Ipv4Addr = net.lower.parse().ok()?;
            return Some((
                format!("hostonly-{}", net.name),
                Ipv4Addr::from(u32::from(lower) + 1),
                net.upper.parse().ok()?,
                net.mask.parse().ok()?,
                net.lower.clone(),
            ));
        }
        // The DHCP server is the VirtualBox interface's (its name, not the bridge's).
        let interface = reg
            .hostonlyifs
            .iter()
            .find(|h| h.link() == a.bridge)
            .map_or(a.bridge.as_str(), |h| h.name.as_str());
        let network = format!("HostInterfaceNetworking-{interface}");
        let server = reg.dhcpserver(&network).filter(|d| d.enabled)?;
        Some((
            network,
            server.lower.parse().ok()?,
            server.upper.parse().ok()?,
            server.netmask.parse().ok()?,
            server.ip.clone(),
        ))
    }

    /// A lease from the DHCP server of the adapter's network, stable per MAC address.
    fn take_lease(&self, a: &Adapter) -> Result<Option<(Ipv4Addr, u8)>> {
        if std::env::var("VBOXSIM_NO_LEASE").is_ok_and(|v| v == "1") {
            return Ok(None);
        }
        let mut reg = LockedRegistry::open(&self.sim.home)?;
        let Some((network, lower, upper, mask, server_ip)) = self.lease_range(&reg.reg, a) else {
            return Ok(None);
        };
        let Some(prefix) = crate::sim::hostnet::mask_prefix(mask) else {
            return Ok(None);
        };
        if let Some(l) = reg
            .reg
            .leases
            .iter()
            .find(|l| l.network == network && l.mac == a.mac)
            && let Ok(ip) = l.ip.parse::<Ipv4Addr>()
            && (u32::from(lower)..=u32::from(upper)).contains(&u32::from(ip))
        {
            return Ok(Some((ip, prefix)));
        }
        reg.reg
            .leases
            .retain(|l| !(l.network == network && l.mac == a.mac));
        let taken: Vec<String> = reg
            .reg
            .leases
            .iter()
            .filter(|l| l.network == network)
            .map(|l| l.ip.clone())
            .collect();
        let free = (u32::from(lower)..=u32::from(upper))
            .map(Ipv4Addr::from)
            .find(|ip| !taken.contains(&ip.to_string()) && ip.to_string() != server_ip);
        let Some(ip) = free else { return Ok(None) };
        reg.reg.leases.push(Lease {
            network,
            mac: a.mac.clone(),
            ip: ip.to_string(),
        });
        reg.save()?;
        Ok(Some((ip, prefix)))
    }
}

/// A veth pair whose `eth` end (with the adapter's MAC address) goes into the namespace of the
/// guest's init `pid`; the host end `host_end` speaks no IPv6.
fn add_veth(host_end: &str, eth: &str, mac: &str, pid: u32) -> Result<()> {
    host_ip(&[
        "link",
        "add",
        host_end,
        "type",
        "veth",
        "peer",
        "name",
        eth,
        "address",
        mac,
        "netns",
        &pid.to_string(),
    ])?;
    let _ = fs::write(
        format!("/proc/sys/net/ipv6/conf/{host_end}/disable_ipv6"),
        "1",
    );
    Ok(())
}

fn host_ip(args: &[&str]) -> Result<()> {
    crate::sim::hostnet::ip(args).map_err(|e| anyhow!(e))
}

/// `080027AABBCC` as `08:00:27:aa:bb:cc`.
fn colon_mac(mac: &str) -> String {
    mac.as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(":")
}
