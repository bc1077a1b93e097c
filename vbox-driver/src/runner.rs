//! Running `VBoxManage`.
//!
//! Every VirtualBox operation is a `VBoxManage` process. This runner finds the binary the way
//! users install it (PATH, `VBOX_INSTALL_PATH`, `VBOX_MSI_INSTALL_PATH`, the standard macOS and
//! Windows folders), runs it with a timeout, retries the errors VirtualBox itself calls transient
//! (a machine locked by another session, an object not ready while a VM changes state), and
//! returns errors that carry the whole command line and VirtualBox's own message. Every call is
//! traced with its duration.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// What a successful call printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallOutput {
    pub stdout: String,
    pub stderr: String,
}

/// A failed `VBoxManage` call.
#[derive(Debug, thiserror::Error)]
pub enum VBoxManageError {
    #[error(
        "VBoxManage was not found (looked in: {searched}); install VirtualBox, or set VBOX_INSTALL_PATH to its folder"
    )]
    NotFound { searched: String },
    #[error("could not start `{command}`")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` did not finish within {timeout:?}")]
    Timeout { command: String, timeout: Duration },
    #[error("`{command}` failed{}: {message}", status.map(|s| format!(" (exit status {s})")).unwrap_or_default())]
    Failed {
        command: String,
        status: Option<i32>,
        /// VirtualBox's first error line, without the `VBoxManage: error: ` prefix.
        message: String,
        /// Everything VBoxManage printed on stderr.
        stderr: String,
    },
}

impl VBoxManageError {
    /// VirtualBox's stderr, when the call ran.
    pub fn stderr(&self) -> &str {
        match self {
            VBoxManageError::Failed { stderr, .. } => stderr,
            _ => "",
        }
    }

    /// Errors that go away on their own: another session holds the machine's lock (VirtualBox
    /// keeps a powered-off VM's session locked for a moment while it unlocks it: modifyvm,
    /// startvm and unregistervm each say so in their own words), or an object is not ready
    /// while the VM changes state.
    pub fn is_transient(&self) -> bool {
        let e = self.stderr();
        e.contains("The object is not ready")
            || e.contains("is already locked for a session")
            || e.contains("is already locked by a session (or being locked or unlocked)")
            || (e.contains("Cannot unregister the machine") && e.contains("while it is locked"))
    }

    /// The machine (or other object) does not exist.
    pub fn is_not_found(&self) -> bool {
        let e = self.stderr();
        e.contains("VBOX_E_OBJECT_NOT_FOUND") || e.contains("Could not find a registered machine")
    }
}

/// A located `VBoxManage` and how to call it.
#[derive(Debug, Clone)]
pub struct VBoxManage {
    path: PathBuf,
    timeout: Duration,
    attempts: u32,
    env: Vec<(OsString, OsString)>,
}

