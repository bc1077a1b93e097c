//! Shared by the integration tests: ISO images generated in Rust, and a release server on
//! 127.0.0.1 shaped like GitHub's (releases API, Atom feed, ISO with HTTP Range, checksum file)
//! whose behaviour each test controls and whose requests each test can count.

#![allow(dead_code)]

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use images::{
    Cache, HttpSettings, ImageSource, Progress, PullError, PullOptions, PullPolicy, Pulled,
    ReleaseEndpoints, Resolver,
};
use sha2::{Digest, Sha256};
use tokio::sync::{Notify, watch};

/// The release the server offers.
pub const TAG: &str = "v19.03.12";
pub const PRE_RELEASE_TAG: &str = "v19.03.13-rc1";
pub const OWNER_REPO: &str = "boot2docker/boot2docker";

const SECTOR: usize = 2048;

/// A small but valid ISO9660 image: system area, primary volume descriptor naming
/// `volume_id`, terminator, path tables, a root directory holding one file of
/// `payload_sectors` sectors of deterministic pseudo-random bytes.
pub fn make_iso(volume_id: &str, payload_sectors: usize) -> Vec<u8> {
    let root_sector = 20usize;
    let payload_sector = 21usize;
    let total_sectors = payload_sector + payload_sectors;
    let mut image = vec![0u8; total_sectors * SECTOR];

    let both32 = |buf: &mut [u8], value: u32| {
        buf[..4].copy_from_slice(&value.to_le_bytes());
        buf[4..8].copy_from_slice(&value.to_be_bytes());
    };
    let both16 = |buf: &mut [u8], value: u16| {
        buf[..2].copy_from_slice(&value.to_le_bytes());
        buf[2..4].copy_from_slice(&value.to_be_bytes());
    };
    let dir_record = |name: &[u8], extent: u32, length: u32, flags: u8| -> Vec<u8> {
        let mut len = 33 + name.len();
        if len % 2 == 1 {
            len += 1;
        }
        let mut record = vec![0u8; len];
        record[0] = len as u8;
        both32(&mut record[2..10], extent);
        both32(&mut record[10..18], length);
        record[18..25].copy_from_slice(&[120, 7, 2, 0, 0, 0, 0]);
        record[25] = flags;
        both16(&mut record[28..32], 1);
        record[32] = name.len() as u8;
        record[33..33 + name.len()].copy_from_slice(name);
        record
    };

    // Primary volume descriptor.
    {
        let pvd = &mut image[16 * SECTOR..17 * SECTOR];
        pvd[0] = 1;
        pvd[1..6].copy_from_slice(b"CD001");
        pvd[6] = 1;
        pvd[8..40].fill(b' ');
        pvd[8..13].copy_from_slice(b"LINUX");
        pvd[40..72].fill(b' ');
        let id = volume_id.as_bytes();
        pvd[40..40 + id.len().min(32)].copy_from_slice(&id[..id.len().min(32)]);
        both32(&mut pvd[80..88], total_sectors as u32);
        both16(&mut pvd[120..124], 1);
        both16(&mut pvd[124..128], 1);
        both16(&mut pvd[128..132], SECTOR as u16);
        both32(&mut pvd[132..140], 10);
        pvd[140..144].copy_from_slice(&18u32.to_le_bytes());
        pvd[148..152].copy_from_slice(&19u32.to_be_bytes());
        let root = dir_record(&[0], root_sector as u32, SECTOR as u32, 2);
        pvd[156..156 + root.len()].copy_from_slice(&root);
        pvd[190..813].fill(b' ');
        for date in [813usize, 830, 847, 864] {
            pvd[date..date + 16].fill(b'0');
        }
        pvd[881] = 1;
    }
    // Terminator.
    {
        let end = &mut image[17 * SECTOR..18 * SECTOR];
        end[0] = 255;
        end[1..6].copy_from_slice(b"CD001");
        end[6] = 1;
    }
    // Path tables (little- and big-endian), one entry: the root.
    image[18 * SECTOR] = 1;
    image[18 * SECTOR + 2..18 * SECTOR + 6].copy_from_slice(&(root_sector as u32).to_le_bytes());
    image[18 * SECTOR + 6..18 * SECTOR + 8].copy_from_slice(&1u16.to_le_bytes());
    image[19 * SECTOR] = 1;
    image[19 * SECTOR + 2..19 * SECTOR + 6].copy_from_slice(&(root_sector as u32).to_be_bytes());
    image[19 * SECTOR + 6..19 * SECTOR + 8].copy_from_slice(&1u16.to_be_bytes());
    // Root directory: ".", "..", PAYLOAD.BIN.
    {
        let mut offset = root_sector * SECTOR;
        for record in [
            dir_record(&[0], root_sector as u32, SECTOR as u32, 2),
            dir_record(&[1], root_sector as u32, SECTOR as u32, 2),
            dir_record(
                b"PAYLOAD.BIN;1",
                payload_sector as u32,
                (payload_sectors * SECTOR) as u32,
                0,
            ),
        ] {
            image[offset..offset + record.len()].copy_from_slice(&record);
            offset += record.len();
        }
    }
    // Payload: xorshift bytes, seeded by the volume id so that images differ.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15 ^ volume_id.len() as u64;
    for byte in volume_id.bytes() {
        state = state.rotate_left(7) ^ u64::from(byte);
    }
    for byte in &mut image[payload_sector * SECTOR..] {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *byte = state as u8;
    }
    image
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// How the releases API answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiBehaviour {
    /// A pre-release first, then the release with its ISO asset, as GitHub lists them.
    Releases,
    /// GitHub's rate limit answer (403, `x-ratelimit-remaining: 0`).
    RateLimited,
    /// 401 "Bad credentials", echoing the Authorization header back (a hostile server).
    EchoingUnauthorized,
}

