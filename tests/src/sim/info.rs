//! `showvminfo`: the machine-readable `key=value` listing, per emulated version, and a short
//! human-readable form.
//!
//! Key order, quoting and the version differences follow real captures (6.1.26, 7.0) and
//! VirtualBox's source for the rest; see `tests/lab/reference/showvminfo.md`.

use super::errors::{Outcome, SimResult, Syntax};
use super::getopt::{ArgsExt, Spec};
use super::state::{Registry, Vm, VmState};
use super::version::SimVersion;
use super::vm::{find_vm, refresh_state};
use super::{Sim, internal};

pub fn showvminfo(sim: &Sim, args: &[String]) -> SimResult {
    let specs = [
        Spec::flag("machinereadable"),
        Spec::flag("details"),
        Spec::value("log"),
        Spec::value("password-id"),
        Spec::value("password"),
    ];
    let parsed = sim.getopt("showvminfo", args, &specs)?;
    let pos = parsed.positionals();
    let [target] = pos[..] else {
        return Err(sim.syntax(
            "showvminfo",
            Syntax::Message("Incorrect number of parameters".into()),
        ));
    };
    let mut reg = sim.registry()?;
    let idx = find_vm(sim, &reg.reg, "showvminfo", target)?;
    let mut vm = reg.reg.vms[idx].clone();
    if refresh_state(&mut vm) {
        reg.reg.vms[idx] = vm.clone();
        reg.save().map_err(|e| internal(&e.to_string()))?;
    }
    if let Some(n) = parsed.value_of("log") {
        let path = vm.folder().join("Logs").join(if n == "0" {
            "VBox.log".to_string()
        } else {
            format!("VBox.log.{n}")
        });
        return std::fs::read_to_string(&path)
            .map(Outcome::ok)
            .map_err(|_| {
                super::errors::plain_error(&[&format!(
                    "Could not open log file '{}' (VERR_FILE_NOT_FOUND)",
                    path.display()
                )])
            });
    }
    if parsed.has("machinereadable") {
        Ok(Outcome::ok(machine_readable(&sim.version, &reg.reg, &vm)))
    } else {
        Ok(Outcome::ok(human(&reg.reg, &vm)))
    }
}

/// Display names of the guest OS types docker-machine-like clients set.
pub fn ostype_description(v: &SimVersion, id: &str) -> String {
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

/// Escapes `"` and `\` as VirtualBox does for its common string properties.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn q(out: &mut String, key: &str, value: &str) {
    out.push_str(&format!("{key}=\"{value}\"\n"));
}

fn n(out: &mut String, key: &str, value: impl std::fmt::Display) {
    out.push_str(&format!("{key}={value}\n"));
}

