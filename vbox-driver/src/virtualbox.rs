//! The VirtualBox driver: boot2docker VMs on a host-only network, in few VBoxManage calls.
//!
//! docker-machine spent 30 to 40 `VBoxManage` processes per VM and streamed 20 GB of zeros into
//! `convertfromraw`. Here the userdata disk is written directly as a sparse VMDK ([`crate::disk`]),
//! every setting goes into one `modifyvm`, and creating and starting a node takes about ten
//! calls; the host-only network is set up once per cluster beforehand
//! ([`crate::hostonly::ensure_hostonly_network`]).

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::disk::{self, DiskFormat};
use crate::driver::{
    AddressProbe, Created, Driver, MachineState, NodeSpec, NodeUp, SshEndpoint, UpStep,
};
use crate::hostonly::{HostOnlyKind, HostOnlyNetwork};
use crate::parse::{self, MachineInfo, NicAttachment, VBoxVersion, VmState};
use crate::runner::{VBoxManage, VBoxManageError};

/// The oldest VirtualBox vswarm drives.
pub const MINIMUM_VERSION: (u32, u32) = (5, 0);
/// The guest property the guest additions set to the host-only address (adapter 2 = Net/1).
pub const HOSTONLY_IP_PROPERTY: &str = "/VirtualBox/GuestInfo/Net/1/V4/IP";
/// The VM's extra data that says who made it: `<cluster>/<cluster id>`.
pub const OWNER_KEY: &str = "vswarm/owner";

#[derive(Debug, thiserror::Error)]
pub enum VirtualBoxError {
    #[error(transparent)]
    VBoxManage(#[from] VBoxManageError),
    #[error("VirtualBox {found} is too old: vswarm needs 5.0 or later. Upgrade VirtualBox.")]
    TooOld { found: String },
    #[error("reading VBoxManage's output: {0}")]
    Parse(String),
    #[error("writing the boot2docker disk {path}: {detail}")]
    Disk { path: PathBuf, detail: String },
    #[error("no VM named '{0}' exists")]
    Missing(String),
    #[error(
        "VM '{name}' got no host-only address within {waited:?}. Likely causes: its host-only network \
         has no enabled DHCP server, the guest did not boot (see {log}), or the guest additions are \
         missing from the ISO"
    )]
    NoIp {
        name: String,
        waited: Duration,
        log: String,
    },
    #[error("VM '{name}' has no SSH port forward (NAT rule 'ssh'); recreate it with vswarm")]
    NoSshForward { name: String },
    #[error(
        "VM '{name}' runs with {have}; {want} can only be applied while it is stopped: stop it first (vswarm stop {name})"
    )]
    RunningMismatch {
        name: String,
        have: String,
        want: String,
    },
    #[error("could not find a free local port for SSH: {0}")]
    NoPort(std::io::Error),
    #[error(
        "a VM named '{name}' exists but was not made by this cluster ({}): vswarm changes only its own VMs. Rename or remove that VM, or give the node another name",
        match found { Some(f) => format!("it belongs to {f}"), None => "it carries no vswarm mark".to_string() }
    )]
    NotOurs { name: String, found: Option<String> },
}

/// Whose VMs a driver may change: those whose [`OWNER_KEY`] is `tag`, and the VMs named in
/// `adopt` (recorded as this owner's before VMs were marked; they are marked when met). A tag
/// ending in `/` (a cluster whose id is lost with its record) matches every id of that name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Owner {
    pub tag: String,
    pub adopt: Vec<String>,
}

impl Owner {
    /// Whether a VM's mark is this owner's.
    pub fn marks(&self, mark: &str) -> bool {
        mark == self.tag || (self.tag.ends_with('/') && mark.starts_with(&self.tag))
    }
}

