//! swarm-bootstrap against the lab: real guests from vbox-driver, provisioned over SSH with TLS,
//! formed into a swarm, checked with the real docker CLI.
//!
//! Like tests/driver.rs, each test re-runs itself inside `tests/lab/run`. Needs root.

mod support;

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use swarm_bootstrap::compose::{ComposeSource, Environment, read_stack};
use swarm_bootstrap::deploy::{deploy_stack, remove_stack};
use swarm_bootstrap::engine::Engine;
use swarm_bootstrap::provision::{Boot2Docker, EngineOptions, NodeAccess, provision_node};
use swarm_bootstrap::ssh::{KnownHosts, SshConnection, SshTarget};
use swarm_bootstrap::stack::StackSpec;
use swarm_bootstrap::swarm::{Role, SwarmMember, form_swarm, leave_swarm};
use swarm_bootstrap::tls::{ClientFiles, ClusterCa};
use swarm_bootstrap::verify::{probe_ports, resolve_from_service, wait_for_stack};
use vbox_driver::driver::{Driver, NodeSpec};
use vbox_driver::hostonly::{NetworkRequest, ensure_hostonly_network};
use vbox_driver::runner::VBoxManage;
use vbox_driver::virtualbox::{VirtualBoxDriver, check_version};
use vswarm_lab::{harness, rerun_in_lab};

struct Cluster {
    dir: tempfile::TempDir,
    key: PathBuf,
    public_key: String,
    iso: PathBuf,
    vbm: VBoxManage,
    driver: VirtualBoxDriver,
    gateway: IpAddr,
}

impl Cluster {
    async fn new() -> Cluster {
        let harness::Scratch {
            dir,
            key,
            public_key,
            iso,
        } = tokio::task::spawn_blocking(|| harness::scratch("vboxsim-swarm."))
            .await
            .expect("scratch folder");
        let vbm = VBoxManage::locate().expect("VBoxManage on PATH");
        let version = check_version(&vbm).await.expect("version");
        let net = ensure_hostonly_network(&vbm, &version, &NetworkRequest::default())
            .await
            .expect("network");
        let gateway = IpAddr::V4(net.host.addr());
        let driver = VirtualBoxDriver::new(vbm.clone(), net, dir.path().join("machines"));
        Cluster {
            dir,
            key,
            public_key,
            iso,
            vbm,
            driver,
            gateway,
        }
    }

    fn spec(&self, name: &str) -> NodeSpec {
        support::node_spec(name, &self.iso, &self.public_key)
    }

    async fn boot(&self, name: &str) -> NodeAccess {
        self.driver.create(&self.spec(name)).await.expect("create");
        self.driver.start(name).await.expect("start");
        self.access(name).await
    }

    async fn access(&self, name: &str) -> NodeAccess {
        let ip = self.driver.ip(name).await.expect("ip");
        let ep = self.driver.ssh_endpoint(name).await.expect("endpoint");
        NodeAccess {
            name: name.into(),
            ssh: SshTarget {
                node: name.into(),
                host: ep.host,
                port: ep.port,
                user: ep.user,
                key: self.key.clone(),
            },
            ip: IpAddr::V4(ip),
            fixed: None,
        }
    }

    fn options(&self) -> EngineOptions {
        EngineOptions {
            labels: vec!["provider=virtualbox".into()],
            registry_mirrors: vec![format!(
                "http://{}:{}",
                self.gateway,
                std::env::var("VBOXSIM_REGISTRY_PORT").unwrap_or_else(|_| "5000".into())
            )],
            ..EngineOptions::default()
        }
    }

    fn tls(&self) -> (ClusterCa, ClientFiles) {
        let ca = ClusterCa::load_or_create(&self.dir.path().join("tls"), "lab").expect("CA");
        let client = ca
            .client_files(&self.dir.path().join("tls/client"))
            .expect("client certificate");
        (ca, client)
    }

    fn known(&self) -> KnownHosts {
        KnownHosts::new(self.dir.path().join("known_hosts"))
    }

    /// The real docker CLI with the generated client certificate.
    fn docker(&self, client: &ClientFiles, ip: IpAddr, args: &[&str]) -> (bool, String) {
        let out = Command::new("docker")
            .arg("--tlsverify")
            .arg("--tlscacert")
            .arg(&client.ca)
            .arg("--tlscert")
            .arg(&client.cert)
            .arg("--tlskey")
            .arg(&client.key)
            .args(["-H", &format!("tcp://{ip}:2376")])
            .args(args)
            .output()
            .expect("docker CLI");
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }
}

