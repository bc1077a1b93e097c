//! Every `vswarm` command, end to end in the lab, through the real binary: a three-node cluster
//! brought up, used with the real docker CLI and OpenSSH, changed, and taken down; then what
//! happens when `up` fails.

use vswarm_lab::harness::{expect_lines, in_lab};

const CLUSTER: &str = r#"
cat > stack.yml <<'YML'
version: "3.8"
services:
  nginx:
    image: nginx:stable-alpine
    ports:
      - { target: 80, published: 80, mode: host }
    networks: [nginx]
    deploy: { mode: global }
networks:
  nginx: { driver: overlay }
YML
cat > vswarm.yml <<YML
name: e2e
network: { cidr: 192.168.56.1/24 }
engine: { registry_mirrors: ["http://192.168.56.1:$VBOXSIM_REGISTRY_PORT"] }
nodes:
  - { name: m1, role: manager, labels: { zone: a } }
  - { name: w1, memory: 768 }
  - { name: w2, labels: [tier=db], availability: active }
stacks: [ { name: web, file: stack.yml } ]
YML
"#;

#[test]
fn every_command_works_on_a_three_node_cluster() {
    let script = format!(
        "{CLUSTER}{}",
        r#"
set -u
export VBOXSIM_LOG="$W/calls.jsonl"
VSWARM_LOG=trace vswarm up > up.txt 2> up.err || { echo "FAIL up"; tail -20 up.err; exit 1; }
echo "UP $(head -1 up.txt | cut -d' ' -f1-4)"
echo "NAMED $(VBoxManage list vms | cut -d'"' -f2 | sort | tr '\n' ' ')"
echo "SUMMARY $(grep -c 'tcp://192.168.56' up.txt) nodes, $(grep -o 'http://192.168.56.[0-9]*:80/' up.txt | wc -l) urls"

eval "$(vswarm env m1)"
wt=$(docker swarm join-token -q worker); mt=$(docker swarm join-token -q manager)
leaks=0
for secret in "$wt" "$mt" "${wt##*-}" "${mt##*-}"; do grep -qF -- "$secret" up.err && leaks=$((leaks+1)); done
grep -q "PRIVATE KEY-----" up.err && leaks=$((leaks+1))
echo "SECRETS $leaks leaks in $(wc -l < up.err) trace lines, redacted $(grep -c 'SWMTKN-1-<redacted>' up.err)"

: > "$VBOXSIM_LOG"
vswarm up -q > reup.txt 2> reup.err || { echo "FAIL reup"; cat reup.err; }
echo "REUP calls $(count_calls "$VBOXSIM_LOG") output $(wc -c < reup.txt)"

vswarm ls --format json > ls.json
python3 -c 'import json; d=json.load(open("ls.json")); print("LS", " ".join(n["name"]+":"+n["role"]+":"+n["state"] for n in d["nodes"]))'
echo "LSALL $(cd / && vswarm ls | grep -c '^e2e ')"
echo "LSQ $(vswarm ls -q | tr '\n' ' ')"

echo "DOCKER $(docker node ls --format '{{.Hostname}}:{{.Status}}' | sort | tr '\n' ' ')"
echo "LABELS $(docker node inspect m1 --format '{{index .Spec.Labels "zone"}}') $(docker node inspect w2 --format '{{index .Spec.Labels "tier"}}')"
echo "FISH $(vswarm env --shell fish m1 | grep -c '^set -gx DOCKER_')"
echo "POWERSHELL $(vswarm env --shell powershell m1 | grep -c '^\$Env:DOCKER_')"
echo "CMD $(vswarm env --shell cmd m1 | grep -c '^SET DOCKER_')"
echo "LEADERENV $(vswarm env | grep DOCKER_MACHINE_NAME)"
( eval "$(vswarm env --unset)"; echo "UNSET ${DOCKER_HOST:-cleared}" )
( unset DOCKER_HOST DOCKER_TLS_VERIFY DOCKER_CERT_PATH; echo "CONTEXT $(docker --context vswarm-e2e node ls -q | wc -l)" )

ip=$(vswarm ip w1); echo "IP ${ip%.*}.x"
echo "CURL $(curl -fsS --max-time 5 "http://$ip/" | grep -o 'Welcome to nginx!')"
vswarm inspect w1 > inspect.json
python3 -c 'import json; d=json.load(open("inspect.json")); print("INSPECT", d["name"], d["role"], d["state"], d["vm"]["memory_mb"], d["docker"]["host"].startswith("tcp://"))'

echo "SSH $(vswarm ssh w1 -- hostname)"
vswarm ssh w1 -- exit 3; echo "SSHSTATUS $?"
echo "SSHPIPE $(vswarm ssh w1 -- 'echo a | tr a b')"
echo hello > local.txt
vswarm scp local.txt w1:/tmp/x.txt && vswarm scp w1:/tmp/x.txt back.txt && cmp -s local.txt back.txt && echo "SCP both ways"

echo "STACKLS $(vswarm stack ls | grep '^web ' | tr -s ' ')"
cat > extra.yml <<'YML'
services:
  who:
    image: vboxsim/whoami:latest
    deploy: { replicas: 1 }
YML
vswarm stack deploy -c extra.yml extra > deploy.txt 2>&1 && echo "STACKDEPLOY $(tail -1 deploy.txt)"
echo "DOCKERSTACKS $(docker stack ls --format '{{.Name}}' | sort | tr '\n' ' ')"
vswarm stack rm extra > /dev/null && echo "STACKRM $(docker stack ls --format '{{.Name}}' | tr '\n' ' ')"

docker pull -q alpine:latest > /dev/null
cid=$(docker run -d --restart=no alpine:latest sleep 100000)
server_before=$(vswarm ssh m1 -- sudo cat /var/lib/boot2docker/server.pem | sha256sum)
client_before=$(sha256sum < "$DOCKER_CERT_PATH/cert.pem")
vswarm regenerate-certs < /dev/null > regen.txt 2>&1; rc=$?
server_after=$(vswarm ssh m1 -- sudo cat /var/lib/boot2docker/server.pem | sha256sum)
eval "$(vswarm env m1)"
running=$(docker inspect -f '{{.State.Running}}' "$cid")
[ "$server_before" != "$server_after" ] && s=renewed || s=same
[ "$client_before" != "$(sha256sum < "$DOCKER_CERT_PATH/cert.pem")" ] && c=renewed || c=same
echo "REGEN rc=$rc running=$running server=$s client=$c context=$(docker --context vswarm-e2e node ls -q | wc -l)"
vswarm regenerate-certs --restart-docker w2 > regen2.txt 2>&1; echo "REGENRESTART rc=$? $(grep -c 'served now' regen2.txt)"

state() { vswarm ls --format json | python3 -c "import json,sys; print([n['state'] for n in json.load(sys.stdin)['nodes'] if n['name']=='$1'][0])"; }
vswarm stop w2 > /dev/null 2>&1; echo "STOP $(state w2)"
vswarm start w2 > /dev/null 2>&1; echo "START $(state w2)"
vswarm restart w1 > restart.txt 2>&1; echo "RESTART rc=$? $(state w1)"
vswarm kill w1 > /dev/null 2>&1; echo "KILL $(state w1)"
vswarm start w1 > /dev/null 2>&1; echo "STARTED $(state w1) $(vswarm ssh w1 -- hostname)"

vswarm doctor --format json > doctor.json; echo "DOCTOR rc=$?"
python3 -c 'import json; d=json.load(open("doctor.json")); s=[c["status"] for c in d["checks"]]; print("DOCTORCHECKS", "fail=%d" % s.count("fail"), "nodes=%d" % sum(1 for c in d["checks"] if c["name"].endswith(" tls") and c["status"]=="ok"))'

echo "IMAGES $(vswarm images ls --format json | python3 -c 'import json,sys; print(" ".join(i["version"] for i in json.load(sys.stdin)))')"

( vswarm up > l1.log 2>&1 & vswarm up > l2.log 2>&1; wait )
echo "LOCK $(cat l1.log l2.log | grep -c 'is locked: `vswarm up` (pid')"

vswarm rm w2 > rm.txt 2>&1; echo "RM rc=$? swarm=$(docker node ls -q | wc -l) vms=$(VBoxManage list vms | grep -c '"e2e-w2"')"

vswarm completion bash | grep -q 'complete -F' && vswarm completion zsh | grep -q '#compdef vswarm' && echo "COMPLETION bash zsh"

vswarm down > down.txt 2>&1; echo "DOWN rc=$?"
echo "LEFT vms=$(VBoxManage list vms | wc -l) ifs=$(VBoxManage list hostonlyifs | grep -c '^Name') dhcp=$(VBoxManage list dhcpservers | grep -c '^NetworkName') links=$(ip -o link | grep -c vboxnet) clusters=$(ls "$VSWARM_HOME/clusters" | wc -l) context=$(docker context ls -q | grep -c vswarm-e2e)"
"#
    );
    let out = in_lab(&script, &[("VBOXSIM_BOOT_MS", "300")]);
    expect_lines(
        &out,
        &[
            "UP cluster e2e is up",
            "NAMED e2e-m1 e2e-w1 e2e-w2 ",
            "SUMMARY 3 nodes, 3 urls",
            "SECRETS 0 leaks",
            "REUP calls 12 0 output 0",
            "LS m1:manager:running w1:worker:running w2:worker:running",
            "LSALL 3",
            "LSQ m1 w1 w2",
            "DOCKER m1:Ready w1:Ready w2:Ready",
            "LABELS a db",
            "FISH 4",
            "POWERSHELL 4",
            "CMD 4",
            "LEADERENV export DOCKER_MACHINE_NAME=\"m1\"",
            "UNSET cleared",
            "CONTEXT 3",
            "IP 192.168.56.x",
            "CURL Welcome to nginx!",
            "INSPECT w1 worker running 768 True",
            "SSH w1",
            "SSHSTATUS 3",
            "SSHPIPE b",
            "SCP both ways",
            "STACKLS web 1",
            "STACKDEPLOY stack extra: 1 created",
            "DOCKERSTACKS extra web",
            "STACKRM web",
            "REGEN rc=0 running=true server=renewed client=renewed context=3",
            "REGENRESTART rc=0 1",
            "STOP stopped",
            "START running",
            "RESTART rc=0 running",
            "KILL stopped",
            "STARTED running w1",
            "DOCTOR rc=0",
            "DOCTORCHECKS fail=0 nodes=3",
            "IMAGES v19.03.12",
            "LOCK 1",
            "RM rc=0 swarm=2 vms=0",
            "COMPLETION bash zsh",
            "DOWN rc=0",
            "LEFT vms=0 ifs=0 dhcp=0 links=0 clusters=0 context=0",
        ],
    );
}

