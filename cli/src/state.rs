//! Where a cluster's state lives: `$VSWARM_HOME/clusters/<name>/` (default: the platform's data
//! folder). It holds the SSH key pair, the TLS material, the pinned host keys, the VM folders and
//! `cluster.json`, the nodes as last brought up.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What `vswarm up` recorded about a node.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NodeRecord {
    pub name: String,
    pub role: String,
    pub ip: String,
}

/// `cluster.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClusterRecord {
    pub name: String,
    pub interface: String,
    pub network: String,
    pub nodes: Vec<NodeRecord>,
}

/// The folders of one cluster.
#[derive(Debug, Clone)]
pub struct ClusterDir {
    pub root: PathBuf,
}

/// `$VSWARM_HOME`, or the platform's data folder for vswarm.
pub fn vswarm_home() -> Option<PathBuf> {
    if let Some(h) = std::env::var_os("VSWARM_HOME").filter(|h| !h.is_empty()) {
        return Some(PathBuf::from(h));
    }
    directories::ProjectDirs::from("", "", "vswarm").map(|d| d.data_dir().to_path_buf())
}

impl ClusterDir {
    pub fn new(home: &Path, cluster: &str) -> ClusterDir {
        ClusterDir {
            root: home.join("clusters").join(cluster),
        }
    }
    pub fn key(&self) -> PathBuf {
        self.root.join("id_ed25519")
    }
    pub fn tls(&self) -> PathBuf {
        self.root.join("tls")
    }
    pub fn client(&self) -> PathBuf {
        self.root.join("tls/client")
    }
    pub fn known_hosts(&self) -> PathBuf {
        self.root.join("known_hosts")
    }
    pub fn machines(&self) -> PathBuf {
        self.root.join("machines")
    }
    fn record_path(&self) -> PathBuf {
        self.root.join("cluster.json")
    }

    pub fn read_record(&self) -> std::io::Result<Option<ClusterRecord>> {
        match std::fs::read(self.record_path()) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(std::io::Error::other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn write_record(&self, record: &ClusterRecord) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.root)?;
        let tmp = self.record_path().with_extension("json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(record).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(tmp, self.record_path())
    }

    /// The cluster's SSH key pair, generated once (ed25519, private key mode 0600); returns the
    /// public key in OpenSSH's one-line form.
    pub fn ensure_key(&self) -> Result<String, String> {
        let path = self.key();
        if path.exists() {
            let key = ssh_key::PrivateKey::read_openssh_file(&path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            return key.public_key().to_openssh().map_err(|e| e.to_string());
        }
        std::fs::create_dir_all(&self.root).map_err(|e| format!("{}: {e}", self.root.display()))?;
        let key = ssh_key::PrivateKey::random(
            &mut ssh_key::rand_core::OsRng,
            ssh_key::Algorithm::Ed25519,
        )
        .map_err(|e| format!("generating the cluster's SSH key: {e}"))?;
        key.write_openssh_file(&path, ssh_key::LineEnding::LF)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let public = key.public_key().to_openssh().map_err(|e| e.to_string())?;
        std::fs::write(path.with_extension("pub"), format!("{public}\n"))
            .map_err(|e| e.to_string())?;
        Ok(public)
    }
}
