//! `VBoxManage showvminfo --machinereadable`: every `key=value` of a machine in [`MachineInfo`],
//! with typed readers for what the driver needs (the [`VmState`], the NICs, the NAT forwarding
//! rules, the storage). Which values VirtualBox escapes and which it prints raw differs by key
//! and version; those rules live here, beside the only parser that needs them.

use std::collections::BTreeMap;
use std::fmt;

use super::{ParseError, ParseProblem, VBoxOutput, numbered_lines, shorten, yes_no};

/// `VMState` of `showvminfo --machinereadable`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VmState {
    PowerOff,
    Saved,
    Teleported,
    Aborted,
    /// `aborted-saved` (7.0+).
    AbortedSaved,
    Running,
    Paused,
    GuruMeditation,
    Teleporting,
    LiveSnapshotting,
    Starting,
    Stopping,
    Saving,
    Restoring,
    TeleportingPausedVm,
    TeleportingIn,
    DeletingSnapshotLive,
    DeletingSnapshotLivePaused,
    OnlineSnapshotting,
    RestoringSnapshot,
    DeletingSnapshot,
    SettingUp,
    Snapshotting,
    /// VirtualBox's own `unknown`, any other text, or an empty text when `VMState` is missing.
    Unknown(String),
}

impl VmState {
    const NAMED: [(&'static str, VmState); 23] = [
        ("poweroff", VmState::PowerOff),
        ("saved", VmState::Saved),
        ("teleported", VmState::Teleported),
        ("aborted", VmState::Aborted),
        ("aborted-saved", VmState::AbortedSaved),
        ("running", VmState::Running),
        ("paused", VmState::Paused),
        ("gurumeditation", VmState::GuruMeditation),
        ("teleporting", VmState::Teleporting),
        ("livesnapshotting", VmState::LiveSnapshotting),
        ("starting", VmState::Starting),
        ("stopping", VmState::Stopping),
        ("saving", VmState::Saving),
        ("restoring", VmState::Restoring),
        ("teleportingpausedvm", VmState::TeleportingPausedVm),
        ("teleportingin", VmState::TeleportingIn),
        ("deletingsnapshotlive", VmState::DeletingSnapshotLive),
        (
            "deletingsnapshotlivepaused",
            VmState::DeletingSnapshotLivePaused,
        ),
        ("onlinesnapshotting", VmState::OnlineSnapshotting),
        ("restoringsnapshot", VmState::RestoringSnapshot),
        ("deletingsnapshot", VmState::DeletingSnapshot),
        ("settingup", VmState::SettingUp),
        ("snapshotting", VmState::Snapshotting),
    ];

    /// The state for a `VMState` value, compared without regard to case.
    pub fn from_vbox(text: &str) -> VmState {
        let text = text.trim();
        Self::NAMED
            .iter()
            .find(|(name, _)| text.eq_ignore_ascii_case(name))
            .map_or_else(
                || VmState::Unknown(text.to_string()),
                |(_, state)| state.clone(),
            )
    }

    /// The text VirtualBox prints for this state.
    pub fn as_vbox_str(&self) -> &str {
        match self {
            VmState::Unknown(text) => text,
            known => Self::NAMED
                .iter()
                .find(|(_, state)| state == known)
                .map_or("unknown", |(name, _)| name),
        }
    }
}

impl fmt::Display for VmState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_vbox_str())
    }
}

/// What a network adapter is attached to (`nicN=`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NicAttachment {
    /// `nat`
    Nat,
    /// `hostonly`
    HostOnly,
    /// `bridged`
    Bridged,
    /// `intnet`
    Internal,
    /// `natnetwork`
    NatNetwork,
    /// `generic` (printed `Generic`)
    Generic,
    /// `null`: enabled but not attached.
    Null,
    /// `hostonlynetwork` (7.x, macOS host-only networks)
    HostOnlyNetwork,
    /// `cloudnetwork`
    CloudNetwork,
    /// Anything else, as printed.
    Other(String),
}

impl NicAttachment {
    fn from_vbox(text: &str) -> NicAttachment {
        match text.trim().to_ascii_lowercase().as_str() {
            "nat" => NicAttachment::Nat,
            "hostonly" => NicAttachment::HostOnly,
            "bridged" => NicAttachment::Bridged,
            "intnet" => NicAttachment::Internal,
            "natnetwork" => NicAttachment::NatNetwork,
            "generic" => NicAttachment::Generic,
            "null" => NicAttachment::Null,
            "hostonlynetwork" => NicAttachment::HostOnlyNetwork,
            "cloudnetwork" => NicAttachment::CloudNetwork,
            _ => NicAttachment::Other(text.to_string()),
        }
    }

