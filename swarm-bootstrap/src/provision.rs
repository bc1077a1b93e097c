//! Making a node's Docker daemon ours: hostname, TLS certificates, engine options, restart, and a
//! wait until it answers over mutual TLS.
//!
//! A [`Provisioner`] describes where a kind of host keeps these things; [`provision_node`] does
//! the work over one SSH connection and changes only what differs, so running it again changes
//! nothing (no restart). boot2docker keeps everything under `/var/lib/boot2docker` and reads
//! `profile`; a systemd host (for the generic driver) would implement the same trait with
//! `/etc/docker` and `systemctl`.

use std::net::IpAddr;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::engine::{Engine, EngineError};
use crate::ssh::{KnownHosts, SshConnection, SshError, SshTarget};
use crate::tls::{
    ClientFiles, ClusterCa, RENEW_WITHIN_DAYS, TlsError, cert_names_ip, certificate_info_pem,
    key_matches_cert,
};

/// Options of a node's Docker daemon.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineOptions {
    /// `key=value` engine labels; `provider=...` is added by the caller.
    pub labels: Vec<String>,
    pub registry_mirrors: Vec<String>,
    pub insecure_registries: Vec<String>,
    /// `overlay2` when empty.
    pub storage_driver: String,
    /// Extra environment for dockerd.
    pub env: Vec<(String, String)>,
}

/// A node as provisioning sees it: a name, an SSH endpoint and the IP other nodes reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeAccess {
    pub name: String,
    pub ssh: SshTarget,
    pub ip: IpAddr,
}

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error(transparent)]
    Ssh(#[from] SshError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{node}: {source}")]
    InvalidOption {
        node: String,
        #[source]
        source: OptionError,
    },
}

/// Which engine option (or name) is unsafe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionField {
    NodeName,
    /// The index in [`EngineOptions::labels`].
    Label(usize),
    RegistryMirror(usize),
    InsecureRegistry(usize),
    StorageDriver,
    /// The index in [`EngineOptions::env`].
    Env(usize),
}

/// A value that cannot be written into the daemon's configuration (or a name that cannot be a
/// hostname), with why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("engine option {what} '{value}' cannot be written safely: {why}")]
pub struct OptionError {
    pub field: OptionField,
    pub what: &'static str,
    pub value: String,
    pub why: &'static str,
}

/// Whether `name` can be a node's hostname: letters, digits and '-', at most 63, not starting
/// or ending with '-'.
pub fn valid_hostname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

impl EngineOptions {
    /// Rejects values that would break out of the configuration's quoting, before anything
    /// is created.
    pub fn validate(&self) -> Result<(), OptionError> {
        let bad = |field: OptionField, what: &'static str, value: &str, why: &'static str| {
            Err(OptionError {
                field,
                what,
                value: value.to_string(),
                why,
            })
        };
        let unsafe_chars = |v: &str| {
            v.chars()
                .any(|c| matches!(c, '\'' | '"' | '\\' | '\n' | '`' | '$') || c.is_whitespace())
        };
        for (i, l) in self.labels.iter().enumerate() {
            if unsafe_chars(l) || !l.contains('=') || l.starts_with('=') {
                return bad(
                    OptionField::Label(i),
                    "label",
                    l,
                    "labels are key=value without blanks or quotes",
                );
            }
        }
        for (i, m) in self.registry_mirrors.iter().enumerate() {
            if unsafe_chars(m) || !(m.starts_with("http://") || m.starts_with("https://")) {
                return bad(
                    OptionField::RegistryMirror(i),
                    "registry mirror",
                    m,
                    "a mirror is an http:// or https:// URL without blanks or quotes",
                );
            }
        }
        for (i, r) in self.insecure_registries.iter().enumerate() {
            if unsafe_chars(r) || r.is_empty() {
                return bad(
                    OptionField::InsecureRegistry(i),
                    "insecure registry",
                    r,
                    "a registry is host:port or a CIDR without blanks or quotes",
                );
            }
        }
        if unsafe_chars(&self.storage_driver) {
            return bad(
                OptionField::StorageDriver,
                "storage driver",
                &self.storage_driver,
                "a driver name has no blanks or quotes",
            );
        }
        for (i, (k, v)) in self.env.iter().enumerate() {
            let name_ok = !k.is_empty()
                && !k.starts_with(|c: char| c.is_ascii_digit())
                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !name_ok {
                return bad(
                    OptionField::Env(i),
                    "environment variable",
                    k,
                    "a variable name is letters, digits and '_', not starting with a digit",
                );
            }
            if unsafe_chars(v) {
                return bad(
                    OptionField::Env(i),
                    "environment variable",
                    k,
                    "values have no blanks or quotes",
                );
            }
        }
        Ok(())
    }
}

