//! `VBoxManage list hostinfo`: what VirtualBox says about the host (processors, hardware
//! virtualization, memory, operating system), read by the host checks and to tell a macOS host,
//! where VirtualBox 7 makes host-only networks rather than adapters.

use super::{numbered_lines, yes_no};

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

/// The host's OS from `VBoxManage list hostinfo` (`Operating system: Darwin`): `Linux`,
/// `Darwin`, `Windows 11`, ...
pub fn parse_host_os(stdout: &str) -> Option<String> {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("Operating system:"))
        .map(|v| v.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_os_is_read_from_hostinfo() {
        let text = "Host Information:\n\nMemory size: 16384 MByte\nOperating system: Darwin\nOperating system version: 23.1.0\n";
        assert_eq!(parse_host_os(text).as_deref(), Some("Darwin"));
        assert_eq!(parse_host_os("Host Information:\n"), None);
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
