//! `vswarm doctor [--fix]`: what stands between this host and a working cluster, each problem
//! with its fix. The checks `up` runs in its preflight are among these.
//!
//! VirtualBox found and its version; on Linux its kernel modules and `/dev/vboxnetctl`; the
//! host-only ranges VirtualBox allows (`/etc/vbox/networks.conf`); each host-only interface as
//! VirtualBox records it and as the kernel has it; DHCP servers whose interface is gone;
//! VT-x/AMD-V as `VBoxManage list hostinfo` reports it; free disk for the ISO cache; and each
//! node of the clusters: its VM, SSH with its pinned key, Docker over mutual TLS and the expiry
//! of the certificate it serves. `--fix` brings vswarm's host-only interfaces up (as root).

use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use swarm_bootstrap::engine::{DOCKER_TLS_PORT, Engine};
use swarm_bootstrap::ssh::SshConnection;
use swarm_bootstrap::tls::{RENEW_WITHIN_DAYS, served_certificate};
use vbox_driver::driver::MachineState;
use vbox_driver::hostonly::{
    AllowedRanges, NETWORKS_CONF, fix_link, interface_net, is_root, link_state,
    remove_hostonly_network, survey_hostonly, vms_on_hostonly,
};
use vbox_driver::parse::{LinkStatus, parse_hostinfo, parse_version};
use vbox_driver::virtualbox::machine_states;

use super::{Cluster, Session, Target};
use crate::cluster::DEFAULT_FILE;
use crate::state::{MadeNetworks, recorded_clusters};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

/// One check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked: `virtualbox`, `kernel module vboxdrv`, `node seed/node-01 tls`, ...
    pub name: String,
    pub status: Status,
    pub detail: String,
    /// How to fix it, when it is not ok.
    pub fix: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    pub checks: Vec<Check>,
    /// What `--fix` fixed.
    pub fixed: Vec<String>,
}

impl DoctorReport {
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.status == Status::Fail)
    }
}

struct Checks(Vec<Check>);

impl Checks {
    fn ok(&mut self, name: impl Into<String>, detail: impl Into<String>) {
        self.push(name, Status::Ok, detail, None::<String>);
    }
    fn push(
        &mut self,
        name: impl Into<String>,
        status: Status,
        detail: impl Into<String>,
        fix: Option<impl Into<String>>,
    ) {
        self.0.push(Check {
            name: name.into(),
            status,
            detail: detail.into(),
            fix: fix.map(Into::into),
        });
    }
}

