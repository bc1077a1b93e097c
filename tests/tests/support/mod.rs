//! Shared by the lab tests that drive VirtualBox through `vbox-driver` (`driver.rs`,
//! `swarm.rs`). Only what needs the product's crates lives here: the lab's library
//! (`vswarm_lab::harness`, where the other shared helpers are) does not depend on them.

use std::path::Path;

use vbox_driver::driver::NodeSpec;

/// A one-CPU node of 1 GiB and a 20 GB disk that boots `iso`, with `public_key` installed for
/// the `docker` user.
pub fn node_spec(name: &str, iso: &Path, public_key: &str) -> NodeSpec {
    NodeSpec {
        name: name.into(),
        cpus: 1,
        memory_mb: 1024,
        disk_mb: 20_000,
        iso: iso.to_path_buf(),
        ssh_public_key: public_key.to_string(),
        moved_from: None,
    }
}