/// Where a kind of host keeps Docker's TLS material and options, and how it restarts Docker.
pub trait Provisioner: Sync {
    fn ca_path(&self) -> &str;
    fn cert_path(&self) -> &str;
    fn key_path(&self) -> &str;
    fn config_path(&self) -> &str;
    /// The daemon configuration file's content for these options.
    fn render_config(&self, options: &EngineOptions) -> String;
    fn set_hostname(&self, name: &str) -> String;
    /// Prints nothing and exits 0 when Docker runs.
    fn status_command(&self) -> &str;
    /// Returns once the guest's own start of Docker at boot is over (bounded): a restart issued
    /// while it still runs would race it for the daemon's pid file.
    fn settle_command(&self) -> &str;
    fn restart_command(&self) -> &str;
    /// Where vswarm notes the configuration Docker was last started with by it.
    fn stamp_path(&self) -> &str;
}

/// boot2docker: `/var/lib/boot2docker/{ca,server,server-key}.pem` and `profile`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Boot2Docker;

impl Provisioner for Boot2Docker {
    fn ca_path(&self) -> &str {
        "/var/lib/boot2docker/ca.pem"
    }
    fn cert_path(&self) -> &str {
        "/var/lib/boot2docker/server.pem"
    }
    fn key_path(&self) -> &str {
        "/var/lib/boot2docker/server-key.pem"
    }
    fn config_path(&self) -> &str {
        "/var/lib/boot2docker/profile"
    }
    fn render_config(&self, o: &EngineOptions) -> String {
        let mut extra = String::from("\n");
        for l in &o.labels {
            extra += &format!("--label {l}\n");
        }
        for m in &o.registry_mirrors {
            extra += &format!("--registry-mirror {m}\n");
        }
        for r in &o.insecure_registries {
            extra += &format!("--insecure-registry {r}\n");
        }
        let storage = if o.storage_driver.is_empty() {
            "overlay2"
        } else {
            &o.storage_driver
        };
        let mut s = format!(
            "EXTRA_ARGS='{extra}\n'\nCACERT={}\nDOCKER_HOST='-H tcp://0.0.0.0:2376'\nDOCKER_STORAGE={storage}\nDOCKER_TLS=auto\nSERVERKEY={}\nSERVERCERT={}\n",
            self.ca_path(),
            self.key_path(),
            self.cert_path()
        );
        for (k, v) in &o.env {
            s += &format!("export \"{k}={v}\"\n");
        }
        s
    }
    fn set_hostname(&self, name: &str) -> String {
        // The persistent copy is what boot2docker restores at the next boot.
        format!(
            "sudo /usr/bin/sethostname {name} && sudo mkdir -p /var/lib/boot2docker/etc && echo {name} | sudo tee /var/lib/boot2docker/etc/hostname >/dev/null"
        )
    }
    fn status_command(&self) -> &str {
        "sudo /etc/init.d/docker status >/dev/null 2>&1"
    }
    fn settle_command(&self) -> &str {
        // boot2docker's bootsync runs `/etc/init.d/docker start` after sshd is up; on a first
        // boot (a userdata disk, no profile yet) that start makes its own CA and keys first
        // (seconds of RSA-4096) and only then launches dockerd, which writes its pid file a
        // moment later. Wait out both, at most about two minutes, in fifths of a second where
        // `sleep` takes fractions (a busybox built without them sleeps whole seconds).
        "i=0; while [ $i -lt 600 ]; do if ps ax 2>/dev/null | grep -q '[/]etc/init.d/docker start'; then :; elif pidof dockerd >/dev/null 2>&1 && ! sudo /etc/init.d/docker status >/dev/null 2>&1; then :; else break; fi; sleep 0.2 2>/dev/null || { sleep 1; i=$((i + 4)); }; i=$((i + 1)); done"
    }
    fn restart_command(&self) -> &str {
        "sudo /etc/init.d/docker restart"
    }
    fn stamp_path(&self) -> &str {
        "/var/lib/boot2docker/.vswarm-started-with"
    }
}

/// What provisioning changed on a node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProvisionReport {
    pub node: String,
    /// `hostname`, `certificates`, `engine options`, `docker restarted`.
    pub changed: Vec<&'static str>,
    /// SSH connections opened (one).
    pub ssh_connections: u32,
}

