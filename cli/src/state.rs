//! Where vswarm keeps what it knows, and the record of what it made.
//!
//! `$VSWARM_HOME` (default: the platform's data folder, `~/.local/share/vswarm` on Linux) holds
//! `cache/` (ISOs, the `images` crate's), `locks/` (one lock file per cluster) and
//! `clusters/<name>/`: the SSH key pair, the TLS material, the pinned host keys, the VM folders
//! and `cluster.json`, the [`ClusterRecord`]. Folders are created 0700 and every file vswarm
//! writes here is private: they hold keys.
//!
//! The record is written before each thing vswarm creates (a host-only interface, a VM) and
//! after, atomically (temporary file, fsync, rename), so an interrupted `up` leaves a record
//! that names everything it may have made: the next `up` completes it and `down` removes it.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cluster::Role;
use crate::error::{Error, InputError, Result};

/// `$VSWARM_HOME`, or the platform's data folder for vswarm.
pub fn vswarm_home() -> Result<PathBuf> {
    if let Some(h) = std::env::var_os("VSWARM_HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(h));
    }
    directories::ProjectDirs::from("", "", "vswarm")
        .map(|d| d.data_dir().to_path_buf())
        .ok_or_else(|| {
            InputError::new("there is no home folder for vswarm's state")
                .help("set VSWARM_HOME to a folder vswarm may write")
                .into()
        })
}

/// The host-only interfaces and DHCP servers vswarm created on this host, whichever cluster
/// they were for (`$VSWARM_HOME/made-networks.json`): what `doctor --fix` may remove once no
/// cluster and no VM uses it. Written under the host-wide networks lock.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct MadeNetworks {
    #[serde(default)]
    pub interfaces: Vec<String>,
    /// DHCP servers by network name (`HostInterfaceNetworking-vboxnet0`).
    #[serde(default)]
    pub dhcp_servers: Vec<String>,
}

impl MadeNetworks {
    fn path(home: &Path) -> PathBuf {
        home.join("made-networks.json")
    }

    /// The list (empty when there is none or it cannot be read: nothing is then removable).
    pub fn read(home: &Path) -> MadeNetworks {
        std::fs::read(Self::path(home))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Changes the list with `change` and writes it.
    pub fn update(home: &Path, change: impl FnOnce(&mut MadeNetworks)) -> Result<()> {
        let mut made = MadeNetworks::read(home);
        change(&mut made);
        made.interfaces.sort();
        made.interfaces.dedup();
        made.dhcp_servers.sort();
        made.dhcp_servers.dedup();
        let json = serde_json::to_vec_pretty(&made)
            .map_err(|e| Error::failed("writing the list of networks vswarm made", e))?;
        write_private(&Self::path(home), &json)
    }
}

/// Creates `dir` (and its parents) readable by its owner only.
pub fn private_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| Error::io("creating a folder", dir, e))
}

/// Writes `contents` to `path` atomically (temporary file beside it, fsync, rename), mode 0600.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    private_dir(dir)?;
    let io = |e| Error::io("writing", path, e);
    // tempfile creates its files 0600; the rename keeps the mode.
    let mut tmp = tempfile::Builder::new()
        .prefix(".vswarm-")
        .tempfile_in(dir)
        .map_err(io)?;
    tmp.write_all(contents).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// The folders and files of one cluster.
#[derive(Debug, Clone)]
pub struct ClusterDir {
    pub home: PathBuf,
    pub name: String,
    pub root: PathBuf,
}

