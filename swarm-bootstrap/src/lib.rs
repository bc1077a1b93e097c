//! Everything vswarm knows about Docker.
//!
//! This crate will provision nodes over SSH (TLS material, the boot2docker profile), talk to the
//! Docker Engine API over mutual TLS, form the swarm and deploy networks, services and compose
//! stacks, then verify that they answer. It sees a node only as an SSH endpoint and an IP, and
//! never imports `vbox-driver`.
//!
//! It is being built in the "swarm-bootstrap" issue; the lab it is tested on lives in `tests/`.
