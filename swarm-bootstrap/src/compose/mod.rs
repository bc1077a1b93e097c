//! Compose files read the way `docker stack deploy -c FILE [-c FILE...] STACK` reads them, into
//! the Engine API objects of [`crate::stack`].
//!
//! vswarm deploys through the Engine API rather than the docker CLI, so it does what the CLI
//! does, in its order (docker/cli's `cli/compose` and `cli/command/stack`):
//! 1. each file is parsed ([`yaml`]: anchors, aliases and `<<` merges resolved, positions kept);
//!    keys the CLI forbids (`extends`, `volumes_from`, `cpu_shares`...) are refused;
//! 2. variables are substituted ([`interpolate`]) from the environment (and, unlike the CLI,
//!    an `.env` beside the first file as defaults), converting values where the CLI does;
//! 3. the file is checked against its format version's rules ([`keys`], [`schema`]), every refusal at
//!    `FILE:LINE:COL`;
//! 4. it is read into the CLI's model ([`model`]), env files and the environment resolved,
//!    relative paths made absolute from the first file's folder;
//! 5. the files are merged ([`merge`]) and each service's image checked;
//! 6. the result is converted ([`convert`]) into networks, secrets, configs and service specs
//!    carrying the `com.docker.stack.*` labels.
//!
//! Keys the CLI ignores are ignored with its warnings ("Ignoring unsupported options: build").
//! Where vswarm is stricter than the CLI, it is so only to refuse before deploying what the
//! Engine would refuse after half the stack was created (an unknown restart condition, say).

pub mod convert;
pub mod interpolate;
pub mod keys;
pub mod merge;
pub mod model;
pub mod schema;
pub mod values;
pub mod yaml;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use interpolate::Environment;
use yaml::{Node, Yaml};

use crate::stack::StackSpec;

/// A stack read from its compose files, with the warnings the docker CLI would print.
#[derive(Debug, Clone)]
pub struct LoadedStack {
    pub spec: StackSpec,
    pub warnings: Vec<String>,
}

/// Why compose files could not be read into a stack.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("{}: cannot read the file (check the path and its permissions)", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}: {message} (write NAME=VALUE lines)", path.display())]
    Dotenv {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("invalid stack name '{name}': {reason}")]
    InvalidStackName { name: String, reason: String },
    #[error("{at}: the file is not valid YAML: {message} (fix the YAML at this position){}", at.reached_note())]
    Yaml { at: SourcePosition, message: String },
    #[error("{at}: {problem}{}", at.reached_note())]
    Invalid {
        at: SourcePosition,
        problem: Box<Problem>,
    },
}

impl ComposeError {
    pub(crate) fn at(file: &str, node: &Node, problem: Problem) -> ComposeError {
        ComposeError::Invalid {
            at: SourcePosition::of(file, node),
            problem: Box::new(problem),
        }
    }
}

/// Where something was written in a compose file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePosition {
    pub file: String,
    /// 1-based; 0 when unknown (the message then names the key path instead).
    pub line: u64,
    /// 1-based, in characters; 0 when unknown.
    pub column: u64,
    /// When the text was reached through an alias (`*name`) or a merge key (`<<`): the line and
    /// column of that alias or merge.
    pub reached_from: Option<(u64, u64)>,
}

impl SourcePosition {
    pub(crate) fn of(file: &str, node: &Node) -> SourcePosition {
        let (defined, referenced) = (node.defined, node.referenced);
        let defined_at = (defined.line(), defined.column());
        let referenced_at = (referenced.line(), referenced.column());
        let (at, reached_from) = if defined_at.0 == 0 {
            (referenced_at, None)
        } else {
            (
                defined_at,
                (referenced_at.0 != 0 && referenced_at != defined_at).then_some(referenced_at),
            )
        };
        SourcePosition {
            file: file.to_string(),
            line: at.0,
            column: at.1,
            reached_from,
        }
    }

    fn file_only(file: &str) -> SourcePosition {
        SourcePosition {
            file: file.to_string(),
            line: 0,
            column: 0,
            reached_from: None,
        }
    }

    fn reached_note(&self) -> String {
        match self.reached_from {
            Some((line, column)) => {
                format!(" (reached through the alias or merge at line {line}, column {column})")
            }
            None => String::new(),
        }
    }
}

impl fmt::Display for SourcePosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file)
        } else {
            write!(f, "{}:{}:{}", self.file, self.line, self.column)
        }
    }
}

