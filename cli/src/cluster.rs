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

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use swarm_bootstrap::compose::{ComposeError, Environment, load_stack};
use swarm_bootstrap::provision::{EngineOptions, OptionField, valid_hostname};
use swarm_bootstrap::stack::StackSpec;

use crate::error::{InputError, Location};

/// The name of the cluster `vswarm up` builds when there is no cluster file.
pub const DEFAULT_CLUSTER: &str = "default";
/// The file looked for in the current folder.
pub const DEFAULT_FILE: &str = "vswarm.yml";

/// VirtualBox's smallest useful guest: boot2docker needs this much memory (MB).
pub const MIN_MEMORY_MB: u32 = 512;
/// The smallest userdata disk vswarm creates (MB). boot2docker's autoformat cuts a 1000 MB swap
/// partition off the disk before its data partition, and fails (leaving the node without its SSH
/// key) on a disk that cannot hold both; the other half is room for Docker's images.
pub const MIN_DISK_MB: u64 = 2000;
/// docker-machine's sizes.
pub const DEFAULT_CPUS: u32 = 1;
pub const DEFAULT_MEMORY_MB: u32 = 1024;
pub const DEFAULT_DISK_MB: u64 = 20_000;

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
    /// The cluster `vswarm up` builds with no file: the seed's three nodes, node-01 managing.
    pub fn default_cluster() -> ClusterSpec {
        let node = |name: &str, role| NodeEntry {
            name: name.to_string(),
            role,
            cpus: DEFAULT_CPUS,
            memory: DEFAULT_MEMORY_MB,
            disk: DEFAULT_DISK_MB,
            labels: BTreeMap::new(),
            availability: None,
            ip: None,
            ip_at: None,
        };
        ClusterSpec {
            name: DEFAULT_CLUSTER.to_string(),
            file: None,
            cidr: None,
            cidr_at: None,
            interface: None,
            nodes: vec![
                node("node-01", Role::Manager),
                node("node-02", Role::Worker),
                node("node-03", Role::Worker),
            ],
            engine: EngineOptions::default(),
            stacks: Vec::new(),
            iso: None,
            iso_sha256: None,
            text: None,
        }
    }

    /// Reads and checks the cluster file at `path`, and every stack file it names.
    pub fn load(path: &Path) -> Result<ClusterSpec, InputError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            InputError::new(format!(
                "{}: cannot read the cluster file: {e}",
                path.display()
            ))
            .help("check the path given with -f (or VSWARM_FILE), or run `vswarm up` without a file for the default cluster")
        })?;
        ClusterSpec::from_text(path, &text)
    }

    /// Checks a cluster file's `text`; `path` (as the user gave it) places errors and resolves
    /// stack files.
    pub fn from_text(path: &Path, text: &str) -> Result<ClusterSpec, InputError> {
        let raw: RawCluster = serde_saphyr::from_str(text).map_err(|e| {
            let at = e.location().map(|l| location(path, &l));
            let message = first_line(&e.to_string());
            let err = InputError::new(message)
                .help("see \"The cluster file\" in README.md for the keys and their values");
            match at {
                Some(at) => err.at(at, Some(text)),
                None => err,
            }
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
    let text = std::fs::read_to_string(path).map_err(|e| {
        InputError::new(format!(
            "{}: cannot read the cluster file: {e}",
            path.display()
        ))
        .help("check the path given with -f (or VSWARM_FILE)")
    })?;
    let raw: NameOnly = serde_saphyr::from_str(&text).map_err(|e| {
        let err = InputError::new(first_line(&e.to_string()))
            .help("the cluster file needs a `name:` at its top level");
        match e.location() {
            Some(l) => err.at(location(path, &l), Some(&text)),
            None => err,
        }
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

/// The parser's message without its own "error: line L column C:" prefix (we print the place).
fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or("").trim();
    let line = line.strip_prefix("error: ").unwrap_or(line);
    match line
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
    {
        Some((_, message)) => message.to_string(),
        None => line.to_string(),
    }
}

fn location(path: &Path, l: &serde_saphyr::Location) -> Location {
    let span = l.span();
    Location {
        file: path.to_path_buf(),
        line: l.line(),
        column: l.column(),
        span: span
            .byte_offset()
            .map(|o| (o as usize, span.byte_len().unwrap_or(0) as usize)),
    }
}

// ------------------------------------------------------------------------------------------------
// The file as written
// ------------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCluster {
    name: Spanned<String>,
    #[serde(default)]
    network: RawNetwork,
    #[serde(default)]
    defaults: RawSizes,
    nodes: Spanned<RawNodes>,
    #[serde(default)]
    engine: RawEngine,
    #[serde(default)]
    stacks: Vec<RawStack>,
    #[serde(default)]
    iso: Option<Spanned<String>>,
    /// The ISO's SHA-256, checked instead of a published one (and making plain HTTP fine).
    #[serde(default)]
    iso_sha256: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    cidr: Option<Spanned<String>>,
    /// A host-only interface the user lets vswarm configure (it did not make it).
    interface: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSizes {
    cpus: Option<Spanned<u32>>,
    memory: Option<Spanned<u32>>,
    disk: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNode {
    name: Spanned<String>,
    role: Option<Spanned<Role>>,
    cpus: Option<Spanned<u32>>,
    memory: Option<Spanned<u32>>,
    disk: Option<Spanned<u64>>,
    labels: Option<Spanned<RawLabels>>,
    availability: Option<Spanned<Availability>>,
    ip: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCounts {
    managers: Spanned<u32>,
    #[serde(default)]
    workers: Option<Spanned<u32>>,
}

/// `nodes:` is a list of nodes or the counts shorthand.
#[derive(Debug)]
enum RawNodes {
    List(Vec<RawNode>),
    Counts(RawCounts),
}

impl<'de> Deserialize<'de> for RawNodes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RawNodes, D::Error> {
        struct NodesVisitor;
        impl<'de> Visitor<'de> for NodesVisitor {
            type Value = RawNodes;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of nodes, or counts such as { managers: 1, workers: 2 }")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawNodes, A::Error> {
                let mut nodes = Vec::new();
                while let Some(n) = seq.next_element::<RawNode>()? {
                    nodes.push(n);
                }
                Ok(RawNodes::List(nodes))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawNodes, A::Error> {
                RawCounts::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawNodes::Counts)
            }
        }
        d.deserialize_any(NodesVisitor)
    }
}

/// Labels as `[key=value, ...]` or `{ key: value, ... }`.
#[derive(Debug)]
enum RawLabels {
    List(Vec<Spanned<String>>),
    Map(Vec<(String, String)>),
}

impl<'de> Deserialize<'de> for RawLabels {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RawLabels, D::Error> {
        struct LabelsVisitor;
        impl<'de> Visitor<'de> for LabelsVisitor {
            type Value = RawLabels;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("labels as a list of key=value, or a mapping of keys to values")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawLabels, A::Error> {
                let mut out = Vec::new();
                while let Some(l) = seq.next_element::<Spanned<String>>()? {
                    out.push(l);
                }
                Ok(RawLabels::List(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawLabels, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Scalar>()? {
                    out.push((k, v.0));
                }
                Ok(RawLabels::Map(out))
            }
        }
        d.deserialize_any(LabelsVisitor)
    }
}

/// A scalar of any type, as text (`zone: 1` is the label value "1").
#[derive(Debug)]
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        struct ScalarVisitor;
        impl Visitor<'_> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(ScalarVisitor)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEngine {
    #[serde(default)]
    labels: Vec<Spanned<String>>,
    #[serde(default)]
    registry_mirrors: Vec<Spanned<String>>,
    #[serde(default)]
    insecure_registries: Vec<Spanned<String>>,
    #[serde(default)]
    storage_driver: Option<Spanned<String>>,
    #[serde(default)]
    env: Option<Spanned<RawEnv>>,
}

/// `env:` as a mapping of names to values.
#[derive(Debug)]
struct RawEnv(Vec<(String, String)>);

impl<'de> Deserialize<'de> for RawEnv {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RawEnv, D::Error> {
        struct EnvVisitor;
        impl<'de> Visitor<'de> for EnvVisitor {
            type Value = RawEnv;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of variable names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEnv, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Scalar>()? {
                    out.push((k, v.0));
                }
                Ok(RawEnv(out))
            }
        }
        d.deserialize_map(EnvVisitor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStack {
    name: Spanned<String>,
    file: Spanned<String>,
}

// ------------------------------------------------------------------------------------------------
// Checks
// ------------------------------------------------------------------------------------------------

struct Checker<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Checker<'_> {
    fn at<T>(&self, s: &Spanned<T>) -> Location {
        location(self.path, &s.referenced)
    }

    fn error<T>(&self, s: &Spanned<T>, message: impl Into<String>, help: &str) -> InputError {
        InputError::new(message)
            .at(self.at(s), Some(self.text))
            .help(help)
    }

    fn check(&self, raw: RawCluster) -> Result<ClusterSpec, InputError> {
        let name = &raw.name;
        if !valid_hostname(&name.value) {
            return Err(self.error(
                name,
                format!("the cluster name '{}' is not valid", name.value),
                "use letters, digits and '-' (at most 63, not starting or ending with '-'): it names folders, VMs and the docker context",
            ));
        }
        if let Some(cidr) = &raw.network.cidr
            && let Err(e) = vbox_driver::hostonly::parse_host_cidr(&cidr.value)
        {
            return Err(self.error(
                cidr,
                e.to_string(),
                "write the host's address on the network and its prefix, such as 192.168.56.1/24",
            ));
        }
        let host_cpus = std::thread::available_parallelism()
            .map(|n| n.get() as u32)
            .unwrap_or(1);
        let sizes = Sizes {
            cpus: self.cpus(raw.defaults.cpus.as_ref(), DEFAULT_CPUS, host_cpus)?,
            memory: self.memory(raw.defaults.memory.as_ref(), DEFAULT_MEMORY_MB)?,
            disk: self.disk(raw.defaults.disk.as_ref(), DEFAULT_DISK_MB)?,
        };
        let nodes = match &raw.nodes.value {
            RawNodes::List(list) => {
                let cidr = raw
                    .network
                    .cidr
                    .as_ref()
                    .and_then(|c| vbox_driver::hostonly::parse_host_cidr(&c.value).ok());
                self.node_list(&raw.nodes, list, sizes, host_cpus, cidr)?
            }
            RawNodes::Counts(counts) => self.node_counts(&name.value, counts, sizes)?,
        };
        let engine = self.engine(&raw.engine)?;
        let base = self.path.parent().unwrap_or(Path::new("."));
        let mut stacks: Vec<StackEntry> = Vec::new();
        for s in &raw.stacks {
            if stacks.iter().any(|o| o.name == s.name.value) {
                return Err(self.error(
                    &s.name,
                    format!("the stack name '{}' is used twice", s.name.value),
                    "give each stack its own name",
                ));
            }
            let shown = base.join(&s.file.value);
            let file = std::path::absolute(&shown).unwrap_or_else(|_| shown.clone());
            let loaded = load_stack(
                std::slice::from_ref(&shown),
                &s.name.value,
                &Environment::from_process(),
            )
            .map_err(|e| match e {
                ComposeError::Read { path, source } => self.error(
                    &s.file,
                    format!("cannot read the stack file {}: {source}", path.display()),
                    "the path is relative to the cluster file's folder; check it exists and can be read",
                ),
                ComposeError::InvalidStackName { name, reason } => self.error(
                    &s.name,
                    format!("invalid stack name '{name}': {reason}"),
                    "use letters, digits, '-' and '_'",
                ),
                other => compose_error(other),
            })?;
            stacks.push(StackEntry {
                name: s.name.value.clone(),
                file,
                spec: loaded.spec,
                warnings: loaded.warnings,
            });
        }
        if let Some(iso) = &raw.iso
            && let Err(e) = images::ImageSource::parse(&iso.value)
        {
            return Err(self.error(
                iso,
                format!("the iso '{}' is not usable: {e}", iso.value),
                "give an http(s) URL of a boot2docker ISO or the path of one, or leave `iso` out for the latest release",
            ));
        }
        if let Some(sha) = &raw.iso_sha256
            && !(sha.value.len() == 64 && sha.value.chars().all(|c| c.is_ascii_hexdigit()))
        {
            return Err(self.error(
                sha,
                format!("iso_sha256 '{}' is not a SHA-256", sha.value),
                "write the ISO's SHA-256 as 64 hexadecimal characters (`sha256sum boot2docker.iso`)",
            ));
        }
        Ok(ClusterSpec {
            name: name.value.clone(),
            file: Some(std::path::absolute(self.path).unwrap_or_else(|_| self.path.to_path_buf())),
            cidr: raw
                .network
                .cidr
                .as_ref()
                .map(|c| c.value.trim().to_string()),
            cidr_at: raw.network.cidr.as_ref().map(|c| self.at(c)),
            interface: raw.network.interface.as_ref().map(|i| i.value.clone()),
            nodes,
            engine,
            stacks,
            iso: raw.iso.as_ref().map(|i| i.value.clone()),
            iso_sha256: raw
                .iso_sha256
                .as_ref()
                .map(|s| s.value.to_ascii_lowercase()),
            text: Some(self.text.to_string()),
        })
    }

    /// A size within `range`, or `default` when not given; `why` and `help` word the refusal.
    fn size<T: Copy + PartialOrd + fmt::Display>(
        &self,
        v: Option<&Spanned<T>>,
        default: T,
        range: std::ops::RangeInclusive<T>,
        why: impl Fn(T) -> String,
        help: &str,
    ) -> Result<T, InputError> {
        match v {
            None => Ok(default),
            Some(v) if range.contains(&v.value) => Ok(v.value),
            Some(v) => Err(self.error(v, why(v.value), help)),
        }
    }

    fn cpus(&self, v: Option<&Spanned<u32>>, default: u32, host: u32) -> Result<u32, InputError> {
        self.size(
            v,
            default,
            1..=host,
            |n| format!("cpus: {n} is out of range: a VM here can have 1 to {host} CPUs (the host's count)"),
            "set cpus between 1 and the number of the host's CPUs",
        )
    }

    fn memory(&self, v: Option<&Spanned<u32>>, default: u32) -> Result<u32, InputError> {
        self.size(
            v,
            default,
            MIN_MEMORY_MB..=u32::MAX,
            |n| {
                format!(
                    "memory: {n} MB is too little: boot2docker needs at least {MIN_MEMORY_MB} MB"
                )
            },
            "memory is in MB: set it to 512 or more (1024 is docker-machine's default)",
        )
    }

    fn disk(&self, v: Option<&Spanned<u64>>, default: u64) -> Result<u64, InputError> {
        self.size(
            v,
            default,
            MIN_DISK_MB..=u64::MAX,
            |n| format!("disk: {n} MB is too small: boot2docker keeps 1000 MB of a node's disk as swap, so it needs at least {MIN_DISK_MB} MB"),
            "disk is in MB: set it to 2000 or more (20000 is docker-machine's default)",
        )
    }

    fn node_list(
        &self,
        nodes: &Spanned<RawNodes>,
        list: &[RawNode],
        sizes: Sizes,
        host_cpus: u32,
        cidr: Option<ipnet::Ipv4Net>,
    ) -> Result<Vec<NodeEntry>, InputError> {
        if list.is_empty() {
            return Err(self.error(
                nodes,
                "the cluster has no nodes",
                "add at least one node under `nodes:`, or write `nodes: { managers: 1, workers: 2 }`",
            ));
        }
        let any_role = list.iter().any(|n| n.role.is_some());
        let mut out: Vec<NodeEntry> = Vec::new();
        for (i, n) in list.iter().enumerate() {
            if !valid_hostname(&n.name.value) {
                return Err(self.error(
                    &n.name,
                    format!("the node name '{}' is not a valid hostname", n.name.value),
                    "use letters, digits and '-' (at most 63, not starting or ending with '-'): it becomes the node's hostname",
                ));
            }
            if out.iter().any(|o| o.name == n.name.value) {
                return Err(self.error(
                    &n.name,
                    format!("the node name '{}' is used twice", n.name.value),
                    "give each node its own name",
                ));
            }
            let role = match &n.role {
                Some(r) => r.value,
                None if !any_role && i == 0 => Role::Manager,
                None => Role::Worker,
            };
            let labels = match &n.labels {
                Some(l) => self.labels(l)?,
                None => BTreeMap::new(),
            };
            let ip = match &n.ip {
                Some(ip) => Some(self.node_ip(ip, &out, cidr)?),
                None => None,
            };
            out.push(NodeEntry {
                name: n.name.value.clone(),
                role,
                cpus: self.cpus(n.cpus.as_ref(), sizes.cpus, host_cpus)?,
                memory: self.memory(n.memory.as_ref(), sizes.memory)?,
                disk: self.disk(n.disk.as_ref(), sizes.disk)?,
                labels,
                availability: n.availability.as_ref().map(|a| a.value),
                ip,
                ip_at: n.ip.as_ref().map(|ip| self.at(ip)),
            });
        }
        if !out.iter().any(|n| n.role == Role::Manager) {
            return Err(self.error(
                nodes,
                "the cluster has no manager: every node is a worker",
                "give one node `role: manager` (or three, for a swarm that survives losing one)",
            ));
        }
        Ok(out)
    }

    /// A node's `ip`: an IPv4 address no other node has and, when the network is written, a
    /// guest's address on it. The DHCP pool is checked by `up`, which knows the server's.
    fn node_ip(
        &self,
        ip: &Spanned<String>,
        before: &[NodeEntry],
        cidr: Option<ipnet::Ipv4Net>,
    ) -> Result<std::net::Ipv4Addr, InputError> {
        let addr: std::net::Ipv4Addr = ip.value.trim().parse().map_err(|_| {
            self.error(
                ip,
                format!("ip '{}' is not an IPv4 address", ip.value),
                "write the node's address as four numbers, such as 192.168.56.10",
            )
        })?;
        if let Some(other) = before.iter().find(|n| n.ip == Some(addr)) {
            return Err(self.error(
                ip,
                format!("ip {addr} is already node '{}''s", other.name),
                "give each node its own address",
            ));
        }
        if let Some(net) = cidr {
            let why = if !net.trunc().contains(&addr) {
                Some(format!(
                    "ip {addr} is not on the cluster's network {}",
                    net.trunc()
                ))
            } else if addr == net.network() || addr == net.broadcast() {
                Some(format!(
                    "ip {addr} is the network's own (network or broadcast) address"
                ))
            } else if addr == net.addr() {
                Some(format!("ip {addr} is the host's address on the network"))
            } else {
                None
            };
            if let Some(why) = why {
                let first = u32::from(net.network()) + 3;
                return Err(self.error(
                    ip,
                    why,
                    &format!(
                        "pick an address of {} other than the host's and the DHCP server's, outside the DHCP pool (.100 and up on a /24), such as {}",
                        net.trunc(),
                        std::net::Ipv4Addr::from(first)
                    ),
                ));
            }
        }
        Ok(addr)
    }

    fn node_counts(
        &self,
        cluster: &str,
        counts: &RawCounts,
        sizes: Sizes,
    ) -> Result<Vec<NodeEntry>, InputError> {
        let managers = counts.managers.value;
        let workers = counts.workers.as_ref().map(|w| w.value).unwrap_or(0);
        if managers == 0 {
            return Err(self.error(
                &counts.managers,
                "managers: 0 leaves the swarm without a manager",
                "a swarm needs at least one manager: set managers to 1 (or 3)",
            ));
        }
        const MOST: u32 = 64;
        if managers + workers > MOST {
            return Err(self.error(
                &counts.managers,
                format!(
                    "{} nodes are more than vswarm creates on one host ({MOST})",
                    managers + workers
                ),
                "lower the counts",
            ));
        }
        let node = |name: String, role| NodeEntry {
            name,
            role,
            cpus: sizes.cpus,
            memory: sizes.memory,
            disk: sizes.disk,
            labels: BTreeMap::new(),
            availability: None,
            ip: None,
            ip_at: None,
        };
        let mut out: Vec<NodeEntry> = (1..=managers)
            .map(|i| node(format!("{cluster}-manager-{i}"), Role::Manager))
            .collect();
        out.extend((1..=workers).map(|i| node(format!("{cluster}-worker-{i}"), Role::Worker)));
        if let Some(long) = out.iter().find(|n| !valid_hostname(&n.name)) {
            return Err(self.error(
                &counts.managers,
                format!(
                    "the node name '{}' made from the cluster's name is longer than a hostname may be",
                    long.name
                ),
                "shorten the cluster's name, or list the nodes by name",
            ));
        }
        Ok(out)
    }

    fn labels(&self, l: &Spanned<RawLabels>) -> Result<BTreeMap<String, String>, InputError> {
        let mut out = BTreeMap::new();
        match &l.value {
            RawLabels::List(list) => {
                for item in list {
                    let Some((k, v)) = item.value.split_once('=').filter(|(k, _)| !k.is_empty())
                    else {
                        return Err(self.error(
                            item,
                            format!("the label '{}' is not key=value", item.value),
                            "write labels as key=value, or as a mapping (zone: a)",
                        ));
                    };
                    out.insert(k.to_string(), v.to_string());
                }
            }
            RawLabels::Map(map) => {
                for (k, v) in map {
                    if k.is_empty() || k.contains(char::is_whitespace) {
                        return Err(self.error(
                            l,
                            format!("the label key '{k}' is empty or has blanks"),
                            "label keys are words such as zone or com.example.tier",
                        ));
                    }
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        Ok(out)
    }

    fn engine(&self, e: &RawEngine) -> Result<EngineOptions, InputError> {
        let options = EngineOptions {
            labels: e.labels.iter().map(|l| l.value.clone()).collect(),
            registry_mirrors: e.registry_mirrors.iter().map(|m| m.value.clone()).collect(),
            insecure_registries: e
                .insecure_registries
                .iter()
                .map(|r| r.value.clone())
                .collect(),
            storage_driver: e
                .storage_driver
                .as_ref()
                .map(|s| s.value.clone())
                .unwrap_or_default(),
            env: e
                .env
                .as_ref()
                .map(|env| env.value.0.clone())
                .unwrap_or_default(),
        };
        if let Err(problem) = options.validate() {
            let message = format!("{problem}");
            let help = "engine values go into the daemon's configuration: no blanks, quotes, '$', '`' or '\\'";
            let err = match problem.field {
                OptionField::Label(i) => self.error(&e.labels[i], message, help),
                OptionField::RegistryMirror(i) => self.error(&e.registry_mirrors[i], message, help),
                OptionField::InsecureRegistry(i) => {
                    self.error(&e.insecure_registries[i], message, help)
                }
                OptionField::StorageDriver => match &e.storage_driver {
                    Some(s) => self.error(s, message, help),
                    None => InputError::new(message),
                },
                OptionField::Env(_) | OptionField::NodeName | OptionField::PublicKey => {
                    match &e.env {
                        Some(env) => self.error(env, message, help),
                        None => InputError::new(message),
                    }
                }
            };
            return Err(err);
        }
        Ok(options)
    }
}

#[derive(Debug, Clone, Copy)]
struct Sizes {
    cpus: u32,
    memory: u32,
    disk: u64,
}

/// A compose file's own error (it names its file, line and column).
pub(crate) fn compose_error(e: ComposeError) -> InputError {
    let (at, message) = match &e {
        ComposeError::Yaml { at, message } => (Some(at.clone()), message.clone()),
        ComposeError::Invalid { at, problem } => (Some(at.clone()), problem.to_string()),
        _ => (None, e.to_string()),
    };
    let text = at
        .as_ref()
        .and_then(|at| std::fs::read_to_string(&at.file).ok());
    match at.filter(|a| a.line > 0) {
        Some(at) => {
            let loc = Location {
                file: PathBuf::from(&at.file),
                line: at.line,
                column: at.column,
                span: text
                    .as_deref()
                    .and_then(|t| offset_of(t, at.line, at.column)),
            };
            InputError::new(message)
                .at(loc, text.as_deref())
                .help("fix the stack file: vswarm reads it as `docker stack deploy -c FILE` does")
        }
        None => InputError::new(e.to_string()),
    }
}

/// The byte offset of a 1-based line and character column, with the length of the word there.
fn offset_of(text: &str, line: u64, column: u64) -> Option<(usize, usize)> {
    let start = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1) as usize)
        .map(str::len)
        .sum::<usize>();
    let rest = text.get(start..)?;
    let col: usize = rest
        .chars()
        .take(column.saturating_sub(1) as usize)
        .map(char::len_utf8)
        .sum();
    let word = rest[col..]
        .find(|c: char| c.is_whitespace())
        .unwrap_or(rest.len() - col);
    Some((start + col, word))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<ClusterSpec, InputError> {
        ClusterSpec::from_text(Path::new("/nonexistent/vswarm.yml"), text)
    }

    fn place(text: &str) -> String {
        let e = check(text).unwrap_err();
        let at = e.at.as_ref().expect("a location");
        format!("{}:{}", at.line, at.column)
    }

    #[test]
    fn a_plain_file_gets_defaults_and_the_first_node_manages() {
        let c = check("name: seed\nnodes:\n  - name: node-01\n  - name: node-02\n").unwrap();
        assert_eq!(c.name, "seed");
        assert_eq!(c.nodes[0].role, Role::Manager);
        assert_eq!(c.nodes[1].role, Role::Worker);
        assert_eq!(
            (c.nodes[1].cpus, c.nodes[1].memory, c.nodes[1].disk),
            (1, 1024, 20_000)
        );
    }

    #[test]
    fn counts_name_the_nodes_after_the_cluster() {
        let c =
            check("name: lab\nnodes: { managers: 1, workers: 2 }\ndefaults: { memory: 2048 }\n")
                .unwrap();
        let names: Vec<&str> = c.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["lab-manager-1", "lab-worker-1", "lab-worker-2"]);
        assert_eq!(c.nodes[2].memory, 2048);
        assert_eq!(c.nodes[0].role, Role::Manager);
    }

    #[test]
    fn labels_availability_and_engine_options_are_read() {
        let c = check(
            "name: a\nnodes:\n  - name: n1\n    labels: { zone: 1, disk: ssd }\n    availability: drain\n  - name: n2\n    labels: [tier=db]\nengine:\n  env: { HTTP_PROXY: 'http://p:3128' }\n  storage_driver: overlay2\n",
        )
        .unwrap();
        assert_eq!(c.nodes[0].labels.get("zone").map(String::as_str), Some("1"));
        assert_eq!(c.nodes[0].availability, Some(Availability::Drain));
        assert_eq!(
            c.nodes[1].labels.get("tier").map(String::as_str),
            Some("db")
        );
        assert_eq!(
            c.engine.env,
            vec![("HTTP_PROXY".to_string(), "http://p:3128".to_string())]
        );
    }

    #[test]
    fn each_problem_names_its_line_and_column() {
        assert_eq!(
            place("name: a\nnodes:\n  - name: n1\n    colour: blue\n"),
            "4:5"
        );
        assert_eq!(
            place("name: a\nnodes:\n  - name: n1\n    cpus: 0\n"),
            "4:11"
        );
        assert_eq!(
            place("name: a\nnodes:\n  - name: n1\n    memory: 64\n"),
            "4:13"
        );
        assert_eq!(
            place("name: a\nnodes:\n  - name: n1\n    disk: 10\n"),
            "4:11"
        );
        assert_eq!(place("name: a\nnodes:\n  - name: n_1\n"), "3:11");
        assert_eq!(place("name: bad_name\nnodes: [ { name: n1 } ]\n"), "1:7");
        assert_eq!(
            place("name: a\nnetwork: { cidr: 192.168.56.0/24 }\nnodes: [ { name: n1 } ]\n"),
            "2:18"
        );
        assert_eq!(
            place("name: a\nnodes:\n  - { name: n1, role: worker }\n"),
            "3:3"
        );
        assert_eq!(place("name: a\nnodes: { managers: 0 }\n"), "2:20");
        assert_eq!(
            place("name: a\nnodes: [ { name: n1 }, { name: n1 } ]\n"),
            "2:32"
        );
        assert_eq!(
            place("name: a\nnodes: [ { name: n1, labels: [nokey] } ]\n"),
            "2:31"
        );
        assert_eq!(
            place("name: a\nnodes: [ { name: n1, availability: sometimes } ]\n"),
            "2:36"
        );
        // Fixed addresses: an address, each node's own, on the network when it is written.
        assert_eq!(
            place("name: a\nnodes: [ { name: n1, ip: 1.2.3 } ]\n"),
            "2:26"
        );
        assert_eq!(
            place("name: a\nnodes: [ { name: n1, ip: 10.1.1.5 }, { name: n2, ip: 10.1.1.5 } ]\n"),
            "2:54"
        );
        assert_eq!(
            place(
                "name: a\nnetwork: { cidr: 192.168.56.1/24 }\nnodes: [ { name: n1, ip: 192.168.57.5 } ]\n"
            ),
            "3:26"
        );
        assert_eq!(
            place(
                "name: a\nnetwork: { cidr: 192.168.56.1/24 }\nnodes: [ { name: n1, ip: 192.168.56.1 } ]\n"
            ),
            "3:26"
        );
        let c = check("name: a\nnodes: [ { name: n1, ip: 192.168.56.10 } ]\n").unwrap();
        assert_eq!(c.nodes[0].ip, Some("192.168.56.10".parse().unwrap()));
        assert_eq!(
            place(
                "name: a\nnodes: [ { name: n1 } ]\nengine: { registry_mirrors: [192.168.56.1:5000] }\n"
            ),
            "3:30"
        );
        assert_eq!(
            place(
                "name: a\nnodes: [ { name: n1 } ]\nstacks: [ { name: web, file: missing.yml } ]\n"
            ),
            "3:30"
        );
        assert_eq!(place("name: a\nnodes: [ { name: n1 }\n"), "2:8");
        let e = check("name: a\nnodes:\n  - name: n1\n    cpus: 100000\n").unwrap_err();
        assert!(e.message.contains("out of range"), "{}", e.message);
    }

    #[test]
    fn errors_render_with_the_file_and_a_way_to_fix_them() {
        let e = check("name: a\nnodes:\n  - name: n1\n    cpus: 0\n").unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("/nonexistent/vswarm.yml:4:11: cpus: 0 is out of range"),
            "{text}"
        );
        assert!(e.help.is_some());
    }

    #[test]
    fn the_default_cluster_is_the_seeds() {
        let c = ClusterSpec::default_cluster();
        let names: Vec<&str> = c.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["node-01", "node-02", "node-03"]);
        assert_eq!(c.nodes[0].role, Role::Manager);
        assert_eq!(c.name, DEFAULT_CLUSTER);
    }

    #[test]
    fn offsets_follow_lines_and_characters() {
        let text = "ab\ncdé fg\n";
        assert_eq!(offset_of(text, 2, 5), Some((8, 2)));
        assert_eq!(offset_of(text, 1, 1), Some((0, 2)));
    }
}
