//! `vswarm stack deploy|ls|rm`: stacks on a running cluster, as `docker stack` manages them
//! (the same labels, so either tool sees what the other deployed).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use swarm_bootstrap::compose::{ComposeError, load_compose};
use swarm_bootstrap::deploy::{deploy_stack, list_stacks, remove_stack};
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
    pub file: PathBuf,
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
}

/// Deploys the compose file `file` as the stack `name`, and waits until its tasks run.
pub async fn deploy(
    session: &Session<'_>,
    target: &Target,
    name: &str,
    file: &Path,
) -> Result<StackDeployed> {
    let spec = load_compose(file, name).map_err(|e| match e {
        ComposeError::Read { path, source } => InputError::new(format!(
            "cannot read the stack file {}: {source}",
            path.display()
        ))
        .help("check the path given with -c"),
        ComposeError::InvalidStackName { name, reason } => {
            InputError::new(format!("invalid stack name '{name}': {reason}"))
                .help("use letters, digits, '-' and '_'")
        }
        other => InputError::new(other.to_string())
            .help("fix the stack file: vswarm reads it as `docker stack deploy -c FILE` does"),
    })?;
    let cluster = session.cluster(target, None)?;
    let _lock = session.lock(cluster.name(), "stack deploy").await?;
    let mut cluster = Cluster {
        record: cluster.dir.read_record()?.unwrap_or(cluster.record.clone()),
        dir: cluster.dir,
    };
    let manager = cluster.manager().await?;
    let phase = PhaseTimer::start(session.reporter, Phase::Stack(name.to_string()));
    let report = deploy_stack(&manager, &spec)
        .await
        .doing(format!("deploying the stack {name}"))?;
    wait_for_stack(&manager, name, Duration::from_secs(300))
        .await
        .doing(format!("waiting for the stack {name} to run"))?;
    phase.done(format!(
        "{} created, {} updated, {} unchanged",
        report.services_created.len(),
        report.services_updated.len(),
        report.services_unchanged.len()
    ));
    let file = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    cluster.record.stacks.retain(|s| s.name != name);
    cluster.record.stacks.push(StackRecord {
        name: name.to_string(),
        file: file.clone(),
    });
    cluster.write()?;
    Ok(StackDeployed {
        name: name.to_string(),
        file,
        created: report.services_created,
        updated: report.services_updated,
        unchanged: report.services_unchanged,
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
