//! Downloading an ISO so that nothing received is lost: HTTP Range requests continue a cut
//! connection (or an earlier, interrupted pull) where it stopped, failures are retried with
//! backoff, and progress is reported as bytes done and total.
//!
//! The bytes go to a partial file that survives the process; next to it a small JSON file
//! remembers the URL and the server's validator (ETag or Last-Modified), sent as `If-Range` so
//! that a file changed on the server restarts from zero instead of being spliced. Checking the
//! result (checksum, ISO) and moving it into the cache is the caller's job.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use backon::{ConstantBuilder, Retryable};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, ETAG, IF_RANGE, LAST_MODIFIED, RANGE};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tracing::{debug, info, warn};
use url::Url;

use crate::cache::write_atomically;
use crate::error::PullError;
use crate::http::{HttpSettings, describe, redact};
use crate::progress::Progress;

/// What is remembered about a partial download, next to it.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct PartialState {
    url: String,
    etag: Option<String>,
    last_modified: Option<String>,
}

/// A partial download on disk: the bytes, and the state file beside them.
#[derive(Clone, Debug)]
pub(crate) struct PartialFile {
    pub(crate) data: PathBuf,
    state: PathBuf,
}

impl PartialFile {
    pub(crate) fn new(data: PathBuf) -> PartialFile {
        let mut state = data.clone().into_os_string();
        state.push(".json");
        PartialFile {
            data,
            state: PathBuf::from(state),
        }
    }

    /// Removes the bytes and the state (after a bad checksum, or once moved into the cache).
    pub(crate) async fn discard(&self) {
        for path in [&self.data, &self.state] {
            match tokio::fs::remove_file(path).await {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => warn!("cannot remove {}: {error}", path.display()),
            }
        }
    }

    /// Removes only the state file (the bytes were moved away).
    pub(crate) async fn forget_state(&self) {
        if let Err(error) = tokio::fs::remove_file(&self.state).await
            && error.kind() != io::ErrorKind::NotFound
        {
            warn!("cannot remove {}: {error}", self.state.display());
        }
    }

    async fn read_state(&self) -> Option<PartialState> {
        let text = tokio::fs::read(&self.state).await.ok()?;
        serde_json::from_slice(&text).ok()
    }

    async fn write_state(&self, state: &PartialState) -> Result<(), PullError> {
        let text = serde_json::to_vec(state).map_err(|error| {
            cache_io(
                "write",
                &self.state,
                io::Error::new(io::ErrorKind::InvalidData, error),
            )
        })?;
        write_atomically(&self.state, &text).map_err(|error| cache_io("write", &self.state, error))
    }

    /// How many bytes the partial file holds (0 when there is none).
    pub(crate) async fn len(&self) -> Result<u64, PullError> {
        match tokio::fs::metadata(&self.data).await {
            Ok(metadata) => Ok(metadata.len()),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(0),
            Err(error) => Err(cache_io("read", &self.data, error)),
        }
    }
}

fn cache_io(action: &'static str, path: &Path, source: io::Error) -> PullError {
    PullError::Cache(crate::error::CacheError::Io {
        action,
        path: path.to_path_buf(),
        source,
    })
}