impl ClusterDir {
    pub fn new(home: &Path, cluster: &str) -> ClusterDir {
        ClusterDir {
            home: home.to_path_buf(),
            name: cluster.to_string(),
            root: home.join("clusters").join(cluster),
        }
    }
    pub fn key(&self) -> PathBuf {
        self.root.join("id_ed25519")
    }
    pub fn tls(&self) -> PathBuf {
        self.root.join("tls")
    }
    pub fn client(&self) -> PathBuf {
        self.root.join("tls/client")
    }
    pub fn known_hosts(&self) -> PathBuf {
        self.root.join("known_hosts")
    }
    pub fn machines(&self) -> PathBuf {
        self.root.join("machines")
    }
    pub fn ssh_config(&self) -> PathBuf {
        self.root.join("ssh_config")
    }
    fn record_path(&self) -> PathBuf {
        self.root.join("cluster.json")
    }

    pub fn exists(&self) -> bool {
        self.record_path().exists()
    }

    /// The record, or None when the cluster was never brought up.
    pub fn read_record(&self) -> Result<Option<ClusterRecord>> {
        let path = self.record_path();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("reading the cluster's record", &path, e)),
        };
        ClusterRecord::from_json(&bytes).map(Some).map_err(|e| {
            Error::failed(
                format!("reading the cluster's record {}", path.display()),
                e,
            )
            .with_help("the record is damaged: `vswarm down` removes what the cluster file names")
        })
    }

    pub fn write_record(&self, record: &ClusterRecord) -> Result<()> {
        let json = serde_json::to_vec_pretty(record)
            .map_err(|e| Error::failed("writing the cluster's record", e))?;
        write_private(&self.record_path(), &json)
    }

    /// The cluster's SSH key pair, generated once (ed25519, private key 0600); returns the
    /// public key in OpenSSH's one-line form.
    pub fn ensure_key(&self) -> Result<String> {
        let path = self.key();
        let doing = "preparing the cluster's SSH key";
        if path.exists() {
            let key = ssh_key::PrivateKey::read_openssh_file(&path).map_err(|e| {
                Error::failed(doing, e).with_help(format!(
                    "{} is not a readable OpenSSH key; `vswarm down` removes the cluster and its key",
                    path.display()
                ))
            })?;
            return key
                .public_key()
                .to_openssh()
                .map_err(|e| Error::failed(doing, e));
        }
        private_dir(&self.root)?;
        let key = ssh_key::PrivateKey::random(
            &mut ssh_key::rand_core::OsRng,
            ssh_key::Algorithm::Ed25519,
        )
        .map_err(|e| Error::failed(doing, e))?;
        let text = key
            .to_openssh(ssh_key::LineEnding::LF)
            .map_err(|e| Error::failed(doing, e))?;
        write_private(&path, text.as_bytes())?;
        let public = key
            .public_key()
            .to_openssh()
            .map_err(|e| Error::failed(doing, e))?;
        write_private(
            &path.with_extension("pub"),
            format!("{public}\n").as_bytes(),
        )?;
        Ok(public)
    }

    /// Removes the cluster's folder.
    pub fn remove(&self) -> Result<()> {
        match std::fs::remove_dir_all(&self.root) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("removing the cluster's folder", &self.root, e)),
        }
    }
}

/// The names of the clusters recorded under `home`.
pub fn recorded_clusters(home: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(home.join("clusters")) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("cluster.json").exists())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

/// What vswarm made for a cluster, and where things are.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClusterRecord {
    /// The record's format.
    #[serde(default = "format_version")]
    pub format: u32,
    pub name: String,
    /// A random id, made when the cluster was first brought up.
    #[serde(default)]
    pub id: String,
    /// The cluster file it was brought up from (None: the default cluster).
    #[serde(default)]
    pub file: Option<PathBuf>,
    #[serde(default)]
    pub network: Option<NetworkRecord>,
    /// The ISO the cluster's VMs boot (kept, so later nodes boot the same release).
    #[serde(default)]
    pub iso: Option<IsoRecord>,
    #[serde(default)]
    pub nodes: Vec<NodeRecord>,
    /// The node that leads the swarm.
    #[serde(default)]
    pub leader: Option<String>,
    /// The docker context `up` wrote.
    #[serde(default)]
    pub context: Option<String>,
    /// The stacks `up` deployed.
    #[serde(default)]
    pub stacks: Vec<StackRecord>,
}

