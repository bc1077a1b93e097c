//! The `vswarm` command line.
//!
//! A thin layer over the `vbox-driver`, `swarm-bootstrap` and `images` crates: it reads the
//! cluster file ([`cluster`]), keeps the cluster's state ([`state`]), runs the libraries in the
//! order `vswarm up` needs, and renders progress and errors.

mod cluster;
mod commands;
mod state;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Local Docker Swarm clusters on VirtualBox, in one command.
#[derive(Parser, Debug)]
#[command(name = "vswarm", version, about)]
struct Cli {
    /// The cluster file.
    #[arg(
        short = 'f',
        long = "file",
        global = true,
        default_value = "vswarm.yml",
        env = "VSWARM_FILE"
    )]
    file: PathBuf,
    /// Output for scripts.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    format: Format,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create (or converge) the cluster: network, VMs, TLS, swarm, stacks, checks.
    Up,
    /// List the nodes with their state and address.
    Ls,
    /// Print a node's host-only address.
    Ip { node: String },
    /// Print the environment that points the docker CLI at a node.
    Env { node: String },
    /// Stop nodes (all when none is named).
    Stop { nodes: Vec<String> },
    /// Start nodes (all when none is named).
    Start { nodes: Vec<String> },
    /// Remove the cluster: its VMs and every file vswarm wrote for it.
    Down,
}

fn main() -> miette::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VSWARM_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    swarm_bootstrap::engine::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| miette::miette!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        match cli.command {
            Command::Up => commands::up(&cli.file, cli.format).await,
            Command::Ls => commands::ls(&cli.file, cli.format).await,
            Command::Ip { node } => commands::ip(&cli.file, &node).await,
            Command::Env { node } => commands::env(&cli.file, &node).await,
            Command::Stop { nodes } => commands::stop_start(&cli.file, &nodes, false).await,
            Command::Start { nodes } => commands::stop_start(&cli.file, &nodes, true).await,
            Command::Down => commands::down(&cli.file).await,
        }
    })
}
