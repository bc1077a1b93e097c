//! Usage texts printed with syntax errors.
//!
//! Real VBoxManage prints the full synopsis of the command; clients only read the exit status
//! (2) and the error line, so this prints the synopsis' first lines in VirtualBox's layout.

use super::version::SimVersion;

/// The usage block for `cmd` (`modifyvm`, `hostonlyif`, ... or `""` for the whole tool).
pub fn usage(v: &SimVersion, cmd: &str) -> String {
    let synopsis: &[&str] = match cmd {
        "createvm" => &[
            "createvm         --name <name>",
            "                 [--groups <group>, ...]",
            "                 [--ostype <ostype>]",
            "                 [--register]",
            "                 [--basefolder <path>]",
            "                 [--uuid <uuid>]",
        ],
        "modifyvm" => &[
            "modifyvm         <uuid|vmname>",
            "                 [--name <name>]",
            "                 [--ostype <ostype>]",
            "                 [--memory <memorysize in MB>]",
            "                 [--cpus <number>]",
        ],
        "showvminfo" => &[
            "showvminfo       <uuid|vmname> [--details]",
            "                 [--machinereadable]",
            "showvminfo       <uuid|vmname> --log <idx>",
        ],
        "startvm" => &[
            "startvm          <uuid|vmname>...",
            "                 [--type gui|sdl|headless|separate]",
            "                 [-E|--putenv <NAME>[=<VALUE>]]",
        ],
        "controlvm" => &[
            "controlvm        <uuid|vmname>",
            "                 pause|resume|reset|poweroff|savestate|",
            "                 acpipowerbutton|acpisleepbutton|",
        ],
        "unregistervm" => &["unregistervm     <uuid|vmname> [--delete]"],
        "list" => &[
            "list [--long|-l] [--sorted|-s] vms|runningvms|ostypes|hostdvds|hostfloppies|",
            "                            intnets|bridgedifs|hostonlyifs|natnets|dhcpservers|",
            "                            hostinfo|hostcpuids|hddbackends|hdds|dvds|floppies|",
            "                            usbhost|usbfilters|systemproperties|extpacks|",
            "                            groups|webcams|screenshotformats|cloudproviders|",
            "                            cloudprofiles",
        ],
        "storagectl" => &[
            "storagectl       <uuid|vmname>",
            "                 --name <name>",
            "                 [--add ide|sata|scsi|floppy|sas|usb|pcie]",
        ],
        "storageattach" => &[
            "storageattach    <uuid|vmname>",
            "                 --storagectl <name>",
            "                 [--port <number>]",
            "                 [--device <number>]",
        ],
        "hostonlyif" => &[
            "hostonlyif       ipconfig <name>",
            "                 [--dhcp |",
            "                 --ip<ipv4> [--netmask<ipv4> (def: 255.255.255.0)] |",
            "                 --ipv6<ipv6> [--netmasklengthv6<length> (def: 64)]]",
            "                 create |",
            "                 remove <name>",
        ],
        "dhcpserver" => &[
            "dhcpserver       add|modify --netname <network_name> |",
            "                            --ifname <hostonly_if_name>",
            "                            [--ip <ip_address>",
            "                            --netmask <network_mask>",
            "                            --lowerip <lower_ip>",
            "                            --upperip <upper_ip>]",
            "                            [--enable | --disable]",
            "dhcpserver       remove --netname <network_name> |",
            "                        --ifname <hostonly_if_name>",
        ],
        "guestproperty" => &[
            "guestproperty    get <uuid|vmname>",
            "                 <property> [--verbose]",
            "guestproperty    set <uuid|vmname>",
            "                 <property> [<value> [--flags <flags>]]",
            "guestproperty    enumerate <uuid|vmname>",
            "                 [--patterns <patterns>]",
        ],
        "sharedfolder" => &[
            "sharedfolder     add <uuid|vmname>",
            "                 --name <name> --hostpath <hostpath>",
            "                 [--transient] [--readonly] [--automount]",
            "sharedfolder     remove <uuid|vmname>",
            "                 --name <name> [--transient]",
        ],
        "setextradata" => &[
            "setextradata     global|<uuid|vmname>",
            "                 <key>",
            "                 [<value>] (no value deletes key)",
        ],
        "getextradata" => &[
            "getextradata     global|<uuid|vmname>",
            "                 <key>|enumerate",
        ],
        "createmedium" | "createhd" => &[
            "createmedium     [disk|dvd|floppy] --filename <filename>",
            "                 [--size <megabytes>|--sizebyte <bytes>]",
            "                 [--diffparent <uuid>|<filename>",
            "                 [--format VDI|VMDK|VHD] (default: VDI)",
        ],
        "convertfromraw" => &[
            "convertfromraw   <filename> <outputfile>",
            "                 [--format VDI|VMDK|VHD]",
            "                 [--variant Standard,Fixed,Split2G,Stream,ESX]",
            "                 [--uuid <uuid>]",
            "convertfromraw   stdin <outputfile> <bytes>",
            "                 [--format VDI|VMDK|VHD]",
        ],
        "closemedium" => &[
            "closemedium      [disk|dvd|floppy] <uuid|filename>",
            "                 [--delete]",
        ],
        _ => &["VBoxManage [<general option>] <command>"],
    };
    let mut s = String::from("Usage:\n\n");
    for (i, line) in synopsis.iter().enumerate() {
        if i == 0 || !line.starts_with(' ') {
            s += &format!("VBoxManage {line}\n");
        } else {
            s += &format!("           {line}\n");
        }
    }
    if v.major >= 7 {
        s = s.replacen("Usage:\n\n", "Usage - ", 1);
    }
    s
}
