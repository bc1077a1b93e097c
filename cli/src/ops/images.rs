//! `vswarm images ls|pull|rm`: the boot2docker ISOs in `$VSWARM_HOME/cache`.

use std::path::PathBuf;

use images::{Cache, CachedImage, ImageSource, Progress, PullOptions, PullPolicy, Resolver};
use serde::Serialize;

use super::Session;
use crate::error::{Doing, Error, InputError, Result};
use crate::events::{Event, Phase};
use crate::ops::up::PhaseTimer;
use crate::state::recorded_clusters;

/// A cached ISO, for listings.
#[derive(Debug, Clone, Serialize)]
pub struct ImageInfo {
    pub file: String,
    pub path: PathBuf,
    pub version: Option<String>,
    pub volume_id: String,
    pub size: u64,
    pub sha256: Option<String>,
    pub source: Option<String>,
}

impl From<CachedImage> for ImageInfo {
    fn from(i: CachedImage) -> ImageInfo {
        ImageInfo {
            file: i.file_name,
            path: i.path,
            version: i.version,
            volume_id: i.volume_id,
            size: i.size,
            sha256: i.sha256,
            source: i.source_url,
        }
    }
}

fn cache(session: &Session<'_>) -> Cache {
    Cache::new(session.home.join("cache"))
}

/// The cached ISOs, newest first.
pub fn list(session: &Session<'_>) -> Result<Vec<ImageInfo>> {
    let mut images = cache(session).list().doing("reading the ISO cache")?;
    images.sort_by(|a, b| b.version.cmp(&a.version));
    Ok(images.into_iter().map(ImageInfo::from).collect())
}

/// Makes `source` (a URL or path; None: the latest release) available in the cache, with
/// progress events. `policy` says how much the cache is trusted.
pub async fn pull(
    session: &Session<'_>,
    source: Option<&str>,
    sha256: Option<&str>,
    policy: PullPolicy,
) -> Result<ImageInfo> {
    let source = match source {
        Some(s) => ImageSource::parse(s).map_err(|e| {
            Error::from(
                InputError::new(format!("'{s}' is not an ISO source: {e}"))
                    .help("give an http(s) URL or the path of an ISO file"),
            )
        })?,
        None => ImageSource::from_env().doing("reading VSWARM_BOOT2DOCKER_URL")?,
    };
    let resolver = Resolver::from_env().doing("reading the release settings")?;
    let mut options = PullOptions::from_env(policy);
    if let Some(sha) = sha256 {
        options.expected_sha256 = Some(sha.to_string());
    }
    let reporter = session.reporter;
    let phase = PhaseTimer::start(reporter, Phase::Iso);
    let pulled = cache(session)
        .pull(&source, &resolver, &options, |p| match p {
            Progress::Downloading { done, total } => reporter.event(Event::Download { done, total }),
            Progress::Resolved { tag, from } => {
                reporter.event(Event::Note(format!("boot2docker {tag} ({from})")))
            }
            Progress::WaitingForOtherDownload { url } => {
                reporter.event(Event::Waiting(format!("another download of {url} is under way")))
            }
            Progress::Retrying { attempt, attempts, reason, .. } => reporter.event(Event::Warning(
                format!("download attempt {attempt} of {attempts} failed ({reason}); resuming"),
            )),
            Progress::Unverified { .. } => reporter.event(Event::Warning(
                "no checksum is published for this ISO: it is cached unverified".into(),
            )),
            Progress::DownloadStarting { url, resume_from } => {
                reporter.event(Event::Note(if resume_from > 0 {
                    format!("resuming {url} at {} MB", resume_from / 1_000_000)
                } else {
                    format!("downloading {url}")
                }))
            }
            Progress::Verifying => {
                reporter.event(Event::Waiting("checking the ISO (checksum, volume id)".into()))
            }
            Progress::Verified { sha256 } => reporter.event(Event::Note(format!(
                "SHA-256 {} verified",
                &sha256[..sha256.len().min(12)]
            ))),
            // Quiet on a terminal (a cached ISO is the common case), kept in the log.
            Progress::Resolving => tracing::debug!("looking up the latest boot2docker release"),
            Progress::UsingCached { path, version } => {
                tracing::info!(path = %path.display(), ?version, "using the cached ISO")
            }
            Progress::Cached { path } => tracing::info!(path = %path.display(), "ISO cached"),
            other => tracing::debug!(?other, "image progress"),
        })
        .await
        .doing("getting the boot2docker ISO")
        .map_err(|e| {
            e.with_help("check the network, or set `iso:` in the cluster file (or VSWARM_BOOT2DOCKER_URL) to an ISO you have")
        })?;
    phase.done(format!(
        "{} {}",
        pulled
            .image
            .version
            .as_deref()
            .unwrap_or(&pulled.image.volume_id),
        if pulled.downloaded {
            "downloaded"
        } else {
            "cached"
        }
    ));
    Ok(pulled.image.into())
}

/// Removes cached ISOs matching `wanted` (a version, file name or path). An ISO a cluster's VMs
/// boot from is kept: VirtualBox could not start them without it.
pub fn remove(session: &Session<'_>, wanted: &str) -> Result<Vec<ImageInfo>> {
    let cache = cache(session);
    let matching = cache.find(wanted).doing("reading the ISO cache")?;
    if matching.is_empty() {
        return Err(InputError::new(format!("no cached ISO matches '{wanted}'"))
            .help("`vswarm images ls` lists them")
            .into());
    }
    for image in &matching {
        for cluster in recorded_clusters(&session.home) {
            let uses = session
                .dir(&cluster)
                .read_record()
                .ok()
                .flatten()
                .and_then(|r| r.iso)
                .is_some_and(|iso| iso.path == image.path);
            if uses {
                return Err(InputError::new(format!(
                    "{} is the ISO the cluster '{cluster}' boots",
                    image.path.display()
                ))
                .help(format!(
                    "remove the cluster first (`vswarm --cluster {cluster} down`)"
                ))
                .into());
            }
        }
    }
    let removed = cache.remove(wanted).doing("removing from the ISO cache")?;
    Ok(removed.into_iter().map(ImageInfo::from).collect())
}
