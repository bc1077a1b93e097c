//! Release versions as boot2docker tags them (`v19.03.12`, `v19.03.13-rc1`), ordered so that
//! the cache can tell its newest image and whether a release is newer than what it holds.
//!
//! Tags are not always strict semver (boot2docker's have a leading zero in `03`), so this is a
//! small, tolerant ordering rather than a semver parser: numeric parts compare as numbers, and
//! a release sorts above its own pre-releases.

use std::cmp::Ordering;
use std::fmt;

/// A parsed release tag.
/// Equality follows the ordering: `v19.3.12` and `v19.03.12` are the same release.
#[derive(Clone, Debug)]
pub struct Version {
    original: String,
    numbers: Vec<u64>,
    pre_release: Option<String>,
}

impl Version {
    /// Parses `v19.03.12`, `19.03.12` or `v19.03.13-rc1`; anything without a leading number
    /// gives `None`.
    pub fn parse(tag: &str) -> Option<Version> {
        let trimmed = tag.trim();
        let body = trimmed.strip_prefix(['v', 'V']).unwrap_or(trimmed);
        let (numeric, pre_release) = match body.split_once(['-', '+']) {
            Some((numeric, rest)) => (numeric, Some(rest.to_string())),
            None => (body, None),
        };
        let numbers = numeric
            .split('.')
            .map(|part| part.parse::<u64>().ok())
            .collect::<Option<Vec<u64>>>()?;
        if numbers.is_empty() {
            return None;
        }
        Some(Version {
            original: trimmed.to_string(),
            numbers,
            pre_release: pre_release.filter(|p| !p.is_empty()),
        })
    }

    /// Whether the tag is a pre-release (`-rc1`, `-beta`): the Atom feed does not mark
    /// pre-releases, so this is how the feed fallback skips them.
    pub fn is_pre_release(&self) -> bool {
        self.pre_release.is_some()
    }

    /// The tag as it was written.
    pub fn as_str(&self) -> &str {
        &self.original
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let width = self.numbers.len().max(other.numbers.len());
        for index in 0..width {
            let mine = self.numbers.get(index).copied().unwrap_or(0);
            let theirs = other.numbers.get(index).copied().unwrap_or(0);
            match mine.cmp(&theirs) {
                Ordering::Equal => continue,
                unequal => return unequal,
            }
        }
        match (&self.pre_release, &other.pre_release) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(mine), Some(theirs)) => mine.cmp(theirs),
        }
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(tag: &str) -> Version {
        Version::parse(tag).unwrap()
    }

    #[test]
    fn numeric_parts_compare_as_numbers() {
        assert!(v("v19.03.12") > v("v19.03.5"));
        assert!(v("v19.03.12") > v("v18.09.9"));
        assert_eq!(v("v19.3.12"), v("v19.03.12"));
        assert!(v("v1.10") > v("v1.9.9"));
    }

    #[test]
    fn a_release_is_newer_than_its_pre_releases() {
        assert!(v("v19.03.13") > v("v19.03.13-rc1"));
        assert!(v("v19.03.13-rc1") > v("v19.03.12"));
        assert!(v("v19.03.13-rc2") > v("v19.03.13-rc1"));
        assert!(v("v19.03.13-rc1").is_pre_release());
        assert!(!v("v19.03.12").is_pre_release());
    }

    #[test]
    fn tags_without_numbers_are_not_versions() {
        assert_eq!(Version::parse("latest"), None);
        assert_eq!(Version::parse("v"), None);
        assert_eq!(Version::parse("v19..1"), None);
        assert_eq!(v("19.03.12").to_string(), "19.03.12");
    }
}
