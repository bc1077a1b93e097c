//! TLS material for the Docker daemons: one CA per cluster, a server certificate per node, one
//! client certificate.
//!
//! docker-machine broke with "x509: certificate is valid for 192.168.99.100, not
//! 192.168.99.101" whenever DHCP gave a node a new address. Here a node's certificate names its
//! IP, `localhost` and its name; [`cert_names_ip`] tells when it no longer matches, and the
//! provisioner then issues a new one without asking. Keys are ECDSA P-256; the CA key never leaves
//! the cluster folder and every key file is written with mode 0600.

use std::fs;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use time::{Duration, OffsetDateTime};

/// How long issued certificates are valid.
pub const CA_VALIDITY_DAYS: i64 = 3650;
pub const LEAF_VALIDITY_DAYS: i64 = 1095;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("generating {what}")]
    Generate {
        what: String,
        #[source]
        source: rcgen::Error,
    },
    #[error("{action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is not a PEM certificate or key vswarm can read; remove the cluster's tls folder to issue new material"
    )]
    Invalid {
        path: PathBuf,
        #[source]
        source: TlsCause,
    },
    #[error("TLS to {addr}")]
    Handshake {
        addr: String,
        #[source]
        source: TlsCause,
    },
}

/// What lies under an unreadable certificate or a failed handshake.
#[derive(Debug, thiserror::Error)]
pub enum TlsCause {
    #[error("it is missing while {0} is there: the cluster's CA is incomplete")]
    HalfCa(PathBuf),
    #[error("it is not the key of {0}")]
    NotTheKeyOf(PathBuf),
    #[error("the daemon sent no certificate")]
    NoCertificate,
    #[error("the daemon's certificate cannot be read")]
    UnreadableCertificate,
    #[error(transparent)]
    Certificate(#[from] rcgen::Error),
    #[error(transparent)]
    Pem(#[from] rustls::pki_types::pem::Error),
    #[error(transparent)]
    Rustls(#[from] rustls::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Task(#[from] tokio::task::JoinError),
}

/// The cluster's certificate authority: `ca.pem` and `ca-key.pem` in a folder.
pub struct ClusterCa {
    dir: PathBuf,
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// A certificate and its key, as PEM.
#[derive(Clone)]
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("Issued")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

fn validity(params: &mut CertificateParams, days: i64) {
    let now = OffsetDateTime::now_utc();
    // A little slack for guests whose clock is behind the host's.
    params.not_before = now - Duration::hours(1);
    params.not_after = now + Duration::days(days);
}

fn generate_key(what: &str) -> Result<KeyPair, TlsError> {
    KeyPair::generate().map_err(|source| TlsError::Generate {
        what: what.to_string(),
        source,
    })
}

/// Writes `contents` to `path` atomically (a temporary file beside it, fsync, rename), in a
/// folder readable by the owner only; keys (`secret`) are 0600 from creation, certificates
/// 0644.
pub fn write_file(path: &Path, contents: &str, secret: bool) -> Result<(), TlsError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let io = |action: &'static str, source| TlsError::Io {
        action,
        path: path.to_path_buf(),
        source,
    };
    private_dir(dir).map_err(|e| io("creating the folder of", e))?;
    // tempfile creates its files 0600; certificates are opened up once written.
    let mut tmp = tempfile::Builder::new()
        .prefix(".vswarm-")
        .tempfile_in(dir)
        .map_err(|e| io("writing", e))?;
    tmp.write_all(contents.as_bytes())
        .map_err(|e| io("writing", e))?;
    #[cfg(unix)]
    if !secret {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o644))
            .map_err(|e| io("writing", e))?;
    }
    #[cfg(not(unix))]
    let _ = secret;
    tmp.as_file().sync_all().map_err(|e| io("writing", e))?;
    tmp.persist(path).map_err(|e| io("writing", e.error))?;
    Ok(())
}

/// Creates `dir` (and its parents) readable by the owner only.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn read(path: &Path) -> Result<String, TlsError> {
    fs::read_to_string(path).map_err(|source| TlsError::Io {
        action: "reading",
        path: path.to_path_buf(),
        source,
    })
}

