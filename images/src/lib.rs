//! boot2docker-style ISO images for vswarm, resolved, downloaded, verified and cached like a
//! package manager would.
//!
//! docker-machine asked GitHub's API for the latest boot2docker on every create (and hit its
//! rate limit), restarted cut downloads from zero, verified nothing and had no offline mode.
//! This crate fixes each of those, and has no UI: progress is reported through [`Progress`]
//! events for the CLI to show.
//!
//! - [`ImageSource`]: the latest release, an explicit URL, or a local file
//!   (`VSWARM_BOOT2DOCKER_URL`).
//! - [`Resolver`]: the latest release from a GitHub-style releases API
//!   (`VSWARM_B2D_RELEASES_URL`, `GITHUB_TOKEN`), falling back to its Atom feed.
//! - [`Cache`]: `$VSWARM_HOME/cache/`; [`Cache::pull`] downloads with resume, retries and
//!   checksum verification, once however many pulls ask, and falls back to the newest cached
//!   ISO when offline; [`Cache::list`], [`Cache::remove`], [`Cache::newer_release_available`].
//! - [`read_volume_id`]: an ISO's version is its ISO9660 volume id (`b2d-v19.03.12`); files
//!   that are not ISO images are refused.

mod cache;
mod download;
mod error;
mod http;
mod iso;
mod lock;
mod progress;
mod resolve;
mod source;
mod version;

pub use cache::{
    Cache, CachedImage, ChecksumOrigin, NewerRelease, PullOptions, PullPolicy, Pulled, SHA256_VAR,
};
pub use error::{
    ApiFailure, CacheError, ConfigError, IsoError, PullError, ResolveError, SourceError,
};
pub use http::{HttpSettings, redact};
pub use iso::{VolumeIdFailure, read_volume_id, version_from_volume_id, volume_id_from_reader};
pub use progress::Progress;
pub use resolve::{
    DEFAULT_ISO_ASSET, DEFAULT_RELEASES_URL, FEED_URL_VAR, GithubToken, RELEASES_URL_VAR,
    ReleaseEndpoints, Resolved, ResolvedFrom, Resolver, TOKEN_VAR,
};
pub use source::{BOOT2DOCKER_URL_VAR, ImageSource};
pub use url::Url;
pub use version::Version;
