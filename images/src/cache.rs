//! The ISO cache (`$VSWARM_HOME/cache/`): what `vswarm images ls|pull|rm` and `vswarm up`
//! work with, managed like a package manager's.
//!
//! - Each cached ISO is `<sha256>.iso`, with a JSON sidecar `<file>.json` recording its version
//!   (read from its volume id), where it came from and how it was verified. Keyed by content, an
//!   ISO pulled from anywhere never replaces another that claims the same version, and only ISOs
//!   that came from a release count as "the latest".
//! - Only verified ISOs are cached: over https (or loopback) with a published checksum, or
//!   against a checksum the user gives (which also makes plain HTTP acceptable); an ISO with no
//!   checksum at all only when the user allows it. Downloads are capped in size, and a
//!   release's ISO must carry that release's volume id.
//! - A file enters the cache only complete and verified, by an atomic rename; downloads in
//!   progress live in `.partial/` (kept across runs so that the next pull resumes them) and are
//!   removed when they fail verification.
//! - One download per ISO: pulls of the same URL wait for each other, in this process (a map of
//!   in-flight downloads) and across processes (a lock file in `.locks/`), then find the ISO
//!   cached by whoever went first.
//! - With no network the newest cached ISO is used, and the pull says so.

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tracing::{info, warn};
use url::Url;

use crate::download::{
    PartialFile, download_resumable, fetch_published_checksum, is_sha256_hex, sha256_file,
};
use crate::error::{CacheError, IsoError, PullError};
use crate::http::{is_secure, redact};
use crate::iso::{read_volume_id, version_from_volume_id};
use crate::lock::{DownloadGuard, lock_download};
use crate::progress::Progress;
use crate::resolve::{Resolved, ResolvedFrom, Resolver, sibling_checksum_url};
use crate::source::ImageSource;
use crate::version::Version;

/// The environment variable holding an expected SHA-256 for the ISO being pulled.
pub const SHA256_VAR: &str = "VSWARM_BOOT2DOCKER_SHA256";
/// The environment variable that lets an ISO with no checksum (published or given) be cached.
pub const ALLOW_UNVERIFIED_VAR: &str = "VSWARM_ALLOW_UNVERIFIED_ISO";
/// The largest download accepted as a boot ISO (boot2docker's are about 50 MB).
pub const DEFAULT_MAX_ISO_BYTES: u64 = 2 << 30;
/// Folder (inside the cache) of downloads in progress.
const PARTIAL_DIR: &str = ".partial";
/// Folder (inside the cache) of the lock files that make one process download an ISO.
const LOCKS_DIR: &str = ".locks";
/// Version of the sidecar format.
const SIDECAR_FORMAT: u32 = 1;

/// How much a pull of the latest release relies on the cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PullPolicy {
    /// Use the newest cached ISO without asking the network; resolve and download only when
    /// the cache holds none. What `vswarm up` wants: no API call per create.
    #[default]
    PreferCached,
    /// Resolve the latest release and download it unless it is cached already; fall back to
    /// the newest cached ISO when offline. What `vswarm images pull` wants.
    CheckForNewer,
    /// Never use the network: the cache must hold what is asked for.
    CacheOnly,
}

/// How a pull behaves. An explicit URL is downloaded once and then served from the cache
/// under every policy (remove it to fetch it again).
#[derive(Clone, Debug, Default)]
pub struct PullOptions {
    /// How much the cache is relied on.
    pub policy: PullPolicy,
    /// The ISO's SHA-256 in hex, checked instead of any published checksum. With it, a plain
    /// HTTP URL is acceptable (what arrives is checked).
    pub expected_sha256: Option<String>,
    /// Cache an ISO that has no checksum to be checked against (refused otherwise).
    pub allow_unverified: bool,
    /// The largest download accepted; [`DEFAULT_MAX_ISO_BYTES`] when None.
    pub max_bytes: Option<u64>,
}

impl PullOptions {
    /// Options with this policy, the checksum from `VSWARM_BOOT2DOCKER_SHA256` and
    /// `VSWARM_ALLOW_UNVERIFIED_ISO=1`, when set.
    pub fn from_env(policy: PullPolicy) -> PullOptions {
        PullOptions {
            policy,
            expected_sha256: std::env::var(SHA256_VAR)
                .ok()
                .filter(|value| !value.trim().is_empty()),
            allow_unverified: std::env::var(ALLOW_UNVERIFIED_VAR)
                .is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes")),
            max_bytes: None,
        }
    }

