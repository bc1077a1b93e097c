//! A loaded compose configuration turned into Engine API objects, as the docker CLI's
//! `convert` package does for `docker stack deploy`: `STACK_NAME` names, the label
//! `com.docker.stack.namespace=STACK` on every object (and `com.docker.stack.image` on
//! services), the default network, aliases, sorted lists, and the same defaults (secrets and
//! configs mounted at their name, mode 0444, uid and gid 0).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use base64::Engine as _;
use bollard::models::{
    ConfigSpec, Driver, EndpointPortConfig, EndpointPortConfigProtocolEnum,
    EndpointPortConfigPublishModeEnum, EndpointSpec, EndpointSpecModeEnum, HealthConfig, Ipam,
    IpamConfig, NetworkAttachmentConfig, NetworkCreateRequest, ResourcesUlimits, SecretSpec,
    ServiceSpec, ServiceSpecRollbackConfig, ServiceSpecRollbackConfigFailureActionEnum,
    ServiceSpecRollbackConfigOrderEnum, ServiceSpecUpdateConfigFailureActionEnum,
    ServiceSpecUpdateConfigOrderEnum, TaskSpec, TaskSpecContainerSpec,
    TaskSpecContainerSpecConfigs, TaskSpecContainerSpecDnsConfig, TaskSpecContainerSpecFile1,
    TaskSpecContainerSpecIsolationEnum, TaskSpecContainerSpecPrivileges,
    TaskSpecContainerSpecPrivilegesCredentialSpec, TaskSpecContainerSpecSecrets, TaskSpecLogDriver,
    TaskSpecPlacement, TaskSpecPlacementPreferences, TaskSpecPlacementSpread,
    TaskSpecRestartPolicy, TaskSpecRestartPolicyConditionEnum,
};

mod attachments;
mod deploy_section;

use attachments::{convert_mount, effective_capabilities, file_references};
use deploy_section::{convert_mode, convert_resources, convert_update};

use super::model::{Config, FileObject, Service};
use super::values;
use crate::stack::{IMAGE_LABEL, NAMESPACE_LABEL, StackNetwork, StackService, StackSpec};

const DEFAULT_NETWORK: &str = "default";

/// A conversion error: the key path it is about (for its position) and what is wrong.
#[derive(Debug)]
pub struct ConvertError {
    pub path: String,
    pub message: String,
    pub help: String,
}

fn err(path: impl Into<String>, message: impl Into<String>, help: &str) -> ConvertError {
    ConvertError {
        path: path.into(),
        message: message.into(),
        help: help.into(),
    }
}

fn with_stack_label(stack: &str, labels: &BTreeMap<String, String>) -> HashMap<String, String> {
    let mut labels: HashMap<String, String> = labels.clone().into_iter().collect();
    labels.insert(NAMESPACE_LABEL.into(), stack.into());
    labels
}

fn scope(stack: &str, name: &str) -> String {
    format!("{stack}_{name}")
}

