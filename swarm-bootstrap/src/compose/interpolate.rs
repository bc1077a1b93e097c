//! Variable substitution, as the docker CLI does it for stacks: `$VAR`, `${VAR}`,
//! `${VAR:-default}` (unset or empty), `${VAR-default}` (unset), `${VAR:?message}` (unset or
//! empty is an error), `${VAR?message}` (unset is an error), `$$` for a literal `$`. Values
//! come from the environment; vswarm also reads an `.env` file beside the first compose file
//! for defaults (the environment wins), as `docker compose` does and `docker stack deploy`
//! does not.
//!
//! Substitution applies to string values only (keys are left alone), before the file is
//! checked; a substituted value at a place that takes a number or a boolean is converted
//! (`replicas: ${N}`), exactly at the places the docker CLI converts.

use std::collections::BTreeMap;
use std::path::Path;

use super::yaml::{Node, Yaml};
use super::{ComposeError, Problem};

/// The variables substitution reads.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    vars: BTreeMap<String, String>,
}

impl Environment {
    /// The process environment.
    pub fn from_process() -> Environment {
        Environment {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// These variables only (tests).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Environment {
        Environment {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// Adds the variables of `DIR/.env` that are not set already. A missing file adds
    /// nothing.
    pub fn with_dotenv(mut self, dir: &Path) -> Result<Environment, ComposeError> {
        let path = dir.join(".env");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(self),
            Err(source) => return Err(ComposeError::Read { path, source }),
        };
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
            let Some((name, value)) = line.split_once('=') else {
                return Err(ComposeError::Dotenv {
                    path: path.clone(),
                    line: number as u64 + 1,
                    message: format!("'{line}' is not NAME=VALUE"),
                });
            };
            let name = name.trim();
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(ComposeError::Dotenv {
                    path: path.clone(),
                    line: number as u64 + 1,
                    message: format!("'{name}' is not a variable name"),
                });
            }
            let value = dotenv_value(value.trim());
            self.vars.entry(name.to_string()).or_insert(value);
        }
        Ok(self)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }
}

/// A `.env` value: quotes removed (`"..."` with `\n`, `\"` and `\\` escapes), an unquoted
/// value ending at ` #`.
fn dotenv_value(raw: &str) -> String {
    if let Some(inner) = raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return inner.to_string();
    }
    if let Some(inner) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match (c, chars.clone().next()) {
                ('\\', Some('n')) => {
                    out.push('\n');
                    chars.next();
                }
                ('\\', Some(escaped @ ('"' | '\\'))) => {
                    out.push(escaped);
                    chars.next();
                }
                _ => out.push(c),
            }
        }
        return out;
    }
    match raw.find(" #") {
        Some(i) => raw[..i].trim_end().to_string(),
        None => raw.to_string(),
    }
}

/// Why a template could not be substituted.
#[derive(Debug, PartialEq, Eq)]
pub enum TemplateError {
    /// A `$` not followed by a name, `{name...}` or `$`.
    Invalid,
    /// `${VAR?message}` or `${VAR:?message}` with VAR unset (or empty).
    Required { name: String, message: String },
}

