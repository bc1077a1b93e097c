//! Stable addresses, certificates that last and networks that don't fight, end to end in the
//! lab: a node keeps its address across `stop`/`start` when the DHCP server forgot its leases
//! and lends others in another order; `nodes[].ip` pins one; a certificate near its expiry is
//! renewed by `up` without stopping a container; a pin in the DHCP pool, or a network a host
//! interface holds, is refused before anything is made.

use vswarm_lab::harness::{expect_lines, in_lab};

#[test]
fn nodes_keep_their_addresses_whatever_the_dhcp_server_lends() {
    let script = r#"
cat > c.yml <<YML
name: st
network: { cidr: 192.168.56.1/24 }
nodes: [ { name: s1, role: manager, ip: 192.168.56.10 }, { name: s2 } ]
engine: { registry_mirrors: ["http://192.168.56.1:$VBOXSIM_REGISTRY_PORT"] }
YML
vswarm -f c.yml up > up.txt 2>&1; echo "UP rc=$?"
tail -3 up.txt
before=$(for n in s1 s2; do vswarm -f c.yml ip $n; done | tr '\n' ' ')
echo "S1 $(vswarm -f c.yml ip s1)"
vswarm -f c.yml stop > /dev/null 2>&1; echo "STOP rc=$?"
# The DHCP server is made again with another pool and no leases (a VirtualBox upgrade, a user's
# fix): every node is lent another address, handed out in the order the nodes start.
ifname=$(VBoxManage list hostonlyifs | sed -n 's/^Name: *//p' | head -1)
VBoxManage dhcpserver remove --ifname "$ifname"
VBoxManage dhcpserver add --ifname "$ifname" --ip 192.168.56.2 --netmask 255.255.255.0 --lowerip 192.168.56.150 --upperip 192.168.56.254 --enable
for n in s2 s1; do vswarm -f c.yml start $n > start-$n.txt 2>&1 || { echo "START $n failed"; cat start-$n.txt; }; done
after=$(for n in s1 s2; do vswarm -f c.yml ip $n; done | tr '\n' ' ')
[ "$before" = "$after" ] && echo "SAME" || echo "MOVED [$before] [$after]"
lent=$(for n in s1 s2; do find "$VSWARM_HOME" -path "*st-$n/Logs/VBox.log" -exec grep -h 'DHCP: eth1' {} + | tail -1 | grep -o 'leased [0-9.]*' ; done | tr '\n' ' ')
echo "LENT $(echo "$lent" | grep -o '192.168.56.15[0-9]' | wc -l)"
# Workers rejoin at the managers' next heartbeat.
for i in $(seq 60); do r=$(docker --context vswarm-st node ls --format '{{.Status}}' | grep -c Ready); [ "$r" = 2 ] && break; sleep 1; done
echo "READY $r"
# VBoxService's next round reports the address the guest has.
sleep 2
echo "GA $(VBoxManage guestproperty get st-s2 /VirtualBox/GuestInfo/Net/1/V4/IP | sed 's/Value: //') $(vswarm -f c.yml ip s2)"
vswarm -f c.yml up > up2.txt 2>&1; echo "REUP rc=$? $(for n in s1 s2; do vswarm -f c.yml ip $n; done | tr '\n' ' ')"
# Certificates that last: s2 serves a certificate 10 days from expiry (made with the cluster's
# CA) and runs a container; the next `up` renews the certificate and stops nothing.
ip2=$(vswarm -f c.yml ip s2); tls="$VSWARM_HOME/clusters/st/tls"
openssl ecparam -name prime256v1 -genkey -noout -out short-key.pem 2> /dev/null
openssl req -new -key short-key.pem -subj "/O=vswarm/CN=s2" -out short.csr 2> /dev/null
printf 'subjectAltName=IP:%s,DNS:localhost,DNS:s2\nextendedKeyUsage=serverAuth\n' "$ip2" > short.ext
openssl x509 -req -in short.csr -CA "$tls/ca.pem" -CAkey "$tls/ca-key.pem" -CAcreateserial -days 10 -extfile short.ext -out short.pem 2> /dev/null
vswarm -f c.yml scp short.pem short-key.pem s2:/tmp/ > /dev/null
vswarm -f c.yml ssh s2 -- "sudo cp /tmp/short.pem /var/lib/boot2docker/server.pem && sudo cp /tmp/short-key.pem /var/lib/boot2docker/server-key.pem && sudo /etc/init.d/docker restart" > /dev/null 2>&1
D2="docker -H tcp://$ip2:2376 --tlsverify --tlscacert $VSWARM_HOME/clusters/st/tls/client/ca.pem --tlscert $VSWARM_HOME/clusters/st/tls/client/cert.pem --tlskey $VSWARM_HOME/clusters/st/tls/client/key.pem"
for i in $(seq 60); do $D2 version > /dev/null 2>&1 && break; sleep 1; done
$D2 run -d --name keeper vboxsim/whoami:latest > /dev/null 2>&1; echo "KEEPER rc=$?"
before=$($D2 inspect keeper --format '{{.Id}} {{.State.StartedAt}}')
served() { echo | openssl s_client -connect "$ip2:2376" 2> /dev/null | openssl x509 -noout -enddate; }
echo "SERVED $(served)"
vswarm -f c.yml up --format json > up3.json 2> up3.err; echo "RENEW rc=$? certificates=$(grep -c '"certificates"' up3.json) restarted=$(grep -c 'docker restarted' up3.json)"
after=$($D2 inspect keeper --format '{{.Id}} {{.State.StartedAt}}')
[ -n "$before" ] && [ "$before" = "$after" ] && echo "KEPT same id and start"
vswarm -f c.yml ssh s2 -- sudo cat /var/lib/boot2docker/server.pem > installed.pem
installed=$(openssl x509 -noout -enddate -in installed.pem | cut -d= -f2)
sans=$(openssl x509 -noout -ext subjectAltName -in installed.pem | tail -1 | tr -d ' ')
[ "$sans" = "IPAddress:$ip2,IPAddress:127.0.0.1,DNS:localhost,DNS:s2" ] && echo "SANS all" || echo "SANS [$sans]"
echo "INSTALLED days=$(( ($(date -d "$installed" +%s) - $(date +%s)) / 86400 ))"
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
            "LENT 2",
            "READY 2",
            "KEEPER rc=0",
            "RENEW rc=0 certificates=1 restarted=0",
            "KEPT same id and start",
            "SANS all",
            "DOWN rc=0",
        ],
    );
    assert!(text.contains("REUP rc=0 192.168.56.10 "), "{text}");
    let days: i64 = text
        .lines()
        .find_map(|l| l.strip_prefix("INSTALLED days="))
        .and_then(|d| d.trim().parse().ok())
        .unwrap_or(0);
    assert!(
        days > 300,
        "the renewed certificate lasts {days} days: {text}"
    );
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
# A VPN's route: a device (a bridge: this kernel has no dummy or tun devices to spare) with a
# route to 192.168.59.0/24 and no address there.
ip link add vsvpn0 type bridge && ip link set vsvpn0 up && ip route add 192.168.59.0/24 dev vsvpn0
printf 'name: vpn\nnetwork: { cidr: 192.168.59.1/24 }\nnodes: [ { name: v1, role: manager } ]\n' > vpn.yml
vswarm -f vpn.yml up > vpn.out 2> vpn.err; echo "ROUTE rc=$? $(tr -d '\n│ ' < vpn.err | grep -c 'routeto192.168.59.0/24(via.vsvpn0') $(tr -d '\n│ ' < vpn.err | grep -c 'suchas192.168.5') vms=$(VBoxManage list vms | wc -l)"
cat vpn.err
ip link del vsvpn0
"#;
    let out = in_lab(script, &[]);
    expect_lines(
        &out,
        &[
            "POOL rc=2 at=2 1 vms=0",
            "OFF rc=2 at=2 1",
            "CLASH rc=2 1 vms=0 ifs=0",
            "ROUTE rc=2 1 1 vms=0",
        ],
    );
}