/// What is wrong with a compose file that is valid YAML. Key paths read like
/// `services.web.deploy.replicas` or `services.web.ports[1]`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Problem {
    #[error(
        "the file is empty: a stack file needs a 'services:' section with at least one service"
    )]
    EmptyFile,
    #[error("the file must be a mapping with a 'services:' section at the top level, not {found}")]
    NotAStackFile { found: &'static str },
    #[error("the stack has no services: add at least one under 'services:', each with an 'image'")]
    NoServices,
    #[error(
        "unsupported Compose file version: {version} (docker stack deploy reads versions 3.0 to 3.13; write version: \"3.8\", or leave version out)"
    )]
    UnsupportedVersion { version: String },
    #[error(
        "version mismatched between two composefiles: {first} and {this} (give every file the same version)"
    )]
    VersionMismatch { first: String, this: String },
    #[error(
        "'{key}' is not allowed in {context} (compose file format {version} allows: {}); remove it or fix its spelling",
        allowed.join(", ")
    )]
    UnknownKey {
        key: String,
        context: String,
        allowed: Vec<&'static str>,
        version: keys::Version,
    },
    #[error(
        "{what} needs compose file format {since} or later, and the file says {version}: raise its version"
    )]
    NeedsVersion {
        what: String,
        since: keys::Version,
        version: keys::Version,
    },
    #[error("service '{service}' uses '{key}', which docker stack deploy refuses: {reason}")]
    Forbidden {
        service: String,
        key: String,
        reason: &'static str,
    },
    #[error("'{path}' must be {expected}, not {found}")]
    WrongType {
        path: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("'{path}' lists '{value}' twice: list it once")]
    Duplicate { path: String, value: String },
    #[error("'{path}' needs '{key}': {hint}")]
    MissingKey {
        path: String,
        key: &'static str,
        hint: &'static str,
    },
    #[error("invalid {what} '{value}' at '{path}': {expected}")]
    InvalidValue {
        path: String,
        what: &'static str,
        value: String,
        expected: String,
    },
    #[error(
        "invalid interpolation format for {path}: \"{template}\"; you may need to escape any $ with another $ (write $$ for a literal $, ${{NAME}} for a variable)"
    )]
    InvalidTemplate { path: String, template: String },
    #[error(
        "required variable {name} is missing a value: {message} (at {path}; set {name} in the environment or in .env beside the file)"
    )]
    RequiredVariable {
        path: String,
        name: String,
        message: String,
    },
    #[error("invalid image reference for service {service}: {reason}")]
    InvalidImage { service: String, reason: String },
    #[error("{message} ({help})")]
    Stack { message: String, help: String },
}

/// Docker's rule for stack names: lowercase letters, digits, `-` and `_`, starting with a letter
/// or a digit.
pub fn validate_stack_name(stack: &str) -> Result<(), ComposeError> {
    const RULE: &str = "use lowercase letters, digits, '-' and '_', starting with a letter or digit (e.g. 'web-prod')";
    let invalid = |reason: String| {
        Err(ComposeError::InvalidStackName {
            name: stack.to_string(),
            reason,
        })
    };
    let Some(first) = stack.chars().next() else {
        return invalid(format!("it is empty; {RULE}"));
    };
    if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
        return invalid(format!("it starts with '{first}'; {RULE}"));
    }
    match stack
        .chars()
        .find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'))
    {
        Some(bad) => invalid(format!("it contains '{bad}'; {RULE}")),
        None => Ok(()),
    }
}

/// One compose file's text and the name errors use for it.
pub struct ComposeSource {
    pub name: String,
    pub text: String,
}

/// Reads the compose files `files` (later ones override earlier ones) into the stack `stack`.
/// Variables come from `env` plus the `.env` beside the first file.
pub fn load_stack(
    files: &[PathBuf],
    stack: &str,
    env: &Environment,
) -> Result<LoadedStack, ComposeError> {
    // Before reading any file: a wrong name is the first thing to tell.
    validate_stack_name(stack)?;
    let mut sources = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(path).map_err(|source| ComposeError::Read {
            path: path.clone(),
            source,
        })?;
        sources.push(ComposeSource {
            name: path.display().to_string(),
            text,
        });
    }
    let first = files
        .first()
        .map(PathBuf::as_path)
        .unwrap_or(Path::new("."));
    let dir = std::path::absolute(first)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    let env = env.clone().with_dotenv(&dir)?;
    read_stack(&sources, &dir, stack, &env)
}