#[test]
fn a_failed_up_removes_the_vms_it_created_and_the_next_up_converges() {
    let script = r#"
printf 'name: fail\nnodes: [ { name: f1 }, { name: f2 } ]\n' > vswarm.yml
# The second startvm of the lab fails once, with VirtualBox's own error.
VBOXSIM_FAIL=startvm:2 vswarm up > up1.txt 2> up1.err; echo "FAILED rc=$?"
grep -q 'bringing up the VM of f' up1.err && echo "SAYS which node and step"
echo "ROLLEDBACK vms=$(VBoxManage list vms | wc -l) $(grep -c 'removed the VMs this run created' up1.err)"
vswarm up > up2.txt 2> up2.err; echo "CONVERGED rc=$? $(head -1 up2.txt | cut -d' ' -f1-4)"
vswarm down > /dev/null 2>&1
VBOXSIM_FAIL=startvm:4 vswarm up --keep-on-failure > up3.txt 2> up3.err; echo "KEPT rc=$? vms=$(VBoxManage list vms | wc -l)"
vswarm up > /dev/null 2>&1; echo "AGAIN rc=$?"
vswarm down > /dev/null 2>&1; echo "DOWN vms=$(VBoxManage list vms | wc -l) ifs=$(VBoxManage list hostonlyifs | grep -c '^Name')"
"#;
    let out = in_lab(script, &[("VBOXSIM_BOOT_MS", "200")]);
    expect_lines(
        &out,
        &[
            "FAILED rc=1",
            "SAYS which node and step",
            "ROLLEDBACK vms=0 1",
            "CONVERGED rc=0 cluster fail is up",
            "KEPT rc=1 vms=2",
            "AGAIN rc=0",
            "DOWN vms=0 ifs=0",
        ],
    );
}

