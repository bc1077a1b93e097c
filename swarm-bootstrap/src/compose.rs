//! Compose v3 stack files, read the way `docker stack deploy -c FILE NAME` reads them, into the
//! stack model of [`crate::stack`].
//!
//! vswarm deploys through the Engine API rather than the docker CLI, so it needs the file as
//! data; and a file a person wrote deserves errors that point at the place to fix. Every error
//! about the file's content reads `FILE:LINE:COL: what was wrong`, followed by how to fix it.
//!
//! How: the YAML (anchors, aliases and `<<` merge keys included, resolved by serde-saphyr) is
//! first read into a small tree whose every node knows where it was written ([`Spanned`]); that
//! tree is then interpreted key by key. Interpreting by hand rather than deriving `Deserialize`
//! structs lets an error name the service it is in and list the keys that would have been
//! accepted, and lets values that are valid YAML but wrong for swarm (a port bound to a host IP,
//! `512Q` of memory, an undeclared network) be reported at their own line and column.
//!
//! Supported keys; any other key is an error naming it, because silently dropping it would
//! deploy something other than what the file says:
//! - top level: `version` (ignored), `services`, `networks`, and `x-*` extension keys (ignored,
//!   so anchors can be defined there);
//! - per service: `image` (required), `command`, `entrypoint`, `environment`, `ports` (short and
//!   long form), `networks`, `labels`, and `deploy` with `mode`, `replicas`, `endpoint_mode`,
//!   `placement.constraints`, `labels`, `resources.limits|reservations.cpus|memory`;
//! - per network: `driver`, `attachable`, `labels`, `external: true`.
//!
//! As docker does: a service without `networks` is attached to the stack's `default` overlay
//! network, which exists without being declared; declared networks no service uses are left out;
//! a port range (`"8000-8001:80-81"`) publishes one port per pair; a key whose value is empty
//! (`ports:`) counts as absent. Names stay stack-local: deployment prefixes them with the stack
//! name, so service and network names are checked here against swarm's rule for the prefixed
//! name (letters and digits with `-` or `_` between them, at most 63 characters).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{MessageFormatter, Spanned, UserMessageFormatter};

use crate::stack::{
    EndpointMode, NetworkSpec, PortSpec, PublishMode, ResourceAmounts, Resources, ServiceMode,
    ServiceSpec, StackSpec,
};

/// Keys accepted at the top level of the file (`x-*` stands for any extension key).
pub const TOP_LEVEL_KEYS: &[&str] = &["version", "services", "networks", "x-*"];
/// Keys accepted in a service.
pub const SERVICE_KEYS: &[&str] = &[
    "image",
    "command",
    "entrypoint",
    "environment",
    "ports",
    "networks",
    "labels",
    "deploy",
];
/// Keys accepted in a service's `deploy` section.
pub const DEPLOY_KEYS: &[&str] = &[
    "mode",
    "replicas",
    "endpoint_mode",
    "placement",
    "labels",
    "resources",
];
/// Keys accepted in `deploy.placement`.
pub const PLACEMENT_KEYS: &[&str] = &["constraints"];
/// Keys accepted in `deploy.resources`.
pub const RESOURCES_KEYS: &[&str] = &["limits", "reservations"];
/// Keys accepted in `deploy.resources.limits` and `deploy.resources.reservations`.
pub const RESOURCE_AMOUNT_KEYS: &[&str] = &["cpus", "memory"];
/// Keys accepted in a long-form port.
pub const PORT_KEYS: &[&str] = &["target", "published", "protocol", "mode"];
/// Keys accepted in a top-level network.
pub const NETWORK_KEYS: &[&str] = &["driver", "attachable", "labels", "external"];

/// The network services without `networks` are attached to; it needs no declaration.
const DEFAULT_NETWORK: &str = "default";
/// Swarm refuses service and network names (stack prefix included) longer than this.
const MAX_SWARM_NAME_LEN: usize = 63;

/// Reads the compose file at `path` into the stack `stack`.
pub fn load_compose(path: &Path, stack: &str) -> Result<StackSpec, ComposeError> {
    validate_stack_name(stack)?;
    let text = std::fs::read_to_string(path).map_err(|source| ComposeError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    read_stack(&path.display().to_string(), &text, stack)
}

/// Reads compose file `text` into the stack `stack`; `file_name` is only used in error messages.
pub fn parse_compose(file_name: &str, text: &str, stack: &str) -> Result<StackSpec, ComposeError> {
    validate_stack_name(stack)?;
    read_stack(file_name, text, stack)
}

/// Why a compose file could not be read into a stack.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("{}: cannot read the compose file: {source} (check the path and its permissions)", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
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
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
        "unsupported key '{key}' in {context} (vswarm supports: {}); remove it or move it where it belongs",
        supported.join(", ")
    )]
    UnsupportedKey {
        key: String,
        context: String,
        supported: &'static [&'static str],
    },
    #[error("'{path}' must be {expected}, not {found}")]
    WrongType {
        path: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("'{path}' needs '{key}': {hint}")]
    MissingKey {
        path: String,
        key: &'static str,
        hint: &'static str,
    },
    #[error(
        "service '{service}' has no image: add `image: NAME[:TAG]` (vswarm deploys images, it does not build them)"
    )]
    MissingImage { service: String },
    #[error(
        "service '{service}' sets 'replicas' with 'mode: global', which runs exactly one task per node: remove 'replicas' or use 'mode: replicated'"
    )]
    ReplicasWithGlobalMode { service: String },
    #[error("invalid {what} '{value}' at '{path}': {expected}")]
    InvalidValue {
        path: String,
        what: &'static str,
        value: String,
        expected: String,
    },
    #[error(
        "port '{spec}' at '{path}' binds the host address '{host_ip}', which swarm cannot do: remove '{host_ip}:' (swarm publishes on every node's addresses)"
    )]
    PortHostIp {
        path: String,
        spec: String,
        host_ip: String,
    },
    #[error(
        "service '{service}' uses network '{network}', which is not declared under the top-level 'networks:' ({}): declare it there or fix the name",
        declared_list(declared)
    )]
    UndeclaredNetwork {
        service: String,
        network: String,
        declared: Vec<String>,
    },
    #[error(
        "unsupported key '{key}' for network '{network}' of service '{service}': vswarm attaches services to networks without per-service settings (services reach each other by service name); list the network by name only, as in `networks: [{network}]`"
    )]
    NetworkAttachmentSetting {
        service: String,
        network: String,
        key: String,
    },
    #[error(
        "network '{network}' names an existing network with 'external: {{name: ...}}', which vswarm does not support: name the key after the existing network and write `external: true`"
    )]
    ExternalNetworkName { network: String },
    #[error(
        "network '{network}' is external but sets '{key}': an external network already exists and is used as it is; remove '{key}'"
    )]
    ExternalNetworkSettings { network: String, key: String },
}

fn declared_list(declared: &[String]) -> String {
    if declared.is_empty() {
        "the file declares none".to_string()
    } else {
        format!("declared: {}", declared.join(", "))
    }
}

/// Docker's rule for stack names: lowercase letters, digits, `-` and `_`, starting with a letter
/// or a digit.
fn validate_stack_name(stack: &str) -> Result<(), ComposeError> {
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

// ---------------------------------------------------------------------------------------------
// The YAML tree.

/// A YAML value with where it was written.
type Node = Spanned<Yaml>;

/// A YAML value, aliases and merge keys already resolved.
#[derive(Debug)]
enum Yaml {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    List(Vec<Node>),
    /// Entries in file order.
    Map(Vec<(Node, Node)>),
}

impl Yaml {
    /// How the value is described in "must be X, not Y" messages.
    fn kind(&self) -> &'static str {
        match self {
            Yaml::Null => "empty (null)",
            Yaml::Bool(_) => "a boolean",
            Yaml::Int(_) => "an integer",
            Yaml::Float(_) => "a decimal number",
            Yaml::Str(_) => "a string",
            Yaml::List(_) => "a list",
            Yaml::Map(_) => "a mapping",
        }
    }

    /// The text of a string or a number; None for anything else.
    fn number_or_string_text(&self) -> Option<String> {
        match self {
            Yaml::Int(_) | Yaml::Float(_) | Yaml::Str(_) => self.scalar_text(),
            Yaml::Null | Yaml::Bool(_) | Yaml::List(_) | Yaml::Map(_) => None,
        }
    }

    /// The text of a scalar (as docker turns numbers and booleans into strings); None for null
    /// and collections.
    fn scalar_text(&self) -> Option<String> {
        match self {
            Yaml::Bool(value) => Some(value.to_string()),
            Yaml::Int(value) => Some(value.to_string()),
            Yaml::Float(value) => Some(value.to_string()),
            Yaml::Str(value) => Some(value.clone()),
            Yaml::Null | Yaml::List(_) | Yaml::Map(_) => None,
        }
    }
}

impl<'de> Deserialize<'de> for Yaml {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(YamlVisitor)
    }
}

struct YamlVisitor;

