//! The VirtualBox version the simulator emulates (`VBOXSIM_VERSION`).
//!
//! Outputs and behaviours change between releases (list formats, showvminfo keys, the host-only
//! range check of 6.1.28, error line numbers); every such difference asks this type.

use std::fmt;

/// The version emulated when `VBOXSIM_VERSION` is not set.
pub const DEFAULT_VERSION: &str = "7.0.20r163906";

/// An emulated VirtualBox version such as `6.1.38_Ubuntur153438`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimVersion {
    pub major: u32,
    pub minor: u32,
    pub build: u32,
    /// Distribution suffix without the underscore (`Ubuntu`), if any.
    pub suffix: Option<String>,
    pub revision: u32,
    raw: String,
}

impl SimVersion {
    /// Parses `MAJOR.MINOR.BUILD[_Suffix]rREVISION`, the form `VBoxManage --version` prints.
    pub fn parse(s: &str) -> Option<SimVersion> {
        let s = s.trim();
        let (head, rev) = s.rsplit_once('r')?;
        let revision = rev.parse().ok()?;
        let (numbers, suffix) = match head.split_once('_') {
            Some((n, sfx)) if !sfx.is_empty() => (n, Some(sfx.to_string())),
            Some(_) => return None,
            None => (head, None),
        };
        let mut parts = numbers.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let build = parts.next()?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(SimVersion {
            major,
            minor,
            build,
            suffix,
            revision,
            raw: s.to_string(),
        })
    }

    /// The version from `VBOXSIM_VERSION`, or [`DEFAULT_VERSION`].
    pub fn from_env() -> Result<SimVersion, String> {
        match std::env::var("VBOXSIM_VERSION") {
            Ok(v) if !v.trim().is_empty() => SimVersion::parse(&v).ok_or_else(|| {
                format!("VBOXSIM_VERSION='{v}' is not a version like 6.1.26r145957")
            }),
            _ => Ok(SimVersion::parse(DEFAULT_VERSION).expect("default version parses")),
        }
    }

    /// True when this version is at least `major.minor.build`.
    pub fn at_least(&self, major: u32, minor: u32, build: u32) -> bool {
        (self.major, self.minor, self.build) >= (major, minor, build)
    }

    /// `6.1.26` without suffix or revision.
    pub fn short(&self) -> String {
        format!("{}.{}.{}", self.major, self.minor, self.build)
    }

    /// VirtualBox 6.1.28 and later refuse host-only addresses outside the allowed ranges.
    pub fn restricts_hostonly_ranges(&self) -> bool {
        self.at_least(6, 1, 28)
    }

    /// `Wireless:` appears in `list hostonlyifs` from 5.2.2 on.
    pub fn lists_wireless(&self) -> bool {
        self.at_least(5, 2, 2)
    }

    /// The year printed in the logo's copyright line: the year the release was built.
    pub fn copyright_year(&self) -> u32 {
        let b = self.build;
        match (self.major, self.minor) {
            (5, 0) => 2015,
            (5, 1) => {
                if b < 12 {
                    2016
                } else {
                    2017
                }
            }
            (5, 2) => match b {
                0..=4 => 2017,
                5..=22 => 2018,
                23..=34 => 2019,
                _ => 2020,
            },
            (6, 0) => match b {
                0..=1 => 2018,
                2..=14 => 2019,
                _ => 2020,
            },
            (6, 1) => match b {
                0..=1 => 2019,
                2..=16 => 2020,
                17..=30 => 2021,
                31..=40 => 2022,
                41..=48 => 2023,
                _ => 2024,
            },
            (7, 0) => match b {
                0..=4 => 2022,
                5..=12 => 2023,
                13..=22 => 2024,
                _ => 2025,
            },
            (7, 1) if b <= 4 => 2024,
            (m, _) if m < 5 => 2014,
            _ => 2025,
        }
    }
}

impl fmt::Display for SimVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_release_and_distribution_builds() {
        let v = SimVersion::parse("6.1.38_Ubuntur153438").unwrap();
        assert_eq!((v.major, v.minor, v.build, v.revision), (6, 1, 38, 153438));
        assert_eq!(v.suffix.as_deref(), Some("Ubuntu"));
        assert_eq!(v.to_string(), "6.1.38_Ubuntur153438");
        let v = SimVersion::parse("7.1.4r165100").unwrap();
        assert!(v.at_least(6, 1, 28));
        assert!(SimVersion::parse("6.1.26r145957").is_some_and(|v| !v.restricts_hostonly_ranges()));
        assert!(SimVersion::parse("6.1.28r147628").is_some_and(|v| v.restricts_hostonly_ranges()));
    }

    #[test]
    fn refuses_malformed_versions() {
        for bad in ["", "7.0", "7.0.x r1", "7.0.20", "7.0.20_r1", "7.0.20.1r5"] {
            assert!(SimVersion::parse(bad).is_none(), "{bad}");
        }
    }
}