    fn max_bytes(&self) -> u64 {
        self.max_bytes.unwrap_or(DEFAULT_MAX_ISO_BYTES)
    }
}

/// What an image's SHA-256 was checked against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChecksumOrigin {
    /// The checksum published next to the ISO (or as a release asset).
    Published { url: String },
    /// A checksum given by the user.
    Configured,
    /// Nothing: no checksum was published or configured.
    NotPublished,
}

impl fmt::Display for ChecksumOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChecksumOrigin::Published { url } => write!(f, "the checksum published at {url}"),
            ChecksumOrigin::Configured => f.write_str("the configured checksum"),
            ChecksumOrigin::NotPublished => f.write_str("nothing (no checksum was published)"),
        }
    }
}

/// An ISO in the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedImage {
    /// Where it is.
    pub path: PathBuf,
    /// Its file name in the cache, which `remove` also accepts.
    pub file_name: String,
    /// Its ISO9660 volume id (`b2d-v19.03.12`).
    pub volume_id: String,
    /// The boot2docker release its volume id names, if it names one.
    pub version: Option<String>,
    /// Its size in bytes.
    pub size: u64,
    /// Where it was downloaded (or imported) from; unknown for files put there by hand.
    pub source_url: Option<String>,
    /// Its SHA-256, as recorded when it was cached.
    pub sha256: Option<String>,
    /// The release tag it was pulled as, if it came from a release.
    pub tag: Option<String>,
    /// What its checksum was verified against.
    pub checksum: Option<ChecksumOrigin>,
}

/// The result of a pull.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pulled {
    /// The cached image to boot.
    pub image: CachedImage,
    /// How the image was chosen: API, feed, cache (and why), or explicit.
    pub from: ResolvedFrom,
    /// Whether this pull downloaded (or imported) it, rather than finding it cached.
    pub downloaded: bool,
}

/// A release newer than anything cached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewerRelease {
    /// The latest release.
    pub latest: Resolved,
    /// The newest cached version, if any.
    pub newest_cached: Option<String>,
}

/// The JSON sidecar kept next to each cached ISO.
#[derive(Debug, Serialize, Deserialize)]
struct Sidecar {
    format: u32,
    volume_id: String,
    version: Option<String>,
    tag: Option<String>,
    source_url: String,
    sha256: String,
    size: u64,
    checksum: ChecksumOrigin,
    fetched_at_unix: u64,
}

impl Sidecar {
    /// The sidecar of an ISO cached now: the file (`sha256`, `size`, `volume_id`), how it
    /// was verified, and where it came from.
    fn new(
        sha256: String,
        size: u64,
        volume_id: String,
        checksum: ChecksumOrigin,
        source_url: String,
        tag: Option<String>,
    ) -> Sidecar {
        Sidecar {
            format: SIDECAR_FORMAT,
            version: version_from_volume_id(&volume_id),
            volume_id,
            tag,
            source_url,
            sha256,
            size,
            checksum,
            fetched_at_unix: now_unix(),
        }
    }
}

/// What is being fetched into the cache.
struct FetchTarget {
    url: Url,
    checksum_url: Option<Url>,
    tag: Option<String>,
    from: ResolvedFrom,
}

