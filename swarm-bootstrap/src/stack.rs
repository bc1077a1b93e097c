//! The model of a stack: what `docker stack deploy` would send to the Engine API for a compose
//! file (see [`crate::compose`]), deployed by [`crate::deploy`].
//!
//! Names here are the full ones (`seed_nginx`), except [`StackService::name`], the name in the
//! compose file.

use bollard::models::{ConfigSpec, NetworkCreateRequest, SecretSpec, ServiceSpec};

/// The label that makes an object part of a stack (`docker stack ls|ps|rm` read it).
pub const NAMESPACE_LABEL: &str = "com.docker.stack.namespace";
/// The image as the compose file names it, on each service (`--resolve-image changed` reads it).
pub const IMAGE_LABEL: &str = "com.docker.stack.image";

/// A stack: its name and the objects it creates or uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StackSpec {
    pub name: String,
    /// Networks the stack creates (when missing), sorted by name.
    pub networks: Vec<StackNetwork>,
    /// Networks created outside the stack that its services use.
    pub external_networks: Vec<String>,
    pub secrets: Vec<SecretSpec>,
    pub configs: Vec<ConfigSpec>,
    /// Sorted by name.
    pub services: Vec<StackService>,
}

/// A network the stack creates.
#[derive(Debug, Clone, PartialEq)]
pub struct StackNetwork {
    pub name: String,
    pub create: NetworkCreateRequest,
}

/// A service of the stack, as the Engine API takes it (secrets and configs by name: deployment
/// adds their IDs).
#[derive(Debug, Clone, PartialEq)]
pub struct StackService {
    pub name: String,
    pub spec: ServiceSpec,
}

/// A published port of a service, for checking that it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedPort {
    pub service: String,
    pub published: u16,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
    /// `ingress` or `host`.
    pub mode: String,
}

impl StackSpec {
    /// Every port the stack publishes on a fixed number.
    pub fn published_ports(&self) -> Vec<PublishedPort> {
        let mut out = Vec::new();
        for service in &self.services {
            let ports = service
                .spec
                .endpoint_spec
                .as_ref()
                .and_then(|e| e.ports.as_ref());
            for port in ports.into_iter().flatten() {
                let Some(published) = port
                    .published_port
                    .and_then(|p| u16::try_from(p).ok())
                    .filter(|p| *p != 0)
                else {
                    continue;
                };
                out.push(PublishedPort {
                    service: service.spec.name.clone().unwrap_or_default(),
                    published,
                    protocol: port
                        .protocol
                        .map(|p| p.to_string())
                        .filter(|p| !p.is_empty())
                        .unwrap_or_else(|| "tcp".into()),
                    mode: port
                        .publish_mode
                        .map(|m| m.to_string())
                        .filter(|m| !m.is_empty())
                        .unwrap_or_else(|| "ingress".into()),
                });
            }
        }
        out
    }
}