pub async fn doctor(session: &Session<'_>, target: &Target, fix: bool) -> DoctorReport {
    let mut checks = Checks(Vec::new());
    let mut fixed = Vec::new();
    let clusters = clusters(session, target);

    let vbm = match vbox_driver::runner::VBoxManage::locate() {
        Ok(vbm) => vbm,
        Err(e) => {
            checks.push(
                "virtualbox",
                Status::Fail,
                e.to_string(),
                Some("install VirtualBox 5.0 or later, or set VBOX_INSTALL_PATH to its folder"),
            );
            host_checks(&mut checks, session);
            return DoctorReport {
                checks: checks.0,
                fixed,
            };
        }
    };
    let (version, hostinfo, survey) = tokio::join!(
        vbm.run(&["--version"]),
        vbm.run(&["list", "hostinfo"]),
        survey_hostonly(&vbm)
    );
    let version = match version.map_err(|e| e.to_string()).and_then(|o| {
        Ok((
            parse_version(&o.stdout).map_err(|e| e.to_string())?,
            o.stdout,
        ))
    }) {
        Ok((v, stdout)) => {
            let old = (v.major, v.minor) < vbox_driver::virtualbox::MINIMUM_VERSION;
            checks.push(
                "virtualbox",
                if old { Status::Fail } else { Status::Ok },
                format!("VBoxManage {} reports {v}", vbm.path().display()),
                old.then_some("upgrade VirtualBox to 5.0 or later"),
            );
            for p in vbox_driver::host::wrapper_warnings(&stdout) {
                checks.push("virtualbox driver", Status::Fail, p.what, Some(p.fix));
            }
            Some(v)
        }
        Err(e) => {
            checks.push("virtualbox", Status::Fail, e, Some("reinstall VirtualBox"));
            None
        }
    };
    if cfg!(target_os = "linux") {
        let problems = vbox_driver::host::linux_kernel_problems();
        if problems.is_empty() {
            checks.ok(
                "kernel drivers",
                "VirtualBox's kernel drivers are loaded (vboxdrv, vboxnetadp, vboxnetflt)",
            );
        }
        for p in problems {
            checks.push("kernel drivers", Status::Fail, &p.what, Some(&p.fix));
        }
    }
    if let Some(v) = &version {
        let conf = Path::new(NETWORKS_CONF);
        let allowed = AllowedRanges::read(v, conf);
        checks.ok(
            "host-only ranges",
            format!(
                "VirtualBox {v} allows {} ({})",
                allowed.describe(),
                if conf.exists() {
                    format!("from {NETWORKS_CONF}")
                } else if allowed.0.is_some() {
                    format!("{NETWORKS_CONF} does not exist")
                } else {
                    "no range check before 6.1.28".to_string()
                }
            ),
        );
    }
    match hostinfo {
        Ok(out) => match parse_hostinfo(&out.stdout).hw_virtualization {
            Some(true) => checks.ok("hardware virtualization", "VT-x/AMD-V available"),
            Some(false) => checks.push(
                "hardware virtualization",
                Status::Warn,
                "VirtualBox reports no VT-x/AMD-V: 64-bit guests will not start",
                Some("enable Intel VT-x or AMD-V (SVM) in the firmware settings; inside a VM, enable nested virtualization"),
            ),
            None => checks.push(
                "hardware virtualization",
                Status::Warn,
                "`VBoxManage list hostinfo` does not say",
                None::<String>,
            ),
        },
        Err(e) => checks.push("hardware virtualization", Status::Warn, e.to_string(), None::<String>),
    }
    match &survey {
        Ok(survey) => {
            let ours: Vec<(String, String)> = clusters
                .iter()
                .filter_map(|c| {
                    let n = c.record.network.as_ref()?;
                    Some((n.interface.clone()?, c.record.name.clone()))
                })
                .collect();
            for i in &survey.interfaces {
                let owner = ours
                    .iter()
                    .find(|(name, _)| name == &i.name)
                    .map(|(_, c)| c);
                let name = format!("interface {}", i.name);
                let Some(net) = interface_net(i) else {
                    checks.push(
                        &name,
                        Status::Warn,
                        "VirtualBox records no IPv4 address",
                        None::<String>,
                    );
                    continue;
                };
                let kernel = link_state(&i.name);
                let healthy = match &kernel {
                    Some(k) => k.up && k.addresses.contains(&net),
                    None => i.status != LinkStatus::Down,
                };
                let whose = owner.map(|c| format!(" (cluster {c})")).unwrap_or_default();
                if healthy {
                    checks.ok(&name, format!("{net}, up{whose}"));
                    continue;
                }
                if fix && owner.is_some() && is_root() {
                    match fix_link(&i.name, net).await {
                        Ok(_) => {
                            fixed.push(format!("brought {} up with {net}", i.name));
                            checks.ok(&name, format!("{net}, brought up by --fix{whose}"));
                            continue;
                        }
                        Err(e) => {
                            checks.push(&name, Status::Fail, e.to_string(), None::<String>);
                            continue;
                        }
                    }
                }
                checks.push(
                    &name,
                    if owner.is_some() {
                        Status::Fail
                    } else {
                        Status::Warn
                    },
                    format!(
                        "VirtualBox records {net} but the kernel interface is down or bare{whose}"
                    ),
                    Some(format!(
                        "sudo ip addr add {net} dev {0} && sudo ip link set dev {0} up{1}",
                        i.name,
                        if owner.is_some() {
                            "   (or: sudo vswarm doctor --fix)"
                        } else {
                            ""
                        }
                    )),
                );
            }
            let kept: Vec<(String, ipnet::Ipv4Net)> = survey
                .interfaces
                .iter()
                .filter(|i| ours.iter().any(|(name, _)| *name == i.name))
                .filter_map(|i| Some((i.name.clone(), interface_net(i)?)))
                .collect();
            persistence_checks(&kept, fix, &mut checks, &mut fixed);
            let made = MadeNetworks::read(&session.home);
            leftover_interfaces(
                &vbm,
                survey,
                &ours,
                &made,
                fix,
                &mut checks,
                &mut fixed,
                session,
            )
            .await;
            for s in &survey.dhcp_servers {
                if let Some(iface) = s.network_name.strip_prefix("HostInterfaceNetworking-")
                    && !survey.interfaces.iter().any(|i| i.name == iface)
                {
                    let name = format!("dhcp server {}", s.network_name);
                    let ours = made.dhcp_servers.contains(&s.network_name);
                    if fix && ours {
                        match remove_hostonly_network(&vbm, iface, true, false).await {
                            Ok(()) => {
                                let _ = MadeNetworks::update(&session.home, |m| {
                                    m.dhcp_servers.retain(|d| *d != s.network_name)
                                });
                                fixed.push(format!("removed the DHCP server {}", s.network_name));
                                checks.ok(&name, "removed by --fix: its interface was gone");
                            }
                            Err(e) => {
                                checks.push(&name, Status::Fail, e.to_string(), None::<String>)
                            }
                        }
                        continue;
                    }
                    checks.push(
                        &name,
                        Status::Warn,
                        format!(
                            "its interface {iface} no longer exists{}",
                            if ours { " (vswarm made it)" } else { "" }
                        ),
                        Some(if ours {
                            "vswarm doctor --fix removes it".to_string()
                        } else {
                            format!("VBoxManage dhcpserver remove --netname {}", s.network_name)
                        }),
                    );
                }
            }
        }
        Err(e) => checks.push(
            "host-only networks",
            Status::Fail,
            e.to_string(),
            None::<String>,
        ),
    }
    host_checks(&mut checks, session);

    let vms: Vec<String> = clusters
        .iter()
        .flat_map(|c| c.record.nodes.iter().map(|n| n.vm.clone()))
        .collect();
    let states = machine_states(&vbm, &vms).await.unwrap_or_default();
    for c in &clusters {
        let results = futures::future::join_all(c.record.nodes.iter().map(|n| {
            let state = states.get(&n.vm).copied().unwrap_or(MachineState::Missing);
            node_checks(c, n, state)
        }))
        .await;
        for r in results {
            checks.0.extend(r);
        }
    }
    DoctorReport {
        checks: checks.0,
        fixed,
    }
}

