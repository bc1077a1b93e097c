//! Forming the swarm: `swarm init` on the first manager advertising its host-only IP (never the
//! NAT address 10.0.2.15), then every other node joins in parallel.
//!
//! Idempotent: a node already in this swarm is left alone; a node in another swarm is an error
//! unless forced (then it leaves first). An even number of managers works but loses the quorum
//! advantage of the next odd number, so it is warned about.

use std::collections::HashMap;
use std::net::IpAddr;

use bollard::models::{
    LocalNodeState, NodeSpecAvailabilityEnum, NodeSpecRoleEnum, SwarmInitRequest, SwarmJoinRequest,
};

use crate::engine::{Engine, EngineError};

/// A node's role in the swarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Manager,
    Worker,
}

/// A node to place in the swarm.
#[derive(Debug, Clone)]
pub struct SwarmMember {
    pub engine: Engine,
    pub role: Role,
    pub labels: HashMap<String, String>,
    /// `active`, `pause` or `drain`; None leaves the default (`active`).
    pub availability: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SwarmError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("a swarm needs at least one manager")]
    NoManager,
    #[error(
        "{node} already belongs to another swarm ({their}); run with --force to make it leave, or remove it from that swarm first"
    )]
    OtherSwarm { node: String, their: String },
    #[error("{node}: unknown availability '{value}' (use active, pause or drain)")]
    Availability { node: String, value: String },
}

/// What formation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SwarmSummary {
    pub cluster_id: String,
    pub leader: String,
    /// Nodes that joined now.
    pub joined: Vec<String>,
    /// Nodes that were already members.
    pub unchanged: Vec<String>,
}

struct Membership {
    state: LocalNodeState,
    /// Only managers know the cluster's id.
    cluster: Option<String>,
    node_id: Option<String>,
}

async fn membership(e: &Engine) -> Result<Membership, EngineError> {
    let info = e
        .docker
        .info()
        .await
        .map_err(|err| e.error("reading the swarm state (docker info)", err))?;
    let swarm = info.swarm.unwrap_or_default();
    Ok(Membership {
        state: swarm.local_node_state.unwrap_or(LocalNodeState::INACTIVE),
        cluster: swarm.cluster.and_then(|c| c.id),
        node_id: swarm.node_id.filter(|id| !id.is_empty()),
    })
}

fn addr(ip: IpAddr) -> String {
    ip.to_string()
}

/// Forms (or checks) the swarm of `members`; the first manager leads.
pub async fn form_swarm(members: &[SwarmMember], force: bool) -> Result<SwarmSummary, SwarmError> {
    let managers = members.iter().filter(|m| m.role == Role::Manager).count();
    let leader = members
        .iter()
        .find(|m| m.role == Role::Manager)
        .ok_or(SwarmError::NoManager)?;
    if managers % 2 == 0 {
        tracing::warn!(
            managers,
            "an even number of managers tolerates no more failures than one manager fewer; an odd number is recommended"
        );
    }
    let le = &leader.engine;
    let mut summary = SwarmSummary {
        leader: le.node.clone(),
        ..SwarmSummary::default()
    };
    let state = membership(le).await?;
    match state.state {
        LocalNodeState::ACTIVE => summary.unchanged.push(le.node.clone()),
        _ => {
            let req = SwarmInitRequest {
                listen_addr: Some("0.0.0.0:2377".into()),
                advertise_addr: Some(addr(le.ip)),
                data_path_addr: Some(addr(le.ip)),
                ..SwarmInitRequest::default()
            };
            le.docker
                .init_swarm(req)
                .await
                .map_err(|e| le.error("swarm init", e))?;
            summary.joined.push(le.node.clone());
        }
    }
    let swarm = le
        .docker
        .inspect_swarm()
        .await
        .map_err(|e| le.error("reading the join tokens", e))?;
    let cluster_id = swarm.id.clone().unwrap_or_default();
    summary.cluster_id = cluster_id.clone();
    let tokens = swarm.join_tokens.unwrap_or_default();
    let (manager_token, worker_token) = (
        tokens.manager.unwrap_or_default(),
        tokens.worker.unwrap_or_default(),
    );
    let remote = format!("{}:2377", le.ip);
    // Workers do not know the cluster's id: a node is ours when the leader lists it.
    let known_ids: Vec<String> = le
        .docker
        .list_nodes(None::<bollard::query_parameters::ListNodesOptions>)
        .await
        .map_err(|e| le.error("listing the swarm's nodes", e))?
        .into_iter()
        .filter_map(|n| n.id)
        .collect();

    let joins = members
        .iter()
        .filter(|m| m.engine.node != le.node)
        .map(|m| {
            let token = if m.role == Role::Manager {
                manager_token.clone()
            } else {
                worker_token.clone()
            };
            let (remote, cluster_id, known_ids) = (remote.clone(), cluster_id.clone(), &known_ids);
            async move {
                let e = &m.engine;
                let state = membership(e).await?;
                if state.state == LocalNodeState::ACTIVE || state.state == LocalNodeState::PENDING {
                    let ours = state.cluster.as_deref() == Some(cluster_id.as_str())
                        || state
                            .node_id
                            .as_ref()
                            .is_some_and(|id| known_ids.contains(id));
                    if ours {
                        return Ok::<_, SwarmError>((e.node.clone(), false));
                    }
                    if !force {
                        return Err(SwarmError::OtherSwarm {
                            node: e.node.clone(),
                            their: state.cluster.unwrap_or_else(|| "unknown".into()),
                        });
                    }
                    e.docker
                        .leave_swarm(Some(bollard::query_parameters::LeaveSwarmOptions {
                            force: true,
                        }))
                        .await
                        .map_err(|err| e.error("leaving its old swarm", err))?;
                }
                let req = SwarmJoinRequest {
                    listen_addr: Some("0.0.0.0:2377".into()),
                    advertise_addr: Some(addr(e.ip)),
                    data_path_addr: Some(addr(e.ip)),
                    remote_addrs: Some(vec![remote]),
                    join_token: Some(token),
                };
                e.docker
                    .join_swarm(req)
                    .await
                    .map_err(|err| e.error("swarm join", err))?;
                Ok((e.node.clone(), true))
            }
        });
    for result in futures::future::join_all(joins).await {
        let (node, joined) = result?;
        if joined {
            summary.joined.push(node);
        } else {
            summary.unchanged.push(node);
        }
    }
    apply_node_settings(le, members).await?;
    Ok(summary)
}

