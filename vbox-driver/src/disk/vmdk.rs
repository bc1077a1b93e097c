//! The sparse VMDK writer: [`write_vmdk`] checks the request (capacity, file name), lays the
//! image out, and hands it to `publish.rs` to be written beside its destination.
//!
//! The format is the one docker-machine attached and vswarm attaches: the "monolithicSparse"
//! hosted sparse extent of the VMware Virtual Disk Format 1.1, laid out as VirtualBox lays it out:
//! the 512-byte `SparseExtentHeader` at sector 0, the embedded text descriptor at sectors 1..21,
//! then the redundant grain directory, the redundant grain tables (all preallocated), the grain
//! directory and the grain tables, padded to a grain boundary (`overHead`), then the data grains
//! of 64 KiB. Grain tables are all zero except for the entries of the grains `head` touches.
//!
//! The image is held as the byte ranges that are not zero (`SparseImage`): the file length is set
//! first and only those ranges are written, so everything else stays a hole on file systems with
//! sparse files. A grain of `head` that is entirely zero is not allocated.

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::Path;

use rand::Rng;

use super::{DiskError, publish};

/// Sector size of the image.
pub const SECTOR_SIZE: u64 = 512;

const KIB: u64 = 1024;
pub(super) const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;
const TIB: u64 = 1024 * GIB;

/// The largest capacity [`write_vmdk`] writes.
///
/// Grain table entries are 32-bit sector numbers, so the whole file (metadata, about 256 MiB at
/// this size, plus every grain once the guest has written them all) must stay under 2 TiB. A
/// boot2docker data disk never needs more.
pub const MAX_CAPACITY: u64 = 2 * TIB - 512 * MIB;

const MAGIC: u32 = 0x564d_444b; // "KDMV" on disk
const VERSION: u32 = 1;
/// Bit 0: the newline-detection characters are valid; bit 1: redundant grain tables exist.
const FLAGS: u32 = 0b11;
const GRAIN_SECTORS: u64 = 128;
const GRAIN_BYTES: u64 = GRAIN_SECTORS * SECTOR_SIZE;
const GTES_PER_GT: u64 = 512;
const GT_SECTORS: u64 = GTES_PER_GT * 4 / SECTOR_SIZE;
const DESCRIPTOR_OFFSET: u64 = 1;
const DESCRIPTOR_SECTORS: u64 = 20;
const NEWLINE_CHECK: [u8; 4] = *b"\n \r\n";
/// Longest extent file name accepted, leaving the descriptor (20 sectors) plenty of room.
const MAX_EXTENT_NAME: usize = 1024;

/// Writes a new sparse VMDK at `path` of `capacity_bytes` whose first bytes are `head` and whose
/// other bytes read as zeros.
///
/// Only the grains holding non-zero bytes of `head` are allocated. The capacity must be a
/// non-zero multiple of 512, at least `head.len()` and at most [`MAX_CAPACITY`]. `path` must not
/// exist; the image is written to a temporary file next to it and published only once complete
/// (see the module documentation of [`crate::disk`]).
pub fn write_vmdk(path: &Path, capacity_bytes: u64, head: &[u8]) -> Result<(), DiskError> {
    check_capacity(capacity_bytes, head.len())?;
    let image = image(capacity_bytes, head, extent_name(path)?)?;
    publish::publish_new(path, |file| image.write_to(file))
}

fn check_capacity(capacity: u64, head_len: usize) -> Result<(), DiskError> {
    if capacity == 0 {
        return Err(DiskError::ZeroCapacity);
    }
    if !capacity.is_multiple_of(SECTOR_SIZE) {
        return Err(DiskError::CapacityNotSectorMultiple { capacity });
    }
    if capacity > MAX_CAPACITY {
        return Err(too_large(capacity));
    }
    // The capacity is a multiple of 512, so this also covers the head rounded up to a sector.
    if head_len as u64 > capacity {
        return Err(DiskError::HeadTooLarge { head_len, capacity });
    }
    Ok(())
}

