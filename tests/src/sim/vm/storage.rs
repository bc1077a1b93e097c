//! `storagectl` and `storageattach`: a VM's storage controllers and the media attached to
//! their ports.

use super::{current_vm, locked_for_session};
use crate::sim::errors::{
    Context, Outcome, SimResult, Syntax, VBOX_E_OBJECT_IN_USE, VBOX_E_OBJECT_NOT_FOUND, VBoxError,
    com_error, plain_error,
};
use crate::sim::getopt::{ArgsExt, Spec};
use crate::sim::state::{Attachment, StorageController};
use crate::sim::{Sim, internal, media};

pub fn storagectl(sim: &Sim, args: &[String]) -> SimResult {
    let specs = [
        Spec::value("name"),
        Spec::value("add"),
        Spec::value("controller"),
        Spec::value("portcount"),
        Spec::value("hostiocache"),
        Spec::value("bootable"),
        Spec::flag("rename"),
        Spec::flag("remove"),
    ];
    let Some(target) = args.first() else {
        return Err(sim.syntax(
            "storagectl",
            Syntax::Message("Not enough parameters".into()),
        ));
    };
    let parsed = sim.getopt("storagectl", &args[1..], &specs)?;
    let Some(name) = parsed.value_of("name") else {
        return Err(sim.syntax(
            "storagectl",
            Syntax::Message("Storage controller name not specified".into()),
        ));
    };
    let mut reg = sim.registry()?;
    let (idx, mut vm) = current_vm(sim, &reg.reg, "storagectl", target)?;
    if vm.session_held() {
        return Err(locked_for_session(
            &vm.name,
            1096,
            "VBoxManageStorageController.cpp",
        ));
    }
    if parsed.has("remove") {
        let before = vm.controllers.len();
        vm.controllers.retain(|c| c.name != name);
        if before == vm.controllers.len() {
            return Err(controller_not_found(name));
        }
    } else if let Some(bus) = parsed.value_of("add") {
        let bus = bus.to_ascii_lowercase();
        let (ty, ports, max) = match bus.as_str() {
            "sata" => ("IntelAhci", 30, 30),
            "ide" => ("PIIX4", 2, 2),
            "scsi" => ("LsiLogic", 16, 16),
            "sas" => ("LsiLogicSas", 8, 255),
            "floppy" => ("I82078", 1, 1),
            "usb" => ("USB", 8, 8),
            "pcie" => ("NVMe", 1, 255),
            "virtio" | "virtio-scsi" => ("VirtioSCSI", 1, 255),
            _ => {
                return Err(sim.syntax(
                    "storagectl",
                    Syntax::Message(format!("Invalid --add argument '{bus}'")),
                ));
            }
        };
        if vm.controller(name).is_some() {
            return Err(com_error(
                &format!("Storage controller named '{name}' already exists"),
                VBOX_E_OBJECT_IN_USE,
                "SessionMachine",
                "IMachine",
                true,
                Context {
                    call: "AddStorageController(Bstr(pszCtl).raw(), StorageBus_SATA, ctl.asOutParam())",
                    file: "VBoxManageStorageController.cpp",
                    line: 1166,
                },
            ));
        }
        vm.controllers.push(StorageController {
            name: name.to_string(),
            controller_type: ty.to_string(),
            bus,
            port_count: ports,
            max_port_count: max,
            host_io_cache: false,
            bootable: true,
            attachments: Vec::new(),
        });
    }
    let Some(ctl) = vm.controllers.iter_mut().find(|c| c.name == name) else {
        return Err(controller_not_found(name));
    };
    if let Some(c) = parsed.value_of("controller") {
        ctl.controller_type = c.to_string();
    }
    if let Some(p) = parsed.value_of("portcount") {
        ctl.port_count = p.parse().map_err(|_| {
            sim.syntax(
                "storagectl",
                Syntax::Message(format!("Invalid --portcount argument '{p}'")),
            )
        })?;
    }
    if let Some(h) = parsed.value_of("hostiocache") {
        ctl.host_io_cache = h.eq_ignore_ascii_case("on");
    }
    if let Some(b) = parsed.value_of("bootable") {
        ctl.bootable = b.eq_ignore_ascii_case("on");
    }
    reg.reg.vms[idx] = vm;
    reg.save().map_err(|e| internal(&e.to_string()))?;
    Ok(Outcome::default())
}

