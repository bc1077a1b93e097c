//! Several compose files (`-c a.yml -c b.yml`) merged as the docker CLI merges them: a later
//! file's non-empty values override, mappings merge key by key, most lists are appended, and
//! `ports`, `volumes`, `secrets` and `configs` are merged by published port, target and source
//! (then sorted by them). Top-level networks, volumes, secrets and configs are replaced whole
//! by name.

use std::collections::BTreeMap;

use super::model::{
    Config, Deploy, FileReference, Healthcheck, Logging, ResourceLimits, ResourceReservations,
    RestartPolicy, Service, ServiceVolume, UpdateConfig,
};
use super::values::PortConfig;

pub fn merge(mut base: Config, over: Config) -> Config {
    for (name, service) in over.services {
        match base.services.remove(&name) {
            Some(existing) => {
                base.services.insert(name, merge_service(existing, service));
            }
            None => {
                base.services.insert(name, service);
            }
        }
    }
    base.networks.extend(over.networks);
    base.volumes.extend(over.volumes);
    base.secrets.extend(over.secrets);
    base.configs.extend(over.configs);
    base
}

/// A string option: a later non-empty value wins.
fn text(base: &mut Option<String>, over: Option<String>) {
    if over.as_deref().is_some_and(|v| !v.is_empty()) {
        *base = over;
    }
}

/// A pointer-like option: a later value wins.
fn set<T>(base: &mut Option<T>, over: Option<T>) {
    if over.is_some() {
        *base = over;
    }
}

/// A plain boolean: only `true` overrides (false is Go's empty value).
fn flag(base: &mut Option<bool>, over: Option<bool>) {
    if over == Some(true) {
        *base = over;
    }
}

fn map<V>(base: &mut BTreeMap<String, V>, over: BTreeMap<String, V>) {
    base.extend(over);
}

fn merge_service(mut b: Service, o: Service) -> Service {
    text(&mut b.image, o.image);
    if o.command.as_ref().is_some_and(|c| !c.is_empty()) {
        b.command = o.command;
    }
    if o.entrypoint.as_ref().is_some_and(|c| !c.is_empty()) {
        b.entrypoint = o.entrypoint;
    }
    for (k, v) in o.environment {
        if v.is_some() || !b.environment.contains_key(&k) {
            b.environment.insert(k, v);
        }
    }
    b.env_file.extend(o.env_file);
    map(&mut b.labels, o.labels);
    text(&mut b.hostname, o.hostname);
    text(&mut b.user, o.user);
    text(&mut b.working_dir, o.working_dir);
    text(&mut b.stop_signal, o.stop_signal);
    set(&mut b.stop_grace_period, o.stop_grace_period);
    text(&mut b.isolation, o.isolation);
    map(&mut b.sysctls, o.sysctls);
    for (k, v) in o.ulimits {
        if v != Default::default() {
            b.ulimits.insert(k, v);
        } else {
            b.ulimits.entry(k).or_insert(v);
        }
    }
    set(&mut b.init, o.init);
    flag(&mut b.read_only, o.read_only);
    flag(&mut b.tty, o.tty);
    flag(&mut b.stdin_open, o.stdin_open);
    b.cap_add.extend(o.cap_add);
    b.cap_drop.extend(o.cap_drop);
    append(&mut b.dns, o.dns);
    append(&mut b.dns_search, o.dns_search);
    b.extra_hosts.extend(o.extra_hosts);
    b.logging = match (b.logging, o.logging) {
        (None, over) => over,
        (base, None) => base,
        (Some(mut base), Some(over)) => {
            if base.driver == over.driver || base.driver.is_empty() || over.driver.is_empty() {
                if base.driver.is_empty() {
                    base.driver = over.driver;
                }
                base.options.extend(over.options);
                Some(base)
            } else {
                Some(Logging { ..over })
            }
        }
    };
    b.healthcheck = match (b.healthcheck, o.healthcheck) {
        (None, over) => over,
        (base, None) => base,
        (Some(mut base), Some(over)) => {
            let Healthcheck {
                test,
                timeout,
                interval,
                retries,
                start_period,
                start_interval,
                disable,
            } = over;
            // Appended, as the docker CLI's merge appends lists it has no rule for.
            base.test.extend(test);
            set(&mut base.timeout, timeout);
            set(&mut base.interval, interval);
            set(&mut base.retries, retries);
            set(&mut base.start_period, start_period);
            set(&mut base.start_interval, start_interval);
            base.disable |= disable;
            Some(base)
        }
    };
    b.deploy = merge_deploy(b.deploy, o.deploy);
    b.ports = merge_ports(b.ports, o.ports);
    b.networks = match (b.networks, o.networks) {
        (None, over) => over,
        (base, None) => base,
        (Some(mut base), Some(over)) => {
            for (name, settings) in over {
                match (base.get_mut(&name), settings) {
                    (Some(Some(existing)), Some(settings)) => {
                        existing.aliases = settings.aliases;
                    }
                    (Some(slot), settings) => {
                        if settings.is_some() {
                            *slot = settings;
                        }
                    }
                    (None, settings) => {
                        base.insert(name, settings);
                    }
                }
            }
            Some(base)
        }
    };
    b.volumes = merge_by(b.volumes, o.volumes, |v: &ServiceVolume| v.target.clone());
    b.secrets = merge_by(b.secrets, o.secrets, |r: &FileReference| r.source.clone());
    b.configs = merge_by(b.configs, o.configs, |r: &FileReference| r.source.clone());
    text(&mut b.restart, o.restart);
    text(&mut b.credential_spec.config, o.credential_spec.config);
    text(&mut b.credential_spec.file, o.credential_spec.file);
    text(&mut b.credential_spec.registry, o.credential_spec.registry);
    set(&mut b.oom_score_adj, o.oom_score_adj.filter(|v| *v != 0));
    b
}

