//! Deploying a stack the way `docker stack deploy` does: there is no stack endpoint in the
//! Engine API, so the stack is `<stack>_<network>` overlay networks and `<stack>_<service>`
//! services carrying the label `com.docker.stack.namespace=<stack>` (and
//! `com.docker.stack.image`), which is what makes `docker stack ls/ps/rm` see them.
//!
//! Re-deploying changes only what changed: each service carries a digest of the spec vswarm gave
//! it, and is updated only when that digest differs (a new replica count is a change, so scaling
//! is a re-deploy).

use std::collections::HashMap;

use bollard::models::{
    EndpointPortConfig, EndpointPortConfigProtocolEnum, EndpointPortConfigPublishModeEnum,
    EndpointSpec, EndpointSpecModeEnum, Limit, NetworkAttachmentConfig, NetworkCreateRequest,
    ResourceObject, ServiceSpec as ApiServiceSpec, ServiceSpecMode, ServiceSpecModeReplicated,
    TaskSpec, TaskSpecContainerSpec as ContainerSpec, TaskSpecPlacement as Placement,
    TaskSpecResources,
};
use sha2::{Digest, Sha256};

use crate::engine::{Engine, EngineError};
use crate::stack::{EndpointMode, PublishMode, ServiceMode, StackSpec};

pub const NAMESPACE_LABEL: &str = "com.docker.stack.namespace";
pub const IMAGE_LABEL: &str = "com.docker.stack.image";
/// The digest of the spec vswarm deployed, to tell what changed.
pub const SPEC_LABEL: &str = "io.vswarm.spec-digest";

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(
        "stack {stack}: service '{service}' uses the network '{network}', which the stack does not declare"
    )]
    UnknownNetwork {
        stack: String,
        service: String,
        network: String,
    },
    #[error(
        "stack {stack}: the network {name} exists with driver {have} (attachable: {have_attachable}); the stack wants {want} \
         (attachable: {want_attachable}). Remove the stack (docker stack rm {stack}) and deploy again"
    )]
    NetworkMismatch {
        stack: String,
        name: String,
        have: String,
        want: String,
        have_attachable: bool,
        want_attachable: bool,
    },
    #[error("stack {stack}: the external network '{name}' does not exist; create it first")]
    MissingExternal { stack: String, name: String },
}

/// What a deployment did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeployReport {
    pub networks_created: Vec<String>,
    pub services_created: Vec<String>,
    pub services_updated: Vec<String>,
    pub services_unchanged: Vec<String>,
}

/// The name a stack object gets.
pub fn scoped(stack: &str, name: &str) -> String {
    format!("{stack}_{name}")
}