fn controller_not_found(name: &str) -> VBoxError {
    com_error(
        &format!("Could not find a storage controller named '{name}'"),
        VBOX_E_OBJECT_NOT_FOUND,
        "SessionMachine",
        "IMachine",
        true,
        Context {
            call: "GetStorageControllerByName(Bstr(pszCtl).raw(), storageCtl.asOutParam())",
            file: "VBoxManageStorageController.cpp",
            line: 1113,
        },
    )
}

pub fn storageattach(sim: &Sim, args: &[String]) -> SimResult {
    let specs = [
        Spec::value("storagectl"),
        Spec::value("port"),
        Spec::value("device"),
        Spec::value("type"),
        Spec::value("medium"),
        Spec::value("mtype"),
        Spec::value("nonrotational"),
        Spec::value("discard"),
        Spec::value("hotpluggable"),
        Spec::value("passthrough"),
        Spec::value("tempeject"),
        Spec::value("comment"),
        Spec::value("setuuid"),
        Spec::flag("forceunmount"),
    ];
    let Some(target) = args.first() else {
        return Err(sim.syntax(
            "storageattach",
            Syntax::Message("Not enough parameters".into()),
        ));
    };
    let parsed = sim.getopt("storageattach", &args[1..], &specs)?;
    let Some(ctl_name) = parsed.value_of("storagectl") else {
        return Err(sim.syntax(
            "storageattach",
            Syntax::Message("Storage controller name not specified".into()),
        ));
    };
    let port: u32 = parsed
        .value_of("port")
        .unwrap_or("0")
        .parse()
        .map_err(|_| {
            sim.syntax(
                "storageattach",
                Syntax::Message("Invalid --port argument".into()),
            )
        })?;
    let device: u32 = parsed
        .value_of("device")
        .unwrap_or("0")
        .parse()
        .map_err(|_| {
            sim.syntax(
                "storageattach",
                Syntax::Message("Invalid --device argument".into()),
            )
        })?;
    let mut reg = sim.registry()?;
    let (idx, mut vm) = current_vm(sim, &reg.reg, "storageattach", target)?;
    if vm.state.is_active() {
        return Err(locked_for_session(
            &vm.name,
            369,
            "VBoxManageStorageController.cpp",
        ));
    }
    if vm.controller(ctl_name).is_none() {
        return Err(plain_error(&[&format!(
            "Could not find a controller named '{ctl_name}'"
        )]));
    }
    let medium_arg = parsed.value_of("medium").unwrap_or("none");
    let kind = match parsed
        .value_of("type")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("hdd") => "hdd",
        Some("dvddrive") => "dvddrive",
        Some("fdd") => "fdd",
        Some(other) => {
            return Err(sim.syntax(
                "storageattach",
                Syntax::Message(format!("Invalid --type argument '{other}'")),
            ));
        }
        None => "hdd",
    };
    let ctl = vm
        .controllers
        .iter_mut()
        .find(|c| c.name == ctl_name)
        .expect("checked above");
    if port >= ctl.port_count.max(1) && ctl.bus != "ide" {
        ctl.port_count = (port + 1).min(ctl.max_port_count);
    }
    ctl.attachments
        .retain(|a| !(a.port == port && a.device == device));
    match medium_arg {
        "none" => {}
        "emptydrive" => ctl.attachments.push(Attachment {
            port,
            device,
            kind: kind.into(),
            medium: None,
        }),
        path => {
            let device_type = if kind == "dvddrive" { "dvd" } else { "hdd" };
            let uuid = media::open_medium(sim, &mut reg.reg, path, device_type, true)?;
            ctl.attachments.push(Attachment {
                port,
                device,
                kind: kind.into(),
                medium: Some(uuid),
            });
        }
    }
    reg.reg.vms[idx] = vm;
    reg.save().map_err(|e| internal(&e.to_string()))?;
    Ok(Outcome::default())
}
