//! `vswarm import`: docker-machine's VirtualBox machines adopted into a cluster, as they are.
//!
//! docker-machine 0.16 keeps each machine in `<store>/machines/<name>/` (`config.json`, the SSH
//! key `id_rsa`, its ISO and disk) and one CA for all machines in `<store>/certs/` (`ca.pem`,
//! `ca-key.pem`, and the client's `cert.pem`, `key.pem`). Import reads these, checks each
//! machine against VirtualBox, and writes a cluster (record, TLS folder, cluster file) that
//! `vswarm up` then manages without recreating anything: the CA stays docker-machine's (the
//! nodes' certificates and `docker-machine env` keep working), the cluster's SSH key is added
//! to each machine's authorized keys (with the machine's own key, which keeps working too), and
//! each VM is marked as the cluster's. What cannot be adopted is named with why.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use swarm_bootstrap::engine::Engine;
use swarm_bootstrap::provision::{Boot2Docker, authorize_key};
use swarm_bootstrap::ssh::{KnownHosts, SshTarget};
use swarm_bootstrap::swarm::{Role as SwarmRole, swarm_role};
use swarm_bootstrap::tls::{ClientFiles, ClusterCa};
use vbox_driver::hostonly::{interface_net, survey_hostonly};
use vbox_driver::parse::{MachineInfo, NicAttachment};
use vbox_driver::virtualbox::{Owner, adopt_vm, machine_info};

use super::{Session, locate_virtualbox};
use crate::cluster::Role;
use crate::error::{Doing, Error, InputError, Result};
use crate::state::{ClusterRecord, NetworkRecord, NodeRecord, write_private};

/// What to import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// docker-machine's store (`~/.docker/machine`, or `$MACHINE_STORAGE_PATH`).
    pub store: PathBuf,
    /// The machines to adopt; all of the store's when empty.
    pub machines: Vec<String>,
    /// The cluster's name.
    pub cluster: String,
    /// The cluster file to write.
    pub file: PathBuf,
}

/// One machine adopted.
#[derive(Debug, Clone, Serialize)]
pub struct Adopted {
    pub node: String,
    pub vm: String,
    pub ip: String,
    pub role: Role,
}

/// One machine left out, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub machine: String,
    pub why: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub cluster: String,
    pub file: PathBuf,
    pub adopted: Vec<Adopted>,
    pub skipped: Vec<Skipped>,
}

