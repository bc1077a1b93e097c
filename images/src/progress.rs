//! Progress events of a pull. The crate has no UI: the CLI turns these into progress bars and
//! messages, tests count them.

use std::path::PathBuf;
use std::time::Duration;

use crate::resolve::ResolvedFrom;

/// What a pull is doing. URLs are redacted (no credentials).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Progress {
    /// Looking up the latest release.
    Resolving,
    /// The release to use is known.
    Resolved { tag: String, from: ResolvedFrom },
    /// The cache already holds what was asked for: nothing is downloaded.
    UsingCached {
        path: PathBuf,
        version: Option<String>,
    },
    /// Another pull (in this process or another) is downloading the same ISO; this one waits
    /// for it and then uses its result.
    WaitingForOtherDownload { url: String },
    /// A request for the ISO is about to be sent, from byte `resume_from` on.
    DownloadStarting { url: String, resume_from: u64 },
    /// Bytes received so far (including those of earlier attempts) and the total, when the
    /// server said it.
    Downloading { done: u64, total: Option<u64> },
    /// An attempt failed; the next one starts after `delay`, resuming where this one stopped.
    Retrying {
        attempt: u32,
        attempts: u32,
        delay: Duration,
        reason: String,
    },
    /// The file is complete and being checked (checksum, ISO volume id).
    Verifying,
    /// The file matched its checksum.
    Verified { sha256: String },
    /// No checksum is published or configured: the file is cached with its SHA-256 recorded
    /// but unverified.
    Unverified { sha256: String },
    /// The image is in the cache.
    Cached { path: PathBuf },
}