    /// The `nicN` text for this attachment (`nat`, `hostonly`, …; `Other` as printed).
    pub fn as_vbox_str(&self) -> &str {
        match self {
            NicAttachment::Nat => "nat",
            NicAttachment::HostOnly => "hostonly",
            NicAttachment::Bridged => "bridged",
            NicAttachment::Internal => "intnet",
            NicAttachment::NatNetwork => "natnetwork",
            NicAttachment::Generic => "generic",
            NicAttachment::Null => "null",
            NicAttachment::HostOnlyNetwork => "hostonlynetwork",
            NicAttachment::CloudNetwork => "cloudnetwork",
            NicAttachment::Other(text) => text,
        }
    }
}

impl fmt::Display for NicAttachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_vbox_str())
    }
}

/// Compares with the `nicN` text, without regard to case: `attachment == "hostonly"`.
impl PartialEq<str> for NicAttachment {
    fn eq(&self, text: &str) -> bool {
        self.as_vbox_str().eq_ignore_ascii_case(text.trim())
    }
}

impl PartialEq<&str> for NicAttachment {
    fn eq(&self, text: &&str) -> bool {
        self == *text
    }
}

/// One network adapter slot of a machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NicInfo {
    pub attachment: NicAttachment,
    /// `macaddressN`, as printed: 12 hex digits without separators (`080027AFB224`).
    pub mac: Option<String>,
    /// `hostonlyadapterN`: the host-only interface's name.
    pub hostonly_adapter: Option<String>,
    /// `hostonly-networkN`: the host-only network's name (VirtualBox 7 on macOS).
    pub hostonly_network: Option<String>,
    /// `cableconnectedN`.
    pub cable_connected: Option<bool>,
}

/// The transport of a NAT port-forwarding rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NatProtocol {
    Tcp,
    Udp,
}

/// A NAT port-forwarding rule (`Forwarding(N)="ssh,tcp,127.0.0.1,2222,,22"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardingRule {
    pub name: String,
    pub protocol: NatProtocol,
    /// Empty means every host address.
    pub host_ip: String,
    pub host_port: u16,
    /// Empty means the guest's DHCP address.
    pub guest_ip: String,
    pub guest_port: u16,
}

impl ForwardingRule {
    /// Reads the six comma-separated fields; a name containing commas is kept whole.
    fn from_vbox(text: &str) -> Option<ForwardingRule> {
        let mut fields: Vec<&str> = text.rsplitn(6, ',').collect();
        if fields.len() != 6 {
            return None;
        }
        fields.reverse();
        let protocol = match fields[1].trim().to_ascii_lowercase().as_str() {
            "tcp" => NatProtocol::Tcp,
            "udp" => NatProtocol::Udp,
            _ => return None,
        };
        Some(ForwardingRule {
            name: fields[0].to_string(),
            protocol,
            host_ip: fields[2].trim().to_string(),
            host_port: fields[3].trim().parse().ok()?,
            guest_ip: fields[4].trim().to_string(),
            guest_port: fields[5].trim().parse().ok()?,
        })
    }
}

/// Everything `showvminfo NAME --machinereadable` printed, with typed accessors for what the
/// driver reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MachineInfo {
    /// Every `key=value` line: keys and quoted values unquoted and unescaped, bare values as
    /// printed (`memory` → `4096`, `VRDEClients` → `=0`, `VideoMode` → `"720,400,0"@0,0 1`).
    pub values: BTreeMap<String, String>,
}

impl MachineInfo {
    /// The value of `key` (exact case, as VirtualBox prints it).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// `name`; `<inaccessible>` for a machine whose settings cannot be read.
    pub fn name(&self) -> Option<&str> {
        self.get("name")
    }

    /// `UUID`
    pub fn uuid(&self) -> Option<&str> {
        self.get("UUID")
    }

    /// `VMState`; [`VmState::Unknown`] with an empty text when it is missing.
    pub fn state(&self) -> VmState {
        self.get("VMState")
            .map_or_else(|| VmState::Unknown(String::new()), VmState::from_vbox)
    }

    /// `memory`, in MB.
    pub fn memory_mb(&self) -> Option<u32> {
        self.number("memory")
    }

    /// `cpus`
    pub fn cpus(&self) -> Option<u32> {
        self.number("cpus")
    }

    /// `CfgFile`: the machine's `.vbox` settings file.
    pub fn cfg_file(&self) -> Option<&str> {
        self.get("CfgFile")
    }

