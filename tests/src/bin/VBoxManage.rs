//! `VBoxManage`, simulated: the lab puts this binary first on PATH.
#![allow(non_snake_case)]

use std::io::Write;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let start = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let t0 = Instant::now();
    if let Some(latency) = vswarm_lab::sim::call_latency() {
        std::thread::sleep(latency);
    }
    let outcome = match vswarm_lab::sim::Sim::from_env() {
        Ok(sim) => vswarm_lab::sim::run(&sim, &argv),
        Err(e) => vswarm_lab::sim::errors::Outcome {
            stdout: String::new(),
            stderr: format!("vboxsim: {e}\n"),
            code: 1,
        },
    };
    // Progress and errors go to stderr first, as VBoxManage prints them while it works.
    let _ = std::io::stderr().write_all(outcome.stderr.as_bytes());
    let _ = std::io::stdout().write_all(outcome.stdout.as_bytes());
    let _ = std::io::stdout().flush();
    vswarm_lab::sim::log_call(&argv, start, t0.elapsed(), outcome.code);
    std::process::exit(outcome.code);
}
