#!/bin/bash
# vboxsim guest init: PID 1 of a simulated VM, following boot2docker's conventions on the host's
# real Linux userland (sshd, sudo, dockerd from Debian packages).
#
# VBoxHeadless starts it inside fresh network, mount, UTS, IPC and PID namespaces. It builds the
# guest's root as an overlay of the host's / (writes land in a tmpfs, as boot2docker's root is a
# ramdisk), binds the persistent folders of the VM's disk (/var/lib/boot2docker, /var/lib/docker,
# /home/docker), pivots into it, sets up the docker user, sshd and /etc/init.d/docker, and waits.
# SIGTERM is the ACPI power button: docker and sshd are stopped and the guest exits.
#
# Environment from VBoxHeadless:
#   G_NAME     the VM's name (its hostname until /var/lib/boot2docker/etc/hostname says otherwise)
#   G_STATE    host folder holding the disk's persistent state, or empty for a disk-less VM
#   G_RUN      host folder for this run (the tmpfs root is mounted there, privately)
#   G_CGROUP   cgroup parent for the guest's containers (removed by VBoxHeadless afterwards)
#   G_VERSION  the boot2docker version of the attached ISO
set -u
say() { echo "guest-init: $*"; }
die() { say "FATAL: $*"; exit 1; }

R="$G_RUN/root"
mkdir -p "$R" || die "mkdir $R"
mount -t tmpfs -o mode=755 vboxsim-root "$R" || die "tmpfs root"
mkdir -p "$R/upper" "$R/work" "$R/new"
mount -t overlay overlay -o "lowerdir=/,upperdir=$R/upper,workdir=$R/work" "$R/new" || die "overlay root"
N="$R/new"

mkdir -p "$N/var/lib/boot2docker" "$N/var/lib/docker" "$N/home/docker"
if [ -n "$G_STATE" ]; then
    # Only /var/lib/boot2docker and /var/lib/docker live on the disk (boot2docker's autoformat
    # links them there); /home/docker is in memory and unpacked from userdata.tar at each boot.
    mkdir -p "$G_STATE/boot2docker" "$G_STATE/docker"
    mount --bind "$G_STATE/boot2docker" "$N/var/lib/boot2docker" || die "bind boot2docker"
    mount --bind "$G_STATE/docker" "$N/var/lib/docker" || die "bind docker"
else
    # No persistent disk: everything lives in memory, as boot2docker without a data disk.
    mount -t tmpfs tmpfs "$N/var/lib/docker"
fi
mount -t proc proc "$N/proc" || die "proc"
mount -t sysfs sysfs "$N/sys" || die "sysfs"
mount --rbind /sys/fs/cgroup "$N/sys/fs/cgroup" || die "cgroup"
mount --rbind /dev "$N/dev" || die "dev"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts "$N/dev/pts" || die "devpts"
mount --bind "$N/dev/pts/ptmx" "$N/dev/ptmx"
mount -t tmpfs -o mode=755 tmpfs "$N/run" || die "run"
mount -t tmpfs -o mode=1777 tmpfs "$N/tmp" || die "tmp"
cd "$N" || die "cd"
mkdir -p .oldroot
pivot_root . .oldroot || die "pivot_root"
cd /
umount -l /.oldroot
rmdir /.oldroot 2>/dev/null

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ip link set lo up

# --- names -------------------------------------------------------------------
# Under VirtualBox the guest's resolver is NAT's (10.0.2.3), which asks the host's. The lab has no
# NAT network, and the host's nameserver (inherited in this copy of its /etc) cannot be reached
# from the guest's namespace, so a lookup would wait for its timeouts. Names do not resolve in a
# lab guest: the resolver points at the guest's own loopback, where nothing answers, and a lookup
# fails at once, as on an offline host.
rm -f /etc/resolv.conf
echo 'nameserver 127.0.0.1' > /etc/resolv.conf

# --- identity ---------------------------------------------------------------
name="$G_NAME"
if [ -s /var/lib/boot2docker/etc/hostname ]; then
    name=$(cat /var/lib/boot2docker/etc/hostname)
fi
hostname "$name"
echo "$name" > /etc/hostname
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' "$name" > /etc/hosts
cat > /etc/os-release <<EOF
NAME=Boot2Docker
VERSION=${G_VERSION}
ID=boot2docker
ID_LIKE=tcl
VERSION_ID=${G_VERSION}
PRETTY_NAME="Boot2Docker ${G_VERSION} (TCL 10.1)"
ANSI_COLOR="1;34"
HOME_URL="https://github.com/boot2docker/boot2docker"
SUPPORT_URL="https://blog.docker.com/2016/11/introducing-docker-community-directory-docker-community-slack/"
BUG_REPORT_URL="https://github.com/boot2docker/boot2docker/issues"
EOF

