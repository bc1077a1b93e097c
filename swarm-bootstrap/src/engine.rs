//! The Docker Engine API of a node, over mutual TLS on port 2376.
//!
//! boot2docker 19.03 speaks API 1.40 at most, so the client starts there and negotiates down or
//! up with the daemon. Errors say which node and which step failed.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use bollard::{ClientVersion, Docker};

use crate::tls::ClientFiles;

/// The port dockerd listens on with TLS.
pub const DOCKER_TLS_PORT: u16 = 2376;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{node}: {step}")]
    Api {
        node: String,
        step: String,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("{node}: setting up TLS")]
    Tls {
        node: String,
        #[source]
        source: crate::tls::TlsError,
    },
    #[error(
        "{node}: the Docker daemon at tcp://{ip}:{port} did not answer over TLS within {waited:?}"
    )]
    NotAnswering {
        node: String,
        ip: IpAddr,
        port: u16,
        waited: Duration,
        /// What the last try met.
        #[source]
        last: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// A node's daemon.
#[derive(Debug, Clone)]
pub struct Engine {
    pub node: String,
    pub ip: IpAddr,
    pub docker: Docker,
}

/// The crypto provider every TLS client of the process uses (bollard and reqwest must agree).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

impl Engine {
    /// Connects to `tcp://IP:2376` with the client certificate and negotiates the API version.
    /// The cluster's CA is the only root trusted: a daemon whose certificate another CA (a
    /// public one included) signed is refused.
    pub async fn connect(
        node: &str,
        ip: IpAddr,
        client: &ClientFiles,
    ) -> Result<Engine, EngineError> {
        let api = |step: &str, source| EngineError::Api {
            node: node.to_string(),
            step: step.to_string(),
            source,
        };
        let config = crate::tls::client_config(client).map_err(|e| EngineError::Tls {
            node: node.to_string(),
            source: e,
        })?;
        let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
        http.enforce_http(false);
        let https = hyper_rustls::HttpsConnector::from((http, config));
        let mut builder =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new());
        builder.pool_max_idle_per_host(0);
        let http_client = std::sync::Arc::new(builder.build(https));
        let transport = move |request: bollard::BollardRequest| {
            let http_client = std::sync::Arc::clone(&http_client);
            async move {
                http_client
                    .request(request)
                    .await
                    .map_err(bollard::errors::Error::from)
            }
        };
        let docker = Docker::connect_with_custom_transport(
            transport,
            Some(format!(
                "https://{}",
                std::net::SocketAddr::new(ip, DOCKER_TLS_PORT)
            )),
            60,
            &ClientVersion {
                major_version: 1,
                minor_version: 40,
            },
        )
        .map_err(|e| api("connecting over TLS", e))?;
        let docker = docker
            .negotiate_version()
            .await
            .map_err(|e| api("negotiating the API version", e))?;
        Ok(Engine {
            node: node.to_string(),
            ip,
            docker,
        })
    }

    /// Waits until the daemon answers a ping over mutual TLS.
    pub async fn wait_until_answering(
        node: &str,
        ip: IpAddr,
        client: &ClientFiles,
        limit: Duration,
    ) -> Result<Engine, EngineError> {
        let attempt = || async {
            let engine = Engine::connect(node, ip, client).await.map_err(Box::new)?;
            let ping = engine.docker.ping().await;
            ping.map_err(|e| Box::new(engine.error("answering a ping", e)))?;
            Ok(engine)
        };
        let start = Instant::now();
        attempt
            .retry(
                ExponentialBuilder::new()
                    .with_min_delay(Duration::from_millis(100))
                    .with_max_delay(Duration::from_secs(1))
                    .without_max_times(),
            )
            .adjust(|_, delay| delay.filter(|_| start.elapsed() <= limit))
            .await
            .map_err(|last: Box<EngineError>| EngineError::NotAnswering {
                node: node.to_string(),
                ip,
                port: DOCKER_TLS_PORT,
                waited: limit,
                last,
            })
    }

    /// An API error of this node at `step`.
    pub fn error(&self, step: &str, source: bollard::errors::Error) -> EngineError {
        EngineError::Api {
            node: self.node.clone(),
            step: step.to_string(),
            source,
        }
    }
}
