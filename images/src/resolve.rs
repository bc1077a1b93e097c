//! Finding the latest boot2docker release without depending on one service.
//!
//! docker-machine asked GitHub's API on every create and failed once the anonymous rate limit
//! was spent. Here the releases API (GitHub, GitHub Enterprise or a mirror shaped like them,
//! with `GITHUB_TOKEN` sent when set) is asked first; when it is rate limited, unreachable or
//! answers nonsense, the repository's Atom feed is read instead (it has no rate limit and needs
//! no token). Falling back further, to the newest cached ISO, is the cache's job
//! ([`crate::Cache::pull`]), which knows what it holds.

use std::fmt;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use serde::Deserialize;
use tracing::{debug, info, warn};
use url::Url;

use crate::error::{ApiFailure, ConfigError, ResolveError};
use crate::http::{HttpSettings, build_client, describe, redact};
use crate::version::Version;

/// boot2docker's releases on GitHub's API.
pub const DEFAULT_RELEASES_URL: &str =
    "https://api.github.com/repos/boot2docker/boot2docker/releases";
/// The environment variable overriding the releases API URL (mirrors, GitHub Enterprise, the
/// lab's release server).
pub const RELEASES_URL_VAR: &str = "VSWARM_B2D_RELEASES_URL";
/// The environment variable overriding the Atom feed URL (otherwise derived from the API URL).
pub const FEED_URL_VAR: &str = "VSWARM_B2D_FEED_URL";
/// The environment variable holding a GitHub token, sent to the releases API only.
pub const TOKEN_VAR: &str = "GITHUB_TOKEN";
/// The asset every boot2docker release carries.
pub const DEFAULT_ISO_ASSET: &str = "boot2docker.iso";
/// How many releases the API is asked for: enough to get past a run of pre-releases.
const RELEASES_PER_PAGE: u32 = 30;

/// A GitHub token. It is sent in the `Authorization` header of API requests and shown nowhere:
/// its `Debug` is redacted and it has no `Display`.
#[derive(Clone)]
pub struct GithubToken(String);

impl GithubToken {
    /// A token from its text; blank text is no token.
    pub fn new(value: impl Into<String>) -> Option<GithubToken> {
        let value = value.into().trim().to_string();
        (!value.is_empty()).then_some(GithubToken(value))
    }

    fn authorization(&self) -> Result<HeaderValue, ConfigError> {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", self.0))
            .map_err(|_| ConfigError::InvalidToken)?;
        value.set_sensitive(true);
        Ok(value)
    }

    /// Replaces the token wherever it appears in `text` (a server could echo it back).
    fn scrub(&self, text: &str) -> String {
        text.replace(&self.0, "<redacted>")
    }
}

impl fmt::Debug for GithubToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GithubToken(<redacted>)")
    }
}

/// Where releases are looked up: the releases API, the repository's Atom feed (from which
/// download URLs are derived), and the name of the ISO asset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseEndpoints {
    releases_url: Url,
    feed_url: Url,
    iso_asset: String,
}

impl ReleaseEndpoints {
    /// boot2docker's releases on github.com.
    pub fn boot2docker() -> Result<ReleaseEndpoints, ConfigError> {
        ReleaseEndpoints::from_releases_url(DEFAULT_RELEASES_URL)
    }