/// Checks the node's name and the options before anything is written.
fn check_options(node: &str, o: &EngineOptions) -> Result<(), ProvisionError> {
    let invalid = |source| ProvisionError::InvalidOption {
        node: node.to_string(),
        source,
    };
    if !valid_hostname(node) {
        return Err(invalid(OptionError {
            field: OptionField::NodeName,
            what: "node name",
            value: node.to_string(),
            why: "a node name is a hostname: letters, digits and '-', at most 63",
        }));
    }
    o.validate().map_err(invalid)
}

/// Provisions one node over one SSH connection and returns a client for its daemon.
pub async fn provision_node(
    provisioner: &impl Provisioner,
    node: &NodeAccess,
    ca: &ClusterCa,
    client: &ClientFiles,
    known: &KnownHosts,
    options: &EngineOptions,
) -> Result<(ProvisionReport, Engine), ProvisionError> {
    check_options(&node.name, options)?;
    let mut report = ProvisionReport {
        node: node.name.clone(),
        changed: Vec::new(),
        ssh_connections: 1,
    };

    // Everything we need to know, in one command.
    let sep = "---vswarm---";
    let probe = format!(
        "{settle}; hostname; echo {sep}; sudo cat {ca} 2>/dev/null; echo {sep}; sudo cat {cert} 2>/dev/null; echo {sep}; sudo cat {cfg} 2>/dev/null; echo {sep}; if {status}; then echo running; else echo stopped; fi; echo {sep}; sudo cat {key} 2>/dev/null; echo {sep}; cat {stamp} 2>/dev/null; true",
        ca = provisioner.ca_path(),
        cert = provisioner.cert_path(),
        cfg = provisioner.config_path(),
        status = provisioner.status_command(),
        key = provisioner.key_path(),
        stamp = provisioner.stamp_path(),
        settle = provisioner.settle_command(),
    );
    // Meanwhile, a daemon that already answers over TLS is asked once (briefly): when nothing
    // needs changing, that client is the result, and a converged node costs no extra round.
    let reach = async {
        let ssh = SshConnection::connect(&node.ssh, known, Duration::from_secs(60)).await?;
        let seen = ssh.run(&probe).await?;
        Ok::<_, ProvisionError>((ssh, seen))
    };
    let answering = async {
        let attempt = async {
            let engine = Engine::connect(&node.name, node.ip, client).await.ok()?;
            engine.docker.ping().await.ok()?;
            Some(engine)
        };
        tokio::time::timeout(Duration::from_secs(2), attempt)
            .await
            .ok()
            .flatten()
    };
    let (reached, answering) = tokio::join!(reach, answering);
    let (ssh, seen) = reached?;
    let parts: Vec<&str> = seen.split(&format!("{sep}\n")).collect();
    let part = |i: usize| parts.get(i).copied().unwrap_or("");
    let (hostname, remote_ca, remote_cert, remote_cfg, status, remote_key, stamp) = (
        part(0).trim(),
        part(1),
        part(2),
        part(3),
        part(4).trim(),
        part(5),
        part(6).trim(),
    );

    if hostname != node.name {
        ssh.run(&provisioner.set_hostname(&node.name)).await?;
        report.changed.push("hostname");
    }
    let certs_current = remote_ca == ca.cert_pem()
        && cert_names_ip(remote_cert, node.ip)
        && key_matches_cert(remote_key, remote_cert)
        && certificate_info_pem(remote_cert).is_some_and(|c| !c.expires_within(RENEW_WITHIN_DAYS));
    if !certs_current {
        install_server_certificate(provisioner, &ssh, node, ca).await?;
        report.changed.push("certificates");
    }
    let config = provisioner.render_config(options);
    if remote_cfg != config {
        ssh.upload(provisioner.config_path(), config.as_bytes(), "644")
            .await?;
        report.changed.push("engine options");
    }
    // The daemon runs what the files say only if it started after they were written: the stamp
    // holds the configuration of its last start by vswarm, and a daemon that does not answer
    // over TLS (an earlier run stopped between writing and restarting) is restarted too. A
    // certificate renewed without a restart (`regenerate-certs`) changes neither.
    let started_with = hex::encode(Sha256::digest(config.as_bytes()));
    let mut restart = !report.changed.is_empty()
        || status != "running"
        || (!stamp.is_empty() && stamp != started_with);
    let mut engine = None;
    if !restart {
        engine = match answering {
            Some(engine) => Some(engine),
            None => {
                Engine::wait_until_answering(&node.name, node.ip, client, Duration::from_secs(10))
                    .await
                    .ok()
            }
        };
        restart = engine.is_none();
    }
    if restart {
        ssh.run(provisioner.restart_command()).await?;
        report.changed.push("docker restarted");
    }
    let engine = match engine {
        Some(engine) => engine,
        None => {
            Engine::wait_until_answering(&node.name, node.ip, client, Duration::from_secs(60))
                .await?
        }
    };
    if stamp != started_with {
        ssh.run(&format!(
            "echo {started_with} | sudo tee {} >/dev/null",
            provisioner.stamp_path()
        ))
        .await?;
    }
    tracing::info!(node = %node.name, changed = ?report.changed, "provisioned");
    Ok((report, engine))
}

