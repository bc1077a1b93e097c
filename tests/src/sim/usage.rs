//! Usage texts printed with syntax errors.
//!
//! Real VBoxManage prints the full synopsis of the command; clients only read the exit status
//! (2) and the error line, so this prints the synopsis' first lines in VirtualBox's layout.

use super::version::SimVersion;

/// The one-line description 7.x prints as `Usage - <brief>:` (from the manual's headings).
fn brief(cmd: &str) -> &'static str {
    match cmd {
        "createvm" => "Create a new virtual machine",
        "modifyvm" => "Change settings for a virtual machine that is stopped",
        "showvminfo" => "Show configuration information or log file contents for a virtual machine",
        "startvm" => "Start a virtual machine",
        "controlvm" => "Change state and settings for a running virtual machine",
        "unregistervm" => "Unregister a virtual machine",
        "list" => "List system information and configuration",
        "storagectl" => "Manage a storage controller",
        "storageattach" => "Attach, remove, and modify storage media used by a virtual machine",
        "hostonlyif" => "Manage host-only network interfaces",
        "dhcpserver" => "DHCP server management",
        "guestproperty" => "Manage virtual machine guest properties",
        "sharedfolder" => "Add and remove shared folders",
        "setextradata" => {
            "Set a keyword value that is associated with a virtual machine or configuration"
        }
        "getextradata" => {
            "View keyword values that are associated with a virtual machine or configuration"
        }
        "createmedium" | "createhd" => "Create a new medium",
        "convertfromraw" => "Convert a raw disk image to a virtual disk image",
        "closemedium" => "Remove a hard disk, DVD, or floppy image from the media registry",
        _ => "",
    }
}

fn synopsis(cmd: &str) -> &'static [&'static str] {
    match cmd {
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
            "                 [--groups <group>, ...]",
            "                 [--description <desc>]",
            "                 [--ostype <ostype>]",
            "                 [--iconfile <filename>]",
            "                 [--memory <memorysize in MB>]",
            "                 [--pagefusion on|off]",
            "                 [--vram <vramsize in MB>]",
            "                 [--acpi on|off]",
            "                 [--ioapic on|off]",
            "                 [--hpet on|off]",
            "                 [--triplefaultreset on|off]",
            "                 [--apic on|off]",
            "                 [--x2apic on|off]",
            "                 [--paravirtprovider none|default|legacy|minimal|hyperv|kvm]",
            "                 [--hwvirtex on|off]",
            "                 [--nestedpaging on|off]",
            "                 [--largepages on|off]",
            "                 [--vtxvpid on|off]",
            "                 [--vtxux on|off]",
            "                 [--cpus <number>]",
            "                 [--cpuhotplug on|off]",
            "                 [--nic<1-N> none|null|nat|bridged|intnet|hostonly|generic|natnetwork]",
            "                 [--nictype<1-N> Am79C970A|Am79C973|82540EM|82543GC|82545EM|virtio]",
            "                 [--natpf<1-N> [<rulename>],tcp|udp,[<hostip>],<hostport>,[<guestip>],<guestport>]",
            "                 [--natpf<1-N> delete <rulename>]",
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
            "                 natpf<1-N> [<rulename>],tcp|udp,[<hostip>],",
            "                                <hostport>,[<guestip>],<guestport> |",
            "                 natpf<1-N> delete <rulename>",
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
            "                 [--controller LSILogic|LSILogicSAS|BusLogic|",
            "                               IntelAHCI|PIIX3|PIIX4|ICH6|I82078|",
            "                 [             USB|NVMe]",
            "                 [--portcount <1-n>]",
            "                 [--hostiocache on|off]",
            "                 [--bootable on|off]",
            "                 [--rename <name>]",
            "                 [--remove]",
        ],
        "storageattach" => &[
            "storageattach    <uuid|vmname>",
            "                 --storagectl <name>",
            "                 [--port <number>]",
            "                 [--device <number>]",
            "                 [--type dvddrive|hdd|fdd]",
            "                 [--medium none|emptydrive|additions|",
            "                           <uuid|filename>|host:<drive>|iscsi]",
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
            "                 <key>|[enumerate]",
        ],
        "createmedium" | "createhd" => &[
            "createmedium     [disk|dvd|floppy] --filename <filename>",
            "                 [--size <megabytes>|--sizebyte <bytes>]",
            "                 [--diffparent <uuid>|<filename>",
            "                 [--format VDI|VMDK|VHD] (default: VDI)",
            "                 [--variant Standard,Fixed,Split2G,Stream,ESX]",
        ],
        "convertfromraw" => &[
            "convertfromraw   <filename> <outputfile>",
            "                 [--format VDI|VMDK|VHD]",
            "                 [--variant Standard,Fixed,Split2G,Stream,ESX]",
            "                 [--uuid <uuid>]",
            "convertfromraw   stdin <outputfile> <bytes>",
            "                 [--format VDI|VMDK|VHD]",
            "                 [--variant Standard,Fixed,Split2G,Stream,ESX]",
            "                 [--uuid <uuid>]",
        ],
        "closemedium" => &[
            "closemedium      [disk|dvd|floppy] <uuid|filename>",
            "                 [--delete]",
        ],
        _ => &[],
    }
}

