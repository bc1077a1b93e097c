//! The listing's storage section: each controller, then each port and device with its medium
//! (the keys and their suffixes vary by version).

use super::{esc, q};
use crate::sim::state::{Registry, Vm};
use crate::sim::version::SimVersion;

/// The storage controllers and their ports' media.
pub(super) fn storage(o: &mut String, v: &SimVersion, reg: &Registry, vm: &Vm) {
    let v7 = v.major >= 7;
    // hot-pluggable/nonrotational/discard per medium from 6.1.36 (first build unknown).
    let v6136 = v.at_least(6, 1, 36);
    // Controller names and medium paths are escaped from 7.0.
    let e = |x: &str| if v7 { esc(x) } else { x.to_string() };
    for (i, c) in vm.controllers.iter().enumerate() {
        // Controllers on the same bus are numbered in creation order.
        let instance = vm.controllers[..i]
            .iter()
            .filter(|p| p.bus == c.bus)
            .count();
        q(o, &format!("storagecontrollername{i}"), &e(&c.name));
        q(o, &format!("storagecontrollertype{i}"), &c.controller_type);
        q(
            o,
            &format!("storagecontrollerinstance{i}"),
            &instance.to_string(),
        );
        q(
            o,
            &format!("storagecontrollermaxportcount{i}"),
            &c.max_port_count.to_string(),
        );
        q(
            o,
            &format!("storagecontrollerportcount{i}"),
            &c.port_count.to_string(),
        );
        q(
            o,
            &format!("storagecontrollerbootable{i}"),
            if c.bootable { "on" } else { "off" },
        );
    }
    for c in &vm.controllers {
        let name = e(&c.name);
        let devices = match c.bus.as_str() {
            "ide" | "floppy" => 2,
            _ => 1,
        };
        // Printed only for controllers named SATA or USB (a VirtualBox quirk).
        let hot =
            v6136 && (c.name.eq_ignore_ascii_case("SATA") || c.name.eq_ignore_ascii_case("USB"));
        for port in 0..c.port_count {
            for device in 0..devices {
                let pd = format!("-{port}-{device}");
                // Up to 6.1 only the path and ImageUUID keys carry the port and device.
                let sfx = if v7 { pd.as_str() } else { "" };
                let Some(a) = c
                    .attachments
                    .iter()
                    .find(|a| a.port == port && a.device == device)
                else {
                    q(o, &format!("\"{name}{pd}\""), "none");
                    continue;
                };
                let dvd = a.kind == "dvddrive";
                match a.medium.as_ref().and_then(|u| reg.medium(u)) {
                    Some(m) => {
                        q(
                            o,
                            &format!("\"{name}{pd}\""),
                            &e(&m.location.display().to_string()),
                        );
                        q(o, &format!("\"{name}-ImageUUID{pd}\""), &m.uuid);
                        if dvd {
                            q(o, &format!("\"{name}-tempeject{sfx}\""), "off");
                            q(o, &format!("\"{name}-IsEjected{sfx}\""), "off");
                        }
                        if v6136 {
                            if hot {
                                q(o, &format!("\"{name}-hot-pluggable{sfx}\""), "off");
                            }
                            q(o, &format!("\"{name}-nonrotational{sfx}\""), "off");
                            q(o, &format!("\"{name}-discard{sfx}\""), "off");
                        }
                    }
                    None => {
                        q(o, &format!("\"{name}{pd}\""), "emptydrive");
                        if dvd {
                            q(o, &format!("\"{name}-IsEjected{sfx}\""), "off");
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{RECORDING_SCREEN0, assert_in_order, docker_machine_vm, version};
    use super::super::machine_readable;
    use crate::sim::state::{Attachment, StorageController};

    #[test]
    fn storage_keys_of_6_1_36_repeat_without_suffix() {
        let (reg, vm) = docker_machine_vm("1024", "2", "82540EM");
        let out = machine_readable(&version("6.1.38r153438"), &reg, &vm);
        let mut want = vec![
            "\"SATA-0-0\"=\"/Users/sde3/.minikube/machines/minikube/boot2docker.iso\"",
            "\"SATA-ImageUUID-0-0\"=\"e19bbcd1-04d1-4c45-b05a-07bf985467e0\"",
            "\"SATA-tempeject\"=\"off\"",
            "\"SATA-IsEjected\"=\"off\"",
            "\"SATA-hot-pluggable\"=\"off\"",
            "\"SATA-nonrotational\"=\"off\"",
            "\"SATA-discard\"=\"off\"",
            "\"SATA-1-0\"=\"/Users/sde3/.minikube/machines/minikube/disk.vmdk\"",
            "\"SATA-ImageUUID-1-0\"=\"adc5121f-6e26-48ab-ba4b-ca777f440673\"",
            "\"SATA-hot-pluggable\"=\"off\"",
            "\"SATA-nonrotational\"=\"off\"",
            "\"SATA-discard\"=\"off\"",
            "\"SATA-2-0\"=\"none\"",
        ];
        assert_in_order(&out, &want);
        want = [&["xhci=\"off\""][..], RECORDING_SCREEN0].concat();
        assert_in_order(&out, &want);
        assert!(!out.contains("NVRAM"));
        assert!(out.contains("ostype=\"Linux 2.6 / 3.x / 4.x (64-bit)\"\n"));
    }

    #[test]
    fn empty_dvd_and_ide_devices() {
        let (reg, mut vm) = docker_machine_vm("1024", "2", "82540EM");
        vm.controllers.insert(
            0,
            StorageController {
                name: "IDE".into(),
                controller_type: "PIIX4".into(),
                bus: "ide".into(),
                port_count: 2,
                max_port_count: 2,
                host_io_cache: true,
                bootable: true,
                attachments: vec![Attachment {
                    port: 1,
                    device: 0,
                    kind: "dvddrive".into(),
                    medium: None,
                }],
            },
        );
        let want = [
            "storagecontrollername1=\"SATA\"",
            "\"IDE-0-0\"=\"none\"",
            "\"IDE-0-1\"=\"none\"",
            "\"IDE-1-0\"=\"emptydrive\"",
            "\"IDE-IsEjected-1-0\"=\"off\"",
            "\"IDE-1-1\"=\"none\"",
            "\"SATA-0-0\"=\"/Users/sde3/.minikube/machines/minikube/boot2docker.iso\"",
        ];
        let out = machine_readable(&version("7.0.6r161095"), &reg, &vm);
        assert_in_order(&out, &want);
        // The real 7.0 sample shows no hot-pluggable/tempeject for an empty drive.
        assert!(!out.contains("\"IDE-tempeject"));
        assert!(!out.contains("\"IDE-hot-pluggable"));
        let out = machine_readable(&version("6.1.26r145957"), &reg, &vm);
        assert!(out.contains(
            "\"IDE-1-0\"=\"emptydrive\"\n\"IDE-IsEjected\"=\"off\"\n\"IDE-1-1\"=\"none\"\n"
        ));
    }
}