/// Deploys `stack` through a manager.
pub async fn deploy_stack(
    manager: &Engine,
    stack: &StackSpec,
) -> Result<DeployReport, DeployError> {
    let mut report = DeployReport::default();
    let (existing, services) = tokio::join!(
        manager
            .docker
            .list_networks(None::<bollard::query_parameters::ListNetworksOptions>),
        manager
            .docker
            .list_services(None::<bollard::query_parameters::ListServicesOptions>)
    );
    let existing = existing.map_err(|e| manager.error("listing networks", e))?;
    let services = services.map_err(|e| manager.error("listing services", e))?;
    let mut network_names: HashMap<String, String> = HashMap::new();
    for net in &stack.networks {
        let full = if net.external {
            net.name.clone()
        } else {
            scoped(&stack.name, &net.name)
        };
        network_names.insert(net.name.clone(), full.clone());
        match existing
            .iter()
            .find(|n| n.name.as_deref() == Some(full.as_str()))
        {
            Some(have) => {
                let driver = have.driver.clone().unwrap_or_default();
                let attachable = have.attachable.unwrap_or(false);
                if !net.external && (driver != net.driver || attachable != net.attachable) {
                    return Err(DeployError::NetworkMismatch {
                        stack: stack.name.clone(),
                        name: full,
                        have: driver,
                        want: net.driver.clone(),
                        have_attachable: attachable,
                        want_attachable: net.attachable,
                    });
                }
            }
            None if net.external => {
                return Err(DeployError::MissingExternal {
                    stack: stack.name.clone(),
                    name: net.name.clone(),
                });
            }
            None => {
                let mut labels: HashMap<String, String> = net.labels.clone().into_iter().collect();
                labels.insert(NAMESPACE_LABEL.into(), stack.name.clone());
                let req = NetworkCreateRequest {
                    name: full.clone(),
                    driver: Some(net.driver.clone()),
                    attachable: Some(net.attachable),
                    labels: Some(labels),
                    ..NetworkCreateRequest::default()
                };
                manager
                    .docker
                    .create_network(req)
                    .await
                    .map_err(|e| manager.error(&format!("creating the network {full}"), e))?;
                report.networks_created.push(full);
            }
        }
    }

    for svc in &stack.services {
        let full = scoped(&stack.name, &svc.name);
        let mut attachments = Vec::new();
        let wanted = if svc.networks.is_empty() {
            vec!["default".to_string()]
        } else {
            svc.networks.clone()
        };
        for n in &wanted {
            let target =
                network_names
                    .get(n)
                    .cloned()
                    .ok_or_else(|| DeployError::UnknownNetwork {
                        stack: stack.name.clone(),
                        service: svc.name.clone(),
                        network: n.clone(),
                    })?;
            attachments.push(NetworkAttachmentConfig {
                target: Some(target),
                aliases: Some(vec![svc.name.clone()]),
                ..Default::default()
            });
        }
        let mut spec = api_spec(&stack.name, &full, svc, attachments);
        let digest = spec_digest(&spec);
        spec.labels
            .get_or_insert_with(HashMap::new)
            .insert(SPEC_LABEL.into(), digest.clone());
        match services
            .iter()
            .find(|s| s.spec.as_ref().and_then(|s| s.name.as_deref()) == Some(full.as_str()))
        {
            None => {
                manager
                    .docker
                    .create_service(spec, None)
                    .await
                    .map_err(|e| manager.error(&format!("creating the service {full}"), e))?;
                report.services_created.push(full);
            }
            Some(have) => {
                let same = have
                    .spec
                    .as_ref()
                    .and_then(|s| s.labels.as_ref())
                    .and_then(|l| l.get(SPEC_LABEL))
                    == Some(&digest);
                if same {
                    report.services_unchanged.push(full);
                    continue;
                }
                let version = have.version.as_ref().and_then(|v| v.index).unwrap_or(0);
                let opts = bollard::query_parameters::UpdateServiceOptions {
                    version: version as i32,
                    ..Default::default()
                };
                manager
                    .docker
                    .update_service(&full, spec, opts, None)
                    .await
                    .map_err(|e| manager.error(&format!("updating the service {full}"), e))?;
                report.services_updated.push(full);
            }
        }
    }
    tracing::info!(stack = %stack.name, ?report, "stack deployed");
    Ok(report)
}

/// The Engine API's service spec for one service of the stack.
fn api_spec(
    stack: &str,
    full: &str,
    svc: &crate::stack::ServiceSpec,
    networks: Vec<NetworkAttachmentConfig>,
) -> ApiServiceSpec {
    let mut labels: HashMap<String, String> = svc.deploy_labels.clone().into_iter().collect();
    labels.insert(NAMESPACE_LABEL.into(), stack.to_string());
    labels.insert(IMAGE_LABEL.into(), svc.image.clone());
    let mut container_labels: HashMap<String, String> = svc.labels.clone().into_iter().collect();
    container_labels.insert(NAMESPACE_LABEL.into(), stack.to_string());
    let amounts = |a: &crate::stack::ResourceAmounts| (a.nano_cpus, a.memory_bytes);
    let resources = TaskSpecResources {
        limits: svc
            .resources
            .limits
            .as_ref()
            .map(amounts)
            .map(|(c, m)| Limit {
                nano_cpus: c,
                memory_bytes: m,
                ..Default::default()
            }),
        reservations: svc
            .resources
            .reservations
            .as_ref()
            .map(amounts)
            .map(|(c, m)| ResourceObject {
                nano_cpus: c,
                memory_bytes: m,
                ..Default::default()
            }),
        ..Default::default()
    };
    let mode = match svc.mode {
        ServiceMode::Replicated(n) => ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated {
                replicas: Some(n as i64),
            }),
            ..Default::default()
        },
        ServiceMode::Global => ServiceSpecMode {
            global: Some(Default::default()),
            ..Default::default()
        },
    };
    let ports: Vec<EndpointPortConfig> = svc
        .ports
        .iter()
        .map(|p| EndpointPortConfig {
            protocol: Some(if p.protocol == "udp" {
                EndpointPortConfigProtocolEnum::UDP
            } else {
                EndpointPortConfigProtocolEnum::TCP
            }),
            target_port: Some(i64::from(p.target)),
            published_port: p.published.map(i64::from),
            publish_mode: Some(match p.mode {
                PublishMode::Host => EndpointPortConfigPublishModeEnum::HOST,
                PublishMode::Ingress => EndpointPortConfigPublishModeEnum::INGRESS,
            }),
            ..Default::default()
        })
        .collect();
    ApiServiceSpec {
        name: Some(full.to_string()),
        labels: Some(labels),
        task_template: Some(TaskSpec {
            container_spec: Some(ContainerSpec {
                image: Some(svc.image.clone()),
                // Compose's entrypoint is the Engine's command, and its command the args.
                command: svc.entrypoint.clone(),
                args: svc.command.clone(),
                env: (!svc.env.is_empty()).then(|| svc.env.clone()),
                labels: Some(container_labels),
                ..Default::default()
            }),
            placement: (!svc.constraints.is_empty()).then(|| Placement {
                constraints: Some(svc.constraints.clone()),
                ..Default::default()
            }),
            resources: Some(resources),
            networks: Some(networks),
            ..Default::default()
        }),
        mode: Some(mode),
        endpoint_spec: Some(EndpointSpec {
            mode: Some(match svc.endpoint_mode {
                Some(EndpointMode::Dnsrr) => EndpointSpecModeEnum::DNSRR,
                _ => EndpointSpecModeEnum::VIP,
            }),
            ports: (!ports.is_empty()).then_some(ports),
        }),
        ..Default::default()
    }
}

