//! `hostonlynet add|modify|remove`: VirtualBox 7's host-only networks, built only on macOS
//! (VBOX_WITH_VMNET), where host-only adapters are gone. Read from VBoxManageHostonly.cpp and
//! VBoxManageList.cpp (7.0.0-7.0.10): `add` needs `--name`, `--netmask`, `--lower-ip` and
//! `--upper-ip` (checked in that order, exit 2), prints nothing, and does not refuse a name
//! already taken; `modify` and `remove` take `--name` or `--id`.

use super::errors::{Outcome, SimResult, VBoxError, argument_error};
use super::getopt::{ArgsExt, Spec};
use super::hostnet;
use super::state::HostOnlyNet;
use super::{Sim, internal};

const SPECS: &[Spec] = &[
    Spec::value("name"),
    Spec::value("id"),
    Spec::value("netmask"),
    Spec::value("lower-ip"),
    Spec::value("lowerip"),
    Spec::value("upper-ip"),
    Spec::value("upperip"),
    Spec::flag("enable"),
    Spec::flag("disable"),
];

pub fn hostonlynet(sim: &Sim, args: &[String]) -> SimResult {
    let verb = args.first().map(String::as_str).unwrap_or("");
    let parsed = sim.getopt("hostonlynet", &args[1.min(args.len())..], SPECS)?;
    let lower = parsed
        .value_of("lower-ip")
        .or(parsed.value_of("lowerip"))
        .map(str::to_string);
    let upper = parsed
        .value_of("upper-ip")
        .or(parsed.value_of("upperip"))
        .map(str::to_string);
    let enabled = match (parsed.has("enable"), parsed.has("disable")) {
        (_, true) => Some(false),
        (true, _) => Some(true),
        _ => None,
    };
    let mut reg = sim.registry()?;
    match verb {
        "add" => {
            let need = |v: Option<String>, what: &str| {
                v.ok_or_else(|| {
                    argument_error(&format!("The --{what} parameter must be specified"))
                })
            };
            let name = need(parsed.value_of("name").map(str::to_string), "name")?;
            let mask = need(parsed.value_of("netmask").map(str::to_string), "netmask")?;
            let lower = need(lower, "lower-ip")?;
            let upper = need(upper, "upper-ip")?;
            reg.reg.hostonlynets.push(HostOnlyNet {
                name,
                id: parsed
                    .value_of("id")
                    .map(str::to_string)
                    .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
                mask,
                lower,
                upper,
                enabled: enabled.unwrap_or(true),
            });
        }
        "modify" | "remove" => {
            let found = match (parsed.value_of("name"), parsed.value_of("id")) {
                (Some(n), _) => reg.reg.hostonlynets.iter().position(|h| h.name == n),
                (None, Some(id)) => reg.reg.hostonlynets.iter().position(|h| h.id == id),
                (None, None) => {
                    return Err(argument_error(
                        "Either --name or --id parameter must be specified",
                    ));
                }
            };
            let Some(i) = found else {
                return Err(not_found());
            };
            if verb == "remove" {
                let bridge = reg.reg.hostonlynets[i].bridge(&reg.reg);
                reg.reg.hostonlynets.remove(i);
                hostnet::delete_bridge(&bridge);
            } else {
                let net = &mut reg.reg.hostonlynets[i];
                if let Some(m) = parsed.value_of("netmask") {
                    net.mask = m.to_string();
                }
                if let Some(l) = lower {
                    net.lower = l;
                }
                if let Some(u) = upper {
                    net.upper = u;
                }
                if let Some(e) = enabled {
                    net.enabled = e;
                }
            }
        }
        _ => {
            return Err(sim.syntax(
                "hostonlynet",
                super::errors::Syntax::Message(format!("Invalid parameter '{verb}'")),
            ));
        }
    }
    reg.save().map_err(|e| internal(&e.to_string()))?;
    Ok(Outcome::ok(String::new()))
}

/// `FindHostOnlyNetworkByName/ById` of a network that does not exist: VBOX_E_OBJECT_NOT_FOUND
/// without extended error info (read from the source; no captured output is known).
fn not_found() -> VBoxError {
    VBoxError::stderr(
        "VBoxManage: error: Code VBOX_E_OBJECT_NOT_FOUND (0x80BB0001) - Object corresponding to the supplied arguments does not exist (extended info not available)\n",
        1,
    )
}

/// `list hostonlynets` (VBoxManageList.cpp 7.0): a blank line after GUID and after each entry.
pub fn list(reg: &super::state::Registry) -> String {
    reg.hostonlynets
        .iter()
        .map(|n| {
            format!(
                "Name:            {}\nGUID:            {}\n\nState:           {}\nNetworkMask:     {}\nLowerIP:         {}\nUpperIP:         {}\nVBoxNetworkName: hostonly-{}\n\n",
                n.name,
                n.id,
                if n.enabled { "Enabled" } else { "Disabled" },
                n.mask,
                n.lower,
                n.upper,
                n.name
            )
        })
        .collect()
}
