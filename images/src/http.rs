//! The HTTP side shared by release resolution and downloads: one client with connect and read
//! timeouts, the retry and backoff schedule, and texts for errors that never carry secrets.
//!
//! Errors from reqwest are described from their source chain without their URL, because a URL
//! may hold a user name and password (a private mirror); URLs shown to people go through
//! [`redact`].

use std::error::Error as _;
use std::time::Duration;

use rand::Rng;
use url::Url;

use crate::error::ConfigError;

/// Timeouts and the retry schedule for every request this crate makes.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// How long establishing a connection may take.
    pub connect_timeout: Duration,
    /// How long a connection may stay silent (no byte received) before it is given up and the
    /// download resumes on a new one.
    pub read_timeout: Duration,
    /// The whole time a small request (API, feed, checksum file) may take.
    pub request_timeout: Duration,
    /// How many attempts a download gets in a row without receiving a byte before it fails.
    /// An attempt that received data starts the count again, so a long download over a
    /// flaky link keeps going.
    pub attempts: u32,
    /// The delay before the first retry; it doubles after each failure.
    pub backoff_initial: Duration,
    /// The longest delay between retries.
    pub backoff_max: Duration,
    /// Whether the proxies named by `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`
    /// are used.
    pub proxy_from_env: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            connect_timeout: Duration::from_secs(15),
            read_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            attempts: 5,
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
            proxy_from_env: true,
        }
    }
}

impl HttpSettings {
    /// The delay before retry number `failures` (1 for the first retry): exponential backoff
    /// with jitter (between half and all of the exponential delay), capped at `backoff_max`.
    pub fn backoff_delay(&self, failures: u32) -> Duration {
        let exponent = failures.saturating_sub(1).min(16);
        let full = self
            .backoff_initial
            .saturating_mul(1u32 << exponent)
            .min(self.backoff_max);
        let factor: f64 = rand::rng().random_range(0.5..=1.0);
        full.mul_f64(factor)
    }
}

/// The user agent sent with every request (GitHub's API refuses requests without one).
pub(crate) const USER_AGENT: &str = concat!("vswarm-images/", env!("CARGO_PKG_VERSION"));

/// Builds the client every request goes through. There is no overall timeout on it, as a
/// download may legitimately take long: silence is what is bounded (`read_timeout`).
pub(crate) fn build_client(settings: &HttpSettings) -> Result<reqwest::Client, ConfigError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(settings.connect_timeout)
        .read_timeout(settings.read_timeout)
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            // Never from https down to plain http: that would hand the download to anyone on
            // the way.
            let downgrade = attempt
                .previous()
                .last()
                .is_some_and(|from| from.scheme() == "https")
                && attempt.url().scheme() != "https";
            if downgrade {
                attempt.error("a redirect from https to plain http was refused")
            } else if attempt.previous().len() >= 10 {
                attempt.stop()
            } else {
                attempt.follow()
            }
        }));
    if !settings.proxy_from_env {
        builder = builder.no_proxy();
    }
    builder
        .build()
        .map_err(|error| ConfigError::HttpClient(describe(&error)))
}

/// Whether what comes from `url` cannot be changed on the way: https, or plain HTTP to this
/// host itself (loopback), where there is no way to be on.
pub fn is_secure(url: &Url) -> bool {
    match url.scheme() {
        "https" | "file" => true,
        "http" => match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        },
        _ => false,
    }
}

/// A URL as it may be shown: without user name and password.
pub fn redact(url: &Url) -> String {
    if url.username().is_empty() && url.password().is_none() {
        return url.to_string();
    }
    let mut shown = url.clone();
    // Setting these only fails for URLs that cannot have credentials, which had none.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// Describes a reqwest error by its kind and its root cause (`could not connect: Connection
/// refused`), without the URL it carries.
pub(crate) fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "the connection broke while receiving"
    } else if error.is_redirect() {
        "too many redirects"
    } else {
        "request failed"
    };
    let mut root: Option<&dyn std::error::Error> = None;
    let mut source = error.source();
    while let Some(cause) = source {
        root = Some(cause);
        source = cause.source();
    }
    match root {
        Some(cause) => format!("{kind}: {cause}"),
        None => kind.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_and_loopback_are_secure() {
        let secure = |u: &str| is_secure(&Url::parse(u).unwrap());
        assert!(secure("https://github.com/x.iso"));
        assert!(secure("http://127.0.0.1:8080/x.iso"));
        assert!(secure("http://localhost/x.iso"));
        assert!(secure("http://[::1]/x.iso"));
        assert!(!secure("http://example.org/x.iso"));
        assert!(!secure("http://192.168.1.10/x.iso"));
        assert!(!secure("ftp://example.org/x.iso"));
    }

    #[test]
    fn credentials_are_removed_from_shown_urls() {
        let url = Url::parse("https://user:s3cret@mirror.example/b2d/boot2docker.iso").unwrap();
        let shown = redact(&url);
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(!shown.contains("user"), "{shown}");
        assert_eq!(shown, "https://mirror.example/b2d/boot2docker.iso");
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let settings = HttpSettings {
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_millis(350),
            ..HttpSettings::default()
        };
        for _ in 0..20 {
            let first = settings.backoff_delay(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let second = settings.backoff_delay(2);
            assert!(second >= Duration::from_millis(100) && second <= Duration::from_millis(200));
            let capped = settings.backoff_delay(10);
            assert!(capped <= Duration::from_millis(350));
        }
    }
}