impl ClusterCa {
    /// Loads the CA in `dir`, or creates it there.
    pub fn load_or_create(dir: &Path, cluster: &str) -> Result<ClusterCa, TlsError> {
        let (cert_path, key_path) = (dir.join("ca.pem"), dir.join("ca-key.pem"));
        match (cert_path.exists(), key_path.exists()) {
            (true, false) | (false, true) => {
                // A new CA would silently orphan every certificate the nodes hold.
                let (have, lost) = if cert_path.exists() {
                    (&cert_path, &key_path)
                } else {
                    (&key_path, &cert_path)
                };
                return Err(TlsError::Invalid {
                    path: lost.clone(),
                    source: TlsCause::HalfCa(have.clone()),
                });
            }
            _ => {}
        }
        if cert_path.exists() && key_path.exists() {
            let cert_pem = read(&cert_path)?;
            let key_pem = read(&key_path)?;
            if !key_matches_cert(&key_pem, &cert_pem) {
                return Err(TlsError::Invalid {
                    path: key_path.clone(),
                    source: TlsCause::NotTheKeyOf(cert_path.clone()),
                });
            }
            let key = KeyPair::from_pem(&key_pem).map_err(|e| TlsError::Invalid {
                path: key_path.clone(),
                source: e.into(),
            })?;
            let issuer =
                Issuer::from_ca_cert_pem(&cert_pem, key).map_err(|e| TlsError::Invalid {
                    path: cert_path.clone(),
                    source: e.into(),
                })?;
            return Ok(ClusterCa {
                dir: dir.to_path_buf(),
                cert_pem,
                issuer,
            });
        }
        let key = generate_key("the cluster CA key")?;
        let mut params = CertificateParams::default();
        // It signs only the nodes' and the client's certificates, never another CA.
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let mut dn = DistinguishedName::new();
        dn.push(
            DnType::OrganizationName,
            format!("vswarm cluster {cluster}"),
        );
        dn.push(DnType::CommonName, format!("vswarm CA {cluster}"));
        params.distinguished_name = dn;
        validity(&mut params, CA_VALIDITY_DAYS);
        let cert = params
            .self_signed(&key)
            .map_err(|source| TlsError::Generate {
                what: "the cluster CA".into(),
                source,
            })?;
        let cert_pem = cert.pem();
        write_file(&key_path, &key.serialize_pem(), true)?;
        write_file(&cert_path, &cert_pem, false)?;
        let issuer = Issuer::new(params, key);
        Ok(ClusterCa {
            dir: dir.to_path_buf(),
            cert_pem,
            issuer,
        })
    }

    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    pub fn cert_path(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// A server certificate for a node: every address it is reached at (its IP; `127.0.0.1`
    /// and `localhost`, for a NAT-forwarded port or a client on the node; its hostname).
    pub fn issue_server(&self, node: &str, ip: IpAddr) -> Result<Issued, TlsError> {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "vswarm");
        dn.push(DnType::CommonName, node);
        params.distinguished_name = dn;
        params.subject_alt_names = vec![
            SanType::IpAddress(ip),
            SanType::IpAddress(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)),
            SanType::DnsName(dns("localhost")?),
        ];
        if let Ok(name) = node.to_string().try_into() {
            params.subject_alt_names.push(SanType::DnsName(name));
        }
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        validity(&mut params, LEAF_VALIDITY_DAYS);
        self.sign(params, &format!("the server certificate of {node}"))
    }

    /// The client certificate the CLI and the library use.
    pub fn issue_client(&self) -> Result<Issued, TlsError> {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "vswarm");
        dn.push(DnType::CommonName, "vswarm client");
        params.distinguished_name = dn;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        validity(&mut params, LEAF_VALIDITY_DAYS);
        self.sign(params, "the client certificate")
    }

    fn sign(&self, params: CertificateParams, what: &str) -> Result<Issued, TlsError> {
        let key = generate_key(what)?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(|source| TlsError::Generate {
                what: what.to_string(),
                source,
            })?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// The client certificate in `dir` (`cert.pem`, `key.pem`, and `ca.pem` beside them, as the
    /// docker CLI's DOCKER_CERT_PATH expects): issued once, and again when it is unreadable or
    /// within [`RENEW_WITHIN_DAYS`] of expiring.
    pub fn client_files(&self, dir: &Path) -> Result<ClientFiles, TlsError> {
        let files = ClientFiles::in_dir(dir);
        let current = fs::read_to_string(&files.cert)
            .ok()
            .and_then(|pem| certificate_info_pem(&pem))
            .is_some_and(|info| !info.expires_within(RENEW_WITHIN_DAYS))
            && files.key.exists();
        if !current {
            self.write_client(&files)?;
        }
        if dir != self.dir {
            write_file(&files.ca, &self.cert_pem, false)?;
        }
        Ok(files)
    }

    /// A new client certificate in `dir`, whatever is there (`regenerate-certs`).
    pub fn renew_client_files(&self, dir: &Path) -> Result<ClientFiles, TlsError> {
        let files = ClientFiles::in_dir(dir);
        self.write_client(&files)?;
        if dir != self.dir {
            write_file(&files.ca, &self.cert_pem, false)?;
        }
        Ok(files)
    }

    fn write_client(&self, files: &ClientFiles) -> Result<(), TlsError> {
        let issued = self.issue_client()?;
        write_file(&files.key, &issued.key_pem, true)?;
        write_file(&files.cert, &issued.cert_pem, false)
    }
}

