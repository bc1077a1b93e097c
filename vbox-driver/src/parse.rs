//! Parsers of the `VBoxManage` outputs the driver reads: `--version`, `list hostonlyifs`,
//! `list dhcpservers`, `showvminfo --machinereadable`, `guestproperty get` and
//! `hostonlyif create`.
//!
//! # Why tolerance matters
//!
//! These outputs are written for people and for VirtualBox's own scripts, not as a stable
//! interface, and vswarm meets every VirtualBox from 5.x to 7.x on Linux, macOS and Windows:
//!
//! - the same command prints different layouts per version: `list dhcpservers` has three (5.x,
//!   6.0 with `Global options:`, 6.1+ with `Dhcpd IP:` and a `Global Configuration:` block), keys
//!   change case (`lowerIPAddress` → `LowerIPAddress`) and new keys appear (`Wireless:` in 5.2.2);
//! - Linux wrapper scripts print `WARNING:` paragraphs on **stdout**, before the real output;
//! - Windows prints CRLF line endings and names with spaces and `#`
//!   (`VirtualBox Host-Only Ethernet Adapter #2`);
//! - `showvminfo --machinereadable` is not a clean format: 7.0 prints `Encryption:     disabled`
//!   without `=`, 6.1.36+ prints ` rec_screen0`, 6.0+ prints `VRDEClients==0`, `VideoMode` has
//!   text after its closing quote, quoted values may span lines, and some values are escaped
//!   (`\\`, `\"`) while others (storage paths before 7.0, `VMStateFile`, …) are printed raw.
//!
//! A parser that stops at the first surprise would stop the driver on hosts that work. So the
//! parsers here skip what they do not know (unknown keys, indented sub-lines, wrapper noise) and
//! fail only when what the driver relies on is missing or malformed; a [`ParseError`] then names
//! the output, what was wrong, and the line (number and text) where it was found.

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use thiserror::Error;

// ------------------------------------------------------------------------------------------------
// Errors
// ------------------------------------------------------------------------------------------------

/// The longest piece of an offending line or value quoted in a [`ParseError`], in characters.
pub const MAX_QUOTED_CHARS: usize = 80;

/// The `VBoxManage` output a parser was reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VBoxOutput {
    /// `VBoxManage --version`
    Version,
    /// `VBoxManage list hostonlyifs`
    HostOnlyIfs,
    /// `VBoxManage list dhcpservers`
    DhcpServers,
    /// `VBoxManage showvminfo NAME --machinereadable`
    ShowVmInfo,
    /// `VBoxManage list hostonlynets` (VirtualBox 7 on macOS)
    HostOnlyNets,
}

impl fmt::Display for VBoxOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VBoxOutput::Version => "`VBoxManage --version`",
            VBoxOutput::HostOnlyIfs => "`VBoxManage list hostonlyifs`",
            VBoxOutput::DhcpServers => "`VBoxManage list dhcpservers`",
            VBoxOutput::ShowVmInfo => "`VBoxManage showvminfo --machinereadable`",
            VBoxOutput::HostOnlyNets => "`VBoxManage list hostonlynets`",
        })
    }
}

/// What was wrong with an output.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseProblem {
    /// Nothing but blank lines.
    #[error("the output is empty")]
    Empty,
    /// No line looks like `7.0.20r163906`.
    #[error("no line looks like a version such as `7.0.20r163906`")]
    NoVersionLine,
    /// A line at the start of a row is neither blank nor `Key: value`.
    #[error("expected a `Key: value` line")]
    NotKeyValue,
    /// A block has known keys but not the key that names it (`Name`, `NetworkName`).
    #[error("a block has no `{0}:` line")]
    MissingKey(&'static str),
    /// A value the driver relies on is not what VirtualBox prints there.
    #[error("`{key}` is `{value}`, expected {expected}")]
    BadValue {
        key: String,
        /// The value as printed, cut to [`MAX_QUOTED_CHARS`].
        value: String,
        expected: &'static str,
    },
    /// A quoted `showvminfo` value opens and never closes (the output was cut short).
    #[error("the quoted value of `{key}` never ends")]
    UnterminatedQuote { key: String },
    /// `showvminfo` printed no `key=value` line at all.
    #[error("no `key=value` line")]
    NoEntries,
}

/// The line where a problem was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffendingLine {
    /// Counted from 1.
    pub number: usize,
    /// The line, cut to [`MAX_QUOTED_CHARS`] characters (`…` marks a cut).
    pub text: String,
}

/// An output that could not be parsed: which output, what was wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("cannot parse the output of {output}: {problem}{}", describe_line(.line))]
pub struct ParseError {
    pub output: VBoxOutput,
    pub problem: ParseProblem,
    /// `None` when the problem is about the output as a whole (e.g. it is empty).
    pub line: Option<OffendingLine>,
}

impl ParseError {
    fn new(output: VBoxOutput, problem: ParseProblem, line: Option<(usize, &str)>) -> ParseError {
        ParseError {
            output,
            problem,
            line: line.map(|(number, text)| OffendingLine {
                number,
                text: shorten(text),
            }),
        }
    }
}

fn describe_line(line: &Option<OffendingLine>) -> String {
    match line {
        Some(l) => format!(" (line {}: `{}`)", l.number, l.text),
        None => String::new(),
    }
}

/// `text` cut to [`MAX_QUOTED_CHARS`] characters, `…` marking the cut.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// The lines of an output, numbered from 1, without their `\n` or `\r\n`.
fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .enumerate()
        .map(|(index, line)| (index + 1, line))
}

// ------------------------------------------------------------------------------------------------
// --version
// ------------------------------------------------------------------------------------------------

/// A VirtualBox version as `VBoxManage --version` prints it: `7.1.4r165100`,
/// `6.1.38_Ubuntur153438` (distribution builds add `_Name`), or a bare `7.0.20`.
///
/// Ordered by `(major, minor, build)`; the revision, then the suffix, only break ties, so that
/// the order agrees with `==`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VBoxVersion {
    pub major: u32,
    pub minor: u32,
    pub build: u32,
    /// The distribution's mark without its `_`: `Ubuntu`, `Debian`, `OSE`, `BETA1`.
    pub suffix: Option<String>,
    /// The Subversion revision after `r`.
    pub revision: Option<u32>,
}

impl VBoxVersion {
    /// Whether this is `major.minor.build` or later.
    pub fn at_least(&self, major: u32, minor: u32, build: u32) -> bool {
        (self.major, self.minor, self.build) >= (major, minor, build)
    }

    /// The version on one line, or `None` when the line does not look like one.
    fn from_line(line: &str) -> Option<VBoxVersion> {
        let word = line.trim();
        if word.is_empty() || word.contains(char::is_whitespace) {
            return None;
        }
        let (major, rest) = leading_number(word)?;
        let (minor, rest) = leading_number(rest.strip_prefix('.')?)?;
        let (build, rest) = leading_number(rest.strip_prefix('.')?)?;
        // The revision is a trailing `r<digits>`; what is left before it is the suffix.
        let (rest, revision) = match rest.rfind('r') {
            Some(at)
                if at + 1 < rest.len() && rest[at + 1..].bytes().all(|b| b.is_ascii_digit()) =>
            {
                (&rest[..at], Some(rest[at + 1..].parse().ok()?))
            }
            _ => (rest, None),
        };
        let suffix = if rest.is_empty() {
            None
        } else {
            let mark = rest.strip_prefix('_').or_else(|| rest.strip_prefix('-'))?;
            (!mark.is_empty()).then(|| mark.to_string())
        };
        Some(VBoxVersion {
            major,
            minor,
            build,
            suffix,
            revision,
        })
    }
}

/// The decimal number at the start of `text` and what follows it.
fn leading_number(text: &str) -> Option<(u32, &str)> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    Some((text[..digits].parse().ok()?, &text[digits..]))
}

impl fmt::Display for VBoxVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.build)?;
        if let Some(suffix) = &self.suffix {
            write!(f, "_{suffix}")?;
        }
        if let Some(revision) = self.revision {
            write!(f, "r{revision}")?;
        }
        Ok(())
    }
}

impl Ord for VBoxVersion {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.major, self.minor, self.build)
            .cmp(&(other.major, other.minor, other.build))
            .then_with(|| self.revision.cmp(&other.revision))
            .then_with(|| self.suffix.cmp(&other.suffix))
    }
}

impl PartialOrd for VBoxVersion {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl FromStr for VBoxVersion {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<VBoxVersion, ParseError> {
        parse_version(text)
    }
}

/// Parses `VBoxManage --version`: the last non-empty line that looks like a version, since
/// Linux wrapper scripts print `WARNING:` paragraphs on stdout before it.
pub fn parse_version(stdout: &str) -> Result<VBoxVersion, ParseError> {
    let lines: Vec<(usize, &str)> = numbered_lines(stdout).collect();
    if let Some(version) = lines
        .iter()
        .rev()
        .find_map(|(_, line)| VBoxVersion::from_line(line))
    {
        return Ok(version);
    }
    let last = lines.iter().rev().find(|(_, line)| !line.trim().is_empty());
    Err(match last {
        Some(&(number, line)) => ParseError::new(
            VBoxOutput::Version,
            ParseProblem::NoVersionLine,
            Some((number, line)),
        ),
        None => ParseError::new(VBoxOutput::Version, ParseProblem::Empty, None),
    })
}

// ------------------------------------------------------------------------------------------------
// `Key: value` blocks (list hostonlyifs, list dhcpservers)
// ------------------------------------------------------------------------------------------------

/// One `Key: value` line, key and value trimmed.
#[derive(Debug, Clone, Copy)]
struct Field<'a> {
    number: usize,
    line: &'a str,
    key: &'a str,
    value: &'a str,
}

impl Field<'_> {
    fn at(&self) -> Option<(usize, &str)> {
        Some((self.number, self.line))
    }

    fn bad_value(&self, output: VBoxOutput, expected: &'static str) -> ParseError {
        ParseError::new(
            output,
            ParseProblem::BadValue {
                key: self.key.to_string(),
                value: shorten(self.value),
                expected,
            },
            self.at(),
        )
    }
}

/// Splits a `list` output into records. A record starts at a `record_key:` line (matched without
/// regard to case) or after a blank line; indented lines (options, sub-configurations, wrapper
/// text) are skipped. Records with none of `known_keys` (wrapper `WARNING:` text) are dropped; one
/// with known keys but no `record_key` is an error.
fn key_value_records<'a>(
    text: &'a str,
    output: VBoxOutput,
    record_key: &'static str,
    known_keys: &[&str],
) -> Result<Vec<Vec<Field<'a>>>, ParseError> {
    fn close<'a>(
        record: &mut Vec<Field<'a>>,
        records: &mut Vec<Vec<Field<'a>>>,
        output: VBoxOutput,
        record_key: &'static str,
        known_keys: &[&str],
    ) -> Result<(), ParseError> {
        let fields = std::mem::take(record);
        let is_known = |f: &&Field<'_>| known_keys.iter().any(|k| f.key.eq_ignore_ascii_case(k));
        let Some(first_known) = fields.iter().find(is_known) else {
            return Ok(());
        };
        if !fields
            .iter()
            .any(|f| f.key.eq_ignore_ascii_case(record_key))
        {
            return Err(ParseError::new(
                output,
                ParseProblem::MissingKey(record_key),
                first_known.at(),
            ));
        }
        records.push(fields);
        Ok(())
    }

    let mut records = Vec::new();
    let mut record: Vec<Field<'a>> = Vec::new();
    for (number, line) in numbered_lines(text) {
        if line.trim().is_empty() {
            close(&mut record, &mut records, output, record_key, known_keys)?;
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(ParseError::new(
                output,
                ParseProblem::NotKeyValue,
                Some((number, line)),
            ));
        };
        let field = Field {
            number,
            line,
            key: key.trim(),
            value: value.trim(),
        };
        let starts_record = field.key.eq_ignore_ascii_case(record_key);
        if starts_record
            && record
                .iter()
                .any(|f| f.key.eq_ignore_ascii_case(record_key))
        {
            close(&mut record, &mut records, output, record_key, known_keys)?;
        }
        record.push(field);
    }
    close(&mut record, &mut records, output, record_key, known_keys)?;
    Ok(records)
}