/// Substitutes the variables of `template`, with the docker CLI's rules (including its
/// quirks: an unbraced `$VAR-x` reads as `${VAR-x}`).
pub fn substitute(template: &str, env: &Environment) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
            continue;
        }
        let (substitution, consumed) = if let Some(len) = name_with_modifier(after) {
            (&after[..len], len)
        } else if let Some(inner) = after.strip_prefix('{') {
            match name_with_modifier(inner) {
                Some(len) if inner[len..].starts_with('}') => (&inner[..len], len + 2),
                _ => return Err(TemplateError::Invalid),
            }
        } else {
            return Err(TemplateError::Invalid);
        };
        out.push_str(&apply(substitution, env)?);
        rest = &after[consumed..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The length of `[_a-zA-Z][_a-zA-Z0-9]*(:?[-?][^}]*)?` at the start of `text`.
fn name_with_modifier(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    if !bytes
        .first()
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
    {
        return None;
    }
    let mut len = bytes
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
        .unwrap_or(bytes.len());
    let modifier = &text[len..];
    let modifier_start = if modifier.starts_with(":-") || modifier.starts_with(":?") {
        2
    } else if modifier.starts_with('-') || modifier.starts_with('?') {
        1
    } else {
        return Some(len);
    };
    len += modifier_start;
    len += text[len..].find('}').unwrap_or(text.len() - len);
    Some(len)
}

/// One substitution, with the docker CLI's functions tried in its order (each looks for its
/// separator anywhere in the text).
fn apply(substitution: &str, env: &Environment) -> Result<String, TemplateError> {
    if let Some((name, default)) = substitution.split_once(":-") {
        return Ok(match env.get(name) {
            Some(value) if !value.is_empty() => value.to_string(),
            _ => default.to_string(),
        });
    }
    if let Some((name, default)) = substitution.split_once('-') {
        return Ok(env.get(name).unwrap_or(default).to_string());
    }
    if let Some((name, message)) = substitution.split_once(":?") {
        return match env.get(name) {
            Some(value) if !value.is_empty() => Ok(value.to_string()),
            _ => Err(TemplateError::Required {
                name: name.into(),
                message: message.into(),
            }),
        };
    }
    if let Some((name, message)) = substitution.split_once('?') {
        return match env.get(name) {
            Some(value) => Ok(value.to_string()),
            None => Err(TemplateError::Required {
                name: name.into(),
                message: message.into(),
            }),
        };
    }
    Ok(env.get(substitution).unwrap_or_default().to_string())
}

/// What a substituted string becomes at a given place.
#[derive(Clone, Copy)]
enum Cast {
    Int,
    Float,
    Bool,
}

/// The places where the docker CLI converts substituted strings (`*` any key, `[]` any list
/// item), under `services.*`, then at the top level.
const SERVICE_CASTS: &[(&[&str], Cast)] = &[
    (&["configs", "[]", "mode"], Cast::Int),
    (&["secrets", "[]", "mode"], Cast::Int),
    (&["healthcheck", "retries"], Cast::Int),
    (&["healthcheck", "disable"], Cast::Bool),
    (&["deploy", "replicas"], Cast::Int),
    (&["deploy", "update_config", "parallelism"], Cast::Int),
    (
        &["deploy", "update_config", "max_failure_ratio"],
        Cast::Float,
    ),
    (&["deploy", "rollback_config", "parallelism"], Cast::Int),
    (
        &["deploy", "rollback_config", "max_failure_ratio"],
        Cast::Float,
    ),
    (&["deploy", "restart_policy", "max_attempts"], Cast::Int),
    (&["deploy", "placement", "max_replicas_per_node"], Cast::Int),
    (&["ports", "[]", "target"], Cast::Int),
    (&["ports", "[]", "published"], Cast::Int),
    (&["ulimits", "*"], Cast::Int),
    (&["ulimits", "*", "hard"], Cast::Int),
    (&["ulimits", "*", "soft"], Cast::Int),
    (&["privileged"], Cast::Bool),
    (&["oom_score_adj"], Cast::Int),
    (&["read_only"], Cast::Bool),
    (&["stdin_open"], Cast::Bool),
    (&["tty"], Cast::Bool),
    (&["volumes", "[]", "read_only"], Cast::Bool),
    (&["volumes", "[]", "volume", "nocopy"], Cast::Bool),
];
const TOP_CASTS: &[(&[&str], Cast)] = &[
    (&["networks", "*", "external"], Cast::Bool),
    (&["networks", "*", "internal"], Cast::Bool),
    (&["networks", "*", "attachable"], Cast::Bool),
    (&["volumes", "*", "external"], Cast::Bool),
    (&["secrets", "*", "external"], Cast::Bool),
    (&["configs", "*", "external"], Cast::Bool),
];

fn cast_for(path: &[String]) -> Option<Cast> {
    let matches = |pattern: &[&str], parts: &[String]| {
        pattern.len() == parts.len()
            && pattern
                .iter()
                .zip(parts)
                .all(|(p, part)| *p == "*" || p == part)
    };
    if path.len() > 2
        && path[0] == "services"
        && let Some((_, cast)) = SERVICE_CASTS
            .iter()
            .find(|(pattern, _)| matches(pattern, &path[2..]))
    {
        return Some(*cast);
    }
    TOP_CASTS
        .iter()
        .find(|(pattern, _)| matches(pattern, path))
        .map(|(_, cast)| *cast)
}

/// Substitutes every string value of the tree in place; `file` names the file in errors.
pub fn interpolate(root: &mut Node, env: &Environment, file: &str) -> Result<(), ComposeError> {
    let mut path = Vec::new();
    walk(root, &mut path, env, file)
}

fn walk(
    node: &mut Node,
    path: &mut Vec<String>,
    env: &Environment,
    file: &str,
) -> Result<(), ComposeError> {
    if let Yaml::Str(text) = &node.value {
        let text = text.clone();
        let shown = path.join(".");
        let substituted = substitute(&text, env).map_err(|e| {
            let problem = match e {
                TemplateError::Invalid => Problem::InvalidTemplate {
                    path: shown.clone(),
                    template: text.clone(),
                },
                TemplateError::Required { name, message } => Problem::RequiredVariable {
                    path: shown.clone(),
                    name,
                    message,
                },
            };
            ComposeError::at(file, node, problem)
        })?;
        if substituted == text {
            return Ok(());
        }
        let value = match cast_for(path) {
            None => Yaml::Str(substituted),
            Some(cast) => match cast_value(&substituted, cast) {
                Some(value) => value,
                None => {
                    return Err(ComposeError::at(
                        file,
                        node,
                        Problem::InvalidValue {
                            path: shown,
                            what: "substituted value",
                            value: substituted,
                            expected: match cast {
                                Cast::Int => "an integer is needed here".into(),
                                Cast::Float => "a number is needed here".into(),
                                Cast::Bool => "true or false is needed here".into(),
                            },
                        },
                    ));
                }
            },
        };
        node.value = value;
        return Ok(());
    }
    match &mut node.value {
        Yaml::Str(_) => Ok(()),
        Yaml::List(items) => {
            for item in items {
                path.push("[]".into());
                let result = walk(item, path, env, file);
                path.pop();
                result?;
            }
            Ok(())
        }
        Yaml::Map(entries) => {
            for (key, value) in entries {
                path.push(key.value.scalar_text().unwrap_or_default());
                let result = walk(value, path, env, file);
                path.pop();
                result?;
            }
            Ok(())
        }
        Yaml::Null | Yaml::Bool(_) | Yaml::Int(_) | Yaml::Float(_) => Ok(()),
    }
}

fn cast_value(text: &str, cast: Cast) -> Option<Yaml> {
    match cast {
        Cast::Int => text.parse::<i64>().ok().map(|n| Yaml::Int(n.into())),
        Cast::Float => text.parse::<f64>().ok().map(Yaml::Float),
        Cast::Bool => match text.to_ascii_lowercase().as_str() {
            "y" | "yes" | "true" | "on" => Some(Yaml::Bool(true)),
            "n" | "no" | "false" | "off" => Some(Yaml::Bool(false)),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Environment {
        Environment::from_pairs([("A", "1"), ("EMPTY", ""), ("HOME", "/home/u")])
    }

    #[test]
    fn substitutes_as_the_docker_cli() {
        let e = env();
        let s = |t: &str| substitute(t, &e);
        assert_eq!(s("x${A}y").unwrap(), "x1y");
        assert_eq!(s("$A").unwrap(), "1");
        assert_eq!(s("${B:-d}").unwrap(), "d");
        assert_eq!(s("${EMPTY:-d}").unwrap(), "d");
        assert_eq!(s("${EMPTY-d}").unwrap(), "");
        assert_eq!(s("${B-d}").unwrap(), "d");
        assert_eq!(s("$$A").unwrap(), "$A");
        assert_eq!(s("${B}").unwrap(), "");
        assert_eq!(s("${A:?x}").unwrap(), "1");
        assert_eq!(
            s("${B:?needs B}"),
            Err(TemplateError::Required {
                name: "B".into(),
                message: "needs B".into()
            })
        );
        assert!(matches!(
            s("${EMPTY:?e}"),
            Err(TemplateError::Required { .. })
        ));
        assert_eq!(s("${EMPTY?e}").unwrap(), "");
        assert_eq!(s("${"), Err(TemplateError::Invalid));
        assert_eq!(s("$1"), Err(TemplateError::Invalid));
        assert_eq!(s("a $ b"), Err(TemplateError::Invalid));
        // The docker CLI's quirk: an unbraced name takes a modifier up to the next '}'.
        assert_eq!(s("$HOME-dir/x").unwrap(), "/home/u");
        assert_eq!(s("${A:-${B}}").unwrap(), "1}");
    }

    #[test]
    fn dotenv_values() {
        assert_eq!(dotenv_value("'a b'"), "a b");
        assert_eq!(dotenv_value("\"a\\nb\""), "a\nb");
        assert_eq!(dotenv_value("x # comment"), "x");
    }
}
