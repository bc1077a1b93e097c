//! The operations behind `vswarm`'s commands, as cargo's `ops` are behind cargo's: each takes
//! plain arguments, reports progress through a [`Reporter`] and returns a typed result that the
//! binary renders as text or JSON.
//!
//! What they share lives here: which cluster a command is about ([`Target`]), the cluster's
//! folder and record ([`Cluster`]), VirtualBox and the driver, and clients of the nodes'
//! daemons.

pub mod access;
pub mod certs;
pub mod doctor;
pub mod down;
pub mod images;
pub mod import;
pub mod machines;
pub mod stacks;
pub mod up;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use backon::{ConstantBuilder, Retryable};
use swarm_bootstrap::engine::Engine;
use swarm_bootstrap::ssh::{KnownHosts, SshTarget};
use swarm_bootstrap::tls::ClientFiles;
use vbox_driver::driver::{AddressProbe, SshEndpoint};
use vbox_driver::hostonly::{DhcpRange, HostOnlyNetwork};
use vbox_driver::parse::VBoxVersion;
use vbox_driver::runner::VBoxManage;
use vbox_driver::virtualbox::{Owner, VirtualBoxDriver};

use crate::cluster::{ClusterSpec, DEFAULT_CLUSTER, DEFAULT_FILE, name_in_file};
use crate::error::{Doing, Error, InputError, Result};
use crate::events::{Event, Reporter};
use crate::state::{ClusterDir, ClusterLock, ClusterRecord, NodeRecord, lock_holder, vswarm_home};

/// Which cluster a command is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `-f FILE`: the cluster that file describes.
    File(PathBuf),
    /// `--cluster NAME`: a cluster vswarm has a record of.
    Named(String),
    /// Neither: `./vswarm.yml` if there is one, else the cluster a named node belongs to, else
    /// the only (or the default) recorded cluster.
    Here,
}

/// What every operation needs: where state lives and where progress goes.
pub struct Session<'a> {
    pub home: PathBuf,
    pub reporter: &'a dyn Reporter,
}

/// A cluster vswarm has brought up: its folder and its record.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub dir: ClusterDir,
    pub record: ClusterRecord,
}