/// Converts `config` into the stack `stack`; `read_file` reads secret and config files (and
/// env files were read before).
pub fn convert(
    stack: &str,
    config: &Config,
    read_file: &dyn Fn(&str) -> Result<Vec<u8>, String>,
) -> Result<StackSpec, ConvertError> {
    // Networks: those services use (a service without networks uses `default`).
    let mut used: BTreeSet<String> = BTreeSet::new();
    for service in config.services.values() {
        match &service.networks {
            Some(networks) if !networks.is_empty() => used.extend(networks.keys().cloned()),
            _ => {
                used.insert(DEFAULT_NETWORK.into());
            }
        }
    }
    let mut networks = Vec::new();
    let mut external_networks = Vec::new();
    for internal in &used {
        let nw = config.networks.get(internal).cloned().unwrap_or_default();
        if nw.external.external {
            external_networks.push(nw.name.clone().unwrap_or_else(|| internal.clone()));
            continue;
        }
        let name = nw.name.clone().unwrap_or_else(|| scope(stack, internal));
        let ipam = (nw.ipam_driver.is_some() || !nw.ipam_subnets.is_empty()).then(|| Ipam {
            driver: nw.ipam_driver.clone(),
            config: (!nw.ipam_subnets.is_empty()).then(|| {
                nw.ipam_subnets
                    .iter()
                    .map(|subnet| IpamConfig {
                        subnet: Some(subnet.clone()),
                        ..Default::default()
                    })
                    .collect()
            }),
            options: None,
        });
        networks.push(StackNetwork {
            name: name.clone(),
            create: NetworkCreateRequest {
                name,
                driver: Some(nw.driver.clone().unwrap_or_else(|| "overlay".into())),
                internal: Some(nw.internal),
                attachable: Some(nw.attachable),
                ipam,
                options: (!nw.driver_opts.is_empty())
                    .then(|| nw.driver_opts.clone().into_iter().collect()),
                labels: Some(with_stack_label(stack, &nw.labels)),
                ..Default::default()
            },
        });
    }

    let secrets = file_objects(stack, &config.secrets, "secrets", read_file)?
        .into_iter()
        .map(|(object, spec)| SecretSpec {
            name: spec.name,
            labels: spec.labels,
            data: spec.data,
            driver: object.driver.as_ref().map(|name| Driver {
                name: name.clone(),
                options: (!object.driver_opts.is_empty())
                    .then(|| object.driver_opts.clone().into_iter().collect()),
            }),
            templating: object.template_driver.as_ref().map(|name| Driver {
                name: name.clone(),
                options: None,
            }),
        })
        .collect();
    let configs = file_objects(stack, &config.configs, "configs", read_file)?
        .into_iter()
        .map(|(object, spec)| ConfigSpec {
            templating: object.template_driver.as_ref().map(|name| Driver {
                name: name.clone(),
                options: None,
            }),
            ..spec
        })
        .collect();

    let mut services = Vec::new();
    for (name, service) in &config.services {
        services.push(StackService {
            name: name.clone(),
            spec: convert_service(stack, name, service, config)?,
        });
    }
    Ok(StackSpec {
        name: stack.to_string(),
        networks,
        external_networks,
        secrets,
        configs,
        services,
    })
}

/// Secrets or configs the stack creates (external ones are only referenced), with the data of
/// their files.
fn file_objects<'c>(
    stack: &str,
    objects: &'c BTreeMap<String, FileObject>,
    kind: &str,
    read_file: &dyn Fn(&str) -> Result<Vec<u8>, String>,
) -> Result<Vec<(&'c FileObject, ConfigSpec)>, ConvertError> {
    let mut out = Vec::new();
    for (name, object) in objects {
        if object.external.external {
            continue;
        }
        let data = if object.driver.is_some() {
            Vec::new()
        } else {
            let file = object.file.as_deref().unwrap_or_default();
            read_file(file).map_err(|e| {
                err(
                    format!("{kind}.{name}.file"),
                    format!("cannot read {file}: {e}"),
                    "check the path (relative to the first compose file)",
                )
            })?
        };
        out.push((
            object,
            ConfigSpec {
                name: Some(object.name.clone().unwrap_or_else(|| scope(stack, name))),
                labels: Some(with_stack_label(stack, &object.labels)),
                data: Some(base64::engine::general_purpose::STANDARD.encode(data)),
                templating: None,
            },
        ));
    }
    Ok(out)
}

