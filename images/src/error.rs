//! The errors of this crate, each saying what went wrong and what the user can do about it.
//!
//! URLs in these texts are redacted (no user name or password), and the `GITHUB_TOKEN` never
//! appears in any of them: errors reach terminals and bug reports. That is why a failed
//! request's cause is kept as text made by `http::describe` rather than as the `reqwest::Error`
//! itself: reqwest's messages carry full URLs (a proxy's too), credentials included.

use std::io;
use std::path::PathBuf;

/// A file could not be read as an ISO9660 image.
#[derive(Debug, thiserror::Error)]
pub enum IsoError {
    /// The file could not be opened or read.
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The file is readable but is not an ISO9660 image.
    #[error(
        "{} is not an ISO9660 image: {reason}. Use a boot2docker ISO (its volume id reads like \
         b2d-v19.03.12)",
        path.display()
    )]
    NotAnIso { path: PathBuf, reason: String },
}

/// `VSWARM_BOOT2DOCKER_URL` (or an ISO given on the command line) names nothing usable.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A URL with a scheme other than http, https or file.
    #[error(
        "'{value}' uses the unsupported scheme '{scheme}': give an http:// or https:// URL of an \
         ISO, or the path of a local .iso file"
    )]
    UnsupportedScheme { value: String, scheme: String },
    /// Something that looks like a URL but does not parse as one.
    #[error("'{value}' is not a valid URL ({reason}): give an http(s) URL or a local path")]
    InvalidUrl { value: String, reason: String },
    /// A `file://` URL that does not name a local path.
    #[error("'{value}' does not name a local file: write it as file:///absolute/path.iso")]
    NotALocalFile { value: String },
    /// The value is empty.
    #[error("the ISO location is empty: give an http(s) URL or the path of a local .iso file")]
    Empty,
}

/// The release endpoints or the HTTP client could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The releases API URL is unusable.
    #[error(
        "the releases API URL '{url}' is not usable: {reason}. It should look like \
         https://api.github.com/repos/OWNER/REPO/releases (set VSWARM_B2D_RELEASES_URL)"
    )]
    ReleasesUrl { url: String, reason: String },
    /// The Atom feed URL is unusable.
    #[error(
        "the releases feed URL '{url}' is not usable: {reason}. It should look like \
         https://github.com/OWNER/REPO/releases.atom (set VSWARM_B2D_FEED_URL)"
    )]
    FeedUrl { url: String, reason: String },
    /// `GITHUB_TOKEN` holds characters that cannot be sent in an HTTP header. The token itself
    /// is not repeated here.
    #[error(
        "GITHUB_TOKEN contains characters that cannot be sent in an HTTP header; set it to a \
         plain GitHub token or unset it"
    )]
    InvalidToken,
    /// The HTTP client could not be built (TLS set-up).
    #[error("cannot set up the HTTP client: {0}")]
    HttpClient(String),
}

/// Why the releases API gave no release (the resolver then tries the Atom feed).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiFailure {
    /// GitHub's rate limit for this client is spent (HTTP 403 or 429 with
    /// `x-ratelimit-remaining: 0` or a "rate limit" message).
    #[error(
        "the API rate limit is exceeded (HTTP {status}{}); set GITHUB_TOKEN to raise the limit",
        reset_at_unix.map(|t| format!(", it resets at unix time {t}")).unwrap_or_default()
    )]
    RateLimited {
        status: u16,
        reset_at_unix: Option<u64>,
    },
    /// The API could not be reached (no network, DNS, timeout, refused).
    #[error("the API could not be reached: {0}")]
    Unreachable(String),
    /// The API answered with an error status.
    #[error("the API answered HTTP {status}: {message}")]
    Status { status: u16, message: String },
    /// The API's answer could not be understood.
    #[error("the API's answer is not a list of releases: {0}")]
    InvalidAnswer(String),
    /// No published release lists the ISO asset.
    #[error("no published (non-pre-release) release lists an asset named {asset}")]
    NoRelease { asset: String },
}

/// No release could be found online.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// Both the releases API and its Atom feed failed.
    #[error(
        "could not find the latest boot2docker release: the releases API at {api_url} failed \
         ({api}), and so did its Atom feed at {feed_url} ({feed})"
    )]
    Unavailable {
        api_url: String,
        api: ApiFailure,
        feed_url: String,
        feed: String,
    },
}

/// The image cache could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// A file operation in the cache failed.
    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// `remove` was given something no cached image matches.
    #[error(
        "no cached image matches '{wanted}'; cached: {}. Name an image by version (v19.03.12) or \
         file name, as `vswarm images ls` shows them",
        if cached.is_empty() { "none".to_string() } else { cached.join(", ") }
    )]
    NotFound { wanted: String, cached: Vec<String> },
}

