//! The docker CLI's context for a cluster, written in the CLI's own store so that
//! `docker --context vswarm-<cluster> ...` (or `docker context use`) reaches the cluster's
//! manager over mutual TLS, with no environment variables.
//!
//! The store is `$DOCKER_CONFIG/contexts` (default `~/.docker/contexts`): `meta/<id>/meta.json`
//! holds the name and the endpoint, `tls/<id>/docker/{ca,cert,key}.pem` the TLS material, where
//! `<id>` is the SHA-256 of the context's name in hex.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::state::{private_dir, write_private};

/// The context's name for a cluster.
pub fn context_name(cluster: &str) -> String {
    format!("vswarm-{cluster}")
}

pub use swarm_bootstrap::registry_auth::docker_config_dir;

/// A context in the store.
pub struct DockerContext {
    root: PathBuf,
    name: String,
}

impl DockerContext {
    pub fn new(config_dir: &Path, name: &str) -> DockerContext {
        DockerContext {
            root: config_dir.join("contexts"),
            name: name.to_string(),
        }
    }

    fn id(&self) -> String {
        hex::encode(Sha256::digest(self.name.as_bytes()))
    }

    fn meta_dir(&self) -> PathBuf {
        self.root.join("meta").join(self.id())
    }

    fn tls_dir(&self) -> PathBuf {
        self.root.join("tls").join(self.id())
    }

    pub fn exists(&self) -> bool {
        self.meta_dir().join("meta.json").exists()
    }

    /// Writes (or rewrites) the context: `host` (`tcp://IP:2376`) and the client's TLS files.
    pub fn write(
        &self,
        description: &str,
        host: &str,
        ca: &Path,
        cert: &Path,
        key: &Path,
    ) -> Result<()> {
        let meta = serde_json::json!({
            "Name": self.name,
            "Metadata": { "Description": description },
            "Endpoints": { "docker": { "Host": host, "SkipTLSVerify": false } },
        });
        let tls = self.tls_dir().join("docker");
        private_dir(&tls)?;
        for (from, to) in [(ca, "ca.pem"), (cert, "cert.pem"), (key, "key.pem")] {
            let bytes = std::fs::read(from)
                .map_err(|e| Error::io("reading the client's TLS files", from, e))?;
            write_private(&tls.join(to), &bytes)?;
        }
        let json = serde_json::to_vec(&meta)
            .map_err(|e| Error::failed("writing the docker context", e))?;
        write_private(&self.meta_dir().join("meta.json"), &json)
    }

    /// Removes the context; a context that is not there is fine.
    pub fn remove(&self) -> Result<()> {
        for dir in [self.meta_dir(), self.tls_dir()] {
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("removing the docker context", &dir, e)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_layout_is_the_docker_clis() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["ca.pem", "cert.pem", "key.pem"] {
            std::fs::write(dir.path().join(f), f).unwrap();
        }
        let c = DockerContext::new(&dir.path().join("cfg"), "vswarm-seed");
        c.write(
            "vswarm cluster seed",
            "tcp://192.168.56.101:2376",
            &dir.path().join("ca.pem"),
            &dir.path().join("cert.pem"),
            &dir.path().join("key.pem"),
        )
        .unwrap();
        // sha256("vswarm-seed")
        let id = hex::encode(Sha256::digest(b"vswarm-seed"));
        let meta: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.path().join(format!("cfg/contexts/meta/{id}/meta.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(meta["Name"], "vswarm-seed");
        assert_eq!(
            meta["Endpoints"]["docker"]["Host"],
            "tcp://192.168.56.101:2376"
        );
        let key = dir
            .path()
            .join(format!("cfg/contexts/tls/{id}/docker/key.pem"));
        assert_eq!(std::fs::read_to_string(&key).unwrap(), "key.pem");
        assert!(c.exists());
        c.remove().unwrap();
        assert!(!c.exists());
        c.remove().unwrap();
    }
}
