//! The listing's recording (video capture) section, whose keys changed twice: `videocap*` in
//! 5.2, `capture*` in 6.0 and 6.1, `recording_*` and `rec_screen_*` from 6.1.36.

use super::defaults::audio_recording_build;
use super::{esc, n, q, settings_stem};
use crate::sim::state::Vm;
use crate::sim::version::SimVersion;

/// The recording settings, per screen where the version lists screens.
pub(super) fn recording(o: &mut String, v: &SimVersion, vm: &Vm) {
    let stem = settings_stem(vm);
    let audio = audio_recording_build(v);
    let screens: u32 = vm
        .setting("monitorcount")
        .and_then(|m| m.parse().ok())
        .unwrap_or(1)
        .max(1);
    // The exact build that switched to `recording_*` keys is unknown (6.1.26 old, 6.1.38 new).
    if v.at_least(6, 1, 36) {
        if v.at_least(7, 1, 0) {
            q(o, "recording_started", "off");
        }
        q(o, "recording_enabled", "off");
        n(o, "recording_screens", screens);
        for i in 0..screens {
            o.push_str(&format!(" rec_screen{i}\n"));
            // Only screen 0 is enabled by default.
            q(o, "rec_screen_enabled", if i == 0 { "on" } else { "off" });
            n(o, "rec_screen_id", i);
            q(o, "rec_screen_video_enabled", "on");
            if audio {
                q(o, "rec_screen_audio_enabled", "off");
            }
            q(o, "rec_screen_dest", "File");
            q(
                o,
                "rec_screen_dest_filename",
                &esc(&format!("{stem}-screen{i}.webm")),
            );
            q(
                o,
                "rec_screen_opts",
                "vc_enabled=true,ac_enabled=false,ac_profile=med",
            );
            q(o, "rec_screen_video_res_xy", "1024x768");
            n(o, "rec_screen_video_rate_kbps", 512);
            n(o, "rec_screen_video_fps", 25);
        }
    } else if v.major >= 6 {
        // 6.0 is assumed to show a createvm VM like 6.1.26 does (no screen selected).
        q(o, "videocap", "off");
        if audio {
            q(o, "videocapaudio", "off");
        }
        q(o, "capturescreens", "");
        q(o, "capturefilename", &esc(&format!("{stem}.webm")));
        q(o, "captureres", "1024x768");
        n(o, "capturevideorate", 512);
        n(o, "capturevideofps", 25);
        q(o, "captureopts", "");
    } else {
        q(o, "videocap", "off");
        if audio {
            q(o, "videocap_audio", "off");
        }
        // All screens are selected by default; the list is printed bare.
        let list: Vec<String> = (0..screens).map(|i| i.to_string()).collect();
        n(o, "videocapscreens", list.join(","));
        q(o, "videocapfile", &format!("{stem}.webm"));
        n(o, "videocapres", "1024x768");
        n(o, "videocaprate", 512);
        n(o, "videocapfps", 25);
        n(o, "videocapopts", "");
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{docker_machine_vm, version};
    use super::super::machine_readable;

    #[test]
    fn distribution_builds_lack_audio_recording_lines() {
        let (reg, vm) = docker_machine_vm("1024", "2", "82540EM");
        let out = machine_readable(&version("6.1.38_Ubuntur153438"), &reg, &vm);
        assert!(!out.contains("rec_screen_audio_enabled"));
        assert!(out.contains("rec_screen_video_enabled=\"on\"\nrec_screen_dest=\"File\"\n"));
    }
}
