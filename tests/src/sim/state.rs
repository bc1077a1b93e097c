//! The simulator's registry, the counterpart of VBoxSVC's `VirtualBox.xml` and `.vbox` files.
//!
//! It lives in `$VBOX_USER_HOME/vboxsim.json`. Every `VBoxManage` process reads and writes it
//! under an exclusive lock on `$VBOX_USER_HOME/vboxsim.lock`, which is how concurrent calls stay
//! consistent (VirtualBox serialises them in VBoxSVC).

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Everything VirtualBox knows: machines, media, host-only interfaces, DHCP servers.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Registry {
    #[serde(default)]
    pub vms: Vec<Vm>,
    #[serde(default)]
    pub media: Vec<Medium>,
    #[serde(default)]
    pub hostonlyifs: Vec<HostOnlyIf>,
    #[serde(default)]
    pub dhcpservers: Vec<DhcpServer>,
    /// VirtualBox 7's host-only networks (`hostonlynet`, macOS hosts: Apple's vmnet).
    #[serde(default)]
    pub hostonlynets: Vec<HostOnlyNet>,
    /// Global extra data (`setextradata global KEY VALUE`).
    #[serde(default)]
    pub extradata: BTreeMap<String, String>,
    /// DHCP leases: (network name, MAC without colons) to address. Kept across VM restarts,
    /// as VirtualBox's DHCP server keeps its leases file.
    #[serde(default)]
    pub leases: Vec<Lease>,
    /// Calls seen per subcommand, for `VBOXSIM_FAIL`.
    #[serde(default)]
    pub call_counts: BTreeMap<String, u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Lease {
    pub network: String,
    pub mac: String,
    pub ip: String,
}

/// A registered virtual machine.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Vm {
    pub name: String,
    pub uuid: String,
    /// The `.vbox` settings file; its folder is the VM folder.
    pub cfg_file: PathBuf,
    /// Plain settings, keyed by their `showvminfo --machinereadable` name (`memory`, `acpi`, ...).
    pub settings: BTreeMap<String, String>,
    pub nics: Vec<Nic>,
    pub controllers: Vec<StorageController>,
    #[serde(default)]
    pub shared_folders: Vec<SharedFolder>,
    #[serde(default)]
    pub extradata: BTreeMap<String, String>,
    #[serde(default)]
    pub guest_properties: BTreeMap<String, GuestProperty>,
    pub state: VmState,
    /// When the state last changed, `2021-08-19T15:32:34.902000000`.
    pub state_change_time: String,
    /// The VBoxHeadless process while the VM runs.
    #[serde(default)]
    pub session_pid: Option<u32>,
    /// Until when (Unix time, ms) the session is still being unlocked after a power-off.
    #[serde(default)]
    pub unlocking_until_ms: u128,
}

/// How long VirtualBox takes to unlock a VM's session after its VM process ended: field reports
/// show modifyvm, startvm and unregistervm refused with "locked" for a moment (up to seconds)
/// right after a power-off. `VBOXSIM_UNLOCK_MS` sets it; 500 ms by default.
pub fn unlock_delay_ms() -> u128 {
    std::env::var("VBOXSIM_UNLOCK_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500)
}

impl Vm {
    /// Whether a session holds the VM: it runs, or its session is still being unlocked.
    pub fn session_held(&self) -> bool {
        self.state.is_active() || now_nanos() / 1_000_000 < self.unlocking_until_ms
    }

    /// Records a power-off: the session unlocks a moment later.
    pub fn powered_off(&mut self) {
        self.unlocking_until_ms = now_nanos() / 1_000_000 + unlock_delay_ms();
    }

    pub fn folder(&self) -> PathBuf {
        self.cfg_file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings.get(key).map(String::as_str)
    }

    /// NIC `n` (1-based).
    pub fn nic(&self, n: usize) -> &Nic {
        &self.nics[n - 1]
    }

    pub fn nic_mut(&mut self, n: usize) -> &mut Nic {
        &mut self.nics[n - 1]
    }

    pub fn controller(&self, name: &str) -> Option<&StorageController> {
        self.controllers.iter().find(|c| c.name == name)
    }

    /// Whether the medium `uuid` is attached to any of the VM's controllers.
    pub fn uses_medium(&self, uuid: &str) -> bool {
        self.controllers
            .iter()
            .flat_map(|c| &c.attachments)
            .any(|a| a.medium.as_deref() == Some(uuid))
    }

    /// The medium attached at the lowest port of any controller with type `hdd`.
    pub fn first_disk(&self) -> Option<&Attachment> {
        self.controllers
            .iter()
            .flat_map(|c| c.attachments.iter())
            .filter(|a| a.kind == "hdd")
            .min_by_key(|a| (a.port, a.device))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VmState {
    Poweroff,
    Running,
    Paused,
    Aborted,
    Saved,
}

impl VmState {
    pub fn as_str(self) -> &'static str {
        match self {
            VmState::Poweroff => "poweroff",
            VmState::Running => "running",
            VmState::Paused => "paused",
            VmState::Aborted => "aborted",
            VmState::Saved => "saved",
        }
    }

    /// Running or paused: a VM process exists and holds the session.
    pub fn is_active(self) -> bool {
        matches!(self, VmState::Running | VmState::Paused)
    }
}

/// One network adapter, as `modifyvm --nicN ...` configures it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Nic {
    /// `none`, `null`, `nat`, `bridged`, `intnet`, `hostonly`, `generic`, `natnetwork`.
    pub attachment: String,
    pub nictype: String,
    pub mac: String,
    pub cable_connected: bool,
    pub promisc: String,
    pub hostonly_adapter: String,
    pub bridge_adapter: String,
    pub intnet: String,
    /// `--host-only-net<N>`: the host-only network of a `hostonlynet` attachment.
    #[serde(default)]
    pub hostonly_network: String,
    pub speed: u32,
    /// NAT port forwarding rules `name,proto,hostip,hostport,guestip,guestport`.
    #[serde(default)]
    pub forwarding: Vec<String>,
    #[serde(default)]
    pub nat_settings: BTreeMap<String, String>,
}

impl Nic {
    pub fn new(mac: String) -> Nic {
        Nic {
            attachment: "none".into(),
            nictype: "82540EM".into(),
            mac,
            cable_connected: true,
            promisc: "deny".into(),
            hostonly_adapter: String::new(),
            bridge_adapter: String::new(),
            intnet: "intnet".into(),
            hostonly_network: String::new(),
            speed: 0,
            forwarding: Vec::new(),
            nat_settings: BTreeMap::new(),
        }
    }
}

/// A parsed NAT port-forwarding rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardRule {
    pub name: String,
    pub proto: String,
    pub host_ip: String,
    pub host_port: u16,
    pub guest_ip: String,
    pub guest_port: u16,
}

