//! The commands: each composes library operations and renders the result.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use miette::{IntoDiagnostic, Result, miette};
use swarm_bootstrap::deploy::deploy_stack;
use swarm_bootstrap::provision::{Boot2Docker, EngineOptions, NodeAccess, provision_node};
use swarm_bootstrap::ssh::{KnownHosts, SshTarget};
use swarm_bootstrap::swarm::{Role, SwarmMember, form_swarm};
use swarm_bootstrap::tls::ClusterCa;
use swarm_bootstrap::verify::{probe_ports, wait_for_stack};
use vbox_driver::driver::{Driver, MachineState, NodeSpec};
use vbox_driver::hostonly::{DhcpRange, HostOnlyNetwork, NetworkRequest, ensure_hostonly_network};
use vbox_driver::runner::VBoxManage;
use vbox_driver::virtualbox::{VirtualBoxDriver, check_version};

use crate::Format;
use crate::cluster::{ClusterFile, RoleName};
use crate::state::{ClusterDir, ClusterRecord, NodeRecord, vswarm_home};

/// One line of progress per phase, on stderr.
struct Phase {
    bar: ProgressBar,
    start: Instant,
}

impl Phase {
    fn new(message: &str) -> Phase {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar.set_message(message.to_string());
        Phase {
            bar,
            start: Instant::now(),
        }
    }
    fn done(self, message: &str) {
        self.bar.finish_and_clear();
        eprintln!("✔ {message} ({:.1}s)", self.start.elapsed().as_secs_f64());
    }
}

fn load(file: &Path) -> Result<(ClusterFile, ClusterDir)> {
    let cluster = ClusterFile::load(file)
        .map_err(|e| miette!(help = "see \"The cluster file\" in README.md", "{e}"))?;
    let home = vswarm_home().ok_or_else(|| {
        miette!(
            help = "set VSWARM_HOME to a writable folder",
            "no home folder for vswarm's state"
        )
    })?;
    let dir = ClusterDir::new(&home, &cluster.name);
    Ok((cluster, dir))
}

async fn virtualbox() -> Result<(VBoxManage, vbox_driver::parse::VBoxVersion)> {
    let vbm = VBoxManage::locate()
        .map_err(|e| miette!(help = "install VirtualBox 5.0 or later", "{e}"))?;
    let version = check_version(&vbm).await.map_err(|e| miette!("{e}"))?;
    Ok((vbm, version))
}

fn driver_for(
    vbm: VBoxManage,
    version: vbox_driver::parse::VBoxVersion,
    network: HostOnlyNetwork,
    dir: &ClusterDir,
) -> VirtualBoxDriver {
    VirtualBoxDriver::new(vbm, version, network, dir.machines()).with_ssh_key(dir.key())
}

/// The host-only network a cluster's record names.
fn recorded_network(record: &ClusterRecord) -> Option<HostOnlyNetwork> {
    let host = record.network.parse().ok()?;
    Some(HostOnlyNetwork {
        interface: record.interface.clone(),
        host,
        dhcp: DhcpRange::for_network(host),
    })
}

/// The driver of an existing cluster, from its record.
async fn existing(
    file: &Path,
) -> Result<(ClusterFile, ClusterDir, ClusterRecord, VirtualBoxDriver)> {
    let (cluster, dir) = load(file)?;
    let record = dir.read_record().into_diagnostic()?.ok_or_else(|| {
        miette!(
            help = "run `vswarm up` first",
            "the cluster '{}' has not been brought up",
            cluster.name
        )
    })?;
    let (vbm, version) = virtualbox().await?;
    let network = recorded_network(&record).ok_or_else(|| {
        miette!(
            help = "run `vswarm up` again to record it",
            "{}: the recorded network '{}' is not valid",
            dir.root.display(),
            record.network
        )
    })?;
    let driver = driver_for(vbm, version, network, &dir);
    Ok((cluster, dir, record, driver))
}