/// How the checksum file answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChecksumBehaviour {
    Correct,
    Wrong,
    Missing,
}

/// How the ISO download answers.
#[derive(Clone)]
pub enum IsoBehaviour {
    /// The ISO, honouring Range.
    Whole,
    /// The first request sends `bytes` bytes, then waits for `cut` and breaks the connection;
    /// later requests are served whole (honouring Range).
    CutFirstAfter { bytes: usize, cut: Arc<Notify> },
    /// Every request waits until the gate is open.
    Gated(watch::Receiver<bool>),
    /// An HTML page instead of an ISO.
    NotAnIso,
}

pub struct ServerState {
    pub base: String,
    pub iso: Vec<u8>,
    pub iso_sha256: String,
    pub api: Mutex<ApiBehaviour>,
    pub checksum: Mutex<ChecksumBehaviour>,
    pub iso_behaviour: Mutex<IsoBehaviour>,
    pub api_gets: AtomicUsize,
    pub feed_gets: AtomicUsize,
    pub iso_gets: AtomicUsize,
    pub checksum_gets: AtomicUsize,
    /// The Range header of each ISO request, in order.
    pub iso_ranges: Mutex<Vec<Option<String>>>,
    /// Body bytes sent for the ISO, over all requests.
    pub iso_bytes_sent: AtomicU64,
    /// The Authorization header of each API request.
    pub api_authorizations: Mutex<Vec<Option<String>>>,
    /// The Authorization header of every other request.
    pub other_authorizations: Mutex<Vec<Option<String>>>,
}

