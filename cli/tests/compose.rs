//! Compose fidelity: for every file of the corpus (tests/data/compose-corpus, real files from
//! public projects and the Compose Specification), `docker stack deploy` (the real docker CLI)
//! and `vswarm stack deploy` make the same services, networks, secrets and configs, once the
//! stack name is replaced. The docker CLI inspects both. Differences that are known and
//! explained are listed in the corpus's known-differences.txt.

mod support;

use support::{in_lab, repo_root};

#[test]
fn docker_stack_deploy_and_vswarm_make_the_same_stacks() {
    let corpus = repo_root().join("tests/data/compose-corpus");
    let script = format!(
        r#"
CORPUS={corpus}
printf 'name: cmp\nnodes: [ {{ name: c1, role: manager }} ]\n' > c.yml
vswarm -f c.yml up > up.txt 2>&1 || {{ echo "UP failed"; cat up.txt; exit 1; }}
export DOCKER_CONTEXT=vswarm-cmp
# No task is scheduled: the specs are what is compared, and tasks that cannot pull their images
# (the lab has no registry of them) would hold the networks for seconds after each removal.
docker node update --availability drain c1 > /dev/null
mkdir -p out
python3 - "$CORPUS/corpus.toml" > plan.sh <<'PY'
import shlex, sys, tomllib
for f in tomllib.load(open(sys.argv[1], "rb"))["file"]:
    env = "; ".join(f"export {{k}}={{shlex.quote(v)}}" for k, v in f["env"].items()) or ":"
    print("compare", f["dir"], shlex.quote(env), shlex.quote(" ".join(f["external_networks"])),
          shlex.quote(" ".join(f["external_secrets"])), shlex.quote(" ".join(f["external_configs"])))
PY
dump() {{
  local stack=$1 dir=$2 f="label=com.docker.stack.namespace=$1"
  docker service ls -q --filter "$f" | xargs -r docker service inspect > out/$dir.$stack.services.json
  docker network ls -q --filter "$f" | xargs -r docker network inspect > out/$dir.$stack.networks.json
  docker secret ls -q --filter "$f" | xargs -r docker secret inspect > out/$dir.$stack.secrets.json
  docker config ls -q --filter "$f" | xargs -r docker config inspect > out/$dir.$stack.configs.json
  docker network ls --no-trunc --format '{{{{.ID}}}} {{{{.Name}}}}' >> out/$dir.ids
}}
gone() {{
  local f="label=com.docker.stack.namespace=$1"
  docker service ls -q --filter "$f" | xargs -r docker service rm > /dev/null
  for i in $(seq 100); do
    docker network ls -q --filter "$f" | xargs -r docker network rm > /dev/null 2>&1
    [ -z "$(docker network ls -q --filter "$f")" ] && break
    sleep 0.2
  done
  docker secret ls -q --filter "$f" | xargs -r docker secret rm > /dev/null
  docker config ls -q --filter "$f" | xargs -r docker config rm > /dev/null
}}
compare() {{
  local dir=$1 envs=$2
  for n in $3; do docker network create -d overlay --attachable "$n" > /dev/null; done
  for s in $4; do echo secret | docker secret create "$s" - > /dev/null; done
  for c in $5; do echo config | docker config create "$c" - > /dev/null; done
  (eval "$envs"; export NO_PROXY='*' no_proxy='*'; cd "$CORPUS/$dir" && docker stack deploy --resolve-image never -c docker-compose.yml dk > "$W/out/$dir.dk.out" 2>&1); echo $? > out/$dir.dk.rc
  dump dk "$dir"; gone dk
  (eval "$envs"; cd "$CORPUS/$dir" && vswarm -f "$W/c.yml" stack deploy --detach --resolve-image never -c docker-compose.yml vs > "$W/out/$dir.vs.out" 2>&1); echo $? > out/$dir.vs.rc
  dump vs "$dir"; gone vs
  for n in $3; do
    for i in $(seq 50); do docker network rm "$n" > /dev/null 2>&1 && break; sleep 0.2; done
  done
  for s in $4; do docker secret rm "$s" > /dev/null; done
  for c in $5; do docker config rm "$c" > /dev/null; done
  echo "DONE $dir docker=$(cat out/$dir.dk.rc) vswarm=$(cat out/$dir.vs.rc) at=$SECONDS"
}}
grep -E -- "${{CORPUS_ONLY:-.}}" plan.sh > chosen.sh; . ./chosen.sh
python3 "$CORPUS/compare.py" out $(awk '{{print $2}}' chosen.sh)
for f in out/*.vs.out out/*.dk.out; do echo "== $f"; head -c 600 "$f"; done
vswarm -f c.yml down > down.txt 2>&1; echo "DOWN rc=$?"
"#,
        corpus = corpus.display()
    );
    let only = std::env::var("CORPUS_ONLY").unwrap_or_default();
    let out = in_lab(
        &script,
        &[("VBOXSIM_BOOT_MS", "200"), ("CORPUS_ONLY", only.as_str())],
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let files: Vec<&str> = text.lines().filter(|l| l.starts_with("DONE ")).collect();
    // CORPUS_ONLY=REGEX compares only the matching files (while working on one).
    if std::env::var_os("CORPUS_ONLY").is_none() {
        assert!(
            files.len() >= 25,
            "only {} files compared:\n{text}",
            files.len()
        );
    }
    let differences: Vec<&str> = text.lines().filter(|l| l.starts_with("DIFF ")).collect();
    assert!(
        differences.is_empty(),
        "{} difference(s) between docker stack deploy and vswarm:\n{}\n\n{text}",
        differences.len(),
        differences.join("\n")
    );
    let same = text.lines().filter(|l| l.starts_with("SAME ")).count();
    assert_eq!(same, files.len(), "{text}");
    assert!(text.lines().any(|l| l == "DOWN rc=0"), "{text}");
}
