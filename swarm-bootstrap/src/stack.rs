//! The model of a stack: overlay networks and services, independent of where they came from
//! (a compose file, see [`crate::compose`], or the cluster file).
//!
//! Names here are the stack-local ones (`nginx`, `web`); deployment prefixes them with the stack
//! name (`seed_nginx`) as `docker stack deploy` does.

use std::collections::BTreeMap;

/// A stack: its name and what it holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackSpec {
    pub name: String,
    pub networks: Vec<NetworkSpec>,
    pub services: Vec<ServiceSpec>,
}

/// An overlay network of the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSpec {
    pub name: String,
    /// `overlay` unless the file says otherwise.
    pub driver: String,
    pub attachable: bool,
    pub labels: BTreeMap<String, String>,
    /// Created outside the stack: used, never created or removed.
    pub external: bool,
}

impl NetworkSpec {
    pub fn overlay(name: &str) -> NetworkSpec {
        NetworkSpec {
            name: name.to_string(),
            driver: "overlay".into(),
            attachable: false,
            labels: BTreeMap::new(),
            external: false,
        }
    }
}

/// Replicated with a count, or one task per node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceMode {
    Replicated(u64),
    Global,
}

/// How a published port reaches the tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishMode {
    /// The routing mesh: every node answers.
    Ingress,
    /// Only nodes running a task answer.
    Host,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointMode {
    Vip,
    Dnsrr,
}

/// A published port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    pub target: u16,
    pub published: Option<u16>,
    /// `tcp` or `udp`.
    pub protocol: String,
    pub mode: PublishMode,
}

/// CPU (in nano CPUs: 0.5 CPU = 500_000_000) and memory (bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResourceAmounts {
    pub nano_cpus: Option<i64>,
    pub memory_bytes: Option<i64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resources {
    pub limits: Option<ResourceAmounts>,
    pub reservations: Option<ResourceAmounts>,
}

/// A service of the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    pub name: String,
    pub image: String,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    /// `KEY=VALUE` entries.
    pub env: Vec<String>,
    pub mode: ServiceMode,
    pub ports: Vec<PortSpec>,
    /// Stack-local network names; empty means the stack's `default` network.
    pub networks: Vec<String>,
    /// Container labels.
    pub labels: BTreeMap<String, String>,
    /// Service labels (`deploy.labels`).
    pub deploy_labels: BTreeMap<String, String>,
    pub endpoint_mode: Option<EndpointMode>,
    pub constraints: Vec<String>,
    pub resources: Resources,
}

impl ServiceSpec {
    pub fn new(name: &str, image: &str) -> ServiceSpec {
        ServiceSpec {
            name: name.to_string(),
            image: image.to_string(),
            command: None,
            entrypoint: None,
            env: Vec::new(),
            mode: ServiceMode::Replicated(1),
            ports: Vec::new(),
            networks: Vec::new(),
            labels: BTreeMap::new(),
            deploy_labels: BTreeMap::new(),
            endpoint_mode: None,
            constraints: Vec::new(),
            resources: Resources::default(),
        }
    }
}