/// Issues the node a new server certificate and installs it with the CA.
async fn install_server_certificate(
    provisioner: &impl Provisioner,
    ssh: &SshConnection,
    node: &NodeAccess,
    ca: &ClusterCa,
) -> Result<(), ProvisionError> {
    // Each file is replaced atomically; the probe notices a set cut short in between (a key
    // that is not the certificate's) and installs it again.
    let issued = ca.issue_server(&node.name, node.ip)?;
    ssh.upload(provisioner.key_path(), issued.key_pem.as_bytes(), "600")
        .await?;
    ssh.upload(provisioner.cert_path(), issued.cert_pem.as_bytes(), "644")
        .await?;
    ssh.upload(provisioner.ca_path(), ca.cert_pem().as_bytes(), "644")
        .await?;
    Ok(())
}

/// Issues a node a new server certificate and installs it, over one SSH connection.
///
/// dockerd reads its TLS material only when it starts (it cannot reload it), and restarting it
/// stops every container on the node (live-restore, which would keep them, is refused in swarm
/// mode). So with `restart` false nothing stops: the daemon serves the new certificate from its
/// next start (a reboot, `vswarm restart`), and clients keep working meanwhile because the CA is
/// unchanged. With `restart` true Docker restarts now and is waited for.
pub async fn renew_server_certificate(
    provisioner: &impl Provisioner,
    node: &NodeAccess,
    ca: &ClusterCa,
    client: &ClientFiles,
    known: &KnownHosts,
    restart: bool,
) -> Result<ProvisionReport, ProvisionError> {
    let ssh = SshConnection::connect(&node.ssh, known, Duration::from_secs(20)).await?;
    install_server_certificate(provisioner, &ssh, node, ca).await?;
    let mut report = ProvisionReport {
        node: node.name.clone(),
        changed: vec!["certificates"],
        ssh_connections: 1,
    };
    if restart {
        ssh.run(provisioner.restart_command()).await?;
        report.changed.push("docker restarted");
        Engine::wait_until_answering(&node.name, node.ip, client, Duration::from_secs(60)).await?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_reads_like_docker_machines() {
        let o = EngineOptions {
            labels: vec!["provider=virtualbox".into()],
            registry_mirrors: vec!["http://192.168.56.1:5000".into()],
            ..EngineOptions::default()
        };
        let p = Boot2Docker.render_config(&o);
        assert!(p.starts_with("EXTRA_ARGS='\n--label provider=virtualbox\n--registry-mirror http://192.168.56.1:5000\n\n'\n"), "{p}");
        assert!(
            p.contains(
                "DOCKER_HOST='-H tcp://0.0.0.0:2376'\nDOCKER_STORAGE=overlay2\nDOCKER_TLS=auto\n"
            ),
            "{p}"
        );
    }

    #[test]
    fn options_that_break_quoting_are_refused() {
        let o = EngineOptions {
            labels: vec!["a=b' --privileged".into()],
            ..EngineOptions::default()
        };
        let e = check_options("n1", &o).unwrap_err().to_string();
        assert!(e.contains("n1: engine option label"), "{e}");
        assert_eq!(o.validate().unwrap_err().field, OptionField::Label(0));
        let o = EngineOptions {
            registry_mirrors: vec!["192.168.56.1:5000".into()],
            ..EngineOptions::default()
        };
        assert_eq!(
            o.validate().unwrap_err().field,
            OptionField::RegistryMirror(0)
        );
        let o = EngineOptions {
            env: vec![("1BAD".into(), "x".into())],
            ..EngineOptions::default()
        };
        assert_eq!(o.validate().unwrap_err().field, OptionField::Env(0));
        let o = EngineOptions {
            labels: vec!["nolabel".into()],
            ..EngineOptions::default()
        };
        assert!(check_options("n1", &o).is_err());
        assert!(check_options("n1", &EngineOptions::default()).is_ok());
    }
}
