//! Sparse images: the request checked ([`write_sparse_disk`]'s capacity and file name), the image
//! described as the byte ranges that are not zero (`SparseImage`) by the writer of its format
//! (`vmdk.rs`, `vdi.rs`), and the little-endian fields and UUIDs both formats store. The image is
//! then handed to `publish.rs` to be written beside its destination.

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::Path;

use rand::Rng;

use super::{DiskError, publish, vdi, vmdk};

/// Sector size of both image formats.
pub const SECTOR_SIZE: u64 = 512;

pub(super) const KIB: u64 = 1024;
pub(super) const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;
const TIB: u64 = 1024 * GIB;

/// The sparse image formats VirtualBox reads and this module writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiskFormat {
    /// VMware's "monolithicSparse" hosted sparse extent (64 KiB grains), what docker-machine
    /// attached.
    Vmdk,
    /// VirtualBox's own dynamic VDI (1 MiB blocks).
    Vdi,
}

impl DiskFormat {
    /// The usual file extension, without the dot.
    pub const fn extension(self) -> &'static str {
        match self {
            Self::Vmdk => "vmdk",
            Self::Vdi => "vdi",
        }
    }

    /// The largest capacity this module writes in this format.
    ///
    /// VMDK: grain table entries are 32-bit sector numbers, so the whole file (metadata, about
    /// 256 MiB at this size, plus every grain once the guest has written them all) must stay
    /// under 2 TiB. VDI could go further, but its block map (4 bytes per MiB, all of it written)
    /// would grow past this module's time budget, and a boot2docker data disk never needs more.
    pub const fn max_capacity(self) -> u64 {
        match self {
            Self::Vmdk => 2 * TIB - 512 * MIB,
            Self::Vdi => 2 * TIB,
        }
    }

    /// The allocation unit: a VMDK grain or a VDI block.
    pub const fn allocation_unit(self) -> u64 {
        match self {
            Self::Vmdk => vmdk::GRAIN_BYTES,
            Self::Vdi => vdi::BLOCK_BYTES,
        }
    }
}

impl fmt::Display for DiskFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Vmdk => "VMDK",
            Self::Vdi => "VDI",
        })
    }
}

/// Writes a new sparse disk image at `path` of `capacity_bytes` whose first bytes are `head` and
/// whose other bytes read as zeros.
///
/// Only the grains (VMDK) or blocks (VDI) holding non-zero bytes of `head` are allocated. The
/// capacity must be a non-zero multiple of 512, at least `head.len()` and at most
/// [`DiskFormat::max_capacity`]. `path` must not exist; the image is written to a temporary file
/// next to it and published only once complete (see the module documentation).
pub fn write_sparse_disk(
    path: &Path,
    format: DiskFormat,
    capacity_bytes: u64,
    head: &[u8],
) -> Result<(), DiskError> {
    check_capacity(format, capacity_bytes, head.len())?;
    let image = match format {
        DiskFormat::Vmdk => vmdk::image(capacity_bytes, head, vmdk_extent_name(path)?)?,
        DiskFormat::Vdi => vdi::image(capacity_bytes, head)?,
    };
    publish::publish_new(path, |file| image.write_to(file))
}

fn check_capacity(format: DiskFormat, capacity: u64, head_len: usize) -> Result<(), DiskError> {
    if capacity == 0 {
        return Err(DiskError::ZeroCapacity);
    }
    if !capacity.is_multiple_of(SECTOR_SIZE) {
        return Err(DiskError::CapacityNotSectorMultiple { capacity });
    }
    if capacity > format.max_capacity() {
        return Err(DiskError::CapacityTooLarge {
            format,
            capacity,
            max: format.max_capacity(),
        });
    }
    // The capacity is a multiple of 512, so this also covers the head rounded up to a sector.
    if head_len as u64 > capacity {
        return Err(DiskError::HeadTooLarge { head_len, capacity });
    }
    Ok(())
}

