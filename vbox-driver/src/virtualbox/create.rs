//! Creating a VM, or completing one an interrupted run left: the userdata disk, then one
//! `createvm`/`registervm`, one `modifyvm` with every setting it lacks, and the disks attached.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};

use super::{OWNER_KEY, VirtualBoxDriver, VirtualBoxError, is_active};
use crate::disk;
use crate::driver::{Created, NodeSpec};
use crate::hostonly::HostOnlyKind;
use crate::parse::{MachineInfo, NicAttachment};

impl VirtualBoxDriver {
    /// Writes the userdata disk unless it exists. `fresh`: the VM is new, so whatever its
    /// folder holds is left from an earlier VM of that name (unregistered by hand, or whose
    /// VirtualBox is gone): its settings file and disk are replaced, never adopted.
    pub(super) fn ensure_disk(
        &self,
        spec: &NodeSpec,
        fresh: bool,
    ) -> Result<PathBuf, VirtualBoxError> {
        let dir = self.machine_dir(&spec.name);
        let disk_path = self.disk_path(&spec.name);
        if fresh {
            let _ = std::fs::remove_dir_all(dir.join(&spec.name));
            let _ = std::fs::remove_file(&disk_path);
        }
        let mut folder = std::fs::DirBuilder::new();
        folder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut folder, 0o700);
        folder
            .create(&dir)
            .map_err(|source| VirtualBoxError::Folder {
                path: dir.clone(),
                source,
            })?;
        if !disk_path.exists() {
            let head = disk::userdata_tar(&spec.ssh_public_key).map_err(|source| {
                VirtualBoxError::Disk {
                    path: disk_path.clone(),
                    source,
                }
            })?;
            disk::write_vmdk(&disk_path, spec.disk_mb << 20, &head).map_err(|source| {
                VirtualBoxError::Disk {
                    path: disk_path.clone(),
                    source,
                }
            })?;
        }
        Ok(disk_path)
    }

    /// Registers the VM if needed, then applies whatever of the spec it lacks. `info` is the
    /// VM as it is (None: it does not exist yet). A run that failed half-way converges here.
    /// Returns what it did and the SSH port it forwarded, when it set the forward.
    pub(super) async fn create_or_complete(
        &self,
        spec: &NodeSpec,
        info: Option<&MachineInfo>,
    ) -> Result<(Created, Option<u16>), VirtualBoxError> {
        let name = spec.name.as_str();
        // A VM's data disk is never swapped: one it has that vswarm did not write (a machine
        // adopted from docker-machine) stays, and only vswarm's own is written when missing.
        let disk_path = match info
            .and_then(|i| i.storage("SATA", 1, 0))
            .filter(|p| Path::new(p) != self.disk_path(name))
        {
            Some(theirs) => PathBuf::from(theirs),
            None => self.ensure_disk(spec, info.is_none())?,
        };
        let mut changed = false;
        let mut forwarded = None;
        if info.is_none() {
            let base = self.machine_dir(name).to_string_lossy().into_owned();
            self.vbm
                .run(&[
                    "createvm",
                    "--basefolder",
                    &base,
                    "--name",
                    name,
                    "--register",
                ])
                .await?;
            if let Some(owner) = &self.owner {
                self.vbm
                    .run(&["setextradata", name, OWNER_KEY, &owner.tag])
                    .await?;
            }
        }
        let active = info.is_some_and(|i| is_active(&i.state()));
        let have_ssh = info.is_some_and(|i| i.forwarding_rules().iter().any(|r| r.name == "ssh"));
        let sizes_differ = info
            .is_some_and(|i| (i.cpus(), i.memory_mb()) != (Some(spec.cpus), Some(spec.memory_mb)));
        let on_network = self.network.kind;
        let nics_wrong = info.is_none_or(|i| {
            let nat = i.nic(1).is_some_and(|n| n.attachment == "nat");
            let interface = Some(self.network.interface.as_str());
            let hostonly = i.nic(2).is_some_and(|n| match on_network {
                HostOnlyKind::Adapter => {
                    n.attachment == "hostonly" && n.hostonly_adapter.as_deref() == interface
                }
                HostOnlyKind::Network => {
                    n.attachment == NicAttachment::HostOnlyNetwork
                        && n.hostonly_network.as_deref() == interface
                }
            });
            !(nat && hostonly)
        });
        if info.is_none() || sizes_differ || nics_wrong || !have_ssh {
            if active {
                let (c, m) = info
                    .map(|i| (i.cpus().unwrap_or(0), i.memory_mb().unwrap_or(0)))
                    .unwrap_or_default();
                return Err(VirtualBoxError::RunningMismatch {
                    name: name.to_string(),
                    have: format!("{c} CPUs and {m} MB on its current network"),
                    want: format!(
                        "{} CPUs, {} MB and the host-only adapter {}",
                        spec.cpus, spec.memory_mb, self.network.interface
                    ),
                });
            }
            let cpus = spec.cpus.to_string();
            let memory = spec.memory_mb.to_string();
            let ssh_port = match have_ssh {
                true => None,
                false => Some(free_local_port().map_err(VirtualBoxError::NoPort)?),
            };
            let natpf = ssh_port.map(|port| format!("ssh,tcp,127.0.0.1,{port},,22"));
            // Everything in one modifyvm: docker-machine's settings, both adapters, the SSH forward.
            let mut settings: Vec<&str> = vec![
                "modifyvm",
                name,
                "--firmware",
                "bios",
                "--bioslogofadein",
                "off",
                "--bioslogofadeout",
                "off",
                "--bioslogodisplaytime",
                "0",
                "--biosbootmenu",
                "disabled",
                "--ostype",
                "Linux26_64",
                "--cpus",
                &cpus,
                "--memory",
                &memory,
                "--acpi",
                "on",
                "--ioapic",
                "on",
                "--rtcuseutc",
                "on",
                "--natdnshostresolver1",
                "off",
                "--natdnsproxy1",
                "on",
                "--cpuhotplug",
                "off",
                "--pae",
                "on",
                "--hpet",
                "on",
                "--hwvirtex",
                "on",
                "--nestedpaging",
                "on",
                "--largepages",
                "on",
                "--vtxvpid",
                "on",
                "--accelerate3d",
                "off",
                "--boot1",
                "dvd",
                "--nic1",
                "nat",
                "--nictype1",
                "82540EM",
                "--cableconnected1",
                "on",
                "--nictype2",
                "82540EM",
                "--nicpromisc2",
                "deny",
                "--cableconnected2",
                "on",
            ];
            // The second adapter on the cluster's network: a host-only adapter, or (VirtualBox 7
            // on macOS) a host-only network.
            settings.extend(match on_network {
                HostOnlyKind::Adapter => ["--nic2", "hostonly", "--hostonlyadapter2"],
                HostOnlyKind::Network => ["--nic2", "hostonlynet", "--host-only-net2"],
            });
            settings.push(&self.network.interface);
            // VirtualBox 7's NAT no longer lets a guest reach the host's loopback unless asked
            // (a registry mirror on 127.0.0.1, minikube#15566).
            if self.nat_localhost_reachable {
                settings.extend(["--nat-localhostreachable1", "on"]);
            }
            if let Some(rule) = &natpf {
                settings.extend(["--natpf1", rule.as_str()]);
            }
            self.vbm.run(&settings).await?;
            changed = true;
            forwarded = ssh_port;
        }
        let has_sata = info.is_some_and(|i| i.storage_controllers().iter().any(|c| c == "SATA"));
        if !has_sata {
            self.vbm
                .run(&[
                    "storagectl",
                    name,
                    "--name",
                    "SATA",
                    "--add",
                    "sata",
                    "--hostiocache",
                    "on",
                ])
                .await?;
            changed = true;
        }
        // The ISO on port 0 (dvddrive), the disk on port 1 (hdd), unless attached already.
        let media = [(0, "dvddrive", spec.iso.clone()), (1, "hdd", disk_path)];
        for (port, kind, medium) in media {
            let medium = medium.to_string_lossy().into_owned();
            let attached = info.and_then(|i| i.storage("SATA", port, 0));
            // A running VM keeps the ISO it booted: another one matters only at its next boot,
            // and is attached by the first `up` that finds it powered off.
            if kind == "dvddrive" && active && attached.is_some() {
                continue;
            }
            if attached.as_deref() != Some(medium.as_str()) {
                let port = port.to_string();
                let args = [
                    "storageattach",
                    name,
                    "--storagectl",
                    "SATA",
                    "--port",
                    &port,
                    "--device",
                    "0",
                    "--type",
                    kind,
                    "--medium",
                    &medium,
                ];
                self.vbm.run(&args).await?;
                changed = true;
            }
        }
        let created = match (info, changed) {
            (None, _) => Created::New,
            (Some(_), true) => Created::Completed,
            (Some(_), false) => Created::Unchanged,
        };
        Ok((created, forwarded))
    }
}

/// A port on 127.0.0.1 nothing listens on now (VirtualBox binds it when the VM starts).
fn free_local_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}
