//! Deploying a stack the way `docker stack deploy` does: there is no stack endpoint in the
//! Engine API, so a stack is networks, secrets, configs and services named `STACK_NAME` and
//! labelled `com.docker.stack.namespace=STACK`, which is what makes `docker stack ls|ps|rm` see
//! them (and vswarm see the docker CLI's).
//!
//! In the docker CLI's order: services no longer in the file removed (`--prune`), external
//! networks checked, missing networks created, secrets and configs created or updated (swarm
//! refuses new content under an existing name), then services created or updated. Unlike the
//! CLI, a service whose spec did not change is left alone rather than updated to the same spec:
//! each carries a digest of the spec vswarm gave it.

use std::collections::HashMap;
use std::time::Duration;

use backon::{ConstantBuilder, Retryable};
use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::errors::Error as BollardError;
use bollard::models::{
    ConfigSpec, SecretSpec, ServiceSpec, TaskSpecContainerSpecPrivilegesCredentialSpec,
};
use sha2::{Digest, Sha256};

use crate::engine::{Engine, EngineError};
use crate::stack::{IMAGE_LABEL, StackSpec};

pub use crate::stack::NAMESPACE_LABEL;
/// The digest of the spec vswarm deployed, to tell what changed.
pub const SPEC_LABEL: &str = "io.vswarm.spec-digest";

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(
        "network \"{name}\" is declared as external, but could not be found. You need to create a swarm-scoped network before the stack is deployed (docker network create -d overlay --attachable {name})"
    )]
    MissingExternal { name: String },
    #[error(
        "network \"{name}\" is declared as external, but it is not in the right scope: \"{scope}\" instead of \"swarm\" (create it with -d overlay)"
    )]
    ExternalScope { name: String, scope: String },
    #[error(
        "the {kind} {name} exists with other content, and swarm cannot change a {kind}'s content (only its labels): give it a new name in the file (name: {name}_v2) and deploy again, or remove the stack first"
    )]
    ContentChanged { kind: &'static str, name: String },
    #[error("{kind} not found: {name} (create it first: docker {kind} create {name} FILE)")]
    MissingObject { kind: &'static str, name: String },
}

/// How image references are pinned to digests (`docker stack deploy --resolve-image`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ResolveImage {
    /// Ask the registry for every service's image digest.
    #[default]
    Always,
    /// Only for images that changed since the last deployment.
    Changed,
    /// Never: nodes pull the tag themselves.
    Never,
}

/// How to deploy.
#[derive(Debug, Clone, Default)]
pub struct DeployOptions {
    /// Remove the stack's services that the file no longer has.
    pub prune: bool,
    pub resolve_image: ResolveImage,
    /// Registry credentials for an image (`--with-registry-auth`): sent to the swarm so that
    /// nodes can pull private images.
    pub registry_auth: Option<fn(&str) -> Option<DockerCredentials>>,
}

/// What a deployment did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeployReport {
    pub networks_created: Vec<String>,
    pub secrets_created: Vec<String>,
    pub configs_created: Vec<String>,
    pub services_created: Vec<String>,
    pub services_updated: Vec<String>,
    pub services_unchanged: Vec<String>,
    pub services_removed: Vec<String>,
    /// The Engine's warnings (an image that could not be resolved to a digest, say).
    pub warnings: Vec<String>,
}

/// The name a stack object gets.
pub fn scoped(stack: &str, name: &str) -> String {
    format!("{stack}_{name}")
}

fn stack_filter(stack: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([(
        "label".to_string(),
        vec![format!("{NAMESPACE_LABEL}={stack}")],
    )])
}

fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

fn is_invalid_argument(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError { message, .. }
            if message.contains("only updates to Labels are allowed")
    )
}

/// Deploys `stack` through a manager with the docker CLI's defaults.
pub async fn deploy_stack(
    manager: &Engine,
    stack: &StackSpec,
) -> Result<DeployReport, DeployError> {
    deploy_stack_with(manager, stack, &DeployOptions::default()).await
}

