//! `startvm` and `controlvm`: powering a VM on (what VirtualBox checks first, the VM process it
//! launches) and off, ACPI shutdown, pause and resume.

use std::time::{Duration, Instant};

use super::{
    PROGRESS, clear_transient_properties, current_vm, current_vm_saved, invalid_machine_state,
};
use crate::sim::errors::{
    Context, NS_ERROR_FAILURE, Outcome, SimResult, Syntax, VBOX_E_FILE_ERROR,
    VBOX_E_INVALID_VM_STATE, VBoxError, com_error, plain_error,
};
use crate::sim::getopt::{ArgsExt, Spec};
use crate::sim::state::{
    HostOnlyNet, LockedRegistry, Registry, Vm, VmState, now_state_time, pid_alive,
};
use crate::sim::{Sim, internal};

pub fn startvm(sim: &Sim, args: &[String]) -> SimResult {
    let specs = [Spec::value("type"), Spec::value("putenv"), Spec::value("E")];
    let parsed = sim.getopt("startvm", args, &specs)?;
    let names = parsed.positionals();
    if names.is_empty() {
        return Err(sim.syntax(
            "startvm",
            Syntax::Message("at least one VM name or uuid required".into()),
        ));
    }
    if let Some(t) = parsed.value_of("type")
        && !["gui", "sdl", "headless", "separate"].contains(&t)
    {
        return Err(sim.syntax(
            "startvm",
            Syntax::Message(format!("Invalid session type '{t}'")),
        ));
    }
    let mut out = Outcome::default();
    for name in names {
        let mut reg = sim.registry()?;
        let (idx, mut vm) = current_vm(sim, &reg.reg, "startvm", name)?;
        if vm.session_held() {
            return Err(invalid_machine_state(
                &format!(
                    "The machine '{}' is already locked by a session (or being locked or unlocked)",
                    vm.name
                ),
                launch_context(sim),
            ));
        }
        if sim.vmnet()
            && let Some(nic) = vm.nics.iter().find(|n| n.attachment == "hostonly")
        {
            return Err(legacy_hostonly(&mut reg, name, &nic.hostonly_adapter));
        }
        check_startable(sim, &reg.reg, &vm)?;
        let pid = crate::vmproc::spawn_vm_process(sim, &vm)
            .map_err(|e| terminated_during_startup(&vm.name, &format!("({e})")))?;
        vm.session_pid = Some(pid);
        vm.state = VmState::Running;
        vm.state_change_time = now_state_time();
        reg.reg.vms[idx] = vm;
        reg.save().map_err(|e| internal(&e.to_string()))?;
        out.stdout += &format!(
            "Waiting for VM \"{name}\" to power on...\nVM \"{name}\" has been successfully started.\n"
        );
    }
    Ok(out)
}

/// A VM with a host-only adapter powered on by a vmnet build (VirtualBox 7 on macOS): the VM
/// does not start; a host-only network `Legacy <if> Network` is made from the interface's DHCP
/// server (ConsoleImpl2.cpp 7.0, as reported by users of 7.0.0 and 7.0.14).
fn legacy_hostonly(reg: &mut LockedRegistry, vm: &str, interface: &str) -> VBoxError {
    let name = format!("Legacy {interface} Network");
    let server = reg
        .reg
        .dhcpserver(&format!("HostInterfaceNetworking-{interface}"))
        .cloned();
    let (mask, lower, upper) = match server {
        Some(d) => (d.netmask, d.lower, d.upper),
        None => (
            "255.255.255.0".to_string(),
            "192.168.56.1".to_string(),
            "192.168.56.254".to_string(),
        ),
    };
    if reg.reg.hostonlynet(&name).is_none() {
        reg.reg.hostonlynets.push(HostOnlyNet {
            name: name.clone(),
            id: uuid::Uuid::new_v4().to_string(),
            mask: mask.clone(),
            lower: lower.clone(),
            upper: upper.clone(),
            enabled: true,
        });
        let _ = reg.save();
    }
    VBoxError {
        stdout: format!("Waiting for VM \"{vm}\" to power on...\n"),
        stderr: format!(
            "VBoxManage: error: Host-only adapters are no longer supported!\nVBoxManage: error: For your convenience a host-only network named '{name}' has been created with network mask '{mask}' and IP address range '{lower}' - '{upper}'.\nVBoxManage: error: To fix this problem, switch to 'Host-only Network' attachment type in the VM settings.\nVBoxManage: error:  (VERR_NOT_FOUND)\nVBoxManage: error: Details: code NS_ERROR_FAILURE (0x80004005), component ConsoleWrap, interface IConsole\n"
        ),
        code: 1,
    }
}

/// The VM process died while the VM was starting; `detail` says how.
pub(super) fn terminated_during_startup(vm: &str, detail: &str) -> VBoxError {
    com_error(
        &format!("The virtual machine '{vm}' has terminated unexpectedly during startup {detail}"),
        NS_ERROR_FAILURE,
        "MachineWrap",
        "IMachine",
        false,
        Context {
            call: "LaunchVMProcess",
            file: "VBoxManageMisc.cpp",
            line: 727,
        },
    )
}

