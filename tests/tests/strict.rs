//! The simulator refuses what VirtualBox refuses, with VirtualBox's words and exit statuses, for
//! each emulated version family: modifyvm's range checks and their order, and the disk images
//! VirtualBox's VD backends would not open. The texts, codes and source lines come from
//! VirtualBox's sources (Main's MachineImpl.cpp, GraphicsAdapterImpl.cpp, MediumImpl.cpp;
//! VBoxManageModifyVM.cpp, VBoxManageDisk.cpp; Storage's VD.cpp and VMDK.cpp) as listed in
//! `tests/lab/README.md`'s fidelity table.
//!
//! These drive the `VBoxManage` binary with a private `VBOX_USER_HOME`; none needs root.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use vbox_driver::disk::{userdata_tar, write_vmdk};
use vswarm_lab::sim::vmdk::{
    Probe, probe_vdi, probe_vmdk, sparse_header, spec_findings, validate_image,
};

/// One build of each version family the lab emulates.
const FAMILIES: &[&str] = &[
    "5.2.44r139111",
    "6.0.24r139119",
    "6.1.26r145957",
    "6.1.50r161033",
    "7.0.20r163906",
    "7.1.4r165100",
];

struct Host {
    home: tempfile::TempDir,
    version: &'static str,
}

impl Host {
    fn new(version: &'static str) -> Host {
        Host {
            home: tempfile::tempdir().expect("temp dir"),
            version,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }

    fn vbox(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_VBoxManage"))
            .args(args)
            .env("VBOXSIM_VERSION", self.version)
            .env("VBOX_USER_HOME", self.home.path().join("vbox"))
            .env("HOME", self.home.path())
            .env_remove("VBOXSIM_FAIL")
            .env_remove("VBOXSIM_LOG")
            .stdin(Stdio::null())
            .output()
            .expect("VBoxManage runs")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.vbox(args);
        assert!(
            out.status.success(),
            "{} {args:?}: {}",
            self.version,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn vm(&self, name: &str) {
        let folder = self.path("vms");
        self.ok(&[
            "createvm",
            "--name",
            name,
            "--basefolder",
            folder.to_str().expect("utf-8"),
            "--register",
        ]);
    }

    fn setting(&self, vm: &str, key: &str) -> String {
        let info = self.ok(&["showvminfo", vm, "--machinereadable"]);
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key} in showvminfo of {vm}"))
            .trim_matches('"')
            .to_string()
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn major(version: &str) -> u32 {
    version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0)
}

fn at_least_61(version: &str) -> bool {
    let mut parts = version.split('.');
    let (a, b) = (
        parts
            .next()
            .and_then(|x| x.parse::<u32>().ok())
            .unwrap_or(0),
        parts
            .next()
            .and_then(|x| x.parse::<u32>().ok())
            .unwrap_or(0),
    );
    (a, b) >= (6, 1)
}

/// The source line of each modifyvm check in official builds of `version`: FindMachine,
/// LockMachine, MemorySize, CPUCount, VRAMSize.
fn modifyvm_lines(version: &str) -> (u32, u32, u32, u32, u32) {
    match version {
        v if v.starts_with("5.2.") => (522, 529, 621, 827, 633),
        v if v.starts_with("6.0.") => (524, 531, 612, 830, 624),
        v if v.starts_with("6.1.26") => (547, 554, 638, 856, 650),
        v if v.starts_with("6.1.50") => (568, 575, 659, 877, 671),
        _ => (633, 640, 724, 946, 736),
    }
}

#[test]
fn modifyvm_range_checks_fail_as_virtualbox_fails_in_every_family() {
    for &version in FAMILIES {
        let host = Host::new(version);
        host.vm("strict");
        let (find, _lock, memory_line, cpus_line, vram_line) = modifyvm_lines(version);
        let max_cpus = if major(version) >= 7 { 64 } else { 32 };

        // CPU count 0: the setter's E_INVALIDARG, exit 1, and nothing of the call is saved.
        let out = host.vbox(&["modifyvm", "strict", "--memory", "2048", "--cpus", "0"]);
        assert_eq!(out.status.code(), Some(1), "{version}");
        assert_eq!(
            stderr(&out),
            format!(
                "VBoxManage: error: Invalid virtual CPU count: 0 (must be in range [1, {max_cpus}])\n\
                 VBoxManage: error: Details: code NS_ERROR_INVALID_ARG (0x80070057), component SessionMachine, interface IMachine, callee nsISupports\n\
                 VBoxManage: error: Context: \"COMSETTER(CPUCount)(ValueUnion.u32)\" at line {cpus_line} of file VBoxManageModifyVM.cpp\n"
            ),
            "{version}"
        );
        assert_eq!(host.setting("strict", "memory"), "128", "{version}");
        assert_eq!(host.setting("strict", "cpus"), "1", "{version}");
        let too_many = (max_cpus + 1).to_string();
        let out = host.vbox(&["modifyvm", "strict", "--cpus", &too_many]);
        assert_eq!(out.status.code(), Some(1), "{version}");
        assert!(
            stderr(&out).starts_with(&format!(
                "VBoxManage: error: Invalid virtual CPU count: {too_many} (must be in range [1, {max_cpus}])\n"
            )),
            "{version}: {}",
            stderr(&out)
        );

        // RAM below 4 MB.
        let out = host.vbox(&["modifyvm", "strict", "--memory", "1"]);
        assert_eq!(out.status.code(), Some(1), "{version}");
        assert_eq!(
            stderr(&out),
            format!(
                "VBoxManage: error: Invalid RAM size: 1 MB (must be in range [4, 2097152] MB)\n\
                 VBoxManage: error: Details: code NS_ERROR_INVALID_ARG (0x80070057), component SessionMachine, interface IMachine, callee nsISupports\n\
                 VBoxManage: error: Context: \"COMSETTER(MemorySize)(ValueUnion.u32)\" at line {memory_line} of file VBoxManageModifyVM.cpp\n"
            ),
            "{version}"
        );

        // VRAM above 256 MB: from 6.1 the graphics adapter raises it.
        let out = host.vbox(&["modifyvm", "strict", "--vram", "257"]);
        assert_eq!(out.status.code(), Some(1), "{version}");
        let (component, interface) = if at_least_61(version) {
            ("GraphicsAdapterWrap", "IGraphicsAdapter")
        } else {
            ("SessionMachine", "IMachine")
        };
        assert_eq!(
            stderr(&out),
            format!(
                "VBoxManage: error: Invalid VRAM size: 257 MB (must be in range [0, 256] MB)\n\
                 VBoxManage: error: Details: code NS_ERROR_INVALID_ARG (0x80070057), component {component}, interface {interface}, callee nsISupports\n\
                 VBoxManage: error: Context: \"COMSETTER(VRAMSize)(ValueUnion.u32)\" at line {vram_line} of file VBoxManageModifyVM.cpp\n"
            ),
            "{version}"
        );
        host.ok(&["modifyvm", "strict", "--vram", "0"]);

        // Unknown enum values: errorArgument, then rc = E_FAIL (exit 1, no usage).
        let out = host.vbox(&["modifyvm", "strict", "--nic2", "foo"]);
        assert_eq!(out.status.code(), Some(1), "{version}");
        assert_eq!(
            stderr(&out),
            "VBoxManage: error: Invalid type 'foo' specfied for NIC 2\n",
            "{version}"
        );
        let out = host.vbox(&["modifyvm", "strict", "--nictype2", "foo"]);
        assert_eq!(out.status.code(), Some(1), "{version}");
        assert_eq!(
            stderr(&out),
            "VBoxManage: error: Invalid NIC type 'foo' specified for NIC 2\n",
            "{version}"
        );
        // The one errorArgument that returns at once: exit 2.
        let out = host.vbox(&["modifyvm", "strict", "--boot1", "tape"]);
        assert_eq!(out.status.code(), Some(2), "{version}");
        assert_eq!(
            stderr(&out),
            "VBoxManage: error: Invalid boot device 'tape'\n",
            "{version}"
        );

        // A NIC number the chipset lacks is printed and skipped; the rest is saved, exit 0.
        let out = host.vbox(&["modifyvm", "strict", "--nic9", "nat", "--cpus", "2"]);
        assert_eq!(out.status.code(), Some(0), "{version}");
        assert_eq!(
            stderr(&out),
            "VBoxManage: error: Invalid NIC number 9\n",
            "{version}"
        );
        assert_eq!(host.setting("strict", "cpus"), "2", "{version}");
        host.ok(&["modifyvm", "strict", "--chipset", "ich9"]);
        let out = host.vbox(&["modifyvm", "strict", "--nic9", "nat"]);
        assert!(out.status.success() && stderr(&out).is_empty(), "{version}");

        // An unknown option: the usage and the error, yet exit 1 (the status is not kept).
        let out = host.vbox(&["modifyvm", "strict", "--bogus", "1"]);
        assert_eq!(out.status.code(), Some(1), "{version}");
        assert!(
            stderr(&out).contains("Unknown option: --bogus"),
            "{version}: {}",
            stderr(&out)
        );

        // The machine is found before any option is read.
        let out = host.vbox(&["modifyvm", "nope", "--cpus", "0", "--bogus"]);
        assert_eq!(out.status.code(), Some(1), "{version}");
        let err = stderr(&out);
        assert!(
            err.starts_with(
                "VBoxManage: error: Could not find a registered machine named 'nope'\n"
            ) && err.ends_with(&format!("at line {find} of file VBoxManageModifyVM.cpp\n")),
            "{version}: {err}"
        );
    }
}

/// A small monolithic sparse VMDK as vswarm writes it.
fn vswarm_vmdk(path: &Path) {
    let key =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB0r8dsYDBUSWYtKFk7KGs1vHpW7DCmEPKXxoU5bAvQm vswarm";
    let tar = userdata_tar(key).expect("userdata tar");
    write_vmdk(path, 64 << 20, &tar).expect("vmdk written");
}

fn patch(path: &Path, at: usize, bytes: &[u8]) {
    let mut data = std::fs::read(path).expect("image");
    data[at..at + bytes.len()].copy_from_slice(bytes);
    std::fs::write(path, data).expect("image patched");
}

fn attach(host: &Host, medium: &Path) -> Output {
    host.vbox(&[
        "storageattach",
        "strict",
        "--storagectl",
        "SATA",
        "--port",
        "1",
        "--device",
        "0",
        "--type",
        "hdd",
        "--medium",
        medium.to_str().expect("utf-8"),
    ])
}

fn open_medium_line(version: &str) -> u32 {
    match major(version) {
        5 => 179,
        6 => 191,
        _ => 201,
    }
}

#[test]
fn storageattach_refuses_images_virtualbox_cannot_open_in_every_family() {
    for &version in FAMILIES {
        let host = Host::new(version);
        host.vm("strict");
        host.ok(&["storagectl", "strict", "--name", "SATA", "--add", "sata"]);
        let line = open_medium_line(version);

        // Bad magic (random bytes): no backend claims it.
        let random = host.path("random.vmdk");
        let noise: Vec<u8> = (0..65536u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        std::fs::write(&random, noise).expect("random image");
        let out = attach(&host, &random);
        assert_eq!(out.status.code(), Some(1), "{version}");
        let shown = random.display();
        assert_eq!(
            stderr(&out),
            format!(
                "VBoxManage: error: Could not get the storage format of the medium '{shown}' (VERR_NOT_SUPPORTED)\n\
                 VBoxManage: error: Details: code VBOX_E_IPRT_ERROR (0x80bb0005), component MediumWrap, interface IMedium, callee nsISupports\n\
                 VBoxManage: error: Context: \"OpenMedium(Bstr(pszFilenameOrUuid).raw(), enmDevType, enmAccessMode, fForceNewUuidOnOpen, pMedium.asOutParam())\" at line {line} of file VBoxManageDisk.cpp\n\
                 VBoxManage: error: Invalid UUID or filename \"{shown}\"\n"
            ),
            "{version}"
        );

        // The VMDK magic with a version VirtualBox does not know: the VMDK backend is chosen and
        // cannot tell the image's type.
        let bad_version = host.path("version.vmdk");
        vswarm_vmdk(&bad_version);
        patch(&bad_version, 4, &9u32.to_le_bytes());
        let out = attach(&host, &bad_version);
        assert_eq!(out.status.code(), Some(1), "{version}");
        let shown = bad_version.display();
        let first = if at_least_61(version) {
            format!(
                "VBoxManage: error: The medium '{shown}' can't be used as the requested device type (HDD, detected invalid)\n"
            )
        } else {
            format!(
                "VBoxManage: error: The medium '{shown}' can't be used as the requested device type\n"
            )
        };
        assert!(
            stderr(&out).starts_with(&first),
            "{version}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains(
                "Details: code NS_ERROR_FAILURE (0x80004005), component MediumWrap, interface IMedium"
            ),
            "{version}"
        );

        // A grain of 7 sectors (not a power of two): "invalid header", so no backend claims it.
        let bad_grain = host.path("grain.vmdk");
        vswarm_vmdk(&bad_grain);
        patch(&bad_grain, 20, &7u64.to_le_bytes());
        let out = attach(&host, &bad_grain);
        assert_eq!(out.status.code(), Some(1), "{version}");
        assert!(
            stderr(&out).starts_with("VBoxManage: error: Could not get the storage format"),
            "{version}: {}",
            stderr(&out)
        );

        // vswarm's own image is opened and attached.
        let good = host.path("good.vmdk");
        vswarm_vmdk(&good);
        let out = attach(&host, &good);
        assert!(out.status.success(), "{version}: {}", stderr(&out));
    }
}

#[test]
fn every_image_vswarm_writes_passes_the_virtualbox_rules() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB0r8dsYDBUSWYtKFk7KGs1vHpW7DCmEPKXxoU5bAvQm vswarm";
    let tar = userdata_tar(key).expect("userdata tar");
    // The smallest disk vswarm accepts, docker-machine's default, and a large one.
    for mb in [2000u64, 20_000, 500_000] {
        let path = dir.path().join(format!("disk-{mb}.vmdk"));
        write_vmdk(&path, mb << 20, &tar).expect("image written");
        assert_eq!(
            probe_vmdk(&path).expect("probe"),
            Probe::Claimed,
            "{}",
            path.display()
        );
        assert_eq!(
            spec_findings(&path).expect("spec"),
            Vec::<String>::new(),
            "{}",
            path.display()
        );
        assert_eq!(validate_image(&path), Ok(()), "{}", path.display());
        let header = sparse_header(&path)
            .expect("read")
            .expect("a sparse header");
        assert_eq!(header.capacity * 512, mb << 20);
        assert_eq!(header.grain_size, 128);
    }
}

#[test]
fn corrupted_images_are_refused_and_spec_violations_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = dir.path().join("base.vmdk");
    vswarm_vmdk(&base);
    let copy = |name: &str| {
        let p = dir.path().join(name);
        std::fs::copy(&base, &p).expect("copy");
        p
    };

    let magic = copy("magic.vmdk");
    patch(&magic, 0, b"XDMV");
    assert!(
        matches!(probe_vmdk(&magic).expect("probe"), Probe::NotMine { why } if why.contains("does not start as expected")),
        "bad magic"
    );

    for grain in [0u64, 4, 96, 100] {
        let p = copy(&format!("grain-{grain}.vmdk"));
        patch(&p, 20, &grain.to_le_bytes());
        let got = probe_vmdk(&p).expect("probe");
        assert!(
            matches!(&got, Probe::NotMine { why } if why.contains("grain")),
            "grain {grain}: {got:?}"
        );
    }

    let tables = copy("gt.vmdk");
    patch(&tables, 44, &64u32.to_le_bytes());
    assert!(matches!(
        probe_vmdk(&tables).expect("probe"),
        Probe::NotMine { why } if why.contains("grain table cache size problem")
    ));

    let descriptor = copy("descriptor.vmdk");
    patch(&descriptor, 512, b"# Not a descriptor");
    assert!(matches!(
        probe_vmdk(&descriptor).expect("probe"),
        Probe::NotMine { why } if why.contains("descriptor does not start as expected")
    ));

    // VirtualBox does not check that the capacity is a multiple of the grain (its source says
    // the check was dropped); VMware's specification asks it, and the lab names it.
    let capacity = copy("capacity.vmdk");
    let sectors = (64u64 << 20) / 512 + 3;
    patch(&capacity, 12, &sectors.to_le_bytes());
    assert_eq!(probe_vmdk(&capacity).expect("probe"), Probe::Claimed);
    let found = spec_findings(&capacity).expect("spec");
    assert_eq!(
        found,
        vec![format!(
            "capacity {sectors} sectors is not a multiple of the grain (128 sectors)"
        )]
    );

    // The lab's validation refuses all three kinds of damage.
    for (damaged, why) in [
        (&magic, "does not start as expected"),
        (
            &dir.path().join("grain-4.vmdk"),
            "invalid extent grain size 4",
        ),
        (&capacity, "not a multiple of the grain"),
    ] {
        let refused = validate_image(damaged).expect_err("damaged image refused");
        assert!(refused.contains(why), "{refused}");
    }

    let vdi = dir.path().join("bad.vdi");
    std::fs::write(&vdi, vec![0u8; 4096]).expect("vdi");
    assert!(matches!(
        probe_vdi(&vdi).expect("probe"),
        Probe::NotMine { .. }
    ));
}

#[test]
fn virtualbox_7_takes_the_dashed_spellings_and_older_versions_do_not() {
    for &version in FAMILIES {
        let host = Host::new(version);
        host.vm("dash");
        let out = host.vbox(&[
            "modifyvm",
            "dash",
            "--nic-type1",
            "virtio",
            "--nat-pf1",
            "ssh,tcp,127.0.0.1,52022,,22",
            "--nat-localhostreachable1",
            "on",
        ]);
        if major(version) >= 7 {
            assert!(out.status.success(), "{version}: {}", stderr(&out));
            assert_eq!(host.setting("dash", "nictype1"), "virtio", "{version}");
            assert_eq!(
                host.setting("dash", "Forwarding(0)"),
                "ssh,tcp,127.0.0.1,52022,,22",
                "{version}"
            );
        } else {
            assert_eq!(out.status.code(), Some(1), "{version}");
            assert!(
                stderr(&out).contains("Unknown option: --nic-type1"),
                "{version}: {}",
                stderr(&out)
            );
        }
    }
}

/// Marks `vm` running in the simulator's registry, held by this test's own (live) process, as
/// if a VM process had it: what VirtualBox's session lock looks like, without booting a guest.
fn hold_running(host: &Host, vm: &str) {
    let path = host.home.path().join("vbox/vboxsim.json");
    let text = std::fs::read_to_string(&path).expect("registry");
    let mut reg: serde_json::Value = serde_json::from_str(&text).expect("registry json");
    let vms = reg["vms"].as_array_mut().expect("vms");
    let entry = vms
        .iter_mut()
        .find(|v| v["name"] == vm)
        .expect("the VM in the registry");
    entry["state"] = "running".into();
    entry["session_pid"] = std::process::id().into();
    std::fs::write(&path, serde_json::to_string(&reg).expect("json")).expect("registry written");
}

#[test]
fn a_running_vm_is_locked_for_modifyvm_before_its_options_are_read_in_every_family() {
    for &version in FAMILIES {
        let host = Host::new(version);
        host.vm("held");
        hold_running(&host, "held");
        let (_, lock, ..) = modifyvm_lines(version);
        // Even an out-of-range value is not reached: the lock is taken first.
        let out = host.vbox(&["modifyvm", "held", "--cpus", "0"]);
        assert_eq!(out.status.code(), Some(1), "{version}");
        assert_eq!(
            stderr(&out),
            format!(
                "VBoxManage: error: The machine 'held' is already locked for a session (or being unlocked)\n\
                 VBoxManage: error: Details: code VBOX_E_INVALID_OBJECT_STATE (0x80bb0007), component MachineWrap, interface IMachine, callee nsISupports\n\
                 VBoxManage: error: Context: \"LockMachine(a->session, LockType_Write)\" at line {lock} of file VBoxManageModifyVM.cpp\n"
            ),
            "{version}"
        );
        assert_eq!(host.setting("held", "cpus"), "1", "{version}");
        let out = host.vbox(&["unregistervm", "held", "--delete"]);
        assert_eq!(out.status.code(), Some(1), "{version}");
        assert!(
            stderr(&out).starts_with(
                "VBoxManage: error: Cannot unregister the machine 'held' while it is locked\n"
            ),
            "{version}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn guestproperty_wait_succeeds_on_a_timeout_unless_told_to_fail_in_every_family() {
    for &version in FAMILIES {
        let host = Host::new(version);
        host.vm("quiet");
        let wait = |extra: &[&str]| {
            let mut args = vec![
                "guestproperty",
                "wait",
                "quiet",
                "/VirtualBox/GuestInfo/Net/1/V4/IP",
                "--timeout",
                "100",
            ];
            args.extend_from_slice(extra);
            host.vbox(&args)
        };
        let message = "Time out or interruption while waiting for a notification.\n";
        let (on_stdout, on_stderr) = if major(version) == 5 {
            (message.to_string(), String::new())
        } else {
            (String::new(), format!("VBoxManage: error: {message}"))
        };
        for (extra, code) in [(&[][..], 0), (&["--fail-on-timeout"][..], 2)] {
            let out = wait(extra);
            assert_eq!(out.status.code(), Some(code), "{version} {extra:?}");
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                on_stdout,
                "{version} {extra:?}"
            );
            assert_eq!(stderr(&out), on_stderr, "{version} {extra:?}");
        }
    }
}
