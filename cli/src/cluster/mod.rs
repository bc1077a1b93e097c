//! The cluster file: what `vswarm up` builds, read and checked before anything is created.
//!
//! ```yaml
//! name: seed                 # the cluster's name (its state: $VSWARM_HOME/clusters/seed)
//! network:
//!   cidr: 192.168.56.1/24    # optional: picked from VirtualBox's allowed ranges otherwise
//!   interface: vboxnet0      # optional: an interface vswarm may configure though it did not make it
//! defaults: { cpus: 1, memory: 1024, disk: 20000 }   # MB
//! nodes:                     # a list, or counts: { managers: 1, workers: 2 }
//!   - name: node-01
//!     role: manager          # the first node manages when no node has a role
//!     labels: { zone: a }    # swarm node labels (or [zone=a])
//!     availability: active   # active, pause or drain
//!     cpus: 2
//!     ip: 192.168.56.10      # optional: the node's fixed address (else the first it gets, kept)
//!   - name: node-02
//! engine:
//!   labels: [env=dev]
//!   registry_mirrors: [http://192.168.56.1:5000]
//!   insecure_registries: []
//!   storage_driver: overlay2
//!   env: { HTTP_PROXY: http://proxy:3128 }
//! stacks:
//!   - name: web
//!     file: stack.yml        # a compose v3 file, relative to this file
//! iso: https://…/boot2docker.iso   # optional: the latest boot2docker release otherwise
//! iso_sha256: 0123…                # optional: the ISO's SHA-256 (needed for plain http)
//! ```
//!
//! Every value is checked here: names, sizes against VirtualBox's limits, the CIDR's form, the
//! engine options, the roles (at least one manager), and every stack file is read and parsed.
//! Each problem is an [`InputError`] naming `FILE:LINE:COL` and how to fix it. What only
//! VirtualBox can judge (a CIDR outside its allowed ranges) is checked by `up` before it creates
//! anything, at the location [`ClusterSpec::cidr_at`] keeps.
//!
//! The file's model (`raw`), the checks (`check`), the defaults and derived nodes
//! (`defaults`) and places in files (`locate`) each have their module; this one holds what
//! the rest of vswarm uses.

mod check;
mod defaults;
mod locate;
mod raw;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::Spanned;
use swarm_bootstrap::provision::{EngineOptions, valid_hostname};
use swarm_bootstrap::stack::StackSpec;

use self::check::Checker;
pub use self::defaults::{
    DEFAULT_CPUS, DEFAULT_DISK_MB, DEFAULT_MEMORY_MB, MIN_DISK_MB, MIN_MEMORY_MB,
};
pub(crate) use self::locate::compose_error;
use self::locate::{first_line, location};
use self::raw::RawCluster;
use crate::error::{InputError, Location};

/// The name of the cluster `vswarm up` builds when there is no cluster file.
pub const DEFAULT_CLUSTER: &str = "default";
/// The file looked for in the current folder.
pub const DEFAULT_FILE: &str = "vswarm.yml";

/// A node's role in the swarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Manager,
    Worker,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Manager => "manager",
            Role::Worker => "worker",
        })
    }
}

/// A swarm node's availability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Availability {
    Active,
    Pause,
    Drain,
}

impl fmt::Display for Availability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Availability::Active => "active",
            Availability::Pause => "pause",
            Availability::Drain => "drain",
        })
    }
}

/// One node, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeEntry {
    pub name: String,
    pub role: Role,
    pub cpus: u32,
    /// MB.
    pub memory: u32,
    /// MB.
    pub disk: u64,
    pub labels: BTreeMap<String, String>,
    pub availability: Option<Availability>,
    /// `ip`: the address the node is pinned at (checked against the network by `up`).
    pub ip: Option<std::net::Ipv4Addr>,
    /// Where `ip` was written, for the checks only the network can decide.
    pub ip_at: Option<Location>,
}

