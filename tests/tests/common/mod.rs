//! Shared by the end-to-end tests that drive the product's libraries inside the lab.
//!
//! Such a test runs twice: outside the lab it starts `tests/lab/run -- <this test binary>
//! --exact <test>` ([`run_in_lab`]); inside, where [`inside_lab`] is true, it does the work.
//! Needs root, as CI has.

// Each test binary compiles this module and uses a part of it.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

/// Lab runs are host-wide: one at a time per test binary.
static LAB: Mutex<()> = Mutex::new(());

/// True inside `tests/lab/run`.
pub fn inside_lab() -> bool {
    std::env::var("VBOXSIM_LAB").is_ok_and(|v| v == "1")
}

/// Runs the test `test` of this binary again inside the lab (with `env` added), and checks that
/// it passed there and that no network link of the lab is left on the host.
pub fn run_in_lab(test: &str, env: &[(&str, &str)]) {
    let _one = LAB.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "the lab tests need root (CI runs them as root)"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf();
    let bins = Path::new(env!("CARGO_BIN_EXE_vboxsim-lab"))
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let links_before = settled_links();
    let exe = std::env::current_exe().expect("test binary");
    let mut cmd = Command::new(root.join("tests/lab/run"));
    cmd.arg("--")
        .arg(exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env("VBOXSIM_BIN_DIR", &bins);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("tests/lab/run starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "inside the lab, {test} failed");
    assert!(
        stdout.contains("1 passed"),
        "the inner test did not run: {stdout}"
    );
    // A dead guest's veth goes with its namespace, which the kernel tears down a moment later.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while links() != links_before && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(links_before, links(), "the lab left links behind");
}

/// The links, once a previous lab's are gone (two readings alike, 100 ms apart).
fn settled_links() -> String {
    let mut last = links();
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let now = links();
        if now == last {
            return now;
        }
        last = now;
    }
    last
}

fn links() -> String {
    let out = Command::new("ip")
        .args(["-o", "link"])
        .output()
        .expect("ip");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string() + "\n")
        .collect()
}

/// A scratch folder under /tmp holding an ed25519 key pair (`id_ed25519`) and the lab's
/// boot2docker ISO (`boot2docker.iso`), as a user's machine folder would. Blocking.
pub struct Scratch {
    pub dir: tempfile::TempDir,
    pub key: std::path::PathBuf,
    pub public_key: String,
    pub iso: std::path::PathBuf,
}

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