/// Reads compose texts (tests, and files already read) into the stack `stack`; relative paths
/// are taken from `dir`.
pub fn read_stack(
    sources: &[ComposeSource],
    dir: &Path,
    stack: &str,
    env: &Environment,
) -> Result<LoadedStack, ComposeError> {
    validate_stack_name(stack)?;
    let mut warnings = Vec::new();
    let mut unsupported: Vec<&str> = Vec::new();
    let mut deprecated: BTreeMap<&str, &str> = BTreeMap::new();
    let mut positions: BTreeMap<String, SourcePosition> = BTreeMap::new();
    let mut merged: Option<model::Config> = None;
    let mut first_version: Option<keys::Version> = None;
    for source in sources {
        let file = source.name.as_str();
        let mut root = match yaml::parse_yaml(file, &source.text)? {
            Some(root) if !matches!(root.value, Yaml::Null) => root,
            _ => {
                return Err(ComposeError::Invalid {
                    at: SourcePosition {
                        file: file.to_string(),
                        line: 1,
                        column: 1,
                        reached_from: None,
                    },
                    problem: Box::new(Problem::EmptyFile),
                });
            }
        };
        if !matches!(root.value, Yaml::Map(_)) {
            let found = root.value.kind();
            return Err(ComposeError::at(
                file,
                &root,
                Problem::NotAStackFile { found },
            ));
        }
        let version = keys::file_version(&root, file)?;
        match first_version {
            None => first_version = Some(version),
            Some(first) if first != version => {
                return Err(ComposeError::at(
                    file,
                    &root,
                    Problem::VersionMismatch {
                        first: first.to_string(),
                        this: version.to_string(),
                    },
                ));
            }
            Some(_) => {}
        }
        check_service_keys(&root, file, &mut unsupported, &mut deprecated)?;
        interpolate::interpolate(&mut root, env, file)?;
        let mut checker = schema::Checker {
            file,
            version,
            positions: &mut positions,
        };
        checker.check(&root, "", &keys::TOP)?;
        let config = read_config(&root, file, dir, env, version, &positions, &mut warnings)?;
        merged = Some(match merged {
            None => config,
            Some(base) => merge::merge(base, config),
        });
    }
    let config = merged.unwrap_or_default();
    let first_file = sources.first().map(|s| s.name.as_str()).unwrap_or_default();
    let position = |path: &str| {
        positions
            .get(path)
            .cloned()
            .unwrap_or_else(|| SourcePosition::file_only(first_file))
    };
    if config.services.is_empty() {
        return Err(ComposeError::Invalid {
            at: position("services"),
            problem: Box::new(Problem::NoServices),
        });
    }
    for (name, service) in &config.services {
        let image = service.image.as_deref().unwrap_or_default();
        let reason = if image.is_empty() {
            Some("no image specified (vswarm deploys images, it does not build them: add `image: NAME[:TAG]`)".to_string())
        } else {
            values::check_image(image).err()
        };
        if let Some(reason) = reason {
            let path = format!("services.{name}.image");
            let at = positions
                .get(&path)
                .cloned()
                .unwrap_or_else(|| position(&format!("services.{name}")));
            return Err(ComposeError::Invalid {
                at,
                problem: Box::new(Problem::InvalidImage {
                    service: name.clone(),
                    reason,
                }),
            });
        }
    }
    let read_file = |path: &str| std::fs::read(path).map_err(|e| e.to_string());
    let spec = convert::convert(stack, &config, &read_file).map_err(|e| ComposeError::Invalid {
        at: position(&e.path),
        problem: Box::new(Problem::Stack {
            message: e.message,
            help: e.help,
        }),
    })?;
    if !unsupported.is_empty() {
        unsupported.sort_unstable();
        unsupported.dedup();
        warnings.insert(
            0,
            format!("Ignoring unsupported options: {}", unsupported.join(", ")),
        );
    }
    if !deprecated.is_empty() {
        let lines: Vec<String> = deprecated
            .iter()
            .map(|(key, why)| format!("{key}: {why}"))
            .collect();
        warnings.push(format!(
            "Ignoring deprecated options:\n\n{}",
            lines.join("\n\n")
        ));
    }
    Ok(LoadedStack { spec, warnings })
}

