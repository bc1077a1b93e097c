//! `createvm` and `unregistervm`: a machine's settings file and folder, and its place in the
//! registry (with `--delete`, its disks and per-run files go too).

use std::fs;
use std::path::{Path, PathBuf};

use super::{PROGRESS, current_vm, invalid_machine_state};
use crate::sim::errors::{
    Context, Outcome, SimResult, Syntax, VBOX_E_FILE_ERROR, VBOX_E_INVALID_OBJECT_STATE, com_error,
    plain_error,
};
use crate::sim::getopt::{ArgsExt, Spec};
use crate::sim::state::{Nic, Vm, VmState, absolute, now_state_time};
use crate::sim::{Sim, internal, media, random_mac};

pub(super) fn create_machine_context(sim: &Sim) -> Context {
    let v = &sim.version;
    if v.major >= 7 {
        Context {
            call: "CreateMachine(bstrSettingsFile.raw(), bstrName.raw(), ComSafeArrayAsInParam(groups), bstrOsTypeId.raw(), createFlags.raw(), bstrCipher.raw(), bstrPasswordId.raw(), Bstr(strPassword).raw(), machine.asOutParam())",
            file: "VBoxManageMisc.cpp",
            line: 420,
        }
    } else {
        Context {
            call: "CreateMachine(bstrSettingsFile.raw(), bstrName.raw(), ComSafeArrayAsInParam(groups), bstrOsTypeId.raw(), createFlags.raw(), machine.asOutParam())",
            file: "VBoxManageMisc.cpp",
            line: match (v.major, v.minor) {
                (5, 0) => 272,
                (5, _) => 273,
                _ => 274,
            },
        }
    }
}

pub fn createvm(sim: &Sim, args: &[String]) -> SimResult {
    let specs = [
        Spec::value("name"),
        Spec::value("groups"),
        Spec::value("ostype"),
        Spec::flag("register"),
        Spec::value("basefolder"),
        Spec::value("uuid"),
        Spec::value("default"),
        Spec::value("platform-architecture"),
    ];
    let parsed = sim.getopt("createvm", args, &specs)?;
    if let Some(p) = parsed.positionals().first() {
        return Err(sim.syntax("createvm", Syntax::InvalidParameter(p.to_string())));
    }
    let Some(name) = parsed.value_of("name").map(str::to_string) else {
        return Err(sim.syntax(
            "createvm",
            Syntax::Message("Parameter --name is required".into()),
        ));
    };
    let base = match parsed.value_of("basefolder") {
        Some(b) => absolute(Path::new(b)),
        None => default_machine_folder(),
    };
    let cfg_file = base.join(&name).join(format!("{name}.vbox"));
    let uuid = match parsed.value_of("uuid") {
        Some(u) => u.trim_start_matches('{').trim_end_matches('}').to_string(),
        None => uuid::Uuid::new_v4().to_string(),
    };
    let register = parsed.has("register");
    let mut reg = sim.registry()?;
    if cfg_file.exists() || (register && reg.reg.vms.iter().any(|v| v.cfg_file == cfg_file)) {
        return Err(com_error(
            &format!(
                "Machine settings file '{}' already exists",
                cfg_file.display()
            ),
            VBOX_E_FILE_ERROR,
            "MachineWrap",
            "IMachine",
            true,
            create_machine_context(sim),
        ));
    }
    if register && reg.reg.vms.iter().any(|v| v.name == name) {
        return Err(com_error(
            &format!(
                "Cannot register the VM '{name}' ({{{uuid}}}) because a VM with the same name already exists"
            ),
            VBOX_E_INVALID_OBJECT_STATE,
            "VirtualBoxWrap",
            "IVirtualBox",
            true,
            Context {
                call: "RegisterMachine(machine)",
                file: "VBoxManageMisc.cpp",
                line: if sim.version.major >= 7 { 460 } else { 376 },
            },
        ));
    }
    let mut vm = Vm {
        name: name.clone(),
        uuid: uuid.clone(),
        cfg_file: cfg_file.clone(),
        settings: Default::default(),
        nics: (0..8).map(|_| Nic::new(random_mac())).collect(),
        controllers: Vec::new(),
        shared_folders: Vec::new(),
        extradata: Default::default(),
        guest_properties: Default::default(),
        state: VmState::Poweroff,
        state_change_time: now_state_time(),
        session_pid: None,
        unlocking_until_ms: 0,
    };
    vm.nics[0].attachment = "nat".into();
    if let Some(os) = parsed.value_of("ostype") {
        vm.settings.insert("ostype".into(), os.to_string());
    }
    write_settings_file(&vm).map_err(|e| {
        plain_error(&[&format!(
            "Could not create the settings file '{}' ({e})",
            cfg_file.display()
        )])
    })?;
    let mut out = format!("Virtual machine '{name}' is created");
    if register {
        reg.reg.vms.push(vm);
        reg.save().map_err(|e| internal(&e.to_string()))?;
        out += " and registered";
    }
    out += &format!(".\nUUID: {uuid}\nSettings file: '{}'\n", cfg_file.display());
    Ok(Outcome::ok(out))
}

