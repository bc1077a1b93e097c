//! Release resolution against a local release server: the API first (pre-releases skipped),
//! the Atom feed when the API is rate limited, both failures reported when neither answers,
//! and `GITHUB_TOKEN` sent to the API only and printed nowhere.

mod support;

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use images::{ApiFailure, ImageSource, PullOptions, ResolveError, ResolvedFrom, Resolver, Url};
use support::{ApiBehaviour, ReleaseServer, TAG};

#[tokio::test]
async fn latest_release_is_resolved_from_the_api() {
    let server = ReleaseServer::start(support::make_iso("b2d-v19.03.12", 8)).await;
    // Configured as the lab configures vswarm.
    let vars = HashMap::from([(images::RELEASES_URL_VAR, server.releases_url())]);
    let resolver =
        Resolver::from_vars(|name| vars.get(name).cloned(), support::test_settings()).unwrap();

    let resolved = resolver.resolve().await.unwrap();

    assert_eq!(resolved.tag, TAG, "the pre-release listed first is skipped");
    assert_eq!(resolved.from, ResolvedFrom::Api);
    assert_eq!(resolved.iso_url.as_str(), server.iso_url());
    assert_eq!(
        resolved.checksum_url.as_ref().map(Url::as_str),
        Some(format!("{}.sha256", server.iso_url()).as_str())
    );
    assert_eq!(server.api_gets(), 1);
    assert_eq!(
        server.feed_gets(),
        0,
        "the feed is not read when the API answers"
    );
}

#[tokio::test]
async fn rate_limited_api_falls_back_to_the_atom_feed() {
    let iso = support::make_iso("b2d-v19.03.12", 8);
    let server = ReleaseServer::start(iso.clone()).await;
    server.set_api(ApiBehaviour::RateLimited);
    let resolver = server.resolver();

    let resolved = resolver.resolve().await.unwrap();

    assert_eq!(resolved.tag, TAG, "the feed's pre-release is skipped");
    assert_eq!(
        resolved.from,
        ResolvedFrom::Feed {
            api_failure: ApiFailure::RateLimited {
                status: 403,
                reset_at_unix: Some(1_700_000_000)
            }
        }
    );
    assert!(
        resolved.from.to_string().contains("rate limit"),
        "{}",
        resolved.from
    );
    assert_eq!(
        resolved.iso_url.as_str(),
        server.iso_url(),
        "the download URL is derived from the feed"
    );
    assert_eq!(server.feed_gets(), 1);

    // The derived URL downloads the release.
    let (_dir, cache) = support::fresh_cache();
    let pulled = support::try_pull_latest(&cache, &resolver).await.unwrap();
    assert!(pulled.downloaded);
    assert!(matches!(pulled.from, ResolvedFrom::Feed { .. }));
    assert_eq!(pulled.image.version.as_deref(), Some(TAG));
    assert_eq!(std::fs::read(&pulled.image.path).unwrap(), iso);
}

#[tokio::test]
async fn unreachable_api_and_feed_report_both_failures() {
    let releases_url = support::unreachable_releases_url();
    let resolver = support::resolver_for(&releases_url, None);

    let error = resolver.resolve().await.unwrap_err();

    let ResolveError::Unavailable { api, feed, .. } = &error;
    assert!(matches!(api, ApiFailure::Unreachable(_)), "{api:?}");
    assert!(feed.contains("could not connect"), "{feed}");
    let text = error.to_string();
    assert!(text.contains(&releases_url), "{text}");
    assert!(text.contains("releases.atom"), "{text}");
}

