//! The VirtualBox driver: boot2docker VMs on a host-only network, in few VBoxManage calls.
//!
//! docker-machine spent 30 to 40 `VBoxManage` processes per VM and streamed 20 GB of zeros into
//! `convertfromraw`. Here the userdata disk is written directly as a sparse VMDK ([`crate::disk`]),
//! every setting goes into one `modifyvm`, and creating and starting a node takes about ten
//! calls; the host-only network is set up once per cluster beforehand
//! ([`crate::hostonly::ensure_hostonly_network`]).

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};

use crate::disk;
use crate::driver::{
    AddressProbe, Created, Driver, MachineState, NodeSpec, NodeUp, SshEndpoint, UpStep,
};
use crate::hostonly::HostOnlyNetwork;
use crate::parse::{self, MachineInfo, VBoxVersion, VmState};
use crate::runner::{VBoxManage, VBoxManageError};

mod address;
mod create;
mod owner;

pub use address::address_for_mac;
pub use owner::{Owner, adopt_vm, marked_vms};

/// The oldest VirtualBox vswarm drives.
pub const MINIMUM_VERSION: (u32, u32) = (5, 0);
/// The guest property the guest additions set to the host-only address (adapter 2 = Net/1).
pub const HOSTONLY_IP_PROPERTY: &str = "/VirtualBox/GuestInfo/Net/1/V4/IP";
/// The VM's extra data that says who made it: `<cluster>/<cluster id>`.
pub const OWNER_KEY: &str = "vswarm/owner";

#[derive(Debug, thiserror::Error)]
pub enum VirtualBoxError {
    #[error(transparent)]
    VBoxManage(#[from] VBoxManageError),
    #[error("VirtualBox {found} is too old: vswarm needs 5.0 or later. Upgrade VirtualBox.")]
    TooOld { found: String },
    #[error("reading VBoxManage's output")]
    Parse(#[from] parse::ParseError),
    #[error("writing the boot2docker disk {path}")]
    Disk {
        path: PathBuf,
        #[source]
        source: disk::DiskError,
    },
    #[error("creating the VM folder {path}")]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no VM named '{0}' exists")]
    Missing(String),
    #[error(
        "VM '{name}' got no host-only address within {waited:?}. Likely causes: its host-only network \
         has no enabled DHCP server, the guest did not boot (see {log}), or the guest additions are \
         missing from the ISO"
    )]
    NoIp {
        name: String,
        waited: Duration,
        log: String,
    },
    #[error("VM '{name}' has no SSH port forward (NAT rule 'ssh'); recreate it with vswarm")]
    NoSshForward { name: String },
    #[error(
        "VM '{name}' runs with {have}; {want} can only be applied while it is stopped: stop it first (vswarm stop {name})"
    )]
    RunningMismatch {
        name: String,
        have: String,
        want: String,
    },
    #[error("could not find a free local port for SSH")]
    NoPort(#[source] std::io::Error),
    #[error(
        "a VM named '{name}' exists but was not made by this cluster ({}): vswarm changes only its own VMs. Rename or remove that VM, or give the node another name",
        match found { Some(f) => format!("it belongs to {f}"), None => "it carries no vswarm mark".to_string() }
    )]
    NotOurs { name: String, found: Option<String> },
}

/// A VM's details (`showvminfo --machinereadable`), or None when no VM has that name.
pub async fn machine_info(
    vbm: &VBoxManage,
    name: &str,
) -> Result<Option<MachineInfo>, VirtualBoxError> {
    match vbm.run(&["showvminfo", name, "--machinereadable"]).await {
        Ok(out) => parse::parse_showvminfo(&out.stdout)
            .map(Some)
            .map_err(VirtualBoxError::Parse),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Drives VirtualBox for one cluster.
#[derive(Debug, Clone)]
pub struct VirtualBoxDriver {
    vbm: VBoxManage,
    network: HostOnlyNetwork,
    /// Where each VM's folder and disk go (`<machines>/<name>/`).
    machines: PathBuf,
    /// How long to wait for the guest's address.
    pub ip_timeout: Duration,
    /// How long `stop` lets the guest shut down before powering it off.
    pub stop_timeout: Duration,
    /// Asks the guest for its address when no guest additions report it.
    probe: Option<std::sync::Arc<dyn AddressProbe>>,
    /// Whose VMs this driver may change; None: any (a driver without a cluster).
    owner: Option<Owner>,
    /// VMs this driver powered on whose address it has not read since. VirtualBox keeps the
    /// guest additions' properties across a power-off (only TRANSIENT ones go), so until the
    /// guest reports again, `Net/1/V4/IP` is the previous boot's address.
    booting: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
    /// Ask VirtualBox 7's NAT to let guests reach the host's loopback.
    nat_localhost_reachable: bool,
}

impl std::fmt::Debug for dyn AddressProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AddressProbe")
    }
}