/// The pre-7.0 usage block of one command: `Usage:`, an empty line, the synopsis with the
/// continuation lines aligned, and a closing empty line.
pub fn old_usage(cmd: &str) -> String {
    let lines = synopsis(cmd);
    if lines.is_empty() {
        return whole_old_usage();
    }
    let mut s = String::from("Usage:\n\n");
    for line in lines {
        if line.starts_with(' ') {
            s += &format!("           {line}\n");
        } else {
            s += &format!("VBoxManage {line}\n");
        }
    }
    s + "\n"
}

fn whole_old_usage() -> String {
    let mut s = String::from(
        "Usage:\n\n  VBoxManage [<general option>] <command>\n \n \nGeneral Options:\n \n  [-v|--version]            print version number and exit\n  [-q|--nologo]             suppress the logo\n  [--settingspw <pw>]       provide the settings password\n  [--settingspwfile <file>] provide a file containing the settings password\n  [@<response-file>]        load arguments from the given response file (bourne style)\n \n \nCommands:\n \n",
    );
    for cmd in [
        "list",
        "showvminfo",
        "createvm",
        "modifyvm",
        "startvm",
        "controlvm",
        "unregistervm",
    ] {
        for line in synopsis(cmd) {
            s += &format!("  {}\n", line.trim_start_matches("list ").trim_end());
        }
        s += "\n";
    }
    s
}

/// The 7.x brief usage: `Usage - <brief>:`, an empty line, each synopsis indented by two.
/// Returns the text and its number of lines (a long one makes the error line repeat).
pub fn brief_usage(v: &SimVersion, cmd: &str) -> (String, usize) {
    let lines = synopsis(cmd);
    let product = if v.at_least(7, 1, 0) {
        "Oracle VirtualBox"
    } else {
        "Oracle VM VirtualBox"
    };
    let mut s = if lines.is_empty() {
        format!("Usage - {product} command-line interface:\n\n")
    } else {
        format!("Usage - {}:\n\n", brief(cmd))
    };
    let body: Vec<String> = if lines.is_empty() {
        vec![
            "  VBoxManage [-V | --version] [--dump-build-type] [-q | --nologo] [--settingspw=password] [--settingspwfile=pw-file] [@response-file] [subcommand]".into(),
            String::new(),
            "  VBoxManage help [subcommand]".into(),
            String::new(),
            "  VBoxManage commands".into(),
            String::new(),
            "  VBoxManage [-V | --version]".into(),
            String::new(),
            "  VBoxManage list [--long|-l] [--sorted|-s] vms|runningvms|ostypes|hostdvds|hostfloppies".into(),
            String::new(),
            "  VBoxManage showvminfo <uuid|vmname> [--details] [--machinereadable]".into(),
            String::new(),
            "  VBoxManage createvm --name=name [--basefolder=basefolder] [--default] [--groups=group-ID,...] [--ostype=ostype] [--register] [--uuid=uuid]".into(),
            String::new(),
            "  VBoxManage modifyvm <uuid|vmname> [--name=name] [--groups=group [,group...]] [--description=description] [--os-type=OS-type]".into(),
            String::new(),
            "  VBoxManage startvm <uuid|vmname...> [--putenv=name[=value]] [--type= [headless | gui | sdl | separate]]".into(),
        ]
    } else {
        lines
            .iter()
            .map(|l| {
                if l.starts_with(' ') {
                    format!("       {}", l.trim_start())
                } else {
                    format!(
                        "  VBoxManage {}",
                        l.split_whitespace().collect::<Vec<_>>().join(" ")
                    )
                }
            })
            .collect()
    };
    for line in &body {
        s += line;
        s += "\n";
    }
    let count = s.lines().count();
    (s, count)
}
