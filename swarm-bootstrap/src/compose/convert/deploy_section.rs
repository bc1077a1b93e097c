//! A service's `deploy` section in Engine API terms: its mode, update and rollback policies and
//! its resources, as the docker CLI's `convert` reads them.

use std::collections::HashMap;

use bollard::models::{
    GenericResourcesInner, GenericResourcesInnerDiscreteResourceSpec, Limit, ResourceObject,
    ServiceSpecMode, ServiceSpecModeReplicated, ServiceSpecModeReplicatedJob,
    ServiceSpecUpdateConfig, ServiceSpecUpdateConfigFailureActionEnum,
    ServiceSpecUpdateConfigOrderEnum, TaskSpecResources,
};

use crate::compose::model::{Service, UpdateConfig};
use crate::compose::values;

pub(super) fn convert_mode(service: &Service) -> Result<ServiceSpecMode, String> {
    let replicas = service.deploy.replicas;
    match service.deploy.mode.as_deref().unwrap_or_default() {
        "global-job" | "global" if replicas.is_some() => {
            Err("replicas can only be used with replicated or replicated-job mode".into())
        }
        "global-job" => Ok(ServiceSpecMode {
            global_job: Some(HashMap::new()),
            ..Default::default()
        }),
        "global" => Ok(ServiceSpecMode {
            global: Some(HashMap::new()),
            ..Default::default()
        }),
        "replicated-job" => Ok(ServiceSpecMode {
            replicated_job: Some(ServiceSpecModeReplicatedJob {
                max_concurrent: replicas.map(|r| r as i64),
                total_completions: replicas.map(|r| r as i64),
            }),
            ..Default::default()
        }),
        "replicated" | "" => Ok(ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated {
                replicas: replicas.map(|r| r as i64),
            }),
            ..Default::default()
        }),
        other => Err(format!("Unknown mode: {other}")),
    }
}

pub(super) fn convert_update(u: &UpdateConfig) -> Result<ServiceSpecUpdateConfig, String> {
    Ok(ServiceSpecUpdateConfig {
        parallelism: Some(u.parallelism.unwrap_or(1) as i64),
        delay: Some(u.delay),
        failure_action: match u.failure_action.as_str() {
            "" => None,
            "pause" => Some(ServiceSpecUpdateConfigFailureActionEnum::PAUSE),
            "continue" => Some(ServiceSpecUpdateConfigFailureActionEnum::CONTINUE),
            "rollback" => Some(ServiceSpecUpdateConfigFailureActionEnum::ROLLBACK),
            other => return Err(format!("invalid failure_action '{other}'")),
        },
        monitor: Some(u.monitor),
        max_failure_ratio: Some(u.max_failure_ratio),
        order: match u.order.as_str() {
            "" => None,
            "stop-first" => Some(ServiceSpecUpdateConfigOrderEnum::STOP_FIRST),
            "start-first" => Some(ServiceSpecUpdateConfigOrderEnum::START_FIRST),
            other => return Err(format!("invalid order '{other}'")),
        },
    })
}

pub(super) fn convert_resources(service: &Service) -> Result<TaskSpecResources, (String, String)> {
    let cpus = |key: &str, text: &Option<String>| -> Result<Option<i64>, (String, String)> {
        match text.as_deref() {
            None | Some("") => Ok(Some(0)),
            Some(t) => values::parse_nano_cpus(t)
                .map(Some)
                .map_err(|e| (format!("{key}.cpus"), format!("invalid cpus '{t}': {e}"))),
        }
    };
    let memory = |key: &str, text: &Option<String>| -> Result<Option<i64>, (String, String)> {
        match text.as_deref() {
            None => Ok(Some(0)),
            Some(t) => values::parse_memory_bytes(t).map(Some).map_err(|e| {
                (
                    format!("{key}.memory"),
                    format!("invalid memory '{t}': {e}"),
                )
            }),
        }
    };
    let deploy = &service.deploy;
    Ok(TaskSpecResources {
        limits: match &deploy.limits {
            None => None,
            Some(l) => Some(Limit {
                nano_cpus: cpus("limits", &l.cpus)?,
                memory_bytes: memory("limits", &l.memory)?,
                pids: l.pids.filter(|p| *p != 0),
            }),
        },
        reservations: match &deploy.reservations {
            None => None,
            Some(r) => Some(ResourceObject {
                nano_cpus: cpus("reservations", &r.cpus)?,
                memory_bytes: memory("reservations", &r.memory)?,
                generic_resources: (!r.generic.is_empty()).then(|| {
                    r.generic
                        .iter()
                        .map(|(kind, value)| GenericResourcesInner {
                            discrete_resource_spec: Some(
                                GenericResourcesInnerDiscreteResourceSpec {
                                    kind: Some(kind.clone()),
                                    value: Some(*value),
                                },
                            ),
                            named_resource_spec: None,
                        })
                        .collect()
                }),
            }),
        },
        swap_bytes: None,
        memory_swappiness: None,
    })
}