    /// Endpoints from a releases API URL shaped like GitHub's,
    /// `<api base>/repos/OWNER/REPO/releases` (a trailing `/latest` is accepted). The feed is
    /// derived from it: `https://github.com/OWNER/REPO/releases.atom` for api.github.com,
    /// `https://HOST/OWNER/REPO/releases.atom` for GitHub Enterprise (`HOST/api/v3/...`), and
    /// the same base as the API for mirrors.
    pub fn from_releases_url(value: &str) -> Result<ReleaseEndpoints, ConfigError> {
        let invalid = |reason: &str| ConfigError::ReleasesUrl {
            url: value.to_string(),
            reason: reason.to_string(),
        };
        let parsed = Url::parse(value.trim()).map_err(|error| invalid(&error.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(invalid("only http and https are supported"));
        }
        let mut segments: Vec<String> = parsed
            .path_segments()
            .map(|segments| {
                segments
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        if segments.last().map(String::as_str) == Some("latest") {
            segments.pop();
        }
        let count = segments.len();
        if count < 4 || segments[count - 4] != "repos" || segments[count - 1] != "releases" {
            return Err(invalid(
                "its path does not end in /repos/OWNER/REPO/releases",
            ));
        }
        let owner = segments[count - 3].clone();
        let repo = segments[count - 2].clone();
        let mut prefix: Vec<String> = segments[..count - 4].to_vec();

        let mut releases_url = parsed.clone();
        releases_url.set_query(None);
        releases_url.set_fragment(None);
        set_segments(
            &mut releases_url,
            prefix
                .iter()
                .cloned()
                .chain(["repos".to_string(), owner.clone(), repo.clone()])
                .chain(["releases".to_string()]),
        )
        .map_err(|reason| invalid(&reason))?;

        let mut feed_url = releases_url.clone();
        if parsed.host_str() == Some("api.github.com") {
            feed_url
                .set_host(Some("github.com"))
                .map_err(|error| invalid(&error.to_string()))?;
            prefix.clear();
        } else if prefix.ends_with(&["api".to_string(), "v3".to_string()]) {
            prefix.truncate(prefix.len() - 2);
        }
        set_segments(
            &mut feed_url,
            prefix
                .into_iter()
                .chain([owner, repo, "releases.atom".to_string()]),
        )
        .map_err(|reason| invalid(&reason))?;

        Ok(ReleaseEndpoints {
            releases_url,
            feed_url,
            iso_asset: DEFAULT_ISO_ASSET.to_string(),
        })
    }

    /// Uses another Atom feed, `<web base>/OWNER/REPO/releases.atom`; downloads found through
    /// it are `<web base>/OWNER/REPO/releases/download/TAG/<asset>`.
    pub fn with_feed_url(mut self, value: &str) -> Result<ReleaseEndpoints, ConfigError> {
        let invalid = |reason: &str| ConfigError::FeedUrl {
            url: value.to_string(),
            reason: reason.to_string(),
        };
        let parsed = Url::parse(value.trim()).map_err(|error| invalid(&error.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(invalid("only http and https are supported"));
        }
        if !parsed.path().ends_with("/releases.atom") {
            return Err(invalid("its path does not end in /releases.atom"));
        }
        self.feed_url = parsed;
        Ok(self)
    }

    /// Looks for another asset name than `boot2docker.iso` in each release.
    pub fn with_iso_asset(mut self, name: impl Into<String>) -> ReleaseEndpoints {
        self.iso_asset = name.into();
        self
    }

    /// The releases API URL (`.../repos/OWNER/REPO/releases`).
    pub fn releases_url(&self) -> &Url {
        &self.releases_url
    }

    /// The Atom feed URL (`.../OWNER/REPO/releases.atom`).
    pub fn feed_url(&self) -> &Url {
        &self.feed_url
    }

    /// The name of the ISO asset in each release.
    pub fn iso_asset(&self) -> &str {
        &self.iso_asset
    }

    /// The download URL of a release's ISO, derived from the feed URL:
    /// `.../releases.atom` becomes `.../releases/download/TAG/<asset>`.
    pub fn download_url(&self, tag: &str) -> Result<Url, String> {
        let mut url = self.feed_url.clone();
        url.set_query(None);
        url.set_fragment(None);
        let segments: Vec<String> = url
            .path_segments()
            .map(|segments| segments.map(str::to_string).collect())
            .unwrap_or_default();
        let Some((last, parents)) = segments.split_last() else {
            return Err(format!("the feed URL {} has no path", redact(&url)));
        };
        let releases = last.trim_end_matches(".atom").to_string();
        set_segments(
            &mut url,
            parents.iter().cloned().chain([
                releases,
                "download".to_string(),
                tag.to_string(),
                self.iso_asset.clone(),
            ]),
        )?;
        Ok(url)
    }
}

/// Replaces a URL's path with these segments (percent-encoded as needed).
fn set_segments(url: &mut Url, segments: impl IntoIterator<Item = String>) -> Result<(), String> {
    let mut path = url
        .path_segments_mut()
        .map_err(|()| "the URL cannot have a path".to_string())?;
    path.clear();
    for segment in segments {
        path.push(&segment);
    }
    Ok(())
}

/// Where the release being pulled was learnt of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResolvedFrom {
    /// The releases API.
    Api,
    /// The Atom feed, because the API failed.
    Feed { api_failure: ApiFailure },
    /// The cache: the newest cached ISO, either because the policy prefers the cache or
    /// because no release could be resolved online (`reason` says which).
    Cache { reason: String },
    /// An explicit URL or file: nothing was resolved.
    Explicit,
}

impl fmt::Display for ResolvedFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResolvedFrom::Api => f.write_str("the releases API"),
            ResolvedFrom::Feed { api_failure } => {
                write!(f, "the releases Atom feed ({api_failure})")
            }
            ResolvedFrom::Cache { reason } => write!(f, "the cache ({reason})"),
            ResolvedFrom::Explicit => f.write_str("the given URL or file"),
        }
    }
}