pub async fn up(file: &Path, format: Format) -> Result<()> {
    let started = Instant::now();
    let (cluster, dir) = load(file)?;
    let base = file.parent().map(Path::to_path_buf).unwrap_or_default();

    let phase = Phase::new("boot2docker ISO");
    let iso = boot_iso(&cluster).await?;
    phase.done(&format!("boot2docker ISO {}", iso.display()));

    let phase = Phase::new("host-only network");
    let (vbm, version) = virtualbox().await?;
    let request = NetworkRequest {
        cidr: cluster.network.cidr.clone(),
        ..NetworkRequest::default()
    };
    let network = ensure_hostonly_network(&vbm, &version, &request)
        .await
        .map_err(|e| miette!("{e}"))?;
    phase.done(&format!(
        "host-only network {} on {} (VirtualBox {version})",
        network.host, network.interface
    ));

    let phase = Phase::new("virtual machines");
    let public_key = dir.ensure_key().map_err(|e| miette!("{e}"))?;
    let driver = driver_for(vbm, version, network.clone(), &dir);
    let roles = cluster.roles();
    let specs: Vec<NodeSpec> = cluster
        .nodes
        .iter()
        .map(|n| NodeSpec {
            name: n.name.clone(),
            cpus: n.cpus.unwrap_or(cluster.defaults.cpus),
            memory_mb: n.memory.unwrap_or(cluster.defaults.memory),
            disk_mb: n.disk.unwrap_or(cluster.defaults.disk),
            iso: iso.clone(),
            ssh_public_key: public_key.clone(),
        })
        .collect();
    let booted = futures::future::join_all(specs.iter().map(|spec| async {
        driver.create(spec).await?;
        driver.start(&spec.name).await?;
        let ip = driver.ip(&spec.name).await?;
        let ssh = driver.ssh_endpoint(&spec.name).await?;
        Ok::<_, vbox_driver::virtualbox::VirtualBoxError>((spec.name.clone(), ip, ssh))
    }))
    .await;
    let mut nodes = Vec::new();
    for r in booted {
        let (name, ip, ep) = r.map_err(|e| miette!("{e}"))?;
        nodes.push(NodeAccess {
            ssh: SshTarget {
                node: name.clone(),
                host: ep.host,
                port: ep.port,
                user: ep.user,
                key: dir.key(),
            },
            name,
            ip: IpAddr::V4(ip),
        });
    }
    phase.done(&format!("{} VMs running", nodes.len()));

    let phase = Phase::new("Docker with TLS");
    let ca = ClusterCa::load_or_create(&dir.tls(), &cluster.name).map_err(|e| miette!("{e}"))?;
    let client = ca.client_files(&dir.client()).map_err(|e| miette!("{e}"))?;
    let known = KnownHosts::new(dir.known_hosts());
    let mut labels = vec!["provider=virtualbox".to_string()];
    labels.extend(cluster.engine.labels.iter().cloned());
    let options = EngineOptions {
        labels,
        registry_mirrors: cluster.engine.registry_mirrors.clone(),
        insecure_registries: cluster.engine.insecure_registries.clone(),
        ..EngineOptions::default()
    };
    let provisioned = futures::future::join_all(
        nodes
            .iter()
            .map(|n| provision_node(&Boot2Docker, n, &ca, &client, &known, &options)),
    )
    .await;
    let mut engines = Vec::new();
    for r in provisioned {
        let (_, engine) = r.map_err(|e| miette!("{e}"))?;
        engines.push(engine);
    }
    phase.done("Docker answering over mutual TLS on every node");

    let phase = Phase::new("swarm");
    let members: Vec<SwarmMember> = engines
        .iter()
        .map(|e| {
            let role = roles
                .iter()
                .find(|(n, _)| *n == e.node)
                .map(|(_, r)| *r)
                .unwrap_or(RoleName::Worker);
            SwarmMember {
                engine: e.clone(),
                role: if role == RoleName::Manager {
                    Role::Manager
                } else {
                    Role::Worker
                },
                labels: Default::default(),
                availability: None,
            }
        })
        .collect();
    let summary = form_swarm(&members, false)
        .await
        .map_err(|e| miette!("{e}"))?;
    phase.done(&format!(
        "swarm led by {} ({} joined, {} already in)",
        summary.leader,
        summary.joined.len(),
        summary.unchanged.len()
    ));

    let leader = engines
        .iter()
        .find(|e| e.node == summary.leader)
        .ok_or_else(|| miette!("the leader is gone"))?;
    let targets: Vec<(String, IpAddr)> = nodes.iter().map(|n| (n.name.clone(), n.ip)).collect();
    let mut checks = Vec::new();
    for entry in &cluster.stacks {
        let phase = Phase::new(&format!("stack {}", entry.name));
        let path = if entry.file.is_absolute() {
            entry.file.clone()
        } else {
            base.join(&entry.file)
        };
        let stack = swarm_bootstrap::compose::load_compose(&path, &entry.name)
            .map_err(|e| miette!("{e}"))?;
        let report = deploy_stack(leader, &stack)
            .await
            .map_err(|e| miette!("{e}"))?;
        wait_for_stack(leader, &entry.name, Duration::from_secs(300))
            .await
            .map_err(|e| miette!("{e}"))?;
        let ports: Vec<u16> = stack
            .services
            .iter()
            .flat_map(|s| s.ports.iter().filter_map(|p| p.published))
            .collect();
        let probes = probe_ports(&targets, &ports).await;
        let answered = probes.iter().filter(|p| p.answer.is_ok()).count();
        phase.done(&format!(
            "stack {}: {} created, {} updated, {} unchanged; {answered}/{} port checks answered",
            entry.name,
            report.services_created.len(),
            report.services_updated.len(),
            report.services_unchanged.len(),
            probes.len()
        ));
        checks.extend(probes);
    }

    let record = ClusterRecord {
        name: cluster.name.clone(),
        interface: network.interface.clone(),
        network: network.host.to_string(),
        nodes: nodes
            .iter()
            .map(|n| NodeRecord {
                name: n.name.clone(),
                role: match roles.iter().find(|(r, _)| *r == n.name).map(|(_, r)| *r) {
                    Some(RoleName::Manager) => "manager".into(),
                    _ => "worker".into(),
                },
                ip: n.ip.to_string(),
            })
            .collect(),
    };
    dir.write_record(&record).into_diagnostic()?;
    match format {
        Format::Json => {
            let checks: Vec<_> = checks
                .iter()
                .map(|p| serde_json::json!({"node": p.node, "ip": p.ip.to_string(), "port": p.port, "answer": p.answer.as_ref().ok(), "error": p.answer.as_ref().err()}))
                .collect();
            println!(
                "{}",
                serde_json::json!({"cluster": record, "checks": checks, "seconds": started.elapsed().as_secs_f64()})
            );
        }
        Format::Text => {
            println!(
                "cluster {} is up in {:.1}s",
                record.name,
                started.elapsed().as_secs_f64()
            );
            print_nodes(&record.nodes, None);
            println!(
                "\nPoint the docker CLI at it:  eval $(vswarm env {})",
                summary.leader
            );
        }
    }
    Ok(())
}

