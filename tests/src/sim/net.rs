//! Host-only interfaces (`hostonlyif`) and DHCP servers (`dhcpserver`).

use std::net::Ipv4Addr;

use super::errors::{
    Context, E_ACCESSDENIED, NS_ERROR_FAILURE, NS_ERROR_INVALID_ARG, Outcome, SimResult, Syntax,
    VBoxError, argument_error, code_error, com_error, plain_error, progress_error,
};
use super::getopt::{Arg, ArgsExt, Spec};
use super::hostnet;
use super::state::{DhcpServer, HostOnlyIf, LockedRegistry, now_nanos};
use super::vm::PROGRESS;
use super::{Sim, internal};

/// `VBOXSIM_HOSTONLY_LINK_BUG=1`: VBoxNetAdpCtl cannot configure the kernel interface, as on
/// Linux hosts without a working helper (the seed's vboxnet0 failure).
pub fn link_bug() -> bool {
    std::env::var("VBOXSIM_HOSTONLY_LINK_BUG")
        .is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

fn interface_not_found(sim: &Sim, name: &str, line_6: u32, line_7: u32) -> VBoxError {
    com_error(
        &format!("The host network interface named '{name}' could not be found"),
        NS_ERROR_INVALID_ARG,
        "HostWrap",
        "IHost",
        true,
        Context {
            call: "FindHostNetworkInterfaceByName(Bstr(pszName).raw(), hif.asOutParam())",
            file: "VBoxManageHostonly.cpp",
            line: if sim.version.major >= 7 {
                line_7
            } else {
                line_6
            },
        },
    )
}

pub fn hostonlyif(sim: &Sim, args: &[String]) -> SimResult {
    let Some(verb) = args.first() else {
        return Err(sim.syntax(
            "hostonlyif",
            Syntax::Message("Not enough parameters".into()),
        ));
    };
    let rest = &args[1..];
    match verb.as_str() {
        "create" => create(sim, rest),
        "remove" => remove(sim, rest),
        "ipconfig" => ipconfig(sim, rest),
        other => Err(sim.syntax(
            "hostonlyif",
            Syntax::Message(format!("Unknown sub-command '{other}'")),
        )),
    }
}

fn create(sim: &Sim, args: &[String]) -> SimResult {
    let parsed = sim.getopt("hostonlyif", args, &[Spec::flag("machinereadable")])?;
    if let Some(p) = parsed.positionals().first() {
        return Err(sim.syntax("hostonlyif", Syntax::InvalidParameter(p.to_string())));
    }
    if sim.vmnet() {
        // VirtualBox 7 on macOS ships no host-only kernel extension: VBoxNetAdpCtl cannot open
        // its control device (output as reported for 7.0.2; the Context line from the source).
        return Err(progress_error(
            &sim.version,
            NS_ERROR_FAILURE,
            "Failed to create the host-only adapter",
            &["VBoxNetAdpCtl: Error while adding new interface: failed to open /dev/vboxnetctl: No such file or directory".into()],
            "HostNetworkInterfaceWrap",
            "IHostNetworkInterface",
            Context {
                call: "RTEXITCODE handleCreate(HandlerArg *)",
                file: "VBoxManageHostonly.cpp",
                line: 105,
            },
        ));
    }
    let mut reg = sim.registry()?;
    let windows = sim.host_os() == super::HostOs::Windows;
    // Windows numbers its adapters on from the highest number in use (the first has none).
    let windows_number = reg
        .reg
        .hostonlyifs
        .iter()
        .map(|h| match h.name.rsplit_once(" #") {
            Some((_, n)) => n.parse::<u32>().unwrap_or(1),
            None => 1,
        })
        .max()
        .map_or(1, |n| n + 1);
    let mut n = 0u32;
    let (name, link, mac) = loop {
        let link = if windows {
            format!("vbwin{n}")
        } else {
            format!("vboxnet{n}")
        };
        let name = match windows {
            true if windows_number == 1 => WINDOWS_ADAPTER.to_string(),
            true => format!("{WINDOWS_ADAPTER} #{windows_number}"),
            false => link.clone(),
        };
        if reg.reg.hostonlyif(&name).is_none() && !hostnet::link_exists(&link) {
            let mac = [0x0a, 0x00, 0x27, 0x00, 0x00, n as u8];
            match hostnet::create_bridge(&link, &hostnet::mac_text(&mac)) {
                Ok(()) => break (name, link, mac),
                // Someone else took the name between the check and the creation.
                Err(_) if hostnet::link_exists(&link) => {}
                Err(e) => {
                    return Err(VBoxError::stderr(
                        format!(
                            "0%...\nProgress state: NS_ERROR_FAILURE\nVBoxManage: error: Failed to create the host-only adapter\nVBoxManage: error: VBoxNetAdpCtl: Error while adding new interface: {e}\n"
                        ),
                        1,
                    ));
                }
            }
        }
        n += 1;
        if n > 255 {
            return Err(plain_error(&["Failed to create the host-only adapter"]));
        }
    };
    reg.reg.hostonlyifs.push(HostOnlyIf {
        guid: hostnet::hostonly_guid(&name, &mac),
        mac: hostnet::mac_text(&mac),
        // A new Windows adapter takes its address by DHCP until it is configured.
        dhcp: windows,
        ip: format!("192.168.{}.1", 56 + n),
        netmask: "255.255.255.0".into(),
        name: name.clone(),
        link: if link == name {
            String::new()
        } else {
            link.clone()
        },
        created_ms: now_ms(),
    });
    if let Err(e) = reg.save() {
        hostnet::delete_bridge(&link);
        return Err(internal(&e.to_string()));
    }
    let stdout = if parsed.has("machinereadable") {
        name
    } else {
        format!("Interface '{name}' was successfully created\n")
    };
    Ok(Outcome::ok(stdout).with_stderr(PROGRESS))
}

/// The first host-only adapter's name on Windows; later ones are `... #2`, `... #3`.
pub const WINDOWS_ADAPTER: &str = "VirtualBox Host-Only Ethernet Adapter";

fn now_ms() -> u64 {
    (now_nanos() / 1_000_000) as u64
}

/// Whether a new adapter is still settling: Windows reports its mask as 15.0.0.0 for this
/// long after `hostonlyif create` (`VBOXSIM_WINDOWS_SETTLE_MS`, default 3000; the real
/// duration is not known, only that it is "significant").
pub fn settling(h: &HostOnlyIf) -> bool {
    let settle = std::env::var("VBOXSIM_WINDOWS_SETTLE_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(3000);
    now_ms().saturating_sub(h.created_ms) < settle
}

/// The interface `remove` and `ipconfig` name (their one positional argument): the locked
/// registry and the interface's index there, or the error VirtualBox gives at the caller's
/// lines.
fn named_interface(
    sim: &Sim,
    parsed: &[Arg],
    line_6: u32,
    line_7: u32,
) -> SimResult<(LockedRegistry, usize)> {
    let [name] = parsed.positionals()[..] else {
        return Err(sim.syntax(
            "hostonlyif",
            Syntax::Message("Not enough parameters".into()),
        ));
    };
    let reg = sim.registry()?;
    let Some(i) = reg.reg.hostonlyifs.iter().position(|h| h.name == name) else {
        return Err(interface_not_found(sim, name, line_6, line_7));
    };
    Ok((reg, i))
}

fn remove(sim: &Sim, args: &[String]) -> SimResult {
    let parsed = sim.getopt("hostonlyif", args, &[])?;
    let (mut reg, i) = named_interface(sim, &parsed, 142, 150)?;
    let removed = reg.reg.hostonlyifs.remove(i);
    hostnet::delete_bridge(removed.link());
    reg.save().map_err(|e| internal(&e.to_string()))?;
    Ok(Outcome::default().with_stderr(PROGRESS))
}

fn ipconfig(sim: &Sim, args: &[String]) -> SimResult {
    let specs = [
        Spec::flag("dhcp"),
        Spec::value("ip"),
        Spec::value("netmask"),
        Spec::value("ipv6"),
        Spec::value("netmasklengthv6"),
    ];
    let parsed = sim.getopt("hostonlyif", args, &specs)?;
    let (mut reg, i) = named_interface(sim, &parsed, 230, 240)?;
    if parsed.has("dhcp") {
        reg.reg.hostonlyifs[i].dhcp = true;
        reg.save().map_err(|e| internal(&e.to_string()))?;
        return Ok(Outcome::default());
    }
    if parsed.has("ipv6") {
        return Ok(Outcome::default());
    }
    let Some(ip_text) = parsed.value_of("ip") else {
        return Err(sim.syntax("hostonlyif", Syntax::Message("Missing --ip".into())));
    };
    let mask_text = parsed.value_of("netmask").unwrap_or("255.255.255.0");
    let (Ok(ip), Some(prefix)) = (
        ip_text.parse::<Ipv4Addr>(),
        mask_text
            .parse::<Ipv4Addr>()
            .ok()
            .and_then(hostnet::mask_prefix),
    ) else {
        return Err(code_error(NS_ERROR_INVALID_ARG, static_ip_context(sim)));
    };
    if sim.version.restricts_hostonly_ranges()
        && !hostnet::address_allowed(ip, prefix, &hostnet::allowed_ranges())
    {
        return Err(code_error(E_ACCESSDENIED, static_ip_context(sim)));
    }
    let hif = &mut reg.reg.hostonlyifs[i];
    hif.ip = ip.to_string();
    hif.netmask = mask_text.to_string();
    hif.dhcp = false;
    let link = hif.link().to_string();
    reg.save().map_err(|e| internal(&e.to_string()))?;
    if !link_bug() {
        // VBoxNetAdpCtl runs setuid root; failures there are not reported to the caller.
        let _ = hostnet::configure_ipv4(&link, ip, prefix);
    }
    Ok(Outcome::default())
}

fn static_ip_context(sim: &Sim) -> Context {
    Context {
        call: "EnableStaticIPConfig(Bstr(pszIp).raw(), Bstr(pszNetmask).raw())",
        file: "VBoxManageHostonly.cpp",
        line: if sim.version.major >= 7 { 252 } else { 242 },
    }
}

// ---------------------------------------------------------------- dhcpserver

pub fn dhcpserver(sim: &Sim, args: &[String]) -> SimResult {
    let Some(verb) = args.first() else {
        return Err(sim.syntax(
            "dhcpserver",
            Syntax::Message("Not enough parameters".into()),
        ));
    };
    let specs = [
        Spec::value("netname"),
        Spec::value("network"),
        Spec::value("ifname"),
        Spec::value("interface"),
        Spec::value("ip"),
        Spec::value("server-ip"),
        Spec::value("netmask"),
        Spec::value("lowerip"),
        Spec::value("lower-ip"),
        Spec::value("upperip"),
        Spec::value("upper-ip"),
        Spec::flag("enable"),
        Spec::flag("disable"),
    ];
    let parsed = sim.getopt("dhcpserver", &args[1..], &specs)?;
    if let Some(p) = parsed.positionals().first() {
        return Err(sim.syntax("dhcpserver", Syntax::InvalidParameter(p.to_string())));
    }
    let ifname = parsed.value_of("ifname").or(parsed.value_of("interface"));
    let network = match (
        parsed.value_of("netname").or(parsed.value_of("network")),
        ifname,
    ) {
        (Some(n), None) => n.to_string(),
        (None, Some(i)) => format!("HostInterfaceNetworking-{i}"),
        (Some(_), Some(_)) if sim.version.at_least(6, 1, 0) => {
            return Err(sim.syntax(
                "dhcpserver",
                Syntax::Message("Either --network or --interface, not both".into()),
            ));
        }
        _ => {
            return Err(sim.syntax(
                "dhcpserver",
                Syntax::Message(
                    "You need to specify either --netname or --ifname to identify the DHCP server"
                        .into(),
                ),
            ));
        }
    };
    let ip = parsed.value_of("ip").or(parsed.value_of("server-ip"));
    let mask = parsed.value_of("netmask");
    let lower = parsed.value_of("lowerip").or(parsed.value_of("lower-ip"));
    let upper = parsed.value_of("upperip").or(parsed.value_of("upper-ip"));
    for addr in [ip, mask, lower, upper].into_iter().flatten() {
        if addr.parse::<Ipv4Addr>().is_err() {
            return Err(invalid_server_address());
        }
    }
    let mut reg = sim.registry()?;
    let existing = reg
        .reg
        .dhcpservers
        .iter()
        .position(|d| d.network == network);
    match verb.as_str() {
        "add" => {
            // VBoxManage looks the server up first (CreateDHCPServer is not reached).
            if existing.is_some() {
                return Err(argument_error("DHCP server already exists"));
            }
            reg.reg.dhcpservers.push(DhcpServer {
                network,
                ip: ip.unwrap_or("0.0.0.0").into(),
                netmask: mask.unwrap_or("0.0.0.0").into(),
                lower: lower.unwrap_or("0.0.0.0").into(),
                upper: upper.unwrap_or("0.0.0.0").into(),
                enabled: parsed.has("enable"),
            });
        }
        "modify" => {
            let Some(i) = existing else {
                return Err(dhcp_not_found(sim, verb, &network, ifname));
            };
            let d = &mut reg.reg.dhcpservers[i];
            if let Some(v) = ip {
                d.ip = v.into();
            }
            if let Some(v) = mask {
                d.netmask = v.into();
            }
            if let Some(v) = lower {
                d.lower = v.into();
            }
            if let Some(v) = upper {
                d.upper = v.into();
            }
            if parsed.has("enable") {
                d.enabled = true;
            }
            if parsed.has("disable") {
                d.enabled = false;
            }
        }
        "remove" => {
            let Some(i) = existing else {
                return Err(dhcp_not_found(sim, verb, &network, ifname));
            };
            reg.reg.dhcpservers.remove(i);
            reg.reg.leases.retain(|l| l.network != network);
        }
        other => {
            let msg = if sim.version.at_least(6, 1, 0) {
                format!("Unknown subcommand: {other}")
            } else {
                format!("Invalid parameter '{other}'")
            };
            return Err(sim.syntax("dhcpserver", Syntax::Message(msg)));
        }
    }
    reg.save().map_err(|e| internal(&e.to_string()))?;
    Ok(Outcome::default())
}

/// `dhcpserver` given an address that is not one: SetConfiguration refuses it.
pub fn invalid_server_address() -> VBoxError {
    com_error(
        "Invalid server address",
        NS_ERROR_INVALID_ARG,
        "VirtualBoxWrap",
        "IVirtualBox",
        true,
        Context {
            call: "SetConfiguration ( Bstr(pIp).mutableRaw(), Bstr(pNetmask).mutableRaw(), Bstr(pLowerIp).mutableRaw(), Bstr(pUpperIp).mutableRaw())",
            file: "VBoxManageDHCPServer.cpp",
            line: 384,
        },
    )
}

/// `modify` (and `remove` before 6.1) of an unknown server: errorArgument, exit 2. From 6.1,
/// `remove` says which network it looked for, exit 1.
fn dhcp_not_found(sim: &Sim, verb: &str, network: &str, ifname: Option<&str>) -> VBoxError {
    if verb == "remove" && sim.version.at_least(6, 1, 0) {
        return plain_error(&[&match ifname {
            Some(i) => format!(
                "Failed to find DHCP server for host-only interface '{i}' (network '{network}')"
            ),
            None => format!("Failed to find DHCP server for network '{network}'"),
        }]);
    }
    argument_error("DHCP server does not exist")
}
