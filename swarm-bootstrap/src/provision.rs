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
    /// When set, `ip` is fixed in the guest: its boot script sets it on the interface of that
    /// network, whatever a DHCP server hands out, and it is set now if the guest has another.
    pub fixed: Option<FixedAddress>,
}

/// How a node's address is fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedAddress {
    /// The network's prefix length (24 for 255.255.255.0).
    pub prefix: u8,
}

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error(transparent)]
    Ssh(#[from] SshError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(
        "{node} has no interface on the network of {ip}/{prefix} to fix its address on (its addresses: {seen})"
    )]
    NoInterface {
        node: String,
        ip: std::net::Ipv4Addr,
        prefix: u8,
        seen: String,
    },
    #[error("{node}: an engine option is refused")]
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
    /// A public key to authorize.
    PublicKey,
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
    /// The script the guest runs at every boot before Docker starts (boot2docker's
    /// `bootsync.sh`), where a fixed address is set.
    fn boot_script_path(&self) -> &str;
    /// Shell that adds `public_key` (an OpenSSH one-line key without quotes) to the SSH user's
    /// authorized keys for good, printing `added` when it was not there.
    fn authorize_key_command(&self, public_key: &str) -> String;
    /// Shell that gives the interface whose MAC is `mac` (`08:00:27:aa:bb:cc`) the fixed
    /// address `ip/prefix`, stopping its DHCP client first.
    fn fixed_address_script(&self, mac: &str, ip: std::net::Ipv4Addr, prefix: u8) -> String;
}

/// The lines of a boot script vswarm owns: it replaces what lies between them and keeps the
/// rest of the user's script.
const BLOCK_BEGIN: &str =
    "# vswarm: fixed address of this node (begin; vswarm rewrites this block)";
const BLOCK_END: &str = "# vswarm: fixed address of this node (end)";

/// `script` with vswarm's block set to `block` (appended when the script has none).
pub fn with_block(script: &str, block: &str) -> String {
    let mut out = String::new();
    let mut lines = script.lines();
    let mut placed = false;
    while let Some(line) = lines.next() {
        if line == BLOCK_BEGIN && !placed {
            for l in lines.by_ref() {
                if l == BLOCK_END {
                    break;
                }
            }
            out += block;
            placed = true;
        } else {
            out += line;
            out.push('\n');
        }
    }
    if !placed {
        if out.is_empty() {
            out += "#!/bin/sh\n";
        }
        out += block;
    }
    out
}

/// The MAC vswarm's block in a boot script selects its interface by, if there is a block.
fn block_mac(script: &str) -> Option<String> {
    let block = script.split(BLOCK_BEGIN).nth(1)?.split(BLOCK_END).next()?;
    block
        .split_whitespace()
        .find(|w| w.len() == 17 && w.matches(':').count() == 5)
        .map(str::to_string)
}

/// `ip -4 addr show`, read into (interface, address, prefix) in the order printed (iproute2's
/// and busybox's layouts).
pub fn interface_addresses(text: &str) -> Vec<(String, std::net::Ipv4Addr, u8)> {
    let mut out = Vec::new();
    let mut iface = String::new();
    for line in text.lines() {
        if !line.starts_with(' ') && !line.starts_with('\t') {
            if let Some(name) = line.split(": ").nth(1) {
                iface = name
                    .split(['@', ':'])
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_string();
            }
            continue;
        }
        let mut words = line.split_whitespace();
        if words.next() == Some("inet")
            && let Some((a, p)) = words.next().and_then(|w| w.split_once('/'))
            && let (Ok(a), Ok(p)) = (a.parse(), p.parse())
        {
            out.push((iface.clone(), a, p));
        }
    }
    out
}