/// Downloads `url` into `partial`, resuming what it already holds, until the file is
/// complete or `settings.attempts` attempts in a row received nothing.
pub(crate) async fn download_resumable(
    client: &reqwest::Client,
    settings: &HttpSettings,
    url: &Url,
    partial: &PartialFile,
    max_bytes: u64,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<u64, PullError> {
    let shown = redact(url);
    let attempts = settings.attempts.max(1);
    // A state file from another URL (or none, with bytes present) cannot vouch for the bytes.
    let state = partial.read_state().await;
    if state.as_ref().is_none_or(|s| s.url != url.as_str()) && partial.len().await? > 0 {
        debug!(url = %shown, "discarding a partial download without matching state");
        partial.discard().await;
    }
    let request = RangeRequest {
        client,
        url,
        shown: &shown,
        partial,
        max_bytes,
        progress,
    };
    let total_attempts = AtomicU32::new(0);
    let one_attempt = || async {
        total_attempts.fetch_add(1, Ordering::Relaxed);
        request.attempt().await
    };
    // The count of failures in a row: an attempt that received data starts it again at 1, so
    // a long download over a flaky link keeps going; the delay grows with it.
    let mut failures_in_a_row = 0u32;
    let done = one_attempt
        .retry(ConstantBuilder::new().without_max_times())
        .when(|f| matches!(f, Failure::Retry { .. }))
        .adjust(|failure, _| {
            let Failure::Retry { reason, received } = failure else {
                return None;
            };
            failures_in_a_row = if *received > 0 { 1 } else { failures_in_a_row + 1 };
            if failures_in_a_row >= attempts {
                return None;
            }
            let delay = settings.backoff_delay(failures_in_a_row);
            let attempt = total_attempts.load(Ordering::Relaxed);
            warn!(url = %shown, attempt, "download attempt failed ({reason}); retrying in {delay:?}");
            progress(Progress::Retrying {
                attempt,
                attempts,
                delay,
                reason: reason.clone(),
            });
            Some(delay)
        })
        .await;
    let total_attempts = total_attempts.load(Ordering::Relaxed);
    match done {
        Ok(()) => {
            let size = partial.len().await?;
            info!(url = %shown, size, attempts = total_attempts, "download complete");
            Ok(size)
        }
        Err(Failure::Fatal(e)) => Err(e),
        Err(Failure::Retry { reason, .. }) => Err(PullError::Network {
            url: shown,
            attempts: total_attempts,
            detail: reason,
            kept_bytes: partial.len().await?,
        }),
    }
}

/// Why an attempt did not finish the download (or fetch the checksum file).
enum Failure {
    /// A retry may fix it; `received` bytes came in the attempt.
    Retry {
        reason: String,
        received: u64,
    },
    Fatal(PullError),
}

impl From<PullError> for Failure {
    fn from(e: PullError) -> Failure {
        Failure::Fatal(e)
    }
}

/// One download's request for the bytes it lacks, made again by each attempt.
struct RangeRequest<'a> {
    client: &'a reqwest::Client,
    url: &'a Url,
    /// The URL as shown (redacted).
    shown: &'a str,
    partial: &'a PartialFile,
    max_bytes: u64,
    progress: &'a (dyn Fn(Progress) + Send + Sync),
}

impl RangeRequest<'_> {
    /// One request: asks for the bytes after those already held, and appends what comes.
    async fn attempt(&self) -> Result<(), Failure> {
        let RangeRequest {
            client,
            url,
            shown,
            partial,
            max_bytes,
            progress,
        } = *self;
        let have = partial.len().await?;
        let state = partial.read_state().await;
        let mut request = client.get(url.clone());
        if have > 0 {
            request = request.header(RANGE, format!("bytes={have}-"));
            if let Some(validator) = state
                .as_ref()
                .and_then(|s| s.etag.clone().or_else(|| s.last_modified.clone()))
            {
                request = request.header(IF_RANGE, validator);
            }
        }
        progress(Progress::DownloadStarting {
            url: shown.to_string(),
            resume_from: have,
        });
        debug!(url = %shown, resume_from = have, "requesting the ISO");
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                return Err(Failure::Retry {
                    reason: describe(&error),
                    received: 0,
                });
            }
        };
        let status = response.status();
        let (start, total) = match status {
            StatusCode::PARTIAL_CONTENT => {
                match parse_content_range(header(&response, CONTENT_RANGE.as_str()).as_deref()) {
                    Some(ContentRange::Bytes { start, total }) if start == have => (have, total),
                    other => {
                        warn!(
                            url = %shown,
                            "the server sent range {other:?} for bytes {have}-; starting over"
                        );
                        partial.discard().await;
                        return Err(Failure::Retry {
                            reason: "the server sent another range than the one asked for".into(),
                            received: 0,
                        });
                    }
                }
            }
            StatusCode::OK => {
                if have > 0 {
                    info!(url = %shown, "the server sent the whole file (no range support, or it changed); starting over");
                    partial.discard().await;
                }
                let total = header(&response, CONTENT_LENGTH.as_str()).and_then(|v| v.parse().ok());
                (0, total)
            }
            StatusCode::RANGE_NOT_SATISFIABLE => {
                if let Some(ContentRange::Unsatisfied { total }) =
                    parse_content_range(header(&response, CONTENT_RANGE.as_str()).as_deref())
                    && total == have
                {
                    return Ok(());
                }
                partial.discard().await;
                return Err(Failure::Retry {
                    reason: "the server refused the range of the partial download".into(),
                    received: 0,
                });
            }
            status if is_retryable(status) => {
                return Err(Failure::Retry {
                    reason: format!("the server answered HTTP {status}"),
                    received: 0,
                });
            }
            status => {
                return Err(Failure::Fatal(PullError::HttpStatus {
                    url: shown.to_string(),
                    status: status.as_u16(),
                    hint: status_hint(status),
                }));
            }
        };
        if start == 0 {
            partial
                .write_state(&PartialState {
                    url: url.to_string(),
                    etag: header(&response, ETAG.as_str()).filter(|v| !v.starts_with("W/")),
                    last_modified: header(&response, LAST_MODIFIED.as_str()),
                })
                .await?;
        }
        let too_large = || PullError::TooLarge {
            url: shown.to_string(),
            limit: max_bytes,
        };
        if total.is_some_and(|t| t > max_bytes) {
            partial.discard().await;
            return Err(too_large().into());
        }
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&partial.data)
            .await
            .map_err(|error| cache_io("write", &partial.data, error))?;
        let mut done = start;
        let mut received = 0u64;
        progress(Progress::Downloading { done, total });
        loop {
            match response.chunk().await {
                Ok(Some(bytes)) => {
                    file.write_all(&bytes)
                        .await
                        .map_err(|error| cache_io("write", &partial.data, error))?;
                    done += bytes.len() as u64;
                    received += bytes.len() as u64;
                    if done > max_bytes {
                        drop(file);
                        partial.discard().await;
                        return Err(too_large().into());
                    }
                    progress(Progress::Downloading { done, total });
                }
                Ok(None) => break,
                Err(error) => {
                    file.flush()
                        .await
                        .map_err(|error| cache_io("write", &partial.data, error))?;
                    return Err(Failure::Retry {
                        reason: format!("{} after {done} bytes", describe(&error)),
                        received,
                    });
                }
            }
        }
        file.sync_all()
            .await
            .map_err(|error| cache_io("write", &partial.data, error))?;
        match total {
            Some(total) if done != total => Err(Failure::Retry {
                reason: format!("the connection ended after {done} of {total} bytes"),
                received,
            }),
            _ => Ok(()),
        }
    }
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
}

