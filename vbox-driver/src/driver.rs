//! The driver interface every machine provider implements, as libmachine's Driver does.
//!
//! The CLI and swarm provisioning see a node only through this trait: create it, start it, stop
//! it, ask its state, its IP and its SSH endpoint. VirtualBox is the first implementation
//! ([`crate::virtualbox::VirtualBoxDriver`]); a `generic` driver for existing SSH hosts comes next
//! and implements `create` and `remove` as no-ops on a host it does not own.

use std::net::Ipv4Addr;
use std::path::PathBuf;

/// What a node should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpec {
    pub name: String,
    pub cpus: u32,
    pub memory_mb: u32,
    pub disk_mb: u64,
    /// The boot image (boot2docker ISO).
    pub iso: PathBuf,
    /// The public key (OpenSSH one-line form) installed for the `docker` user.
    pub ssh_public_key: String,
    /// The address the node was fixed at on a network the cluster has left (VirtualBox refused
    /// it): its boot script still sets it, so it counts as where the node came up.
    pub moved_from: Option<Ipv4Addr>,
}

/// A machine's state, provider-neutral.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MachineState {
    Running,
    Paused,
    Saved,
    Stopped,
    Starting,
    Stopping,
    /// The machine does not exist.
    Missing,
    Error,
}

impl MachineState {
    /// The word `vswarm ls` shows.
    pub fn as_str(&self) -> &'static str {
        match self {
            MachineState::Running => "running",
            MachineState::Paused => "paused",
            MachineState::Saved => "saved",
            MachineState::Stopped => "stopped",
            MachineState::Starting => "starting",
            MachineState::Stopping => "stopping",
            MachineState::Missing => "missing",
            MachineState::Error => "error",
        }
    }
}

impl std::fmt::Display for MachineState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where to reach a node over SSH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshEndpoint {
    pub host: String,
    pub port: u16,
    pub user: String,
}

/// What [`Driver::create`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// The machine did not exist: it is new (so is its SSH host key).
    New,
    /// It existed; what it lacked of the spec was applied.
    Completed,
    /// It existed as the spec says.
    Unchanged,
}

/// A step of [`Driver::bring_up`], for progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpStep {
    /// Registering a new machine and writing its disk.
    Creating,
    /// Applying settings an existing machine lacks.
    Configuring,
    /// Powering it on.
    Starting,
    /// Waiting for the address the host reaches it at.
    WaitingForIp,
}

/// A node that is up: how it got there and where to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeUp {
    pub created: Created,
    /// It was powered on by this call (it was not running).
    pub started: bool,
    pub ip: Ipv4Addr,
    pub ssh: SshEndpoint,
}

/// Finds a guest's host-only address from inside it when VirtualBox cannot tell (an ISO without
/// guest additions). The operations layer supplies it, over its own SSH session whose host key
/// is pinned: this crate opens no SSH connection of its own.
pub trait AddressProbe: Send + Sync {
    /// The IPv4 address of the guest's interface whose MAC is `mac` (`080027AABBCC`), asked
    /// through `ssh`; None when it cannot be told (yet).
    fn address<'a>(
        &'a self,
        node: &'a str,
        ssh: &'a SshEndpoint,
        mac: &'a str,
    ) -> std::pin::Pin<Box<dyn Future<Output = Option<Ipv4Addr>> + Send + 'a>>;
}

/// A provider of machines.
pub trait Driver {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Creates the node (or reconciles an existing one with `spec`); does not start it.
    fn create(&self, spec: &NodeSpec) -> impl Future<Output = Result<Created, Self::Error>> + Send;
    fn start(&self, name: &str) -> impl Future<Output = Result<(), Self::Error>> + Send;
    /// Asks the guest to shut down, and powers it off if it has not within the driver's limit.
    fn stop(&self, name: &str) -> impl Future<Output = Result<(), Self::Error>> + Send;
    /// Powers off at once.
    fn kill(&self, name: &str) -> impl Future<Output = Result<(), Self::Error>> + Send;
    /// Removes the node and every file the driver wrote for it.
    fn remove(&self, name: &str) -> impl Future<Output = Result<(), Self::Error>> + Send;
    fn state(&self, name: &str) -> impl Future<Output = Result<MachineState, Self::Error>> + Send;
    /// The address other nodes and the host reach the node at (waits until it has one).
    fn ip(&self, name: &str) -> impl Future<Output = Result<Ipv4Addr, Self::Error>> + Send;
    fn ssh_endpoint(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<SshEndpoint, Self::Error>> + Send;

    /// Creates (or completes) the node, starts it and waits for its address: what `vswarm up`
    /// does per node. `step` hears each step as it begins. Providers override it to spend
    /// fewer calls than the composition of the methods above.
    fn bring_up(
        &self,
        spec: &NodeSpec,
        step: &(dyn Fn(UpStep) + Send + Sync),
    ) -> impl Future<Output = Result<NodeUp, Self::Error>> + Send
    where
        Self: Sync,
    {
        async move {
            step(UpStep::Configuring);
            let created = self.create(spec).await?;
            let started = self.state(&spec.name).await? != MachineState::Running;
            if started {
                step(UpStep::Starting);
                self.start(&spec.name).await?;
            }
            step(UpStep::WaitingForIp);
            let ip = self.ip(&spec.name).await?;
            let ssh = self.ssh_endpoint(&spec.name).await?;
            Ok(NodeUp {
                created,
                started,
                ip,
                ssh,
            })
        }
    }
}