/// Interfaces that fight: two carrying one network (the host routes it through one of them,
/// so VMs on the other cannot be reached), and interfaces vswarm made that no cluster uses any
/// more. Each is named with what to remove; `--fix` removes those vswarm made that no cluster
/// and no VM uses.
#[allow(clippy::too_many_arguments)]
async fn leftover_interfaces(
    vbm: &vbox_driver::runner::VBoxManage,
    survey: &vbox_driver::hostonly::HostOnlySurvey,
    ours: &[(String, String)],
    made: &MadeNetworks,
    fix: bool,
    checks: &mut Checks,
    fixed: &mut Vec<String>,
    session: &Session<'_>,
) {
    for i in &survey.interfaces {
        let Some(net) = interface_net(i) else {
            continue;
        };
        let twins: Vec<&str> = survey
            .interfaces
            .iter()
            .filter(|o| o.name != i.name && interface_net(o) == Some(net))
            .map(|o| o.name.as_str())
            .collect();
        let used_by_cluster = ours.iter().any(|(name, _)| *name == i.name);
        let vswarms = made.interfaces.contains(&i.name);
        let orphan = vswarms && !used_by_cluster;
        if twins.is_empty() && !orphan {
            continue;
        }
        let users = vms_on_hostonly(vbm, &i.name).await.unwrap_or_default();
        let name = format!("interface {} use", i.name);
        let mut what = Vec::new();
        if orphan {
            what.push("vswarm made it for a cluster that no longer uses it".to_string());
        }
        if twins.is_empty() {
            what.push(format!("it carries {net}"));
        } else {
            what.push(format!(
                "it carries {net} like {}: the host sends that network's traffic through one of them only",
                twins.join(", ")
            ));
        }
        let what = what.join("; ");
        if used_by_cluster || !users.is_empty() {
            // The one to keep; its twins are reported on their own lines.
            if !twins.is_empty() && !used_by_cluster {
                checks.push(
                    &name,
                    Status::Warn,
                    format!("{what}; used by {}", users.join(", ")),
                    Some(format!(
                        "move those VMs to {} (or remove them), then remove {}",
                        twins[0], i.name
                    )),
                );
            }
            continue;
        }
        if fix && vswarms {
            let dhcp = made
                .dhcp_servers
                .contains(&vbox_driver::hostonly::dhcp_network_name(&i.name));
            match remove_hostonly_network(vbm, &i.name, dhcp, true).await {
                Ok(()) => {
                    let _ = MadeNetworks::update(&session.home, |m| {
                        m.interfaces.retain(|n| *n != i.name);
                        let netname = vbox_driver::hostonly::dhcp_network_name(&i.name);
                        m.dhcp_servers.retain(|d| *d != netname);
                    });
                    fixed.push(format!("removed the host-only interface {}", i.name));
                    checks.ok(&name, format!("removed by --fix: {what}"));
                }
                Err(e) => checks.push(&name, Status::Fail, e.to_string(), None::<String>),
            }
            continue;
        }
        checks.push(
            &name,
            Status::Warn,
            format!("{what}; no VM uses it"),
            Some(if vswarms {
                "vswarm doctor --fix removes it (vswarm made it)".to_string()
            } else {
                format!("VBoxManage hostonlyif remove {}", i.name)
            }),
        );
    }
}

