#!/usr/bin/env bash
# The lab's self-test, a client the project did not design: raw VBoxManage calls and guest
# commands in docker-machine's order (its virtualbox driver and boot2docker provisioner: wait for
# boot2docker's own daemon on 2376, stop it, write certificates and profile, start it, wait for
# 2376 again), then real SSH, TLS, Docker and Swarm on top. Run inside the lab:  tests/lab/run -- tests/lab/selftest.sh
#
# Two VMs on a host-only network: userdata disk streamed through `convertfromraw stdin`, the ISO
# from the lab's release server, NAT SSH forward; SSH in with the key from the disk; write a TLS
# profile and restart docker; reach both daemons over mutual TLS from the host; form a two-node
# swarm; run a global service pulled through the registry mirror on an overlay network; check
# that a container on one node reaches the task on the other node; tear everything down.
# Prints "SELFTEST ..." lines that the Rust test checks.
set -euo pipefail
W=$(mktemp -d /tmp/vboxsim-selftest.XXXXXX)
trap 'rm -rf "$W"' EXIT
say() { echo "SELFTEST $*"; }
SSH_OPTS=(-q -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5)
NODES=(lab-1 lab-2)
declare -A PORT IP

# --- keys and the userdata tar, as docker-machine writes them --------------------------------
ssh-keygen -q -t ed25519 -N '' -f "$W/id_ed25519"
mkdir -p "$W/ud/.ssh"
cp "$W/id_ed25519.pub" "$W/ud/.ssh/authorized_keys"
cp "$W/id_ed25519.pub" "$W/ud/.ssh/authorized_keys2"
printf '%s' 'boot2docker, please format-me' > "$W/ud/boot2docker, please format-me"
(cd "$W/ud" && tar -cf "$W/userdata.tar" 'boot2docker, please format-me' .ssh)
curl -fsS -o "$W/boot2docker.iso" "$VBOXSIM_RELEASE_SERVER/boot2docker/boot2docker/releases/download/v19.03.12/boot2docker.iso"

# --- the host-only network ------------------------------------------------------------------
VBoxManage --version >/dev/null
VBoxManage list hostonlyifs >/dev/null
IF=$(VBoxManage hostonlyif create 2>/dev/null | sed -n "s/^Interface '\(.*\)' was successfully created$/\1/p")
[ -n "$IF" ] || { echo "hostonlyif create gave no interface" >&2; exit 1; }
VBoxManage hostonlyif ipconfig "$IF" --ip 192.168.56.1 --netmask 255.255.255.0
VBoxManage dhcpserver add --netname "HostInterfaceNetworking-$IF" --ip 192.168.56.2 --netmask 255.255.255.0 \
    --lowerip 192.168.56.100 --upperip 192.168.56.254 --enable
say "hostonly $IF $(VBoxManage list hostonlyifs | awk -v n="$IF" '$1 == "Name:" {c = ($2 == n)} c && $1 == "Status:" {print $2}') $(ip -4 -o addr show dev "$IF" | awk '{print $4}')"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- create and start both VMs in parallel ----------------------------------------------------
create_vm() {
    local n=$1 dir="$W/machines/$1" size=$((1100 << 20))
    mkdir -p "$dir"
    # The userdata tar followed by zeros up to the disk size, through a pipe.
    { cat "$W/userdata.tar"; head -c $((size - $(stat -c %s "$W/userdata.tar"))) /dev/zero; } |
        VBoxManage convertfromraw stdin "$dir/disk.vmdk" "$size" --format VMDK 2>/dev/null
    VBoxManage createvm --basefolder "$dir" --name "$n" --register >/dev/null
    VBoxManage modifyvm "$n" --firmware bios --bioslogofadein off --bioslogofadeout off \
        --bioslogodisplaytime 0 --biosbootmenu disabled --ostype Linux26_64 --cpus 1 --memory 1024 \
        --acpi on --ioapic on --rtcuseutc on --natdnshostresolver1 off --natdnsproxy1 on \
        --cpuhotplug off --pae on --hpet on --hwvirtex on --nestedpaging on --largepages on \
        --vtxvpid on --accelerate3d off --boot1 dvd
    VBoxManage modifyvm "$n" --nic1 nat --nictype1 82540EM --cableconnected1 on
    VBoxManage storagectl "$n" --name SATA --add sata --hostiocache on
    VBoxManage storageattach "$n" --storagectl SATA --port 0 --device 0 --type dvddrive --medium "$W/boot2docker.iso"
    VBoxManage storageattach "$n" --storagectl SATA --port 1 --device 0 --type hdd --medium "$dir/disk.vmdk"
    VBoxManage modifyvm "$n" --nic2 hostonly --nictype2 82540EM --nicpromisc2 deny --hostonlyadapter2 "$IF" --cableconnected2 on
    VBoxManage modifyvm "$n" --natpf1 "ssh,tcp,127.0.0.1,${PORT[$n]},,22"
    VBoxManage startvm "$n" --type headless >/dev/null
}
for n in "${NODES[@]}"; do PORT[$n]=$(free_port); done
pids=()
for n in "${NODES[@]}"; do create_vm "$n" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p"; done
say "running $(VBoxManage list runningvms | wc -l)"

