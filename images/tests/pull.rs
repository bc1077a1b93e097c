//! Pulling into the cache against a local release server: resume after a cut connection,
//! checksum verification that leaves nothing behind on a mismatch, one download for many
//! concurrent pulls, offline use of the cache, explicit URLs and files, listing and removal.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use images::{
    Cache, ChecksumOrigin, HttpSettings, ImageSource, Progress, PullError, PullOptions, PullPolicy,
    Pulled, ReleaseEndpoints, ResolvedFrom, Resolver, Url,
};
use support::{
    ChecksumBehaviour, IsoBehaviour, ProgressLog, ReleaseServer, TAG, check_for_newer, fresh_cache,
    try_pull_latest,
};
use tokio::sync::{Notify, watch};

/// Pulls the server's latest release into `cache`, checking for a newer one.
async fn pull_latest(cache: &Cache, server: &ReleaseServer) -> Pulled {
    try_pull_latest(cache, &server.resolver()).await.unwrap()
}

/// The ISO, partial and sidecar files under the cache (lock files aside).
fn leftovers(cache: &Cache) -> Vec<std::path::PathBuf> {
    support::files_under(cache.dir())
        .into_iter()
        .filter(|path| path.extension().is_none_or(|ext| ext != "lock"))
        .collect()
}

#[tokio::test]
async fn a_cut_download_resumes_and_verifies() {
    let iso = support::make_iso("b2d-v19.03.12", 256);
    let server = ReleaseServer::start(iso.clone()).await;
    const CUT_AFTER: usize = 100_000;
    let cut = Arc::new(Notify::new());
    server.set_iso(IsoBehaviour::CutFirstAfter {
        bytes: CUT_AFTER,
        cut: cut.clone(),
    });
    let (_dir, cache) = fresh_cache();
    let log = ProgressLog::default();
    let record = log.recorder();
    // The server cuts the connection once the client has received everything sent so far.
    let progress = move |event: Progress| {
        if let Progress::Downloading { done, .. } = &event
            && *done >= CUT_AFTER as u64
        {
            cut.notify_one();
        }
        record(event);
    };

    let pulled = cache
        .pull(
            &ImageSource::Latest,
            &server.resolver(),
            &check_for_newer(),
            progress,
        )
        .await
        .unwrap();

    // Two requests: the second asked for the rest only.
    assert_eq!(
        server.iso_ranges(),
        vec![None, Some(format!("bytes={CUT_AFTER}-"))]
    );
    assert_eq!(
        server.state.iso_bytes_sent.load(Ordering::SeqCst),
        iso.len() as u64,
        "no byte was downloaded twice"
    );
    // The result is whole and verified against the published checksum.
    assert!(pulled.downloaded);
    assert_eq!(pulled.from, ResolvedFrom::Api);
    assert_eq!(std::fs::read(&pulled.image.path).unwrap(), iso);
    assert_eq!(
        pulled.image.sha256.as_deref(),
        Some(server.state.iso_sha256.as_str())
    );
    assert!(matches!(
        pulled.image.checksum,
        Some(ChecksumOrigin::Published { .. })
    ));
    assert_eq!(pulled.image.version.as_deref(), Some(TAG));
    let events = log.events();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Progress::Retrying { .. })),
        "{events:?}"
    );
    assert!(events.contains(&Progress::DownloadStarting {
        url: server.iso_url(),
        resume_from: CUT_AFTER as u64
    }));
    assert!(events.contains(&Progress::Downloading {
        done: iso.len() as u64,
        total: Some(iso.len() as u64)
    }));
    assert!(events.contains(&Progress::Verified {
        sha256: server.state.iso_sha256.clone()
    }));
    // Nothing of the download is left beside the cached image.
    let mut left = leftovers(&cache);
    left.sort();
    assert_eq!(
        left,
        vec![
            pulled.image.path.clone(),
            pulled.image.path.with_extension("iso.json")
        ]
    );
}

