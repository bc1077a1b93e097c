//! The simulator's outputs compared byte for byte with real VirtualBox captures
//! (`vbox-driver/tests/samples/`, sources in its README), for each emulated version family.
//!
//! These drive the `VBoxManage` binary with a private `VBOX_USER_HOME`; none needs root.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn sample(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../vbox-driver/tests/samples")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

struct Box {
    home: tempfile::TempDir,
}

impl Box {
    fn new() -> Box {
        Box {
            home: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self) -> PathBuf {
        self.home.path().to_path_buf()
    }

    fn vbox(&self, version: &str, args: &[&str]) -> Output {
        self.vbox_stdin(version, args, None)
    }

    fn vbox_stdin(&self, version: &str, args: &[&str], stdin: Option<&[u8]>) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_VBoxManage"))
            .args(args)
            .env("VBOXSIM_VERSION", version)
            .env("VBOX_USER_HOME", self.home.path().join("vbox"))
            .env("HOME", self.home.path())
            .env_remove("VBOXSIM_FAIL")
            .env_remove("VBOXSIM_LOG")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("VBoxManage runs");
        if let Some(data) = stdin {
            let mut pipe = child.stdin.take().expect("stdin");
            // VBoxManage may refuse the call before reading its input (an odd size): then
            // the pipe is closed, and its exit status and stderr tell what happened.
            let _ = pipe.write_all(data);
        }
        child.wait_with_output().expect("VBoxManage finishes")
    }
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn version_strings_print_as_real_builds_print_them() {
    let b = Box::new();
    for v in [
        "5.0.0r101573",
        "5.2.4r119785",
        "6.1.26r145957",
        "7.0.2r154219",
        "7.1.4r165100",
        "6.1.38_Ubuntur153438",
        "5.1.6_Debianr110634",
    ] {
        let o = b.vbox(v, &["--version"]);
        assert_eq!(out(&o), format!("{v}\n"));
        assert_eq!(o.status.code(), Some(0));
    }
}

fn add_dhcp(b: &Box, version: &str, net: &str, ip: &str, lower: &str, upper: &str) {
    let o = b.vbox(
        version,
        &[
            "dhcpserver",
            "add",
            "--netname",
            net,
            "--ip",
            ip,
            "--netmask",
            "255.255.255.0",
            "--lowerip",
            lower,
            "--upperip",
            upper,
            "--enable",
        ],
    );
    assert!(o.status.success(), "{}", err(&o));
}

#[test]
fn dhcpservers_in_the_5_x_layout() {
    let b = Box::new();
    let v = "5.2.44r139111";
    add_dhcp(
        &b,
        v,
        "HostInterfaceNetworking-VirtualBox Host-Only Ethernet Adapter",
        "192.168.56.100",
        "192.168.56.101",
        "192.168.56.254",
    );
    add_dhcp(
        &b,
        v,
        "HostInterfaceNetworking-VirtualBox Host-Only Ethernet Adapter #4",
        "192.168.99.6",
        "192.168.99.100",
        "192.168.99.254",
    );
    assert_eq!(
        out(&b.vbox(v, &["list", "dhcpservers"])),
        sample("dhcpservers-5.0-windows.txt")
    );
}

#[test]
fn dhcpservers_in_the_6_0_and_6_1_layouts() {
    for (v, file) in [
        ("6.0.24r139119", "dhcpservers-6.0.txt"),
        ("6.1.26r145957", "dhcpservers-6.1.txt"),
        ("7.0.20r163906", "dhcpservers-6.1.txt"),
        ("7.1.4r165100", "dhcpservers-6.1.txt"),
    ] {
        let b = Box::new();
        add_dhcp(
            &b,
            v,
            "HostInterfaceNetworking-vboxnet0",
            "172.28.128.2",
            "172.28.128.3",
            "172.28.128.254",
        );
        assert_eq!(
            out(&b.vbox(v, &["list", "dhcpservers"])),
            sample(file),
            "{v}"
        );
    }
}

#[test]
fn dhcpserver_errors_follow_each_handler() {
    let b = Box::new();
    add_dhcp(
        &b,
        "6.1.26r145957",
        "n1",
        "10.9.0.2",
        "10.9.0.3",
        "10.9.0.9",
    );
    let o = b.vbox(
        "6.1.26r145957",
        &[
            "dhcpserver",
            "add",
            "--netname",
            "n1",
            "--ip",
            "10.9.0.2",
            "--netmask",
            "255.255.255.0",
            "--lowerip",
            "10.9.0.3",
            "--upperip",
            "10.9.0.9",
        ],
    );
    assert_eq!(
        (err(&o).as_str(), o.status.code()),
        ("VBoxManage: error: DHCP server already exists\n", Some(2))
    );
    let o = b.vbox(
        "6.1.26r145957",
        &["dhcpserver", "remove", "--netname", "nope"],
    );
    assert_eq!(
        (err(&o).as_str(), o.status.code()),
        (
            "VBoxManage: error: Failed to find DHCP server for network 'nope'\n",
            Some(1)
        )
    );
    let o = b.vbox(
        "5.2.44r139111",
        &["dhcpserver", "remove", "--netname", "nope"],
    );
    assert_eq!(
        (err(&o).as_str(), o.status.code()),
        ("VBoxManage: error: DHCP server does not exist\n", Some(2))
    );
}

#[test]
fn createvm_prints_what_5_0_printed() {
    let b = Box::new();
    let base = b.path().join("machine/machines/dev");
    // Registers a VM named dev in `base`, with `more` arguments.
    let create_dev = |version: &str, more: &[&str]| {
        let mut args = vec![
            "createvm",
            "--basefolder",
            base.to_str().unwrap(),
            "--name",
            "dev",
            "--register",
        ];
        args.extend_from_slice(more);
        b.vbox(version, &args)
    };
    let o = create_dev(
        "5.0.0r101573",
        &["--uuid", "f996e6f2-a281-4eb1-8bd2-8607871a74c1"],
    );
    let expected = sample("createvm-5.0.0-macos.txt").replace(
        "/Users/xxxxxxx/.docker/machine",
        &b.path().join("machine").display().to_string(),
    );
    assert_eq!(out(&o), expected);
    assert!(base.join("dev/dev.vbox").is_file());
    // Again: the settings file exists.
    let o = create_dev("6.1.26r145957", &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).starts_with(&format!(
        "VBoxManage: error: Machine settings file '{}' already exists\nVBoxManage: error: Details: code VBOX_E_FILE_ERROR (0x80bb0004), component MachineWrap, interface IMachine, callee nsISupports\nVBoxManage: error: Context: \"CreateMachine(bstrSettingsFile.raw(), bstrName.raw(), ComSafeArrayAsInParam(groups), bstrOsTypeId.raw(), createFlags.raw(), machine.asOutParam())\" at line 274 of file VBoxManageMisc.cpp\n",
        base.join("dev/dev.vbox").display()
    )), "{}", err(&o));
}