on() { local n=$1; shift; ssh "${SSH_OPTS[@]}" -i "$W/id_ed25519" -p "${PORT[$n]}" docker@127.0.0.1 "$@"; }

# --- wait for SSH, then find the host-only IP the docker-machine way ----------------------------
for n in "${NODES[@]}"; do
    for _ in $(seq 1 150); do on "$n" true 2>/dev/null && break; sleep 0.2; done
    IP[$n]=$(on "$n" "ip addr show dev eth1" | awk '$1 == "inet" {split($2, a, "/"); print a[1]}')
    prop=$(VBoxManage guestproperty get "$n" /VirtualBox/GuestInfo/Net/1/V4/IP)
    say "node $n hostname=$(on "$n" hostname) ip=${IP[$n]} prop=${prop#Value: } os=$(on "$n" '. /etc/os-release; echo $ID')"
done

# --- as docker-machine does: the daemon boot2docker started on its own (TLS material it made
# itself, since the disk carried userdata.tar and there is no profile yet) must listen on 2376
# before the client writes its own profile; boot2docker's client copy sits in ~docker/.docker.
# docker-machine's probe (libmachine/provision/utils.go), run until a line shows 2376 listening.
listening() { on "$1" 'if ! type netstat 1>/dev/null; then ss -tln; else netstat -tln; fi' 2>/dev/null | grep -Eq ':2376[[:space:]]+.*:.*'; }
for n in "${NODES[@]}"; do
    for _ in $(seq 1 300); do listening "$n" && break; sleep 0.2; done
    own=$(on "$n" 'ls ~/.docker 2>/dev/null | tr "\n" " "; sudo cat /proc/$(cat /var/run/docker.pid)/cmdline | tr "\0" " "')
    say "boot-daemon $n $(echo "$own" | grep -q -- '--tlsverify' && echo tls || echo plain) client=$(echo "$own" | grep -o 'ca.pem cert.pem key.pem' || echo none)"
done

# --- TLS: one CA, a server certificate per node (IP SAN), one client certificate ---------------
cd "$W"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca-key.pem -out ca.pem \
    -days 2 -subj "/O=vboxsim-selftest" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem -out client.csr -subj "/O=client" 2>/dev/null
printf 'extendedKeyUsage = clientAuth\n' > client.ext
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out cert.pem -days 2 -extfile client.ext 2>/dev/null
for n in "${NODES[@]}"; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$n-key.pem" -out "$n.csr" -subj "/O=$n" 2>/dev/null
    printf 'subjectAltName = IP:%s,DNS:localhost,DNS:%s\nextendedKeyUsage = serverAuth\n' "${IP[$n]}" "$n" > "$n.ext"
    openssl x509 -req -in "$n.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out "$n.pem" -days 2 -extfile "$n.ext" 2>/dev/null
    # As docker-machine's ConfigureAuth: stop the daemon, drop docker0, write the files, start.
    on "$n" "sudo /etc/init.d/docker stop" >/dev/null
    on "$n" 'if [ ! -z "$(ip link show docker0)" ]; then sudo ip link delete docker0; fi' >/dev/null 2>&1
    on "$n" "sudo tee /var/lib/boot2docker/ca.pem >/dev/null" < ca.pem
    on "$n" "sudo tee /var/lib/boot2docker/server.pem >/dev/null" < "$n.pem"
    on "$n" "sudo tee /var/lib/boot2docker/server-key.pem >/dev/null && sudo chmod 600 /var/lib/boot2docker/server-key.pem" < "$n-key.pem"
    on "$n" "sudo tee /var/lib/boot2docker/profile >/dev/null" <<EOF
