//! The README's main job, run as a new user runs it (its first command, as root), twice in a
//! row: both runs bring the seed's cluster up, and the lab leaves nothing behind.

use std::process::Command;

use vswarm_lab::harness::{bin_dir, leaves_host_clean, repo_root};

#[test]
fn the_readme_main_job_works_twice() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let command = readme
        .split("```")
        .nth(1)
        .and_then(|block| block.lines().find(|l| !l.trim().is_empty()))
        .expect("a command in the README's first code block")
        .trim()
        .trim_start_matches("sudo ")
        .to_string();
    // Root, one lab at a time, and nothing of the lab left on the host afterwards.
    leaves_host_clean(|| {
        for run in 1..=2 {
            let out = Command::new("bash")
                .args(["-c", &command])
                .current_dir(repo_root())
                // The binaries `cargo test` built, rather than a release build of them.
                .env("VBOXSIM_BIN_DIR", bin_dir())
                .env_remove("VSWARM_HOME")
                .env_remove("VSWARM_FILE")
                .output()
                .expect("bash runs");
            let stdout = String::from_utf8_lossy(&out.stdout);
            eprintln!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
            assert!(out.status.success(), "run {run} of `{command}` failed");
            assert!(
                stdout.starts_with("cluster seed is up in"),
                "run {run} printed no summary:\n{stdout}"
            );
            assert_eq!(
                stdout.matches("http://192.168.").count(),
                6,
                "run {run}: nginx answers on ports 80 and 443 of the three nodes:\n{stdout}"
            );
        }
    });
}