/// A release found online: its tag, where its ISO and checksum are, and how it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The release tag, e.g. `v19.03.12`.
    pub tag: String,
    /// Where the ISO is downloaded from.
    pub iso_url: Url,
    /// Where a SHA-256 checksum may be published: the release's `<asset>.sha256` asset when
    /// it lists one, else `<iso url>.sha256`, which is looked for and may be absent.
    pub checksum_url: Option<Url>,
    /// The API or the feed.
    pub from: ResolvedFrom,
}

/// Finds releases, and holds the HTTP client (timeouts, retries) that downloads use too.
#[derive(Clone)]
pub struct Resolver {
    endpoints: ReleaseEndpoints,
    token: Option<GithubToken>,
    authorization: Option<HeaderValue>,
    settings: HttpSettings,
    client: reqwest::Client,
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver")
            .field("endpoints", &self.endpoints)
            .field("token", &self.token)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Part of a releases API answer.
#[derive(Debug, Deserialize)]
struct ApiRelease {
    tag_name: String,
    #[serde(default)]
    draft: bool,
    #[serde(default)]
    prerelease: bool,
    #[serde(default)]
    assets: Vec<ApiAsset>,
}

#[derive(Debug, Deserialize)]
struct ApiAsset {
    name: String,
    browser_download_url: String,
}

/// GitHub's error body.
#[derive(Debug, Deserialize)]
struct ApiMessage {
    message: String,
}

impl Resolver {
    /// A resolver for these endpoints; `token` goes to the releases API only.
    pub fn new(
        endpoints: ReleaseEndpoints,
        token: Option<GithubToken>,
        settings: HttpSettings,
    ) -> Result<Resolver, ConfigError> {
        let authorization = token.as_ref().map(GithubToken::authorization).transpose()?;
        let client = build_client(&settings)?;
        Ok(Resolver {
            endpoints,
            token,
            authorization,
            settings,
            client,
        })
    }

    /// A resolver configured from the environment: `VSWARM_B2D_RELEASES_URL`,
    /// `VSWARM_B2D_FEED_URL`, `GITHUB_TOKEN`, with default timeouts.
    pub fn from_env() -> Result<Resolver, ConfigError> {
        Resolver::from_vars(|name| std::env::var(name).ok(), HttpSettings::default())
    }