/// Deploys `stack` through a manager.
pub async fn deploy_stack_with(
    manager: &Engine,
    stack: &StackSpec,
    options: &DeployOptions,
) -> Result<DeployReport, DeployError> {
    let docker = &manager.docker;
    let mut report = DeployReport::default();
    let existing_services = docker
        .list_services(Some(bollard::query_parameters::ListServicesOptions {
            filters: Some(stack_filter(&stack.name)),
            ..Default::default()
        }))
        .await
        .map_err(|e| manager.error("listing the stack's services", e))?;

    if options.prune {
        for service in &existing_services {
            let name = service
                .spec
                .as_ref()
                .and_then(|s| s.name.clone())
                .unwrap_or_default();
            if stack
                .services
                .iter()
                .any(|s| s.spec.name.as_deref() == Some(name.as_str()))
            {
                continue;
            }
            if let Some(id) = &service.id {
                docker
                    .delete_service(id)
                    .await
                    .map_err(|e| manager.error(&format!("removing the service {name}"), e))?;
                report.services_removed.push(name);
            }
        }
    }

    for name in &stack.external_networks {
        if matches!(name.as_str(), "host" | "bridge" | "none" | "default")
            || name.starts_with("container:")
        {
            continue;
        }
        match docker
            .inspect_network(
                name,
                None::<bollard::query_parameters::InspectNetworkOptions>,
            )
            .await
        {
            Ok(network) => {
                let scope = network.scope.unwrap_or_default();
                if scope != "swarm" {
                    return Err(DeployError::ExternalScope {
                        name: name.clone(),
                        scope,
                    });
                }
            }
            Err(e) if is_not_found(&e) => {
                return Err(DeployError::MissingExternal { name: name.clone() });
            }
            Err(e) => {
                return Err(manager
                    .error(&format!("inspecting the network {name}"), e)
                    .into());
            }
        }
    }

    let existing_networks = docker
        .list_networks(Some(bollard::query_parameters::ListNetworksOptions {
            filters: Some(stack_filter(&stack.name)),
        }))
        .await
        .map_err(|e| manager.error("listing the stack's networks", e))?;
    for network in &stack.networks {
        if existing_networks
            .iter()
            .any(|n| n.name.as_deref() == Some(network.name.as_str()))
        {
            continue;
        }
        docker
            .create_network(network.create.clone())
            .await
            .map_err(|e| manager.error(&format!("creating the network {}", network.name), e))?;
        report.networks_created.push(network.name.clone());
    }

    let mut secret_ids = HashMap::new();
    for secret in &stack.secrets {
        if let Some(created) = create_or_update(manager, secret, &mut secret_ids).await? {
            report.secrets_created.push(created);
        }
    }
    let mut config_ids = HashMap::new();
    for config in &stack.configs {
        if let Some(created) = create_or_update(manager, config, &mut config_ids).await? {
            report.configs_created.push(created);
        }
    }

    for service in &stack.services {
        let mut spec = service.spec.clone();
        let full = spec.name.clone().unwrap_or_default();
        fill_object_ids(manager, &mut spec, &mut secret_ids, &mut config_ids).await?;
        let credentials = options
            .registry_auth
            .and_then(|auth| auth(&image_of(&spec)));
        let have = existing_services
            .iter()
            .find(|s| s.spec.as_ref().and_then(|s| s.name.as_deref()) == Some(full.as_str()));
        let wanted_image = spec
            .labels
            .as_ref()
            .and_then(|l| l.get(IMAGE_LABEL))
            .cloned()
            .unwrap_or_default();
        let had_image = have
            .and_then(|h| h.spec.as_ref())
            .and_then(|s| s.labels.as_ref())
            .and_then(|l| l.get(IMAGE_LABEL))
            .cloned();
        let query_registry = match (options.resolve_image, have) {
            (ResolveImage::Always, _) => true,
            (ResolveImage::Changed, None) => true,
            (ResolveImage::Changed, Some(_)) => had_image.as_deref() != Some(wanted_image.as_str()),
            (ResolveImage::Never, _) => false,
        };
        if query_registry {
            if let Some(warning) = resolve_image(manager, &mut spec, credentials.clone()).await {
                report.warnings.push(warning);
            }
        } else if had_image.as_deref() == Some(wanted_image.as_str()) {
            // The image did not change: keep what an earlier deployment resolved (its digest,
            // and the platforms the registry named with it).
            let had_template = have
                .and_then(|h| h.spec.as_ref())
                .and_then(|s| s.task_template.as_ref());
            if let Some(template) = spec.task_template.as_mut() {
                if let Some(image) = had_template
                    .and_then(|t| t.container_spec.as_ref())
                    .and_then(|c| c.image.clone())
                    && let Some(container) = template.container_spec.as_mut()
                {
                    container.image = Some(image);
                }
                if let Some(platforms) = had_template
                    .and_then(|t| t.placement.as_ref())
                    .and_then(|p| p.platforms.clone())
                {
                    template
                        .placement
                        .get_or_insert_with(Default::default)
                        .platforms = Some(platforms);
                }
            }
        }
        let digest = spec_digest(&spec);
        spec.labels
            .get_or_insert_with(HashMap::new)
            .insert(SPEC_LABEL.into(), digest.clone());
        match have {
            None => {
                let response = docker
                    .create_service(spec, credentials)
                    .await
                    .map_err(|e| manager.error(&format!("creating the service {full}"), e))?;
                report
                    .warnings
                    .extend(response.warnings.unwrap_or_default());
                report.services_created.push(full);
            }
            Some(have) => {
                let have_spec = have.spec.as_ref();
                if have_spec
                    .and_then(|s| s.labels.as_ref())
                    .and_then(|l| l.get(SPEC_LABEL))
                    == Some(&digest)
                {
                    report.services_unchanged.push(full);
                    continue;
                }
                // As the docker CLI: keep the service's ForceUpdate so tasks are not restarted
                // for it.
                if let Some(template) = spec.task_template.as_mut() {
                    template.force_update = have_spec
                        .and_then(|s| s.task_template.as_ref())
                        .and_then(|t| t.force_update);
                }
                let version = have.version.as_ref().and_then(|v| v.index).unwrap_or(0);
                let opts = bollard::query_parameters::UpdateServiceOptions {
                    version: version as i32,
                    ..Default::default()
                };
                let response = docker
                    .update_service(&full, spec, opts, credentials)
                    .await
                    .map_err(|e| manager.error(&format!("updating the service {full}"), e))?;
                report
                    .warnings
                    .extend(response.warnings.unwrap_or_default());
                report.services_updated.push(full);
            }
        }
    }
    tracing::info!(stack = %stack.name, ?report, "stack deployed");
    Ok(report)
}

