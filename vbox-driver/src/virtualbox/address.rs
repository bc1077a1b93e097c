//! A node's host-only address: what the guest additions report (`guestproperty wait`, then
//! `get`), or, without them, what the guest itself says over SSH, found by the adapter's MAC.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use backon::{ConstantBuilder, Retryable};

use super::{HOSTONLY_IP_PROPERTY, VirtualBoxDriver, VirtualBoxError, ssh_rule};
use crate::driver::AddressProbe;
use crate::parse;

impl VirtualBoxDriver {
    /// The host-only address read inside the guest by the probe, by the adapter's MAC.
    pub(super) async fn ip_from_guest(
        &self,
        name: &str,
        probe: &dyn AddressProbe,
    ) -> Option<Ipv4Addr> {
        let info = self.info(name).await.ok()??;
        let mac = info.nic(2)?.mac?;
        let endpoint = ssh_rule(&info)?;
        tokio::time::timeout(
            Duration::from_secs(15),
            probe.address(name, &endpoint, &mac),
        )
        .await
        .ok()?
    }

    /// Whether `ip` lies on the cluster's host-only network.
    pub(super) fn on_network(&self, ip: Ipv4Addr) -> bool {
        self.network.host.trunc().contains(&ip)
    }

    /// The guest's host-only address, waiting for it. `wait_first`: the VM was just created
    /// and booted, so no address can be there yet: the first call waits rather than asks (as it
    /// does for a VM this driver has just powered on, whose property may be stale).
    pub(super) async fn wait_for_ip(
        &self,
        name: &str,
        wait_first: bool,
        moved_from: Option<Ipv4Addr>,
    ) -> Result<Ipv4Addr, VirtualBoxError> {
        let is_node_address = |ip: &Ipv4Addr| self.on_network(*ip) || Some(*ip) == moved_from;
        // A VM this driver just powered on may still show its previous boot's address.
        let just_booted = self
            .booting
            .lock()
            .map(|mut booting| booting.remove(name))
            .unwrap_or(false);
        let wait_first = wait_first || just_booted;
        let start = Instant::now();
        let first = AtomicBool::new(true);
        // One attempt: (unless this is the first and the address may already be there) one
        // `guestproperty wait` call, which returns when the guest additions set the property or
        // after at most 10 s; then the property is read. Err(None): no node address yet.
        let attempt = || async {
            let waits = wait_first || !first.swap(false, Ordering::Relaxed);
            if waits {
                let left = self.ip_timeout.saturating_sub(start.elapsed());
                let ms = left.as_millis().min(10_000).to_string();
                let wait = [
                    "guestproperty",
                    "wait",
                    name,
                    HOSTONLY_IP_PROPERTY,
                    "--timeout",
                    &ms,
                ];
                let _ = self.vbm.run(&wait).await;
            }
            let out = self
                .vbm
                .run(&["guestproperty", "get", name, HOSTONLY_IP_PROPERTY])
                .await
                .map_err(|e| Some(VirtualBoxError::from(e)))?;
            // Only an address on the host-only network is the node's (another adapter's, or
            // docker0's, is not).
            if let Some(ip) = parse::parse_guestproperty_value(&out.stdout)
                .and_then(|v| v.parse().ok())
                .filter(is_node_address)
            {
                return Ok(ip);
            }
            // No guest additions (or not yet): ask the guest itself.
            if waits
                && let Some(probe) = &self.probe
                && let Some(ip) = self
                    .ip_from_guest(name, probe.as_ref())
                    .await
                    .filter(is_node_address)
            {
                return Ok(ip);
            }
            Err(None)
        };
        // The waiting happens inside the attempt, so attempts follow each other at once.
        let found = attempt
            .retry(
                ConstantBuilder::new()
                    .with_delay(Duration::ZERO)
                    .without_max_times(),
            )
            .when(Option::is_none)
            .adjust(|_, delay| delay.filter(|_| start.elapsed() < self.ip_timeout))
            .await;
        match found {
            Ok(ip) => Ok(ip),
            Err(Some(e)) => Err(e),
            Err(None) => Err(VirtualBoxError::NoIp {
                name: name.to_string(),
                waited: self.ip_timeout,
                log: self
                    .machine_dir(name)
                    .join(name)
                    .join("Logs/VBox.log")
                    .display()
                    .to_string(),
            }),
        }
    }
}

/// The IPv4 address of the interface with `mac` (`080027AABBCC`) in `ip addr show` output.
pub fn address_for_mac(ip_addr_show: &str, mac: &str) -> Option<Ipv4Addr> {
    let want: String = mac
        .to_ascii_lowercase()
        .chars()
        .filter(char::is_ascii_hexdigit)
        .collect();
    let mut in_block = false;
    for line in ip_addr_show.lines() {
        let t = line.trim_start();
        if !line.starts_with(' ') {
            in_block = false;
        } else if let Some(rest) = t.strip_prefix("link/ether ") {
            let found: String = rest
                .split_whitespace()
                .next()
                .unwrap_or("")
                .chars()
                .filter(char::is_ascii_hexdigit)
                .collect();
            in_block = found.eq_ignore_ascii_case(&want);
        } else if in_block && let Some(rest) = t.strip_prefix("inet ") {
            return rest.split('/').next()?.parse().ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_is_found_by_mac() {
        let out = "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n    inet 127.0.0.1/8 scope host lo\n2: eth0@if5: <BROADCAST,UP> mtu 1500\n    link/ether 08:00:27:dc:38:58 brd ff:ff:ff:ff:ff:ff\n    inet 10.0.2.15/24 scope global eth0\n3: eth1@if6: <BROADCAST,UP> mtu 1500\n    link/ether 08:00:27:af:b2:24 brd ff:ff:ff:ff:ff:ff\n    inet 192.168.56.101/24 brd 192.168.56.255 scope global eth1\n";
        assert_eq!(
            address_for_mac(out, "080027AFB224"),
            Some("192.168.56.101".parse().unwrap())
        );
        assert_eq!(
            address_for_mac(out, "080027DC3858"),
            Some("10.0.2.15".parse().unwrap())
        );
        assert_eq!(address_for_mac(out, "080027000000"), None);
    }
}
