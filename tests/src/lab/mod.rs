//! Running a command with the lab active: `vboxsim-lab run -- CMD ARGS...` (`tests/lab/run`).
//!
//! The lab puts the simulator first on PATH, gives it a private `VBOX_USER_HOME`, starts the image
//! registry (Debian's docker-registry on port 5000 of every host address) and the boot2docker
//! release server on loopback, runs the command, and afterwards removes everything it made: VMs
//! (their namespaces, veths and processes), host-only bridges and their iptables rules, the
//! registry process and the temporary folder. Only the cache survives (images and the ISO, under
//! `target/lab-cache` or `$VBOXSIM_LAB_CACHE`).

pub mod images;
pub mod release;

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::sim::state::{LockedRegistry, pid_alive};

/// The port the registry listens on, on every host address.
pub const REGISTRY_PORT: u16 = 5000;

pub fn main(args: &[String]) -> i32 {
    let cmd: Vec<String> = match args {
        [run, dashdash, rest @ ..] if run == "run" && dashdash == "--" && !rest.is_empty() => {
            rest.to_vec()
        }
        [prepare] if prepare == "prepare" => {
            return match prepare_cache() {
                Ok(_) => 0,
                Err(e) => {
                    eprintln!("vboxsim-lab: {e:#}");
                    1
                }
            };
        }
        _ => {
            eprintln!(
                "usage: vboxsim-lab run -- CMD [ARGS...]\n       vboxsim-lab prepare   (build the cached images and ISO)"
            );
            return 2;
        }
    };
    match run(&cmd) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("vboxsim-lab: {e:#}");
            125
        }
    }
}

/// Where images and the ISO are kept between runs.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("VBOXSIM_LAB_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    // target/<profile>/vboxsim-lab -> target/lab-cache
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(|t| t.join("lab-cache")))
        .unwrap_or_else(|| PathBuf::from("/var/cache/vboxsim-lab"))
}

fn prepare_cache() -> Result<(PathBuf, release::Iso)> {
    let cache = cache_dir();
    fs::create_dir_all(&cache)?;
    let iso = release::ensure_iso(&cache)?;
    Ok((cache, iso))
}

