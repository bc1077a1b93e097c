//! What compose file formats 3.0 to 3.13 allow where, checked on the YAML tree so that every
//! refusal names its file, line and column.
//!
//! The docker CLI validates each file against the JSON schema of its `version` (3.13 when the
//! file has none) after variable substitution; a key the schema does not know is refused
//! ("Additional property ... is not allowed"), a value of the wrong type too. This module holds
//! the same rules as data: for every mapping, its keys, the version that introduced each, and
//! the type of its value. Keys a later version introduced are refused with the version that
//! would accept them.

use std::collections::BTreeMap;

use super::values;
use super::yaml::{Node, Yaml};
use super::{ComposeError, Problem, SourcePosition};

/// A compose file format version, 3.MINOR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u8);

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "3.{}", self.0)
    }
}

/// The version the docker CLI assumes when a file has none (or says `"3"`).
pub const LATEST: Version = Version(13);

/// The version a file declares, as the docker CLI reads it: `"3"` and no version mean 3.13;
/// anything but 3.0-3.13 is refused. `version` must be a string (the schema says so).
pub fn file_version(root: &Node, file: &str) -> Result<Version, ComposeError> {
    let Yaml::Map(entries) = &root.value else {
        return Ok(LATEST);
    };
    let Some((_, value)) = entries
        .iter()
        .find(|(key, _)| matches!(&key.value, Yaml::Str(k) if k == "version"))
    else {
        return Ok(LATEST);
    };
    let text = match &value.value {
        Yaml::Str(text) => text.clone(),
        other => {
            return Err(ComposeError::at(
                file,
                value,
                Problem::WrongType {
                    path: "version".into(),
                    expected: "a string such as \"3.8\" (quote it)",
                    found: other.kind(),
                },
            ));
        }
    };
    match text.as_str() {
        "" | "3" => Ok(LATEST),
        _ => text
            .strip_prefix("3.")
            .and_then(|minor| minor.parse::<u8>().ok())
            .filter(|minor| {
                *minor <= LATEST.0 && !text.ends_with('.') && !text[2..].starts_with('+')
            })
            .map(Version)
            .ok_or_else(|| {
                ComposeError::at(file, value, Problem::UnsupportedVersion { version: text })
            }),
    }
}