/// Checks VirtualBox's version: refuses versions older than 5.0.
pub async fn check_version(vbm: &VBoxManage) -> Result<VBoxVersion, VirtualBoxError> {
    let out = vbm.run(&["--version"]).await?;
    let v = parse::parse_version(&out.stdout).map_err(VirtualBoxError::Parse)?;
    if (v.major, v.minor) < MINIMUM_VERSION {
        return Err(VirtualBoxError::TooOld {
            found: v.to_string(),
        });
    }
    Ok(v)
}

impl VirtualBoxDriver {
    pub fn new(
        vbm: VBoxManage,
        network: HostOnlyNetwork,
        machines: impl AsRef<Path>,
    ) -> VirtualBoxDriver {
        VirtualBoxDriver {
            vbm,
            network,
            machines: machines.as_ref().to_path_buf(),
            ip_timeout: Duration::from_secs(120),
            stop_timeout: Duration::from_secs(30),
            probe: None,
            owner: None,
            booting: Default::default(),
            nat_localhost_reachable: false,
        }
    }

    /// Finds the address with `probe` when no guest additions report it.
    pub fn with_address_probe(
        mut self,
        probe: std::sync::Arc<dyn AddressProbe>,
    ) -> VirtualBoxDriver {
        self.probe = Some(probe);
        self
    }

    /// VirtualBox 7 and later: VMs it configures let their guests reach the host's loopback
    /// through NAT (`--nat-localhostreachable1 on`), as earlier versions did by default.
    pub fn with_nat_localhost_reachable(mut self, on: bool) -> VirtualBoxDriver {
        self.nat_localhost_reachable = on;
        self
    }

    /// Marks the VMs this driver creates as `owner`'s, and refuses to change any other.
    pub fn with_owner(mut self, owner: Owner) -> VirtualBoxDriver {
        self.owner = Some(owner);
        self
    }

    pub fn network(&self) -> &HostOnlyNetwork {
        &self.network
    }

    fn machine_dir(&self, name: &str) -> PathBuf {
        self.machines.join(name)
    }

    fn disk_path(&self, name: &str) -> PathBuf {
        self.machine_dir(name).join("disk.vmdk")
    }

    /// The VM's details, or None when no VM has that name.
    pub async fn info(&self, name: &str) -> Result<Option<MachineInfo>, VirtualBoxError> {
        machine_info(&self.vbm, name).await
    }

    /// Powers on a VM in `state`: `startvm`, or `resume` when paused, or nothing when running.
    /// True when it was not running.
    async fn start_from(&self, name: &str, state: &VmState) -> Result<bool, VirtualBoxError> {
        match state {
            VmState::Running => Ok(false),
            VmState::Paused => {
                self.vbm.run(&["controlvm", name, "resume"]).await?;
                Ok(true)
            }
            _ => {
                self.vbm
                    .run(&["startvm", name, "--type", "headless"])
                    .await?;
                if let Ok(mut booting) = self.booting.lock() {
                    booting.insert(name.to_string());
                }
                Ok(true)
            }
        }
    }

