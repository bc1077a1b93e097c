//! Publishing an image: written to a temporary file beside its destination, then moved into
//! place without ever replacing an existing file. A disk that VirtualBox attaches half-written,
//! or one written over a node's existing disk, would lose the node; so the file appears under its
//! final name complete or not at all, and nothing of a failed attempt is left behind.
//!
//! `tempfile` makes the temporary file (private to the user, removed when dropped unpublished) and
//! publishes it with `persist_noclobber`: a rename that refuses to replace where the kernel and
//! the file system have one, else a hard link. Where the file system has neither (FAT, some
//! network and shared folders) the destination is checked, then the file renamed.

use std::fs::{self, File};
use std::io;
use std::path::Path;

use tempfile::TempPath;

use super::DiskError;

/// Writes a new file at `destination` through `write` (which must flush what it writes to disk),
/// refusing with [`DiskError::AlreadyExists`] when something has that name.
pub(super) fn publish_new(
    destination: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<(), DiskError> {
    ensure_absent(destination)?;
    let folder = destination
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut builder = tempfile::Builder::new();
    builder
        .prefix(".vswarm-disk-")
        .suffix(".tmp")
        .rand_bytes(16);
    // Private from creation (tempfile's default, said here because it matters): after the first
    // boot the disk holds the node's TLS and SSH host keys (and a manager's swarm CA key).
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600));
    let mut temp = builder
        .tempfile_in(folder)
        .map_err(|source| DiskError::Io {
            action: "cannot create a temporary image in",
            path: folder.to_owned(),
            source,
        })?;
    if let Err(source) = write(temp.as_file_mut()) {
        let path = temp.path().to_owned();
        discard(temp.into_temp_path());
        return Err(DiskError::Io {
            action: "cannot write the temporary image",
            path,
            source,
        });
    }
    // Closed before it is renamed or linked (Windows cannot rename an open file).
    let temp = temp.into_temp_path();
    let (leftover, refusal) = match temp.persist_noclobber(destination) {
        Ok(()) => return Ok(()),
        Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => (
            e.path,
            DiskError::AlreadyExists {
                path: destination.to_owned(),
            },
        ),
        // Neither rename-without-replace nor hard links here: check, then rename.
        Err(e) => match ensure_absent(destination) {
            Err(refusal) => (e.path, refusal),
            Ok(()) => match e.path.persist(destination) {
                Ok(()) => return Ok(()),
                Err(e) => (
                    e.path,
                    DiskError::Io {
                        action: "cannot rename the temporary image to",
                        path: destination.to_owned(),
                        source: e.error,
                    },
                ),
            },
        },
    };
    discard(leftover);
    Err(refusal)
}

/// Fails with [`DiskError::AlreadyExists`] when `path` names anything (a dangling link included).
pub(super) fn ensure_absent(path: &Path) -> Result<(), DiskError> {
    match fs::symlink_metadata(path) {
        Ok(_) => Err(DiskError::AlreadyExists {
            path: path.to_owned(),
        }),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(DiskError::Io {
            action: "cannot check",
            path: path.to_owned(),
            source,
        }),
    }
}

/// Removes a temporary image that will not be published. Dropping it would remove it too, but
/// silently; a file that stays is worth a warning.
fn discard(temp: TempPath) {
    let path = temp.to_path_buf();
    if let Err(err) = temp.close()
        && err.kind() != io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), %err, "cannot remove a temporary disk image");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::test_support::leftovers;
    use crate::disk::vmdk::MIB;
    use crate::disk::write_vmdk;

    #[test]
    fn existing_file_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("taken.vmdk");
        fs::write(&path, b"precious").expect("write");
        let err = write_vmdk(&path, 64 * MIB, b"head").expect_err("exists");
        assert!(matches!(err, DiskError::AlreadyExists { .. }), "{err}");
        assert_eq!(fs::read(&path).expect("read"), b"precious");
        assert!(leftovers(dir.path()).is_empty());
    }
}