impl ForwardRule {
    /// Parses `name,proto,hostip,hostport,guestip,guestport` as `--natpf1` takes it.
    pub fn parse(rule: &str) -> Option<ForwardRule> {
        let f: Vec<&str> = rule.split(',').collect();
        if f.len() != 6 || f[0].is_empty() || !matches!(f[1], "tcp" | "udp") {
            return None;
        }
        Some(ForwardRule {
            name: f[0].to_string(),
            proto: f[1].to_string(),
            host_ip: f[2].to_string(),
            host_port: f[3].parse().ok()?,
            guest_ip: f[4].to_string(),
            guest_port: f[5].parse().ok()?,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StorageController {
    pub name: String,
    /// `IntelAhci`, `PIIX4`, ...
    pub controller_type: String,
    /// `sata`, `ide`, `scsi`, `sas`, `floppy`, `usb`, `pcie` (the `--add` value).
    pub bus: String,
    pub port_count: u32,
    pub max_port_count: u32,
    pub host_io_cache: bool,
    pub bootable: bool,
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attachment {
    pub port: u32,
    pub device: u32,
    /// `hdd` or `dvddrive`.
    pub kind: String,
    /// The medium's UUID, or None for an empty drive.
    pub medium: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SharedFolder {
    pub name: String,
    pub host_path: String,
    pub automount: bool,
    pub transient: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GuestProperty {
    pub value: String,
    /// Nanoseconds since the epoch.
    pub timestamp: u128,
    pub flags: String,
}

/// A registered medium (disk image or ISO).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Medium {
    pub uuid: String,
    pub location: PathBuf,
    /// `hdd` or `dvd`.
    pub device: String,
    /// `VMDK`, `VDI`, `RAW`, `VHD`.
    pub format: String,
}

/// A host-only interface `vboxnetN`, backed by a Linux bridge of the same name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostOnlyIf {
    pub name: String,
    pub guid: String,
    pub mac: String,
    pub dhcp: bool,
    pub ip: String,
    pub netmask: String,
    /// The Linux bridge standing in for it when its name cannot be a Linux interface's
    /// (Windows' `VirtualBox Host-Only Ethernet Adapter #2`); empty: the bridge has its name.
    #[serde(default)]
    pub link: String,
    /// When it was created (ms since the epoch): Windows reports a bogus mask for a while.
    #[serde(default)]
    pub created_ms: u64,
}

impl HostOnlyIf {
    /// The kernel interface (a Linux bridge) that carries it in the lab.
    pub fn link(&self) -> &str {
        if self.link.is_empty() {
            &self.name
        } else {
            &self.link
        }
    }
}

/// A host-only network of VirtualBox 7 on macOS (`<HostOnlyNetwork name mask ipLower ipUpper id
/// enabled>` in VirtualBox.xml). vmnet gives the host the lower address on a bridge
/// (`bridge100`, ...) and leases the rest of the range to guests.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostOnlyNet {
    pub name: String,
    pub id: String,
    pub mask: String,
    pub lower: String,
    pub upper: String,
    pub enabled: bool,
}

impl HostOnlyNet {
    /// The bridge the lab stands in for vmnet's with: `bridge100` for the first network.
    pub fn bridge(&self, reg: &Registry) -> String {
        let i = reg
            .hostonlynets
            .iter()
            .position(|n| n.id == self.id)
            .unwrap_or(0);
        format!("bridge{}", 100 + i)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DhcpServer {
    pub network: String,
    pub ip: String,
    pub netmask: String,
    pub lower: String,
    pub upper: String,
    pub enabled: bool,
}

/// `$VBOX_USER_HOME`, VirtualBox's own variable; `~/.config/VirtualBox` when unset.
pub fn vbox_user_home() -> PathBuf {
    if let Some(h) = std::env::var_os("VBOX_USER_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"));
    home.join(".config/VirtualBox")
}

/// The registry file, held under an exclusive lock while this value lives.
pub struct LockedRegistry {
    pub reg: Registry,
    path: PathBuf,
    _lock: File,
}

impl LockedRegistry {
    /// Locks the registry in `home` (creating the folder) and reads it.
    pub fn open(home: &Path) -> std::io::Result<LockedRegistry> {
        fs::create_dir_all(home)?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(home.join("vboxsim.lock"))?;
        lock.lock()?;
        let path = home.join("vboxsim.json");
        let reg = match fs::read(&path) {
            Ok(bytes) if !bytes.is_empty() => serde_json::from_slice(&bytes).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            })?,
            Ok(_) => Registry::default(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Registry::default(),
            Err(e) => return Err(e),
        };
        Ok(LockedRegistry {
            reg,
            path,
            _lock: lock,
        })
    }

    /// Writes the registry atomically; the lock is kept until drop.
    pub fn save(&self) -> std::io::Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        serde_json::to_writer_pretty(&mut tmp, &self.reg)?;
        tmp.write_all(b"\n")?;
        tmp.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }
}

impl Registry {
    /// Finds a VM by name or UUID (with or without braces), as VirtualBox's FindMachine does.
    pub fn find_vm(&self, name_or_uuid: &str) -> Option<usize> {
        let key = name_or_uuid.trim_start_matches('{').trim_end_matches('}');
        self.vms
            .iter()
            .position(|vm| vm.uuid.eq_ignore_ascii_case(key))
            .or_else(|| self.vms.iter().position(|vm| vm.name == name_or_uuid))
    }

    pub fn find_medium_by_path(&self, path: &Path) -> Option<usize> {
        self.media.iter().position(|m| m.location == path)
    }

    pub fn find_medium(&self, path_or_uuid: &str) -> Option<usize> {
        let key = path_or_uuid.trim_start_matches('{').trim_end_matches('}');
        self.media
            .iter()
            .position(|m| m.uuid.eq_ignore_ascii_case(key))
            .or_else(|| self.find_medium_by_path(&absolute(Path::new(path_or_uuid))))
    }

    pub fn medium(&self, uuid: &str) -> Option<&Medium> {
        self.media.iter().find(|m| m.uuid == uuid)
    }

    pub fn hostonlyif(&self, name: &str) -> Option<&HostOnlyIf> {
        self.hostonlyifs.iter().find(|h| h.name == name)
    }

    pub fn hostonlynet(&self, name: &str) -> Option<&HostOnlyNet> {
        self.hostonlynets.iter().find(|n| n.name == name)
    }

    pub fn dhcpserver(&self, network: &str) -> Option<&DhcpServer> {
        self.dhcpservers.iter().find(|d| d.network == network)
    }
}

/// `path` made absolute against the current directory, without touching the file system.
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Current time as VirtualBox prints `VMStateChangeTime`.
pub fn now_state_time() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!("{}.{:03}000000", iso_seconds(now), now.millisecond())
}

/// `YYYY-MM-DDTHH:MM:SS`: a time to the second, as VirtualBox starts its timestamps.
pub fn iso_seconds(t: time::OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Nanoseconds since the epoch, for guest property timestamps.
pub fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// Whether a process with this pid exists (and is not a zombie).
pub fn pid_alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // The state letter follows the parenthesised command name.
            let state = stat
                .rsplit_once(") ")
                .and_then(|(_, rest)| rest.chars().next());
            !matches!(state, Some('Z') | Some('X') | None)
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_rules_parse_like_natpf() {
        let r = ForwardRule::parse("ssh,tcp,127.0.0.1,52022,,22").unwrap();
        assert_eq!(r.host_port, 52022);
        assert_eq!(r.guest_ip, "");
        assert!(ForwardRule::parse("ssh,sctp,,1,,2").is_none());
        assert!(ForwardRule::parse("ssh,tcp,,1,,").is_none());
    }

    #[test]
    fn registry_round_trips_under_lock() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut r = LockedRegistry::open(dir.path()).unwrap();
            r.reg.extradata.insert("k".into(), "v".into());
            r.save().unwrap();
        }
        let r = LockedRegistry::open(dir.path()).unwrap();
        assert_eq!(r.reg.extradata.get("k").map(String::as_str), Some("v"));
    }
}