/// A network manager's configuration that keeps the host-only interfaces vswarm uses as
/// VirtualBox configured them across reboots: NetworkManager told to leave `vboxnet*` alone (it
/// otherwise takes their address away), systemd-networkd given each interface's address.
/// `root` is where the host's `/run` and `/etc` are (`/`, or `VSWARM_HOST_ROOT` for tests and
/// chroots). Returns (manager, file, content) for each manager that runs.
pub fn persistence_files(
    root: &Path,
    interfaces: &[(String, ipnet::Ipv4Net)],
) -> Vec<(&'static str, std::path::PathBuf, String)> {
    let mut out = Vec::new();
    if root.join("run/NetworkManager").is_dir() {
        out.push((
            "NetworkManager",
            root.join("etc/NetworkManager/conf.d/90-vswarm-vboxnet.conf"),
            "# Written by `vswarm doctor --fix`: NetworkManager leaves VirtualBox's host-only\n# interfaces alone, so the address VirtualBox gives them stays.\n[keyfile]\nunmanaged-devices=interface-name:vboxnet*\n".to_string(),
        ));
    }
    if root.join("run/systemd/netif").is_dir() {
        for (name, net) in interfaces {
            out.push((
                "systemd-networkd",
                root.join(format!("etc/systemd/network/50-vswarm-{name}.network")),
                format!(
                    "# Written by `vswarm doctor --fix`: {name} keeps the address VirtualBox records for it.\n[Match]\nName={name}\n\n[Network]\nAddress={net}\nConfigureWithoutCarrier=yes\nLinkLocalAddressing=no\n\n[Link]\nActivationPolicy=always-up\n"
                ),
            ));
        }
    }
    out
}

/// Checks (and with `fix`, as root, writes) [`persistence_files`].
fn persistence_checks(
    interfaces: &[(String, ipnet::Ipv4Net)],
    fix: bool,
    checks: &mut Checks,
    fixed: &mut Vec<String>,
) {
    if !cfg!(target_os = "linux") || interfaces.is_empty() {
        return;
    }
    let root = std::env::var_os("VSWARM_HOST_ROOT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("/"));
    for (manager, file, content) in persistence_files(&root, interfaces) {
        let name = format!("{manager} persistence");
        if std::fs::read_to_string(&file).is_ok_and(|c| c == content) {
            checks.ok(
                &name,
                format!("{} keeps the host-only interfaces", file.display()),
            );
            continue;
        }
        if fix && is_root() {
            let written = file
                .parent()
                .map(std::fs::create_dir_all)
                .unwrap_or(Ok(()))
                .and_then(|()| std::fs::write(&file, &content));
            match written {
                Ok(()) => {
                    let reload: &[&str] = if manager == "NetworkManager" {
                        &["nmcli", "general", "reload", "conf"]
                    } else {
                        &["networkctl", "reload"]
                    };
                    let _ = std::process::Command::new(reload[0])
                        .args(&reload[1..])
                        .output();
                    fixed.push(format!("wrote {}:\n{content}", file.display()));
                    checks.ok(&name, format!("{} written by --fix", file.display()));
                }
                Err(e) => checks.push(
                    &name,
                    Status::Fail,
                    format!("cannot write {}: {e}", file.display()),
                    None::<String>,
                ),
            }
            continue;
        }
        checks.push(
            &name,
            Status::Warn,
            format!(
                "{manager} runs, and after a reboot may leave the host-only interfaces down or bare; `vswarm doctor --fix` (as root) writes {}:\n{content}",
                file.display()
            ),
            Some("sudo vswarm doctor --fix"),
        );
    }
}

/// The clusters to check: the one `target` names, or every recorded one.
fn clusters(session: &Session<'_>, target: &Target) -> Vec<Cluster> {
    match target {
        Target::Here if !Path::new(DEFAULT_FILE).exists() => recorded_clusters(&session.home)
            .iter()
            .filter_map(|name| {
                let dir = session.dir(name);
                Some(Cluster {
                    record: dir.read_record().ok().flatten()?,
                    dir,
                })
            })
            .collect(),
        _ => session.cluster(target, None).into_iter().collect(),
    }
}

/// Checks that need no VirtualBox: free disk for the ISO cache.
fn host_checks(checks: &mut Checks, session: &Session<'_>) {
    let cache = session.home.join("cache");
    let at = std::iter::successors(Some(cache.as_path()), |p| p.parent()).find(|p| p.exists());
    match at.and_then(free_bytes) {
        Some(free) if free < 1 << 30 => checks.push(
            "disk space",
            Status::Warn,
            format!("{} MB free for the ISO cache ({})", free >> 20, cache.display()),
            Some("free some space: a boot2docker ISO takes about 50 MB, each node's disk grows as it is used"),
        ),
        Some(free) => checks.ok(
            "disk space",
            format!("{} MB free for the ISO cache ({})", free >> 20, cache.display()),
        ),
        None => checks.push(
            "disk space",
            Status::Warn,
            format!("cannot tell the free space at {}", cache.display()),
            None::<String>,
        ),
    }
}

/// Free bytes of the file system holding `path`.
#[cfg(unix)]
fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `s` a valid out-pointer.
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return None;
    }
    Some(s.f_bavail as u64 * s.f_frsize as u64)
}