/// The ISO cache: a folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// A cache in this folder (created when first written).
    pub fn new(dir: impl Into<PathBuf>) -> Cache {
        Cache { dir: dir.into() }
    }

    /// The cache folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The cached images, newest version first (images without a version last). Files that
    /// are not ISO images are left out, with a warning in the log.
    pub fn list(&self) -> Result<Vec<CachedImage>, CacheError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(CacheError::Io {
                    action: "list",
                    path: self.dir.clone(),
                    source,
                });
            }
        };
        let mut images = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| CacheError::Io {
                action: "list",
                path: self.dir.clone(),
                source,
            })?;
            let path = entry.path();
            let is_iso = path
                .extension()
                .is_some_and(|ext| ext.eq_ignore_ascii_case("iso"));
            if !is_iso || !path.is_file() {
                continue;
            }
            match describe_cached(&path) {
                Ok(image) => images.push(image),
                Err(error) => warn!("skipping {}: {error}", path.display()),
            }
        }
        images.sort_by(|a, b| {
            let version = |image: &CachedImage| image.version.as_deref().and_then(Version::parse);
            version(b)
                .cmp(&version(a))
                .then_with(|| a.file_name.cmp(&b.file_name))
        });
        Ok(images)
    }

    /// The cached boot2docker image of the newest version.
    pub fn newest(&self) -> Result<Option<CachedImage>, CacheError> {
        Ok(self
            .list()?
            .into_iter()
            .find(|image| image.version.is_some()))
    }

    /// The cached images matching a version (`v19.03.12` or `19.03.12`), a release tag, or a
    /// file name.
    pub fn find(&self, wanted: &str) -> Result<Vec<CachedImage>, CacheError> {
        let wanted = wanted.trim();
        let wanted_version = Version::parse(wanted);
        Ok(self
            .list()?
            .into_iter()
            .filter(|image| {
                image.file_name == wanted
                    || image.tag.as_deref() == Some(wanted)
                    || (wanted_version.is_some()
                        && image.version.as_deref().and_then(Version::parse) == wanted_version)
            })
            .collect())
    }

    /// Removes the images matching `wanted` (see [`Cache::find`]) with their sidecars, and
    /// returns them.
    pub fn remove(&self, wanted: &str) -> Result<Vec<CachedImage>, CacheError> {
        let matching = self.find(wanted)?;
        if matching.is_empty() {
            return Err(CacheError::NotFound {
                wanted: wanted.to_string(),
                cached: self
                    .list()?
                    .into_iter()
                    .map(|image| image.version.unwrap_or(image.file_name))
                    .collect(),
            });
        }
        for image in &matching {
            for path in [image.path.clone(), sidecar_path(&image.path)] {
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                    Err(source) => {
                        return Err(CacheError::Io {
                            action: "remove",
                            path,
                            source,
                        });
                    }
                }
            }
            info!(path = %image.path.display(), "removed a cached image");
        }
        Ok(matching)
    }

    /// The latest release when it is newer than every cached image (or nothing is cached);
    /// `None` when the cache is up to date.
    pub async fn newer_release_available(
        &self,
        resolver: &Resolver,
    ) -> Result<Option<NewerRelease>, PullError> {
        let latest = resolver.resolve().await.map_err(Box::new)?;
        let newest_cached = self.newest()?.and_then(|image| image.version);
        let newer = match (
            Version::parse(&latest.tag),
            newest_cached.as_deref().and_then(Version::parse),
        ) {
            (_, None) => true,
            (Some(latest), Some(cached)) => latest > cached,
            (None, Some(_)) => {
                warn!(tag = %latest.tag, "the latest release's tag is not a version; cannot compare it");
                false
            }
        };
        Ok(newer.then_some(NewerRelease {
            latest,
            newest_cached,
        }))
    }

    /// Makes `source` available in the cache and returns it: resolves the latest release (with
    /// the feed and cache fallbacks), downloads with resume and retries, verifies, and caches.
    /// `progress` receives [`Progress`] events.
    pub async fn pull(
        &self,
        source: &ImageSource,
        resolver: &Resolver,
        options: &PullOptions,
        progress: impl Fn(Progress) + Send + Sync,
    ) -> Result<Pulled, PullError> {
        let progress: &(dyn Fn(Progress) + Send + Sync) = &progress;
        match source {
            ImageSource::Latest => self.pull_latest(resolver, options, progress).await,
            ImageSource::Url(url) => self.pull_url(url, resolver, options, progress).await,
            ImageSource::File(path) => self.import_file(path, options, progress).await,
        }
    }

    async fn pull_latest(
        &self,
        resolver: &Resolver,
        options: &PullOptions,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<Pulled, PullError> {
        if options.policy != PullPolicy::CheckForNewer {
            if let Some(image) = self.newest_usable(options)? {
                let from = ResolvedFrom::Cache {
                    reason: "the newest cached ISO, used without checking for a newer release"
                        .to_string(),
                };
                return Ok(self.use_cached(image, from, progress));
            }
            if options.policy == PullPolicy::CacheOnly {
                return Err(PullError::NotCached {
                    wanted: "a boot2docker ISO".to_string(),
                    cache_dir: self.dir.clone(),
                });
            }
        }
        progress(Progress::Resolving);
        match resolver.resolve().await {
            Ok(release) => {
                progress(Progress::Resolved {
                    tag: release.tag.clone(),
                    from: release.from.clone(),
                });
                let target = FetchTarget {
                    url: release.iso_url,
                    checksum_url: release.checksum_url,
                    tag: Some(release.tag),
                    from: release.from,
                };
                self.fetch(target, resolver, options, progress).await
            }
            Err(resolve) => match self.newest_usable(options)? {
                Some(image) => {
                    warn!("{resolve}; using the newest cached ISO instead");
                    let from = ResolvedFrom::Cache {
                        reason: format!("offline fallback: {resolve}"),
                    };
                    progress(Progress::Resolved {
                        tag: image.version.clone().unwrap_or_default(),
                        from: from.clone(),
                    });
                    Ok(self.use_cached(image, from, progress))
                }
                None => Err(PullError::NothingAvailable {
                    resolve: Box::new(resolve),
                    cache_dir: self.dir.clone(),
                }),
            },
        }
    }

    async fn pull_url(
        &self,
        url: &Url,
        resolver: &Resolver,
        options: &PullOptions,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<Pulled, PullError> {
        if let Some(image) = self.cached_from(url, options)? {
            return Ok(self.use_cached(image, ResolvedFrom::Explicit, progress));
        }
        if options.policy == PullPolicy::CacheOnly {
            return Err(PullError::NotCached {
                wanted: redact(url),
                cache_dir: self.dir.clone(),
            });
        }
        let target = FetchTarget {
            url: url.clone(),
            checksum_url: sibling_checksum_url(url),
            tag: None,
            from: ResolvedFrom::Explicit,
        };
        self.fetch(target, resolver, options, progress).await
    }

    fn use_cached(
        &self,
        image: CachedImage,
        from: ResolvedFrom,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Pulled {
        info!(path = %image.path.display(), "using the cached ISO ({from})");
        progress(Progress::UsingCached {
            path: image.path.clone(),
            version: image.version.clone(),
        });
        Pulled {
            image,
            from,
            downloaded: false,
        }
    }

    /// The cached images a pull may use: all of them, or those with the configured checksum.
    fn usable(&self, options: &PullOptions) -> Result<Vec<CachedImage>, PullError> {
        let expected = configured_checksum(options)?;
        Ok(self
            .list()?
            .into_iter()
            .filter(|image| expected.is_none() || image.sha256.as_deref() == expected.as_deref())
            .collect())
    }

    /// The newest usable cached boot2docker image that came from a release: an ISO pulled
    /// from a URL or a file is used for that URL or file only, whatever version it claims, so
    /// it never becomes "the latest".
    fn newest_usable(&self, options: &PullOptions) -> Result<Option<CachedImage>, PullError> {
        Ok(self
            .usable(options)?
            .into_iter()
            .find(|image| image.version.is_some() && image.tag.is_some()))
    }

    /// The usable cached image downloaded from this URL (recorded without credentials).
    fn cached_from(
        &self,
        url: &Url,
        options: &PullOptions,
    ) -> Result<Option<CachedImage>, PullError> {
        let shown = redact(url);
        Ok(self
            .usable(options)?
            .into_iter()
            .find(|image| image.source_url.as_deref() == Some(shown.as_str())))
    }

    /// The usable cached image that satisfies a fetch: the same release, or the same URL.
    fn cached_for(
        &self,
        target: &FetchTarget,
        options: &PullOptions,
    ) -> Result<Option<CachedImage>, PullError> {
        let Some(tag) = &target.tag else {
            return self.cached_from(&target.url, options);
        };
        let tag_version = Version::parse(tag);
        Ok(self.usable(options)?.into_iter().find(|image| {
            image.tag.as_deref() == Some(tag.as_str())
                || (tag_version.is_some()
                    && image.version.as_deref().and_then(Version::parse) == tag_version)
        }))
    }

    /// Creates `dir` (and its parents) readable by the owner only.
    fn ensure_dir(&self, dir: &Path) -> Result<(), CacheError> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(|source| CacheError::Io {
            action: "create",
            path: dir.to_path_buf(),
            source,
        })
    }

    /// Downloads (once) and caches an ISO from a URL.
    async fn fetch(
        &self,
        target: FetchTarget,
        resolver: &Resolver,
        options: &PullOptions,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<Pulled, PullError> {
        let shown = redact(&target.url);
        let key = key_of(target.url.as_str());
        let _guard = self.lock(&key, &shown, progress).await?;
        // Whoever held the lock before may have cached it.
        if let Some(image) = self.cached_for(&target, options)? {
            return Ok(self.use_cached(image, target.from, progress));
        }
        let configured = configured_checksum(options)?;
        if configured.is_none() && !is_secure(&target.url) {
            return Err(PullError::InsecureUrl { url: shown });
        }
        let expected = match configured {
            Some(hex) => Some((hex, ChecksumOrigin::Configured)),
            None => match target.checksum_url.as_ref().filter(|u| is_secure(u)) {
                Some(checksum_url) => fetch_published_checksum(
                    resolver.client(),
                    resolver.settings(),
                    checksum_url,
                    &file_name_of(&target.url),
                )
                .await?
                .map(|hex| {
                    (
                        hex,
                        ChecksumOrigin::Published {
                            url: redact(checksum_url),
                        },
                    )
                }),
                None => None,
            },
        };
        let partial_dir = self.dir.join(PARTIAL_DIR);
        self.ensure_dir(&partial_dir)?;
        let partial = PartialFile::new(partial_dir.join(format!("{key}.iso.part")));
        download_resumable(
            resolver.client(),
            resolver.settings(),
            &target.url,
            &partial,
            options.max_bytes(),
            progress,
        )
        .await?;

        progress(Progress::Verifying);
        let sha256 = sha256_file(&partial.data).await?;
        let checksum = match expected {
            Some((expected, origin)) if expected != sha256 => {
                partial.discard().await;
                warn!(url = %shown, "checksum mismatch; the download was discarded");
                return Err(PullError::ChecksumMismatch {
                    url: shown,
                    expected,
                    actual: sha256,
                    origin: origin.to_string(),
                });
            }
            Some((_, origin)) => origin,
            None => ChecksumOrigin::NotPublished,
        };
        let volume_id = match read_volume_id(&partial.data) {
            Ok(volume_id) => volume_id,
            Err(IsoError::NotAnIso { reason, .. }) => {
                partial.discard().await;
                return Err(PullError::NotAnIso { url: shown, reason });
            }
            Err(error) => return Err(error.into()),
        };
        if checksum == ChecksumOrigin::NotPublished && !options.allow_unverified {
            partial.discard().await;
            return Err(PullError::Unverified { url: shown });
        }
        report_verification(&checksum, &sha256, progress);
        let version = version_from_volume_id(&volume_id);
        if let Some(tag) = &target.tag
            && version.as_deref().and_then(Version::parse) != Version::parse(tag)
        {
            partial.discard().await;
            return Err(PullError::ForeignVolumeId {
                url: shown,
                tag: tag.clone(),
                volume_id,
            });
        }
        let size = partial.len().await?;
        let source_url = redact(&target.url);
        let sidecar = Sidecar::new(sha256, size, volume_id, checksum, source_url, target.tag);
        let pulled = self.admit(sidecar, target.from, progress, |path| {
            std::fs::rename(&partial.data, path).map_err(|source| CacheError::Io {
                action: "move the download into the cache at",
                path: path.to_path_buf(),
                source,
            })
        })?;
        partial.forget_state().await;
        info!(path = %pulled.image.path.display(), "cached {shown}");
        Ok(pulled)
    }

    /// Copies a local ISO into the cache (it may be moved or deleted later; VMs keep booting).
    async fn import_file(
        &self,
        path: &Path,
        options: &PullOptions,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<Pulled, PullError> {
        let path = std::fs::canonicalize(path).map_err(|source| IsoError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        // Refuse what is not an ISO before copying anything.
        read_volume_id(&path)?;
        let source_url = Url::from_file_path(&path)
            .map_err(|()| PullError::Url(format!("{} is not an absolute path", path.display())))?;
        let key = key_of(source_url.as_str());
        let shown = path.display().to_string();
        let _guard = self.lock(&key, &shown, progress).await?;

        let partial_dir = self.dir.join(PARTIAL_DIR);
        self.ensure_dir(&partial_dir)?;
        let copy =
            tempfile::NamedTempFile::new_in(&partial_dir).map_err(|source| CacheError::Io {
                action: "create a file in",
                path: partial_dir.clone(),
                source,
            })?;
        let copy_path = copy.path().to_path_buf();
        let from = path.clone();
        let copied = tokio::task::spawn_blocking(move || std::fs::copy(&from, &copy_path)).await;
        match copied {
            Ok(Ok(_)) => {}
            Ok(Err(source)) => {
                return Err(IsoError::Read {
                    path: path.clone(),
                    source,
                }
                .into());
            }
            Err(join) => {
                return Err(IsoError::Read {
                    path: path.clone(),
                    source: io::Error::other(join.to_string()),
                }
                .into());
            }
        }
        progress(Progress::Verifying);
        let sha256 = sha256_file(copy.path()).await?;
        let checksum = match configured_checksum(options)? {
            Some(expected) if expected != sha256 => {
                return Err(PullError::ChecksumMismatch {
                    url: shown,
                    expected,
                    actual: sha256,
                    origin: ChecksumOrigin::Configured.to_string(),
                });
            }
            Some(_) => ChecksumOrigin::Configured,
            None => ChecksumOrigin::NotPublished,
        };
        if let Some(image) = self
            .list()?
            .into_iter()
            .find(|image| image.sha256.as_deref() == Some(sha256.as_str()))
        {
            return Ok(self.use_cached(image, ResolvedFrom::Explicit, progress));
        }
        let volume_id = read_volume_id(copy.path())?;
        report_verification(&checksum, &sha256, progress);
        let size = std::fs::metadata(copy.path())
            .map_err(|source| CacheError::Io {
                action: "read",
                path: copy.path().to_path_buf(),
                source,
            })?
            .len();
        let source_url = source_url.to_string();
        let sidecar = Sidecar::new(sha256, size, volume_id, checksum, source_url, None);
        let pulled = self.admit(sidecar, ResolvedFrom::Explicit, progress, |path| {
            copy.persist(path)
                .map(drop)
                .map_err(|error| CacheError::Io {
                    action: "move the copy into the cache at",
                    path: path.to_path_buf(),
                    source: error.error,
                })
        })?;
        info!(path = %pulled.image.path.display(), "imported {shown}");
        Ok(pulled)
    }

    /// Adds a verified ISO to the cache as `<sha256>.iso`: its sidecar first, then the file,
    /// moved in whole by `move_in` (so a listed ISO is always complete).
    fn admit(
        &self,
        sidecar: Sidecar,
        from: ResolvedFrom,
        progress: &(dyn Fn(Progress) + Send + Sync),
        move_in: impl FnOnce(&Path) -> Result<(), CacheError>,
    ) -> Result<Pulled, PullError> {
        let file_name = cached_file_name(&sidecar.sha256);
        let path = self.dir.join(&file_name);
        self.write_sidecar(&path, &sidecar)?;
        move_in(&path)?;
        progress(Progress::Cached { path: path.clone() });
        Ok(Pulled {
            image: image_from(path, file_name, sidecar),
            from,
            downloaded: true,
        })
    }

    /// Takes the right to download the ISO with this key; released when the guard is dropped.
    async fn lock(
        &self,
        key: &str,
        shown: &str,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<DownloadGuard, PullError> {
        let locks_dir = self.dir.join(LOCKS_DIR);
        self.ensure_dir(&locks_dir)?;
        lock_download(&locks_dir, key, shown, progress).await
    }

    /// Writes the sidecar of the ISO at `iso_path` atomically.
    fn write_sidecar(&self, iso_path: &Path, sidecar: &Sidecar) -> Result<(), CacheError> {
        let path = sidecar_path(iso_path);
        let io_error = |source: io::Error| CacheError::Io {
            action: "write",
            path: path.clone(),
            source,
        };
        let text = serde_json::to_vec_pretty(sidecar)
            .map_err(|error| io_error(io::Error::new(io::ErrorKind::InvalidData, error)))?;
        write_atomically(&path, &text).map_err(io_error)?;
        Ok(())
    }
}

/// Replaces the file at `path` whole: the bytes go to a temporary file in the same folder, which
/// is then renamed over it, so a reader (or a crash) never sees half a file. The one way the
/// images crate writes its small files (sidecars, download state).
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|error| error.error)?;
    Ok(())
}

fn report_verification(
    checksum: &ChecksumOrigin,
    sha256: &str,
    progress: &(dyn Fn(Progress) + Send + Sync),
) {
    let sha256 = sha256.to_string();
    match checksum {
        ChecksumOrigin::NotPublished => {
            info!("no checksum is published or configured; the ISO is cached unverified");
            progress(Progress::Unverified { sha256 });
        }
        origin => {
            info!("the ISO matches {origin}");
            progress(Progress::Verified { sha256 });
        }
    }
}

/// The configured checksum, normalised, or an error when it is not a SHA-256.
fn configured_checksum(options: &PullOptions) -> Result<Option<String>, PullError> {
    match options.expected_sha256.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(value) if is_sha256_hex(value) => Ok(Some(value.to_ascii_lowercase())),
        Some(value) => Err(PullError::InvalidConfiguredChecksum {
            value: value.to_string(),
        }),
    }
}

/// A short stable name for a URL, for partial and lock files.
fn key_of(url: &str) -> String {
    hex::encode(Sha256::digest(url.as_bytes()))[..16].to_string()
}

/// The last path segment of a URL (`boot2docker.iso`).
fn file_name_of(url: &Url) -> String {
    url.path_segments()
        .and_then(|mut segments| segments.next_back().map(str::to_string))
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "boot2docker.iso".to_string())
}

/// `boot2docker-<version>.iso` for boot2docker images; `<name>-<sha prefix>.iso` for others.
/// A cached ISO's file name: its SHA-256. Two ISOs that claim the same version are two files,
/// so one pulled from anywhere never replaces the one clusters boot.
fn cached_file_name(sha256: &str) -> String {
    format!("{sha256}.iso")
}

fn sidecar_path(iso_path: &Path) -> PathBuf {
    let mut path = iso_path.as_os_str().to_owned();
    path.push(".json");
    PathBuf::from(path)
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default()
}

fn image_from(path: PathBuf, file_name: String, sidecar: Sidecar) -> CachedImage {
    CachedImage {
        path,
        file_name,
        volume_id: sidecar.volume_id,
        version: sidecar.version,
        size: sidecar.size,
        source_url: Some(sidecar.source_url),
        sha256: Some(sidecar.sha256),
        tag: sidecar.tag,
        checksum: Some(sidecar.checksum),
    }
}

/// Describes a cached ISO from the file and its sidecar. A sidecar that is missing, unreadable
/// or describes another file (another size) is ignored: the ISO is still listed.
fn describe_cached(path: &Path) -> Result<CachedImage, IsoError> {
    let volume_id = read_volume_id(path)?;
    let size = std::fs::metadata(path)
        .map_err(|source| IsoError::Read {
            path: path.to_path_buf(),
            source,
        })?
        .len();
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let sidecar = std::fs::read(sidecar_path(path))
        .ok()
        .and_then(|text| serde_json::from_slice::<Sidecar>(&text).ok())
        .filter(|sidecar| sidecar.size == size && sidecar.volume_id == volume_id);
    let version = version_from_volume_id(&volume_id);
    Ok(match sidecar {
        Some(sidecar) => CachedImage {
            version,
            ..image_from(path.to_path_buf(), file_name, sidecar)
        },
        None => CachedImage {
            path: path.to_path_buf(),
            file_name,
            volume_id,
            version,
            size,
            source_url: None,
            sha256: None,
            tag: None,
            checksum: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_files_are_named_by_their_checksum() {
        let sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(cached_file_name(sha), format!("{sha}.iso"));
    }

    #[test]
    fn configured_checksums_must_be_sha256() {
        let options = |value: &str| PullOptions {
            policy: PullPolicy::PreferCached,
            expected_sha256: Some(value.to_string()),
            ..PullOptions::default()
        };
        let upper = "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789";
        assert_eq!(
            configured_checksum(&options(upper)).unwrap(),
            Some(upper.to_ascii_lowercase())
        );
        assert!(matches!(
            configured_checksum(&options("md5:abc")),
            Err(PullError::InvalidConfiguredChecksum { .. })
        ));
        assert_eq!(configured_checksum(&PullOptions::default()).unwrap(), None);
    }
}
