//! The boot2docker userdata disk, written by vswarm directly as a sparse VMDK or VDI image.
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
//! VirtualBox's sparse formats describe zeros by *not storing them*. So vswarm writes the image
//! itself: a header, the allocation tables, and only the grains (VMDK) or blocks (VDI) that the
//! tar touches. Whatever the capacity, that is a handful of writes done in about a millisecond,
//! and on a file system with sparse files the default 20 GB disk takes some tens of kilobytes
//! (the file length is about 3 MiB, mostly holes).
//!
//! # API
//!
//! - [`userdata_tar`] builds the boot2docker tar: deterministic ustar, the magic member first,
//!   then `.ssh/` and the two key files, all within the 4 KiB the guest reads.
//! - [`write_sparse_disk`] writes a new image of a given capacity whose first bytes are any
//!   `head` (normally that tar) and whose remaining bytes read as zeros, in either
//!   [`DiskFormat`].
//!
//! # Layouts
//!
//! VMDK: the "monolithicSparse" hosted sparse extent of the VMware Virtual Disk Format 1.1, laid
//! out as VirtualBox lays it out: the 512-byte `SparseExtentHeader` at sector 0, the embedded
//! text descriptor at sectors 1..21, then the redundant grain directory, the redundant grain
//! tables (all preallocated), the grain directory and the grain tables, padded to a grain
//! boundary (`overHead`), then the data grains of 64 KiB. Grain tables are all zero except for
//! the entries of the grains `head` touches.
//!
//! VDI: VirtualBox's dynamic VDI 1.1: the pre-header and the 400-byte header, the block map at
//! 1 MiB and the data at the next 1 MiB boundary after the map (VirtualBox's `VDI_DATA_ALIGN`),
//! with 1 MiB blocks; unallocated blocks are `0xffffffff` in the map.
//!
//! In both formats a grain or block of `head` that is entirely zero is not allocated (it reads as
//! zeros anyway), and zero ranges inside the image are left as holes in the file rather than
//! written.
//!
//! # Safety of the result
//!
//! The image is written to a temporary file in the destination folder, flushed to disk, then
//! published under its final name without ever replacing an existing file (a hard link, which
//! fails if the name exists, or a rename after a check where the file system has no hard links).
//! On any error the temporary file is removed, so no half-written image is ever left behind.

use std::borrow::Cow;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rand::Rng;

/// Name and content of the first member of the userdata tar; boot2docker formats a disk whose
/// first bytes are this string.
pub const FORMAT_ME_MAGIC: &str = "boot2docker, please format-me";

/// How many bytes of the disk boot2docker copies to `userdata.tar` before formatting it
/// (`dd bs=4096 count=1` in its `autoformat` script). Everything the guest must extract has to
/// fit in this window.
pub const GUEST_USERDATA_WINDOW: usize = 4096;

/// Sector size of both image formats.
pub const SECTOR_SIZE: u64 = 512;

/// Size of a tar block.
const TAR_BLOCK: usize = 512;

/// The tar members must end one tar block before the end of the guest's window, so that the
/// guest's copy still holds a zero block marking the end of the archive.
const TAR_MEMBERS_LIMIT: usize = GUEST_USERDATA_WINDOW - TAR_BLOCK;

