//! The vswarm library: the operations behind the `vswarm` command, as cargo's `ops` are behind
//! cargo.
//!
//! It composes the `vbox-driver`, `swarm-bootstrap` and `images` crates and holds no VirtualBox
//! or Docker knowledge of its own: [`cluster`] reads and checks the cluster file, [`state`]
//! keeps what vswarm made (atomically, under a per-cluster lock), [`ops`] carries out each
//! command and returns a typed result, [`events`] reports progress, [`error`] says what went
//! wrong and how to go on. The binary (`src/bin/vswarm`) parses arguments and renders results,
//! progress and errors.

pub mod cluster;
pub mod context;
pub mod error;
pub mod events;
pub mod ops;
pub mod redact;
pub mod shell;
pub mod state;