/// The ISO named in the cluster file (URL or path), or the latest boot2docker release.
async fn boot_iso(cluster: &ClusterFile) -> Result<PathBuf> {
    let source = match &cluster.iso {
        Some(s) => images::ImageSource::parse(s).map_err(|e| miette!("{e}"))?,
        None => images::ImageSource::from_env().map_err(|e| miette!("{e}"))?,
    };
    let resolver = images::Resolver::from_env().map_err(|e| miette!("{e}"))?;
    let cache = images::Cache::from_env().map_err(|e| miette!("{e}"))?;
    let options = images::PullOptions::from_env(images::PullPolicy::PreferCached);
    let pulled = cache
        .pull(&source, &resolver, &options, |_| {})
        .await
        .map_err(|e| miette!("{e}"))?;
    Ok(pulled.image.path)
}

fn print_nodes(nodes: &[NodeRecord], states: Option<&[String]>) {
    println!(
        "{:<16} {:<8} {:<10} {:<16} DOCKER",
        "NAME", "ROLE", "STATE", "IP"
    );
    for (i, n) in nodes.iter().enumerate() {
        let state = states
            .and_then(|s| s.get(i))
            .map(String::as_str)
            .unwrap_or("running");
        println!(
            "{:<16} {:<8} {:<10} {:<16} tcp://{}:2376",
            n.name, n.role, state, n.ip, n.ip
        );
    }
}

fn state_name(s: MachineState) -> &'static str {
    match s {
        MachineState::Running => "running",
        MachineState::Paused => "paused",
        MachineState::Saved => "saved",
        MachineState::Stopped => "stopped",
        MachineState::Starting => "starting",
        MachineState::Stopping => "stopping",
        MachineState::Missing => "missing",
        MachineState::Error => "error",
    }
}

