//! Checking that a deployed stack works, as the seed's user did by hand: every service's tasks
//! run, each published port answers on every node, and a service's name resolves inside its
//! overlay network (the seed's `drill nginx`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use backon::{ConstantBuilder, Retryable};
use bollard::models::{ExecConfig, TaskState};
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::deploy::NAMESPACE_LABEL;
use crate::engine::{Engine, EngineError};

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("service {service} did not get its tasks running within {waited:?}: {detail}")]
    TasksNotRunning {
        service: String,
        waited: Duration,
        detail: String,
    },
    #[error("service {service} has no running task to look names up from")]
    NoRunningTask { service: String },
    #[error("node {node} is not among the nodes vswarm can reach")]
    UnknownNode { node: String },
}

/// Running tasks of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceState {
    pub service: String,
    pub running: usize,
    /// Nodes (hostnames) running a task.
    pub nodes: Vec<String>,
}

fn stack_filter(stack: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([(
        "label".to_string(),
        vec![format!("{NAMESPACE_LABEL}={stack}")],
    )])
}

async fn node_names(manager: &Engine) -> Result<HashMap<String, String>, EngineError> {
    let nodes = manager
        .docker
        .list_nodes(None::<bollard::query_parameters::ListNodesOptions>)
        .await
        .map_err(|e| manager.error("listing nodes", e))?;
    Ok(nodes
        .into_iter()
        .filter_map(|n| {
            Some((
                n.id?,
                n.description.and_then(|d| d.hostname).unwrap_or_default(),
            ))
        })
        .collect())
}