    /// Like [`Resolver::from_env`], reading variables through `lookup`.
    pub fn from_vars(
        lookup: impl Fn(&str) -> Option<String>,
        settings: HttpSettings,
    ) -> Result<Resolver, ConfigError> {
        let set = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let releases_url = set(RELEASES_URL_VAR).unwrap_or_else(|| DEFAULT_RELEASES_URL.into());
        let mut endpoints = ReleaseEndpoints::from_releases_url(&releases_url)?;
        if let Some(feed_url) = set(FEED_URL_VAR) {
            endpoints = endpoints.with_feed_url(&feed_url)?;
        }
        let token = set(TOKEN_VAR).and_then(GithubToken::new);
        Resolver::new(endpoints, token, settings)
    }

    /// The endpoints asked.
    pub fn endpoints(&self) -> &ReleaseEndpoints {
        &self.endpoints
    }

    /// The timeouts and retry schedule.
    pub fn settings(&self) -> &HttpSettings {
        &self.settings
    }

    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The latest published (non-draft, non-pre-release) release carrying the ISO: from the
    /// API, or from the Atom feed when the API fails (rate limit, no network, bad answer).
    pub async fn resolve(&self) -> Result<Resolved, ResolveError> {
        let api_failure = match self.latest_from_api().await {
            Ok(resolved) => {
                info!(tag = %resolved.tag, "latest release found through the releases API");
                return Ok(resolved);
            }
            Err(failure) => failure,
        };
        warn!(
            api = %redact(&self.endpoints.releases_url),
            "the releases API failed ({api_failure}); reading the releases Atom feed instead"
        );
        match self.latest_from_feed(&api_failure).await {
            Ok(resolved) => {
                info!(tag = %resolved.tag, "latest release found through the Atom feed");
                Ok(resolved)
            }
            Err(feed) => {
                warn!(
                    feed = %redact(&self.endpoints.feed_url),
                    "the releases Atom feed failed too: {feed}"
                );
                Err(ResolveError::Unavailable {
                    api_url: redact(&self.endpoints.releases_url),
                    api: api_failure,
                    feed_url: redact(&self.endpoints.feed_url),
                    feed,
                })
            }
        }
    }

    fn scrub(&self, text: &str) -> String {
        match &self.token {
            Some(token) => token.scrub(text),
            None => text.to_string(),
        }
    }

