//! `vswarm stack deploy|ls|rm`: stacks on a running cluster, as `docker stack` manages them
//! (the same labels, so either tool sees what the other deployed).

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use swarm_bootstrap::compose::{ComposeError, Environment, load_stack};
pub use swarm_bootstrap::deploy::ResolveImage;
use swarm_bootstrap::deploy::{DeployOptions, deploy_stack_with, list_stacks, remove_stack};
use swarm_bootstrap::verify::wait_for_stack;

use super::{Cluster, Session, Target};
use crate::error::{Doing, InputError, Result};
use crate::events::Phase;
use crate::ops::up::PhaseTimer;
use crate::state::StackRecord;

#[derive(Debug, Clone, Serialize)]
pub struct StackListing {
    pub name: String,
    pub services: usize,
    /// vswarm deployed it (from a cluster file or `vswarm stack deploy`).
    pub deployed_by_vswarm: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct StackDeployed {
    pub name: String,
    pub files: Vec<PathBuf>,
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    pub removed: Vec<String>,
    pub warnings: Vec<String>,
}

/// The options of `vswarm stack deploy`, as `docker stack deploy` has them.
#[derive(Debug, Clone, Default)]
pub struct DeployHow {
    pub prune: bool,
    pub resolve_image: ResolveImage,
    pub with_registry_auth: bool,
    /// Do not wait for the tasks to run.
    pub detach: bool,
}

/// Reads compose files into a stack, as `up` and `stack deploy` do; errors point into them.
pub fn read_compose(
    files: &[PathBuf],
    name: &str,
) -> Result<swarm_bootstrap::compose::LoadedStack> {
    load_stack(files, name, &Environment::from_process()).map_err(|e| {
        match e {
            ComposeError::Read { path, source } => InputError::new(format!(
                "cannot read the stack file {}: {source}",
                path.display()
            ))
            .help("check the path given with -c"),
            ComposeError::InvalidStackName { name, reason } => {
                InputError::new(format!("invalid stack name '{name}': {reason}"))
                    .help("use letters, digits, '-' and '_'")
            }
            other => crate::cluster::compose_error(other),
        }
        .into()
    })
}

/// Deploys the compose files `files` as the stack `name`, and (unless detached) waits until
/// its tasks run.
pub async fn deploy(
    session: &Session<'_>,
    target: &Target,
    name: &str,
    files: &[PathBuf],
    how: &DeployHow,
) -> Result<StackDeployed> {
    let loaded = read_compose(files, name)?;
    for warning in &loaded.warnings {
        session.warn(warning.clone());
    }
    let cluster = session.cluster(target, None)?;
    let _lock = session.lock(cluster.name(), "stack deploy").await?;
    let mut cluster = Cluster {
        record: cluster.dir.read_record()?.unwrap_or(cluster.record.clone()),
        dir: cluster.dir,
    };
    let manager = cluster.manager().await?;
    let phase = PhaseTimer::start(session.reporter, Phase::Stack(name.to_string()));
    let options = DeployOptions {
        prune: how.prune,
        resolve_image: how.resolve_image,
        registry_auth: how
            .with_registry_auth
            .then_some(swarm_bootstrap::registry_auth::credentials_for_image as fn(&str) -> _),
    };
    let report = deploy_stack_with(&manager, &loaded.spec, &options)
        .await
        .doing(format!("deploying the stack {name}"))?;
    for warning in &report.warnings {
        session.warn(warning.trim_end().to_string());
    }
    if !how.detach {
        wait_for_stack(&manager, name, Duration::from_secs(300))
            .await
            .doing(format!("waiting for the stack {name} to run"))?;
    }
    phase.done(format!(
        "{} created, {} updated, {} unchanged",
        report.services_created.len(),
        report.services_updated.len(),
        report.services_unchanged.len()
    ));
    let files: Vec<PathBuf> = files
        .iter()
        .map(|f| std::path::absolute(f).unwrap_or_else(|_| f.clone()))
        .collect();
    cluster.record.stacks.retain(|s| s.name != name);
    cluster.record.stacks.push(StackRecord {
        name: name.to_string(),
        file: files.first().cloned().unwrap_or_default(),
    });
    cluster.write()?;
    let mut warnings = loaded.warnings;
    warnings.extend(report.warnings);
    Ok(StackDeployed {
        name: name.to_string(),
        files,
        created: report.services_created,
        updated: report.services_updated,
        unchanged: report.services_unchanged,
        removed: report.services_removed,
        warnings,
    })
}

/// The swarm's stacks, whoever deployed them.
pub async fn ls(session: &Session<'_>, target: &Target) -> Result<Vec<StackListing>> {
    let cluster = session.cluster(target, None)?;
    let manager = cluster.manager().await?;
    let stacks = list_stacks(&manager).await.doing("listing the stacks")?;
    Ok(stacks
        .into_iter()
        .map(|s| StackListing {
            deployed_by_vswarm: cluster.record.stacks.iter().any(|r| r.name == s.name),
            name: s.name,
            services: s.services,
        })
        .collect())
}

/// Removes a stack's services and networks.
pub async fn rm(session: &Session<'_>, target: &Target, name: &str) -> Result<()> {
    let cluster = session.cluster(target, None)?;
    let _lock = session.lock(cluster.name(), "stack rm").await?;
    let mut cluster = Cluster {
        record: cluster.dir.read_record()?.unwrap_or(cluster.record.clone()),
        dir: cluster.dir,
    };
    let manager = cluster.manager().await?;
    let known = list_stacks(&manager).await.doing("listing the stacks")?;
    if !known.iter().any(|s| s.name == name) {
        return Err(
            InputError::new(format!("the swarm has no stack named '{name}'"))
                .help("`vswarm stack ls` lists them")
                .into(),
        );
    }
    remove_stack(&manager, name)
        .await
        .doing(format!("removing the stack {name}"))?;
    cluster.record.stacks.retain(|s| s.name != name);
    cluster.write()?;
    Ok(())
}
