//! Media: createmedium, convertfromraw, closemedium, and opening a medium for storageattach.
//!
//! Disk images are real files in VirtualBox's formats, written by `qemu-img` (monolithic sparse
//! VMDK, dynamic VDI), so whatever a client writes can be read back the way VirtualBox would.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::errors::{
    Context, NS_ERROR_FAILURE, Outcome, SimResult, Syntax, VBOX_E_FILE_ERROR, VBOX_E_IPRT_ERROR,
    VBOX_E_OBJECT_IN_USE, VBoxError, com_error, plain_error, progress_error,
};
use super::getopt::{ArgsExt, Spec};
use super::state::{Medium, Registry, absolute};
use super::vm::PROGRESS;
use super::vmdk;
use super::{Sim, internal};

/// The folder holding a disk's guest-side state (what the guest formatted and wrote on it).
pub fn guest_disk_state(sim: &Sim, medium_uuid: &str) -> PathBuf {
    sim.home.join("vboxsim-disks").join(medium_uuid)
}

pub fn remove_guest_disk_state(sim: &Sim, medium_uuid: &str) {
    let _ = fs::remove_dir_all(guest_disk_state(sim, medium_uuid));
}

/// What VDGetFormat makes of a file: a backend's format, a backend that claimed the file but
/// cannot use it, or none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detected {
    Format(&'static str),
    /// The chosen backend failed with a status other than "invalid header".
    Unusable,
    None,
}

/// The image format of a file, probed backend by backend in VirtualBox's order (VMDK, VDI, VHD,
/// ..., RAW by its suffix).
pub fn detect_format(path: &Path) -> std::io::Result<Detected> {
    match vmdk::probe_vmdk(path)? {
        vmdk::Probe::Claimed => return Ok(Detected::Format("VMDK")),
        vmdk::Probe::Unusable { .. } => return Ok(Detected::Unusable),
        vmdk::Probe::NotMine { .. } => {}
    }
    match vmdk::probe_vdi(path)? {
        vmdk::Probe::Claimed => return Ok(Detected::Format("VDI")),
        vmdk::Probe::Unusable { .. } => return Ok(Detected::Unusable),
        vmdk::Probe::NotMine { .. } => {}
    }
    let mut f = File::open(path)?;
    let mut head = vec![0u8; 512];
    let n = f.read(&mut head)?;
    head.truncate(n);
    if head.starts_with(b"conectix") {
        return Ok(Detected::Format("VHD"));
    }
    let mut iso = [0u8; 5];
    if f.seek(SeekFrom::Start(32769)).is_ok() && f.read_exact(&mut iso).is_ok() && &iso == b"CD001"
    {
        return Ok(Detected::Format("RAW"));
    }
    let lower = path.to_string_lossy().to_ascii_lowercase();
    if lower.ends_with(".img") || lower.ends_with(".raw") || lower.ends_with(".iso") {
        return Ok(Detected::Format("RAW"));
    }
    Ok(Detected::None)
}

fn open_medium_context(sim: &Sim) -> Context {
    Context {
        call: "OpenMedium(Bstr(pszFilenameOrUuid).raw(), enmDevType, enmAccessMode, fForceNewUuidOnOpen, pMedium.asOutParam())",
        file: "VBoxManageDisk.cpp",
        // The last line of the CHECK_ERROR call in VBoxManageDisk.cpp's openMedium, by version.
        line: match (sim.version.major, sim.version.minor, sim.version.build) {
            (5, _, _) => 179,
            (6, _, _) => 191,
            (7, 0, b) if b < 8 => 205,
            _ => 201,
        },
    }
}