/// Statuses worth retrying: timeouts, rate limits and server errors.
fn is_retryable(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
}

fn status_hint(status: StatusCode) -> String {
    match status {
        StatusCode::NOT_FOUND | StatusCode::GONE => {
            "there is no ISO at this URL; check VSWARM_BOOT2DOCKER_URL or the release's assets"
                .into()
        }
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            "the server refuses access; check the URL or the mirror's permissions".into()
        }
        other => format!(
            "the server refused the download ({})",
            other.canonical_reason().unwrap_or("unexpected status")
        ),
    }
}

/// A `Content-Range` header.
#[derive(Debug, PartialEq, Eq)]
enum ContentRange {
    /// `bytes START-END/TOTAL` (TOTAL may be `*`).
    Bytes { start: u64, total: Option<u64> },
    /// `bytes */TOTAL`, sent with 416.
    Unsatisfied { total: u64 },
}

fn parse_content_range(value: Option<&str>) -> Option<ContentRange> {
    let rest = value?.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let total = match total.trim() {
        "*" => None,
        number => Some(number.parse::<u64>().ok()?),
    };
    if range.trim() == "*" {
        return Some(ContentRange::Unsatisfied { total: total? });
    }
    let (start, _end) = range.split_once('-')?;
    Some(ContentRange::Bytes {
        start: start.trim().parse().ok()?,
        total,
    })
}

/// Fetches a published checksum file and picks the ISO's SHA-256 from it. A missing file (a
/// client error such as 404) means no checksum is published; a server that cannot be reached
/// after the retries, or a file without a checksum in it, is an error: a checksum that exists
/// but cannot be read must not be skipped silently.
pub(crate) async fn fetch_published_checksum(
    client: &reqwest::Client,
    settings: &HttpSettings,
    checksum_url: &Url,
    iso_name: &str,
) -> Result<Option<String>, PullError> {
    let shown = redact(checksum_url);
    let attempts = settings.attempts.max(1);
    // Ok(Some): the file's checksum; Ok(None): none published.
    let fetch = || async {
        let reason = match client
            .get(checksum_url.clone())
            .timeout(settings.request_timeout)
            .send()
            .await
        {
            Ok(response) if response.status().is_success() => match response.text().await {
                Ok(text) => {
                    return parse_checksum_file(&text, iso_name)
                        .map(Some)
                        .ok_or_else(|| {
                            Failure::Fatal(PullError::Checksum {
                                url: shown.clone(),
                                reason: format!("it holds no SHA-256 for {iso_name}"),
                            })
                        });
                }
                Err(error) => describe(&error),
            },
            Ok(response) if !is_retryable(response.status()) => {
                let status = response.status();
                info!(url = %shown, "no checksum published (HTTP {status})");
                return Ok(None);
            }
            Ok(response) => format!("the server answered HTTP {}", response.status()),
            Err(error) => describe(&error),
        };
        Err(Failure::Retry {
            reason,
            received: 0,
        })
    };
    let mut failures = 0u32;
    fetch
        .retry(ConstantBuilder::new().without_max_times())
        .when(|f| matches!(f, Failure::Retry { .. }))
        .adjust(|_, _| {
            failures += 1;
            (failures < attempts).then(|| settings.backoff_delay(failures))
        })
        .await
        .map_err(|failure| match failure {
            Failure::Fatal(e) => e,
            Failure::Retry { reason, .. } => PullError::Checksum {
                url: shown.clone(),
                reason: format!("it could not be fetched after {attempts} attempt(s): {reason}"),
            },
        })
}

