//! The dynamic VDI writer, for VirtualBox's own format. The driver attaches VMDK; VDI is the
//! second format the image tests (`tests/tests/strict.rs`) and the bench hold the writer to.
//!
//! VirtualBox's dynamic VDI 1.1: the pre-header and the 400-byte header, the block map at
//! 1 MiB and the data at the next 1 MiB boundary after the map (VirtualBox's `VDI_DATA_ALIGN`),
//! with 1 MiB blocks; unallocated blocks are `0xffffffff` in the map.

use super::DiskError;
use super::sparse::{
    DiskFormat, MIB, SECTOR_SIZE, SparseImage, Uuid, nonzero_units, put_u32, put_u64, to_u32,
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
