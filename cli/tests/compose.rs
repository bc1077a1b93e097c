//! Compose fidelity: for every file of the corpus (tests/data/compose-corpus, real files from
//! public projects and the Compose Specification), `docker stack deploy` (the real docker CLI)
//! and `vswarm stack deploy` make the same services, networks, secrets and configs, once the
//! stack name is replaced. The docker CLI inspects both. Differences that are known and
//! explained are listed in the corpus's known-differences.txt. Then re-deploys as the docker
//! CLI does them: unchanged services untouched, changed ones updated, `--prune`,
//! `--resolve-image` (pinned to the lab registry's digest), a secret's new content refused, and
//! each tool listing and removing the other's stacks.

use vswarm_lab::harness::{expect_lines, in_lab, repo_root};

#[test]
fn compose_files_deploy_as_with_the_docker_cli() {
    let corpus = repo_root().join("tests/data/compose-corpus");
    let script = format!(
        r#"
CORPUS={corpus}
REG=192.168.56.1:$VBOXSIM_REGISTRY_PORT
printf 'name: cmp\nengine: {{ insecure_registries: ["%s"] }}\nnodes: [ {{ name: c1, role: manager }} ]\n' "$REG" > c.yml
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

# Re-deploys, as `docker stack deploy` does them.
mkdir app && cd app
echo one > token
cat > app.yml <<YML
services:
  web:
    image: $REG/vboxsim/whoami:latest
    secrets: [token]
  api:
    image: $REG/vboxsim/whoami:latest
    environment: [MODE=a]
secrets:
  token:
    file: ./token
YML
deploy() {{ vswarm -f "$W/c.yml" --format json stack deploy --detach "$@" > d.json 2> d.err; echo "rc=$? $(python3 -c 'import json; d=json.load(open("d.json")); print("created=%d updated=%d unchanged=%d removed=%d" % tuple(len(d[k]) for k in ("created","updated","unchanged","removed")))' 2>/dev/null)"; }}
image() {{ docker service inspect --format '{{{{.Spec.TaskTemplate.ContainerSpec.Image}}}}' "$1"; }}
echo "FIRST $(deploy --resolve-image never -c app.yml app)"
echo "IMAGE never $(image app_web)"
before=$(docker service inspect --format '{{{{.Version.Index}}}}' app_web)
echo "AGAIN $(deploy --resolve-image never -c app.yml app) touched=$([ "$before" = "$(docker service inspect --format '{{{{.Version.Index}}}}' app_web)" ] && echo no || echo yes)"
sed -i 's/MODE=a/MODE=b/' app.yml
echo "CHANGED $(deploy --resolve-image never -c app.yml app)"
echo "RESOLVED $(deploy --resolve-image always -c app.yml app) $(image app_web | grep -c '@sha256:')"
python3 - <<'PY'
text = open("app.yml").read()
open("app.yml", "w").write(text[: text.index("  api:")] + text[text.index("secrets:\n  token"):])
PY
echo "KEPT $(deploy --resolve-image never -c app.yml app) services=$(docker stack services -q app | wc -l)"
echo "PRUNED $(deploy --resolve-image never --prune -c app.yml app) services=$(docker stack services -q app | wc -l)"
echo two > token
echo "SECRET $(deploy --resolve-image never -c app.yml app) $(sed 's/^[^a-z(]*//' d.err | tr '\n' ' ' | grep -c "swarm cannot change a secret's content (only its labels)")"
echo one > token
docker stack deploy -c app.yml other > /dev/null 2>&1
platforms() {{ docker service inspect --format '{{{{json .Spec.TaskTemplate.Placement.Platforms}}}}' "$1"; }}
echo "PINNED image=$([ "$(image app_web)" = "$(image other_web)" ] && echo same) platforms=$([ "$(platforms app_web)" = "$(platforms other_web)" ] && echo same)"
echo "LS vswarm=$(vswarm -f "$W/c.yml" stack ls | awk '$1=="other"||$1=="app"{{print $1}}' | sort | tr '\n' ' ')docker=$(docker stack ls --format '{{{{.Name}}}}' | sort | tr '\n' ' ')"
docker stack rm app other > /dev/null; echo "RM rc=$? left=$(docker service ls -q | wc -l)"
cd "$W"
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
    expect_lines(
        &out,
        &[
            "FIRST rc=0 created=2 updated=0 unchanged=0 removed=0",
            "IMAGE never 192.168.56.1:",
            "AGAIN rc=0 created=0 updated=0 unchanged=2 removed=0 touched=no",
            "CHANGED rc=0 created=0 updated=1 unchanged=1 removed=0",
            "RESOLVED rc=0 created=0 updated=2 unchanged=0 removed=0 1",
            "KEPT rc=0 created=0 updated=0 unchanged=1 removed=0 services=2",
            "PRUNED rc=0 created=0 updated=0 unchanged=1 removed=1 services=1",
            "SECRET rc=1  1",
            "PINNED image=same platforms=same",
            "LS vswarm=app other docker=app other",
            "RM rc=0 left=0",
            "DOWN rc=0",
        ],
    );
}