    async fn latest_from_api(&self) -> Result<Resolved, ApiFailure> {
        let mut url = self.endpoints.releases_url.clone();
        url.query_pairs_mut()
            .append_pair("per_page", &RELEASES_PER_PAGE.to_string());
        let mut request = self
            .client
            .get(url)
            .header(ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .timeout(self.settings.request_timeout);
        // The token goes to the configured API host only, and only over https (or loopback).
        let token_allowed = crate::http::is_secure(&self.endpoints.releases_url);
        if let Some(authorization) = self.authorization.as_ref().filter(|_| token_allowed) {
            request = request.header(AUTHORIZATION, authorization.clone());
        } else if self.authorization.is_some() {
            warn!(
                url = %redact(&self.endpoints.releases_url),
                "the releases API is plain HTTP: GITHUB_TOKEN is not sent"
            );
        }
        debug!(
            url = %redact(&self.endpoints.releases_url),
            authenticated = self.authorization.is_some() && token_allowed,
            "asking the releases API"
        );
        let response = request
            .send()
            .await
            .map_err(|error| ApiFailure::Unreachable(self.scrub(&describe(&error))))?;
        let status = response.status();
        let remaining = header_text(&response, "x-ratelimit-remaining");
        let reset_at_unix =
            header_text(&response, "x-ratelimit-reset").and_then(|v| v.parse::<u64>().ok());
        let body = response
            .bytes()
            .await
            .map_err(|error| ApiFailure::Unreachable(self.scrub(&describe(&error))))?;
        if status.is_success() {
            return self.pick_release(&body);
        }
        let text = String::from_utf8_lossy(&body);
        if is_rate_limited(status, remaining.as_deref(), &text) {
            return Err(ApiFailure::RateLimited {
                status: status.as_u16(),
                reset_at_unix,
            });
        }
        let message = serde_json::from_slice::<ApiMessage>(&body)
            .map(|m| m.message)
            .unwrap_or_else(|_| text.chars().take(200).collect());
        Err(ApiFailure::Status {
            status: status.as_u16(),
            message: self.scrub(message.trim()),
        })
    }

    fn pick_release(&self, body: &[u8]) -> Result<Resolved, ApiFailure> {
        let releases: Vec<ApiRelease> = serde_json::from_slice(body)
            .map_err(|error| ApiFailure::InvalidAnswer(error.to_string()))?;
        let asset = &self.endpoints.iso_asset;
        let checksum_asset = format!("{asset}.sha256");
        for release in releases {
            if release.draft || release.prerelease {
                debug!(tag = %release.tag_name, "skipping a draft or pre-release");
                continue;
            }
            let Some(iso) = release.assets.iter().find(|a| &a.name == asset) else {
                debug!(tag = %release.tag_name, "skipping a release without {asset}");
                continue;
            };
            let iso_url = Url::parse(&iso.browser_download_url).map_err(|error| {
                ApiFailure::InvalidAnswer(format!(
                    "release {} has an invalid download URL: {error}",
                    release.tag_name
                ))
            })?;
            let checksum_url = match release.assets.iter().find(|a| a.name == checksum_asset) {
                Some(listed) => Url::parse(&listed.browser_download_url).ok(),
                None => sibling_checksum_url(&iso_url),
            };
            return Ok(Resolved {
                tag: release.tag_name,
                iso_url,
                checksum_url,
                from: ResolvedFrom::Api,
            });
        }
        Err(ApiFailure::NoRelease {
            asset: asset.clone(),
        })
    }

    async fn latest_from_feed(&self, api_failure: &ApiFailure) -> Result<Resolved, String> {
        let response = self
            .client
            .get(self.endpoints.feed_url.clone())
            .header(ACCEPT, "application/atom+xml")
            .timeout(self.settings.request_timeout)
            .send()
            .await
            .map_err(|error| describe(&error))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("it answered HTTP {status}"));
        }
        let body = response.text().await.map_err(|error| describe(&error))?;
        let entries = parse_feed(&body)?;
        let tag = entries
            .iter()
            .find(|tag| Version::parse(tag).is_some_and(|v| !v.is_pre_release()))
            .ok_or_else(|| {
                format!(
                    "none of its {} entries is a published release tag",
                    entries.len()
                )
            })?;
        let iso_url = self.endpoints.download_url(tag)?;
        Ok(Resolved {
            tag: tag.clone(),
            checksum_url: sibling_checksum_url(&iso_url),
            iso_url,
            from: ResolvedFrom::Feed {
                api_failure: api_failure.clone(),
            },
        })
    }
}

fn header_text(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
}

/// GitHub's rate limit answer: 403 or 429, with no requests remaining or saying so.
fn is_rate_limited(status: StatusCode, remaining: Option<&str>, body: &str) -> bool {
    (status == StatusCode::FORBIDDEN || status == StatusCode::TOO_MANY_REQUESTS)
        && (remaining == Some("0") || body.to_ascii_lowercase().contains("rate limit"))
}

/// `<url>.sha256`, where mirrors and the lab publish an ISO's checksum.
pub(crate) fn sibling_checksum_url(iso_url: &Url) -> Option<Url> {
    let mut url = iso_url.clone();
    let last = url.path_segments()?.next_back()?.to_string();
    if last.is_empty() {
        return None;
    }
    url.path_segments_mut()
        .ok()?
        .pop()
        .push(&format!("{last}.sha256"));
    Some(url)
}

