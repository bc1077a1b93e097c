//! Test fixtures for the `showvminfo` listing: VMs as `createvm` leaves them and as
//! docker-machine (the minikube capture of the reference) configures them, and line checks.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::sim::state::{
    Attachment, GuestProperty, Medium, Nic, Registry, SharedFolder, StorageController, Vm, VmState,
};
use crate::sim::version::SimVersion;

const ISO_UUID: &str = "e19bbcd1-04d1-4c45-b05a-07bf985467e0";
const VMDK_UUID: &str = "adc5121f-6e26-48ab-ba4b-ca777f440673";

pub(super) fn version(s: &str) -> SimVersion {
    SimVersion::parse(s).unwrap()
}

/// A VM as `createvm --name NAME --register` leaves it.
pub(super) fn created_vm(name: &str, dir: &str) -> Vm {
    let mut nics: Vec<Nic> = (0..8)
        .map(|i| Nic::new(format!("08002700000{i}")))
        .collect();
    nics[0].attachment = "nat".into();
    Vm {
        name: name.into(),
        uuid: "c920483a-6afe-428f-ba48-e3f81db2be7c".into(),
        cfg_file: PathBuf::from(format!("{dir}/{name}/{name}.vbox")),
        settings: BTreeMap::new(),
        nics,
        controllers: Vec::new(),
        shared_folders: Vec::new(),
        extradata: BTreeMap::new(),
        guest_properties: BTreeMap::new(),
        state: VmState::Poweroff,
        state_change_time: "2021-08-19T15:32:34.902000000".into(),
        session_pid: None,
        unlocking_until_ms: 0,
    }
}

/// The docker-machine/minikube VM of the reference (kubernetes/minikube#12311 values), and
/// the registry holding its media.
pub(super) fn docker_machine_vm(memory: &str, cpus: &str, nictype: &str) -> (Registry, Vm) {
    let machines = "/Users/sde3/.minikube/machines/minikube";
    let mut vm = created_vm("minikube", machines);
    for (k, v) in [
        ("firmware", "BIOS"),
        ("ostype", "Linux26_64"),
        ("cpus", cpus),
        ("memory", memory),
        ("acpi", "on"),
        ("ioapic", "on"),
        ("rtcuseutc", "on"),
        ("cpuhotplug", "off"),
        ("pae", "on"),
        ("hpet", "on"),
        ("hwvirtex", "on"),
        ("nestedpaging", "on"),
        ("largepages", "on"),
        ("vtxvpid", "on"),
        ("accelerate3d", "off"),
        ("boot1", "dvd"),
    ] {
        vm.settings.insert(k.into(), v.into());
    }
    let nat = &mut vm.nics[0];
    nat.attachment = "nat".into();
    nat.nictype = nictype.into();
    nat.mac = "080027DC3858".into();
    nat.nat_settings
        .insert("natdnshostresolver".into(), "off".into());
    nat.nat_settings.insert("natdnsproxy".into(), "off".into());
    nat.forwarding.push("ssh,tcp,127.0.0.1,49545,,22".into());
    let hostonly = &mut vm.nics[1];
    hostonly.attachment = "hostonly".into();
    hostonly.nictype = nictype.into();
    hostonly.hostonly_adapter = "vboxnet0".into();
    hostonly.mac = "080027AFB224".into();
    vm.controllers.push(StorageController {
        name: "SATA".into(),
        controller_type: "IntelAhci".into(),
        bus: "sata".into(),
        port_count: 30,
        max_port_count: 30,
        host_io_cache: true,
        bootable: true,
        attachments: vec![
            Attachment {
                port: 0,
                device: 0,
                kind: "dvddrive".into(),
                medium: Some(ISO_UUID.into()),
            },
            Attachment {
                port: 1,
                device: 0,
                kind: "hdd".into(),
                medium: Some(VMDK_UUID.into()),
            },
        ],
    });
    let mut reg = Registry::default();
    reg.media.push(Medium {
        uuid: ISO_UUID.into(),
        location: PathBuf::from(format!("{machines}/boot2docker.iso")),
        device: "dvd".into(),
        format: "RAW".into(),
    });
    reg.media.push(Medium {
        uuid: VMDK_UUID.into(),
        location: PathBuf::from(format!("{machines}/disk.vmdk")),
        device: "hdd".into(),
        format: "VMDK".into(),
    });
    (reg, vm)
}