/// Waits until every service of `stack` runs as many tasks as it wants; on timeout the error
/// carries the failing task's own message and node.
pub async fn wait_for_stack(
    manager: &Engine,
    stack: &str,
    limit: Duration,
) -> Result<Vec<ServiceState>, VerifyError> {
    let start = Instant::now();
    let list_services = || {
        manager
            .docker
            .list_services(Some(bollard::query_parameters::ListServicesOptions {
                filters: Some(stack_filter(stack)),
                ..Default::default()
            }))
    };
    // The node names are read once, alongside the first listing.
    let (first, names) = tokio::join!(list_services(), node_names(manager));
    let names = names?;
    let node_of =
        |t: &bollard::models::Task| t.node_id.as_ref().and_then(|id| names.get(id)).cloned();
    let first = std::sync::Mutex::new(Some(first));
    let check = || async {
        let listed = first.lock().ok().and_then(|mut f| f.take());
        let services = match listed {
            Some(services) => services,
            None => list_services().await,
        };
        let services = services.map_err(|e| {
            StackCheck::Failed(manager.error("listing the stack's services", e).into())
        })?;
        let service_names: Vec<String> = services
            .iter()
            .map(|s| {
                s.spec
                    .as_ref()
                    .and_then(|x| x.name.clone())
                    .unwrap_or_default()
            })
            .collect();
        let all_tasks = futures::future::join_all(service_names.iter().map(|name| {
            let filters = HashMap::from([("service".to_string(), vec![name.clone()])]);
            manager
                .docker
                .list_tasks(Some(bollard::query_parameters::ListTasksOptions {
                    filters: Some(filters),
                }))
        }))
        .await;
        let mut states = Vec::new();
        let mut pending: Option<(String, String)> = None;
        for ((s, name), tasks) in services.iter().zip(&service_names).zip(all_tasks) {
            let name = name.clone();
            let tasks = tasks.map_err(|e| {
                StackCheck::Failed(
                    manager
                        .error(&format!("listing the tasks of {name}"), e)
                        .into(),
                )
            })?;
            let wanted_running: Vec<_> = tasks
                .iter()
                .filter(|t| t.desired_state == Some(TaskState::RUNNING))
                .collect();
            let running: Vec<_> = wanted_running
                .iter()
                .filter(|t| t.status.as_ref().and_then(|s| s.state) == Some(TaskState::RUNNING))
                .collect();
            let replicas = s
                .spec
                .as_ref()
                .and_then(|x| x.mode.as_ref())
                .and_then(|m| m.replicated.as_ref())
                .and_then(|r| r.replicas)
                .map(|r| r as usize);
            let complete = match replicas {
                Some(n) => running.len() >= n,
                None => !wanted_running.is_empty() && running.len() == wanted_running.len(),
            };
            if !complete && pending.is_none() {
                // The newest task with an error says why.
                let failing = tasks
                    .iter()
                    .filter(|t| t.status.as_ref().and_then(|s| s.err.as_ref()).is_some())
                    .max_by_key(|t| t.updated_at.clone());
                let detail = match failing {
                    Some(t) => {
                        let node = node_of(t).unwrap_or_else(|| "no node".into());
                        let err = t
                            .status
                            .as_ref()
                            .and_then(|s| s.err.clone())
                            .unwrap_or_default();
                        format!("a task on {node} failed: {err}")
                    }
                    None => {
                        let count = format!(
                            "{} of {} tasks running",
                            running.len(),
                            replicas.unwrap_or(wanted_running.len())
                        );
                        // No task failed yet: say where the newest one stands.
                        match tasks.iter().max_by_key(|t| t.updated_at.clone()) {
                            Some(t) => {
                                let node = node_of(t).unwrap_or_else(|| "no node yet".into());
                                let status = t.status.as_ref();
                                let state = status
                                    .and_then(|s| s.state)
                                    .map(|s| s.to_string())
                                    .unwrap_or_default();
                                let message =
                                    status.and_then(|s| s.message.clone()).unwrap_or_default();
                                format!(
                                    "{count}; the newest task, on {node}, is {state} ({message})"
                                )
                            }
                            None => count,
                        }
                    }
                };
                pending = Some((name.clone(), detail));
            }
            let mut nodes: Vec<String> = running.iter().filter_map(|t| node_of(t)).collect();
            nodes.sort();
            states.push(ServiceState {
                service: name,
                running: running.len(),
                nodes,
            });
        }
        match pending {
            None if !services.is_empty() => Ok(states),
            Some((service, detail)) => Err(StackCheck::NotYet { service, detail }),
            None => Err(StackCheck::NotYet {
                service: stack.into(),
                detail: "the stack has no services".into(),
            }),
        }
    };
    check
        .retry(
            ConstantBuilder::new()
                .with_delay(Duration::from_millis(250))
                .without_max_times(),
        )
        .when(|c| matches!(c, StackCheck::NotYet { .. }))
        .adjust(|_, delay| delay.filter(|_| start.elapsed() <= limit))
        .await
        .map_err(|c| match c {
            StackCheck::Failed(e) => e,
            StackCheck::NotYet { service, detail } => VerifyError::TasksNotRunning {
                service,
                waited: limit,
                detail,
            },
        })
}

/// Why one look at a stack's tasks did not end the wait.
enum StackCheck {
    /// `service` does not run what it wants yet; `detail` says where it stands.
    NotYet {
        service: String,
        detail: String,
    },
    Failed(VerifyError),
}

/// What one published port said on one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortProbe {
    pub node: String,
    pub ip: IpAddr,
    pub port: u16,
    /// The HTTP status line, or what went wrong.
    pub answer: Result<String, String>,
}

/// Sends `GET /` to each port on each node and reports which answered.
pub async fn probe_ports(nodes: &[(String, IpAddr)], ports: &[u16]) -> Vec<PortProbe> {
    let probes = nodes
        .iter()
        .flat_map(|(node, ip)| ports.iter().map(move |p| (node.clone(), *ip, *p)));
    futures::future::join_all(probes.map(|(node, ip, port)| async move {
        let answer = http_status_line(ip, port).await;
        PortProbe {
            node,
            ip,
            port,
            answer,
        }
    }))
    .await
}