/// The release tags of an Atom feed, in the feed's order (newest first on GitHub). A tag comes
/// from the entry's `/releases/tag/TAG` link, else from its title.
pub(crate) fn parse_feed(xml: &str) -> Result<Vec<String>, String> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut tags = Vec::new();
    let mut in_entry = false;
    let mut in_title = false;
    let mut title = String::new();
    let mut link_tag: Option<String> = None;
    let mut saw_feed = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|error| format!("it is not valid XML: {error}"))?;
        match event {
            Event::Start(element) => match element.local_name().as_ref() {
                b"feed" => saw_feed = true,
                b"entry" => {
                    in_entry = true;
                    title.clear();
                    link_tag = None;
                }
                b"title" if in_entry => in_title = true,
                b"link" if in_entry => link_tag = link_tag.or(tag_from_link(&element)),
                _ => {}
            },
            Event::Empty(element) if in_entry && element.local_name().as_ref() == b"link" => {
                link_tag = link_tag.or(tag_from_link(&element));
            }
            Event::Text(text) if in_title => {
                let decoded = text
                    .decode()
                    .map_err(|error| format!("it has undecodable text: {error}"))?;
                title.push_str(&decoded);
            }
            Event::CData(data) if in_title => {
                let decoded = data
                    .decode()
                    .map_err(|error| format!("it has undecodable text: {error}"))?;
                title.push_str(&decoded);
            }
            Event::GeneralRef(reference) if in_title => {
                if let Ok(Some(character)) = reference.resolve_char_ref() {
                    title.push(character);
                } else {
                    let name = reference
                        .decode()
                        .map_err(|error| format!("it has undecodable text: {error}"))?;
                    match name.as_ref() {
                        "amp" => title.push('&'),
                        "lt" => title.push('<'),
                        "gt" => title.push('>'),
                        "quot" => title.push('"'),
                        "apos" => title.push('\''),
                        other => return Err(format!("it uses the unknown entity &{other};")),
                    }
                }
            }
            Event::End(element) => match element.local_name().as_ref() {
                b"title" => in_title = false,
                b"entry" if in_entry => {
                    in_entry = false;
                    let tag = link_tag.take().unwrap_or_else(|| title.trim().to_string());
                    if !tag.is_empty() {
                        tags.push(tag);
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_feed {
        return Err("it is not an Atom feed (no <feed> element)".to_string());
    }
    Ok(tags)
}

/// The tag in an entry link `.../releases/tag/TAG` (alternate links only).
fn tag_from_link(element: &BytesStart<'_>) -> Option<String> {
    let rel = element
        .try_get_attribute("rel")
        .ok()
        .flatten()
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()));
    if rel.as_deref().is_some_and(|rel| rel != "alternate") {
        return None;
    }
    let href = element
        .try_get_attribute("href")
        .ok()
        .flatten()?
        .unescape_value()
        .ok()?
        .into_owned();
    let (_, rest) = href.split_once("/releases/tag/")?;
    let tag = rest.split(['?', '#']).next()?.trim_end_matches('/');
    (!tag.is_empty()).then(|| tag.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_api_urls_give_github_web_feeds() {
        let endpoints = ReleaseEndpoints::boot2docker().unwrap();
        assert_eq!(
            endpoints.feed_url().as_str(),
            "https://github.com/boot2docker/boot2docker/releases.atom"
        );
        assert_eq!(
            endpoints.download_url("v19.03.12").unwrap().as_str(),
            "https://github.com/boot2docker/boot2docker/releases/download/v19.03.12/boot2docker.iso"
        );
    }

    #[test]
    fn enterprise_and_mirror_urls_give_their_own_feeds() {
        let enterprise = ReleaseEndpoints::from_releases_url(
            "https://git.corp.example/api/v3/repos/ops/b2d/releases/latest",
        )
        .unwrap();
        assert_eq!(
            enterprise.releases_url().as_str(),
            "https://git.corp.example/api/v3/repos/ops/b2d/releases"
        );
        assert_eq!(
            enterprise.feed_url().as_str(),
            "https://git.corp.example/ops/b2d/releases.atom"
        );
        let lab = ReleaseEndpoints::from_releases_url(
            "http://127.0.0.1:4321/repos/boot2docker/boot2docker/releases",
        )
        .unwrap();
        assert_eq!(
            lab.feed_url().as_str(),
            "http://127.0.0.1:4321/boot2docker/boot2docker/releases.atom"
        );
        assert_eq!(
            lab.download_url("v19.03.12").unwrap().as_str(),
            "http://127.0.0.1:4321/boot2docker/boot2docker/releases/download/v19.03.12/boot2docker.iso"
        );
    }

    #[test]
    fn releases_urls_of_another_shape_are_refused() {
        let error = ReleaseEndpoints::from_releases_url("https://mirror.example/b2d/").unwrap_err();
        assert!(matches!(error, ConfigError::ReleasesUrl { .. }));
        assert!(error.to_string().contains("/repos/OWNER/REPO/releases"));
        assert!(ReleaseEndpoints::from_releases_url("ftp://x/repos/a/b/releases").is_err());
        let error = ReleaseEndpoints::boot2docker()
            .unwrap()
            .with_feed_url("https://mirror.example/feed.xml")
            .unwrap_err();
        assert!(matches!(error, ConfigError::FeedUrl { .. }));
    }

    #[test]
    fn feed_tags_come_from_links_then_titles() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Release notes from boot2docker</title>
  <entry>
    <link rel="alternate" type="text/html" href="https://github.com/b/b/releases/tag/v19.03.13-rc1"/>
    <title>v19.03.13-rc1</title>
  </entry>
  <entry>
    <link rel="alternate" type="text/html" href="https://github.com/b/b/releases/tag/v19.03.12"/>
    <title>Docker &amp; friends v19.03.12</title>
  </entry>
  <entry>
    <title><![CDATA[v19.03.11]]></title>
  </entry>
</feed>"#;
        assert_eq!(
            parse_feed(xml).unwrap(),
            vec!["v19.03.13-rc1", "v19.03.12", "v19.03.11"]
        );
    }

    #[test]
    fn broken_feeds_are_reported() {
        assert!(parse_feed("<html><body>502</body></html>").is_err());
        assert!(parse_feed("<feed><entry><title>v1</title></feed>").is_err());
    }

    #[test]
    fn rate_limits_are_recognised() {
        assert!(is_rate_limited(StatusCode::FORBIDDEN, Some("0"), ""));
        assert!(is_rate_limited(
            StatusCode::FORBIDDEN,
            None,
            "{\"message\":\"API rate limit exceeded for 1.2.3.4.\"}"
        ));
        assert!(is_rate_limited(
            StatusCode::TOO_MANY_REQUESTS,
            Some("0"),
            ""
        ));
        assert!(!is_rate_limited(
            StatusCode::FORBIDDEN,
            Some("59"),
            "{\"message\":\"Resource not accessible by integration\"}"
        ));
        assert!(!is_rate_limited(StatusCode::NOT_FOUND, Some("0"), ""));
    }

    #[test]
    fn checksums_sit_next_to_their_iso() {
        let iso = Url::parse("http://127.0.0.1:1/a/boot2docker.iso?x=1").unwrap();
        assert_eq!(
            sibling_checksum_url(&iso).unwrap().as_str(),
            "http://127.0.0.1:1/a/boot2docker.iso.sha256?x=1"
        );
    }

    #[test]
    fn tokens_never_show_in_debug_output() {
        let token = GithubToken::new("ghp_secretvalue123").unwrap();
        assert!(!format!("{token:?}").contains("secretvalue"));
        assert_eq!(token.scrub("x ghp_secretvalue123 y"), "x <redacted> y");
        assert!(GithubToken::new("  ").is_none());
    }
}
