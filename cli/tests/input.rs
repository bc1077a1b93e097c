//! Bad input, end to end: each kind of malformed cluster file makes `vswarm up` exit 2 naming
//! FILE:LINE:COL, before anything is created (no VM, no network, no state) or downloaded.

use vswarm_lab::harness::{expect_lines, in_lab};

/// (case, cluster file, where the error must point)
const CASES: &[(&str, &str, &str)] = &[
    ("yaml", "name: a\nnodes: [ { name: n1 }\n", "c.yml:2:8"),
    (
        "unknown-key",
        "name: a\nnodes:\n  - name: n1\n    colour: blue\n",
        "c.yml:4:5",
    ),
    (
        "wrong-type",
        "name: a\nnodes:\n  - name: n1\n    cpus: two\n",
        "c.yml:4:11",
    ),
    (
        "cluster-name",
        "name: my_cluster\nnodes: [ { name: n1 } ]\n",
        "c.yml:1:7",
    ),
    (
        "node-name",
        "name: a\nnodes:\n  - name: node_1\n",
        "c.yml:3:11",
    ),
    (
        "duplicate-node",
        "name: a\nnodes:\n  - name: n1\n  - name: n1\n",
        "c.yml:4:11",
    ),
    (
        "no-manager",
        "name: a\nnodes:\n  - { name: n1, role: worker }\n",
        "c.yml:3:3",
    ),
    (
        "cpus",
        "name: a\nnodes:\n  - name: n1\n    cpus: 0\n",
        "c.yml:4:11",
    ),
    (
        "memory",
        "name: a\nnodes:\n  - name: n1\n    memory: 64\n",
        "c.yml:4:13",
    ),
    (
        "disk",
        "name: a\ndefaults: { disk: 10 }\nnodes: [ { name: n1 } ]\n",
        "c.yml:2:19",
    ),
    (
        // VirtualBox takes it, but boot2docker cannot fit its 1000 MB swap and a data partition.
        "disk-below-swap",
        "name: a\ndefaults: { disk: 1500 }\nnodes: [ { name: n1 } ]\n",
        "c.yml:2:19",
    ),
    (
        "cidr-form",
        "name: a\nnetwork: { cidr: 192.168.56.0/24 }\nnodes: [ { name: n1 } ]\n",
        "c.yml:2:18",
    ),
    (
        "cidr-refused",
        "name: a\nnetwork: { cidr: 192.168.99.1/24 }\nnodes: [ { name: n1 } ]\n",
        "c.yml:2:18",
    ),
    (
        "stack-missing",
        "name: a\nnodes: [ { name: n1 } ]\nstacks:\n  - { name: web, file: nowhere.yml }\n",
        "c.yml:4:24",
    ),
    (
        "stack-content",
        "name: a\nnodes: [ { name: n1 } ]\nstacks:\n  - { name: web, file: bad-stack.yml }\n",
        "bad-stack.yml:4:5",
    ),
    (
        "label",
        "name: a\nnodes:\n  - { name: n1, labels: [zone] }\n",
        "c.yml:3:26",
    ),
    (
        "availability",
        "name: a\nnodes:\n  - { name: n1, availability: later }\n",
        "c.yml:3:31",
    ),
    (
        "counts",
        "name: a\nnodes: { managers: 0, workers: 2 }\n",
        "c.yml:2:20",
    ),
    (
        "mirror",
        "name: a\nnodes: [ { name: n1 } ]\nengine: { registry_mirrors: [192.168.56.1:5000] }\n",
        "c.yml:3:30",
    ),
    (
        "env",
        "name: a\nnodes: [ { name: n1 } ]\nengine: { env: { 1BAD: x } }\n",
        "c.yml:3:16",
    ),
];

#[test]
fn malformed_cluster_files_exit_2_at_their_place_and_create_nothing() {
    let mut script = String::from(
        "printf 'services:\\n  web:\\n    image: nginx\\n    volumes_from: [db]\\n' > bad-stack.yml\n",
    );
    for (name, text, _) in CASES {
        let quoted = shell_words::quote(text);
        script += &format!(
            r#"
printf '%s' {quoted} > c.yml
vswarm -f c.yml up > out.txt 2> err.txt; rc=$?
at=$(grep -o '[a-z-]*\.yml:[0-9]*:[0-9]*' err.txt | head -1)
made=$(( $(VBoxManage list vms | wc -l) + $(VBoxManage list hostonlyifs | grep -c '^Name') ))
[ -e "$VSWARM_HOME/clusters" ] && made=$((made + 1))
[ -e "$VSWARM_HOME/cache" ] && made=$((made + 1))
help=$(grep -c 'help:' err.txt)
echo "CASE {name} rc=$rc at=$at made=$made help=$help"
"#
        );
    }
    let out = in_lab(&script, &[]);
    let want: Vec<String> = CASES
        .iter()
        .map(|(name, _, at)| format!("CASE {name} rc=2 at={at} made=0 help=1"))
        .collect();
    let want: Vec<&str> = want.iter().map(String::as_str).collect();
    expect_lines(&out, &want);
}

#[test]
fn bad_arguments_exit_2_and_unknown_nodes_name_the_others() {
    let script = r#"
vswarm frobnicate > /dev/null 2>&1; echo "USAGE rc=$?"
vswarm ssh > /dev/null 2>&1; echo "MISSING rc=$?"
printf 'name: a\nnodes: [ { name: n1 } ]\n' > vswarm.yml
vswarm ip n1 > /dev/null 2> err.txt; echo "NOTUP rc=$? $(grep -c 'vswarm up' err.txt)"
vswarm images rm v0.0.0 > /dev/null 2>&1; echo "NOIMAGE rc=$?"
vswarm -f missing.yml up > /dev/null 2> err.txt; echo "NOFILE rc=$? $(grep -c 'cannot read the cluster file' err.txt)"
"#;
    let out = in_lab(script, &[]);
    expect_lines(
        &out,
        &[
            "USAGE rc=2",
            "MISSING rc=2",
            "NOTUP rc=2 1",
            "NOIMAGE rc=2",
            "NOFILE rc=2 1",
        ],
    );
}
