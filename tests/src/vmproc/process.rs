//! The VM process's life: claiming the VM's session, the boot delay, supervising the guest
//! (power-off and ACPI signals, the guest additions' rounds), recording the final state, and
//! tearing the guest's links and cgroups down.

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};

use super::guest::{guest_init_pid, spawn_console_reader};
use super::{ACPI_SIGNAL, POWEROFF_SIGNAL, VmProcess, log, runtime_dir, signal};
use crate::sim::Sim;
use crate::sim::state::{LockedRegistry, VmState, now_state_time, pid_alive};
use crate::sim::vm::clear_transient_properties;

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
