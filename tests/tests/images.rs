//! The images crate against the lab's release server: the product's real download path.
//!
//! The test re-runs itself inside `tests/lab/run` (see `vswarm_lab::harness`), which exports
//! `VSWARM_B2D_RELEASES_URL`. Needs root.

use images::{Cache, ImageSource, PullOptions, PullPolicy, Resolver};
use vswarm_lab::{harness, rerun_in_lab};

#[test]
fn the_latest_boot2docker_is_resolved_downloaded_and_cached_from_the_lab() {
    rerun_in_lab!(the_latest_boot2docker_is_resolved_downloaded_and_cached_from_the_lab);
    let dir = tempfile::Builder::new()
        .prefix("vboxsim-images.")
        .tempdir()
        .expect("temp dir");
    let rt = harness::runtime();
    rt.block_on(async {
        let resolver = Resolver::from_env().expect("resolver from the lab's variables");
        let cache = Cache::new(dir.path().join("cache"));
        let options = PullOptions {
            policy: PullPolicy::CheckForNewer,
            expected_sha256: None,
            ..PullOptions::default()
        };
        let pulled = cache
            .pull(&ImageSource::Latest, &resolver, &options, |_| {})
            .await
            .expect("pulled");
        println!("pulled {:?} from {}", pulled.image.version, pulled.from);
        assert!(pulled.downloaded);
        assert_eq!(pulled.image.volume_id, "b2d-v19.03.12");
        assert!(
            pulled.image.checksum.is_some(),
            "verified against the published checksum"
        );
        // Again: served from the cache, nothing downloaded.
        let again = cache
            .pull(&ImageSource::Latest, &resolver, &options, |_| {})
            .await
            .expect("cached");
        assert!(!again.downloaded);
        assert_eq!(again.image.path, pulled.image.path);
    });
}
