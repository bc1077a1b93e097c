//! The cluster file as written: serde's model of the YAML, every value kept with where it was
//! written (`Spanned`), so that the checks can name `FILE:LINE:COL`.
//!
//! Nothing here is checked beyond the YAML's shape; `check` turns it into a [`ClusterSpec`].
//!
//! [`ClusterSpec`]: super::ClusterSpec

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::{Availability, Role};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCluster {
    pub(super) name: Spanned<String>,
    #[serde(default)]
    pub(super) network: RawNetwork,
    #[serde(default)]
    pub(super) defaults: RawSizes,
    pub(super) nodes: Spanned<RawNodes>,
    #[serde(default)]
    pub(super) engine: RawEngine,
    #[serde(default)]
    pub(super) stacks: Vec<RawStack>,
    #[serde(default)]
    pub(super) iso: Option<Spanned<String>>,
    /// The ISO's SHA-256, checked instead of a published one (and making plain HTTP fine).
    #[serde(default)]
    pub(super) iso_sha256: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNetwork {
    pub(super) cidr: Option<Spanned<String>>,
    /// A host-only interface the user lets vswarm configure (it did not make it).
    pub(super) interface: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSizes {
    pub(super) cpus: Option<Spanned<u32>>,
    pub(super) memory: Option<Spanned<u32>>,
    pub(super) disk: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNode {
    pub(super) name: Spanned<String>,
    pub(super) role: Option<Spanned<Role>>,
    pub(super) cpus: Option<Spanned<u32>>,
    pub(super) memory: Option<Spanned<u32>>,
    pub(super) disk: Option<Spanned<u64>>,
    pub(super) labels: Option<Spanned<RawLabels>>,
    pub(super) availability: Option<Spanned<Availability>>,
    pub(super) ip: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCounts {
    pub(super) managers: Spanned<u32>,
    #[serde(default)]
    pub(super) workers: Option<Spanned<u32>>,
}

/// `nodes:` is a list of nodes or the counts shorthand.
#[derive(Debug)]
pub(super) enum RawNodes {
    List(Vec<RawNode>),
    Counts(RawCounts),
}

impl<'de> Deserialize<'de> for RawNodes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RawNodes, D::Error> {
        struct NodesVisitor;
        impl<'de> Visitor<'de> for NodesVisitor {
            type Value = RawNodes;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of nodes, or counts such as { managers: 1, workers: 2 }")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawNodes, A::Error> {
                let mut nodes = Vec::new();
                while let Some(n) = seq.next_element::<RawNode>()? {
                    nodes.push(n);
                }
                Ok(RawNodes::List(nodes))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawNodes, A::Error> {
                RawCounts::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawNodes::Counts)
            }
        }
        d.deserialize_any(NodesVisitor)
    }
}

/// Labels as `[key=value, ...]` or `{ key: value, ... }`.
#[derive(Debug)]
pub(super) enum RawLabels {
    List(Vec<Spanned<String>>),
    Map(Vec<(String, String)>),
}

impl<'de> Deserialize<'de> for RawLabels {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RawLabels, D::Error> {
        struct LabelsVisitor;
        impl<'de> Visitor<'de> for LabelsVisitor {
            type Value = RawLabels;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("labels as a list of key=value, or a mapping of keys to values")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawLabels, A::Error> {
                let mut out = Vec::new();
                while let Some(l) = seq.next_element::<Spanned<String>>()? {
                    out.push(l);
                }
                Ok(RawLabels::List(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawLabels, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Scalar>()? {
                    out.push((k, v.0));
                }
                Ok(RawLabels::Map(out))
            }
        }
        d.deserialize_any(LabelsVisitor)
    }
}

/// A scalar of any type, as text (`zone: 1` is the label value "1").
#[derive(Debug)]
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        struct ScalarVisitor;
        impl Visitor<'_> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(ScalarVisitor)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEngine {
    #[serde(default)]
    pub(super) labels: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) registry_mirrors: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) insecure_registries: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) storage_driver: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) env: Option<Spanned<RawEnv>>,
}

/// `env:` as a mapping of names to values.
#[derive(Debug)]
pub(super) struct RawEnv(pub(super) Vec<(String, String)>);

impl<'de> Deserialize<'de> for RawEnv {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RawEnv, D::Error> {
        struct EnvVisitor;
        impl<'de> Visitor<'de> for EnvVisitor {
            type Value = RawEnv;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of variable names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEnv, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Scalar>()? {
                    out.push((k, v.0));
                }
                Ok(RawEnv(out))
            }
        }
        d.deserialize_map(EnvVisitor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStack {
    pub(super) name: Spanned<String>,
    pub(super) file: Spanned<String>,
}