/// The last field of a record named `key`, matched without regard to case.
fn field<'r, 'a>(record: &'r [Field<'a>], key: &str) -> Option<&'r Field<'a>> {
    record
        .iter()
        .rev()
        .find(|f| f.key.eq_ignore_ascii_case(key))
}

/// An IPv4 address field; empty, absent and `0.0.0.0` mean none.
fn optional_ipv4(
    field: Option<&Field<'_>>,
    output: VBoxOutput,
) -> Result<Option<Ipv4Addr>, ParseError> {
    let Some(field) = field else { return Ok(None) };
    if field.value.is_empty() {
        return Ok(None);
    }
    match field.value.parse::<Ipv4Addr>() {
        Ok(address) if address.is_unspecified() => Ok(None),
        Ok(address) => Ok(Some(address)),
        Err(_) => Err(field.bad_value(output, "an IPv4 address")),
    }
}

/// A yes/no field (`Enabled`/`Disabled`, `Yes`/`No`); absent means no.
fn flag(field: Option<&Field<'_>>, output: VBoxOutput) -> Result<bool, ParseError> {
    let Some(field) = field else { return Ok(false) };
    match yes_no(field.value) {
        Some(value) => Ok(value),
        None => Err(field.bad_value(output, "`Enabled`/`Disabled` or `Yes`/`No`")),
    }
}

fn yes_no(text: &str) -> Option<bool> {
    const YES: [&str; 5] = ["yes", "enabled", "on", "true", "1"];
    const NO: [&str; 5] = ["no", "disabled", "off", "false", "0"];
    let text = text.trim();
    if YES.iter().any(|w| text.eq_ignore_ascii_case(w)) {
        Some(true)
    } else if NO.iter().any(|w| text.eq_ignore_ascii_case(w)) {
        Some(false)
    } else {
        None
    }
}

fn text_of(field: Option<&Field<'_>>) -> String {
    field.map(|f| f.value.to_string()).unwrap_or_default()
}

// ------------------------------------------------------------------------------------------------
// list hostonlyifs
// ------------------------------------------------------------------------------------------------

/// The `Status:` of a host-only interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkStatus {
    Up,
    /// What Linux shows when VirtualBox could not configure the kernel interface.
    Down,
    /// `Unknown`, or anything else.
    Unknown,
}

impl fmt::Display for LinkStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LinkStatus::Up => "Up",
            LinkStatus::Down => "Down",
            LinkStatus::Unknown => "Unknown",
        })
    }
}

/// One block of `VBoxManage list hostonlyifs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostOnlyInterface {
    /// `vboxnet0`, or on Windows `VirtualBox Host-Only Ethernet Adapter #2`.
    pub name: String,
    pub guid: String,
    /// `DHCP: Enabled` (the host's own DHCP client on the interface, not VirtualBox's server).
    pub dhcp: bool,
    /// `None` when empty or `0.0.0.0` (a Windows adapter never configured).
    pub ipv4: Option<Ipv4Addr>,
    /// `None` when empty or `0.0.0.0`.
    pub netmask: Option<Ipv4Addr>,
    /// As printed (5.0-era Windows prints it uncompressed); `None` when empty.
    pub ipv6: Option<String>,
    /// Only when there is an IPv6 address (VirtualBox prints `0` without one).
    pub ipv6_prefix: Option<u8>,
    /// `0a:00:27:00:00:00`, as printed.
    pub hardware_address: String,
    /// `Ethernet`, `PPP`, `SLIP` or `Unknown`, as printed.
    pub medium_type: String,
    /// `None` before 5.2.2, which had no `Wireless:` line.
    pub wireless: Option<bool>,
    pub status: LinkStatus,
    /// `HostInterfaceNetworking-<name>`: the network name DHCP servers are keyed by.
    pub network_name: String,
}

const HOSTONLYIF_KEYS: [&str; 12] = [
    "Name",
    "GUID",
    "DHCP",
    "IPAddress",
    "NetworkMask",
    "IPV6Address",
    "IPV6NetworkMaskPrefixLength",
    "HardwareAddress",
    "MediumType",
    "Wireless",
    "Status",
    "VBoxNetworkName",
];

/// Parses `VBoxManage list hostonlyifs` (also the format of `list bridgedifs`): blocks of
/// padded `Key: value` lines separated by blank lines; empty output means no interfaces.
/// One network of `VBoxManage list hostonlynets` (VirtualBox 7 on macOS): Apple's vmnet gives
/// the host `lower` and leases the rest of the range to guests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostOnlyNet {
    pub name: String,
    pub guid: String,
    pub enabled: bool,
    pub netmask: Ipv4Addr,
    pub lower: Ipv4Addr,
    pub upper: Ipv4Addr,
}

/// Parses `VBoxManage list hostonlynets`. Each entry starts at its `Name:` line (VirtualBox
/// prints a blank line inside an entry, after `GUID:`, and another after it).
pub fn parse_hostonlynets(stdout: &str) -> Result<Vec<HostOnlyNet>, ParseError> {
    const OUTPUT: VBoxOutput = VBoxOutput::HostOnlyNets;
    let mut out: Vec<HostOnlyNet> = Vec::new();
    let unset = Ipv4Addr::UNSPECIFIED;
    for (i, line) in stdout.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(ParseError::new(
                OUTPUT,
                ParseProblem::NotKeyValue,
                Some((i + 1, line)),
            ));
        };
        let value = value.trim();
        let address = || {
            value.parse::<Ipv4Addr>().map_err(|_| {
                ParseError::new(
                    OUTPUT,
                    ParseProblem::BadValue {
                        key: key.to_string(),
                        value: shorten(value),
                        expected: "an IPv4 address",
                    },
                    Some((i + 1, line)),
                )
            })
        };
        if key == "Name" {
            out.push(HostOnlyNet {
                name: value.to_string(),
                guid: String::new(),
                enabled: false,
                netmask: unset,
                lower: unset,
                upper: unset,
            });
            continue;
        }
        let Some(net) = out.last_mut() else {
            return Err(ParseError::new(
                OUTPUT,
                ParseProblem::MissingKey("Name"),
                Some((i + 1, line)),
            ));
        };
        match key {
            "GUID" => net.guid = value.to_string(),
            "State" => net.enabled = value.eq_ignore_ascii_case("enabled"),
            "NetworkMask" => net.netmask = address()?,
            "LowerIP" => net.lower = address()?,
            "UpperIP" => net.upper = address()?,
            _ => {}
        }
    }
    Ok(out)
}

/// The host's OS from `VBoxManage list hostinfo` (`Operating system: Darwin`): `Linux`,
/// `Darwin`, `Windows 11`, ...
pub fn parse_host_os(stdout: &str) -> Option<String> {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("Operating system:"))
        .map(|v| v.trim().to_string())
}

pub fn parse_hostonlyifs(stdout: &str) -> Result<Vec<HostOnlyInterface>, ParseError> {
    const OUTPUT: VBoxOutput = VBoxOutput::HostOnlyIfs;
    let records = key_value_records(stdout, OUTPUT, "Name", &HOSTONLYIF_KEYS)?;
    records
        .iter()
        .map(|record| {
            let ipv6 = field(record, "IPV6Address")
                .map(|f| f.value)
                .filter(|v| !v.is_empty())
                .map(str::to_string);
            let ipv6_prefix = match field(record, "IPV6NetworkMaskPrefixLength") {
                Some(f) if ipv6.is_some() && !f.value.is_empty() => match f.value.parse::<u8>() {
                    Ok(prefix) if prefix <= 128 => Some(prefix),
                    _ => return Err(f.bad_value(OUTPUT, "a prefix length from 0 to 128")),
                },
                _ => None,
            };
            let status = match field(record, "Status").map(|f| f.value) {
                Some(s) if s.eq_ignore_ascii_case("up") => LinkStatus::Up,
                Some(s) if s.eq_ignore_ascii_case("down") => LinkStatus::Down,
                _ => LinkStatus::Unknown,
            };
            Ok(HostOnlyInterface {
                name: text_of(field(record, "Name")),
                guid: text_of(field(record, "GUID")),
                dhcp: flag(field(record, "DHCP"), OUTPUT)?,
                ipv4: optional_ipv4(field(record, "IPAddress"), OUTPUT)?,
                netmask: optional_ipv4(field(record, "NetworkMask"), OUTPUT)?,
                ipv6,
                ipv6_prefix,
                hardware_address: text_of(field(record, "HardwareAddress")),
                medium_type: text_of(field(record, "MediumType")),
                wireless: field(record, "Wireless").and_then(|f| yes_no(f.value)),
                status,
                network_name: text_of(field(record, "VBoxNetworkName")),
            })
        })
        .collect()
}

// ------------------------------------------------------------------------------------------------
// list dhcpservers
// ------------------------------------------------------------------------------------------------

/// One server of `VBoxManage list dhcpservers`. Addresses are `None` when printed as `0.0.0.0`
/// (a server that was never configured).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpServer {
    /// `HostInterfaceNetworking-<interface>` for a host-only interface's server.
    pub network_name: String,
    /// `IP:` (≤6.0) or `Dhcpd IP:` (6.1+).
    pub server_ip: Option<Ipv4Addr>,
    pub netmask: Option<Ipv4Addr>,
    pub lower_ip: Option<Ipv4Addr>,
    pub upper_ip: Option<Ipv4Addr>,
    pub enabled: bool,
}

const DHCPSERVER_KEYS: [&str; 8] = [
    "NetworkName",
    "IP",
    "Dhcpd IP",
    "NetworkMask",
    "lowerIPAddress",
    "upperIPAddress",
    "Enabled",
    // Not read, but proves the block belongs to a server.
    "Global Configuration",
];

/// Parses `VBoxManage list dhcpservers` in all three layouts (≤5.2, 6.0, 6.1+), by key and
/// without regard to the keys' case; option and configuration sub-lines are skipped.
pub fn parse_dhcpservers(stdout: &str) -> Result<Vec<DhcpServer>, ParseError> {
    const OUTPUT: VBoxOutput = VBoxOutput::DhcpServers;
    let records = key_value_records(stdout, OUTPUT, "NetworkName", &DHCPSERVER_KEYS)?;
    records
        .iter()
        .map(|record| {
            let server_ip = record.iter().rev().find(|f| {
                f.key.eq_ignore_ascii_case("IP") || f.key.eq_ignore_ascii_case("Dhcpd IP")
            });
            Ok(DhcpServer {
                network_name: text_of(field(record, "NetworkName")),
                server_ip: optional_ipv4(server_ip, OUTPUT)?,
                netmask: optional_ipv4(field(record, "NetworkMask"), OUTPUT)?,
                lower_ip: optional_ipv4(field(record, "lowerIPAddress"), OUTPUT)?,
                upper_ip: optional_ipv4(field(record, "upperIPAddress"), OUTPUT)?,
                enabled: flag(field(record, "Enabled"), OUTPUT)?,
            })
        })
        .collect()
}

