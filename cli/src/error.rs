//! vswarm's errors: bad input (exit 2), failures (exit 1), and an interruption (exit 130).
//!
//! Every error says what went wrong and how to go on. Input errors point at the place to fix
//! (`FILE:LINE:COL`, with the line shown); failures keep the library error that caused them as
//! their source, so the whole chain is rendered, and add the step that failed and a hint.

use std::fmt;
use std::path::{Path, PathBuf};

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode};

/// Where a value was written in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    /// 1-based.
    pub line: u64,
    /// 1-based, in characters.
    pub column: u64,
    /// Byte offset and length in the file's text, when known (for the snippet).
    pub span: Option<(usize, usize)>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file.display())
        } else {
            write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
        }
    }
}

/// Input vswarm refuses before it does anything: a cluster file, a stack file, an argument.
#[derive(Debug)]
pub struct InputError {
    pub message: String,
    pub at: Option<Box<Location>>,
    pub help: Option<String>,
    /// The file's text, to show the offending line.
    pub text: Option<Box<NamedSource<String>>>,
}

impl InputError {
    pub fn new(message: impl Into<String>) -> InputError {
        InputError {
            message: message.into(),
            at: None,
            help: None,
            text: None,
        }
    }

    pub fn at(mut self, at: Location, text: Option<&str>) -> InputError {
        self.text = text.map(|t| Box::new(named_source(&at.file, t)));
        self.at = Some(Box::new(at));
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> InputError {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.at {
            Some(at) => write!(f, "{at}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for InputError {}

impl Diagnostic for InputError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("vswarm::input"))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.text.as_deref().map(|t| t as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let (offset, len) = self.at.as_ref()?.span?;
        self.text.as_ref()?;
        Some(Box::new(std::iter::once(LabeledSpan::new(
            Some("here".into()),
            offset,
            len.max(1),
        ))))
    }
}

/// A step that failed, with the error that made it fail.
#[derive(Debug)]
pub struct Failure {
    /// What vswarm was doing: "creating node-01", "forming the swarm".
    pub doing: String,
    pub source: Box<dyn std::error::Error + Send + Sync>,
    pub help: Option<String>,
}

/// Everything a vswarm operation can end with, short of success.
#[derive(Debug)]
pub enum Error {
    /// Exit status 2: nothing was done.
    Input(Box<InputError>),
    /// Exit status 1.
    Failed(Box<Failure>),
    /// Exit status 130: Ctrl-C. What was done stays; the next `up` completes it.
    Interrupted { command: String },
}

impl Error {
    /// The process exit status for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) => 2,
            Error::Failed(_) => 1,
            Error::Interrupted { .. } => 130,
        }
    }

    /// A failure of `doing`, caused by `source`.
    pub fn failed(
        doing: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error::Failed(Box::new(Failure {
            doing: doing.into(),
            source: Box::new(source),
            help: None,
        }))
    }

    /// A failure with no deeper cause than its message.
    pub fn message(doing: impl Into<String>, what: impl Into<String>) -> Error {
        Error::failed(doing, Message(what.into()))
    }

    /// Adds how to go on (failures and input errors).
    pub fn with_help(mut self, help: impl Into<String>) -> Error {
        match &mut self {
            Error::Input(e) => e.help = Some(help.into()),
            Error::Failed(f) => f.help = Some(help.into()),
            Error::Interrupted { .. } => {}
        }
        self
    }

    /// A failure reading or writing a file of vswarm's.
    pub fn io(doing: impl Into<String>, path: &Path, source: std::io::Error) -> Error {
        Error::failed(
            doing,
            PathError {
                path: path.to_path_buf(),
                source,
            },
        )
    }
}

impl From<InputError> for Error {
    fn from(e: InputError) -> Error {
        Error::Input(Box::new(e))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input(e) => e.fmt(f),
            Error::Failed(failure) => write!(f, "{}", failure.doing),
            Error::Interrupted { command } => write!(f, "vswarm {command} was interrupted"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Failed(failure) => Some(failure.source.as_ref()),
            _ => None,
        }
    }
}

impl Diagnostic for Error {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        match self {
            Error::Input(e) => Diagnostic::code(e.as_ref()),
            Error::Failed(_) => None,
            Error::Interrupted { .. } => Some(Box::new("vswarm::interrupted")),
        }
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        match self {
            Error::Input(e) => Diagnostic::help(e.as_ref()),
            Error::Failed(f) => f
                .help
                .as_ref()
                .map(|h| Box::new(h) as Box<dyn fmt::Display>),
            Error::Interrupted { .. } => Some(Box::new(
                "what was done is kept: run `vswarm up` to complete the cluster, or `vswarm down` to remove it",
            )),
        }
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        match self {
            Error::Input(e) => Diagnostic::source_code(e.as_ref()),
            _ => None,
        }
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        match self {
            Error::Input(e) => Diagnostic::labels(e.as_ref()),
            _ => None,
        }
    }
}

/// A plain message as an error source.
#[derive(Debug)]
pub struct Message(pub String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Message {}

/// An I/O error on a path.
#[derive(Debug, thiserror::Error)]
#[error("{}", path.display())]
pub struct PathError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// `Result` with vswarm's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds the step to a library error: `.doing("creating node-01")?`.
pub trait Doing<T> {
    fn doing(self, what: impl Into<String>) -> Result<T>;
}

impl<T, E: std::error::Error + Send + Sync + 'static> Doing<T> for std::result::Result<T, E> {
    fn doing(self, what: impl Into<String>) -> Result<T> {
        self.map_err(|e| Error::failed(what, e))
    }
}

/// A file's text named for snippets (miette's `NamedSource`).
pub fn named_source(path: &Path, text: &str) -> NamedSource<String> {
    NamedSource::new(path.display().to_string(), text.to_string())
}