#[tokio::test]
async fn an_interrupted_pull_is_resumed_by_the_next_pull() {
    let iso = support::make_iso("b2d-v19.03.12", 128);
    let server = ReleaseServer::start(iso.clone()).await;
    const CUT_AFTER: usize = 70_000;
    let cut = Arc::new(Notify::new());
    server.set_iso(IsoBehaviour::CutFirstAfter {
        bytes: CUT_AFTER,
        cut: cut.clone(),
    });
    // One attempt only: the first pull gives up at the cut, as if vswarm had been stopped.
    let impatient = Resolver::new(
        ReleaseEndpoints::from_releases_url(&server.releases_url()).unwrap(),
        None,
        HttpSettings {
            attempts: 1,
            ..support::test_settings()
        },
    )
    .unwrap();
    let (_dir, cache) = fresh_cache();
    let notify_at_cut = move |event: Progress| {
        if let Progress::Downloading { done, .. } = event
            && done >= CUT_AFTER as u64
        {
            cut.notify_one();
        }
    };

    let error = cache
        .pull(
            &ImageSource::Latest,
            &impatient,
            &check_for_newer(),
            notify_at_cut,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, PullError::Network { kept_bytes, .. } if kept_bytes == CUT_AFTER as u64),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("the next pull resumes"),
        "{error}"
    );
    assert!(
        cache.list().unwrap().is_empty(),
        "nothing partial is listed"
    );

    let pulled = pull_latest(&cache, &server).await;
    assert_eq!(
        server.iso_ranges(),
        vec![None, Some(format!("bytes={CUT_AFTER}-"))]
    );
    assert_eq!(std::fs::read(&pulled.image.path).unwrap(), iso);
}

#[tokio::test]
async fn a_checksum_mismatch_leaves_nothing_in_the_cache() {
    let server = ReleaseServer::start(support::make_iso("b2d-v19.03.12", 32)).await;
    server.set_checksum(ChecksumBehaviour::Wrong);
    let (_dir, cache) = fresh_cache();

    let error = try_pull_latest(&cache, &server.resolver())
        .await
        .unwrap_err();

    let PullError::ChecksumMismatch {
        expected, actual, ..
    } = &error
    else {
        panic!("expected a checksum mismatch, got {error:?}");
    };
    assert_eq!(actual, &server.state.iso_sha256);
    assert_eq!(expected, &support::sha256_hex(b"another file"));
    let text = error.to_string();
    assert!(text.contains("nothing was cached"), "{text}");
    assert!(text.contains(".sha256"), "says which checksum: {text}");
    assert_eq!(server.iso_gets(), 1, "the ISO was downloaded");
    assert!(cache.list().unwrap().is_empty());
    assert_eq!(leftovers(&cache), Vec::<std::path::PathBuf>::new());
}

#[tokio::test]
async fn a_wrong_configured_checksum_leaves_nothing_in_the_cache() {
    let server = ReleaseServer::start(support::make_iso("b2d-v19.03.12", 32)).await;
    let (_dir, cache) = fresh_cache();
    let options = PullOptions {
        policy: PullPolicy::CheckForNewer,
        expected_sha256: Some(support::sha256_hex(b"what the user expected")),
        ..PullOptions::default()
    };

    let error = cache
        .pull(&ImageSource::Latest, &server.resolver(), &options, |_| {})
        .await
        .unwrap_err();

    assert!(
        matches!(&error, PullError::ChecksumMismatch { origin, .. } if origin == "the configured checksum"),
        "{error:?}"
    );
    assert_eq!(
        server.state.checksum_gets.load(Ordering::SeqCst),
        0,
        "a configured checksum replaces the published one"
    );
    assert_eq!(leftovers(&cache), Vec::<std::path::PathBuf>::new());

    // The right one is accepted.
    let options = PullOptions {
        expected_sha256: Some(server.state.iso_sha256.to_uppercase()),
        ..options
    };
    let pulled = cache
        .pull(&ImageSource::Latest, &server.resolver(), &options, |_| {})
        .await
        .unwrap();
    assert_eq!(pulled.image.checksum, Some(ChecksumOrigin::Configured));
}

#[tokio::test]
async fn an_unpublished_checksum_is_refused_unless_allowed() {
    let server = ReleaseServer::start(support::make_iso("b2d-v19.03.12", 16)).await;
    server.set_checksum(ChecksumBehaviour::Missing);
    let (_dir, cache) = fresh_cache();
    let log = ProgressLog::default();

    let error = try_pull_latest(&cache, &server.resolver())
        .await
        .unwrap_err();
    assert!(matches!(error, PullError::Unverified { .. }), "{error:?}");
    let text = error.to_string();
    assert!(
        text.contains("cannot be verified") && text.contains("VSWARM_ALLOW_UNVERIFIED_ISO=1"),
        "{text}"
    );
    assert_eq!(cache.list().unwrap(), vec![]);
    assert_eq!(leftovers(&cache), Vec::<std::path::PathBuf>::new());

    let allowed = PullOptions {
        allow_unverified: true,
        ..check_for_newer()
    };
    let pulled = cache
        .pull(
            &ImageSource::Latest,
            &server.resolver(),
            &allowed,
            log.recorder(),
        )
        .await
        .unwrap();
    assert_eq!(pulled.image.checksum, Some(ChecksumOrigin::NotPublished));
    assert!(log.events().contains(&Progress::Unverified {
        sha256: server.state.iso_sha256.clone()
    }));
    assert_eq!(cache.list().unwrap(), vec![pulled.image]);
}