// ------------------------------------------------------------------------------------------------
// showvminfo --machinereadable
// ------------------------------------------------------------------------------------------------

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

// ------------------------------------------------------------------------------------------------
// guestproperty get, hostonlyif create
// ------------------------------------------------------------------------------------------------

/// Parses `VBoxManage guestproperty get VM PROP`: `Value: X` gives `Some(X)` (trimmed),
/// `No value set!` gives `None`. `--verbose`'s `Timestamp:`/`Flags:` lines and wrapper noise are
/// ignored.
pub fn parse_guestproperty_value(stdout: &str) -> Option<String> {
    for (_, line) in numbered_lines(stdout) {
        if let Some(value) = line.strip_prefix("Value:") {
            return Some(value.trim().to_string());
        }
        if line.trim() == "No value set!" {
            return None;
        }
    }
    None
}

/// Parses the stdout of `VBoxManage hostonlyif create`: the name in
/// `Interface 'vboxnet3' was successfully created`, or with `--machinereadable` the bare name.
/// `None` when neither is there (progress and errors go to stderr).
pub fn parse_created_hostonlyif(stdout: &str) -> Option<String> {
    let lines: Vec<&str> = numbered_lines(stdout).map(|(_, line)| line).collect();
    let sentence = lines.iter().find_map(|line| {
        let line = line.trim();
        let line = line.strip_suffix('.').unwrap_or(line);
        line.strip_prefix("Interface '")?
            .strip_suffix("' was successfully created")
            .filter(|name| !name.is_empty())
    });
    if let Some(name) = sentence {
        return Some(name.to_string());
    }
    // `--machinereadable`: the bare name, alone once wrapper text (`WARNING:` and its indented
    // lines) is set aside. Progress (`%`), messages (quotes, colons, `...`) are not names.
    let mut candidates = lines.iter().filter(|line| {
        !line.trim().is_empty()
            && !line.starts_with(char::is_whitespace)
            && !line.starts_with("WARNING:")
    });
    let (Some(only), None) = (candidates.next(), candidates.next()) else {
        return None;
    };
    let name = only.trim();
    let looks_like_a_name = !name.contains([':', '%', '\'', '"', '(', ')'])
        && !name.contains("...")
        && !name.to_ascii_lowercase().contains("error");
    looks_like_a_name.then(|| name.to_string())
}

// ------------------------------------------------------------------------------------------------
// list vms, list runningvms
// ------------------------------------------------------------------------------------------------

/// One line of `VBoxManage list vms` or `list runningvms`: `"node-01" {0f3c2c1a-...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedVm {
    /// `<inaccessible>` for a VM whose settings cannot be read.
    pub name: String,
    pub uuid: String,
}

/// Parses `VBoxManage list vms` / `list runningvms`. The name is everything between the first
/// quote and the quote before the last ` {`, so names holding quotes or braces survive; lines of
/// another shape (wrapper warnings) are skipped.
pub fn parse_list_vms(stdout: &str) -> Vec<ListedVm> {
    numbered_lines(stdout)
        .filter_map(|(_, line)| {
            let line = line.trim_end();
            let (head, uuid) = line.rsplit_once(" {")?;
            let uuid = uuid.strip_suffix('}')?;
            let name = head.strip_prefix('"')?.strip_suffix('"')?;
            Some(ListedVm {
                name: name.to_string(),
                uuid: uuid.to_string(),
            })
        })
        .collect()
}

// ------------------------------------------------------------------------------------------------
// list hostinfo
// ------------------------------------------------------------------------------------------------

/// What `VBoxManage list hostinfo` says about the host, where it says it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostInfo {
    /// `Processor online count`.
    pub processors_online: Option<u32>,
    /// `Processor supports HW virtualization: yes|no` (VT-x or AMD-V).
    pub hw_virtualization: Option<bool>,
    /// `Memory size: N MByte`.
    pub memory_mb: Option<u64>,
    /// `Operating system`.
    pub os: Option<String>,
}

