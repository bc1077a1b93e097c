//! Registry credentials from the user's docker configuration, for `--with-registry-auth`: the
//! docker CLI's lookup (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`): a
//! credential helper for the registry (`credHelpers`), else the store (`credsStore`), else
//! the `auths` entry. Credentials are never logged.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine as _;
use bollard::auth::DockerCredentials;
use serde::Deserialize;

/// Docker Hub's key in the docker configuration.
const DOCKER_HUB: &str = "https://index.docker.io/v1/";

#[derive(Debug, Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: HashMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

/// The registry an image is pulled from, as the docker configuration keys it.
pub fn registry_of(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            if first == "docker.io" || first == "index.docker.io" {
                DOCKER_HUB.to_string()
            } else {
                first.to_string()
            }
        }
        _ => DOCKER_HUB.to_string(),
    }
}

/// The docker CLI's configuration folder: `$DOCKER_CONFIG`, else `~/.docker`.
pub fn docker_config_dir() -> Option<PathBuf> {
    match std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir)),
        None => std::env::home_dir().map(|home| home.join(".docker")),
    }
}

fn config_path() -> Option<PathBuf> {
    docker_config_dir().map(|dir| dir.join("config.json"))
}

/// The user's credentials for the registry of `image`; None when there are none.
pub fn credentials_for_image(image: &str) -> Option<DockerCredentials> {
    let registry = registry_of(image);
    let text = std::fs::read_to_string(config_path()?).ok()?;
    let config: ConfigFile = serde_json::from_str(&text).ok()?;
    let helper = config
        .cred_helpers
        .get(&registry)
        .or(config.creds_store.as_ref());
    if let Some(helper) = helper
        && let Some(found) = from_helper(helper, &registry)
    {
        return Some(found);
    }
    let entry = config
        .auths
        .iter()
        .find(|(key, _)| {
            let host = key
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .split('/')
                .next()
                .unwrap_or_default();
            key.as_str() == registry || host == registry
        })
        .map(|(_, entry)| entry)?;
    let mut credentials = DockerCredentials {
        serveraddress: Some(registry),
        identitytoken: entry.identitytoken.clone(),
        ..Default::default()
    };
    if let Some(auth) = &entry.auth {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth)
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (user, password) = decoded.split_once(':')?;
        credentials.username = Some(user.to_string());
        credentials.password = Some(password.to_string());
    }
    Some(credentials)
}

/// Asks `docker-credential-HELPER get` for the registry's credentials.
fn from_helper(helper: &str, registry: &str) -> Option<DockerCredentials> {
    let mut child = Command::new(format!("docker-credential-{helper}"))
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(registry.as_bytes()).ok()?;
    let output = child.wait_with_output().ok()?;
    if !output.status.success() {
        return None;
    }
    let answer: HelperAnswer = serde_json::from_slice(&output.stdout).ok()?;
    let mut credentials = DockerCredentials {
        serveraddress: Some(registry.to_string()),
        ..Default::default()
    };
    if answer.username == "<token>" {
        credentials.identitytoken = Some(answer.secret);
    } else {
        credentials.username = Some(answer.username);
        credentials.password = Some(answer.secret);
    }
    Some(credentials)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_as_the_docker_configuration_keys_them() {
        assert_eq!(registry_of("nginx:latest"), DOCKER_HUB);
        assert_eq!(registry_of("library/nginx"), DOCKER_HUB);
        assert_eq!(registry_of("docker.io/foo/bar"), DOCKER_HUB);
        assert_eq!(registry_of("ghcr.io/foo/bar:1"), "ghcr.io");
        assert_eq!(registry_of("localhost:5000/x"), "localhost:5000");
    }

    #[test]
    fn credentials_come_from_auths() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"auths":{"registry.example.com":{"auth":"dXNlcjpwYXNz"}}}"#,
        )
        .expect("write");
        // SAFETY: this test alone sets DOCKER_CONFIG in this process.
        unsafe { std::env::set_var("DOCKER_CONFIG", dir.path()) };
        let found = credentials_for_image("registry.example.com/team/app:1").expect("found");
        assert_eq!(found.username.as_deref(), Some("user"));
        assert_eq!(found.password.as_deref(), Some("pass"));
        assert!(credentials_for_image("nginx").is_none());
    }
}