/// An image could not be pulled into the cache.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    /// No release could be resolved and the cache holds nothing to fall back on.
    #[error(
        "no boot2docker ISO is available: {resolve}; and the cache at {} holds no ISO to use \
         offline. Connect to the network (or set VSWARM_B2D_RELEASES_URL to a reachable mirror), \
         or set VSWARM_BOOT2DOCKER_URL to an ISO file or URL",
        cache_dir.display()
    )]
    NothingAvailable {
        resolve: Box<ResolveError>,
        cache_dir: PathBuf,
    },
    /// The pull was told to stay offline and the cache lacks what was asked for.
    #[error(
        "{wanted} is not in the cache at {} and this pull may not use the network; pull it \
         while online first (`vswarm images pull`)",
        cache_dir.display()
    )]
    NotCached { wanted: String, cache_dir: PathBuf },
    /// The server answered with an error status that retrying will not fix.
    #[error("{url} answered HTTP {status}: {hint}")]
    HttpStatus {
        url: String,
        status: u16,
        hint: String,
    },
    /// The download kept failing.
    #[error(
        "downloading {url} failed after {attempts} attempt(s): {detail}. {}Check the network, or \
         set VSWARM_BOOT2DOCKER_URL to a mirror",
        if *kept_bytes > 0 {
            format!("The {kept_bytes} bytes received are kept and the next pull resumes from there. ")
        } else {
            String::new()
        }
    )]
    Network {
        url: String,
        attempts: u32,
        detail: String,
        kept_bytes: u64,
    },
    /// The published checksum file could not be fetched or read.
    #[error("the checksum published at {url} is unusable: {reason}")]
    Checksum { url: String, reason: String },
    /// The configured checksum is not a SHA-256 in hex.
    #[error(
        "the configured checksum '{value}' is not a SHA-256 (64 hexadecimal characters); fix \
         VSWARM_BOOT2DOCKER_SHA256 or the --sha256 option"
    )]
    InvalidConfiguredChecksum { value: String },
    /// The downloaded (or imported) file does not match its checksum.
    #[error(
        "the ISO from {url} has SHA-256 {actual}, but {origin} says {expected}; nothing was \
         cached. The download was corrupted or the server holds another file: pull again, or \
         check the URL and the checksum"
    )]
    ChecksumMismatch {
        url: String,
        expected: String,
        actual: String,
        origin: String,
    },
    /// The downloaded file is not an ISO image.
    #[error(
        "{url} did not send an ISO9660 image ({reason}); nothing was cached. Check the URL \
         (VSWARM_BOOT2DOCKER_URL or the release's assets)"
    )]
    NotAnIso { url: String, reason: String },
    /// An ISO (or its checksum) would come over plain HTTP with nothing to check it against.
    #[error(
        "{url} is plain HTTP: anyone on the way could swap the ISO. Use an https:// URL, or give \
         the ISO's SHA-256 (VSWARM_BOOT2DOCKER_SHA256, or `iso_sha256` in the cluster file) so \
         that what arrives is checked"
    )]
    InsecureUrl { url: String },
    /// No checksum is published for the ISO and none was given.
    #[error(
        "no checksum is published for {url} and none was given, so the ISO cannot be verified; \
         nothing was cached. Give its SHA-256 (VSWARM_BOOT2DOCKER_SHA256, or `iso_sha256` in the \
         cluster file), or set VSWARM_ALLOW_UNVERIFIED_ISO=1 to accept it unverified"
    )]
    Unverified { url: String },
    /// The download is larger than any boot ISO should be.
    #[error(
        "{url} is larger than {limit} bytes, more than a boot ISO should be; nothing was cached. \
         Check the URL"
    )]
    TooLarge { url: String, limit: u64 },
    /// A release's ISO names another release in its volume id.
    #[error(
        "the ISO of release {tag} at {url} says it is '{volume_id}': it is not that release's \
         boot2docker ISO; nothing was cached. Check the release (or VSWARM_B2D_RELEASES_URL)"
    )]
    ForeignVolumeId {
        url: String,
        tag: String,
        volume_id: String,
    },
    /// The release was resolved but its URLs are unusable.
    #[error("cannot build the download URL: {0}")]
    Url(String),
    /// No release could be resolved (when checking for a newer one).
    #[error(transparent)]
    Resolve(#[from] Box<ResolveError>),
    /// A local ISO could not be used.
    #[error(transparent)]
    Iso(#[from] IsoError),
    /// The cache could not be read or written.
    #[error(transparent)]
    Cache(#[from] CacheError),
}
