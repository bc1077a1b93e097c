//! VirtualBox 7 on macOS, end to end in the lab (`VBOXSIM_HOST_OS=darwin`): host-only adapters
//! are gone there, so `up` makes a host-only network (`hostonlynet`) and attaches the nodes to
//! it; the swarm forms over it; `down` removes it. The simulator refuses what VirtualBox 7 on
//! macOS refuses (a host-only adapter, a VM started on one).

mod support;

use support::{expect_lines, in_lab};

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
