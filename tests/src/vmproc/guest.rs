//! The guest itself: `tests/lab/guest/init.sh` (which brings up the guest's sshd and dockerd)
//! run as PID 1 of new namespaces, the check that it really left the host's network namespace,
//! and its console.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};

use super::{VmProcess, log};

const GUEST_INIT: &str = include_str!("../../lab/guest/init.sh");

impl VmProcess {
    /// Starts the guest's init in new namespaces; returns its console (stdout and stderr).
    pub(super) fn start_guest(&mut self) -> Result<std::process::ChildStdout> {
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
}

/// The guest's init (PID 1 in its namespace): the child of the unshare process.
pub(super) fn guest_init_pid(unshare_pid: u32) -> Option<u32> {
    let children =
        fs::read_to_string(format!("/proc/{unshare_pid}/task/{unshare_pid}/children")).ok()?;
    children.split_whitespace().next()?.parse().ok()
}

pub(super) fn spawn_console_reader(
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