    /// `controlvm poweroff`; a VM that is off already is fine.
    async fn power_off(&self, name: &str) -> Result<(), VirtualBoxError> {
        match self.vbm.run(&["controlvm", name, "poweroff"]).await {
            Ok(_) => Ok(()),
            Err(e) if e.stderr().contains("is not currently running") => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn wait_until(
        &self,
        name: &str,
        limit: Duration,
        done: impl Fn(&VmState) -> bool,
    ) -> Result<bool, VirtualBoxError> {
        // Err(None): not there yet, asked again with backoff until `limit`; Err(Some): failed.
        let check = || async {
            let info = self
                .info(name)
                .await
                .map_err(Some)?
                .ok_or_else(|| Some(VirtualBoxError::Missing(name.to_string())))?;
            if done(&info.state()) {
                Ok(())
            } else {
                Err(None)
            }
        };
        let start = Instant::now();
        let reached = check
            .retry(state_poll_backoff())
            .when(Option::is_none)
            .adjust(|_, delay| delay.filter(|_| start.elapsed() < limit))
            .await;
        match reached {
            Ok(()) => Ok(true),
            Err(None) => Ok(false),
            Err(Some(e)) => Err(e),
        }
    }
}

/// How often a VM's state is asked while it changes: quickly at first, then every second.
fn state_poll_backoff() -> ExponentialBuilder {
    ExponentialBuilder::new()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(1))
        .without_max_times()
}

fn is_active(s: &VmState) -> bool {
    matches!(
        s,
        VmState::Running | VmState::Paused | VmState::Starting | VmState::Stopping
    )
}

/// A VM's provider-neutral state, from its `showvminfo`.
pub fn state_of(info: &MachineInfo) -> MachineState {
    machine_state(&info.state())
}

fn machine_state(s: &VmState) -> MachineState {
    match s {
        VmState::Running => MachineState::Running,
        VmState::Paused => MachineState::Paused,
        VmState::Saved => MachineState::Saved,
        VmState::PowerOff | VmState::Aborted => MachineState::Stopped,
        VmState::Starting | VmState::Restoring => MachineState::Starting,
        VmState::Stopping | VmState::Saving => MachineState::Stopping,
        _ => MachineState::Error,
    }
}

impl Driver for VirtualBoxDriver {
    type Error = VirtualBoxError;

    async fn create(&self, spec: &NodeSpec) -> Result<Created, VirtualBoxError> {
        let info = self.own_info(&spec.name).await?;
        Ok(self.create_or_complete(spec, info.as_ref()).await?.0)
    }

    async fn start(&self, name: &str) -> Result<(), VirtualBoxError> {
        let info = self
            .own_info(name)
            .await?
            .ok_or_else(|| VirtualBoxError::Missing(name.to_string()))?;
        self.start_from(name, &info.state()).await?;
        Ok(())
    }

    /// One `showvminfo`, then only the calls that change something, `startvm`, and the wait
    /// for the address: the VM's state, settings and SSH forward come from that one reading.
    async fn bring_up(
        &self,
        spec: &NodeSpec,
        step: &(dyn Fn(UpStep) + Send + Sync),
    ) -> Result<NodeUp, VirtualBoxError> {
        let name = spec.name.as_str();
        // The address is read alongside the VM's details: a VM that runs already has it, and a
        // converged node then costs one round of calls.
        let ask = ["guestproperty", "get", name, HOSTONLY_IP_PROPERTY];
        let (info, address, mark) = tokio::join!(self.info(name), self.vbm.run(&ask), async {
            match self.owner {
                Some(_) => self.mark(name).await,
                None => Ok(None),
            }
        });
        let info = info?;
        if info.is_some() {
            self.check_mark(name, mark).await?;
        }
        let running_address: Option<Ipv4Addr> = match (&info, address) {
            (Some(i), Ok(out)) if matches!(i.state(), VmState::Running) => {
                parse::parse_guestproperty_value(&out.stdout)
                    .and_then(|v| v.parse().ok())
                    .filter(|ip| self.on_network(*ip) || Some(*ip) == spec.moved_from)
            }
            _ => None,
        };
        step(match info {
            None => UpStep::Creating,
            Some(_) => UpStep::Configuring,
        });
        let (created, forwarded) = self.create_or_complete(spec, info.as_ref()).await?;
        let state = info
            .as_ref()
            .map(|i| i.state())
            .unwrap_or(VmState::PowerOff);
        let started = !matches!(state, VmState::Running);
        if started {
            step(UpStep::Starting);
            self.start_from(name, &state).await?;
        }
        let ssh = match (forwarded, info.as_ref().and_then(ssh_rule)) {
            (Some(port), _) => SshEndpoint {
                host: "127.0.0.1".into(),
                port,
                user: "docker".into(),
            },
            (None, Some(endpoint)) => endpoint,
            (None, None) => self.ssh_endpoint(name).await?,
        };
        let ip = match running_address.filter(|_| !started) {
            Some(ip) => ip,
            None => {
                step(UpStep::WaitingForIp);
                self.wait_for_ip(name, created == Created::New, spec.moved_from)
                    .await?
            }
        };
        Ok(NodeUp {
            created,
            started,
            ip,
            ssh,
        })
    }

