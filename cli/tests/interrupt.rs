//! Ctrl-C during each phase of `vswarm up`, end to end in the lab: the next `up` converges to a
//! working cluster, and `down` then leaves nothing (no VM, host-only interface, DHCP server or
//! link).

use vswarm_lab::harness::{expect_lines, in_lab};

/// (phase, where its start shows: a VBoxManage call in the call log, or a progress line)
const PHASES: &[(&str, &str, &str)] = &[
    ("preflight", "calls", r#""--version""#),
    ("iso", "progress", "✔ preflight"),
    ("network", "calls", r#""hostonlyif","create""#),
    ("vms", "calls", r#""createvm""#),
    ("boot", "calls", r#""startvm""#),
    ("provisioning", "progress", "provisioning Docker"),
    ("swarm", "progress", "✔ virtual machines"),
    ("stack", "progress", "✔ swarm"),
];

#[test]
fn sigint_in_each_phase_of_up_is_healed_by_the_next_up() {
    let mut script = String::from(
        r#"
cat > stack.yml <<'YML'
services:
  who:
    image: vboxsim/whoami:latest
    ports: [ { target: 80, published: 8080, mode: host } ]
    deploy: { mode: global }
YML
cat > vswarm.yml <<YML
name: int
engine: { registry_mirrors: ["http://192.168.56.1:$VBOXSIM_REGISTRY_PORT"] }
nodes: [ { name: i1, role: manager }, { name: i2 } ]
stacks: [ { name: web, file: stack.yml } ]
YML
export VBOXSIM_LOG="$W/calls.jsonl"
interrupt_when() {
  : > "$VBOXSIM_LOG"
  vswarm up > up.out 2> up.err & pid=$!
  for i in $(seq 1 3000); do
    if [ "$1" = calls ]; then grep -qF -- "$2" "$VBOXSIM_LOG" && break; else grep -qF -- "$2" up.err && break; fi
    kill -0 $pid 2>/dev/null || break
    sleep 0.02
  done
  kill -INT $pid 2>/dev/null; wait $pid
}
"#,
    );
    for (name, kind, marker) in PHASES {
        let marker = shell_words::quote(marker);
        script += &format!(
            r#"
interrupt_when {kind} {marker}; int=$?
vswarm up > re.out 2> re.err; re=$?
[ $re = 0 ] || tail -5 re.err
n=$(vswarm ls --format json | grep -o '"running"' | wc -l)
answers=$(for ip in $(vswarm ls --format json | python3 -c 'import json,sys; print(" ".join(n["ip"] for n in json.load(sys.stdin)["nodes"]))'); do curl -fsS --max-time 5 "http://$ip:8080/" > /dev/null && echo y; done | wc -l)
vswarm down > down.out 2>&1; down=$?
left="$(VBoxManage list vms | wc -l)/$(VBoxManage list hostonlyifs | grep -c '^Name')/$(VBoxManage list dhcpservers | grep -c '^NetworkName')/$(ip -o link | grep -c vboxnet)"
echo "PHASE {name} int=$int re=$re running=$n answers=$answers down=$down left=$left"
"#
        );
    }
    let out = in_lab(
        &script,
        &[("VBOXSIM_BOOT_MS", "500"), ("VBOXSIM_CALL_MS", "50")],
    );
    let want: Vec<String> = PHASES
        .iter()
        .map(|(name, _, _)| {
            format!("PHASE {name} int=130 re=0 running=2 answers=2 down=0 left=0/0/0/0")
        })
        .collect();
    let want: Vec<&str> = want.iter().map(String::as_str).collect();
    expect_lines(&out, &want);
}
