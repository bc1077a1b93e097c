//! The guest additions: the guest properties VBoxService reports once the guest is up (OS,
//! versions, each adapter's address), and its later rounds when an address changes.

use std::fs;
use std::net::Ipv4Addr;

use anyhow::Result;
use ipnet::Ipv4Net;

use super::{NAT_GUEST_IP, VmProcess, log};
use crate::sim::state::{GuestProperty, LockedRegistry, now_nanos};

impl VmProcess {
    /// What the guest additions report once the guest is up (nothing with
    /// `VBOXSIM_NO_GUEST_ADDITIONS=1`, an ISO without them).
    pub(super) fn report_guest_properties(&self) -> Result<()> {
        if std::env::var("VBOXSIM_NO_GUEST_ADDITIONS").is_ok_and(|v| v == "1") {
            log("No guest additions: no guest properties reported");
            return Ok(());
        }
        let mut reg = LockedRegistry::open(&self.sim.home)?;
        let Some(vm) = reg.reg.vms.iter_mut().find(|v| v.uuid == self.vm.uuid) else {
            return Ok(());
        };
        let mut set = |k: &str, v: String, flags: &str| {
            vm.guest_properties.insert(
                k.to_string(),
                GuestProperty {
                    value: v,
                    timestamp: now_nanos(),
                    flags: flags.into(),
                },
            );
        };
        let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        set("/VirtualBox/GuestAdd/Version", "5.2.42".into(), "");
        set("/VirtualBox/GuestAdd/Revision", "137960".into(), "");
        set("/VirtualBox/GuestInfo/OS/Product", "Linux".into(), "");
        set(
            "/VirtualBox/GuestInfo/OS/Release",
            kernel.trim().to_string(),
            "",
        );
        set(
            "/VirtualBox/HostInfo/VBoxVer",
            self.sim.version.short(),
            "TRANSIENT, RDONLYGUEST",
        );
        let mut count = 0;
        if self.vm.nics[0].attachment == "nat" {
            set("/VirtualBox/GuestInfo/Net/0/V4/IP", NAT_GUEST_IP.into(), "");
            set(
                "/VirtualBox/GuestInfo/Net/0/V4/Broadcast",
                "10.0.2.255".into(),
                "",
            );
            set(
                "/VirtualBox/GuestInfo/Net/0/V4/Netmask",
                "255.255.255.0".into(),
                "",
            );
            set(
                "/VirtualBox/GuestInfo/Net/0/MAC",
                self.vm.nics[0].mac.clone(),
                "",
            );
            set("/VirtualBox/GuestInfo/Net/0/Status", "Up".into(), "");
            count += 1;
        }
        for a in &self.adapters {
            let i = a.slot - 1;
            set(
                &format!("/VirtualBox/GuestInfo/Net/{i}/MAC"),
                a.mac.clone(),
                "",
            );
            set(
                &format!("/VirtualBox/GuestInfo/Net/{i}/Status"),
                "Up".into(),
                "",
            );
            if let Some((ip, prefix)) = self.guest_address(a.slot - 1) {
                let net = Ipv4Net::new(ip, prefix)?;
                set(
                    &format!("/VirtualBox/GuestInfo/Net/{i}/V4/IP"),
                    ip.to_string(),
                    "",
                );
                set(
                    &format!("/VirtualBox/GuestInfo/Net/{i}/V4/Broadcast"),
                    net.broadcast().to_string(),
                    "",
                );
                set(
                    &format!("/VirtualBox/GuestInfo/Net/{i}/V4/Netmask"),
                    net.netmask().to_string(),
                    "",
                );
            }
            count += 1;
        }
        set("/VirtualBox/GuestInfo/Net/Count", count.to_string(), "");
        reg.save()?;
        Ok(())
    }

    /// The first IPv4 address the guest has on eth`index` (what VBoxService reads), asked
    /// inside its network namespace.
    fn guest_address(&self, index: usize) -> Option<(Ipv4Addr, u8)> {
        let pid = self.guest.as_ref()?.id();
        crate::sim::hostnet::link_ipv4_in(Some(pid), &format!("eth{index}"))
    }

    /// VBoxService's later rounds: the host-only adapters' addresses, written when they
    /// changed (a guest that set its own, a lease renewed to another).
    pub(super) fn report_addresses(&self) -> Result<()> {
        if std::env::var("VBOXSIM_NO_GUEST_ADDITIONS").is_ok_and(|v| v == "1") {
            return Ok(());
        }
        let now: Vec<(usize, Option<(Ipv4Addr, u8)>)> = self
            .adapters
            .iter()
            .map(|a| (a.slot - 1, self.guest_address(a.slot - 1)))
            .collect();
        let mut reg = LockedRegistry::open(&self.sim.home)?;
        let Some(vm) = reg.reg.vms.iter_mut().find(|v| v.uuid == self.vm.uuid) else {
            return Ok(());
        };
        let mut changed = false;
        for (i, address) in now {
            let Some((ip, prefix)) = address else {
                continue;
            };
            let net = Ipv4Net::new(ip, prefix)?;
            for (k, v) in [
                (
                    format!("/VirtualBox/GuestInfo/Net/{i}/V4/IP"),
                    ip.to_string(),
                ),
                (
                    format!("/VirtualBox/GuestInfo/Net/{i}/V4/Broadcast"),
                    net.broadcast().to_string(),
                ),
                (
                    format!("/VirtualBox/GuestInfo/Net/{i}/V4/Netmask"),
                    net.netmask().to_string(),
                ),
            ] {
                if vm.guest_properties.get(&k).map(|p| p.value.as_str()) != Some(v.as_str()) {
                    log(&format!("Guest additions: {k} = {v}"));
                    vm.guest_properties.insert(
                        k,
                        GuestProperty {
                            value: v,
                            timestamp: now_nanos(),
                            flags: String::new(),
                        },
                    );
                    changed = true;
                }
            }
        }
        if changed {
            reg.save()?;
        }
        Ok(())
    }
}