fn too_large(capacity: u64) -> DiskError {
    DiskError::CapacityTooLarge {
        capacity,
        max: MAX_CAPACITY,
    }
}

/// The file name the descriptor names its extent by (VirtualBox writes the image's own file
/// name; with the descriptor embedded, readers use the file itself whatever the name).
fn extent_name(path: &Path) -> Result<&str, DiskError> {
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
    if name.len() > MAX_EXTENT_NAME {
        return Err(invalid("the file name is too long for the VMDK descriptor"));
    }
    Ok(name)
}

/// Where everything goes, in sectors.
#[derive(Debug, Clone, Copy)]
struct Layout {
    capacity_sectors: u64,
    grain_tables: u64,
    rgd_offset: u64,
    rgt_offset: u64,
    gd_offset: u64,
    gt_offset: u64,
    overhead: u64,
}

impl Layout {
    fn new(capacity_bytes: u64) -> Self {
        let capacity_sectors = capacity_bytes / SECTOR_SIZE;
        let grains = capacity_sectors.div_ceil(GRAIN_SECTORS);
        let grain_tables = grains.div_ceil(GTES_PER_GT);
        let gd_sectors = (grain_tables * 4).div_ceil(SECTOR_SIZE);
        let tables_sectors = grain_tables * GT_SECTORS;
        let rgd_offset = DESCRIPTOR_OFFSET + DESCRIPTOR_SECTORS;
        let rgt_offset = rgd_offset + gd_sectors;
        let gd_offset = rgt_offset + tables_sectors;
        let gt_offset = gd_offset + gd_sectors;
        let overhead = (gt_offset + tables_sectors).next_multiple_of(GRAIN_SECTORS);
        Self {
            capacity_sectors,
            grain_tables,
            rgd_offset,
            rgt_offset,
            gd_offset,
            gt_offset,
            overhead,
        }
    }
}

fn image<'a>(
    capacity: u64,
    head: &'a [u8],
    extent_name: &str,
) -> Result<SparseImage<'a>, DiskError> {
    let layout = Layout::new(capacity);
    // A sector number stored in a 32-bit field; MAX_CAPACITY keeps every one in range.
    let u32_of = |value: u64| u32::try_from(value).map_err(|_| too_large(capacity));

    // Data grains, allocated in order right after the metadata.
    let grains: Vec<(u64, &[u8])> = nonzero_grains(head).collect();
    let mut image =
        SparseImage::new((layout.overhead + grains.len() as u64 * GRAIN_SECTORS) * SECTOR_SIZE);

    image.put(0, header(&layout).to_vec());
    image.put(
        DESCRIPTOR_OFFSET * SECTOR_SIZE,
        descriptor(&layout, extent_name).into_bytes(),
    );

    // Both grain directories point at preallocated grain tables.
    for (gd_offset, first_table) in [
        (layout.rgd_offset, layout.rgt_offset),
        (layout.gd_offset, layout.gt_offset),
    ] {
        let mut directory = vec![0u8; layout.grain_tables as usize * 4];
        for table in 0..layout.grain_tables {
            let entry = u32_of(first_table + table * GT_SECTORS)?;
            put_u32(&mut directory, table as usize * 4, entry);
        }
        image.put(gd_offset * SECTOR_SIZE, directory);
    }

    // Grain table entries for the allocated grains, in identical primary and redundant copies.
    let mut table_index = None;
    let mut table = vec![0u8; (GTES_PER_GT * 4) as usize];
    let flush = |image: &mut SparseImage<'a>, index: u64, table: &mut Vec<u8>| {
        for first_table in [layout.rgt_offset, layout.gt_offset] {
            image.put(
                (first_table + index * GT_SECTORS) * SECTOR_SIZE,
                table.clone(),
            );
        }
        table.fill(0);
    };
    for (slot, (grain, data)) in grains.iter().enumerate() {
        let sector = layout.overhead + slot as u64 * GRAIN_SECTORS;
        let index = grain / GTES_PER_GT;
        if let Some(previous) = table_index
            && previous != index
        {
            flush(&mut image, previous, &mut table);
        }
        table_index = Some(index);
        put_u32(
            &mut table,
            (grain % GTES_PER_GT) as usize * 4,
            u32_of(sector)?,
        );
        image.put(sector * SECTOR_SIZE, *data);
    }
    if let Some(index) = table_index {
        flush(&mut image, index, &mut table);
    }
    Ok(image)
}

