//! Reading compose files: what the docker CLI accepts, what it refuses (with positions),
//! substitution, merging and conversion.

use super::*;

fn env() -> Environment {
    Environment::from_pairs([("TAG", "1.25"), ("REPLICAS", "3"), ("HOME", "/home/u")])
}

fn read(text: &str) -> Result<LoadedStack, ComposeError> {
    read_files(&[("stack.yml", text)])
}

fn read_files(files: &[(&str, &str)]) -> Result<LoadedStack, ComposeError> {
    let sources: Vec<ComposeSource> = files
        .iter()
        .map(|(name, text)| ComposeSource {
            name: name.to_string(),
            text: text.to_string(),
        })
        .collect();
    read_stack(&sources, Path::new("/srv/app"), "web", &env())
}

fn error(text: &str) -> String {
    read(text).expect_err("refused").to_string()
}

fn service<'s>(stack: &'s LoadedStack, name: &str) -> &'s bollard::models::ServiceSpec {
    &stack
        .spec
        .services
        .iter()
        .find(|s| s.name == name)
        .expect("service")
        .spec
}

fn json(spec: &bollard::models::ServiceSpec) -> serde_json::Value {
    serde_json::to_value(spec).expect("json")
}

#[test]
fn a_minimal_service_gets_the_stack_labels_default_network_and_tag() {
    let stack = read("services:\n  nginx:\n    image: nginx\n").expect("read");
    let spec = json(service(&stack, "nginx"));
    assert_eq!(spec["Name"], "web_nginx");
    assert_eq!(spec["Labels"]["com.docker.stack.namespace"], "web");
    assert_eq!(spec["Labels"]["com.docker.stack.image"], "nginx");
    assert_eq!(
        spec["TaskTemplate"]["ContainerSpec"]["Image"],
        "nginx:latest"
    );
    assert_eq!(spec["TaskTemplate"]["Networks"][0]["Target"], "web_default");
    assert_eq!(spec["TaskTemplate"]["Networks"][0]["Aliases"][0], "nginx");
    assert_eq!(stack.spec.networks.len(), 1);
    assert_eq!(stack.spec.networks[0].name, "web_default");
    assert!(stack.warnings.is_empty());
}

#[test]
fn variables_are_substituted_and_cast_where_the_cli_casts() {
    let stack = read(
        "services:\n  app:\n    image: \"nginx:${TAG}\"\n    deploy:\n      replicas: ${REPLICAS}\n    environment:\n      PRICE: \"$$5\"\n      MODE: ${MODE:-prod}\n",
    )
    .expect("read");
    let spec = json(service(&stack, "app"));
    assert_eq!(spec["TaskTemplate"]["ContainerSpec"]["Image"], "nginx:1.25");
    assert_eq!(spec["Mode"]["Replicated"]["Replicas"], 3);
    assert_eq!(
        spec["TaskTemplate"]["ContainerSpec"]["Env"],
        serde_json::json!(["MODE=prod", "PRICE=$5"])
    );
}

#[test]
fn a_required_variable_is_refused_at_its_position() {
    let e = error("services:\n  app:\n    image: \"nginx:${MISSING:?set the tag}\"\n");
    assert!(
        e.starts_with("stack.yml:3:12: required variable MISSING is missing a value: set the tag"),
        "{e}"
    );
    let e = error("services:\n  app:\n    image: \"nginx:${\"\n");
    assert!(
        e.starts_with("stack.yml:3:12: invalid interpolation format"),
        "{e}"
    );
}