fn dns(name: &str) -> Result<rcgen::string::Ia5String, TlsError> {
    name.to_string()
        .try_into()
        .map_err(|source| TlsError::Generate {
            what: format!("the name {name}"),
            source,
        })
}

/// Paths of the client's CA, certificate and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl ClientFiles {
    /// `ca.pem`, `cert.pem` and `key.pem` in `dir`, the names the docker CLI expects.
    pub fn in_dir(dir: &Path) -> ClientFiles {
        ClientFiles {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        }
    }
}

/// Certificates this close to expiring are issued anew.
pub const RENEW_WITHIN_DAYS: i64 = 30;

/// What a certificate says, for checks and reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// The subject's common name.
    pub subject: String,
    /// Hex.
    pub serial: String,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    pub ips: Vec<IpAddr>,
    pub names: Vec<String>,
}

impl CertificateInfo {
    /// Whether it expires within `days` from now (or has expired).
    pub fn expires_within(&self, days: i64) -> bool {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        self.not_after - now < days * 86_400
    }

    /// `not_after` as an RFC 3339 date and time.
    pub fn not_after_text(&self) -> String {
        OffsetDateTime::from_unix_timestamp(self.not_after)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| self.not_after.to_string())
    }
}

/// Reads a DER certificate.
pub fn certificate_info_der(der: &[u8]) -> Option<CertificateInfo> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subject = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or("")
        .to_string();
    let mut ips = Vec::new();
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                x509_parser::extensions::GeneralName::IPAddress(bytes) => {
                    if let Ok(b) = <[u8; 4]>::try_from(*bytes) {
                        ips.push(IpAddr::from(b));
                    } else if let Ok(b) = <[u8; 16]>::try_from(*bytes) {
                        ips.push(IpAddr::from(b));
                    }
                }
                x509_parser::extensions::GeneralName::DNSName(name) => names.push(name.to_string()),
                _ => {}
            }
        }
    }
    Some(CertificateInfo {
        subject,
        serial: cert.raw_serial_as_string(),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        ips,
        names,
    })
}

/// Reads the first certificate of a PEM text.
pub fn certificate_info_pem(pem: &str) -> Option<CertificateInfo> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok()?;
    certificate_info_der(&pem.contents)
}

/// The certificate the daemon at `ip:port` serves now: a mutual-TLS handshake with the client
/// certificate, checked against the cluster's CA.
pub async fn served_certificate(
    ip: IpAddr,
    port: u16,
    client: &ClientFiles,
) -> Result<CertificateInfo, TlsError> {
    let client = client.clone();
    tokio::task::spawn_blocking(move || served_certificate_blocking(ip, port, &client))
        .await
        .map_err(|e| TlsError::Handshake {
            addr: format!("{ip}:{port}"),
            source: e.into(),
        })?
}

