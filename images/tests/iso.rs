//! The ISO9660 volume id reader: versions are read from real and generated images, and files
//! that are not ISO images are refused with an error that says so.

mod support;

use std::io::Cursor;
use std::process::Command;

use images::{
    IsoError, VolumeIdFailure, read_volume_id, version_from_volume_id, volume_id_from_reader,
};
use proptest::prelude::*;

#[test]
fn volume_id_is_read_from_a_generated_iso() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("boot2docker.iso");
    std::fs::write(&path, support::make_iso("b2d-v19.03.12", 4)).unwrap();
    let volume_id = read_volume_id(&path).unwrap();
    assert_eq!(volume_id, "b2d-v19.03.12");
    assert_eq!(
        version_from_volume_id(&volume_id).as_deref(),
        Some("v19.03.12")
    );
}

#[test]
fn volume_id_is_read_from_an_iso_made_by_xorriso() {
    let dir = tempfile::tempdir().unwrap();
    let content = dir.path().join("content");
    std::fs::create_dir_all(content.join("boot")).unwrap();
    std::fs::write(content.join("boot/README"), "stand-in\n").unwrap();
    let iso = dir.path().join("x.iso");
    let output = Command::new("xorriso")
        .args(["-as", "mkisofs", "-quiet", "-V", "b2d-v19.03.12", "-o"])
        .arg(&iso)
        .arg(&content)
        .output()
        .expect("xorriso must be installed for this test (apt-get install xorriso)");
    assert!(
        output.status.success(),
        "xorriso failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(read_volume_id(&iso).unwrap(), "b2d-v19.03.12");
}

#[test]
fn generated_isos_are_accepted_by_xorriso() {
    // The generator is only worth something if a real ISO tool reads its output.
    let dir = tempfile::tempdir().unwrap();
    let iso = dir.path().join("generated.iso");
    std::fs::write(&iso, support::make_iso("b2d-v19.03.12", 2)).unwrap();
    let output = Command::new("xorriso")
        .args(["-indev"])
        .arg(&iso)
        .args(["-pvd_info", "-ls", "/"])
        .output()
        .expect("xorriso must be installed for this test (apt-get install xorriso)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    assert!(text.contains("b2d-v19.03.12"), "{text}");
    assert!(text.contains("PAYLOAD.BIN"), "{text}");
}

#[test]
fn a_file_that_is_not_an_iso_is_refused() {
    let dir = tempfile::tempdir().unwrap();

    let html = dir.path().join("page.iso");
    std::fs::write(&html, "<html><body>Not Found</body></html>").unwrap();
    let error = read_volume_id(&html).unwrap_err();
    assert!(matches!(error, IsoError::NotAnIso { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("is not an ISO9660 image"), "{text}");
    assert!(text.contains("page.iso"), "{text}");

    let zeros = dir.path().join("zeros.iso");
    std::fs::write(&zeros, vec![0u8; 64 * 1024]).unwrap();
    let error = read_volume_id(&zeros).unwrap_err();
    assert!(matches!(error, IsoError::NotAnIso { .. }), "{error:?}");
    assert!(error.to_string().contains("CD001"), "{error}");

    let missing = dir.path().join("missing.iso");
    let error = read_volume_id(&missing).unwrap_err();
    assert!(matches!(error, IsoError::Read { .. }), "{error:?}");
    assert!(error.to_string().contains("missing.iso"), "{error}");
}

#[test]
fn an_iso_without_a_primary_descriptor_is_refused() {
    let mut image = support::make_iso("b2d-v19.03.12", 1);
    // Turn the primary descriptor into a boot record: only the terminator follows it.
    image[16 * 2048] = 0;
    let error = volume_id_from_reader(&mut Cursor::new(image)).unwrap_err();
    assert!(
        matches!(&error, VolumeIdFailure::NotAnIso(reason) if reason.contains("no primary volume descriptor")),
        "{error:?}"
    );
}

#[test]
fn a_boot_record_before_the_primary_descriptor_is_skipped() {
    let pvd_iso = support::make_iso("b2d-v18.09.1", 1);
    let mut image = pvd_iso.clone();
    // Sector 16: a boot record; sector 17: the primary descriptor; sector 18: the terminator.
    image[16 * 2048..17 * 2048].fill(0);
    image[16 * 2048] = 0;
    image[16 * 2048 + 1..16 * 2048 + 6].copy_from_slice(b"CD001");
    image[17 * 2048..18 * 2048].copy_from_slice(&pvd_iso[16 * 2048..17 * 2048]);
    image[18 * 2048..19 * 2048].copy_from_slice(&pvd_iso[17 * 2048..18 * 2048]);
    assert_eq!(
        volume_id_from_reader(&mut Cursor::new(image)).unwrap(),
        "b2d-v18.09.1"
    );
}

proptest! {
    /// Whatever sector 16 holds, the reader answers (an id or a refusal) and never panics.
    #[test]
    fn any_descriptor_bytes_give_an_answer(sector in prop::collection::vec(any::<u8>(), 2048)) {
        let mut image = support::make_iso("b2d-v19.03.12", 0);
        image[16 * 2048..17 * 2048].copy_from_slice(&sector);
        let answer = volume_id_from_reader(&mut Cursor::new(image));
        if answer.is_ok() {
            // An id is only read from a primary descriptor.
            prop_assert_eq!(&sector[1..6], b"CD001");
            prop_assert_eq!(sector[0], 1);
        }
    }

    /// Files of any short length are refused, not misread.
    #[test]
    fn short_files_are_refused(bytes in prop::collection::vec(any::<u8>(), 0..34_816)) {
        let answer = volume_id_from_reader(&mut Cursor::new(bytes));
        prop_assert!(matches!(answer, Err(VolumeIdFailure::NotAnIso(_))));
    }
}