/// Fixed modification time of every tar member (2020-01-01T00:00:00Z), for reproducible output
/// (an mtime of 0 makes some tar programs warn about an "implausibly old time stamp").
const TAR_MTIME: u64 = 1_577_836_800;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;
const TIB: u64 = 1024 * GIB;

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

    /// The capacity exceeds what the format can address.
    #[error("the disk capacity ({capacity} bytes) exceeds the {format} limit of {max} bytes")]
    CapacityTooLarge {
        /// The requested format.
        format: DiskFormat,
        /// The requested capacity in bytes.
        capacity: u64,
        /// The largest capacity this module writes in that format.
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
    #[error("{action} {}: {source}", path.display())]
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
    #[error("cannot build the userdata tar: {0}")]
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

// ------------------------------------------------------------------------------------------------
// The userdata tar
// ------------------------------------------------------------------------------------------------

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

// ------------------------------------------------------------------------------------------------
// Sparse images
// ------------------------------------------------------------------------------------------------

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
    ensure_absent(path)?;
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let (temp, mut file) = TempImage::create(folder)?;
    image.write_to(&mut file).map_err(|source| DiskError::Io {
        action: "cannot write the temporary image",
        path: temp.path.clone(),
        source,
    })?;
    // Closed before it is linked or renamed (Windows cannot rename an open file).
    drop(file);
    temp.publish(path)
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

fn ensure_absent(path: &Path) -> Result<(), DiskError> {
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

/// The chunks of `head` of `unit` bytes that hold a non-zero byte, with their index, trimmed of
/// their trailing zeros.
fn nonzero_units(head: &[u8], unit: u64) -> impl Iterator<Item = (u64, &[u8])> {
    head.chunks(unit as usize)
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

/// A value stored in a 32-bit field; the capacity limits keep every such value in range.
fn to_u32(value: u64, format: DiskFormat, capacity: u64) -> Result<u32, DiskError> {
    u32::try_from(value).map_err(|_| DiskError::CapacityTooLarge {
        format,
        capacity,
        max: format.max_capacity(),
    })
}

/// A random (version 4) UUID.
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

    /// The bytes as VirtualBox stores an `RTUUID` on disk: the first three fields little-endian.
    fn to_rtuuid(self) -> [u8; 16] {
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

/// The VMDK "monolithicSparse" writer.
mod vmdk {
    use super::{
        DiskError, DiskFormat, SECTOR_SIZE, SparseImage, Uuid, nonzero_units, put_u16, put_u32,
        put_u64, to_u32,
    };
    use rand::Rng;

    pub(super) const MAGIC: u32 = 0x564d_444b; // "KDMV" on disk
    pub(super) const VERSION: u32 = 1;
    /// Bit 0: the newline-detection characters are valid; bit 1: redundant grain tables exist.
    pub(super) const FLAGS: u32 = 0b11;
    pub(super) const GRAIN_SECTORS: u64 = 128;
    pub(super) const GRAIN_BYTES: u64 = GRAIN_SECTORS * SECTOR_SIZE;
    pub(super) const GTES_PER_GT: u64 = 512;
    pub(super) const GT_SECTORS: u64 = GTES_PER_GT * 4 / SECTOR_SIZE;
    pub(super) const DESCRIPTOR_OFFSET: u64 = 1;
    pub(super) const DESCRIPTOR_SECTORS: u64 = 20;
    pub(super) const NEWLINE_CHECK: [u8; 4] = *b"\n \r\n";
    /// Longest extent file name accepted, leaving the descriptor (20 sectors) plenty of room.
    pub(super) const MAX_EXTENT_NAME: usize = 1024;

    /// Where everything goes, in sectors.
    #[derive(Debug, Clone, Copy)]
    pub(super) struct Layout {
        pub capacity_sectors: u64,
        pub grain_tables: u64,
        pub rgd_offset: u64,
        pub rgt_offset: u64,
        pub gd_offset: u64,
        pub gt_offset: u64,
        pub overhead: u64,
    }

    impl Layout {
        pub fn new(capacity_bytes: u64) -> Self {
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

    pub(super) fn image<'a>(
        capacity: u64,
        head: &'a [u8],
        extent_name: &str,
    ) -> Result<SparseImage<'a>, DiskError> {
        let layout = Layout::new(capacity);
        let u32_of = |value: u64| to_u32(value, DiskFormat::Vmdk, capacity);

        // Data grains, allocated in order right after the metadata.
        let grains: Vec<(u64, &[u8])> = nonzero_units(head, GRAIN_BYTES).collect();
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
}

/// The dynamic VDI writer.
mod vdi {
    use super::{
        DiskError, DiskFormat, MIB, SECTOR_SIZE, SparseImage, Uuid, nonzero_units, put_u32,
        put_u64, to_u32,
    };

    pub(super) const PRE_HEADER_TEXT: &[u8] = b"<<< Oracle VM VirtualBox Disk Image >>>\n";
    pub(super) const SIGNATURE: u32 = 0xbeda_107f;
    /// Version 1.1, as `major << 16 | minor`.
    pub(super) const VERSION: u32 = 0x0001_0001;
    /// Size of the pre-header (64 bytes of text, signature, version).
    pub(super) const PRE_HEADER_BYTES: u64 = 72;
    /// `sizeof(VDIHEADER1PLUS)`.
    pub(super) const HEADER_BYTES: u32 = 400;
    /// `VDI_IMAGE_TYPE_NORMAL`: dynamically allocated.
    pub(super) const TYPE_DYNAMIC: u32 = 1;
    pub(super) const BLOCK_BYTES: u64 = MIB;
    /// VirtualBox's `VDI_DATA_ALIGN`, for both the block map and the data.
    pub(super) const DATA_ALIGN: u64 = MIB;
    pub(super) const BLOCK_FREE: u32 = u32::MAX;

    pub(super) fn image(capacity: u64, head: &[u8]) -> Result<SparseImage<'_>, DiskError> {
        let u32_of = |value: u64| to_u32(value, DiskFormat::Vdi, capacity);
        let blocks = capacity.div_ceil(BLOCK_BYTES);
        let off_blocks = (PRE_HEADER_BYTES + u64::from(HEADER_BYTES)).next_multiple_of(DATA_ALIGN);
        let off_data = (off_blocks + blocks * 4).next_multiple_of(DATA_ALIGN);
        let allocated: Vec<(u64, &[u8])> = nonzero_units(head, BLOCK_BYTES).collect();
        let mut image = SparseImage::new(off_data + allocated.len() as u64 * BLOCK_BYTES);

        let mut h = vec![0u8; (PRE_HEADER_BYTES + u64::from(HEADER_BYTES)) as usize];
        h[..PRE_HEADER_TEXT.len()].copy_from_slice(PRE_HEADER_TEXT);
        put_u32(&mut h, 64, SIGNATURE);
        put_u32(&mut h, 68, VERSION);
        put_u32(&mut h, 72, HEADER_BYTES);
        put_u32(&mut h, 76, TYPE_DYNAMIC);
        put_u32(&mut h, 80, 0); // flags
        // 84..340: comment, empty.
        put_u32(&mut h, 340, u32_of(off_blocks)?);
        put_u32(&mut h, 344, u32_of(off_data)?);
        // 348..364: legacy geometry, "not calculated" as VirtualBox writes it, 512-byte sectors.
        put_u32(&mut h, 360, SECTOR_SIZE as u32);
        // 364: unused (was the BIOS translation mode).
        put_u64(&mut h, 368, capacity);
        put_u32(&mut h, 376, BLOCK_BYTES as u32);
        put_u32(&mut h, 380, 0); // extra bytes per block
        put_u32(&mut h, 384, u32_of(blocks)?);
        put_u32(&mut h, 388, u32_of(allocated.len() as u64)?);
        h[392..408].copy_from_slice(&Uuid::random().to_rtuuid()); // creation
        h[408..424].copy_from_slice(&Uuid::random().to_rtuuid()); // modification
        // 424..456: linkage and parent modification UUIDs, nil (no parent).
        // 456..472: logical geometry, "not calculated", 512-byte sectors.
        put_u32(&mut h, 468, SECTOR_SIZE as u32);
        image.put(0, h);

        let mut map = BLOCK_FREE.to_le_bytes().repeat(blocks as usize);
        for (index, (block, data)) in allocated.iter().enumerate() {
            put_u32(&mut map, *block as usize * 4, u32_of(index as u64)?);
            image.put(off_data + index as u64 * BLOCK_BYTES, *data);
        }
        image.put(off_blocks, map);
        Ok(image)
    }
}

/// A temporary image file in the destination folder, removed on drop unless published by rename.
struct TempImage {
    path: PathBuf,
    remove_on_drop: bool,
}

impl TempImage {
    fn create(folder: &Path) -> Result<(Self, File), DiskError> {
        let suffix: u64 = rand::rng().random();
        let path = folder.join(format!(".vswarm-disk-{suffix:016x}.tmp"));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        // Private from creation: after the first boot the disk holds the node's TLS and SSH
        // host keys (and a manager's swarm CA key).
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path).map_err(|source| DiskError::Io {
            action: "cannot create the temporary image",
            path: path.clone(),
            source,
        })?;
        let temp = Self {
            path,
            remove_on_drop: true,
        };
        Ok((temp, file))
    }

    /// Gives the complete image its final name, never replacing an existing file.
    fn publish(mut self, destination: &Path) -> Result<(), DiskError> {
        // A hard link fails if the destination exists, atomically; the temporary name is then
        // removed on drop.
        match fs::hard_link(&self.path, destination) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                Err(DiskError::AlreadyExists {
                    path: destination.to_owned(),
                })
            }
            Err(_) => {
                // File systems without hard links (FAT, some network and shared folders):
                // check, then rename.
                ensure_absent(destination)?;
                fs::rename(&self.path, destination).map_err(|source| DiskError::Io {
                    action: "cannot rename the temporary image to",
                    path: destination.to_owned(),
                    source,
                })?;
                self.remove_on_drop = false;
                Ok(())
            }
        }
    }
}

impl Drop for TempImage {
    fn drop(&mut self) {
        if self.remove_on_drop
            && let Err(err) = fs::remove_file(&self.path)
            && err.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), %err, "cannot remove a temporary disk image");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::process::Command;

    /// A key the size of an RSA 2048 OpenSSH public key.
    fn rsa2048_key() -> String {
        let body: String = (0..372)
            .map(|i| {
                let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
                alphabet[(i * 7 + 3) % 64] as char
            })
            .collect();
        format!("ssh-rsa AAAAB3NzaC1yc2E{body} vswarm@test")
    }

    const MEMBERS: [&str; 4] = [
        FORMAT_ME_MAGIC,
        ".ssh/",
        ".ssh/authorized_keys",
        ".ssh/authorized_keys2",
    ];

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

    fn leftovers(dir: &Path) -> Vec<String> {
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

    // ----- the tar -----

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

    // ----- errors -----

    #[test]
    fn existing_file_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().expect("tempdir");
        for format in [DiskFormat::Vmdk, DiskFormat::Vdi] {
            let path = dir.path().join(format!("taken.{}", format.extension()));
            fs::write(&path, b"precious").expect("write");
            let err = write_sparse_disk(&path, format, 64 * MIB, b"head").expect_err("exists");
            assert!(matches!(err, DiskError::AlreadyExists { .. }), "{err}");
            assert_eq!(fs::read(&path).expect("read"), b"precious");
        }
        assert!(leftovers(dir.path()).is_empty());
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
