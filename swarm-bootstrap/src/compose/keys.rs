//! The rules of compose file formats 3.0 to 3.13 as data: for every mapping, its keys, the
//! version that introduced each and the type of its value (read from the docker CLI's JSON
//! schemas, `cli/compose/schema/data`), and the service keys the docker CLI ignores or refuses.
//! [`super::schema`] checks a file against them.

use super::yaml::{Node, Yaml};
use super::{ComposeError, Problem};

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

pub(super) static EXTERNAL_NAME: Ty = Ty::Map(&[f("name", 0, &Ty::Str)]);
pub(super) static SOFT_HARD: Ty = Ty::Map(&[f("hard", 0, &Ty::Int), f("soft", 0, &Ty::Int)]);
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
