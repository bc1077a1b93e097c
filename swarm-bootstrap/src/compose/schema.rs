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

use super::keys::{
    BUILD, EXTERNAL_NAME, FILE_REF, PORT, SERVICE_NETWORK, SOFT_HARD, Ty, VOLUME_MOUNT, Version,
};
use super::values;
use super::yaml::{Node, Yaml};
use super::{ComposeError, Problem, SourcePosition};

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