# boot2docker's sethostname: the running name, /etc/hostname and the persistent copy.
cat > /usr/bin/sethostname <<'EOF'
#!/bin/sh
set -e
[ -n "${1:-}" ] || { echo "usage: sethostname NAME" >&2; exit 1; }
hostname "$1"
echo "$1" > /etc/hostname
mkdir -p /var/lib/boot2docker/etc
echo "$1" > /var/lib/boot2docker/etc/hostname
sed -i "s/^127\.0\.1\.1\t.*/127.0.1.1\t$1/" /etc/hosts
EOF
chmod 755 /usr/bin/sethostname

# --- the docker user (password tcuser, passwordless sudo) ----------------------
getent group docker >/dev/null || groupadd -r docker
# uid 1000 is docker's in boot2docker; a host user with that uid is not part of the guest.
other=$(awk -F: '$3 == 1000 && $1 != "docker" {print $1}' /etc/passwd)
for u in $other; do
    sed -i "/^$u:/d" /etc/passwd /etc/shadow
done
if ! grep -q '^docker:' /etc/passwd; then
    echo 'docker:x:1000:50:Docker:/home/docker:/bin/bash' >> /etc/passwd
    echo 'docker:$6$vboxsim$Y2sumTe/JqJz1ktFSxzcIW70FwNIiaqsd4wm/CtatwBWw9X4nVkgjZr./IzNltYP3DJ5qZKCR.A7DHXqBQbF9.:19000:0:99999:7:::' >> /etc/shadow
fi
usermod -a -G docker docker 2>/dev/null || sed -i 's/^\(docker:x:[0-9]*:\)$/\1docker/' /etc/group
mkdir -p /etc/sudoers.d
echo 'docker ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/docker
chmod 440 /etc/sudoers.d/docker
# autoformat's mount step, at every boot: the saved userdata tar is unpacked into the home.
if [ -e /var/lib/boot2docker/userdata.tar ]; then
    tar -xf /var/lib/boot2docker/userdata.tar -C /home/docker
    rm -f "/home/docker/boot2docker, please format-me"
fi
chown 1000:50 /home/docker
[ -d /home/docker/.ssh ] && chown -R 1000:50 /home/docker/.ssh && chmod 700 /home/docker/.ssh

# --- guest additions: boot2docker's bootsync starts them (`/etc/init.d/vbox start`) before sshd
# and docker. VBoxHeadless reads this line from the console to report their properties.
say "VBOXSIM-BOOTED"

# The power button works from here on, as boot2docker's acpid (started in bootsync) makes it: a
# boot step that takes long (a first boot's RSA keys) runs in the background and is waited for,
# since bash runs a trap only between foreground commands and PID 1 ignores untrapped signals.
shutdown() {
    say "ACPI power button: shutting down"
    /etc/init.d/docker stop
    pkill -TERM sshd
    exit 0
}
trap shutdown TERM

# --- sshd, with host keys that persist on the disk as boot2docker keeps them ------
mkdir -p /var/lib/boot2docker/ssh /run/sshd
for t in rsa ecdsa ed25519; do
    k=/var/lib/boot2docker/ssh/ssh_host_${t}_key
    [ -s "$k" ] || ssh-keygen -q -t "$t" -N '' -f "$k"
done
cat > /etc/ssh/sshd_config <<'EOF'
Port 22
HostKey /var/lib/boot2docker/ssh/ssh_host_ed25519_key
HostKey /var/lib/boot2docker/ssh/ssh_host_ecdsa_key
HostKey /var/lib/boot2docker/ssh/ssh_host_rsa_key
AuthorizedKeysFile .ssh/authorized_keys .ssh/authorized_keys2
PermitRootLogin no
PasswordAuthentication yes
UsePAM no
UseDNS no
PrintMotd no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
/usr/sbin/sshd -E /var/log/sshd.log || say "sshd failed to start"

# --- docker, controlled by /etc/init.d/docker as boot2docker v19.03.12's files/init.d/docker -----
# Observable behaviour kept: the profile's variables and their defaults; DOCKER_REMOTE inferred
# when userdata.tar exists without a profile (docker-machine waits for 2376 before it writes one)
# or when the profile sets DOCKER_TLS or DOCKER_HOST without DOCKER_REMOTE; TLS material the
# guest makes itself under /var/lib/boot2docker/tls when missing, the client's copy in
# ~docker/.docker; /etc/docker linked into /var/lib/boot2docker/etc/docker; `start` returns
# once dockerd is launched (it does not wait for the socket) and refuses a running daemon;
# `stop` polls each second for 30 s; `reload` sends HUP; the log in
# /var/lib/boot2docker/log/docker.log. The lab adds only --cgroup-parent (its guests share the
# host's cgroup tree).
cat > /etc/init.d/docker <<EOF
#!/bin/sh
# dockerd start script (vboxsim guest, boot2docker v19.03.12 semantics)
LAB_CGROUP_PARENT=${G_CGROUP}
EOF
cat >> /etc/init.d/docker <<'EOF'
if [ "$(id -u)" != 0 ]; then
	echo >&2 "error: must be root to invoke $0"
	exit 1
