//! VBoxManage's error output: the COM error triple, the "extended info not available" form and
//! syntax errors, each as VirtualBox prints it for the emulated version.

use super::version::SimVersion;

/// What a command gives back: its stdout, its stderr and its exit status.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

impl Outcome {
    pub fn ok(stdout: impl Into<String>) -> Outcome {
        Outcome {
            stdout: stdout.into(),
            ..Outcome::default()
        }
    }

    pub fn with_stderr(mut self, stderr: impl Into<String>) -> Outcome {
        self.stderr = stderr.into() + &self.stderr;
        self
    }
}

/// A failed command: the text VirtualBox prints and the exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VBoxError {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

impl VBoxError {
    /// An error that prints on stderr only.
    pub fn stderr(stderr: impl Into<String>, code: i32) -> VBoxError {
        VBoxError {
            stdout: String::new(),
            stderr: stderr.into(),
            code,
        }
    }
}

impl From<VBoxError> for Outcome {
    fn from(e: VBoxError) -> Outcome {
        Outcome {
            stdout: e.stdout,
            stderr: e.stderr,
            code: e.code,
        }
    }
}

pub type SimResult<T = Outcome> = Result<T, VBoxError>;

/// Where a COM error was raised: the call text and its place in VBoxManage's source.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    pub call: &'static str,
    pub file: &'static str,
    pub line: u32,
}

/// The three-line form: message, `Details: code ...`, `Context: ...`.
pub fn com_error(
    msg: &str,
    code: Code,
    component: &str,
    interface: &str,
    callee: bool,
    ctx: Context,
) -> VBoxError {
    let mut s = format!("VBoxManage: error: {msg}\n");
    s += &details_line(code, component, interface, callee);
    s += &context_line(ctx);
    VBoxError::stderr(s, 1)
}

/// The two-line form used when the object gave no error info.
pub fn code_error(code: Code, ctx: Context) -> VBoxError {
    let s = format!(
        "VBoxManage: error: Code {} ({}) - {} (extended info not available)\n{}",
        code.name,
        code.hex,
        code.text,
        context_line(ctx)
    );
    VBoxError::stderr(s, 1)
}

/// One bare `VBoxManage: error:` line per message, exit 1.
pub fn plain_error(lines: &[&str]) -> VBoxError {
    let stderr = lines
        .iter()
        .map(|l| format!("VBoxManage: error: {l}\n"))
        .collect::<String>();
    VBoxError::stderr(stderr, 1)
}

/// `Details: code ...`: the status, and the component and interface that raised it.
fn details_line(code: Code, component: &str, interface: &str, callee: bool) -> String {
    let callee = if callee { ", callee nsISupports" } else { "" };
    format!(
        "VBoxManage: error: Details: code {} ({}), component {component}, interface {interface}{callee}\n",
        code.name, code.hex
    )
}

fn context_line(ctx: Context) -> String {
    format!(
        "VBoxManage: error: Context: \"{}\" at line {} of file {}\n",
        ctx.call, ctx.line, ctx.file
    )
}

/// A COM status code with its name, hex value and description.
#[derive(Debug, Clone, Copy)]
pub struct Code {
    pub name: &'static str,
    pub hex: &'static str,
    pub text: &'static str,
}

/// Declares each COM status code as a constant named like the code itself.
macro_rules! codes {
    ($($name:ident = $hex:literal, $text:literal;)*) => {
        $(pub const $name: Code = Code { name: stringify!($name), hex: $hex, text: $text };)*
    };
}

codes! {
    E_ACCESSDENIED = "0x80070005", "Access denied";
    NS_ERROR_INVALID_ARG = "0x80070057", "Invalid argument value";
    NS_ERROR_FAILURE = "0x80004005", "Operation failed";
    VBOX_E_OBJECT_NOT_FOUND = "0x80bb0001", "Object not found";
    VBOX_E_INVALID_OBJECT_STATE = "0x80bb0007", "Invalid object state";
    VBOX_E_INVALID_VM_STATE = "0x80bb0002", "Invalid VM state";
    VBOX_E_FILE_ERROR = "0x80bb0004", "File error";
    VBOX_E_IPRT_ERROR = "0x80bb0005", "IPRT error";
    VBOX_E_OBJECT_IN_USE = "0x80bb000c", "Object in use";
}

/// The logo VBoxManage prints before a syntax error (and before the full usage).
pub fn logo(v: &SimVersion) -> String {
    let product = if v.at_least(7, 1, 0) {
        "Oracle VirtualBox"
    } else {
        "Oracle VM VirtualBox"
    };
    let head = format!(
        "{product} Command Line Management Interface Version {}\n",
        v.short_with_suffix()
    );
    if v.major >= 7 {
        format!(
            "{head}Copyright (C) 2005-{} Oracle and/or its affiliates\n\n",
            v.copyright_year()
        )
    } else {
        format!(
            "{head}(C) 2005-{} Oracle Corporation\nAll rights reserved.\n\n",
            v.copyright_year()
        )
    }
}

