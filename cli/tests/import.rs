//! `vswarm import`, end to end in the lab: a machine made the docker-machine 0.16 way (raw
//! VBoxManage calls, its files laid out in `~/.docker/machine`, a swarm and a volume on it) is
//! adopted without being recreated, then managed by vswarm (`up`, `stop`/`start` with vswarm's
//! own SSH key, `ssh`, `down`); a machine it cannot adopt is named with why.

use vswarm_lab::harness::{expect_lines, in_lab, repo_root};

#[test]
fn a_docker_machine_machine_is_adopted_and_then_managed() {
    let script = r#"
iso=$(vswarm images pull 2> /dev/null | tail -1)
store="$HOME/.docker/machine"
ip=$(bash "$DM_CREATE" "$store" dm1 "$iso" 192.168.56.1/24) || { echo "DM failed"; exit 1; }
echo "DM ip=$ip"
m="$store/machines/dm1"
D="docker --tlsverify --tlscacert $m/ca.pem --tlscert $m/cert.pem --tlskey $m/key.pem -H tcp://$ip:2376"
$D swarm init --advertise-addr "$ip" > /dev/null && $D volume create dmdata > /dev/null && echo "DM swarm"
uuid() { VBoxManage showvminfo dm1 --machinereadable | sed -n 's/^UUID="\(.*\)"$/\1/p'; }
before=$(uuid)
mkdir -p "$store/machines/remote"
echo '{"Name":"remote","DriverName":"generic","Driver":{}}' > "$store/machines/remote/config.json"
vswarm import > import.txt 2>&1; echo "IMPORT rc=$?"; cat import.txt
grep -q "^remote: not adopted: its driver is 'generic'" import.txt && echo "NAMED generic"
vswarm import > again.txt 2>&1; echo "AGAIN rc=$? $(grep -c 'exists' again.txt)"
vswarm -f vswarm.yml up > up.txt 2>&1; echo "UP rc=$?"; tail -4 up.txt
[ "$(uuid)" = "$before" ] && echo "SAME VM"
echo "VOLUME $(docker --context vswarm-docker-machine volume ls -q | grep -c '^dmdata$')"
echo "SWARM $(docker --context vswarm-docker-machine node ls --format '{{.Hostname}} {{.ManagerStatus}}')"
$D version > /dev/null 2>&1 && echo "MACHINE CLIENT still works"
vswarm -f vswarm.yml stop > stop.txt 2>&1; echo "STOP rc=$?"
vswarm -f vswarm.yml start > start.txt 2>&1; echo "START rc=$?"; cat start.txt
echo "SSH $(vswarm -f vswarm.yml ssh dm1 -- hostname)"
echo "IP $(vswarm -f vswarm.yml ip dm1) was $ip"
vswarm -f vswarm.yml down > /dev/null 2>&1; echo "DOWN rc=$? vms=$(VBoxManage list vms | wc -l)"
"#;
    let create = repo_root().join("tests/lab/docker-machine-create.sh");
    let out = in_lab(
        script,
        &[
            ("VBOXSIM_BOOT_MS", "200"),
            ("DM_CREATE", create.to_str().expect("utf-8 path")),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let ip = text
        .lines()
        .find_map(|l| l.strip_prefix("DM ip="))
        .unwrap_or("?");
    expect_lines(
        &out,
        &[
            "DM swarm",
            "IMPORT rc=0",
            &format!("dm1: adopted (manager, {ip}, VM dm1)"),
            "NAMED generic",
            "AGAIN rc=2 1",
            "UP rc=0",
            "SAME VM",
            "VOLUME 1",
            "SWARM dm1 Leader",
            "MACHINE CLIENT still works",
            "STOP rc=0",
            "START rc=0",
            "SSH dm1",
            &format!("IP {ip} was {ip}"),
            "DOWN rc=0 vms=0",
        ],
    );
}