fn convert_service(
    stack: &str,
    name: &str,
    service: &Service,
    config: &Config,
) -> Result<ServiceSpec, ConvertError> {
    let at = |key: &str| format!("services.{name}.{key}");
    let image = service.image.clone().unwrap_or_default();
    let mut labels = with_stack_label(stack, &service.deploy.labels);
    labels.insert(IMAGE_LABEL.into(), image.clone());

    let mode = convert_mode(service).map_err(|m| {
        err(
            at("deploy.mode"),
            m,
            "use replicated (with replicas), global, replicated-job or global-job",
        )
    })?;

    let mut mounts = Vec::new();
    for (i, volume) in service.volumes.iter().enumerate() {
        mounts.push(
            convert_mount(stack, volume, config)
                .map_err(|(m, h)| err(at(&format!("volumes[{i}]")), m, h))?,
        );
    }

    let restart_policy = match &service.deploy.restart_policy {
        Some(policy) => Some(TaskSpecRestartPolicy {
            condition: match policy.condition.as_deref() {
                None | Some("") => None,
                Some("none") => Some(TaskSpecRestartPolicyConditionEnum::NONE),
                Some("on-failure") => Some(TaskSpecRestartPolicyConditionEnum::ON_FAILURE),
                Some("any") => Some(TaskSpecRestartPolicyConditionEnum::ANY),
                Some(other) => {
                    return Err(err(
                        at("deploy.restart_policy.condition"),
                        format!("invalid restart condition '{other}'"),
                        "use none, on-failure or any",
                    ));
                }
            },
            delay: policy.delay,
            max_attempts: policy.max_attempts.map(|m| m as i64),
            window: policy.window,
        }),
        None => match values::parse_restart(service.restart.as_deref().unwrap_or_default()) {
            Ok(None) => None,
            Ok(Some((condition, attempts))) => Some(TaskSpecRestartPolicy {
                condition: Some(if condition == "any" {
                    TaskSpecRestartPolicyConditionEnum::ANY
                } else {
                    TaskSpecRestartPolicyConditionEnum::ON_FAILURE
                }),
                max_attempts: attempts.map(|a| a as i64),
                ..Default::default()
            }),
            Err(e) => {
                return Err(err(
                    at("restart"),
                    e,
                    "use no, always, unless-stopped or on-failure[:N]",
                ));
            }
        },
    };

    let healthcheck = match &service.healthcheck {
        None => None,
        Some(h) if h.disable => {
            if !h.test.is_empty() {
                return Err(err(
                    at("healthcheck"),
                    "test and disable can't be set at the same time",
                    "remove `test` or `disable`",
                ));
            }
            Some(HealthConfig {
                test: Some(vec!["NONE".into()]),
                ..Default::default()
            })
        }
        Some(h) => Some(HealthConfig {
            test: (!h.test.is_empty()).then(|| h.test.clone()),
            timeout: Some(h.timeout.unwrap_or(0)),
            interval: Some(h.interval.unwrap_or(0)),
            retries: Some(h.retries.unwrap_or(0) as i64),
            start_period: Some(h.start_period.unwrap_or(0)),
            start_interval: Some(h.start_interval.unwrap_or(0)),
        }),
    };

    // Networks: the service's, or the stack's default; each with the service name as an
    // alias (docker adds it to every user-defined network).
    let wanted: BTreeMap<String, Option<super::model::ServiceNetwork>> = match &service.networks {
        Some(networks) if !networks.is_empty() => networks.clone(),
        _ => BTreeMap::from([(DEFAULT_NETWORK.to_string(), None)]),
    };
    let mut attachments = Vec::new();
    for (network, settings) in &wanted {
        let declared = config.networks.get(network);
        if declared.is_none() && network != DEFAULT_NETWORK {
            return Err(err(
                at(&format!("networks.{network}")),
                format!("undefined network \"{network}\""),
                "declare it under the top-level `networks:` or fix the name",
            ));
        }
        let target = declared
            .and_then(|n| n.name.clone())
            .unwrap_or_else(|| scope(stack, network));
        let mut aliases = settings
            .as_ref()
            .map(|s| s.aliases.clone())
            .unwrap_or_default();
        if !matches!(target.as_str(), "host" | "bridge" | "none" | "default")
            && !target.starts_with("container:")
        {
            aliases.push(name.to_string());
        }
        attachments.push(NetworkAttachmentConfig {
            target: Some(target),
            aliases: (!aliases.is_empty()).then_some(aliases),
            driver_opts: settings
                .as_ref()
                .filter(|s| !s.driver_opts.is_empty())
                .map(|s| s.driver_opts.clone().into_iter().collect()),
        });
    }
    attachments.sort_by(|a, b| a.target.cmp(&b.target));

    // A secret or config a service names must be declared at the top level.
    let references = |refs, declared, kind: &str| {
        file_references(stack, refs, declared, kind).map_err(|(i, m)| {
            err(
                at(&format!("{kind}[{i}]")),
                m,
                &format!("declare it under the top-level `{kind}:`"),
            )
        })
    };
    let secrets = references(&service.secrets, &config.secrets, "secrets")?
        .into_iter()
        .map(|(name, file)| TaskSpecContainerSpecSecrets {
            file: Some(file),
            secret_id: None,
            secret_name: Some(name),
        })
        .collect::<Vec<_>>();
    let mut configs = references(&service.configs, &config.configs, "configs")?
        .into_iter()
        .map(|(name, file)| TaskSpecContainerSpecConfigs {
            file: Some(TaskSpecContainerSpecFile1 {
                name: file.name,
                uid: file.uid,
                gid: file.gid,
                mode: file.mode,
            }),
            config_name: Some(name),
            ..Default::default()
        })
        .collect::<Vec<_>>();

    let credential = &service.credential_spec;
    let credential_spec = match (&credential.config, &credential.file, &credential.registry) {
        (None, None, None) => None,
        (Some(config_name), None, None) => {
            let object = config.configs.get(config_name).ok_or_else(|| {
                err(
                    at("credential_spec.config"),
                    format!("undefined config \"{config_name}\""),
                    "declare it under the top-level `configs:`",
                )
            })?;
            let full = object
                .name
                .clone()
                .unwrap_or_else(|| scope(stack, config_name));
            configs.push(TaskSpecContainerSpecConfigs {
                config_name: Some(full.clone()),
                runtime: Some(HashMap::new()),
                ..Default::default()
            });
            // The deployment replaces the name by the config's ID.
            Some(TaskSpecContainerSpecPrivilegesCredentialSpec {
                config: Some(full),
                ..Default::default()
            })
        }
        (None, Some(file), None) => Some(TaskSpecContainerSpecPrivilegesCredentialSpec {
            file: Some(file.clone()),
            ..Default::default()
        }),
        (None, None, Some(registry)) => Some(TaskSpecContainerSpecPrivilegesCredentialSpec {
            registry: Some(registry.clone()),
            ..Default::default()
        }),
        _ => {
            return Err(err(
                at("credential_spec"),
                "invalid credential spec: set only one of config, file and registry",
                "keep one of them",
            ));
        }
    };
    configs.sort_by(|a, b| a.config_name.cmp(&b.config_name));

    let (cap_add, cap_drop) = effective_capabilities(&service.cap_add, &service.cap_drop);
    let mut env: Vec<String> = service
        .environment
        .iter()
        .map(|(k, v)| match v {
            Some(v) => format!("{k}={v}"),
            None => k.clone(),
        })
        .collect();
    env.sort();

    let mut ulimits: Vec<ResourcesUlimits> = service
        .ulimits
        .iter()
        .map(|(name, u)| {
            let (soft, hard) = if u.single != 0 {
                (u.single, u.single)
            } else {
                (u.soft, u.hard)
            };
            ResourcesUlimits {
                name: Some(name.clone()),
                soft: Some(soft),
                hard: Some(hard),
            }
        })
        .collect();
    ulimits.sort_by(|a, b| a.name.cmp(&b.name));

    let isolation = match service.isolation.as_deref() {
        None | Some("") => None,
        Some("default") => Some(TaskSpecContainerSpecIsolationEnum::DEFAULT),
        Some("process") => Some(TaskSpecContainerSpecIsolationEnum::PROCESS),
        Some("hyperv") => Some(TaskSpecContainerSpecIsolationEnum::HYPERV),
        Some(other) => {
            return Err(err(
                at("isolation"),
                format!("invalid isolation '{other}'"),
                "use default, process or hyperv",
            ));
        }
    };

    let resources = convert_resources(service).map_err(|(key, m)| {
        err(
            at(&format!("deploy.resources.{key}")),
            m,
            "write CPUs as a decimal such as \"0.5\" and memory as \"512M\"",
        )
    })?;

    let mut ports: Vec<EndpointPortConfig> = Vec::new();
    for (i, port) in service.ports.iter().enumerate() {
        let bad = |m: String, h: &str| err(at(&format!("ports[{i}]")), m, h);
        ports.push(EndpointPortConfig {
            name: None,
            protocol: match port.protocol.as_str() {
                "" => None,
                "tcp" => Some(EndpointPortConfigProtocolEnum::TCP),
                "udp" => Some(EndpointPortConfigProtocolEnum::UDP),
                "sctp" => Some(EndpointPortConfigProtocolEnum::SCTP),
                other => {
                    return Err(bad(
                        format!("invalid protocol '{other}'"),
                        "use tcp, udp or sctp",
                    ));
                }
            },
            target_port: Some(i64::from(port.target)),
            published_port: Some(i64::from(port.published)),
            publish_mode: match port.mode.as_str() {
                "" => None,
                "ingress" => Some(EndpointPortConfigPublishModeEnum::INGRESS),
                "host" => Some(EndpointPortConfigPublishModeEnum::HOST),
                other => {
                    return Err(bad(
                        format!("invalid publish mode '{other}'"),
                        "use ingress or host",
                    ));
                }
            },
        });
    }
    ports.sort_by_key(|p| p.published_port);
    let endpoint_mode = match service
        .deploy
        .endpoint_mode
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("") => None,
        Some("vip") => Some(EndpointSpecModeEnum::VIP),
        Some("dnsrr") => Some(EndpointSpecModeEnum::DNSRR),
        Some(other) => {
            return Err(err(
                at("deploy.endpoint_mode"),
                format!("invalid endpoint mode '{other}'"),
                "use vip or dnsrr",
            ));
        }
    };

    let dns_config = (service.dns.is_some() || service.dns_search.is_some()).then(|| {
        TaskSpecContainerSpecDnsConfig {
            nameservers: service.dns.clone(),
            search: service.dns_search.clone(),
            options: None,
        }
    });

    let container = TaskSpecContainerSpec {
        image: Some(values::image_with_tag(&image).unwrap_or_else(|| image.clone())),
        labels: Some(with_stack_label(stack, &service.labels)),
        command: service.entrypoint.clone(),
        args: service.command.clone(),
        hostname: service.hostname.clone(),
        env: (!env.is_empty()).then_some(env),
        dir: service.working_dir.clone(),
        user: service.user.clone(),
        privileges: Some(TaskSpecContainerSpecPrivileges {
            credential_spec,
            ..Default::default()
        }),
        tty: service.tty,
        open_stdin: service.stdin_open,
        read_only: service.read_only,
        mounts: (!mounts.is_empty()).then_some(mounts),
        stop_signal: service.stop_signal.clone(),
        stop_grace_period: service.stop_grace_period,
        health_check: healthcheck,
        hosts: (!service.extra_hosts.is_empty()).then(|| {
            service
                .extra_hosts
                .iter()
                .filter_map(|entry| entry.split_once(':'))
                .map(|(host, ip)| format!("{ip} {host}"))
                .collect()
        }),
        dns_config,
        secrets: (!secrets.is_empty()).then_some(secrets),
        configs: (!configs.is_empty()).then_some(configs),
        isolation,
        init: service.init,
        sysctls: (!service.sysctls.is_empty())
            .then(|| service.sysctls.clone().into_iter().collect()),
        capability_add: (!cap_add.is_empty()).then_some(cap_add),
        capability_drop: (!cap_drop.is_empty()).then_some(cap_drop),
        ulimits: (!ulimits.is_empty()).then_some(ulimits),
        oom_score_adj: service.oom_score_adj.filter(|v| *v != 0),
        ..Default::default()
    };

    let deploy = &service.deploy;
    Ok(ServiceSpec {
        name: Some(scope(stack, name)),
        labels: Some(labels),
        task_template: Some(TaskSpec {
            container_spec: Some(container),
            resources: Some(resources),
            restart_policy,
            placement: Some(TaskSpecPlacement {
                constraints: (!deploy.constraints.is_empty()).then(|| deploy.constraints.clone()),
                preferences: (!deploy.preferences.is_empty()).then(|| {
                    deploy
                        .preferences
                        .iter()
                        .map(|spread| TaskSpecPlacementPreferences {
                            spread: Some(TaskSpecPlacementSpread {
                                spread_descriptor: Some(spread.clone()),
                            }),
                        })
                        .collect()
                }),
                max_replicas: deploy
                    .max_replicas_per_node
                    .map(|m| m as i64)
                    .filter(|m| *m != 0),
                platforms: None,
            }),
            networks: Some(attachments),
            log_driver: service.logging.as_ref().map(|l| TaskSpecLogDriver {
                name: Some(l.driver.clone()),
                options: (!l.options.is_empty()).then(|| l.options.clone().into_iter().collect()),
            }),
            ..Default::default()
        }),
        mode: Some(mode),
        update_config: deploy
            .update_config
            .as_ref()
            .map(convert_update)
            .transpose()
            .map_err(|m| {
                err(
                    at("deploy.update_config"),
                    m,
                    "failure_action: pause, continue or rollback; order: stop-first or start-first",
                )
            })?,
        rollback_config: deploy
            .rollback_config
            .as_ref()
            .map(|u| {
                convert_update(u).map(|c| ServiceSpecRollbackConfig {
                    parallelism: c.parallelism,
                    delay: c.delay,
                    failure_action: c.failure_action.map(|a| match a {
                        ServiceSpecUpdateConfigFailureActionEnum::PAUSE => {
                            ServiceSpecRollbackConfigFailureActionEnum::PAUSE
                        }
                        _ => ServiceSpecRollbackConfigFailureActionEnum::CONTINUE,
                    }),
                    monitor: c.monitor,
                    max_failure_ratio: c.max_failure_ratio,
                    order: c.order.map(|o| match o {
                        ServiceSpecUpdateConfigOrderEnum::START_FIRST => {
                            ServiceSpecRollbackConfigOrderEnum::START_FIRST
                        }
                        _ => ServiceSpecRollbackConfigOrderEnum::STOP_FIRST,
                    }),
                })
            })
            .transpose()
            .map_err(|m| {
                err(
                    at("deploy.rollback_config"),
                    m,
                    "failure_action: pause or continue; order: stop-first or start-first",
                )
            })?,
        endpoint_spec: Some(EndpointSpec {
            mode: endpoint_mode,
            ports: (!ports.is_empty()).then_some(ports),
        }),
        ..Default::default()
    })
}
