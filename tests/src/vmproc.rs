//! The VM process (`VBoxHeadless --startvm UUID`): one per running VM, as in VirtualBox.
//!
//! It powers the VM on, waits the boot delay (`VBOXSIM_BOOT_MS`), starts the guest (a real Linux
//! userland in its own namespaces, see `tests/lab/guest/init.sh`), wires its adapters (eth0 for
//! NAT, reachable only through the `natpf` rules this process forwards from the host; ethN on a
//! host-only bridge with a lease from the network's DHCP server), reports guest properties like
//! the guest additions do, and tears everything down on power-off, ACPI shutdown or a crash.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use ipnet::Ipv4Net;

use crate::sim::Sim;
use crate::sim::media::guest_disk_state;
use crate::sim::state::{
    ForwardRule, GuestProperty, Lease, LockedRegistry, Registry, Vm, VmState, now_nanos,
    now_state_time, pid_alive,
};
use crate::sim::vm::clear_transient_properties;

/// `controlvm poweroff`: pull the plug.
pub const POWEROFF_SIGNAL: i32 = libc::SIGUSR1;
/// `controlvm acpipowerbutton`: ask the guest to shut down.
pub const ACPI_SIGNAL: i32 = libc::SIGTERM;

const GUEST_INIT: &str = include_str!("../lab/guest/init.sh");
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

/// The smallest disk boot2docker's autoformat can use: the GPT's first MiB, the 1000 MiB swap
/// partition, and a data partition that mkfs.ext4 can give a journal (8 MiB), plus the backup
/// GPT at the end.
const MIN_FORMATTABLE_DISK: u64 = (1 + 1000 + 8 + 1) << 20;

