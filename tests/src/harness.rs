//! The end-to-end tests' harness: running a script or a test inside a fresh lab, and checking
//! that the host is left as it was. Shared by the lab's own tests (`tests/tests/*.rs`) and the
//! CLI's (`cli/tests/*.rs`), so that both find the repository and the built binaries, take the
//! lab, and judge what it leaves behind the same way.
//!
//! Three ways in, each through `tests/lab/run` (root, as CI has):
//! - [`in_lab`]: a bash script run as a vswarm user runs it: `vswarm` and the lab's binaries
//!   first on PATH, a private `VSWARM_HOME` and `HOME` in `$W` (a scratch folder removed
//!   afterwards), and `count_calls FILE` to count the VBoxManage calls a `VBOXSIM_LOG` holds (all,
//!   and those that change something). The script prints marker lines the test checks
//!   ([`expect_lines`]).
//! - [`bare_in_lab`]: a bash script as given, for the lab's own tests.
//! - [`run_in_lab`]: a test of the product's libraries runs twice: outside the lab it starts
//!   `tests/lab/run -- <this test binary> --exact <test>`; inside, where [`inside_lab`] is true,
//!   it does the work, with [`scratch`] for a key pair and the lab's ISO and [`runtime`] for
//!   async work. [`rerun_in_lab!`](crate::rerun_in_lab) opens such a test.
//!
//! Each holds the harness's lock (lab runs are host-wide: one at a time per test binary; the
//! lab's own lock orders binaries) and checks with [`leaves_host_clean`] that [`host_residue`]
//! is the same afterwards as before.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Lab runs are host-wide: one at a time per test binary.
static LAB: Mutex<()> = Mutex::new(());

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The folder holding `vswarm` and the lab's binaries: the running test binary's profile folder
/// (`target/debug`; test binaries live in its `deps`). `cargo test --workspace` builds them all;
/// a package's own tests build its binaries.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary");
    let dir = exe.parent().expect("binary folder");
    if dir.ends_with("deps") {
        dir.parent().expect("profile folder").to_path_buf()
    } else {
        dir.to_path_buf()
    }
}

/// True inside `tests/lab/run`.
pub fn inside_lab() -> bool {
    std::env::var("VBOXSIM_LAB").is_ok_and(|v| v == "1")
}

/// What the lab could leave on the host, as comparable text: network namespaces, links,
/// forwarding rules, the guests' processes, mounts, temporary folders and cgroups.
pub fn host_residue() -> String {
    let run = |cmd: &str| {
        let out = Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .output()
            .expect("sh runs");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    format!(
        "netns:\n{}links:\n{}forward:\n{}procs:\n{}mounts:\n{}tmp:\n{}cgroups:\n{}",
        run("ip netns list"),
        run("ip -o link | awk -F': ' '{print $2}' | sed 's/@.*//' | sort"),
        run("iptables -S FORWARD 2>/dev/null"),
        run(
            "ps -eo comm= | grep -E '^(VBoxHeadless|dockerd|containerd|docker-registry|sshd|unshare)$' | sort"
        ),
        run("grep -c . /proc/self/mountinfo"),
        run("ls -d /tmp/vboxsim-* 2>/dev/null"),
        run("ls -d /sys/fs/cgroup/*/vboxsim-* 2>/dev/null"),
    )
}

/// Runs `work` (which runs a lab) alone and as root, and checks that the host holds nothing of
/// the lab afterwards: the residue is read once a previous lab's is gone (two readings alike,
/// 100 ms apart), and again after `work`, when a dead guest's links may take the kernel a moment
/// (up to 5 s) to tear down with its namespace.
pub fn leaves_host_clean<T>(work: impl FnOnce() -> T) -> T {
    let _one = LAB.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "the lab tests need root (CI runs them as root)"
    );
    let mut before = host_residue();
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(100));
        let now = host_residue();
        if now == before {
            break;
        }
        before = now;
    }
    let result = work();
    let deadline = Instant::now() + Duration::from_secs(5);
    while host_residue() != before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(before, host_residue(), "the lab left something behind");
    result
}

/// Runs `tests/lab/run -- ARGS` with the built binaries (and `env` added, after what `setup`
/// sets), and prints its output (shown when the test fails).
fn lab_command<S: AsRef<OsStr>>(
    args: &[S],
    env: &[(&str, &str)],
    setup: impl FnOnce(&mut Command),
) -> Output {
    let bins = bin_dir();
    assert!(
        bins.join("vboxsim-lab").exists(),
        "build the lab first: cargo build -p vswarm-lab (cargo test --workspace does)"
    );
    let mut cmd = Command::new(repo_root().join("tests/lab/run"));
    cmd.arg("--").args(args).env("VBOXSIM_BIN_DIR", &bins);
    setup(&mut cmd);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("tests/lab/run starts");
    eprintln!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    out
}

