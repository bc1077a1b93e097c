#!/usr/bin/env bash
# A machine made the way docker-machine 0.16's VirtualBox driver and boot2docker provisioner make
# one (libmachine's drivers/virtualbox and provision/boot2docker, read for their call order and
# files), with raw VBoxManage calls, ssh and openssl: what `vswarm import` must adopt.
#
#   docker-machine-create.sh STORE NAME ISO [HOSTONLY_CIDR]
#
# Lays out STORE/certs/{ca,ca-key,cert,key}.pem (made once per store, RSA 2048, as docker-machine)
# and STORE/machines/NAME/{config.json,id_rsa,id_rsa.pub,boot2docker.iso,disk.vmdk,server.pem,
# server-key.pem,ca.pem,cert.pem,key.pem}; the VM NAME in STORE/machines/NAME/NAME/. Prints the
# machine's address.
set -euo pipefail
store=$1 name=$2 iso=$3 cidr=${4:-192.168.99.1/24}
dir="$store/machines/$name"
certs="$store/certs"
mkdir -p "$dir" "$certs"
q() { VBoxManage "$@" > /dev/null; }

# --- the store's CA and client certificate (libmachine/cert: bootstrap) ---
if [ ! -e "$certs/ca.pem" ]; then
    openssl genrsa -traditional -out "$certs/ca-key.pem" 2048 2> /dev/null
    openssl req -x509 -new -key "$certs/ca-key.pem" -days 1080 -subj "/O=$(id -un)" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign" \
        -out "$certs/ca.pem" 2> /dev/null
    openssl genrsa -traditional -out "$certs/key.pem" 2048 2> /dev/null
    openssl req -new -key "$certs/key.pem" -subj "/O=$(id -un)" -out "$certs/cert.csr" 2> /dev/null
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' > "$certs/client.ext"
    openssl x509 -req -in "$certs/cert.csr" -CA "$certs/ca.pem" -CAkey "$certs/ca-key.pem" \
        -CAcreateserial -days 1080 -extfile "$certs/client.ext" -out "$certs/cert.pem" 2> /dev/null
    rm -f "$certs/cert.csr" "$certs/client.ext" "$certs/ca.srl"
fi

# --- the driver's Create: ISO, SSH key, userdata disk, VM ---
cp "$iso" "$dir/boot2docker.iso"
ssh-keygen -q -t rsa -b 2048 -N '' -f "$dir/id_rsa"
# The disk starts with a tar holding the magic file and the key (mcnutils' MakeDiskImage).
ud=$(mktemp -d)
mkdir -p "$ud/.ssh"
: > "$ud/boot2docker, please format-me"
cp "$dir/id_rsa.pub" "$ud/.ssh/authorized_keys"
cp "$dir/id_rsa.pub" "$ud/.ssh/authorized_keys2"
size_mb=2000
{ tar -C "$ud" -cf - "boot2docker, please format-me" .ssh; head -c $((size_mb * 1024 * 1024)) /dev/zero; } \
    | head -c $((size_mb * 1024 * 1024)) \
    | VBoxManage convertfromraw stdin "$dir/disk.vmdk" $((size_mb * 1024 * 1024)) --format VMDK > /dev/null
rm -rf "$ud"
q createvm --basefolder "$dir" --name "$name" --register
q modifyvm "$name" --firmware bios --bioslogofadein off --bioslogofadeout off --bioslogodisplaytime 0 \
    --biosbootmenu disabled --ostype Linux26_64 --cpus 1 --memory 1024 --acpi on --ioapic on \
    --rtcuseutc on --natdnshostresolver1 off --natdnsproxy1 on --cpuhotplug off --pae on --hpet on \
    --hwvirtex on --nestedpaging on --largepages on --vtxvpid on --accelerate3d off --boot1 dvd
q modifyvm "$name" --nic1 nat --nictype1 82540EM --cableconnected1 on
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
q modifyvm "$name" --natpf1 "ssh,tcp,127.0.0.1,$port,,22"
q storagectl "$name" --name SATA --add sata --hostiocache on
q storageattach "$name" --storagectl SATA --port 0 --device 0 --type dvddrive --medium "$dir/boot2docker.iso"
q storageattach "$name" --storagectl SATA --port 1 --device 0 --type hdd --medium "$dir/disk.vmdk"