/// The file name the VMDK descriptor names its extent by (VirtualBox writes the image's own file
/// name; with the descriptor embedded, readers use the file itself whatever the name).
fn vmdk_extent_name(path: &Path) -> Result<&str, DiskError> {
    let invalid = |reason| DiskError::InvalidPath {
        path: path.to_owned(),
        reason,
    };
    let name = path
        .file_name()
        .ok_or_else(|| invalid("it has no file name"))?
        .to_str()
        .ok_or_else(|| invalid("the file name is not valid UTF-8"))?;
    if name.chars().any(|c| c == '"' || c.is_control()) {
        return Err(invalid(
            "the file name contains a quote or a control character, which the VMDK descriptor \
             cannot hold",
        ));
    }
    if name.len() > vmdk::MAX_EXTENT_NAME {
        return Err(invalid("the file name is too long for the VMDK descriptor"));
    }
    Ok(name)
}

/// An image as the byte ranges that are not zero, and the file length.
pub(super) struct SparseImage<'a> {
    pieces: Vec<Piece<'a>>,
    len: u64,
}

struct Piece<'a> {
    offset: u64,
    bytes: Cow<'a, [u8]>,
}

impl<'a> SparseImage<'a> {
    pub(super) fn new(len: u64) -> Self {
        Self {
            pieces: Vec::new(),
            len,
        }
    }

    pub(super) fn put(&mut self, offset: u64, bytes: impl Into<Cow<'a, [u8]>>) {
        let bytes = bytes.into();
        debug_assert!(offset + bytes.len() as u64 <= self.len);
        if !bytes.is_empty() {
            self.pieces.push(Piece { offset, bytes });
        }
    }

    /// Sets the file length first (everything not written reads as zeros, and stays a hole on
    /// file systems with sparse files), writes the pieces, and flushes the file to disk.
    pub(super) fn write_to(&self, file: &mut File) -> io::Result<()> {
        file.set_len(self.len)?;
        for piece in &self.pieces {
            file.seek(SeekFrom::Start(piece.offset))?;
            file.write_all(&piece.bytes)?;
        }
        file.sync_all()
    }
}

/// The chunks of `head` of `unit` bytes that hold a non-zero byte, with their index, trimmed of
/// their trailing zeros.
pub(super) fn nonzero_units(head: &[u8], unit: u64) -> impl Iterator<Item = (u64, &[u8])> {
    head.chunks(unit as usize)
        .enumerate()
        .filter_map(|(index, chunk)| {
            let end = chunk.iter().rposition(|&b| b != 0)? + 1;
            Some((index as u64, &chunk[..end]))
        })
}