/// Refuses the service keys the docker CLI forbids, and notes those it ignores.
fn check_service_keys<'k>(
    root: &Node,
    file: &str,
    unsupported: &mut Vec<&'k str>,
    deprecated: &mut BTreeMap<&'k str, &'k str>,
) -> Result<(), ComposeError> {
    let Some(services) = map_get(root, "services") else {
        return Ok(());
    };
    let Yaml::Map(services) = &services.value else {
        return Ok(());
    };
    for (name, service) in services {
        let Yaml::Map(keys) = &service.value else {
            continue;
        };
        for (key, _) in keys {
            let Yaml::Str(key_text) = &key.value else {
                continue;
            };
            if let Some((forbidden, reason)) = keys::FORBIDDEN
                .iter()
                .find(|(k, _)| *k == key_text.as_str())
            {
                return Err(ComposeError::at(
                    file,
                    key,
                    Problem::Forbidden {
                        service: name.value.scalar_text().unwrap_or_default(),
                        key: (*forbidden).to_string(),
                        reason,
                    },
                ));
            }
            if let Some(k) = keys::UNSUPPORTED.iter().find(|k| **k == key_text.as_str()) {
                unsupported.push(k);
            }
            if let Some((k, why)) = keys::DEPRECATED
                .iter()
                .find(|(k, _)| *k == key_text.as_str())
            {
                deprecated.insert(k, why);
            }
        }
    }
    Ok(())
}

fn map_get<'n>(node: &'n Node, key: &str) -> Option<&'n Node> {
    let Yaml::Map(entries) = &node.value else {
        return None;
    };
    entries
        .iter()
        .find(|(k, _)| matches!(&k.value, Yaml::Str(text) if text == key))
        .map(|(_, v)| v)
}

