//! `VBoxManage guestproperty get`: how the driver reads what a guest publishes through the guest
//! additions (its addresses, vswarm's marks), one property at a time.

use super::numbered_lines;

/// Parses `VBoxManage guestproperty get VM PROP`: `Value: X` gives `Some(X)` (trimmed),
/// `No value set!` gives `None`. `--verbose`'s `Timestamp:`/`Flags:` lines and wrapper noise are
/// ignored.
pub fn parse_guestproperty_value(stdout: &str) -> Option<String> {
    for (_, line) in numbered_lines(stdout) {
        if let Some(value) = line.strip_prefix("Value:") {
            return Some(value.trim().to_string());
        }
        if line.trim() == "No value set!" {
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::samples::*;

    #[test]
    fn guestproperty_value() {
        assert_eq!(
            parse_guestproperty_value("Value: 192.168.99.100\n").as_deref(),
            Some("192.168.99.100")
        );
        assert_eq!(
            parse_guestproperty_value("Value: 192.168.56.101\r\n").as_deref(),
            Some("192.168.56.101")
        );
        assert_eq!(parse_guestproperty_value("No value set!\n"), None);
        assert_eq!(parse_guestproperty_value("No value set!\r\n"), None);
        assert_eq!(parse_guestproperty_value(""), None);
        let verbose =
            "Value: 10.0.2.15\nTimestamp: 1523628880075172000\nFlags: TRANSIENT, RDONLYGUEST\n";
        assert_eq!(
            parse_guestproperty_value(verbose).as_deref(),
            Some("10.0.2.15")
        );
        let with_warning = format!(
            "{}Value: 192.168.59.100\n",
            VERSION_7_1_4_SUDO.replace("7.1.4r165100\n", "")
        );
        assert_eq!(
            parse_guestproperty_value(&with_warning).as_deref(),
            Some("192.168.59.100")
        );
        // `enumerate` output is not `get` output.
        assert_eq!(
            parse_guestproperty_value(GUESTPROPERTY_ENUMERATE_5_2_8),
            None
        );
        assert_eq!(
            parse_guestproperty_value(GUESTPROPERTY_ENUMERATE_7_2_4),
            None
        );
    }
}
