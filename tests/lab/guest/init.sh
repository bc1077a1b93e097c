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
    mkdir -p "$G_STATE/boot2docker" "$G_STATE/docker" "$G_STATE/home-docker"
    mount --bind "$G_STATE/boot2docker" "$N/var/lib/boot2docker" || die "bind boot2docker"
    mount --bind "$G_STATE/docker" "$N/var/lib/docker" || die "bind docker"
    mount --bind "$G_STATE/home-docker" "$N/home/docker" || die "bind home"
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
PRETTY_NAME="Boot2Docker ${G_VERSION} (vboxsim guest)"
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
chown 1000:50 /home/docker
[ -d /home/docker/.ssh ] && chown -R 1000:50 /home/docker/.ssh && chmod 700 /home/docker/.ssh

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

# --- docker, controlled by /etc/init.d/docker from /var/lib/boot2docker/profile ------
cat > /etc/init.d/docker <<EOF
#!/bin/sh
# boot2docker-style init script for dockerd (vboxsim guest).
CGROUP_PARENT=${G_CGROUP}
EOF
cat >> /etc/init.d/docker <<'EOF'
PIDFILE=/var/run/docker.pid
LOG=/var/log/docker.log
DOCKER_HOST=''
DOCKER_STORAGE=overlay2
DOCKER_TLS=no
EXTRA_ARGS=''
CACERT=/var/lib/boot2docker/ca.pem
SERVERCERT=/var/lib/boot2docker/server.pem
SERVERKEY=/var/lib/boot2docker/server-key.pem
[ -r /var/lib/boot2docker/profile ] && . /var/lib/boot2docker/profile

running() { [ -s "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

start() {
    if running; then echo "Docker daemon is running"; return 0; fi
    set -- -H unix:///var/run/docker.sock $DOCKER_HOST
    if [ "$DOCKER_TLS" != no ]; then
        set -- "$@" --tlsverify --tlscacert="$CACERT" --tlscert="$SERVERCERT" --tlskey="$SERVERKEY"
    fi
    [ -n "$DOCKER_STORAGE" ] && set -- "$@" --storage-driver "$DOCKER_STORAGE"
    [ -n "$CGROUP_PARENT" ] && set -- "$@" --cgroup-parent "$CGROUP_PARENT"
    echo "starting dockerd $* $EXTRA_ARGS" >> "$LOG"
    # EXTRA_ARGS is word-split on purpose: it holds several flags.
    nohup /usr/sbin/dockerd "$@" --pidfile "$PIDFILE" $EXTRA_ARGS >> "$LOG" 2>&1 < /dev/null &
    i=0
    while [ $i -lt 300 ]; do
        [ -S /var/run/docker.sock ] && running && return 0
        kill -0 $! 2>/dev/null || { echo "dockerd exited; see $LOG" >&2; return 1; }
        sleep 0.1; i=$((i + 1))
    done
    echo "dockerd did not come up; see $LOG" >&2
    return 1
}

stop() {
    running || { rm -f "$PIDFILE"; return 0; }
    pid=$(cat "$PIDFILE")
    kill "$pid"
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
    kill -9 "$pid" 2>/dev/null
    rm -f "$PIDFILE" /var/run/docker.sock
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    restart) stop; start ;;
    status) if running; then echo "Docker daemon is running"; else echo "Docker daemon is not running"; exit 1; fi ;;
    *) echo "Usage $0 {start|stop|restart|status}"; exit 1 ;;
esac
EOF
chmod 755 /etc/init.d/docker
/etc/init.d/docker start || say "docker failed to start"

shutdown() {
    say "ACPI power button: shutting down"
    /etc/init.d/docker stop
    pkill -TERM sshd
    exit 0
}
trap shutdown TERM
# VBoxHeadless reads this line from the console to report the guest additions' properties.
say "VBOXSIM-BOOTED"
while :; do
    sleep 3600 &
    wait $!
done
