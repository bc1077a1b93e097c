//! VirtualBox on every host, end to end in the lab (`VBOXSIM_HOST_OS`). On macOS with
//! VirtualBox 7, host-only adapters are gone: `up` makes a host-only network (`hostonlynet`)
//! and attaches the nodes to it; the swarm forms over it; `down` removes it. On Windows, adapters
//! are named `VirtualBox Host-Only Ethernet Adapter #N` and a new one reports a bogus mask for a
//! while: `up` uses it all the same rather than making a second one.

use vswarm_lab::harness::{expect_lines, in_lab};

#[test]
fn on_macos_virtualbox_7_the_cluster_uses_a_hostonly_network() {
    let script = r#"
printf 'name: mac\nnetwork: { cidr: 192.168.56.1/24 }\nnodes: [ { name: m1, role: manager }, { name: m2 } ]\n' > c.yml
VBOXSIM_LOG="$W/mac.jsonl" vswarm -f c.yml up > up.txt 2>&1; echo "UP rc=$?"; tail -3 up.txt
echo "CALLS add=$(grep -c '"hostonlynet","add"' mac.jsonl) hostonlyif=$(grep -c '"hostonlyif"' mac.jsonl) dhcp=$(grep -c '"dhcpserver"' mac.jsonl) reachable=$(grep -c '"--nat-localhostreachable1","on"' mac.jsonl)"
VBoxManage list hostonlynets | sed -n 's/^\(Name\|LowerIP\|UpperIP\): *//p' | tr '\n' ' ' | sed 's/^/NET /'; echo
echo "NIC $(VBoxManage showvminfo mac-m1 --machinereadable | grep -E '^(nic2|hostonly-network2)=' | tr '\n' ' ')"
echo "READY $(docker --context vswarm-mac node ls --format '{{.Status}}' | grep -c Ready)"
echo "IP $(vswarm -f c.yml ip m1)"
VBoxManage hostonlyif create > hif.out 2> hif.err; echo "ADAPTER rc=$? $(grep -c 'failed to open /dev/vboxnetctl' hif.err)"
vswarm -f c.yml up > up2.txt 2>&1; echo "REUP rc=$? adds=$(grep -c '"hostonlynet","add"' mac.jsonl)"
vswarm -f c.yml down > down.txt 2>&1; echo "DOWN rc=$? nets=$(VBoxManage list hostonlynets | grep -c '^Name:') vms=$(VBoxManage list vms | wc -l)"
"#;
    let out = in_lab(
        script,
        &[
            ("VBOXSIM_BOOT_MS", "200"),
            ("VBOXSIM_HOST_OS", "darwin"),
            ("VBOXSIM_VERSION", "7.0.20r163906"),
        ],
    );
    expect_lines(
        &out,
        &[
            "UP rc=0",
            "CALLS add=1 hostonlyif=0 dhcp=0 reachable=2",
            "NET vswarm-192.168.56.0 192.168.56.1 192.168.56.190 ",
            "NIC hostonly-network2=\"vswarm-192.168.56.0\" nic2=\"hostonlynetwork\" ",
            "READY 2",
            "IP 192.168.56.",
            "ADAPTER rc=1 1",
            "REUP rc=0 adds=1",
            "DOWN rc=0 nets=0 vms=0",
        ],
    );
}

#[test]
fn on_windows_adapters_with_their_names_and_bogus_masks_are_used_once() {
    let script = r#"
# The user's own adapter, as VirtualBox's installer leaves it.
VBoxManage hostonlyif create > user.txt 2> /dev/null; cat user.txt
printf 'name: win\nnetwork: { cidr: 192.168.57.1/24 }\nnodes: [ { name: w1, role: manager } ]\n' > c.yml
vswarm -f c.yml up > up.txt 2>&1; echo "UP rc=$?"; tail -2 up.txt
echo "MASK $(VBoxManage list hostonlyifs | grep -c '^NetworkMask: *15.0.0.0$')"
echo "NIC $(VBoxManage showvminfo win-w1 --machinereadable | grep '^hostonlyadapter2=')"
echo "READY $(docker --context vswarm-win node ls --format '{{.Status}}' | grep -c Ready)"
vswarm -f c.yml up > up2.txt 2>&1; echo "REUP rc=$? adapters=$(VBoxManage list hostonlyifs | grep -c '^Name:')"; cat up2.txt
vswarm -f c.yml down > down.txt 2>&1; echo "DOWN rc=$? left=$(VBoxManage list hostonlyifs | sed -n 's/^Name: *//p' | tr '\n' '|')"
VBoxManage hostonlyif remove "VirtualBox Host-Only Ethernet Adapter"
"#;
    let out = in_lab(
        script,
        &[
            ("VBOXSIM_BOOT_MS", "200"),
            ("VBOXSIM_HOST_OS", "windows"),
            // Longer than the wait `up` gives it: the second `up` still sees the bogus mask.
            ("VBOXSIM_WINDOWS_SETTLE_MS", "60000"),
        ],
    );
    expect_lines(
        &out,
        &[
            "Interface 'VirtualBox Host-Only Ethernet Adapter' was successfully created",
            "UP rc=0",
            "MASK 2",
            "NIC hostonlyadapter2=\"VirtualBox Host-Only Ethernet Adapter #2\"",
            "READY 1",
            "REUP rc=0 adapters=2",
            "DOWN rc=0 left=VirtualBox Host-Only Ethernet Adapter|",
        ],
    );
}