/// The `--machinereadable` listing.
pub fn machine_readable(v: &SimVersion, reg: &Registry, vm: &Vm) -> String {
    let s = |key: &str, default: &str| vm.setting(key).unwrap_or(default).to_string();
    let v7 = v.major >= 7;
    let v71 = v.at_least(7, 1, 0);
    let v61 = v.at_least(6, 1, 0);
    let v6 = v.major >= 6;
    let running = vm.state.is_active();
    let folder = vm.folder();
    let mut o = String::new();

    q(&mut o, "name", &esc(&vm.name));
    if v71 {
        q(&mut o, "encryption", "disabled");
    } else if v7 {
        o.push_str("Encryption:     disabled\n");
    }
    q(&mut o, "groups", &esc(&s("groups", "/")));
    if v71 {
        q(&mut o, "platformArchitecture", "x86");
    }
    q(
        &mut o,
        "ostype",
        &esc(&ostype_description(v, &s("ostype", "Other"))),
    );
    q(&mut o, "UUID", &vm.uuid);
    q(&mut o, "CfgFile", &esc(&vm.cfg_file.display().to_string()));
    q(
        &mut o,
        "SnapFldr",
        &esc(&folder.join("Snapshots").display().to_string()),
    );
    q(
        &mut o,
        "LogFldr",
        &esc(&folder.join("Logs").display().to_string()),
    );
    q(&mut o, "hardwareuuid", &vm.uuid);
    n(&mut o, "memory", s("memory", "128"));
    q(&mut o, "pagefusion", &s("pagefusion", "off"));
    n(&mut o, "vram", s("vram", "8"));
    n(&mut o, "cpuexecutioncap", s("cpuexecutioncap", "100"));
    if !v71 {
        q(&mut o, "hpet", &s("hpet", "off"));
    }
    q(&mut o, "cpu-profile", &s("cpu-profile", "host"));
    q(&mut o, "chipset", &s("chipset", "piix3"));
    q(&mut o, "firmware", &s("firmware", "BIOS"));
    n(&mut o, "cpus", s("cpus", "1"));
    if v71 {
        q(&mut o, "hpet", &s("hpet", "off"));
    }
    q(&mut o, "pae", &s("pae", "on"));
    q(&mut o, "longmode", &s("longmode", "on"));
    q(&mut o, "triplefaultreset", &s("triplefaultreset", "off"));
    q(&mut o, "apic", &s("apic", "on"));
    q(&mut o, "x2apic", &s("x2apic", "on"));
    if v6 {
        q(&mut o, "nested-hw-virt", &s("nested-hw-virt", "off"));
    }
    n(&mut o, "cpuid-portability-level", 0);
    q(&mut o, "bootmenu", &s("bootmenu", "messageandmenu"));
    q(&mut o, "boot1", &s("boot1", "floppy"));
    q(&mut o, "boot2", &s("boot2", "dvd"));
    q(&mut o, "boot3", &s("boot3", "disk"));
    q(&mut o, "boot4", &s("boot4", "none"));
    q(&mut o, "acpi", &s("acpi", "on"));
    q(&mut o, "ioapic", &s("ioapic", "on"));
    q(&mut o, "biosapic", "apic");
    n(
        &mut o,
        "biossystemtimeoffset",
        s("biossystemtimeoffset", "0"),
    );
    q(&mut o, "rtcuseutc", &s("rtcuseutc", "off"));
    q(&mut o, "hwvirtex", &s("hwvirtex", "on"));
    q(&mut o, "nestedpaging", &s("nestedpaging", "on"));
    q(&mut o, "largepages", &s("largepages", "on"));
    q(&mut o, "vtxvpid", &s("vtxvpid", "on"));
    q(&mut o, "vtxux", &s("vtxux", "on"));
    if v7 {
        q(&mut o, "virtvmsavevmload", "on");
        q(&mut o, "iommu", &s("iommu", "none"));
    }
    q(
        &mut o,
        "paravirtprovider",
        &s("paravirtprovider", "default"),
    );
    q(&mut o, "effparavirtprovider", "kvm");
    q(&mut o, "VMState", vm.state.as_str());
    q(&mut o, "VMStateChangeTime", &vm.state_change_time);
    if v61 {
        q(
            &mut o,
            "graphicscontroller",
            &s("graphicscontroller", "vboxvga"),
        );
    }
    n(&mut o, "monitorcount", s("monitorcount", "1"));
    q(&mut o, "accelerate3d", &s("accelerate3d", "off"));
    q(&mut o, "accelerate2dvideo", &s("accelerate2dvideo", "off"));
    q(&mut o, "teleporterenabled", "off");
    n(&mut o, "teleporterport", 0);
    q(&mut o, "teleporteraddress", "");
    q(&mut o, "teleporterpassword", "");
    q(&mut o, "tracing-enabled", "off");
    q(&mut o, "tracing-allow-vm-access", "off");
    q(&mut o, "tracing-config", "");
    q(&mut o, "autostart-enabled", &s("autostart-enabled", "off"));
    n(&mut o, "autostart-delay", s("autostart-delay", "0"));
    q(&mut o, "defaultfrontend", &s("defaultfrontend", ""));
    if v61 {
        q(&mut o, "vmprocpriority", "default");
    }
    storage(&mut o, v, reg, vm);
    nics(&mut o, v, vm);
    q(&mut o, "hidpointing", &s("hidpointing", "ps2mouse"));
    q(&mut o, "hidkeyboard", &s("hidkeyboard", "ps2kbd"));
    for i in 1..=4 {
        q(&mut o, &format!("uart{i}"), "off");
    }
    q(&mut o, "lpt1", "off");
    q(&mut o, "lpt2", "off");
    q(&mut o, "audio", &s("audio", "none"));
    if v.at_least(5, 2, 0) {
        let (first, second) = if v6 {
            ("audio_out", "audio_in")
        } else {
            ("audio_in", "audio_out")
        };
        q(&mut o, first, &s(first, if v6 { "on" } else { "true" }));
        q(&mut o, second, &s(second, if v6 { "off" } else { "false" }));
    }
    q(&mut o, "clipboard", &s("clipboard", "disabled"));
    q(&mut o, "draganddrop", &s("draganddrop", "disabled"));
    if running {
        q(&mut o, "SessionName", "headless");
        o.push_str("VideoMode=\"720,400,0\"@0,0 1\n");
    }
    q(&mut o, "vrde", &s("vrde", "off"));
    q(&mut o, "usb", &s("usb", "off"));
    q(&mut o, "ehci", &s("ehci", "off"));
    q(&mut o, "xhci", &s("xhci", "off"));
    for (i, sf) in vm.shared_folders.iter().enumerate() {
        let kind = if sf.transient {
            "TransientMapping"
        } else {
            "MachineMapping"
        };
        q(
            &mut o,
            &format!("SharedFolderName{kind}{}", i + 1),
            &sf.name,
        );
        // Shared folder paths are printed raw before 7.0.
        let path = if v7 {
            esc(&sf.host_path)
        } else {
            sf.host_path.clone()
        };
        q(&mut o, &format!("SharedFolderPath{kind}{}", i + 1), &path);
    }
    if running {
        q(&mut o, "VRDEActiveConnection", "off");
        o.push_str(if v6 {
            "VRDEClients==0\n"
        } else {
            "VRDEClients=0\n"
        });
    }
    recording(&mut o, v, vm);
    if let Some(d) = vm.setting("description") {
        q(&mut o, "description", &esc(d));
    }
    n(&mut o, "GuestMemoryBalloon", 0);
    if running
        && vm
            .guest_properties
            .contains_key("/VirtualBox/GuestAdd/Version")
    {
        q(&mut o, "GuestOSType", &s("ostype", "Other"));
        n(&mut o, "GuestAdditionsRunLevel", 2);
        let ga = vm
            .guest_properties
            .get("/VirtualBox/GuestAdd/Version")
            .map(|p| p.value.clone())
            .unwrap_or_default();
        let rev = vm
            .guest_properties
            .get("/VirtualBox/GuestAdd/Revision")
            .map(|p| p.value.clone())
            .unwrap_or_default();
        q(&mut o, "GuestAdditionsVersion", &format!("{ga} r{rev}"));
    }
    o
}