/// The 512-byte `SparseExtentHeader`.
fn header(layout: &Layout) -> [u8; 512] {
    let mut h = [0u8; 512];
    put_u32(&mut h, 0, MAGIC);
    put_u32(&mut h, 4, VERSION);
    put_u32(&mut h, 8, FLAGS);
    // The exact capacity (VirtualBox rounds its own images up to a grain; the grain directory
    // has the same size either way, and qemu reports this value as the virtual size).
    put_u64(&mut h, 12, layout.capacity_sectors);
    put_u64(&mut h, 20, GRAIN_SECTORS);
    put_u64(&mut h, 28, DESCRIPTOR_OFFSET);
    put_u64(&mut h, 36, DESCRIPTOR_SECTORS);
    put_u32(&mut h, 44, GTES_PER_GT as u32);
    put_u64(&mut h, 48, layout.rgd_offset);
    put_u64(&mut h, 56, layout.gd_offset);
    put_u64(&mut h, 64, layout.overhead);
    h[72] = 0; // uncleanShutdown
    h[73..77].copy_from_slice(&NEWLINE_CHECK);
    put_u16(&mut h, 77, 0); // compressAlgorithm: none
    h
}

/// The embedded descriptor, with the keys and spelling VirtualBox writes.
fn descriptor(layout: &Layout, extent_name: &str) -> String {
    let mut rng = rand::rng();
    // 0xffffffff means "no parent" and 0xfffffffe "no content id" to some tools.
    let cid: u32 = rng.random_range(0..0xffff_fffe);
    let nil = "00000000-0000-0000-0000-000000000000";
    // IDE geometry as VirtualBox computes it: 16 heads, 63 sectors, at most 16383 cylinders.
    let cylinders = (layout.capacity_sectors / (16 * 63)).min(16383);
    let text = format!(
        "# Disk DescriptorFile\n\
         version=1\n\
         CID={cid:08x}\n\
         parentCID=ffffffff\n\
         createType=\"monolithicSparse\"\n\
         \n\
         # Extent description\n\
         RW {sectors} SPARSE \"{extent_name}\"\n\
         \n\
         # The disk Data Base \n\
         #DDB\n\
         \n\
         ddb.virtualHWVersion = \"4\"\n\
         ddb.adapterType=\"ide\"\n\
         ddb.uuid.image=\"{image}\"\n\
         ddb.uuid.parent=\"{nil}\"\n\
         ddb.uuid.modification=\"{modification}\"\n\
         ddb.uuid.parentmodification=\"{nil}\"\n\
         ddb.geometry.cylinders=\"{cylinders}\"\n\
         ddb.geometry.heads=\"16\"\n\
         ddb.geometry.sectors=\"63\"\n",
        sectors = layout.capacity_sectors,
        image = Uuid::random(),
        modification = Uuid::random(),
    );
    debug_assert!((text.len() as u64) < DESCRIPTOR_SECTORS * SECTOR_SIZE);
    text
}

/// An image as the byte ranges that are not zero, and the file length.
struct SparseImage<'a> {
    pieces: Vec<Piece<'a>>,
    len: u64,
}

struct Piece<'a> {
    offset: u64,
    bytes: Cow<'a, [u8]>,
}