fi
test -f /var/lib/boot2docker/profile && . /var/lib/boot2docker/profile

: ${DOCKER_STORAGE:=auto}
: ${DOCKER_DIR:=/var/lib/docker}

# Whether the daemon listens on TCP although the profile does not say DOCKER_REMOTE=yes.
remote_by_inference() {
	# A userdata disk without a profile yet: docker-machine checks the daemon answers on 2376
	# before it writes its own profile.
	[ -e /var/lib/boot2docker/userdata.tar ] && [ ! -e /var/lib/boot2docker/profile ] && return 0
	# Older profiles name DOCKER_TLS or DOCKER_HOST and mean a remote daemon.
	{ [ -n "$DOCKER_TLS" ] || [ -n "$DOCKER_HOST" ]; } && [ -z "$DOCKER_REMOTE" ] && return 0
	return 1
}
remote_by_inference && DOCKER_REMOTE=yes

: ${DOCKER_REMOTE:=no}
: ${DOCKER_TLS:=yes}
: ${CERT_INTERFACES:='eth0 eth1'}
: ${CERTDIR:=/var/lib/boot2docker/tls}
: ${CACERT:="$CERTDIR/ca.pem"}
: ${CAKEY:="$CERTDIR/cakey.pem"}
: ${CASRL:="$CERTDIR/ca.srl"}
: ${SERVERCERT:="$CERTDIR/server.pem"}
: ${SERVERKEY:="$CERTDIR/serverkey.pem"}
: ${SERVERCSR:="$CERTDIR/server.csr"}
: ${CERT:="$CERTDIR/client.pem"}
: ${KEY:="$CERTDIR/clientkey.pem"}
: ${CSR:="$CERTDIR/client.csr"}
: ${ORG:=Boot2Docker}
: ${SERVERORG:="$ORG"}
: ${CAORG:="$ORG CA"}

USERHOME=$(awk -F: '$1 == "docker" { print $6; exit }' /etc/passwd)
: ${USERHOME:=/home/docker}
USERUIDGID=$(awk -F: '$1 == "docker" { print $3 ":" $4; exit }' /etc/passwd)
: ${USERUIDGID:=docker}
USERCFG="$USERHOME/.docker"
PIDFILE=/var/run/docker.pid

pid() {
	[ -s "$PIDFILE" ] || return 1
	p=$(cat "$PIDFILE")
	ps -p "$p" >/dev/null 2>&1 || return 1
	echo "$p"
}

key() { [ -f "$1" ] || { echo "Generating $1"; openssl genrsa -out "$1" 4096; }; }

# sign CSR OUT EXTENSION: the CA signs CSR into OUT with one extension line.
sign() {
	ext="$CERTDIR/extfile.cnf"
	echo "$3" > "$ext"
	openssl x509 -req -days 365 -in "$1" -CA "$CACERT" -CAkey "$CAKEY" -out "$2" -extfile "$ext"
	rm "$ext"
}

tls_material() {
	mkdir -p "$CERTDIR"
	chmod 700 "$CERTDIR"
	key "$CAKEY"
	if [ ! -f "$CACERT" ]; then
		echo "Generating $CACERT"
		openssl req -new -x509 -nodes -days 365 -key "$CAKEY" -subj "/O=$CAORG" -out "$CACERT"
	fi
	[ -f "$CASRL" ] || echo 01 > "$CASRL"
	key "$SERVERKEY"
	if [ ! -f "$SERVERCERT" ]; then
		echo "Generating $SERVERCERT"
		names="IP:$(hostname -i),IP:127.0.0.1,DNS:localhost,DNS:localhost.local,IP:::1,DNS:ip6-localhost,DNS:ip6-loopback"
		for i in $CERT_INTERFACES; do
			for a in $(ip addr show "$i" | awk -F '[/[:space:]]+' '$2 == "inet" { print $3 }'); do
				names="$names,IP:$a"
			done
		done
		openssl req -new -key "$SERVERKEY" -subj "/O=$SERVERORG/CN=$(hostname -s)" -out "$SERVERCSR"
		sign "$SERVERCSR" "$SERVERCERT" "subjectAltName = $names"
	fi
	key "$KEY"
	if [ ! -f "$CERT" ]; then
		echo "Generating $CERT"
		openssl req -new -key "$KEY" -subj "/O=$ORG" -out "$CSR"
		sign "$CSR" "$CERT" 'extendedKeyUsage = clientAuth'
	fi
	mkdir -p "$USERCFG"
	chmod 700 "$USERCFG"
	chown "$USERUIDGID" "$USERCFG"
	cp "$CACERT" "$USERCFG/ca.pem"
	chown "$USERUIDGID" "$USERCFG/ca.pem"
	cp "$CERT" "$USERCFG/cert.pem"
	chown "$USERUIDGID" "$USERCFG/cert.pem"
	cp "$KEY" "$USERCFG/key.pem"
	chmod 700 "$USERCFG/key.pem"
	chown "$USERUIDGID" "$USERCFG/key.pem"
}

