//! Everything vswarm knows about Docker.
//!
//! - [`ssh`]: one SSH connection per node, host keys pinned at first contact.
//! - [`tls`]: the cluster CA, a server certificate per node (its IP, `localhost`, its name),
//!   the client certificate; reissued when a node's IP changes.
//! - [`provision`]: the boot2docker provisioner (hostname, certificates, engine options, restart)
//!   behind a trait a systemd provisioner can implement.
//! - [`engine`]: the Docker Engine API over mutual TLS (bollard), with version negotiation.
//! - [`swarm`]: swarm init and joins in parallel, idempotent, labels and availability.
//! - [`stack`]: the Engine API objects of a stack; [`compose`] reads them from compose files as
//!   `docker stack deploy` does; [`registry_auth`] finds registry credentials;
//!   [`deploy`] deploys it as `docker stack deploy` does; [`verify`] checks tasks, ports and DNS.
//!
//! It sees a node only as an SSH endpoint, a user, a key, an IP and a name, and never imports
//! `vbox-driver`.

pub mod compose;
pub mod deploy;
pub mod engine;
pub mod provision;
pub mod registry_auth;
pub mod ssh;
pub mod stack;
pub mod swarm;
pub mod tls;
pub mod verify;
