//! Disk image checks as VirtualBox's VD backends make them when a medium is opened.
//!
//! VirtualBox picks a medium's format by asking each backend to probe the file (VD.cpp
//! `VDGetFormat`). A backend whose probe fails with an "invalid header" status is skipped; one
//! that fails with any other status (an unsupported version, a missing descriptor key) is chosen
//! all the same, and the medium then cannot be used ("can't be used as the requested device
//! type"). When no backend claims the file, OpenMedium fails with "Could not get the storage
//! format of the medium" (VERR_NOT_SUPPORTED).
//!
//! The checks follow VMDK.cpp (`vmdkValidateHeader`, `vmdkReadBinaryMetaExtent`,
//! `vmdkDescriptorReadSparse`, `vmdkPreprocessDescriptor`, `vmdkParseDescriptor`,
//! `vmdkReadMetaExtent`) and VDI.cpp's pre-header check, with their messages. VMware's own
//! specification asks more than VirtualBox enforces (a capacity that is a multiple of the grain):
//! [`spec_findings`] lists those separately, since VirtualBox opens such an image.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// `VMDK_SPARSE_MAGICNUMBER`, the bytes `KDMV` read little-endian.
const SPARSE_MAGIC: u32 = 0x564d_444b;
/// `VMDK_SPARSE_DESCRIPTOR_SIZE_MAX` in sectors (6.0 and later).
const DESCRIPTOR_SECTORS_MAX: u64 = 20480;
/// `VMDK_GT_CACHELINE_SIZE`: the fewest grain table entries VirtualBox caches per table.
const GT_CACHELINE: u32 = 128;
/// `VMDK_GD_AT_END`: the grain directory lies in a footer.
const GD_AT_END: u64 = u64::MAX;
/// `VDI_IMAGE_SIGNATURE`, at offset 0x40 of a VDI file.
const VDI_SIGNATURE: u32 = 0xbeda_107f;

/// How a backend's probe ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// The backend claims the file.
    Claimed,
    /// An "invalid header" status: the backend is skipped. `why` is the backend's message.
    NotMine { why: String },
    /// Any other failure: the backend is chosen, and the medium cannot be used.
    Unusable { why: String },
}

