//! Machine commands: createvm, modifyvm, storagectl, storageattach, startvm, controlvm,
//! unregistervm, guestproperty, sharedfolder, setextradata and getextradata.
//!
//! One file per command family; this one holds what they share: finding a machine (and the
//! "not found" error each command's call site gives), the session-lock error, and bringing a
//! VM's recorded state up to date when its VM process died.

mod extradata;
mod injected;
mod modify;
mod power;
mod properties;
mod register;
mod sharedfolder;
mod storage;

pub use extradata::{getextradata, setextradata};
pub use injected::injected_error;
pub use modify::modifyvm;
pub use power::{controlvm, startvm};
pub use properties::guestproperty;
pub use register::{createvm, default_machine_folder, unregistervm};
pub use sharedfolder::sharedfolder;
pub use storage::{storageattach, storagectl};

use super::errors::{
    Context, SimResult, VBOX_E_INVALID_OBJECT_STATE, VBOX_E_OBJECT_NOT_FOUND, VBoxError, com_error,
};
use super::state::{LockedRegistry, Registry, Vm, VmState, now_state_time, pid_alive};
use super::{Sim, internal};

/// Progress as VBoxManage prints it on stderr for long operations.
pub const PROGRESS: &str = "0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\n";

/// Where each command calls FindMachine, by version: the Context line of "not found" errors.
fn find_machine_context(sim: &Sim, cmd: &str) -> Context {
    let v = &sim.version;
    match cmd {
        "startvm" => Context {
            call: "FindMachine(Bstr(pszVM).raw(), machine.asOutParam())",
            file: "VBoxManageMisc.cpp",
            line: if v.major >= 7 { 867 } else { 721 },
        },
        "controlvm" => Context {
            call: "FindMachine(Bstr(a->argv[0]).raw(), machine.asOutParam())",
            file: "VBoxManageControlVM.cpp",
            line: if v.major >= 7 { 365 } else { 382 },
        },
        "modifyvm" => Context {
            call: "FindMachine(Bstr(a->argv[0]).raw(), machine.asOutParam())",
            file: "VBoxManageModifyVM.cpp",
            line: modify::modifyvm_lines(v).find,
        },
        "storagectl" | "storageattach" => Context {
            call: "FindMachine(Bstr(a->argv[0]).raw(), machine.asOutParam())",
            file: "VBoxManageStorageController.cpp",
            line: if cmd == "storagectl" { 1090 } else { 341 },
        },
        "unregistervm" => Context {
            call: "FindMachine(Bstr(VMName).raw(), machine.asOutParam())",
            file: "VBoxManageMisc.cpp",
            line: if v.major >= 7 { 223 } else { 154 },
        },
        "guestproperty" | "sharedfolder" | "setextradata" | "getextradata" => Context {
            call: "FindMachine(Bstr(a->argv[0]).raw(), machine.asOutParam())",
            file: if cmd == "guestproperty" {
                "VBoxManageGuestProp.cpp"
            } else {
                "VBoxManageMisc.cpp"
            },
            line: 95,
        },
        _ => Context {
            call: "FindMachine(Bstr(VMNameOrUuid).raw(), machine.asOutParam())",
            file: "VBoxManageInfo.cpp",
            line: match (v.major, v.minor, v.build) {
                (5, _, _) => 2833,
                (6, 0, _) => 2620,
                (6, 1, b) if b < 40 => 2726,
                (6, 1, _) => 2772,
                _ => 3138,
            },
        },
    }
}

/// "Could not find a registered machine named 'X'", with the caller's Context line.
pub fn machine_not_found(sim: &Sim, cmd: &str, name: &str) -> VBoxError {
    let key = name.trim_start_matches('{').trim_end_matches('}');
    let msg = if uuid::Uuid::parse_str(key).is_ok() {
        format!("Could not find a registered machine with UUID {{{key}}}")
    } else {
        format!("Could not find a registered machine named '{name}'")
    };
    com_error(
        &msg,
        VBOX_E_OBJECT_NOT_FOUND,
        "VirtualBoxWrap",
        "IVirtualBox",
        true,
        find_machine_context(sim, cmd),
    )
}

/// Finds the VM named by the first positional argument, or the real "not found" error.
pub fn find_vm(sim: &Sim, reg: &Registry, cmd: &str, name: &str) -> SimResult<usize> {
    reg.find_vm(name)
        .ok_or_else(|| machine_not_found(sim, cmd, name))
}

/// The VM named `name` as it is now: a copy with its state brought up to date
/// ([`refresh_state`]), and its index in the registry.
pub fn current_vm(sim: &Sim, reg: &Registry, cmd: &str, name: &str) -> SimResult<(usize, Vm)> {
    let idx = find_vm(sim, reg, cmd, name)?;
    let mut vm = reg.vms[idx].clone();
    refresh_state(&mut vm);
    Ok((idx, vm))
}

/// [`current_vm`], with a state that changed written back to the registry.
pub fn current_vm_saved(
    sim: &Sim,
    reg: &mut LockedRegistry,
    cmd: &str,
    name: &str,
) -> SimResult<(usize, Vm)> {
    let idx = find_vm(sim, &reg.reg, cmd, name)?;
    if refresh_state(&mut reg.reg.vms[idx]) {
        reg.save().map_err(|e| internal(&e.to_string()))?;
    }
    Ok((idx, reg.reg.vms[idx].clone()))
}

/// VBOX_E_INVALID_OBJECT_STATE from the machine: its session forbids the call.
fn invalid_machine_state(msg: &str, ctx: Context) -> VBoxError {
    com_error(
        msg,
        VBOX_E_INVALID_OBJECT_STATE,
        "MachineWrap",
        "IMachine",
        true,
        ctx,
    )
}

/// The error VirtualBox gives when another session holds the machine's lock.
fn locked_for_session(name: &str, line: u32, file: &'static str) -> VBoxError {
    invalid_machine_state(
        &format!("The machine '{name}' is already locked for a session (or being unlocked)"),
        Context {
            call: "LockMachine(a->session, LockType_Write)",
            file,
            line,
        },
    )
}

/// Brings `vm.state` up to date when its VM process died without saying so (aborted).
pub fn refresh_state(vm: &mut Vm) -> bool {
    if vm.state.is_active() && !vm.session_pid.is_some_and(pid_alive) {
        vm.state = VmState::Aborted;
        vm.session_pid = None;
        vm.powered_off();
        vm.state_change_time = now_state_time();
        clear_transient_properties(vm);
        return true;
    }
    false
}

/// At power-off VirtualBox drops only the TRANSIENT and TRANSRESET properties
/// (MachineImpl.cpp): the guest additions' `Net/*` survive, so the next boot first shows the
/// previous boot's address until the guest reports again.
pub fn clear_transient_properties(vm: &mut Vm) {
    vm.guest_properties
        .retain(|_, p| !(p.flags.contains("TRANSIENT") || p.flags.contains("TRANSRESET")));
}
