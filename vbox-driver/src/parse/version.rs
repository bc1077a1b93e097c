//! `VBoxManage --version`: the [`VBoxVersion`] the driver checks features against (the allowed
//! host-only ranges of 6.1.28, the host-only networks of 7.x on macOS), read from the last line
//! that looks like one since Linux wrapper scripts print warnings on stdout before it.

use std::fmt;
use std::str::FromStr;

use super::{ParseError, ParseProblem, VBoxOutput, numbered_lines};

/// A VirtualBox version as `VBoxManage --version` prints it: `7.1.4r165100`,
/// `6.1.38_Ubuntur153438` (distribution builds add `_Name`), or a bare `7.0.20`.
///
/// Ordered by `(major, minor, build)`; the revision, then the suffix, only break ties, so that
/// the order agrees with `==`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VBoxVersion {
    pub major: u32,
    pub minor: u32,
    pub build: u32,
    /// The distribution's mark without its `_`: `Ubuntu`, `Debian`, `OSE`, `BETA1`.
    pub suffix: Option<String>,
    /// The Subversion revision after `r`.
    pub revision: Option<u32>,
}

impl VBoxVersion {
    /// Whether this is `major.minor.build` or later.
    pub fn at_least(&self, major: u32, minor: u32, build: u32) -> bool {
        (self.major, self.minor, self.build) >= (major, minor, build)
    }

    /// The version on one line, or `None` when the line does not look like one.
    fn from_line(line: &str) -> Option<VBoxVersion> {
        let word = line.trim();
        if word.is_empty() || word.contains(char::is_whitespace) {
            return None;
        }
        let (major, rest) = leading_number(word)?;
        let (minor, rest) = leading_number(rest.strip_prefix('.')?)?;
        let (build, rest) = leading_number(rest.strip_prefix('.')?)?;
        // The revision is a trailing `r<digits>`; what is left before it is the suffix.
        let (rest, revision) = match rest.rfind('r') {
            Some(at)
                if at + 1 < rest.len() && rest[at + 1..].bytes().all(|b| b.is_ascii_digit()) =>
            {
                (&rest[..at], Some(rest[at + 1..].parse().ok()?))
            }
            _ => (rest, None),
        };
        let suffix = if rest.is_empty() {
            None
        } else {
            let mark = rest.strip_prefix('_').or_else(|| rest.strip_prefix('-'))?;
            (!mark.is_empty()).then(|| mark.to_string())
        };
        Some(VBoxVersion {
            major,
            minor,
            build,
            suffix,
            revision,
        })
    }
}

/// The decimal number at the start of `text` and what follows it.
fn leading_number(text: &str) -> Option<(u32, &str)> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    Some((text[..digits].parse().ok()?, &text[digits..]))
}

impl fmt::Display for VBoxVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.build)?;
        if let Some(suffix) = &self.suffix {
            write!(f, "_{suffix}")?;
        }
        if let Some(revision) = self.revision {
            write!(f, "r{revision}")?;
        }
        Ok(())
    }
}

impl Ord for VBoxVersion {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.major, self.minor, self.build)
            .cmp(&(other.major, other.minor, other.build))
            .then_with(|| self.revision.cmp(&other.revision))
            .then_with(|| self.suffix.cmp(&other.suffix))
    }
}