#[tokio::test]
async fn plain_http_is_refused_without_a_given_checksum() {
    let (_dir, cache) = fresh_cache();
    let offline = support::resolver_for(&support::unreachable_releases_url(), None);
    // TEST-NET-1: nothing answers there, and nothing is asked.
    let source = ImageSource::parse("http://192.0.2.1/boot2docker.iso").unwrap();
    let error = cache
        .pull(&source, &offline, &check_for_newer(), |_| {})
        .await
        .unwrap_err();
    assert!(matches!(error, PullError::InsecureUrl { .. }), "{error:?}");
    let text = error.to_string();
    assert!(
        text.contains("http://192.0.2.1/boot2docker.iso is plain HTTP")
            && text.contains("VSWARM_BOOT2DOCKER_SHA256"),
        "{text}"
    );
}

#[tokio::test]
async fn a_download_larger_than_the_cap_is_refused() {
    let server = ReleaseServer::start(support::make_iso("b2d-v19.03.12", 16)).await;
    let (_dir, cache) = fresh_cache();
    let capped = PullOptions {
        max_bytes: Some(10_000),
        ..check_for_newer()
    };
    let error = cache
        .pull(&ImageSource::Latest, &server.resolver(), &capped, |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(error, PullError::TooLarge { limit: 10_000, .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("larger than 10000 bytes"),
        "{error}"
    );
    assert_eq!(cache.list().unwrap(), vec![]);
    assert_eq!(leftovers(&cache), Vec::<std::path::PathBuf>::new());
}

#[tokio::test]
async fn a_release_whose_iso_names_another_version_is_refused() {
    let server = ReleaseServer::start(support::make_iso("b2d-v18.09.1", 16)).await;
    let (_dir, cache) = fresh_cache();
    let error = try_pull_latest(&cache, &server.resolver())
        .await
        .unwrap_err();
    assert!(
        matches!(error, PullError::ForeignVolumeId { .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains(&format!("the ISO of release {TAG}")) && text.contains("'b2d-v18.09.1'"),
        "{text}"
    );
    assert_eq!(cache.list().unwrap(), vec![]);
}

#[tokio::test]
async fn an_iso_from_a_url_never_becomes_the_latest() {
    let server = ReleaseServer::start(support::make_iso("b2d-v19.03.12", 16)).await;
    let (dir, cache) = fresh_cache();
    let release = pull_latest(&cache, &server).await;
    // A file claiming a newer version, and one claiming the same: both cached beside it.
    for (name, id) in [
        ("claims-v99.iso", "b2d-v99.0.0"),
        ("claims-same.iso", "b2d-v19.03.12"),
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, support::make_iso(id, 2)).unwrap();
        cache
            .pull(
                &ImageSource::File(file),
                &server.resolver(),
                &PullOptions::default(),
                |_| {},
            )
            .await
            .unwrap();
    }
    assert_eq!(cache.list().unwrap().len(), 3, "nothing was replaced");
    let latest = cache
        .pull(
            &ImageSource::Latest,
            &server.resolver(),
            &PullOptions::default(),
            |_| {},
        )
        .await
        .unwrap();
    assert_eq!(
        latest.image, release.image,
        "the release's ISO is the latest"
    );
    assert!(release.image.path.exists());
}

#[tokio::test]
async fn a_download_that_is_not_an_iso_is_refused() {
    let server = ReleaseServer::start(support::make_iso("b2d-v19.03.12", 16)).await;
    server.set_iso(IsoBehaviour::NotAnIso);
    server.set_checksum(ChecksumBehaviour::Missing);
    let (_dir, cache) = fresh_cache();

    let error = try_pull_latest(&cache, &server.resolver())
        .await
        .unwrap_err();

    assert!(matches!(error, PullError::NotAnIso { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("did not send an ISO9660 image"), "{text}");
    assert!(text.contains(&server.iso_url()), "{text}");
    assert_eq!(leftovers(&cache), Vec::<std::path::PathBuf>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_concurrent_pulls_download_once() {
    let iso = support::make_iso("b2d-v19.03.12", 64);
    let server = ReleaseServer::start(iso.clone()).await;
    // The ISO is held back until every pull is either downloading or waiting for the one
    // that is: were each to download, ten requests would arrive.
    let (open_gate, gate) = watch::channel(false);
    server.set_iso(IsoBehaviour::Gated(gate));
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = dir.path().join("cache");
    let engaged = Arc::new(AtomicUsize::new(0));
    let all_engaged = Arc::new(Notify::new());

    let mut pulls = Vec::new();
    for _ in 0..10 {
        // A cache value and resolver of its own, as separate callers would have.
        let cache = Cache::new(&cache_dir);
        let resolver = server.resolver();
        let engaged = engaged.clone();
        let all_engaged = all_engaged.clone();
        pulls.push(tokio::spawn(async move {
            let log = ProgressLog::default();
            let record = log.recorder();
            let progress = move |event: Progress| {
                if matches!(
                    event,
                    Progress::DownloadStarting { .. } | Progress::WaitingForOtherDownload { .. }
                ) && engaged.fetch_add(1, Ordering::SeqCst) + 1 == 10
                {
                    all_engaged.notify_one();
                }
                record(event);
            };
            let pulled = cache
                .pull(
                    &ImageSource::Latest,
                    &resolver,
                    &check_for_newer(),
                    progress,
                )
                .await;
            (pulled, log.events())
        }));
    }
    // A guard against hanging forever, not a measure of speed.
    tokio::time::timeout(Duration::from_secs(120), all_engaged.notified())
        .await
        .expect("all ten pulls report downloading or waiting");
    open_gate.send(true).unwrap();

    let mut paths = Vec::new();
    let mut downloads = 0;
    let mut waited = 0;
    for pull in pulls {
        let (pulled, events) = pull.await.unwrap();
        let pulled = pulled.unwrap();
        downloads += usize::from(pulled.downloaded);
        waited += usize::from(
            events
                .iter()
                .any(|e| matches!(e, Progress::WaitingForOtherDownload { .. })),
        );
        paths.push(pulled.image.path);
    }
    assert_eq!(server.iso_gets(), 1, "one request for the ISO");
    assert_eq!(downloads, 1, "one pull downloaded");
    assert_eq!(waited, 9, "nine pulls waited for it");
    assert!(paths.iter().all(|p| p == &paths[0]));
    assert_eq!(std::fs::read(&paths[0]).unwrap(), iso);
    assert_eq!(Cache::new(&cache_dir).list().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_locked_by_another_process_is_waited_for() {
    let server = ReleaseServer::start(support::make_iso("b2d-v19.03.12", 16)).await;
    let source = ImageSource::parse(&server.iso_url()).unwrap();
    let (_dir, cache) = fresh_cache();
    cache
        .pull(&source, &server.resolver(), &PullOptions::default(), |_| {})
        .await
        .unwrap();
    cache.remove(TAG).unwrap();
    let lock_files = support::files_under(&cache.dir().join(".locks"));
    assert_eq!(lock_files.len(), 1, "{lock_files:?}");
    // Another process downloading the same ISO holds its lock file.
    let held = std::fs::File::open(&lock_files[0]).unwrap();
    held.lock().unwrap();

    let waiting = Arc::new(Notify::new());
    let pull = {
        let waiting = waiting.clone();
        let cache = cache.clone();
        let resolver = server.resolver();
        let source = source.clone();
        tokio::spawn(async move {
            let progress = move |event: Progress| {
                if matches!(event, Progress::WaitingForOtherDownload { .. }) {
                    waiting.notify_one();
                }
            };
            cache
                .pull(&source, &resolver, &PullOptions::default(), progress)
                .await
        })
    };
    // A guard against hanging forever, not a measure of speed.
    tokio::time::timeout(Duration::from_secs(120), waiting.notified())
        .await
        .expect("the pull reports that it waits for the other process");
    assert_eq!(
        server.iso_gets(),
        1,
        "nothing is requested while the lock is held"
    );
    drop(held);

    let pulled = pull.await.unwrap().unwrap();
    assert!(pulled.downloaded);
    assert_eq!(server.iso_gets(), 2);
}

#[tokio::test]
async fn offline_with_a_cached_iso_works() {
    let iso = support::make_iso("b2d-v19.03.12", 16);
    let server = ReleaseServer::start(iso.clone()).await;
    let (_dir, cache) = fresh_cache();
    let online = pull_latest(&cache, &server).await;
    drop(server);
    let offline = support::resolver_for(&support::unreachable_releases_url(), None);

    // Asked to check for a newer release: the API and feed fail, the cache answers.
    let log = ProgressLog::default();
    let pulled = cache
        .pull(
            &ImageSource::Latest,
            &offline,
            &check_for_newer(),
            log.recorder(),
        )
        .await
        .unwrap();
    assert!(!pulled.downloaded);
    assert_eq!(pulled.image, online.image);
    let ResolvedFrom::Cache { reason } = &pulled.from else {
        panic!("expected the cache, got {:?}", pulled.from);
    };
    assert!(reason.contains("offline"), "{reason}");
    assert!(reason.contains("could not connect"), "{reason}");
    assert!(
        log.events()
            .iter()
            .any(|e| matches!(e, Progress::Resolved { tag, from: ResolvedFrom::Cache { .. } } if tag == TAG)),
        "the pull says the cache was used: {:?}",
        log.events()
    );

    // The default policy does not even try the network.
    let pulled = cache
        .pull(
            &ImageSource::Latest,
            &offline,
            &PullOptions::default(),
            |_| {},
        )
        .await
        .unwrap();
    assert_eq!(pulled.image, online.image);
    assert!(matches!(pulled.from, ResolvedFrom::Cache { .. }));
}

#[tokio::test]
async fn offline_without_a_cache_fails_clearly() {
    let releases_url = support::unreachable_releases_url();
    let offline = support::resolver_for(&releases_url, None);
    let (_dir, cache) = fresh_cache();

    for policy in [PullPolicy::CheckForNewer, PullPolicy::PreferCached] {
        let options = PullOptions {
            policy,
            expected_sha256: None,
            ..PullOptions::default()
        };
        let error = cache
            .pull(&ImageSource::Latest, &offline, &options, |_| {})
            .await
            .unwrap_err();
        assert!(
            matches!(error, PullError::NothingAvailable { .. }),
            "{error:?}"
        );
        let text = error.to_string();
        for expected in [
            "no boot2docker ISO is available",
            releases_url.as_str(),
            "releases.atom",
            "could not connect",
            "holds no ISO to use offline",
            "VSWARM_BOOT2DOCKER_URL",
            cache.dir().to_str().unwrap(),
        ] {
            assert!(text.contains(expected), "missing {expected:?} in: {text}");
        }
    }
    assert!(cache.list().unwrap().is_empty());

    let error = cache
        .pull(
            &ImageSource::Latest,
            &offline,
            &PullOptions {
                policy: PullPolicy::CacheOnly,
                expected_sha256: None,
                ..PullOptions::default()
            },
            |_| {},
        )
        .await
        .unwrap_err();
    assert!(matches!(error, PullError::NotCached { .. }), "{error:?}");
    assert!(
        error.to_string().contains("may not use the network"),
        "{error}"
    );
}

#[tokio::test]
async fn an_explicit_url_skips_resolution() {
    let iso = support::make_iso("b2d-v19.03.12", 16);
    let server = ReleaseServer::start(iso.clone()).await;
    let source = ImageSource::from_value(Some(&server.iso_url())).unwrap();
    let (_dir, cache) = fresh_cache();

    let pulled = cache
        .pull(&source, &server.resolver(), &check_for_newer(), |_| {})
        .await
        .unwrap();
    assert!(pulled.downloaded);
    assert_eq!(pulled.from, ResolvedFrom::Explicit);
    assert_eq!(
        pulled.image.source_url.as_deref(),
        Some(server.iso_url().as_str())
    );
    assert_eq!(pulled.image.version.as_deref(), Some(TAG));
    assert!(
        matches!(
            pulled.image.checksum,
            Some(ChecksumOrigin::Published { .. })
        ),
        "the checksum next to the URL is used"
    );
    assert_eq!(server.api_gets(), 0);
    assert_eq!(server.feed_gets(), 0);

    // Pulled again: served from the cache.
    let again = cache
        .pull(&source, &server.resolver(), &check_for_newer(), |_| {})
        .await
        .unwrap();
    assert!(!again.downloaded);
    assert_eq!(again.image, pulled.image);
    assert_eq!(server.iso_gets(), 1);
}

#[tokio::test]
async fn a_local_iso_file_is_imported_without_network() {
    let (dir, cache) = fresh_cache();
    let file = dir.path().join("my-build.iso");
    let iso = support::make_iso("b2d-v20.10.0", 8);
    std::fs::write(&file, &iso).unwrap();
    let offline = support::resolver_for(&support::unreachable_releases_url(), None);
    let source = ImageSource::parse(file.to_str().unwrap()).unwrap();

    let pulled = cache
        .pull(&source, &offline, &PullOptions::default(), |_| {})
        .await
        .unwrap();

    assert!(pulled.downloaded);
    assert_eq!(pulled.from, ResolvedFrom::Explicit);
    assert_eq!(pulled.image.version.as_deref(), Some("v20.10.0"));
    assert_eq!(
        pulled.image.file_name,
        format!("{}.iso", support::sha256_hex(&iso)),
        "cached by content"
    );
    assert_eq!(
        pulled.image.source_url,
        Some(Url::from_file_path(&file).unwrap().to_string())
    );
    assert_eq!(std::fs::read(&pulled.image.path).unwrap(), iso);
    // The cache keeps its own copy.
    std::fs::remove_file(&file).unwrap();
    assert_eq!(cache.list().unwrap(), vec![pulled.image]);
}

#[tokio::test]
async fn a_local_file_that_is_not_an_iso_is_refused() {
    let (dir, cache) = fresh_cache();
    let file = dir.path().join("notes.iso");
    std::fs::write(&file, "these are not the bytes you are looking for").unwrap();
    let offline = support::resolver_for(&support::unreachable_releases_url(), None);

    let error = cache
        .pull(
            &ImageSource::File(file),
            &offline,
            &PullOptions::default(),
            |_| {},
        )
        .await
        .unwrap_err();

    assert!(
        matches!(error, PullError::Iso(images::IsoError::NotAnIso { .. })),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("notes.iso is not an ISO9660 image"),
        "{error}"
    );
    assert_eq!(leftovers(&cache), Vec::<std::path::PathBuf>::new());
}

#[tokio::test]
async fn cached_images_are_listed_and_removed() {
    let server = ReleaseServer::start(support::make_iso("b2d-v19.03.12", 16)).await;
    let (dir, cache) = fresh_cache();
    let old = dir.path().join("old.iso");
    std::fs::write(&old, support::make_iso("b2d-v18.09.1", 4)).unwrap();
    let other = dir.path().join("tinycore.iso");
    std::fs::write(&other, support::make_iso("TinyCore", 4)).unwrap();
    for source in [
        ImageSource::File(old),
        ImageSource::File(other),
        ImageSource::Latest,
    ] {
        cache
            .pull(&source, &server.resolver(), &check_for_newer(), |_| {})
            .await
            .unwrap();
    }

    let listed = cache.list().unwrap();
    let summary: Vec<(Option<&str>, &str, u64)> = listed
        .iter()
        .map(|i| (i.version.as_deref(), i.volume_id.as_str(), i.size))
        .collect();
    assert_eq!(
        summary,
        vec![
            (Some("v19.03.12"), "b2d-v19.03.12", (21 + 16) * 2048),
            (Some("v18.09.1"), "b2d-v18.09.1", (21 + 4) * 2048),
            (None, "TinyCore", (21 + 4) * 2048),
        ],
        "newest first, images without a version last"
    );
    assert_eq!(
        listed[0].source_url.as_deref(),
        Some(server.iso_url().as_str())
    );
    assert_eq!(listed[0].tag.as_deref(), Some(TAG));
    assert_eq!(
        listed[2].file_name,
        format!("{}.iso", listed[2].sha256.clone().unwrap())
    );
    assert_eq!(
        cache.newest().unwrap().unwrap().version.as_deref(),
        Some(TAG)
    );

    let removed = cache.remove("18.09.1").unwrap();
    assert_eq!(removed.len(), 1);
    assert!(!removed[0].path.exists());
    let removed = cache.remove(&listed[2].file_name).unwrap();
    assert_eq!(removed[0].volume_id, "TinyCore");
    assert_eq!(cache.list().unwrap(), vec![listed[0].clone()]);

    let error = cache.remove("v1.0.0").unwrap_err();
    let text = error.to_string();
    assert!(text.contains("no cached image matches 'v1.0.0'"), "{text}");
    assert!(text.contains("cached: v19.03.12"), "{text}");
}
