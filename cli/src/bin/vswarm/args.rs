//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use vswarm::shell::Shell;

/// Local Docker Swarm clusters on VirtualBox, in one command.
#[derive(Parser, Debug)]
#[command(name = "vswarm", version, about, propagate_version = true)]
pub struct Cli {
    /// The cluster file (default: ./vswarm.yml, else the default cluster).
    #[arg(short = 'f', long = "file", global = true, env = "VSWARM_FILE")]
    pub file: Option<PathBuf>,
    /// A cluster vswarm has brought up, by name (instead of its file).
    #[arg(long, global = true, conflicts_with = "file")]
    pub cluster: Option<String>,
    /// Output for scripts.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// More log output (-v: info, -vv: debug, -vvv: trace); VSWARM_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// No progress, only results and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create (or converge) the cluster: network, VMs, TLS, swarm, stacks, checks.
    Up {
        /// Keep the VMs a failed `up` created, rather than removing them.
        #[arg(long)]
        keep_on_failure: bool,
    },
    /// Remove the cluster: its VMs, the network vswarm made for it, its context and files.
    Down,
    /// List clusters and their nodes (all clusters when no file or name is given).
    Ls,
    /// Print the environment that points the docker CLI at a node (the leader by default).
    Env(EnvArgs),
    /// Log in to a node, or run a command there: vswarm ssh NODE [-- COMMAND...].
    Ssh {
        node: String,
        /// The command and its arguments, after `--`.
        #[arg(last = true)]
        command: Vec<String>,
    },
    /// Copy files between the host and nodes: NODE:PATH names a node's file.
    Scp {
        /// Copy folders recursively.
        #[arg(short, long)]
        recursive: bool,
        /// Sources, then the destination.
        #[arg(required = true, num_args = 2..)]
        paths: Vec<String>,
    },
    /// Print a node's host-only address.
    Ip { node: String },
    /// Everything vswarm knows about a node, as JSON.
    Inspect { node: String },
    /// Start nodes (all when none is named) and wait until Docker answers.
    Start { nodes: Vec<String> },
    /// Stop nodes (all when none is named): the guest shuts down, or is powered off.
    Stop { nodes: Vec<String> },
    /// Stop and start nodes (all when none is named).
    Restart { nodes: Vec<String> },
    /// Power nodes off at once (all when none is named).
    Kill { nodes: Vec<String> },
    /// Remove a node: it leaves the swarm, then its VM and files go.
    Rm {
        node: String,
        /// Remove the VM even when the swarm cannot be reached.
        #[arg(long)]
        force: bool,
    },
    /// Issue new TLS certificates for nodes (all when none is named) and the client.
    RegenerateCerts {
        nodes: Vec<String>,
        /// Restart Docker so the new certificates are served now (stops the nodes' containers).
        #[arg(long)]
        restart_docker: bool,
    },
    /// Stacks on the cluster, as `docker stack` manages them.
    #[command(subcommand)]
    Stack(StackCommand),
    /// The boot2docker ISOs in vswarm's cache.
    #[command(subcommand)]
    Images(ImagesCommand),
    /// Adopt docker-machine's VirtualBox machines (all, or those named) into a new cluster and
    /// write its cluster file (-f, default ./vswarm.yml); nothing is recreated.
    Import {
        machines: Vec<String>,
        /// docker-machine's store.
        #[arg(long, env = "MACHINE_STORAGE_PATH")]
        storage_path: Option<PathBuf>,
        /// The new cluster's name.
        #[arg(long, default_value = "docker-machine")]
        name: String,
    },
    /// Check this host and the clusters; --fix repairs what vswarm can.
    Doctor {
        #[arg(long)]
        fix: bool,
    },
    /// Print a completion script for a shell.
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Args, Debug)]
pub struct EnvArgs {
    pub node: Option<String>,
    /// The shell's syntax (default: from $SHELL).
    #[arg(long, value_enum)]
    pub shell: Option<Shell>,
    /// Print the commands that clear the variables instead.
    #[arg(short, long)]
    pub unset: bool,
}

#[derive(Subcommand, Debug)]
pub enum StackCommand {
    /// Deploy compose files as a stack (as `docker stack deploy -c FILE [-c FILE...] NAME`).
    Deploy {
        /// A compose file; several are merged in order, later ones overriding.
        #[arg(short = 'c', long = "compose-file", required = true)]
        compose_file: Vec<PathBuf>,
        /// Remove the stack's services the files no longer have.
        #[arg(long)]
        prune: bool,
        /// Pin images to their registry digest: always, changed (images the files changed) or
        /// never.
        #[arg(long, value_enum, default_value = "always")]
        resolve_image: ResolveImageArg,
        /// Send the registry credentials of your docker configuration to the swarm, so nodes
        /// can pull private images.
        #[arg(long)]
        with_registry_auth: bool,
        /// Return once the stack is deployed, without waiting for its tasks to run.
        #[arg(short = 'd', long)]
        detach: bool,
        name: String,
    },
    /// List the swarm's stacks.
    Ls,
    /// Remove a stack's services, secrets, configs and networks.
    Rm { name: String },
}

/// `--resolve-image`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResolveImageArg {
    Always,
    Changed,
    Never,
}

#[derive(Subcommand, Debug)]
pub enum ImagesCommand {
    /// List the cached ISOs.
    Ls,
    /// Download an ISO into the cache: the latest boot2docker release, or a URL or file.
    Pull {
        source: Option<String>,
        /// The ISO's SHA-256, checked instead of a published one (needed for plain http).
        #[arg(long)]
        sha256: Option<String>,
    },
    /// Remove cached ISOs by version, file name or path.
    Rm { image: String },
}
