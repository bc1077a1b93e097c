//! `vswarm env`: the variables that point the docker CLI at a node, in each shell's syntax, as
//! `docker-machine env` printed them (bash and zsh, fish, PowerShell, cmd).

use std::fmt::Write as _;

/// The variables `env` sets and `env --unset` clears.
pub const DOCKER_VARIABLES: [&str; 4] = [
    "DOCKER_TLS_VERIFY",
    "DOCKER_HOST",
    "DOCKER_CERT_PATH",
    "DOCKER_MACHINE_NAME",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Cmd,
}

impl Shell {
    /// The user's shell, from `$SHELL` (or PowerShell's and cmd's marks on Windows); bash when
    /// unknown.
    pub fn detect() -> Shell {
        let shell = std::env::var("SHELL").unwrap_or_default();
        if shell.ends_with("fish") {
            Shell::Fish
        } else if shell.ends_with("zsh") {
            Shell::Zsh
        } else if cfg!(windows) && std::env::var_os("PSModulePath").is_some() {
            Shell::Powershell
        } else if cfg!(windows) {
            Shell::Cmd
        } else {
            Shell::Bash
        }
    }

    fn set(self, name: &str, value: &str) -> String {
        match self {
            Shell::Bash | Shell::Zsh => format!("export {name}=\"{}\"", posix_escape(value)),
            Shell::Fish => format!("set -gx {name} \"{}\";", posix_escape(value)),
            Shell::Powershell => format!(
                "$Env:{name} = \"{}\"",
                value.replace('`', "``").replace('"', "`\"")
            ),
            Shell::Cmd => format!("SET {name}={value}"),
        }
    }

    fn unset(self, name: &str) -> String {
        match self {
            Shell::Bash | Shell::Zsh => format!("unset {name}"),
            Shell::Fish => format!("set -e {name};"),
            Shell::Powershell => format!("Remove-Item Env:\\{name} -ErrorAction SilentlyContinue"),
            Shell::Cmd => format!("SET {name}="),
        }
    }

    fn comment(self, text: &str) -> String {
        match self {
            Shell::Cmd => format!("REM {text}"),
            _ => format!("# {text}"),
        }
    }

    /// How to apply `vswarm ARGS` in this shell.
    fn how_to_apply(self, args: &str) -> String {
        match self {
            Shell::Bash | Shell::Zsh => format!("eval $(vswarm {args})"),
            Shell::Fish => format!("eval (vswarm {args})"),
            Shell::Powershell => format!("& vswarm {args} | Invoke-Expression"),
            Shell::Cmd => format!("@FOR /f \"tokens=*\" %i IN ('vswarm {args}') DO @%i"),
        }
    }

    /// The script that sets `vars`; `args` are those of the `vswarm` call that prints it.
    pub fn script(self, vars: &[(&str, String)], args: &str) -> String {
        let mut out = String::new();
        for (name, value) in vars {
            let _ = writeln!(out, "{}", self.set(name, value));
        }
        let _ = writeln!(
            out,
            "{}",
            self.comment("Run this command to configure your shell:")
        );
        let _ = writeln!(out, "{}", self.comment(&self.how_to_apply(args)));
        out
    }

    /// The script that clears the docker variables.
    pub fn unset_script(self) -> String {
        let mut out = String::new();
        for name in DOCKER_VARIABLES {
            let _ = writeln!(out, "{}", self.unset(name));
        }
        let _ = writeln!(
            out,
            "{}",
            self.comment("Run this command to configure your shell:")
        );
        let _ = writeln!(out, "{}", self.comment(&self.how_to_apply("env --unset")));
        out
    }
}

/// Escapes a value for the inside of double quotes in POSIX shells and fish.
fn posix_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vec<(&'static str, String)> {
        vec![
            ("DOCKER_HOST", "tcp://192.168.56.101:2376".to_string()),
            ("DOCKER_CERT_PATH", "/home/a b/$x".to_string()),
        ]
    }

    #[test]
    fn each_shell_has_its_syntax() {
        let bash = Shell::Bash.script(&vars(), "env n1");
        assert!(
            bash.contains("export DOCKER_HOST=\"tcp://192.168.56.101:2376\"\n"),
            "{bash}"
        );
        assert!(
            bash.contains("export DOCKER_CERT_PATH=\"/home/a b/\\$x\""),
            "{bash}"
        );
        assert!(bash.contains("# eval $(vswarm env n1)"), "{bash}");
        let fish = Shell::Fish.script(&vars(), "env n1");
        assert!(
            fish.contains("set -gx DOCKER_HOST \"tcp://192.168.56.101:2376\";"),
            "{fish}"
        );
        let ps = Shell::Powershell.script(&vars(), "env n1");
        assert!(
            ps.contains("$Env:DOCKER_HOST = \"tcp://192.168.56.101:2376\""),
            "{ps}"
        );
        let cmd = Shell::Cmd.script(&vars(), "env n1");
        assert!(
            cmd.contains("SET DOCKER_HOST=tcp://192.168.56.101:2376"),
            "{cmd}"
        );
        assert!(cmd.contains("REM @FOR"), "{cmd}");
    }

    #[test]
    fn unset_clears_every_variable() {
        let bash = Shell::Bash.unset_script();
        for v in DOCKER_VARIABLES {
            assert!(bash.contains(&format!("unset {v}\n")), "{bash}");
        }
        assert!(Shell::Fish.unset_script().contains("set -e DOCKER_HOST;"));
        assert!(Shell::Cmd.unset_script().contains("SET DOCKER_HOST=\n"));
    }

    #[test]
    fn bash_output_survives_a_real_shell() {
        let script = Shell::Bash.script(&vars(), "env n1");
        let out = std::process::Command::new("bash")
            .args([
                "-c",
                &format!("{script}\nprintf '%s' \"$DOCKER_CERT_PATH\""),
            ])
            .output()
            .expect("bash runs");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "/home/a b/$x");
    }
}
