//! The `vswarm` command line.
//!
//! A thin layer over the `vbox-driver`, `swarm-bootstrap` and `images` crates: it reads the
//! cluster file, keeps the state store and renders progress and errors. The commands (`up`,
//! `env`, `ls`, `ssh`, `ip`, `stop`, `start`, `rm`, `down`) arrive with the CLI issue; until
//! then the binary only describes itself.

use clap::Parser;

/// Local Docker Swarm clusters on VirtualBox, in one command.
#[derive(Parser, Debug)]
#[command(name = "vswarm", version, about)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
}