#[test]
fn convertfromraw_from_stdin_reports_like_5_0() {
    let b = Box::new();
    let dest = b.path().join("machine/machines/dev");
    std::fs::create_dir_all(&dest).unwrap();
    let disk = dest.join("disk.vmdk");
    let size: usize = 64 << 20;
    let mut raw = vec![0u8; size];
    raw[..29].copy_from_slice(b"boot2docker, please format-me");
    let o = b.vbox_stdin(
        "5.0.0r101573",
        &[
            "convertfromraw",
            "stdin",
            disk.to_str().unwrap(),
            &size.to_string(),
            "--format",
            "VMDK",
        ],
        Some(&raw),
    );
    assert!(o.status.success(), "{}", err(&o));
    let expected = sample("convertfromraw-stdin-5.0.0-macos.stderr.txt")
        .replace(
            "/Users/xxxxxxx/.docker/machine",
            &b.path().join("machine").display().to_string(),
        )
        .replace(
            "20971520000 bytes (20000MB)",
            &format!("{size} bytes ({}MB)", size >> 20),
        );
    assert_eq!(err(&o), expected);
    assert_eq!(out(&o), "");
    // A real monolithic sparse VMDK, which qemu-img (and so VirtualBox's format) accepts.
    let check = Command::new("qemu-img")
        .args(["check", "-f", "vmdk"])
        .arg(&disk)
        .output()
        .expect("qemu-img");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let head = std::fs::read(&disk).unwrap();
    assert_eq!(&head[..4], b"KDMV");
    // An odd size is refused as VirtualBox refuses it.
    let o = b.vbox_stdin(
        "5.0.0r101573",
        &[
            "convertfromraw",
            "stdin",
            dest.join("odd.vmdk").to_str().unwrap(),
            "27277434",
        ],
        Some(&[0u8; 512]),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).ends_with("VBoxManage: error: VD: The given disk size 27277434 is not aligned on a sector boundary (512 bytes)\n"), "{}", err(&o));
}