/// Registers `path` as a medium of `device` type (`hdd`, `dvd`) if needed; returns its UUID.
/// `from_attach`: storageattach's error adds a line naming the argument as given.
pub fn open_medium(
    sim: &Sim,
    reg: &mut Registry,
    path: &str,
    device: &str,
    from_attach: bool,
) -> SimResult<String> {
    if let Some(i) = reg.find_medium(path) {
        return Ok(reg.media[i].uuid.clone());
    }
    let location = absolute(Path::new(path));
    if !location.exists() {
        let why = if location.parent().is_some_and(Path::exists) {
            "VERR_FILE_NOT_FOUND"
        } else {
            "VERR_PATH_NOT_FOUND"
        };
        let mut e = com_error(
            &format!(
                "Could not find file for the medium '{}' ({why})",
                location.display()
            ),
            VBOX_E_FILE_ERROR,
            "MediumWrap",
            "IMedium",
            true,
            open_medium_context(sim),
        );
        // storageattach adds the argument as it was given; closemedium does not.
        if from_attach {
            e.stderr += &format!("VBoxManage: error: Invalid UUID or filename \"{path}\"\n");
        }
        return Err(e);
    }
    let detected = detect_format(&location).map_err(|e| internal(&e.to_string()))?;
    let with_argument = |mut e: VBoxError| {
        // storageattach adds the argument as it was given; closemedium does not.
        if from_attach {
            e.stderr += &format!("VBoxManage: error: Invalid UUID or filename \"{path}\"\n");
        }
        e
    };
    let format = match detected {
        Detected::Format(f) => f,
        Detected::Unusable => {
            // Medium::i_setLocation: a backend claimed the file without telling its type.
            let msg = if sim.version.at_least(6, 1, 0) {
                format!(
                    "The medium '{}' can't be used as the requested device type ({}, detected invalid)",
                    location.display(),
                    device_type_name(device)
                )
            } else {
                format!(
                    "The medium '{}' can't be used as the requested device type",
                    location.display()
                )
            };
            return Err(with_argument(com_error(
                &msg,
                NS_ERROR_FAILURE,
                "MediumWrap",
                "IMedium",
                true,
                open_medium_context(sim),
            )));
        }
        Detected::None => {
            return Err(with_argument(com_error(
                &format!(
                    "Could not get the storage format of the medium '{}' (VERR_NOT_SUPPORTED)",
                    location.display()
                ),
                VBOX_E_IPRT_ERROR,
                "MediumWrap",
                "IMedium",
                true,
                open_medium_context(sim),
            )));
        }
    };
    let uuid = uuid::Uuid::new_v4().to_string();
    reg.media.push(Medium {
        uuid: uuid.clone(),
        location,
        device: device.to_string(),
        format: format.to_string(),
    });
    Ok(uuid)
}

/// getDeviceTypeName: how VirtualBox names a requested device type in messages.
fn device_type_name(device: &str) -> &'static str {
    match device {
        "dvd" => "DVD",
        "floppy" => "Floppy",
        _ => "HDD",
    }
}

fn qemu_format(format: &str) -> Option<&'static str> {
    match format.to_ascii_uppercase().as_str() {
        "VMDK" => Some("vmdk"),
        "VDI" => Some("vdi"),
        "VHD" => Some("vpc"),
        "RAW" => Some("raw"),
        _ => None,
    }
}