EXTRA_ARGS='
--label provider=virtualbox
--registry-mirror http://192.168.56.1:${VBOXSIM_REGISTRY_PORT}
'
CACERT=/var/lib/boot2docker/ca.pem
DOCKER_HOST='-H tcp://0.0.0.0:2376'
DOCKER_STORAGE=overlay2
DOCKER_TLS=auto
SERVERKEY=/var/lib/boot2docker/server-key.pem
SERVERCERT=/var/lib/boot2docker/server.pem
EOF
    on "$n" "sudo /etc/init.d/docker start" >/dev/null
    for _ in $(seq 1 150); do listening "$n" && break; sleep 0.2; done
done

d() { local n=$1; shift; docker --tlsverify --tlscacert "$W/ca.pem" --tlscert "$W/cert.pem" --tlskey "$W/key.pem" -H "tcp://${IP[$n]}:2376" "$@"; }
for n in "${NODES[@]}"; do
    for _ in $(seq 1 100); do d "$n" version >/dev/null 2>&1 && break; sleep 0.2; done
    say "tls $n server=$(d "$n" version --format '{{.Server.Version}}') label=$(d "$n" info --format '{{join .Labels ","}}')"
done
# Without a client certificate the daemon refuses the connection.
if curl -fsS --cacert "$W/ca.pem" "https://${IP[lab-1]}:2376/version" >/dev/null 2>&1; then
    say "tls-without-client-cert accepted"
else
    say "tls-without-client-cert refused"
fi

# --- swarm ------------------------------------------------------------------------------------
d lab-1 swarm init --advertise-addr "${IP[lab-1]}" >/dev/null
token=$(d lab-1 swarm join-token -q worker)
d lab-2 swarm join --token "$token" --advertise-addr "${IP[lab-2]}" "${IP[lab-1]}:2377" >/dev/null
say "nodes $(d lab-1 node ls --format '{{.Hostname}}:{{.Status}}' | sort | tr '\n' ' ')"

d lab-1 network create --driver overlay --attachable web >/dev/null
d lab-1 service create --detach --name whoami --mode global --network web --endpoint-mode dnsrr \
    --publish mode=host,target=80,published=8080 vboxsim/whoami >/dev/null
for _ in $(seq 1 150); do
    running=$(d lab-1 service ps whoami --filter desired-state=running --format '{{.CurrentState}}' | grep -c '^Running' || true)
    [ "$running" = 2 ] && break
    sleep 0.2
done
say "service tasks running=$running"
for n in "${NODES[@]}"; do
    body=$(curl -fsS --max-time 5 "http://${IP[$n]}:8080/" || echo "no-answer")
    say "http $n answered=$body"
done
# The seed's nginx, published in host mode on every node (no IPVS for the routing mesh here).
d lab-1 service create --detach --name nginx --mode global --network web \
    --publish mode=host,target=80,published=80 nginx:stable-alpine >/dev/null
for _ in $(seq 1 150); do
    running=$(d lab-1 service ps nginx --filter desired-state=running --format '{{.CurrentState}}' | grep -c '^Running' || true)
    [ "$running" = 2 ] && break
    sleep 0.2
done
for n in "${NODES[@]}"; do
    if curl -fsS --max-time 5 "http://${IP[$n]}/" | grep -q 'Welcome to nginx!'; then
        say "nginx $n welcome"
    else
        say "nginx $n no-answer"
    fi
done
# Across nodes on the overlay: a container on lab-1 fetches from every task's address.
# (Debian's busybox wget crashes with -T, hence timeout(1).)
answers=$(d lab-1 run --rm --network web alpine sh -c \
    'for ip in $(nslookup tasks.whoami 2>/dev/null | awk "/^Address/ && !/:53\$/ {print \$NF}"); do timeout 5 wget -qO- http://$ip/; done' |
    sort -u | tr '\n' ' ')
say "overlay distinct-answers=$(echo "$answers" | wc -w)"

# --- tear down, the docker-machine way (power off, unregister), again while the session of a
# VM just powered off is still being unlocked ("Cannot unregister the machine ... while it is
# locked"), as `docker-machine rm` users do --------------------------------------------------------
for n in "${NODES[@]}"; do
    VBoxManage controlvm "$n" poweroff 2>/dev/null
    for _ in $(seq 1 50); do VBoxManage unregistervm "$n" --delete 2>/dev/null && break; sleep 0.1; done
done
VBoxManage dhcpserver remove --netname "HostInterfaceNetworking-$IF"
VBoxManage hostonlyif remove "$IF" 2>/dev/null
say "after vms=$(VBoxManage list vms | wc -l) links=$(ip -o link | grep -c "$IF" || true)"
say "done"
