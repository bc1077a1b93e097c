//! The guest's boot2docker data disk: on first boot the userdata tar at the start of the disk
//! (the SSH key) is unpacked as boot2docker's autoformat does, within its limits; the ISO's
//! volume id gives the boot2docker version.

use std::fs::{self, File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use super::{VmProcess, log};
use crate::sim::media::guest_disk_state;
use crate::sim::state::LockedRegistry;

/// The smallest disk boot2docker's autoformat can use: the GPT's first MiB, the 1000 MiB swap
/// partition, and a data partition that mkfs.ext4 can give a journal (8 MiB), plus the backup
/// GPT at the end.
const MIN_FORMATTABLE_DISK: u64 = (1 + 1000 + 8 + 1) << 20;

/// A disk image's capacity in bytes, as `qemu-img info` reads it.
fn virtual_size(path: &Path, fmt: &str) -> Result<u64> {
    let out = Command::new("qemu-img")
        .args(["info", "--output=json", "-f", fmt])
        .arg(path)
        .output()
        .context("qemu-img info")?;
    if !out.status.success() {
        bail!(
            "reading the disk {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).context("qemu-img info")?;
    info["virtual-size"]
        .as_u64()
        .context("qemu-img info gave no virtual-size")
}

impl VmProcess {
    /// The first hard disk's persistent folder. On first boot the boot2docker userdata tar at
    /// the start of the disk is unpacked into /home/docker ("format-me"), as boot2docker does.
    pub(super) fn prepare_disk(&self) -> Result<Option<PathBuf>> {
        let reg = LockedRegistry::open(&self.sim.home)?;
        let Some(medium) = self
            .vm
            .first_disk()
            .and_then(|a| a.medium.as_ref())
            .and_then(|u| reg.reg.medium(u))
            .cloned()
        else {
            log("No hard disk: the guest runs from memory only");
            return Ok(None);
        };
        drop(reg);
        let state = guest_disk_state(&self.sim, &medium.uuid);
        if state.join(".formatted").exists() {
            return Ok(Some(state));
        }
        let fmt = match medium.format.as_str() {
            "VMDK" => "vmdk",
            "VDI" => "vdi",
            "VHD" => "vpc",
            _ => "raw",
        };
        // boot2docker's autoformat copies only the disk's first 4 KiB (`dd bs=4096 count=1`)
        // before it formats the disk: whatever of the userdata tar lies beyond is lost.
        // The archive is unpacked here once to check it as the guest's tar will read it; the
        // guest unpacks the saved copy into its (in-memory) home at every boot.
        let home = self.run_dir.join("userdata-check");
        fs::create_dir_all(&home)?;
        fs::create_dir_all(state.join("boot2docker"))?;
        let tar_path = state.join("boot2docker").join("userdata.tar");
        let out = Command::new("qemu-img")
            .args(["dd", "-f", fmt, "-O", "raw", "bs=4096", "count=1"])
            .arg(format!("if={}", medium.location.display()))
            .arg(format!("of={}", tar_path.display()))
            .output()
            .context("qemu-img dd")?;
        if !out.status.success() {
            bail!(
                "reading the disk {}: {}",
                medium.location.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let mut window = fs::read(&tar_path)?;
        let name_end = window
            .iter()
            .take(100)
            .position(|b| *b == 0)
            .unwrap_or(100.min(window.len()));
        if &window[..name_end] != b"boot2docker, please format-me" {
            let _ = fs::remove_dir_all(&state);
            log("The disk carries no boot2docker magic and no data: not used");
            return Ok(None);
        }
        // boot2docker's autoformat partitions the disk (GPT) into a 1000 MiB swap partition and
        // an ext4 data partition behind it; on a disk that cannot hold both, fdisk refuses, the
        // mount fails, and the guest runs from memory without the userdata (so without its SSH
        // key), as boot2docker does.
        let capacity = virtual_size(&medium.location, fmt)?;
        if capacity < MIN_FORMATTABLE_DISK {
            let _ = fs::remove_dir_all(&state);
            log(&format!(
                "autoformat: the disk holds {} MiB, too little for boot2docker's 1000 MiB swap and a data partition: not formatted, the guest runs from memory",
                capacity >> 20
            ));
            return Ok(None);
        }
        // Like busybox tar in the guest, take what the window holds even when the archive's end
        // marker lies beyond it.
        window.extend_from_slice(&[0u8; 1024]);
        let padded = self.run_dir.join("userdata-window.tar");
        fs::write(&padded, &window)?;
        let out = Command::new("tar")
            .arg("-xf")
            .arg(&padded)
            .arg("-C")
            .arg(&home)
            .arg("--exclude=boot2docker, please format-me")
            .arg("--no-same-owner")
            .output()?;
        let _ = fs::remove_file(&padded);
        if !out.status.success() {
            bail!(
                "unpacking the userdata tar: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let _ = fs::remove_dir_all(&home);
        // Keep only the archive itself, not the zeros after it.
        truncate_tar(&tar_path)?;
        fs::write(
            state.join(".formatted"),
            b"formatted by the guest on first boot\n",
        )?;
        log("Formatted the data disk and installed the userdata (SSH keys)");
        Ok(Some(state))
    }

    /// The boot2docker version from the volume id of the ISO in the DVD drive (`b2d-v19.03.12`).
    pub(super) fn iso_version(&self) -> Option<String> {
        let reg = LockedRegistry::open(&self.sim.home).ok()?;
        let iso = self
            .vm
            .controllers
            .iter()
            .flat_map(|c| &c.attachments)
            .filter(|a| a.kind == "dvddrive")
            .find_map(|a| a.medium.as_ref().and_then(|u| reg.reg.medium(u)))?
            .location
            .clone();
        drop(reg);
        let mut f = File::open(iso).ok()?;
        let mut buf = vec![0u8; 32840];
        f.read_exact(&mut buf).ok()?;
        let id = String::from_utf8_lossy(&buf[32808..32840])
            .trim()
            .to_string();
        id.strip_prefix("b2d-v").map(str::to_string)
    }
}

/// Cuts a tar archive after its end-of-archive marker.
fn truncate_tar(path: &Path) -> Result<()> {
    let data = fs::read(path)?;
    let mut off = 0usize;
    while off + 512 <= data.len() {
        let header = &data[off..off + 512];
        if header.iter().all(|b| *b == 0) {
            off += 1024;
            break;
        }
        let size_field = String::from_utf8_lossy(&header[124..136]);
        let size = u64::from_str_radix(size_field.trim_matches(|c: char| c == '\0' || c == ' '), 8)
            .unwrap_or(0);
        off += 512 + (size as usize).div_ceil(512) * 512;
    }
    let f = OpenOptions::new().write(true).open(path)?;
    f.set_len(off.min(data.len()) as u64)?;
    Ok(())
}