# --- the driver's Start: the host-only network (the interface carrying the CIDR, or a new one
# with its DHCP server), the second adapter, startvm, the address ---
host_ip=${cidr%/*}
ifname=$(VBoxManage list hostonlyifs | awk -v ip="$host_ip" '/^Name:/ {n=$2} /^IPAddress:/ && $2 == ip {print n}' | head -1)
if [ -z "$ifname" ]; then
    ifname=$(VBoxManage hostonlyif create | sed -n "s/^Interface '\(.*\)' was successfully created$/\1/p")
    q hostonlyif ipconfig "$ifname" --ip "$host_ip" --netmask 255.255.255.0
    net=${host_ip%.*}
    q dhcpserver add --ifname "$ifname" --ip "$net.100" --netmask 255.255.255.0 --lowerip "$net.101" --upperip "$net.254" --enable
fi
q modifyvm "$name" --nic2 hostonly --nictype2 82540EM --nicpromisc2 deny --hostonlyadapter2 "$ifname" --cableconnected2 on
q startvm "$name" --type headless
sshq() { ssh -q -i "$dir/id_rsa" -p "$port" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 docker@127.0.0.1 "$@"; }
for _ in $(seq 120); do sshq true 2> /dev/null && break; sleep 1; done
ip=$(sshq "ip addr show dev eth1" | sed -n 's/.*inet \([0-9.]*\)\/.*/\1/p' | head -1)
[ -n "$ip" ] || { echo "docker-machine-create: $name has no address" >&2; exit 1; }

# --- the boot2docker provisioner: hostname, server certificate, profile, restart ---
sshq "sudo /usr/bin/sethostname $name"
openssl genrsa -traditional -out "$dir/server-key.pem" 2048 2> /dev/null
openssl req -new -key "$dir/server-key.pem" -subj "/O=$(id -un).$name" -out "$dir/server.csr" 2> /dev/null
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment,keyAgreement\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:%s,DNS:localhost\n' "$ip" > "$dir/server.ext"
openssl x509 -req -in "$dir/server.csr" -CA "$certs/ca.pem" -CAkey "$certs/ca-key.pem" -CAcreateserial \
    -days 1080 -extfile "$dir/server.ext" -out "$dir/server.pem" 2> /dev/null
rm -f "$dir/server.csr" "$dir/server.ext" "$certs/ca.srl"
cp "$certs/ca.pem" "$certs/cert.pem" "$certs/key.pem" "$dir/"
# The first boot's own start of Docker (its keys) is waited out before the profile is written.
for _ in $(seq 120); do sshq "sudo /etc/init.d/docker status" > /dev/null 2>&1 && break; sleep 1; done
sshq "sudo /etc/init.d/docker stop" > /dev/null 2>&1 || true
sshq "sudo tee /var/lib/boot2docker/ca.pem > /dev/null" < "$certs/ca.pem"
sshq "sudo tee /var/lib/boot2docker/server.pem > /dev/null" < "$dir/server.pem"
sshq "sudo tee /var/lib/boot2docker/server-key.pem > /dev/null" < "$dir/server-key.pem"
printf "\nEXTRA_ARGS='\n--label provider=virtualbox\n\n'\nCACERT=/var/lib/boot2docker/ca.pem\nDOCKER_HOST='-H tcp://0.0.0.0:2376'\nDOCKER_STORAGE=overlay2\nDOCKER_TLS=auto\nSERVERKEY=/var/lib/boot2docker/server-key.pem\nSERVERCERT=/var/lib/boot2docker/server.pem\n\n\n" \
    | sshq "sudo tee /var/lib/boot2docker/profile > /dev/null"
sshq "sudo /etc/init.d/docker start" > /dev/null
for _ in $(seq 60); do
    docker --tlsverify --tlscacert "$dir/ca.pem" --tlscert "$dir/cert.pem" --tlskey "$dir/key.pem" \
        -H "tcp://$ip:2376" version > /dev/null 2>&1 && break
    sleep 1
done

# --- config.json, as libmachine's filestore saves a host ---
cat > "$dir/config.json" <<JSON
{
    "ConfigVersion": 3,
    "Driver": {
        "IPAddress": "$ip",
        "MachineName": "$name",
        "SSHUser": "docker",
        "SSHPort": $port,
        "SSHKeyPath": "$dir/id_rsa",
        "StorePath": "$store",
        "SwarmMaster": false,
        "SwarmHost": "tcp://0.0.0.0:3376",
        "SwarmDiscovery": "",
        "VBoxManager": {},
        "HostInterfaces": {},
        "CPU": 1,
        "Memory": 1024,
        "DiskSize": $size_mb,
        "NatNicType": "82540EM",
        "Boot2DockerURL": "",
        "Boot2DockerImportVM": "",
        "HostDNSResolver": false,
        "HostOnlyCIDR": "$cidr",
        "HostOnlyNicType": "82540EM",
        "HostOnlyPromiscMode": "deny",
        "UIType": "headless",
        "HostOnlyNoDHCP": false,
        "NoShare": false,
        "DNSProxy": true,
        "NoVTXCheck": false,
        "ShareFolder": ""
    },
    "DriverName": "virtualbox",
    "HostOptions": {
        "Driver": "",
        "Memory": 0,
        "Disk": 0,
        "EngineOptions": {
            "ArbitraryFlags": [],
            "Dns": null,
            "GraphDir": "",
            "Env": [],
            "Ipv6": false,
            "InsecureRegistry": [],
            "Labels": [],
            "LogLevel": "",
            "StorageDriver": "",
            "SelinuxEnabled": false,
            "TlsVerify": true,
            "RegistryMirror": [],
            "InstallURL": "https://get.docker.com"
        },
        "SwarmOptions": {
            "IsSwarm": false
        },
        "AuthOptions": {
            "CertDir": "$certs",
            "CaCertPath": "$certs/ca.pem",
            "CaPrivateKeyPath": "$certs/ca-key.pem",
            "CaCertRemotePath": "",
            "ServerCertPath": "$dir/server.pem",
            "ServerKeyPath": "$dir/server-key.pem",
            "ClientKeyPath": "$certs/key.pem",
            "ServerCertRemotePath": "",
            "ServerKeyRemotePath": "",
            "ClientCertPath": "$certs/cert.pem",
            "ServerCertSANs": [],
            "StorePath": "$dir"
        }
    },
    "Name": "$name"
}
JSON
echo "$ip"
