//! Stable addresses and networks that don't fight, end to end in the lab: a node keeps its
//! address across `stop`/`start` when the DHCP server forgot its leases and lends others in
//! another order; `nodes[].ip` pins one; a pin in the DHCP pool, or a network a host interface
//! holds, is refused before anything is made.

mod support;

use support::{expect_lines, in_lab};

#[test]
fn nodes_keep_their_addresses_whatever_the_dhcp_server_lends() {
    let script = r#"
cat > c.yml <<'YML'
name: st
network: { cidr: 192.168.56.1/24 }
nodes: [ { name: s1, role: manager, ip: 192.168.56.10 }, { name: s2 }, { name: s3 } ]
YML
vswarm -f c.yml up > up.txt 2>&1; echo "UP rc=$?"
tail -3 up.txt
before=$(for n in s1 s2 s3; do vswarm -f c.yml ip $n; done | tr '\n' ' ')
echo "S1 $(vswarm -f c.yml ip s1)"
vswarm -f c.yml stop > /dev/null 2>&1; echo "STOP rc=$?"
# The DHCP server is made again with another pool and no leases (a VirtualBox upgrade, a user's
# fix): every node is lent another address, handed out in the order the nodes start.
ifname=$(VBoxManage list hostonlyifs | sed -n 's/^Name: *//p' | head -1)
VBoxManage dhcpserver remove --ifname "$ifname"
VBoxManage dhcpserver add --ifname "$ifname" --ip 192.168.56.2 --netmask 255.255.255.0 --lowerip 192.168.56.150 --upperip 192.168.56.254 --enable
for n in s3 s2 s1; do vswarm -f c.yml start $n > start-$n.txt 2>&1 || { echo "START $n failed"; cat start-$n.txt; }; done
after=$(for n in s1 s2 s3; do vswarm -f c.yml ip $n; done | tr '\n' ' ')
[ "$before" = "$after" ] && echo "SAME" || echo "MOVED [$before] [$after]"
lent=$(for n in s1 s2 s3; do find "$VSWARM_HOME" -path "*st-$n/Logs/VBox.log" -exec grep -h 'DHCP: eth1' {} + | tail -1 | grep -o 'leased [0-9.]*' ; done | tr '\n' ' ')
echo "LENT $(echo "$lent" | grep -o '192.168.56.15[0-9]' | wc -l)"
# Workers rejoin at the managers' next heartbeat.
for i in $(seq 60); do r=$(docker --context vswarm-st node ls --format '{{.Status}}' | grep -c Ready); [ "$r" = 3 ] && break; sleep 1; done
echo "READY $r"
# VBoxService's next round reports the address the guest has.
sleep 2
echo "GA $(VBoxManage guestproperty get st-s3 /VirtualBox/GuestInfo/Net/1/V4/IP | sed 's/Value: //') $(vswarm -f c.yml ip s3)"
vswarm -f c.yml up > up2.txt 2>&1; echo "REUP rc=$? $(for n in s1 s2 s3; do vswarm -f c.yml ip $n; done | tr '\n' ' ')"
vswarm -f c.yml down > /dev/null 2>&1; echo "DOWN rc=$?"
"#;
    let out = in_lab(
        script,
        &[
            ("VBOXSIM_BOOT_MS", "200"),
            ("VBOXSIM_GA_INTERVAL_MS", "500"),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let ga = text
        .lines()
        .find_map(|l| l.strip_prefix("GA "))
        .unwrap_or("");
    let mut words = ga.split_whitespace();
    assert_eq!(
        words.next(),
        words.next(),
        "guest additions vs record: {text}"
    );
    expect_lines(
        &out,
        &[
            "UP rc=0",
            "S1 192.168.56.10",
            "STOP rc=0",
            "SAME",
            "LENT 3",
            "READY 3",
            "DOWN rc=0",
        ],
    );
    assert!(text.contains("REUP rc=0 192.168.56.10 "), "{text}");
}

#[test]
fn pins_in_the_pool_and_networks_a_host_interface_holds_are_refused() {
    let script = r#"
printf 'name: bad\nnetwork: { cidr: 192.168.56.1/24 }\nnodes:\n  - { name: b1, role: manager, ip: 192.168.56.150 }\n' > bad.yml
vswarm -f bad.yml up > bad.out 2> bad.err; echo "POOL rc=$? at=$(grep -c 'bad.yml:4:' bad.err) $(tr -d '\n│ ' < bad.err | grep -c 'DHCPpool192.168.56.100-192.168.56.254') vms=$(VBoxManage list vms | wc -l)"
printf 'name: bad\nnetwork: { cidr: 192.168.56.1/24 }\nnodes:\n  - { name: b1, role: manager, ip: 192.168.57.9 }\n' > off.yml
vswarm -f off.yml up > off.out 2> off.err; echo "OFF rc=$? at=$(grep -c 'off.yml:4:' off.err) $(grep -c 'not on the cluster' off.err)"
ip link add vsbar0 type bridge && ip addr add 192.168.58.1/24 dev vsbar0 && ip link set vsbar0 up
printf 'name: clash\nnetwork: { cidr: 192.168.58.1/24 }\nnodes: [ { name: x1, role: manager } ]\n' > clash.yml
vswarm -f clash.yml up > clash.out 2> clash.err; echo "CLASH rc=$? $(grep -c vsbar0 clash.err) vms=$(VBoxManage list vms | wc -l) ifs=$(VBoxManage list hostonlyifs | grep -c '^Name')"
cat clash.err
ip link del vsbar0
"#;
    let out = in_lab(script, &[]);
    expect_lines(
        &out,
        &[
            "POOL rc=2 at=2 1 vms=0",
            "OFF rc=2 at=2 1",
            "CLASH rc=2 1 vms=0 ifs=0",
        ],
    );
}