/// One stack, read and parsed.
#[derive(Debug, Clone)]
pub struct StackEntry {
    pub name: String,
    /// As resolved against the cluster file's folder.
    pub file: PathBuf,
    pub spec: StackSpec,
    /// What `docker stack deploy` would warn about (keys it ignores).
    pub warnings: Vec<String>,
}

/// A cluster file, checked: what `vswarm up` builds.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    pub name: String,
    /// The cluster file (absolute); None for the default cluster.
    pub file: Option<PathBuf>,
    /// `network.cidr`.
    pub cidr: Option<String>,
    /// Where `network.cidr` was written, for errors VirtualBox's rules reveal later.
    pub cidr_at: Option<Location>,
    /// `network.interface`: a host-only interface vswarm may configure though it did not make
    /// it.
    pub interface: Option<String>,
    pub nodes: Vec<NodeEntry>,
    /// The engine options of every node (`provider=virtualbox` is added by `up`).
    pub engine: EngineOptions,
    pub stacks: Vec<StackEntry>,
    /// `iso`: a URL or a path; None for the latest boot2docker release.
    pub iso: Option<String>,
    /// `iso_sha256`: the ISO's SHA-256 in lowercase hex.
    pub iso_sha256: Option<String>,
    /// The file's text, for snippets in later errors.
    pub text: Option<String>,
}

impl ClusterSpec {
    /// Reads and checks the cluster file at `path`, and every stack file it names.
    pub fn load(path: &Path) -> Result<ClusterSpec, InputError> {
        let text = read_cluster_file(
            path,
            "check the path given with -f (or VSWARM_FILE), or run `vswarm up` without a file for the default cluster",
        )?;
        ClusterSpec::from_text(path, &text)
    }

    /// Checks a cluster file's `text`; `path` (as the user gave it) places errors and resolves
    /// stack files.
    pub fn from_text(path: &Path, text: &str) -> Result<ClusterSpec, InputError> {
        let raw: RawCluster = serde_saphyr::from_str(text).map_err(|e| {
            yaml_error(
                path,
                text,
                &e,
                "see \"The cluster file\" in README.md for the keys and their values",
            )
        })?;
        Checker { path, text }.check(raw)
    }

    /// Where the nodes of this cluster are listed, for errors naming the file.
    pub fn describe_source(&self) -> String {
        match &self.file {
            Some(f) => f.display().to_string(),
            None => "the default cluster (no cluster file)".to_string(),
        }
    }
}

/// The cluster's name in the file at `path`, read without checking the rest (commands other
/// than `up` only need to know which cluster the file is about).
pub fn name_in_file(path: &Path) -> Result<String, InputError> {
    #[derive(Deserialize)]
    struct NameOnly {
        name: Spanned<String>,
    }
    let text = read_cluster_file(path, "check the path given with -f (or VSWARM_FILE)")?;
    let raw: NameOnly = serde_saphyr::from_str(&text).map_err(|e| {
        yaml_error(
            path,
            &text,
            &e,
            "the cluster file needs a `name:` at its top level",
        )
    })?;
    if !valid_hostname(&raw.name.value) {
        return Err(InputError::new(format!(
            "the cluster name '{}' is not valid",
            raw.name.value
        ))
        .at(location(path, &raw.name.referenced), Some(&text))
        .help("use letters, digits and '-'"));
    }
    Ok(raw.name.value)
}

/// The cluster file's text, or why it cannot be read and `help`.
fn read_cluster_file(path: &Path, help: &str) -> Result<String, InputError> {
    std::fs::read_to_string(path).map_err(|e| {
        InputError::new(format!(
            "{}: cannot read the cluster file: {e}",
            path.display()
        ))
        .help(help)
    })
}

/// A YAML error of the cluster file, at its place when the parser knows it.
fn yaml_error(path: &Path, text: &str, e: &serde_saphyr::Error, help: &str) -> InputError {
    let err = InputError::new(first_line(&e.to_string())).help(help);
    match e.location() {
        Some(l) => err.at(location(path, &l), Some(text)),
        None => err,
    }
}
