//! A boot2docker release server on loopback, shaped like GitHub's: the releases API, the
//! repository's Atom feed, and the ISO download (with HTTP Range, so resume can be exercised).
//!
//! The ISO is a real ISO9660 image made by xorriso with the volume id `b2d-v19.03.12`, cached.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use sha2::{Digest, Sha256};

/// The release the server offers, as boot2docker's last one.
pub const B2D_VERSION: &str = "v19.03.12";

/// The cached ISO and its checksum.
#[derive(Clone, Debug)]
pub struct Iso {
    pub path: PathBuf,
    pub sha256: String,
    pub size: u64,
}

/// Builds the ISO once (xorriso), keeping it in the cache.
pub fn ensure_iso(cache: &Path) -> Result<Iso> {
    let dir = cache.join("iso");
    fs::create_dir_all(&dir)?;
    let path = dir.join(format!("boot2docker-{B2D_VERSION}.iso"));
    if !path.exists() {
        let content = tempfile::tempdir()?;
        fs::create_dir_all(content.path().join("boot"))?;
        fs::write(
            content.path().join("boot/README"),
            format!("boot2docker {B2D_VERSION} stand-in ISO for the vswarm lab.\n"),
        )?;
        let tmp = dir.join(".building.iso");
        let out = Command::new("xorriso")
            .args([
                "-as",
                "mkisofs",
                "-quiet",
                "-V",
                &format!("b2d-{B2D_VERSION}"),
                "-o",
            ])
            .arg(&tmp)
            .arg(content.path())
            .output()
            .context("xorriso (install xorriso)")?;
        if !out.status.success() {
            bail!("xorriso: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
        fs::rename(&tmp, &path)?;
    }
    let bytes = fs::read(&path)?;
    Ok(Iso {
        sha256: hex::encode(Sha256::digest(&bytes)),
        size: bytes.len() as u64,
        path,
    })
}

/// The running server: its runtime lives on its own thread.
pub struct ReleaseServer {
    port: u16,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Clone)]
struct AppState {
    iso: Iso,
    base: String,
}

impl ReleaseServer {
    pub fn start(iso: Iso) -> Result<ReleaseServer> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let state = AppState {
            iso,
            base: format!("http://127.0.0.1:{port}"),
        };
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                let app = router(state);
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = rx.await;
                    })
                    .await;
            });
        });
        Ok(ReleaseServer {
            port,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/repos/boot2docker/boot2docker/releases", get(releases))
        .route(
            "/repos/boot2docker/boot2docker/releases/latest",
            get(latest),
        )
        .route("/boot2docker/boot2docker/releases.atom", get(atom))
        .route(
            &format!("/boot2docker/boot2docker/releases/download/{B2D_VERSION}/boot2docker.iso"),
            get(iso),
        )
        .route(
            &format!(
                "/boot2docker/boot2docker/releases/download/{B2D_VERSION}/boot2docker.iso.sha256"
            ),
            get(checksum),
        )
        .with_state(state)
}

fn release_json(s: &AppState) -> serde_json::Value {
    serde_json::json!({
        "tag_name": B2D_VERSION,
        "name": B2D_VERSION,
        "draft": false,
        "prerelease": false,
        "published_at": "2020-07-02T00:00:00Z",
        "html_url": format!("{}/boot2docker/boot2docker/releases/tag/{B2D_VERSION}", s.base),
        "assets": [{
            "name": "boot2docker.iso",
            "size": s.iso.size,
            "content_type": "application/x-iso9660-image",
            "browser_download_url": format!("{}/boot2docker/boot2docker/releases/download/{B2D_VERSION}/boot2docker.iso", s.base),
        }],
    })
}

async fn releases(State(s): State<AppState>) -> impl IntoResponse {
    // A newer pre-release comes first, as on GitHub; clients must skip it.
    let pre = serde_json::json!({
        "tag_name": "v19.03.13-rc1",
        "name": "v19.03.13-rc1",
        "draft": false,
        "prerelease": true,
        "published_at": "2020-08-01T00:00:00Z",
        "assets": [],
    });
    axum::Json(serde_json::json!([pre, release_json(&s)]))
}

async fn latest(State(s): State<AppState>) -> impl IntoResponse {
    axum::Json(release_json(&s))
}

async fn atom(State(s): State<AppState>) -> impl IntoResponse {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n  <id>tag:github.com,2008:https://github.com/boot2docker/boot2docker/releases</id>\n  <title>Release notes from boot2docker</title>\n  <updated>2020-07-02T00:00:00Z</updated>\n  <entry>\n    <id>tag:github.com,2008:Repository/14930729/{B2D_VERSION}</id>\n    <updated>2020-07-02T00:00:00Z</updated>\n    <link rel=\"alternate\" type=\"text/html\" href=\"{}/boot2docker/boot2docker/releases/tag/{B2D_VERSION}\"/>\n    <title>{B2D_VERSION}</title>\n  </entry>\n</feed>\n",
        s.base
    );
    (
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        body,
    )
}

async fn iso(State(s): State<AppState>, req: axum::extract::Request) -> impl IntoResponse {
    use tower::ServiceExt;
    match tower_http::services::ServeFile::new(&s.iso.path)
        .oneshot(req)
        .await
    {
        Ok(r) => r.into_response(),
        Err(e) => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn checksum(State(s): State<AppState>) -> impl IntoResponse {
    format!("{}  boot2docker.iso\n", s.iso.sha256)
}