#[test]
fn unknown_machines_are_reported_as_7_0_reports_them() {
    let b = Box::new();
    let o = b.vbox(
        "7.0.10r158379",
        &["showvminfo", "xtec-4", "--machinereadable"],
    );
    assert_eq!(err(&o), sample("unknown-vm-7.0.stderr.txt"));
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(out(&o), "");
}

#[test]
fn deleting_a_missing_nat_rule_fails_as_5_0_did() {
    let b = Box::new();
    assert!(
        b.vbox(
            "5.0.0r101573",
            &["createvm", "--name", "default", "--register"]
        )
        .status
        .success()
    );
    let o = b.vbox(
        "5.0.0r101573",
        &["modifyvm", "default", "--natpf1", "delete", "ssh"],
    );
    assert_eq!(err(&o), sample("natpf-delete-missing-5.0-macos.stderr.txt"));
    assert_eq!(o.status.code(), Some(1));
    // Added, then deleted by name.
    let o = b.vbox(
        "5.0.0r101573",
        &[
            "modifyvm",
            "default",
            "--natpf1",
            "ssh,tcp,127.0.0.1,2222,,22",
        ],
    );
    assert!(o.status.success(), "{}", err(&o));
    let info = out(&b.vbox(
        "5.0.0r101573",
        &["showvminfo", "default", "--machinereadable"],
    ));
    assert!(
        info.contains("Forwarding(0)=\"ssh,tcp,127.0.0.1,2222,,22\"\n"),
        "{info}"
    );
    let o = b.vbox(
        "5.0.0r101573",
        &["modifyvm", "default", "--natpf1", "delete", "ssh"],
    );
    assert!(o.status.success(), "{}", err(&o));
}

