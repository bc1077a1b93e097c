//! `modifyvm`: the option table (plain, per-adapter and VirtualBox 7's dashed spellings), the
//! setters' range checks and error lines by version, and NAT port-forwarding rules.

use super::{current_vm, locked_for_session};
use crate::sim::errors::{
    Context, NS_ERROR_INVALID_ARG, Outcome, SimResult, Syntax, VBoxError, argument_error,
    code_error, com_error, plain_error,
};
use crate::sim::getopt::{Arg, ArgsExt, Spec};
use crate::sim::state::{ForwardRule, Nic, Registry, Vm};
use crate::sim::version::SimVersion;
use crate::sim::{Sim, internal, random_mac};

/// How a `modifyvm` option is stored: the showvminfo key it sets and how its value reads.
#[derive(Clone, Copy)]
enum Kind {
    /// `on`/`off`, stored as given.
    OnOff,
    /// A number.
    Int,
    /// Free text.
    Text,
    /// One of the listed words (case-insensitive), stored as the second element.
    Choice(&'static [(&'static str, &'static str)]),
}

/// Plain `modifyvm` options: (option, showvminfo key, kind).
const PLAIN_OPTIONS: &[(&str, &str, Kind)] = &[
    ("ostype", "ostype", Kind::Text),
    ("memory", "memory", Kind::Int),
    ("pagefusion", "pagefusion", Kind::OnOff),
    ("vram", "vram", Kind::Int),
    ("cpus", "cpus", Kind::Int),
    ("cpuexecutioncap", "cpuexecutioncap", Kind::Int),
    ("cpuhotplug", "cpuhotplug", Kind::OnOff),
    ("cpu-profile", "cpu-profile", Kind::Text),
    ("acpi", "acpi", Kind::OnOff),
    ("ioapic", "ioapic", Kind::OnOff),
    ("hpet", "hpet", Kind::OnOff),
    ("triplefaultreset", "triplefaultreset", Kind::OnOff),
    ("apic", "apic", Kind::OnOff),
    ("x2apic", "x2apic", Kind::OnOff),
    ("paravirtprovider", "paravirtprovider", Kind::Text),
    ("hwvirtex", "hwvirtex", Kind::OnOff),
    ("nestedpaging", "nestedpaging", Kind::OnOff),
    ("largepages", "largepages", Kind::OnOff),
    ("vtxvpid", "vtxvpid", Kind::OnOff),
    ("vtxux", "vtxux", Kind::OnOff),
    ("nested-hw-virt", "nested-hw-virt", Kind::OnOff),
    ("pae", "pae", Kind::OnOff),
    ("longmode", "longmode", Kind::OnOff),
    ("accelerate3d", "accelerate3d", Kind::OnOff),
    ("accelerate2dvideo", "accelerate2dvideo", Kind::OnOff),
    ("rtcuseutc", "rtcuseutc", Kind::OnOff),
    ("biossystemtimeoffset", "biossystemtimeoffset", Kind::Int),
    ("bioslogofadein", "bioslogofadein", Kind::OnOff),
    ("bioslogofadeout", "bioslogofadeout", Kind::OnOff),
    ("bioslogodisplaytime", "bioslogodisplaytime", Kind::Int),
    (
        "biosbootmenu",
        "bootmenu",
        Kind::Choice(&[
            ("disabled", "disabled"),
            ("menuonly", "menuonly"),
            ("messageandmenu", "messageandmenu"),
        ]),
    ),
    (
        "firmware",
        "firmware",
        Kind::Choice(&[
            ("bios", "BIOS"),
            ("efi", "EFI"),
            ("efi32", "EFI32"),
            ("efi64", "EFI64"),
        ]),
    ),
    (
        "chipset",
        "chipset",
        Kind::Choice(&[("piix3", "piix3"), ("ich9", "ich9")]),
    ),
    (
        "graphicscontroller",
        "graphicscontroller",
        Kind::Choice(&[
            ("none", "none"),
            ("vboxvga", "vboxvga"),
            ("vmsvga", "vmsvga"),
            ("vboxsvga", "vboxsvga"),
        ]),
    ),
    ("monitorcount", "monitorcount", Kind::Int),
    ("description", "description", Kind::Text),
    ("usb", "usb", Kind::OnOff),
    ("usbehci", "ehci", Kind::OnOff),
    ("usbxhci", "xhci", Kind::OnOff),
    ("audio", "audio", Kind::Text),
    ("audiocontroller", "audiocontroller", Kind::Text),
    ("audio-enabled", "audio-enabled", Kind::OnOff),
    ("audioout", "audio_out", Kind::OnOff),
    ("audioin", "audio_in", Kind::OnOff),
    ("clipboard", "clipboard", Kind::Text),
    ("clipboard-mode", "clipboard", Kind::Text),
    ("draganddrop", "draganddrop", Kind::Text),
    ("vrde", "vrde", Kind::OnOff),
    ("mouse", "hidpointing", Kind::Text),
    ("keyboard", "hidkeyboard", Kind::Text),
    ("autostart-enabled", "autostart-enabled", Kind::OnOff),
    ("autostart-delay", "autostart-delay", Kind::Int),
    ("defaultfrontend", "defaultfrontend", Kind::Text),
    ("iommu", "iommu", Kind::Text),
    ("uart1", "uart1", Kind::Text),
    ("uartmode1", "uartmode1", Kind::Text),
    ("uart2", "uart2", Kind::Text),
    ("uartmode2", "uartmode2", Kind::Text),
];

/// Per-adapter and other `modifyvm` options with an index: the option parser takes any adapter
/// number (the chipset's limit is checked per option, as parseNum does); boot slots are 1-4.
const INDEXED: &[(&str, u32)] = &[
    ("nic", 99),
    ("nictype", 99),
    ("cableconnected", 99),
    ("nicpromisc", 99),
    ("nicspeed", 99),
    ("nicbootprio", 99),
    ("hostonlyadapter", 99),
    ("hostonly-adapter", 99),
    ("bridgeadapter", 99),
    ("bridge-adapter", 99),
    ("intnet", 99),
    ("macaddress", 99),
    ("mac-address", 99),
    ("natpf", 99),
    ("natnet", 99),
    ("natdnshostresolver", 99),
    ("natdnsproxy", 99),
    ("natdnspassdomain", 99),
    ("nataliasmode", 99),
    ("natsettings", 99),
    ("nicgenericdrv", 99),
    ("boot", 4),
];

/// VirtualBox 7's dashed spellings of per-adapter options, beside the old ones: (new, old).
const DASHED_INDEXED_7: &[(&str, &str)] = &[
    ("host-only-adapter", "hostonlyadapter"),
    ("nic-type", "nictype"),
    ("cable-connected", "cableconnected"),
    ("nic-promisc", "nicpromisc"),
    ("nic-speed", "nicspeed"),
    ("nic-boot-prio", "nicbootprio"),
    ("nic-generic-drv", "nicgenericdrv"),
    ("nat-pf", "natpf"),
    ("nat-net", "natnet"),
    ("nat-dns-host-resolver", "natdnshostresolver"),
    ("nat-dns-proxy", "natdnsproxy"),
    ("nat-dns-pass-domain", "natdnspassdomain"),
    ("nat-alias-mode", "nataliasmode"),
    ("nat-settings", "natsettings"),
    ("nat-localhostreachable", "natlocalhostreachable"),
];

/// Per-adapter options only builds with vmnet (VirtualBox 7 on macOS) know.
const VMNET_INDEXED: &[&str] = &["host-only-net", "hostonlynet"];

fn modifyvm_specs(sim: &Sim) -> Vec<Spec> {
    let v = &sim.version;
    let mut specs: Vec<Spec> = PLAIN_OPTIONS
        .iter()
        .map(|(o, _, _)| Spec::value(o))
        .collect();
    specs.push(Spec::value("name"));
    specs.push(Spec::value("groups"));
    specs.extend(INDEXED.iter().map(|(o, n)| Spec::indexed(o, *n)));
    if v.major >= 7 {
        specs.extend(DASHED_INDEXED_7.iter().map(|(o, _)| Spec::indexed(o, 99)));
    }
    if sim.vmnet() {
        specs.extend(VMNET_INDEXED.iter().map(|o| Spec::indexed(o, 99)));
    }
    specs
}

/// The old spelling of an option VirtualBox 7 also takes dashed.
fn legacy_name(name: &str) -> &str {
    DASHED_INDEXED_7
        .iter()
        .find(|(new, _)| *new == name)
        .map_or(name, |(_, old)| old)
}

/// Where VBoxManageModifyVM.cpp raises what modifyvm reports, by version: official builds name
/// the last line of a multi-line CHECK_ERROR call. Read from VirtualBox's sources (5.2.18-5.2.24,
/// 6.0.8-6.0.14, 6.1.0-6.1.40, 7.0.0-7.0.10); later builds of a series take its newest known row.
#[derive(Clone, Copy)]
pub(super) struct ModifyVmLines {
    pub(super) find: u32,
    lock: u32,
    memory: u32,
    cpus: u32,
    vram: u32,
    monitors: u32,
}

pub(super) fn modifyvm_lines(v: &SimVersion) -> ModifyVmLines {
    let row = |find, lock, memory, cpus, vram, monitors| ModifyVmLines {
        find,
        lock,
        memory,
        cpus,
        vram,
        monitors,
    };
    match (v.major, v.minor, v.build) {
        (5, _, _) => row(522, 529, 621, 827, 633, 892),
        (6, 0, _) => row(524, 531, 612, 830, 624, 898),
        (6, 1, b) if b < 4 => row(546, 553, 637, 855, 649, 923),
        (6, 1, b) if b < 38 => row(547, 554, 638, 856, 650, 924),
        (6, 1, _) => row(568, 575, 659, 877, 671, 945),
        (7, 0, b) if b < 6 => row(630, 637, 721, 943, 733, 1011),
        (7, 0, 6) => row(634, 641, 725, 947, 737, 1015),
        _ => row(633, 640, 724, 946, 736, 1014),
    }
}

/// The most network adapters a chipset has (ISystemProperties::GetMaxNetworkAdapters).
fn max_nics(vm: &Vm) -> u32 {
    if vm.setting("chipset") == Some("ich9") {
        36
    } else {
        8
    }
}

pub fn modifyvm(sim: &Sim, args: &[String]) -> SimResult {
    let specs = modifyvm_specs(sim);
    let Some(target) = args.first() else {
        return Err(sim.syntax("modifyvm", Syntax::Message("Not enough parameters".into())));
    };
    // VirtualBox finds the machine and takes its write lock before it reads a single option, so
    // an unknown or running VM is reported first, whatever the options say.
    let mut reg = sim.registry()?;
    let (idx, mut vm) = current_vm(sim, &reg.reg, "modifyvm", target)?;
    if vm.session_held() {
        return Err(locked_for_session(
            &vm.name,
            modifyvm_lines(&sim.version).lock,
            "VBoxManageModifyVM.cpp",
        ));
    }
    // Option errors set rc = E_FAIL after errorGetOpt prints the usage: exit 1, not 2.
    let as_failure = |mut e: VBoxError| {
        e.code = 1;
        e
    };
    let parsed = sim
        .getopt("modifyvm", &join_natpf_delete(&args[1..]), &specs)
        .map_err(as_failure)?;
    if let Some(p) = parsed.positionals().first() {
        return Err(as_failure(
            sim.syntax("modifyvm", Syntax::InvalidParameter(p.to_string())),
        ));
    }
    // Errors that only print (a NIC number out of range) let the command go on and succeed.
    let mut printed = String::new();
    for arg in &parsed {
        let Arg::Opt { name, index, value } = arg else {
            continue;
        };
        let value = value.clone().unwrap_or_default();
        let name = legacy_name(name);
        if let Err(mut e) = apply_modify(sim, &reg.reg, &mut vm, name, *index, &value, &mut printed)
        {
            // The first failing setter ends the loop; nothing of this call is saved.
            e.stderr = printed + &e.stderr;
            return Err(e);
        }
    }
    reg.reg.vms[idx] = vm;
    reg.save().map_err(|e| internal(&e.to_string()))?;
    Ok(Outcome::default().with_stderr(printed))
}

/// `errorArgument` inside modifyvm's loop: one line, then rc = E_FAIL (exit 1).
fn invalid_value(_sim: &Sim, opt: &str, index: u32, value: &str) -> VBoxError {
    let msg = match opt {
        "nic" => format!("Invalid type '{value}' specfied for NIC {index}"),
        "nictype" => format!("Invalid NIC type '{value}' specified for NIC {index}"),
        "natpf" => format!("Invalid proto '{value}' specfied for NIC {index}"),
        _ if index > 0 => format!("Invalid --{opt}{index} argument '{value}'"),
        _ => format!("Invalid --{opt} argument '{value}'"),
    };
    plain_error(&[&msg])
}

/// A setter's range check (Machine::setCPUCount, setMemorySize, GraphicsAdapter::setVRAMSize):
/// E_INVALIDARG with VirtualBox's text, raised by the session machine or the graphics adapter.
fn out_of_range(
    sim: &Sim,
    msg: String,
    graphics: bool,
    call: &'static str,
    line: u32,
) -> VBoxError {
    let on_adapter = graphics && sim.version.at_least(6, 1, 0);
    com_error(
        &msg,
        NS_ERROR_INVALID_ARG,
        if on_adapter {
            "GraphicsAdapterWrap"
        } else {
            "SessionMachine"
        },
        if on_adapter {
            "IGraphicsAdapter"
        } else {
            "IMachine"
        },
        true,
        Context {
            call,
            file: "VBoxManageModifyVM.cpp",
            line,
        },
    )
}

/// The limits VirtualBox's setters check (VirtualBox-settings.xsd, param.h).
fn check_range(sim: &Sim, opt: &str, n: u64) -> SimResult<()> {
    let lines = modifyvm_lines(&sim.version);
    let max_cpus = if sim.version.major >= 7 { 64 } else { 32 };
    // (lowest, highest, message, raised by the graphics adapter, call, line)
    let (low, high, msg, graphics, call, line) = match opt {
        "cpus" => (
            1,
            max_cpus,
            format!("Invalid virtual CPU count: {n} (must be in range [1, {max_cpus}])"),
            false,
            "COMSETTER(CPUCount)(ValueUnion.u32)",
            lines.cpus,
        ),
        "memory" => (
            4,
            2_097_152,
            format!("Invalid RAM size: {n} MB (must be in range [4, 2097152] MB)"),
            false,
            "COMSETTER(MemorySize)(ValueUnion.u32)",
            lines.memory,
        ),
        "vram" => (
            0,
            256,
            format!("Invalid VRAM size: {n} MB (must be in range [0, 256] MB)"),
            true,
            "COMSETTER(VRAMSize)(ValueUnion.u32)",
            lines.vram,
        ),
        "monitorcount" => (
            1,
            64,
            format!("Invalid monitor count: {n} (must be in range [1, 64])"),
            true,
            "COMSETTER(MonitorCount)(ValueUnion.u32)",
            lines.monitors,
        ),
        _ => return Ok(()),
    };
    if (low..=high).contains(&n) {
        Ok(())
    } else {
        Err(out_of_range(sim, msg, graphics, call, line))
    }
}

fn on_off(sim: &Sim, opt: &str, index: u32, value: &str) -> SimResult<bool> {
    match value.to_ascii_lowercase().as_str() {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(invalid_value(sim, opt, index, value)),
    }
}

fn apply_modify(
    sim: &Sim,
    reg: &Registry,
    vm: &mut Vm,
    opt: &str,
    index: u32,
    value: &str,
    printed: &mut String,
) -> SimResult<()> {
    if let Some((_, key, kind)) = PLAIN_OPTIONS.iter().find(|(o, _, _)| *o == opt) {
        let stored = match kind {
            Kind::OnOff => {
                on_off(sim, opt, 0, value)?;
                value.to_ascii_lowercase()
            }
            Kind::Int => {
                let n = value
                    .parse::<u64>()
                    .map_err(|_| invalid_value(sim, opt, 0, value))?;
                check_range(sim, opt, n)?;
                n.to_string()
            }
            Kind::Text => value.to_string(),
            Kind::Choice(choices) => choices
                .iter()
                .find(|(w, _)| w.eq_ignore_ascii_case(value))
                .map(|(_, s)| s.to_string())
                .ok_or_else(|| invalid_value(sim, opt, 0, value))?,
        };
        vm.settings.insert(key.to_string(), stored);
        return Ok(());
    }
    // parseNum: an adapter number the chipset does not have is printed and skipped, and the
    // command carries on (its rc is never set, so it may still exit 0).
    let per_nic = (INDEXED.iter().any(|(o, _)| *o == opt) && opt != "boot")
        || opt == "natlocalhostreachable"
        || VMNET_INDEXED.contains(&opt);
    if per_nic && index > max_nics(vm) {
        printed.push_str(&format!("VBoxManage: error: Invalid NIC number {index}\n"));
        return Ok(());
    }
    let n = index as usize;
    while per_nic && vm.nics.len() < n {
        vm.nics.push(Nic::new(random_mac()));
    }
    match opt {
        "name" => {
            if reg.vms.iter().any(|v| v.name == value && v.uuid != vm.uuid) {
                return Err(plain_error(&[&format!(
                    "Could not rename the machine: a machine named '{value}' already exists"
                )]));
            }
            vm.name = value.to_string();
        }
        "groups" => {
            vm.settings.insert("groups".into(), value.to_string());
        }
        "boot" => {
            let dev = value.to_ascii_lowercase();
            if !["none", "floppy", "dvd", "disk", "net"].contains(&dev.as_str()) {
                // The one `return errorArgument(...)` in the loop: exit 2.
                return Err(argument_error(&format!("Invalid boot device '{value}'")));
            }
            vm.settings.insert(format!("boot{index}"), dev);
        }
        "nic" => {
            let a = value.to_ascii_lowercase();
            let known = [
                "none",
                "null",
                "nat",
                "bridged",
                "intnet",
                "hostonly",
                "generic",
                "natnetwork",
                "hostonlynet",
            ];
            if !known.contains(&a.as_str()) || (a == "hostonlynet" && !sim.vmnet()) {
                return Err(invalid_value(sim, opt, index, value));
            }
            vm.nic_mut(n).attachment = a;
        }
        "nictype" => {
            let known = [
                "Am79C970A",
                "Am79C973",
                "Am79C960",
                "82540EM",
                "82543GC",
                "82545EM",
                "virtio",
                "usbnet",
            ];
            let Some(t) = known.iter().find(|k| k.eq_ignore_ascii_case(value)) else {
                return Err(invalid_value(sim, opt, index, value));
            };
            vm.nic_mut(n).nictype = t.to_string();
        }
        "cableconnected" => vm.nic_mut(n).cable_connected = on_off(sim, opt, index, value)?,
        "nicpromisc" => {
            let p = value.to_ascii_lowercase();
            if !["deny", "allow-vms", "allow-all"].contains(&p.as_str()) {
                return Err(invalid_value(sim, opt, index, value));
            }
            vm.nic_mut(n).promisc = p;
        }
        "nicspeed" => {
            vm.nic_mut(n).speed = value
                .parse()
                .map_err(|_| invalid_value(sim, opt, index, value))?
        }
        "nicbootprio" | "nicgenericdrv" => {}
        "hostonlyadapter" | "hostonly-adapter" => {
            vm.nic_mut(n).hostonly_adapter = value.to_string()
        }
        // Not checked until the VM starts, as VirtualBox does.
        "host-only-net" | "hostonlynet" => vm.nic_mut(n).hostonly_network = value.to_string(),
        "bridgeadapter" | "bridge-adapter" => vm.nic_mut(n).bridge_adapter = value.to_string(),
        "intnet" => vm.nic_mut(n).intnet = value.to_string(),
        "macaddress" | "mac-address" => {
            let mac = if value.eq_ignore_ascii_case("auto") {
                random_mac()
            } else {
                let m = value.to_ascii_uppercase();
                if m.len() != 12 || !m.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(invalid_value(sim, opt, index, value));
                }
                m
            };
            vm.nic_mut(n).mac = mac;
        }
        "natpf" => modify_natpf(sim, vm, n, value)?,
        "natnet"
        | "natdnshostresolver"
        | "natdnsproxy"
        | "natdnspassdomain"
        | "nataliasmode"
        | "natsettings"
        | "natlocalhostreachable" => {
            if opt.starts_with("natdns") || opt == "natlocalhostreachable" {
                on_off(sim, opt, index, value)?;
            }
            vm.nic_mut(n)
                .nat_settings
                .insert(opt.to_string(), value.to_string());
        }
        _ => return Err(sim.syntax("modifyvm", Syntax::UnknownOption(format!("--{opt}")))),
    }
    Ok(())
}

