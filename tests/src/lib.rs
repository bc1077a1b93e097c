//! The vswarm lab.
//!
//! VirtualBox cannot run on our machines, so the lab provides a faithful `VBoxManage`
//! simulator ([`sim`]) whose VMs boot into real Linux guests ([`vmproc`]): network namespaces on a
//! Linux bridge named like the host-only adapter, each with a real sshd and dockerd. Everything
//! above the hypervisor is real. [`lab`] runs a command with the lab active (`tests/lab/run`);
//! [`harness`] runs the end-to-end tests' scripts and tests inside it. See `tests/lab/README.md`.

pub mod harness;
pub mod lab;
pub mod sim;
pub mod vmproc;