pub(super) fn put_u16(buf: &mut [u8], at: usize, value: u16) {
    buf[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

pub(super) fn put_u32(buf: &mut [u8], at: usize, value: u32) {
    buf[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

pub(super) fn put_u64(buf: &mut [u8], at: usize, value: u64) {
    buf[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

/// A value stored in a 32-bit field; the capacity limits keep every such value in range.
pub(super) fn to_u32(value: u64, format: DiskFormat, capacity: u64) -> Result<u32, DiskError> {
    u32::try_from(value).map_err(|_| DiskError::CapacityTooLarge {
        format,
        capacity,
        max: format.max_capacity(),
    })
}

/// A random (version 4) UUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Uuid([u8; 16]);

impl Uuid {
    pub(super) fn random() -> Self {
        let mut bytes = [0u8; 16];
        rand::rng().fill(&mut bytes[..]);
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        Self(bytes)
    }

    /// The bytes as VirtualBox stores an `RTUUID` on disk: the first three fields little-endian.
    pub(super) fn to_rtuuid(self) -> [u8; 16] {
        let b = self.0;
        [
            b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13],
            b[14], b[15],
        ]
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::GUEST_USERDATA_WINDOW;
    use crate::disk::test_support::{MEMBERS, leftovers, rsa2048_key};
    use crate::disk::userdata_tar;
    use proptest::prelude::*;
    use std::fs;
    use std::process::Command;

    // ----- a small reader of both formats, independent of the writer's code paths -----

    fn le32(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
    }

    fn le64(b: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
    }

    /// An image file opened for reading; panics on anything malformed. Grain tables are read on
    /// demand, so that even a 2 TiB VMDK (256 MiB of tables) opens quickly.
    struct Image {
        file: File,
        file_len: u64,
        capacity: u64,
        unit: u64,
        kind: Kind,
    }

    enum Kind {
        Vmdk {
            overhead: u64,
            gd: Vec<u32>,
            rgd: Vec<u32>,
        },
        Vdi {
            off_data: u64,
            allocated: u64,
            map: Vec<u32>,
        },
    }

    impl Image {
        fn open(path: &Path, format: DiskFormat) -> Image {
            let file = File::open(path).expect("open image");
            let file_len = file.metadata().expect("metadata").len();
            let mut image = Image {
                file,
                file_len,
                capacity: 0,
                unit: 0,
                kind: Kind::Vdi {
                    off_data: 0,
                    allocated: 0,
                    map: Vec::new(),
                },
            };
            match format {
                DiskFormat::Vmdk => image.parse_vmdk(),
                DiskFormat::Vdi => image.parse_vdi(),
            }
            image
        }

        fn bytes_at(&self, offset: u64, len: u64) -> Vec<u8> {
            assert!(
                offset + len <= self.file_len,
                "read past the end of the file"
            );
            let mut buf = vec![0u8; len as usize];
            let mut file = &self.file;
            file.seek(SeekFrom::Start(offset)).expect("seek");
            io::Read::read_exact(&mut file, &mut buf).expect("read");
            buf
        }

        fn parse_vmdk(&mut self) {
            let h = self.bytes_at(0, 512);
            assert_eq!(&h[0..4], b"KDMV");
            assert_eq!(le32(&h, 4), 1, "version");
            assert_eq!(le32(&h, 8), 3, "flags");
            let capacity_sectors = le64(&h, 12);
            assert_eq!(le64(&h, 20), 128, "grainSize");
            assert_eq!(le64(&h, 28), 1, "descriptorOffset");
            assert_eq!(le64(&h, 36), 20, "descriptorSize");
            assert_eq!(le32(&h, 44), 512, "numGTEsPerGT");
            let rgd_offset = le64(&h, 48);
            let gd_offset = le64(&h, 56);
            let overhead = le64(&h, 64);
            assert_eq!(&h[72..79], b"\0\n \r\n\0\0");
            assert_eq!(overhead % 128, 0, "overHead is grain aligned");
            assert!(rgd_offset >= 21 && gd_offset > rgd_offset && overhead > gd_offset);
            assert!(overhead * 512 <= self.file_len);
            assert_eq!((self.file_len - overhead * 512) % (128 * 512), 0);

            let descriptor = String::from_utf8(self.bytes_at(512, 20 * 512)).expect("utf8");
            let descriptor = descriptor.trim_end_matches('\0');
            assert!(descriptor.starts_with("# Disk DescriptorFile\n"));
            for line in [
                "version=1",
                "parentCID=ffffffff",
                "createType=\"monolithicSparse\"",
                "ddb.adapterType=\"ide\"",
                "ddb.geometry.heads=\"16\"",
                "ddb.geometry.sectors=\"63\"",
                "ddb.uuid.parent=\"00000000-0000-0000-0000-000000000000\"",
            ] {
                assert!(
                    descriptor.lines().any(|l| l == line),
                    "{line} in {descriptor}"
                );
            }
            let extent = format!("RW {capacity_sectors} SPARSE \"");
            assert!(
                descriptor.lines().any(|l| l.starts_with(&extent)),
                "{descriptor}"
            );
            let uuid = descriptor
                .lines()
                .find_map(|l| l.strip_prefix("ddb.uuid.image=\""))
                .expect("image uuid");
            assert_eq!(uuid.len(), 37, "{uuid}");
            assert_eq!(&uuid[14..15], "4", "random uuid version");

            let tables = capacity_sectors.div_ceil(128).div_ceil(512);
            let directory = |offset: u64| -> Vec<u32> {
                let bytes = self.bytes_at(offset * 512, tables * 4);
                (0..tables as usize).map(|t| le32(&bytes, t * 4)).collect()
            };
            let (gd, rgd) = (directory(gd_offset), directory(rgd_offset));
            for (t, (&gt, &rgt)) in gd.iter().zip(&rgd).enumerate() {
                assert!(
                    gt != 0 && rgt != 0 && gt != rgt,
                    "table {t} allocated twice"
                );
                assert!(
                    u64::from(gt.max(rgt)) + 4 <= overhead,
                    "table {t} inside overHead"
                );
            }
            self.capacity = capacity_sectors * 512;
            self.unit = 128 * 512;
            self.kind = Kind::Vmdk { overhead, gd, rgd };
        }

        fn parse_vdi(&mut self) {
            let h = self.bytes_at(0, 512);
            assert_eq!(&h[..40], b"<<< Oracle VM VirtualBox Disk Image >>>\n");
            assert!(h[40..64].iter().all(|&b| b == 0));
            assert_eq!(le32(&h, 64), 0xbeda_107f);
            assert_eq!(le32(&h, 68), 0x0001_0001);
            assert_eq!(le32(&h, 72), 400, "cbHeader");
            assert_eq!(le32(&h, 76), 1, "dynamic");
            let off_blocks = u64::from(le32(&h, 340));
            let off_data = u64::from(le32(&h, 344));
            assert_eq!(le32(&h, 360), 512, "legacy cbSector");
            let capacity = le64(&h, 368);
            assert_eq!(le32(&h, 376), 1 << 20, "cbBlock");
            assert_eq!(le32(&h, 380), 0, "cbBlockExtra");
            let blocks = u64::from(le32(&h, 384));
            let allocated = u64::from(le32(&h, 388));
            assert_eq!(blocks, capacity.div_ceil(1 << 20));
            assert!(h[392..408].iter().any(|&b| b != 0), "creation uuid");
            assert!(h[408..424].iter().any(|&b| b != 0), "modification uuid");
            assert!(h[424..456].iter().all(|&b| b == 0), "no parent");
            assert_eq!(le32(&h, 468), 512, "LCHS cbSector");
            assert_eq!(off_blocks, 1 << 20);
            assert_eq!(off_data % (1 << 20), 0);
            assert!(off_data >= off_blocks + blocks * 4);
            assert_eq!(self.file_len, off_data + allocated * (1 << 20));
            let bytes = self.bytes_at(off_blocks, blocks * 4);
            let map: Vec<u32> = (0..blocks as usize).map(|b| le32(&bytes, b * 4)).collect();
            let mut seen = std::collections::HashSet::new();
            for &entry in map.iter().filter(|&&e| e != u32::MAX) {
                assert!(
                    u64::from(entry) < allocated && seen.insert(entry),
                    "block {entry}"
                );
            }
            assert_eq!(seen.len() as u64, allocated);
            self.capacity = capacity;
            self.unit = 1 << 20;
            self.kind = Kind::Vdi {
                off_data,
                allocated,
                map,
            };
        }

        /// Where allocation unit `index` is in the file, if allocated.
        fn unit_offset(&self, index: u64) -> Option<u64> {
            match &self.kind {
                Kind::Vmdk { overhead, gd, rgd } => {
                    let (table, entry) = ((index / 512) as usize, (index % 512) * 4);
                    let gte = le32(&self.bytes_at(u64::from(gd[table]) * 512 + entry, 4), 0);
                    let rgte = le32(&self.bytes_at(u64::from(rgd[table]) * 512 + entry, 4), 0);
                    assert_eq!(
                        gte, rgte,
                        "grain {index}: grain table and redundant copy differ"
                    );
                    let sector = u64::from(gte);
                    (sector != 0).then(|| {
                        assert!(sector >= *overhead && (sector - overhead) % 128 == 0);
                        assert!((sector + 128) * 512 <= self.file_len);
                        sector * 512
                    })
                }
                Kind::Vdi { off_data, map, .. } => match map[index as usize] {
                    u32::MAX => None,
                    block => Some(off_data + u64::from(block) * (1 << 20)),
                },
            }
        }

        fn read(&self, offset: u64, len: u64) -> Vec<u8> {
            assert!(offset + len <= self.capacity);
            let mut out = Vec::with_capacity(len as usize);
            let mut at = offset;
            while at < offset + len {
                let within = at % self.unit;
                let n = (self.unit - within).min(offset + len - at);
                match self.unit_offset(at / self.unit) {
                    None => out.resize(out.len() + n as usize, 0),
                    Some(base) => out.extend(self.bytes_at(base + within, n)),
                }
                at += n;
            }
            out
        }

        /// The allocated units, checking that no two share file space (reads every grain table).
        fn allocated_units(&self) -> usize {
            let units = self.capacity.div_ceil(self.unit);
            let offsets: Vec<u64> = match &self.kind {
                // Whole grain tables at once; entries past the capacity must be zero.
                Kind::Vmdk { overhead, gd, rgd } => {
                    let mut offsets = Vec::new();
                    for (t, (&gt, &rgt)) in gd.iter().zip(rgd).enumerate() {
                        let table = self.bytes_at(u64::from(gt) * 512, 2048);
                        assert!(
                            table == self.bytes_at(u64::from(rgt) * 512, 2048),
                            "table {t}"
                        );
                        for e in 0..512 {
                            let sector = u64::from(le32(&table, e * 4));
                            if (t * 512 + e) as u64 >= units {
                                assert_eq!(sector, 0, "grain past the capacity");
                            } else if sector != 0 {
                                assert!(sector >= *overhead && (sector - overhead) % 128 == 0);
                                assert!((sector + 128) * 512 <= self.file_len);
                                offsets.push(sector * 512);
                            }
                        }
                    }
                    offsets
                }
                Kind::Vdi { .. } => (0..units).filter_map(|u| self.unit_offset(u)).collect(),
            };
            let distinct: std::collections::HashSet<_> = offsets.iter().collect();
            assert_eq!(distinct.len(), offsets.len(), "a unit is used twice");
            if let Kind::Vdi { allocated, .. } = self.kind {
                assert_eq!(offsets.len() as u64, allocated);
            }
            if let Kind::Vmdk { overhead, .. } = self.kind {
                assert_eq!(
                    offsets.len() as u64,
                    (self.file_len - overhead * 512) / self.unit,
                    "every grain in the file is referenced"
                );
            }
            offsets.len()
        }
    }

    fn expected(head: &[u8], offset: u64, len: u64) -> Vec<u8> {
        (offset..offset + len)
            .map(|i| head.get(i as usize).copied().unwrap_or(0))
            .collect()
    }

    fn nonzero_chunks(head: &[u8], unit: u64) -> usize {
        head.chunks(unit as usize)
            .filter(|c| c.iter().any(|&b| b != 0))
            .count()
    }
    // ----- images checked by qemu-img -----

    /// qemu-img reads VirtualBox's formats; CI installs it (qemu-utils). A missing one fails
    /// the test rather than passing it unchecked.
    fn qemu_img() -> Option<&'static str> {
        let found = Command::new("qemu-img")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            found,
            "qemu-img is not installed (Debian package qemu-utils)"
        );
        Some("qemu-img")
    }

    fn run(cmd: &mut Command) -> String {
        let out = cmd.output().expect("run command");
        assert!(
            out.status.success(),
            "{cmd:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A top-level value of qemu-img's pretty-printed JSON (nested objects are indented more).
    fn top_level_value<'a>(json: &'a str, key: &str) -> &'a str {
        let prefix = format!("    \"{key}\": ");
        json.lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no top-level {key} in {json}"))
            .trim_end_matches(',')
    }

    fn check_with_qemu(format: DiskFormat) {
        let Some(qemu) = qemu_img() else { return };
        let fmt = format.extension();
        let dir = tempfile::tempdir().expect("tempdir");
        let head = userdata_tar(&rsa2048_key()).expect("tar");
        let sizes = [
            64 * MIB,
            20_000 * MIB,
            127 * 64 * KIB,           // an odd number of grains
            127 * 64 * KIB + 7 * 512, // and a partial last grain / block
        ];
        for capacity in sizes {
            let image = dir.path().join(format!("disk-{capacity}.{fmt}"));
            write_sparse_disk(&image, format, capacity, &head).expect("write image");
            let image_arg = image.to_str().expect("utf8 path");

            run(Command::new(qemu).args(["check", "-f", fmt, image_arg]));

            let info =
                run(Command::new(qemu).args(["info", "--output=json", "-f", fmt, image_arg]));
            let virtual_size = top_level_value(&info, "virtual-size");
            assert_eq!(virtual_size, capacity.to_string(), "{info}");
            assert_eq!(
                top_level_value(&info, "format"),
                format!("\"{fmt}\""),
                "{info}"
            );

            let raw = dir.path().join(format!("disk-{capacity}-{fmt}.raw"));
            let raw_arg = format!("of={}", raw.display());
            run(Command::new(qemu).args([
                "dd",
                "-f",
                fmt,
                "-O",
                "raw",
                &format!("if={image_arg}"),
                &raw_arg,
                "bs=1M",
                "count=2",
            ]));
            let bytes = fs::read(&raw).expect("read raw");
            assert_eq!(bytes.len() as u64, (2 * MIB).min(capacity));
            assert_eq!(
                bytes,
                expected(&head, 0, bytes.len() as u64),
                "{fmt} {capacity}"
            );

            // GNU tar reads the head, and the guest's 4 KiB copy of it, the same way.
            let listing = run(Command::new("tar").arg("-tf").arg(&raw));
            assert_eq!(listing.lines().collect::<Vec<_>>(), MEMBERS);
            let window = dir.path().join("userdata.tar");
            fs::write(&window, &bytes[..GUEST_USERDATA_WINDOW]).expect("write window");
            let listing = run(Command::new("tar").arg("-tf").arg(&window));
            assert_eq!(listing.lines().collect::<Vec<_>>(), MEMBERS);

            // Small on disk whatever the capacity.
            let metadata = fs::metadata(&image).expect("metadata");
            assert!(
                metadata.len() < 4 * MIB,
                "{fmt} {capacity}: {} bytes",
                metadata.len()
            );
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                assert!(metadata.blocks() * 512 < 4 * MIB, "{fmt} {capacity}");
            }

            // Our reader agrees, and only the tar's unit is allocated.
            let parsed = Image::open(&image, format);
            assert_eq!(parsed.capacity, capacity);
            assert_eq!(parsed.allocated_units(), 1);
        }

        // A head of many units, with all-zero ones among them, crossing a grain table boundary
        // (512 grains = 32 MiB) and ending inside a unit.
        let head = make_head(
            34 * MIB as usize + 12_345,
            7,
            5 * MIB as usize,
            3 * MIB as usize,
        );
        let image = dir.path().join(format!("big-head.{fmt}"));
        write_sparse_disk(&image, format, 100 * MIB, &head).expect("write image");
        let image_arg = image.to_str().expect("utf8 path");
        run(Command::new(qemu).args(["check", "-f", fmt, image_arg]));
        let raw = dir.path().join(format!("big-head-{fmt}.raw"));
        run(Command::new(qemu).args([
            "dd",
            "-f",
            fmt,
            "-O",
            "raw",
            &format!("if={image_arg}"),
            &format!("of={}", raw.display()),
            "bs=1M",
            "count=40",
        ]));
        let bytes = fs::read(&raw).expect("read raw");
        assert!(
            bytes == expected(&head, 0, 40 * MIB),
            "{fmt}: big head differs"
        );
        let parsed = Image::open(&image, format);
        assert_eq!(
            parsed.allocated_units(),
            nonzero_chunks(&head, format.allocation_unit())
        );
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn vmdk_images_pass_qemu_img() {
        check_with_qemu(DiskFormat::Vmdk);
    }

    #[test]
    fn vdi_images_pass_qemu_img() {
        check_with_qemu(DiskFormat::Vdi);
    }
    #[test]
    fn bad_capacities_are_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().expect("tempdir");
        for format in [DiskFormat::Vmdk, DiskFormat::Vdi] {
            let path = dir.path().join(format!("disk.{}", format.extension()));
            let err = write_sparse_disk(&path, format, 64 * MIB + 100, b"").expect_err("odd");
            assert!(
                matches!(err, DiskError::CapacityNotSectorMultiple { capacity } if capacity == 64 * MIB + 100),
                "{err}"
            );
            let err = write_sparse_disk(&path, format, 0, b"").expect_err("zero");
            assert!(matches!(err, DiskError::ZeroCapacity), "{err}");
            let head = vec![1u8; 1025];
            let err = write_sparse_disk(&path, format, 1024, &head).expect_err("head");
            assert!(
                matches!(
                    err,
                    DiskError::HeadTooLarge {
                        head_len: 1025,
                        capacity: 1024
                    }
                ),
                "{err}"
            );
            let too_big = format.max_capacity() + 512;
            let err = write_sparse_disk(&path, format, too_big, b"").expect_err("huge");
            assert!(matches!(err, DiskError::CapacityTooLarge { .. }), "{err}");
            assert!(!path.exists());
        }
        let err = write_sparse_disk(
            &dir.path().join("a\"b.vmdk"),
            DiskFormat::Vmdk,
            64 * MIB,
            b"",
        )
        .expect_err("quote");
        assert!(matches!(err, DiskError::InvalidPath { .. }), "{err}");
        let err = write_sparse_disk(
            &dir.path().join("missing-folder/disk.vdi"),
            DiskFormat::Vdi,
            64 * MIB,
            b"",
        )
        .expect_err("no folder");
        assert!(matches!(err, DiskError::Io { .. }), "{err}");
        assert_eq!(fs::read_dir(dir.path()).expect("read dir").count(), 0);
    }

    #[test]
    fn largest_capacities_fit_their_formats() {
        let dir = tempfile::tempdir().expect("tempdir");
        for format in [DiskFormat::Vmdk, DiskFormat::Vdi] {
            let path = dir.path().join(format!("max.{}", format.extension()));
            let head = [0xa5u8; 1000];
            write_sparse_disk(&path, format, format.max_capacity(), &head).expect("max");
            let image = Image::open(&path, format);
            assert_eq!(image.capacity, format.max_capacity());
            assert_eq!(image.read(0, 2000), expected(&head, 0, 2000));
            let end = format.max_capacity();
            assert_eq!(image.read(end - 4096, 4096), vec![0; 4096]);
        }
    }
    // ----- round trip through the reader -----

    /// A head of `len` pseudo-random bytes with a zero run, so that some units are all zeros.
    fn make_head(len: usize, seed: u64, zero_start: usize, zero_len: usize) -> Vec<u8> {
        let mut state = seed | 1;
        let mut head: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 32) as u8
            })
            .collect();
        let start = zero_start.min(len);
        let end = (start + zero_len).min(len);
        head[start..end].fill(0);
        head
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn images_read_back_as_head_then_zeros(
            len in 0usize..300_000,
            seed in any::<u64>(),
            zero_start in 0usize..300_000,
            zero_len in 0usize..200_000,
            extra_sectors in prop_oneof![0u64..300, 0u64..(8u64 << 21)],
        ) {
            let head = make_head(len, seed, zero_start, zero_len);
            let capacity = ((len as u64).next_multiple_of(512) + extra_sectors * 512).max(512);
            let dir = tempfile::tempdir().expect("tempdir");
            for format in [DiskFormat::Vmdk, DiskFormat::Vdi] {
                let path = dir.path().join(format!("disk.{}", format.extension()));
                write_sparse_disk(&path, format, capacity, &head).expect("write");
                let image = Image::open(&path, format);
                prop_assert_eq!(image.capacity, capacity);
                prop_assert_eq!(
                    image.allocated_units(),
                    nonzero_chunks(&head, format.allocation_unit())
                );
                // The head and what follows it, up to 1 MiB past it.
                let span = (len as u64 + MIB).min(capacity);
                prop_assert!(image.read(0, span) == expected(&head, 0, span));
                // The end of the disk.
                let tail = capacity.min(3 * 64 * KIB);
                let tail_at = capacity - tail;
                prop_assert!(image.read(tail_at, tail) == expected(&head, tail_at, tail));
            }
            prop_assert!(leftovers(dir.path()).is_empty());
        }
    }
}