/// The type of a value.
#[derive(Debug)]
pub enum Ty {
    Any,
    Str,
    Int,
    Num,
    Bool,
    /// A string in Go's duration format (`10s`, `1m30s`).
    Duration,
    /// String or number (driver options).
    StrOrNum,
    /// String, number or null (values of `list_or_dict` mappings, logging options).
    StrNumOrNull,
    /// `null` or a string (`pid`).
    StrOrNull,
    /// A string or a list of strings (each at most once).
    StrOrList,
    /// A list of strings, each at most once.
    ListOfStr,
    /// A list of strings, duplicates allowed (`command`).
    ListOfStrDup,
    /// A mapping of names to strings, numbers or null, or a list of strings.
    ListOrDict,
    /// `command` and `entrypoint`: a string or a list of strings.
    Command,
    /// A list of ports: numbers or strings in the short syntax, or mappings (3.2).
    Ports,
    /// A list of volumes: strings in the short syntax, or mappings (3.2).
    Volumes,
    /// A list of secret or config references: names, or mappings.
    FileRefs,
    /// `ulimits`: a mapping of names to a number or `{soft, hard}`.
    Ulimits,
    /// `external`: a boolean or `{name}`.
    External,
    /// A service's `networks`: a list of names, or a mapping of names to null or settings.
    ServiceNetworks,
    /// `healthcheck.test`: a string or a list of strings.
    HealthTest,
    /// `build`: a path or a mapping.
    Build,
    /// A mapping with these keys only.
    Map(&'static [Field]),
    /// A mapping of names (letters, digits, `.`, `_`, `-`) to values of this type.
    Named(&'static Ty),
    /// Like [`Ty::Named`], values may also be null.
    NamedOrNull(&'static Ty),
    /// A mapping of any keys to values of this type.
    Dict(&'static Ty),
    /// A list of values of this type.
    List(&'static Ty),
    /// A value of this type, or null.
    OrNull(&'static Ty),
}

/// A key of a mapping: since which 3.x version it is allowed, and its type. The key `x-*`
/// stands for extension keys.
#[derive(Debug)]
pub struct Field {
    pub key: &'static str,
    pub since: u8,
    pub ty: &'static Ty,
}

const fn f(key: &'static str, since: u8, ty: &'static Ty) -> Field {
    Field { key, since, ty }
}

pub static TOP: Ty = Ty::Map(&[
    f("version", 0, &Ty::Str),
    f("services", 0, &Ty::Named(&SERVICE)),
    f("networks", 0, &Ty::NamedOrNull(&NETWORK)),
    f("volumes", 0, &Ty::NamedOrNull(&VOLUME)),
    f("secrets", 1, &Ty::Named(&SECRET)),
    f("configs", 3, &Ty::Named(&CONFIG)),
    f("x-*", 4, &Ty::Any),
]);

static EXTERNAL_NAME: Ty = Ty::Map(&[f("name", 0, &Ty::Str)]);
static SOFT_HARD: Ty = Ty::Map(&[f("hard", 0, &Ty::Int), f("soft", 0, &Ty::Int)]);
static DICT_OF_STR_NUM: Ty = Ty::Dict(&Ty::StrOrNum);

pub static SERVICE: Ty = Ty::Map(&[
    f("build", 0, &Ty::Build),
    f("cap_add", 0, &Ty::ListOfStr),
    f("cap_drop", 0, &Ty::ListOfStr),
    f("cgroup_parent", 0, &Ty::Str),
    f("cgroupns_mode", 9, &Ty::Str),
    f("command", 0, &Ty::Command),
    f("configs", 3, &Ty::FileRefs),
    f("container_name", 0, &Ty::Str),
    f(
        "credential_spec",
        3,
        &Ty::Map(&[
            f("config", 8, &Ty::Str),
            f("file", 3, &Ty::Str),
            f("registry", 3, &Ty::Str),
        ]),
    ),
    f("depends_on", 0, &Ty::ListOfStr),
    f("deploy", 0, &Ty::OrNull(&DEPLOY)),
    f("devices", 0, &Ty::ListOfStr),
    f("dns", 0, &Ty::StrOrList),
    f("dns_search", 0, &Ty::StrOrList),
    f("domainname", 0, &Ty::Str),
    f("entrypoint", 0, &Ty::Command),
    f("env_file", 0, &Ty::StrOrList),
    f("environment", 0, &Ty::ListOrDict),
    f("expose", 0, &Ty::List(&Ty::StrOrNum)),
    f("external_links", 0, &Ty::ListOfStr),
    f("extra_hosts", 0, &Ty::ListOrDict),
    f(
        "healthcheck",
        0,
        &Ty::Map(&[
            f("disable", 0, &Ty::Bool),
            f("interval", 0, &Ty::Duration),
            f("retries", 0, &Ty::Num),
            f("start_interval", 12, &Ty::Duration),
            f("start_period", 4, &Ty::Duration),
            f("test", 0, &Ty::HealthTest),
            f("timeout", 0, &Ty::Duration),
        ]),
    ),
    f("hostname", 0, &Ty::Str),
    f("image", 0, &Ty::Str),
    f("init", 7, &Ty::Bool),
    f("ipc", 0, &Ty::Str),
    f("isolation", 5, &Ty::Str),
    f("labels", 0, &Ty::ListOrDict),
    f("links", 0, &Ty::ListOfStr),
    f(
        "logging",
        0,
        &Ty::Map(&[
            f("driver", 0, &Ty::Str),
            f("options", 0, &Ty::Dict(&Ty::StrNumOrNull)),
        ]),
    ),
    f("mac_address", 0, &Ty::Str),
    f("network_mode", 0, &Ty::Str),
    f("networks", 0, &Ty::ServiceNetworks),
    f("oom_score_adj", 13, &Ty::Int),
    f("pid", 0, &Ty::StrOrNull),
    f("ports", 0, &Ty::Ports),
    f("privileged", 0, &Ty::Bool),
    f("read_only", 0, &Ty::Bool),
    f("restart", 0, &Ty::Str),
    f("secrets", 1, &Ty::FileRefs),
    f("security_opt", 0, &Ty::ListOfStr),
    f("shm_size", 0, &Ty::StrOrNum),
    f("stdin_open", 0, &Ty::Bool),
    f("stop_grace_period", 0, &Ty::Duration),
    f("stop_signal", 0, &Ty::Str),
    f("sysctls", 0, &Ty::ListOrDict),
    f("tmpfs", 0, &Ty::StrOrList),
    f("tty", 0, &Ty::Bool),
    f("ulimits", 0, &Ty::Ulimits),
    f("user", 0, &Ty::Str),
    f("userns_mode", 0, &Ty::Str),
    f("volumes", 0, &Ty::Volumes),
    f("working_dir", 0, &Ty::Str),
    f("x-*", 7, &Ty::Any),
]);

/// A service's network settings (`networks: {NAME: {...}}`).
pub static SERVICE_NETWORK: Ty = Ty::Map(&[
    f("aliases", 0, &Ty::ListOfStr),
    f("driver_opts", 13, &DICT_OF_STR_NUM),
    f("ipv4_address", 0, &Ty::Str),
    f("ipv6_address", 0, &Ty::Str),
]);

pub static BUILD: Ty = Ty::Map(&[
    f("args", 0, &Ty::ListOrDict),
    f("cache_from", 2, &Ty::ListOfStr),
    f("context", 0, &Ty::Str),
    f("dockerfile", 0, &Ty::Str),
    f("extra_hosts", 9, &Ty::ListOrDict),
    f("labels", 3, &Ty::ListOrDict),
    f("network", 4, &Ty::Str),
    f("shm_size", 5, &Ty::StrOrNum),
    f("target", 4, &Ty::Str),
]);

static UPDATE_FIELDS: &[Field] = &[
    f("delay", 0, &Ty::Duration),
    f("failure_action", 0, &Ty::Str),
    f("max_failure_ratio", 0, &Ty::Num),
    f("monitor", 0, &Ty::Duration),
    f("order", 4, &Ty::Str),
    f("parallelism", 0, &Ty::Int),
];
static ROLLBACK_FIELDS: &[Field] = &[
    f("delay", 7, &Ty::Duration),
    f("failure_action", 7, &Ty::Str),
    f("max_failure_ratio", 7, &Ty::Num),
    f("monitor", 7, &Ty::Duration),
    f("order", 7, &Ty::Str),
    f("parallelism", 7, &Ty::Int),
];

pub static DEPLOY: Ty = Ty::Map(&[
    f("endpoint_mode", 2, &Ty::Str),
    f("labels", 0, &Ty::ListOrDict),
    f("mode", 0, &Ty::Str),
    f(
        "placement",
        0,
        &Ty::Map(&[
            f("constraints", 0, &Ty::List(&Ty::Str)),
            f("max_replicas_per_node", 8, &Ty::Int),
            f(
                "preferences",
                3,
                &Ty::List(&Ty::Map(&[f("spread", 3, &Ty::Str)])),
            ),
        ]),
    ),
    f("replicas", 0, &Ty::Int),
    f(
        "resources",
        0,
        &Ty::Map(&[
            f(
                "limits",
                0,
                &Ty::Map(&[
                    f("cpus", 0, &Ty::Str),
                    f("memory", 0, &Ty::Str),
                    f("pids", 9, &Ty::Int),
                ]),
            ),
            f(
                "reservations",
                0,
                &Ty::Map(&[
                    f("cpus", 0, &Ty::Str),
                    f(
                        "generic_resources",
                        5,
                        &Ty::List(&Ty::Map(&[f(
                            "discrete_resource_spec",
                            5,
                            &Ty::Map(&[f("kind", 5, &Ty::Str), f("value", 5, &Ty::Num)]),
                        )])),
                    ),
                    f("memory", 0, &Ty::Str),
                ]),
            ),
        ]),
    ),
    f(
        "restart_policy",
        0,
        &Ty::Map(&[
            f("condition", 0, &Ty::Str),
            f("delay", 0, &Ty::Duration),
            f("max_attempts", 0, &Ty::Int),
            f("window", 0, &Ty::Duration),
        ]),
    ),
    f("rollback_config", 7, &Ty::Map(ROLLBACK_FIELDS)),
    f("update_config", 0, &Ty::Map(UPDATE_FIELDS)),
]);

pub static PORT: Ty = Ty::Map(&[
    f("mode", 2, &Ty::Str),
    f("protocol", 2, &Ty::Str),
    f("published", 2, &Ty::Int),
    f("target", 2, &Ty::Int),
]);

pub static VOLUME_MOUNT: Ty = Ty::Map(&[
    f("bind", 2, &Ty::Map(&[f("propagation", 2, &Ty::Str)])),
    f("consistency", 2, &Ty::Str),
    f("read_only", 2, &Ty::Bool),
    f("source", 2, &Ty::Str),
    f("target", 2, &Ty::Str),
    f("tmpfs", 6, &Ty::Map(&[f("size", 6, &Ty::Int)])),
    f("type", 2, &Ty::Str),
    f("volume", 2, &Ty::Map(&[f("nocopy", 2, &Ty::Bool)])),
]);

pub static FILE_REF: Ty = Ty::Map(&[
    f("gid", 1, &Ty::Str),
    f("mode", 1, &Ty::Num),
    f("source", 1, &Ty::Str),
    f("target", 1, &Ty::Str),
    f("uid", 1, &Ty::Str),
]);

pub static NETWORK: Ty = Ty::Map(&[
    f("attachable", 2, &Ty::Bool),
    f("driver", 0, &Ty::Str),
    f("driver_opts", 0, &DICT_OF_STR_NUM),
    f("external", 0, &Ty::External),
    f("internal", 0, &Ty::Bool),
    f(
        "ipam",
        0,
        &Ty::Map(&[
            f(
                "config",
                0,
                &Ty::List(&Ty::Map(&[f("subnet", 0, &Ty::Str)])),
            ),
            f("driver", 0, &Ty::Str),
        ]),
    ),
    f("labels", 0, &Ty::ListOrDict),
    f("name", 5, &Ty::Str),
    f("x-*", 7, &Ty::Any),
]);

pub static VOLUME: Ty = Ty::Map(&[
    f("driver", 0, &Ty::Str),
    f("driver_opts", 0, &DICT_OF_STR_NUM),
    f("external", 0, &Ty::External),
    f("labels", 0, &Ty::ListOrDict),
    f("name", 4, &Ty::Str),
    f("x-cluster-spec", 10, &Ty::Any),
    f("x-*", 7, &Ty::Any),
]);

pub static SECRET: Ty = Ty::Map(&[
    f("driver", 8, &Ty::Str),
    f("driver_opts", 8, &DICT_OF_STR_NUM),
    f("external", 1, &Ty::External),
    f("file", 1, &Ty::Str),
    f("labels", 1, &Ty::ListOrDict),
    f("name", 5, &Ty::Str),
    f("template_driver", 8, &Ty::Str),
    f("x-*", 7, &Ty::Any),
]);

pub static CONFIG: Ty = Ty::Map(&[
    f("external", 3, &Ty::External),
    f("file", 3, &Ty::Str),
    f("labels", 3, &Ty::ListOrDict),
    f("name", 5, &Ty::Str),
    f("template_driver", 8, &Ty::Str),
    f("x-*", 7, &Ty::Any),
]);

/// Checks a file's tree against the schema of `version`, recording where each key path was
/// written (`services.web.ports[0]`) for errors found later (after merging files).
pub struct Checker<'a> {
    pub file: &'a str,
    pub version: Version,
    pub positions: &'a mut BTreeMap<String, SourcePosition>,
}

impl Checker<'_> {
    fn error(&self, node: &Node, problem: Problem) -> ComposeError {
        ComposeError::at(self.file, node, problem)
    }

    fn wrong_type(&self, node: &Node, path: &str, expected: &'static str) -> ComposeError {
        self.error(
            node,
            Problem::WrongType {
                path: path.to_string(),
                expected,
                found: node.value.kind(),
            },
        )
    }

    fn record(&mut self, path: &str, node: &Node) {
        self.positions
            .insert(path.to_string(), SourcePosition::of(self.file, node));
    }

    /// Checks `node` (at `path`) against `ty`.
    pub fn check(&mut self, node: &Node, path: &str, ty: &Ty) -> Result<(), ComposeError> {
        self.record(path, node);
        let v = &node.value;
        match ty {
            Ty::Any => Ok(()),
            Ty::Str => match v {
                Yaml::Str(_) => Ok(()),
                _ => Err(self.wrong_type(node, path, "a string")),
            },
            Ty::Int => match v {
                Yaml::Int(_) => Ok(()),
                _ => Err(self.wrong_type(node, path, "an integer")),
            },
            Ty::Num => match v {
                Yaml::Int(_) | Yaml::Float(_) => Ok(()),
                _ => Err(self.wrong_type(node, path, "a number")),
            },
            Ty::Bool => match v {
                Yaml::Bool(_) => Ok(()),
                _ => Err(self.wrong_type(node, path, "true or false")),
            },
            Ty::Duration => match v {
                Yaml::Str(text) => values::parse_duration(text).map(|_| ()).map_err(|e| {
                    self.error(
                        node,
                        Problem::InvalidValue {
                            path: path.into(),
                            what: "duration",
                            value: text.clone(),
                            expected: e,
                        },
                    )
                }),
                _ => Err(self.wrong_type(node, path, "a duration string such as \"10s\"")),
            },
            Ty::StrOrNum => match v {
                Yaml::Str(_) | Yaml::Int(_) | Yaml::Float(_) => Ok(()),
                _ => Err(self.wrong_type(node, path, "a string or a number")),
            },
            Ty::StrNumOrNull => match v {
                Yaml::Str(_) | Yaml::Int(_) | Yaml::Float(_) | Yaml::Null => Ok(()),
                _ => Err(self.wrong_type(node, path, "a string, a number or null")),
            },
            Ty::StrOrNull => match v {
                Yaml::Str(_) | Yaml::Null => Ok(()),
                _ => Err(self.wrong_type(node, path, "a string or null")),
            },
            Ty::StrOrList => match v {
                Yaml::Str(_) => Ok(()),
                Yaml::List(_) => self.check(node, path, &Ty::ListOfStr),
                _ => Err(self.wrong_type(node, path, "a string or a list of strings")),
            },
            Ty::ListOfStr | Ty::ListOfStrDup => {
                let Yaml::List(items) = v else {
                    return Err(self.wrong_type(node, path, "a list of strings"));
                };
                let mut seen: Vec<&str> = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let item_path = format!("{path}[{i}]");
                    self.record(&item_path, item);
                    let Yaml::Str(text) = &item.value else {
                        return Err(self.wrong_type(item, &item_path, "a string"));
                    };
                    if matches!(ty, Ty::ListOfStr) && seen.contains(&text.as_str()) {
                        return Err(self.error(
                            item,
                            Problem::Duplicate {
                                path: path.into(),
                                value: text.clone(),
                            },
                        ));
                    }
                    seen.push(text);
                }
                Ok(())
            }
            Ty::ListOrDict => match v {
                Yaml::Map(_) => self.check(node, path, &Ty::Dict(&Ty::StrNumOrNull)),
                Yaml::List(_) => self.check(node, path, &Ty::ListOfStr),
                _ => Err(self.wrong_type(node, path, "a mapping or a list of strings")),
            },
            Ty::Command => match v {
                Yaml::Str(_) => Ok(()),
                Yaml::List(_) => self.check(node, path, &Ty::ListOfStrDup),
                _ => Err(self.wrong_type(node, path, "a string or a list of strings")),
            },
            Ty::HealthTest => self.check(node, path, &Ty::Command),
            Ty::Build => match v {
                Yaml::Str(_) => Ok(()),
                Yaml::Map(_) => self.check(node, path, &BUILD),
                _ => Err(self.wrong_type(node, path, "a path or a mapping")),
            },
            Ty::External => match v {
                Yaml::Bool(_) => Ok(()),
                Yaml::Map(_) => self.check(node, path, &EXTERNAL_NAME),
                _ => Err(self.wrong_type(node, path, "true, false or {name: NAME}")),
            },
            Ty::Ports => self.check_short_or_long(
                node,
                path,
                ShortOrLong {
                    what: "port",
                    list: "a list of ports",
                    item: "a port such as \"8080:80\" or a mapping",
                    long: &PORT,
                    needs_type: false,
                    numbers: true,
                    parse: |text| values::parse_port_spec(text).map(|_| ()),
                },
            ),
            Ty::Volumes => self.check_short_or_long(
                node,
                path,
                ShortOrLong {
                    what: "volume",
                    list: "a list of volumes",
                    item: "a volume such as \"data:/var/lib/data\" or a mapping",
                    long: &VOLUME_MOUNT,
                    needs_type: true,
                    numbers: false,
                    parse: |text| values::parse_volume_spec(text).map(|_| ()),
                },
            ),
            Ty::FileRefs => {
                let Yaml::List(items) = v else {
                    return Err(self.wrong_type(node, path, "a list of names or mappings"));
                };
                for (i, item) in items.iter().enumerate() {
                    let item_path = format!("{path}[{i}]");
                    self.record(&item_path, item);
                    match &item.value {
                        Yaml::Str(_) => {}
                        Yaml::Map(_) => self.check(item, &item_path, &FILE_REF)?,
                        _ => return Err(self.wrong_type(item, &item_path, "a name or a mapping")),
                    }
                }
                Ok(())
            }
            Ty::Ulimits => {
                let Yaml::Map(entries) = v else {
                    return Err(self.wrong_type(node, path, "a mapping of limits"));
                };
                for (key, value) in entries {
                    let name = self.key_text(key, path)?;
                    let item_path = format!("{path}.{name}");
                    if !name.chars().all(|c| c.is_ascii_lowercase()) || name.is_empty() {
                        return Err(self.error(
                            key,
                            Problem::InvalidValue {
                                path: item_path,
                                what: "ulimit name",
                                value: name,
                                expected: "lowercase letters, such as nofile or nproc".into(),
                            },
                        ));
                    }
                    self.record(&item_path, value);
                    match &value.value {
                        Yaml::Int(_) => {}
                        Yaml::Map(soft_hard) => {
                            self.check(value, &item_path, &SOFT_HARD)?;
                            for needed in ["soft", "hard"] {
                                if !soft_hard
                                    .iter()
                                    .any(|(k, _)| matches!(&k.value, Yaml::Str(k) if k == needed))
                                {
                                    return Err(self.error(
                                        value,
                                        Problem::MissingKey {
                                            path: item_path,
                                            key: if needed == "soft" { "soft" } else { "hard" },
                                            hint: "a limit is a number, or both `soft:` and `hard:`",
                                        },
                                    ));
                                }
                            }
                        }
                        _ => {
                            return Err(self.wrong_type(
                                value,
                                &item_path,
                                "a number or {soft: N, hard: N}",
                            ));
                        }
                    }
                }
                Ok(())
            }
            Ty::ServiceNetworks => match v {
                Yaml::List(items) => {
                    self.check(node, path, &Ty::ListOfStr)?;
                    // Conversion errors name networks by key path, as for the mapping form.
                    for item in items {
                        if let Yaml::Str(name) = &item.value {
                            self.record(&format!("{path}.{name}"), item);
                        }
                    }
                    Ok(())
                }
                Yaml::Map(_) => self.check(node, path, &Ty::NamedOrNull(&SERVICE_NETWORK)),
                _ => Err(self.wrong_type(node, path, "a list of network names or a mapping")),
            },
            Ty::Map(fields) => {
                let Yaml::Map(entries) = v else {
                    return Err(self.wrong_type(node, path, "a mapping"));
                };
                for (key, value) in entries {
                    let name = self.key_text(key, path)?;
                    let key_path = join(path, &name);
                    let field = if name.starts_with("x-") {
                        fields
                            .iter()
                            .find(|field| field.key == name)
                            .or_else(|| fields.iter().find(|field| field.key == "x-*"))
                    } else {
                        fields.iter().find(|field| field.key == name)
                    };
                    let Some(field) = field else {
                        return Err(self.error(
                            key,
                            Problem::UnknownKey {
                                key: name,
                                context: context_name(path),
                                allowed: fields
                                    .iter()
                                    .filter(|field| field.since <= self.version.0)
                                    .map(|field| field.key)
                                    .collect(),
                                version: self.version,
                            },
                        ));
                    };
                    if field.since > self.version.0 {
                        return Err(self.error(
                            key,
                            Problem::NeedsVersion {
                                what: format!("'{name}' in {}", context_name(path)),
                                since: Version(field.since),
                                version: self.version,
                            },
                        ));
                    }
                    self.check(value, &key_path, field.ty)?;
                    self.record(&key_path, key);
                }
                Ok(())
            }
            Ty::Named(inner) | Ty::NamedOrNull(inner) => {
                let Yaml::Map(entries) = v else {
                    return Err(self.wrong_type(node, path, "a mapping of names"));
                };
                for (key, value) in entries {
                    let name = self.key_text(key, path)?;
                    let key_path = join(path, &name);
                    if name.is_empty()
                        || !name
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
                    {
                        return Err(self.error(
                            key,
                            Problem::InvalidValue {
                                path: key_path,
                                what: "name",
                                value: name,
                                expected: "use letters, digits, '.', '_' and '-' only".into(),
                            },
                        ));
                    }
                    if matches!(ty, Ty::NamedOrNull(_)) && matches!(value.value, Yaml::Null) {
                        self.record(&key_path, key);
                        continue;
                    }
                    self.check(value, &key_path, inner)?;
                    self.record(&key_path, key);
                }
                Ok(())
            }
            Ty::Dict(inner) => {
                let Yaml::Map(entries) = v else {
                    return Err(self.wrong_type(node, path, "a mapping"));
                };
                for (key, value) in entries {
                    let name = self.key_text(key, path)?;
                    let key_path = join(path, &name);
                    self.check(value, &key_path, inner)?;
                    self.record(&key_path, key);
                }
                Ok(())
            }
            Ty::OrNull(inner) => match v {
                Yaml::Null => Ok(()),
                _ => self.check(node, path, inner),
            },
            Ty::List(inner) => {
                let Yaml::List(items) = v else {
                    return Err(self.wrong_type(node, path, "a list"));
                };
                for (i, item) in items.iter().enumerate() {
                    self.check(item, &format!("{path}[{i}]"), inner)?;
                }
                Ok(())
            }
        }
    }

    /// A list of short-syntax strings or (from 3.2) long-syntax mappings: `ports`, `volumes`.
    fn check_short_or_long(
        &mut self,
        node: &Node,
        path: &str,
        form: ShortOrLong,
    ) -> Result<(), ComposeError> {
        let Yaml::List(items) = &node.value else {
            return Err(self.wrong_type(node, path, form.list));
        };
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            self.record(&item_path, item);
            match &item.value {
                Yaml::Str(_) | Yaml::Int(_) | Yaml::Float(_)
                    if form.numbers || matches!(item.value, Yaml::Str(_)) =>
                {
                    let text = item.value.scalar_text().unwrap_or_default();
                    (form.parse)(&text).map_err(|expected| {
                        self.error(
                            item,
                            Problem::InvalidValue {
                                path: item_path.clone(),
                                what: form.what,
                                value: text.clone(),
                                expected,
                            },
                        )
                    })?;
                }
                Yaml::Map(entries) if self.version.0 >= 2 => {
                    self.check(item, &item_path, form.long)?;
                    let has_type = entries
                        .iter()
                        .any(|(k, _)| matches!(&k.value, Yaml::Str(k) if k == "type"));
                    if form.needs_type && !has_type {
                        return Err(self.error(
                            item,
                            Problem::MissingKey {
                                path: item_path,
                                key: "type",
                                hint: "the long syntax needs `type: volume`, `bind` or `tmpfs`",
                            },
                        ));
                    }
                }
                Yaml::Map(_) => {
                    return Err(self.error(
                        item,
                        Problem::NeedsVersion {
                            what: format!("the long syntax of {}s", form.what),
                            since: Version(2),
                            version: self.version,
                        },
                    ));
                }
                _ => return Err(self.wrong_type(item, &item_path, form.item)),
            }
        }
        Ok(())
    }

    fn key_text(&self, key: &Node, path: &str) -> Result<String, ComposeError> {
        match &key.value {
            Yaml::Str(text) => Ok(text.clone()),
            Yaml::Int(_) | Yaml::Float(_) | Yaml::Bool(_) => {
                Ok(key.value.scalar_text().unwrap_or_default())
            }
            _ => Err(self.wrong_type(key, path, "a mapping whose keys are names")),
        }
    }
}

/// How a list of short-or-long entries reads (see [`Checker::check_short_or_long`]).
struct ShortOrLong {
    what: &'static str,
    list: &'static str,
    item: &'static str,
    long: &'static Ty,
    /// The long syntax needs `type:`.
    needs_type: bool,
    /// Numbers are short syntax too (`ports: [80]`).
    numbers: bool,
    parse: fn(&str) -> Result<(), String>,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// How a mapping is named in messages: `the top level`, `services.web.deploy`.
fn context_name(path: &str) -> String {
    if path.is_empty() {
        "the top level".into()
    } else {
        path.to_string()
    }
}

/// Keys of a service the docker CLI ignores with "Ignoring unsupported options: ...".
pub const UNSUPPORTED: &[&str] = &[
    "build",
    "cgroupns_mode",
    "cgroup_parent",
    "devices",
    "domainname",
    "external_links",
    "ipc",
    "links",
    "mac_address",
    "network_mode",
    "pid",
    "privileged",
    "restart",
    "security_opt",
    "shm_size",
    "userns_mode",
];

/// Keys of a service the docker CLI ignores with "Ignoring deprecated options", and why.
pub const DEPRECATED: &[(&str, &str)] = &[
    (
        "container_name",
        "Setting the container name is not supported.",
    ),
    (
        "expose",
        "Exposing ports is unnecessary - services on the same network can access each other's containers on any port.",
    ),
];

/// Keys of a service the docker CLI refuses, and what to do instead.
pub const FORBIDDEN: &[(&str, &str)] = &[
    ("extends", "Support for `extends` is not implemented yet."),
    (
        "volume_driver",
        "Instead of setting the volume driver on the service, define a volume using the top-level `volumes` option and specify the driver there.",
    ),
    (
        "volumes_from",
        "To share a volume between services, define it using the top-level `volumes` option and reference it from each service that shares it using the service-level `volumes` option.",
    ),
    ("cpu_quota", "Set resource limits using deploy.resources"),
    ("cpu_shares", "Set resource limits using deploy.resources"),
    ("cpuset", "Set resource limits using deploy.resources"),
    ("mem_limit", "Set resource limits using deploy.resources"),
    (
        "memswap_limit",
        "Set resource limits using deploy.resources",
    ),
];
