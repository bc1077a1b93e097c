//! One SSH connection per node for the whole provisioning.
//!
//! docker-machine opened about fifteen SSH connections per machine and trusted any host key.
//! Here a node gets one session (libssh2, run on blocking threads); its host key is recorded at
//! first contact in the cluster's `known_hosts` and checked on every later contact; every
//! command's exit status is checked and its stderr kept for the error; files are uploaded through
//! `sudo tee`, so no SFTP subsystem is needed.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::{BlockingRetryable, ConstantBuilder};
use sha2::{Digest, Sha256};

/// The host-key algorithms accepted at first contact, in order of preference.
const FIRST_CONTACT_HOST_KEYS: &str = "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256";

/// Where and how to log in to a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    /// The node's name: host keys are recorded per node (NAT ports are reused).
    pub node: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    /// The private key (ed25519 or RSA) for `user`.
    pub key: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum SshError {
    #[error("cannot reach {node} over SSH at {addr}")]
    Connect {
        node: String,
        addr: String,
        #[source]
        source: SshCause,
    },
    #[error("SSH to {node}: {doing}")]
    Protocol {
        node: String,
        /// What failed: the session, or running a command (named).
        doing: String,
        #[source]
        source: SshCause,
    },
    #[error("{node} refused the key {key} for user {user}")]
    Auth {
        node: String,
        user: String,
        key: PathBuf,
        #[source]
        source: ssh2::Error,
    },
    #[error(
        "the SSH host key of {node} changed (recorded {recorded}, now {seen}). If the node was recreated, \
         remove its line from {file} and run again; otherwise someone may be intercepting the connection"
    )]
    HostKeyMismatch {
        node: String,
        recorded: String,
        seen: String,
        file: PathBuf,
    },
    #[error("on {node}, `{command}` failed with exit status {status}: {stderr}")]
    Command {
        node: String,
        command: String,
        status: i32,
        stderr: String,
    },
    #[error("known hosts file {file}")]
    KnownHosts {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What lies under an SSH failure.
#[derive(Debug, thiserror::Error)]
pub enum SshCause {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Ssh(#[from] ssh2::Error),
    /// The blocking task that held the session ended abnormally.
    #[error(transparent)]
    Task(#[from] tokio::task::JoinError),
    #[error("the server sent no host key")]
    NoHostKey,
    #[error("the address resolves to nothing")]
    NoAddress,
}

/// The cluster's record of node host keys, in OpenSSH's `known_hosts` format with the node's
/// name as the host (`node-01 ssh-ed25519 AAAA...`), so the system `ssh` can check the same
/// keys (`-o HostKeyAlias=node-01 -o UserKnownHostsFile=FILE`). Lines of the older
/// `node sha256:HEX` form are still honoured.
#[derive(Debug, Clone)]
pub struct KnownHosts {
    path: PathBuf,
    lock: Arc<Mutex<()>>,
}

/// A host key as the server sent it (SSH wire format), shown the ways users meet it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostKey {
    blob: Vec<u8>,
}

impl HostKey {
    pub fn new(blob: &[u8]) -> HostKey {
        HostKey {
            blob: blob.to_vec(),
        }
    }

    /// `ssh-ed25519`, `ecdsa-sha2-nistp256`, ...: the string the blob starts with.
    pub fn algorithm(&self) -> String {
        let len = self
            .blob
            .get(..4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .unwrap_or(0);
        self.blob
            .get(4..4 + len)
            .and_then(|name| std::str::from_utf8(name).ok())
            .unwrap_or("unknown")
            .to_string()
    }

    /// `ALGORITHM BASE64`, as in `known_hosts` and `.pub` files.
    pub fn openssh(&self) -> String {
        use base64::Engine as _;
        format!(
            "{} {}",
            self.algorithm(),
            base64::engine::general_purpose::STANDARD.encode(&self.blob)
        )
    }

    /// `sha256:HEX` of the blob (the older record format).
    pub fn fingerprint(&self) -> String {
        format!("sha256:{}", hex::encode(Sha256::digest(&self.blob)))
    }

    /// Whether a recorded line's key part (`ALGORITHM BASE64` or `sha256:HEX`) is this key.
    fn matches(&self, recorded: &str) -> bool {
        recorded == self.openssh() || recorded == self.fingerprint()
    }
}

impl KnownHosts {
    pub fn new(path: impl AsRef<Path>) -> KnownHosts {
        KnownHosts {
            path: path.as_ref().to_path_buf(),
            lock: Arc::new(Mutex::new(())),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io_error(&self, e: std::io::Error) -> SshError {
        SshError::KnownHosts {
            file: self.path.clone(),
            source: e,
        }
    }

    /// The file's text; a missing file is empty, an unreadable one an error (pinning must never
    /// be silently off).
    fn read(&self) -> Result<String, SshError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => Ok(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(e) => Err(self.io_error(e)),
        }
    }

    /// The recorded key of `node` (its line without the name), if any.
    pub fn recorded(&self, node: &str) -> Result<Option<String>, SshError> {
        Ok(self.read()?.lines().find_map(|line| {
            let (name, key) = line.split_once(' ')?;
            (name == node).then(|| key.trim().to_string())
        }))
    }

    /// The file, opened for reading and writing (created 0600 in a private folder) and locked
    /// against other processes until the handle is dropped.
    fn open_locked(&self) -> Result<std::fs::File, SshError> {
        if let Some(dir) = self.path.parent() {
            crate::tls::private_dir(dir).map_err(|e| self.io_error(e))?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.create(true).truncate(false).read(true).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let f = options.open(&self.path).map_err(|e| self.io_error(e))?;
        f.lock().map_err(|e| self.io_error(e))?;
        Ok(f)
    }

    /// Records `key` for `node` at first contact; afterwards it must match. Other processes
    /// wait on the file's lock, so two first contacts never record two keys.
    fn check(&self, node: &str, key: &HostKey) -> Result<(), SshError> {
        let _one = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut f = self.open_locked()?;
        let mut text = String::new();
        f.read_to_string(&mut text).map_err(|e| self.io_error(e))?;
        let recorded = text.lines().find_map(|line| {
            let (name, key) = line.split_once(' ')?;
            (name == node).then(|| key.trim().to_string())
        });
        if let Some(recorded) = recorded {
            if key.matches(&recorded) {
                return Ok(());
            }
            return Err(SshError::HostKeyMismatch {
                node: node.to_string(),
                recorded,
                seen: key.openssh(),
                file: self.path.clone(),
            });
        }
        use std::io::Seek;
        f.seek(std::io::SeekFrom::End(0))
            .map_err(|e| self.io_error(e))?;
        writeln!(f, "{node} {}", key.openssh()).map_err(|e| self.io_error(e))?;
        f.sync_all().map_err(|e| self.io_error(e))?;
        tracing::info!(
            node,
            fingerprint = %key.fingerprint(),
            "recorded the SSH host key at first contact"
        );
        Ok(())
    }

    /// Forgets a node's key (it was recreated).
    pub fn forget(&self, node: &str) -> Result<(), SshError> {
        let _one = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        if !self.path.exists() {
            return Ok(());
        }
        let mut f = self.open_locked()?;
        let mut text = String::new();
        f.read_to_string(&mut text).map_err(|e| self.io_error(e))?;
        if !text
            .lines()
            .any(|l| l.split_whitespace().next() == Some(node))
        {
            return Ok(());
        }
        let kept: String = text
            .lines()
            .filter(|l| l.split_whitespace().next() != Some(node))
            .map(|l| format!("{l}\n"))
            .collect();
        use std::io::Seek;
        f.set_len(0).map_err(|e| self.io_error(e))?;
        f.seek(std::io::SeekFrom::Start(0))
            .map_err(|e| self.io_error(e))?;
        f.write_all(kept.as_bytes()).map_err(|e| self.io_error(e))?;
        f.sync_all().map_err(|e| self.io_error(e))
    }
}

/// What a command printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandOutput {
    pub stdout: String,
    pub stderr: String,
    pub status: i32,
}

/// An open SSH session to one node.
#[derive(Clone)]
pub struct SshConnection {
    node: String,
    session: Arc<Mutex<ssh2::Session>>,
}

impl std::fmt::Debug for SshConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshConnection")
            .field("node", &self.node)
            .finish()
    }
}

impl SshConnection {
    /// Connects, checks the host key against `known`, and authenticates with the target's key.
    pub async fn connect(
        target: &SshTarget,
        known: &KnownHosts,
        timeout: Duration,
    ) -> Result<SshConnection, SshError> {
        let node = target.node.clone();
        let target = target.clone();
        let known = known.clone();
        tokio::task::spawn_blocking(move || connect_blocking(&target, &known, timeout))
            .await
            .map_err(|e| SshError::Protocol {
                node,
                doing: "connecting".into(),
                source: e.into(),
            })?
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// Runs `command`; fails with its stderr when the exit status is not 0.
    pub async fn run(&self, command: &str) -> Result<String, SshError> {
        let out = self.exec(command, None).await?;
        if out.status != 0 {
            return Err(SshError::Command {
                node: self.node.clone(),
                command: command.to_string(),
                status: out.status,
                stderr: out.stderr.trim().to_string(),
            });
        }
        Ok(out.stdout)
    }

    /// Runs `command` with `input` on its stdin; returns whatever the exit status.
    pub async fn exec(
        &self,
        command: &str,
        input: Option<Vec<u8>>,
    ) -> Result<CommandOutput, SshError> {
        let session = self.session.clone();
        let node = self.node.clone();
        let owned = command.to_string();
        tokio::task::spawn_blocking(move || {
            let session = session.lock().unwrap_or_else(|e| e.into_inner());
            exec_blocking(&session, &node, &owned, input.as_deref())
        })
        .await
        .map_err(|e| SshError::Protocol {
            node: self.node.clone(),
            doing: format!("running `{command}`"),
            source: e.into(),
        })?
    }

    /// Writes `contents` to `path` as root (`sudo tee`), then sets `mode`.
    pub async fn upload(&self, path: &str, contents: &[u8], mode: &str) -> Result<(), SshError> {
        let dir = path
            .rsplit_once('/')
            .map(|(d, _)| d)
            .filter(|d| !d.is_empty())
            .unwrap_or("/");
        let cmd = format!(
            "sudo mkdir -p {dir} && sudo sh -c 'umask 077; cat > {path}.vswarm-tmp' && sudo chmod {mode} {path}.vswarm-tmp && sudo mv {path}.vswarm-tmp {path}"
        );
        let out = self.exec(&cmd, Some(contents.to_vec())).await?;
        if out.status != 0 {
            return Err(SshError::Command {
                node: self.node.clone(),
                command: format!("upload {path}"),
                status: out.status,
                stderr: out.stderr.trim().to_string(),
            });
        }
        Ok(())
    }
}

/// Connects, retrying what a booting guest answers until `timeout` has passed: a refused
/// connection, or one VirtualBox's NAT accepts for a guest whose sshd is not up yet and then
/// closes (no banner). A host key that does not match and a refused key are final.
fn connect_blocking(
    target: &SshTarget,
    known: &KnownHosts,
    timeout: Duration,
) -> Result<SshConnection, SshError> {
    let deadline = std::time::Instant::now() + timeout;
    let attempt = || {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        connect_once(target, known, left.max(Duration::from_millis(500)))
    };
    attempt
        .retry(
            ConstantBuilder::new()
                .with_delay(Duration::from_millis(250))
                .without_max_times(),
        )
        .sleep(std::thread::sleep)
        .when(|e| matches!(e, SshError::Connect { .. }) && std::time::Instant::now() < deadline)
        .call()
}

fn connect_once(
    target: &SshTarget,
    known: &KnownHosts,
    timeout: Duration,
) -> Result<SshConnection, SshError> {
    let node = target.node.clone();
    let addr_text = format!("{}:{}", target.host, target.port);
    let connect_err = |source: SshCause| SshError::Connect {
        node: node.clone(),
        addr: addr_text.clone(),
        source,
    };
    let addr = addr_text
        .to_socket_addrs()
        .map_err(|e| connect_err(e.into()))?
        .next()
        .ok_or_else(|| connect_err(SshCause::NoAddress))?;
    let tcp = TcpStream::connect_timeout(&addr, timeout).map_err(|e| connect_err(e.into()))?;
    let proto = |e: ssh2::Error| SshError::Protocol {
        node: node.clone(),
        doing: "setting up the session".into(),
        source: e.into(),
    };
    let mut session = ssh2::Session::new().map_err(proto)?;
    // The host-key algorithm is fixed: ed25519 first at first contact, then the pinned key's
    // own, so a server cannot swap in another kind of key.
    let algorithms = known
        .recorded(&node)?
        .and_then(|key| key.split_whitespace().next().map(str::to_string))
        .filter(|algorithm| !algorithm.starts_with("sha256:"))
        .map(|algorithm| match algorithm.as_str() {
            "ssh-rsa" => "rsa-sha2-512,rsa-sha2-256,ssh-rsa".to_string(),
            other => other.to_string(),
        })
        .unwrap_or_else(|| FIRST_CONTACT_HOST_KEYS.to_string());
    session
        .method_pref(ssh2::MethodType::HostKey, &algorithms)
        .map_err(proto)?;
    session.set_tcp_stream(tcp);
    session.set_timeout(u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX));
    session.handshake().map_err(|e| connect_err(e.into()))?;
    let (key, _kind) = session.host_key().ok_or_else(|| SshError::Protocol {
        node: node.clone(),
        doing: "the handshake".into(),
        source: SshCause::NoHostKey,
    })?;
    known.check(&node, &HostKey::new(key))?;
    session
        .userauth_pubkey_file(&target.user, None, &target.key, None)
        .map_err(|e| SshError::Auth {
            node: node.clone(),
            user: target.user.clone(),
            key: target.key.clone(),
            source: e,
        })?;
    // Commands may run long (docker restarts); the per-call limit stays generous.
    session.set_timeout(120_000);
    Ok(SshConnection {
        node,
        session: Arc::new(Mutex::new(session)),
    })
}

fn exec_blocking(
    session: &ssh2::Session,
    node: &str,
    command: &str,
    input: Option<&[u8]>,
) -> Result<CommandOutput, SshError> {
    let failed = |source: SshCause| SshError::Protocol {
        node: node.to_string(),
        doing: format!("running `{command}`"),
        source,
    };
    let proto = |e: ssh2::Error| failed(e.into());
    let io = |e: std::io::Error| failed(e.into());
    let mut channel = session.channel_session().map_err(proto)?;
    channel.exec(command).map_err(proto)?;
    if let Some(data) = input {
        channel.write_all(data).map_err(io)?;
    }
    channel.send_eof().map_err(proto)?;
    let mut stdout = String::new();
    channel.read_to_string(&mut stdout).map_err(io)?;
    let mut stderr = String::new();
    channel.stderr().read_to_string(&mut stderr).map_err(io)?;
    channel.wait_close().map_err(proto)?;
    let status = channel.exit_status().map_err(proto)?;
    tracing::debug!(node, command, status, "ssh");
    Ok(CommandOutput {
        stdout,
        stderr,
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key blob as servers send it: the algorithm as an SSH string, then key bytes.
    fn blob(seed: u8) -> HostKey {
        let mut b = vec![0, 0, 0, 11];
        b.extend_from_slice(b"ssh-ed25519");
        b.extend_from_slice(&[0, 0, 0, 32]);
        b.extend_from_slice(&[seed; 32]);
        HostKey::new(&b)
    }

    #[test]
    fn host_keys_are_recorded_then_checked() {
        let dir = tempfile::tempdir().unwrap();
        let known = KnownHosts::new(dir.path().join("known_hosts"));
        let (a, b, c) = (blob(1), blob(2), blob(3));
        known.check("node-1", &a).unwrap();
        known.check("node-1", &a).unwrap();
        known.check("node-2", &b).unwrap();
        let err = known.check("node-1", &c).unwrap_err().to_string();
        assert!(
            err.contains("host key of node-1 changed") && err.contains("remove its line"),
            "{err}"
        );
        known.forget("node-1").unwrap();
        known.check("node-1", &c).unwrap();
        known.check("node-2", &b).unwrap();
        // OpenSSH's own format, usable with HostKeyAlias.
        let text = std::fs::read_to_string(known.path()).unwrap();
        assert!(
            text.contains(&format!("node-2 {}\n", b.openssh())),
            "{text}"
        );
        assert!(
            b.openssh().starts_with("ssh-ed25519 AAAA"),
            "{}",
            b.openssh()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(known.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn older_fingerprint_records_still_pin() {
        let dir = tempfile::tempdir().unwrap();
        let known = KnownHosts::new(dir.path().join("known_hosts"));
        let a = blob(7);
        std::fs::write(known.path(), format!("node-1 {}\n", a.fingerprint())).unwrap();
        known.check("node-1", &a).unwrap();
        assert!(known.check("node-1", &blob(8)).is_err());
    }

    #[test]
    fn an_unreadable_record_is_an_error_not_an_empty_one() {
        let dir = tempfile::tempdir().unwrap();
        // A folder where the file should be cannot be read as text.
        let known = KnownHosts::new(dir.path());
        assert!(known.check("node-1", &blob(1)).is_err());
    }
}
