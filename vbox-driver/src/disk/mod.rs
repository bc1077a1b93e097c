//! The boot2docker userdata disk, written by vswarm directly as a sparse VMDK image.
//!
//! # Why
//!
//! A boot2docker guest finds its data disk by a magic string: at boot it looks for a disk that
//! starts with a tar archive whose first member is named [`FORMAT_ME_MAGIC`], saves the first
//! 4 KiB of that disk as `userdata.tar`, partitions and formats the disk, and extracts the tar
//! into `/home/docker` (which is how the `docker` user gets its SSH `authorized_keys`).
//!
//! docker-machine built that disk by piping the tar and then `SIZE` bytes of zeros (20 GB by
//! default) through `VBoxManage convertfromraw stdin`: one more VBoxManage process and gigabytes
//! of zeros copied through a pipe for every machine. But nearly all of such a disk is zeros, and
//! a sparse VMDK describes zeros by *not storing them*. So vswarm writes the image itself: a
//! header, the allocation tables, and only the grains that the tar touches. Whatever the
//! capacity, that is a handful of writes done in about a millisecond, and on a file system with
//! sparse files the default 20 GB disk takes some tens of kilobytes (the file length is about
//! 3 MiB, mostly holes).
//!
//! # API
//!
//! - [`userdata_tar`] builds the boot2docker tar: deterministic ustar, the magic member first,
//!   then `.ssh/` and the two key files, all within the 4 KiB the guest reads.
//! - [`write_vmdk`] writes a new sparse VMDK of a given capacity (at most [`MAX_CAPACITY`])
//!   whose first bytes are any `head` (normally that tar) and whose remaining bytes read as
//!   zeros.
//!
//! # Files
//!
//! One job each: `userdata.rs` builds the tar; `vmdk.rs` checks the request and lays the VMDK
//! out as the byte ranges that are not zero (the format is described there); `publish.rs` writes
//! an image beside its destination and moves it into place. Everything public is re-exported
//! here, so callers name `crate::disk::X`.
//!
//! A grain of `head` that is entirely zero is not allocated (it reads as zeros anyway), and zero
//! ranges inside the image are left as holes in the file rather than written.
//!
//! # Safety of the result
//!
//! The image is written to a temporary file in the destination folder (made by `tempfile`,
//! private to the user), flushed to disk and closed, then published under its final name without
//! ever replacing an existing file: a rename that refuses to replace, or a hard link, where the
//! file system has them; a rename after a check where it has neither. On any error the temporary
//! file is removed, so no half-written image is ever left behind.

use std::io;
use std::path::PathBuf;

mod publish;
mod userdata;
mod vmdk;

pub use userdata::{FORMAT_ME_MAGIC, GUEST_USERDATA_WINDOW, userdata_tar};
pub use vmdk::{MAX_CAPACITY, SECTOR_SIZE, write_vmdk};

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    /// The destination already exists; images are never overwritten.
    #[error("{}: already exists; refusing to overwrite it", path.display())]
    AlreadyExists {
        /// The destination.
        path: PathBuf,
    },

    /// The capacity is zero.
    #[error("the disk capacity must not be zero")]
    ZeroCapacity,

    /// The capacity is not a whole number of 512-byte sectors.
    #[error("the disk capacity ({capacity} bytes) is not a multiple of {SECTOR_SIZE} bytes")]
    CapacityNotSectorMultiple {
        /// The requested capacity in bytes.
        capacity: u64,
    },

    /// The capacity exceeds what a VMDK's 32-bit grain tables can address ([`MAX_CAPACITY`]).
    #[error("the disk capacity ({capacity} bytes) exceeds the VMDK limit of {max} bytes")]
    CapacityTooLarge {
        /// The requested capacity in bytes.
        capacity: u64,
        /// The largest capacity this module writes.
        max: u64,
    },

    /// The head does not fit in the disk.
    #[error("the head ({head_len} bytes) does not fit in a disk of {capacity} bytes")]
    HeadTooLarge {
        /// Length of the head in bytes.
        head_len: usize,
        /// The requested capacity in bytes.
        capacity: u64,
    },

    /// The destination path cannot name an image.
    #[error("{}: cannot be used as a disk image path: {reason}", path.display())]
    InvalidPath {
        /// The destination.
        path: PathBuf,
        /// Why not.
        reason: &'static str,
    },

    /// A file system operation failed.
    #[error("{action} {}", path.display())]
    Io {
        /// What was being done, such as "cannot write".
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The public key cannot go into `authorized_keys`.
    #[error("invalid authorized key: {reason}")]
    InvalidKey {
        /// Why not.
        reason: &'static str,
    },

    /// Building the tar archive failed.
    #[error("cannot build the userdata tar")]
    Tar(#[source] io::Error),

    /// The tar archive does not fit in what the guest reads.
    #[error(
        "the userdata tar members take {members_len} bytes but boot2docker reads only the first \
         {GUEST_USERDATA_WINDOW} bytes of the disk, so they must end by byte {limit} \
         (use a key of at most 511 bytes, such as an ed25519 or RSA 2048 one)"
    )]
    TarTooLarge {
        /// Bytes taken by the members (headers and contents, without the end-of-archive blocks).
        members_len: usize,
        /// The largest acceptable value of `members_len`.
        limit: usize,
    },
}

/// What the tests of the tar, the images and the publishing share.
#[cfg(test)]
mod test_support {
    use std::fs;
    use std::path::Path;

    use super::FORMAT_ME_MAGIC;

    /// A key the size of an RSA 2048 OpenSSH public key.
    pub(super) fn rsa2048_key() -> String {
        let body: String = (0..372)
            .map(|i| {
                let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
                alphabet[(i * 7 + 3) % 64] as char
            })
            .collect();
        format!("ssh-rsa AAAAB3NzaC1yc2E{body} vswarm@test")
    }

    pub(super) const MEMBERS: [&str; 4] = [
        FORMAT_ME_MAGIC,
        ".ssh/",
        ".ssh/authorized_keys",
        ".ssh/authorized_keys2",
    ];

    /// The temporary files left in `dir`: there must be none, whatever happened.
    pub(super) fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .expect("read dir")
            .map(|e| {
                e.expect("dir entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }
}
