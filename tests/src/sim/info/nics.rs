//! The listing's network adapters: attachment, MAC, type, and for NAT its settings and
//! port-forwarding rules (with 7.0.0's bug), then the empty slots.

use super::q;
use crate::sim::state::{ForwardRule, Vm};
use crate::sim::version::SimVersion;

/// The network adapters, then the chipset's other slots as `none`.
pub(super) fn nics(o: &mut String, v: &SimVersion, vm: &Vm) {
    for (i, nic) in vm.nics.iter().enumerate() {
        let k = i + 1;
        let kind = match nic.attachment.as_str() {
            "none" => {
                q(o, &format!("nic{k}"), "none");
                continue;
            }
            "null" => "null",
            "nat" => {
                let net = nic
                    .nat_settings
                    .get("natnet")
                    .map(String::as_str)
                    .filter(|n| !n.is_empty() && !n.eq_ignore_ascii_case("default"))
                    .unwrap_or("nat");
                q(o, &format!("natnet{k}"), net);
                "nat"
            }
            "bridged" => {
                q(o, &format!("bridgeadapter{k}"), &nic.bridge_adapter);
                "bridged"
            }
            "intnet" => {
                q(o, &format!("intnet{k}"), &nic.intnet);
                "intnet"
            }
            "hostonly" => {
                q(o, &format!("hostonlyadapter{k}"), &nic.hostonly_adapter);
                "hostonly"
            }
            // The simulator keeps no driver or network names for these.
            "generic" => {
                q(o, &format!("generic{k}"), "");
                "Generic"
            }
            "natnetwork" => {
                q(o, &format!("nat-network{k}"), "");
                "natnetwork"
            }
            "hostonlynet" => {
                q(o, &format!("hostonly-network{k}"), &nic.hostonly_network);
                "hostonlynetwork"
            }
            _ => "unknown",
        };
        q(o, &format!("macaddress{k}"), &nic.mac);
        q(
            o,
            &format!("cableconnected{k}"),
            if nic.cable_connected { "on" } else { "off" },
        );
        q(o, &format!("nic{k}"), kind);
        q(o, &format!("nictype{k}"), &nic.nictype);
        q(o, &format!("nicspeed{k}"), &nic.speed.to_string());
        if kind == "nat" {
            // `--natsettingsN mtu,socksnd,sockrcv,tcpsnd,tcprcv`; 0 buffer sizes show as 64.
            let mut values = [0u32; 5];
            if let Some(cfg) = nic.nat_settings.get("natsettings") {
                for (slot, field) in values.iter_mut().zip(cfg.split(',')) {
                    *slot = field.trim().parse().unwrap_or(0);
                }
            }
            let [mtu, rest @ ..] = values;
            q(o, "mtu", &mtu.to_string());
            for (key, value) in ["sockSnd", "sockRcv", "tcpWndSnd", "tcpWndRcv"]
                .iter()
                .zip(rest)
            {
                q(o, key, &(if value == 0 { 64 } else { value }).to_string());
            }
            // The NAT engine keeps its rules in a map keyed by rule name.
            let mut rules: Vec<(String, String)> = nic
                .forwarding
                .iter()
                .map(|r| match ForwardRule::parse(r) {
                    Some(f) => (
                        f.name.clone(),
                        format!(
                            "{},{},{},{},{},{}",
                            f.name, f.proto, f.host_ip, f.host_port, f.guest_ip, f.guest_port
                        ),
                    ),
                    None => (r.split(',').next().unwrap_or("").to_string(), r.clone()),
                })
                .collect();
            rules.sort();
            // 7.0.0 built the list with a self-referencing printf: one rule shows, two or more
            // show nothing (fixed in 7.0.2). Vagrant's claim of the same bug in 7.1.0 is
            // unconfirmed (its source has the fix), so 7.1.0 lists every rule.
            let broken = v.major == 7 && v.minor == 0 && v.build == 0 && rules.len() > 1;
            if !broken {
                for (j, (_, rule)) in rules.iter().enumerate() {
                    q(o, &format!("Forwarding({j})"), rule);
                }
            }
        }
    }
    // ICH9 machines have 36 adapter slots; the simulator configures the first eight.
    let slots = if vm.setting("chipset") == Some("ich9") {
        36
    } else {
        8
    };
    for k in vm.nics.len() + 1..=slots {
        q(o, &format!("nic{k}"), "none");
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{assert_in_order, docker_machine_vm, version};
    use super::super::machine_readable;

    #[test]
    fn forwarding_rules_sorted_and_7_0_0_bug() {
        let (reg, mut vm) = docker_machine_vm("1024", "2", "82540EM");
        vm.nics[0].forwarding.insert(0, "web,tcp,,8080,,80".into());
        let out = machine_readable(&version("7.0.2r154219"), &reg, &vm);
        assert_in_order(
            &out,
            &[
                "tcpWndRcv=\"64\"",
                "Forwarding(0)=\"ssh,tcp,127.0.0.1,49545,,22\"",
                "Forwarding(1)=\"web,tcp,,8080,,80\"",
                "hostonlyadapter2=\"vboxnet0\"",
            ],
        );
        let out = machine_readable(&version("7.0.0r153978"), &reg, &vm);
        assert!(!out.contains("Forwarding("));
        assert!(out.contains("tcpWndRcv=\"64\"\nhostonlyadapter2=\"vboxnet0\"\n"));
    }
}
