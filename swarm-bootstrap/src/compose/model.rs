//! A compose file as the docker CLI holds it after loading (its `types.Config`), read from a
//! tree the schema already checked: flexible forms (`list or mapping`, `string or list`,
//! short syntax) are made uniform here, so merging and converting see one shape.

use std::collections::BTreeMap;

use serde_json::Value;

use super::values::{self, PortConfig};

#[derive(Debug, Clone, Default)]
pub struct Config {
    pub services: BTreeMap<String, Service>,
    pub networks: BTreeMap<String, Network>,
    pub volumes: BTreeMap<String, Volume>,
    pub secrets: BTreeMap<String, FileObject>,
    pub configs: BTreeMap<String, FileObject>,
}

#[derive(Debug, Clone, Default)]
pub struct Service {
    pub image: Option<String>,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    /// Before env files and the environment are resolved: None is `KEY` without a value.
    pub environment: BTreeMap<String, Option<String>>,
    pub env_file: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub hostname: Option<String>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub stop_signal: Option<String>,
    pub stop_grace_period: Option<i64>,
    pub isolation: Option<String>,
    pub sysctls: BTreeMap<String, String>,
    pub ulimits: BTreeMap<String, Ulimit>,
    pub init: Option<bool>,
    pub read_only: Option<bool>,
    pub tty: Option<bool>,
    pub stdin_open: Option<bool>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub dns: Option<Vec<String>>,
    pub dns_search: Option<Vec<String>>,
    /// `host:ip`, in file order.
    pub extra_hosts: Vec<String>,
    pub logging: Option<Logging>,
    pub healthcheck: Option<Healthcheck>,
    pub deploy: Deploy,
    pub ports: Vec<PortConfig>,
    /// The docker CLI's warnings about short-syntax ports (a host IP it ignores).
    pub port_warnings: Vec<String>,
    /// None when the service names no networks.
    pub networks: Option<BTreeMap<String, Option<ServiceNetwork>>>,
    pub volumes: Vec<ServiceVolume>,
    pub secrets: Vec<FileReference>,
    pub configs: Vec<FileReference>,
    pub restart: Option<String>,
    pub credential_spec: CredentialSpec,
    pub oom_score_adj: Option<i64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ulimit {
    pub single: i64,
    pub soft: i64,
    pub hard: i64,
}

#[derive(Debug, Clone, Default)]
pub struct Logging {
    pub driver: String,
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default)]
pub struct Healthcheck {
    pub test: Vec<String>,
    pub timeout: Option<i64>,
    pub interval: Option<i64>,
    pub retries: Option<u64>,
    pub start_period: Option<i64>,
    pub start_interval: Option<i64>,
    pub disable: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Deploy {
    pub mode: Option<String>,
    pub replicas: Option<u64>,
    pub labels: BTreeMap<String, String>,
    pub update_config: Option<UpdateConfig>,
    pub rollback_config: Option<UpdateConfig>,
    pub limits: Option<ResourceLimits>,
    pub reservations: Option<ResourceReservations>,
    pub restart_policy: Option<RestartPolicy>,
    pub constraints: Vec<String>,
    pub preferences: Vec<String>,
    pub max_replicas_per_node: Option<u64>,
    pub endpoint_mode: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct UpdateConfig {
    pub parallelism: Option<u64>,
    pub delay: i64,
    pub failure_action: String,
    pub monitor: i64,
    pub max_failure_ratio: f64,
    pub order: String,
}

#[derive(Debug, Clone, Default)]
pub struct ResourceLimits {
    pub cpus: Option<String>,
    pub memory: Option<String>,
    pub pids: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct ResourceReservations {
    pub cpus: Option<String>,
    pub memory: Option<String>,
    /// (kind, value) of discrete generic resources.
    pub generic: Vec<(String, i64)>,
}

#[derive(Debug, Clone, Default)]
pub struct RestartPolicy {
    pub condition: Option<String>,
    pub delay: Option<i64>,
    pub max_attempts: Option<u64>,
    pub window: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct ServiceNetwork {
    pub aliases: Vec<String>,
    pub driver_opts: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default)]
pub struct ServiceVolume {
    pub kind: String,
    pub source: String,
    pub target: String,
    pub read_only: bool,
    pub consistency: String,
    pub propagation: Option<String>,
    pub nocopy: Option<bool>,
    pub tmpfs_size: Option<i64>,
    /// Which option blocks the long syntax set (`bind`, `volume`, `tmpfs`), to refuse those that
    /// do not fit the type.
    pub option_blocks: Vec<&'static str>,
}

#[derive(Debug, Clone, Default)]
pub struct FileReference {
    pub source: String,
    pub target: Option<String>,
    pub uid: Option<String>,
    pub gid: Option<String>,
    pub mode: Option<u32>,
}

#[derive(Debug, Clone, Default)]
pub struct CredentialSpec {
    pub config: Option<String>,
    pub file: Option<String>,
    pub registry: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct External {
    pub external: bool,
    /// The deprecated `external: {name: ...}`.
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Network {
    pub name: Option<String>,
    pub driver: Option<String>,
    pub driver_opts: BTreeMap<String, String>,
    pub ipam_driver: Option<String>,
    pub ipam_subnets: Vec<String>,
    pub external: External,
    pub internal: bool,
    pub attachable: bool,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default)]
pub struct Volume {
    pub name: Option<String>,
    pub driver: Option<String>,
    /// None when the file has no `driver_opts`.
    pub driver_opts: Option<BTreeMap<String, String>>,
    pub external: External,
    pub labels: BTreeMap<String, String>,
}

/// A top-level secret or config.
#[derive(Debug, Clone, Default)]
pub struct FileObject {
    pub name: Option<String>,
    pub file: Option<String>,
    pub external: External,
    pub labels: BTreeMap<String, String>,
    pub driver: Option<String>,
    pub driver_opts: BTreeMap<String, String>,
    pub template_driver: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Reading a checked tree (as JSON).

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn get_str(v: &Value, key: &str) -> Option<String> {
    v.get(key).filter(|v| !v.is_null()).map(text)
}

fn get_bool(v: &Value, key: &str) -> Option<bool> {
    v.get(key).and_then(Value::as_bool)
}

fn get_i64(v: &Value, key: &str) -> Option<i64> {
    v.get(key)
        .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
}

fn get_duration(v: &Value, key: &str) -> Option<i64> {
    v.get(key)
        .and_then(Value::as_str)
        .and_then(|d| values::parse_duration(d).ok())
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items.iter().map(text).collect(),
        _ => Vec::new(),
    }
}

/// `list_or_dict` as a mapping: `KEY=VALUE` items split at the first `=` (a missing value is
/// empty), mapping values as text (null is empty).
fn mapping(v: Option<&Value>) -> BTreeMap<String, String> {
    mapping_with_nil(v)
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect()
}

/// Like [`mapping`], keeping "no value" (`KEY`, `KEY:` with null) apart from empty.
fn mapping_with_nil(v: Option<&Value>) -> BTreeMap<String, Option<String>> {
    match v {
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| (k.clone(), (!v.is_null()).then(|| text(v))))
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                let item = text(item);
                match item.split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (item, None),
                }
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

fn driver_opts(v: Option<&Value>) -> BTreeMap<String, String> {
    match v {
        Some(Value::Object(map)) => map.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
        _ => BTreeMap::new(),
    }
}

fn command(v: Option<&Value>) -> Result<Option<Vec<String>>, String> {
    match v {
        Some(Value::String(line)) => shell_words::split(line)
            .map(Some)
            .map_err(|e| format!("cannot split '{line}' into words: {e}")),
        Some(Value::Array(items)) => Ok(Some(items.iter().map(text).collect())),
        _ => Ok(None),
    }
}

fn external(v: Option<&Value>) -> External {
    match v {
        Some(Value::Bool(b)) => External {
            external: *b,
            name: None,
        },
        Some(Value::Object(map)) => External {
            external: true,
            name: map.get("name").map(text),
        },
        _ => External::default(),
    }
}

fn update_config(v: Option<&Value>) -> Option<UpdateConfig> {
    let v = v.filter(|v| v.is_object())?;
    Some(UpdateConfig {
        parallelism: get_i64(v, "parallelism").map(|p| p.max(0) as u64),
        delay: get_duration(v, "delay").unwrap_or(0),
        failure_action: get_str(v, "failure_action").unwrap_or_default(),
        monitor: get_duration(v, "monitor").unwrap_or(0),
        max_failure_ratio: v
            .get("max_failure_ratio")
            .and_then(Value::as_f64)
            // The docker CLI holds it as a float32.
            .map(|r| f64::from(r as f32))
            .unwrap_or(0.0),
        order: get_str(v, "order").unwrap_or_default(),
    })
}

/// Reads a checked service; errors are (key path relative to the service, message).
pub fn read_service(v: &Value) -> Result<Service, (String, String)> {
    let mut s = Service {
        image: get_str(v, "image"),
        command: command(v.get("command")).map_err(|e| ("command".to_string(), e))?,
        entrypoint: command(v.get("entrypoint")).map_err(|e| ("entrypoint".to_string(), e))?,
        environment: mapping_with_nil(v.get("environment")),
        env_file: string_list(v.get("env_file")),
        labels: mapping(v.get("labels")),
        hostname: get_str(v, "hostname"),
        user: get_str(v, "user"),
        working_dir: get_str(v, "working_dir"),
        stop_signal: get_str(v, "stop_signal"),
        stop_grace_period: get_duration(v, "stop_grace_period"),
        isolation: get_str(v, "isolation"),
        sysctls: mapping(v.get("sysctls")),
        init: get_bool(v, "init"),
        read_only: get_bool(v, "read_only"),
        tty: get_bool(v, "tty"),
        stdin_open: get_bool(v, "stdin_open"),
        cap_add: string_list(v.get("cap_add")),
        cap_drop: string_list(v.get("cap_drop")),
        dns: v.get("dns").map(|d| string_list(Some(d))),
        dns_search: v.get("dns_search").map(|d| string_list(Some(d))),
        restart: get_str(v, "restart"),
        oom_score_adj: get_i64(v, "oom_score_adj"),
        ..Service::default()
    };
    if let Some(Value::Object(limits)) = v.get("ulimits") {
        for (name, limit) in limits {
            let ulimit = match limit {
                Value::Object(_) => Ulimit {
                    single: 0,
                    soft: get_i64(limit, "soft").unwrap_or(0),
                    hard: get_i64(limit, "hard").unwrap_or(0),
                },
                other => Ulimit {
                    single: other.as_i64().unwrap_or(0),
                    soft: 0,
                    hard: 0,
                },
            };
            s.ulimits.insert(name.clone(), ulimit);
        }
    }
    s.extra_hosts = match v.get("extra_hosts") {
        Some(Value::Object(map)) => {
            let mut hosts: Vec<String> = map
                .iter()
                .filter(|(_, ip)| !ip.is_null())
                .map(|(host, ip)| format!("{host}:{}", text(ip)))
                .collect();
            hosts.sort();
            hosts
        }
        Some(Value::Array(items)) => items
            .iter()
            .map(text)
            .filter_map(|entry| {
                let (host, ip) = entry.split_once('=').or_else(|| entry.split_once(':'))?;
                let ip = ip
                    .strip_prefix('[')
                    .and_then(|i| i.strip_suffix(']'))
                    .filter(|i| !i.is_empty())
                    .unwrap_or(ip);
                Some(format!("{host}:{ip}"))
            })
            .collect(),
        _ => Vec::new(),
    };
    if let Some(logging) = v.get("logging").filter(|l| l.is_object()) {
        s.logging = Some(Logging {
            driver: get_str(logging, "driver").unwrap_or_default(),
            options: driver_opts(logging.get("options")),
        });
    }
    if let Some(h) = v.get("healthcheck").filter(|h| h.is_object()) {
        let test = match h.get("test") {
            Some(Value::String(line)) => vec!["CMD-SHELL".to_string(), line.clone()],
            Some(Value::Array(items)) => items.iter().map(text).collect(),
            _ => Vec::new(),
        };
        s.healthcheck = Some(Healthcheck {
            test,
            timeout: get_duration(h, "timeout"),
            interval: get_duration(h, "interval"),
            retries: get_i64(h, "retries").map(|r| r.max(0) as u64),
            start_period: get_duration(h, "start_period"),
            start_interval: get_duration(h, "start_interval"),
            disable: get_bool(h, "disable").unwrap_or(false),
        });
    }
    if let Some(d) = v.get("deploy").filter(|d| d.is_object()) {
        let placement = d.get("placement");
        let resources = d.get("resources");
        s.deploy = Deploy {
            mode: get_str(d, "mode"),
            replicas: get_i64(d, "replicas").map(|r| r.max(0) as u64),
            labels: mapping(d.get("labels")),
            update_config: update_config(d.get("update_config")),
            rollback_config: update_config(d.get("rollback_config")),
            limits: resources
                .and_then(|r| r.get("limits"))
                .filter(|l| l.is_object())
                .map(|l| ResourceLimits {
                    cpus: get_str(l, "cpus"),
                    memory: get_str(l, "memory"),
                    pids: get_i64(l, "pids"),
                }),
            reservations: resources
                .and_then(|r| r.get("reservations"))
                .filter(|r| r.is_object())
                .map(|r| ResourceReservations {
                    cpus: get_str(r, "cpus"),
                    memory: get_str(r, "memory"),
                    generic: r
                        .get("generic_resources")
                        .and_then(Value::as_array)
                        .map(|items| {
                            items
                                .iter()
                                .filter_map(|g| g.get("discrete_resource_spec"))
                                .map(|spec| {
                                    (
                                        get_str(spec, "kind").unwrap_or_default(),
                                        get_i64(spec, "value").unwrap_or(0),
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                }),
            restart_policy: d.get("restart_policy").filter(|r| r.is_object()).map(|r| {
                RestartPolicy {
                    condition: get_str(r, "condition"),
                    delay: get_duration(r, "delay"),
                    max_attempts: get_i64(r, "max_attempts").map(|m| m.max(0) as u64),
                    window: get_duration(r, "window"),
                }
            }),
            constraints: placement
                .map(|p| string_list(p.get("constraints")))
                .unwrap_or_default(),
            preferences: placement
                .and_then(|p| p.get("preferences"))
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .map(|p| get_str(p, "spread").unwrap_or_default())
                        .collect()
                })
                .unwrap_or_default(),
            max_replicas_per_node: placement
                .and_then(|p| get_i64(p, "max_replicas_per_node"))
                .map(|m| m.max(0) as u64),
            endpoint_mode: get_str(d, "endpoint_mode"),
        };
    }
    if let Some(Value::Array(ports)) = v.get("ports") {
        for (i, port) in ports.iter().enumerate() {
            match port {
                Value::Object(_) => s.ports.push(PortConfig {
                    target: get_i64(port, "target").unwrap_or(0) as u32,
                    published: get_i64(port, "published").unwrap_or(0) as u32,
                    protocol: get_str(port, "protocol").unwrap_or_default(),
                    mode: get_str(port, "mode").unwrap_or_default(),
                }),
                other => {
                    let (parsed, warning) = values::parse_port_spec(&text(other))
                        .map_err(|e| (format!("ports[{i}]"), e))?;
                    s.ports.extend(parsed);
                    s.port_warnings.extend(warning);
                }
            }
        }
    }
    s.networks = match v.get("networks") {
        Some(Value::Array(names)) => Some(names.iter().map(|n| (text(n), None)).collect()),
        Some(Value::Object(map)) => Some(
            map.iter()
                .map(|(name, settings)| {
                    let settings = settings.is_object().then(|| ServiceNetwork {
                        aliases: string_list(settings.get("aliases")),
                        driver_opts: driver_opts(settings.get("driver_opts")),
                    });
                    (name.clone(), settings)
                })
                .collect(),
        ),
        _ => None,
    };
    if let Some(Value::Array(volumes)) = v.get("volumes") {
        for (i, volume) in volumes.iter().enumerate() {
            let parsed = match volume {
                Value::String(spec) => {
                    let spec = values::parse_volume_spec(spec)
                        .map_err(|e| (format!("volumes[{i}]"), e))?;
                    let mut option_blocks = Vec::new();
                    if spec.propagation.is_some() {
                        option_blocks.push("bind");
                    }
                    if spec.nocopy {
                        option_blocks.push("volume");
                    }
                    ServiceVolume {
                        kind: spec.kind,
                        source: spec.source,
                        target: spec.target,
                        read_only: spec.read_only,
                        consistency: String::new(),
                        propagation: spec.propagation,
                        nocopy: spec.nocopy.then_some(true),
                        tmpfs_size: None,
                        option_blocks,
                    }
                }
                long => {
                    let mut option_blocks = Vec::new();
                    for block in ["bind", "volume", "tmpfs"] {
                        if long.get(block).is_some_and(|b| !b.is_null()) {
                            option_blocks.push(block);
                        }
                    }
                    ServiceVolume {
                        kind: get_str(long, "type").unwrap_or_default(),
                        source: get_str(long, "source").unwrap_or_default(),
                        target: get_str(long, "target").unwrap_or_default(),
                        read_only: get_bool(long, "read_only").unwrap_or(false),
                        consistency: get_str(long, "consistency").unwrap_or_default(),
                        propagation: long.get("bind").and_then(|b| get_str(b, "propagation")),
                        nocopy: long.get("volume").and_then(|b| get_bool(b, "nocopy")),
                        tmpfs_size: long.get("tmpfs").and_then(|t| get_i64(t, "size")),
                        option_blocks,
                    }
                }
            };
            s.volumes.push(parsed);
        }
    }
    s.secrets = file_refs(v.get("secrets"));
    s.configs = file_refs(v.get("configs"));
    if let Some(c) = v.get("credential_spec").filter(|c| c.is_object()) {
        s.credential_spec = CredentialSpec {
            config: get_str(c, "config"),
            file: get_str(c, "file"),
            registry: get_str(c, "registry"),
        };
    }
    Ok(s)
}

fn file_refs(v: Option<&Value>) -> Vec<FileReference> {
    let Some(Value::Array(items)) = v else {
        return Vec::new();
    };
    items
        .iter()
        .map(|item| match item {
            Value::String(source) => FileReference {
                source: source.clone(),
                ..FileReference::default()
            },
            other => FileReference {
                source: get_str(other, "source").unwrap_or_default(),
                target: get_str(other, "target"),
                uid: get_str(other, "uid"),
                gid: get_str(other, "gid"),
                mode: get_i64(other, "mode").map(|m| m as u32),
            },
        })
        .collect()
}

pub fn read_network(v: &Value) -> Network {
    let ipam = v.get("ipam");
    Network {
        name: get_str(v, "name"),
        driver: get_str(v, "driver"),
        driver_opts: driver_opts(v.get("driver_opts")),
        ipam_driver: ipam.and_then(|i| get_str(i, "driver")),
        ipam_subnets: ipam
            .and_then(|i| i.get("config"))
            .and_then(Value::as_array)
            .map(|c| {
                c.iter()
                    .map(|p| get_str(p, "subnet").unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default(),
        external: external(v.get("external")),
        internal: get_bool(v, "internal").unwrap_or(false),
        attachable: get_bool(v, "attachable").unwrap_or(false),
        labels: mapping(v.get("labels")),
    }
}

pub fn read_volume(v: &Value) -> Volume {
    Volume {
        name: get_str(v, "name"),
        driver: get_str(v, "driver"),
        driver_opts: v
            .get("driver_opts")
            .filter(|o| o.is_object())
            .map(|o| driver_opts(Some(o))),
        external: external(v.get("external")),
        labels: mapping(v.get("labels")),
    }
}

pub fn read_file_object(v: &Value) -> FileObject {
    FileObject {
        name: get_str(v, "name"),
        file: get_str(v, "file"),
        external: external(v.get("external")),
        labels: mapping(v.get("labels")),
        driver: get_str(v, "driver"),
        driver_opts: driver_opts(v.get("driver_opts")),
        template_driver: get_str(v, "template_driver"),
    }
}
