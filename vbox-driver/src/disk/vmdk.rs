//! The VMDK writer, for the format docker-machine attached and vswarm attaches.
//!
//! The "monolithicSparse" hosted sparse extent of the VMware Virtual Disk Format 1.1, laid
//! out as VirtualBox lays it out: the 512-byte `SparseExtentHeader` at sector 0, the embedded
//! text descriptor at sectors 1..21, then the redundant grain directory, the redundant grain
//! tables (all preallocated), the grain directory and the grain tables, padded to a grain
//! boundary (`overHead`), then the data grains of 64 KiB. Grain tables are all zero except for
//! the entries of the grains `head` touches.

use rand::Rng;

use super::DiskError;
use super::sparse::{
    DiskFormat, SECTOR_SIZE, SparseImage, Uuid, nonzero_units, put_u16, put_u32, put_u64, to_u32,
};

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
