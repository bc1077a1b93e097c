//! The images crate against the lab's release server: the product's real download path.
//!
//! The test re-runs itself inside `tests/lab/run`, which exports `VSWARM_B2D_RELEASES_URL`.
//! Needs root.

use std::path::Path;
use std::process::Command;

use images::{Cache, ImageSource, PullOptions, PullPolicy, Resolver};

fn inside_lab() -> bool {
    std::env::var("VBOXSIM_LAB").is_ok_and(|v| v == "1")
}

fn run_in_lab(test: &str) {
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
    let exe = std::env::current_exe().expect("test binary");
    let out = Command::new(root.join("tests/lab/run"))
        .arg("--")
        .arg(exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env("VBOXSIM_BIN_DIR", &bins)
        .output()
        .expect("tests/lab/run starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "inside the lab, {test} failed");
    assert!(
        stdout.contains("1 passed"),
        "the inner test did not run: {stdout}"
    );
}

#[test]
fn the_latest_boot2docker_is_resolved_downloaded_and_cached_from_the_lab() {
    if !inside_lab() {
        return run_in_lab("the_latest_boot2docker_is_resolved_downloaded_and_cached_from_the_lab");
    }
    let dir = tempfile::Builder::new()
        .prefix("vboxsim-images.")
        .tempdir()
        .expect("temp dir");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let resolver = Resolver::from_env().expect("resolver from the lab's variables");
        let cache = Cache::new(dir.path().join("cache"));
        let options = PullOptions {
            policy: PullPolicy::CheckForNewer,
            expected_sha256: None,
        };
        let pulled = cache
            .pull(&ImageSource::Latest, &resolver, &options, |_| {})
            .await
            .expect("pulled");
        println!("pulled {:?} from {}", pulled.image.version, pulled.from);
        assert!(pulled.downloaded);
        assert_eq!(pulled.image.volume_id, "b2d-v19.03.12");
        assert!(
            pulled.image.checksum.is_some(),
            "verified against the published checksum"
        );
        // Again: served from the cache, nothing downloaded.
        let again = cache
            .pull(&ImageSource::Latest, &resolver, &options, |_| {})
            .await
            .expect("cached");
        assert!(!again.downloaded);
        assert_eq!(again.image.path, pulled.image.path);
    });
}
