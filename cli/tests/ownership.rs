//! vswarm touches only what it made, end to end in the lab: a user's own VMs and another
//! cluster with the same node names survive `up` and `down`; a record lost or damaged does not
//! keep `down` from removing what carries the cluster's mark; every file vswarm writes is
//! private; two `up`s at once make one cluster.

use vswarm_lab::harness::{expect_lines, in_lab};

#[test]
fn a_users_vms_and_another_cluster_with_the_same_node_names_survive() {
    let script = r#"
reg="http://192.168.56.1:$VBOXSIM_REGISTRY_PORT"
for c in own other; do
  printf 'name: %s\nnetwork: { cidr: 192.168.56.1/24 }\nnodes: [ { name: c1, role: manager }, { name: c2 } ]\n' $c > $c.yml
done
# The user's own VMs: one named like a node, one named like the VM vswarm would make for c2.
VBoxManage createvm --name c1 --basefolder "$W/user" --register > /dev/null
VBoxManage createvm --name own-c2 --basefolder "$W/user" --register > /dev/null
vswarm -f own.yml up > up1.txt 2> up1.err; echo "REFUSED rc=$? $(grep -c "a VM named 'own-c2' exists but was not made by this cluster" up1.err)"
echo "USERVMS $(VBoxManage list vms | cut -d'"' -f2 | sort | tr '\n' ' ')"
VBoxManage unregistervm own-c2 --delete > /dev/null
vswarm -f own.yml up > /dev/null 2>&1; echo "OWN rc=$?"
vswarm -f other.yml up > /dev/null 2>&1; echo "OTHER rc=$?"
echo "ALL $(VBoxManage list vms | cut -d'"' -f2 | sort | tr '\n' ' ')"
echo "MARK $(VBoxManage getextradata own-c1 vswarm/owner | cut -d' ' -f2 | cut -d/ -f1)"
vswarm -f own.yml down > /dev/null 2>&1; echo "DOWN rc=$?"
echo "AFTER $(VBoxManage list vms | cut -d'"' -f2 | sort | tr '\n' ' ')"
echo "OTHERUP $(vswarm -f other.yml ls --format json | grep -o '"running"' | wc -l) $(docker --context vswarm-other node ls -q | wc -l)"
# The other cluster's record is damaged: down removes what carries its mark all the same.
echo 'not json' > "$VSWARM_HOME/clusters/other/cluster.json"
vswarm -f other.yml down > down.txt 2>&1; echo "DAMAGED rc=$? $(grep -c 'carry the cluster' down.txt)"
echo "LEFT $(VBoxManage list vms | cut -d'"' -f2 | sort | tr '\n' ' ')ifs=$(VBoxManage list hostonlyifs | grep -c '^Name')"
"#;
    let out = in_lab(script, &[("VBOXSIM_BOOT_MS", "200")]);
    expect_lines(
        &out,
        &[
            "REFUSED rc=1 1",
            "USERVMS c1 own-c2 ",
            "OWN rc=0",
            "OTHER rc=0",
            "ALL c1 other-c1 other-c2 own-c1 own-c2 ",
            "MARK own",
            "DOWN rc=0",
            "AFTER c1 other-c1 other-c2 ",
            "OTHERUP 2 2",
            "DAMAGED rc=0 1",
            "LEFT c1 ifs=",
        ],
    );
}

#[test]
fn every_file_vswarm_writes_is_private_and_two_ups_make_one_cluster() {
    let script = r#"
cat > stack.yml <<'YML'
services:
  who:
    image: vboxsim/whoami:latest
    deploy: { replicas: 1 }
YML
cat > vswarm.yml <<YML
name: priv
engine: { registry_mirrors: ["http://192.168.56.1:$VBOXSIM_REGISTRY_PORT"] }
nodes: { managers: 1, workers: 2 }
stacks: [ { name: web, file: stack.yml } ]
YML
# Two ups at once, from nothing: one waits for the other; one cluster comes of it.
( vswarm up > u1.txt 2> u1.err & vswarm up > u2.txt 2> u2.err; wait )
echo "BOTH $(grep -c '^cluster priv is up' u1.txt u2.txt | cut -d: -f2 | tr '\n' ' ')"
echo "ONE vms=$(VBoxManage list vms | wc -l) ifs=$(VBoxManage list hostonlyifs | grep -c '^Name') swarm=$(docker --context vswarm-priv node ls --format '{{.Status}}' | grep -c Ready)"
vswarm ssh priv-worker-1 -- true && echo "SSH ok"
python3 - "$VSWARM_HOME" "$DOCKER_CONFIG" <<'PY'
import os, stat, sys
bad, seen = [], 0
for root in sys.argv[1:]:
    mode = lambda p: stat.S_IMODE(os.lstat(p).st_mode)
    if mode(root) & 0o077:
        bad.append(root)
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                continue
            seen += 1
            if mode(path) & 0o077 == 0:
                continue
            # Otherwise a folder between it and the root must be private.
            up, private = os.path.dirname(path), False
            while len(up) > len(root):
                if mode(up) & 0o077 == 0:
                    private = True
                    break
                up = os.path.dirname(up)
            if not private:
                bad.append(path)
print("PRIVATE %d paths, %d open: %s" % (seen, len(bad), " ".join(bad[:5])))
PY
echo "DISK $(stat -c %a "$VSWARM_HOME"/clusters/priv/machines/priv-worker-1/disk.vmdk) KEY $(stat -c %a "$VSWARM_HOME"/clusters/priv/id_ed25519) CAKEY $(stat -c %a "$VSWARM_HOME"/clusters/priv/tls/ca-key.pem)"
vswarm down > /dev/null 2>&1; echo "DOWN rc=$?"
"#;
    let out = in_lab(script, &[("VBOXSIM_BOOT_MS", "200")]);
    expect_lines(
        &out,
        &[
            "BOTH 1 1 ",
            "ONE vms=3 ifs=1 swarm=3",
            "SSH ok",
            "PRIVATE ",
            "DISK 600 KEY 600 CAKEY 600",
            "DOWN rc=0",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("PRIVATE ") && l.contains(", 0 open:")),
        "{text}"
    );
}