    /// Network adapter `slot` (1-based, as in `nic1`); `None` when the slot is disabled
    /// (`nicN="none"`) or not printed.
    pub fn nic(&self, slot: u32) -> Option<NicInfo> {
        let attachment = self.get(&format!("nic{slot}"))?;
        if attachment.trim().eq_ignore_ascii_case("none") {
            return None;
        }
        Some(NicInfo {
            attachment: NicAttachment::from_vbox(attachment),
            mac: self.get(&format!("macaddress{slot}")).map(str::to_string),
            hostonly_adapter: self
                .get(&format!("hostonlyadapter{slot}"))
                .map(str::to_string),
            hostonly_network: self
                .get(&format!("hostonly-network{slot}"))
                .map(str::to_string),
            cable_connected: self.get(&format!("cableconnected{slot}")).and_then(yes_no),
        })
    }

    /// The NAT port-forwarding rules (`Forwarding(N)` keys) in `N` order; rules that cannot be
    /// read are left out.
    pub fn forwarding_rules(&self) -> Vec<ForwardingRule> {
        let mut rules: Vec<(u32, ForwardingRule)> = self
            .values
            .iter()
            .filter_map(|(key, value)| {
                let index = key.strip_prefix("Forwarding(")?.strip_suffix(')')?;
                Some((index.parse().ok()?, ForwardingRule::from_vbox(value)?))
            })
            .collect();
        rules.sort_by_key(|(index, _)| *index);
        rules.into_iter().map(|(_, rule)| rule).collect()
    }

    /// The storage controllers' names (`storagecontrollernameN`), in `N` order.
    pub fn storage_controllers(&self) -> Vec<String> {
        let mut controllers: Vec<(u32, &String)> = self
            .values
            .iter()
            .filter_map(|(key, name)| {
                Some((
                    key.strip_prefix("storagecontrollername")?.parse().ok()?,
                    name,
                ))
            })
            .collect();
        controllers.sort_by_key(|(index, _)| *index);
        controllers
            .into_iter()
            .map(|(_, name)| name.clone())
            .collect()
    }

    /// The medium attached at `"<controller>-<port>-<device>"`: a path (or `emptydrive` for an
    /// empty DVD drive); `None` when the slot holds nothing (`"none"`) or is not printed.
    pub fn storage(&self, controller: &str, port: u32, device: u32) -> Option<String> {
        self.get(&format!("{controller}-{port}-{device}"))
            .filter(|medium| !medium.eq_ignore_ascii_case("none"))
            .map(str::to_string)
    }

    fn number(&self, key: &str) -> Option<u32> {
        self.get(key)?.trim().parse().ok()
    }
}

