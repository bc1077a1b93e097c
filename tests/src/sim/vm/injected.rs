//! `VBOXSIM_FAIL`: the real error each subcommand prints when the knob picks one of its calls
//! (the simulator's dispatcher decides which call fails).

use super::locked_for_session;
use super::power::terminated_during_startup;
use super::register::create_machine_context;
use crate::sim::Sim;
use crate::sim::errors::{
    Context, E_ACCESSDENIED, VBOX_E_FILE_ERROR, VBoxError, com_error, plain_error,
};
use crate::sim::net::invalid_server_address;

/// The real error a subcommand prints when `VBOXSIM_FAIL` picks this call.
pub fn injected_error(sim: &Sim, argv: &[String], transient: bool) -> VBoxError {
    let cmd = argv[0].as_str();
    let target = argv.get(1).cloned().unwrap_or_default();
    if transient {
        return locked_for_session(&target, 587, "VBoxManageModifyVM.cpp");
    }
    match cmd {
        "startvm" => terminated_during_startup(&target, "with exit code 1 (0x1)"),
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
            argv.iter()
                .skip(1)
                .find(|a| a.ends_with(".vmdk") || a.ends_with(".vdi"))
                .cloned()
                .unwrap_or_default()
        )]),
        "hostonlyif" => VBoxError::stderr(
            "0%...\nProgress state: NS_ERROR_FAILURE\nVBoxManage: error: Failed to create the host-only adapter\nVBoxManage: error: VBoxNetAdpCtl: Error while adding new interface: failed to open /dev/vboxnetctl: No such file or directory\nVBoxManage: error: Details: code NS_ERROR_FAILURE (0x80004005), component HostNetworkInterfaceWrap, interface IHostNetworkInterface\nVBoxManage: error: Context: \"RTEXITCODE handleCreate(HandlerArg *)\" at line 95 of file VBoxManageHostonly.cpp\n",
            1,
        ),
        "controlvm" | "unregistervm" => com_error(
            "The object is not ready",
            E_ACCESSDENIED,
            "ConsoleWrap",
            "IConsole",
            true,
            Context {
                call: "PowerDown(progress.asOutParam())",
                file: "VBoxManageControlVM.cpp",
                line: 1060,
            },
        ),
        "dhcpserver" => invalid_server_address(),
        // Settings changes: saving the machine's settings file fails.
        _ => com_error(
            &format!("Could not save the settings file '{target}.vbox' (VERR_DISK_FULL)"),
            VBOX_E_FILE_ERROR,
            "SessionMachine",
            "IMachine",
            true,
            Context {
                call: "SaveSettings()",
                file: "VBoxManageModifyVM.cpp",
                line: 3207,
            },
        ),
    }
}