/// A disk image's capacity in bytes, as `qemu-img info` reads it.
fn virtual_size(path: &Path, fmt: &str) -> Result<u64> {
    let out = Command::new("qemu-img")
        .args(["info", "--output=json", "-f", fmt])
        .arg(path)
        .output()
        .context("qemu-img info")?;
    if !out.status.success() {
        bail!(
            "reading the disk {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).context("qemu-img info")?;
    info["virtual-size"]
        .as_u64()
        .context("qemu-img info gave no virtual-size")
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

/// Entry point of the `VBoxHeadless` binary.
pub fn headless_main(args: &[String]) -> i32 {
    let uuid = match args {
        [flag, uuid] if flag == "--startvm" || flag == "-s" || flag == "-startvm" => uuid.clone(),
        _ => {
            eprintln!("Usage: VBoxHeadless --startvm <name|UUID>");
            return 2;
        }
    };
    let sim = match Sim::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let (result, normal_stop) = match VmProcess::new(&sim, &uuid) {
        Ok(mut p) => {
            let r = p.run();
            let normal = r.is_ok();
            p.teardown();
            (r, normal)
        }
        Err(e) => (Err(e), false),
    };
    if let Err(e) = &result {
        log(&format!("VM process failed: {e:#}"));
    }
    finish(
        &sim,
        &uuid,
        if normal_stop {
            VmState::Poweroff
        } else {
            VmState::Aborted
        },
    );
    log("Power off: done");
    i32::from(result.is_err())
}

/// Records the final state unless someone (a new session) already owns the VM.
fn finish(sim: &Sim, uuid: &str, state: VmState) {
    let Ok(mut reg) = LockedRegistry::open(&sim.home) else {
        return;
    };
    let me = std::process::id();
    if let Some(vm) = reg.reg.vms.iter_mut().find(|v| v.uuid == uuid)
        && vm.session_pid.is_none_or(|p| p == me)
    {
        vm.state = state;
        vm.session_pid = None;
        vm.powered_off();
        vm.state_change_time = now_state_time();
        clear_transient_properties(vm);
        let _ = reg.save();
    }
}

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

impl VmProcess {
    fn new(sim: &Sim, uuid: &str) -> Result<VmProcess> {
        let mut reg = LockedRegistry::open(&sim.home)?;
        let entry = reg
            .reg
            .vms
            .iter_mut()
            .find(|v| v.uuid == uuid)
            .ok_or_else(|| anyhow!("no VM {uuid} in the registry"))?;
        // In VirtualBox the server launches the VM process and records its session, so a client
        // killed in the middle of `startvm` still leaves a running, recorded VM. The VM process
        // claims its session itself (startvm records the same pid under the same lock); another
        // live session means this process must not run.
        let me = std::process::id();
        match entry.session_pid {
            Some(p) if p != me && entry.state.is_active() && pid_alive(p) => {
                bail!("the VM's session is held by process {p}");
            }
            Some(p) if p == me => {}
            _ => {
                entry.session_pid = Some(me);
                entry.state = VmState::Running;
                entry.state_change_time = now_state_time();
                reg.save()?;
            }
        }
        let vm = reg
            .reg
            .vms
            .iter()
            .find(|v| v.uuid == uuid)
            .cloned()
            .ok_or_else(|| anyhow!("no VM {uuid} in the registry"))?;
        drop(reg);
        let sim = Sim {
            version: sim.version.clone(),
            home: sim.home.clone(),
        };
        let run_dir = runtime_dir(&sim, uuid);
        let poweroff = Arc::new(AtomicBool::new(false));
        let acpi = Arc::new(AtomicBool::new(false));
        for sig in [POWEROFF_SIGNAL, libc::SIGINT, libc::SIGHUP] {
            signal_hook::flag::register(sig, poweroff.clone())?;
        }
        signal_hook::flag::register(ACPI_SIGNAL, acpi.clone())?;
        Ok(VmProcess {
            cgroup: format!("vboxsim-{}", &uuid[..8.min(uuid.len())]),
            sim,
            vm,
            run_dir,
            guest: None,
            netns: Arc::new(Mutex::new(None)),
            adapters: Vec::new(),
            nat_ends: Vec::new(),
            stop: Arc::new(AtomicBool::new(false)),
            poweroff,
            acpi,
        })
    }

    fn run(&mut self) -> Result<()> {
        let v = &self.sim.version;
        log(&format!(
            "VirtualBox VM {} r{} linux.amd64 release log (vboxsim)",
            v.short_with_suffix(),
            v.revision
        ));
        log(&format!(
            "VM '{}' {{{}}} powering on",
            self.vm.name, self.vm.uuid
        ));
        fs::create_dir_all(&self.run_dir)?;
        self.start_nat_forwarders();
        // The BIOS and the kernel take their time before anything in the guest answers.
        let boot = std::env::var("VBOXSIM_BOOT_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        let until = Instant::now() + Duration::from_millis(boot);
        while Instant::now() < until {
            if self.poweroff.load(Ordering::Relaxed) {
                log("Power off requested during boot");
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let t0 = Instant::now();
        let console = self.start_guest()?;
        self.wire_adapters()
            .context("wiring the network adapters")?;
        log(&format!(
            "Guest started; network wired after {} ms",
            t0.elapsed().as_millis()
        ));
        let booted = Arc::new(AtomicBool::new(false));
        spawn_console_reader(console, self.run_dir.join("console.log"), booted.clone());
        let mut reported: Option<Instant> = None;
        // VBoxService's VMInfo loop reports the guest's addresses every 10 s (its
        // --vminfo-interval), writing only what changed.
        let interval = Duration::from_millis(
            std::env::var("VBOXSIM_GA_INTERVAL_MS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(10_000),
        );
        let mut acpi_sent = false;
        loop {
            if let Some(status) = self
                .guest
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                log(&format!("Guest exited ({status})"));
                return Ok(());
            }
            if self.poweroff.load(Ordering::Relaxed) {
                log("Power off requested");
                if let Some(c) = self.guest.as_mut() {
                    let _ = c.kill();
                    let _ = c.wait();
                }
                return Ok(());
            }
            if self.acpi.load(Ordering::Relaxed) && !acpi_sent {
                acpi_sent = true;
                log("ACPI power button pressed");
                if let Some(init) = self.guest.as_ref().and_then(|c| guest_init_pid(c.id())) {
                    signal(init, libc::SIGTERM);
                }
            }
            match reported {
                None if booted.load(Ordering::Relaxed) => {
                    reported = Some(Instant::now());
                    log(&format!("Guest booted in {} ms", t0.elapsed().as_millis()));
                    self.report_guest_properties()?;
                }
                Some(at) if at.elapsed() >= interval => {
                    reported = Some(Instant::now());
                    self.report_addresses()?;
                }
                _ => {}
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the guest's init in new namespaces; returns its console (stdout and stderr).
    fn start_guest(&mut self) -> Result<std::process::ChildStdout> {
        let init = self.run_dir.join("init.sh");
        fs::write(&init, GUEST_INIT)?;
        let state = self.prepare_disk()?;
        let version = self.iso_version().unwrap_or_else(|| "19.03.12".into());
        let mut cmd = Command::new("unshare");
        cmd.args([
            "--net",
            "--mount",
            "--uts",
            "--ipc",
            "--pid",
            "--fork",
            "--kill-child",
            "--propagation",
            "private",
            "--",
        ])
        .arg("/bin/bash")
        .arg(&init)
        .env("G_NAME", &self.vm.name)
        .env("G_STATE", state.as_deref().unwrap_or(Path::new("")))
        .env("G_RUN", &self.run_dir)
        .env("G_CGROUP", &self.cgroup)
        .env("G_VERSION", &version)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
        // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe: if this VM process dies, the
        // guest dies with it instead of running on unowned.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd.spawn().context("starting the guest (unshare)")?;
        let console = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("no console pipe"))?;
        let pid = child.id();
        self.guest = Some(child);
        // unshare(1) enters the new namespaces itself before it forks the guest's init.
        let own = fs::read_link("/proc/self/ns/net")?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match fs::read_link(format!("/proc/{pid}/ns/net")) {
                Ok(ns) if ns != own => break,
                Ok(_) => {}
                Err(e) => bail!("guest process vanished: {e}"),
            }
            if Instant::now() > deadline {
                bail!("the guest did not enter its namespaces");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let ns = File::open(format!("/proc/{pid}/ns/net"))?;
        // Checked again on the open file: it must not be the host's namespace.
        if fs::read_link(format!("/proc/self/fd/{}", ns.as_raw_fd()))? == own {
            bail!("the guest's network namespace is the host's");
        }
        if let Ok(mut slot) = self.netns.lock() {
            *slot = Some(Arc::new(ns));
        }
        Ok(console)
    }

    /// The first hard disk's persistent folder. On first boot the boot2docker userdata tar at
    /// the start of the disk is unpacked into /home/docker ("format-me"), as boot2docker does.
    fn prepare_disk(&self) -> Result<Option<PathBuf>> {
        let reg = LockedRegistry::open(&self.sim.home)?;
        let Some(medium) = self
            .vm
            .first_disk()
            .and_then(|a| a.medium.as_ref())
            .and_then(|u| reg.reg.medium(u))
            .cloned()
        else {
            log("No hard disk: the guest runs from memory only");
            return Ok(None);
        };
        drop(reg);
        let state = guest_disk_state(&self.sim, &medium.uuid);
        if state.join(".formatted").exists() {
            return Ok(Some(state));
        }
        let fmt = match medium.format.as_str() {
            "VMDK" => "vmdk",
            "VDI" => "vdi",
            "VHD" => "vpc",
            _ => "raw",
        };
        // boot2docker's autoformat copies only the disk's first 4 KiB (`dd bs=4096 count=1`)
        // before it formats the disk: whatever of the userdata tar lies beyond is lost.
        // The archive is unpacked here once to check it as the guest's tar will read it; the
        // guest unpacks the saved copy into its (in-memory) home at every boot.
        let home = self.run_dir.join("userdata-check");
        fs::create_dir_all(&home)?;
        fs::create_dir_all(state.join("boot2docker"))?;
        let tar_path = state.join("boot2docker").join("userdata.tar");
        let out = Command::new("qemu-img")
            .args(["dd", "-f", fmt, "-O", "raw", "bs=4096", "count=1"])
            .arg(format!("if={}", medium.location.display()))
            .arg(format!("of={}", tar_path.display()))
            .output()
            .context("qemu-img dd")?;
        if !out.status.success() {
            bail!(
                "reading the disk {}: {}",
                medium.location.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let mut window = fs::read(&tar_path)?;
        let name_end = window
            .iter()
            .take(100)
            .position(|b| *b == 0)
            .unwrap_or(100.min(window.len()));
        if &window[..name_end] != b"boot2docker, please format-me" {
            let _ = fs::remove_dir_all(&state);
            log("The disk carries no boot2docker magic and no data: not used");
            return Ok(None);
        }
        // boot2docker's autoformat partitions the disk (GPT) into a 1000 MiB swap partition and
        // an ext4 data partition behind it; on a disk that cannot hold both, fdisk refuses, the
        // mount fails, and the guest runs from memory without the userdata (so without its SSH
        // key), as boot2docker does.
        let capacity = virtual_size(&medium.location, fmt)?;
        if capacity < MIN_FORMATTABLE_DISK {
            let _ = fs::remove_dir_all(&state);
            log(&format!(
                "autoformat: the disk holds {} MiB, too little for boot2docker's 1000 MiB swap and a data partition: not formatted, the guest runs from memory",
                capacity >> 20
            ));
            return Ok(None);
        }
        // Like busybox tar in the guest, take what the window holds even when the archive's end
        // marker lies beyond it.
        window.extend_from_slice(&[0u8; 1024]);
        let padded = self.run_dir.join("userdata-window.tar");
        fs::write(&padded, &window)?;
        let out = Command::new("tar")
            .arg("-xf")
            .arg(&padded)
            .arg("-C")
            .arg(&home)
            .arg("--exclude=boot2docker, please format-me")
            .arg("--no-same-owner")
            .output()?;
        let _ = fs::remove_file(&padded);
        if !out.status.success() {
            bail!(
                "unpacking the userdata tar: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let _ = fs::remove_dir_all(&home);
        // Keep only the archive itself, not the zeros after it.
        truncate_tar(&tar_path)?;
        fs::write(
            state.join(".formatted"),
            b"formatted by the guest on first boot\n",
        )?;
        log("Formatted the data disk and installed the userdata (SSH keys)");
        Ok(Some(state))
    }

    /// The boot2docker version from the volume id of the ISO in the DVD drive (`b2d-v19.03.12`).
    fn iso_version(&self) -> Option<String> {
        let reg = LockedRegistry::open(&self.sim.home).ok()?;
        let iso = self
            .vm
            .controllers
            .iter()
            .flat_map(|c| &c.attachments)
            .filter(|a| a.kind == "dvddrive")
            .find_map(|a| a.medium.as_ref().and_then(|u| reg.reg.medium(u)))?
            .location
            .clone();
        drop(reg);
        let mut f = File::open(iso).ok()?;
        let mut buf = vec![0u8; 32840];
        f.read_exact(&mut buf).ok()?;
        let id = String::from_utf8_lossy(&buf[32808..32840])
            .trim()
            .to_string();
        id.strip_prefix("b2d-v").map(str::to_string)
    }

    /// Creates eth0 (NAT) and the host-only adapters inside the guest, and takes DHCP leases.
    fn wire_adapters(&mut self) -> Result<()> {
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
                    host_ip(&[
                        "link",
                        "add",
                        &host_end,
                        "type",
                        "veth",
                        "peer",
                        "name",
                        &eth,
                        "address",
                        &mac,
                        "netns",
                        &pid.to_string(),
                    ])?;
                    let _ = fs::write(
                        format!("/proc/sys/net/ipv6/conf/{host_end}/disable_ipv6"),
                        "1",
                    );
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
                    host_ip(&[
                        "link",
                        "add",
                        &host_end,
                        "type",
                        "veth",
                        "peer",
                        "name",
                        &eth,
                        "address",
                        &mac,
                        "netns",
                        &pid.to_string(),
                    ])?;
                    let bridge = match nic.attachment.as_str() {
                        "hostonlynet" => self.vmnet_bridge(&nic.hostonly_network)?,
                        _ => LockedRegistry::open(&self.sim.home)?
                            .reg
                            .hostonlyif(&nic.hostonly_adapter)
                            .map_or_else(|| nic.hostonly_adapter.clone(), |h| h.link().to_string()),
                    };
                    let _ = fs::write(
                        format!("/proc/sys/net/ipv6/conf/{host_end}/disable_ipv6"),
                        "1",
                    );
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

    /// What the guest additions report once the guest is up (nothing with
    /// `VBOXSIM_NO_GUEST_ADDITIONS=1`, an ISO without them).
    fn report_guest_properties(&self) -> Result<()> {
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
    fn report_addresses(&self) -> Result<()> {
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

    /// Listens on every `natpf` rule of the NAT adapters and forwards into the guest.
    fn start_nat_forwarders(&self) {
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

    fn teardown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(mut c) = self.guest.take() {
            if c.try_wait().ok().flatten().is_none() {
                let _ = c.kill();
            }
            let _ = c.wait();
        }
        for end in self
            .adapters
            .iter()
            .map(|a| &a.host_end)
            .chain(&self.nat_ends)
        {
            if crate::sim::hostnet::link_exists(end) {
                let _ = crate::sim::hostnet::ip(&["link", "del", end]);
            }
        }
        remove_cgroups(&self.cgroup);
        let _ = fs::remove_dir_all(&self.run_dir);
    }
}

fn host_ip(args: &[&str]) -> Result<()> {
    crate::sim::hostnet::ip(args).map_err(|e| anyhow!(e))
}

/// The guest's init (PID 1 in its namespace): the child of the unshare process.
fn guest_init_pid(unshare_pid: u32) -> Option<u32> {
    let children =
        fs::read_to_string(format!("/proc/{unshare_pid}/task/{unshare_pid}/children")).ok()?;
    children.split_whitespace().next()?.parse().ok()
}

fn spawn_console_reader(
    console: std::process::ChildStdout,
    path: PathBuf,
    booted: Arc<AtomicBool>,
) {
    std::thread::spawn(move || {
        let mut out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .ok();
        for line in BufReader::new(console).lines() {
            let Ok(line) = line else { break };
            if line.contains("VBOXSIM-BOOTED") {
                booted.store(true, Ordering::Relaxed);
            }
            if let Some(f) = out.as_mut() {
                let _ = writeln!(f, "{line}");
            }
            log(&format!("Guest: {line}"));
        }
    });
}

/// The guest's network namespace, once the guest is known to be inside it.
type GuestNetns = Arc<Mutex<Option<Arc<File>>>>;

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

/// `080027AABBCC` as `08:00:27:aa:bb:cc`.
fn colon_mac(mac: &str) -> String {
    mac.as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(":")
}

/// Cuts a tar archive after its end-of-archive marker.
fn truncate_tar(path: &Path) -> Result<()> {
    let data = fs::read(path)?;
    let mut off = 0usize;
    while off + 512 <= data.len() {
        let header = &data[off..off + 512];
        if header.iter().all(|b| *b == 0) {
            off += 1024;
            break;
        }
        let size_field = String::from_utf8_lossy(&header[124..136]);
        let size = u64::from_str_radix(size_field.trim_matches(|c: char| c == '\0' || c == ' '), 8)
            .unwrap_or(0);
        off += 512 + (size as usize).div_ceil(512) * 512;
    }
    let f = OpenOptions::new().write(true).open(path)?;
    f.set_len(off.min(data.len()) as u64)?;
    Ok(())
}

/// Removes the cgroups the guest's containers used, deepest first.
fn remove_cgroups(name: &str) {
    let Ok(controllers) = fs::read_dir("/sys/fs/cgroup") else {
        return;
    };
    for c in controllers.flatten() {
        let dir = c.path().join(name);
        if dir.is_dir() {
            remove_cgroup_tree(&dir);
        }
    }
}

fn remove_cgroup_tree(dir: &Path) {
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_cgroup_tree(&e.path());
            }
        }
    }
    for _ in 0..50 {
        if fs::remove_dir(dir).is_ok() || !dir.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The VM processes of this registry still alive (for the lab's clean-up).
pub fn running_sessions(reg: &Registry) -> Vec<u32> {
    reg.vms
        .iter()
        .filter_map(|v| v.session_pid)
        .filter(|p| pid_alive(*p))
        .collect()
}