fn storage(o: &mut String, v: &SimVersion, reg: &Registry, vm: &Vm) {
    let v7 = v.major >= 7;
    let hot = v.at_least(6, 1, 36);
    for (i, c) in vm.controllers.iter().enumerate() {
        q(o, &format!("storagecontrollername{i}"), &c.name);
        q(o, &format!("storagecontrollertype{i}"), &c.controller_type);
        q(o, &format!("storagecontrollerinstance{i}"), "0");
        q(
            o,
            &format!("storagecontrollermaxportcount{i}"),
            &c.max_port_count.to_string(),
        );
        q(
            o,
            &format!("storagecontrollerportcount{i}"),
            &c.port_count.to_string(),
        );
        q(
            o,
            &format!("storagecontrollerbootable{i}"),
            if c.bootable { "on" } else { "off" },
        );
    }
    for c in &vm.controllers {
        let devices = if c.bus == "ide" { 2 } else { 1 };
        for port in 0..c.port_count {
            for device in 0..devices {
                let key = format!("\"{}-{port}-{device}\"", c.name);
                let Some(a) = c
                    .attachments
                    .iter()
                    .find(|a| a.port == port && a.device == device)
                else {
                    o.push_str(&format!("{key}=\"none\"\n"));
                    continue;
                };
                let medium = a.medium.as_ref().and_then(|u| reg.medium(u));
                match medium {
                    Some(m) => {
                        let loc = m.location.display().to_string();
                        let loc = if v7 { esc(&loc) } else { loc };
                        o.push_str(&format!("{key}=\"{loc}\"\n"));
                        o.push_str(&format!(
                            "\"{}-ImageUUID-{port}-{device}\"=\"{}\"\n",
                            c.name, m.uuid
                        ));
                    }
                    None => o.push_str(&format!("{key}=\"emptydrive\"\n")),
                }
                let sfx = if v7 {
                    format!("-{port}-{device}")
                } else {
                    String::new()
                };
                if a.kind == "dvddrive" {
                    o.push_str(&format!("\"{}-tempeject{sfx}\"=\"off\"\n", c.name));
                    o.push_str(&format!("\"{}-IsEjected{sfx}\"=\"off\"\n", c.name));
                } else if hot && medium.is_some() {
                    o.push_str(&format!(
                        "\"{}-hot-pluggable-{port}-{device}\"=\"off\"\n",
                        c.name
                    ));
                    o.push_str(&format!(
                        "\"{}-nonrotational-{port}-{device}\"=\"off\"\n",
                        c.name
                    ));
                    o.push_str(&format!("\"{}-discard-{port}-{device}\"=\"off\"\n", c.name));
                }
            }
        }
    }
}