#[test]
fn refusals_name_file_line_and_column() {
    let e = error("services:\n  app:\n    image: nginx\n    volumes_from: [db]\n");
    assert!(
        e.starts_with("stack.yml:4:5: service 'app' uses 'volumes_from'"),
        "{e}"
    );
    let e = error("services:\n  app:\n    image: nginx\n    imag: x\n");
    assert!(
        e.starts_with("stack.yml:4:5: 'imag' is not allowed in services.app"),
        "{e}"
    );
    let e = error("version: \"3.2\"\nservices:\n  app:\n    image: nginx\n    init: true\n");
    assert!(
        e.contains("stack.yml:5:5: 'init' in services.app needs compose file format 3.7"),
        "{e}"
    );
    let e = error("version: 3.8\nservices:\n  app:\n    image: nginx\n");
    assert!(
        e.starts_with("stack.yml:1:10: 'version' must be a string"),
        "{e}"
    );
    let e = error("version: \"2.1\"\nservices:\n  app:\n    image: nginx\n");
    assert!(e.contains("unsupported Compose file version: 2.1"), "{e}");
    let e = error(
        "services:\n  app:\n    image: nginx\n    deploy:\n      resources:\n        limits:\n          cpus: 0.5\n",
    );
    assert!(
        e.starts_with(
            "stack.yml:7:17: 'services.app.deploy.resources.limits.cpus' must be a string"
        ),
        "{e}"
    );
    let e = error("services:\n  app:\n    image: nginx\n    environment:\n      DEBUG: true\n");
    assert!(e.starts_with("stack.yml:5:14:"), "{e}");
    let e = error("services:\n  app:\n    image: nginx\n    networks: [back]\n");
    assert!(
        e.starts_with("stack.yml:4:16: undefined network \"back\""),
        "{e}"
    );
    let e = error("services:\n  app:\n    build: .\n");
    assert!(
        e.contains("invalid image reference for service app: no image specified"),
        "{e}"
    );
    let e = error("services:\n  app:\n    image: nginx\n    ports: [\"80:80:80:x\"]\n");
    assert!(e.starts_with("stack.yml:4:13: invalid port"), "{e}");
}

#[test]
fn ignored_keys_give_the_clis_warnings() {
    let stack = read(
        "services:\n  app:\n    image: nginx\n    build: .\n    restart: always\n    container_name: x\n    depends_on: [db]\n  db:\n    image: postgres\n",
    )
    .expect("read");
    assert_eq!(
        stack.warnings,
        vec![
            "Ignoring unsupported options: build, restart".to_string(),
            "Ignoring deprecated options:\n\ncontainer_name: Setting the container name is not supported.".to_string(),
        ]
    );
    // `restart: always` becomes the restart policy `any`.
    let spec = json(service(&stack, "app"));
    assert_eq!(spec["TaskTemplate"]["RestartPolicy"]["Condition"], "any");
}

#[test]
fn extension_fields_and_anchors_are_read() {
    let stack = read(
        "version: \"3.7\"\nx-common: &common\n  image: nginx\n  environment:\n    A: \"1\"\nservices:\n  one:\n    <<: *common\n  two:\n    <<: *common\n    x-note: hello\n",
    )
    .expect("read");
    assert_eq!(stack.spec.services.len(), 2);
    let two = json(service(&stack, "two"));
    assert_eq!(two["TaskTemplate"]["ContainerSpec"]["Env"][0], "A=1");
}

#[test]
fn files_merge_with_the_clis_override_rules() {
    let base = "services:\n  app:\n    image: nginx\n    environment: [A=1, B=2]\n    ports: [\"80:80\"]\n    deploy:\n      replicas: 1\n      placement:\n        constraints: [node.role==worker]\n";
    let over = "services:\n  app:\n    image: nginx:1.25\n    environment: [B=3]\n    ports: [\"80:8080\", \"443:443\"]\n    deploy:\n      replicas: 2\n      placement:\n        constraints: [node.labels.zone==a]\n";
    let stack = read_files(&[("a.yml", base), ("b.yml", over)]).expect("read");
    let spec = json(service(&stack, "app"));
    assert_eq!(spec["TaskTemplate"]["ContainerSpec"]["Image"], "nginx:1.25");
    assert_eq!(
        spec["TaskTemplate"]["ContainerSpec"]["Env"],
        serde_json::json!(["A=1", "B=3"])
    );
    assert_eq!(spec["Mode"]["Replicated"]["Replicas"], 2);
    assert_eq!(
        spec["TaskTemplate"]["Placement"]["Constraints"],
        serde_json::json!(["node.role==worker", "node.labels.zone==a"])
    );
    let ports = &spec["EndpointSpec"]["Ports"];
    assert_eq!(ports.as_array().map(Vec::len), Some(2));
    assert_eq!(ports[0]["TargetPort"], 8080);
    // An error in the second file names it.
    let e = read_files(&[
        ("a.yml", base),
        ("b.yml", "services:\n  app:\n    tty: maybe\n"),
    ])
    .expect_err("refused")
    .to_string();
    assert!(e.starts_with("b.yml:3:10:"), "{e}");
}

