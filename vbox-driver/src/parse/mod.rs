//! Parsers of the `VBoxManage` outputs the driver reads: `--version`, `list hostonlyifs`,
//! `list dhcpservers`, `showvminfo --machinereadable`, `guestproperty get` and
//! `hostonlyif create`.
//!
//! # Why tolerance matters
//!
//! These outputs are written for people and for VirtualBox's own scripts, not as a stable
//! interface, and vswarm meets every VirtualBox from 5.x to 7.x on Linux, macOS and Windows:
//!
//! - the same command prints different layouts per version: `list dhcpservers` has three (5.x,
//!   6.0 with `Global options:`, 6.1+ with `Dhcpd IP:` and a `Global Configuration:` block), keys
//!   change case (`lowerIPAddress` → `LowerIPAddress`) and new keys appear (`Wireless:` in 5.2.2);
//! - Linux wrapper scripts print `WARNING:` paragraphs on **stdout**, before the real output;
//! - Windows prints CRLF line endings and names with spaces and `#`
//!   (`VirtualBox Host-Only Ethernet Adapter #2`);
//! - `showvminfo --machinereadable` is not a clean format: 7.0 prints `Encryption:     disabled`
//!   without `=`, 6.1.36+ prints ` rec_screen0`, 6.0+ prints `VRDEClients==0`, `VideoMode` has
//!   text after its closing quote, quoted values may span lines, and some values are escaped
//!   (`\\`, `\"`) while others (storage paths before 7.0, `VMStateFile`, …) are printed raw.
//!
//! A parser that stops at the first surprise would stop the driver on hosts that work. So the
//! parsers here skip what they do not know (unknown keys, indented sub-lines, wrapper noise) and
//! fail only when what the driver relies on is missing or malformed; a [`ParseError`] then names
//! the output, what was wrong, and the line (number and text) where it was found.
//!
//! # Layout
//!
//! This file holds what every parser shares: the [`ParseError`] they return, and the readers of
//! numbered lines and of `Key: value` blocks. Each output has its own file, with its tests, so
//! that a change for one VirtualBox layout is made and tested in one place: `version.rs`
//! (`--version`), `hostonlyifs.rs` (`list hostonlyifs`, `list hostonlynets`, `hostonlyif
//! create`), `dhcpservers.rs` (`list dhcpservers`), `showvminfo.rs` (`showvminfo
//! --machinereadable`: states, NICs, forwarding rules), `list_vms.rs` (`list vms`),
//! `guestproperty.rs` (`guestproperty get`) and `hostinfo.rs` (`list hostinfo`). Everything
//! public is re-exported here, so callers name `crate::parse::X` whatever file `X` lives in. The
//! samples the tests read, captured or quoted, are gathered in `samples.rs`.

use std::fmt;
use std::net::Ipv4Addr;

use thiserror::Error;

mod dhcpservers;
mod guestproperty;
mod hostinfo;
mod hostonlyifs;
mod list_vms;
#[cfg(test)]
mod samples;
mod showvminfo;
mod version;

pub use dhcpservers::*;
pub use guestproperty::*;
pub use hostinfo::*;
pub use hostonlyifs::*;
pub use list_vms::*;
pub use showvminfo::*;
pub use version::*;

// ------------------------------------------------------------------------------------------------
// Errors
// ------------------------------------------------------------------------------------------------

/// The longest piece of an offending line or value quoted in a [`ParseError`], in characters.
pub const MAX_QUOTED_CHARS: usize = 80;

/// The `VBoxManage` output a parser was reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VBoxOutput {
    /// `VBoxManage --version`
    Version,
    /// `VBoxManage list hostonlyifs`
    HostOnlyIfs,
    /// `VBoxManage list dhcpservers`
    DhcpServers,
    /// `VBoxManage showvminfo NAME --machinereadable`
    ShowVmInfo,
    /// `VBoxManage list hostonlynets` (VirtualBox 7 on macOS)
    HostOnlyNets,
}

impl fmt::Display for VBoxOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VBoxOutput::Version => "`VBoxManage --version`",
            VBoxOutput::HostOnlyIfs => "`VBoxManage list hostonlyifs`",
            VBoxOutput::DhcpServers => "`VBoxManage list dhcpservers`",
            VBoxOutput::ShowVmInfo => "`VBoxManage showvminfo --machinereadable`",
            VBoxOutput::HostOnlyNets => "`VBoxManage list hostonlynets`",
        })
    }
}