/// A machine's `config.json`, the parts import reads.
#[derive(Debug, Deserialize)]
struct MachineConfig {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "DriverName", default)]
    driver_name: String,
    #[serde(rename = "Driver", default)]
    driver: DriverConfig,
    #[serde(rename = "HostOptions", default)]
    host_options: HostOptions,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DriverConfig {
    #[serde(rename = "MachineName")]
    machine_name: String,
    #[serde(rename = "SSHUser")]
    ssh_user: String,
    #[serde(rename = "SSHKeyPath")]
    ssh_key_path: String,
    #[serde(rename = "DiskSize")]
    disk_size: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HostOptions {
    #[serde(rename = "AuthOptions")]
    auth: AuthOptions,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AuthOptions {
    #[serde(rename = "CaCertPath")]
    ca_cert: String,
    #[serde(rename = "CaPrivateKeyPath")]
    ca_key: String,
    #[serde(rename = "ClientCertPath")]
    client_cert: String,
    #[serde(rename = "ClientKeyPath")]
    client_key: String,
}

/// `configured` when it exists, else `fallback` (a store moved since docker-machine wrote its
/// absolute paths).
fn existing(configured: &str, fallback: PathBuf) -> PathBuf {
    let p = PathBuf::from(configured);
    if !configured.is_empty() && p.exists() {
        p
    } else {
        fallback
    }
}

/// A machine that passed the checks.
struct Candidate {
    name: String,
    vm: String,
    info: MachineInfo,
    interface: String,
    key: PathBuf,
    ca: (PathBuf, PathBuf),
    client: (PathBuf, PathBuf),
    disk_mb: u64,
}

/// The machines of the store, each read or refused.
fn read_store(
    store: &Path,
    wanted: &[String],
) -> Result<Vec<(String, Result<MachineConfig, String>)>> {
    let machines = store.join("machines");
    let entries = std::fs::read_dir(&machines).map_err(|e| {
        Error::from(InputError::new(format!(
            "cannot read docker-machine's machines in {}: {e}",
            machines.display()
        )))
        .with_help("name docker-machine's store with --storage-path (or MACHINE_STORAGE_PATH); it is ~/.docker/machine by default")
    })?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("config.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    if let Some(missing) = wanted.iter().find(|w| !names.contains(w)) {
        return Err(InputError::new(format!(
            "docker-machine has no machine named '{missing}' in {}",
            machines.display()
        ))
        .help(format!("its machines are: {}", names.join(", ")))
        .into());
    }
    Ok(names
        .into_iter()
        .filter(|n| wanted.is_empty() || wanted.contains(n))
        .map(|n| {
            let path = machines.join(&n).join("config.json");
            let read = std::fs::read(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))
                .and_then(|bytes| {
                    serde_json::from_slice::<MachineConfig>(&bytes).map_err(|e| {
                        format!("{} is not docker-machine's config: {e}", path.display())
                    })
                });
            (n, read)
        })
        .collect())
}

/// Checks one machine: a VirtualBox machine whose VM exists with docker-machine's two adapters,
/// whose name can be a node's, whose key and certificates are there.
async fn check_machine(
    vbm: &vbox_driver::runner::VBoxManage,
    store: &Path,
    dir: &str,
    config: MachineConfig,
) -> std::result::Result<Candidate, String> {
    if config.driver_name != "virtualbox" {
        return Err(format!(
            "its driver is '{}': vswarm adopts VirtualBox machines only",
            config.driver_name
        ));
    }
    if !swarm_bootstrap::provision::valid_hostname(&config.name) {
        return Err(
            "its name is not a hostname (letters, digits and '-'): a node's name becomes its hostname"
                .into(),
        );
    }
    let vm = if config.driver.machine_name.is_empty() {
        config.name.clone()
    } else {
        config.driver.machine_name.clone()
    };
    let info = machine_info(vbm, &vm)
        .await
        .map_err(|e| format!("VirtualBox: {e}"))?
        .ok_or_else(|| {
            format!("VirtualBox has no VM named '{vm}' (removed outside docker-machine?)")
        })?;
    let interface = match info.nic(2) {
        Some(n) if n.attachment == NicAttachment::HostOnly => {
            n.hostonly_adapter.unwrap_or_default()
        }
        _ => return Err("its second adapter is not host-only, as docker-machine makes it".into()),
    };
    if !info.forwarding_rules().iter().any(|r| r.name == "ssh") {
        return Err("its NAT adapter has no 'ssh' port forward".into());
    }
    if !matches!(config.driver.ssh_user.as_str(), "" | "docker") {
        return Err(format!(
            "it logs in as '{}', not boot2docker's 'docker'",
            config.driver.ssh_user
        ));
    }
    let machine_dir = store.join("machines").join(dir);
    let key = existing(&config.driver.ssh_key_path, machine_dir.join("id_rsa"));
    let certs = store.join("certs");
    let a = &config.host_options.auth;
    let ca = (
        existing(&a.ca_cert, certs.join("ca.pem")),
        existing(&a.ca_key, certs.join("ca-key.pem")),
    );
    let client = (
        existing(&a.client_cert, certs.join("cert.pem")),
        existing(&a.client_key, certs.join("key.pem")),
    );
    for (what, p) in [
        ("SSH key", &key),
        ("CA certificate", &ca.0),
        ("CA key", &ca.1),
        ("client certificate", &client.0),
        ("client key", &client.1),
    ] {
        if !p.is_file() {
            return Err(format!("its {what} {} is missing", p.display()));
        }
    }
    Ok(Candidate {
        name: config.name,
        vm,
        info,
        interface,
        key,
        ca,
        client,
        disk_mb: config.driver.disk_size,
    })
}

/// Adopts docker-machine's machines into a new cluster (see the module's documentation).
pub async fn import(session: &Session<'_>, options: &ImportOptions) -> Result<ImportReport> {
    let doing = "importing docker-machine's machines";
    if !swarm_bootstrap::provision::valid_hostname(&options.cluster) {
        return Err(InputError::new(format!(
            "the cluster name '{}' is not valid",
            options.cluster
        ))
        .help("use letters, digits and '-' (at most 63)")
        .into());
    }
    if options.file.exists() {
        return Err(InputError::new(format!(
            "{} exists: import writes a new cluster file and replaces none",
            options.file.display()
        ))
        .help("name another file with -o, or move that one away")
        .into());
    }
    let dir = session.dir(&options.cluster);
    let _lock = session.lock(&options.cluster, "import").await?;
    if dir.read_record()?.is_some() {
        return Err(InputError::new(format!(
            "a cluster named '{}' exists already",
            options.cluster
        ))
        .help("name the new cluster with --name")
        .into());
    }
    let vbm = locate_virtualbox()?;
    let machines = read_store(&options.store, &options.machines)?;
    let mut skipped = Vec::new();
    let mut candidates = Vec::new();
    for (dir_name, config) in machines {
        let checked = match config {
            Ok(config) => check_machine(&vbm, &options.store, &dir_name, config).await,
            Err(why) => Err(why),
        };
        match checked {
            Ok(c) => candidates.push(c),
            Err(why) => skipped.push(Skipped {
                machine: dir_name,
                why,
            }),
        }
    }
    // One cluster is one host-only network and one CA: the first machine's decide.
    if let Some(first) = candidates.first() {
        let (interface, ca) = (first.interface.clone(), std::fs::read(&first.ca.0).ok());
        candidates.retain(|c| {
            let why = if c.interface != interface {
                Some(format!(
                    "it is on {}, the others on {interface}",
                    c.interface
                ))
            } else if std::fs::read(&c.ca.0).ok() != ca {
                Some("its CA is not the other machines'".to_string())
            } else if !matches!(c.info.state(), vbox_driver::parse::VmState::Running) {
                Some(format!(
                    "it is not running: start it (docker-machine start {}) and import it again",
                    c.name
                ))
            } else {
                None
            };
            match why {
                Some(why) => {
                    skipped.push(Skipped {
                        machine: c.name.clone(),
                        why,
                    });
                    false
                }
                None => true,
            }
        });
    }
    if candidates.is_empty() {
        let list = skipped
            .iter()
            .map(|s| format!("{}: {}", s.machine, s.why))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(Error::message(
            doing,
            if list.is_empty() {
                format!(
                    "docker-machine's store {} has no machines",
                    options.store.display()
                )
            } else {
                format!("no machine can be adopted ({list})")
            },
        ));
    }
    let survey = survey_hostonly(&vbm)
        .await
        .doing("reading VirtualBox's host-only networks")?;
    let interface = candidates[0].interface.clone();
    let net = survey
        .interfaces
        .iter()
        .find(|i| i.name == interface)
        .and_then(interface_net)
        .ok_or_else(|| {
            Error::message(
                doing,
                format!(
                    "the machines' host-only interface {interface} has no address in VirtualBox"
                ),
            )
        })?;

    let id = uuid::Uuid::new_v4().to_string();
    let mut record = ClusterRecord {
        format: 2,
        name: options.cluster.clone(),
        id: id.clone(),
        file: Some(std::path::absolute(&options.file).unwrap_or_else(|_| options.file.clone())),
        network: Some(NetworkRecord {
            interface: Some(interface.clone()),
            cidr: net.to_string(),
            ..NetworkRecord::default()
        }),
        ..ClusterRecord::default()
    };
    // TLS: docker-machine's CA (checked: its key is its certificate's) and client.
    let first = &candidates[0];
    let tls = dir.tls();
    for (from, to) in [
        (&first.ca.0, tls.join("ca.pem")),
        (&first.ca.1, tls.join("ca-key.pem")),
        (&first.ca.0, dir.client().join("ca.pem")),
        (&first.client.0, dir.client().join("cert.pem")),
        (&first.client.1, dir.client().join("key.pem")),
    ] {
        let bytes = std::fs::read(from).doing(format!("reading {}", from.display()))?;
        write_private(&to, &bytes)?;
    }
    let cleanup = || {
        let _ = std::fs::remove_dir_all(&dir.root);
    };
    if let Err(e) = ClusterCa::load_or_create(&tls, &options.cluster) {
        cleanup();
        return Err(Error::failed("reading docker-machine's CA", e));
    }
    let public_key = match dir.ensure_key() {
        Ok(k) => k,
        Err(e) => {
            cleanup();
            return Err(e);
        }
    };
    let known = KnownHosts::new(dir.known_hosts());
    let client = ClientFiles::in_dir(&dir.client());
    let owner = Owner {
        tag: format!("{}/{id}", options.cluster),
        adopt: Vec::new(),
    };
    let mut adopted = Vec::new();
    let mut nodes = Vec::new();
    for c in &candidates {
        let port = c
            .info
            .forwarding_rules()
            .into_iter()
            .find(|r| r.name == "ssh")
            .map(|r| r.host_port)
            .unwrap_or(22);
        let result = async {
            let target = SshTarget {
                node: c.name.clone(),
                host: "127.0.0.1".into(),
                port,
                user: "docker".into(),
                key: c.key.clone(),
            };
            authorize_key(&Boot2Docker, &target, &known, &public_key)
                .await
                .map_err(|e| e.to_string())?;
            let ip = ask_address(&target, &known, &net).await?;
            let engine = Engine::connect(&c.name, ip.into(), &client)
                .await
                .map_err(|e| e.to_string())?;
            let role = swarm_role(&engine).await.map_err(|e| e.to_string())?;
            adopt_vm(&vbm, &c.vm, &owner)
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>((ip, role))
        }
        .await;
        match result {
            Ok((ip, role)) => {
                nodes.push((c, ip, port, role));
            }
            Err(why) => skipped.push(Skipped {
                machine: c.name.clone(),
                why,
            }),
        }
    }
    if nodes.is_empty() {
        cleanup();
        return Err(Error::message(
            doing,
            format!(
                "no machine could be adopted ({})",
                skipped
                    .iter()
                    .map(|s| format!("{}: {}", s.machine, s.why))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ));
    }
    // Roles: the swarm's own when the machines form one; else the first manages.
    let any_manager = nodes.iter().any(|n| n.3 == Some(SwarmRole::Manager));
    for (i, (c, ip, port, role)) in nodes.iter().enumerate() {
        let role = match role {
            Some(SwarmRole::Manager) => Role::Manager,
            Some(SwarmRole::Worker) => Role::Worker,
            None if !any_manager && i == 0 => Role::Manager,
            None => Role::Worker,
        };
        record.nodes.push(NodeRecord {
            name: c.name.clone(),
            role,
            vm: c.vm.clone(),
            ip: Some(ip.to_string()),
            ssh_port: Some(*port),
            made: false,
            pinned: None,
        });
        adopted.push(Adopted {
            node: c.name.clone(),
            vm: c.vm.clone(),
            ip: ip.to_string(),
            role,
        });
    }
    dir.write_record(&record)?;
    let file = cluster_file(
        &options.cluster,
        &interface,
        &net.to_string(),
        &nodes,
        &record,
    );
    write_private(&options.file, file.as_bytes())?;
    Ok(ImportReport {
        cluster: options.cluster.clone(),
        file: options.file.clone(),
        adopted,
        skipped,
    })
}

/// The node's address on the host-only network, asked inside the guest (docker-machine's
/// record of it may be stale; the guest's own interfaces are not).
async fn ask_address(
    target: &SshTarget,
    known: &KnownHosts,
    net: &ipnet::Ipv4Net,
) -> std::result::Result<std::net::Ipv4Addr, String> {
    let ssh = swarm_bootstrap::ssh::SshConnection::connect(
        target,
        known,
        std::time::Duration::from_secs(20),
    )
    .await
    .map_err(|e| e.to_string())?;
    let out = ssh
        .run("ip -4 addr show")
        .await
        .map_err(|e| e.to_string())?;
    swarm_bootstrap::provision::interface_addresses(&out)
        .into_iter()
        .map(|(_, a, _)| a)
        .find(|a| net.trunc().contains(a))
        .ok_or_else(|| format!("it has no address on {}", net.trunc()))
}

/// The cluster file of the adopted machines: their network, and each as it is (CPUs, memory,
/// disk), so `vswarm up` finds nothing to change.
fn cluster_file(
    name: &str,
    interface: &str,
    cidr: &str,
    nodes: &[(&Candidate, std::net::Ipv4Addr, u16, Option<SwarmRole>)],
    record: &ClusterRecord,
) -> String {
    // The interface is found by its address: vswarm uses it, and its DHCP server, as they are.
    let mut s = format!(
        "# Imported from docker-machine by `vswarm import` (the machines were on {interface}).\nname: {name}\nnetwork:\n  cidr: {cidr}\nnodes:\n"
    );
    for (c, _, _, _) in nodes {
        let role = record.node(&c.name).map(|n| n.role).unwrap_or(Role::Worker);
        s += &format!("  - name: {}\n    role: {}\n", c.name, role);
        if let Some(cpus) = c.info.cpus() {
            s += &format!("    cpus: {cpus}\n");
        }
        if let Some(m) = c.info.memory_mb() {
            s += &format!("    memory: {m}\n");
        }
        if c.disk_mb > 0 {
            s += &format!("    disk: {}\n", c.disk_mb.max(crate::cluster::MIN_DISK_MB));
        }
    }
    s
}