#[test]
fn a_host_without_virtualboxs_kernel_drivers_is_refused_before_anything_is_made() {
    let script = r#"
printf 'name: nodrv\nnodes: [ { name: d1 } ]\n' > vswarm.yml
vswarm up > up.txt 2> up.err; echo "REFUSED rc=$?"
grep -q 'sudo /sbin/vboxconfig\|modprobe' up.err && echo "FIX named"
echo "NOTHING vms=$(VBoxManage list vms | wc -l) ifs=$(VBoxManage list hostonlyifs | grep -c '^Name')"
vswarm doctor --format json > doctor.json; echo "DOCTOR rc=$?"
"#;
    let out = in_lab(script, &[("VBOXSIM_NO_KERNEL_MODULES", "1")]);
    expect_lines(
        &out,
        &[
            "REFUSED rc=1",
            "FIX named",
            "NOTHING vms=0 ifs=0",
            "DOCTOR rc=1",
        ],
    );
}

#[test]
fn with_no_file_up_builds_the_default_cluster_and_down_removes_it() {
    let script = r#"
mkdir empty && cd empty
vswarm -q up > up.txt 2> up.err; echo "UP rc=$?"
echo "NODES $(vswarm ls --format json | python3 -c 'import json,sys; d=json.load(sys.stdin)["clusters"][0]; print(d["cluster"], " ".join(n["name"]+":"+n["role"] for n in d["nodes"]))')"
echo "ENV $(vswarm env | grep -c 'DOCKER_MACHINE_NAME="node-01"')"
vswarm down > /dev/null 2>&1; echo "DOWN rc=$? vms=$(VBoxManage list vms | wc -l) clusters=$(ls "$VSWARM_HOME/clusters" | wc -l)"
vswarm down > down2.txt 2>&1; echo "AGAIN rc=$?"
"#;
    let out = in_lab(script, &[("VBOXSIM_BOOT_MS", "200")]);
    expect_lines(
        &out,
        &[
            "UP rc=0",
            "NODES default node-01:manager node-02:worker node-03:worker",
            "ENV 1",
            "DOWN rc=0 vms=0 clusters=0",
            "AGAIN rc=0",
        ],
    );
}
