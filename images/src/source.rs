//! Where an ISO comes from: the latest release, an explicit URL (a mirror, another build), or a
//! local file. boot2docker stopped at v19.03.12, so users must be able to point vswarm at any
//! ISO; an explicit source skips release resolution altogether.

use std::fmt;
use std::path::PathBuf;

use url::Url;

use crate::error::SourceError;
use crate::http::redact;

/// The environment variable naming an explicit ISO (an http(s) URL or a local path).
pub const BOOT2DOCKER_URL_VAR: &str = "VSWARM_BOOT2DOCKER_URL";

/// What to pull.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageSource {
    /// The newest published release, found through the releases API (or its feed, or the
    /// cache when offline).
    Latest,
    /// An ISO at an http(s) URL.
    Url(Url),
    /// An ISO file on this machine.
    File(PathBuf),
}

impl ImageSource {
    /// `VSWARM_BOOT2DOCKER_URL` when set (and not blank), else the latest release.
    pub fn from_env() -> Result<ImageSource, SourceError> {
        Self::from_value(std::env::var(BOOT2DOCKER_URL_VAR).ok().as_deref())
    }

    /// Like [`ImageSource::from_env`], from a value already read: `None` or blank means the
    /// latest release.
    pub fn from_value(value: Option<&str>) -> Result<ImageSource, SourceError> {
        match value.map(str::trim) {
            None | Some("") => Ok(ImageSource::Latest),
            Some(value) => ImageSource::parse(value),
        }
    }

    /// Parses an explicit location: `http://` and `https://` URLs, `file://` URLs, and paths.
    /// A one-letter scheme is a Windows drive (`C:\isos\b2d.iso`), hence a path.
    pub fn parse(value: &str) -> Result<ImageSource, SourceError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(SourceError::Empty);
        }
        if !looks_like_url(value) {
            return Ok(ImageSource::File(PathBuf::from(value)));
        }
        let url = Url::parse(value).map_err(|error| SourceError::InvalidUrl {
            value: value.to_string(),
            reason: error.to_string(),
        })?;
        match url.scheme() {
            "http" | "https" => Ok(ImageSource::Url(url)),
            "file" => {
                url.to_file_path()
                    .map(ImageSource::File)
                    .map_err(|()| SourceError::NotALocalFile {
                        value: value.to_string(),
                    })
            }
            other => Err(SourceError::UnsupportedScheme {
                value: redact(&url),
                scheme: other.to_string(),
            }),
        }
    }
}

/// Whether a value is written as a URL (`scheme://` with a scheme longer than a drive letter).
fn looks_like_url(value: &str) -> bool {
    match value.split_once("://") {
        Some((scheme, _)) => {
            scheme.len() > 1
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

impl fmt::Display for ImageSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageSource::Latest => f.write_str("the latest boot2docker release"),
            ImageSource::Url(url) => f.write_str(&redact(url)),
            ImageSource::File(path) => write!(f, "{}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_or_blank_means_the_latest_release() {
        assert_eq!(ImageSource::from_value(None).unwrap(), ImageSource::Latest);
        assert_eq!(
            ImageSource::from_value(Some("  ")).unwrap(),
            ImageSource::Latest
        );
    }

    #[test]
    fn http_urls_are_urls() {
        let source = ImageSource::parse("http://127.0.0.1:8080/b2d/boot2docker.iso").unwrap();
        assert_eq!(
            source,
            ImageSource::Url(Url::parse("http://127.0.0.1:8080/b2d/boot2docker.iso").unwrap())
        );
        assert!(matches!(
            ImageSource::parse("https://mirror.example/x.iso").unwrap(),
            ImageSource::Url(_)
        ));
    }

    #[test]
    fn paths_and_file_urls_are_files() {
        assert_eq!(
            ImageSource::parse("/srv/isos/boot2docker.iso").unwrap(),
            ImageSource::File(PathBuf::from("/srv/isos/boot2docker.iso"))
        );
        assert_eq!(
            ImageSource::parse("isos/b2d.iso").unwrap(),
            ImageSource::File(PathBuf::from("isos/b2d.iso"))
        );
        assert_eq!(
            ImageSource::parse("file:///srv/isos/boot2docker.iso").unwrap(),
            ImageSource::File(PathBuf::from("/srv/isos/boot2docker.iso"))
        );
        assert_eq!(
            ImageSource::parse(r"C:\isos\b2d.iso").unwrap(),
            ImageSource::File(PathBuf::from(r"C:\isos\b2d.iso"))
        );
    }

    #[test]
    fn other_schemes_are_refused_without_their_credentials() {
        let error = ImageSource::parse("ftp://me:hunter2@mirror.example/b2d.iso").unwrap_err();
        let text = error.to_string();
        assert!(matches!(error, SourceError::UnsupportedScheme { .. }));
        assert!(text.contains("ftp"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(matches!(
            ImageSource::parse("http://").unwrap_err(),
            SourceError::InvalidUrl { .. }
        ));
    }
}