/// The interface a node's fixed address belongs on: the one that has it, else the one with an
/// address on its network (the DHCP lease it is replacing).
fn interface_for(
    addrs: &[(String, std::net::Ipv4Addr, u8)],
    ip: std::net::Ipv4Addr,
    prefix: u8,
) -> Option<String> {
    let net = ipnet::Ipv4Net::new(ip, prefix).ok()?.trunc();
    addrs
        .iter()
        .find(|(_, a, _)| *a == ip)
        .or_else(|| addrs.iter().find(|(_, a, _)| net.contains(a)))
        .map(|(i, _, _)| i.clone())
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
        // boot2docker's `stop` gives dockerd 30 s and then fails; a swarm manager whose address
        // just changed can take longer to shut down. So: stop, wait for the daemon to be gone
        // (up to two minutes more), then start (which refuses a daemon still running).
        "sudo /etc/init.d/docker stop >/dev/null 2>&1; i=0; while pidof dockerd >/dev/null 2>&1 && [ $i -lt 120 ]; do sleep 1; i=$((i + 1)); done; sudo /etc/init.d/docker start"
    }
    fn stamp_path(&self) -> &str {
        "/var/lib/boot2docker/.vswarm-started-with"
    }
    fn boot_script_path(&self) -> &str {
        "/var/lib/boot2docker/bootsync.sh"
    }
    fn authorize_key_command(&self, public_key: &str) -> String {
        // The home is in memory: boot2docker unpacks /var/lib/boot2docker/userdata.tar into it
        // at every boot (autoformat), so the archive is written again with the new key.
        format!(
            "grep -qxF '{public_key}' ~/.ssh/authorized_keys 2>/dev/null && exit 0; mkdir -p ~/.ssh && chmod 700 ~/.ssh && echo '{public_key}' >> ~/.ssh/authorized_keys && chmod 600 ~/.ssh/authorized_keys && cd ~ && sudo tar -cf /var/lib/boot2docker/userdata.tar .ssh && echo added"
        )
    }
    fn fixed_address_script(&self, mac: &str, ip: std::net::Ipv4Addr, prefix: u8) -> String {
        // boot2docker's DHCP client (tinycore's dhcp.sh: `udhcpc -b -i IF -p
        // /var/run/udhcpc.IF.pid`) would take the address back at its next renewal: it stops
        // first. The interface is found by its MAC: names follow the adapters' order, which a
        // user may change.
        let net = ipnet::Ipv4Net::new(ip, prefix)
            .unwrap_or_else(|_| ipnet::Ipv4Net::from(ip))
            .trunc();
        format!(
            "{BLOCK_BEGIN}\nfor d in /sys/class/net/*; do\n  [ \"$(cat \"$d/address\" 2>/dev/null)\" = {mac} ] || continue\n  i=\"${{d##*/}}\"\n  [ -f \"/var/run/udhcpc.$i.pid\" ] && kill \"$(cat \"/var/run/udhcpc.$i.pid\")\" 2>/dev/null\n  ifconfig \"$i\" {ip} netmask {mask} broadcast {brd} up\ndone\n{BLOCK_END}\n",
            mask = net.netmask(),
            brd = net.broadcast(),
        )
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
        "{settle}; hostname; echo {sep}; sudo cat {ca} 2>/dev/null; echo {sep}; sudo cat {cert} 2>/dev/null; echo {sep}; sudo cat {cfg} 2>/dev/null; echo {sep}; if {status}; then echo running; else echo stopped; fi; echo {sep}; sudo cat {key} 2>/dev/null; echo {sep}; cat {stamp} 2>/dev/null; echo {sep}; {address}",
        ca = provisioner.ca_path(),
        cert = provisioner.cert_path(),
        cfg = provisioner.config_path(),
        status = provisioner.status_command(),
        key = provisioner.key_path(),
        stamp = provisioner.stamp_path(),
        settle = provisioner.settle_command(),
        address = address_probe(provisioner, sep),
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
    fix_address(
        provisioner,
        &ssh,
        node,
        parts.get(7..).unwrap_or(&[]),
        &mut report,
    )
    .await?;

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
    // A renewed certificate alone restarts nothing: dockerd cannot reload its TLS material and
    // a restart stops every container (live-restore, which would keep them, is refused in
    // swarm mode). While the daemon answers with the certificate it has, it serves the new one
    // from its next start; one that no longer answers (expired, another address) restarts.
    let needs_restart = report
        .changed
        .iter()
        .any(|c| matches!(*c, "hostname" | "engine options"));
    // The daemon runs what the files say only if it started after they were written: the stamp
    // holds the configuration of its last start by vswarm, and a daemon that does not answer
    // over TLS (an earlier run stopped between writing and restarting) is restarted too. A
    // certificate renewed without a restart (`regenerate-certs`) changes neither.
    let started_with = hex::encode(Sha256::digest(config.as_bytes()));
    let mut restart =
        needs_restart || status != "running" || (!stamp.is_empty() && stamp != started_with);
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

/// What [`fix_address`] reads: the boot script, `ip -4 addr show` and each interface's MAC,
/// separated by `sep` lines.
fn address_probe(provisioner: &impl Provisioner, sep: &str) -> String {
    format!(
        "sudo cat {boot} 2>/dev/null; echo {sep}; ip -4 addr show 2>/dev/null; echo {sep}; for d in /sys/class/net/*; do echo \"${{d##*/}} $(cat $d/address 2>/dev/null)\"; done; true",
        boot = provisioner.boot_script_path()
    )
}

/// Makes sure a started node is at its fixed address (`node.fixed` set): its boot script sets
/// it, but a guest whose boot script lost it, or that has not run it yet, gets it now. Returns
/// what changed. One SSH connection.
pub async fn ensure_fixed_address(
    provisioner: &impl Provisioner,
    node: &NodeAccess,
    known: &KnownHosts,
) -> Result<Vec<&'static str>, ProvisionError> {
    let mut report = ProvisionReport {
        node: node.name.clone(),
        changed: Vec::new(),
        ssh_connections: 1,
    };
    if node.fixed.is_none() {
        return Ok(report.changed);
    }
    let ssh = SshConnection::connect(&node.ssh, known, Duration::from_secs(60)).await?;
    let sep = "---vswarm---";
    let seen = ssh.run(&address_probe(provisioner, sep)).await?;
    let parts: Vec<&str> = seen.split(&format!("{sep}\n")).collect();
    fix_address(provisioner, &ssh, node, &parts, &mut report).await?;
    Ok(report.changed)
}

