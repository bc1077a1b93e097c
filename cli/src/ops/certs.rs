//! `vswarm regenerate-certs`: new certificates for the nodes' daemons and the client, without
//! stopping a container.
//!
//! dockerd reads its TLS material only when it starts and cannot reload it; restarting it stops
//! every container on the node, and live-restore (which would keep them) is refused in swarm
//! mode. So by default the new server certificates are installed and served from each daemon's
//! next start, while the new client certificate (same CA) works at once against old and new
//! server certificates alike. `--restart-docker` restarts the daemons now, stopping their
//! containers, for when a server certificate must change at once.

use std::time::Instant;

use serde::Serialize;
use swarm_bootstrap::provision::{Boot2Docker, renew_server_certificate};
use swarm_bootstrap::tls::{ClusterCa, certificate_info_pem};

use super::{Cluster, Session, Target};
use crate::context::{DockerContext, docker_config_dir};
use crate::error::{Doing, Result};
use crate::events::{Event, NodeStep};

#[derive(Debug, Clone, Serialize)]
pub struct CertsReport {
    pub cluster: String,
    pub client_certificate_expires: Option<String>,
    pub nodes: Vec<NodeCerts>,
    /// Docker was restarted on the nodes (their containers stopped).
    pub docker_restarted: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeCerts {
    pub node: String,
    /// The new certificate is served now (Docker restarted) or from Docker's next start.
    pub served: &'static str,
}

pub async fn regenerate(
    session: &Session<'_>,
    target: &Target,
    names: &[String],
    restart_docker: bool,
) -> Result<CertsReport> {
    let cluster = session.cluster(target, names.first().map(String::as_str))?;
    let _lock = session.lock(cluster.name(), "regenerate-certs").await?;
    let cluster = Cluster {
        record: cluster.dir.read_record()?.unwrap_or(cluster.record.clone()),
        dir: cluster.dir,
    };
    let chosen = cluster.chosen(names)?;
    let ca = ClusterCa::load_or_create(&cluster.dir.tls(), cluster.name())
        .doing("reading the cluster's CA")?;
    let client = ca
        .renew_client_files(&cluster.dir.client())
        .doing("issuing a new client certificate")?;
    if let (Some(context), Some(config)) = (&cluster.record.context, docker_config_dir()) {
        let leader = cluster
            .record
            .leader
            .as_deref()
            .and_then(|l| cluster.record.node(l))
            .and_then(|n| n.ip.clone());
        if let Some(ip) = leader {
            DockerContext::new(&config, context).write(
                &format!("vswarm cluster {}", cluster.name()),
                &format!("tcp://{ip}:2376"),
                &client.ca,
                &client.cert,
                &client.key,
            )?;
        }
    }
    let known = cluster.known_hosts();
    let results = futures::future::join_all(chosen.iter().map(|node| {
        let (ca, client, known, cluster) = (&ca, &client, &known, &cluster);
        async move {
            let start = Instant::now();
            session.reporter.event(Event::NodeStep {
                node: node.name.clone(),
                step: NodeStep::Renewing,
                elapsed: start.elapsed(),
            });
            let access = cluster.access(node, cluster.ip(node)?, None)?;
            renew_server_certificate(&Boot2Docker, &access, ca, client, known, restart_docker)
                .await
                .doing(format!("renewing the certificate of {}", node.name))?;
            session.reporter.event(Event::NodeDone {
                node: node.name.clone(),
                detail: "certificate renewed".into(),
                elapsed: start.elapsed(),
            });
            Ok(NodeCerts {
                node: node.name.clone(),
                served: if restart_docker {
                    "now"
                } else {
                    "from Docker's next start"
                },
            })
        }
    }))
    .await;
    let nodes = results.into_iter().collect::<Result<Vec<_>>>()?;
    if !restart_docker {
        session.note(
            "containers keep running: each daemon serves its new certificate from its next start (`vswarm restart NODE`); the new client certificate works now",
        );
    }
    Ok(CertsReport {
        cluster: cluster.name().to_string(),
        client_certificate_expires: std::fs::read_to_string(&client.cert)
            .ok()
            .and_then(|pem| certificate_info_pem(&pem))
            .map(|c| c.not_after_text()),
        nodes,
        docker_restarted: restart_docker,
    })
}
