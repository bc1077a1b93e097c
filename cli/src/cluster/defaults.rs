//! Sizes and the nodes vswarm derives when the file leaves them out: docker-machine's sizes
//! and VirtualBox's limits, the counts shorthand (`nodes: { managers: 1, workers: 2 }`), and
//! the default cluster (no file at all).
//!
//! Kept together so that every default a cluster can get is read in one place.

use std::collections::BTreeMap;
use std::fmt;

use serde_saphyr::Spanned;
use swarm_bootstrap::provision::{EngineOptions, valid_hostname};

use super::check::Checker;
use super::raw::RawCounts;
use super::{ClusterSpec, DEFAULT_CLUSTER, NodeEntry, Role};
use crate::error::InputError;

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
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Sizes {
    pub(super) cpus: u32,
    pub(super) memory: u32,
    pub(super) disk: u64,
}

impl Checker<'_> {
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

    pub(super) fn cpus(
        &self,
        v: Option<&Spanned<u32>>,
        default: u32,
        host: u32,
    ) -> Result<u32, InputError> {
        self.size(
            v,
            default,
            1..=host,
            |n| format!("cpus: {n} is out of range: a VM here can have 1 to {host} CPUs (the host's count)"),
            "set cpus between 1 and the number of the host's CPUs",
        )
    }

    pub(super) fn memory(&self, v: Option<&Spanned<u32>>, default: u32) -> Result<u32, InputError> {
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

    pub(super) fn disk(&self, v: Option<&Spanned<u64>>, default: u64) -> Result<u64, InputError> {
        self.size(
            v,
            default,
            MIN_DISK_MB..=u64::MAX,
            |n| format!("disk: {n} MB is too small: boot2docker keeps 1000 MB of a node's disk as swap, so it needs at least {MIN_DISK_MB} MB"),
            "disk is in MB: set it to 2000 or more (20000 is docker-machine's default)",
        )
    }

    pub(super) fn node_counts(
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
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn counts_name_the_nodes_after_the_cluster() {
        let c = ClusterSpec::from_text(
            Path::new("/nonexistent/vswarm.yml"),
            "name: lab\nnodes: { managers: 1, workers: 2 }\ndefaults: { memory: 2048 }\n",
        )
        .unwrap();
        let names: Vec<&str> = c.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["lab-manager-1", "lab-worker-1", "lab-worker-2"]);
        assert_eq!(c.nodes[2].memory, 2048);
        assert_eq!(c.nodes[0].role, Role::Manager);
    }

    #[test]
    fn the_default_cluster_is_the_seeds() {
        let c = ClusterSpec::default_cluster();
        let names: Vec<&str> = c.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["node-01", "node-02", "node-03"]);
        assert_eq!(c.nodes[0].role, Role::Manager);
        assert_eq!(c.name, DEFAULT_CLUSTER);
    }
}