/// Makes the node's address fixed when `node.fixed` says so: written into its boot script, and
/// set now when the guest has another. `seen` is what [`address_probe`] printed, in parts:
/// the boot script, `ip -4 addr show` and the MACs.
async fn fix_address(
    provisioner: &impl Provisioner,
    ssh: &SshConnection,
    node: &NodeAccess,
    seen: &[&str],
    report: &mut ProvisionReport,
) -> Result<(), ProvisionError> {
    let (Some(FixedAddress { prefix }), IpAddr::V4(ip)) = (node.fixed, node.ip) else {
        return Ok(());
    };
    let part = |i: usize| seen.get(i).copied().unwrap_or("");
    let (script, addrs, macs) = (part(0), part(1), part(2));
    let addrs = interface_addresses(addrs);
    let no_interface = || ProvisionError::NoInterface {
        node: node.name.clone(),
        ip,
        prefix,
        seen: addrs
            .iter()
            .map(|(i, a, p)| format!("{i} {a}/{p}"))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let macs: Vec<(&str, &str)> = macs
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(i, m)| (i, m.trim()))
        .filter(|(_, m)| m.len() == 17 && m.chars().all(|c| c.is_ascii_hexdigit() || c == ':'))
        .collect();
    // The interface on the address's network; else (the network moved: the guest still has
    // the old fixed address) the one the boot script names by its MAC.
    let iface = interface_for(&addrs, ip, prefix)
        .or_else(|| {
            let mac = block_mac(script)?;
            macs.iter()
                .find(|(_, m)| m.eq_ignore_ascii_case(&mac))
                .map(|(i, _)| i.to_string())
        })
        .ok_or_else(no_interface)?;
    let mac = macs
        .iter()
        .find(|(i, _)| *i == iface)
        .map(|(_, m)| m.to_string())
        .ok_or_else(no_interface)?;
    let block = provisioner.fixed_address_script(&mac, ip, prefix);
    let wanted = with_block(script, &block);
    if wanted != script {
        ssh.upload(provisioner.boot_script_path(), wanted.as_bytes(), "755")
            .await?;
        report.changed.push("fixed address");
    }
    if !addrs.iter().any(|(i, a, _)| *i == iface && *a == ip) {
        ssh.run(&format!("sudo sh -c '{block}'")).await?;
        report.changed.push("address");
        tracing::info!(node = %node.name, %ip, interface = %iface, "address set");
    }
    Ok(())
}

