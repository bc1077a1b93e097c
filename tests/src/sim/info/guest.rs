//! The listing's last lines while a VM runs: the guest's OS type and what its guest additions
//! report (run level, version, facilities).

use super::{esc, n, q};
use crate::sim::state::Vm;

/// The console's guest lines: OS type, Additions run level, version and facilities.
pub(super) fn guest(o: &mut String, vm: &Vm) {
    q(
        o,
        "GuestOSType",
        &esc(vm.setting("ostype").unwrap_or("Other")),
    );
    let additions = vm
        .guest_properties
        .get("/VirtualBox/GuestAdd/Version")
        .filter(|p| !p.value.is_empty());
    let Some(additions) = additions else {
        n(o, "GuestAdditionsRunLevel", 0);
        return;
    };
    // boot2docker-like guests reach the userland run level.
    n(o, "GuestAdditionsRunLevel", 2);
    let revision: u32 = vm
        .guest_properties
        .get("/VirtualBox/GuestAdd/Revision")
        .and_then(|p| p.value.parse().ok())
        .unwrap_or(0);
    q(
        o,
        "GuestAdditionsVersion",
        &format!("{} r{revision}", additions.value),
    );
    // The facilities a boot2docker guest reports, in facility-type order, with the delays
    // between their updates seen in a real 6.1.26 capture.
    let t = additions.timestamp / 1_000_000;
    for (name, status, delay) in [
        ("VirtualBox Base Driver", 50, 0),
        ("VirtualBox System Service", 50, 340),
        ("Seamless Mode", 0, 1267),
        ("Graphics Mode", 0, 0),
    ] {
        o.push_str(&format!(
            "GuestAdditionsFacility_{name}={status},{}\n",
            t + delay
        ));
    }
}
