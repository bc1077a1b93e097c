//! What `up` hands back: the cluster as it now is (nodes, stacks and their ports, the docker
//! context), rendered as text or JSON by the binary.
//!
//! Kept apart from the phases that fill it so its shape, which `--format json` users read, is
//! seen in one place.

use serde::Serialize;

use super::machines::ReadyNode;
use crate::cluster::{ClusterSpec, Role};
use crate::ops::Session;
use crate::state::ClusterRecord;

/// What `up` brought up.
#[derive(Debug, Clone, Serialize)]
pub struct UpReport {
    pub cluster: String,
    pub seconds: f64,
    pub leader: String,
    /// The docker context written for the cluster.
    pub context: Option<String>,
    pub network: String,
    pub interface: String,
    pub nodes: Vec<NodeReport>,
    pub stacks: Vec<StackReport>,
    /// Nodes in the record that the cluster file no longer lists.
    pub orphans: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeReport {
    pub name: String,
    pub role: Role,
    pub state: &'static str,
    pub ip: String,
    pub docker_host: String,
    pub ssh_port: u16,
    /// The VM was created by this run.
    pub created: bool,
    /// What provisioning changed (`certificates`, `docker restarted`, ...).
    pub changed: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StackReport {
    pub name: String,
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    pub ports: Vec<PortReport>,
}

/// A published port and where it answers.
#[derive(Debug, Clone, Serialize)]
pub struct PortReport {
    pub service: String,
    pub port: u16,
    pub protocol: String,
    /// `ingress` or `host`.
    pub mode: &'static str,
    /// `http://IP:PORT/` on each node that answered HTTP.
    pub urls: Vec<String>,
    /// Nodes probed, and how many answered.
    pub probed: usize,
    pub answered: usize,
}

impl From<&ReadyNode> for NodeReport {
    fn from(n: &ReadyNode) -> NodeReport {
        NodeReport {
            name: n.name.clone(),
            role: n.role,
            state: "running",
            ip: n.ip.to_string(),
            docker_host: format!("tcp://{}:2376", n.ip),
            ssh_port: n.ssh_port,
            created: n.created,
            changed: n.changed.clone(),
        }
    }
}

/// The nodes the record has and the cluster file no longer lists, each with a warning saying
/// how to remove it.
pub(super) fn orphans(
    session: &Session<'_>,
    spec: &ClusterSpec,
    record: &ClusterRecord,
) -> Vec<String> {
    let orphans: Vec<String> = record
        .nodes
        .iter()
        .filter(|n| !spec.nodes.iter().any(|s| s.name == n.name))
        .map(|n| n.name.clone())
        .collect();
    for o in &orphans {
        session.warn(format!(
            "{o} is no longer in the cluster file but still exists: `vswarm rm {o}` removes it"
        ));
    }
    orphans
}