/// The TLS configuration of the cluster's clients: the cluster's CA as the only root (never
/// the system's), and the client certificate for mutual TLS.
pub fn client_config(client: &ClientFiles) -> Result<rustls::ClientConfig, TlsError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let invalid = |path: &Path, e: rustls::pki_types::pem::Error| TlsError::Invalid {
        path: path.to_path_buf(),
        source: e.into(),
    };
    crate::engine::install_crypto_provider();
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_file_iter(&client.ca).map_err(|e| invalid(&client.ca, e))? {
        roots
            .add(ca.map_err(|e| invalid(&client.ca, e))?)
            .map_err(|e| TlsError::Invalid {
                path: client.ca.clone(),
                source: e.into(),
            })?;
    }
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&client.cert)
        .map_err(|e| invalid(&client.cert, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| invalid(&client.cert, e))?;
    let key = PrivateKeyDer::from_pem_file(&client.key).map_err(|e| invalid(&client.key, e))?;
    rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| TlsError::Invalid {
            path: client.key.clone(),
            source: e.into(),
        })
}

fn served_certificate_blocking(
    ip: IpAddr,
    port: u16,
    client: &ClientFiles,
) -> Result<CertificateInfo, TlsError> {
    use rustls::pki_types::ServerName;
    let addr = format!("{ip}:{port}");
    let fail = |source: TlsCause| TlsError::Handshake {
        addr: addr.clone(),
        source,
    };
    let config = client_config(client)?;
    let mut conn = rustls::ClientConnection::new(
        std::sync::Arc::new(config),
        ServerName::IpAddress(ip.into()),
    )
    .map_err(|e| fail(e.into()))?;
    let mut sock = std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::new(ip, port),
        std::time::Duration::from_secs(5),
    )
    .map_err(|e| fail(e.into()))?;
    let _ = sock.set_read_timeout(Some(std::time::Duration::from_secs(5)));
    let _ = sock.set_write_timeout(Some(std::time::Duration::from_secs(5)));
    while conn.is_handshaking() {
        conn.complete_io(&mut sock).map_err(|e| fail(e.into()))?;
    }
    let leaf = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or_else(|| fail(TlsCause::NoCertificate))?;
    certificate_info_der(leaf).ok_or_else(|| fail(TlsCause::UnreadableCertificate))
}

/// Whether a PEM private key is the key of a PEM certificate (an installation cut short can
/// leave a new certificate beside an old key, and the daemon then cannot start).
pub fn key_matches_cert(key_pem: &str, cert_pem: &str) -> bool {
    let Ok(key) = KeyPair::from_pem(key_pem) else {
        return false;
    };
    let Ok((_, pem)) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()) else {
        return false;
    };
    let Ok(cert) = pem.parse_x509() else {
        return false;
    };
    cert.public_key().subject_public_key.data.as_ref() == key.public_key_raw()
}