/// Runs `cmd` inside the lab and returns its exit status.
fn run(cmd: &[String]) -> Result<i32> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!(
            "the lab needs root: it creates network namespaces, bridges and iptables rules. Run it with sudo."
        );
    }
    for tool in [
        "ip",
        "unshare",
        "nsenter",
        "qemu-img",
        "dockerd",
        "docker-registry",
        "sshd",
        "iptables",
        "xorriso",
    ] {
        if which(tool).is_none() {
            bail!("'{tool}' is not installed; .ci/run lists the Debian packages the lab needs");
        }
    }
    // Orphaned processes of the command (VM processes above all) become ours, so that clean-up
    // can wait for every one of them.
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER only changes this process's flag.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1);
    }
    let (cache, iso) = prepare_cache()?;
    // One lab at a time on a host: the registry port and host-only addresses are host-wide.
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(cache.join("lab.lock"))?;
    lock.lock()?;
    let tmp = tempfile::Builder::new()
        .prefix("vboxsim-lab.")
        .tempdir()
        .context("temporary folder")?;
    let home = tmp.path().join("VirtualBox");
    fs::create_dir_all(&home)?;
    let mut lab = Lab {
        home: home.clone(),
        registry: None,
        release: None,
    };
    let status = (|| -> Result<i32> {
        lab.registry = Some(images::start_registry(&cache, tmp.path())?);
        images::ensure_images(&cache)?;
        let server = release::ReleaseServer::start(iso)?;
        let base = server.base_url();
        lab.release = Some(server);
        let bin_dir = std::env::current_exe()?
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let path = match std::env::var_os("PATH") {
            Some(p) => {
                let mut dirs = vec![bin_dir.clone()];
                dirs.extend(std::env::split_paths(&p));
                std::env::join_paths(dirs)?
            }
            None => bin_dir.clone().into_os_string(),
        };
        let host_dir = tmp.path().join("host");
        fs::create_dir_all(&host_dir)?;
        let mut command = Command::new("unshare");
        // The command sees the host as one with VirtualBox installed: its kernel modules in
        // /proc/modules and its device files in /dev (a private mount namespace; the host's
        // own files are untouched). VBOXSIM_NO_KERNEL_MODULES=1 leaves them out.
        command
            .args([
                "--mount",
                "--propagation",
                "slave",
                "--",
                "/bin/sh",
                "-c",
                HOST_SETUP,
                "vboxsim-host",
            ])
            .args(cmd)
            .env("VBOXSIM_HOST_DIR", &host_dir);
        // The lab's clusters keep their state (and the docker CLI its contexts) in the lab's own
        // folder, unless the caller chose one: the user's own are never touched.
        for (var, folder) in [("VSWARM_HOME", "vswarm"), ("DOCKER_CONFIG", "docker")] {
            if std::env::var_os(var).is_none_or(|v| v.is_empty()) {
                command.env(var, cache.join(folder));
            }
        }
        let mut child = command
            .env("PATH", path)
            .env("VBOX_USER_HOME", &home)
            .env("VBOXSIM_LAB", "1")
            .env("VBOXSIM_REGISTRY_PORT", REGISTRY_PORT.to_string())
            .env("VBOXSIM_RELEASE_SERVER", &base)
            .env(
                "VSWARM_B2D_RELEASES_URL",
                format!("{base}/repos/boot2docker/boot2docker/releases"),
            )
            .spawn()
            .with_context(|| format!("starting {}", cmd[0]))?;
        let status = wait_forwarding_signals(&mut child)?;
        Ok(status)
    })();
    lab.clean_up();
    drop(tmp);
    status
}

/// Run by `sh` in the command's mount namespace before it execs the command: a /dev with
/// VirtualBox's device files beside the host's (bound one by one onto a tmpfs), and a
/// /proc/modules that lists VirtualBox's kernel modules after the host's.
const HOST_SETUP: &str = r#"
set -e
dev="$VBOXSIM_HOST_DIR/dev"
mkdir -p "$dev"
mount -t tmpfs -o mode=0755,size=1m vboxsim-dev "$dev"
for e in /dev/* /dev/.[!.]*; do
    [ -e "$e" ] || [ -L "$e" ] || continue
    n=${e##*/}
    if [ "$n" = ptmx ]; then
        # A bound ptmx cannot find its pts folder: point at the devpts one, as containers do.
        ln -s pts/ptmx "$dev/ptmx"
    elif [ -L "$e" ]; then
        cp -P "$e" "$dev/$n"
    elif [ -d "$e" ]; then
        mkdir "$dev/$n" && mount --rbind "$e" "$dev/$n" || true
    else
        : > "$dev/$n" && mount --bind "$e" "$dev/$n" || true
    fi
done
if [ -z "${VBOXSIM_NO_KERNEL_MODULES:-}" ]; then
    for f in vboxdrv vboxdrvu vboxnetctl; do : > "$dev/$f"; done
    # A kernel without loadable modules has no /proc/modules: the device files tell then.
    if [ -e /proc/modules ]; then
        { cat /proc/modules
          echo "vboxnetflt 32768 0 - Live 0x0000000000000000 (OE)"
          echo "vboxnetadp 28672 0 - Live 0x0000000000000000 (OE)"
          echo "vboxdrv 532480 2 vboxnetflt,vboxnetadp, Live 0x0000000000000000 (OE)"
        } > "$VBOXSIM_HOST_DIR/modules"
        mount --bind "$VBOXSIM_HOST_DIR/modules" /proc/modules
    fi