fn nics(o: &mut String, _v: &SimVersion, vm: &Vm) {
    for (i, nic) in vm.nics.iter().enumerate() {
        let k = i + 1;
        match nic.attachment.as_str() {
            "none" => {
                q(o, &format!("nic{k}"), "none");
                continue;
            }
            "nat" => q(
                o,
                &format!("natnet{k}"),
                nic.nat_settings
                    .get("natnet")
                    .map(String::as_str)
                    .unwrap_or("nat"),
            ),
            "hostonly" => q(o, &format!("hostonlyadapter{k}"), &nic.hostonly_adapter),
            "bridged" => q(o, &format!("bridgeadapter{k}"), &nic.bridge_adapter),
            "intnet" => q(o, &format!("intnet{k}"), &nic.intnet),
            _ => {}
        }
        q(o, &format!("macaddress{k}"), &nic.mac);
        q(
            o,
            &format!("cableconnected{k}"),
            if nic.cable_connected { "on" } else { "off" },
        );
        q(o, &format!("nic{k}"), &nic.attachment);
        q(o, &format!("nictype{k}"), &nic.nictype);
        q(o, &format!("nicspeed{k}"), &nic.speed.to_string());
        if nic.attachment == "nat" {
            q(o, "mtu", "0");
            q(o, "sockSnd", "64");
            q(o, "sockRcv", "64");
            q(o, "tcpWndSnd", "64");
            q(o, "tcpWndRcv", "64");
            for (j, rule) in nic.forwarding.iter().enumerate() {
                q(o, &format!("Forwarding({j})"), rule);
            }
        }
    }
}

fn recording(o: &mut String, v: &SimVersion, vm: &Vm) {
    let base = vm.folder().join(&vm.name);
    if v.at_least(6, 1, 36) {
        q(o, "recording_enabled", "off");
        n(o, "recording_screens", 1);
        o.push_str(" rec_screen0\n");
        q(o, "rec_screen_enabled", "on");
        n(o, "rec_screen_id", 0);
        q(o, "rec_screen_video_enabled", "on");
        q(o, "rec_screen_dest", "File");
        q(
            o,
            "rec_screen_dest_filename",
            &format!("{}-screen0.webm", base.display()),
        );
        q(
            o,
            "rec_screen_opts",
            "vc_enabled=true,ac_enabled=false,ac_profile=med",
        );
        q(o, "rec_screen_video_res_xy", "1024x768");
        n(o, "rec_screen_video_rate_kbps", 512);
        n(o, "rec_screen_video_fps", 25);
    } else if v.major >= 6 {
        q(o, "videocap", "off");
        q(o, "videocapaudio", "off");
        q(o, "capturescreens", "");
        q(o, "capturefilename", &format!("{}.webm", base.display()));
        q(o, "captureres", "1024x768");
        n(o, "capturevideorate", 512);
        n(o, "capturevideofps", 25);
        q(o, "captureopts", "");
    } else {
        q(o, "videocap", "off");
        q(o, "videocap_audio", "off");
        n(o, "videocapscreens", 0);
        q(o, "videocapfile", &format!("{}.webm", base.display()));
        o.push_str("videocapres=1024x768\n");
        o.push_str("videocaprate=512\n");
        o.push_str("videocapfps=25\n");
        o.push_str("videocapopts=\n");
    }
}

/// The default (human) listing, reduced to what people look at.
fn human(reg: &Registry, vm: &Vm) -> String {
    let state = match vm.state {
        VmState::Running => "running",
        VmState::Paused => "paused",
        VmState::Poweroff => "powered off",
        VmState::Aborted => "aborted",
        VmState::Saved => "saved",
    };
    let mut s = String::new();
    s += &format!("Name:                        {}\n", vm.name);
    s += &format!(
        "Groups:                      {}\n",
        vm.setting("groups").unwrap_or("/")
    );
    s += &format!("UUID:                        {}\n", vm.uuid);
    s += &format!("Config file:                 {}\n", vm.cfg_file.display());
    s += &format!(
        "Memory size:                 {}MB\n",
        vm.setting("memory").unwrap_or("128")
    );
    s += &format!(
        "Number of CPUs:              {}\n",
        vm.setting("cpus").unwrap_or("1")
    );
    s += &format!(
        "State:                       {state} (since {})\n",
        vm.state_change_time
    );
    for c in &vm.controllers {
        for a in &c.attachments {
            let loc = a
                .medium
                .as_ref()
                .and_then(|u| reg.medium(u))
                .map(|m| format!("{} (UUID: {})", m.location.display(), m.uuid))
                .unwrap_or_else(|| "Empty".into());
            s += &format!("{} ({}, {}): {loc}\n", c.name, a.port, a.device);
        }
    }
    for (i, nic) in vm.nics.iter().enumerate() {
        if nic.attachment == "none" {
            continue;
        }
        s += &format!(
            "NIC {}:                       MAC: {}, Attachment: {}\n",
            i + 1,
            nic.mac,
            nic.attachment
        );
    }
    s
}
