//! Everything vswarm knows about VirtualBox.
//!
//! This crate will hold the async `VBoxManage` runner, the parsers of its output, host-only
//! networks and their DHCP servers, the VM lifecycle, the boot2docker userdata disk and IP
//! discovery, behind the driver trait the CLI uses. It knows nothing about Docker or Swarm.
//!
//! It is being built in the "vbox-driver" issue; the lab it is tested on lives in `tests/`.