/// What was wrong with an output.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseProblem {
    /// Nothing but blank lines.
    #[error("the output is empty")]
    Empty,
    /// No line looks like `7.0.20r163906`.
    #[error("no line looks like a version such as `7.0.20r163906`")]
    NoVersionLine,
    /// A line at the start of a row is neither blank nor `Key: value`.
    #[error("expected a `Key: value` line")]
    NotKeyValue,
    /// A block has known keys but not the key that names it (`Name`, `NetworkName`).
    #[error("a block has no `{0}:` line")]
    MissingKey(&'static str),
    /// A value the driver relies on is not what VirtualBox prints there.
    #[error("`{key}` is `{value}`, expected {expected}")]
    BadValue {
        key: String,
        /// The value as printed, cut to [`MAX_QUOTED_CHARS`].
        value: String,
        expected: &'static str,
    },
    /// A quoted `showvminfo` value opens and never closes (the output was cut short).
    #[error("the quoted value of `{key}` never ends")]
    UnterminatedQuote { key: String },
    /// `showvminfo` printed no `key=value` line at all.
    #[error("no `key=value` line")]
    NoEntries,
}

/// The line where a problem was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffendingLine {
    /// Counted from 1.
    pub number: usize,
    /// The line, cut to [`MAX_QUOTED_CHARS`] characters (`…` marks a cut).
    pub text: String,
}

/// An output that could not be parsed: which output, what was wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("cannot parse the output of {output}: {problem}{}", describe_line(.line))]
pub struct ParseError {
    pub output: VBoxOutput,
    pub problem: ParseProblem,
    /// `None` when the problem is about the output as a whole (e.g. it is empty).
    pub line: Option<OffendingLine>,
}

impl ParseError {
    fn new(output: VBoxOutput, problem: ParseProblem, line: Option<(usize, &str)>) -> ParseError {
        ParseError {
            output,
            problem,
            line: line.map(|(number, text)| OffendingLine {
                number,
                text: shorten(text),
            }),
        }
    }
}

fn describe_line(line: &Option<OffendingLine>) -> String {
    match line {
        Some(l) => format!(" (line {}: `{}`)", l.number, l.text),
        None => String::new(),
    }
}

/// `text` cut to [`MAX_QUOTED_CHARS`] characters, `…` marking the cut.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// The lines of an output, numbered from 1, without their `\n` or `\r\n`.
fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .enumerate()
        .map(|(index, line)| (index + 1, line))
}

// ------------------------------------------------------------------------------------------------
// `Key: value` blocks (list hostonlyifs, list dhcpservers)
// ------------------------------------------------------------------------------------------------

/// One `Key: value` line, key and value trimmed.
#[derive(Debug, Clone, Copy)]
struct Field<'a> {
    number: usize,
    line: &'a str,
    key: &'a str,
    value: &'a str,
}

impl Field<'_> {
    fn at(&self) -> Option<(usize, &str)> {
        Some((self.number, self.line))
    }

    fn bad_value(&self, output: VBoxOutput, expected: &'static str) -> ParseError {
        ParseError::new(
            output,
            ParseProblem::BadValue {
                key: self.key.to_string(),
                value: shorten(self.value),
                expected,
            },
            self.at(),
        )
    }
}

/// Splits a `list` output into records. A record starts at a `record_key:` line (matched without
/// regard to case) or after a blank line; indented lines (options, sub-configurations, wrapper
/// text) are skipped. Records with none of `known_keys` (wrapper `WARNING:` text) are dropped; one
/// with known keys but no `record_key` is an error.
fn key_value_records<'a>(
    text: &'a str,
    output: VBoxOutput,
    record_key: &'static str,
    known_keys: &[&str],
) -> Result<Vec<Vec<Field<'a>>>, ParseError> {
    fn close<'a>(
        record: &mut Vec<Field<'a>>,
        records: &mut Vec<Vec<Field<'a>>>,
        output: VBoxOutput,
        record_key: &'static str,
        known_keys: &[&str],
    ) -> Result<(), ParseError> {
        let fields = std::mem::take(record);
        let is_known = |f: &&Field<'_>| known_keys.iter().any(|k| f.key.eq_ignore_ascii_case(k));
        let Some(first_known) = fields.iter().find(is_known) else {
            return Ok(());
        };
        if !fields
            .iter()
            .any(|f| f.key.eq_ignore_ascii_case(record_key))
        {
            return Err(ParseError::new(
                output,
                ParseProblem::MissingKey(record_key),
                first_known.at(),
            ));
        }
        records.push(fields);
        Ok(())
    }

    let mut records = Vec::new();
    let mut record: Vec<Field<'a>> = Vec::new();
    for (number, line) in numbered_lines(text) {
        if line.trim().is_empty() {
            close(&mut record, &mut records, output, record_key, known_keys)?;
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(ParseError::new(
                output,
                ParseProblem::NotKeyValue,
                Some((number, line)),
            ));
        };
        let field = Field {
            number,
            line,
            key: key.trim(),
            value: value.trim(),
        };
        let starts_record = field.key.eq_ignore_ascii_case(record_key);
        if starts_record
            && record
                .iter()
                .any(|f| f.key.eq_ignore_ascii_case(record_key))
        {
            close(&mut record, &mut records, output, record_key, known_keys)?;
        }
        record.push(field);
    }
    close(&mut record, &mut records, output, record_key, known_keys)?;
    Ok(records)
}

