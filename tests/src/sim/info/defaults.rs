//! The values `showvminfo` shows that depend on more than the VM's settings: the emulated build
//! (which keys it prints), the host (the audio driver a new VM gets) and the guest OS type (its
//! display name, its effective paravirtualisation provider).

use std::path::Path;
use std::sync::OnceLock;

use crate::sim::version::SimVersion;

/// Display names of the guest OS types docker-machine-like clients set.
pub fn ostype_description(v: &SimVersion, id: &str) -> String {
    // The `/ 5.x` Linux 2.6 names are those of 7.0.14 and 7.1 (`Global.cpp`); whether
    // 7.0.0-7.0.12 already had them is unknown, so all of 7.x uses the 7.0.14 names.
    let linux26 = if v.major >= 7 {
        "Linux 2.6 / 3.x / 4.x / 5.x (64-bit)"
    } else {
        "Linux 2.6 / 3.x / 4.x (64-bit)"
    };
    let linux26_32 = if v.major >= 7 {
        "Linux 2.6 / 3.x / 4.x / 5.x (32-bit)"
    } else {
        "Linux 2.6 / 3.x / 4.x (32-bit)"
    };
    match id {
        "Linux26_64" => linux26.into(),
        "Linux26" => linux26_32.into(),
        "Linux_64" => "Other Linux (64-bit)".into(),
        "Linux" => "Other Linux (32-bit)".into(),
        "Ubuntu_64" => "Ubuntu (64-bit)".into(),
        "Debian_64" => "Debian (64-bit)".into(),
        "ArchLinux_64" => "Arch Linux (64-bit)".into(),
        "Other" | "" => "Other/Unknown".into(),
        "Other_64" => "Other/Unknown (64-bit)".into(),
        other => other.into(),
    }
}

/// Whether `graphicscontroller=` is printed. 6.1 always; 5.2.36 and 6.0.24 print it, early-2019
/// 5.2/6.0 builds did not. The first builds are unknown: the July 2019 releases 5.2.32 and 6.0.10
/// are the chosen thresholds.
pub(super) fn prints_graphicscontroller(v: &SimVersion) -> bool {
    v.at_least(6, 1, 0)
        || (v.major == 6 && v.minor == 0 && v.build >= 10)
        || (v.major == 5 && v.minor == 2 && v.build >= 32)
}

/// Builds with audio recording (`VBOX_WITH_AUDIO_RECORDING`) print `videocap_audio`,
/// `videocapaudio` and `rec_screen_audio_enabled`. Oracle's builds have it; the one distribution
/// build seen (7.0, Linux) lacks it, so versions with a distribution suffix go without.
pub(super) fn audio_recording_build(v: &SimVersion) -> bool {
    v.suffix.is_none()
}

/// Guest OS types whose `default` paravirtualisation provider resolves to Hyper-V.
const HYPERV_GUESTS: &[&str] = &[
    "Windows10",
    "Windows10_64",
    "Windows81",
    "Windows81_64",
    "Windows8",
    "Windows8_64",
    "Windows7",
    "Windows7_64",
    "WindowsVista",
    "WindowsVista_64",
    "Windows2012",
    "Windows2012_64",
    "Windows2008",
    "Windows2008_64",
];

/// Guest OS types whose `default` paravirtualisation provider resolves to KVM.
const KVM_GUESTS: &[&str] = &[
    "Linux26",
    "Linux26_64",
    "Linux",
    "Linux_64",
    "ArchLinux",
    "ArchLinux_64",
    "Debian",
    "Debian_64",
    "Fedora",
    "Fedora_64",
    "Gentoo",
    "Gentoo_64",
    "Mandriva",
    "Mandriva_64",
    "OpenSUSE",
    "OpenSUSE_64",
    "Oracle",
    "Oracle_64",
    "RedHat",
    "RedHat_64",
    "Turbolinux",
    "Turbolinux_64",
    "Ubuntu",
    "Ubuntu_64",
    "Xandros",
    "Xandros_64",
];

/// `effparavirtprovider`: `default` and `legacy` resolved by guest OS type, as
/// `Machine::getEffectiveParavirtProvider` does (a VM without OS type is `Other` → `none`).
pub(super) fn effective_paravirt_provider(provider: &str, ostype: &str) -> &'static str {
    let mac = ostype.starts_with("MacOS");
    match provider {
        "none" => "none",
        "minimal" => "minimal",
        "hyperv" => "hyperv",
        "kvm" => "kvm",
        "legacy" if mac => "minimal",
        "legacy" => "none",
        _ if mac => "minimal",
        _ if HYPERV_GUESTS.contains(&ostype) => "hyperv",
        _ if KVM_GUESTS.contains(&ostype) => "kvm",
        _ => "none",
    }
}

/// The driver 5.2-6.1 give a new VM's audio adapter on a Linux host: PulseAudio when its daemon
/// runs and libpulse loads, else ALSA when libasound loads, else OSS.
pub(super) fn host_audio_driver() -> &'static str {
    static DRIVER: OnceLock<&'static str> = OnceLock::new();
    DRIVER.get_or_init(|| {
        if process_running("pulseaudio") && library_loadable("libpulse.so.0") {
            "pulse"
        } else if library_loadable("libasound.so.2") {
            "alsa"
        } else {
            "oss"
        }
    })
}

fn process_running(name: &str) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.flatten()
        .any(|e| std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim_end() == name))
}

fn library_loadable(lib: &str) -> bool {
    let from_env = std::env::var("LD_LIBRARY_PATH").unwrap_or_default();
    let standard = [
        "/lib",
        "/usr/lib",
        "/lib64",
        "/usr/lib64",
        "/usr/local/lib",
        "/lib/x86_64-linux-gnu",
        "/usr/lib/x86_64-linux-gnu",
        "/lib/aarch64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
    ];
    from_env
        .split(':')
        .filter(|d| !d.is_empty())
        .chain(standard)
        .any(|d| Path::new(d).join(lib).exists())
}