#[test]
fn three_guests_become_a_tls_swarm_and_a_second_run_changes_nothing() {
    rerun_in_lab!(three_guests_become_a_tls_swarm_and_a_second_run_changes_nothing);
    harness::runtime().block_on(async {
        let c = Cluster::new().await;
        let names = ["node-1", "node-2", "node-3"];
        let nodes: Vec<NodeAccess> =
            futures::future::join_all(names.iter().map(|n| c.boot(n))).await;
        let (ca, client) = c.tls();
        let known = c.known();
        let options = c.options();

        // Guests booted -> swarm formed, all in parallel.
        let t = Instant::now();
        let provisioned = futures::future::join_all(
            nodes
                .iter()
                .map(|n| provision_node(&Boot2Docker, n, &ca, &client, &known, &options)),
        )
        .await;
        let mut engines: Vec<Engine> = Vec::new();
        for (n, r) in nodes.iter().zip(provisioned) {
            let (report, engine) = r.unwrap_or_else(|e| panic!("provisioning {}: {e}", n.name));
            assert_eq!(report.ssh_connections, 1);
            assert!(
                report.changed.contains(&"certificates")
                    && report.changed.contains(&"docker restarted"),
                "{report:?}"
            );
            engines.push(engine);
        }
        let members: Vec<SwarmMember> = engines
            .iter()
            .enumerate()
            .map(|(i, e)| SwarmMember {
                engine: e.clone(),
                role: if i == 0 { Role::Manager } else { Role::Worker },
                labels: HashMap::from([("vswarm.node".to_string(), e.node.clone())]),
                availability: None,
            })
            .collect();
        let summary = form_swarm(&members, false).await.expect("swarm formed");
        println!(
            "TIMING guests booted -> provisioned three-node swarm: {:?}",
            t.elapsed()
        );
        assert_eq!(summary.leader, "node-1");
        assert_eq!(summary.joined.len(), 3, "{summary:?}");

        // The seed's nginx stack (host-mode ports: the lab's kernel has no IPVS), verified.
        let manager = &engines[0];
        let report = deploy_stack(manager, &seed_stack(1))
            .await
            .expect("stack deployed");
        assert_eq!(report.services_created, ["seed_nginx", "seed_whoami"]);
        let states = wait_for_stack(manager, "seed", std::time::Duration::from_secs(120))
            .await
            .expect("tasks running");
        let nginx = states
            .iter()
            .find(|s| s.service == "seed_nginx")
            .expect("nginx state");
        assert_eq!(nginx.nodes, ["node-1", "node-2", "node-3"], "{states:?}");
        let targets: Vec<(String, IpAddr)> = nodes.iter().map(|n| (n.name.clone(), n.ip)).collect();
        for probe in probe_ports(&targets, &[80, 443]).await {
            assert_eq!(probe.answer.as_deref(), Ok("HTTP/1.1 200 OK"), "{probe:?}");
        }
        let addresses = resolve_from_service(manager, &engines, "seed_nginx", "nginx")
            .await
            .expect("DNS");
        println!("DNS nginx -> {addresses:?}");
        assert_eq!(
            addresses.len(),
            1,
            "the service's virtual IP: {addresses:?}"
        );
        println!(
            "TIMING guests booted -> swarm verified (stack running, ports answering, DNS): {:?}",
            t.elapsed()
        );
        let (ok, out) = c.docker(
            &client,
            nodes[0].ip,
            &["stack", "ls", "--format", "{{.Name}} {{.Services}}"],
        );
        assert!(ok, "{out}");
        assert_eq!(out.trim(), "seed 2");
        // Re-deploying changes nothing; a new replica count updates only that service.
        let report = deploy_stack(manager, &seed_stack(1))
            .await
            .expect("redeploy");
        assert!(
            report.services_created.is_empty() && report.services_updated.is_empty(),
            "{report:?}"
        );
        let report = deploy_stack(manager, &seed_stack(3)).await.expect("scaled");
        assert_eq!(report.services_updated, ["seed_whoami"]);
        assert_eq!(report.services_unchanged, ["seed_nginx"]);
        let states = wait_for_stack(manager, "seed", std::time::Duration::from_secs(120))
            .await
            .expect("scaled tasks running");
        assert_eq!(
            states
                .iter()
                .find(|s| s.service == "seed_whoami")
                .map(|s| s.running),
            Some(3),
            "{states:?}"
        );

        // The real docker CLI with the generated client certificate sees three Ready nodes.
        let (ok, out) = c.docker(
            &client,
            nodes[0].ip,
            &[
                "node",
                "ls",
                "--format",
                "{{.Hostname}} {{.Status}} {{.ManagerStatus}}",
            ],
        );
        assert!(ok, "{out}");
        let mut lines: Vec<&str> = out.lines().collect();
        lines.sort();
        assert_eq!(
            lines,
            ["node-1 Ready Leader", "node-2 Ready ", "node-3 Ready "],
            "{out}"
        );
        let (ok, out) = c.docker(
            &client,
            nodes[1].ip,
            &[
                "info",
                "--format",
                "{{join .Labels \",\"}} {{.Swarm.NodeAddr}}",
            ],
        );
        assert!(ok, "{out}");
        assert_eq!(out.trim(), format!("provider=virtualbox {}", nodes[1].ip));

        // A client without a certificate, or with one from another CA, is refused.
        let plain = Command::new("curl")
            .args(["-sS", "--max-time", "5", "--cacert"])
            .arg(&client.ca)
            .arg(format!("https://{}:2376/version", nodes[0].ip))
            .output()
            .expect("curl");
        assert!(
            !plain.status.success(),
            "no client certificate accepted: {}",
            String::from_utf8_lossy(&plain.stdout)
        );
        let stranger =
            ClusterCa::load_or_create(&c.dir.path().join("other-ca"), "other").expect("other CA");
        let stranger_client = stranger
            .client_files(&c.dir.path().join("other-ca/client"))
            .expect("other client");
        let foreign = ClientFiles {
            ca: client.ca.clone(),
            ..stranger_client
        };
        let refused = match Engine::connect("node-1", nodes[0].ip, &foreign).await {
            Ok(e) => e.docker.ping().await.is_err(),
            Err(_) => true,
        };
        assert!(refused, "a certificate from another CA was accepted");

        // Again: nothing changes, nobody restarts, nobody joins.
        let pid_before = engine_pid(&c, &nodes[2]).await;
        let again = futures::future::join_all(
            nodes
                .iter()
                .map(|n| provision_node(&Boot2Docker, n, &ca, &client, &known, &options)),
        )
        .await;
        let mut engines2 = Vec::new();
        for r in again {
            let (report, engine) = r.expect("second provisioning");
            assert!(report.changed.is_empty(), "{report:?}");
            engines2.push(engine);
        }
        assert_eq!(
            pid_before,
            engine_pid(&c, &nodes[2]).await,
            "dockerd was restarted"
        );
        let members2: Vec<SwarmMember> = members
            .iter()
            .zip(engines2)
            .map(|(m, e)| SwarmMember {
                engine: e,
                ..m.clone()
            })
            .collect();
        let summary = form_swarm(&members2, false)
            .await
            .expect("second formation");
        assert!(
            summary.joined.is_empty() && summary.unchanged.len() == 3,
            "{summary:?}"
        );

        // dockerd stopped on a worker: the error names the node and the step; the next run converges.
        let ssh = SshConnection::connect(&nodes[2].ssh, &known, std::time::Duration::from_secs(10))
            .await
            .expect("ssh");
        ssh.run("sudo /etc/init.d/docker stop")
            .await
            .expect("docker stopped");
        let err = form_swarm(&members2, false)
            .await
            .expect_err("node-3 is down");
        let text = err.to_string();
        println!("{text}");
        assert!(
            text.starts_with("node-3: reading the swarm state"),
            "{text}"
        );
        let (report, engine3) =
            provision_node(&Boot2Docker, &nodes[2], &ca, &client, &known, &options)
                .await
                .expect("reprovisioned");
        assert_eq!(report.changed, ["docker restarted"]);
        let mut members3 = members2.clone();
        members3[2].engine = engine3;
        let summary = form_swarm(&members3, false).await.expect("converged");
        assert_eq!(summary.unchanged.len(), 3, "{summary:?}");
        let engines3: Vec<Engine> = members3.iter().map(|m| m.engine.clone()).collect();
        let manager = &engines3[0];

        // Node labels were applied through the leader.
        let (ok, out) = c.docker(
            &client,
            nodes[0].ip,
            &[
                "node",
                "inspect",
                "node-2",
                "--format",
                "{{index .Spec.Labels \"vswarm.node\"}}",
            ],
        );
        assert!(ok && out.trim() == "node-2", "{out}");

        // A service that cannot start: the timeout names the task's own error and its node.
        let broken = compose(
            "broken",
            "services:\n  ghost:\n    image: vboxsim/does-not-exist:1\n",
        );
        deploy_stack(manager, &broken).await.expect("deployed");
        let err = wait_for_stack(manager, "broken", std::time::Duration::from_secs(20))
            .await
            .expect_err("cannot run");
        let text = err.to_string();
        println!("{text}");
        assert!(
            text.starts_with("service broken_ghost did not get its tasks running within 20s: "),
            "{text}"
        );
        assert!(text.contains("on node-"), "the node is named: {text}");

        // Tear-down: the stacks go, then every node leaves the swarm.
        remove_stack(manager, "broken")
            .await
            .expect("broken removed");
        // The real docker CLI sees the stack's tasks and removes it, as stacks it deployed itself.
        let (ok, out) = c.docker(
            &client,
            nodes[0].ip,
            &[
                "stack",
                "ps",
                "seed",
                "--filter",
                "desired-state=running",
                "--format",
                "{{.Name}}",
            ],
        );
        assert!(
            ok && out.lines().filter(|l| l.starts_with("seed_nginx.")).count() == 3,
            "{out}"
        );
        // `docker stack rm` removes the networks right after the services; a network still held
        // by a task that is stopping fails ("is in use by task"), and running it again finishes
        // the job, as users do.
        let mut removed = c.docker(&client, nodes[0].ip, &["stack", "rm", "seed"]);
        for _ in 0..10 {
            if removed.0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_secs(1));
            removed = c.docker(&client, nodes[0].ip, &["stack", "rm", "seed"]);
        }
        let (ok, out) = removed;
        assert!(ok, "{out}");
        let (ok, out) = c.docker(
            &client,
            nodes[0].ip,
            &["stack", "ls", "--format", "{{.Name}}"],
        );
        assert!(ok && out.trim().is_empty(), "{out}");
        leave_swarm(&engines3).await.expect("left");
        for n in &nodes {
            let (ok, out) = c.docker(
                &client,
                n.ip,
                &["info", "--format", "{{.Swarm.LocalNodeState}}"],
            );
            assert!(ok && out.trim() == "inactive", "{}: {out}", n.name);
        }
    });
}