/// The NIC lines of `docker_machine_vm(_, _, "82540EM")` (NAT with its ssh rule, host-only,
/// and of the unused adapters the first and the last), and the line after them.
pub(super) const DOCKER_MACHINE_NICS: &[&str] = &[
    "natnet1=\"nat\"",
    "macaddress1=\"080027DC3858\"",
    "cableconnected1=\"on\"",
    "nic1=\"nat\"",
    "nictype1=\"82540EM\"",
    "nicspeed1=\"0\"",
    "mtu=\"0\"",
    "sockSnd=\"64\"",
    "sockRcv=\"64\"",
    "tcpWndSnd=\"64\"",
    "tcpWndRcv=\"64\"",
    "Forwarding(0)=\"ssh,tcp,127.0.0.1,49545,,22\"",
    "hostonlyadapter2=\"vboxnet0\"",
    "macaddress2=\"080027AFB224\"",
    "cableconnected2=\"on\"",
    "nic2=\"hostonly\"",
    "nictype2=\"82540EM\"",
    "nicspeed2=\"0\"",
    "nic3=\"none\"",
    "nic8=\"none\"",
    "hidpointing=\"ps2mouse\"",
];

/// Hardware virtualisation as 7.x lists it for the docker-machine VM.
pub(super) const HWVIRT_7: &[&str] = &[
    "hwvirtex=\"on\"",
    "nestedpaging=\"on\"",
    "largepages=\"on\"",
    "vtxvpid=\"on\"",
    "vtxux=\"on\"",
    "virtvmsavevmload=\"on\"",
];

/// Recording of screen 0 as 6.1.36 and later list it when never configured, up to its
/// destination.
pub(super) const RECORDING_SCREEN0: &[&str] = &[
    "recording_enabled=\"off\"",
    "recording_screens=1",
    " rec_screen0",
    "rec_screen_enabled=\"on\"",
    "rec_screen_id=0",
    "rec_screen_video_enabled=\"on\"",
    "rec_screen_audio_enabled=\"off\"",
    "rec_screen_dest=\"File\"",
];

/// Running, with the Guest Additions reporting as in the 6.1.26 capture.
pub(super) fn make_running(vm: &mut Vm) {
    vm.state = VmState::Running;
    let ts = 1_629_387_175_471_000_000u128;
    for (k, v) in [
        ("/VirtualBox/GuestAdd/Version", "5.2.42"),
        ("/VirtualBox/GuestAdd/Revision", "137960"),
    ] {
        vm.guest_properties.insert(
            k.into(),
            GuestProperty {
                value: v.into(),
                timestamp: ts,
                flags: String::new(),
            },
        );
    }
}

pub(super) fn share(vm: &mut Vm, name: &str, path: &str) {
    vm.shared_folders.push(SharedFolder {
        name: name.into(),
        host_path: path.into(),
        automount: false,
        transient: false,
    });
}

/// Every line of `expected` is a whole line of `text`, in this order.
pub(super) fn assert_in_order(text: &str, expected: &[&str]) {
    let lines: Vec<&str> = text.lines().collect();
    let mut at = 0;
    for want in expected {
        match lines[at..].iter().position(|l| l == want) {
            Some(p) => at += p + 1,
            None => panic!("missing (in order) line {want:?} in:\n{text}"),
        }
    }
}

pub(super) fn keys(text: &str) -> Vec<&str> {
    text.lines()
        .map(|l| l.split_once('=').map_or(l, |(k, _)| k))
        .collect()
}
