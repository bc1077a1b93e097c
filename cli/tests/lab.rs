//! `vswarm` end to end in the lab, as a user runs it: up, ls, env (with the real docker CLI),
//! ip, stop, start, down; and a broken cluster file.
//!
//! Runs the real binary inside `tests/lab/run` (root, as CI has). The lab's binaries come from
//! the same target folder (`cargo test --workspace` builds them).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_vswarm"))
        .parent()
        .expect("target folder")
        .to_path_buf()
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf()
}

/// Runs `script` with bash inside the lab, with `vswarm` on PATH.
fn in_lab(script: &str) -> Output {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "the lab tests need root (CI runs them as root)"
    );
    let bins = target_dir();
    assert!(
        bins.join("vboxsim-lab").exists(),
        "build the lab first: cargo build -p vswarm-lab (cargo test --workspace does)"
    );
    let path = format!(
        "{}:{}",
        bins.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new(repo_root().join("tests/lab/run"))
        .args(["--", "bash", "-c", script])
        .env("VBOXSIM_BIN_DIR", &bins)
        .env("PATH", path)
        .output()
        .expect("tests/lab/run starts")
}

#[test]
fn up_ls_env_ip_stop_start_down() {
    let script = r#"
        set -eu
        W=$(mktemp -d /tmp/vboxsim-cli.XXXXXX); trap 'rm -rf "$W"' EXIT
        export VSWARM_HOME="$W/home"
        cat > "$W/vswarm.yml" <<YML
name: seed
nodes:
  - name: node-01
  - name: node-02
  - name: node-03
engine:
  registry_mirrors: [http://192.168.56.1:$VBOXSIM_REGISTRY_PORT]
stacks:
  - name: web
    file: stack.yml
YML
        cat > "$W/stack.yml" <<'YML'
version: "3.8"
services:
  nginx:
    image: nginx:stable-alpine
    ports:
      - {target: 80, published: 80, mode: host}
      - {target: 443, published: 443, mode: host}
    networks: [nginx]
    deploy: {mode: global}
networks:
  nginx: {driver: overlay}
YML
        cd "$W"
        vswarm up > up.txt 2> up.err || { cat up.err; exit 1; }
        echo "UP $(head -1 up.txt | cut -d' ' -f1-4)"
        grep -c 'port checks answered' up.err | sed 's/^/STACKS /'
        grep -o '[0-9]*/[0-9]* port checks answered' up.err | sed 's/^/PORTS /'
        vswarm ls --format json > ls.json
        python3 -c 'import json; d=json.load(open("ls.json")); print("LS", " ".join(n["name"]+":"+n["role"]+":"+n["state"] for n in d["nodes"]))'
        eval "$(vswarm env node-01)"
        echo "DOCKER $(docker node ls --format '{{.Hostname}}:{{.Status}}' | sort | tr '\n' ' ')"
        echo "STACK $(docker stack ls --format '{{.Name}}:{{.Services}}')"
        ip=$(vswarm ip node-02); echo "IP ${ip%.*}.x"
        echo "CURL $(curl -fsS --max-time 5 http://$ip/ | grep -o 'Welcome to nginx!')"
        vswarm stop node-03 2>/dev/null
        echo "STOPPED $(vswarm ls --format json | python3 -c 'import json,sys; print([n["state"] for n in json.load(sys.stdin)["nodes"]])')"
        vswarm start node-03 2>/dev/null
        echo "AGAIN $(vswarm up 2>&1 >/dev/null | grep -o 'stack web: [0-9]* created, [0-9]* updated, [0-9]* unchanged')"
        vswarm down 2>/dev/null
        echo "DOWN vms=$(VBoxManage list vms | wc -l) state=$(ls "$VSWARM_HOME/clusters" 2>/dev/null | wc -l)"
        printf 'name: bad\nnodes:\n  - name: n1\n    colour: blue\n' > bad.yml
        if vswarm -f bad.yml up 2> bad.err; then echo "BAD accepted"; else echo "BAD refused"; fi
        grep -o 'bad.yml:[0-9]*:[0-9]*' bad.err | head -1 | sed 's/^/WHERE /'
    "#;
    let out = in_lab(script);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    eprintln!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    for want in [
        "UP cluster seed is up",
        "STACKS 1",
        "PORTS 6/6 port checks answered",
        "LS node-01:manager:running node-02:worker:running node-03:worker:running",
        "DOCKER node-01:Ready node-02:Ready node-03:Ready",
        "STACK web:1",
        "IP 192.168.56.x",
        "CURL Welcome to nginx!",
        "STOPPED ['running', 'running', 'stopped']",
        "AGAIN stack web: 0 created, 0 updated, 1 unchanged",
        "DOWN vms=0 state=0",
        "BAD refused",
        "WHERE bad.yml:4:5",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(want)),
            "missing {want:?} in:\n{text}"
        );
    }
}