/// A `tracing` writer into a shared buffer, to read what was logged.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn github_token_is_sent_as_authorization_but_never_printed() {
    const TOKEN: &str = "ghp_TestTokenThatMustNotLeak0123456789";
    let server = ReleaseServer::start(support::make_iso("b2d-v19.03.12", 8)).await;
    // A server that echoes the credentials back in its error: they must not reach the user.
    server.set_api(ApiBehaviour::EchoingUnauthorized);
    let logs = CapturedLogs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // This test runs on a current-thread runtime: everything it awaits logs here.
    let _logging = tracing::subscriber::set_default(subscriber);

    let vars = HashMap::from([
        (images::RELEASES_URL_VAR, server.releases_url()),
        (images::TOKEN_VAR, TOKEN.to_string()),
    ]);
    let resolver =
        Resolver::from_vars(|name| vars.get(name).cloned(), support::test_settings()).unwrap();
    let resolved = resolver.resolve().await.unwrap();
    let (_dir, cache) = support::fresh_cache();
    let pulled = support::try_pull_latest(&cache, &resolver).await.unwrap();

    // Sent to the API, as a bearer token...
    assert_eq!(
        *server.state.api_authorizations.lock().unwrap(),
        vec![Some(format!("Bearer {TOKEN}")); 2]
    );
    // ...and to nothing else (feed, checksum, ISO).
    let others = server.state.other_authorizations.lock().unwrap().clone();
    assert!(!others.is_empty());
    assert!(others.iter().all(Option::is_none), "{others:?}");
    // The API's 401 made the resolver use the feed; its message is kept, the token is not.
    let ResolvedFrom::Feed { api_failure } = &resolved.from else {
        panic!("expected the feed, got {:?}", resolved.from);
    };
    assert!(
        matches!(api_failure, ApiFailure::Status { status: 401, message } if message.contains("Bad credentials")),
        "{api_failure:?}"
    );
    // Printed nowhere.
    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("releases API"),
        "the capture must have seen the resolver's logs: {logged}"
    );
    for (what, text) in [
        ("the logs", logged),
        ("the resolver's Debug", format!("{resolver:?}")),
        ("the resolution", format!("{resolved:?} {}", resolved.from)),
        ("the pull", format!("{pulled:?}")),
    ] {
        assert!(!text.contains(TOKEN), "{what} show the token: {text}");
        assert!(
            !text.contains("TestTokenThatMustNotLeak"),
            "{what} show part of the token: {text}"
        );
    }
}

#[tokio::test]
async fn without_a_token_no_authorization_is_sent() {
    let server = ReleaseServer::start(support::make_iso("b2d-v19.03.12", 8)).await;
    let vars = HashMap::from([
        (images::RELEASES_URL_VAR, server.releases_url()),
        (images::TOKEN_VAR, "   ".to_string()),
    ]);
    let resolver =
        Resolver::from_vars(|name| vars.get(name).cloned(), support::test_settings()).unwrap();
    resolver.resolve().await.unwrap();
    assert_eq!(*server.state.api_authorizations.lock().unwrap(), vec![None]);
}

#[tokio::test]
async fn a_newer_release_is_reported() {
    let server = ReleaseServer::start(support::make_iso("b2d-v19.03.12", 8)).await;
    let resolver = server.resolver();
    let (dir, cache) = support::fresh_cache();

    // Nothing cached: the latest release is news.
    let newer = cache.newer_release_available(&resolver).await.unwrap();
    assert_eq!(newer.map(|n| n.latest.tag), Some(TAG.to_string()));

    // An older release cached: the latest is newer than it.
    let older = dir.path().join("old.iso");
    std::fs::write(&older, support::make_iso("b2d-v19.03.5", 2)).unwrap();
    cache
        .pull(
            &ImageSource::File(older),
            &resolver,
            &PullOptions::default(),
            |_| {},
        )
        .await
        .unwrap();
    let newer = cache
        .newer_release_available(&resolver)
        .await
        .unwrap()
        .expect("v19.03.12 is newer than v19.03.5");
    assert_eq!(newer.latest.tag, TAG);
    assert_eq!(newer.newest_cached.as_deref(), Some("v19.03.5"));

    // The latest cached: nothing newer.
    support::try_pull_latest(&cache, &resolver).await.unwrap();
    assert_eq!(
        cache.newer_release_available(&resolver).await.unwrap(),
        None
    );
}