    async fn stop(&self, name: &str) -> Result<(), VirtualBoxError> {
        let info = self
            .own_info(name)
            .await?
            .ok_or_else(|| VirtualBoxError::Missing(name.to_string()))?;
        if !is_active(&info.state()) {
            return Ok(());
        }
        self.vbm
            .run(&["controlvm", name, "acpipowerbutton"])
            .await?;
        if self
            .wait_until(name, self.stop_timeout, |s| !is_active(s))
            .await?
        {
            return Ok(());
        }
        tracing::warn!(name, "the guest did not shut down in time; powering it off");
        self.power_off(name).await
    }

    async fn kill(&self, name: &str) -> Result<(), VirtualBoxError> {
        if self.owner.is_some() {
            let mark = self.mark(name).await;
            self.check_mark(name, mark).await?;
        }
        self.power_off(name).await
    }

    async fn remove(&self, name: &str) -> Result<(), VirtualBoxError> {
        if let Some(info) = self.own_info(name).await? {
            if is_active(&info.state()) {
                self.power_off(name).await?;
            }
            self.vbm.run(&["unregistervm", name, "--delete"]).await?;
        }
        // The disk vswarm wrote, if VirtualBox never took it, and the folder.
        let dir = self.machine_dir(name);
        let _ = std::fs::remove_file(self.disk_path(name));
        let _ = std::fs::remove_dir_all(dir.join(name));
        let _ = std::fs::remove_dir(&dir);
        Ok(())
    }

    async fn state(&self, name: &str) -> Result<MachineState, VirtualBoxError> {
        Ok(match self.info(name).await? {
            Some(info) => machine_state(&info.state()),
            None => MachineState::Missing,
        })
    }

    async fn ip(&self, name: &str) -> Result<Ipv4Addr, VirtualBoxError> {
        self.wait_for_ip(name, false, None).await
    }

    async fn ssh_endpoint(&self, name: &str) -> Result<SshEndpoint, VirtualBoxError> {
        let info = self
            .info(name)
            .await?
            .ok_or_else(|| VirtualBoxError::Missing(name.to_string()))?;
        ssh_rule(&info).ok_or_else(|| VirtualBoxError::NoSshForward {
            name: name.to_string(),
        })
    }
}

/// The endpoint of a VM's `ssh` NAT rule.
fn ssh_rule(info: &MachineInfo) -> Option<SshEndpoint> {
    let rule = info
        .forwarding_rules()
        .into_iter()
        .find(|r| r.name == "ssh")?;
    let host = if rule.host_ip.is_empty() {
        "127.0.0.1".to_string()
    } else {
        rule.host_ip.clone()
    };
    Some(SshEndpoint {
        host,
        port: rule.host_port,
        user: "docker".into(),
    })
}

/// The states of the VMs `names`, in few calls: `list vms` and `list runningvms` together,
/// then `showvminfo` (together) only for VMs that exist and are not running, to tell saved,
/// aborted and powered-off apart. A name VirtualBox does not list is [`MachineState::Missing`].
pub async fn machine_states(
    vbm: &VBoxManage,
    names: &[String],
) -> Result<std::collections::HashMap<String, MachineState>, VirtualBoxError> {
    let (all, running) = tokio::join!(vbm.run(&["list", "vms"]), vbm.run(&["list", "runningvms"]));
    let all = parse::parse_list_vms(&all?.stdout);
    let running = parse::parse_list_vms(&running?.stdout);
    let mut states = std::collections::HashMap::new();
    let mut ask = Vec::new();
    for name in names {
        if running.iter().any(|v| &v.name == name) {
            states.insert(name.clone(), MachineState::Running);
        } else if all.iter().any(|v| &v.name == name) {
            ask.push(name.clone());
        } else {
            states.insert(name.clone(), MachineState::Missing);
        }
    }
    let infos = futures::future::join_all(ask.iter().map(|name| async move {
        let out = vbm.run(&["showvminfo", name, "--machinereadable"]).await;
        (name.clone(), out)
    }))
    .await;
    for (name, out) in infos {
        let state = match out {
            Ok(out) => parse::parse_showvminfo(&out.stdout)
                .map(|i| machine_state(&i.state()))
                .map_err(VirtualBoxError::Parse)?,
            Err(e) if e.is_not_found() => MachineState::Missing,
            Err(e) => return Err(e.into()),
        };
        states.insert(name, state);
    }
    Ok(states)
}
