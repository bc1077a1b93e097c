//! `VBOXSIM_FAIL`: the real error each subcommand prints when the knob picks one of its calls
//! (the simulator's dispatcher decides which call fails).

use super::register::create_machine_context;
use crate::sim::Sim;
use crate::sim::errors::{
    Context, E_ACCESSDENIED, NS_ERROR_FAILURE, NS_ERROR_INVALID_ARG, VBOX_E_FILE_ERROR,
    VBOX_E_INVALID_OBJECT_STATE, VBoxError, com_error, plain_error,
};

/// The real error a subcommand prints when `VBOXSIM_FAIL` picks this call.
pub fn injected_error(sim: &Sim, argv: &[String], transient: bool) -> VBoxError {
    let cmd = argv[0].as_str();
    let target = argv.get(1).cloned().unwrap_or_default();
    if transient {
        return com_error(
            &format!("The machine '{target}' is already locked for a session (or being unlocked)"),
            VBOX_E_INVALID_OBJECT_STATE,
            "MachineWrap",
            "IMachine",
            true,
            Context {
                call: "LockMachine(a->session, LockType_Write)",
                file: "VBoxManageModifyVM.cpp",
                line: 587,
            },
        );
    }
    match cmd {
        "startvm" => com_error(
            &format!(
                "The virtual machine '{target}' has terminated unexpectedly during startup with exit code 1 (0x1)"
            ),
            NS_ERROR_FAILURE,
            "MachineWrap",
            "IMachine",
            false,
            Context { call: "LaunchVMProcess", file: "VBoxManageMisc.cpp", line: 727 },
        ),
        "createvm" => com_error(
            "Could not create the directory for the machine (VERR_ACCESS_DENIED)",
            VBOX_E_FILE_ERROR,
            "MachineWrap",
            "IMachine",
            true,
            create_machine_context(sim),
        ),
        "convertfromraw" | "createmedium" | "createhd" => plain_error(&[&format!(
            "Cannot create the disk image \"{}\": VERR_DISK_FULL",
            argv.iter().skip(1).find(|a| a.ends_with(".vmdk") || a.ends_with(".vdi")).cloned().unwrap_or_default()
        )]),
        "hostonlyif" => VBoxError {
            stdout: String::new(),
            stderr: "0%...\nProgress state: NS_ERROR_FAILURE\nVBoxManage: error: Failed to create the host-only adapter\nVBoxManage: error: VBoxNetAdpCtl: Error while adding new interface: failed to open /dev/vboxnetctl: No such file or directory\nVBoxManage: error: Details: code NS_ERROR_FAILURE (0x80004005), component HostNetworkInterfaceWrap, interface IHostNetworkInterface\nVBoxManage: error: Context: \"RTEXITCODE handleCreate(HandlerArg *)\" at line 95 of file VBoxManageHostonly.cpp\n".into(),
            code: 1,
        },
        "controlvm" | "unregistervm" => com_error(
            "The object is not ready",
            E_ACCESSDENIED,
            "ConsoleWrap",
            "IConsole",
            true,
            Context { call: "PowerDown(progress.asOutParam())", file: "VBoxManageControlVM.cpp", line: 1060 },
        ),
        "dhcpserver" => com_error(
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
        ),
        // Settings changes: saving the machine's settings file fails.
        _ => com_error(
            &format!("Could not save the settings file '{target}.vbox' (VERR_DISK_FULL)"),
            VBOX_E_FILE_ERROR,
            "SessionMachine",
            "IMachine",
            true,
            Context { call: "SaveSettings()", file: "VBoxManageModifyVM.cpp", line: 3207 },
        ),
    }
}