fn spec_digest(spec: &ApiServiceSpec) -> String {
    // Through serde_json::Value, whose maps are ordered: label maps are HashMaps.
    let json = serde_json::to_value(spec)
        .and_then(|v| serde_json::to_vec(&v))
        .unwrap_or_default();
    hex::encode(&Sha256::digest(&json)[..12])
}

/// A stack as `docker stack ls` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSummary {
    pub name: String,
    pub services: usize,
}

/// The stacks of the swarm: services grouped by their `com.docker.stack.namespace` label, as
/// `docker stack ls` lists them (whoever deployed them).
pub async fn list_stacks(manager: &Engine) -> Result<Vec<StackSummary>, DeployError> {
    let services = manager
        .docker
        .list_services(None::<bollard::query_parameters::ListServicesOptions>)
        .await
        .map_err(|e| manager.error("listing services", e))?;
    let mut stacks: std::collections::BTreeMap<String, usize> = Default::default();
    for s in services {
        if let Some(name) = s
            .spec
            .as_ref()
            .and_then(|spec| spec.labels.as_ref())
            .and_then(|l| l.get(NAMESPACE_LABEL))
        {
            *stacks.entry(name.clone()).or_default() += 1;
        }
    }
    Ok(stacks
        .into_iter()
        .map(|(name, services)| StackSummary { name, services })
        .collect())
}

/// Removes the stack's services and networks (as `docker stack rm`).
pub async fn remove_stack(manager: &Engine, stack: &str) -> Result<(), DeployError> {
    let filter = HashMap::from([(
        "label".to_string(),
        vec![format!("{NAMESPACE_LABEL}={stack}")],
    )]);
    let services = manager
        .docker
        .list_services(Some(bollard::query_parameters::ListServicesOptions {
            filters: Some(filter.clone()),
            ..Default::default()
        }))
        .await
        .map_err(|e| manager.error("listing the stack's services", e))?;
    for s in services {
        if let Some(id) = s.id {
            manager
                .docker
                .delete_service(&id)
                .await
                .map_err(|e| manager.error("removing a service", e))?;
        }
    }
    let networks = manager
        .docker
        .list_networks(Some(bollard::query_parameters::ListNetworksOptions {
            filters: Some(filter),
        }))
        .await
        .map_err(|e| manager.error("listing the stack's networks", e))?;
    for n in networks {
        if let Some(id) = n.id {
            // Tasks take a moment to leave the network; retry briefly.
            for attempt in 0..20 {
                match manager.docker.remove_network(&id).await {
                    Ok(()) => break,
                    Err(_) if attempt < 19 => {
                        tokio::time::sleep(std::time::Duration::from_millis(250)).await
                    }
                    Err(e) => return Err(manager.error("removing a network", e).into()),
                }
            }
        }
    }
    Ok(())
}