impl<'a> Session<'a> {
    pub fn new(reporter: &'a dyn Reporter) -> Result<Session<'a>> {
        Ok(Session {
            home: vswarm_home()?,
            reporter,
        })
    }

    pub fn with_home(home: PathBuf, reporter: &'a dyn Reporter) -> Session<'a> {
        Session { home, reporter }
    }

    pub fn note(&self, text: impl Into<String>) {
        self.reporter.event(Event::Note(text.into()));
    }

    pub fn warn(&self, text: impl Into<String>) {
        self.reporter.event(Event::Warning(text.into()));
    }

    pub fn dir(&self, cluster: &str) -> ClusterDir {
        ClusterDir::new(&self.home, cluster)
    }

    /// The cluster `up` builds for `target`, read and checked.
    pub fn spec_for_up(&self, target: &Target) -> Result<ClusterSpec> {
        match target {
            Target::File(path) => Ok(ClusterSpec::load(path)?),
            Target::Named(name) => {
                let record = self.dir(name).read_record()?;
                match record.and_then(|r| r.file) {
                    Some(file) => Ok(ClusterSpec::load(&file)?),
                    None if name == DEFAULT_CLUSTER => Ok(ClusterSpec::default_cluster()),
                    None => Err(InputError::new(format!(
                        "there is no record of a cluster named '{name}' with a cluster file"
                    ))
                    .help("bring it up with `vswarm -f FILE up`")
                    .into()),
                }
            }
            Target::Here => {
                let here = Path::new(DEFAULT_FILE);
                if here.exists() {
                    Ok(ClusterSpec::load(here)?)
                } else {
                    Ok(ClusterSpec::default_cluster())
                }
            }
        }
    }

    /// The name of the cluster `target` designates; None when nothing designates one (no file
    /// here and no cluster recorded).
    pub fn cluster_name(&self, target: &Target, node: Option<&str>) -> Result<Option<String>> {
        match target {
            Target::File(path) => Ok(Some(name_in_file(path)?)),
            Target::Named(name) => Ok(Some(name.clone())),
            Target::Here => {
                let here = Path::new(DEFAULT_FILE);
                if here.exists() {
                    return Ok(Some(name_in_file(here)?));
                }
                let recorded = crate::state::recorded_clusters(&self.home);
                if let Some(node) = node {
                    let with_node: Vec<&String> = recorded
                        .iter()
                        .filter(|c| {
                            self.dir(c)
                                .read_record()
                                .ok()
                                .flatten()
                                .is_some_and(|r| r.node(node).is_some())
                        })
                        .collect();
                    if let [only] = with_node.as_slice() {
                        return Ok(Some((*only).clone()));
                    }
                }
                match recorded.as_slice() {
                    [only] => Ok(Some(only.clone())),
                    [] => Ok(None),
                    many if many.iter().any(|c| c == DEFAULT_CLUSTER) => {
                        Ok(Some(DEFAULT_CLUSTER.to_string()))
                    }
                    many => Err(InputError::new(format!(
                        "there are several clusters ({}) and no vswarm.yml here",
                        many.join(", ")
                    ))
                    .help("name one with --cluster NAME, or -f FILE")
                    .into()),
                }
            }
        }
    }

    /// The node names the cluster file of `target` lists (None: no file, or one that cannot be
    /// read: `down` then works from the record and the VMs' marks).
    pub fn file_nodes(&self, target: &Target) -> Option<Vec<String>> {
        let path = match target {
            Target::File(path) => path.clone(),
            Target::Here if Path::new(DEFAULT_FILE).exists() => PathBuf::from(DEFAULT_FILE),
            _ => return None,
        };
        match ClusterSpec::load(&path) {
            Ok(spec) => Some(spec.nodes.into_iter().map(|n| n.name).collect()),
            Err(e) => {
                self.warn(format!("the cluster file's nodes are not used: {e}"));
                None
            }
        }
    }

    /// The cluster `target` designates (with `node` as a hint), when vswarm has a record of it.
    pub fn find_cluster(&self, target: &Target, node: Option<&str>) -> Result<Option<Cluster>> {
        let Some(name) = self.cluster_name(target, node)? else {
            return Ok(None);
        };
        let dir = self.dir(&name);
        Ok(dir.read_record()?.map(|record| Cluster { dir, record }))
    }

    /// An existing cluster: `target` resolved (with `node` as a hint), and its record.
    pub fn cluster(&self, target: &Target, node: Option<&str>) -> Result<Cluster> {
        match self.cluster_name(target, node)? {
            None => Err(InputError::new("no cluster has been brought up")
                .help("run `vswarm up` (in a folder with a vswarm.yml, or with -f FILE)")
                .into()),
            Some(name) => {
                let dir = self.dir(&name);
                let record = dir.read_record()?.ok_or_else(|| {
                    Error::from(
                        InputError::new(format!("the cluster '{name}' has not been brought up"))
                            .help("run `vswarm up` first"),
                    )
                })?;
                Ok(Cluster { dir, record })
            }
        }
    }

    /// Takes the cluster's lock, waiting (and saying so) while another vswarm holds it.
    pub async fn lock(&self, cluster: &str, command: &str) -> Result<ClusterLock> {
        self.lock_named(cluster, &format!("the cluster '{cluster}'"), command)
            .await
    }

    /// Takes the lock `name` (`what` in messages), waiting while another vswarm holds it.
    pub async fn lock_named(&self, name: &str, what: &str, command: &str) -> Result<ClusterLock> {
        if let Some(lock) = ClusterLock::try_acquire(&self.home, name, command)? {
            return Ok(lock);
        }
        // The holder writes who it is just after taking the lock: give it a moment.
        let holder = (|| async { lock_holder(&self.home, name).ok_or(()) })
            .retry(
                ConstantBuilder::new()
                    .with_delay(Duration::from_millis(20))
                    .with_max_times(9),
            )
            .await
            .unwrap_or_else(|()| "another vswarm command holds it".into());
        self.reporter.event(Event::Waiting(format!(
            "{what} is locked: {holder}; waiting for it to finish"
        )));
        let (home, name, command) = (self.home.clone(), name.to_string(), command.to_string());
        tokio::task::spawn_blocking(move || ClusterLock::acquire_blocking(&home, &name, &command))
            .await
            .map_err(|e| Error::failed(format!("waiting for the lock of {what}"), e))?
    }
}

/// The lock of the host's host-only networks: held by an `up` while it changes them, so that
/// two clusters brought up at once never pick the same network.
pub const NETWORKS_LOCK: &str = ".host-only-networks";

impl Cluster {
    pub fn name(&self) -> &str {
        &self.record.name
    }

    /// The node record called `name`, or an input error listing the nodes.
    pub fn node(&self, name: &str) -> Result<&NodeRecord> {
        self.record.node(name).ok_or_else(|| {
            InputError::new(format!(
                "no node named '{name}' in the cluster '{}'",
                self.record.name
            ))
            .help(format!(
                "the nodes are: {}",
                self.record.node_names().join(", ")
            ))
            .into()
        })
    }

    /// The named nodes (checked), or all when none is named.
    pub fn chosen(&self, names: &[String]) -> Result<Vec<NodeRecord>> {
        if names.is_empty() {
            return Ok(self.record.nodes.clone());
        }
        names.iter().map(|n| self.node(n).cloned()).collect()
    }

    /// The recorded host-only network, as the driver needs it.
    pub fn network(&self) -> HostOnlyNetwork {
        recorded_network(&self.record)
    }

    /// The prefix length of the recorded network (24 for a /24), once known.
    pub fn network_prefix(&self) -> Option<u8> {
        self.record
            .network
            .as_ref()
            .and_then(|n| n.cidr.parse::<ipnet::Ipv4Net>().ok())
            .map(|n| n.prefix_len())
    }

    /// The client's TLS files (issued by `up`).
    pub fn client(&self) -> ClientFiles {
        ClientFiles::in_dir(&self.dir.client())
    }

    pub fn known_hosts(&self) -> KnownHosts {
        KnownHosts::new(self.dir.known_hosts())
    }

    /// The recorded address of a node, or an error saying to run `up`.
    pub fn ip(&self, node: &NodeRecord) -> Result<IpAddr> {
        node.ip
            .as_deref()
            .and_then(|ip| ip.parse().ok())
            .ok_or_else(|| {
                Error::message(
                    format!("reaching {}", node.name),
                    format!("vswarm has no address recorded for {}", node.name),
                )
                .with_help("run `vswarm up` to bring the node up")
            })
    }

    /// Where to log in to a node.
    pub fn ssh_target(&self, node: &NodeRecord) -> Result<SshTarget> {
        let port = node.ssh_port.ok_or_else(|| {
            Error::message(
                format!("reaching {} over SSH", node.name),
                format!("vswarm has no SSH port recorded for {}", node.name),
            )
            .with_help("run `vswarm up` to bring the node up")
        })?;
        Ok(SshTarget {
            node: node.name.clone(),
            host: "127.0.0.1".into(),
            port,
            user: "docker".into(),
            key: self.dir.key(),
        })
    }

    /// A node as provisioning sees it, reached at `ip` (its address fixed when `fixed`).
    pub fn access(
        &self,
        node: &NodeRecord,
        ip: IpAddr,
        fixed: Option<swarm_bootstrap::provision::FixedAddress>,
    ) -> Result<swarm_bootstrap::provision::NodeAccess> {
        Ok(swarm_bootstrap::provision::NodeAccess {
            name: node.name.clone(),
            ssh: self.ssh_target(node)?,
            ip,
            fixed,
        })
    }

    /// A client of a node's daemon (waits up to `wait` for it to answer).
    pub async fn engine(&self, node: &NodeRecord, wait: Duration) -> Result<Engine> {
        let ip = self.ip(node)?;
        Engine::wait_until_answering(&node.name, ip, &self.client(), wait)
            .await
            .doing(format!("reaching Docker on {}", node.name))
            .map_err(|e| {
                e.with_help(format!(
                    "is {} running? `vswarm ls` shows it; `vswarm start {}` starts it",
                    node.name, node.name
                ))
            })
    }

    /// A client of the swarm's leader, or of another manager that answers.
    pub async fn manager(&self) -> Result<Engine> {
        let mut managers: Vec<&NodeRecord> = self
            .record
            .nodes
            .iter()
            .filter(|n| n.role == crate::cluster::Role::Manager)
            .collect();
        managers.sort_by_key(|n| Some(n.name.as_str()) != self.record.leader.as_deref());
        let mut last = None;
        for m in managers {
            match self.engine(m, Duration::from_secs(5)).await {
                Ok(e) => return Ok(e),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            Error::message("reaching the swarm", "the cluster has no manager")
                .with_help("run `vswarm up`")
        }))
    }

    pub fn write(&self) -> Result<()> {
        self.dir.write_record(&self.record)
    }
}

/// The host-only network a record names (a placeholder when none is recorded: removing and
/// stopping VMs does not use it).
pub fn recorded_network(record: &ClusterRecord) -> HostOnlyNetwork {
    let recorded = record.network.as_ref();
    let host = recorded
        .and_then(|n| n.cidr.parse().ok())
        .unwrap_or_else(|| {
            ipnet::Ipv4Net::new(std::net::Ipv4Addr::new(192, 168, 56, 1), 24).unwrap_or_default()
        });
    HostOnlyNetwork {
        interface: recorded
            .and_then(|n| n.interface.clone())
            .unwrap_or_default(),
        host,
        dhcp: DhcpRange::for_network(host),
        kind: if recorded.is_some_and(|n| n.hostonlynet) {
            vbox_driver::hostonly::HostOnlyKind::Network
        } else {
            vbox_driver::hostonly::HostOnlyKind::Adapter
        },
    }
}

/// `VBoxManage`, found the way users install it.
pub fn locate_virtualbox() -> Result<VBoxManage> {
    VBoxManage::locate().doing("finding VirtualBox").map_err(|e| {
        e.with_help(
            "install VirtualBox 5.0 or later (https://www.virtualbox.org/wiki/Downloads), or set VBOX_INSTALL_PATH to the folder holding VBoxManage",
        )
    })
}

/// VirtualBox's version, refused below 5.0.
pub async fn virtualbox_version(vbm: &VBoxManage) -> Result<VBoxVersion> {
    vbox_driver::virtualbox::check_version(vbm)
        .await
        .doing("asking VirtualBox its version")
}

/// The VirtualBox driver of a cluster: it marks the VMs it creates as the cluster's and
/// changes no other (VMs the record names from before marks existed are marked when met), and
/// asks a guest for its address over the cluster's pinned SSH when VirtualBox cannot tell.
pub fn driver(
    vbm: VBoxManage,
    network: HostOnlyNetwork,
    dir: &ClusterDir,
    record: &ClusterRecord,
) -> VirtualBoxDriver {
    let probe = PinnedAddressProbe::new(dir.key(), KnownHosts::new(dir.known_hosts()));
    VirtualBoxDriver::new(vbm, network, dir.machines())
        .with_owner(owner(record))
        .with_address_probe(std::sync::Arc::new(probe))
}

/// The mark of a cluster's VMs: `<name>/<id>`.
pub fn owner(record: &ClusterRecord) -> Owner {
    Owner {
        tag: format!("{}/{}", record.name, record.id),
        // VMs vswarm made before it marked them: brought up (an address recorded) or made.
        adopt: record
            .nodes
            .iter()
            .filter(|n| n.made || n.ip.is_some())
            .map(|n| n.vm.clone())
            .collect(),
    }
}

/// The name a node's VM gets: `<cluster>-<node>`, so that clusters with the same node names
/// (and a user's own VMs) never meet; a node named after its cluster already (the counts
/// shorthand's `seed-manager-1`) keeps its name.
pub fn vm_name(cluster: &str, node: &str) -> String {
    if node.starts_with(&format!("{cluster}-")) {
        node.to_string()
    } else {
        format!("{cluster}-{node}")
    }
}

/// A guest's address read inside it (`ip addr show`, by MAC) over the cluster's SSH, its host
/// key pinned: what the driver asks when no guest additions report the address.
pub struct PinnedAddressProbe {
    key: std::path::PathBuf,
    known: KnownHosts,
}

impl PinnedAddressProbe {
    /// Logs in with the private key `key`, checking host keys against `known`.
    pub fn new(key: std::path::PathBuf, known: KnownHosts) -> PinnedAddressProbe {
        PinnedAddressProbe { key, known }
    }
}

impl AddressProbe for PinnedAddressProbe {
    fn address<'a>(
        &'a self,
        node: &'a str,
        ssh: &'a SshEndpoint,
        mac: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<std::net::Ipv4Addr>> + Send + 'a>>
    {
        Box::pin(async move {
            let target = SshTarget {
                node: node.to_string(),
                host: ssh.host.clone(),
                port: ssh.port,
                user: ssh.user.clone(),
                key: self.key.clone(),
            };
            let session = swarm_bootstrap::ssh::SshConnection::connect(
                &target,
                &self.known,
                Duration::from_secs(5),
            )
            .await
            .ok()?;
            let out = session.run("ip addr show").await.ok()?;
            vbox_driver::virtualbox::address_for_mac(&out, mac)
        })
    }
}
