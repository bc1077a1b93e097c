//! Places in files: the YAML parser's locations and a compose file's line and column turned
//! into [`Location`]s (with the byte span miette underlines), and a compose error into an
//! [`InputError`] at its place.
//!
//! Apart from the checks because the cluster file, `name_in_file` and `vswarm stack` all point
//! at places this way.

use std::path::{Path, PathBuf};

use swarm_bootstrap::compose::ComposeError;

use crate::error::{InputError, Location};

/// The parser's message without its own "error: line L column C:" prefix (we print the place).
pub(super) fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or("").trim();
    let line = line.strip_prefix("error: ").unwrap_or(line);
    match line
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
    {
        Some((_, message)) => message.to_string(),
        None => line.to_string(),
    }
}

/// The parser's location in `path`, with the byte span the snippet underlines.
pub(super) fn location(path: &Path, l: &serde_saphyr::Location) -> Location {
    let span = l.span();
    Location {
        file: path.to_path_buf(),
        line: l.line(),
        column: l.column(),
        span: span
            .byte_offset()
            .map(|o| (o as usize, span.byte_len().unwrap_or(0) as usize)),
    }
}

/// A compose file's own error (it names its file, line and column).
pub(crate) fn compose_error(e: ComposeError) -> InputError {
    let (at, message) = match &e {
        ComposeError::Yaml { at, message } => (Some(at.clone()), message.clone()),
        ComposeError::Invalid { at, problem } => (Some(at.clone()), problem.to_string()),
        _ => (None, e.to_string()),
    };
    let text = at
        .as_ref()
        .and_then(|at| std::fs::read_to_string(&at.file).ok());
    match at.filter(|a| a.line > 0) {
        Some(at) => {
            let loc = Location {
                file: PathBuf::from(&at.file),
                line: at.line,
                column: at.column,
                span: text
                    .as_deref()
                    .and_then(|t| offset_of(t, at.line, at.column)),
            };
            InputError::new(message)
                .at(loc, text.as_deref())
                .help("fix the stack file: vswarm reads it as `docker stack deploy -c FILE` does")
        }
        None => InputError::new(e.to_string()),
    }
}

/// The byte offset of a 1-based line and character column, with the length of the word there.
fn offset_of(text: &str, line: u64, column: u64) -> Option<(usize, usize)> {
    let start = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1) as usize)
        .map(str::len)
        .sum::<usize>();
    let rest = text.get(start..)?;
    let col: usize = rest
        .chars()
        .take(column.saturating_sub(1) as usize)
        .map(char::len_utf8)
        .sum();
    let word = rest[col..]
        .find(|c: char| c.is_whitespace())
        .unwrap_or(rest.len() - col);
    Some((start + col, word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_follow_lines_and_characters() {
        let text = "ab\ncdé fg\n";
        assert_eq!(offset_of(text, 2, 5), Some((8, 2)));
        assert_eq!(offset_of(text, 1, 1), Some((0, 2)));
    }
}