/// The SHA-256 for `iso_name` in a checksum file: `HEX  NAME` lines (sha256sum), `HEX` alone,
/// or `SHA256 (NAME) = HEX` (BSD). A line naming the ISO wins; otherwise a file with a single
/// checksum is taken as the ISO's.
pub(crate) fn parse_checksum_file(text: &str, iso_name: &str) -> Option<String> {
    let mut found: Vec<(Option<String>, String)> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("SHA256 (")
            && let Some((name, hex)) = rest.split_once(") = ")
        {
            if is_sha256_hex(hex.trim()) {
                found.push((Some(name.to_string()), hex.trim().to_ascii_lowercase()));
            }
            continue;
        }
        let mut words = line.split_whitespace();
        let Some(hex) = words.next().filter(|w| is_sha256_hex(w)) else {
            continue;
        };
        let name = words.next().map(|n| n.trim_start_matches('*').to_string());
        found.push((name, hex.to_ascii_lowercase()));
    }
    if let Some((_, hex)) = found
        .iter()
        .find(|(name, _)| name.as_deref() == Some(iso_name))
    {
        return Some(hex.clone());
    }
    match found.as_slice() {
        [(_, hex)] => Some(hex.clone()),
        _ => None,
    }
}

/// Whether `text` is a SHA-256 written in hex.
pub(crate) fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The SHA-256 of a file, in lower-case hex, computed off the async threads.
pub(crate) async fn sha256_file(path: &Path) -> Result<String, PullError> {
    let owned = path.to_path_buf();
    let result = tokio::task::spawn_blocking(move || -> io::Result<String> {
        let mut file = std::fs::File::open(&owned)?;
        let mut hasher = Sha256::new();
        io::copy(&mut file, &mut hasher)?;
        Ok(hex::encode(hasher.finalize()))
    })
    .await;
    match result {
        Ok(Ok(hex)) => Ok(hex),
        Ok(Err(error)) => Err(cache_io("read", path, error)),
        Err(join) => Err(cache_io("read", path, io::Error::other(join.to_string()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const HEX_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn checksum_files_in_common_formats_are_read() {
        assert_eq!(
            parse_checksum_file(&format!("{HEX_A}  boot2docker.iso\n"), "boot2docker.iso"),
            Some(HEX_A.to_string())
        );
        assert_eq!(
            parse_checksum_file(&format!("{HEX_A}\n"), "boot2docker.iso"),
            Some(HEX_A.to_string())
        );
        assert_eq!(
            parse_checksum_file(
                &format!("{HEX_A}  other.iso\n{HEX_B} *boot2docker.iso\n"),
                "boot2docker.iso"
            ),
            Some(HEX_B.to_string())
        );
        assert_eq!(
            parse_checksum_file(
                &format!("SHA256 (boot2docker.iso) = {}\n", HEX_B.to_uppercase()),
                "boot2docker.iso"
            ),
            Some(HEX_B.to_string())
        );
    }

    #[test]
    fn checksum_files_without_a_usable_checksum_give_none() {
        assert_eq!(
            parse_checksum_file("<html>not found</html>", "boot2docker.iso"),
            None
        );
        assert_eq!(
            parse_checksum_file(
                &format!("{HEX_A}  a.iso\n{HEX_B}  b.iso\n"),
                "boot2docker.iso"
            ),
            None
        );
        assert_eq!(
            parse_checksum_file("abc123  boot2docker.iso", "boot2docker.iso"),
            None
        );
    }

    #[test]
    fn content_ranges_are_parsed() {
        assert_eq!(
            parse_content_range(Some("bytes 100-199/200")),
            Some(ContentRange::Bytes {
                start: 100,
                total: Some(200)
            })
        );
        assert_eq!(
            parse_content_range(Some("bytes 5-9/*")),
            Some(ContentRange::Bytes {
                start: 5,
                total: None
            })
        );
        assert_eq!(
            parse_content_range(Some("bytes */200")),
            Some(ContentRange::Unsatisfied { total: 200 })
        );
        assert_eq!(parse_content_range(Some("items 1-2/3")), None);
        assert_eq!(parse_content_range(None), None);
    }
}