fn format_version() -> u32 {
    2
}

/// The cluster's host-only network.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct NetworkRecord {
    /// `vboxnet0`; None while its creation is under way.
    pub interface: Option<String>,
    /// `192.168.56.1/24`.
    pub cidr: String,
    /// vswarm created the interface (so `down` may remove it).
    #[serde(default)]
    pub created_interface: bool,
    /// vswarm created its DHCP server.
    #[serde(default)]
    pub created_dhcp: bool,
    /// Set while `hostonlyif create` runs: the interfaces that existed before. An interface
    /// not among them after an interruption is the one vswarm made.
    #[serde(default)]
    pub creating_since: Option<Vec<String>>,
    /// `interface` is a host-only network (`hostonlynet`, VirtualBox 7 on macOS), not an
    /// adapter.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hostonlynet: bool,
}

/// The boot image.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct IsoRecord {
    /// The cluster file's `iso` when it was resolved (None: the latest release).
    pub source: Option<String>,
    pub path: PathBuf,
}

/// One node.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NodeRecord {
    pub name: String,
    pub role: Role,
    /// The VirtualBox VM.
    #[serde(default)]
    pub vm: String,
    /// The host-only address, once known.
    #[serde(default)]
    pub ip: Option<String>,
    /// The NAT-forwarded SSH port on 127.0.0.1, once known.
    #[serde(default)]
    pub ssh_port: Option<u16>,
    /// vswarm created the VM (set just before `createvm`, so an interruption before the VM is
    /// marked still leaves it known as vswarm's).
    #[serde(default)]
    pub made: bool,
    /// The address the node's boot script pins (written by provisioning): the node comes up
    /// at it whatever its DHCP server hands out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<String>,
}

/// A deployed stack.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StackRecord {
    pub name: String,
    pub file: PathBuf,
}

/// The first CLI's `cluster.json`.
#[derive(Debug, Deserialize)]
struct RecordV1 {
    name: String,
    interface: String,
    network: String,
    nodes: Vec<NodeV1>,
}

#[derive(Debug, Deserialize)]
struct NodeV1 {
    name: String,
    role: Role,
    ip: String,
}

impl ClusterRecord {
    fn from_json(bytes: &[u8]) -> std::result::Result<ClusterRecord, serde_json::Error> {
        match serde_json::from_slice::<ClusterRecord>(bytes) {
            Ok(r) if r.format >= 2 => Ok(r),
            first => match serde_json::from_slice::<RecordV1>(bytes) {
                Ok(v1) => Ok(ClusterRecord {
                    format: format_version(),
                    name: v1.name,
                    network: Some(NetworkRecord {
                        interface: Some(v1.interface),
                        cidr: v1.network,
                        ..NetworkRecord::default()
                    }),
                    nodes: v1
                        .nodes
                        .into_iter()
                        .map(|n| NodeRecord {
                            vm: n.name.clone(),
                            name: n.name,
                            role: n.role,
                            ip: Some(n.ip),
                            ssh_port: None,
                            pinned: None,
                            made: false,
                        })
                        .collect(),
                    ..ClusterRecord::default()
                }),
                Err(_) => first,
            },
        }
    }

    pub fn node(&self, name: &str) -> Option<&NodeRecord> {
        self.nodes.iter().find(|n| n.name == name)
    }

    pub fn node_mut(&mut self, name: &str) -> Option<&mut NodeRecord> {
        self.nodes.iter_mut().find(|n| n.name == name)
    }

    /// The node names, in order.
    pub fn node_names(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.name.clone()).collect()
    }
}

/// A per-cluster lock, held for the time of a command that changes the cluster, so that two
/// `vswarm` processes never race (the second waits, saying who holds it). The lock files live
/// in `$VSWARM_HOME/locks/` and are never deleted: deleting a lock file others wait on would
/// let two holders in.
pub struct ClusterLock {
    _file: File,
}