fi
# VirtualBox runs the lab's guests, so the host it emulates has VT-x: /proc/cpuinfo says so.
if ! grep -qw -e vmx -e svm /proc/cpuinfo; then
    sed 's/^\(flags[[:space:]]*:.*\)$/\1 vmx/' /proc/cpuinfo > "$VBOXSIM_HOST_DIR/cpuinfo"
    mount --bind "$VBOXSIM_HOST_DIR/cpuinfo" /proc/cpuinfo
fi
mount --move "$dev" /dev
exec "$@"
"#;

/// Waits for the command; SIGINT and SIGTERM sent to the lab are passed on to it.
fn wait_forwarding_signals(child: &mut Child) -> Result<i32> {
    let term = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        signal_hook::flag::register_usize(sig, term.clone(), sig as usize)?;
    }
    loop {
        if let Some(status) = child.try_wait()? {
            use std::os::unix::process::ExitStatusExt;
            return Ok(status
                .code()
                .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)));
        }
        let sig = term.swap(0, std::sync::atomic::Ordering::Relaxed);
        if sig != 0 {
            crate::vmproc::signal(child.id(), sig as i32);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

struct Lab {
    home: PathBuf,
    registry: Option<Child>,
    release: Option<release::ReleaseServer>,
}

impl Lab {
    /// Powers off every VM, removes every host-only bridge, stops the servers.
    fn clean_up(&mut self) {
        if let Ok(reg) = LockedRegistry::open(&self.home) {
            let pids = crate::vmproc::running_sessions(&reg.reg);
            let bridges: Vec<String> = reg
                .reg
                .hostonlyifs
                .iter()
                .map(|h| h.link().to_string())
                .chain(reg.reg.hostonlynets.iter().map(|n| n.bridge(&reg.reg)))
                .collect();
            let vms = reg.reg.vms.clone();
            drop(reg);
            for pid in &pids {
                crate::vmproc::signal(*pid, crate::vmproc::POWEROFF_SIGNAL);
            }
            let deadline = Instant::now() + Duration::from_secs(30);
            while pids.iter().any(|p| pid_alive(*p)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            for pid in pids.iter().filter(|p| pid_alive(**p)) {
                crate::vmproc::signal(*pid, libc::SIGKILL);
            }
            for b in bridges {
                crate::sim::hostnet::delete_bridge(&b);
            }
            // VMs the command left registered go too, as `unregistervm --delete` would take
            // them; disk images the command wrote are its own files and stay.
            for vm in vms {
                let _ = fs::remove_file(&vm.cfg_file);
                let _ = fs::remove_dir_all(vm.folder().join("Logs"));
                let _ = fs::remove_dir(vm.folder());
            }
        }
        if let Some(mut r) = self.registry.take() {
            let _ = r.kill();
            let _ = r.wait();
        }
        if let Some(s) = self.release.take() {
            s.stop();
        }
        reap_descendants();
    }
}

/// Ends and reaps whatever the command left running (as subreaper, they are our children).
fn reap_descendants() {
    let me = std::process::id();
    let start = Instant::now();
    loop {
        let mut status = 0;
        // SAFETY: waitpid with WNOHANG on our own children.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid > 0 {
            continue;
        }
        if pid < 0 {
            return; // ECHILD: nothing left
        }
        let left = crate::vmproc::descendants(me);
        let sig = if start.elapsed() > Duration::from_secs(5) {
            libc::SIGKILL
        } else {
            libc::SIGTERM
        };
        if start.elapsed() > Duration::from_secs(15) {
            return;
        }
        for p in left {
            crate::vmproc::signal(p, sig);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let extra = [PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")];
    std::env::split_paths(&path)
        .chain(extra)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// Spawns a server process with its output in `log`.
pub fn spawn_logged(cmd: &mut Command, log: &Path) -> Result<Child> {
    let f = File::create(log)?;
    Ok(cmd
        .stdin(Stdio::null())
        .stdout(f.try_clone()?)
        .stderr(f)
        .spawn()?)
}
