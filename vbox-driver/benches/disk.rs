//! How long writing a boot2docker userdata disk takes (target: under 100 ms per node, whatever
//! the disk size). Run: `cargo bench -p vbox-driver --bench disk`.

use std::time::{Duration, Instant};

use vbox_driver::disk::{userdata_tar, write_vmdk};

fn main() {
    let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHc1b2tlbmJlbmNobWFya2tleWZvcnZzd2FybWJlbmNo bench@vswarm";
    let head = match userdata_tar(key) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("userdata tar: {e}");
            std::process::exit(1);
        }
    };
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("temp dir: {e}");
            std::process::exit(1);
        }
    };
    for mb in [20_000u64, 100_000] {
        let mut times = Vec::new();
        for i in 0..50 {
            let path = dir.path().join(format!("d{i}.vmdk"));
            let t = Instant::now();
            if let Err(e) = write_vmdk(&path, mb << 20, &head) {
                eprintln!("VMDK {mb} MB: {e}");
                std::process::exit(1);
            }
            times.push(t.elapsed());
            let _ = std::fs::remove_file(&path);
        }
        times.sort();
        let mean = times.iter().sum::<Duration>() / times.len() as u32;
        println!(
            "VMDK {mb} MB: mean {:.2} ms, median {:.2} ms, max {:.2} ms (50 runs)",
            mean.as_secs_f64() * 1e3,
            times[times.len() / 2].as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3
        );
    }
}