async fn http_status_line(ip: IpAddr, port: u16) -> Result<String, String> {
    let attempt = async {
        let mut s = tokio::net::TcpStream::connect((ip, port))
            .await
            .map_err(|e| e.to_string())?;
        s.write_all(format!("GET / HTTP/1.0\r\nHost: {ip}\r\n\r\n").as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&buf);
        text.lines()
            .next()
            .filter(|l| l.starts_with("HTTP/"))
            .map(str::to_string)
            .ok_or_else(|| "no HTTP answer".to_string())
    };
    tokio::time::timeout(Duration::from_secs(5), attempt)
        .await
        .unwrap_or_else(|_| Err("timed out".into()))
}

/// Resolves `name` from inside a running task of `service` (its overlay network's DNS), and
/// returns the addresses, as `drill nginx` showed the service's virtual IP.
pub async fn resolve_from_service(
    manager: &Engine,
    engines: &[Engine],
    service: &str,
    name: &str,
) -> Result<Vec<IpAddr>, VerifyError> {
    let names = node_names(manager).await?;
    let filters = HashMap::from([
        ("service".to_string(), vec![service.to_string()]),
        ("desired-state".to_string(), vec!["running".to_string()]),
    ]);
    let tasks = manager
        .docker
        .list_tasks(Some(bollard::query_parameters::ListTasksOptions {
            filters: Some(filters),
        }))
        .await
        .map_err(|e| manager.error(&format!("listing the tasks of {service}"), e))?;
    let task = tasks
        .iter()
        .find(|t| t.status.as_ref().and_then(|s| s.state) == Some(TaskState::RUNNING))
        .ok_or_else(|| VerifyError::NoRunningTask {
            service: service.to_string(),
        })?;
    let node = task
        .node_id
        .as_ref()
        .and_then(|id| names.get(id))
        .cloned()
        .unwrap_or_default();
    let engine = engines
        .iter()
        .find(|e| e.node == node)
        .ok_or(VerifyError::UnknownNode { node: node.clone() })?;
    let container = task
        .status
        .as_ref()
        .and_then(|s| s.container_status.as_ref())
        .and_then(|c| c.container_id.clone())
        .ok_or_else(|| VerifyError::NoRunningTask {
            service: service.to_string(),
        })?;
    let exec = engine
        .docker
        .create_exec(
            &container,
            ExecConfig {
                cmd: Some(vec!["nslookup".into(), name.into()]),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| engine.error("creating the DNS lookup", e))?;
    let mut text = String::new();
    if let bollard::exec::StartExecResults::Attached { mut output, .. } = engine
        .docker
        .start_exec(&exec.id, None)
        .await
        .map_err(|e| engine.error("running the DNS lookup", e))?
    {
        while let Some(chunk) = output.next().await {
            match chunk {
                Ok(c) => text.push_str(&c.to_string()),
                Err(e) => return Err(engine.error("reading the DNS lookup", e).into()),
            }
        }
    }
    Ok(parse_nslookup(&text))
}

/// The answer addresses of busybox/bind `nslookup` output (not the server's own).
pub fn parse_nslookup(text: &str) -> Vec<IpAddr> {
    let mut out = Vec::new();
    let mut in_answer = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("Name:") {
            in_answer = true;
        }
        if let Some(rest) = t
            .strip_prefix("Address:")
            .or_else(|| t.strip_prefix("Address 1:"))
        {
            let word = rest.split_whitespace().next().unwrap_or("");
            if !in_answer || word.contains('#') || word.ends_with(":53") {
                continue;
            }
            if let Ok(ip) = word.parse() {
                out.push(ip);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nslookup_answers_are_read() {
        let busybox = "Server:\t\t127.0.0.11\nAddress:\t127.0.0.11:53\n\nNon-authoritative answer:\nName:\tnginx\nAddress: 10.0.1.2\n\n";
        assert_eq!(
            parse_nslookup(busybox),
            vec!["10.0.1.2".parse::<IpAddr>().unwrap()]
        );
        let bind = "Server:\t\t127.0.0.11\nAddress:\t127.0.0.11#53\n\nNon-authoritative answer:\nName:\ttasks.web\nAddress: 10.0.1.3\nName:\ttasks.web\nAddress: 10.0.1.4\n";
        assert_eq!(parse_nslookup(bind).len(), 2);
    }
}
