//! The boot2docker userdata tar: the archive at the start of a new disk that tells the guest to
//! format it and hands the `docker` user its SSH key. Its shape (ustar, the magic member first,
//! everything within the 4 KiB the guest copies) is boot2docker's contract, checked here.

use std::io;

use super::DiskError;

/// Name and content of the first member of the userdata tar; boot2docker formats a disk whose
/// first bytes are this string.
pub const FORMAT_ME_MAGIC: &str = "boot2docker, please format-me";

/// How many bytes of the disk boot2docker copies to `userdata.tar` before formatting it
/// (`dd bs=4096 count=1` in its `autoformat` script). Everything the guest must extract has to
/// fit in this window.
pub const GUEST_USERDATA_WINDOW: usize = 4096;

/// Size of a tar block.
const TAR_BLOCK: usize = 512;

/// The tar members must end one tar block before the end of the guest's window, so that the
/// guest's copy still holds a zero block marking the end of the archive.
const TAR_MEMBERS_LIMIT: usize = GUEST_USERDATA_WINDOW - TAR_BLOCK;

/// Fixed modification time of every tar member (2020-01-01T00:00:00Z), for reproducible output
/// (an mtime of 0 makes some tar programs warn about an "implausibly old time stamp").
const TAR_MTIME: u64 = 1_577_836_800;

/// Builds the boot2docker userdata tar holding `authorized_key` (one or more OpenSSH public key
/// lines) in `.ssh/authorized_keys` and `.ssh/authorized_keys2`.
///
/// The archive is ustar and deterministic (fixed mtime, uid and gid 0, no user names). Its
/// members are, in order: the [`FORMAT_ME_MAGIC`] file (mode 0644, content the magic itself),
/// the directory `.ssh/` (0700), then `.ssh/authorized_keys` and `.ssh/authorized_keys2` (0644,
/// the key trimmed and followed by a newline). The guest extracts it into `/home/docker`.
///
/// The guest copies only the first [`GUEST_USERDATA_WINDOW`] bytes of the disk, and these four
/// members already fill 3.5 KiB of it with a key of up to 511 bytes (RSA 2048, ECDSA, ed25519);
/// a longer key (RSA 3072 or 4096) would be cut off, so it is refused with
/// [`DiskError::TarTooLarge`]. For the same reason there is no room for extra files.
pub fn userdata_tar(authorized_key: &str) -> Result<Vec<u8>, DiskError> {
    let key = authorized_keys_content(authorized_key)?;
    let mut builder = tar::Builder::new(Vec::new());
    append_member(
        &mut builder,
        FORMAT_ME_MAGIC,
        0o644,
        Some(FORMAT_ME_MAGIC.as_bytes()),
    )
    .map_err(DiskError::Tar)?;
    append_member(&mut builder, ".ssh/", 0o700, None).map_err(DiskError::Tar)?;
    for name in [".ssh/authorized_keys", ".ssh/authorized_keys2"] {
        append_member(&mut builder, name, 0o644, Some(key.as_bytes())).map_err(DiskError::Tar)?;
    }
    let members_len = builder.get_ref().len();
    if members_len > TAR_MEMBERS_LIMIT {
        return Err(DiskError::TarTooLarge {
            members_len,
            limit: TAR_MEMBERS_LIMIT,
        });
    }
    builder.into_inner().map_err(DiskError::Tar)
}

/// The content of the key files: the key, trimmed, followed by one newline.
fn authorized_keys_content(key: &str) -> Result<String, DiskError> {
    let key = key.trim();
    if key.is_empty() {
        return Err(DiskError::InvalidKey {
            reason: "the key is empty",
        });
    }
    if key.contains('\0') {
        return Err(DiskError::InvalidKey {
            reason: "the key contains a NUL character",
        });
    }
    Ok(format!("{key}\n"))
}

/// Appends a ustar member: a regular file when `contents` is given, else a directory.
fn append_member(
    builder: &mut tar::Builder<Vec<u8>>,
    path: &str,
    mode: u32,
    contents: Option<&[u8]>,
) -> io::Result<()> {
    let mut header = tar::Header::new_ustar();
    header.set_path(path)?;
    header.set_mode(mode & 0o7777);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(TAR_MTIME);
    let data = contents.unwrap_or_default();
    header.set_entry_type(if contents.is_some() {
        tar::EntryType::Regular
    } else {
        tar::EntryType::Directory
    });
    header.set_size(data.len() as u64);
    header.set_cksum();
    builder.append(&header, data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::test_support::{MEMBERS, rsa2048_key};

    #[test]
    fn userdata_tar_is_boot2docker_shaped_and_deterministic() {
        let key = rsa2048_key();
        let tar_bytes = userdata_tar(&key).expect("tar");
        assert_eq!(tar_bytes, userdata_tar(&key).expect("tar again"));
        assert_eq!(
            &tar_bytes[..FORMAT_ME_MAGIC.len()],
            FORMAT_ME_MAGIC.as_bytes()
        );
        assert_eq!(tar_bytes[FORMAT_ME_MAGIC.len()], 0);
        assert_eq!(tar_bytes.len() % 512, 0);

        // Everything the guest needs is in the 4 KiB it copies, followed by a zero block.
        let mut archive = tar::Archive::new(&tar_bytes[..GUEST_USERDATA_WINDOW]);
        let mut seen = Vec::new();
        for entry in archive.entries().expect("entries") {
            let mut entry = entry.expect("entry");
            let header = entry.header().clone();
            assert_eq!(&header.as_bytes()[257..265], b"ustar\x0000", "ustar magic");
            assert_eq!(header.uid().expect("uid"), 0);
            assert_eq!(header.gid().expect("gid"), 0);
            assert_eq!(header.mtime().expect("mtime"), TAR_MTIME);
            let path = String::from_utf8(entry.path_bytes().into_owned()).expect("utf8");
            let mut contents = Vec::new();
            io::Read::read_to_end(&mut entry, &mut contents).expect("contents");
            let mode = header.mode().expect("mode");
            match path.as_str() {
                FORMAT_ME_MAGIC => {
                    assert_eq!(contents, FORMAT_ME_MAGIC.as_bytes());
                    assert_eq!(mode, 0o644);
                }
                ".ssh/" => {
                    assert_eq!(header.entry_type(), tar::EntryType::Directory);
                    assert_eq!(mode, 0o700);
                }
                _ => {
                    assert_eq!(contents, format!("{key}\n").as_bytes());
                    assert_eq!(mode, 0o644);
                }
            }
            seen.push(path);
        }
        assert_eq!(seen, MEMBERS);
    }

    #[test]
    fn userdata_tar_rejects_what_the_guest_cannot_use() {
        assert!(matches!(
            userdata_tar("  \n"),
            Err(DiskError::InvalidKey { .. })
        ));
        // An RSA 4096 key: authorized_keys2 would be cut by the guest's 4 KiB copy.
        let long_key = format!("ssh-rsa {} me@host", "A".repeat(716));
        let err = userdata_tar(&long_key).expect_err("too large");
        assert!(
            matches!(err, DiskError::TarTooLarge { limit: 3584, .. }),
            "{err}"
        );
        // An ed25519 key fits, and takes as much room as an RSA 2048 one.
        let ed25519 =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx1c2l2ZWx5IGFuIGVkMjU1MTkga2V5 me@host";
        let tar_bytes = userdata_tar(ed25519).expect("ed25519");
        assert_eq!(tar_bytes.len(), 3584 + 1024);
        assert!(matches!(
            userdata_tar("ssh-ed25519 AAAA\0"),
            Err(DiskError::InvalidKey { .. })
        ));
    }
}