/// Node labels and availability, set through the leader.
async fn apply_node_settings(leader: &Engine, members: &[SwarmMember]) -> Result<(), SwarmError> {
    let nodes = leader
        .docker
        .list_nodes(None::<bollard::query_parameters::ListNodesOptions>)
        .await
        .map_err(|e| leader.error("listing the swarm's nodes", e))?;
    for m in members {
        let Some(node) = nodes.iter().find(|n| {
            n.description.as_ref().and_then(|d| d.hostname.as_deref())
                == Some(m.engine.node.as_str())
        }) else {
            continue;
        };
        let mut spec = node.spec.clone().unwrap_or_default();
        let mut changed = false;
        let labels = spec.labels.get_or_insert_with(HashMap::new);
        for (k, v) in &m.labels {
            if labels.get(k) != Some(v) {
                labels.insert(k.clone(), v.clone());
                changed = true;
            }
        }
        if let Some(a) = &m.availability {
            let want = match a.as_str() {
                "active" => NodeSpecAvailabilityEnum::ACTIVE,
                "pause" => NodeSpecAvailabilityEnum::PAUSE,
                "drain" => NodeSpecAvailabilityEnum::DRAIN,
                other => {
                    return Err(SwarmError::Availability {
                        node: m.engine.node.clone(),
                        value: other.into(),
                    });
                }
            };
            if spec.availability != Some(want) {
                spec.availability = Some(want);
                changed = true;
            }
        }
        let want_role = if m.role == Role::Manager {
            NodeSpecRoleEnum::MANAGER
        } else {
            NodeSpecRoleEnum::WORKER
        };
        if spec.role != Some(want_role) {
            spec.role = Some(want_role);
            changed = true;
        }
        if changed {
            let (Some(id), Some(version)) = (
                node.id.as_deref(),
                node.version.as_ref().and_then(|v| v.index),
            ) else {
                continue;
            };
            leader
                .docker
                .update_node(
                    id,
                    spec,
                    bollard::query_parameters::UpdateNodeOptions {
                        version: version as i64,
                    },
                )
                .await
                .map_err(|e| leader.error(&format!("updating node {}", m.engine.node), e))?;
        }
    }
    Ok(())
}

/// Makes every member leave the swarm (tear-down).
pub async fn leave_swarm(members: &[Engine]) -> Result<(), SwarmError> {
    // Workers first, the leader last, so the managers keep their quorum while others go.
    for e in members.iter().rev() {
        let state = membership(e).await?;
        if state.state != LocalNodeState::INACTIVE {
            e.docker
                .leave_swarm(Some(bollard::query_parameters::LeaveSwarmOptions {
                    force: true,
                }))
                .await
                .map_err(|err| e.error("swarm leave", err))?;
        }
    }
    Ok(())
}