/// Keys whose values VirtualBox prints without escaping in every version.
fn is_never_escaped(key: &str) -> bool {
    let indexed = |prefix: &str| {
        key.strip_prefix(prefix)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    key == "VMStateFile"
        || indexed("natnet")
        || indexed("hostonlyadapter")
        || indexed("bridgeadapter")
        || indexed("macaddress")
        || key.starts_with("Forwarding(")
}

/// The byte offset of the first unescaped `"` in `text`. `escaped` carries a pending backslash
/// from one line to the next.
fn closing_quote(text: &str, escaped: &mut bool) -> Option<usize> {
    for (at, c) in text.char_indices() {
        if *escaped {
            *escaped = false;
        } else if c == '\\' {
            *escaped = true;
        } else if c == '"' {
            return Some(at);
        }
    }
    None
}

/// Undoes VirtualBox's escaping (`\\` → `\`, `\"` → `"`). A text with any other backslash was
/// printed raw (Windows paths in storage keys before 7.0, shared folders in 5.x) and is kept
/// as it is.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(next @ ('\\' | '"')) => out.push(next),
                _ => return text.to_string(),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The text between the first and the last `"` of `rest` when it ends with a quote: a raw
/// single-line value.
fn raw_between_quotes(rest: &str) -> Option<String> {
    let inner = rest.strip_prefix('"')?.strip_suffix('"')?;
    Some(inner.to_string())
}

/// The key of a `key=value` line and the text after its `=`; `None` for lines that are not
/// `key=value` (` rec_screen0`, `Encryption:     disabled`).
fn split_key(line: &str) -> Option<(String, &str)> {
    if line.is_empty() || line.starts_with(char::is_whitespace) {
        return None;
    }
    if let Some(quoted) = line.strip_prefix('"')
        && let Some(end) = closing_quote(quoted, &mut false)
        && let Some(rest) = quoted[end + 1..].strip_prefix('=')
    {
        return Some((unescape(&quoted[..end]), rest));
    }
    let (key, rest) = line.split_once('=')?;
    (!key.is_empty()).then(|| (key.to_string(), rest))
}

/// Continues a quoted value that did not close on its first line. Accepted only when a later
/// line closes it with the line's last character, as VirtualBox's escaped multi-line values
/// (`description`) do. Returns the raw content and how many lines were used.
fn multiline_value(first: &str, escaped: bool, following: &[&str]) -> Option<(String, usize)> {
    let mut escaped = escaped;
    let mut content = first.to_string();
    for (used, line) in following.iter().enumerate() {
        content.push('\n');
        match closing_quote(line, &mut escaped) {
            Some(end) if end + 1 == line.len() => {
                content.push_str(&line[..end]);
                return Some((content, used + 1));
            }
            Some(_) => return None,
            None => content.push_str(line),
        }
    }
    None
}

/// Parses `showvminfo NAME --machinereadable` into all its `key=value` pairs.
///
/// Keys may be quoted (`"SATA-1-0"="…"`); quoted values are unescaped unless they were printed
/// raw (see [`MachineInfo::values`]), may contain `=`, and may span lines; bare values are kept
/// as printed, including text after a closing quote (`VideoMode="720,400,0"@0,0 1`). Lines
/// without `=` or starting with a blank are skipped. Fails when the output has no `key=value`
/// line, or when a quoted value never closes (the output was cut short).
pub fn parse_showvminfo(stdout: &str) -> Result<MachineInfo, ParseError> {
    const OUTPUT: VBoxOutput = VBoxOutput::ShowVmInfo;
    let lines: Vec<&str> = numbered_lines(stdout).map(|(_, line)| line).collect();
    let mut values = BTreeMap::new();
    let mut next = 0;
    while let Some(&line) = lines.get(next) {
        let number = next + 1;
        next += 1;
        let Some((key, rest)) = split_key(line) else {
            continue;
        };
        let value = match rest.strip_prefix('"') {
            None => rest.to_string(),
            Some(quoted) => {
                if is_never_escaped(&key)
                    && let Some(raw) = raw_between_quotes(rest)
                {
                    raw
                } else {
                    let mut escaped = false;
                    match closing_quote(quoted, &mut escaped) {
                        Some(end) if end + 1 == quoted.len() => unescape(&quoted[..end]),
                        // Text after the closing quote: a raw value with a `"` inside, or a
                        // value such as `VideoMode` that is not one quoted string.
                        Some(_) => raw_between_quotes(rest).unwrap_or_else(|| rest.to_string()),
                        None => match multiline_value(quoted, escaped, &lines[next..]) {
                            Some((content, used)) => {
                                next += used;
                                unescape(&content)
                            }
                            // A raw value ending in a backslash, such as `"c:\"`.
                            None => raw_between_quotes(rest).ok_or_else(|| {
                                ParseError::new(
                                    OUTPUT,
                                    ParseProblem::UnterminatedQuote { key: shorten(&key) },
                                    Some((number, line)),
                                )
                            })?,
                        },
                    }
                }
            }
        };
        values.insert(key, value);
    }
    if values.is_empty() {
        let first = numbered_lines(stdout).find(|(_, line)| !line.trim().is_empty());
        return Err(match first {
            Some(at) => ParseError::new(OUTPUT, ParseProblem::NoEntries, Some(at)),
            None => ParseError::new(OUTPUT, ParseProblem::Empty, None),
        });
    }
    Ok(MachineInfo { values })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::OffendingLine;
    use crate::parse::samples::*;
    use proptest::prelude::*;

    fn machine(text: &str) -> MachineInfo {
        parse_showvminfo(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    /// What says which VM a sample is: name, UUID, state, memory, CPUs, settings file.
    type Identity<'a> = (
        Option<&'a str>,
        Option<&'a str>,
        VmState,
        Option<u32>,
        Option<u32>,
        Option<&'a str>,
    );

    fn identity(info: &MachineInfo) -> Identity<'_> {
        (
            info.name(),
            info.uuid(),
            info.state(),
            info.memory_mb(),
            info.cpus(),
            info.cfg_file(),
        )
    }

    #[test]
    fn showvminfo_6_1_26_macos_running() {
        let info = machine(SHOWVMINFO_6_1_26_MACOS);
        assert_eq!(
            identity(&info),
            (
                Some("minikube"),
                Some("c920483a-6afe-428f-ba48-e3f81db2be7c"),
                VmState::Running,
                Some(4096),
                Some(3),
                Some("/Users/sde3/.minikube/machines/minikube/minikube/minikube.vbox")
            )
        );
        assert_eq!(
            info.nic(1),
            Some(NicInfo {
                attachment: NicAttachment::Nat,
                mac: Some("080027DC3858".into()),
                hostonly_adapter: None,
                hostonly_network: None,
                cable_connected: Some(true),
            })
        );
        assert_eq!(
            info.nic(2),
            Some(NicInfo {
                attachment: NicAttachment::HostOnly,
                mac: Some("080027AFB224".into()),
                hostonly_adapter: Some("vboxnet0".into()),
                hostonly_network: None,
                cable_connected: Some(true),
            })
        );
        assert_eq!(info.nic(3), None, "nic3=\"none\"");
        assert_eq!(info.nic(5), None, "not printed");
        assert_eq!(
            info.forwarding_rules(),
            [ForwardingRule {
                name: "ssh".into(),
                protocol: NatProtocol::Tcp,
                host_ip: "127.0.0.1".into(),
                host_port: 49545,
                guest_ip: String::new(),
                guest_port: 22,
            }]
        );
        assert_eq!(
            info.storage("SATA", 0, 0).as_deref(),
            Some("/Users/sde3/.minikube/machines/minikube/boot2docker.iso")
        );
        assert_eq!(
            info.storage("SATA", 1, 0).as_deref(),
            Some("/Users/sde3/.minikube/machines/minikube/disk.vmdk")
        );
        assert_eq!(info.storage("SATA", 2, 0), None);
        assert_eq!(info.storage("SATA", 29, 0), None);
        assert_eq!(info.storage_controllers(), ["SATA"]);
        assert_eq!(
            info.get("SATA-ImageUUID-1-0"),
            Some("adc5121f-6e26-48ab-ba4b-ca777f440673")
        );
        assert_eq!(info.get("VRDEClients"), Some("=0"));
        assert_eq!(info.get("VideoMode"), Some("\"720,400,0\"@0,0 1"));
        assert_eq!(info.get("teleporteraddress"), Some(""));
        assert_eq!(info.get("GuestAdditionsVersion"), Some("5.2.42 r137960"));
        assert_eq!(
            info.get("GuestAdditionsFacility_VirtualBox Base Driver"),
            Some("50,1629387175471")
        );
        assert_eq!(info.get("storagecontrollerportcount0"), Some("30"));
        // Every `=` line of the sample is one entry.
        let entries = SHOWVMINFO_6_1_26_MACOS
            .lines()
            .filter(|l| l.contains('='))
            .count();
        assert_eq!(info.values.len(), entries);
        assert_eq!(machine(&crlf(SHOWVMINFO_6_1_26_MACOS)), info);
    }

    #[test]
    fn showvminfo_7_0_linux_powered_off() {
        let info = machine(SHOWVMINFO_7_0_LINUX);
        assert_eq!(
            identity(&info),
            (
                Some("manjaro-gnome-x64-full-clean"),
                Some("19e117b3-06f4-4a1e-851d-47336ad6a142"),
                VmState::PowerOff,
                Some(4096),
                Some(4),
                Some(
                    "/home/user/VirtualBox VMs/manjaro-gnome-x64-full-clean/manjaro-gnome-x64-full-clean.vbox"
                )
            )
        );
        // `Encryption:     disabled` and ` rec_screen0` have no `=`: skipped.
        assert!(
            !info
                .values
                .keys()
                .any(|k| k.contains("Encryption") || k.contains("rec_screen0"))
        );
        assert_eq!(info.get("groups"), Some("/"));
        assert_eq!(info.get("description"), Some("name1=value1\nname2=value2"));
        assert_eq!(info.get("GuestMemoryBalloon"), Some("0"));
        assert_eq!(
            info.get("rec_screen_opts"),
            Some("vc_enabled=true,ac_enabled=false,ac_profile=med")
        );
        assert_eq!(
            info.get("BIOS NVRAM File"),
            Some(
                "/home/user/VirtualBox VMs/manjaro-gnome-x64-full-clean/manjaro-gnome-x64-full-clean.nvram"
            )
        );
        assert_eq!(info.storage_controllers(), ["IDE", "SATA"]);
        assert_eq!(info.storage("IDE", 0, 0), None);
        assert_eq!(info.storage("IDE", 1, 0).as_deref(), Some("emptydrive"));
        assert_eq!(info.get("IDE-IsEjected-1-0"), Some("off"));
        assert_eq!(
            info.storage("SATA", 0, 0).as_deref(),
            Some(
                "/home/user/VirtualBox VMs/manjaro-gnome-x64-full-clean/manjaro-gnome-x64-full-clean-disk001.vdi"
            )
        );
        assert_eq!(info.get("SATA-nonrotational-0-0"), Some("off"));
        let nat = info.nic(1).unwrap_or_else(|| panic!("nic1"));
        assert_eq!(nat.attachment, NicAttachment::Nat);
        assert_eq!(nat.mac.as_deref(), Some("08002744D7F6"));
        assert_eq!(info.nic(2), None);
        assert_eq!(info.forwarding_rules(), []);
        let entries = SHOWVMINFO_7_0_LINUX
            .lines()
            .filter(|l| l.contains('='))
            .count();
        // `description` spans two lines, both with `=`.
        assert_eq!(info.values.len(), entries - 1);
    }

    #[test]
    fn showvminfo_7_0_windows_and_macos_nics() {
        let info = machine(SHOWVMINFO_7_0_NICS);
        assert_eq!(info.name(), Some("xtec-4"));
        assert_eq!(
            info.forwarding_rules(),
            [ForwardingRule {
                name: "ssh".into(),
                protocol: NatProtocol::Tcp,
                host_ip: "127.0.0.1".into(),
                host_port: 2201,
                guest_ip: String::new(),
                guest_port: 22,
            }]
        );
        assert_eq!(
            info.nic(2),
            Some(NicInfo {
                attachment: NicAttachment::HostOnly,
                mac: Some("080027AE1F98".into()),
                hostonly_adapter: Some("VirtualBox Host-Only Ethernet Adapter".into()),
                hostonly_network: None,
                cable_connected: Some(true),
            })
        );
        assert!(info.nic(1).is_some_and(|n| n.attachment == "nat"));
        assert!(
            info.nic(2)
                .is_some_and(|n| n.attachment == "HostOnly" && n.attachment != "nat")
        );
        let network = info.nic(3).unwrap_or_else(|| panic!("nic3"));
        assert_eq!(network.attachment.to_string(), "hostonlynetwork");
        assert_eq!(network.attachment, NicAttachment::HostOnlyNetwork);
        assert_eq!(network.hostonly_adapter, None);
        assert_eq!(network.cable_connected, Some(false));
        assert_eq!(info.get("hostonly-network3"), Some("vagrantnet-vbox1"));
        assert_eq!(info.nic(4), None);
    }

    #[test]
    fn showvminfo_5_2_windows_raw_and_escaped_values() {
        let info = machine(SHOWVMINFO_5_2_WINDOWS);
        assert_eq!(info.state(), VmState::Running);
        assert_eq!(info.memory_mb(), Some(1024));
        assert_eq!(info.cpus(), Some(1));
        // Escaped since 5.1.
        assert_eq!(
            info.cfg_file(),
            Some(r"C:\Users\me\.docker\machine\machines\default\default\default.vbox")
        );
        // Raw before 7.0.
        assert_eq!(
            info.storage("SATA", 0, 0).as_deref(),
            Some(r"C:\Users\me\.docker\machine\machines\default\boot2docker.iso")
        );
        assert_eq!(
            info.storage("SATA", 1, 0).as_deref(),
            Some(r"C:\Users\me\.docker\machine\machines\default\disk.vmdk")
        );
        assert_eq!(
            info.get("SharedFolderPathMachineMapping1"),
            Some(r"\\?\c:\Users")
        );
        assert_eq!(info.get("VRDEClients"), Some("0"));
        assert_eq!(info.get("videocapopts"), Some(""));
        assert_eq!(info.get("videocapres"), Some("1024x768"));
        assert_eq!(info.get("audio_in"), Some("false"));
        let host_only = info.nic(2).unwrap_or_else(|| panic!("nic2"));
        assert_eq!(
            host_only.hostonly_adapter.as_deref(),
            Some("VirtualBox Host-Only Ethernet Adapter #2")
        );
        assert_eq!(info.forwarding_rules()[0].host_port, 50123);
    }

    #[test]
    fn showvminfo_5_1_saved_vm() {
        let info = machine(SHOWVMINFO_5_1_SAVED);
        assert_eq!(info.state(), VmState::Saved);
        assert_eq!(
            info.get("VMStateFile"),
            Some("/Users/me/VirtualBox VMs/go-virtualbox/Snapshots/2018-03-10T19-22-47-062Z.sav")
        );
        assert_eq!(info.get("vrdeproperty[TCP/Ports]"), Some("5914"));
        assert_eq!(info.get("vrdeproperty[TCP/Address]"), Some("<not set>"));
        assert_eq!(info.get("vrdeport"), Some("-1"));
        assert_eq!(info.get("vcpscreens"), Some("0"));
    }

    #[test]
    fn showvminfo_6_x_windows_escaping() {
        let info = machine(SHOWVMINFO_6_X_WINDOWS);
        assert_eq!(
            info.cfg_file(),
            Some(r"F:\VirtualBox VMs\gitlab\gitlab.vbox")
        );
        assert_eq!(
            info.get("SharedFolderPathMachineMapping1"),
            Some(r"\\?\D:\vagrant\bak\test2")
        );
        assert_eq!(
            info.storage("IDE Controller", 0, 0).as_deref(),
            Some(r"F:\VirtualBox VMs\gitlab\box-disk001.vmdk")
        );
        assert_eq!(info.get("VRDEClients"), Some("=0"));
        assert_eq!(info.memory_mb(), Some(4096));
        assert_eq!(info.cpus(), Some(2));
    }

    #[test]
    fn showvminfo_7_1_head_and_7_0_0_vagrant_head() {
        let info = machine(SHOWVMINFO_7_1_HEAD);
        assert_eq!(info.state(), VmState::AbortedSaved);
        assert_eq!(info.get("encryption"), Some("disabled"));
        assert_eq!(info.get("platformArchitecture"), Some("x86"));
        assert_eq!(
            info.get("NvramFile"),
            Some("/home/me/.vswarm/machines/node-01/node-01.nvram")
        );
        assert_eq!(info.cpus(), Some(2));

        let head = machine(
            "name=\"vagrant_default_1670000000\"\nEncryption:     disabled\ngroups=\"/\"\n",
        );
        assert_eq!(head.values.len(), 2);
        assert_eq!(head.state(), VmState::Unknown(String::new()));
        assert_eq!(head.memory_mb(), None);
    }

    #[test]
    fn showvminfo_escapes_and_quoting() {
        let text = concat!(
            "name=\"say \\\"hi\\\" \\\\ there\"\n",
            "\"weird \\\"key\\\"=x\"=\"v=1\"\n",
            "description=\"first line\n",
            "  indented second = line\n",
            "\\\"quoted\\\" third\"\n",
            "SharedFolderPathMachineMapping1=\"c:\\\"\n",
            "VMState=\"paused\"\n",
            "GuestAdditionsFacility_Seamless Mode=0,1629387176738\n",
            "  leading=blank skipped\n",
            "Cipher:         AES-XTS256-PLAIN64\n",
        );
        let info = machine(text);
        assert_eq!(info.name(), Some(r#"say "hi" \ there"#));
        assert_eq!(info.get(r#"weird "key"=x"#), Some("v=1"));
        assert_eq!(
            info.get("description"),
            Some("first line\n  indented second = line\n\"quoted\" third")
        );
        assert_eq!(info.get("SharedFolderPathMachineMapping1"), Some(r"c:\"));
        assert_eq!(info.state(), VmState::Paused);
        assert_eq!(
            info.get("GuestAdditionsFacility_Seamless Mode"),
            Some("0,1629387176738")
        );
        assert_eq!(info.values.len(), 6);
    }

    #[test]
    fn showvminfo_forwarding_rules_in_index_order() {
        let text = concat!(
            "name=\"n\"\n",
            "Forwarding(10)=\"web,tcp,,8080,,80\"\n",
            "Forwarding(2)=\"dns,udp,0.0.0.0,5353,10.0.2.15,53\"\n",
            "Forwarding(0)=\"ssh,tcp,127.0.0.1,2222,,22\"\n",
            "Forwarding(1)=\"a,b,tcp,127.0.0.1,2223,,23\"\n",
            "Forwarding(3)=\"broken,sctp,,1,,2\"\n",
            "Forwarding(4)=\"broken,tcp,,99999,,2\"\n",
        );
        let rules = machine(text).forwarding_rules();
        let summary: Vec<(&str, NatProtocol, &str, u16, &str, u16)> = rules
            .iter()
            .map(|r| {
                (
                    r.name.as_str(),
                    r.protocol,
                    r.host_ip.as_str(),
                    r.host_port,
                    r.guest_ip.as_str(),
                    r.guest_port,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("ssh", NatProtocol::Tcp, "127.0.0.1", 2222, "", 22),
                ("a,b", NatProtocol::Tcp, "127.0.0.1", 2223, "", 23),
                ("dns", NatProtocol::Udp, "0.0.0.0", 5353, "10.0.2.15", 53),
                ("web", NatProtocol::Tcp, "", 8080, "", 80),
            ]
        );
    }

    #[test]
    fn vm_states_cover_every_virtualbox_state() {
        let names = [
            "poweroff",
            "saved",
            "teleported",
            "aborted",
            "aborted-saved",
            "running",
            "paused",
            "gurumeditation",
            "teleporting",
            "livesnapshotting",
            "starting",
            "stopping",
            "saving",
            "restoring",
            "teleportingpausedvm",
            "teleportingin",
            "deletingsnapshotlive",
            "deletingsnapshotlivepaused",
            "onlinesnapshotting",
            "restoringsnapshot",
            "deletingsnapshot",
            "settingup",
            "snapshotting",
        ];
        for name in names {
            let state = VmState::from_vbox(name);
            assert!(!matches!(state, VmState::Unknown(_)), "{name}");
            assert_eq!(state.to_string(), name);
            let info = machine(&format!("VMState=\"{name}\"\n"));
            assert_eq!(info.state(), state);
        }
        assert_eq!(
            VmState::from_vbox("unknown"),
            VmState::Unknown("unknown".into())
        );
        assert_eq!(VmState::from_vbox("PowerOff"), VmState::PowerOff);
        assert_eq!(
            VmState::from_vbox("warp9"),
            VmState::Unknown("warp9".into())
        );
    }

    #[test]
    fn showvminfo_errors() {
        let err = parse_showvminfo("").unwrap_err();
        assert_eq!(
            (err.output, err.problem),
            (VBoxOutput::ShowVmInfo, ParseProblem::Empty)
        );

        let err = parse_showvminfo(UNKNOWN_VM_7_0_STDERR).unwrap_err();
        assert_eq!(err.problem, ParseProblem::NoEntries);
        assert_eq!(err.line.map(|l| l.number), Some(1));

        let cut_short = "name=\"node\"\nmemory=1024\ndescription=\"first line\nsecond line";
        let err = parse_showvminfo(cut_short).unwrap_err();
        assert_eq!(
            err.problem,
            ParseProblem::UnterminatedQuote {
                key: "description".into()
            }
        );
        assert_eq!(
            err.line,
            Some(OffendingLine {
                number: 3,
                text: "description=\"first line".into()
            })
        );
        assert!(err.to_string().contains("line 3"), "{err}");
    }

    /// How one `showvminfo` entry is written.
    #[derive(Debug, Clone, Copy)]
    struct EntryStyle {
        quote_key: bool,
        quote_value: bool,
        /// 0: nothing; 1: ` rec_screen0`; 2: `Encryption:     disabled`; 3: a blank line.
        noise_before: u8,
    }

    fn escape(text: &str) -> String {
        format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
    }

    fn format_showvminfo(entries: &[(String, String, EntryStyle)]) -> String {
        let mut text = String::new();
        for (key, value, style) in entries {
            match style.noise_before {
                1 => text.push_str(" rec_screen0\n"),
                2 => text.push_str("Encryption:     disabled\n"),
                3 => text.push('\n'),
                _ => {}
            }
            let key = if style.quote_key || key.contains('=') {
                escape(key)
            } else {
                key.clone()
            };
            let bare_is_unambiguous = !value.contains('\n') && !value.starts_with('"');
            let value = if style.quote_value || !bare_is_unambiguous {
                escape(value)
            } else {
                value.clone()
            };
            text.push_str(&format!("{key}={value}\n"));
        }
        text
    }

    fn arb_entry_style() -> impl Strategy<Value = EntryStyle> {
        (any::<bool>(), any::<bool>(), 0u8..6).prop_map(|(quote_key, quote_value, noise_before)| {
            EntryStyle {
                quote_key,
                quote_value,
                noise_before,
            }
        })
    }

    proptest! {
        #[test]
        fn showvminfo_round_trips_quoting_and_escapes(
            entries in prop::collection::btree_map(
                r#"x[A-Za-z0-9_ ()\[\]/="\\-]{0,12}"#,
                (
                    prop_oneof![r"[^\r]{0,24}", r#"[a-z"\\= \n]{0,16}"#, "[0-9]{1,6}"],
                    arb_entry_style(),
                ),
                1..20,
            ),
        ) {
            let entries: Vec<(String, String, EntryStyle)> =
                entries.into_iter().map(|(k, (v, style))| (k, v, style)).collect();
            let text = format_showvminfo(&entries);
            let want: BTreeMap<String, String> =
                entries.iter().map(|(k, v, _)| (k.clone(), v.clone())).collect();
            let info = parse_showvminfo(&text);
            prop_assert_eq!(info.map(|i| i.values), Ok(want), "{}", text);
        }
    }
}
