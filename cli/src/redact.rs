//! Secrets never reach a log or an error message.
//!
//! vswarm's own code never logs a key or a token, but its dependencies do at debug level (the
//! Engine client logs response bodies, and `docker swarm inspect` carries the join tokens). So
//! everything written to the log, and every error rendered, passes through [`redact`]: swarm
//! join tokens and unlock keys, PEM private keys (also when their newlines are escaped) and
//! credentials in `Authorization` headers are replaced, at any log level.

use std::borrow::Cow;
use std::io::Write;
use std::sync::LazyLock;

use regex::Regex;

static PATTERNS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    let pattern = |re: &str| Regex::new(re).expect("the redaction patterns are valid");
    vec![
        // Swarm join tokens: SWMTKN-1-<cluster digest>-<secret>.
        (
            pattern(r"SWMTKN-1-[0-9A-Za-z]+-[0-9A-Za-z]+"),
            "SWMTKN-1-<redacted>",
        ),
        // Swarm unlock keys.
        (pattern(r"SWMKEY-1-[0-9A-Za-z+/=]+"), "SWMKEY-1-<redacted>"),
        // PEM private keys of any kind, with real or escaped newlines.
        (
            pattern(
                r"-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?-----END ([A-Z0-9]+ )*PRIVATE KEY-----",
            ),
            "<private key redacted>",
        ),
        // A key whose end was cut off.
        (
            pattern(r"-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----[A-Za-z0-9+/=\\\s]*"),
            "<private key redacted>",
        ),
        // Credentials in HTTP headers.
        (
            pattern(r#"(?i)(authorization["']?\s*[:=]\s*["']?)(bearer|token|basic)\s+[^\s"',}]+"#),
            "${1}${2} <redacted>",
        ),
    ]
});

/// `text` with every secret replaced.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    for (re, replacement) in PATTERNS.iter() {
        if re.is_match(&out) {
            out = Cow::Owned(re.replace_all(&out, *replacement).into_owned());
        }
    }
    out
}

/// A writer that redacts whole lines before they reach `inner`.
pub struct RedactingWriter<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> RedactingWriter<W> {
    pub fn new(inner: W) -> RedactingWriter<W> {
        RedactingWriter {
            inner,
            pending: Vec::new(),
        }
    }

    fn write_lines(&mut self, all: bool) -> std::io::Result<()> {
        let end = if all {
            self.pending.len()
        } else {
            match self.pending.iter().rposition(|b| *b == b'\n') {
                Some(i) => i + 1,
                None => return Ok(()),
            }
        };
        let chunk: Vec<u8> = self.pending.drain(..end).collect();
        let text = String::from_utf8_lossy(&chunk);
        self.inner.write_all(redact(&text).as_bytes())
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        self.write_lines(false)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.write_lines(true)?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// The log's writer: standard error, redacted.
pub struct RedactedStderr;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RedactedStderr {
    type Writer = RedactingWriter<std::io::Stderr>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter::new(std::io::stderr())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keys_and_credentials_are_replaced() {
        let token =
            "SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx";
        let text = format!("{{\"JoinTokens\":{{\"Worker\":\"{token}\"}}}}");
        let out = redact(&text);
        assert!(!out.contains("1awxwuwd3z9j1z3puu7rcgdbx"), "{out}");
        assert!(out.contains("SWMTKN-1-<redacted>"), "{out}");
        let key = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIK\n-----END EC PRIVATE KEY-----";
        assert_eq!(redact(&format!("a {key} b")), "a <private key redacted> b");
        let escaped = "\"-----BEGIN PRIVATE KEY-----\\nMIGHAgEA\\n-----END PRIVATE KEY-----\\n\"";
        assert!(!redact(escaped).contains("MIGHAgEA"));
        let cut = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMG";
        assert!(!redact(cut).contains("MIGHAgEAMBMG"));
        let header = "authorization: Bearer ghp_secret123";
        assert_eq!(redact(header), "authorization: Bearer <redacted>");
        assert_eq!(redact("nothing secret"), "nothing secret");
    }

    #[test]
    fn the_writer_redacts_lines_split_across_writes() {
        let mut out = Vec::new();
        {
            let mut w = RedactingWriter::new(&mut out);
            w.write_all(b"token SWMTKN-1-abc").unwrap();
            w.write_all(b"def-ghi\nnext").unwrap();
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "token SWMTKN-1-<redacted>\nnext"
        );
    }
}
