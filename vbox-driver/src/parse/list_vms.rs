//! `VBoxManage list vms` and `list runningvms`: the machines VirtualBox knows, by name and UUID,
//! read so that names holding quotes or braces survive.

use super::numbered_lines;

/// One line of `VBoxManage list vms` or `list runningvms`: `"node-01" {0f3c2c1a-...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedVm {
    /// `<inaccessible>` for a VM whose settings cannot be read.
    pub name: String,
    pub uuid: String,
}

/// Parses `VBoxManage list vms` / `list runningvms`. The name is everything between the first
/// quote and the quote before the last ` {`, so names holding quotes or braces survive; lines of
/// another shape (wrapper warnings) are skipped.
pub fn parse_list_vms(stdout: &str) -> Vec<ListedVm> {
    numbered_lines(stdout)
        .filter_map(|(_, line)| {
            let line = line.trim_end();
            let (head, uuid) = line.rsplit_once(" {")?;
            let uuid = uuid.strip_suffix('}')?;
            let name = head.strip_prefix('"')?.strip_suffix('"')?;
            Some(ListedVm {
                name: name.to_string(),
                uuid: uuid.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_vms_lines_are_read_with_odd_names() {
        let out = "\"Ubuntu\" {2e16b1fc-675d-4a7a-a9a1-e89a8bde7874}\n\"a \\\"quoted\\\" {x}\" {def44546-e3da-4902-8d15-b91c99c80cbc}\nWARNING: noise\n";
        let vms = parse_list_vms(out);
        assert_eq!(vms.len(), 2);
        assert_eq!(vms[0].name, "Ubuntu");
        assert_eq!(vms[0].uuid, "2e16b1fc-675d-4a7a-a9a1-e89a8bde7874");
        assert_eq!(vms[1].name, "a \\\"quoted\\\" {x}");
        assert!(parse_list_vms("").is_empty());
    }
}