#[test]
fn host_only_ranges_are_refused_with_the_6_1_28_text() {
    let b = Box::new();
    // A registered interface, as `hostonlyif create` leaves it (creating it needs root).
    let home = b.path().join("vbox");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("vboxsim.json"),
        r#"{"hostonlyifs":[{"name":"vboxnet0","guid":"786f6276-656e-4074-8000-0a0027000000","mac":"0a:00:27:00:00:00","dhcp":false,"ip":"192.168.56.1","netmask":"255.255.255.0"}]}"#,
    )
    .unwrap();
    let o = b.vbox(
        "6.1.28r147628",
        &[
            "hostonlyif",
            "ipconfig",
            "vboxnet0",
            "--ip",
            "192.168.99.1",
            "--netmask",
            "255.255.255.0",
        ],
    );
    assert_eq!(err(&o), sample("range-denied-6.1.28.stderr.txt"));
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn syntax_errors_carry_each_version_logo_and_layout() {
    let b = Box::new();
    let o = b.vbox("7.0.20r163906", &["list2"]);
    assert!(
        err(&o).starts_with(&sample("invalid-command-7.0.20.stderr-head.txt")),
        "{}",
        err(&o)
    );
    assert_eq!(o.status.code(), Some(2));
    let o = b.vbox("7.1.4r165100", &["frob"]);
    assert!(
        err(&o).starts_with(&sample("logo-7.1.4.txt")),
        "{}",
        err(&o)
    );
    // Before 7.0: logo, the command's usage, then the getopt error.
    let o = b.vbox("6.1.26r145957", &["createvm", "--name", "x", "--bogus"]);
    let e = err(&o);
    assert!(e.starts_with("Oracle VM VirtualBox Command Line Management Interface Version 6.1.26\n(C) 2005-2021 Oracle Corporation\nAll rights reserved.\n\nUsage:\n\nVBoxManage createvm         --name <name>\n"), "{e}");
    assert!(
        e.ends_with("\n\nVBoxManage: error: Unknown option: --bogus\n"),
        "{e}"
    );
    assert_eq!(o.status.code(), Some(2));
    // A command with no arguments prints its usage on stdout and exits 1.
    let o = b.vbox("6.1.26r145957", &["startvm"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        out(&o).starts_with("Usage:\n\nVBoxManage startvm"),
        "{}",
        out(&o)
    );
}

#[test]
fn concurrent_calls_keep_the_registry_whole() {
    let b = std::sync::Arc::new(Box::new());
    let threads: Vec<_> = (0..12)
        .map(|i| {
            let b = b.clone();
            std::thread::spawn(move || {
                let name = format!("vm-{i}");
                let o = b.vbox(
                    "7.0.20r163906",
                    &["createvm", "--name", &name, "--register"],
                );
                assert!(o.status.success(), "{}", err(&o));
                let o = b.vbox(
                    "7.0.20r163906",
                    &[
                        "modifyvm",
                        &name,
                        "--cpus",
                        "2",
                        "--memory",
                        "512",
                        "--natpf1",
                        "ssh,tcp,127.0.0.1,2222,,22",
                    ],
                );
                assert!(o.status.success(), "{}", err(&o));
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let listed = out(&b.vbox("7.0.20r163906", &["list", "vms"]));
    assert_eq!(listed.lines().count(), 12, "{listed}");
    for i in 0..12 {
        let info = out(&b.vbox(
            "7.0.20r163906",
            &["showvminfo", &format!("vm-{i}"), "--machinereadable"],
        ));
        assert!(
            info.contains("\ncpus=2\n") && info.contains("\nmemory=512\n"),
            "{info}"
        );
    }
}

#[test]
fn call_log_and_latency_knobs() {
    let b = Box::new();
    let log = b.path().join("calls.jsonl");
    let o = Command::new(env!("CARGO_BIN_EXE_VBoxManage"))
        .args(["showvminfo", "nope"])
        .env("VBOX_USER_HOME", b.path().join("vbox"))
        .env("VBOXSIM_LOG", &log)
        .env("VBOXSIM_CALL_MS", "150")
        .output()
        .expect("VBoxManage runs");
    assert_eq!(o.status.code(), Some(1));
    let line = std::fs::read_to_string(&log).expect("log written");
    let v: serde_json::Value = serde_json::from_str(line.trim()).expect("one JSON line");
    assert_eq!(v["argv"], serde_json::json!(["showvminfo", "nope"]));
    assert_eq!(v["status"], 1);
    assert!(
        v["start_ms"]
            .as_u64()
            .is_some_and(|ms| ms > 1_700_000_000_000),
        "{v}"
    );
    // The latency is part of the call's duration.
    assert!(v["duration_ms"].as_u64().is_some_and(|ms| ms >= 150), "{v}");
}

#[test]
fn injected_failures_hit_the_nth_call_and_change_nothing() {
    let b = Box::new();
    assert!(
        b.vbox("6.1.26r145957", &["createvm", "--name", "f", "--register"])
            .status
            .success()
    );
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_VBoxManage"))
            .args(args)
            .env("VBOXSIM_VERSION", "6.1.26r145957")
            .env("VBOX_USER_HOME", b.path().join("vbox"))
            .env("VBOXSIM_FAIL", "modifyvm:2:transient")
            .output()
            .expect("VBoxManage runs")
    };
    assert!(run(&["modifyvm", "f", "--cpus", "2"]).status.success());
    let second = run(&["modifyvm", "f", "--cpus", "3"]);
    assert_eq!(second.status.code(), Some(1));
    assert!(err(&second).starts_with("VBoxManage: error: The machine 'f' is already locked for a session (or being unlocked)\n"), "{}", err(&second));
    let info = out(&b.vbox("6.1.26r145957", &["showvminfo", "f", "--machinereadable"]));
    assert!(
        info.contains("\ncpus=2\n"),
        "the failed call changed nothing: {info}"
    );
    assert!(run(&["modifyvm", "f", "--cpus", "4"]).status.success());
    let info = out(&b.vbox("6.1.26r145957", &["showvminfo", "f", "--machinereadable"]));
    assert!(info.contains("\ncpus=4\n"), "{info}");
}
