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

/// Where to reach a node over SSH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshEndpoint {
    pub host: String,
    pub port: u16,
    pub user: String,
}

/// A provider of machines.
pub trait Driver {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Creates the node (or reconciles an existing one with `spec`); does not start it.
    fn create(&self, spec: &NodeSpec) -> impl Future<Output = Result<(), Self::Error>> + Send;
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
}