/// The release server, stopped when dropped.
pub struct ReleaseServer {
    pub base: String,
    pub state: Arc<ServerState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ReleaseServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ReleaseServer {
    /// Serves `iso` as release [`TAG`] on 127.0.0.1 (a free port).
    pub async fn start(iso: Vec<u8>) -> ReleaseServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let state = Arc::new(ServerState {
            base: base.clone(),
            iso_sha256: sha256_hex(&iso),
            iso,
            api: Mutex::new(ApiBehaviour::Releases),
            checksum: Mutex::new(ChecksumBehaviour::Correct),
            iso_behaviour: Mutex::new(IsoBehaviour::Whole),
            api_gets: AtomicUsize::new(0),
            feed_gets: AtomicUsize::new(0),
            iso_gets: AtomicUsize::new(0),
            checksum_gets: AtomicUsize::new(0),
            iso_ranges: Mutex::new(Vec::new()),
            iso_bytes_sent: AtomicU64::new(0),
            api_authorizations: Mutex::new(Vec::new()),
            other_authorizations: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route(&format!("/repos/{OWNER_REPO}/releases"), get(releases))
            .route(&format!("/{OWNER_REPO}/releases.atom"), get(feed))
            .route(
                &format!("/{OWNER_REPO}/releases/download/{{tag}}/{{file}}"),
                get(download),
            )
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        ReleaseServer { base, state, task }
    }

    pub fn releases_url(&self) -> String {
        format!("{}/repos/{OWNER_REPO}/releases", self.base)
    }

    pub fn iso_url(&self) -> String {
        format!(
            "{}/{OWNER_REPO}/releases/download/{TAG}/boot2docker.iso",
            self.base
        )
    }

    pub fn set_api(&self, behaviour: ApiBehaviour) {
        *self.state.api.lock().unwrap() = behaviour;
    }

    pub fn set_checksum(&self, behaviour: ChecksumBehaviour) {
        *self.state.checksum.lock().unwrap() = behaviour;
    }

    pub fn set_iso(&self, behaviour: IsoBehaviour) {
        *self.state.iso_behaviour.lock().unwrap() = behaviour;
    }

    pub fn iso_gets(&self) -> usize {
        self.state.iso_gets.load(Ordering::SeqCst)
    }

    pub fn api_gets(&self) -> usize {
        self.state.api_gets.load(Ordering::SeqCst)
    }

    pub fn feed_gets(&self) -> usize {
        self.state.feed_gets.load(Ordering::SeqCst)
    }

    pub fn iso_ranges(&self) -> Vec<Option<String>> {
        self.state.iso_ranges.lock().unwrap().clone()
    }

    /// A resolver pointed at this server, with short backoffs.
    pub fn resolver(&self) -> Resolver {
        resolver_for(&self.releases_url(), None)
    }
}

fn authorization(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("<not text>").to_string())
}

async fn releases(State(state): State<Arc<ServerState>>, headers: HeaderMap) -> Response {
    state.api_gets.fetch_add(1, Ordering::SeqCst);
    let auth = authorization(&headers);
    state.api_authorizations.lock().unwrap().push(auth.clone());
    let behaviour = *state.api.lock().unwrap();
    match behaviour {
        ApiBehaviour::Releases => {
            let base = &state.base;
            let body = serde_json::json!([
                {
                    "tag_name": PRE_RELEASE_TAG,
                    "name": PRE_RELEASE_TAG,
                    "draft": false,
                    "prerelease": true,
                    "assets": [{
                        "name": "boot2docker.iso",
                        "browser_download_url": format!("{base}/{OWNER_REPO}/releases/download/{PRE_RELEASE_TAG}/boot2docker.iso"),
                    }],
                },
                {
                    "tag_name": TAG,
                    "name": TAG,
                    "draft": false,
                    "prerelease": false,
                    "html_url": format!("{base}/{OWNER_REPO}/releases/tag/{TAG}"),
                    "assets": [{
                        "name": "boot2docker.iso",
                        "size": state.iso.len(),
                        "browser_download_url": format!("{base}/{OWNER_REPO}/releases/download/{TAG}/boot2docker.iso"),
                    }],
                },
            ]);
            axum::Json(body).into_response()
        }
        ApiBehaviour::RateLimited => (
            StatusCode::FORBIDDEN,
            [
                ("x-ratelimit-limit", "60"),
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "1700000000"),
                ("content-type", "application/json"),
            ],
            r#"{"message":"API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}"#,
        )
            .into_response(),
        ApiBehaviour::EchoingUnauthorized => (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({
                "message": format!("Bad credentials: {}", auth.unwrap_or_default()),
            })),
        )
            .into_response(),
    }
}

