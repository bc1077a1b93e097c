//! What a service's containers are given: mounts (named volumes, binds, tmpfs), secret and
//! config files, and capabilities, as the docker CLI's `convert` makes them.

use std::collections::{BTreeMap, BTreeSet};

use bollard::models::{
    Mount, MountBindOptions, MountBindOptionsPropagationEnum, MountTmpfsOptions, MountType,
    MountVolumeOptions, MountVolumeOptionsDriverConfig, TaskSpecContainerSpecFile,
};

use super::{scope, with_stack_label};
use crate::compose::model::{Config, FileObject, FileReference, ServiceVolume};

pub(super) fn convert_mount(
    stack: &str,
    volume: &ServiceVolume,
    config: &Config,
) -> Result<Mount, (String, &'static str)> {
    let incompatible = |kind: &str| -> Result<(), (String, &'static str)> {
        for block in &volume.option_blocks {
            if *block != kind {
                return Err((
                    format!("{block} options are incompatible with type {}", volume.kind),
                    "remove the option block that does not fit the type",
                ));
            }
        }
        Ok(())
    };
    let mut mount = Mount {
        target: Some(volume.target.clone()),
        source: (!volume.source.is_empty()).then(|| volume.source.clone()),
        read_only: volume.read_only.then_some(true),
        consistency: (!volume.consistency.is_empty()).then(|| volume.consistency.clone()),
        ..Default::default()
    };
    match volume.kind.as_str() {
        "volume" | "" => {
            incompatible("volume")?;
            mount.typ = Some(MountType::VOLUME);
            if volume.source.is_empty() {
                return Ok(mount);
            }
            let Some(declared) = config.volumes.get(&volume.source) else {
                return Err((
                    format!("undefined volume \"{}\"", volume.source),
                    "declare it under the top-level `volumes:` (or use a path starting with ./ or / for a bind mount)",
                ));
            };
            mount.source = Some(
                declared
                    .name
                    .clone()
                    .unwrap_or_else(|| scope(stack, &volume.source)),
            );
            let mut options = MountVolumeOptions {
                no_copy: volume.nocopy,
                ..Default::default()
            };
            if !declared.external.external {
                options.labels = Some(with_stack_label(stack, &declared.labels));
                if declared.driver.is_some() || declared.driver_opts.is_some() {
                    options.driver_config = Some(MountVolumeOptionsDriverConfig {
                        name: declared.driver.clone(),
                        options: declared
                            .driver_opts
                            .clone()
                            .map(|o| o.into_iter().collect()),
                    });
                }
            }
            mount.volume_options = Some(options);
        }
        "bind" => {
            incompatible("bind")?;
            if volume.source.is_empty() {
                return Err((
                    "invalid bind source, source cannot be empty".into(),
                    "give the host path to mount as `source`",
                ));
            }
            mount.typ = Some(MountType::BIND);
            mount.bind_options = volume.propagation.as_deref().map(|p| MountBindOptions {
                propagation: Some(match p {
                    "private" => MountBindOptionsPropagationEnum::PRIVATE,
                    "rprivate" => MountBindOptionsPropagationEnum::RPRIVATE,
                    "shared" => MountBindOptionsPropagationEnum::SHARED,
                    "rshared" => MountBindOptionsPropagationEnum::RSHARED,
                    "slave" => MountBindOptionsPropagationEnum::SLAVE,
                    _ => MountBindOptionsPropagationEnum::RSLAVE,
                }),
                ..Default::default()
            });
        }
        "tmpfs" => {
            incompatible("tmpfs")?;
            if !volume.source.is_empty() {
                return Err((
                    "invalid tmpfs source, source must be empty".into(),
                    "remove `source` from the tmpfs mount",
                ));
            }
            mount.typ = Some(MountType::TMPFS);
            mount.tmpfs_options = volume.tmpfs_size.map(|size| MountTmpfsOptions {
                size_bytes: Some(size),
                ..Default::default()
            });
        }
        "npipe" => {
            incompatible("bind")?;
            mount.typ = Some(MountType::NPIPE);
        }
        _ => {
            return Err((
                "volume type must be volume, bind, tmpfs, npipe, or cluster".into(),
                "fix `type`",
            ));
        }
    }
    Ok(mount)
}

/// Secret or config references: (object name, file target), sorted by name.
pub(super) fn file_references(
    stack: &str,
    references: &[FileReference],
    declared: &BTreeMap<String, FileObject>,
    kind: &str,
) -> Result<Vec<(String, TaskSpecContainerSpecFile)>, (usize, String)> {
    let singular = kind.trim_end_matches('s');
    let mut out = Vec::new();
    for (i, reference) in references.iter().enumerate() {
        let Some(object) = declared.get(&reference.source) else {
            return Err((i, format!("undefined {singular} \"{}\"", reference.source)));
        };
        let name = object
            .name
            .clone()
            .unwrap_or_else(|| scope(stack, &reference.source));
        out.push((
            name,
            TaskSpecContainerSpecFile {
                name: Some(
                    reference
                        .target
                        .clone()
                        .filter(|t| !t.is_empty())
                        .unwrap_or_else(|| reference.source.clone()),
                ),
                uid: Some(
                    reference
                        .uid
                        .clone()
                        .filter(|u| !u.is_empty())
                        .unwrap_or_else(|| "0".into()),
                ),
                gid: Some(
                    reference
                        .gid
                        .clone()
                        .filter(|g| !g.is_empty())
                        .unwrap_or_else(|| "0".into()),
                ),
                mode: Some(reference.mode.unwrap_or(0o444)),
            },
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The docker CLI's `EffectiveCapAddCapDrop`: names upper-cased with `CAP_`, `ALL` alone, a
/// capability both added and dropped only added; both lists sorted.
pub(super) fn effective_capabilities(
    add: &[String],
    drop: &[String],
) -> (Vec<String>, Vec<String>) {
    let normalize = |c: &String| {
        let c = c.trim().to_ascii_uppercase();
        if c == "ALL" || c == "RESET" || c.starts_with("CAP_") {
            c
        } else {
            format!("CAP_{c}")
        }
    };
    let mut adds: BTreeSet<String> = add.iter().map(normalize).collect();
    let mut drops: BTreeSet<String> = drop.iter().map(normalize).collect();
    if adds.contains("ALL") {
        adds = BTreeSet::from(["ALL".to_string()]);
    }
    if drops.contains("ALL") {
        drops = BTreeSet::from(["ALL".to_string()]);
    }
    let cap_drop = drops
        .iter()
        .filter(|c| !adds.contains(*c) && *c != "RESET")
        .cloned()
        .collect();
    let cap_add = adds.into_iter().filter(|c| c != "RESET").collect();
    (cap_add, cap_drop)
}