impl<'a> SparseImage<'a> {
    fn new(len: u64) -> Self {
        Self {
            pieces: Vec::new(),
            len,
        }
    }

    fn put(&mut self, offset: u64, bytes: impl Into<Cow<'a, [u8]>>) {
        let bytes = bytes.into();
        debug_assert!(offset + bytes.len() as u64 <= self.len);
        if !bytes.is_empty() {
            self.pieces.push(Piece { offset, bytes });
        }
    }

    /// Sets the file length first (everything not written reads as zeros, and stays a hole on
    /// file systems with sparse files), writes the pieces, and flushes the file to disk.
    fn write_to(&self, file: &mut File) -> io::Result<()> {
        file.set_len(self.len)?;
        for piece in &self.pieces {
            file.seek(SeekFrom::Start(piece.offset))?;
            file.write_all(&piece.bytes)?;
        }
        file.sync_all()
    }
}

/// The grains of `head` that hold a non-zero byte, with their index, trimmed of their trailing
/// zeros.
fn nonzero_grains(head: &[u8]) -> impl Iterator<Item = (u64, &[u8])> {
    head.chunks(GRAIN_BYTES as usize)
        .enumerate()
        .filter_map(|(index, chunk)| {
            let end = chunk.iter().rposition(|&b| b != 0)? + 1;
            Some((index as u64, &chunk[..end]))
        })
}

