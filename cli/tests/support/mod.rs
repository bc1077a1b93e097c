//! Running the real `vswarm` binary in the lab, as a user does, for the end-to-end tests.
//!
//! A test hands a bash script to [`in_lab`]: it runs inside `tests/lab/run` (root, as CI has),
//! with `vswarm` and the lab's binaries first on PATH, a private `VSWARM_HOME` and `HOME` in
//! `$W` (a scratch folder removed afterwards), and `count_calls FILE` to count the VBoxManage
//! calls a `VBOXSIM_LOG` holds (all, and those that change something). The script prints marker
//! lines that the test checks; the host must hold nothing of the lab afterwards.

// Each test binary uses a part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

/// Lab runs are host-wide: one at a time per test binary (the lab's own lock orders binaries).
static LAB: Mutex<()> = Mutex::new(());

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf()
}

/// The folder holding `vswarm` and the lab's binaries (`cargo test --workspace` builds both).
pub fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_vswarm"))
        .parent()
        .expect("target folder")
        .to_path_buf()
}

/// What the lab could leave on the host: namespaces and links.
pub fn host_residue() -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg("ip netns list; ip -o link | awk -F': ' '{print $2}' | sed 's/@.*//' | sort")
        .output()
        .expect("sh runs");
    String::from_utf8_lossy(&out.stdout).to_string()
}

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

/// Runs `script` with bash inside the lab (after the prelude above) with `env` added; checks
/// that the host is as it was afterwards.
pub fn in_lab(script: &str, env: &[(&str, &str)]) -> Output {
    let _one = LAB.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "the lab tests need root (CI runs them as root)"
    );
    let bins = bin_dir();
    assert!(
        bins.join("vboxsim-lab").exists(),
        "build the lab first: cargo build -p vswarm-lab (cargo test --workspace does)"
    );
    // Once a previous lab's links are gone (two readings alike, 100 ms apart).
    let mut before = host_residue();
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let now = host_residue();
        if now == before {
            break;
        }
        before = now;
    }
    let path = format!(
        "{}:{}",
        bins.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new(repo_root().join("tests/lab/run"));
    cmd.args(["--", "bash", "-c", &format!("{PRELUDE}\n{script}")])
        .env("VBOXSIM_BIN_DIR", &bins)
        .env("PATH", path)
        .env_remove("VSWARM_LOG")
        .env_remove("VSWARM_FILE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("tests/lab/run starts");
    eprintln!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // A dead guest's veth goes with its namespace, which the kernel tears down a moment later.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while host_residue() != before && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        before,
        host_residue(),
        "the lab left links or namespaces behind"
    );
    out
}

/// Checks that the script succeeded and printed every line starting with one of `want`.
pub fn expect_lines(out: &Output, want: &[&str]) {
    let text = String::from_utf8_lossy(&out.stdout).to_string();
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
