//! Is this host able to run VirtualBox VMs? Each problem comes with the command that fixes it.
//!
//! On Linux VirtualBox needs three kernel modules: `vboxdrv` (running VMs), `vboxnetadp`
//! (host-only adapters, and `/dev/vboxnetctl`) and `vboxnetflt` (attaching VMs to them). Their
//! absence is the usual reason for "failed to open /dev/vboxnetctl" and for VMs that never
//! start; VirtualBox's own wrapper warns about `vboxdrv` on stdout before the version. Hardware
//! virtualization (VT-x/AMD-V) shows in the CPU flags where the host can tell.

use std::path::Path;

/// One thing wrong with the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostProblem {
    pub what: String,
    pub fix: String,
    /// VMs cannot run at all (as opposed to a warning).
    pub blocking: bool,
}

impl std::fmt::Display for HostProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (fix: {})", self.what, self.fix)
    }
}

/// The modules VirtualBox needs on Linux and what each is for.
const MODULES: &[(&str, &str)] = &[
    ("vboxdrv", "VirtualBox cannot start any VM"),
    (
        "vboxnetadp",
        "host-only adapters cannot be created (no /dev/vboxnetctl)",
    ),
    ("vboxnetflt", "VMs cannot be attached to host-only adapters"),
];

/// Problems visible in `/proc/modules` (its text) and in whether `/dev/vboxnetctl` exists.
pub fn linux_module_problems(proc_modules: &str, vboxnetctl_exists: bool) -> Vec<HostProblem> {
    let loaded: Vec<&str> = proc_modules
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let mut problems: Vec<HostProblem> = MODULES
        .iter()
        .filter(|(m, _)| !loaded.contains(m))
        .map(|(m, why)| HostProblem {
            what: format!("the kernel module {m} is not loaded: {why}"),
            fix: format!("sudo modprobe {m}   (if it is missing: sudo /sbin/vboxconfig, or reinstall VirtualBox's kernel modules package)"),
            blocking: true,
        })
        .collect();
    if !vboxnetctl_exists && loaded.contains(&"vboxnetadp") {
        problems.push(HostProblem {
            what: "/dev/vboxnetctl is missing although vboxnetadp is loaded".into(),
            fix: "sudo rmmod vboxnetadp && sudo modprobe vboxnetadp   (or sudo /sbin/vboxconfig)"
                .into(),
            blocking: true,
        });
    }
    problems
}

/// Problems visible in VirtualBox's device files alone, for kernels that list no modules (no
/// `/proc/modules`: drivers built in): `vboxdrv` makes `/dev/vboxdrv`, `vboxnetadp`
/// `/dev/vboxnetctl`.
pub fn linux_device_problems(vboxdrv_exists: bool, vboxnetctl_exists: bool) -> Vec<HostProblem> {
    let mut problems = Vec::new();
    if !vboxdrv_exists {
        problems.push(HostProblem {
            what: "/dev/vboxdrv is missing: the kernel driver vboxdrv is not there, so VirtualBox cannot start any VM".into(),
            fix: "sudo /sbin/vboxconfig   (or reinstall VirtualBox's kernel modules package)".into(),
            blocking: true,
        });
    }
    if !vboxnetctl_exists {
        problems.push(HostProblem {
            what: "/dev/vboxnetctl is missing: the kernel driver vboxnetadp is not there, so host-only adapters cannot be created".into(),
            fix: "sudo modprobe vboxnetadp   (or sudo /sbin/vboxconfig)".into(),
            blocking: true,
        });
    }
    problems
}

/// The kernel side of VirtualBox on Linux: the modules in `/proc/modules` when the kernel
/// lists them, else the device files they make.
pub fn linux_kernel_problems() -> Vec<HostProblem> {
    let vboxnetctl = Path::new("/dev/vboxnetctl").exists();
    match std::fs::read_to_string("/proc/modules") {
        Ok(modules) => linux_module_problems(&modules, vboxnetctl),
        Err(_) => linux_device_problems(Path::new("/dev/vboxdrv").exists(), vboxnetctl),
    }
}