/// What went wrong with the command line.
#[derive(Debug, Clone)]
pub enum Syntax {
    /// `Unknown option: --bogus` from the option parser.
    UnknownOption(String),
    /// `Invalid parameter '...'` from the option parser (a stray positional argument).
    InvalidParameter(String),
    /// An option given without its value.
    MissingValue(String),
    /// A check of the command itself: `Invalid command 'foo'`, `Unknown sub-command 'x'`.
    Message(String),
}

/// 6.1 rewrote these commands with the new help system; from 7.0 every command uses it.
const NEW_STYLE_IN_61: &[&str] = &["sharedfolder", "dhcpserver"];

fn new_style(v: &SimVersion, cmd: &str) -> bool {
    v.major >= 7 || (v.at_least(6, 1, 0) && NEW_STYLE_IN_61.contains(&cmd))
}

/// A syntax error (exit status 2): the logo, the command's usage and the error, in the old
/// (before 7.0) or the new layout.
pub fn syntax_error(v: &SimVersion, cmd: &str, what: Syntax) -> VBoxError {
    let (getopt, msg) = match &what {
        Syntax::UnknownOption(o) => (true, format!("Unknown option: {o}")),
        Syntax::InvalidParameter(p) => (true, format!("Invalid parameter '{p}'")),
        Syntax::MissingValue(o) => (
            true,
            format!("{o}: RTGetOpt: Command line option needs argument."),
        ),
        Syntax::Message(m) => (false, m.clone()),
    };
    let mut s = logo(v);
    if new_style(v, cmd) {
        let (usage, lines) = super::usage::brief_usage(v, cmd);
        s += &format!("VBoxManage: error: {msg}\n");
        if !getopt {
            s += "\n";
        }
        s += &usage;
        if lines >= 16 {
            s += &format!("\nVBoxManage: error: {msg}\n");
        }
    } else {
        s += &super::usage::old_usage(cmd);
        if getopt {
            s += &format!("VBoxManage: error: {msg}\n");
        } else {
            s += &format!("\nSyntax error: {msg}\n");
        }
    }
    VBoxError::stderr(s, 2)
}

/// A command given without any argument prints its usage on stdout and exits 1.
pub fn bare_usage(v: &SimVersion, cmd: &str) -> VBoxError {
    let stdout = if new_style(v, cmd) {
        super::usage::brief_usage(v, cmd).0
    } else {
        super::usage::old_usage(cmd)
    };
    VBoxError {
        stdout,
        stderr: String::new(),
        code: 1,
    }
}

/// `errorArgument`: one error line, no usage, exit 2.
pub fn argument_error(msg: &str) -> VBoxError {
    VBoxError::stderr(format!("VBoxManage: error: {msg}\n"), 2)
}

/// A failed progress: the dots, the status (on its own line before 7.0), the operation's
/// message, then the error block without a callee and with the handler's signature as Context.
pub fn progress_error(
    v: &SimVersion,
    code: Code,
    operation: &str,
    lines: &[String],
    component: &str,
    interface: &str,
    ctx: Context,
) -> VBoxError {
    let mut s = if v.major >= 7 {
        format!("0%...{}\n", code.name)
    } else {
        format!("0%...\nProgress state: {}\n", code.name)
    };
    s += &format!("VBoxManage: error: {operation}\n");
    for l in lines {
        s += &format!("VBoxManage: error: {l}\n");
    }
    s += &details_line(code, component, interface, false);
    s += &context_line(ctx);
    VBoxError::stderr(s, 1)
}

impl SimVersion {
    /// `6.1.38_Ubuntu`: the version as the logo prints it.
    pub fn short_with_suffix(&self) -> String {
        match &self.suffix {
            Some(s) => format!("{}_{s}", self.short()),
            None => self.short(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_denied_is_the_real_two_line_text() {
        let e = code_error(
            E_ACCESSDENIED,
            Context {
                call: "EnableStaticIPConfig(Bstr(pszIp).raw(), Bstr(pszNetmask).raw())",
                file: "VBoxManageHostonly.cpp",
                line: 242,
            },
        );
        assert_eq!(
            e.stderr,
            "VBoxManage: error: Code E_ACCESSDENIED (0x80070005) - Access denied (extended info not available)\n\
             VBoxManage: error: Context: \"EnableStaticIPConfig(Bstr(pszIp).raw(), Bstr(pszNetmask).raw())\" at line 242 of file VBoxManageHostonly.cpp\n"
        );
        assert_eq!(e.code, 1);
    }
}