#[test]
fn a_cluster_on_a_network_virtualbox_6_1_28_refuses_moves_to_an_allowed_one() {
    let script = r#"
printf 'name: mig\nnodes: [ { name: g1, role: manager }, { name: g2 } ]\n' > m.yml
VBOXSIM_VERSION=6.1.26r145957 vswarm -f m.yml up > up1.txt 2>&1; rc=$?
echo "OLD rc=$rc $(vswarm -f m.yml ip g1 | cut -d. -f1-3)"; [ $rc = 0 ] || cat up1.txt
docker --context vswarm-mig service create -d --name web --mode global vboxsim/whoami:latest > /dev/null 2>&1
docker --context vswarm-mig volume create kept > /dev/null
VBOXSIM_VERSION=6.1.26r145957 vswarm -f m.yml stop > /dev/null 2>&1
# VirtualBox is upgraded to a version that allows only 192.168.56.0/21.
export VBOXSIM_VERSION=6.1.50r161033
vswarm -f m.yml up > up2.txt 2>&1; echo "NEW rc=$? $(vswarm -f m.yml ip g1 | cut -d. -f1-3) $(vswarm -f m.yml ip g2 | cut -d. -f1-3)"
tail -5 up2.txt
for i in $(seq 60); do r=$(docker --context vswarm-mig node ls --format '{{.Status}}' | grep -c Ready); [ "$r" = 2 ] && break; sleep 1; done
echo "READY $r of $(docker --context vswarm-mig node ls -q | wc -l)"
echo "KEPT $(docker --context vswarm-mig service ls --format '{{.Name}}') $(docker --context vswarm-mig volume ls -q | grep -c '^kept$')"
echo "IFACE $(VBoxManage list hostonlyifs | sed -n 's/^IPAddress: *//p' | tr '\n' ' ')"
vswarm -f m.yml up > up3.txt 2>&1; echo "AGAIN rc=$?"
vswarm -f m.yml down > /dev/null 2>&1; echo "DOWN rc=$?"
"#;
    let out = in_lab(script, &[("VBOXSIM_BOOT_MS", "200")]);
    expect_lines(
        &out,
        &[
            "OLD rc=0 192.168.99",
            "NEW rc=0 192.168.56 192.168.56",
            "READY 2 of 2",
            "KEPT web 1",
            "IFACE 192.168.56.1 ",
            "AGAIN rc=0",
            "DOWN rc=0",
        ],
    );
}

