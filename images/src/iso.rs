//! Reading an ISO9660 image's volume id, which is how vswarm knows a boot2docker ISO's version.
//!
//! boot2docker stamps its release into the primary volume descriptor (`b2d-v19.03.12`), so the
//! version is known from the file itself, whatever its name or where it came from. The same
//! check refuses files that are not ISO images at all (an HTML error page saved as `.iso`, a
//! truncated download) before a VM is ever pointed at them.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::IsoError;

/// ISO9660 logical sector size: volume descriptors are one sector each.
const SECTOR_SIZE: u64 = 2048;
/// Volume descriptors start at sector 16, after the system area.
const FIRST_DESCRIPTOR_SECTOR: u64 = 16;
/// How many descriptors are examined before giving up on finding the primary one.
const MAX_DESCRIPTORS: u64 = 32;
/// The standard identifier every volume descriptor carries at bytes 1..6.
const STANDARD_IDENTIFIER: &[u8; 5] = b"CD001";
const TYPE_PRIMARY: u8 = 1;
const TYPE_TERMINATOR: u8 = 255;
/// Where the volume id sits inside the primary volume descriptor, and its length.
const VOLUME_ID_OFFSET: usize = 40;
const VOLUME_ID_LEN: usize = 32;
/// The prefix boot2docker gives its volume id before the release tag.
const B2D_PREFIX: &str = "b2d-";

/// Reads the volume id of the ISO9660 image at `path` (e.g. `b2d-v19.03.12`), trailing spaces
/// removed. A file that is not an ISO9660 image is refused with [`IsoError::NotAnIso`].
pub fn read_volume_id(path: &Path) -> Result<String, IsoError> {
    let mut file = File::open(path).map_err(|source| IsoError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    volume_id_from_reader(&mut file).map_err(|failure| match failure {
        VolumeIdFailure::Io(source) => IsoError::Read {
            path: path.to_path_buf(),
            source,
        },
        VolumeIdFailure::NotAnIso(reason) => IsoError::NotAnIso {
            path: path.to_path_buf(),
            reason,
        },
    })
}

/// Why a volume id could not be read from a reader.
#[derive(Debug)]
pub enum VolumeIdFailure {
    /// Reading failed.
    Io(io::Error),
    /// The bytes are not an ISO9660 image; the text says what was found instead.
    NotAnIso(String),
}

/// Reads the volume id from anything seekable holding an ISO9660 image: walks the volume
/// descriptors from sector 16 to the primary one, as the standard allows other descriptors
/// (boot records) to come first.
pub fn volume_id_from_reader<R: Read + Seek>(reader: &mut R) -> Result<String, VolumeIdFailure> {
    let len = reader.seek(SeekFrom::End(0)).map_err(VolumeIdFailure::Io)?;
    let needed = (FIRST_DESCRIPTOR_SECTOR + 1) * SECTOR_SIZE;
    if len < needed {
        return Err(VolumeIdFailure::NotAnIso(format!(
            "it is {len} bytes long, shorter than the {needed} bytes an ISO9660 image starts with"
        )));
    }
    let mut sector = [0u8; SECTOR_SIZE as usize];
    for index in 0..MAX_DESCRIPTORS {
        let offset = (FIRST_DESCRIPTOR_SECTOR + index) * SECTOR_SIZE;
        if offset + SECTOR_SIZE > len {
            break;
        }
        reader
            .seek(SeekFrom::Start(offset))
            .map_err(VolumeIdFailure::Io)?;
        reader
            .read_exact(&mut sector)
            .map_err(VolumeIdFailure::Io)?;
        if &sector[1..6] != STANDARD_IDENTIFIER {
            return Err(VolumeIdFailure::NotAnIso(if index == 0 {
                "sector 16 has no ISO9660 volume descriptor (no \"CD001\" at byte 32769)"
                    .to_string()
            } else {
                format!(
                    "the volume descriptors end at sector {} without a primary volume descriptor",
                    FIRST_DESCRIPTOR_SECTOR + index
                )
            }));
        }
        match sector[0] {
            TYPE_PRIMARY => {
                let raw = &sector[VOLUME_ID_OFFSET..VOLUME_ID_OFFSET + VOLUME_ID_LEN];
                return Ok(String::from_utf8_lossy(raw)
                    .trim_end_matches([' ', '\0'])
                    .to_string());
            }
            TYPE_TERMINATOR => {
                return Err(VolumeIdFailure::NotAnIso(
                    "its volume descriptors hold no primary volume descriptor".to_string(),
                ));
            }
            _ => continue,
        }
    }
    Err(VolumeIdFailure::NotAnIso(
        "no primary volume descriptor was found in its first volume descriptors".to_string(),
    ))
}

/// The boot2docker release a volume id names: `b2d-v19.03.12` gives `v19.03.12`. Other volume
/// ids (an ISO that is not boot2docker's) give `None`.
pub fn version_from_volume_id(volume_id: &str) -> Option<String> {
    let rest = volume_id.trim().strip_prefix(B2D_PREFIX)?;
    let version = if rest.starts_with('v') {
        rest.to_string()
    } else {
        format!("v{rest}")
    };
    crate::version::Version::parse(&version).map(|_| version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boot2docker_volume_ids_name_their_release() {
        assert_eq!(
            version_from_volume_id("b2d-v19.03.12").as_deref(),
            Some("v19.03.12")
        );
        assert_eq!(
            version_from_volume_id("b2d-18.09.1").as_deref(),
            Some("v18.09.1")
        );
        assert_eq!(
            version_from_volume_id("b2d-v19.03.13-rc1").as_deref(),
            Some("v19.03.13-rc1")
        );
        assert_eq!(version_from_volume_id("CDROM"), None);
        assert_eq!(version_from_volume_id("b2d-latest"), None);
        assert_eq!(version_from_volume_id(""), None);
    }
}