/// VirtualBox's Linux wrapper prints warnings on stdout before the version line.
pub fn wrapper_warnings(version_stdout: &str) -> Vec<HostProblem> {
    let text = version_stdout;
    let mut problems = Vec::new();
    if text.contains("/dev/vboxdrv does not exist")
        || text.contains("vboxdrv kernel module is not loaded")
    {
        problems.push(HostProblem {
            what: "VirtualBox reports that its kernel driver (vboxdrv) is not loaded".into(),
            fix: "sudo /sbin/vboxconfig   (Debian/Ubuntu: sudo apt install --reinstall virtualbox-dkms linux-headers-$(uname -r))".into(),
            blocking: true,
        });
    }
    problems
}

/// Hardware virtualization from the CPU flags (`vmx` Intel, `svm` AMD); None where the host
/// does not say (no x86 flags line).
pub fn hardware_virtualization(cpuinfo: &str) -> Option<bool> {
    let flags = cpuinfo.lines().find(|l| l.starts_with("flags"))?;
    Some(flags.split_whitespace().any(|f| f == "vmx" || f == "svm"))
}

/// Problems of this host: the wrapper's warnings, and on Linux the modules and the CPU flags.
pub fn check_host(version_stdout: &str) -> Vec<HostProblem> {
    let mut problems = wrapper_warnings(version_stdout);
    if cfg!(target_os = "linux") {
        problems.extend(linux_kernel_problems());
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        if hardware_virtualization(&cpuinfo) == Some(false) {
            problems.push(HostProblem {
                what: "the CPU shows no hardware virtualization (VT-x/AMD-V): 64-bit guests will not start".into(),
                fix: "enable Intel VT-x or AMD-V (SVM) in the firmware (BIOS/UEFI) settings; inside a VM, enable nested virtualization".into(),
                blocking: false,
            });
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOADED: &str = "vboxnetflt 32768 0 - Live 0x0000000000000000 (OE)\nvboxnetadp 28672 0 - Live 0x0000000000000000 (OE)\nvboxdrv 532480 2 vboxnetflt,vboxnetadp, Live 0x0000000000000000 (OE)\next4 1007616 1 - Live 0x0000000000000000\n";

    #[test]
    fn loaded_modules_are_fine() {
        assert!(linux_module_problems(LOADED, true).is_empty());
    }

    #[test]
    fn each_missing_module_names_its_fix() {
        let p = linux_module_problems("ext4 1007616 1 - Live 0x0\n", false);
        assert_eq!(p.len(), 3);
        assert!(p[0].what.contains("vboxdrv") && p[0].fix.starts_with("sudo modprobe vboxdrv"));
        assert!(
            p[1].what.contains("vboxnetadp") && p[1].fix.starts_with("sudo modprobe vboxnetadp")
        );
        assert!(
            p[2].what.contains("vboxnetflt") && p[2].fix.starts_with("sudo modprobe vboxnetflt")
        );
        let p = linux_module_problems(LOADED, false);
        assert_eq!(p.len(), 1);
        assert!(p[0].what.contains("/dev/vboxnetctl"));
    }

    #[test]
    fn without_a_module_list_the_device_files_tell() {
        assert!(linux_device_problems(true, true).is_empty());
        let p = linux_device_problems(false, true);
        assert_eq!(p.len(), 1);
        assert!(p[0].what.contains("/dev/vboxdrv") && p[0].blocking);
        let p = linux_device_problems(true, false);
        assert!(p[0].what.contains("/dev/vboxnetctl") && p[0].fix.contains("vboxnetadp"));
    }

    #[test]
    fn wrapper_warnings_are_read_from_the_version_output() {
        // Real, Debian 5.1.6 (shared samples doc).
        let out = "WARNING: The character device /dev/vboxdrv does not exist.\n   Please install the virtualbox-dkms package and the appropriate\n   headers, most likely linux-headers-amd64.\n\n   You will not be able to start VMs until this problem is fixed.\n5.1.6_Debianr110634\n";
        let p = wrapper_warnings(out);
        assert_eq!(p.len(), 1);
        assert!(p[0].fix.contains("vboxconfig"));
        assert!(wrapper_warnings("7.0.20r163906\n").is_empty());
    }

    #[test]
    fn cpu_flags() {
        assert_eq!(
            hardware_virtualization("processor: 0\nflags\t\t: fpu vme vmx sse\n"),
            Some(true)
        );
        assert_eq!(hardware_virtualization("flags\t\t: fpu svm\n"), Some(true));
        assert_eq!(
            hardware_virtualization("flags\t\t: fpu sse2\n"),
            Some(false)
        );
        assert_eq!(hardware_virtualization("Features\t: fp asimd\n"), None);
    }
}