/// The last field of a record named `key`, matched without regard to case.
fn field<'r, 'a>(record: &'r [Field<'a>], key: &str) -> Option<&'r Field<'a>> {
    record
        .iter()
        .rev()
        .find(|f| f.key.eq_ignore_ascii_case(key))
}

/// An IPv4 address field; empty, absent and `0.0.0.0` mean none.
fn optional_ipv4(
    field: Option<&Field<'_>>,
    output: VBoxOutput,
) -> Result<Option<Ipv4Addr>, ParseError> {
    let Some(field) = field else { return Ok(None) };
    if field.value.is_empty() {
        return Ok(None);
    }
    match field.value.parse::<Ipv4Addr>() {
        Ok(address) if address.is_unspecified() => Ok(None),
        Ok(address) => Ok(Some(address)),
        Err(_) => Err(field.bad_value(output, "an IPv4 address")),
    }
}

/// A yes/no field (`Enabled`/`Disabled`, `Yes`/`No`); absent means no.
fn flag(field: Option<&Field<'_>>, output: VBoxOutput) -> Result<bool, ParseError> {
    let Some(field) = field else { return Ok(false) };
    match yes_no(field.value) {
        Some(value) => Ok(value),
        None => Err(field.bad_value(output, "`Enabled`/`Disabled` or `Yes`/`No`")),
    }
}

fn yes_no(text: &str) -> Option<bool> {
    const YES: [&str; 5] = ["yes", "enabled", "on", "true", "1"];
    const NO: [&str; 5] = ["no", "disabled", "off", "false", "0"];
    let text = text.trim();
    if YES.iter().any(|w| text.eq_ignore_ascii_case(w)) {
        Some(true)
    } else if NO.iter().any(|w| text.eq_ignore_ascii_case(w)) {
        Some(false)
    } else {
        None
    }
}

fn text_of(field: Option<&Field<'_>>) -> String {
    field.map(|f| f.value.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use samples::*;

    #[test]
    fn error_lines_are_truncated() {
        let long = format!("WARNING: {}", "x".repeat(500));
        let err = parse_version(&long).unwrap_err();
        let line = err
            .line
            .clone()
            .unwrap_or_else(|| panic!("no line in {err}"));
        assert_eq!(line.text.chars().count(), MAX_QUOTED_CHARS + 1);
        assert!(line.text.ends_with('…'));
    }

    /// Runs every parser; they may fail but never panic.
    fn run_every_parser(text: &str) {
        let _ = parse_version(text);
        let _ = parse_hostonlyifs(text);
        let _ = parse_dhcpservers(text);
        if let Ok(info) = parse_showvminfo(text) {
            let _ = (
                info.name(),
                info.uuid(),
                info.state(),
                info.memory_mb(),
                info.cpus(),
            );
            let _ = (
                info.cfg_file(),
                info.nic(1),
                info.nic(2),
                info.forwarding_rules(),
            );
            let _ = info.storage("SATA", 0, 0);
        }
        let _ = parse_guestproperty_value(text);
        let _ = parse_created_hostonlyif(text);
    }

    proptest! {
        #[test]
        fn parsers_never_panic_on_arbitrary_text(text in any::<String>()) {
            run_every_parser(&text);
        }

        #[test]
        fn parsers_never_panic_on_output_like_text(
            text in r#"[a-zA-Z0-9 :="\\\n\r\t_.'%#()-]{0,400}"#,
        ) {
            run_every_parser(&text);
        }

        #[test]
        fn parsers_never_panic_on_cut_or_spliced_samples(
            first in 0usize..26,
            second in 0usize..26,
            cut in any::<prop::sample::Index>(),
        ) {
            let samples = every_sample();
            let a = samples[first % samples.len()];
            let b = samples[second % samples.len()];
            let boundaries: Vec<usize> = a.char_indices().map(|(i, _)| i).chain([a.len()]).collect();
            let at = boundaries[cut.index(boundaries.len())];
            run_every_parser(&a[..at]);
            run_every_parser(&format!("{}{}", &a[..at], b));
        }
    }
}