/// The fields of a sparse extent header vswarm and VirtualBox care about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SparseHeader {
    pub version: u32,
    pub flags: u32,
    /// Sectors.
    pub capacity: u64,
    /// Sectors per grain.
    pub grain_size: u64,
    pub descriptor_offset: u64,
    pub descriptor_size: u64,
    pub gtes_per_gt: u32,
    pub rgd_offset: u64,
    pub gd_offset: u64,
    pub overhead: u64,
    pub eol_chars: [u8; 4],
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn le64(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

impl SparseHeader {
    fn parse(b: &[u8]) -> Option<(u32, SparseHeader)> {
        if b.len() < 79 {
            return None;
        }
        Some((
            le32(b, 0),
            SparseHeader {
                version: le32(b, 4),
                flags: le32(b, 8),
                capacity: le64(b, 12),
                grain_size: le64(b, 20),
                descriptor_offset: le64(b, 28),
                descriptor_size: le64(b, 36),
                gtes_per_gt: le32(b, 44),
                rgd_offset: le64(b, 48),
                gd_offset: le64(b, 56),
                overhead: le64(b, 64),
                eol_chars: [b[73], b[74], b[75], b[76]],
            },
        ))
    }
}

/// The VMDK backend's probe of `path`, as VirtualBox's code runs it.
pub fn probe_vmdk(path: &Path) -> std::io::Result<Probe> {
    let name = path.display().to_string();
    let not_mine = |why: String| Ok(Probe::NotMine { why });
    let unusable = |why: String| Ok(Probe::Unusable { why });
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    let mut head = vec![0u8; 512];
    let n = read_up_to(&mut f, &mut head)?;
    head.truncate(n);
    let parsed = SparseHeader::parse(&head);
    let Some((magic, h)) = parsed.filter(|(m, _)| *m == SPARSE_MAGIC) else {
        // Not a sparse extent: VirtualBox reads the file as a text descriptor.
        return Ok(probe_text_descriptor(&head, len, &name));
    };
    debug_assert_eq!(magic, SPARSE_MAGIC);
    if h.version != 1 && h.version != 3 {
        return unusable(format!(
            "VMDK: incorrect version in sparse extent header in '{name}', not a VMDK 1.0/1.1 conforming file"
        ));
    }
    if h.flags & 1 != 0 && h.eol_chars != [b'\n', b' ', b'\r', b'\n'] {
        return not_mine(format!("VMDK: corrupted by CR/LF translation in '{name}'"));
    }
    if h.descriptor_size > DESCRIPTOR_SECTORS_MAX {
        return not_mine(format!(
            "VMDK: descriptor size out of bounds ({} vs {DESCRIPTOR_SECTORS_MAX}) '{name}'",
            h.descriptor_size
        ));
    }
    if h.descriptor_offset != 0 && h.descriptor_size == 0 {
        return not_mine(format!(
            "VMDK: inconsistent embedded descriptor config in '{name}'"
        ));
    }
    if h.gd_offset == GD_AT_END || h.rgd_offset == GD_AT_END {
        return not_mine(format!(
            "VMDK: cannot resolve grain directory offset in '{name}'"
        ));
    }
    let gd_size = u64::from(h.gtes_per_gt).saturating_mul(h.grain_size);
    if gd_size == 0 || gd_size > u64::from(u32::MAX) {
        return not_mine(format!("VMDK: incorrect grain directory size in '{name}'"));
    }
    if h.descriptor_offset == 0 || h.descriptor_size == 0 {
        return not_mine(format!(
            "VMDK: monolithic image without descriptor in '{name}'"
        ));
    }
    let start = h.descriptor_offset.saturating_mul(512);
    let size = h.descriptor_size.saturating_mul(512);
    if start.saturating_add(size) > len {
        return not_mine(format!("VMDK: read error for descriptor in '{name}'"));
    }
    let mut text = vec![0u8; size as usize];
    f.seek(SeekFrom::Start(start))?;
    f.read_exact(&mut text)?;
    if let Some(p) = check_descriptor(&text, &name) {
        return Ok(p);
    }
    if h.grain_size & (h.grain_size - 1) != 0 || h.grain_size < 8 {
        return not_mine(format!(
            "VMDK: invalid extent grain size {} in '{name}'",
            h.grain_size
        ));
    }
    if h.gtes_per_gt & (h.gtes_per_gt - 1) != 0 || h.gtes_per_gt < GT_CACHELINE {
        return not_mine(format!("VMDK: grain table cache size problem in '{name}'"));
    }
    let gd_end = |offset: u64| offset.saturating_mul(512) >= len;
    if h.gd_offset == 0 || gd_end(h.gd_offset) || (h.rgd_offset != 0 && gd_end(h.rgd_offset)) {
        return not_mine(format!(
            "VMDK: could not read grain directory in '{name}': VERR_EOF"
        ));
    }
    Ok(Probe::Claimed)
}

/// A descriptor file (not a sparse extent) read as text, as far as VirtualBox checks its shape.
fn probe_text_descriptor(head: &[u8], len: u64, name: &str) -> Probe {
    if len < 50 {
        return Probe::NotMine {
            why: format!("VMDK: descriptor in '{name}' is too short"),
        };
    }
    check_descriptor(head, name).unwrap_or(Probe::Claimed)
}

/// vmdkPreprocessDescriptor and vmdkParseDescriptor: the first line, then `version` and
/// `createType`. Returns the failed probe, or None when the descriptor is acceptable.
fn check_descriptor(text: &[u8], name: &str) -> Option<Probe> {
    let end = text.iter().position(|b| *b == 0).unwrap_or(text.len());
    let text = String::from_utf8_lossy(&text[..end]);
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("").trim_end();
    let starts = [
        "# Disk DescriptorFile",
        "# Disk Descriptor File",
        "#Disk Descriptor File",
        "#Disk DescriptorFile",
    ];
    if !starts.contains(&first) {
        return Some(Probe::NotMine {
            why: format!("VMDK: descriptor does not start as expected in '{name}'"),
        });
    }
    let value = |key: &str| {
        text.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
        })
    };
    match value("version") {
        None => {
            return Some(Probe::Unusable {
                why: format!("VMDK: error finding key 'version' in descriptor in '{name}'"),
            });
        }
        Some(v) if v != "1" => {
            return Some(Probe::Unusable {
                why: format!("VMDK: unsupported format version in descriptor in '{name}'"),
            });
        }
        Some(_) => {}
    }
    if value("createType").is_none() {
        return Some(Probe::Unusable {
            why: format!("VMDK: cannot get image type from descriptor in '{name}'"),
        });
    }
    None
}