/// Who holds a lock, as the holder wrote it.
pub fn lock_holder(home: &Path, cluster: &str) -> Option<String> {
    std::fs::read_to_string(lock_path(home, cluster))
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

fn lock_path(home: &Path, cluster: &str) -> PathBuf {
    home.join("locks").join(format!("{cluster}.lock"))
}

impl ClusterLock {
    /// Takes the lock without waiting; `Ok(None)` when another process holds it.
    pub fn try_acquire(home: &Path, cluster: &str, command: &str) -> Result<Option<ClusterLock>> {
        let path = lock_path(home, cluster);
        let file = open_lock(&path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(ClusterLock::holding(file, &path, command)?)),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io("locking the cluster", &path, e)),
        }
    }

    /// Takes the lock, waiting as long as it takes (blocking: run it on a blocking thread).
    pub fn acquire_blocking(home: &Path, cluster: &str, command: &str) -> Result<ClusterLock> {
        let path = lock_path(home, cluster);
        let file = open_lock(&path)?;
        file.lock()
            .map_err(|e| Error::io("locking the cluster", &path, e))?;
        ClusterLock::holding(file, &path, command)
    }

    fn holding(mut file: File, path: &Path, command: &str) -> Result<ClusterLock> {
        let io = |e| Error::io("locking the cluster", path, e);
        file.set_len(0).map_err(io)?;
        writeln!(
            file,
            "`vswarm {command}` (pid {}) holds it",
            std::process::id()
        )
        .map_err(io)?;
        Ok(ClusterLock { _file: file })
    }
}

fn open_lock(path: &Path) -> Result<File> {
    if let Some(dir) = path.parent() {
        private_dir(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(false).write(true).read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .map_err(|e| Error::io("opening the cluster's lock", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_the_first_format_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let c = ClusterDir::new(dir.path(), "seed");
        assert!(c.read_record().unwrap().is_none());
        let r = ClusterRecord {
            format: 2,
            name: "seed".into(),
            nodes: vec![NodeRecord {
                name: "n1".into(),
                role: Role::Manager,
                vm: "n1".into(),
                ip: Some("192.168.56.101".into()),
                ssh_port: Some(40000),
                made: true,
                pinned: None,
            }],
            ..ClusterRecord::default()
        };
        c.write_record(&r).unwrap();
        assert_eq!(c.read_record().unwrap(), Some(r));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&c.root.join("cluster.json")), 0o600);
            assert_eq!(mode(&c.root), 0o700);
        }
        let v1 = r#"{"name":"old","interface":"vboxnet0","network":"192.168.56.1/24","nodes":[{"name":"n1","role":"manager","ip":"192.168.56.101"}]}"#;
        let old = ClusterRecord::from_json(v1.as_bytes()).unwrap();
        assert_eq!(old.nodes[0].vm, "n1");
        assert_eq!(old.network.unwrap().interface.as_deref(), Some("vboxnet0"));
    }

    #[test]
    fn a_second_holder_waits() {
        let dir = tempfile::tempdir().unwrap();
        let held = ClusterLock::try_acquire(dir.path(), "c", "up")
            .unwrap()
            .expect("free");
        // Locks are per open file description: a second open in this process is a second holder.
        assert!(
            ClusterLock::try_acquire(dir.path(), "c", "down")
                .unwrap()
                .is_none()
        );
        assert!(lock_holder(dir.path(), "c").unwrap().contains("vswarm up"));
        drop(held);
        assert!(
            ClusterLock::try_acquire(dir.path(), "c", "down")
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn the_key_pair_is_made_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let c = ClusterDir::new(dir.path(), "k");
        let a = c.ensure_key().unwrap();
        let b = c.ensure_key().unwrap();
        assert_eq!(a, b);
        assert!(a.starts_with("ssh-ed25519 "));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(c.key()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
