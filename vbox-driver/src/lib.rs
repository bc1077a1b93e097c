//! Everything vswarm knows about VirtualBox.
//!
//! - [`runner`]: runs `VBoxManage` (found on PATH or in VirtualBox's install folders) with a
//!   timeout, retries its transient errors and returns typed errors carrying the command line and
//!   VirtualBox's own message.
//! - [`parse`]: parsers of the outputs the driver reads, tolerant of the differences between
//!   VirtualBox 5.2, 6.0, 6.1 and 7.x.
//! - [`disk`]: the boot2docker userdata disk, written by vswarm as a sparse VMDK image.
//! - [`hostonly`]: the cluster's host-only network, checked against VirtualBox's allowed ranges,
//!   configured once, and fixed on Linux when the kernel interface stays down.
//! - [`host`]: whether the host can run VMs (kernel modules, hardware virtualization), with fixes.
//! - [`driver`]: the provider-neutral driver trait; [`virtualbox`] implements it.
//!
//! Nothing in this crate knows about Docker or Swarm.

pub mod disk;
pub mod driver;
pub mod host;
pub mod hostonly;
mod netlink;
pub mod parse;
pub mod runner;
pub mod virtualbox;