async fn feed(State(state): State<Arc<ServerState>>, headers: HeaderMap) -> Response {
    state.feed_gets.fetch_add(1, Ordering::SeqCst);
    state
        .other_authorizations
        .lock()
        .unwrap()
        .push(authorization(&headers));
    let base = &state.base;
    let entry = |tag: &str| {
        format!(
            "  <entry>\n    <id>tag:github.com,2008:Repository/14930729/{tag}</id>\n    <updated>2020-07-02T00:00:00Z</updated>\n    <link rel=\"alternate\" type=\"text/html\" href=\"{base}/{OWNER_REPO}/releases/tag/{tag}\"/>\n    <title>{tag}</title>\n  </entry>\n"
        )
    };
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n  <id>tag:github.com,2008:https://github.com/{OWNER_REPO}/releases</id>\n  <title>Release notes from boot2docker</title>\n  <updated>2020-08-01T00:00:00Z</updated>\n{}{}</feed>\n",
        entry(PRE_RELEASE_TAG),
        entry(TAG)
    );
    (
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn download(
    State(state): State<Arc<ServerState>>,
    Path((tag, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    state
        .other_authorizations
        .lock()
        .unwrap()
        .push(authorization(&headers));
    if tag != TAG {
        return StatusCode::NOT_FOUND.into_response();
    }
    match file.as_str() {
        "boot2docker.iso" => serve_iso(state, headers).await,
        "boot2docker.iso.sha256" => {
            state.checksum_gets.fetch_add(1, Ordering::SeqCst);
            let behaviour = *state.checksum.lock().unwrap();
            match behaviour {
                ChecksumBehaviour::Correct => {
                    format!("{}  boot2docker.iso\n", state.iso_sha256).into_response()
                }
                ChecksumBehaviour::Wrong => {
                    format!("{}  boot2docker.iso\n", sha256_hex(b"another file")).into_response()
                }
                ChecksumBehaviour::Missing => StatusCode::NOT_FOUND.into_response(),
            }
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The requested byte range: `bytes=START-` or `bytes=START-END`.
fn requested_range(headers: &HeaderMap, len: usize) -> Result<Option<(usize, usize)>, ()> {
    let Some(value) = headers.get(header::RANGE) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| ())?;
    let spec = text.strip_prefix("bytes=").ok_or(())?;
    let (start, end) = spec.split_once('-').ok_or(())?;
    let start: usize = start.parse().map_err(|_| ())?;
    let end: usize = if end.is_empty() {
        len.saturating_sub(1)
    } else {
        end.parse::<usize>()
            .map_err(|_| ())?
            .min(len.saturating_sub(1))
    };
    if start >= len || end < start {
        return Err(());
    }
    Ok(Some((start, end)))
}

async fn serve_iso(state: Arc<ServerState>, headers: HeaderMap) -> Response {
    let request_number = state.iso_gets.fetch_add(1, Ordering::SeqCst) + 1;
    state.iso_ranges.lock().unwrap().push(
        headers
            .get(header::RANGE)
            .map(|v| v.to_str().unwrap_or("").to_string()),
    );
    let behaviour = state.iso_behaviour.lock().unwrap().clone();
    if let IsoBehaviour::Gated(mut gate) = behaviour.clone() {
        gate.wait_for(|open| *open).await.unwrap();
    }
    if let IsoBehaviour::NotAnIso = behaviour {
        let page = "<!DOCTYPE html><html><body>Please sign in to the hotel Wi-Fi</body></html>";
        state
            .iso_bytes_sent
            .fetch_add(page.len() as u64, Ordering::SeqCst);
        return ([(header::CONTENT_TYPE, "text/html")], page).into_response();
    }
    let len = state.iso.len();
    let (status, start, end) = match requested_range(&headers, len) {
        Ok(Some((start, end))) => (StatusCode::PARTIAL_CONTENT, start, end),
        Ok(None) => (StatusCode::OK, 0, len - 1),
        Err(()) => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{len}"))],
            )
                .into_response();
        }
    };
    let mut response_headers = HeaderMap::new();
    response_headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    response_headers.insert(
        header::ETAG,
        HeaderValue::from_str(&format!("\"{}\"", &state.iso_sha256[..16])).unwrap(),
    );
    response_headers.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from_str(&(end - start + 1).to_string()).unwrap(),
    );
    if status == StatusCode::PARTIAL_CONTENT {
        response_headers.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")).unwrap(),
        );
    }
    let body = match behaviour {
        IsoBehaviour::CutFirstAfter { bytes, cut } if request_number == 1 => {
            let first = Bytes::copy_from_slice(&state.iso[start..start + bytes]);
            state
                .iso_bytes_sent
                .fetch_add(bytes as u64, Ordering::SeqCst);
            let stream = futures_util::stream::unfold(0u8, move |step| {
                let first = first.clone();
                let cut = cut.clone();
                async move {
                    match step {
                        0 => Some((Ok::<Bytes, io::Error>(first), 1)),
                        1 => {
                            cut.notified().await;
                            Some((
                                Err(io::Error::new(
                                    io::ErrorKind::ConnectionReset,
                                    "connection cut by the test",
                                )),
                                2,
                            ))
                        }
                        _ => None,
                    }
                }
            });
            Body::from_stream(stream)
        }
        _ => {
            state
                .iso_bytes_sent
                .fetch_add((end - start + 1) as u64, Ordering::SeqCst);
            Body::from(state.iso[start..=end].to_vec())
        }
    };
    (status, response_headers, body).into_response()
}

/// Timeouts for tests: short backoffs so that retries do not slow the suite down (nothing is
/// asserted about time), and no proxy from the environment: requests go to 127.0.0.1 only.
pub fn test_settings() -> HttpSettings {
    HttpSettings {
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(20),
        request_timeout: Duration::from_secs(20),
        attempts: 3,
        backoff_initial: Duration::from_millis(10),
        backoff_max: Duration::from_millis(40),
        proxy_from_env: false,
    }
}

pub fn resolver_for(releases_url: &str, token: Option<&str>) -> Resolver {
    Resolver::new(
        ReleaseEndpoints::from_releases_url(releases_url).unwrap(),
        token.and_then(images::GithubToken::new),
        test_settings(),
    )
    .unwrap()
}

/// An empty cache in a fresh temporary folder (removed when the folder is dropped).
pub fn fresh_cache() -> (tempfile::TempDir, Cache) {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().join("cache"));
    (dir, cache)
}

/// Pull options that ask the release server for a newer release, with no configured checksum.
pub fn check_for_newer() -> PullOptions {
    PullOptions {
        policy: PullPolicy::CheckForNewer,
        expected_sha256: None,
        ..PullOptions::default()
    }
}

/// Pulls the latest release through `resolver` into `cache`, checking for a newer one.
pub async fn try_pull_latest(cache: &Cache, resolver: &Resolver) -> Result<Pulled, PullError> {
    cache
        .pull(&ImageSource::Latest, resolver, &check_for_newer(), |_| {})
        .await
}

/// A releases URL on a loopback port nothing listens on: "no network".
pub fn unreachable_releases_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/repos/{OWNER_REPO}/releases")
}

/// Collects progress events.
#[derive(Clone, Default)]
pub struct ProgressLog(Arc<Mutex<Vec<Progress>>>);

impl ProgressLog {
    pub fn recorder(&self) -> impl Fn(Progress) + Send + Sync + 'static {
        let events = self.0.clone();
        move |event| events.lock().unwrap().push(event)
    }

    pub fn events(&self) -> Vec<Progress> {
        self.0.lock().unwrap().clone()
    }
}

/// Every regular file under `dir`, recursively.
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}