/// Parses `VBoxManage list hostinfo`: `Key: value` lines, read by key; unknown lines skipped.
pub fn parse_hostinfo(stdout: &str) -> HostInfo {
    let mut info = HostInfo::default();
    for (_, line) in numbered_lines(stdout) {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let number = || value.split_whitespace().next().and_then(|n| n.parse().ok());
        match key.trim() {
            "Processor online count" => info.processors_online = number(),
            "Processor supports HW virtualization" => info.hw_virtualization = yes_no(value),
            "Memory size" => info.memory_mb = number().map(u64::from),
            "Operating system" => info.os = Some(value.to_string()),
            _ => {}
        }
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostonly_networks_are_read_with_the_blank_line_inside_each_entry() {
        // VBoxManageList.cpp 7.0: a blank line after GUID and after each entry.
        let text = "Name:            HostNet\nGUID:            1b5b1ac5-9d2e-4c5e-a0a1-0123456789ab\n\nState:           Enabled\nNetworkMask:     255.255.255.0\nLowerIP:         192.168.56.1\nUpperIP:         192.168.56.199\nVBoxNetworkName: hostonly-HostNet\n\nName:            Other\nGUID:            2b5b1ac5-9d2e-4c5e-a0a1-0123456789ab\n\nState:           Disabled\nNetworkMask:     255.255.0.0\nLowerIP:         10.9.0.1\nUpperIP:         10.9.0.99\nVBoxNetworkName: hostonly-Other\n\n";
        let nets = parse_hostonlynets(text).unwrap();
        assert_eq!(nets.len(), 2);
        assert_eq!(nets[0].name, "HostNet");
        assert!(nets[0].enabled && !nets[1].enabled);
        assert_eq!(nets[0].lower, Ipv4Addr::new(192, 168, 56, 1));
        assert_eq!(nets[0].upper, Ipv4Addr::new(192, 168, 56, 199));
        assert_eq!(nets[1].netmask, Ipv4Addr::new(255, 255, 0, 0));
        assert!(parse_hostonlynets("").unwrap().is_empty());
        let e = parse_hostonlynets("Name: x\nLowerIP: nope\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("LowerIP") && e.contains("line 2"), "{e}");
    }

    #[test]
    fn the_host_os_is_read_from_hostinfo() {
        let text = "Host Information:\n\nMemory size: 16384 MByte\nOperating system: Darwin\nOperating system version: 23.1.0\n";
        assert_eq!(parse_host_os(text).as_deref(), Some("Darwin"));
        assert_eq!(parse_host_os("Host Information:\n"), None);
    }
    use proptest::prelude::*;

    fn ip(text: &str) -> Ipv4Addr {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn version(text: &str) -> VBoxVersion {
        parse_version(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    fn v(
        major: u32,
        minor: u32,
        build: u32,
        suffix: Option<&str>,
        revision: Option<u32>,
    ) -> VBoxVersion {
        VBoxVersion {
            major,
            minor,
            build,
            suffix: suffix.map(str::to_string),
            revision,
        }
    }

    fn interfaces(text: &str) -> Vec<HostOnlyInterface> {
        parse_hostonlyifs(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    fn servers(text: &str) -> Vec<DhcpServer> {
        parse_dhcpservers(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    fn machine(text: &str) -> MachineInfo {
        parse_showvminfo(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    fn crlf(text: &str) -> String {
        text.replace('\n', "\r\n")
    }

    // --------------------------------------------------------------------------------------------
    // Samples (files under vbox-driver/tests/samples are real captures; the others are quoted from
    // shared/docs/vboxmanage-samples.md and virtualbox-facts.md, "from source" where the doc says so)
    // --------------------------------------------------------------------------------------------

    const HOSTONLYIFS_6_1_26_MACOS: &str =
        include_str!("../tests/samples/hostonlyifs-6.1.26-macos.txt");
    const HOSTONLYIFS_6_1_28_LINUX_DOWN: &str =
        include_str!("../tests/samples/hostonlyifs-6.1.28-linux-down.txt");
    const DHCPSERVERS_5_0_WINDOWS: &str =
        include_str!("../tests/samples/dhcpservers-5.0-windows.txt");
    const DHCPSERVERS_6_0: &str = include_str!("../tests/samples/dhcpservers-6.0.txt");
    const DHCPSERVERS_6_1: &str = include_str!("../tests/samples/dhcpservers-6.1.txt");
    const CREATEVM_5_0_0: &str = include_str!("../tests/samples/createvm-5.0.0-macos.txt");
    const CONVERTFROMRAW_5_0_0_STDERR: &str =
        include_str!("../tests/samples/convertfromraw-stdin-5.0.0-macos.stderr.txt");
    const GUESTPROPERTY_ENUMERATE_5_2_8: &str =
        include_str!("../tests/samples/guestproperty-enumerate-5.2.8.txt");
    const GUESTPROPERTY_ENUMERATE_7_2_4: &str =
        include_str!("../tests/samples/guestproperty-enumerate-7.2.4.txt");
    const INVALID_COMMAND_7_0_20_STDERR: &str =
        include_str!("../tests/samples/invalid-command-7.0.20.stderr-head.txt");
    const LOGO_7_1_4: &str = include_str!("../tests/samples/logo-7.1.4.txt");
    const NATPF_DELETE_MISSING_5_0_STDERR: &str =
        include_str!("../tests/samples/natpf-delete-missing-5.0-macos.stderr.txt");
    const RANGE_DENIED_6_1_28_STDERR: &str =
        include_str!("../tests/samples/range-denied-6.1.28.stderr.txt");
    const UNKNOWN_VM_7_0_STDERR: &str = include_str!("../tests/samples/unknown-vm-7.0.stderr.txt");

    /// Every captured sample file, for the "never panics" checks.
    const ALL_SAMPLE_FILES: [&str; 14] = [
        HOSTONLYIFS_6_1_26_MACOS,
        HOSTONLYIFS_6_1_28_LINUX_DOWN,
        DHCPSERVERS_5_0_WINDOWS,
        DHCPSERVERS_6_0,
        DHCPSERVERS_6_1,
        CREATEVM_5_0_0,
        CONVERTFROMRAW_5_0_0_STDERR,
        GUESTPROPERTY_ENUMERATE_5_2_8,
        GUESTPROPERTY_ENUMERATE_7_2_4,
        INVALID_COMMAND_7_0_20_STDERR,
        LOGO_7_1_4,
        NATPF_DELETE_MISSING_5_0_STDERR,
        RANGE_DENIED_6_1_28_STDERR,
        UNKNOWN_VM_7_0_STDERR,
    ];

    /// Real, Debian 5.1.6: the wrapper's warning on stdout before the version (samples doc §1).
    const VERSION_DEBIAN_5_1_6_WITH_WARNING: &str = "\
WARNING: The character device /dev/vboxdrv does not exist.
   Please install the virtualbox-dkms package and the appropriate
   headers, most likely linux-headers-amd64.

   You will not be able to start VMs until this problem is fixed.
5.1.6_Debianr110634
";

    /// Oracle's `VBox.sh` warning (from source, 6.1/7.0; first and last line quoted in the doc).
    const VERSION_ORACLE_WRAPPER_7_0_20: &str = "\
WARNING: The vboxdrv kernel module is not loaded. Either there is no module
         available for the current kernel (6.5.0-14-generic) or it failed to
         load. Please recompile the kernel module and install it by

           sudo /sbin/vboxconfig

         You will not be able to start VMs until this problem is fixed.
7.0.20r163906
";

    /// Real, 7.1.4 under sudo (samples doc §1).
    const VERSION_7_1_4_SUDO: &str = "\
WARNING: Environment variable LOGNAME or USER does not correspond to effective user id.
7.1.4r165100
";

    /// Real ≤5.2.0 (docker/machine `network_test.go` fixture): the 6.1.26 block minus `Wireless:`.
    const HOSTONLYIFS_5_X: &str = "\
Name:            vboxnet0
GUID:            786f6276-656e-4074-8000-0a0027000000
DHCP:            Disabled
IPAddress:       192.168.99.1
NetworkMask:     255.255.255.0
IPV6Address:    \x20
IPV6NetworkMaskPrefixLength: 0
HardwareAddress: 0a:00:27:00:00:00
MediumType:      Ethernet
Status:          Up
VBoxNetworkName: HostInterfaceNetworking-vboxnet0

";

    /// As quoted in virtualbox-facts.md (Markdown stripped the trailing blanks).
    const HOSTONLYIFS_FACTS_DOC: &str = "\
Name:            vboxnet0
GUID:            786f6276-656e-4074-8000-0a0027000000
DHCP:            Disabled
IPAddress:       192.168.99.1
NetworkMask:     255.255.255.0
IPV6Address:
IPV6NetworkMaskPrefixLength: 0
HardwareAddress: 0a:00:27:00:00:00
MediumType:      Ethernet
Status:          Up
VBoxNetworkName: HostInterfaceNetworking-vboxnet0
";

    /// Real, Windows 6.1.x (kubernetes/minikube#11345), first block; the second block is the
    /// doc's `… #2` naming with a random GUID, as Windows assigns them.
    const HOSTONLYIFS_6_1_WINDOWS: &str = "\
Name:            VirtualBox Host-Only Ethernet Adapter
GUID:            ad6c77e2-4cec-4864-97e9-e5a21b60fe5f
DHCP:            Disabled
IPAddress:       192.168.56.1
NetworkMask:     255.255.255.0
IPV6Address:     fe80::7cad:157d:443e:4aa
IPV6NetworkMaskPrefixLength: 64
HardwareAddress: 0a:00:27:00:00:2e
MediumType:      Ethernet
Wireless:        No
Status:          Up
VBoxNetworkName: HostInterfaceNetworking-VirtualBox Host-Only Ethernet Adapter

Name:            VirtualBox Host-Only Ethernet Adapter #2
GUID:            1d2c3b4a-0f9e-4d8c-b7a6-958473625140
DHCP:            Disabled
IPAddress:       192.168.99.1
NetworkMask:     255.255.255.0
IPV6Address:    \x20
IPV6NetworkMaskPrefixLength: 0
HardwareAddress: 0a:00:27:00:00:13
MediumType:      Ethernet
Wireless:        No
Status:          Up
VBoxNetworkName: HostInterfaceNetworking-VirtualBox Host-Only Ethernet Adapter #2

";

    /// 5.0-era Windows: uncompressed IPv6 (docker-archive/toolbox#216) and a fresh adapter's
    /// `0.0.0.0` / `15.0.0.0` (docker.kitematic#960).
    const HOSTONLYIFS_5_0_WINDOWS_FRESH: &str = "\
Name:            VirtualBox Host-Only Ethernet Adapter #3
GUID:            5f0c1b2a-3d4e-4f60-8a9b-0c1d2e3f4a5b
DHCP:            Disabled
IPAddress:       0.0.0.0
NetworkMask:     15.0.0.0
IPV6Address:     fe80:0000:0000:0000:39e3:3df4:294c:5fd0
IPV6NetworkMaskPrefixLength: 64
HardwareAddress: 0a:00:27:00:00:0c
MediumType:      Ethernet
Status:          Up
VBoxNetworkName: HostInterfaceNetworking-VirtualBox Host-Only Ethernet Adapter #3

";

    /// 7.x macOS `list hostonlynets` (from source; vagrant `VBOX_HOSTONLYNETS` fixture): not
    /// `list hostonlyifs`, and must not pass for it.
    const HOSTONLYNETS_7_MACOS: &str = "\
Name:            vagrantnet-vbox1
GUID:            10f3a2d4-7c1b-4e8e-9a55-1b2c3d4e5f60

State:           Enabled
NetworkMask:     255.255.255.0
LowerIP:         192.168.56.0
UpperIP:         192.168.56.0
VBoxNetworkName: hostonly-vagrantnet-vbox1

";

    /// As quoted in virtualbox-facts.md.
    const DHCPSERVERS_FACTS_DOC: &str = "\
NetworkName:    HostInterfaceNetworking-vboxnet0
IP:             192.168.99.6
NetworkMask:    255.255.255.0
lowerIPAddress: 192.168.99.100
upperIPAddress: 192.168.99.254
Enabled:        Yes
";

    /// Real, Windows 6.0.x, never-configured server (samples doc §3, first of four blocks).
    const DHCPSERVERS_6_0_WINDOWS_UNCONFIGURED: &str = "\
NetworkName:    HostInterfaceNetworking-VirtualBox Host-Only Ethernet Adapter
IP:             0.0.0.0
NetworkMask:    0.0.0.0
lowerIPAddress: 0.0.0.0
upperIPAddress: 0.0.0.0
Enabled:        No
Global options:
   1:0.0.0.0

";

    /// 6.0 with per-VM options (format from source, samples doc §3).
    const DHCPSERVERS_6_0_NIC_OPTIONS: &str = "\
NetworkName:    HostInterfaceNetworking-vboxnet0
IP:             192.168.56.100
NetworkMask:    255.255.255.0
lowerIPAddress: 192.168.56.101
upperIPAddress: 192.168.56.254
Enabled:        Yes
Global options:
   1:255.255.255.0
Options for NIC 2 of 'node-01':
   3:192.168.56.1
   6:8.8.8.8

";

    /// Real 6.1.26 macOS (kubernetes/minikube#12311): the 6.1 layout with the docker-machine
    /// server, then a second server with a group and an individual config (format from source),
    /// blank line only between servers.
    const DHCPSERVERS_6_1_26_TWO: &str = "\
NetworkName:    HostInterfaceNetworking-vboxnet0
Dhcpd IP:       192.168.99.16
LowerIPAddress: 192.168.99.100
UpperIPAddress: 192.168.99.254
NetworkMask:    255.255.255.0
Enabled:        Yes
Global Configuration:
    minLeaseTime:     default
    defaultLeaseTime: default
    maxLeaseTime:     default
    Forced options:   None
    Suppressed opts.: None
        1/legacy: 255.255.255.0
Groups:               None
Individual Configs:   None

NetworkName:    HostInterfaceNetworking-vboxnet1
Dhcpd IP:       192.168.57.2
LowerIPAddress: 192.168.57.100
UpperIPAddress: 192.168.57.200
NetworkMask:    255.255.255.0
Enabled:        No
Global Configuration:
    minLeaseTime:     default
    defaultLeaseTime: 3600 sec
    maxLeaseTime:     default
    Forced options:   None
    Suppressed opts.: None
        1/legacy: 255.255.255.0
Group:                workers
    minLeaseTime:     default
    defaultLeaseTime: default
    maxLeaseTime:     default
    Forced options:   None
    Suppressed opts.: None
    Conditions:
        include  MAC       08:00:27:*
Individual Config:    MAC 08:00:27:aa:bb:cc
    Fixed Address:    192.168.57.50
    minLeaseTime:     default
    defaultLeaseTime: default
    maxLeaseTime:     default
    Forced options:   None
    Suppressed opts.: None";

    /// Real 6.1.26 macOS (kubernetes/minikube#12311), as quoted in the samples doc §4: part 1,
    /// the source-derived gap, part 2 (with the doc's elisions: `SATA-3-0`…`SATA-28-0`, `nic4`…`nic7`).
    const SHOWVMINFO_6_1_26_MACOS: &str =
        include_str!("../tests/samples/showvminfo-6.1.26-macos.txt");

    /// Real 7.0.x Linux, powered off (yunielrc/vedv), as quoted in the samples doc §4 (`nic3`…`nic7`
    /// elided there).
    const SHOWVMINFO_7_0_LINUX: &str = r#"name="manjaro-gnome-x64-full-clean"
Encryption:     disabled
groups="/"
ostype="Arch Linux (64-bit)"
UUID="19e117b3-06f4-4a1e-851d-47336ad6a142"
CfgFile="/home/user/VirtualBox VMs/manjaro-gnome-x64-full-clean/manjaro-gnome-x64-full-clean.vbox"
SnapFldr="/home/user/VirtualBox VMs/manjaro-gnome-x64-full-clean/Snapshots"
LogFldr="/home/user/VirtualBox VMs/manjaro-gnome-x64-full-clean/Logs"
hardwareuuid="19e117b3-06f4-4a1e-851d-47336ad6a142"
memory=4096
pagefusion="off"
vram=64
cpuexecutioncap=100
hpet="off"
cpu-profile="host"
chipset="piix3"
firmware="BIOS"
cpus=4
pae="off"
longmode="on"
triplefaultreset="off"
apic="on"
x2apic="on"
nested-hw-virt="off"
cpuid-portability-level=0
bootmenu="messageandmenu"
boot1="dvd"
boot2="disk"
boot3="none"
boot4="none"
acpi="on"
ioapic="on"
biosapic="apic"
biossystemtimeoffset=0
BIOS NVRAM File="/home/user/VirtualBox VMs/manjaro-gnome-x64-full-clean/manjaro-gnome-x64-full-clean.nvram"
rtcuseutc="on"
hwvirtex="on"
nestedpaging="on"
largepages="on"
vtxvpid="on"
vtxux="on"
virtvmsavevmload="on"
iommu="none"
paravirtprovider="default"
effparavirtprovider="kvm"
VMState="poweroff"
VMStateChangeTime="2023-02-06T02:18:47.191000000"
graphicscontroller="vmsvga"
monitorcount=1
accelerate3d="off"
accelerate2dvideo="off"
teleporterenabled="off"
teleporterport=0
teleporteraddress=""
teleporterpassword=""
tracing-enabled="off"
tracing-allow-vm-access="off"
tracing-config=""
autostart-enabled="off"
autostart-delay=0
defaultfrontend=""
vmprocpriority="default"
storagecontrollername0="IDE"
storagecontrollertype0="PIIX4"
storagecontrollerinstance0="0"
storagecontrollermaxportcount0="2"
storagecontrollerportcount0="2"
storagecontrollerbootable0="on"
storagecontrollername1="SATA"
storagecontrollertype1="IntelAhci"
storagecontrollerinstance1="0"
storagecontrollermaxportcount1="30"
storagecontrollerportcount1="1"
storagecontrollerbootable1="on"
"IDE-0-0"="none"
"IDE-0-1"="none"
"IDE-1-0"="emptydrive"
"IDE-IsEjected-1-0"="off"
"IDE-1-1"="none"
"SATA-0-0"="/home/user/VirtualBox VMs/manjaro-gnome-x64-full-clean/manjaro-gnome-x64-full-clean-disk001.vdi"
"SATA-ImageUUID-0-0"="37a0bb6b-4292-464e-b766-1e8b7101ec94"
"SATA-hot-pluggable-0-0"="off"
"SATA-nonrotational-0-0"="off"
"SATA-discard-0-0"="off"
natnet1="nat"
macaddress1="08002744D7F6"
cableconnected1="on"
nic1="nat"
nictype1="82540EM"
nicspeed1="0"
mtu="0"
sockSnd="64"
sockRcv="64"
tcpWndSnd="64"
tcpWndRcv="64"
nic2="none"
nic8="none"
hidpointing="usbtablet"
hidkeyboard="ps2kbd"
uart1="off"
uart2="off"
uart3="off"
uart4="off"
lpt1="off"
lpt2="off"
audio="default"
audio_out="on"
audio_in="off"
clipboard="bidirectional"
draganddrop="bidirectional"
vrde="off"
usb="on"
ehci="on"
xhci="off"
recording_enabled="off"
recording_screens=1
 rec_screen0
rec_screen_enabled="on"
rec_screen_id=0
rec_screen_video_enabled="on"
rec_screen_dest="File"
rec_screen_dest_filename="/home/user/VirtualBox VMs/manjaro-gnome-x64-full-clean/manjaro-gnome-x64-full-clean-screen0.webm"
rec_screen_opts="vc_enabled=true,ac_enabled=false,ac_profile=med"
rec_screen_video_res_xy="1024x768"
rec_screen_video_rate_kbps=512
rec_screen_video_fps=25
description="name1=value1
name2=value2"
GuestMemoryBalloon=0
"#;

    /// Real 7.0 Windows NIC lines (public Rust test, 2022-12) and a macOS 7 host-only network
    /// NIC (vagrant 7.x fixture), samples doc §4.
    const SHOWVMINFO_7_0_NICS: &str = r#"name="xtec-4"
Encryption:     disabled
groups="/"
VMState="poweroff"
natnet1="nat"
macaddress1="080027C0FFEE"
cableconnected1="on"
nic1="nat"
nictype1="82540EM"
nicspeed1="0"
mtu="0"
sockSnd="64"
sockRcv="64"
tcpWndSnd="64"
tcpWndRcv="64"
Forwarding(0)="ssh,tcp,127.0.0.1,2201,,22"
hostonlyadapter2="VirtualBox Host-Only Ethernet Adapter"
macaddress2="080027AE1F98"
cableconnected2="on"
nic2="hostonly"
nictype2="82540EM"
nicspeed2="0"
hostonly-network3="vagrantnet-vbox1"
macaddress3="0800271A2B3C"
cableconnected3="off"
nic3="hostonlynetwork"
nictype3="82540EM"
nicspeed3="0"
nic4="none"
"#;

    /// 5.2 Windows, running docker-machine VM: the 5.2 line list of tests/lab/reference/showvminfo.md
    /// §2.1 with the real S52c values (raw shared folder `\\?\c:\Users`, raw storage paths,
    /// escaped `CfgFile`, `VRDEClients=0`, `videocap*`, `audio_in` before `audio_out`).
    const SHOWVMINFO_5_2_WINDOWS: &str = r#"name="default"
groups="/"
ostype="Linux 2.6 / 3.x / 4.x (64-bit)"
UUID="3d1b4f62-93a1-4c1e-8a6e-2f7f0b6c9d11"
CfgFile="C:\\Users\\me\\.docker\\machine\\machines\\default\\default\\default.vbox"
SnapFldr="C:\\Users\\me\\.docker\\machine\\machines\\default\\default\\Snapshots"
LogFldr="C:\\Users\\me\\.docker\\machine\\machines\\default\\default\\Logs"
hardwareuuid="3d1b4f62-93a1-4c1e-8a6e-2f7f0b6c9d11"
memory=1024
pagefusion="off"
vram=8
cpuexecutioncap=100
hpet="on"
chipset="piix3"
firmware="BIOS"
cpus=1
VMState="running"
VMStateChangeTime="2020-08-20T09:12:01.123000000"
storagecontrollername0="SATA"
storagecontrollertype0="IntelAhci"
storagecontrollerinstance0="0"
storagecontrollermaxportcount0="30"
storagecontrollerportcount0="30"
storagecontrollerbootable0="on"
"SATA-0-0"="C:\Users\me\.docker\machine\machines\default\boot2docker.iso"
"SATA-ImageUUID-0-0"="e19bbcd1-04d1-4c45-b05a-07bf985467e0"
"SATA-tempeject"="off"
"SATA-IsEjected"="off"
"SATA-1-0"="C:\Users\me\.docker\machine\machines\default\disk.vmdk"
"SATA-ImageUUID-1-0"="adc5121f-6e26-48ab-ba4b-ca777f440673"
"SATA-2-0"="none"
natnet1="nat"
macaddress1="080027DC3858"
cableconnected1="on"
nic1="nat"
nictype1="82540EM"
nicspeed1="0"
mtu="0"
sockSnd="64"
sockRcv="64"
tcpWndSnd="64"
tcpWndRcv="64"
Forwarding(0)="ssh,tcp,127.0.0.1,50123,,22"
hostonlyadapter2="VirtualBox Host-Only Ethernet Adapter #2"
macaddress2="080027AFB224"
cableconnected2="on"
nic2="hostonly"
nictype2="82540EM"
nicspeed2="0"
nic3="none"
audio="dsound"
audio_in="false"
audio_out="false"
SessionName="headless"
VideoMode="720,400,0"@0,0 1
SharedFolderNameMachineMapping1="c/Users"
SharedFolderPathMachineMapping1="\\?\c:\Users"
VRDEActiveConnection="off"
VRDEClients=0
videocap="off"
videocap_audio="off"
videocapscreens=0
videocapfile="C:\\Users\\me\\.docker\\machine\\machines\\default\\default\\default.webm"
videocapres=1024x768
videocaprate=512
videocapfps=25
videocapopts=
GuestMemoryBalloon=0
GuestOSType="Linux26_64"
GuestAdditionsRunLevel=2
"#;

    /// 5.0/5.1-format saved VM (terra-farm/go-virtualbox `vboxmanage-showvminfo-1.out`, the
    /// keys the samples doc names).
    const SHOWVMINFO_5_1_SAVED: &str = r#"name="go-virtualbox"
UUID="def44546-e3da-4902-8d15-b91c99c80cbc"
memory=512
cpus=1
VMState="saved"
VMStateChangeTime="2018-03-10T19:22:47.000000000"
VMStateFile="/Users/me/VirtualBox VMs/go-virtualbox/Snapshots/2018-03-10T19-22-47-062Z.sav"
vrde="on"
vrdeport=-1
vrdeproperty[TCP/Ports]="5914"
vrdeproperty[TCP/Address]=<not set>
vcpenabled="off"
vcpscreens=0
"#;

    /// 6.0/6.1 Windows vagrant VM (hashicorp/vagrant#11174, S6xW): escaped `CfgFile` and shared
    /// folder path, raw storage path.
    const SHOWVMINFO_6_X_WINDOWS: &str = r#"name="gitlab"
CfgFile="F:\\VirtualBox VMs\\gitlab\\gitlab.vbox"
VMState="running"
memory=4096
cpus=2
storagecontrollername0="IDE Controller"
"IDE Controller-0-0"="F:\VirtualBox VMs\gitlab\box-disk001.vmdk"
SharedFolderNameMachineMapping1="vagrant"
SharedFolderPathMachineMapping1="\\\\?\\D:\\vagrant\\bak\\test2"
VRDEClients==0
capturescreens="0"
"#;

    /// 7.1 head (main-branch source; no real sample exists).
    const SHOWVMINFO_7_1_HEAD: &str = r#"name="node-01"
encryption="disabled"
groups="/"
platformArchitecture="x86"
ostype="Linux 2.6 / 3.x / 4.x / 5.x (64-bit)"
UUID="0f3c2c1a-4d0e-4b8e-9d2a-6f1e2b3c4d5e"
CfgFile="/home/me/.vswarm/machines/node-01/node-01.vbox"
memory=1024
cpus=2
hpet="on"
NvramFile="/home/me/.vswarm/machines/node-01/node-01.nvram"
VMState="aborted-saved"
recording_started="off"
"#;

    // --------------------------------------------------------------------------------------------
    // --version
    // --------------------------------------------------------------------------------------------

    #[test]
    fn version_real_samples_of_every_family() {
        let cases = [
            (
                "4.3.10_Debianr93012\n",
                v(4, 3, 10, Some("Debian"), Some(93012)),
            ),
            ("5.0.0r101573\n", v(5, 0, 0, None, Some(101573))),
            (
                "5.1.6_Debianr110634\n",
                v(5, 1, 6, Some("Debian"), Some(110634)),
            ),
            ("5.2.4r119785\n", v(5, 2, 4, None, Some(119785))),
            (
                "5.2.42_Ubuntur137960\n",
                v(5, 2, 42, Some("Ubuntu"), Some(137960)),
            ),
            ("5.2.44r139111\n", v(5, 2, 44, None, Some(139111))),
            ("6.1.26r145957\n", v(6, 1, 26, None, Some(145957))),
            (
                "6.1.34_Ubuntur150636\n",
                v(6, 1, 34, Some("Ubuntu"), Some(150636)),
            ),
            (
                "6.1.38_Ubuntur153438\n",
                v(6, 1, 38, Some("Ubuntu"), Some(153438)),
            ),
            ("6.1.50r161033\n", v(6, 1, 50, None, Some(161033))),
            ("7.0.2r154219\n", v(7, 0, 2, None, Some(154219))),
            ("7.0.20r163906\n", v(7, 0, 20, None, Some(163906))),
            ("7.1.4r165100\n", v(7, 1, 4, None, Some(165100))),
            ("7.0.20", v(7, 0, 20, None, None)),
        ];
        for (text, want) in cases {
            assert_eq!(version(text), want, "{text:?}");
            assert_eq!(
                want.to_string(),
                text.trim(),
                "Display gives back the printed form"
            );
            assert_eq!(version(&crlf(text)), want, "CRLF {text:?}");
            assert_eq!(text.parse::<VBoxVersion>().ok(), Some(want));
        }
    }

    #[test]
    fn version_after_linux_wrapper_warnings() {
        assert_eq!(
            version(VERSION_DEBIAN_5_1_6_WITH_WARNING),
            v(5, 1, 6, Some("Debian"), Some(110634))
        );
        assert_eq!(
            version(VERSION_ORACLE_WRAPPER_7_0_20),
            v(7, 0, 20, None, Some(163906))
        );
        assert_eq!(version(VERSION_7_1_4_SUDO), v(7, 1, 4, None, Some(165100)));
        assert_eq!(
            version("\n\n  7.0.14r161095  \n\n"),
            v(7, 0, 14, None, Some(161095))
        );
    }

    #[test]
    fn version_order_is_by_major_minor_build() {
        let mut versions: Vec<VBoxVersion> = [
            "7.1.4r165100",
            "7.0.20r163906",
            "5.2.44r139111",
            "6.1.38_Ubuntur153438",
            "7.0.2r154219",
            "6.1.26r145957",
            "5.1.6_Debianr110634",
        ]
        .iter()
        .map(|t| version(t))
        .collect();
        versions.sort();
        let printed: Vec<String> = versions.iter().map(ToString::to_string).collect();
        assert_eq!(
            printed,
            [
                "5.1.6_Debianr110634",
                "5.2.44r139111",
                "6.1.26r145957",
                "6.1.38_Ubuntur153438",
                "7.0.2r154219",
                "7.0.20r163906",
                "7.1.4r165100",
            ]
        );
        assert!(version("7.0.2r1") < version("7.0.20r1"));
        assert!(version("6.1.28r1").at_least(6, 1, 28));
        assert!(!version("6.1.26r145957").at_least(6, 1, 28));
        assert!(version("7.0.0").at_least(6, 1, 28));
        // Same release, different builds: ordered, yet not equal.
        assert!(version("6.1.38r153438") < version("6.1.38_Ubuntur153438"));
    }

    #[test]
    fn version_errors_name_the_output_and_line() {
        let empty = parse_version("\n  \n").unwrap_err();
        assert_eq!(empty.problem, ParseProblem::Empty);
        assert_eq!(empty.line, None);

        let only_warning = "WARNING: The vboxdrv kernel module is not loaded.\n\n";
        let err = parse_version(only_warning).unwrap_err();
        assert_eq!(err.output, VBoxOutput::Version);
        assert_eq!(err.problem, ParseProblem::NoVersionLine);
        assert_eq!(err.line.as_ref().map(|l| l.number), Some(1));
        let message = err.to_string();
        assert!(message.contains("VBoxManage --version"), "{message}");
        assert!(message.contains("line 1"), "{message}");

        // The 7.1 logo and the captured error texts carry no version line.
        for text in [
            LOGO_7_1_4,
            INVALID_COMMAND_7_0_20_STDERR,
            UNKNOWN_VM_7_0_STDERR,
            RANGE_DENIED_6_1_28_STDERR,
            "7.0",
            "1.2.3.4",
            "7.0.20 r163906",
            "99999999999.0.0r1",
        ] {
            let err = parse_version(text).unwrap_err();
            assert_eq!(err.problem, ParseProblem::NoVersionLine, "{text:?}");
        }
    }

    #[test]
    fn error_lines_are_truncated() {
        let long = format!("WARNING: {}", "x".repeat(500));
        let err = parse_version(&long).unwrap_err();
        let line = err
            .line
            .clone()
            .unwrap_or_else(|| panic!("no line in {err}"));
        assert_eq!(line.text.chars().count(), MAX_QUOTED_CHARS + 1);
        assert!(line.text.ends_with('…'));
    }

    // --------------------------------------------------------------------------------------------
    // list hostonlyifs
    // --------------------------------------------------------------------------------------------

    #[test]
    fn hostonlyifs_6_1_26_macos() {
        assert_eq!(
            interfaces(HOSTONLYIFS_6_1_26_MACOS),
            [HostOnlyInterface {
                name: "vboxnet0".into(),
                guid: "786f6276-656e-4074-8000-0a0027000000".into(),
                dhcp: false,
                ipv4: Some(ip("192.168.99.1")),
                netmask: Some(ip("255.255.255.0")),
                ipv6: None,
                ipv6_prefix: None,
                hardware_address: "0a:00:27:00:00:00".into(),
                medium_type: "Ethernet".into(),
                wireless: Some(false),
                status: LinkStatus::Up,
                network_name: "HostInterfaceNetworking-vboxnet0".into(),
            }]
        );
    }

    #[test]
    fn hostonlyifs_6_1_28_linux_down() {
        let list = interfaces(HOSTONLYIFS_6_1_28_LINUX_DOWN);
        assert_eq!(list.len(), 2);
        let (ten, eleven) = (&list[0], &list[1]);
        assert_eq!(ten.name, "vboxnet10");
        assert_eq!(ten.guid, "786f6276-656e-4174-b000-0a002700000a");
        assert_eq!(ten.ipv4, Some(ip("192.168.66.1")));
        assert_eq!(ten.hardware_address, "0a:00:27:00:00:0a");
        assert_eq!(ten.status, LinkStatus::Down);
        assert_eq!(ten.network_name, "HostInterfaceNetworking-vboxnet10");
        assert_eq!(eleven.name, "vboxnet11");
        assert_eq!(eleven.guid, "786f6276-656e-4174-b100-0a002700000b");
        assert_eq!(eleven.ipv4, Some(ip("192.168.67.1")));
        assert_eq!(eleven.netmask, Some(ip("255.255.255.0")));
        assert_eq!(eleven.status, LinkStatus::Down);
        assert_eq!(eleven.wireless, Some(false));
        // The same bytes with Windows line endings.
        assert_eq!(interfaces(&crlf(HOSTONLYIFS_6_1_28_LINUX_DOWN)), list);
    }

    #[test]
    fn hostonlyifs_5_x_without_wireless_and_facts_doc_layout() {
        let old = interfaces(HOSTONLYIFS_5_X);
        assert_eq!(old.len(), 1);
        assert_eq!(old[0].wireless, None);
        assert_eq!(old[0].status, LinkStatus::Up);
        assert_eq!(old[0].ipv4, Some(ip("192.168.99.1")));
        // Unpadded empty value, no final blank line: same interface.
        assert_eq!(interfaces(HOSTONLYIFS_FACTS_DOC), old);
    }

    #[test]
    fn hostonlyifs_windows_names_ipv6_and_crlf() {
        for text in [
            HOSTONLYIFS_6_1_WINDOWS.to_string(),
            crlf(HOSTONLYIFS_6_1_WINDOWS),
        ] {
            let list = interfaces(&text);
            assert_eq!(list.len(), 2);
            assert_eq!(list[0].name, "VirtualBox Host-Only Ethernet Adapter");
            assert_eq!(list[0].guid, "ad6c77e2-4cec-4864-97e9-e5a21b60fe5f");
            assert_eq!(list[0].ipv4, Some(ip("192.168.56.1")));
            assert_eq!(list[0].ipv6.as_deref(), Some("fe80::7cad:157d:443e:4aa"));
            assert_eq!(list[0].ipv6_prefix, Some(64));
            assert_eq!(list[0].hardware_address, "0a:00:27:00:00:2e");
            assert_eq!(
                list[0].network_name,
                "HostInterfaceNetworking-VirtualBox Host-Only Ethernet Adapter"
            );
            assert_eq!(list[1].name, "VirtualBox Host-Only Ethernet Adapter #2");
            assert_eq!(
                list[1].network_name,
                "HostInterfaceNetworking-VirtualBox Host-Only Ethernet Adapter #2"
            );
            assert_eq!(list[1].ipv6, None);
            assert_eq!(list[1].ipv6_prefix, None);
        }
    }

    #[test]
    fn hostonlyifs_5_0_windows_fresh_adapter_has_no_address() {
        let list = interfaces(HOSTONLYIFS_5_0_WINDOWS_FRESH);
        assert_eq!(list[0].name, "VirtualBox Host-Only Ethernet Adapter #3");
        assert_eq!(list[0].ipv4, None, "0.0.0.0 means none");
        assert_eq!(list[0].netmask, Some(ip("15.0.0.0")));
        assert_eq!(
            list[0].ipv6.as_deref(),
            Some("fe80:0000:0000:0000:39e3:3df4:294c:5fd0")
        );
        assert_eq!(list[0].ipv6_prefix, Some(64));
    }

    #[test]
    fn hostonlyifs_tolerates_noise_unknown_keys_and_emptiness() {
        assert_eq!(interfaces(""), []);
        assert_eq!(interfaces("\n"), []);
        let with_warning = format!(
            "{}{}",
            VERSION_DEBIAN_5_1_6_WITH_WARNING.replace("5.1.6_Debianr110634\n", ""),
            HOSTONLYIFS_6_1_28_LINUX_DOWN
        );
        assert_eq!(
            interfaces(&with_warning),
            interfaces(HOSTONLYIFS_6_1_28_LINUX_DOWN)
        );
        let with_unknown_key = HOSTONLYIFS_6_1_26_MACOS
            .replace("Status:", "FutureKey:       whatever\nStatus:")
            .replace("Status:          Up", "Status:          Unknown");
        let list = interfaces(&with_unknown_key);
        assert_eq!(list[0].status, LinkStatus::Unknown);
        assert_eq!(list[0].name, "vboxnet0");
        // Missing blank line between blocks: `Name:` still starts the next interface.
        let glued = HOSTONLYIFS_6_1_28_LINUX_DOWN.replacen("\n\n", "\n", 1);
        assert_eq!(interfaces(&glued).len(), 2);
    }

    #[test]
    fn hostonlyifs_errors() {
        let err = parse_hostonlyifs("Name:            vboxnet0\nthis is not a key\n").unwrap_err();
        assert_eq!(err.output, VBoxOutput::HostOnlyIfs);
        assert_eq!(err.problem, ParseProblem::NotKeyValue);
        assert_eq!(
            err.line,
            Some(OffendingLine {
                number: 2,
                text: "this is not a key".into()
            })
        );

        let err = parse_hostonlyifs(HOSTONLYNETS_7_MACOS).unwrap_err();
        assert_eq!(err.problem, ParseProblem::MissingKey("Name"));
        assert_eq!(err.line.map(|l| l.number), Some(5));

        let bad_ip = HOSTONLYIFS_6_1_26_MACOS.replace("192.168.99.1", "192.168.999.1");
        let err = parse_hostonlyifs(&bad_ip).unwrap_err();
        assert!(matches!(&err.problem, ParseProblem::BadValue { key, .. } if key == "IPAddress"));
        assert_eq!(err.line.as_ref().map(|l| l.number), Some(4));
        assert!(err.to_string().contains("192.168.999.1"), "{err}");

        let bad_dhcp = HOSTONLYIFS_6_1_26_MACOS.replace("Disabled", "Sometimes");
        assert!(matches!(
            parse_hostonlyifs(&bad_dhcp).unwrap_err().problem,
            ParseProblem::BadValue { .. }
        ));
    }

    // --------------------------------------------------------------------------------------------
    // list dhcpservers
    // --------------------------------------------------------------------------------------------

    fn server(name: &str, ips: [&str; 4], enabled: bool) -> DhcpServer {
        let address = |text: &str| Some(ip(text)).filter(|a| !a.is_unspecified());
        DhcpServer {
            network_name: name.into(),
            server_ip: address(ips[0]),
            netmask: address(ips[1]),
            lower_ip: address(ips[2]),
            upper_ip: address(ips[3]),
            enabled,
        }
    }

    #[test]
    fn dhcpservers_5_0_windows() {
        assert_eq!(
            servers(DHCPSERVERS_5_0_WINDOWS),
            [
                server(
                    "HostInterfaceNetworking-VirtualBox Host-Only Ethernet Adapter",
                    [
                        "192.168.56.100",
                        "255.255.255.0",
                        "192.168.56.101",
                        "192.168.56.254"
                    ],
                    true
                ),
                server(
                    "HostInterfaceNetworking-VirtualBox Host-Only Ethernet Adapter #4",
                    [
                        "192.168.99.6",
                        "255.255.255.0",
                        "192.168.99.100",
                        "192.168.99.254"
                    ],
                    true
                ),
            ]
        );
        assert_eq!(
            servers(&crlf(DHCPSERVERS_5_0_WINDOWS)),
            servers(DHCPSERVERS_5_0_WINDOWS)
        );
        assert_eq!(
            servers(DHCPSERVERS_FACTS_DOC),
            [server(
                "HostInterfaceNetworking-vboxnet0",
                [
                    "192.168.99.6",
                    "255.255.255.0",
                    "192.168.99.100",
                    "192.168.99.254"
                ],
                true
            )]
        );
    }

    #[test]
    fn dhcpservers_6_0_and_6_1_describe_the_same_server() {
        let want = [server(
            "HostInterfaceNetworking-vboxnet0",
            [
                "172.28.128.2",
                "255.255.255.0",
                "172.28.128.3",
                "172.28.128.254",
            ],
            true,
        )];
        assert_eq!(servers(DHCPSERVERS_6_0), want);
        assert_eq!(servers(DHCPSERVERS_6_1), want);
        assert_eq!(servers(&crlf(DHCPSERVERS_6_1)), want);
    }

    #[test]
    fn dhcpservers_6_0_unconfigured_and_per_nic_options() {
        assert_eq!(
            servers(DHCPSERVERS_6_0_WINDOWS_UNCONFIGURED),
            [server(
                "HostInterfaceNetworking-VirtualBox Host-Only Ethernet Adapter",
                ["0.0.0.0", "0.0.0.0", "0.0.0.0", "0.0.0.0"],
                false
            )]
        );
        assert_eq!(
            servers(DHCPSERVERS_6_0_NIC_OPTIONS),
            [server(
                "HostInterfaceNetworking-vboxnet0",
                [
                    "192.168.56.100",
                    "255.255.255.0",
                    "192.168.56.101",
                    "192.168.56.254"
                ],
                true
            )]
        );
    }

    #[test]
    fn dhcpservers_6_1_groups_and_individual_configs() {
        assert_eq!(
            servers(DHCPSERVERS_6_1_26_TWO),
            [
                server(
                    "HostInterfaceNetworking-vboxnet0",
                    [
                        "192.168.99.16",
                        "255.255.255.0",
                        "192.168.99.100",
                        "192.168.99.254"
                    ],
                    true
                ),
                server(
                    "HostInterfaceNetworking-vboxnet1",
                    [
                        "192.168.57.2",
                        "255.255.255.0",
                        "192.168.57.100",
                        "192.168.57.200"
                    ],
                    false
                ),
            ]
        );
    }

    #[test]
    fn dhcpservers_errors() {
        assert_eq!(servers(""), []);
        let err = parse_dhcpservers(
            &DHCPSERVERS_6_0.replace("Enabled:        Yes", "Enabled:        Maybe"),
        )
        .unwrap_err();
        assert_eq!(err.output, VBoxOutput::DhcpServers);
        assert!(matches!(&err.problem, ParseProblem::BadValue { key, .. } if key == "Enabled"));
        assert_eq!(err.line.map(|l| l.number), Some(6));

        let headless =
            DHCPSERVERS_6_1.replacen("NetworkName:    HostInterfaceNetworking-vboxnet0\n", "", 1);
        let err = parse_dhcpservers(&headless).unwrap_err();
        assert_eq!(err.problem, ParseProblem::MissingKey("NetworkName"));
        assert_eq!(err.line.map(|l| l.number), Some(1));
    }

    // --------------------------------------------------------------------------------------------
    // showvminfo --machinereadable
    // --------------------------------------------------------------------------------------------

    #[test]
    fn showvminfo_6_1_26_macos_running() {
        let info = machine(SHOWVMINFO_6_1_26_MACOS);
        assert_eq!(info.name(), Some("minikube"));
        assert_eq!(info.uuid(), Some("c920483a-6afe-428f-ba48-e3f81db2be7c"));
        assert_eq!(info.state(), VmState::Running);
        assert_eq!(info.memory_mb(), Some(4096));
        assert_eq!(info.cpus(), Some(3));
        assert_eq!(
            info.cfg_file(),
            Some("/Users/sde3/.minikube/machines/minikube/minikube/minikube.vbox")
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
        assert_eq!(info.name(), Some("manjaro-gnome-x64-full-clean"));
        assert_eq!(info.uuid(), Some("19e117b3-06f4-4a1e-851d-47336ad6a142"));
        assert_eq!(info.state(), VmState::PowerOff);
        assert_eq!(info.memory_mb(), Some(4096));
        assert_eq!(info.cpus(), Some(4));
        assert_eq!(
            info.cfg_file(),
            Some(
                "/home/user/VirtualBox VMs/manjaro-gnome-x64-full-clean/manjaro-gnome-x64-full-clean.vbox"
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

    // --------------------------------------------------------------------------------------------
    // guestproperty get, hostonlyif create
    // --------------------------------------------------------------------------------------------

    #[test]
    fn guestproperty_value() {
        assert_eq!(
            parse_guestproperty_value("Value: 192.168.99.100\n").as_deref(),
            Some("192.168.99.100")
        );
        assert_eq!(
            parse_guestproperty_value("Value: 192.168.56.101\r\n").as_deref(),
            Some("192.168.56.101")
        );
        assert_eq!(parse_guestproperty_value("No value set!\n"), None);
        assert_eq!(parse_guestproperty_value("No value set!\r\n"), None);
        assert_eq!(parse_guestproperty_value(""), None);
        let verbose =
            "Value: 10.0.2.15\nTimestamp: 1523628880075172000\nFlags: TRANSIENT, RDONLYGUEST\n";
        assert_eq!(
            parse_guestproperty_value(verbose).as_deref(),
            Some("10.0.2.15")
        );
        let with_warning = format!(
            "{}Value: 192.168.59.100\n",
            VERSION_7_1_4_SUDO.replace("7.1.4r165100\n", "")
        );
        assert_eq!(
            parse_guestproperty_value(&with_warning).as_deref(),
            Some("192.168.59.100")
        );
        // `enumerate` output is not `get` output.
        assert_eq!(
            parse_guestproperty_value(GUESTPROPERTY_ENUMERATE_5_2_8),
            None
        );
        assert_eq!(
            parse_guestproperty_value(GUESTPROPERTY_ENUMERATE_7_2_4),
            None
        );
    }

    #[test]
    fn created_hostonlyif_name() {
        assert_eq!(
            parse_created_hostonlyif("Interface 'vboxnet3' was successfully created\n").as_deref(),
            Some("vboxnet3")
        );
        // Progress merged in, as when stdout and stderr share a terminal (hashicorp/vagrant#12143).
        let merged = "0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\nInterface 'vboxnet3' was successfully created\n";
        assert_eq!(
            parse_created_hostonlyif(merged).as_deref(),
            Some("vboxnet3")
        );
        assert_eq!(
            parse_created_hostonlyif(
                "Interface 'VirtualBox Host-Only Ethernet Adapter #2' was successfully created\r\n"
            )
            .as_deref(),
            Some("VirtualBox Host-Only Ethernet Adapter #2")
        );
        // `--machinereadable`: the bare name, no newline.
        assert_eq!(
            parse_created_hostonlyif("vboxnet4").as_deref(),
            Some("vboxnet4")
        );
        assert_eq!(
            parse_created_hostonlyif("VirtualBox Host-Only Ethernet Adapter #5").as_deref(),
            Some("VirtualBox Host-Only Ethernet Adapter #5")
        );
        let after_warning = format!(
            "{}vboxnet5",
            VERSION_ORACLE_WRAPPER_7_0_20.replace("7.0.20r163906\n", "")
        );
        assert_eq!(
            parse_created_hostonlyif(&after_warning).as_deref(),
            Some("vboxnet5")
        );
        // Failures and unrelated outputs.
        let failure =
            "0%...NS_ERROR_FAILURE\nVBoxManage: error: Failed to create the host-only adapter\n";
        assert_eq!(parse_created_hostonlyif(failure), None);
        assert_eq!(
            parse_created_hostonlyif("0%...\nProgress state: NS_ERROR_FAILURE\n"),
            None
        );
        assert_eq!(
            parse_created_hostonlyif(
                VERSION_ORACLE_WRAPPER_7_0_20
                    .replace("7.0.20r163906\n", "")
                    .as_str()
            ),
            None
        );
        assert_eq!(parse_created_hostonlyif(""), None);
        assert_eq!(parse_created_hostonlyif(CREATEVM_5_0_0), None);
        assert_eq!(parse_created_hostonlyif(CONVERTFROMRAW_5_0_0_STDERR), None);
        assert_eq!(
            parse_created_hostonlyif(NATPF_DELETE_MISSING_5_0_STDERR),
            None
        );
    }

    // --------------------------------------------------------------------------------------------
    // Properties
    // --------------------------------------------------------------------------------------------

    /// Runs every parser; they may fail but never panic.
    fn run_every_parser(text: &str) {
        let _ = parse_version(text);
        let _ = parse_hostonlyifs(text);
        let _ = parse_dhcpservers(text);
        if let Ok(info) = parse_showvminfo(text) {
            let _ = (
                info.name(),
                info.uuid(),
                info.state(),
                info.memory_mb(),
                info.cpus(),
            );
            let _ = (
                info.cfg_file(),
                info.nic(1),
                info.nic(2),
                info.forwarding_rules(),
            );
            let _ = info.storage("SATA", 0, 0);
        }
        let _ = parse_guestproperty_value(text);
        let _ = parse_created_hostonlyif(text);
    }

    /// Every sample this module knows, for the truncation property.
    fn every_sample() -> Vec<&'static str> {
        let mut all = ALL_SAMPLE_FILES.to_vec();
        all.extend([
            VERSION_DEBIAN_5_1_6_WITH_WARNING,
            VERSION_ORACLE_WRAPPER_7_0_20,
            HOSTONLYIFS_5_X,
            HOSTONLYIFS_6_1_WINDOWS,
            HOSTONLYIFS_5_0_WINDOWS_FRESH,
            HOSTONLYNETS_7_MACOS,
            DHCPSERVERS_6_0_NIC_OPTIONS,
            DHCPSERVERS_6_1_26_TWO,
            SHOWVMINFO_6_1_26_MACOS,
            SHOWVMINFO_7_0_LINUX,
            SHOWVMINFO_5_2_WINDOWS,
            SHOWVMINFO_6_X_WINDOWS,
        ]);
        all
    }

    fn arb_ipv4() -> impl Strategy<Value = Option<Ipv4Addr>> {
        proptest::option::of((1..=u32::MAX).prop_map(Ipv4Addr::from))
    }

    fn arb_interface_name() -> impl Strategy<Value = String> {
        prop_oneof![
            (0u32..64).prop_map(|n| format!("vboxnet{n}")),
            (1u32..12).prop_map(|n| match n {
                1 => "VirtualBox Host-Only Ethernet Adapter".to_string(),
                n => format!("VirtualBox Host-Only Ethernet Adapter #{n}"),
            }),
            "[A-Za-z0-9][A-Za-z0-9 #:_.()-]{0,24}[A-Za-z0-9#)]",
        ]
    }

    fn arb_hostonlyif() -> impl Strategy<Value = HostOnlyInterface> {
        (
            arb_interface_name(),
            "[0-9a-f-]{0,36}",
            any::<bool>(),
            (arb_ipv4(), arb_ipv4()),
            proptest::option::of(("[0-9a-f]{1,4}(:[0-9a-f]{0,4}){2,7}", 0u8..=128)),
            "([0-9a-f]{2}:){5}[0-9a-f]{2}",
            prop::sample::select(vec!["Ethernet", "PPP", "SLIP", "Unknown"]),
            any::<bool>(),
            prop::sample::select(vec![LinkStatus::Up, LinkStatus::Down, LinkStatus::Unknown]),
        )
            .prop_map(
                |(name, guid, dhcp, (ipv4, netmask), ipv6, mac, medium, wireless, status)| {
                    HostOnlyInterface {
                        network_name: format!("HostInterfaceNetworking-{name}"),
                        name,
                        guid,
                        dhcp,
                        ipv4,
                        netmask,
                        ipv6_prefix: ipv6.as_ref().map(|(_, prefix)| *prefix),
                        ipv6: ipv6.map(|(address, _)| address),
                        hardware_address: mac,
                        medium_type: medium.to_string(),
                        wireless: Some(wireless),
                        status,
                    }
                },
            )
    }

    /// How a version printed `list hostonlyifs`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum HostOnlyLayout {
        /// ≤5.2.0: no `Wireless:`; every block followed by a blank line.
        NoWireless,
        /// 5.2.2 … 7.x.
        WithWireless,
        /// 5.2.2 … 7.x on Windows: CRLF.
        WithWirelessCrlf,
        /// As Markdown shows it: no trailing blanks, no final blank line, empty addresses.
        Unpadded,
    }

    fn format_hostonlyifs(list: &[HostOnlyInterface], layout: HostOnlyLayout) -> String {
        let unpadded = layout == HostOnlyLayout::Unpadded;
        let address = |a: Option<Ipv4Addr>| match a {
            Some(a) => a.to_string(),
            None if unpadded => String::new(),
            None => "0.0.0.0".to_string(),
        };
        let blocks: Vec<String> = list
            .iter()
            .map(|i| {
                let mut lines = vec![
                    ("Name:", i.name.clone()),
                    ("GUID:", i.guid.clone()),
                    (
                        "DHCP:",
                        if i.dhcp { "Enabled" } else { "Disabled" }.to_string(),
                    ),
                    ("IPAddress:", address(i.ipv4)),
                    ("NetworkMask:", address(i.netmask)),
                    ("IPV6Address:", i.ipv6.clone().unwrap_or_default()),
                    (
                        "IPV6NetworkMaskPrefixLength:",
                        i.ipv6_prefix.unwrap_or(0).to_string(),
                    ),
                    ("HardwareAddress:", i.hardware_address.clone()),
                    ("MediumType:", i.medium_type.clone()),
                ];
                if matches!(
                    layout,
                    HostOnlyLayout::WithWireless | HostOnlyLayout::WithWirelessCrlf
                ) {
                    let wireless = if i.wireless == Some(true) {
                        "Yes"
                    } else {
                        "No"
                    };
                    lines.push(("Wireless:", wireless.to_string()));
                }
                lines.push(("Status:", i.status.to_string()));
                lines.push(("VBoxNetworkName:", i.network_name.clone()));
                lines
                    .iter()
                    .map(|(label, value)| {
                        let line = if *label == "IPV6NetworkMaskPrefixLength:" {
                            format!("{label} {value}\n")
                        } else {
                            format!("{label:<17}{value}\n")
                        };
                        if unpadded {
                            format!("{}\n", line.trim_end())
                        } else {
                            line
                        }
                    })
                    .collect()
            })
            .collect();
        let text = if unpadded {
            blocks.join("\n")
        } else {
            blocks.iter().map(|b| format!("{b}\n")).collect()
        };
        if layout == HostOnlyLayout::WithWirelessCrlf {
            crlf(&text)
        } else {
            text
        }
    }

    fn arb_dhcpserver() -> impl Strategy<Value = DhcpServer> {
        (
            prop_oneof![
                arb_interface_name().prop_map(|n| format!("HostInterfaceNetworking-{n}")),
                "[A-Za-z][A-Za-z0-9 _#:-]{0,20}[A-Za-z0-9]",
            ],
            (arb_ipv4(), arb_ipv4(), arb_ipv4(), arb_ipv4()),
            any::<bool>(),
        )
            .prop_map(
                |(network_name, (server_ip, netmask, lower_ip, upper_ip), enabled)| DhcpServer {
                    network_name,
                    server_ip,
                    netmask,
                    lower_ip,
                    upper_ip,
                    enabled,
                },
            )
    }

    /// How a version printed `list dhcpservers`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum DhcpLayout {
        Legacy,
        GlobalOptions,
        GlobalConfiguration,
        GlobalConfigurationCrlf,
    }

    fn format_dhcpservers(list: &[DhcpServer], layout: DhcpLayout) -> String {
        let address = |a: Option<Ipv4Addr>| a.unwrap_or(Ipv4Addr::UNSPECIFIED).to_string();
        let yes_no = |b: bool| if b { "Yes" } else { "No" };
        let blocks: Vec<String> = list
            .iter()
            .enumerate()
            .map(|(index, s)| {
                let mask = address(s.netmask);
                if layout == DhcpLayout::Legacy || layout == DhcpLayout::GlobalOptions {
                    let mut block = format!(
                        "NetworkName:    {}\nIP:             {}\nNetworkMask:    {}\nlowerIPAddress: {}\nupperIPAddress: {}\nEnabled:        {}\n",
                        s.network_name,
                        address(s.server_ip),
                        mask,
                        address(s.lower_ip),
                        address(s.upper_ip),
                        yes_no(s.enabled)
                    );
                    if layout == DhcpLayout::GlobalOptions {
                        block.push_str(&format!("Global options:\n   1:{mask}\n"));
                        if index % 2 == 1 {
                            block.push_str("Options for NIC 1 of 'node-01':\n   3:192.168.56.1\n");
                        }
                    }
                    format!("{block}\n")
                } else {
                    let lease = "    minLeaseTime:     default\n    defaultLeaseTime: default\n    maxLeaseTime:     default\n    Forced options:   None\n    Suppressed opts.: None\n";
                    let mut block = format!(
                        "NetworkName:    {}\nDhcpd IP:       {}\nLowerIPAddress: {}\nUpperIPAddress: {}\nNetworkMask:    {}\nEnabled:        {}\nGlobal Configuration:\n{lease}        1/legacy: {mask}\n",
                        s.network_name,
                        address(s.server_ip),
                        address(s.lower_ip),
                        address(s.upper_ip),
                        mask,
                        yes_no(s.enabled)
                    );
                    if index % 2 == 1 {
                        block.push_str(&format!(
                            "Group:                g{index}\n{lease}    Conditions:\n        include  MAC       08:00:27:*\nIndividual Config:    MAC 08:00:27:00:00:{index:02x}\n    Fixed Address:    dynamic\n{lease}"
                        ));
                    } else {
                        block.push_str("Groups:               None\nIndividual Configs:   None\n");
                    }
                    block
                }
            })
            .collect();
        match layout {
            DhcpLayout::Legacy | DhcpLayout::GlobalOptions => blocks.concat(),
            DhcpLayout::GlobalConfiguration => blocks.join("\n"),
            DhcpLayout::GlobalConfigurationCrlf => crlf(&blocks.join("\n")),
        }
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
        fn parsers_never_panic_on_arbitrary_text(text in any::<String>()) {
            run_every_parser(&text);
        }

        #[test]
        fn parsers_never_panic_on_output_like_text(
            text in r#"[a-zA-Z0-9 :="\\\n\r\t_.'%#()-]{0,400}"#,
        ) {
            run_every_parser(&text);
        }

        #[test]
        fn parsers_never_panic_on_cut_or_spliced_samples(
            first in 0usize..26,
            second in 0usize..26,
            cut in any::<prop::sample::Index>(),
        ) {
            let samples = every_sample();
            let a = samples[first % samples.len()];
            let b = samples[second % samples.len()];
            let boundaries: Vec<usize> = a.char_indices().map(|(i, _)| i).chain([a.len()]).collect();
            let at = boundaries[cut.index(boundaries.len())];
            run_every_parser(&a[..at]);
            run_every_parser(&format!("{}{}", &a[..at], b));
        }

        #[test]
        fn version_round_trips_through_display(
            major in 0u32..100,
            minor in 0u32..100,
            build in 0u32..1000,
            suffix in proptest::option::of("[A-Za-z]{1,8}"),
            revision in proptest::option::of(any::<u32>()),
            warnings in prop::collection::vec("WARNING: [a-z .]{0,30}|   [a-z .]{0,30}|", 0..4),
        ) {
            let want = VBoxVersion { major, minor, build, suffix, revision };
            let mut text = warnings.join("\n");
            text.push_str(&format!("\n{want}\n\n"));
            prop_assert_eq!(parse_version(&text), Ok(want));
        }

        #[test]
        fn hostonlyifs_round_trip_in_every_layout(
            list in prop::collection::vec(arb_hostonlyif(), 0..5),
            layout in prop::sample::select(vec![
                HostOnlyLayout::NoWireless,
                HostOnlyLayout::WithWireless,
                HostOnlyLayout::WithWirelessCrlf,
                HostOnlyLayout::Unpadded,
            ]),
        ) {
            let text = format_hostonlyifs(&list, layout);
            let mut want = list.clone();
            if matches!(layout, HostOnlyLayout::NoWireless | HostOnlyLayout::Unpadded) {
                for i in &mut want {
                    i.wireless = None;
                }
            }
            prop_assert_eq!(parse_hostonlyifs(&text), Ok(want), "{}", text);
        }

        #[test]
        fn dhcpservers_round_trip_in_every_layout(
            list in prop::collection::vec(arb_dhcpserver(), 0..5),
            layout in prop::sample::select(vec![
                DhcpLayout::Legacy,
                DhcpLayout::GlobalOptions,
                DhcpLayout::GlobalConfiguration,
                DhcpLayout::GlobalConfigurationCrlf,
            ]),
        ) {
            let text = format_dhcpservers(&list, layout);
            prop_assert_eq!(parse_dhcpservers(&text), Ok(list), "{}", text);
        }

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

    #[test]
    fn list_vms_lines_are_read_with_odd_names() {
        let out = "\"Ubuntu\" {2e16b1fc-675d-4a7a-a9a1-e89a8bde7874}\n\"a \\\"quoted\\\" {x}\" {def44546-e3da-4902-8d15-b91c99c80cbc}\nWARNING: noise\n";
        let vms = parse_list_vms(out);
        assert_eq!(vms.len(), 2);
        assert_eq!(vms[0].name, "Ubuntu");
        assert_eq!(vms[0].uuid, "2e16b1fc-675d-4a7a-a9a1-e89a8bde7874");
        assert_eq!(vms[1].name, "a \\\"quoted\\\" {x}");
        assert!(parse_list_vms("").is_empty());
    }

    #[test]
    fn hostinfo_gives_cpus_and_hardware_virtualization() {
        let out = "Host Information:\n\nHost time: 2024-01-01T00:00:00.000000000Z\nProcessor online count: 8\nProcessor count: 8\nProcessor supports HW virtualization: yes\nProcessor#0 speed: unknown\nMemory size: 31961 MByte\nOperating system: Linux\n";
        let info = parse_hostinfo(out);
        assert_eq!(info.processors_online, Some(8));
        assert_eq!(info.hw_virtualization, Some(true));
        assert_eq!(info.memory_mb, Some(31961));
        assert_eq!(info.os.as_deref(), Some("Linux"));
        assert_eq!(parse_hostinfo("garbage"), HostInfo::default());
    }
}