#[test]
fn doctor_names_interfaces_that_fight_and_fix_removes_only_what_vswarm_made() {
    let script = r#"
printf 'name: dup\nnetwork: { cidr: 192.168.56.1/24 }\nnodes: [ { name: d1, role: manager } ]\n' > d.yml
vswarm -f d.yml up > up.txt 2>&1; echo "UP rc=$?"
# NetworkManager and systemd-networkd run on this (pretend) host.
mkdir -p root/run/NetworkManager root/run/systemd/netif
VSWARM_HOST_ROOT="$W/root" vswarm doctor --format json > p1.json; echo "PERSIST warn=$(grep -c 'persistence' p1.json)"
VSWARM_HOST_ROOT="$W/root" vswarm doctor --fix --format json > p2.json
echo "NM $(grep -c '^unmanaged-devices=interface-name:vboxnet\*$' root/etc/NetworkManager/conf.d/90-vswarm-vboxnet.conf)"
echo "NETWORKD $(grep -c '^Address=192.168.56.1/24$' root/etc/systemd/network/50-vswarm-vboxnet0.network)"
VSWARM_HOST_ROOT="$W/root" vswarm doctor --format json > p3.json; echo "PERSIST ok=$(grep -A2 'persistence' p3.json | grep -c '"ok"')"
# A VM of the user's on the cluster's interface keeps `down` from removing it.
VBoxManage createvm --name uservm --basefolder "$W/user" --register > /dev/null
VBoxManage modifyvm uservm --nic1 hostonly --hostonlyadapter1 vboxnet0 > /dev/null
vswarm -f d.yml down > down.txt 2>&1; echo "DOWN rc=$? $(VBoxManage list hostonlyifs | grep -c '^Name:')"
VBoxManage unregistervm uservm --delete > /dev/null
# The user's own adapter on the same network, and a DHCP server whose interface is gone.
VBoxManage hostonlyif create > /dev/null 2>&1
VBoxManage hostonlyif ipconfig vboxnet1 --ip 192.168.56.1 --netmask 255.255.255.0
VBoxManage dhcpserver add --netname HostInterfaceNetworking-vboxnet7 --ip 10.9.9.2 --netmask 255.255.255.0 --lowerip 10.9.9.100 --upperip 10.9.9.200 --enable
vswarm doctor > doc.txt 2>&1; cat doc.txt
echo "OURS $(grep -c 'vboxnet0 use: vswarm made it for a cluster that no longer uses it; it carries 192.168.56.1/24 like vboxnet1' doc.txt) $(grep -c 'vswarm doctor --fix removes it (vswarm made it)' doc.txt)"
echo "TWIN $(grep -c 'VBoxManage hostonlyif remove vboxnet1' doc.txt)"
echo "STALE $(grep -c 'dhcpserver remove --netname HostInterfaceNetworking-vboxnet7' doc.txt)"
vswarm doctor --fix > fix.txt 2>&1
echo "LEFT $(VBoxManage list hostonlyifs | sed -n 's/^Name: *//p' | tr '\n' ' ')dhcp=$(VBoxManage list dhcpservers | sed -n 's/^NetworkName: *//p' | tr '\n' ' ')"
VBoxManage dhcpserver remove --netname HostInterfaceNetworking-vboxnet7
VBoxManage hostonlyif remove vboxnet1
"#;
    let out = in_lab(script, &[("VBOXSIM_BOOT_MS", "200")]);
    expect_lines(
        &out,
        &[
            "UP rc=0",
            "PERSIST warn=2",
            "NM 1",
            "NETWORKD 1",
            "PERSIST ok=2",
            "DOWN rc=0 1",
            "OURS 1 1",
            "TWIN 1",
            "STALE 1",
            "LEFT vboxnet1 dhcp=HostInterfaceNetworking-vboxnet7 ",
        ],
    );
}
