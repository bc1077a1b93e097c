//! `sharedfolder add|remove`: a VM's shared folders, permanent or (on a running VM) transient.

use super::{current_vm, locked_for_session};
use crate::sim::errors::{
    Context, Outcome, SimResult, Syntax, VBOX_E_OBJECT_IN_USE, VBOX_E_OBJECT_NOT_FOUND, com_error,
};
use crate::sim::getopt::{ArgsExt, Spec};
use crate::sim::state::SharedFolder;
use crate::sim::{Sim, internal};

pub fn sharedfolder(sim: &Sim, args: &[String]) -> SimResult {
    let Some(verb) = args.first() else {
        return Err(sim.syntax(
            "sharedfolder",
            Syntax::Message("Not enough parameters".into()),
        ));
    };
    let specs = [
        Spec::value("name"),
        Spec::value("hostpath"),
        Spec::flag("transient"),
        Spec::flag("readonly"),
        Spec::flag("automount"),
        Spec::value("auto-mount-point"),
    ];
    let parsed = sim.getopt("sharedfolder", &args[1..], &specs)?;
    let pos = parsed.positionals();
    let Some(target) = pos.first() else {
        return Err(sim.syntax(
            "sharedfolder",
            Syntax::Message("Not enough parameters".into()),
        ));
    };
    let Some(name) = parsed.value_of("name") else {
        return Err(sim.syntax(
            "sharedfolder",
            Syntax::Message("Parameter --name is required".into()),
        ));
    };
    let mut reg = sim.registry()?;
    let (idx, mut vm) = current_vm(sim, &reg.reg, "sharedfolder", target)?;
    let transient = parsed.has("transient");
    if vm.state.is_active() && !transient {
        return Err(locked_for_session(&vm.name, 1165, "VBoxManageMisc.cpp"));
    }
    match verb.as_str() {
        "add" => {
            let Some(host_path) = parsed.value_of("hostpath") else {
                return Err(sim.syntax(
                    "sharedfolder",
                    Syntax::Message("Parameter --hostpath is required".into()),
                ));
            };
            if vm.shared_folders.iter().any(|s| s.name == name) {
                return Err(com_error(
                    &format!("Shared folder named '{name}' already exists"),
                    VBOX_E_OBJECT_IN_USE,
                    "SessionMachine",
                    "IMachine",
                    true,
                    Context {
                        call: "CreateSharedFolder(Bstr(name).raw(), Bstr(hostpath).raw(), fWritable, fAutoMount, Bstr(pszAutoMountPoint).raw())",
                        file: "VBoxManageMisc.cpp",
                        line: 1175,
                    },
                ));
            }
            vm.shared_folders.push(SharedFolder {
                name: name.to_string(),
                host_path: host_path.to_string(),
                automount: parsed.has("automount"),
                transient,
            });
        }
        "remove" => {
            let before = vm.shared_folders.len();
            vm.shared_folders.retain(|s| s.name != name);
            if before == vm.shared_folders.len() {
                return Err(com_error(
                    &format!("Could not find a shared folder named '{name}'."),
                    VBOX_E_OBJECT_NOT_FOUND,
                    "SessionMachine",
                    "IMachine",
                    true,
                    Context {
                        call: "RemoveSharedFolder(Bstr(pszName).raw())",
                        file: "VBoxManageMisc.cpp",
                        line: 1226,
                    },
                ));
            }
        }
        other => {
            return Err(sim.syntax(
                "sharedfolder",
                Syntax::Message(format!("Invalid parameter '{other}'")),
            ));
        }
    }
    reg.reg.vms[idx] = vm;
    reg.save().map_err(|e| internal(&e.to_string()))?;
    Ok(Outcome::default())
}