async fn engine_pid(c: &Cluster, node: &NodeAccess) -> String {
    let ssh = SshConnection::connect(&node.ssh, &c.known(), std::time::Duration::from_secs(10))
        .await
        .expect("ssh");
    ssh.run("cat /var/run/docker.pid")
        .await
        .expect("pid")
        .trim()
        .to_string()
}

#[test]
fn a_changed_ip_gets_a_new_certificate_and_tls_keeps_working() {
    rerun_in_lab!(a_changed_ip_gets_a_new_certificate_and_tls_keeps_working);
    harness::runtime().block_on(async {
        let c = Cluster::new().await;
        let (ca, client) = c.tls();
        let known = c.known();
        let first = c.boot("mover").await;
        let (report, _) = provision_node(&Boot2Docker, &first, &ca, &client, &known, &c.options())
            .await
            .expect("provisioned");
        assert!(report.changed.contains(&"certificates"));
        // A new MAC on the host-only adapter gets a new DHCP lease, as when docker-machine's
        // nodes came back with another address.
        c.driver.kill("mover").await.expect("powered off");
        c.vbm
            .run(&["modifyvm", "mover", "--macaddress2", "auto"])
            .await
            .expect("new MAC");
        c.driver.start("mover").await.expect("started");
        let moved = c.access("mover").await;
        assert_ne!(first.ip, moved.ip, "the node did not get a new address");
        let (report, engine) =
            provision_node(&Boot2Docker, &moved, &ca, &client, &known, &c.options())
                .await
                .expect("reprovisioned");
        assert!(report.changed.contains(&"certificates"), "{report:?}");
        engine
            .docker
            .ping()
            .await
            .expect("TLS with the new address");
        let (ok, out) = c.docker(
            &client,
            moved.ip,
            &["version", "--format", "{{.Server.Version}}"],
        );
        assert!(ok, "{out}");
        c.driver.remove("mover").await.expect("removed");
    });
}

/// The seed's stack: nginx on every node (ports 80 and 443, host mode) on the `nginx` overlay,
/// and a replicated whoami service to scale.
fn seed_stack(whoami_replicas: u64) -> StackSpec {
    // As a user writes it: a compose v3 file, read the way `docker stack deploy` reads it.
    let file = format!(
        r#"version: "3.8"
services:
  nginx:
    image: nginx:stable-alpine
    ports:
      - target: 80
        published: 80
        protocol: tcp
        mode: host
      - target: 443
        published: 443
        mode: host
    networks: [nginx]
    deploy:
      mode: global
  whoami:
    image: vboxsim/whoami
    networks: [nginx]
    deploy:
      replicas: {whoami_replicas}
      endpoint_mode: dnsrr
networks:
  nginx:
    driver: overlay
"#
    );
    compose("seed", &file)
}

/// A compose file's stack, read as `docker stack deploy` reads it.
fn compose(stack: &str, text: &str) -> StackSpec {
    read_stack(
        &[ComposeSource {
            name: format!("{stack}.yml"),
            text: text.to_string(),
        }],
        std::path::Path::new("."),
        stack,
        &Environment::default(),
    )
    .expect("the stack parses")
    .spec
}