#[test]
fn every_service_field_is_converted() {
    let stack = read(
        r#"
services:
  app:
    image: registry.example.com:5000/team/app:2@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    command: ["serve", "--port", "80"]
    entrypoint: /bin/tini -- run
    user: "1000:1000"
    working_dir: /srv
    hostname: app-host
    stop_grace_period: 1m30s
    stop_signal: SIGTERM
    sysctls: [net.core.somaxconn=1024]
    ulimits:
      nproc: 65535
      nofile: {soft: 20000, hard: 40000}
    init: true
    cap_add: [net_admin]
    cap_drop: [ALL]
    read_only: true
    tty: true
    dns: 8.8.8.8
    extra_hosts: ["db:10.0.0.5"]
    logging:
      driver: json-file
      options: {max-size: 10m}
    healthcheck:
      test: curl -f http://localhost
      interval: 30s
      retries: 3
    labels: {team: a}
    ports:
      - target: 80
        published: 8080
        mode: host
      - "53:53/udp"
    volumes:
      - data:/var/lib/data:ro
      - ./conf:/etc/app
      - type: tmpfs
        target: /tmp
        tmpfs: {size: 1000}
    deploy:
      mode: replicated
      replicas: 2
      endpoint_mode: dnsrr
      labels: [tier=front]
      placement:
        constraints: [node.role==manager]
        preferences: [{spread: node.labels.zone}]
        max_replicas_per_node: 1
      resources:
        limits: {cpus: "0.5", memory: 512M}
        reservations: {memory: 128M}
      restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3}
      update_config: {parallelism: 2, delay: 10s, order: start-first}
      rollback_config: {parallelism: 1}
volumes:
  data:
    driver_opts: {type: tmpfs}
"#,
    )
    .expect("read");
    let spec = json(service(&stack, "app"));
    let c = &spec["TaskTemplate"]["ContainerSpec"];
    assert_eq!(
        c["Image"],
        "registry.example.com:5000/team/app:2@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    );
    assert_eq!(c["Command"], serde_json::json!(["/bin/tini", "--", "run"]));
    assert_eq!(c["Args"], serde_json::json!(["serve", "--port", "80"]));
    assert_eq!(c["StopGracePeriod"], 90_000_000_000i64);
    assert_eq!(c["Ulimits"][0]["Name"], "nofile");
    assert_eq!(c["Ulimits"][1]["Soft"], 65535);
    assert_eq!(c["CapabilityAdd"], serde_json::json!(["CAP_NET_ADMIN"]));
    assert_eq!(c["CapabilityDrop"], serde_json::json!(["ALL"]));
    assert_eq!(c["Hosts"], serde_json::json!(["10.0.0.5 db"]));
    assert_eq!(
        c["DNSConfig"]["Nameservers"],
        serde_json::json!(["8.8.8.8"])
    );
    assert_eq!(
        c["HealthCheck"]["Test"],
        serde_json::json!(["CMD-SHELL", "curl -f http://localhost"])
    );
    assert_eq!(c["Mounts"][0]["Source"], "web_data");
    assert_eq!(c["Mounts"][0]["ReadOnly"], true);
    assert_eq!(
        c["Mounts"][0]["VolumeOptions"]["DriverConfig"]["Options"]["type"],
        "tmpfs"
    );
    assert_eq!(c["Mounts"][1]["Type"], "bind");
    assert_eq!(c["Mounts"][1]["Source"], "/srv/app/conf");
    assert_eq!(c["Mounts"][2]["TmpfsOptions"]["SizeBytes"], 1000);
    assert_eq!(spec["EndpointSpec"]["Mode"], "dnsrr");
    assert_eq!(spec["EndpointSpec"]["Ports"][0]["PublishedPort"], 53);
    assert_eq!(spec["EndpointSpec"]["Ports"][0]["Protocol"], "udp");
    assert_eq!(spec["EndpointSpec"]["Ports"][1]["PublishMode"], "host");
    let t = &spec["TaskTemplate"];
    assert_eq!(t["Resources"]["Limits"]["NanoCPUs"], 500_000_000);
    assert_eq!(t["Resources"]["Limits"]["MemoryBytes"], 512 * 1024 * 1024);
    assert_eq!(t["RestartPolicy"]["Condition"], "on-failure");
    assert_eq!(t["Placement"]["MaxReplicas"], 1);
    assert_eq!(
        t["Placement"]["Preferences"][0]["Spread"]["SpreadDescriptor"],
        "node.labels.zone"
    );
    assert_eq!(t["LogDriver"]["Name"], "json-file");
    assert_eq!(spec["UpdateConfig"]["Order"], "start-first");
    assert_eq!(spec["RollbackConfig"]["Parallelism"], 1);
    assert_eq!(spec["Labels"]["tier"], "front");
}