start() {
	if p=$(pid); then
		echo >&2 "error: Docker daemon is already running ($p)"
		exit 1
	fi
	if [ ! -s /etc/resolv.conf ] && [ -e /etc/resolv.conf.b2d ]; then
		cp -fT /etc/resolv.conf.b2d /etc/resolv.conf
	fi
	if [ ! -L /etc/docker ]; then
		echo 'Linking /etc/docker to /var/lib/boot2docker for persistence'
		mkdir -p /var/lib/boot2docker/etc/docker
		rm -rf /etc/docker
		ln -sf /var/lib/boot2docker/etc/docker /etc/docker
	fi
	if [ "$DOCKER_REMOTE" = yes ]; then
		if [ "$DOCKER_TLS" = no ]; then
			[ -n "$DOCKER_HOST" ] || DOCKER_HOST='-H tcp://0.0.0.0:2375'
			EXTRA_ARGS="$EXTRA_ARGS $DOCKER_HOST"
		else
			[ -n "$DOCKER_HOST" ] || DOCKER_HOST='-H tcp://0.0.0.0:2376'
			tls_material
			EXTRA_ARGS="$EXTRA_ARGS $DOCKER_HOST --tlsverify --tlscacert=$CACERT --tlskey=$SERVERKEY --tlscert=$SERVERCERT"
		fi
	fi
	if [ "$DOCKER_STORAGE" = aufs ]; then
		echo >&2 "warning: '$DOCKER_STORAGE' is not a supported storage driver for this boot2docker install -- ignoring request!"
		DOCKER_STORAGE=auto
	fi
	if [ -n "$DOCKER_STORAGE" ] && [ "$DOCKER_STORAGE" != auto ]; then
		EXTRA_ARGS="$EXTRA_ARGS --storage-driver $DOCKER_STORAGE"
	fi
	[ -n "$LAB_CGROUP_PARENT" ] && EXTRA_ARGS="$EXTRA_ARGS --cgroup-parent $LAB_CGROUP_PARENT"
	ulimit -n 1048576 2>/dev/null
	ulimit -c unlimited 2>/dev/null
	mkdir -p /var/lib/boot2docker/log
	echo 'Starting dockerd'
	# EXTRA_ARGS is word-split on purpose: it holds several flags.
	dockerd --data-root "$DOCKER_DIR" -H unix:// $EXTRA_ARGS --pidfile "$PIDFILE" >> /var/lib/boot2docker/log/docker.log 2>&1 &
}

stop() {
	if p=$(pid); then
		echo "Stopping dockerd ($p)"
		kill "$p"
		i=30
		while pid > /dev/null; do
			sleep 1
			i=$((i - 1))
			if [ "$i" -le 0 ]; then
				echo >&2 'error: failed to stop Docker daemon'
				exit 1
			fi
		done
	fi
}

reload() {
	if ! p=$(pid); then
		echo >&2 'error: Docker daemon is not running'
		exit 1
	fi
	kill -s HUP "$p"
}

status() {
	if pid > /dev/null; then
		echo 'Docker daemon is running'
		exit 0
	fi
	echo 'Docker daemon is not running'
	exit 1
}

case "${1:-}" in
	start) start ;;
	stop) stop ;;
	restart) stop; start ;;
	reload) reload ;;
	status) status ;;
	*) echo "Usage $0 {start|stop|restart|reload|status}"; exit 1 ;;
esac
EOF
chmod 755 /etc/init.d/docker

# --- the rest of boot2docker's bootsync.sh, in its order ----------------------------------------
mkdir -p /var/lib/boot2docker/log
chown docker /var/lib/boot2docker/log
if [ -e /var/lib/boot2docker/bootsync.sh ]; then
    sh /var/lib/boot2docker/bootsync.sh
fi
env -i PATH="$PATH" /etc/init.d/docker start &
wait $! || say "docker failed to start"
if [ -e /var/lib/boot2docker/bootlocal.sh ]; then
    sh /var/lib/boot2docker/bootlocal.sh &
fi

while :; do
    sleep 3600 &
    wait $!
done
