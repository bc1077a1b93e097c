//! The checks: the file as written ([`raw`](super::raw)) turned into a [`ClusterSpec`], every
//! value refused with an [`InputError`] at its `FILE:LINE:COL` and a way to fix it.
//!
//! Every stack file is read and parsed here too, so that `up` refuses a bad one before it
//! creates anything.

use std::collections::BTreeMap;
use std::path::Path;

use serde_saphyr::Spanned;
use swarm_bootstrap::compose::{ComposeError, Environment, load_stack};
use swarm_bootstrap::provision::{EngineOptions, OptionField, valid_hostname};

use super::defaults::{DEFAULT_CPUS, DEFAULT_DISK_MB, DEFAULT_MEMORY_MB, Sizes};
use super::locate::{compose_error, location};
use super::raw::{RawCluster, RawEngine, RawLabels, RawNode, RawNodes};
use super::{ClusterSpec, NodeEntry, Role, StackEntry};
use crate::error::{InputError, Location};

/// The checks of one cluster file: its path places errors and resolves stack files, its text
/// is shown under them.
pub(super) struct Checker<'a> {
    pub(super) path: &'a Path,
    pub(super) text: &'a str,
}

impl Checker<'_> {
    pub(super) fn at<T>(&self, s: &Spanned<T>) -> Location {
        location(self.path, &s.referenced)
    }

    pub(super) fn error<T>(
        &self,
        s: &Spanned<T>,
        message: impl Into<String>,
        help: &str,
    ) -> InputError {
        InputError::new(message)
            .at(self.at(s), Some(self.text))
            .help(help)
    }

    pub(super) fn check(&self, raw: RawCluster) -> Result<ClusterSpec, InputError> {
        let name = &raw.name;
        if !valid_hostname(&name.value) {
            return Err(self.error(
                name,
                format!("the cluster name '{}' is not valid", name.value),
                "use letters, digits and '-' (at most 63, not starting or ending with '-'): it names folders, VMs and the docker context",
            ));
        }
        if let Some(cidr) = &raw.network.cidr
            && let Err(e) = vbox_driver::hostonly::parse_host_cidr(&cidr.value)
        {
            return Err(self.error(
                cidr,
                e.to_string(),
                "write the host's address on the network and its prefix, such as 192.168.56.1/24",
            ));
        }
        let host_cpus = std::thread::available_parallelism()
            .map(|n| n.get() as u32)
            .unwrap_or(1);
        let sizes = Sizes {
            cpus: self.cpus(raw.defaults.cpus.as_ref(), DEFAULT_CPUS, host_cpus)?,
            memory: self.memory(raw.defaults.memory.as_ref(), DEFAULT_MEMORY_MB)?,
            disk: self.disk(raw.defaults.disk.as_ref(), DEFAULT_DISK_MB)?,
        };
        let nodes = match &raw.nodes.value {
            RawNodes::List(list) => {
                let cidr = raw
                    .network
                    .cidr
                    .as_ref()
                    .and_then(|c| vbox_driver::hostonly::parse_host_cidr(&c.value).ok());
                self.node_list(&raw.nodes, list, sizes, host_cpus, cidr)?
            }
            RawNodes::Counts(counts) => self.node_counts(&name.value, counts, sizes)?,
        };
        let engine = self.engine(&raw.engine)?;
        let base = self.path.parent().unwrap_or(Path::new("."));
        let mut stacks: Vec<StackEntry> = Vec::new();
        for s in &raw.stacks {
            if stacks.iter().any(|o| o.name == s.name.value) {
                return Err(self.error(
                    &s.name,
                    format!("the stack name '{}' is used twice", s.name.value),
                    "give each stack its own name",
                ));
            }
            let shown = base.join(&s.file.value);
            let file = std::path::absolute(&shown).unwrap_or_else(|_| shown.clone());
            let loaded = load_stack(
                std::slice::from_ref(&shown),
                &s.name.value,
                &Environment::from_process(),
            )
            .map_err(|e| match e {
                ComposeError::Read { path, source } => self.error(
                    &s.file,
                    format!("cannot read the stack file {}: {source}", path.display()),
                    "the path is relative to the cluster file's folder; check it exists and can be read",
                ),
                ComposeError::InvalidStackName { name, reason } => self.error(
                    &s.name,
                    format!("invalid stack name '{name}': {reason}"),
                    "use letters, digits, '-' and '_'",
                ),
                other => compose_error(other),
            })?;
            stacks.push(StackEntry {
                name: s.name.value.clone(),
                file,
                spec: loaded.spec,
                warnings: loaded.warnings,
            });
        }
        if let Some(iso) = &raw.iso
            && let Err(e) = images::ImageSource::parse(&iso.value)
        {
            return Err(self.error(
                iso,
                format!("the iso '{}' is not usable: {e}", iso.value),
                "give an http(s) URL of a boot2docker ISO or the path of one, or leave `iso` out for the latest release",
            ));
        }
        if let Some(sha) = &raw.iso_sha256
            && !(sha.value.len() == 64 && sha.value.chars().all(|c| c.is_ascii_hexdigit()))
        {
            return Err(self.error(
                sha,
                format!("iso_sha256 '{}' is not a SHA-256", sha.value),
                "write the ISO's SHA-256 as 64 hexadecimal characters (`sha256sum boot2docker.iso`)",
            ));
        }
        Ok(ClusterSpec {
            name: name.value.clone(),
            file: Some(std::path::absolute(self.path).unwrap_or_else(|_| self.path.to_path_buf())),
            cidr: raw
                .network
                .cidr
                .as_ref()
                .map(|c| c.value.trim().to_string()),
            cidr_at: raw.network.cidr.as_ref().map(|c| self.at(c)),
            interface: raw.network.interface.as_ref().map(|i| i.value.clone()),
            nodes,
            engine,
            stacks,
            iso: raw.iso.as_ref().map(|i| i.value.clone()),
            iso_sha256: raw
                .iso_sha256
                .as_ref()
                .map(|s| s.value.to_ascii_lowercase()),
            text: Some(self.text.to_string()),
        })
    }

    fn node_list(
        &self,
        nodes: &Spanned<RawNodes>,
        list: &[RawNode],
        sizes: Sizes,
        host_cpus: u32,
        cidr: Option<ipnet::Ipv4Net>,
    ) -> Result<Vec<NodeEntry>, InputError> {
        if list.is_empty() {
            return Err(self.error(
                nodes,
                "the cluster has no nodes",
                "add at least one node under `nodes:`, or write `nodes: { managers: 1, workers: 2 }`",
            ));
        }
        let any_role = list.iter().any(|n| n.role.is_some());
        let mut out: Vec<NodeEntry> = Vec::new();
        for (i, n) in list.iter().enumerate() {
            if !valid_hostname(&n.name.value) {
                return Err(self.error(
                    &n.name,
                    format!("the node name '{}' is not a valid hostname", n.name.value),
                    "use letters, digits and '-' (at most 63, not starting or ending with '-'): it becomes the node's hostname",
                ));
            }
            if out.iter().any(|o| o.name == n.name.value) {
                return Err(self.error(
                    &n.name,
                    format!("the node name '{}' is used twice", n.name.value),
                    "give each node its own name",
                ));
            }
            let role = match &n.role {
                Some(r) => r.value,
                None if !any_role && i == 0 => Role::Manager,
                None => Role::Worker,
            };
            let labels = match &n.labels {
                Some(l) => self.labels(l)?,
                None => BTreeMap::new(),
            };
            let ip = match &n.ip {
                Some(ip) => Some(self.node_ip(ip, &out, cidr)?),
                None => None,
            };
            out.push(NodeEntry {
                name: n.name.value.clone(),
                role,
                cpus: self.cpus(n.cpus.as_ref(), sizes.cpus, host_cpus)?,
                memory: self.memory(n.memory.as_ref(), sizes.memory)?,
                disk: self.disk(n.disk.as_ref(), sizes.disk)?,
                labels,
                availability: n.availability.as_ref().map(|a| a.value),
                ip,
                ip_at: n.ip.as_ref().map(|ip| self.at(ip)),
            });
        }
        if !out.iter().any(|n| n.role == Role::Manager) {
            return Err(self.error(
                nodes,
                "the cluster has no manager: every node is a worker",
                "give one node `role: manager` (or three, for a swarm that survives losing one)",
            ));
        }
        Ok(out)
    }

    /// A node's `ip`: an IPv4 address no other node has and, when the network is written, a
    /// guest's address on it. The DHCP pool is checked by `up`, which knows the server's.
    fn node_ip(
        &self,
        ip: &Spanned<String>,
        before: &[NodeEntry],
        cidr: Option<ipnet::Ipv4Net>,
    ) -> Result<std::net::Ipv4Addr, InputError> {
        let addr: std::net::Ipv4Addr = ip.value.trim().parse().map_err(|_| {
            self.error(
                ip,
                format!("ip '{}' is not an IPv4 address", ip.value),
                "write the node's address as four numbers, such as 192.168.56.10",
            )
        })?;
        if let Some(other) = before.iter().find(|n| n.ip == Some(addr)) {
            return Err(self.error(
                ip,
                format!("ip {addr} is already node '{}''s", other.name),
                "give each node its own address",
            ));
        }
        if let Some(net) = cidr {
            let why = if !net.trunc().contains(&addr) {
                Some(format!(
                    "ip {addr} is not on the cluster's network {}",
                    net.trunc()
                ))
            } else if addr == net.network() || addr == net.broadcast() {
                Some(format!(
                    "ip {addr} is the network's own (network or broadcast) address"
                ))
            } else if addr == net.addr() {
                Some(format!("ip {addr} is the host's address on the network"))
            } else {
                None
            };
            if let Some(why) = why {
                let first = u32::from(net.network()) + 3;
                return Err(self.error(
                    ip,
                    why,
                    &format!(
                        "pick an address of {} other than the host's and the DHCP server's, outside the DHCP pool (.100 and up on a /24), such as {}",
                        net.trunc(),
                        std::net::Ipv4Addr::from(first)
                    ),
                ));
            }
        }
        Ok(addr)
    }

    fn labels(&self, l: &Spanned<RawLabels>) -> Result<BTreeMap<String, String>, InputError> {
        let mut out = BTreeMap::new();
        match &l.value {
            RawLabels::List(list) => {
                for item in list {
                    let Some((k, v)) = item.value.split_once('=').filter(|(k, _)| !k.is_empty())
                    else {
                        return Err(self.error(
                            item,
                            format!("the label '{}' is not key=value", item.value),
                            "write labels as key=value, or as a mapping (zone: a)",
                        ));
                    };
                    out.insert(k.to_string(), v.to_string());
                }
            }
            RawLabels::Map(map) => {
                for (k, v) in map {
                    if k.is_empty() || k.contains(char::is_whitespace) {
                        return Err(self.error(
                            l,
                            format!("the label key '{k}' is empty or has blanks"),
                            "label keys are words such as zone or com.example.tier",
                        ));
                    }
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        Ok(out)
    }

    fn engine(&self, e: &RawEngine) -> Result<EngineOptions, InputError> {
        let options = EngineOptions {
            labels: e.labels.iter().map(|l| l.value.clone()).collect(),
            registry_mirrors: e.registry_mirrors.iter().map(|m| m.value.clone()).collect(),
            insecure_registries: e
                .insecure_registries
                .iter()
                .map(|r| r.value.clone())
                .collect(),
            storage_driver: e
                .storage_driver
                .as_ref()
                .map(|s| s.value.clone())
                .unwrap_or_default(),
            env: e
                .env
                .as_ref()
                .map(|env| env.value.0.clone())
                .unwrap_or_default(),
        };
        if let Err(problem) = options.validate() {
            let message = format!("{problem}");
            let help = "engine values go into the daemon's configuration: no blanks, quotes, '$', '`' or '\\'";
            let err = match problem.field {
                OptionField::Label(i) => self.error(&e.labels[i], message, help),
                OptionField::RegistryMirror(i) => self.error(&e.registry_mirrors[i], message, help),
                OptionField::InsecureRegistry(i) => {
                    self.error(&e.insecure_registries[i], message, help)
                }
                OptionField::StorageDriver => match &e.storage_driver {
                    Some(s) => self.error(s, message, help),
                    None => InputError::new(message),
                },
                OptionField::Env(_) | OptionField::NodeName | OptionField::PublicKey => {
                    match &e.env {
                        Some(env) => self.error(env, message, help),
                        None => InputError::new(message),
                    }
                }
            };
            return Err(err);
        }
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::Availability;

    fn check(text: &str) -> Result<ClusterSpec, InputError> {
        ClusterSpec::from_text(Path::new("/nonexistent/vswarm.yml"), text)
    }

    fn place(text: &str) -> String {
        let e = check(text).unwrap_err();
        let at = e.at.as_ref().expect("a location");
        format!("{}:{}", at.line, at.column)
    }

    #[test]
    fn a_plain_file_gets_defaults_and_the_first_node_manages() {
        let c = check("name: seed\nnodes:\n  - name: node-01\n  - name: node-02\n").unwrap();
        assert_eq!(c.name, "seed");
        assert_eq!(c.nodes[0].role, Role::Manager);
        assert_eq!(c.nodes[1].role, Role::Worker);
        assert_eq!(
            (c.nodes[1].cpus, c.nodes[1].memory, c.nodes[1].disk),
            (1, 1024, 20_000)
        );
    }

    #[test]
    fn labels_availability_and_engine_options_are_read() {
        let c = check(
            "name: a\nnodes:\n  - name: n1\n    labels: { zone: 1, disk: ssd }\n    availability: drain\n  - name: n2\n    labels: [tier=db]\nengine:\n  env: { HTTP_PROXY: 'http://p:3128' }\n  storage_driver: overlay2\n",
        )
        .unwrap();
        assert_eq!(c.nodes[0].labels.get("zone").map(String::as_str), Some("1"));
        assert_eq!(c.nodes[0].availability, Some(Availability::Drain));
        assert_eq!(
            c.nodes[1].labels.get("tier").map(String::as_str),
            Some("db")
        );
        assert_eq!(
            c.engine.env,
            vec![("HTTP_PROXY".to_string(), "http://p:3128".to_string())]
        );
    }

    #[test]
    fn each_problem_names_its_line_and_column() {
        assert_eq!(
            place("name: a\nnodes:\n  - name: n1\n    colour: blue\n"),
            "4:5"
        );
        assert_eq!(
            place("name: a\nnodes:\n  - name: n1\n    cpus: 0\n"),
            "4:11"
        );
        assert_eq!(
            place("name: a\nnodes:\n  - name: n1\n    memory: 64\n"),
            "4:13"
        );
        assert_eq!(
            place("name: a\nnodes:\n  - name: n1\n    disk: 10\n"),
            "4:11"
        );
        assert_eq!(place("name: a\nnodes:\n  - name: n_1\n"), "3:11");
        assert_eq!(place("name: bad_name\nnodes: [ { name: n1 } ]\n"), "1:7");
        assert_eq!(
            place("name: a\nnetwork: { cidr: 192.168.56.0/24 }\nnodes: [ { name: n1 } ]\n"),
            "2:18"
        );
        assert_eq!(
            place("name: a\nnodes:\n  - { name: n1, role: worker }\n"),
            "3:3"
        );
        assert_eq!(place("name: a\nnodes: { managers: 0 }\n"), "2:20");
        assert_eq!(
            place("name: a\nnodes: [ { name: n1 }, { name: n1 } ]\n"),
            "2:32"
        );
        assert_eq!(
            place("name: a\nnodes: [ { name: n1, labels: [nokey] } ]\n"),
            "2:31"
        );
        assert_eq!(
            place("name: a\nnodes: [ { name: n1, availability: sometimes } ]\n"),
            "2:36"
        );
        // Fixed addresses: an address, each node's own, on the network when it is written.
        assert_eq!(
            place("name: a\nnodes: [ { name: n1, ip: 1.2.3 } ]\n"),
            "2:26"
        );
        assert_eq!(
            place("name: a\nnodes: [ { name: n1, ip: 10.1.1.5 }, { name: n2, ip: 10.1.1.5 } ]\n"),
            "2:54"
        );
        assert_eq!(
            place(
                "name: a\nnetwork: { cidr: 192.168.56.1/24 }\nnodes: [ { name: n1, ip: 192.168.57.5 } ]\n"
            ),
            "3:26"
        );
        assert_eq!(
            place(
                "name: a\nnetwork: { cidr: 192.168.56.1/24 }\nnodes: [ { name: n1, ip: 192.168.56.1 } ]\n"
            ),
            "3:26"
        );
        let c = check("name: a\nnodes: [ { name: n1, ip: 192.168.56.10 } ]\n").unwrap();
        assert_eq!(c.nodes[0].ip, Some("192.168.56.10".parse().unwrap()));
        assert_eq!(
            place(
                "name: a\nnodes: [ { name: n1 } ]\nengine: { registry_mirrors: [192.168.56.1:5000] }\n"
            ),
            "3:30"
        );
        assert_eq!(
            place(
                "name: a\nnodes: [ { name: n1 } ]\nstacks: [ { name: web, file: missing.yml } ]\n"
            ),
            "3:30"
        );
        assert_eq!(place("name: a\nnodes: [ { name: n1 }\n"), "2:8");
        let e = check("name: a\nnodes:\n  - name: n1\n    cpus: 100000\n").unwrap_err();
        assert!(e.message.contains("out of range"), "{}", e.message);
    }

    #[test]
    fn errors_render_with_the_file_and_a_way_to_fix_them() {
        let e = check("name: a\nnodes:\n  - name: n1\n    cpus: 0\n").unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("/nonexistent/vswarm.yml:4:11: cpus: 0 is out of range"),
            "{text}"
        );
        assert!(e.help.is_some());
    }
}