#[test]
fn secrets_configs_and_named_objects() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("site.conf"), "server {}").expect("write");
    let text = "version: \"3.8\"\nservices:\n  app:\n    image: nginx\n    secrets: [db_password, {source: api_key, target: key, mode: 0400}]\n    configs: [site]\nsecrets:\n  db_password:\n    external: true\n  api_key:\n    name: shared_api_key\n    file: ./site.conf\nconfigs:\n  site:\n    file: ./site.conf\nnetworks:\n  default:\n    name: shared-net\n    attachable: true\n";
    let stack = read_stack(
        &[ComposeSource {
            name: "stack.yml".into(),
            text: text.into(),
        }],
        dir.path(),
        "web",
        &env(),
    )
    .expect("read");
    assert_eq!(stack.spec.secrets.len(), 1);
    assert_eq!(
        stack.spec.secrets[0].name.as_deref(),
        Some("shared_api_key")
    );
    assert_eq!(stack.spec.configs[0].name.as_deref(), Some("web_site"));
    assert_eq!(stack.spec.configs[0].data.as_deref(), Some("c2VydmVyIHt9"));
    assert_eq!(stack.spec.networks[0].name, "shared-net");
    let spec = json(service(&stack, "app"));
    let secrets = &spec["TaskTemplate"]["ContainerSpec"]["Secrets"];
    assert_eq!(secrets[0]["SecretName"], "db_password");
    assert_eq!(secrets[0]["File"]["Mode"], 0o444);
    assert_eq!(secrets[1]["SecretName"], "shared_api_key");
    assert_eq!(secrets[1]["File"]["Name"], "key");
    assert_eq!(secrets[1]["File"]["Mode"], 0o400);
}

#[test]
fn dotenv_supplies_defaults_the_environment_overrides() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join(".env"), "TAG=1.0\nREPLICAS=2\n# comment\n").expect("write");
    let file = dir.path().join("stack.yml");
    std::fs::write(
        &file,
        "services:\n  app:\n    image: nginx:${TAG}\n    deploy:\n      replicas: ${REPLICAS}\n",
    )
    .expect("write");
    let env = Environment::from_pairs([("TAG", "2.0")]);
    let stack = load_stack(&[file], "web", &env).expect("read");
    let spec = json(service(&stack, "app"));
    assert_eq!(spec["TaskTemplate"]["ContainerSpec"]["Image"], "nginx:2.0");
    assert_eq!(spec["Mode"]["Replicated"]["Replicas"], 2);
}

#[test]
fn a_substituted_value_that_cannot_be_cast_is_refused_at_its_position() {
    let stack = read_stack(
        &[ComposeSource {
            name: "stack.yml".into(),
            text: "services:\n  app:\n    image: nginx\n    deploy:\n      replicas: ${N}\n".into(),
        }],
        Path::new("/srv"),
        "web",
        &Environment::from_pairs([("N", "three")]),
    );
    let e = stack.expect_err("refused").to_string();
    assert!(
        e.starts_with(
            "stack.yml:5:17: invalid substituted value 'three' at 'services.app.deploy.replicas'"
        ),
        "{e}"
    );
}

#[test]
fn a_host_ip_in_a_port_is_ignored_with_the_clis_warning() {
    let stack = read("services:\n  app:\n    image: nginx\n    ports: [\"127.0.0.1:8080:80\"]\n")
        .expect("read");
    assert_eq!(
        stack.warnings,
        vec!["ignoring IP-address (127.0.0.1:8080:80/tcp) service will listen on '0.0.0.0'"]
    );
    let spec = json(service(&stack, "app"));
    assert_eq!(spec["EndpointSpec"]["Ports"][0]["PublishedPort"], 8080);
}