/// VirtualBox's default machine folder: `~/VirtualBox VMs`.
pub fn default_machine_folder() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"));
    home.join("VirtualBox VMs")
}

/// Writes a `.vbox` file beside the VM, as VirtualBox keeps one per machine.
fn write_settings_file(vm: &Vm) -> std::io::Result<()> {
    fs::create_dir_all(vm.folder())?;
    let xml = format!(
        "<?xml version=\"1.0\"?>\n<VirtualBox xmlns=\"http://www.virtualbox.org/\" version=\"1.16-linux\">\n  <Machine uuid=\"{{{}}}\" name=\"{}\" OSType=\"{}\"/>\n</VirtualBox>\n",
        vm.uuid,
        xml_escape(&vm.name),
        xml_escape(vm.setting("ostype").unwrap_or("Other"))
    );
    fs::write(&vm.cfg_file, xml)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;")
}

pub fn unregistervm(sim: &Sim, args: &[String]) -> SimResult {
    let specs = [Spec::flag("delete"), Spec::flag("delete-all")];
    let parsed = sim.getopt("unregistervm", args, &specs)?;
    let Some(target) = parsed.positionals().first().map(|s| s.to_string()) else {
        return Err(sim.syntax("unregistervm", Syntax::Message("VM name required".into())));
    };
    let mut reg = sim.registry()?;
    let (idx, vm) = current_vm(sim, &reg.reg, "unregistervm", &target)?;
    if vm.session_held() {
        return Err(invalid_machine_state(
            &format!(
                "Cannot unregister the machine '{}' while it is locked",
                vm.name
            ),
            Context {
                call: "Unregister(CleanupMode_DetachAllReturnHardDisksOnly, ComSafeArrayAsOutParam(aMedia))",
                file: "VBoxManageMisc.cpp",
                line: if sim.version.major == 5 { 155 } else { 154 },
            },
        ));
    }
    reg.reg.vms.remove(idx);
    let mut out = Outcome::default();
    if parsed.has("delete") || parsed.has("delete-all") {
        // Hard disks attached only to this VM are deleted with it; DVD images are kept.
        for ctl in &vm.controllers {
            for a in &ctl.attachments {
                let Some(uuid) = &a.medium else { continue };
                if reg.reg.vms.iter().any(|o| o.uses_medium(uuid)) {
                    continue;
                }
                if let Some(mi) = reg.reg.media.iter().position(|m| &m.uuid == uuid) {
                    let m = reg.reg.media[mi].clone();
                    if m.device == "hdd" || parsed.has("delete-all") {
                        let _ = fs::remove_file(&m.location);
                        media::remove_guest_disk_state(sim, &m.uuid);
                    }
                    reg.reg.media.remove(mi);
                }
            }
        }
        let folder = vm.folder();
        let _ = fs::remove_file(&vm.cfg_file);
        let _ = fs::remove_file(vm.cfg_file.with_extension("vbox-prev"));
        let _ = fs::remove_dir_all(folder.join("Logs"));
        let _ = fs::remove_dir_all(crate::vmproc::runtime_dir(sim, &vm.uuid));
        let _ = fs::remove_dir(&folder);
        out.stderr = PROGRESS.to_string();
    }
    reg.save().map_err(|e| internal(&e.to_string()))?;
    Ok(out)
}