/// Lets `public_key` log in to the node from now on, over a connection with the key the node
/// accepts today (`target.key`). True when it was added. A key with a quote or a line break in
/// it is refused.
pub async fn authorize_key(
    provisioner: &impl Provisioner,
    target: &SshTarget,
    known: &KnownHosts,
    public_key: &str,
) -> Result<bool, ProvisionError> {
    let public_key = public_key.trim();
    if public_key.contains(['\'', '\n', '\r', '\\']) || !public_key.starts_with("ssh-") {
        return Err(ProvisionError::InvalidOption {
            node: target.node.clone(),
            source: OptionError {
                field: OptionField::PublicKey,
                what: "public key",
                value: public_key.chars().take(40).collect(),
                why: "an OpenSSH public key is one line, `ssh-TYPE BASE64 [comment]`, without quotes",
            },
        });
    }
    let ssh = SshConnection::connect(target, known, Duration::from_secs(30)).await?;
    let out = ssh
        .run(&provisioner.authorize_key_command(public_key))
        .await?;
    Ok(out.trim() == "added")
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
    fn the_fixed_address_block_is_replaced_and_the_users_lines_kept() {
        let block = Boot2Docker.fixed_address_script(
            "08:00:27:aa:bb:cc",
            "192.168.56.10".parse().unwrap(),
            24,
        );
        assert!(block.contains("= 08:00:27:aa:bb:cc ]"), "{block}");
        assert!(
            block.contains(
                "ifconfig \"$i\" 192.168.56.10 netmask 255.255.255.0 broadcast 192.168.56.255 up"
            ),
            "{block}"
        );
        assert!(!block.contains('\''), "run inside sh -c '...': {block}");
        let fresh = with_block("", &block);
        assert_eq!(fresh, format!("#!/bin/sh\n{block}"));
        let user = "#!/bin/sh\necho mine\n";
        let once = with_block(user, &block);
        assert_eq!(once, format!("{user}{block}"));
        let other = Boot2Docker.fixed_address_script(
            "08:00:27:aa:bb:cc",
            "192.168.56.11".parse().unwrap(),
            24,
        );
        let twice = with_block(&format!("{once}echo after\n"), &other);
        assert_eq!(twice, format!("{user}{other}echo after\n"));
        assert_eq!(with_block(&twice, &other), twice);
        assert_eq!(block_mac(&twice).as_deref(), Some("08:00:27:aa:bb:cc"));
        assert_eq!(block_mac(user), None);
    }

    #[test]
    fn interface_addresses_are_read_in_both_layouts() {
        let iproute = "1: lo: <LOOPBACK,UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000\n    inet 127.0.0.1/8 scope host lo\n       valid_lft forever preferred_lft forever\n3: eth1@if12: <BROADCAST,MULTICAST,UP> mtu 1500\n    inet 192.168.56.101/24 brd 192.168.56.255 scope global eth1\n";
        let a = interface_addresses(iproute);
        assert_eq!(
            a,
            vec![
                ("lo".to_string(), "127.0.0.1".parse().unwrap(), 8),
                ("eth1".to_string(), "192.168.56.101".parse().unwrap(), 24)
            ]
        );
        assert_eq!(
            interface_for(&a, "192.168.56.10".parse().unwrap(), 24),
            Some("eth1".to_string())
        );
        assert_eq!(interface_for(&a, "10.9.0.1".parse().unwrap(), 24), None);
    }

    #[test]
    fn options_that_break_quoting_are_refused() {
        let o = EngineOptions {
            labels: vec!["a=b' --privileged".into()],
            ..EngineOptions::default()
        };
        let e = check_options("n1", &o).unwrap_err();
        assert_eq!(e.to_string(), "n1: an engine option is refused");
        let cause = std::error::Error::source(&e).map(ToString::to_string);
        assert!(
            cause
                .as_deref()
                .is_some_and(|c| c.starts_with("engine option label")),
            "{cause:?}"
        );
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