impl<'de> Visitor<'de> for YamlVisitor {
    type Value = Yaml;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Yaml, E> {
        Ok(Yaml::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Yaml, E> {
        Ok(Yaml::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Yaml, D::Error> {
        Yaml::deserialize(deserializer)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Yaml, E> {
        Ok(Yaml::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Yaml, E> {
        Ok(Yaml::Int(value.into()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Yaml, E> {
        Ok(Yaml::Int(value.into()))
    }

    fn visit_i128<E: de::Error>(self, value: i128) -> Result<Yaml, E> {
        Ok(Yaml::Int(value))
    }

    fn visit_u128<E: de::Error>(self, value: u128) -> Result<Yaml, E> {
        i128::try_from(value)
            .map(Yaml::Int)
            .map_err(|_| E::custom(format!("the number {value} is too large")))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Yaml, E> {
        Ok(Yaml::Float(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Yaml, E> {
        Ok(Yaml::Str(value.to_string()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Yaml, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Yaml::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Yaml, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Node>()? {
            let value = map.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(Yaml::Map(entries))
    }
}

/// Parses the single YAML document of `text`; None when there is none.
fn parse_yaml(file: &str, text: &str) -> Result<Option<Node>, ComposeError> {
    let options = serde_saphyr::options! {
        // `yes`, `on`... stay strings, as in YAML 1.2 and docker.
        strict_booleans: true,
        // `ZIP: 01234` and `1_000` keep their spelling.
        leading_zero_numbers_as_strings: true,
        underscored_numbers_as_strings: true,
        reject_unsupported_tags: true,
        with_snippet: false,
    };
    serde_saphyr::from_str_with_options::<Option<Node>>(text, options)
        .map_err(|error| yaml_error(file, &error))
}

fn yaml_error(file: &str, error: &serde_saphyr::Error) -> ComposeError {
    let mut original = error;
    while let serde_saphyr::Error::AliasError { error: inner, .. }
    | serde_saphyr::Error::WithSnippet { error: inner, .. } = original
    {
        original = inner;
    }
    let message: String = UserMessageFormatter
        .format_message(original)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let (line, column) = error
        .location()
        .map_or((0, 0), |location| (location.line(), location.column()));
    ComposeError::Yaml {
        at: SourcePosition {
            file: file.to_string(),
            line,
            column,
            reached_from: None,
        },
        message,
    }
}

// ---------------------------------------------------------------------------------------------
// Interpreting the tree.

/// A `key: value` entry of a mapping.
struct Entry<'n> {
    key: String,
    key_node: &'n Node,
    value: &'n Node,
}

impl Entry<'_> {
    /// The key path of the value, `parent.key` (just `key` at the top level).
    fn path(&self, parent: &str) -> String {
        if parent.is_empty() {
            self.key.clone()
        } else {
            format!("{parent}.{}", self.key)
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self.value.value, Yaml::Null)
    }
}

/// What a service says about its networks, with where it says it.
struct NetworkReference<'n> {
    name: String,
    node: &'n Node,
}

/// Interprets the YAML tree of one file; knows the file name for error positions.
struct Reader<'f> {
    file: &'f str,
}

fn read_stack(file: &str, text: &str, stack: &str) -> Result<StackSpec, ComposeError> {
    let reader = Reader { file };
    match parse_yaml(file, text)? {
        Some(root) if !matches!(root.value, Yaml::Null) => reader.read_file(&root, stack),
        _ => Err(ComposeError::Invalid {
            at: SourcePosition {
                file: file.to_string(),
                line: 1,
                column: 1,
                reached_from: None,
            },
            problem: Box::new(Problem::EmptyFile),
        }),
    }
}

impl Reader<'_> {
    fn position(&self, node: &Node) -> SourcePosition {
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
            file: self.file.to_string(),
            line: at.0,
            column: at.1,
            reached_from,
        }
    }

    fn invalid(&self, node: &Node, problem: Problem) -> ComposeError {
        ComposeError::Invalid {
            at: self.position(node),
            problem: Box::new(problem),
        }
    }

    fn wrong_type(&self, node: &Node, path: &str, expected: &'static str) -> ComposeError {
        self.invalid(
            node,
            Problem::WrongType {
                path: path.to_string(),
                expected,
                found: node.value.kind(),
            },
        )
    }

    fn invalid_value(
        &self,
        node: &Node,
        path: &str,
        what: &'static str,
        value: &str,
        expected: String,
    ) -> ComposeError {
        self.invalid(
            node,
            Problem::InvalidValue {
                path: path.to_string(),
                what,
                value: value.to_string(),
                expected,
            },
        )
    }

    fn unsupported_key(
        &self,
        entry: &Entry,
        context: String,
        supported: &'static [&'static str],
    ) -> ComposeError {
        self.invalid(
            entry.key_node,
            Problem::UnsupportedKey {
                key: entry.key.clone(),
                context,
                supported,
            },
        )
    }

    /// The entries of a mapping, keys as text.
    fn mapping<'n>(
        &self,
        node: &'n Node,
        path: &str,
        expected: &'static str,
    ) -> Result<Vec<Entry<'n>>, ComposeError> {
        let Yaml::Map(entries) = &node.value else {
            return Err(self.wrong_type(node, path, expected));
        };
        entries
            .iter()
            .map(|(key_node, value)| match key_node.value.scalar_text() {
                Some(key) => Ok(Entry {
                    key,
                    key_node,
                    value,
                }),
                None => Err(self.wrong_type(key_node, path, "a mapping whose keys are names")),
            })
            .collect()
    }

    fn list<'n>(
        &self,
        node: &'n Node,
        path: &str,
        expected: &'static str,
    ) -> Result<&'n [Node], ComposeError> {
        match &node.value {
            Yaml::List(items) => Ok(items),
            _ => Err(self.wrong_type(node, path, expected)),
        }
    }

    fn string(
        &self,
        node: &Node,
        path: &str,
        expected: &'static str,
    ) -> Result<String, ComposeError> {
        match &node.value {
            Yaml::Str(text) => Ok(text.clone()),
            _ => Err(self.wrong_type(node, path, expected)),
        }
    }

    /// A string, number or boolean, as text.
    fn scalar_text(
        &self,
        node: &Node,
        path: &str,
        expected: &'static str,
    ) -> Result<String, ComposeError> {
        node.value
            .scalar_text()
            .ok_or_else(|| self.wrong_type(node, path, expected))
    }

    fn boolean(&self, node: &Node, path: &str) -> Result<bool, ComposeError> {
        match node.value {
            Yaml::Bool(value) => Ok(value),
            _ => Err(self.wrong_type(node, path, "true or false")),
        }
    }

    /// Swarm's rule for the names of services and networks, checked here rather than at
    /// deployment so that the error points at the file: letters and digits with runs of `-` or
    /// `_` between them, at most 63 characters once prefixed with `STACK_`.
    fn check_swarm_name(
        &self,
        key_node: &Node,
        path: &str,
        what: &'static str,
        name: &str,
        stack: &str,
    ) -> Result<(), ComposeError> {
        if !is_dns_name_component(name) {
            let expected = "swarm needs letters and digits, with '-' or '_' only between them (e.g. 'web' or 'api-v2')";
            return Err(self.invalid_value(key_node, path, what, name, expected.into()));
        }
        if stack.len() + 1 + name.len() > MAX_SWARM_NAME_LEN {
            let expected = format!(
                "with the stack prefix ('{stack}_{name}') it is longer than swarm's {MAX_SWARM_NAME_LEN} characters; shorten it"
            );
            return Err(self.invalid_value(key_node, path, what, name, expected));
        }
        Ok(())
    }

    fn read_file(&self, root: &Node, stack: &str) -> Result<StackSpec, ComposeError> {
        let mut services_entry = None;
        let mut networks_entry = None;
        if !matches!(root.value, Yaml::Map(_)) {
            let found = root.value.kind();
            return Err(self.invalid(root, Problem::NotAStackFile { found }));
        }
        for entry in self.mapping(root, "(top level)", "a mapping")? {
            match entry.key.as_str() {
                "version" => match entry.value.value {
                    Yaml::Null | Yaml::Str(_) | Yaml::Int(_) | Yaml::Float(_) => {}
                    _ => {
                        return Err(self.wrong_type(
                            entry.value,
                            "version",
                            "a version such as \"3.8\"",
                        ));
                    }
                },
                "services" => services_entry = Some(entry),
                "networks" => networks_entry = Some(entry),
                key if key.starts_with("x-") => {}
                _ => {
                    return Err(self.unsupported_key(
                        &entry,
                        "the top level".into(),
                        TOP_LEVEL_KEYS,
                    ));
                }
            }
        }
        let declared_networks = match &networks_entry {
            Some(entry) if !entry.is_empty() => self.read_networks(entry.value, stack)?,
            _ => Vec::new(),
        };
        let service_entries = match &services_entry {
            Some(entry) if !entry.is_empty() => self.mapping(
                entry.value,
                "services",
                "a mapping of service names to their settings",
            )?,
            _ => Vec::new(),
        };
        if service_entries.is_empty() {
            let at = services_entry.as_ref().map_or(root, |entry| entry.key_node);
            return Err(self.invalid(at, Problem::NoServices));
        }
        let services = service_entries
            .iter()
            .map(|entry| self.read_service(entry, stack, &declared_networks))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StackSpec {
            name: stack.to_string(),
            networks: networks_in_use(declared_networks, &services),
            services,
        })
    }

    /// The top-level `networks`, in file order.
    fn read_networks(&self, node: &Node, stack: &str) -> Result<Vec<NetworkSpec>, ComposeError> {
        let mut networks = Vec::new();
        for entry in self.mapping(
            node,
            "networks",
            "a mapping of network names to their settings",
        )? {
            let path = entry.path("networks");
            let network = if entry.is_empty() {
                NetworkSpec::overlay(&entry.key)
            } else {
                self.read_network(&entry, &path)?
            };
            // An external network exists already, under whatever name it has.
            if !network.external {
                self.check_swarm_name(entry.key_node, &path, "network name", &entry.key, stack)?;
            }
            networks.push(network);
        }
        Ok(networks)
    }

    fn read_network(&self, network_entry: &Entry, path: &str) -> Result<NetworkSpec, ComposeError> {
        let name = &network_entry.key;
        let mut network = NetworkSpec::overlay(name);
        // The first key that makes no sense for an external network, if any.
        let mut setting_key = None;
        for entry in self.mapping(network_entry.value, path, "a mapping of network settings")? {
            let key_path = entry.path(path);
            match entry.key.as_str() {
                // An empty value (`key:`) counts as absent.
                key if entry.is_empty() && NETWORK_KEYS.contains(&key) => {}
                "driver" => {
                    network.driver =
                        self.string(entry.value, &key_path, "a driver name such as overlay")?;
                    setting_key.get_or_insert((entry.key_node, entry.key.clone()));
                }
                "attachable" => {
                    network.attachable = self.boolean(entry.value, &key_path)?;
                    setting_key.get_or_insert((entry.key_node, entry.key.clone()));
                }
                "labels" => {
                    network.labels = self.read_labels(entry.value, &key_path)?;
                    setting_key.get_or_insert((entry.key_node, entry.key.clone()));
                }
                "external" => match entry.value.value {
                    Yaml::Bool(external) => network.external = external,
                    Yaml::Map(_) => {
                        return Err(self.invalid(
                            entry.value,
                            Problem::ExternalNetworkName {
                                network: name.clone(),
                            },
                        ));
                    }
                    _ => return Err(self.wrong_type(entry.value, &key_path, "true or false")),
                },
                _ => {
                    return Err(self.unsupported_key(
                        &entry,
                        format!("network '{name}'"),
                        NETWORK_KEYS,
                    ));
                }
            }
        }
        if let (true, Some((key_node, key))) = (network.external, setting_key) {
            return Err(self.invalid(
                key_node,
                Problem::ExternalNetworkSettings {
                    network: name.clone(),
                    key,
                },
            ));
        }
        Ok(network)
    }

    fn read_service(
        &self,
        service_entry: &Entry,
        stack: &str,
        declared_networks: &[NetworkSpec],
    ) -> Result<ServiceSpec, ComposeError> {
        let name = &service_entry.key;
        let path = service_entry.path("services");
        self.check_swarm_name(service_entry.key_node, &path, "service name", name, stack)?;
        if service_entry.is_empty() {
            return Err(self.invalid(
                service_entry.key_node,
                Problem::MissingImage {
                    service: name.clone(),
                },
            ));
        }
        let mut service = ServiceSpec::new(name, "");
        let mut image = None;
        for entry in self.mapping(service_entry.value, &path, "a mapping of service settings")? {
            let key_path = entry.path(&path);
            if entry.key == "image" {
                match &entry.value.value {
                    Yaml::Str(reference) if !reference.trim().is_empty() => {
                        image = Some(reference.clone())
                    }
                    Yaml::Null | Yaml::Str(_) => {
                        return Err(self.invalid(
                            entry.key_node,
                            Problem::MissingImage {
                                service: name.clone(),
                            },
                        ));
                    }
                    _ => {
                        return Err(self.wrong_type(
                            entry.value,
                            &key_path,
                            "an image reference such as nginx:1.27",
                        ));
                    }
                }
                continue;
            }
            match entry.key.as_str() {
                // An empty value (`key:`) counts as absent.
                key if entry.is_empty() && SERVICE_KEYS.contains(&key) => {}
                "command" => service.command = Some(self.read_command(entry.value, &key_path)?),
                "entrypoint" => {
                    service.entrypoint = Some(self.read_command(entry.value, &key_path)?)
                }
                "environment" => service.env = self.read_environment(entry.value, &key_path)?,
                "ports" => service.ports = self.read_ports(entry.value, &key_path)?,
                "networks" => {
                    let references = self.read_service_networks(entry.value, &key_path, name)?;
                    service.networks =
                        self.check_network_references(references, name, declared_networks)?;
                }
                "labels" => service.labels = self.read_labels(entry.value, &key_path)?,
                "deploy" => self.read_deploy(entry.value, &key_path, &mut service)?,
                _ => {
                    return Err(self.unsupported_key(
                        &entry,
                        format!("service '{name}'"),
                        SERVICE_KEYS,
                    ));
                }
            }
        }
        match image {
            Some(image) => service.image = image,
            None => {
                return Err(self.invalid(
                    service_entry.key_node,
                    Problem::MissingImage {
                        service: name.clone(),
                    },
                ));
            }
        }
        Ok(service)
    }

    /// `command` or `entrypoint`: a list of arguments, or a line split as a shell would (quotes
    /// honoured, no variable expansion).
    fn read_command(&self, node: &Node, path: &str) -> Result<Vec<String>, ComposeError> {
        const EXPECTED: &str = "a command line or a list of arguments";
        match &node.value {
            Yaml::Str(line) => split_shell_words(line).map_err(|reason| {
                self.invalid_value(
                    node,
                    path,
                    "command line",
                    line,
                    format!("{reason}; or write it as a list of arguments"),
                )
            }),
            Yaml::List(items) => items
                .iter()
                .map(|item| self.scalar_text(item, path, "a list of arguments (strings)"))
                .collect(),
            _ => Err(self.wrong_type(node, path, EXPECTED)),
        }
    }

    /// `environment`: `KEY=VALUE` or `KEY` entries, or a mapping (null values give `KEY` alone).
    fn read_environment(&self, node: &Node, path: &str) -> Result<Vec<String>, ComposeError> {
        const EXPECTED: &str = "a list of KEY=VALUE entries or a mapping of KEY: VALUE";
        const FIX: &str = "write KEY=VALUE, or KEY alone to pass the variable through";
        match &node.value {
            Yaml::List(items) => items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    let item_path = format!("{path}[{index}]");
                    let variable = self.scalar_text(item, &item_path, "a KEY=VALUE string")?;
                    let name = variable
                        .split_once('=')
                        .map_or(variable.as_str(), |(name, _)| name);
                    if name.trim().is_empty() {
                        return Err(self.invalid_value(
                            item,
                            &item_path,
                            "environment variable",
                            &variable,
                            FIX.into(),
                        ));
                    }
                    Ok(variable)
                })
                .collect(),
            Yaml::Map(_) => self
                .mapping(node, path, EXPECTED)?
                .iter()
                .map(|entry| {
                    if entry.key.trim().is_empty() {
                        return Err(self.invalid_value(
                            entry.key_node,
                            path,
                            "environment variable",
                            &entry.key,
                            FIX.into(),
                        ));
                    }
                    match &entry.value.value {
                        Yaml::Null => Ok(entry.key.clone()),
                        value => match value.scalar_text() {
                            Some(text) => Ok(format!("{}={text}", entry.key)),
                            None => Err(self.wrong_type(
                                entry.value,
                                &entry.path(path),
                                "a string, number or boolean",
                            )),
                        },
                    }
                })
                .collect(),
            _ => Err(self.wrong_type(node, path, EXPECTED)),
        }
    }

    /// Container, service or network labels: `KEY=VALUE` entries or a mapping.
    fn read_labels(
        &self,
        node: &Node,
        path: &str,
    ) -> Result<BTreeMap<String, String>, ComposeError> {
        const EXPECTED: &str = "a list of KEY=VALUE entries or a mapping of KEY: VALUE";
        let mut labels = BTreeMap::new();
        match &node.value {
            Yaml::List(items) => {
                for (index, item) in items.iter().enumerate() {
                    let item_path = format!("{path}[{index}]");
                    let label = self.scalar_text(item, &item_path, "a KEY=VALUE string")?;
                    let (key, value) = label.split_once('=').unwrap_or((label.as_str(), ""));
                    if key.trim().is_empty() {
                        return Err(self.invalid_value(
                            item,
                            &item_path,
                            "label",
                            &label,
                            "write KEY=VALUE".into(),
                        ));
                    }
                    labels.insert(key.to_string(), value.to_string());
                }
            }
            Yaml::Map(_) => {
                for entry in self.mapping(node, path, EXPECTED)? {
                    let value = match &entry.value.value {
                        Yaml::Null => String::new(),
                        value => value.scalar_text().ok_or_else(|| {
                            self.wrong_type(
                                entry.value,
                                &entry.path(path),
                                "a string, number or boolean",
                            )
                        })?,
                    };
                    labels.insert(entry.key, value);
                }
            }
            _ => return Err(self.wrong_type(node, path, EXPECTED)),
        }
        Ok(labels)
    }

    fn read_ports(&self, node: &Node, path: &str) -> Result<Vec<PortSpec>, ComposeError> {
        let mut ports = Vec::new();
        for (index, item) in self.list(node, path, "a list of ports")?.iter().enumerate() {
            let item_path = format!("{path}[{index}]");
            match &item.value {
                Yaml::Str(spec) => {
                    ports.extend(parse_short_port(spec).map_err(|error| match error {
                        ShortPortError::HostIp(host_ip) => self.invalid(
                            item,
                            Problem::PortHostIp {
                                path: item_path.clone(),
                                spec: spec.clone(),
                                host_ip,
                            },
                        ),
                        ShortPortError::Invalid(reason) => {
                            self.invalid_value(item, &item_path, "port", spec, reason)
                        }
                    })?)
                }
                Yaml::Int(number) => {
                    let target = port_number(&number.to_string()).map_err(|reason| {
                        self.invalid_value(item, &item_path, "port", &number.to_string(), reason)
                    })?;
                    ports.push(PortSpec {
                        target,
                        published: None,
                        protocol: "tcp".into(),
                        mode: PublishMode::Ingress,
                    });
                }
                Yaml::Map(_) => ports.push(self.read_long_port(item, &item_path)?),
                _ => {
                    return Err(self.wrong_type(
                        item,
                        &item_path,
                        "a port such as \"8080:80\" or a mapping with 'target'",
                    ));
                }
            }
        }
        Ok(ports)
    }

    fn read_long_port(&self, node: &Node, path: &str) -> Result<PortSpec, ComposeError> {
        let mut port = PortSpec {
            target: 0,
            published: None,
            protocol: "tcp".into(),
            mode: PublishMode::Ingress,
        };
        let mut has_target = false;
        for entry in self.mapping(node, path, "a mapping")? {
            let key_path = entry.path(path);
            match entry.key.as_str() {
                // An empty value (`key:`) counts as absent.
                key if entry.is_empty() && PORT_KEYS.contains(&key) => {}
                "target" => {
                    port.target = self.port_number(entry.value, &key_path)?;
                    has_target = true;
                }
                "published" => port.published = Some(self.port_number(entry.value, &key_path)?),
                "protocol" => {
                    let protocol = self.string(entry.value, &key_path, "tcp or udp")?;
                    port.protocol = parse_protocol(&protocol).map_err(|reason| {
                        self.invalid_value(entry.value, &key_path, "protocol", &protocol, reason)
                    })?;
                }
                "mode" => {
                    let mode = self.string(entry.value, &key_path, "host or ingress")?;
                    port.mode = match mode.as_str() {
                        "ingress" => PublishMode::Ingress,
                        "host" => PublishMode::Host,
                        _ => {
                            return Err(self.invalid_value(
                                entry.value,
                                &key_path,
                                "publish mode",
                                &mode,
                                "use 'ingress' (every node answers) or 'host' (only nodes running a task)".into(),
                            ));
                        }
                    };
                }
                _ => return Err(self.unsupported_key(&entry, format!("port '{path}'"), PORT_KEYS)),
            }
        }
        if !has_target {
            return Err(self.invalid(
                node,
                Problem::MissingKey {
                    path: path.to_string(),
                    key: "target",
                    hint: "add `target: PORT`, the port inside the container",
                },
            ));
        }
        Ok(port)
    }

    fn port_number(&self, node: &Node, path: &str) -> Result<u16, ComposeError> {
        match &node.value {
            Yaml::Int(_) | Yaml::Str(_) => {
                let text = node.value.scalar_text().unwrap_or_default();
                port_number(&text)
                    .map_err(|reason| self.invalid_value(node, path, "port", &text, reason))
            }
            _ => Err(self.wrong_type(node, path, "a port number")),
        }
    }

    /// A service's `networks`: a list of names, or a mapping of names to nothing (settings such
    /// as `aliases` are refused).
    fn read_service_networks<'n>(
        &self,
        node: &'n Node,
        path: &str,
        service: &str,
    ) -> Result<Vec<NetworkReference<'n>>, ComposeError> {
        const EXPECTED: &str = "a list of network names";
        match &node.value {
            Yaml::List(items) => items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    let name = self.string(item, &format!("{path}[{index}]"), "a network name")?;
                    Ok(NetworkReference { name, node: item })
                })
                .collect(),
            Yaml::Map(_) => {
                let mut references = Vec::new();
                for entry in self.mapping(node, path, EXPECTED)? {
                    match &entry.value.value {
                        Yaml::Null => {}
                        Yaml::Map(_) => {
                            if let Some(setting) = self
                                .mapping(entry.value, &entry.path(path), "a mapping")?
                                .first()
                            {
                                return Err(self.invalid(
                                    setting.key_node,
                                    Problem::NetworkAttachmentSetting {
                                        service: service.to_string(),
                                        network: entry.key.clone(),
                                        key: setting.key.clone(),
                                    },
                                ));
                            }
                        }
                        _ => return Err(self.wrong_type(entry.value, &entry.path(path), "empty")),
                    }
                    references.push(NetworkReference {
                        name: entry.key,
                        node: entry.key_node,
                    });
                }
                Ok(references)
            }
            _ => Err(self.wrong_type(node, path, EXPECTED)),
        }
    }

    /// Every network a service names is declared (or is `default`) and named once.
    fn check_network_references(
        &self,
        references: Vec<NetworkReference>,
        service: &str,
        declared_networks: &[NetworkSpec],
    ) -> Result<Vec<String>, ComposeError> {
        let mut names: Vec<String> = Vec::with_capacity(references.len());
        for reference in references {
            if reference.name != DEFAULT_NETWORK
                && !declared_networks
                    .iter()
                    .any(|network| network.name == reference.name)
            {
                return Err(self.invalid(
                    reference.node,
                    Problem::UndeclaredNetwork {
                        service: service.to_string(),
                        network: reference.name,
                        declared: declared_networks
                            .iter()
                            .map(|network| network.name.clone())
                            .collect(),
                    },
                ));
            }
            if names.contains(&reference.name) {
                return Err(self.invalid_value(
                    reference.node,
                    &format!("services.{service}.networks"),
                    "network",
                    &reference.name,
                    "it is listed twice; list each network once".into(),
                ));
            }
            names.push(reference.name);
        }
        Ok(names)
    }

    fn read_deploy(
        &self,
        node: &Node,
        path: &str,
        service: &mut ServiceSpec,
    ) -> Result<(), ComposeError> {
        let mut global = false;
        let mut replicas = None;
        for entry in self.mapping(node, path, "a mapping of deploy settings")? {
            let key_path = entry.path(path);
            match entry.key.as_str() {
                // An empty value (`key:`) counts as absent.
                key if entry.is_empty() && DEPLOY_KEYS.contains(&key) => {}
                "mode" => {
                    let mode = self.string(entry.value, &key_path, "replicated or global")?;
                    global = match mode.as_str() {
                        "replicated" => false,
                        "global" => true,
                        _ => {
                            return Err(self.invalid_value(
                                entry.value,
                                &key_path,
                                "deploy mode",
                                &mode,
                                "use 'replicated' (with 'replicas') or 'global' (one task per node)".into(),
                            ));
                        }
                    };
                }
                "replicas" => {
                    let Yaml::Int(count) = entry.value.value else {
                        return Err(self.wrong_type(
                            entry.value,
                            &key_path,
                            "a whole number such as 3",
                        ));
                    };
                    let count = u64::try_from(count).map_err(|_| {
                        self.invalid_value(
                            entry.value,
                            &key_path,
                            "replica count",
                            &count.to_string(),
                            "use 0 or more".into(),
                        )
                    })?;
                    replicas = Some((count, entry.value));
                }
                "endpoint_mode" => {
                    let mode = self.string(entry.value, &key_path, "vip or dnsrr")?;
                    service.endpoint_mode = Some(match mode.as_str() {
                        "vip" => EndpointMode::Vip,
                        "dnsrr" => EndpointMode::Dnsrr,
                        _ => {
                            return Err(self.invalid_value(
                                entry.value,
                                &key_path,
                                "endpoint mode",
                                &mode,
                                "use 'vip' (one virtual IP) or 'dnsrr' (DNS round robin)".into(),
                            ));
                        }
                    });
                }
                "placement" => {
                    service.constraints =
                        self.read_placement(entry.value, &key_path, &service.name)?
                }
                "labels" => service.deploy_labels = self.read_labels(entry.value, &key_path)?,
                "resources" => {
                    service.resources =
                        self.read_resources(entry.value, &key_path, &service.name)?
                }
                _ => {
                    let context = format!("'deploy' of service '{}'", service.name);
                    return Err(self.unsupported_key(&entry, context, DEPLOY_KEYS));
                }
            }
        }
        service.mode = match (global, replicas) {
            (true, Some((_, replicas_node))) => {
                return Err(self.invalid(
                    replicas_node,
                    Problem::ReplicasWithGlobalMode {
                        service: service.name.clone(),
                    },
                ));
            }
            (true, None) => ServiceMode::Global,
            (false, replicas) => ServiceMode::Replicated(replicas.map_or(1, |(count, _)| count)),
        };
        Ok(())
    }

    fn read_placement(
        &self,
        node: &Node,
        path: &str,
        service: &str,
    ) -> Result<Vec<String>, ComposeError> {
        let mut constraints = Vec::new();
        for entry in self.mapping(node, path, "a mapping with 'constraints'")? {
            let key_path = entry.path(path);
            match entry.key.as_str() {
                // An empty value (`key:`) counts as absent.
                key if entry.is_empty() && PLACEMENT_KEYS.contains(&key) => {}
                "constraints" => {
                    for (index, item) in self
                        .list(entry.value, &key_path, "a list of constraints")?
                        .iter()
                        .enumerate()
                    {
                        let constraint_path = format!("{key_path}[{index}]");
                        constraints.push(self.string(
                            item,
                            &constraint_path,
                            "a constraint such as \"node.role == manager\"",
                        )?);
                    }
                }
                _ => {
                    let context = format!("'deploy.placement' of service '{service}'");
                    return Err(self.unsupported_key(&entry, context, PLACEMENT_KEYS));
                }
            }
        }
        Ok(constraints)
    }

    fn read_resources(
        &self,
        node: &Node,
        path: &str,
        service: &str,
    ) -> Result<Resources, ComposeError> {
        let mut resources = Resources::default();
        for entry in self.mapping(node, path, "a mapping with 'limits' and/or 'reservations'")? {
            let key_path = entry.path(path);
            match entry.key.as_str() {
                // An empty value (`key:`) counts as absent.
                key if entry.is_empty() && RESOURCES_KEYS.contains(&key) => {}
                "limits" => {
                    resources.limits =
                        self.read_resource_amounts(entry.value, &key_path, service)?
                }
                "reservations" => {
                    resources.reservations =
                        self.read_resource_amounts(entry.value, &key_path, service)?
                }
                _ => {
                    let context = format!("'deploy.resources' of service '{service}'");
                    return Err(self.unsupported_key(&entry, context, RESOURCES_KEYS));
                }
            }
        }
        Ok(resources)
    }

    /// `cpus` and `memory`; None when neither is given.
    fn read_resource_amounts(
        &self,
        node: &Node,
        path: &str,
        service: &str,
    ) -> Result<Option<ResourceAmounts>, ComposeError> {
        let mut amounts = ResourceAmounts::default();
        for entry in self.mapping(node, path, "a mapping with 'cpus' and/or 'memory'")? {
            let key_path = entry.path(path);
            match entry.key.as_str() {
                // An empty value (`key:`) counts as absent.
                key if entry.is_empty() && RESOURCE_AMOUNT_KEYS.contains(&key) => {}
                "cpus" => {
                    let Some(cpus) = entry.value.value.number_or_string_text() else {
                        return Err(self.wrong_type(
                            entry.value,
                            &key_path,
                            "a number of CPUs such as \"0.5\"",
                        ));
                    };
                    let nano_cpus = parse_nano_cpus(&cpus).map_err(|reason| {
                        self.invalid_value(entry.value, &key_path, "CPU count", &cpus, reason)
                    })?;
                    amounts.nano_cpus = Some(nano_cpus);
                }
                "memory" => {
                    let Some(memory) = entry.value.value.number_or_string_text() else {
                        return Err(self.wrong_type(
                            entry.value,
                            &key_path,
                            "an amount of memory such as \"512M\"",
                        ));
                    };
                    let bytes = parse_memory_bytes(&memory).map_err(|reason| {
                        self.invalid_value(entry.value, &key_path, "memory amount", &memory, reason)
                    })?;
                    amounts.memory_bytes = Some(bytes);
                }
                _ => {
                    let section = path.rsplit('.').next().unwrap_or(path);
                    let context = format!("'deploy.resources.{section}' of service '{service}'");
                    return Err(self.unsupported_key(&entry, context, RESOURCE_AMOUNT_KEYS));
                }
            }
        }
        Ok((amounts != ResourceAmounts::default()).then_some(amounts))
    }
}