/// The VDI backend's probe: the pre-header's signature, then its version.
pub fn probe_vdi(path: &Path) -> std::io::Result<Probe> {
    let name = path.display().to_string();
    let mut f = File::open(path)?;
    let mut head = vec![0u8; 0x48];
    let n = read_up_to(&mut f, &mut head)?;
    if n < 0x48 || le32(&head, 0x40) != VDI_SIGNATURE {
        return Ok(Probe::NotMine {
            why: format!("VDI: invalid pre-header in '{name}'"),
        });
    }
    let version = le32(&head, 0x44);
    if version >> 16 != 1 && version != 0x0000_0002 {
        return Ok(Probe::Unusable {
            why: format!(
                "VDI: unsupported major version {} in '{name}'",
                version >> 16
            ),
        });
    }
    Ok(Probe::Claimed)
}

/// What VMware's sparse extent specification asks and VirtualBox does not enforce.
pub fn spec_findings(path: &Path) -> std::io::Result<Vec<String>> {
    let mut f = File::open(path)?;
    let mut head = vec![0u8; 512];
    let n = read_up_to(&mut f, &mut head)?;
    head.truncate(n);
    let Some((SPARSE_MAGIC, h)) = SparseHeader::parse(&head) else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    if h.grain_size != 0 && h.capacity % h.grain_size != 0 {
        found.push(format!(
            "capacity {} sectors is not a multiple of the grain ({} sectors)",
            h.capacity, h.grain_size
        ));
    }
    if h.gtes_per_gt != 512 {
        found.push(format!(
            "{} grain table entries per table (the specification fixes 512)",
            h.gtes_per_gt
        ));
    }
    Ok(found)
}

/// The sparse extent header of `path`, if it has one.
pub fn sparse_header(path: &Path) -> std::io::Result<Option<SparseHeader>> {
    let mut f = File::open(path)?;
    let mut head = vec![0u8; 512];
    let n = read_up_to(&mut f, &mut head)?;
    head.truncate(n);
    Ok(SparseHeader::parse(&head)
        .filter(|(m, _)| *m == SPARSE_MAGIC)
        .map(|(_, h)| h))
}

fn read_up_to(f: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// The lab's check of an image a client wrote: refused when VirtualBox would not open it (with
/// the backend's message) or when it breaks the sparse extent specification in a way VirtualBox
/// tolerates (a writer's bug all the same). `storageattach` applies only VirtualBox's rules.
pub fn validate_image(path: &Path) -> Result<(), String> {
    let lower = path.to_string_lossy().to_ascii_lowercase();
    let probe = if lower.ends_with(".vdi") {
        probe_vdi(path)
    } else {
        probe_vmdk(path)
    }
    .map_err(|e| format!("{}: {e}", path.display()))?;
    match probe {
        Probe::Claimed => {}
        Probe::NotMine { why } | Probe::Unusable { why } => return Err(why),
    }
    let findings = spec_findings(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if findings.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}: against the VMDK specification: {}",
            path.display(),
            findings.join("; ")
        ))
    }
}