/// `--natpfN delete NAME` takes two arguments: VBoxManage fetches the rule name itself. They are
/// joined into the option's value, `delete NAME`.
fn join_natpf_delete(args: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        let bare = a.trim_start_matches('-');
        let is_natpf =
            (bare.starts_with("natpf") || bare.starts_with("nat-pf")) && a.starts_with('-');
        if is_natpf && args.get(i + 1).map(String::as_str) == Some("delete") && i + 2 < args.len() {
            out.push(a.clone());
            out.push(format!("delete {}", args[i + 2]));
            i += 3;
        } else {
            out.push(a.clone());
            i += 1;
        }
    }
    out
}

fn modify_natpf(sim: &Sim, vm: &mut Vm, n: usize, value: &str) -> SimResult<()> {
    let line = if sim.version.major >= 7 { 1910 } else { 1766 };
    if let Some(name) = value.strip_prefix("delete") {
        let name = name.trim();
        let nic = vm.nic_mut(n);
        let before = nic.forwarding.len();
        nic.forwarding.retain(|r| r.split(',').next() != Some(name));
        if nic.forwarding.len() == before {
            return Err(code_error(
                NS_ERROR_INVALID_ARG,
                Context {
                    call: "RemoveRedirect(Bstr(ValueUnion.psz).raw())",
                    file: "VBoxManageModifyVM.cpp",
                    line,
                },
            ));
        }
        return Ok(());
    }
    let Some(rule) = ForwardRule::parse(value) else {
        return Err(invalid_value(sim, "natpf", n as u32, value));
    };
    let nic = vm.nic_mut(n);
    let clash = nic
        .forwarding
        .iter()
        .filter_map(|r| ForwardRule::parse(r))
        .any(|r| {
            r.name == rule.name
                || (r.proto == rule.proto
                    && r.host_port == rule.host_port
                    && r.host_ip == rule.host_ip)
        });
    if clash {
        return Err(code_error(
            NS_ERROR_INVALID_ARG,
            Context {
                call: "AddRedirect(Bstr(strName).raw(), proto, Bstr(strHostIp).raw(), RTStrToUInt16(strHostPort), Bstr(strGuestIp).raw(), RTStrToUInt16(strGuestPort))",
                file: "VBoxManageModifyVM.cpp",
                line: line - 24,
            },
        ));
    }
    nic.forwarding.push(value.to_string());
    Ok(())
}
