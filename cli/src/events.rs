//! Progress: what an operation is doing, as events. The operations have no UI; the binary
//! renders these as per-node progress lines on a terminal, plain lines otherwise, or nothing.

use std::time::Duration;

/// A phase of an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Checking VirtualBox and the host before anything is created.
    Preflight,
    /// The boot2docker ISO.
    Iso,
    /// The host-only network.
    Network,
    /// The VMs.
    Machines,
    /// Docker with TLS on every node.
    Docker,
    /// The swarm.
    Swarm,
    /// A stack, by name.
    Stack(String),
    /// The docker context.
    Context,
    /// Removing what a failed `up` created.
    Rollback,
    /// Tearing the cluster down.
    Teardown,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Phase::Preflight => f.write_str("preflight"),
            Phase::Iso => f.write_str("boot2docker ISO"),
            Phase::Network => f.write_str("host-only network"),
            Phase::Machines => f.write_str("virtual machines"),
            Phase::Docker => f.write_str("Docker over TLS"),
            Phase::Swarm => f.write_str("swarm"),
            Phase::Stack(name) => write!(f, "stack {name}"),
            Phase::Context => f.write_str("docker context"),
            Phase::Rollback => f.write_str("rollback"),
            Phase::Teardown => f.write_str("teardown"),
        }
    }
}

/// What happens to one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeStep {
    Creating,
    Configuring,
    Starting,
    WaitingForIp,
    Provisioning,
    Joining,
    Stopping,
    Killing,
    Removing,
    Renewing,
}

impl std::fmt::Display for NodeStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NodeStep::Creating => "creating the VM",
            NodeStep::Configuring => "checking the VM",
            NodeStep::Starting => "booting",
            NodeStep::WaitingForIp => "waiting for its address",
            NodeStep::Provisioning => "provisioning Docker over SSH",
            NodeStep::Joining => "joining the swarm",
            NodeStep::Stopping => "stopping",
            NodeStep::Killing => "powering off",
            NodeStep::Removing => "removing",
            NodeStep::Renewing => "renewing its certificate",
        })
    }
}

/// One thing that happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    PhaseStarted {
        phase: Phase,
    },
    PhaseDone {
        phase: Phase,
        /// What came of it, in a few words.
        detail: String,
        elapsed: Duration,
    },
    /// A node began a step.
    NodeStep {
        node: String,
        step: NodeStep,
        /// Since the node's work began.
        elapsed: Duration,
    },
    /// A node is done with this operation.
    NodeDone {
        node: String,
        detail: String,
        elapsed: Duration,
    },
    /// ISO download progress.
    Download {
        done: u64,
        total: Option<u64>,
    },
    /// Something worth a line.
    Note(String),
    Warning(String),
    /// Waiting for something outside vswarm's control (another vswarm's lock).
    Waiting(String),
}

/// Where events go.
pub trait Reporter: Send + Sync {
    fn event(&self, event: Event);
}

/// Drops every event (tests, `--quiet` with no warnings wanted).
pub struct Silent;

impl Reporter for Silent {
    fn event(&self, _: Event) {}
}
