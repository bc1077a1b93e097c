//! The cluster file: what `vswarm up` builds.
//!
//! ```yaml
//! name: seed                 # the cluster's name (state lives under $VSWARM_HOME/clusters/seed)
//! network:
//!   cidr: 192.168.56.1/24    # optional: picked from VirtualBox's allowed ranges otherwise
//! defaults: { cpus: 1, memory: 1024, disk: 20000 }
//! nodes:
//!   - name: node-01
//!     role: manager          # the first node is the manager when no role is given
//!   - name: node-02
//!   - name: node-03
//! engine:
//!   labels: [env=dev]
//!   registry_mirrors: [http://192.168.56.1:5000]
//!   insecure_registries: []
//! stacks:
//!   - name: web
//!     file: stack.yml        # a compose v3 file, relative to this file
//! iso: https://…/boot2docker.iso   # optional: the latest boot2docker release otherwise
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterFile {
    pub name: String,
    #[serde(default)]
    pub network: NetworkSection,
    #[serde(default)]
    pub defaults: NodeSize,
    pub nodes: Vec<NodeEntry>,
    #[serde(default)]
    pub engine: EngineSection,
    #[serde(default)]
    pub stacks: Vec<StackEntry>,
    #[serde(default)]
    pub iso: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSection {
    pub cidr: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSize {
    #[serde(default = "one")]
    pub cpus: u32,
    /// MB.
    #[serde(default = "memory")]
    pub memory: u32,
    /// MB.
    #[serde(default = "disk")]
    pub disk: u64,
}

fn one() -> u32 {
    1
}
fn memory() -> u32 {
    1024
}
fn disk() -> u64 {
    20_000
}

impl Default for NodeSize {
    fn default() -> NodeSize {
        NodeSize {
            cpus: one(),
            memory: memory(),
            disk: disk(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    Manager,
    Worker,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeEntry {
    pub name: String,
    pub role: Option<RoleName>,
    pub cpus: Option<u32>,
    pub memory: Option<u32>,
    pub disk: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSection {
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub registry_mirrors: Vec<String>,
    #[serde(default)]
    pub insecure_registries: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackEntry {
    pub name: String,
    pub file: PathBuf,
}

/// A problem with the cluster file, with where it is and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ClusterFileError {
    #[error("{path}: cannot read the cluster file: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: String,
        line: u64,
        column: u64,
        message: String,
    },
    #[error("{path}: {message}")]
    Check { path: String, message: String },
}

impl ClusterFile {
    /// Reads and checks a cluster file.
    pub fn load(path: &Path) -> Result<ClusterFile, ClusterFileError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ClusterFileError::Read {
            path: shown.clone(),
            source,
        })?;
        let file: ClusterFile = serde_saphyr::from_str(&text).map_err(|e| {
            let (line, column) = e
                .location()
                .map(|l| (l.line(), l.column()))
                .unwrap_or((0, 0));
            ClusterFileError::Invalid {
                path: shown.clone(),
                line,
                column,
                message: first_line(&e.to_string()),
            }
        })?;
        file.check(&shown)?;
        Ok(file)
    }

    fn check(&self, path: &str) -> Result<(), ClusterFileError> {
        let bad = |message: String| {
            Err(ClusterFileError::Check {
                path: path.to_string(),
                message,
            })
        };
        if !valid_name(&self.name) {
            return bad(format!(
                "the cluster name '{}' must be letters, digits and '-' (it names folders and VMs)",
                self.name
            ));
        }
        if self.nodes.is_empty() {
            return bad("the cluster has no nodes: add at least one under `nodes:`".into());
        }
        let mut seen = std::collections::HashSet::new();
        for n in &self.nodes {
            if !valid_name(&n.name) {
                return bad(format!(
                    "the node name '{}' must be a hostname: letters, digits and '-'",
                    n.name
                ));
            }
            if !seen.insert(n.name.as_str()) {
                return bad(format!("the node name '{}' is used twice", n.name));
            }
        }
        Ok(())
    }

    /// Node names with their roles: the first node manages when no role is given anywhere.
    pub fn roles(&self) -> Vec<(String, RoleName)> {
        let any_manager = self.nodes.iter().any(|n| n.role == Some(RoleName::Manager));
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let role = n.role.unwrap_or(if !any_manager && i == 0 {
                    RoleName::Manager
                } else {
                    RoleName::Worker
                });
                (n.name.clone(), role)
            })
            .collect()
    }
}

/// The parser's message without its own "error: line L column C:" prefix (we print the position).
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

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}