/// Whether a PEM certificate names `ip` among its SANs (and is still valid).
pub fn cert_names_ip(cert_pem: &str, ip: IpAddr) -> bool {
    let Ok((_, pem)) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()) else {
        return false;
    };
    let Ok(cert) = pem.parse_x509() else {
        return false;
    };
    if !cert.validity().is_valid() {
        return false;
    }
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return false;
    };
    san.value.general_names.iter().any(|n| match n {
        x509_parser::extensions::GeneralName::IPAddress(bytes) => match ip {
            IpAddr::V4(v4) => *bytes == v4.octets(),
            IpAddr::V6(v6) => *bytes == v6.octets(),
        },
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error and its causes, as the CLI shows them.
    fn chain(e: &dyn std::error::Error) -> String {
        let mut text = e.to_string();
        let mut cause = e.source();
        while let Some(c) = cause {
            text.push_str(&format!(": {c}"));
            cause = c.source();
        }
        text
    }

    #[test]
    fn ca_is_created_once_and_keys_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let ca = ClusterCa::load_or_create(dir.path(), "test").unwrap();
        let again = ClusterCa::load_or_create(dir.path(), "test").unwrap();
        assert_eq!(ca.cert_pem(), again.cert_pem());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join("ca-key.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let client = again.client_files(&dir.path().join("client")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&client.key).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert_eq!(fs::read_to_string(&client.ca).unwrap(), ca.cert_pem());
    }

    #[test]
    fn server_certificates_name_the_node_ip() {
        let dir = tempfile::tempdir().unwrap();
        let ca = ClusterCa::load_or_create(dir.path(), "test").unwrap();
        let ip: IpAddr = "192.168.56.101".parse().unwrap();
        let issued = ca.issue_server("node-1", ip).unwrap();
        assert!(cert_names_ip(&issued.cert_pem, ip));
        assert!(!cert_names_ip(
            &issued.cert_pem,
            "192.168.56.102".parse().unwrap()
        ));
        assert!(!cert_names_ip("not a certificate", ip));
        assert!(
            !format!("{issued:?}").contains("PRIVATE KEY"),
            "keys are never printed"
        );
        assert!(key_matches_cert(&issued.key_pem, &issued.cert_pem));
        let other = ca.issue_server("node-1", ip).unwrap();
        assert!(!key_matches_cert(&other.key_pem, &issued.cert_pem));
        assert!(!key_matches_cert("not a key", &issued.cert_pem));
    }

    /// A TLS server on loopback presenting `issued`, for one handshake.
    fn serve_once(issued: &Issued) -> u16 {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        crate::engine::install_crypto_provider();
        let chain = vec![CertificateDer::from_pem_slice(issued.cert_pem.as_bytes()).unwrap()];
        let key = PrivateKeyDer::from_pem_slice(issued.key_pem.as_bytes()).unwrap();
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut sock, _) = listener.accept().unwrap();
            let mut conn = rustls::ServerConnection::new(std::sync::Arc::new(config)).unwrap();
            while conn.is_handshaking() {
                if conn.complete_io(&mut sock).is_err() {
                    break;
                }
            }
        });
        port
    }

    #[test]
    fn clients_trust_the_cluster_ca_only() {
        let dir = tempfile::tempdir().unwrap();
        let ca = ClusterCa::load_or_create(&dir.path().join("ca"), "c").unwrap();
        let client = ca.client_files(&dir.path().join("client")).unwrap();
        let other = ClusterCa::load_or_create(&dir.path().join("other"), "x").unwrap();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();

        let port = serve_once(&ca.issue_server("n1", ip).unwrap());
        let served = served_certificate_blocking(ip, port, &client).unwrap();
        assert_eq!(served.subject, "n1");
        assert!(served.ips.contains(&ip));

        let port = serve_once(&other.issue_server("n1", ip).unwrap());
        let err = chain(&served_certificate_blocking(ip, port, &client).unwrap_err());
        assert!(
            err.contains("UnknownIssuer"),
            "another CA's certificate is refused: {err}"
        );
    }

    #[test]
    fn an_incomplete_or_mismatched_ca_is_refused_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let ca = ClusterCa::load_or_create(dir.path(), "c").unwrap();
        let key = std::fs::read_to_string(dir.path().join("ca-key.pem")).unwrap();
        std::fs::remove_file(dir.path().join("ca-key.pem")).unwrap();
        let err = chain(&ClusterCa::load_or_create(dir.path(), "c").err().unwrap());
        assert!(
            err.contains("ca-key.pem") && err.contains("incomplete"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("ca.pem")).unwrap(),
            ca.cert_pem(),
            "the CA was not replaced"
        );
        let other = tempfile::tempdir().unwrap();
        ClusterCa::load_or_create(other.path(), "x").unwrap();
        std::fs::copy(
            other.path().join("ca-key.pem"),
            dir.path().join("ca-key.pem"),
        )
        .unwrap();
        let err = chain(&ClusterCa::load_or_create(dir.path(), "c").err().unwrap());
        assert!(err.contains("is not the key of"), "{err}");
        std::fs::write(dir.path().join("ca-key.pem"), key).unwrap();
        assert!(ClusterCa::load_or_create(dir.path(), "c").is_ok());
    }
}