impl VBoxManage {
    /// Finds `VBoxManage` on this host.
    pub fn locate() -> Result<VBoxManage, VBoxManageError> {
        let candidates = candidate_paths();
        match candidates.iter().find(|p| p.is_file()) {
            Some(p) => Ok(VBoxManage::with_path(p)),
            None => Err(VBoxManageError::NotFound {
                searched: candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// Uses this binary.
    pub fn with_path(path: impl AsRef<Path>) -> VBoxManage {
        VBoxManage {
            path: path.as_ref().to_path_buf(),
            timeout: Duration::from_secs(120),
            attempts: 5,
            env: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The limit for one call (default 2 minutes).
    pub fn timeout(mut self, timeout: Duration) -> VBoxManage {
        self.timeout = timeout;
        self
    }

    /// An environment variable for every call.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> VBoxManage {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Runs `VBoxManage ARGS`, retrying transient errors with a short backoff.
    pub async fn run<S: AsRef<str>>(&self, args: &[S]) -> Result<CallOutput, VBoxManageError> {
        self.run_with_input(args, None).await
    }

    /// Runs `VBoxManage ARGS` with `input` on its standard input.
    pub async fn run_with_input<S: AsRef<str>>(
        &self,
        args: &[S],
        input: Option<&[u8]>,
    ) -> Result<CallOutput, VBoxManageError> {
        let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
        let backoff = ExponentialBuilder::new()
            .with_min_delay(Duration::from_millis(100))
            .with_factor(2.0)
            .without_max_delay()
            .with_max_times(self.attempts.saturating_sub(1) as usize);
        (|| self.run_once(&args, input))
            .retry(backoff)
            .when(VBoxManageError::is_transient)
            .notify(|_, delay| {
                tracing::debug!(command = %command_line(&args), ?delay, "transient VirtualBox error; retrying");
            })
            .await
    }

    async fn run_once(
        &self,
        args: &[&str],
        input: Option<&[u8]>,
    ) -> Result<CallOutput, VBoxManageError> {
        let command = command_line(args);
        let start = Instant::now();
        let mut cmd = Command::new(&self.path);
        cmd.args(args)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().map_err(|source| VBoxManageError::Spawn {
            command: command.clone(),
            source,
        })?;
        if let (Some(data), Some(mut stdin)) = (input, child.stdin.take()) {
            // VBoxManage may refuse the call before reading its input; its exit status and
            // stderr then say why, so a closed pipe is not the error to report.
            match stdin.write_all(data).await {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(VBoxManageError::Spawn {
                        command: command.clone(),
                        source: e,
                    });
                }
                _ => {}
            }
        }
        let output = match tokio::time::timeout(self.timeout, child.wait_with_output()).await {
            Ok(Ok(o)) => o,
            Ok(Err(source)) => return Err(VBoxManageError::Spawn { command, source }),
            Err(_) => {
                return Err(VBoxManageError::Timeout {
                    command,
                    timeout: self.timeout,
                });
            }
        };
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let status = output.status.code();
        tracing::debug!(command = %command, duration_ms = start.elapsed().as_millis() as u64, status, "VBoxManage");
        if output.status.success() {
            return Ok(CallOutput { stdout, stderr });
        }
        Err(VBoxManageError::Failed {
            message: first_error_line(&stderr),
            command,
            status,
            stderr,
        })
    }
}

/// The command line as a user would type it (quoted where needed), for messages.
pub fn command_line(args: &[&str]) -> String {
    format!("VBoxManage {}", shell_words::join(args))
}

/// VirtualBox's message: the first `VBoxManage: error:` line, or the last line of stderr.
fn first_error_line(stderr: &str) -> String {
    stderr
        .lines()
        .find_map(|l| l.split_once(": error: ").map(|(_, m)| m.trim().to_string()))
        .filter(|m| !m.is_empty())
        .or_else(|| {
            stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(|l| l.trim().to_string())
        })
        .unwrap_or_else(|| "no message".to_string())
}

/// Where VBoxManage lives: PATH first, then VirtualBox's own variables and install folders.
fn candidate_paths() -> Vec<PathBuf> {
    candidate_paths_with(|var| std::env::var_os(var))
}

/// [`candidate_paths`] with the environment read through `var`.
fn candidate_paths_with(var: impl Fn(&str) -> Option<OsString>) -> Vec<PathBuf> {
    let exe = if cfg!(windows) {
        "VBoxManage.exe"
    } else {
        "VBoxManage"
    };
    let mut out: Vec<PathBuf> = var("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(exe)).collect())
        .unwrap_or_default();
    // VirtualBox's Windows installer sets VBOX_MSI_INSTALL_PATH (with a trailing backslash);
    // VBOX_INSTALL_PATH is the older name.
    for name in ["VBOX_INSTALL_PATH", "VBOX_MSI_INSTALL_PATH"] {
        if let Some(v) = var(name) {
            out.extend(std::env::split_paths(&v).map(|d| d.join(exe)));
        }
    }
    if cfg!(target_os = "macos") {
        out.push(PathBuf::from(
            "/Applications/VirtualBox.app/Contents/MacOS/VBoxManage",
        ));
        out.push(PathBuf::from("/usr/local/bin/VBoxManage"));
    } else if cfg!(windows) {
        for base in [
            "C:\\Program Files\\Oracle\\VirtualBox",
            "C:\\Program Files (x86)\\Oracle\\VirtualBox",
        ] {
            out.push(Path::new(base).join(exe));
        }
    } else {
        out.push(PathBuf::from("/usr/bin/VBoxManage"));
        out.push(PathBuf::from("/usr/lib/virtualbox/VBoxManage"));
        out.push(PathBuf::from("/opt/VirtualBox/VBoxManage"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_installers_variables_are_searched_after_path() {
        let env = |name: &str| match name {
            "PATH" => Some(OsString::from("/usr/local/bin")),
            "VBOX_MSI_INSTALL_PATH" => Some(OsString::from("/opt/Oracle/VirtualBox/")),
            _ => None,
        };
        let found = candidate_paths_with(env);
        let exe = if cfg!(windows) {
            "VBoxManage.exe"
        } else {
            "VBoxManage"
        };
        assert_eq!(found[0], Path::new("/usr/local/bin").join(exe));
        assert_eq!(found[1], Path::new("/opt/Oracle/VirtualBox/").join(exe));
    }

    #[test]
    fn messages_come_from_virtualbox_error_lines() {
        let stderr = "0%...\nProgress state: NS_ERROR_FAILURE\nVBoxManage: error: Failed to create the host-only adapter\nVBoxManage: error: Details: code NS_ERROR_FAILURE\n";
        assert_eq!(
            first_error_line(stderr),
            "Failed to create the host-only adapter"
        );
        assert_eq!(first_error_line("something odd\n"), "something odd");
        assert_eq!(first_error_line(""), "no message");
    }

    #[test]
    fn command_lines_are_quoted_for_people() {
        assert_eq!(
            command_line(&[
                "modifyvm",
                "node 1",
                "--natpf1",
                "ssh,tcp,127.0.0.1,2222,,22"
            ]),
            "VBoxManage modifyvm 'node 1' --natpf1 ssh,tcp,127.0.0.1,2222,,22"
        );
    }

    fn failed(stderr: &str) -> VBoxManageError {
        VBoxManageError::Failed {
            command: "VBoxManage x".into(),
            status: Some(1),
            message: first_error_line(stderr),
            stderr: stderr.into(),
        }
    }

    #[test]
    fn transient_and_not_found_errors_are_recognised() {
        assert!(failed("VBoxManage: error: The object is not ready\n").is_transient());
        assert!(failed("VBoxManage: error: The machine 'a' is already locked by a session (or being locked or unlocked)\n").is_transient());
        assert!(
            failed("VBoxManage: error: Cannot unregister the machine 'a' while it is locked\n")
                .is_transient()
        );
        assert!(failed("VBoxManage: error: The machine 'a' is already locked for a session (or being unlocked)\nVBoxManage: error: Context: \"LockMachine(a->session, LockType_Write)\"").is_transient());
        assert!(
            !failed("VBoxManage: error: Could not find a registered machine named 'x'\n")
                .is_transient()
        );
        assert!(failed("VBoxManage: error: Could not find a registered machine named 'x'\nVBoxManage: error: Details: code VBOX_E_OBJECT_NOT_FOUND (0x80bb0001)").is_not_found());
    }

    #[tokio::test]
    async fn transient_errors_are_retried_then_reported() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("VBoxManage");
        let counter = dir.path().join("count");
        // Fails twice as "locked", then succeeds.
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nn=$(cat {c} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {c}\nif [ $n -le 2 ]; then echo \"VBoxManage: error: The machine 'a' is already locked for a session (or being unlocked)\" >&2; exit 1; fi\necho ok\n",
                c = counter.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let vbm = VBoxManage::with_path(&script);
        let out = vbm.run(&["modifyvm", "a"]).await.unwrap();
        assert_eq!(out.stdout, "ok\n");
        assert_eq!(std::fs::read_to_string(&counter).unwrap().trim(), "3");
        let err = VBoxManage::with_path(dir.path().join("missing"))
            .run(&["list", "vms"])
            .await
            .unwrap_err();
        assert!(matches!(err, VBoxManageError::Spawn { .. }), "{err}");
    }

    #[tokio::test]
    async fn a_hung_call_times_out_with_its_command_line() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("VBoxManage");
        std::fs::write(&script, "#!/bin/sh\nsleep 5\n").unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let err = VBoxManage::with_path(&script)
            .timeout(Duration::from_millis(200))
            .run(&["startvm", "n"])
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "`VBoxManage startvm n` did not finish within 200ms"
        );
    }
}
