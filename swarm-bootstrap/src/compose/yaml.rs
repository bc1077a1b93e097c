//! The YAML tree of a compose file: every value knows where it was written.
//!
//! serde-saphyr resolves anchors, aliases and `<<` merge keys; what reaches the reader is a
//! plain tree of [`Node`]s whose positions survive aliases (an error in an aliased value points
//! at the anchor, and names the alias it was reached through).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{MessageFormatter, Spanned, UserMessageFormatter};

use super::{ComposeError, SourcePosition};

/// A YAML value with where it was written.
pub type Node = Spanned<Yaml>;

/// A YAML value, aliases and merge keys already resolved.
#[derive(Debug)]
pub enum Yaml {
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
    pub fn kind(&self) -> &'static str {
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

    /// The text of a scalar (as docker turns numbers and booleans into strings); None for null
    /// and collections.
    pub fn scalar_text(&self) -> Option<String> {
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
pub fn parse_yaml(file: &str, text: &str) -> Result<Option<Node>, ComposeError> {
    let options = serde_saphyr::options! {
        // As gopkg.in/yaml.v3, which the docker CLI uses: `yes`, `on`... stay strings,
        // `0400` is octal (256) and `1_000` is 1000.
        strict_booleans: true,
        legacy_octal_numbers: true,
        leading_zero_numbers_as_strings: false,
        underscored_numbers_as_strings: false,
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

/// The tree as JSON (positions dropped), for reading a checked tree.
pub fn to_json(node: &Node) -> serde_json::Value {
    use serde_json::Value;
    match &node.value {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(*b),
        Yaml::Int(i) => i64::try_from(*i)
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(i.to_string())),
        Yaml::Float(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(f.to_string())),
        Yaml::Str(s) => Value::String(s.clone()),
        Yaml::List(items) => Value::Array(items.iter().map(to_json).collect()),
        Yaml::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.value.scalar_text().unwrap_or_default(), to_json(v)))
                .collect(),
        ),
    }
}
