//! The VM process (`VBoxHeadless --startvm UUID`): one per running VM, as in VirtualBox.
//!
//! It powers the VM on, waits the boot delay (`VBOXSIM_BOOT_MS`), starts the guest (a real Linux
//! userland in its own namespaces, see `tests/lab/guest/init.sh`), wires its adapters (eth0 for
//! NAT, reachable only through the `natpf` rules this process forwards from the host; ethN on a
//! host-only bridge with a lease from the network's DHCP server), reports guest properties like
//! the guest additions do, and tears everything down on power-off, ACPI shutdown or a crash.
//!
//! This file holds what the simulator's commands call (start a VM process, signal it, freeze its
//! guest) and the VM process's state; each concern of the guest has its own file: `process`
//! (the process's life: boot, supervision, power-off, teardown), `guest` (the namespaces and
//! init that run sshd and dockerd), `disk` (the boot2docker data disk and its userdata),
//! `network` (adapters and DHCP leases), `nat` (port forwarding) and `additions` (the
//! guest properties).

mod additions;
mod disk;
mod guest;
mod nat;
mod network;
mod process;

pub use process::headless_main;

use std::fs::{self, File};
use std::net::Ipv4Addr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use crate::sim::Sim;
use crate::sim::state::{Registry, Vm, pid_alive};

/// `controlvm poweroff`: pull the plug.
pub const POWEROFF_SIGNAL: i32 = libc::SIGUSR1;
/// `controlvm acpipowerbutton`: ask the guest to shut down.
pub const ACPI_SIGNAL: i32 = libc::SIGTERM;
/// The NAT network VirtualBox gives every VM: the guest is 10.0.2.15, the gateway 10.0.2.2.
const NAT_GUEST_IP: &str = "10.0.2.15";

/// Per-run files of a VM (the guest's console log, its init script).
pub fn runtime_dir(sim: &Sim, uuid: &str) -> PathBuf {
    sim.home.join("vboxsim-run").join(uuid)
}

pub fn signal(pid: u32, sig: i32) {
    if pid > 1 {
        // SAFETY: kill(2) with a positive pid only sends a signal.
        unsafe {
            libc::kill(pid as libc::pid_t, sig);
        }
    }
}

/// Starts `VBoxHeadless --startvm UUID` detached, logging to the VM's `Logs/VBox.log`.
pub fn spawn_vm_process(sim: &Sim, vm: &Vm) -> std::io::Result<u32> {
    let exe = std::env::current_exe()?;
    let headless = exe.with_file_name("VBoxHeadless");
    let logs = vm.folder().join("Logs");
    fs::create_dir_all(&logs)?;
    rotate_logs(&logs);
    let log = File::create(logs.join("VBox.log"))?;
    let mut cmd = Command::new(headless);
    cmd.arg("--startvm")
        .arg(&vm.uuid)
        .env("VBOX_USER_HOME", &sim.home)
        .env("VBOXSIM_VERSION", sim.version.to_string())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // SAFETY: setsid() is async-signal-safe; it detaches the VM process from our session.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    Ok(child.id())
}

/// VirtualBox keeps VBox.log, VBox.log.1 .. VBox.log.3.
fn rotate_logs(logs: &Path) {
    for i in (1..3).rev() {
        let _ = fs::rename(
            logs.join(format!("VBox.log.{i}")),
            logs.join(format!("VBox.log.{}", i + 1)),
        );
    }
    let _ = fs::rename(logs.join("VBox.log"), logs.join("VBox.log.1"));
}

/// Pauses or resumes every process of the guest (`controlvm pause|resume`).
pub fn freeze_guest(vm: &Vm, pause: bool) -> std::io::Result<()> {
    let Some(root) = vm.session_pid else {
        return Ok(());
    };
    let sig = if pause { libc::SIGSTOP } else { libc::SIGCONT };
    for pid in descendants(root) {
        signal(pid, sig);
    }
    Ok(())
}

/// All processes below `root` (not `root` itself), from /proc's parent links.
pub fn descendants(root: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            let Some((_, rest)) = stat.rsplit_once(") ") else {
                continue;
            };
            if let Some(ppid) = rest
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u32>().ok())
            {
                parent_of.push((pid, ppid));
            }
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let p = found[i];
        found.extend(parent_of.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    found.remove(0);
    found
}

fn log(msg: &str) {
    let t = time::OffsetDateTime::now_utc();
    println!(
        "{:02}:{:02}:{:02}.{:06} {msg}",
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    );
}

/// A host-only adapter as wired into the guest.
struct Adapter {
    /// 1-based adapter number; the guest sees it as eth(slot-1).
    slot: usize,
    mac: String,
    bridge: String,
    host_end: String,
    lease: Option<(Ipv4Addr, u8)>,
}

struct VmProcess {
    sim: Sim,
    vm: Vm,
    run_dir: PathBuf,
    cgroup: String,
    guest: Option<Child>,
    netns: GuestNetns,
    adapters: Vec<Adapter>,
    /// Host ends of the NAT adapters' veths.
    nat_ends: Vec<String>,
    stop: Arc<AtomicBool>,
    poweroff: Arc<AtomicBool>,
    acpi: Arc<AtomicBool>,
}

/// The guest's network namespace, once the guest is known to be inside it.
type GuestNetns = Arc<Mutex<Option<Arc<File>>>>;

/// The VM processes of this registry still alive (for the lab's clean-up).
pub fn running_sessions(reg: &Registry) -> Vec<u32> {
    reg.vms
        .iter()
        .filter_map(|v| v.session_pid)
        .filter(|p| pid_alive(*p))
        .collect()
}