/// The VMs whose mark `owner` recognizes: `list vms`, then every VM's mark, read together.
pub async fn marked_vms(vbm: &VBoxManage, owner: &Owner) -> Result<Vec<String>, VirtualBoxError> {
    let out = vbm.run(&["list", "vms"]).await?;
    let vms = parse::parse_list_vms(&out.stdout);
    let marks = futures::future::join_all(vms.iter().map(|vm| async move {
        let out = vbm.run(&["getextradata", &vm.uuid, OWNER_KEY]).await;
        (vm.name.clone(), out)
    }))
    .await;
    Ok(marks
        .into_iter()
        .filter_map(|(name, out)| {
            let mark = parse::parse_guestproperty_value(&out.ok()?.stdout)?;
            owner.marks(&mark).then_some(name)
        })
        .collect())
}

/// A VM's details (`showvminfo --machinereadable`), or None when no VM has that name.
pub async fn machine_info(
    vbm: &VBoxManage,
    name: &str,
) -> Result<Option<MachineInfo>, VirtualBoxError> {
    match vbm.run(&["showvminfo", name, "--machinereadable"]).await {
        Ok(out) => parse::parse_showvminfo(&out.stdout)
            .map(Some)
            .map_err(|e| VirtualBoxError::Parse(e.to_string())),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Marks a VM another tool made (docker-machine's) as `owner`'s, on the user's word (`vswarm
/// import`). A VM another cluster marked is refused.
pub async fn adopt_vm(vbm: &VBoxManage, name: &str, owner: &Owner) -> Result<(), VirtualBoxError> {
    let out = vbm.run(&["getextradata", name, OWNER_KEY]).await?;
    match parse::parse_guestproperty_value(&out.stdout) {
        Some(mark) if owner.marks(&mark) => Ok(()),
        Some(mark) => Err(VirtualBoxError::NotOurs {
            name: name.to_string(),
            found: Some(mark),
        }),
        None => {
            vbm.run(&["setextradata", name, OWNER_KEY, &owner.tag])
                .await?;
            Ok(())
        }
    }
}

/// Drives VirtualBox for one cluster.
#[derive(Debug, Clone)]
pub struct VirtualBoxDriver {
    vbm: VBoxManage,
    network: HostOnlyNetwork,
    /// Where each VM's folder and disk go (`<machines>/<name>/`).
    machines: PathBuf,
    /// How long to wait for the guest's address.
    pub ip_timeout: Duration,
    /// How long `stop` lets the guest shut down before powering it off.
    pub stop_timeout: Duration,
    /// Asks the guest for its address when no guest additions report it.
    probe: Option<std::sync::Arc<dyn AddressProbe>>,
    /// Whose VMs this driver may change; None: any (a driver without a cluster).
    owner: Option<Owner>,
    /// VMs this driver powered on whose address it has not read since. VirtualBox keeps the
    /// guest additions' properties across a power-off (only TRANSIENT ones go), so until the
    /// guest reports again, `Net/1/V4/IP` is the previous boot's address.
    booting: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
    /// Ask VirtualBox 7's NAT to let guests reach the host's loopback.
    nat_localhost_reachable: bool,
}

impl std::fmt::Debug for dyn AddressProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AddressProbe")
    }
}

/// Checks VirtualBox's version: refuses versions older than 5.0.
pub async fn check_version(vbm: &VBoxManage) -> Result<VBoxVersion, VirtualBoxError> {
    let out = vbm.run(&["--version"]).await?;
    let v = parse::parse_version(&out.stdout).map_err(|e| VirtualBoxError::Parse(e.to_string()))?;
    if (v.major, v.minor) < MINIMUM_VERSION {
        return Err(VirtualBoxError::TooOld {
            found: v.to_string(),
        });
    }
    Ok(v)
}

impl VirtualBoxDriver {
    pub fn new(
        vbm: VBoxManage,
        network: HostOnlyNetwork,
        machines: impl AsRef<Path>,
    ) -> VirtualBoxDriver {
        VirtualBoxDriver {
            vbm,
            network,
            machines: machines.as_ref().to_path_buf(),
            ip_timeout: Duration::from_secs(120),
            stop_timeout: Duration::from_secs(30),
            probe: None,
            owner: None,
            booting: Default::default(),
            nat_localhost_reachable: false,
        }
    }

    /// Finds the address with `probe` when no guest additions report it.
    pub fn with_address_probe(
        mut self,
        probe: std::sync::Arc<dyn AddressProbe>,
    ) -> VirtualBoxDriver {
        self.probe = Some(probe);
        self
    }

    /// VirtualBox 7 and later: VMs it configures let their guests reach the host's loopback
    /// through NAT (`--nat-localhostreachable1 on`), as earlier versions did by default.
    pub fn with_nat_localhost_reachable(mut self, on: bool) -> VirtualBoxDriver {
        self.nat_localhost_reachable = on;
        self
    }

    /// Marks the VMs this driver creates as `owner`'s, and refuses to change any other.
    pub fn with_owner(mut self, owner: Owner) -> VirtualBoxDriver {
        self.owner = Some(owner);
        self
    }

    /// Whose mark a VM carries (None: none), when this driver has an owner.
    async fn mark(&self, name: &str) -> Result<Option<String>, VirtualBoxError> {
        let out = self.vbm.run(&["getextradata", name, OWNER_KEY]).await?;
        Ok(parse::parse_guestproperty_value(&out.stdout).filter(|v| !v.is_empty()))
    }

    /// Checks that an existing VM is this driver's owner's (marking it when it is recorded as
    /// theirs but unmarked); `mark` is what [`Self::mark`] read.
    async fn check_mark(
        &self,
        name: &str,
        mark: Result<Option<String>, VirtualBoxError>,
    ) -> Result<(), VirtualBoxError> {
        let Some(owner) = &self.owner else {
            return Ok(());
        };
        match mark? {
            Some(tag) if owner.marks(&tag) => Ok(()),
            None if owner.adopt.iter().any(|a| a == name) => {
                self.vbm
                    .run(&["setextradata", name, OWNER_KEY, &owner.tag])
                    .await?;
                Ok(())
            }
            found => Err(VirtualBoxError::NotOurs {
                name: name.to_string(),
                found,
            }),
        }
    }

    /// The VM's details, checked to be this driver's owner's (None: no such VM). The mark is
    /// read alongside the details: one round of calls.
    async fn own_info(&self, name: &str) -> Result<Option<MachineInfo>, VirtualBoxError> {
        if self.owner.is_none() {
            return self.info(name).await;
        }
        let (info, mark) = tokio::join!(self.info(name), self.mark(name));
        let info = info?;
        if info.is_some() {
            self.check_mark(name, mark).await?;
        }
        Ok(info)
    }

    /// The host-only address read inside the guest by the probe, by the adapter's MAC.
    async fn ip_from_guest(&self, name: &str, probe: &dyn AddressProbe) -> Option<Ipv4Addr> {
        let info = self.info(name).await.ok()??;
        let mac = info.nic(2)?.mac?;
        let endpoint = ssh_rule(&info)?;
        tokio::time::timeout(
            Duration::from_secs(15),
            probe.address(name, &endpoint, &mac),
        )
        .await
        .ok()?
    }

    pub fn network(&self) -> &HostOnlyNetwork {
        &self.network
    }

    fn machine_dir(&self, name: &str) -> PathBuf {
        self.machines.join(name)
    }

    fn disk_path(&self, name: &str) -> PathBuf {
        self.machine_dir(name).join("disk.vmdk")
    }

    /// The VM's details, or None when no VM has that name.
    pub async fn info(&self, name: &str) -> Result<Option<MachineInfo>, VirtualBoxError> {
        machine_info(&self.vbm, name).await
    }

    /// Writes the userdata disk unless it exists. `fresh`: the VM is new, so whatever its
    /// folder holds is left from an earlier VM of that name (unregistered by hand, or whose
    /// VirtualBox is gone): its settings file and disk are replaced, never adopted.
    fn ensure_disk(&self, spec: &NodeSpec, fresh: bool) -> Result<PathBuf, VirtualBoxError> {
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
        folder.create(&dir).map_err(|e| VirtualBoxError::Disk {
            path: dir.clone(),
            detail: e.to_string(),
        })?;
        if !disk_path.exists() {
            let head =
                disk::userdata_tar(&spec.ssh_public_key).map_err(|e| VirtualBoxError::Disk {
                    path: disk_path.clone(),
                    detail: e.to_string(),
                })?;
            disk::write_sparse_disk(&disk_path, DiskFormat::Vmdk, spec.disk_mb << 20, &head)
                .map_err(|e| VirtualBoxError::Disk {
                    path: disk_path.clone(),
                    detail: e.to_string(),
                })?;
        }
        Ok(disk_path)
    }

    /// Registers the VM if needed, then applies whatever of the spec it lacks. `info` is the
    /// VM as it is (None: it does not exist yet). A run that failed half-way converges here.
    /// Returns what it did and the SSH port it forwarded, when it set the forward.
    async fn create_or_complete(
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

    /// Powers on a VM in `state`: `startvm`, or `resume` when paused, or nothing when running.
    /// True when it was not running.
    async fn start_from(&self, name: &str, state: &VmState) -> Result<bool, VirtualBoxError> {
        match state {
            VmState::Running => Ok(false),
            VmState::Paused => {
                self.vbm.run(&["controlvm", name, "resume"]).await?;
                Ok(true)
            }
            _ => {
                self.vbm
                    .run(&["startvm", name, "--type", "headless"])
                    .await?;
                if let Ok(mut booting) = self.booting.lock() {
                    booting.insert(name.to_string());
                }
                Ok(true)
            }
        }
    }

    /// `controlvm poweroff`; a VM that is off already is fine.
    async fn power_off(&self, name: &str) -> Result<(), VirtualBoxError> {
        match self.vbm.run(&["controlvm", name, "poweroff"]).await {
            Ok(_) => Ok(()),
            Err(e) if e.stderr().contains("is not currently running") => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether `ip` lies on the cluster's host-only network.
    fn on_network(&self, ip: Ipv4Addr) -> bool {
        self.network.host.trunc().contains(&ip)
    }

    /// The guest's host-only address, waiting for it. `wait_first`: the VM was just created
    /// and booted, so no address can be there yet: the first call waits rather than asks (as it
    /// does for a VM this driver has just powered on, whose property may be stale).
    async fn wait_for_ip(
        &self,
        name: &str,
        wait_first: bool,
        moved_from: Option<Ipv4Addr>,
    ) -> Result<Ipv4Addr, VirtualBoxError> {
        let is_node_address = |ip: &Ipv4Addr| self.on_network(*ip) || Some(*ip) == moved_from;
        // A VM this driver just powered on may still show its previous boot's address.
        let just_booted = self
            .booting
            .lock()
            .map(|mut booting| booting.remove(name))
            .unwrap_or(false);
        let wait_first = wait_first || just_booted;
        let start = Instant::now();
        let mut waited_once = false;
        let mut ask = !wait_first;
        loop {
            if ask {
                let out = self
                    .vbm
                    .run(&["guestproperty", "get", name, HOSTONLY_IP_PROPERTY])
                    .await?;
                // Only an address on the host-only network is the node's (another adapter's, or
                // docker0's, is not).
                if let Some(ip) = parse::parse_guestproperty_value(&out.stdout)
                    .and_then(|v| v.parse().ok())
                    .filter(is_node_address)
                {
                    return Ok(ip);
                }
                // No guest additions (or not yet): ask the guest itself.
                if waited_once
                    && let Some(probe) = &self.probe
                    && let Some(ip) = self
                        .ip_from_guest(name, probe.as_ref())
                        .await
                        .filter(is_node_address)
                {
                    return Ok(ip);
                }
            }
            ask = true;
            let left = self.ip_timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Err(VirtualBoxError::NoIp {
                    name: name.to_string(),
                    waited: self.ip_timeout,
                    log: self
                        .machine_dir(name)
                        .join(name)
                        .join("Logs/VBox.log")
                        .display()
                        .to_string(),
                });
            }
            // One call that returns when the guest additions set the property (or times out).
            let ms = left.as_millis().min(10_000).to_string();
            let _ = self
                .vbm
                .run(&[
                    "guestproperty",
                    "wait",
                    name,
                    HOSTONLY_IP_PROPERTY,
                    "--timeout",
                    &ms,
                ])
                .await;
            waited_once = true;
        }
    }

    async fn wait_until(
        &self,
        name: &str,
        limit: Duration,
        done: impl Fn(&VmState) -> bool,
    ) -> Result<bool, VirtualBoxError> {
        let start = Instant::now();
        let mut delay = Duration::from_millis(100);
        loop {
            let info = self
                .info(name)
                .await?
                .ok_or_else(|| VirtualBoxError::Missing(name.to_string()))?;
            if done(&info.state()) {
                return Ok(true);
            }
            if start.elapsed() > limit {
                return Ok(false);
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(1));
        }
    }
}

fn is_active(s: &VmState) -> bool {
    matches!(
        s,
        VmState::Running | VmState::Paused | VmState::Starting | VmState::Stopping
    )
}

/// A VM's provider-neutral state, from its `showvminfo`.
pub fn state_of(info: &MachineInfo) -> MachineState {
    machine_state(&info.state())
}

fn machine_state(s: &VmState) -> MachineState {
    match s {
        VmState::Running => MachineState::Running,
        VmState::Paused => MachineState::Paused,
        VmState::Saved => MachineState::Saved,
        VmState::PowerOff | VmState::Aborted => MachineState::Stopped,
        VmState::Starting | VmState::Restoring => MachineState::Starting,
        VmState::Stopping | VmState::Saving => MachineState::Stopping,
        _ => MachineState::Error,
    }
}

/// A port on 127.0.0.1 nothing listens on now (VirtualBox binds it when the VM starts).
fn free_local_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

impl Driver for VirtualBoxDriver {
    type Error = VirtualBoxError;

    async fn create(&self, spec: &NodeSpec) -> Result<Created, VirtualBoxError> {
        let info = self.own_info(&spec.name).await?;
        Ok(self.create_or_complete(spec, info.as_ref()).await?.0)
    }

    async fn start(&self, name: &str) -> Result<(), VirtualBoxError> {
        let info = self
            .own_info(name)
            .await?
            .ok_or_else(|| VirtualBoxError::Missing(name.to_string()))?;
        self.start_from(name, &info.state()).await?;
        Ok(())
    }

    /// One `showvminfo`, then only the calls that change something, `startvm`, and the wait
    /// for the address: the VM's state, settings and SSH forward come from that one reading.
    async fn bring_up(
        &self,
        spec: &NodeSpec,
        step: &(dyn Fn(UpStep) + Send + Sync),
    ) -> Result<NodeUp, VirtualBoxError> {
        let name = spec.name.as_str();
        // The address is read alongside the VM's details: a VM that runs already has it, and a
        // converged node then costs one round of calls.
        let ask = ["guestproperty", "get", name, HOSTONLY_IP_PROPERTY];
        let (info, address, mark) = tokio::join!(self.info(name), self.vbm.run(&ask), async {
            match self.owner {
                Some(_) => self.mark(name).await,
                None => Ok(None),
            }
        });
        let info = info?;
        if info.is_some() {
            self.check_mark(name, mark).await?;
        }
        let running_address: Option<Ipv4Addr> = match (&info, address) {
            (Some(i), Ok(out)) if matches!(i.state(), VmState::Running) => {
                parse::parse_guestproperty_value(&out.stdout)
                    .and_then(|v| v.parse().ok())
                    .filter(|ip| self.on_network(*ip) || Some(*ip) == spec.moved_from)
            }
            _ => None,
        };
        step(match info {
            None => UpStep::Creating,
            Some(_) => UpStep::Configuring,
        });
        let (created, forwarded) = self.create_or_complete(spec, info.as_ref()).await?;
        let state = info
            .as_ref()
            .map(|i| i.state())
            .unwrap_or(VmState::PowerOff);
        let started = !matches!(state, VmState::Running);
        if started {
            step(UpStep::Starting);
            self.start_from(name, &state).await?;
        }
        let ssh = match (forwarded, info.as_ref().and_then(ssh_rule)) {
            (Some(port), _) => SshEndpoint {
                host: "127.0.0.1".into(),
                port,
                user: "docker".into(),
            },
            (None, Some(endpoint)) => endpoint,
            (None, None) => self.ssh_endpoint(name).await?,
        };
        let ip = match running_address.filter(|_| !started) {
            Some(ip) => ip,
            None => {
                step(UpStep::WaitingForIp);
                self.wait_for_ip(name, created == Created::New, spec.moved_from)
                    .await?
            }
        };
        Ok(NodeUp {
            created,
            started,
            ip,
            ssh,
        })
    }

    async fn stop(&self, name: &str) -> Result<(), VirtualBoxError> {
        let info = self
            .own_info(name)
            .await?
            .ok_or_else(|| VirtualBoxError::Missing(name.to_string()))?;
        if !is_active(&info.state()) {
            return Ok(());
        }
        self.vbm
            .run(&["controlvm", name, "acpipowerbutton"])
            .await?;
        if self
            .wait_until(name, self.stop_timeout, |s| !is_active(s))
            .await?
        {
            return Ok(());
        }
        tracing::warn!(name, "the guest did not shut down in time; powering it off");
        self.power_off(name).await
    }

    async fn kill(&self, name: &str) -> Result<(), VirtualBoxError> {
        if self.owner.is_some() {
            let mark = self.mark(name).await;
            self.check_mark(name, mark).await?;
        }
        self.power_off(name).await
    }

    async fn remove(&self, name: &str) -> Result<(), VirtualBoxError> {
        if let Some(info) = self.own_info(name).await? {
            if is_active(&info.state()) {
                self.power_off(name).await?;
            }
            self.vbm.run(&["unregistervm", name, "--delete"]).await?;
        }
        // The disk vswarm wrote, if VirtualBox never took it, and the folder.
        let dir = self.machine_dir(name);
        let _ = std::fs::remove_file(self.disk_path(name));
        let _ = std::fs::remove_dir_all(dir.join(name));
        let _ = std::fs::remove_dir(&dir);
        Ok(())
    }

    async fn state(&self, name: &str) -> Result<MachineState, VirtualBoxError> {
        Ok(match self.info(name).await? {
            Some(info) => machine_state(&info.state()),
            None => MachineState::Missing,
        })
    }

    async fn ip(&self, name: &str) -> Result<Ipv4Addr, VirtualBoxError> {
        self.wait_for_ip(name, false, None).await
    }

    async fn ssh_endpoint(&self, name: &str) -> Result<SshEndpoint, VirtualBoxError> {
        let info = self
            .info(name)
            .await?
            .ok_or_else(|| VirtualBoxError::Missing(name.to_string()))?;
        ssh_rule(&info).ok_or_else(|| VirtualBoxError::NoSshForward {
            name: name.to_string(),
        })
    }
}

/// The endpoint of a VM's `ssh` NAT rule.
fn ssh_rule(info: &MachineInfo) -> Option<SshEndpoint> {
    let rule = info
        .forwarding_rules()
        .into_iter()
        .find(|r| r.name == "ssh")?;
    let host = if rule.host_ip.is_empty() {
        "127.0.0.1".to_string()
    } else {
        rule.host_ip.clone()
    };
    Some(SshEndpoint {
        host,
        port: rule.host_port,
        user: "docker".into(),
    })
}

/// The states of the VMs `names`, in few calls: `list vms` and `list runningvms` together,
/// then `showvminfo` (together) only for VMs that exist and are not running, to tell saved,
/// aborted and powered-off apart. A name VirtualBox does not list is [`MachineState::Missing`].
pub async fn machine_states(
    vbm: &VBoxManage,
    names: &[String],
) -> Result<std::collections::HashMap<String, MachineState>, VirtualBoxError> {
    let (all, running) = tokio::join!(vbm.run(&["list", "vms"]), vbm.run(&["list", "runningvms"]));
    let all = parse::parse_list_vms(&all?.stdout);
    let running = parse::parse_list_vms(&running?.stdout);
    let mut states = std::collections::HashMap::new();
    let mut ask = Vec::new();
    for name in names {
        if running.iter().any(|v| &v.name == name) {
            states.insert(name.clone(), MachineState::Running);
        } else if all.iter().any(|v| &v.name == name) {
            ask.push(name.clone());
        } else {
            states.insert(name.clone(), MachineState::Missing);
        }
    }
    let infos = futures::future::join_all(ask.iter().map(|name| async move {
        let out = vbm.run(&["showvminfo", name, "--machinereadable"]).await;
        (name.clone(), out)
    }))
    .await;
    for (name, out) in infos {
        let state = match out {
            Ok(out) => parse::parse_showvminfo(&out.stdout)
                .map(|i| machine_state(&i.state()))
                .map_err(|e| VirtualBoxError::Parse(e.to_string()))?,
            Err(e) if e.is_not_found() => MachineState::Missing,
            Err(e) => return Err(e.into()),
        };
        states.insert(name, state);
    }
    Ok(states)
}

/// The IPv4 address of the interface with `mac` (`080027AABBCC`) in `ip addr show` output.
pub fn address_for_mac(ip_addr_show: &str, mac: &str) -> Option<Ipv4Addr> {
    let want: String = mac
        .to_ascii_lowercase()
        .chars()
        .filter(char::is_ascii_hexdigit)
        .collect();
    let mut in_block = false;
    for line in ip_addr_show.lines() {
        let t = line.trim_start();
        if !line.starts_with(' ') {
            in_block = false;
        } else if let Some(rest) = t.strip_prefix("link/ether ") {
            let found: String = rest
                .split_whitespace()
                .next()
                .unwrap_or("")
                .chars()
                .filter(char::is_ascii_hexdigit)
                .collect();
            in_block = found.eq_ignore_ascii_case(&want);
        } else if in_block && let Some(rest) = t.strip_prefix("inet ") {
            return rest.split('/').next()?.parse().ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_is_found_by_mac() {
        let out = "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n    inet 127.0.0.1/8 scope host lo\n2: eth0@if5: <BROADCAST,UP> mtu 1500\n    link/ether 08:00:27:dc:38:58 brd ff:ff:ff:ff:ff:ff\n    inet 10.0.2.15/24 scope global eth0\n3: eth1@if6: <BROADCAST,UP> mtu 1500\n    link/ether 08:00:27:af:b2:24 brd ff:ff:ff:ff:ff:ff\n    inet 192.168.56.101/24 brd 192.168.56.255 scope global eth1\n";
        assert_eq!(
            address_for_mac(out, "080027AFB224"),
            Some("192.168.56.101".parse().unwrap())
        );
        assert_eq!(
            address_for_mac(out, "080027DC3858"),
            Some("10.0.2.15".parse().unwrap())
        );
        assert_eq!(address_for_mac(out, "080027000000"), None);
    }
}