#[cfg(not(unix))]
fn free_bytes(_: &Path) -> Option<u64> {
    None
}

/// A node: its VM, SSH with the pinned key, Docker over TLS and its certificate's expiry.
async fn node_checks(
    cluster: &Cluster,
    node: &crate::state::NodeRecord,
    state: MachineState,
) -> Vec<Check> {
    let mut checks = Checks(Vec::new());
    let name = format!("node {}/{}", cluster.name(), node.name);
    if state != MachineState::Running {
        checks.push(
            format!("{name} vm"),
            if state == MachineState::Missing {
                Status::Fail
            } else {
                Status::Warn
            },
            format!("the VM is {state}"),
            Some(if state == MachineState::Missing {
                "run `vswarm up` to create it again".to_string()
            } else {
                format!("vswarm start {}", node.name)
            }),
        );
        return checks.0;
    }
    checks.ok(format!("{name} vm"), "running");
    match cluster.ssh_target(node) {
        Ok(target) => {
            match SshConnection::connect(&target, &cluster.known_hosts(), Duration::from_secs(5))
                .await
            {
                Ok(ssh) => match ssh.run("true").await {
                    Ok(_) => checks.ok(
                        format!("{name} ssh"),
                        format!("127.0.0.1:{} with the pinned host key", target.port),
                    ),
                    Err(e) => checks.push(
                        format!("{name} ssh"),
                        Status::Fail,
                        e.to_string(),
                        None::<String>,
                    ),
                },
                Err(e) => checks.push(
                    format!("{name} ssh"),
                    Status::Fail,
                    e.to_string(),
                    Some("vswarm up"),
                ),
            }
        }
        Err(e) => checks.push(
            format!("{name} ssh"),
            Status::Fail,
            e.to_string(),
            Some("vswarm up"),
        ),
    }
    let Ok(ip) = cluster.ip(node) else {
        checks.push(
            format!("{name} tls"),
            Status::Fail,
            "no address recorded",
            Some("vswarm up"),
        );
        return checks.0;
    };
    let client = cluster.client();
    match Engine::connect(&node.name, ip, &client).await {
        Ok(engine) => match engine.docker.ping().await {
            Ok(_) => checks.ok(
                format!("{name} tls"),
                format!("tcp://{ip}:{DOCKER_TLS_PORT} answers over mutual TLS"),
            ),
            Err(e) => checks.push(
                format!("{name} tls"),
                Status::Fail,
                e.to_string(),
                Some(format!("vswarm restart {}", node.name)),
            ),
        },
        Err(e) => checks.push(
            format!("{name} tls"),
            Status::Fail,
            e.to_string(),
            Some(format!("vswarm restart {}", node.name)),
        ),
    }
    match served_certificate(ip, DOCKER_TLS_PORT, &client).await {
        Ok(cert) if cert.expires_within(RENEW_WITHIN_DAYS) => checks.push(
            format!("{name} certificate"),
            Status::Warn,
            format!("expires {}", cert.not_after_text()),
            Some("vswarm regenerate-certs, then vswarm restart NODE (or vswarm up)"),
        ),
        Ok(cert) => checks.ok(
            format!("{name} certificate"),
            format!(
                "valid until {}, names {}",
                cert.not_after_text(),
                cert.ips
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Err(e) => checks.push(
            format!("{name} certificate"),
            Status::Fail,
            e.to_string(),
            None::<String>,
        ),
    }
    checks.0
}
