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
    #[error(
        "{node} is the swarm's only manager: removing it would leave the swarm without one. Promote another node first, or remove the whole cluster"
    )]
    LastManager { node: String },
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
    /// It is a manager of its swarm.
    manager: bool,
    /// Only managers know the cluster's id.
    cluster: Option<String>,
    node_id: Option<String>,
    /// The address it advertises to the swarm (`NodeAddr`).
    node_addr: Option<String>,
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
        manager: swarm.control_available.unwrap_or(false),
        cluster: swarm.cluster.and_then(|c| c.id),
        node_id: swarm.node_id.filter(|id| !id.is_empty()),
        node_addr: swarm.node_addr.filter(|a| !a.is_empty()),
    })
}

/// The node's role in a swarm it belongs to; None when it is in none (or still joining).
pub async fn swarm_role(e: &Engine) -> Result<Option<Role>, EngineError> {
    let m = membership(e).await?;
    Ok(match m.state {
        LocalNodeState::ACTIVE if m.manager => Some(Role::Manager),
        LocalNodeState::ACTIVE => Some(Role::Worker),
        _ => None,
    })
}

fn addr(ip: IpAddr) -> String {
    ip.to_string()
}

/// Forms (or checks) the swarm of `members`. A manager already in a swarm leads it (so a
/// recreated manager joins its peers rather than starting a new swarm); otherwise the first
/// manager initializes one. A swarm that is as it should be costs two rounds of API calls:
/// every member's state at once, then the leader's node list.
pub async fn form_swarm(members: &[SwarmMember], force: bool) -> Result<SwarmSummary, SwarmError> {
    let states: Vec<Membership> =
        futures::future::join_all(members.iter().map(|m| membership(&m.engine)))
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
    let is_manager = |i: &usize| members[*i].role == Role::Manager;
    let leader_index = (0..members.len())
        .filter(is_manager)
        .find(|i| states[*i].state == LocalNodeState::ACTIVE && states[*i].manager)
        .or_else(|| (0..members.len()).find(is_manager))
        .ok_or(SwarmError::NoManager)?;
    let managers = (0..members.len()).filter(is_manager).count();
    if managers % 2 == 0 {
        tracing::warn!(
            managers,
            "an even number of managers tolerates no more failures than one manager fewer; an odd number is recommended"
        );
    }
    let le = &members[leader_index].engine;
    let leader_state = &states[leader_index];
    let mut summary = SwarmSummary {
        leader: le.node.clone(),
        ..SwarmSummary::default()
    };
    let mut cluster_id = leader_state.cluster.clone();
    // A member that advertises an address it no longer has (its network was moved) is out of
    // reach of its peers.
    let moved = |i: usize| {
        states[i].state == LocalNodeState::ACTIVE
            && states[i]
                .node_addr
                .as_ref()
                .is_some_and(|a| *a != addr(members[i].engine.ip))
    };
    let leader_moved = moved(leader_index);
    if leader_moved && leader_state.manager {
        // The swarm's recovery for a manager whose address changed: a new cluster from its own
        // state (services, networks, secrets kept) at the new address; the others join again.
        let req = SwarmInitRequest {
            listen_addr: Some("0.0.0.0:2377".into()),
            advertise_addr: Some(addr(le.ip)),
            data_path_addr: Some(addr(le.ip)),
            force_new_cluster: Some(true),
            ..SwarmInitRequest::default()
        };
        le.docker
            .init_swarm(req)
            .await
            .map_err(|e| le.error("swarm init --force-new-cluster (its address changed)", e))?;
        tracing::info!(node = %le.node, ip = %le.ip, "the swarm's manager moved: re-formed at its new address");
        summary.joined.push(le.node.clone());
    } else if leader_state.state == LocalNodeState::ACTIVE && leader_state.manager {
        summary.unchanged.push(le.node.clone());
    } else {
        if leader_state.state != LocalNodeState::INACTIVE {
            leave_other_swarm(le, leader_state, force).await?;
        }
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
        cluster_id = None;
    }
    let mut nodes = list_nodes(le).await?;
    // Workers do not know the cluster's id: a node is ours when the leader lists it.
    let ours =
        |state: &Membership, cluster_id: &Option<String>, nodes: &[bollard::models::Node]| {
            (state.state == LocalNodeState::ACTIVE || state.state == LocalNodeState::PENDING)
                && (state.cluster.is_some() && state.cluster == *cluster_id
                    || state
                        .node_id
                        .as_ref()
                        .is_some_and(|id| nodes.iter().any(|n| n.id.as_ref() == Some(id))))
        };
    // After the manager moved, every other member joins again (it knows the old address);
    // so does one that moved itself.
    let rejoin: Vec<bool> = (0..members.len())
        .map(|i| i != leader_index && (leader_moved || moved(i)))
        .collect();
    for i in (0..members.len()).filter(|i| rejoin[*i]) {
        leave(
            &members[i].engine,
            "leaving the swarm to join it at its new address",
        )
        .await?;
    }
    // Their entries go first: the leader cannot reach them at their old addresses to hear
    // they left, and the entries would linger beside the new ones.
    let leader_id = states[leader_index].node_id.clone();
    let stale: Vec<&bollard::models::Node> = nodes
        .iter()
        .filter(|n| n.id.is_some() && n.id != leader_id)
        .filter(|n| {
            (0..members.len())
                .any(|i| rejoin[i] && hostname_of(n) == Some(members[i].engine.node.as_str()))
        })
        .collect();
    for n in &stale {
        demote_if_manager(le, n).await?;
        if let Some(id) = n.id.as_deref() {
            delete_node(le, id, "removing the entry of a node that joins again").await?;
        }
    }
    if !stale.is_empty() {
        nodes = list_nodes(le).await?;
    }
    let states: Vec<Membership> = states
        .into_iter()
        .enumerate()
        .map(|(i, st)| {
            if rejoin[i] {
                Membership {
                    state: LocalNodeState::INACTIVE,
                    manager: false,
                    cluster: None,
                    node_id: None,
                    node_addr: None,
                }
            } else {
                st
            }
        })
        .collect();
    let joining: Vec<usize> = (0..members.len())
        .filter(|i| *i != leader_index && !ours(&states[*i], &cluster_id, &nodes))
        .collect();
    for i in (0..members.len()).filter(|i| *i != leader_index && !joining.contains(i)) {
        summary.unchanged.push(members[i].engine.node.clone());
    }
    if !joining.is_empty() {
        let swarm = le
            .docker
            .inspect_swarm()
            .await
            .map_err(|e| le.error("reading the join tokens", e))?;
        cluster_id = swarm.id.clone();
        let tokens = swarm.join_tokens.unwrap_or_default();
        let (manager_token, worker_token) = (
            tokens.manager.unwrap_or_default(),
            tokens.worker.unwrap_or_default(),
        );
        let remote = format!("{}:2377", le.ip);
        let joins = joining.iter().map(|i| {
            let (m, state) = (&members[*i], &states[*i]);
            let token = if m.role == Role::Manager {
                manager_token.clone()
            } else {
                worker_token.clone()
            };
            let remote = remote.clone();
            async move {
                let e = &m.engine;
                if state.state != LocalNodeState::INACTIVE {
                    leave_other_swarm(e, state, force).await?;
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
                Ok::<_, SwarmError>(e.node.clone())
            }
        });
        for joined in futures::future::join_all(joins).await {
            summary.joined.push(joined?);
        }
        nodes = list_nodes(le).await?;
    }
    summary.cluster_id = cluster_id.unwrap_or_default();
    if !prune_replaced(le, &nodes).await?.is_empty() {
        nodes = list_nodes(le).await?;
    }
    apply_node_settings(le, members, &nodes).await?;
    Ok(summary)
}

/// Leaves the swarm a node is in, when `force` allows; otherwise the error says which.
async fn leave_other_swarm(e: &Engine, state: &Membership, force: bool) -> Result<(), SwarmError> {
    if !force {
        return Err(SwarmError::OtherSwarm {
            node: e.node.clone(),
            their: state.cluster.clone().unwrap_or_else(|| "unknown".into()),
        });
    }
    leave(e, "leaving its old swarm").await
}

async fn list_nodes(leader: &Engine) -> Result<Vec<bollard::models::Node>, SwarmError> {
    Ok(leader
        .docker
        .list_nodes(None::<bollard::query_parameters::ListNodesOptions>)
        .await
        .map_err(|e| leader.error("listing the swarm's nodes", e))?)
}

/// Whether the swarm reports a node as down.
fn is_down(n: &bollard::models::Node) -> bool {
    n.status.as_ref().and_then(|s| s.state) == Some(bollard::models::NodeState::DOWN)
}

fn hostname_of(n: &bollard::models::Node) -> Option<&str> {
    n.description.as_ref().and_then(|d| d.hostname.as_deref())
}

/// Removes the entries a recreated node left behind: when the swarm lists a hostname more
/// than once, the entries that are down go (demoted first when they were managers), as
/// `docker node demote` and `docker node rm` would.
async fn prune_replaced(
    leader: &Engine,
    nodes: &[bollard::models::Node],
) -> Result<Vec<String>, SwarmError> {
    let mut pruned = Vec::new();
    for n in nodes {
        let Some(host) = hostname_of(n) else { continue };
        let has_live_twin = nodes
            .iter()
            .any(|o| o.id != n.id && hostname_of(o) == Some(host) && !is_down(o));
        if !(is_down(n) && has_live_twin) {
            continue;
        }
        let Some(id) = n.id.as_deref() else { continue };
        demote_if_manager(leader, n).await?;
        delete_node(leader, id, &format!("removing the stale entry of {host}")).await?;
        tracing::info!(
            node = host,
            id,
            "removed the swarm entry of a replaced node"
        );
        pruned.push(host.to_string());
    }
    Ok(pruned)
}

/// `docker node demote`, when the node is a manager.
async fn demote_if_manager(leader: &Engine, n: &bollard::models::Node) -> Result<(), SwarmError> {
    let mut spec = n.spec.clone().unwrap_or_default();
    if spec.role != Some(NodeSpecRoleEnum::MANAGER) {
        return Ok(());
    }
    spec.role = Some(NodeSpecRoleEnum::WORKER);
    let what = format!("demoting {}", hostname_of(n).unwrap_or("a node"));
    update_node(leader, n, spec, &what).await
}

/// Writes a node's spec at its current version (`docker node update`).
async fn update_node(
    leader: &Engine,
    n: &bollard::models::Node,
    spec: bollard::models::NodeSpec,
    what: &str,
) -> Result<(), SwarmError> {
    let (Some(id), Some(version)) = (n.id.as_deref(), n.version.as_ref().and_then(|v| v.index))
    else {
        return Ok(());
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
        .map_err(|e| leader.error(what, e))?;
    Ok(())
}

/// Takes the node `hostname` out of the swarm as `docker node demote`, `docker swarm leave`
/// (on the node, when it answers) and `docker node rm` do. The swarm's last manager is refused.
pub async fn remove_member(
    leader: &Engine,
    member: Option<&Engine>,
    hostname: &str,
) -> Result<(), SwarmError> {
    let nodes = leader
        .docker
        .list_nodes(None::<bollard::query_parameters::ListNodesOptions>)
        .await
        .map_err(|e| leader.error("listing the swarm's nodes", e))?;
    let mine: Vec<&bollard::models::Node> = nodes
        .iter()
        .filter(|n| hostname_of(n) == Some(hostname))
        .collect();
    let is_manager = |n: &bollard::models::Node| {
        n.spec.as_ref().and_then(|s| s.role) == Some(NodeSpecRoleEnum::MANAGER)
    };
    let other_managers = nodes
        .iter()
        .filter(|n| hostname_of(n) != Some(hostname) && is_manager(n) && !is_down(n))
        .count();
    if mine.iter().any(|n| is_manager(n)) && other_managers == 0 {
        return Err(SwarmError::LastManager {
            node: hostname.to_string(),
        });
    }
    for n in &mine {
        demote_if_manager(leader, n).await?;
    }
    if let Some(e) = member {
        let state = membership(e).await?;
        if state.state != LocalNodeState::INACTIVE {
            leave(e, "swarm leave").await?;
        }
    }
    for n in mine {
        if let Some(id) = n.id.as_deref() {
            delete_node(leader, id, &format!("removing {hostname} from the swarm")).await?;
        }
    }
    Ok(())
}

/// `docker node rm --force`.
async fn delete_node(leader: &Engine, id: &str, what: &str) -> Result<(), SwarmError> {
    leader
        .docker
        .delete_node(
            id,
            Some(bollard::query_parameters::DeleteNodeOptions { force: true }),
        )
        .await
        .map_err(|e| leader.error(what, e))?;
    Ok(())
}

/// `docker swarm leave --force` on the node `e`.
async fn leave(e: &Engine, what: &str) -> Result<(), SwarmError> {
    e.docker
        .leave_swarm(Some(bollard::query_parameters::LeaveSwarmOptions {
            force: true,
        }))
        .await
        .map_err(|err| e.error(what, err))?;
    Ok(())
}

/// Node labels, availability and roles, set through the leader on the swarm's `nodes`.
async fn apply_node_settings(
    leader: &Engine,
    members: &[SwarmMember],
    nodes: &[bollard::models::Node],
) -> Result<(), SwarmError> {
    for m in members {
        let mut same_name = nodes
            .iter()
            .filter(|n| hostname_of(n) == Some(m.engine.node.as_str()));
        let Some(node) = same_name
            .clone()
            .find(|n| !is_down(n))
            .or_else(|| same_name.next())
        else {
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
            update_node(
                leader,
                node,
                spec,
                &format!("updating node {}", m.engine.node),
            )
            .await?;
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
            leave(e, "swarm leave").await?;
        }
    }
    Ok(())
}