fn append(base: &mut Option<Vec<String>>, over: Option<Vec<String>>) {
    match (base.as_mut(), over) {
        (Some(list), Some(more)) => list.extend(more),
        (None, Some(more)) => *base = Some(more),
        (_, None) => {}
    }
}

fn merge_deploy(mut b: Deploy, o: Deploy) -> Deploy {
    text(&mut b.mode, o.mode);
    set(&mut b.replicas, o.replicas);
    map(&mut b.labels, o.labels);
    b.update_config = merge_update(b.update_config, o.update_config);
    b.rollback_config = merge_update(b.rollback_config, o.rollback_config);
    b.limits = match (b.limits, o.limits) {
        (Some(mut base), Some(over)) => {
            let ResourceLimits { cpus, memory, pids } = over;
            text(&mut base.cpus, cpus);
            text(&mut base.memory, memory);
            set(&mut base.pids, pids.filter(|p| *p != 0));
            Some(base)
        }
        (base, over) => over.or(base),
    };
    b.reservations = match (b.reservations, o.reservations) {
        (Some(mut base), Some(over)) => {
            let ResourceReservations {
                cpus,
                memory,
                generic,
            } = over;
            text(&mut base.cpus, cpus);
            text(&mut base.memory, memory);
            base.generic.extend(generic);
            Some(base)
        }
        (base, over) => over.or(base),
    };
    b.restart_policy = match (b.restart_policy, o.restart_policy) {
        (Some(mut base), Some(over)) => {
            let RestartPolicy {
                condition,
                delay,
                max_attempts,
                window,
            } = over;
            text(&mut base.condition, condition);
            set(&mut base.delay, delay);
            set(&mut base.max_attempts, max_attempts);
            set(&mut base.window, window);
            Some(base)
        }
        (base, over) => over.or(base),
    };
    b.constraints.extend(o.constraints);
    b.preferences.extend(o.preferences);
    set(
        &mut b.max_replicas_per_node,
        o.max_replicas_per_node.filter(|m| *m != 0),
    );
    text(&mut b.endpoint_mode, o.endpoint_mode);
    b
}

fn merge_update(base: Option<UpdateConfig>, over: Option<UpdateConfig>) -> Option<UpdateConfig> {
    match (base, over) {
        (Some(mut b), Some(o)) => {
            set(&mut b.parallelism, o.parallelism);
            if o.delay != 0 {
                b.delay = o.delay;
            }
            if !o.failure_action.is_empty() {
                b.failure_action = o.failure_action;
            }
            if o.monitor != 0 {
                b.monitor = o.monitor;
            }
            if o.max_failure_ratio != 0.0 {
                b.max_failure_ratio = o.max_failure_ratio;
            }
            if !o.order.is_empty() {
                b.order = o.order;
            }
            Some(b)
        }
        (base, over) => over.or(base),
    }
}

/// Ports merged by published port (a later file's port replaces one with the same published
/// port, ports without one included), sorted by it.
fn merge_ports(base: Vec<PortConfig>, over: Vec<PortConfig>) -> Vec<PortConfig> {
    if over.is_empty() {
        return base;
    }
    merge_by(base, over, |p: &PortConfig| p.published)
}

/// Lists merged as maps keyed by `key`: later entries replace earlier ones with the same key;
/// the result is sorted by key.
fn merge_by<T, K: Ord>(base: Vec<T>, over: Vec<T>, key: impl Fn(&T) -> K) -> Vec<T> {
    if over.is_empty() {
        return base;
    }
    let mut merged: BTreeMap<K, T> = BTreeMap::new();
    for item in base.into_iter().chain(over) {
        merged.insert(key(&item), item);
    }
    merged.into_values().collect()
}
