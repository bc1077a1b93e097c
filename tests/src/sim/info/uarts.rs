//! The listing's serial ports: `uartN`, and `uartmodeN` and (from 6.0) `uarttypeN`.

use super::q;
use crate::sim::state::Vm;
use crate::sim::version::SimVersion;

/// `uartN` (and when enabled `uartmodeN`, from 6.0 `uarttypeN`) for the four serial ports.
pub(super) fn uarts(o: &mut String, v: &SimVersion, vm: &Vm) {
    for i in 1..=4 {
        let Some(cfg) = vm
            .setting(&format!("uart{i}"))
            .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("off"))
        else {
            q(o, &format!("uart{i}"), "off");
            continue;
        };
        let mut parts = cfg
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|p| !p.is_empty());
        let base = parts
            .next()
            .map(|b| b.trim_start_matches("0x").trim_start_matches("0X"))
            .and_then(|b| u32::from_str_radix(b, 16).ok())
            .unwrap_or(0x3f8);
        let irq = parts
            .next()
            .and_then(|i| i.parse::<u32>().ok())
            .unwrap_or(if matches!(base, 0x2f8 | 0x2e8) { 3 } else { 4 });
        q(o, &format!("uart{i}"), &format!("{base:#06x},{irq}"));
        let mode = vm
            .setting(&format!("uartmode{i}"))
            .unwrap_or("disconnected");
        let (kind, path) = mode
            .split_once(|c: char| c == ',' || c.is_whitespace())
            .map(|(k, p)| (k, p.trim()))
            .unwrap_or((mode, ""));
        let shown = match kind.to_ascii_lowercase().as_str() {
            "disconnected" => "disconnected".to_string(),
            k @ ("server" | "client" | "tcpserver" | "tcpclient" | "file") => format!("{k},{path}"),
            _ => mode.to_string(),
        };
        q(o, &format!("uartmode{i}"), &shown);
        if v.major >= 6 {
            q(o, &format!("uarttype{i}"), "16550A");
        }
    }
}
