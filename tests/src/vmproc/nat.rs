//! VirtualBox's NAT port forwarding: the VM process listens on each `natpf` rule's host port
//! and connects inside the guest's network namespace, never from the host's.

use std::fs::{self, File};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Result, bail};

use super::{GuestNetns, NAT_GUEST_IP, VmProcess, log};
use crate::sim::state::ForwardRule;

impl VmProcess {
    /// Listens on every `natpf` rule of the NAT adapters and forwards into the guest.
    pub(super) fn start_nat_forwarders(&self) {
        for nic in self.vm.nics.iter().filter(|n| n.attachment == "nat") {
            for rule in nic.forwarding.iter().filter_map(|r| ForwardRule::parse(r)) {
                if rule.proto != "tcp" {
                    log(&format!(
                        "NAT: rule '{}' ({}) is not simulated",
                        rule.name, rule.proto
                    ));
                    continue;
                }
                let host_ip = if rule.host_ip.is_empty() {
                    "0.0.0.0"
                } else {
                    &rule.host_ip
                };
                match TcpListener::bind((host_ip, rule.host_port)) {
                    Ok(listener) => {
                        log(&format!(
                            "NAT: set redirect TCP host {host_ip}:{} => guest {}:{}",
                            rule.host_port,
                            if rule.guest_ip.is_empty() {
                                NAT_GUEST_IP
                            } else {
                                &rule.guest_ip
                            },
                            rule.guest_port
                        ));
                        let guest_ip = if rule.guest_ip.is_empty() {
                            NAT_GUEST_IP.to_string()
                        } else {
                            rule.guest_ip.clone()
                        };
                        let stop = self.stop.clone();
                        let netns = self.netns.clone();
                        std::thread::spawn(move || {
                            forward_loop(listener, guest_ip, rule.guest_port, stop, netns)
                        });
                    }
                    Err(e) => log(&format!(
                        "NAT: failed to redirect TCP {host_ip}:{} -> {}: {e}",
                        rule.host_port, rule.guest_port
                    )),
                }
            }
        }
    }
}

/// Accepts on the host side and connects inside the guest's network namespace.
fn forward_loop(
    listener: TcpListener,
    guest_ip: String,
    guest_port: u16,
    stop: Arc<AtomicBool>,
    netns: GuestNetns,
) {
    let _ = listener.set_nonblocking(true);
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((client, _)) => {
                let _ = client.set_nonblocking(false);
                let target = guest_ip.clone();
                let ns = netns.lock().ok().and_then(|g| g.clone());
                std::thread::spawn(move || {
                    // Before the guest is up there is nothing to connect to: drop the client,
                    // as VirtualBox's NAT does while the guest does not listen.
                    let Some(ns) = ns else { return };
                    if let Err(e) = forward_one(client, &target, guest_port, &ns) {
                        log(&format!(
                            "NAT: forwarding to {target}:{guest_port} failed: {e}"
                        ));
                    }
                });
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

fn forward_one(client: TcpStream, ip: &str, port: u16, netns: &File) -> Result<()> {
    let host_ns = fs::read_link("/proc/self/ns/net")?;
    // This thread enters the guest's network namespace; sockets keep the namespace they were
    // made in, so the connection works from any thread afterwards.
    // SAFETY: setns on this thread only; the fd is a valid namespace file.
    if unsafe { libc::setns(netns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    // Never connect from the host's namespace: the guest's NAT address must not leave the host.
    if fs::read_link("/proc/thread-self/ns/net")? == host_ns {
        bail!("refusing to connect: not inside the guest's network namespace");
    }
    let guest = TcpStream::connect_timeout(
        &(ip.parse::<Ipv4Addr>()?, port).into(),
        Duration::from_secs(5),
    )?;
    let (mut c_read, mut g_write) = (client.try_clone()?, guest.try_clone()?);
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut c_read, &mut g_write);
        let _ = g_write.shutdown(std::net::Shutdown::Write);
    });
    let (mut g_read, mut c_write) = (guest, client);
    let _ = std::io::copy(&mut g_read, &mut c_write);
    let _ = c_write.shutdown(std::net::Shutdown::Write);
    let _ = up.join();
    Ok(())
}