pub async fn ls(file: &Path, format: Format) -> Result<()> {
    let (_, _, record, driver) = existing(file).await?;
    let mut states = Vec::new();
    for n in &record.nodes {
        states
            .push(state_name(driver.state(&n.name).await.map_err(|e| miette!("{e}"))?).to_string());
    }
    match format {
        Format::Json => {
            let nodes: Vec<_> = record
                .nodes
                .iter()
                .zip(&states)
                .map(|(n, s)| serde_json::json!({"name": n.name, "role": n.role, "state": s, "ip": n.ip, "docker_host": format!("tcp://{}:2376", n.ip)}))
                .collect();
            println!(
                "{}",
                serde_json::json!({"cluster": record.name, "nodes": nodes})
            );
        }
        Format::Text => print_nodes(&record.nodes, Some(&states)),
    }
    Ok(())
}

fn node<'a>(record: &'a ClusterRecord, name: &str) -> Result<&'a NodeRecord> {
    record.nodes.iter().find(|n| n.name == name).ok_or_else(|| {
        let names: Vec<&str> = record.nodes.iter().map(|n| n.name.as_str()).collect();
        miette!(
            help = format!("the nodes are: {}", names.join(", ")),
            "no node named '{name}' in the cluster '{}'",
            record.name
        )
    })
}

pub async fn ip(file: &Path, name: &str) -> Result<()> {
    let (_, _, record, driver) = existing(file).await?;
    node(&record, name)?;
    let ip = driver.ip(name).await.map_err(|e| miette!("{e}"))?;
    println!("{ip}");
    Ok(())
}

pub async fn env(file: &Path, name: &str) -> Result<()> {
    let (cluster, dir) = load(file)?;
    let record = dir.read_record().into_diagnostic()?.ok_or_else(|| {
        miette!(
            help = "run `vswarm up` first",
            "the cluster '{}' has not been brought up",
            cluster.name
        )
    })?;
    let n = node(&record, name)?;
    println!("export DOCKER_TLS_VERIFY=\"1\"");
    println!("export DOCKER_HOST=\"tcp://{}:2376\"", n.ip);
    println!("export DOCKER_CERT_PATH=\"{}\"", dir.client().display());
    println!("export DOCKER_MACHINE_NAME=\"{}\"", n.name);
    println!(
        "# Run this command to configure your shell:\n# eval $(vswarm env {})",
        n.name
    );
    Ok(())
}

pub async fn stop_start(file: &Path, names: &[String], start: bool) -> Result<()> {
    let (_, _, record, driver) = existing(file).await?;
    let chosen: Vec<String> = if names.is_empty() {
        record.nodes.iter().map(|n| n.name.clone()).collect()
    } else {
        names.to_vec()
    };
    for n in &chosen {
        node(&record, n)?;
    }
    let results = futures::future::join_all(chosen.iter().map(|n| async {
        if start {
            driver.start(n).await
        } else {
            driver.stop(n).await
        }
    }))
    .await;
    for (n, r) in chosen.iter().zip(results) {
        r.map_err(|e| miette!("{n}: {e}"))?;
        eprintln!("✔ {n} {}", if start { "started" } else { "stopped" });
    }
    Ok(())
}

pub async fn down(file: &Path) -> Result<()> {
    let (cluster, dir) = load(file)?;
    let (vbm, version) = virtualbox().await?;
    let record = dir.read_record().into_diagnostic()?.unwrap_or_default();
    // Removing VMs does not use the network; a cluster never brought up has none recorded.
    let network = recorded_network(&record).unwrap_or_else(|| {
        let host = "192.168.56.1/24".parse().unwrap_or_default();
        HostOnlyNetwork {
            interface: String::new(),
            host,
            dhcp: DhcpRange::for_network(host),
        }
    });
    let driver = driver_for(vbm, version, network, &dir);
    let results =
        futures::future::join_all(cluster.nodes.iter().map(|n| driver.remove(&n.name))).await;
    for (n, r) in cluster.nodes.iter().zip(results) {
        r.map_err(|e| miette!("{}: {e}", n.name))?;
        eprintln!("✔ {} removed", n.name);
    }
    if dir.root.exists() {
        std::fs::remove_dir_all(&dir.root).into_diagnostic()?;
    }
    eprintln!("✔ cluster {} is down", cluster.name);
    Ok(())
}