fn image_of(spec: &ServiceSpec) -> String {
    spec.task_template
        .as_ref()
        .and_then(|t| t.container_spec.as_ref())
        .and_then(|c| c.image.clone())
        .unwrap_or_default()
}

/// Secrets and configs, which the Engine API handles alike.
trait SwarmObject: Clone {
    const KIND: &'static str;
    fn object_name(&self) -> String;
    /// (ID, version) of the object with this name; None when there is none.
    async fn find(docker: &Docker, name: &str) -> Result<Option<(String, i64)>, BollardError>;
    async fn update(
        docker: &Docker,
        id: &str,
        version: i64,
        spec: Self,
    ) -> Result<(), BollardError>;
    async fn create(docker: &Docker, spec: Self) -> Result<String, BollardError>;
    /// The IDs of the objects that match these filters.
    async fn list_ids(docker: &Docker, filters: Filters) -> Result<Vec<String>, BollardError>;
    async fn delete(docker: &Docker, id: &str) -> Result<(), BollardError>;
}

/// Engine API list filters (`label=...`).
type Filters = HashMap<String, Vec<String>>;

fn found<T>(
    result: Result<T, BollardError>,
    id_version: impl FnOnce(T) -> (Option<String>, Option<u64>),
) -> Result<Option<(String, i64)>, BollardError> {
    match result {
        Ok(object) => {
            let (id, version) = id_version(object);
            Ok(Some((id.unwrap_or_default(), version.unwrap_or(0) as i64)))
        }
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Secrets and configs are the same API under two names: one implementation, spelled out for
/// each by bollard's methods and option types.
macro_rules! swarm_object {
    ($spec:ty, $kind:literal, $inspect:ident, $update:ident, $update_options:ident, $create:ident,
     $list:ident, $list_options:ident, $delete:ident) => {
        impl SwarmObject for $spec {
            const KIND: &'static str = $kind;
            fn object_name(&self) -> String {
                self.name.clone().unwrap_or_default()
            }
            async fn find(
                docker: &Docker,
                name: &str,
            ) -> Result<Option<(String, i64)>, BollardError> {
                found(docker.$inspect(name).await, |o| {
                    (o.id, o.version.and_then(|v| v.index))
                })
            }
            async fn update(
                docker: &Docker,
                id: &str,
                version: i64,
                spec: Self,
            ) -> Result<(), BollardError> {
                let options = bollard::query_parameters::$update_options { version };
                docker.$update(id, spec, options).await
            }
            async fn create(docker: &Docker, spec: Self) -> Result<String, BollardError> {
                docker.$create(spec).await.map(|created| created.id)
            }
            async fn list_ids(
                docker: &Docker,
                filters: Filters,
            ) -> Result<Vec<String>, BollardError> {
                let options = bollard::query_parameters::$list_options {
                    filters: Some(filters),
                };
                let listed = docker.$list(Some(options)).await?;
                Ok(listed.into_iter().filter_map(|o| o.id).collect())
            }
            async fn delete(docker: &Docker, id: &str) -> Result<(), BollardError> {
                docker.$delete(id).await
            }
        }
    };
}

swarm_object!(
    SecretSpec,
    "secret",
    inspect_secret,
    update_secret,
    UpdateSecretOptions,
    create_secret,
    list_secrets,
    ListSecretsOptions,
    delete_secret
);
swarm_object!(
    ConfigSpec,
    "config",
    inspect_config,
    update_config,
    UpdateConfigOptions,
    create_config,
    list_configs,
    ListConfigsOptions,
    delete_config
);

/// Creates the object, or updates it as the docker CLI does (swarm accepts new labels only, and
/// refuses new content); records its ID. Returns its name when it was created.
async fn create_or_update<T: SwarmObject>(
    manager: &Engine,
    spec: &T,
    ids: &mut HashMap<String, String>,
) -> Result<Option<String>, DeployError> {
    let name = spec.object_name();
    let kind = T::KIND;
    let existing = T::find(&manager.docker, &name)
        .await
        .map_err(|e| manager.error(&format!("inspecting the {kind} {name}"), e))?;
    match existing {
        Some((id, version)) => {
            T::update(&manager.docker, &id, version, spec.clone())
                .await
                .map_err(|e| {
                    if is_invalid_argument(&e) {
                        DeployError::ContentChanged {
                            kind,
                            name: name.clone(),
                        }
                    } else {
                        manager
                            .error(&format!("updating the {kind} {name}"), e)
                            .into()
                    }
                })?;
            ids.insert(name, id);
            Ok(None)
        }
        None => {
            let id = T::create(&manager.docker, spec.clone())
                .await
                .map_err(|e| manager.error(&format!("creating the {kind} {name}"), e))?;
            ids.insert(name.clone(), id);
            Ok(Some(name))
        }
    }
}

/// The ID of the object named `name`, created by the stack or before it (external).
async fn object_id<T: SwarmObject>(
    manager: &Engine,
    name: &str,
    ids: &mut HashMap<String, String>,
) -> Result<String, DeployError> {
    if let Some(id) = ids.get(name) {
        return Ok(id.clone());
    }
    let kind = T::KIND;
    match T::find(&manager.docker, name)
        .await
        .map_err(|e| manager.error(&format!("inspecting the {kind} {name}"), e))?
    {
        Some((id, _)) => {
            ids.insert(name.to_string(), id.clone());
            Ok(id)
        }
        None => Err(DeployError::MissingObject {
            kind,
            name: name.to_string(),
        }),
    }
}

/// Secret and config references by name get their IDs, as the docker CLI looks them up; an
/// external one that does not exist is an error.
async fn fill_object_ids(
    manager: &Engine,
    spec: &mut ServiceSpec,
    secret_ids: &mut HashMap<String, String>,
    config_ids: &mut HashMap<String, String>,
) -> Result<(), DeployError> {
    let Some(container) = spec
        .task_template
        .as_mut()
        .and_then(|t| t.container_spec.as_mut())
    else {
        return Ok(());
    };
    for secret in container.secrets.iter_mut().flatten() {
        let name = secret.secret_name.clone().unwrap_or_default();
        secret.secret_id = Some(object_id::<SecretSpec>(manager, &name, secret_ids).await?);
    }
    for config in container.configs.iter_mut().flatten() {
        let name = config.config_name.clone().unwrap_or_default();
        config.config_id = Some(object_id::<ConfigSpec>(manager, &name, config_ids).await?);
    }
    // A credential spec naming a config takes its ID.
    if let Some(TaskSpecContainerSpecPrivilegesCredentialSpec {
        config: Some(name), ..
    }) = container
        .privileges
        .as_mut()
        .and_then(|p| p.credential_spec.as_mut())
        && let Some(id) = config_ids.get(name.as_str())
    {
        *name = id.clone();
    }
    Ok(())
}

/// Pins the service's image to its digest through the daemon's registry access, as the docker
/// CLI's client does; the warning it prints when the registry cannot be reached.
async fn resolve_image(
    manager: &Engine,
    spec: &mut ServiceSpec,
    credentials: Option<DockerCredentials>,
) -> Option<String> {
    let image = image_of(spec);
    match manager
        .docker
        .inspect_registry_image(&image, credentials)
        .await
    {
        Ok(found) => {
            let digest = found.descriptor.digest.unwrap_or_default();
            if !image.contains('@') && !digest.is_empty() {
                let template = spec.task_template.as_mut()?;
                if let Some(container) = template.container_spec.as_mut() {
                    container.image = Some(format!("{image}@{digest}"));
                }
                let platforms: Vec<bollard::models::Platform> = found
                    .platforms
                    .into_iter()
                    .map(|p| bollard::models::Platform {
                        architecture: p.architecture.filter(|a| !a.eq_ignore_ascii_case("arm")),
                        os: p.os,
                    })
                    .collect();
                if !platforms.is_empty() {
                    template
                        .placement
                        .get_or_insert_with(Default::default)
                        .platforms = Some(platforms);
                }
            }
            None
        }
        Err(e) => {
            tracing::debug!(%image, error = %e, "image digest not resolved");
            Some(format!(
                "image {image} could not be accessed on a registry to record\nits digest. Each node will access {image} independently,\npossibly leading to different nodes running different\nversions of the image.\n"
            ))
        }
    }
}

fn spec_digest(spec: &ServiceSpec) -> String {
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

/// Removes the stack's services, secrets, configs and networks (as `docker stack rm`).
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
    // Then secrets and configs, as `docker stack rm`.
    remove_all::<SecretSpec>(manager, &filter).await?;
    remove_all::<ConfigSpec>(manager, &filter).await?;
    let networks = manager
        .docker
        .list_networks(Some(bollard::query_parameters::ListNetworksOptions {
            filters: Some(filter),
        }))
        .await
        .map_err(|e| manager.error("listing the stack's networks", e))?;
    for n in networks {
        if let Some(id) = n.id {
            // Tasks take a moment to leave the network: retry for about five seconds.
            (|| manager.docker.remove_network(&id))
                .retry(
                    ConstantBuilder::new()
                        .with_delay(Duration::from_millis(250))
                        .with_max_times(19),
                )
                .await
                .map_err(|e| manager.error("removing a network", e))?;
        }
    }
    Ok(())
}

/// Removes every secret (or config) the filters match.
async fn remove_all<T: SwarmObject>(
    manager: &Engine,
    filters: &Filters,
) -> Result<(), DeployError> {
    let kind = T::KIND;
    let ids = T::list_ids(&manager.docker, filters.clone())
        .await
        .map_err(|e| manager.error(&format!("listing the stack's {kind}s"), e))?;
    for id in ids {
        T::delete(&manager.docker, &id)
            .await
            .map_err(|e| manager.error(&format!("removing a {kind}"), e))?;
    }
    Ok(())
}