fn put_u16(buf: &mut [u8], at: usize, value: u16) {
    buf[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

fn put_u32(buf: &mut [u8], at: usize, value: u32) {
    buf[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

fn put_u64(buf: &mut [u8], at: usize, value: u64) {
    buf[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

/// A random (version 4) UUID, written in the descriptor in its usual text form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Uuid([u8; 16]);

impl Uuid {
    fn random() -> Self {
        let mut bytes = [0u8; 16];
        rand::rng().fill(&mut bytes[..]);
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        Self(bytes)
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

    // ----- a small VMDK reader, independent of the writer's code paths -----

    /// A grain, as the reader knows it (not the writer's constant).
    const GRAIN: u64 = 128 * 512;

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
        overhead: u64,
        gd: Vec<u32>,
        rgd: Vec<u32>,
    }

    impl Image {
        fn open(path: &Path) -> Image {
            let file = File::open(path).expect("open image");
            let file_len = file.metadata().expect("metadata").len();
            let mut image = Image {
                file,
                file_len,
                capacity: 0,
                overhead: 0,
                gd: Vec::new(),
                rgd: Vec::new(),
            };
            image.parse();
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

        fn parse(&mut self) {
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
            self.overhead = overhead;
            self.gd = gd;
            self.rgd = rgd;
        }

        /// Where grain `index` is in the file, if allocated.
        fn grain_offset(&self, index: u64) -> Option<u64> {
            let (table, entry) = ((index / 512) as usize, (index % 512) * 4);
            let gte = le32(
                &self.bytes_at(u64::from(self.gd[table]) * 512 + entry, 4),
                0,
            );
            let rgte = le32(
                &self.bytes_at(u64::from(self.rgd[table]) * 512 + entry, 4),
                0,
            );
            assert_eq!(
                gte, rgte,
                "grain {index}: grain table and redundant copy differ"
            );
            let sector = u64::from(gte);
            (sector != 0).then(|| self.data_grain(sector))
        }

        /// The file offset of the data grain at `sector`, which must be one of the grains after
        /// `overHead`.
        fn data_grain(&self, sector: u64) -> u64 {
            assert!(sector >= self.overhead && (sector - self.overhead).is_multiple_of(128));
            assert!((sector + 128) * 512 <= self.file_len);
            sector * 512
        }

        fn read(&self, offset: u64, len: u64) -> Vec<u8> {
            assert!(offset + len <= self.capacity);
            let mut out = Vec::with_capacity(len as usize);
            let mut at = offset;
            while at < offset + len {
                let within = at % GRAIN;
                let n = (GRAIN - within).min(offset + len - at);
                match self.grain_offset(at / GRAIN) {
                    None => out.resize(out.len() + n as usize, 0),
                    Some(base) => out.extend(self.bytes_at(base + within, n)),
                }
                at += n;
            }
            out
        }

        /// The allocated grains, checking that no two share file space (reads every grain table
        /// whole; entries past the capacity must be zero).
        fn allocated_grains(&self) -> usize {
            let grains = self.capacity.div_ceil(GRAIN);
            let mut offsets = Vec::new();
            for (t, (&gt, &rgt)) in self.gd.iter().zip(&self.rgd).enumerate() {
                let table = self.bytes_at(u64::from(gt) * 512, 2048);
                assert!(
                    table == self.bytes_at(u64::from(rgt) * 512, 2048),
                    "table {t}"
                );
                for e in 0..512 {
                    let sector = u64::from(le32(&table, e * 4));
                    if (t * 512 + e) as u64 >= grains {
                        assert_eq!(sector, 0, "grain past the capacity");
                    } else if sector != 0 {
                        offsets.push(self.data_grain(sector));
                    }
                }
            }
            let distinct: std::collections::HashSet<_> = offsets.iter().collect();
            assert_eq!(distinct.len(), offsets.len(), "a grain is used twice");
            assert_eq!(
                offsets.len() as u64,
                (self.file_len - self.overhead * 512) / GRAIN,
                "every grain in the file is referenced"
            );
            offsets.len()
        }
    }

    fn expected(head: &[u8], offset: u64, len: u64) -> Vec<u8> {
        (offset..offset + len)
            .map(|i| head.get(i as usize).copied().unwrap_or(0))
            .collect()
    }

    fn nonzero_chunks(head: &[u8]) -> usize {
        head.chunks(GRAIN as usize)
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

    /// The first `mib` MiB of `image` as qemu-img reads them, through a raw copy at `raw`.
    fn qemu_read_mib(qemu: &str, image: &Path, raw: &Path, mib: u64) -> Vec<u8> {
        run(Command::new(qemu).args([
            "dd",
            "-f",
            "vmdk",
            "-O",
            "raw",
            &format!("if={}", image.display()),
            &format!("of={}", raw.display()),
            "bs=1M",
            &format!("count={mib}"),
        ]));
        fs::read(raw).expect("read raw")
    }

    #[test]
    fn vmdk_images_pass_qemu_img() {
        let Some(qemu) = qemu_img() else { return };
        let dir = tempfile::tempdir().expect("tempdir");
        let head = userdata_tar(&rsa2048_key()).expect("tar");
        let sizes = [
            64 * MIB,
            20_000 * MIB,
            127 * 64 * KIB,           // an odd number of grains
            127 * 64 * KIB + 7 * 512, // and a partial last grain
        ];
        for capacity in sizes {
            let image = dir.path().join(format!("disk-{capacity}.vmdk"));
            write_vmdk(&image, capacity, &head).expect("write image");
            let image_arg = image.to_str().expect("utf8 path");

            run(Command::new(qemu).args(["check", "-f", "vmdk", image_arg]));

            let info =
                run(Command::new(qemu).args(["info", "--output=json", "-f", "vmdk", image_arg]));
            let virtual_size = top_level_value(&info, "virtual-size");
            assert_eq!(virtual_size, capacity.to_string(), "{info}");
            assert_eq!(top_level_value(&info, "format"), "\"vmdk\"", "{info}");

            let raw = dir.path().join(format!("disk-{capacity}.raw"));
            let bytes = qemu_read_mib(qemu, &image, &raw, 2);
            assert_eq!(bytes.len() as u64, (2 * MIB).min(capacity));
            assert_eq!(bytes, expected(&head, 0, bytes.len() as u64), "{capacity}");

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
                "{capacity}: {} bytes",
                metadata.len()
            );
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                assert!(metadata.blocks() * 512 < 4 * MIB, "{capacity}");
            }

            // Our reader agrees, and only the tar's grain is allocated.
            let parsed = Image::open(&image);
            assert_eq!(parsed.capacity, capacity);
            assert_eq!(parsed.allocated_grains(), 1);
        }

        // A head of many grains, with all-zero ones among them, crossing a grain table boundary
        // (512 grains = 32 MiB) and ending inside a grain.
        let head = make_head(
            34 * MIB as usize + 12_345,
            7,
            5 * MIB as usize,
            3 * MIB as usize,
        );
        let image = dir.path().join("big-head.vmdk");
        write_vmdk(&image, 100 * MIB, &head).expect("write image");
        let image_arg = image.to_str().expect("utf8 path");
        run(Command::new(qemu).args(["check", "-f", "vmdk", image_arg]));
        let bytes = qemu_read_mib(qemu, &image, &dir.path().join("big-head.raw"), 40);
        assert!(bytes == expected(&head, 0, 40 * MIB), "big head differs");
        let parsed = Image::open(&image);
        assert_eq!(parsed.allocated_grains(), nonzero_chunks(&head));
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn bad_capacities_are_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("disk.vmdk");
        let err = write_vmdk(&path, 64 * MIB + 100, b"").expect_err("odd");
        assert!(
            matches!(err, DiskError::CapacityNotSectorMultiple { capacity } if capacity == 64 * MIB + 100),
            "{err}"
        );
        let err = write_vmdk(&path, 0, b"").expect_err("zero");
        assert!(matches!(err, DiskError::ZeroCapacity), "{err}");
        let head = vec![1u8; 1025];
        let err = write_vmdk(&path, 1024, &head).expect_err("head");
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
        let err = write_vmdk(&path, MAX_CAPACITY + 512, b"").expect_err("huge");
        assert!(matches!(err, DiskError::CapacityTooLarge { .. }), "{err}");
        assert!(!path.exists());
        let err = write_vmdk(&dir.path().join("a\"b.vmdk"), 64 * MIB, b"").expect_err("quote");
        assert!(matches!(err, DiskError::InvalidPath { .. }), "{err}");
        let err = write_vmdk(&dir.path().join("missing-folder/disk.vmdk"), 64 * MIB, b"")
            .expect_err("no folder");
        assert!(matches!(err, DiskError::Io { .. }), "{err}");
        assert_eq!(fs::read_dir(dir.path()).expect("read dir").count(), 0);
    }

    #[test]
    fn largest_capacity_fits_the_grain_tables() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("max.vmdk");
        let head = [0xa5u8; 1000];
        write_vmdk(&path, MAX_CAPACITY, &head).expect("max");
        let image = Image::open(&path);
        assert_eq!(image.capacity, MAX_CAPACITY);
        assert_eq!(image.read(0, 2000), expected(&head, 0, 2000));
        assert_eq!(image.read(MAX_CAPACITY - 4096, 4096), vec![0; 4096]);
    }
    // ----- round trip through the reader -----

    /// A head of `len` pseudo-random bytes with a zero run, so that some grains are all zeros.
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
            let path = dir.path().join("disk.vmdk");
            write_vmdk(&path, capacity, &head).expect("write");
            let image = Image::open(&path);
            prop_assert_eq!(image.capacity, capacity);
            prop_assert_eq!(image.allocated_grains(), nonzero_chunks(&head));
            // The head and what follows it, up to 1 MiB past it.
            let span = (len as u64 + MIB).min(capacity);
            prop_assert!(image.read(0, span) == expected(&head, 0, span));
            // The end of the disk.
            let tail = capacity.min(3 * 64 * KIB);
            let tail_at = capacity - tail;
            prop_assert!(image.read(tail_at, tail) == expected(&head, tail_at, tail));
            prop_assert!(leftovers(dir.path()).is_empty());
        }
    }
}