/// The checked tree of one file as the CLI's model.
fn read_config(
    root: &Node,
    file: &str,
    dir: &Path,
    env: &Environment,
    version: keys::Version,
    positions: &BTreeMap<String, SourcePosition>,
    warnings: &mut Vec<String>,
) -> Result<model::Config, ComposeError> {
    let json = yaml::to_json(root);
    let at = |path: &str| {
        positions
            .get(path)
            .cloned()
            .unwrap_or_else(|| SourcePosition::file_only(file))
    };
    let problem = |path: &str, message: String, help: &str| ComposeError::Invalid {
        at: at(path),
        problem: Box::new(Problem::Stack {
            message,
            help: help.to_string(),
        }),
    };
    let absolute = |p: &str| -> String {
        if Path::new(p).is_absolute() {
            p.to_string()
        } else {
            clean_join(dir, p)
        }
    };
    let mut config = model::Config::default();
    if let Some(serde_json::Value::Object(services)) = json.get("services") {
        for (name, value) in services {
            let mut service = model::read_service(value).map_err(|(key, message)| {
                problem(
                    &format!("services.{name}.{key}"),
                    message,
                    "fix the value at this position",
                )
            })?;
            // env_file entries, then `environment`; a variable without a value takes the
            // environment's (the CLI's rule, which also applies to an empty value).
            let mut environment: BTreeMap<String, Option<String>> = BTreeMap::new();
            for (i, env_file) in service.env_file.iter().enumerate() {
                let path = absolute(env_file);
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    problem(
                        &format!("services.{name}.env_file[{i}]"),
                        format!("cannot read the env file {path}: {e}"),
                        "check the path (relative to the first compose file)",
                    )
                })?;
                let vars = values::parse_env_file(&text, |k| env.get(k).map(str::to_string))
                    .map_err(|e| {
                        problem(
                            &format!("services.{name}.env_file[{i}]"),
                            format!("{path}: {e}"),
                            "write NAME=VALUE lines",
                        )
                    })?;
                for (k, v) in vars {
                    environment.insert(k, v);
                }
            }
            environment.extend(std::mem::take(&mut service.environment));
            service.environment = environment
                .into_iter()
                .map(|(k, v)| {
                    let resolved = match v {
                        Some(v) if !v.is_empty() => Some(v),
                        other => env.get(&k).map(str::to_string).or(other),
                    };
                    (k, resolved)
                })
                .collect();
            for (i, volume) in service.volumes.iter_mut().enumerate() {
                if volume.kind != "bind" {
                    continue;
                }
                if volume.source.is_empty() {
                    return Err(problem(
                        &format!("services.{name}.volumes[{i}]"),
                        "invalid mount config for type \"bind\": field Source must not be empty"
                            .into(),
                        "give the host path as `source`",
                    ));
                }
                if let Some(rest) = volume.source.strip_prefix('~')
                    && let Some(home) = env.get("HOME")
                {
                    volume.source = format!("{home}{rest}");
                }
                let windows_absolute =
                    volume.source.starts_with("\\\\") || volume.source.chars().nth(1) == Some(':');
                if !volume.source.starts_with('/') && !windows_absolute {
                    volume.source = absolute(&volume.source);
                }
            }
            warnings.append(&mut service.port_warnings);
            config.services.insert(name.clone(), service);
        }
    }
    let section = |key: &str| match json.get(key) {
        Some(serde_json::Value::Object(map)) => map.clone(),
        _ => serde_json::Map::new(),
    };
    for (name, value) in section("networks") {
        let mut network = model::read_network(&value);
        if network.external.external {
            external_name(
                "network",
                &name,
                &mut network.external,
                &mut network.name,
                version.0 >= 5,
                warnings,
            )
            .map_err(|m| problem(&format!("networks.{name}"), m, "remove external.name"))?;
        }
        config.networks.insert(name, network);
    }
    for (name, value) in section("volumes") {
        let mut volume = model::read_volume(&value);
        if volume.external.external {
            let conflict = if volume.driver.is_some() {
                Some("driver")
            } else if volume.driver_opts.as_ref().is_some_and(|o| !o.is_empty()) {
                Some("driver_opts")
            } else if !volume.labels.is_empty() {
                Some("labels")
            } else {
                None
            };
            if let Some(key) = conflict {
                return Err(problem(
                    &format!("volumes.{name}.{key}"),
                    format!(
                        "conflicting parameters \"external\" and \"{key}\" specified for volume \"{name}\""
                    ),
                    "an external volume exists already: remove the setting or `external`",
                ));
            }
            external_name(
                "volume",
                &name,
                &mut volume.external,
                &mut volume.name,
                version.0 >= 4,
                warnings,
            )
            .map_err(|m| problem(&format!("volumes.{name}"), m, "remove external.name"))?;
        }
        config.volumes.insert(name, volume);
    }
    for (kind, target) in [
        ("secret", &mut config.secrets),
        ("config", &mut config.configs),
    ] {
        for (name, value) in section(&format!("{kind}s")) {
            let mut object = model::read_file_object(&value);
            if object.external.external {
                external_name(
                    kind,
                    &name,
                    &mut object.external,
                    &mut object.name,
                    version.0 >= 5,
                    warnings,
                )
                .map_err(|m| problem(&format!("{kind}s.{name}"), m, "remove external.name"))?;
            } else if object.driver.is_some() {
                if object.file.is_some() {
                    return Err(problem(
                        &format!("{kind}s.{name}"),
                        format!(
                            "{kind} {name}: {kind}.driver and {kind}.file conflict; only use {kind}.driver"
                        ),
                        "remove `file` or `driver`",
                    ));
                }
            } else {
                object.file = Some(absolute(object.file.as_deref().unwrap_or_default()));
            }
            target.insert(name, object);
        }
    }
    Ok(config)
}

/// An external object's name: `name:`, else the deprecated `external: {name: ...}` (with the
/// docker CLI's warning from the version that deprecated it), else its key.
fn external_name(
    kind: &str,
    key: &str,
    external: &mut model::External,
    name: &mut Option<String>,
    deprecated: bool,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    match external.name.take() {
        Some(_) if name.is_some() => Err(format!(
            "{kind} {key}: {kind}.external.name and {kind}.name conflict; only use {kind}.name"
        )),
        Some(external_name) => {
            if deprecated {
                warnings.push(format!(
                    "{kind} {key}: {kind}.external.name is deprecated in favor of {kind}.name"
                ));
            }
            *name = Some(external_name);
            Ok(())
        }
        None => {
            name.get_or_insert_with(|| key.to_string());
            Ok(())
        }
    }
}

/// `dir/relative` cleaned lexically as Go's `filepath.Join` does (`.` dropped, `..` applied).
fn clean_join(dir: &Path, relative: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let joined = format!("{}/{relative}", dir.display());
    let absolute = joined.starts_with('/');
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..".into());
                }
            }
            other => parts.push(other.to_string()),
        }
    }
    let body = parts.join("/");
    if absolute {
        format!("/{body}")
    } else if body.is_empty() {
        ".".into()
    } else {
        body
    }
}

#[cfg(test)]
mod tests;