fn qemu_img(args: &[&str]) -> Result<(), String> {
    let out = Command::new("qemu-img")
        .args(args)
        .output()
        .map_err(|e| format!("qemu-img: {e} (install qemu-utils)"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

pub fn createmedium(sim: &Sim, cmd: &str, args: &[String]) -> SimResult {
    let specs = [
        Spec::value("filename"),
        Spec::value("size"),
        Spec::value("sizebyte"),
        Spec::value("format"),
        Spec::value("variant"),
        Spec::value("diffparent"),
    ];
    let parsed = sim.getopt(cmd, args, &specs)?;
    let kind = parsed.positionals().first().copied().unwrap_or("disk");
    if !["disk", "dvd", "floppy"].contains(&kind) {
        return Err(sim.syntax(cmd, Syntax::InvalidParameter(kind.to_string())));
    }
    let Some(filename) = parsed.value_of("filename") else {
        return Err(sim.syntax(
            cmd,
            Syntax::Message("Parameters --filename is required".into()),
        ));
    };
    let bytes: u64 = match (parsed.value_of("sizebyte"), parsed.value_of("size")) {
        (Some(b), _) => b.parse().map_err(|_| {
            sim.syntax(
                cmd,
                Syntax::Message(format!("Invalid --sizebyte argument '{b}'")),
            )
        })?,
        (None, Some(mb)) => {
            mb.parse::<u64>().map_err(|_| {
                sim.syntax(
                    cmd,
                    Syntax::Message(format!("Invalid --size argument '{mb}'")),
                )
            })? << 20
        }
        (None, None) => {
            return Err(sim.syntax(cmd, Syntax::Message("Parameters --size is required".into())));
        }
    };
    let format = parsed
        .value_of("format")
        .unwrap_or("VDI")
        .to_ascii_uppercase();
    let Some(qfmt) = qemu_format(&format) else {
        return Err(sim.syntax(cmd, Syntax::Message(format!("Invalid format '{format}'"))));
    };
    // A file name without an extension gets the format's.
    let mut path = absolute(Path::new(filename));
    if path.extension().is_none() {
        path.set_extension(format.to_ascii_lowercase());
    }
    let mut reg = sim.registry()?;
    if path.exists() || reg.reg.find_medium_by_path(&path).is_some() {
        let backend = match format.as_str() {
            "VMDK" => format!(
                "VMDK: could not create new file '{}' (VERR_ALREADY_EXISTS)",
                path.display()
            ),
            other => format!(
                "{other}: cannot create image '{}' (VERR_ALREADY_EXISTS)",
                path.display()
            ),
        };
        let v = &sim.version;
        return Err(progress_error(
            v,
            VBOX_E_FILE_ERROR,
            "Failed to create medium",
            &[
                format!(
                    "Could not create the medium storage unit '{}'.",
                    path.display()
                ),
                backend,
            ],
            "MediumWrap",
            "IMedium",
            Context {
                call: "RTEXITCODE handleCreateMedium(HandlerArg*)",
                file: "VBoxManageDisk.cpp",
                line: match (v.major, v.minor) {
                    (5, _) | (6, 0) => 450,
                    (6, _) => 510,
                    _ => 600,
                },
            },
        ));
    }
    qemu_img(&[
        "create",
        "-q",
        "-f",
        qfmt,
        &path.to_string_lossy(),
        &bytes.to_string(),
    ])
    .map_err(|e| {
        plain_error(&[&format!(
            "Cannot create the disk image \"{}\": {e}",
            path.display()
        )])
    })?;
    let uuid = uuid::Uuid::new_v4().to_string();
    reg.reg.media.push(Medium {
        uuid: uuid.clone(),
        location: path,
        device: if kind == "dvd" {
            "dvd".into()
        } else {
            "hdd".into()
        },
        format,
    });
    reg.save().map_err(|e| internal(&e.to_string()))?;
    Ok(Outcome::ok(format!("Medium created. UUID: {uuid}\n")).with_stderr(PROGRESS))
}

pub fn convertfromraw(sim: &Sim, args: &[String]) -> SimResult {
    let specs = [
        Spec::value("format"),
        Spec::value("variant"),
        Spec::value("uuid"),
        Spec::flag("static"),
    ];
    let parsed = sim.getopt("convertfromraw", args, &specs)?;
    let pos = parsed.positionals();
    let from_stdin = pos.first() == Some(&"stdin");
    let expected = if from_stdin { 3 } else { 2 };
    if pos.len() != expected {
        return Err(sim.syntax(
            "convertfromraw",
            Syntax::Message("Incorrect number of parameters".into()),
        ));
    }
    let format = parsed
        .value_of("format")
        .unwrap_or("VDI")
        .to_ascii_uppercase();
    let Some(qfmt) = qemu_format(&format) else {
        return Err(sim.syntax(
            "convertfromraw",
            Syntax::Message(format!("Invalid format '{format}'")),
        ));
    };
    let variant = parsed.value_of("variant").unwrap_or("Standard");
    let fixed = variant.split(',').any(|v| v.eq_ignore_ascii_case("fixed"));
    let output = absolute(Path::new(pos[1]));
    // File names are printed as given.
    let mut stderr = format!(
        "Converting from raw image file=\"{}\" to file=\"{}\"...\n",
        pos[0], pos[1]
    );
    let mut input: Box<dyn Read> = if from_stdin {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(File::open(pos[0]).map_err(|e| {
            plain_error(&[&format!(
                "Cannot open the raw disk '{}': {}",
                pos[0],
                vrc_of(&e)
            )])
        })?)
    };
    let size: u64 = if from_stdin {
        pos[2].parse().map_err(|_| {
            sim.syntax(
                "convertfromraw",
                Syntax::Message(format!("Invalid size '{}'", pos[2])),
            )
        })?
    } else {
        fs::metadata(pos[0]).map(|m| m.len()).unwrap_or(0)
    };
    if !size.is_multiple_of(512) {
        let mut e = plain_error(&[&format!(
            "VD: The given disk size {size} is not aligned on a sector boundary (512 bytes)"
        )]);
        e.stderr = stderr + &e.stderr;
        return Err(e);
    }
    stderr += &format!(
        "Creating {} image with size {size} bytes ({}MB)...\n",
        if fixed { "fixed" } else { "dynamic" },
        size.div_ceil(1 << 20)
    );
    if output.exists() {
        let (backend, source) = match format.as_str() {
            "VMDK" => (
                format!("VMDK: could not create new file '{}'", pos[1]),
                "VMDK.cpp(3797) in function int vmdkCreateRegularImage(PVMDKIMAGE, uint64_t, unsigned int, PFNVDPROGRESS, void*, unsigned int, unsigned int)",
            ),
            other => (
                format!("{other}: cannot create image '{}'", pos[1]),
                "VDI.cpp(717) in function int vdiImageCreateFile(PVDIIMAGEDESC, unsigned int, PVDINTERFACEPROGRESS, unsigned int, unsigned int)",
            ),
        };
        let mut e = plain_error(&[
            &backend,
            &format!(
                "Error code VERR_ALREADY_EXISTS at /build/virtualbox/src/VBox/Storage/{source}"
            ),
            &format!(
                "Cannot create the disk image \"{}\": VERR_ALREADY_EXISTS",
                pos[1]
            ),
        ]);
        e.stderr = stderr + &e.stderr;
        return Err(e);
    }
    let dir = output.parent().unwrap_or(Path::new("."));
    let raw = tempfile::NamedTempFile::new_in(dir).map_err(|e| internal(&e.to_string()))?;
    copy_sparse(&mut input, raw.as_file(), Some(size))
        .map_err(|e| internal(&format!("reading the raw image: {e}")))?;
    raw.as_file()
        .set_len(size)
        .map_err(|e| internal(&e.to_string()))?;
    qemu_img(&[
        "convert",
        "-q",
        "-f",
        "raw",
        "-O",
        qfmt,
        &raw.path().to_string_lossy(),
        &output.to_string_lossy(),
    ])
    .map_err(|e| {
        plain_error(&[&format!(
            "Cannot create the disk image \"{}\": {e}",
            output.display()
        )])
    })?;
    Ok(Outcome::default().with_stderr(stderr))
}

/// IPRT's name for an I/O error, as VirtualBox prints it.
fn vrc_of(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::NotFound => "VERR_FILE_NOT_FOUND",
        std::io::ErrorKind::PermissionDenied => "VERR_ACCESS_DENIED",
        _ => "VERR_GENERAL_FAILURE",
    }
}

/// Copies `input` into `out`, seeking over zero blocks so the copy stays sparse. Reads at most
/// `limit` bytes when given. Returns the number of bytes read.
fn copy_sparse(input: &mut dyn Read, out: &File, limit: Option<u64>) -> std::io::Result<u64> {
    let mut out = out;
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let want = match limit {
            Some(l) if l - total < buf.len() as u64 => (l - total) as usize,
            _ => buf.len(),
        };
        if want == 0 {
            break;
        }
        let n = input.read(&mut buf[..want])?;
        if n == 0 {
            break;
        }
        if buf[..n].iter().all(|b| *b == 0) {
            out.seek(SeekFrom::Current(n as i64))?;
        } else {
            out.write_all(&buf[..n])?;
        }
        total += n as u64;
    }
    Ok(total)
}

pub fn closemedium(sim: &Sim, args: &[String]) -> SimResult {
    let parsed = sim.getopt("closemedium", args, &[Spec::flag("delete")])?;
    let pos = parsed.positionals();
    let (kind, target) = match pos[..] {
        [t] => ("disk", t),
        [k, t] if ["disk", "dvd", "floppy"].contains(&k) => (k, t),
        _ => {
            return Err(sim.syntax(
                "closemedium",
                Syntax::Message("Incorrect number of parameters".into()),
            ));
        }
    };
    let mut reg = sim.registry()?;
    let idx = match reg.reg.find_medium(target) {
        Some(i) => i,
        None => {
            let device = if kind == "dvd" { "dvd" } else { "hdd" };
            open_medium(sim, &mut reg.reg, target, device, false)?;
            reg.reg.media.len() - 1
        }
    };
    let medium = reg.reg.media[idx].clone();
    let users = reg
        .reg
        .vms
        .iter()
        .filter(|vm| vm.uses_medium(&medium.uuid))
        .count();
    if users > 0 {
        return Err(com_error(
            &format!(
                "Cannot close medium '{}' because it is still attached to {users} virtual machines",
                medium.location.display()
            ),
            VBOX_E_OBJECT_IN_USE,
            "MediumWrap",
            "IMedium",
            true,
            Context {
                call: "Close()",
                file: "VBoxManageDisk.cpp",
                line: if sim.version.major >= 7 { 1893 } else { 1731 },
            },
        ));
    }
    reg.reg.media.remove(idx);
    let mut out = Outcome::default();
    if parsed.has("delete") {
        let _ = fs::remove_file(&medium.location);
        remove_guest_disk_state(sim, &medium.uuid);
        out.stderr = PROGRESS.into();
    }
    reg.save().map_err(|e| internal(&e.to_string()))?;
    Ok(out)
}
