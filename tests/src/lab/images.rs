//! The lab's image registry: Debian's `docker-registry` serving images built here from Debian
//! packages (there is no other registry to pull from).
//!
//! Guests use it as a registry mirror at `http://<host-only gateway>:5000`, so
//! `docker pull nginx:stable-alpine` inside a guest resolves `library/nginx` here. Each image is
//! one layer: the package's binaries with the shared libraries they link, plus a few files.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use sha2::{Digest, Sha256};

use super::REGISTRY_PORT;

/// Bump when an image recipe changes: the cached registry is then rebuilt.
const RECIPE_VERSION: &str = "3";

/// The images every lab run offers: (repository, tag).
pub const IMAGES: &[(&str, &str)] = &[
    ("library/alpine", "latest"),
    ("library/nginx", "stable-alpine"),
    ("vboxsim/whoami", "latest"),
];

/// Starts the registry on port 5000 of every address, storing under the cache.
pub fn start_registry(cache: &Path, tmp: &Path) -> Result<Child> {
    let storage = cache.join("registry");
    fs::create_dir_all(&storage)?;
    let config = tmp.join("registry.yml");
    fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: :{REGISTRY_PORT}\n",
            storage.display()
        ),
    )?;
    let docker_registry = super::which("docker-registry")
        .ok_or_else(|| anyhow!("docker-registry is not installed"))?;
    let mut child = super::spawn_logged(
        Command::new(docker_registry).arg("serve").arg(&config),
        &tmp.join("registry.log"),
    )?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    loop {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{REGISTRY_PORT}/v2/"))
            .send()
            && r.status().is_success()
        {
            return Ok(child);
        }
        if let Some(status) = child.try_wait()? {
            let log = fs::read_to_string(tmp.join("registry.log")).unwrap_or_default();
            bail!("the registry exited ({status}): {}", log.trim());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            bail!("the registry did not answer on port {REGISTRY_PORT}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Builds and pushes every image the registry lacks (once; the storage is cached).
pub fn ensure_images(cache: &Path) -> Result<()> {
    let stamp = cache.join("registry.stamp");
    let want = format!("{RECIPE_VERSION} {}", host_package_versions());
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let base = format!("http://127.0.0.1:{REGISTRY_PORT}");
    let fresh = fs::read_to_string(&stamp).is_ok_and(|s| s == want);
    for (repo, tag) in IMAGES {
        let have = client
            .head(format!("{base}/v2/{repo}/manifests/{tag}"))
            .header("Accept", MANIFEST_TYPE)
            .send()
            .is_ok_and(|r| r.status().is_success());
        if have && fresh {
            continue;
        }
        let rootfs = tempfile::tempdir()?;
        let config =
            build_rootfs(repo, rootfs.path()).with_context(|| format!("building {repo}:{tag}"))?;
        push_image(&client, &base, repo, tag, rootfs.path(), &config)
            .with_context(|| format!("pushing {repo}:{tag}"))?;
    }
    fs::write(stamp, want)?;
    Ok(())
}

fn host_package_versions() -> String {
    let out = Command::new("dpkg-query")
        .args([
            "-W",
            "-f",
            "${Package}=${Version} ",
            "busybox-static",
            "nginx-core",
            "nginx-light",
            "nginx",
        ])
        .output();
    out.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// The image's container config (Cmd, Env, ExposedPorts).
struct ImageConfig {
    cmd: Vec<&'static str>,
    exposed: Vec<&'static str>,
    stop_signal: Option<&'static str>,
}

fn build_rootfs(repo: &str, root: &Path) -> Result<ImageConfig> {
    for d in [
        "bin", "sbin", "etc", "tmp", "proc", "sys", "dev", "run", "var/run", "root", "usr/bin",
        "usr/sbin",
    ] {
        fs::create_dir_all(root.join(d))?;
    }
    install_busybox(root)?;
    fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nnginx:x:101:101:nginx:/var/cache/nginx:/bin/false\n",
    )?;
    fs::write(
        root.join("etc/group"),
        "root:x:0:\nnogroup:x:65534:\nnginx:x:101:\n",
    )?;
    fs::write(
        root.join("etc/os-release"),
        "NAME=\"vboxsim lab image\"\nID=vboxsim\nPRETTY_NAME=\"vboxsim lab image (built from Debian packages)\"\n",
    )?;
    match repo {
        "library/alpine" => Ok(ImageConfig {
            cmd: vec!["/bin/sh"],
            exposed: vec![],
            stop_signal: None,
        }),
        "library/nginx" => {
            copy_with_libs(Path::new("/usr/sbin/nginx"), root)?;
            for d in [
                "etc/nginx",
                "usr/share/nginx/html",
                "var/log/nginx",
                "var/cache/nginx",
                "var/lib/nginx/body",
                "var/lib/nginx/proxy",
            ] {
                fs::create_dir_all(root.join(d))?;
            }
            fs::copy("/etc/nginx/mime.types", root.join("etc/nginx/mime.types"))
                .context("/etc/nginx/mime.types")?;
            fs::write(
                root.join("etc/nginx/nginx.conf"),
                "user nginx;\nworker_processes 1;\nerror_log /dev/stderr notice;\npid /run/nginx.pid;\nevents { worker_connections 256; }\nhttp {\n    include /etc/nginx/mime.types;\n    access_log /dev/stdout;\n    server {\n        listen 80;\n        listen 443;\n        server_name localhost;\n        location / { root /usr/share/nginx/html; index index.html; }\n    }\n}\n",
            )?;
            fs::write(
                root.join("usr/share/nginx/html/index.html"),
                "<!DOCTYPE html>\n<html>\n<head><title>Welcome to nginx!</title></head>\n<body>\n<h1>Welcome to nginx!</h1>\n<p>If you see this page, the nginx web server is successfully installed and working.</p>\n</body>\n</html>\n",
            )?;
            Ok(ImageConfig {
                cmd: vec!["nginx", "-g", "daemon off;"],
                exposed: vec!["80/tcp"],
                stop_signal: Some("SIGQUIT"),
            })
        }
        "vboxsim/whoami" => {
            fs::create_dir_all(root.join("www"))?;
            Ok(ImageConfig {
                cmd: vec![
                    "/bin/sh",
                    "-c",
                    "hostname > /www/index.html && exec httpd -f -p 80 -h /www",
                ],
                exposed: vec!["80/tcp"],
                stop_signal: None,
            })
        }
        other => bail!("no recipe for {other}"),
    }
}

/// Debian's busybox-static with a link for each applet (sh, wget, nslookup, httpd, ...).
fn install_busybox(root: &Path) -> Result<()> {
    let bb = root.join("bin/busybox");
    fs::copy("/bin/busybox", &bb).context("/bin/busybox (install busybox-static)")?;
    let out = Command::new("/bin/busybox").arg("--list-full").output()?;
    for applet in String::from_utf8_lossy(&out.stdout).lines() {
        let link = root.join(applet);
        if link.exists() || applet.is_empty() {
            continue;
        }
        if let Some(parent) = link.parent() {
            fs::create_dir_all(parent)?;
        }
        std::os::unix::fs::symlink("/bin/busybox", &link)?;
    }
    Ok(())
}

/// Copies a binary and every shared library `ldd` says it needs, at the same paths.
fn copy_with_libs(bin: &Path, root: &Path) -> Result<()> {
    let mut files: BTreeSet<PathBuf> = BTreeSet::new();
    files.insert(bin.to_path_buf());
    let out = Command::new("ldd").arg(bin).output()?;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let path = match line.split_once("=>") {
            Some((_, rest)) => rest.split_whitespace().next(),
            None => line.split_whitespace().next(),
        };
        if let Some(p) = path.filter(|p| p.starts_with('/')) {
            files.insert(PathBuf::from(p));
        }
    }
    for f in files {
        let real = fs::canonicalize(&f)?;
        let dest = root.join(f.strip_prefix("/")?);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::copy(&real, &dest).with_context(|| format!("copying {}", f.display()))?;
    }
    Ok(())
}

const MANIFEST_TYPE: &str = "application/vnd.docker.distribution.manifest.v2+json";

fn push_image(
    client: &reqwest::blocking::Client,
    base: &str,
    repo: &str,
    tag: &str,
    rootfs: &Path,
    cfg: &ImageConfig,
) -> Result<()> {
    // A reproducible tar: sorted entries, zero mtimes, root ownership.
    let mut tar_bytes = Vec::new();
    {
        let mut builder = tar::Builder::new(&mut tar_bytes);
        builder.mode(tar::HeaderMode::Deterministic);
        builder.follow_symlinks(false);
        builder.append_dir_all(".", rootfs)?;
        builder.finish()?;
    }
    let diff_id = format!("sha256:{}", hex::encode(Sha256::digest(&tar_bytes)));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar_bytes)?;
    let layer = gz.finish()?;
    let mut exposed = serde_json::Map::new();
    for p in &cfg.exposed {
        exposed.insert(p.to_string(), serde_json::json!({}));
    }
    let mut config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "created": "2026-01-01T00:00:00Z",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": cfg.cmd,
            "WorkingDir": "/",
            "ExposedPorts": exposed,
        },
        "rootfs": { "type": "layers", "diff_ids": [diff_id] },
        "history": [{ "created": "2026-01-01T00:00:00Z", "created_by": "vboxsim lab: built from Debian packages" }],
    });
    if let Some(s) = cfg.stop_signal {
        config["config"]["StopSignal"] = serde_json::json!(s);
    }
    let config_bytes = serde_json::to_vec(&config)?;
    let layer_digest = upload_blob(client, base, repo, &layer)?;
    let config_digest = upload_blob(client, base, repo, &config_bytes)?;
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": config_bytes.len(),
            "digest": config_digest,
        },
        "layers": [{
            "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "size": layer.len(),
            "digest": layer_digest,
        }],
    });
    let r = client
        .put(format!("{base}/v2/{repo}/manifests/{tag}"))
        .header("Content-Type", MANIFEST_TYPE)
        .body(serde_json::to_vec(&manifest)?)
        .send()?;
    if !r.status().is_success() {
        bail!(
            "manifest upload: {} {}",
            r.status(),
            r.text().unwrap_or_default()
        );
    }
    Ok(())
}

/// Monolithic blob upload (POST then PUT with the digest); returns the digest.
fn upload_blob(
    client: &reqwest::blocking::Client,
    base: &str,
    repo: &str,
    data: &[u8],
) -> Result<String> {
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(data)));
    let r = client
        .post(format!("{base}/v2/{repo}/blobs/uploads/"))
        .send()?;
    if r.status().as_u16() != 202 {
        bail!("blob upload start: {}", r.status());
    }
    let location = r
        .headers()
        .get("Location")
        .and_then(|l| l.to_str().ok())
        .ok_or_else(|| anyhow!("blob upload: no Location"))?
        .to_string();
    let url = if location.starts_with("http") {
        location
    } else {
        format!("{base}{location}")
    };
    let sep = if url.contains('?') { '&' } else { '?' };
    let r = client
        .put(format!("{url}{sep}digest={digest}"))
        .header("Content-Type", "application/octet-stream")
        .body(data.to_vec())
        .send()?;
    if !r.status().is_success() {
        bail!(
            "blob upload: {} {}",
            r.status(),
            r.text().unwrap_or_default()
        );
    }
    Ok(digest)
}