/// What [`in_lab`] runs before the script: a vswarm user's scratch home, and `count_calls`.
const PRELUDE: &str = r#"
W=$(mktemp -d /tmp/vswarm-e2e.XXXXXX); trap 'rm -rf "$W"' EXIT
export VSWARM_HOME="$W/home" HOME="$W" DOCKER_CONFIG="$W/.docker"
cd "$W"
count_calls() {
  python3 - "$1" <<'PY'
import json, sys
mut = {"createvm","modifyvm","storagectl","storageattach","startvm","convertfromraw","createmedium",
       "createhd","unregistervm","controlvm","closemedium","setextradata","sharedfolder"}
total = changing = 0
for line in open(sys.argv[1]).read().splitlines():
    if not line.strip():
        continue
    argv = json.loads(line).get("argv", [])
    total += 1
    sub = argv[0] if argv else ""
    if sub in mut or (sub == "hostonlyif" and argv[1:2] != ["list"]) or sub == "dhcpserver" \
       or (sub == "guestproperty" and argv[1:2] == ["set"]):
        changing += 1
print(total, changing)
PY
}
"#;

/// Runs `script` with bash inside the lab as a vswarm user (after the prelude above: `$W`,
/// `count_calls`, the built `vswarm` first on PATH, no `VSWARM_LOG` or `VSWARM_FILE` of the
/// caller's), with `env` added; checks the host is as it was afterwards.
pub fn in_lab(script: &str, env: &[(&str, &str)]) -> Output {
    let path = format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let script = format!("{PRELUDE}\n{script}");
    leaves_host_clean(|| {
        lab_command(&["bash", "-c", &script], env, |cmd| {
            cmd.env("PATH", path)
                .env_remove("VSWARM_LOG")
                .env_remove("VSWARM_FILE");
        })
    })
}

/// Runs `script` with bash inside the lab as given, with `env` added; checks the host is as it
/// was afterwards.
pub fn bare_in_lab(script: &str, env: &[(&str, &str)]) -> Output {
    leaves_host_clean(|| lab_command(&["bash", "-c", script], env, |_| {}))
}

/// Runs the test `test` of this test binary again inside the lab (with `env` added), and checks
/// that it passed there and that the host is as it was afterwards.
pub fn run_in_lab(test: &str, env: &[(&str, &str)]) {
    let exe = std::env::current_exe().expect("test binary");
    let args = [
        exe.as_os_str(),
        OsStr::new("--exact"),
        OsStr::new(test),
        OsStr::new("--nocapture"),
        OsStr::new("--test-threads=1"),
    ];
    leaves_host_clean(|| {
        let out = lab_command(&args, env, |_| {});
        assert!(out.status.success(), "inside the lab, {test} failed");
        let text = stdout(&out);
        assert!(
            text.contains("1 passed"),
            "the inner test did not run: {text}"
        );
    });
}

/// Starts a test of the product's libraries that does its work inside the lab. Outside the lab
/// (where [`inside_lab`](crate::harness::inside_lab) is false) it runs the test again there,
/// with the `env` pairs added ([`run_in_lab`](crate::harness::run_in_lab)), and returns from
/// the test; inside, the test goes on with its work.
/// `test` is the test function's own name:
/// `vswarm_lab::rerun_in_lab!(my_test, &[("VBOXSIM_BOOT_MS", "200")]);`, or
/// `vswarm_lab::rerun_in_lab!(my_test);` for no variables.
#[macro_export]
macro_rules! rerun_in_lab {
    ($test:ident) => {
        $crate::rerun_in_lab!($test, &[])
    };
    ($test:ident, $env:expr) => {
        if !$crate::harness::inside_lab() {
            // `$test` must name a function: the test's own.
            let _: fn() = $test;
            return $crate::harness::run_in_lab(stringify!($test), $env);
        }
    };
}

/// A multi-threaded tokio runtime for a test's async work inside the lab.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A script's standard output, as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Checks that the script succeeded.
pub fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "lab script failed ({})\nstdout:\n{}\nstderr:\n{}",
        out.status,
        stdout(out),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Checks that the script succeeded and printed every line starting with one of `want`.
pub fn expect_lines(out: &Output, want: &[&str]) {
    let text = stdout(out);
    let missing: Vec<&&str> = want
        .iter()
        .filter(|w| !text.lines().any(|l| l.starts_with(**w)))
        .collect();
    assert!(
        missing.is_empty() && out.status.success(),
        "exit {:?}; missing {missing:?} in:\n{text}",
        out.status.code()
    );
}

/// A scratch folder under /tmp holding an ed25519 key pair (`id_ed25519`) and the lab's
/// boot2docker ISO (`boot2docker.iso`), as a user's machine folder would. Blocking; only inside
/// the lab (its release server serves the ISO).
pub struct Scratch {
    pub dir: tempfile::TempDir,
    pub key: PathBuf,
    pub public_key: String,
    pub iso: PathBuf,
}

/// Makes a [`Scratch`] folder whose name starts with `prefix`.
pub fn scratch(prefix: &str) -> Scratch {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("temp dir");
    let key = dir.path().join("id_ed25519");
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", ""])
        .arg("-f")
        .arg(&key)
        .status()
        .expect("ssh-keygen");
    assert!(st.success());
    let public_key = std::fs::read_to_string(key.with_extension("pub")).expect("public key");
    let server = std::env::var("VBOXSIM_RELEASE_SERVER").expect("inside the lab");
    let url =
        format!("{server}/boot2docker/boot2docker/releases/download/v19.03.12/boot2docker.iso");
    let bytes = reqwest::blocking::get(url)
        .and_then(|r| r.bytes())
        .expect("ISO download");
    let iso = dir.path().join("boot2docker.iso");
    std::fs::write(&iso, bytes).expect("ISO written");
    Scratch {
        dir,
        key,
        public_key,
        iso,
    }
}