/// The networks to create or use: declared ones some service uses (file order), then `default`
/// when a service needs it and the file does not declare it.
fn networks_in_use(
    declared_networks: Vec<NetworkSpec>,
    services: &[ServiceSpec],
) -> Vec<NetworkSpec> {
    let uses_default = services.iter().any(|service| {
        service.networks.is_empty() || service.networks.iter().any(|name| name == DEFAULT_NETWORK)
    });
    let used: BTreeSet<&str> = services
        .iter()
        .flat_map(|service| service.networks.iter().map(String::as_str))
        .collect();
    let mut networks: Vec<NetworkSpec> = declared_networks
        .into_iter()
        .filter(|network| {
            used.contains(network.name.as_str())
                || (uses_default && network.name == DEFAULT_NETWORK)
        })
        .collect();
    if uses_default
        && !networks
            .iter()
            .any(|network| network.name == DEFAULT_NETWORK)
    {
        networks.push(NetworkSpec::overlay(DEFAULT_NETWORK));
    }
    networks
}

// ---------------------------------------------------------------------------------------------
// Values written as strings.

/// Swarm's rule for names: letters and digits, with runs of `-` or `_` between them.
fn is_dns_name_component(name: &str) -> bool {
    let bytes = name.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    first.is_ascii_alphanumeric()
        && last.is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|&byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

/// Splits a command line into words as a POSIX shell would, without expanding anything:
/// whitespace separates words, `'...'` is literal, `"..."` keeps `\"`, `\\`, `\$` and `` \` ``
/// escapes, and a backslash outside quotes escapes the next character.
fn split_shell_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("a single quote (') is not closed".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(escaped @ ('"' | '\\' | '$' | '`')) => word.push(escaped),
                            Some('\n') => {}
                            Some(other) => {
                                word.push('\\');
                                word.push(other);
                            }
                            None => return Err("a double quote (\") is not closed".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("a double quote (\") is not closed".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') => {}
                    Some(escaped) => word.push(escaped),
                    None => return Err("it ends with a lone backslash".into()),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// Why a short-form port could not be read.
#[derive(Debug, PartialEq, Eq)]
enum ShortPortError {
    /// `IP:published:target`: swarm cannot bind a host address.
    HostIp(String),
    Invalid(String),
}

/// The short form of a port: `TARGET`, `PUBLISHED:TARGET`, either with `/tcp` or `/udp`, where
/// each port may be a range (`8000-8001:80-81`, one port per pair). Published through the
/// routing mesh (ingress), as docker does.
fn parse_short_port(spec: &str) -> Result<Vec<PortSpec>, ShortPortError> {
    const FORMS: &str = "write TARGET, PUBLISHED:TARGET or PUBLISHED:TARGET/udp (e.g. \"8080:80\")";
    let invalid = |reason: String| ShortPortError::Invalid(format!("{reason}; {FORMS}"));
    let (mapping, protocol) = match spec.rsplit_once('/') {
        Some((mapping, protocol)) => (mapping, parse_protocol(protocol).map_err(invalid)?),
        None => (spec, "tcp".to_string()),
    };
    let parts: Vec<&str> = mapping.split(':').collect();
    let (published, target) = match parts.as_slice() {
        [target] => (None, *target),
        [published, target] => (Some(*published), *target),
        [host_ip @ .., _, _] => return Err(ShortPortError::HostIp(host_ip.join(":"))),
        [] => return Err(invalid("it is empty".into())),
    };
    let targets = port_range(target).map_err(invalid)?;
    let published = match published {
        None => None,
        Some(published) => {
            let published = port_range(published).map_err(invalid)?;
            if published.len() != targets.len() {
                return Err(invalid(format!(
                    "it publishes {} port(s) for {} target port(s); give ranges of the same length",
                    published.len(),
                    targets.len()
                )));
            }
            Some(published)
        }
    };
    Ok(targets
        .iter()
        .enumerate()
        .map(|(index, &target)| PortSpec {
            target,
            published: published
                .as_ref()
                .and_then(|published| published.get(index).copied()),
            protocol: protocol.clone(),
            mode: PublishMode::Ingress,
        })
        .collect())
}

/// `PORT` or `FIRST-LAST`.
fn port_range(text: &str) -> Result<Vec<u16>, String> {
    match text.split_once('-') {
        None => Ok(vec![port_number(text)?]),
        Some((first, last)) => {
            let (first, last) = (port_number(first)?, port_number(last)?);
            if first > last {
                return Err(format!("the range {first}-{last} goes backwards"));
            }
            Ok((first..=last).collect())
        }
    }
}

fn port_number(text: &str) -> Result<u16, String> {
    match text.trim().parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ if text.trim().is_empty() => Err("a port number is missing".into()),
        _ => Err(format!("'{text}' is not a port number between 1 and 65535")),
    }
}

fn parse_protocol(protocol: &str) -> Result<String, String> {
    match protocol.to_ascii_lowercase().as_str() {
        protocol @ ("tcp" | "udp") => Ok(protocol.to_string()),
        _ => Err(format!(
            "protocol '{protocol}' is not supported; use tcp or udp"
        )),
    }
}

/// A decimal number without sign: its integer part and up to `max_fraction_digits` digits of its
/// fraction (further digits are dropped, as docker's float conversion truncates).
fn parse_decimal(text: &str, max_fraction_digits: u32) -> Option<(u128, u128, u32)> {
    let (integer, fraction) = text.split_once('.').unwrap_or((text, ""));
    let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if (integer.is_empty() && fraction.is_empty()) || !all_digits(integer) || !all_digits(fraction)
    {
        return None;
    }
    let integer = integer.trim_start_matches('0');
    let integer_value = if integer.is_empty() {
        0
    } else {
        integer.parse::<u128>().ok()?
    };
    let kept_fraction = &fraction[..fraction.len().min(max_fraction_digits as usize)];
    let fraction_value = if kept_fraction.is_empty() {
        0
    } else {
        kept_fraction.parse::<u128>().ok()?
    };
    // `kept_fraction` has at most `max_fraction_digits` ASCII digits, so this cannot truncate.
    Some((integer_value, fraction_value, kept_fraction.len() as u32))
}

/// `cpus`: `"0.5"`, `"2"` or a number, in nano CPUs (0.5 → 500_000_000).
fn parse_nano_cpus(text: &str) -> Result<i64, String> {
    const NANOS_PER_CPU: u128 = 1_000_000_000;
    const EXPECTED: &str = "write a number of CPUs such as 0.5 or 2";
    let (integer, fraction, fraction_digits) = parse_decimal(text.trim(), 9)
        .ok_or_else(|| format!("it is not a number of CPUs; {EXPECTED}"))?;
    let nanos = integer
        .checked_mul(NANOS_PER_CPU)
        .and_then(|nanos| nanos.checked_add(fraction * 10u128.pow(9 - fraction_digits)))
        .and_then(|nanos| i64::try_from(nanos).ok())
        .ok_or_else(|| format!("it is too large; {EXPECTED}"))?;
    Ok(nanos)
}

/// `memory`: bytes, or a number with a unit `b`, `k`, `m`, `g`, `t` or `p` (any case, binary
/// multiples, optionally followed by `i` and/or `b`: `512M`, `1.5g`, `100kb`, `2GiB`), as docker
/// reads it.
fn parse_memory_bytes(text: &str) -> Result<i64, String> {
    const EXPECTED: &str =
        "write bytes or a number with a unit b, k, m or g (e.g. 512M, 1.5g, 100k)";
    let text = text.trim();
    let lowercase = text.to_ascii_lowercase();
    let mut rest = lowercase.as_str();
    rest = rest.strip_suffix('b').unwrap_or(rest);
    let mut multiplier: u128 = 1;
    if let Some(without_i) = rest.strip_suffix('i') {
        rest = without_i;
        // `i` only makes sense after a unit.
        if !rest.ends_with(['k', 'm', 'g', 't', 'p']) {
            return Err(format!("it is not an amount of memory; {EXPECTED}"));
        }
    }
    for (exponent, unit) in ['k', 'm', 'g', 't', 'p'].into_iter().enumerate() {
        if let Some(number) = rest.strip_suffix(unit) {
            rest = number;
            multiplier = 1024u128.pow(exponent as u32 + 1);
            break;
        }
    }
    let rest = rest.strip_suffix(' ').unwrap_or(rest);
    // Beyond 18 fraction digits, the rest is worth less than a byte (units are at most 2^50).
    let (integer, fraction, fraction_digits) = parse_decimal(rest, 18)
        .ok_or_else(|| format!("it is not an amount of memory; {EXPECTED}"))?;
    integer
        .checked_mul(multiplier)
        .and_then(|bytes| bytes.checked_add(fraction * multiplier / 10u128.pow(fraction_digits)))
        .and_then(|bytes| i64::try_from(bytes).ok())
        .ok_or_else(|| format!("it is too large; {EXPECTED}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SEED: &str = r#"version: "3.8"
services:
  nginx:
    image: nginx:stable-alpine
    ports:
      - target: 80
        published: 80
        protocol: tcp
        mode: host
      - "443:443"
    networks: [nginx]
    deploy:
      mode: global
networks:
  nginx:
    driver: overlay
"#;

    fn parse(text: &str) -> StackSpec {
        match parse_compose("stack.yml", text, "seed") {
            Ok(stack) => stack,
            Err(error) => panic!("unexpected error: {error}"),
        }
    }

    fn error(text: &str) -> String {
        match parse_compose("stack.yml", text, "seed") {
            Ok(stack) => panic!("expected an error, got {stack:?}"),
            Err(error) => error.to_string(),
        }
    }

    fn only_service(text: &str) -> ServiceSpec {
        let mut stack = parse(text);
        assert_eq!(stack.services.len(), 1);
        stack.services.remove(0)
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    }

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| word.to_string()).collect()
    }

    fn port(target: u16, published: Option<u16>, protocol: &str, mode: PublishMode) -> PortSpec {
        PortSpec {
            target,
            published,
            protocol: protocol.into(),
            mode,
        }
    }

    #[test]
    fn seed_stack() {
        let mut nginx = ServiceSpec::new("nginx", "nginx:stable-alpine");
        nginx.mode = ServiceMode::Global;
        nginx.ports = vec![
            port(80, Some(80), "tcp", PublishMode::Host),
            port(443, Some(443), "tcp", PublishMode::Ingress),
        ];
        nginx.networks = strings(&["nginx"]);
        let expected = StackSpec {
            name: "seed".into(),
            networks: vec![NetworkSpec::overlay("nginx")],
            services: vec![nginx],
        };
        assert_eq!(parse(SEED), expected);
    }

    #[test]
    fn minimal_service_gets_defaults_and_the_default_network() {
        let stack = parse("services:\n  web:\n    image: nginx\n");
        assert_eq!(stack.services, vec![ServiceSpec::new("web", "nginx")]);
        assert_eq!(stack.networks, vec![NetworkSpec::overlay("default")]);
        assert!(stack.services[0].networks.is_empty());
    }

    #[test]
    fn commands_as_lines_and_lists() {
        let service = only_service(
            r#"services:
  web:
    image: busybox
    command: sh -c 'echo "hello world"; sleep 1' "a \"b\" c" d\ e $HOME
    entrypoint: ["/bin/tini", "--", 5]
"#,
        );
        assert_eq!(
            service.command,
            Some(strings(&[
                "sh",
                "-c",
                r#"echo "hello world"; sleep 1"#,
                r#"a "b" c"#,
                "d e",
                "$HOME"
            ]))
        );
        assert_eq!(service.entrypoint, Some(strings(&["/bin/tini", "--", "5"])));
        let service = only_service(
            "services:\n  web:\n    image: busybox\n    entrypoint: /bin/sh\n    command: []\n",
        );
        assert_eq!(service.entrypoint, Some(strings(&["/bin/sh"])));
        assert_eq!(service.command, Some(vec![]));
    }

    #[test]
    fn environment_as_list_and_map() {
        let service = only_service(
            "services:\n  web:\n    image: x\n    environment:\n      - A=1\n      - B\n      - C=x=y\n      - D=\n",
        );
        assert_eq!(service.env, strings(&["A=1", "B", "C=x=y", "D="]));
        let service = only_service(
            r#"services:
  web:
    image: x
    environment:
      STRING: hello
      NUMBER: 42
      DECIMAL: 1.5
      FLAG: true
      WORD: yes
      ZIP: 01234
      PASS_THROUGH:
      NULL_WORD: null
      QUOTED: ""
"#,
        );
        assert_eq!(
            service.env,
            strings(&[
                "STRING=hello",
                "NUMBER=42",
                "DECIMAL=1.5",
                "FLAG=true",
                "WORD=yes",
                "ZIP=01234",
                "PASS_THROUGH",
                "NULL_WORD",
                "QUOTED="
            ])
        );
    }

    #[test]
    fn ports_in_short_and_long_form() {
        let service = only_service(
            r#"services:
  web:
    image: x
    ports:
      - "80"
      - 81
      - "8080:80"
      - 8443:443
      - 22:22
      - "5353:53/udp"
      - "9000-9001:90-91/TCP"
      - target: 22
      - target: 8000
        published: "8001"
        protocol: udp
        mode: ingress
"#,
        );
        assert_eq!(
            service.ports,
            vec![
                port(80, None, "tcp", PublishMode::Ingress),
                port(81, None, "tcp", PublishMode::Ingress),
                port(80, Some(8080), "tcp", PublishMode::Ingress),
                port(443, Some(8443), "tcp", PublishMode::Ingress),
                port(22, Some(22), "tcp", PublishMode::Ingress),
                port(53, Some(5353), "udp", PublishMode::Ingress),
                port(90, Some(9000), "tcp", PublishMode::Ingress),
                port(91, Some(9001), "tcp", PublishMode::Ingress),
                port(22, None, "tcp", PublishMode::Ingress),
                port(8000, Some(8001), "udp", PublishMode::Ingress),
            ]
        );
    }

    #[test]
    fn networks_as_list_and_map() {
        let text = r#"services:
  listed:
    image: x
    networks: [front, back]
  mapped:
    image: x
    networks:
      back:
      default: {}
  implicit:
    image: x
networks:
  unused:
  back:
    attachable: true
    labels: [tier=back, plain]
  front:
    driver: overlay
    labels:
      tier: front
      weight: 3
  outside:
    external: true
"#;
        let stack = parse(text);
        let names: Vec<(&str, Vec<String>)> = stack
            .services
            .iter()
            .map(|service| (service.name.as_str(), service.networks.clone()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("listed", strings(&["front", "back"])),
                ("mapped", strings(&["back", "default"])),
                ("implicit", vec![])
            ]
        );
        let mut back = NetworkSpec::overlay("back");
        back.attachable = true;
        back.labels = labels(&[("tier", "back"), ("plain", "")]);
        let mut front = NetworkSpec::overlay("front");
        front.labels = labels(&[("tier", "front"), ("weight", "3")]);
        // Declared order, `unused` and `outside` left out (nobody uses them), `default` added.
        assert_eq!(
            stack.networks,
            vec![back, front, NetworkSpec::overlay("default")]
        );
    }

    #[test]
    fn external_and_declared_default_networks() {
        let text = r#"services:
  web:
    image: x
    networks: [outside, default]
networks:
  default:
    driver: custom
    attachable: true
  outside:
    external: true
"#;
        let stack = parse(text);
        let mut default = NetworkSpec::overlay("default");
        default.driver = "custom".into();
        default.attachable = true;
        let mut outside = NetworkSpec::overlay("outside");
        outside.external = true;
        assert_eq!(stack.networks, vec![default, outside]);
    }

    #[test]
    fn no_default_network_when_every_service_names_its_networks() {
        let stack = parse("services:\n  web:\n    image: x\n    networks: [a]\nnetworks:\n  a:\n");
        assert_eq!(stack.networks, vec![NetworkSpec::overlay("a")]);
    }

    #[test]
    fn labels_and_deploy() {
        let service = only_service(
            r#"version: 3
services:
  api:
    image: registry.local/api:1.2
    labels:
      - com.example.role=api
      - com.example.empty
    deploy:
      mode: replicated
      replicas: 3
      endpoint_mode: dnsrr
      placement:
        constraints:
          - node.role == worker
          - node.labels.zone == a
      labels:
        traefik.enable: true
        owner: team-a
      resources:
        limits:
          cpus: "0.5"
          memory: 512M
        reservations:
          cpus: 0.25
          memory: 1.5g
"#,
        );
        assert_eq!(
            service.labels,
            labels(&[("com.example.role", "api"), ("com.example.empty", "")])
        );
        assert_eq!(service.mode, ServiceMode::Replicated(3));
        assert_eq!(service.endpoint_mode, Some(EndpointMode::Dnsrr));
        assert_eq!(
            service.constraints,
            strings(&["node.role == worker", "node.labels.zone == a"])
        );
        assert_eq!(
            service.deploy_labels,
            labels(&[("traefik.enable", "true"), ("owner", "team-a")])
        );
        assert_eq!(
            service.resources,
            Resources {
                limits: Some(ResourceAmounts {
                    nano_cpus: Some(500_000_000),
                    memory_bytes: Some(512 << 20)
                }),
                reservations: Some(ResourceAmounts {
                    nano_cpus: Some(250_000_000),
                    memory_bytes: Some(3 << 29)
                }),
            }
        );
        let service = only_service(
            r#"services:
  api:
    image: x
    labels: {a: b, n: 1}
    deploy:
      replicas: 0
      endpoint_mode: vip
      labels: [x=y]
      resources:
        limits: {cpus: 2, memory: 1048576}
        reservations:
"#,
        );
        assert_eq!(service.labels, labels(&[("a", "b"), ("n", "1")]));
        assert_eq!(service.mode, ServiceMode::Replicated(0));
        assert_eq!(service.endpoint_mode, Some(EndpointMode::Vip));
        assert_eq!(service.deploy_labels, labels(&[("x", "y")]));
        assert_eq!(
            service.resources,
            Resources {
                limits: Some(ResourceAmounts {
                    nano_cpus: Some(2_000_000_000),
                    memory_bytes: Some(1 << 20)
                }),
                reservations: None,
            }
        );
    }

    #[test]
    fn empty_values_count_as_absent() {
        let service = only_service(
            "services:\n  web:\n    image: x\n    ports:\n    deploy:\n    environment: ~\n    command:\n",
        );
        assert_eq!(service, ServiceSpec::new("web", "x"));
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let text = r#"version: "3.8"
x-defaults: &defaults
  image: app:1
  environment: &env
    LOG: info
  deploy:
    replicas: 2
x-port: &port
  target: 80
  mode: host
services:
  web:
    <<: *defaults
    ports:
      - <<: *port
        published: 8080
  worker:
    <<: *defaults
    image: app:worker
    environment: *env
    command: &cmd [work, --fast]
  cron:
    image: app:1
    command: *cmd
"#;
        let stack = parse(text);
        let [web, worker, cron] = &stack.services[..] else {
            panic!("three services expected: {stack:?}")
        };
        assert_eq!(web.image, "app:1");
        assert_eq!(web.env, strings(&["LOG=info"]));
        assert_eq!(web.mode, ServiceMode::Replicated(2));
        assert_eq!(
            web.ports,
            vec![port(80, Some(8080), "tcp", PublishMode::Host)]
        );
        assert_eq!(worker.image, "app:worker");
        assert_eq!(worker.mode, ServiceMode::Replicated(2));
        assert_eq!(worker.env, strings(&["LOG=info"]));
        assert_eq!(worker.command, Some(strings(&["work", "--fast"])));
        assert_eq!(cron.command, Some(strings(&["work", "--fast"])));
        assert_eq!(cron.mode, ServiceMode::Replicated(1));
    }

    #[test]
    fn errors_in_merged_text_point_at_their_definition_and_the_merge() {
        let text =
            "x-base: &base\n  image: x\n  restart: always\nservices:\n  web:\n    <<: *base\n";
        assert_eq!(
            error(text),
            "stack.yml:3:3: unsupported key 'restart' in service 'web' (vswarm supports: image, command, entrypoint, \
             environment, ports, networks, labels, deploy); remove it or move it where it belongs \
             (reached through the alias or merge at line 6, column 9)"
        );
    }

    #[test]
    fn unsupported_keys_are_named_with_their_position() {
        let text = "version: \"3.8\"\nservices:\n  web:\n    image: nginx\n    ports:\n      - \"80:80\"\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n";
        assert_eq!(
            error(text),
            "stack.yml:7:5: unsupported key 'healthcheck' in service 'web' (vswarm supports: image, command, entrypoint, \
             environment, ports, networks, labels, deploy); remove it or move it where it belongs"
        );
        // Even with an empty value.
        let text = "services:\n  web:\n    image: x\n    healthcheck:\n    deploy:\n      update_config:\n";
        assert!(
            error(text)
                .starts_with("stack.yml:4:5: unsupported key 'healthcheck' in service 'web'")
        );
        let text = "services:\n  web:\n    image: x\n    deploy:\n      update_config:\n";
        assert!(
            error(text).starts_with("stack.yml:5:7: unsupported key 'update_config' in 'deploy'")
        );
        let text = "services:\n  web:\n    image: x\nvolumes:\n  data:\n";
        assert!(error(text).starts_with(
            "stack.yml:4:1: unsupported key 'volumes' in the top level (vswarm supports: version, services, networks, x-*)"
        ));
        let text = "services:\n  web:\n    image: x\n    deploy:\n      restart_policy:\n        condition: any\n";
        assert!(error(text).starts_with("stack.yml:5:7: unsupported key 'restart_policy' in 'deploy' of service 'web' (vswarm supports: mode, replicas, endpoint_mode, placement, labels, resources)"));
        let text = "services:\n  web:\n    image: x\n    deploy:\n      placement:\n        preferences: []\n";
        assert!(error(text).starts_with(
            "stack.yml:6:9: unsupported key 'preferences' in 'deploy.placement' of service 'web'"
        ));
        let text = "services:\n  web:\n    image: x\n    deploy:\n      resources:\n        limits:\n          pids: 3\n";
        assert!(error(text).starts_with("stack.yml:7:11: unsupported key 'pids' in 'deploy.resources.limits' of service 'web' (vswarm supports: cpus, memory)"));
        let text =
            "services:\n  web:\n    image: x\n    deploy:\n      resources:\n        devices: []\n";
        assert!(error(text).starts_with(
            "stack.yml:6:9: unsupported key 'devices' in 'deploy.resources' of service 'web'"
        ));
        let text = "services:\n  web:\n    image: x\n    ports:\n      - target: 80\n        host_ip: 127.0.0.1\n";
        assert!(error(text).starts_with(
            "stack.yml:6:9: unsupported key 'host_ip' in port 'services.web.ports[0]'"
        ));
        let text = "services:\n  web:\n    image: x\nnetworks:\n  n:\n    ipam: {}\n";
        assert!(error(text).starts_with(
            "stack.yml:6:5: unsupported key 'ipam' in network 'n' (vswarm supports: driver, attachable, labels, external)"
        ));
    }

    #[test]
    fn empty_files() {
        let expected = "stack.yml:1:1: the file is empty: a stack file needs a 'services:' section with at least one service";
        assert_eq!(error(""), expected);
        assert_eq!(error("# nothing yet\n\n"), expected);
        assert_eq!(error("---\n"), expected);
        assert_eq!(
            error("version: \"3\"\nservices: {}\n"),
            "stack.yml:2:1: the stack has no services: add at least one under 'services:', each with an 'image'"
        );
        assert!(error("version: \"3\"\n").starts_with("stack.yml:1:1: the stack has no services"));
    }

    #[test]
    fn wrong_types() {
        assert_eq!(
            error("services:\n  web:\n    image: x\n    ports: \"80:80\"\n"),
            "stack.yml:4:12: 'services.web.ports' must be a list of ports, not a string"
        );
        assert_eq!(
            error("services:\n  web:\n    image: x\n    deploy:\n      replicas: \"3\"\n"),
            "stack.yml:5:17: 'services.web.deploy.replicas' must be a whole number such as 3, not a string"
        );
        assert_eq!(
            error("- a\n- b\n"),
            "stack.yml:1:1: the file must be a mapping with a 'services:' section at the top level, not a list"
        );
        assert_eq!(
            error("services:\n  web:\n    image: [nginx]\n"),
            "stack.yml:3:12: 'services.web.image' must be an image reference such as nginx:1.27, not a list"
        );
        assert_eq!(
            error("services:\n  web:\n    image: x\nnetworks:\n  n:\n    attachable: yes\n"),
            "stack.yml:6:17: 'networks.n.attachable' must be true or false, not a string"
        );
        assert_eq!(
            error("services:\n  web:\n    image: x\n    environment:\n      A: [1]\n"),
            "stack.yml:5:10: 'services.web.environment.A' must be a string, number or boolean, not a list"
        );
        assert_eq!(
            error("services:\n  web: nginx\n"),
            "stack.yml:2:8: 'services.web' must be a mapping of service settings, not a string"
        );
    }

    #[test]
    fn missing_image() {
        let expected = "service 'web' has no image: add `image: NAME[:TAG]` (vswarm deploys images, it does not build them)";
        assert_eq!(
            error("services:\n  web:\n    command: x\n"),
            format!("stack.yml:2:3: {expected}")
        );
        assert_eq!(
            error("services:\n  web:\n"),
            format!("stack.yml:2:3: {expected}")
        );
        assert_eq!(
            error("services:\n  web:\n    image:\n"),
            format!("stack.yml:3:5: {expected}")
        );
        assert_eq!(
            error("services:\n  web:\n    image: \"\"\n"),
            format!("stack.yml:3:5: {expected}")
        );
    }

    #[test]
    fn replicas_with_global_mode() {
        let expected = "stack.yml:6:17: service 'web' sets 'replicas' with 'mode: global', which runs exactly one task per node: remove 'replicas' or use 'mode: replicated'";
        assert_eq!(
            error(
                "services:\n  web:\n    image: x\n    deploy:\n      mode: global\n      replicas: 2\n"
            ),
            expected
        );
        assert_eq!(
            error(
                "services:\n  web:\n    image: x\n    deploy:\n      replicas: 2\n      mode: global\n"
            ),
            expected.replace("6:17", "5:17")
        );
    }

    #[test]
    fn bad_values() {
        assert_eq!(
            error(
                "services:\n  web:\n    image: x\n    deploy:\n      resources:\n        limits:\n          memory: 12Q\n"
            ),
            "stack.yml:7:19: invalid memory amount '12Q' at 'services.web.deploy.resources.limits.memory': it is not an amount \
             of memory; write bytes or a number with a unit b, k, m or g (e.g. 512M, 1.5g, 100k)"
        );
        assert_eq!(
            error(
                "services:\n  web:\n    image: x\n    deploy:\n      resources:\n        reservations:\n          cpus: half\n"
            ),
            "stack.yml:7:17: invalid CPU count 'half' at 'services.web.deploy.resources.reservations.cpus': it is not a \
             number of CPUs; write a number of CPUs such as 0.5 or 2"
        );
        assert_eq!(
            error("services:\n  web:\n    image: x\n    ports:\n      - \"80:http\"\n"),
            "stack.yml:5:9: invalid port '80:http' at 'services.web.ports[0]': 'http' is not a port number between 1 and \
             65535; write TARGET, PUBLISHED:TARGET or PUBLISHED:TARGET/udp (e.g. \"8080:80\")"
        );
        assert!(
            error("services:\n  web:\n    image: x\n    ports:\n      - 70000\n")
                .starts_with("stack.yml:5:9: invalid port '70000' at 'services.web.ports[0]'")
        );
        assert!(
            error("services:\n  web:\n    image: x\n    ports:\n      - \"53:53/sctp\"\n")
                .contains("protocol 'sctp' is not supported; use tcp or udp")
        );
        assert!(
            error("services:\n  web:\n    image: x\n    ports:\n      - \"8000-8002:80-81\"\n")
                .contains("it publishes 3 port(s) for 2 target port(s)")
        );
        assert_eq!(
            error("services:\n  web:\n    image: x\n    ports:\n      - \"127.0.0.1:8080:80\"\n"),
            "stack.yml:5:9: port '127.0.0.1:8080:80' at 'services.web.ports[0]' binds the host address '127.0.0.1', which \
             swarm cannot do: remove '127.0.0.1:' (swarm publishes on every node's addresses)"
        );
        assert_eq!(
            error("services:\n  web:\n    image: x\n    ports:\n      - published: 80\n"),
            "stack.yml:5:9: 'services.web.ports[0]' needs 'target': add `target: PORT`, the port inside the container"
        );
        assert!(
            error("services:\n  web:\n    image: x\n    ports:\n      - target: 80\n        mode: local\n")
                .starts_with("stack.yml:6:15: invalid publish mode 'local'")
        );
        assert!(
            error("services:\n  web:\n    image: x\n    deploy:\n      mode: replicas\n")
                .starts_with(
                    "stack.yml:5:13: invalid deploy mode 'replicas' at 'services.web.deploy.mode'"
                )
        );
        assert!(
            error("services:\n  web:\n    image: x\n    deploy:\n      endpoint_mode: dns\n")
                .starts_with("stack.yml:5:22: invalid endpoint mode 'dns'")
        );
        assert!(
            error("services:\n  web:\n    image: x\n    deploy:\n      replicas: -1\n")
                .starts_with("stack.yml:5:17: invalid replica count '-1'")
        );
        assert_eq!(
            error("services:\n  web:\n    image: x\n    command: echo 'unfinished\n"),
            "stack.yml:4:14: invalid command line 'echo 'unfinished' at 'services.web.command': a single quote (') is \
             not closed; or write it as a list of arguments"
        );
        assert!(
            error("services:\n  web:\n    image: x\n    environment:\n      - =oops\n")
                .starts_with("stack.yml:5:9: invalid environment variable '=oops'")
        );
        assert!(
            error("services:\n  web.1:\n    image: x\n")
                .starts_with("stack.yml:2:3: invalid service name 'web.1' at 'services.web.1'")
        );
    }

    #[test]
    fn network_errors() {
        assert_eq!(
            error(
                "services:\n  web:\n    image: x\n    networks: [front, back]\nnetworks:\n  front:\n"
            ),
            "stack.yml:4:23: service 'web' uses network 'back', which is not declared under the top-level 'networks:' \
             (declared: front): declare it there or fix the name"
        );
        assert!(
            error("services:\n  web:\n    image: x\n    networks:\n      - front\n")
                .starts_with("stack.yml:5:9: service 'web' uses network 'front', which is not declared under the top-level 'networks:' (the file declares none)")
        );
        assert_eq!(
            error(
                "services:\n  web:\n    image: x\n    networks:\n      front:\n        aliases: [www]\nnetworks:\n  front:\n"
            ),
            "stack.yml:6:9: unsupported key 'aliases' for network 'front' of service 'web': vswarm attaches services to \
             networks without per-service settings (services reach each other by service name); list the network by \
             name only, as in `networks: [front]`"
        );
        assert_eq!(
            error(
                "services:\n  web:\n    image: x\n    networks: [n]\nnetworks:\n  n:\n    external:\n      name: real\n"
            ),
            "stack.yml:8:7: network 'n' names an existing network with 'external: {name: ...}', which vswarm does not \
             support: name the key after the existing network and write `external: true`"
        );
        assert!(
            error("services:\n  web:\n    image: x\n    networks: [n]\nnetworks:\n  n:\n    external: true\n    driver: overlay\n")
                .starts_with("stack.yml:8:5: network 'n' is external but sets 'driver'")
        );
        assert!(
            error("services:\n  web:\n    image: x\n    networks: [n, n]\nnetworks:\n  n:\n")
                .starts_with("stack.yml:4:19: invalid network 'n' at 'services.web.networks': it is listed twice")
        );
    }

    #[test]
    fn names_swarm_would_refuse() {
        assert!(
            error("services:\n  web:\n    image: x\n    networks: [front.net]\nnetworks:\n  front.net:\n")
                .starts_with("stack.yml:6:3: invalid network name 'front.net' at 'networks.front.net': swarm needs")
        );
        let long_name = "a".repeat(59);
        assert!(
            error(&format!("services:\n  {long_name}:\n    image: x\n")).contains(&format!(
                "with the stack prefix ('seed_{long_name}') it is longer than swarm's 63 characters"
            ))
        );
        assert_eq!(
            parse(&format!("services:\n  {}:\n    image: x\n", "a".repeat(58)))
                .services
                .len(),
            1
        );
        // An external network already exists, whatever its name.
        let stack = parse(
            "services:\n  web:\n    image: x\n    networks: [host.net]\nnetworks:\n  host.net:\n    external: true\n",
        );
        assert!(stack.networks[0].external);
    }

    #[test]
    fn yaml_errors() {
        assert_eq!(
            error("services:\n  web:\n    image: x\n    image: y\n"),
            "stack.yml:4:5: the file is not valid YAML: duplicate mapping key `image` is not allowed here (fix the YAML \
             at this position)"
        );
        assert!(
            error("services:\n  web:\n   image: x\n  bad\n")
                .starts_with("stack.yml:4:3: the file is not valid YAML: ")
        );
        assert!(
            error("services: *nowhere\n")
                .starts_with("stack.yml:1:11: the file is not valid YAML: ")
        );
        assert!(
            error("a: 1\n---\nb: 2\n").starts_with("stack.yml:3:1: the file is not valid YAML: ")
        );
    }

    #[test]
    fn stack_names() {
        for good in ["seed", "web-prod", "a_1", "9lives"] {
            assert!(parse_compose("s.yml", SEED, good).is_ok(), "{good}");
        }
        for (bad, reason) in [
            ("", "it is empty"),
            ("Web", "it starts with 'W'"),
            ("-web", "it starts with '-'"),
            ("web.prod", "it contains '.'"),
            ("web prod", "it contains ' '"),
        ] {
            let message = parse_compose("s.yml", SEED, bad)
                .map(|_| ())
                .unwrap_err()
                .to_string();
            assert_eq!(
                message,
                format!(
                    "invalid stack name '{bad}': {reason}; use lowercase letters, digits, '-' and '_', starting with a \
                     letter or digit (e.g. 'web-prod')"
                )
            );
        }
    }

    #[test]
    fn load_compose_reads_files_and_names_them_in_errors() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("stack.yml");
        std::fs::write(&path, SEED).unwrap();
        assert_eq!(load_compose(&path, "seed").unwrap(), parse(SEED));

        std::fs::write(&path, "services:\n  web:\n    image: x\n    build: .\n").unwrap();
        let message = load_compose(&path, "seed").unwrap_err().to_string();
        assert!(
            message.starts_with(&format!("{}:4:5: unsupported key 'build'", path.display())),
            "{message}"
        );

        let missing = directory.path().join("missing.yml");
        let error = load_compose(&missing, "seed").unwrap_err();
        assert!(matches!(error, ComposeError::Read { .. }));
        assert!(error.to_string().starts_with(&format!(
            "{}: cannot read the compose file: ",
            missing.display()
        )));
    }

    #[test]
    fn memory_amounts() {
        for (text, bytes) in [
            ("0", 0),
            ("100", 100),
            ("10b", 10),
            ("100k", 100 << 10),
            ("100K", 100 << 10),
            ("100kb", 100 << 10),
            ("512M", 512 << 20),
            ("512MB", 512 << 20),
            ("1G", 1 << 30),
            ("2GiB", 2 << 30),
            ("1.5g", 3 << 29),
            ("0.5k", 512),
            ("1 g", 1 << 30),
            ("1t", 1 << 40),
            ("8p", 8 << 50),
        ] {
            assert_eq!(parse_memory_bytes(text), Ok(bytes), "{text}");
        }
        for text in [
            "",
            "m",
            "12Q",
            "-1m",
            "1.2.3m",
            "1  g",
            "1ib",
            "1mm",
            "99999999999p",
            "1e3",
        ] {
            assert!(parse_memory_bytes(text).is_err(), "{text}");
        }
    }

    #[test]
    fn cpu_amounts() {
        for (text, nanos) in [
            ("0.5", 500_000_000),
            ("2", 2_000_000_000),
            (".25", 250_000_000),
            ("1.000000001", 1_000_000_001),
            ("0.0000000019", 1),
        ] {
            assert_eq!(parse_nano_cpus(text), Ok(nanos), "{text}");
        }
        for text in ["", ".", "half", "-1", "1e3", "99999999999999"] {
            assert!(parse_nano_cpus(text).is_err(), "{text}");
        }
    }

    #[test]
    fn shell_words() {
        assert_eq!(
            split_shell_words("  a  b\tc "),
            Ok(strings(&["a", "b", "c"]))
        );
        assert_eq!(split_shell_words("''"), Ok(strings(&[""])));
        assert_eq!(
            split_shell_words(r#"a"b c"d 'e f'g"#),
            Ok(strings(&["ab cd", "e fg"]))
        );
        assert_eq!(split_shell_words(r#""\n\$""#), Ok(strings(&[r"\n$"])));
        assert_eq!(
            split_shell_words("echo $HOME ${X}"),
            Ok(strings(&["echo", "$HOME", "${X}"]))
        );
        assert_eq!(split_shell_words(""), Ok(vec![]));
        assert!(split_shell_words("\"open").is_err());
        assert!(split_shell_words("end\\").is_err());
    }

    /// One edit of the seed file.
    #[derive(Debug, Clone)]
    enum Mutation {
        DeleteChar,
        InsertChar(char),
        ReplaceChar(char),
        DeleteLine,
        DuplicateLine,
        SwapLines(prop::sample::Index),
    }

    fn mutation() -> impl Strategy<Value = (prop::sample::Index, Mutation)> {
        let yaml_char = prop_oneof![
            prop::sample::select(vec![
                ':', '-', ' ', '\n', '[', ']', '{', '}', '&', '*', '<', '#', '"', '\'', '|', '!',
                ','
            ]),
            any::<char>(),
        ];
        let mutation = prop_oneof![
            Just(Mutation::DeleteChar),
            yaml_char.clone().prop_map(Mutation::InsertChar),
            yaml_char.prop_map(Mutation::ReplaceChar),
            Just(Mutation::DeleteLine),
            Just(Mutation::DuplicateLine),
            any::<prop::sample::Index>().prop_map(Mutation::SwapLines),
        ];
        (any::<prop::sample::Index>(), mutation)
    }

    fn mutate(text: &str, mutations: &[(prop::sample::Index, Mutation)]) -> String {
        let mut text = text.to_string();
        for (at, mutation) in mutations {
            let mut chars: Vec<char> = text.chars().collect();
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            if chars.is_empty() || lines.is_empty() {
                chars.push(' ');
                lines.push(String::new());
            }
            let char_index = at.index(chars.len());
            let line_index = at.index(lines.len());
            text = match mutation {
                Mutation::DeleteChar => {
                    chars.remove(char_index);
                    chars.into_iter().collect()
                }
                Mutation::InsertChar(c) => {
                    chars.insert(char_index, *c);
                    chars.into_iter().collect()
                }
                Mutation::ReplaceChar(c) => {
                    chars[char_index] = *c;
                    chars.into_iter().collect()
                }
                Mutation::DeleteLine => {
                    lines.remove(line_index);
                    lines.join("\n")
                }
                Mutation::DuplicateLine => {
                    lines.insert(line_index, lines[line_index].clone());
                    lines.join("\n")
                }
                Mutation::SwapLines(other) => {
                    let other = other.index(lines.len());
                    lines.swap(line_index, other);
                    lines.join("\n")
                }
            };
        }
        text
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(text in "\\PC{0,400}") {
            let _ = parse_compose("fuzz.yml", &text, "fuzz");
        }

        #[test]
        fn never_panics_on_yaml_like_text(text in "[ a-z0-9:\\-\\[\\]{}&*<>#\"'|!,.=/\n]{0,400}") {
            let _ = parse_compose("fuzz.yml", &text, "fuzz");
        }

        #[test]
        fn never_panics_on_mutated_seed(mutations in prop::collection::vec(mutation(), 1..8)) {
            let text = mutate(SEED, &mutations);
            match parse_compose("seed.yml", &text, "seed") {
                Ok(stack) => prop_assert_eq!(stack.name, "seed"),
                Err(error) => prop_assert!(error.to_string().starts_with("seed.yml")),
            }
        }
    }
}