impl PartialOrd for VBoxVersion {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl FromStr for VBoxVersion {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<VBoxVersion, ParseError> {
        parse_version(text)
    }
}

/// Parses `VBoxManage --version`: the last non-empty line that looks like a version, since
/// Linux wrapper scripts print `WARNING:` paragraphs on stdout before it.
pub fn parse_version(stdout: &str) -> Result<VBoxVersion, ParseError> {
    let lines: Vec<(usize, &str)> = numbered_lines(stdout).collect();
    if let Some(version) = lines
        .iter()
        .rev()
        .find_map(|(_, line)| VBoxVersion::from_line(line))
    {
        return Ok(version);
    }
    let last = lines.iter().rev().find(|(_, line)| !line.trim().is_empty());
    Err(match last {
        Some(&(number, line)) => ParseError::new(
            VBoxOutput::Version,
            ParseProblem::NoVersionLine,
            Some((number, line)),
        ),
        None => ParseError::new(VBoxOutput::Version, ParseProblem::Empty, None),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::VBoxOutput;
    use crate::parse::samples::*;
    use proptest::prelude::*;

    fn version(text: &str) -> VBoxVersion {
        parse_version(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    fn v(
        major: u32,
        minor: u32,
        build: u32,
        suffix: Option<&str>,
        revision: Option<u32>,
    ) -> VBoxVersion {
        VBoxVersion {
            major,
            minor,
            build,
            suffix: suffix.map(str::to_string),
            revision,
        }
    }

    #[test]
    fn version_real_samples_of_every_family() {
        let cases = [
            (
                "4.3.10_Debianr93012\n",
                v(4, 3, 10, Some("Debian"), Some(93012)),
            ),
            ("5.0.0r101573\n", v(5, 0, 0, None, Some(101573))),
            (
                "5.1.6_Debianr110634\n",
                v(5, 1, 6, Some("Debian"), Some(110634)),
            ),
            ("5.2.4r119785\n", v(5, 2, 4, None, Some(119785))),
            (
                "5.2.42_Ubuntur137960\n",
                v(5, 2, 42, Some("Ubuntu"), Some(137960)),
            ),
            ("5.2.44r139111\n", v(5, 2, 44, None, Some(139111))),
            ("6.1.26r145957\n", v(6, 1, 26, None, Some(145957))),
            (
                "6.1.34_Ubuntur150636\n",
                v(6, 1, 34, Some("Ubuntu"), Some(150636)),
            ),
            (
                "6.1.38_Ubuntur153438\n",
                v(6, 1, 38, Some("Ubuntu"), Some(153438)),
            ),
            ("6.1.50r161033\n", v(6, 1, 50, None, Some(161033))),
            ("7.0.2r154219\n", v(7, 0, 2, None, Some(154219))),
            ("7.0.20r163906\n", v(7, 0, 20, None, Some(163906))),
            ("7.1.4r165100\n", v(7, 1, 4, None, Some(165100))),
            ("7.0.20", v(7, 0, 20, None, None)),
        ];
        for (text, want) in cases {
            assert_eq!(version(text), want, "{text:?}");
            assert_eq!(
                want.to_string(),
                text.trim(),
                "Display gives back the printed form"
            );
            assert_eq!(version(&crlf(text)), want, "CRLF {text:?}");
            assert_eq!(text.parse::<VBoxVersion>().ok(), Some(want));
        }
    }

    #[test]
    fn version_after_linux_wrapper_warnings() {
        assert_eq!(
            version(VERSION_DEBIAN_5_1_6_WITH_WARNING),
            v(5, 1, 6, Some("Debian"), Some(110634))
        );
        assert_eq!(
            version(VERSION_ORACLE_WRAPPER_7_0_20),
            v(7, 0, 20, None, Some(163906))
        );
        assert_eq!(version(VERSION_7_1_4_SUDO), v(7, 1, 4, None, Some(165100)));
        assert_eq!(
            version("\n\n  7.0.14r161095  \n\n"),
            v(7, 0, 14, None, Some(161095))
        );
    }

    #[test]
    fn version_order_is_by_major_minor_build() {
        let mut versions: Vec<VBoxVersion> = [
            "7.1.4r165100",
            "7.0.20r163906",
            "5.2.44r139111",
            "6.1.38_Ubuntur153438",
            "7.0.2r154219",
            "6.1.26r145957",
            "5.1.6_Debianr110634",
        ]
        .iter()
        .map(|t| version(t))
        .collect();
        versions.sort();
        let printed: Vec<String> = versions.iter().map(ToString::to_string).collect();
        assert_eq!(
            printed,
            [
                "5.1.6_Debianr110634",
                "5.2.44r139111",
                "6.1.26r145957",
                "6.1.38_Ubuntur153438",
                "7.0.2r154219",
                "7.0.20r163906",
                "7.1.4r165100",
            ]
        );
        assert!(version("7.0.2r1") < version("7.0.20r1"));
        assert!(version("6.1.28r1").at_least(6, 1, 28));
        assert!(!version("6.1.26r145957").at_least(6, 1, 28));
        assert!(version("7.0.0").at_least(6, 1, 28));
        // Same release, different builds: ordered, yet not equal.
        assert!(version("6.1.38r153438") < version("6.1.38_Ubuntur153438"));
    }

    #[test]
    fn version_errors_name_the_output_and_line() {
        let empty = parse_version("\n  \n").unwrap_err();
        assert_eq!(empty.problem, ParseProblem::Empty);
        assert_eq!(empty.line, None);

        let only_warning = "WARNING: The vboxdrv kernel module is not loaded.\n\n";
        let err = parse_version(only_warning).unwrap_err();
        assert_eq!(err.output, VBoxOutput::Version);
        assert_eq!(err.problem, ParseProblem::NoVersionLine);
        assert_eq!(err.line.as_ref().map(|l| l.number), Some(1));
        let message = err.to_string();
        assert!(message.contains("VBoxManage --version"), "{message}");
        assert!(message.contains("line 1"), "{message}");

        // The 7.1 logo and the captured error texts carry no version line.
        for text in [
            LOGO_7_1_4,
            INVALID_COMMAND_7_0_20_STDERR,
            UNKNOWN_VM_7_0_STDERR,
            RANGE_DENIED_6_1_28_STDERR,
            "7.0",
            "1.2.3.4",
            "7.0.20 r163906",
            "99999999999.0.0r1",
        ] {
            let err = parse_version(text).unwrap_err();
            assert_eq!(err.problem, ParseProblem::NoVersionLine, "{text:?}");
        }
    }

    proptest! {
        #[test]
        fn version_round_trips_through_display(
            major in 0u32..100,
            minor in 0u32..100,
            build in 0u32..1000,
            suffix in proptest::option::of("[A-Za-z]{1,8}"),
            revision in proptest::option::of(any::<u32>()),
            warnings in prop::collection::vec("WARNING: [a-z .]{0,30}|   [a-z .]{0,30}|", 0..4),
        ) {
            let want = VBoxVersion { major, minor, build, suffix, revision };
            let mut text = warnings.join("\n");
            text.push_str(&format!("\n{want}\n\n"));
            prop_assert_eq!(parse_version(&text), Ok(want));
        }
    }
}