/// Where `startvm` launches the VM process: the Context line of the errors it reports there.
fn launch_context(sim: &Sim) -> Context {
    Context {
        call: "LaunchVMProcess(a->session, sessionType.raw(), ComSafeArrayAsInParam(aBstrEnv), progress.asOutParam())",
        file: "VBoxManageMisc.cpp",
        line: if sim.version.major >= 7 { 881 } else { 727 },
    }
}

/// What VirtualBox checks when it powers a VM on: its adapters and media exist.
fn check_startable(sim: &Sim, reg: &Registry, vm: &Vm) -> SimResult<()> {
    for nic in &vm.nics {
        if nic.attachment == "hostonly" && reg.hostonlyif(&nic.hostonly_adapter).is_none() {
            let shown = if nic.hostonly_adapter.is_empty() {
                ""
            } else {
                &nic.hostonly_adapter
            };
            return Err(com_error(
                &format!(
                    "Failed to open a session for the virtual machine {}.\nVBoxManage: error: Nonexistent host networking interface, name '{shown}' (VERR_INTERNAL_ERROR)",
                    vm.name
                ),
                NS_ERROR_FAILURE,
                "ConsoleWrap",
                "IConsole",
                false,
                launch_context(sim),
            ));
        }
    }
    for ctl in &vm.controllers {
        for a in &ctl.attachments {
            if let Some(m) = a.medium.as_ref().and_then(|u| reg.medium(u))
                && !m.location.exists()
            {
                return Err(com_error(
                    &format!(
                        "Could not open the medium '{}'.\nVBoxManage: error: VD: error VERR_FILE_NOT_FOUND opening image file '{}' (VERR_FILE_NOT_FOUND)",
                        m.location.display(),
                        m.location.display()
                    ),
                    VBOX_E_FILE_ERROR,
                    "MediumWrap",
                    "IMedium",
                    true,
                    launch_context(sim),
                ));
            }
        }
    }
    Ok(())
}

pub fn controlvm(sim: &Sim, args: &[String]) -> SimResult {
    let (Some(target), Some(action)) = (args.first(), args.get(1)) else {
        return Err(sim.syntax("controlvm", Syntax::Message("Not enough parameters".into())));
    };
    let action = action.to_ascii_lowercase();
    let known = [
        "poweroff",
        "acpipowerbutton",
        "pause",
        "resume",
        "savestate",
        "reset",
    ];
    if !known.contains(&action.as_str()) && !action.starts_with("natpf") {
        return Err(sim.syntax(
            "controlvm",
            Syntax::Message(format!("Invalid parameter '{}'", args[1])),
        ));
    }
    let mut reg = sim.registry()?;
    let (idx, mut vm) = current_vm_saved(sim, &mut reg, "controlvm", target)?;
    if !vm.state.is_active() {
        let dot = if sim.version.major >= 7 { "." } else { "" };
        return Err(plain_error(&[&format!(
            "Machine '{target}' is not currently running{dot}"
        )]));
    }
    let pid = vm.session_pid.unwrap_or(0);
    match action.as_str() {
        "poweroff" => {
            drop(reg);
            crate::vmproc::signal(pid, crate::vmproc::POWEROFF_SIGNAL);
            wait_until_stopped(sim, &vm.uuid, pid, Duration::from_secs(60))?;
            Ok(Outcome::default().with_stderr(PROGRESS))
        }
        "acpipowerbutton" => {
            crate::vmproc::signal(pid, crate::vmproc::ACPI_SIGNAL);
            Ok(Outcome::default())
        }
        "pause" | "resume" => {
            let pause = action == "pause";
            if pause != (vm.state == VmState::Running) {
                let (now, wanted) = if pause {
                    ("Paused", "Running")
                } else {
                    ("Running", "Paused")
                };
                return Err(com_error(
                    &format!("Invalid machine state: {now} (must be {wanted})"),
                    VBOX_E_INVALID_VM_STATE,
                    "ConsoleWrap",
                    "IConsole",
                    true,
                    Context {
                        call: if pause { "Pause()" } else { "Resume()" },
                        file: "VBoxManageControlVM.cpp",
                        line: if pause { 411 } else { 415 },
                    },
                ));
            }
            crate::vmproc::freeze_guest(&vm, pause).map_err(|e| internal(&e.to_string()))?;
            vm.state = if pause {
                VmState::Paused
            } else {
                VmState::Running
            };
            vm.state_change_time = now_state_time();
            reg.reg.vms[idx] = vm;
            reg.save().map_err(|e| internal(&e.to_string()))?;
            Ok(Outcome::default())
        }
        other => Err(plain_error(&[&format!(
            "The simulator does not emulate 'controlvm {other}'"
        )])),
    }
}

/// Waits until the VM process `pid` has gone and the registry says the VM is off.
fn wait_until_stopped(sim: &Sim, uuid: &str, pid: u32, limit: Duration) -> SimResult<()> {
    let start = Instant::now();
    while pid_alive(pid) {
        if start.elapsed() > limit {
            crate::vmproc::signal(pid, libc::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut reg = sim.registry()?;
    if let Some(vm) = reg.reg.vms.iter_mut().find(|v| v.uuid == uuid)
        && vm.state.is_active()
    {
        vm.state = VmState::Poweroff;
        vm.session_pid = None;
        vm.powered_off();
        vm.state_change_time = now_state_time();
        clear_transient_properties(vm);
        reg.save().map_err(|e| internal(&e.to_string()))?;
    }
    Ok(())
}
