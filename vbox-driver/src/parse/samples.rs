//! The `VBoxManage` outputs the parser tests read, shared by the tests of every output and by the
//! "never panics" properties of `mod.rs`: the captures under `vbox-driver/tests/samples`, samples
//! quoted from shared/docs/vboxmanage-samples.md and virtualbox-facts.md ("from source" where the
//! doc says so), and the helpers and generators the tests build outputs with. Test-only.

use std::net::Ipv4Addr;

use proptest::prelude::*;

pub(super) fn ip(text: &str) -> Ipv4Addr {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

pub(super) fn crlf(text: &str) -> String {
    text.replace('\n', "\r\n")
}

// --------------------------------------------------------------------------------------------
// Samples (files under vbox-driver/tests/samples are real captures; the others are quoted from
// shared/docs/vboxmanage-samples.md and virtualbox-facts.md, "from source" where the doc says so)
// --------------------------------------------------------------------------------------------

pub(super) const HOSTONLYIFS_6_1_26_MACOS: &str =
    include_str!("../../tests/samples/hostonlyifs-6.1.26-macos.txt");
pub(super) const HOSTONLYIFS_6_1_28_LINUX_DOWN: &str =
    include_str!("../../tests/samples/hostonlyifs-6.1.28-linux-down.txt");
pub(super) const DHCPSERVERS_5_0_WINDOWS: &str =
    include_str!("../../tests/samples/dhcpservers-5.0-windows.txt");
pub(super) const DHCPSERVERS_6_0: &str = include_str!("../../tests/samples/dhcpservers-6.0.txt");
pub(super) const DHCPSERVERS_6_1: &str = include_str!("../../tests/samples/dhcpservers-6.1.txt");
pub(super) const CREATEVM_5_0_0: &str =
    include_str!("../../tests/samples/createvm-5.0.0-macos.txt");
pub(super) const CONVERTFROMRAW_5_0_0_STDERR: &str =
    include_str!("../../tests/samples/convertfromraw-stdin-5.0.0-macos.stderr.txt");
pub(super) const GUESTPROPERTY_ENUMERATE_5_2_8: &str =
    include_str!("../../tests/samples/guestproperty-enumerate-5.2.8.txt");
pub(super) const GUESTPROPERTY_ENUMERATE_7_2_4: &str =
    include_str!("../../tests/samples/guestproperty-enumerate-7.2.4.txt");
pub(super) const INVALID_COMMAND_7_0_20_STDERR: &str =
    include_str!("../../tests/samples/invalid-command-7.0.20.stderr-head.txt");
pub(super) const LOGO_7_1_4: &str = include_str!("../../tests/samples/logo-7.1.4.txt");
pub(super) const NATPF_DELETE_MISSING_5_0_STDERR: &str =
    include_str!("../../tests/samples/natpf-delete-missing-5.0-macos.stderr.txt");
pub(super) const RANGE_DENIED_6_1_28_STDERR: &str =
    include_str!("../../tests/samples/range-denied-6.1.28.stderr.txt");
pub(super) const UNKNOWN_VM_7_0_STDERR: &str =
    include_str!("../../tests/samples/unknown-vm-7.0.stderr.txt");

/// Every captured sample file, for the "never panics" checks.
pub(super) const ALL_SAMPLE_FILES: [&str; 14] = [
    HOSTONLYIFS_6_1_26_MACOS,
    HOSTONLYIFS_6_1_28_LINUX_DOWN,
    DHCPSERVERS_5_0_WINDOWS,
    DHCPSERVERS_6_0,
    DHCPSERVERS_6_1,
    CREATEVM_5_0_0,
    CONVERTFROMRAW_5_0_0_STDERR,
    GUESTPROPERTY_ENUMERATE_5_2_8,
    GUESTPROPERTY_ENUMERATE_7_2_4,
    INVALID_COMMAND_7_0_20_STDERR,
    LOGO_7_1_4,
    NATPF_DELETE_MISSING_5_0_STDERR,
    RANGE_DENIED_6_1_28_STDERR,
    UNKNOWN_VM_7_0_STDERR,
];

/// Real, Debian 5.1.6: the wrapper's warning on stdout before the version (samples doc §1).
pub(super) const VERSION_DEBIAN_5_1_6_WITH_WARNING: &str = "\
WARNING: The character device /dev/vboxdrv does not exist.
   Please install the virtualbox-dkms package and the appropriate
   headers, most likely linux-headers-amd64.

   You will not be able to start VMs until this problem is fixed.
5.1.6_Debianr110634
";

/// Oracle's `VBox.sh` warning (from source, 6.1/7.0; first and last line quoted in the doc).
pub(super) const VERSION_ORACLE_WRAPPER_7_0_20: &str = "\
WARNING: The vboxdrv kernel module is not loaded. Either there is no module
         available for the current kernel (6.5.0-14-generic) or it failed to
         load. Please recompile the kernel module and install it by

           sudo /sbin/vboxconfig

         You will not be able to start VMs until this problem is fixed.
7.0.20r163906
";

/// Real, 7.1.4 under sudo (samples doc §1).
pub(super) const VERSION_7_1_4_SUDO: &str = "\
WARNING: Environment variable LOGNAME or USER does not correspond to effective user id.
7.1.4r165100
";

/// Real ≤5.2.0 (docker/machine `network_test.go` fixture): the 6.1.26 block minus `Wireless:`.
pub(super) const HOSTONLYIFS_5_X: &str = "\
Name:            vboxnet0
GUID:            786f6276-656e-4074-8000-0a0027000000
DHCP:            Disabled
IPAddress:       192.168.99.1
NetworkMask:     255.255.255.0
IPV6Address:    \x20
IPV6NetworkMaskPrefixLength: 0
HardwareAddress: 0a:00:27:00:00:00
MediumType:      Ethernet
Status:          Up
VBoxNetworkName: HostInterfaceNetworking-vboxnet0

";

/// As quoted in virtualbox-facts.md (Markdown stripped the trailing blanks).
pub(super) const HOSTONLYIFS_FACTS_DOC: &str = "\
Name:            vboxnet0
GUID:            786f6276-656e-4074-8000-0a0027000000
DHCP:            Disabled
IPAddress:       192.168.99.1
NetworkMask:     255.255.255.0
IPV6Address:
IPV6NetworkMaskPrefixLength: 0
HardwareAddress: 0a:00:27:00:00:00
MediumType:      Ethernet
Status:          Up
VBoxNetworkName: HostInterfaceNetworking-vboxnet0
";

/// Real, Windows 6.1.x (kubernetes/minikube#11345), first block; the second block is the
/// doc's `… #2` naming with a random GUID, as Windows assigns them.
pub(super) const HOSTONLYIFS_6_1_WINDOWS: &str = "\
Name:            VirtualBox Host-Only Ethernet Adapter
GUID:            ad6c77e2-4cec-4864-97e9-e5a21b60fe5f
DHCP:            Disabled
IPAddress:       192.168.56.1
NetworkMask:     255.255.255.0
IPV6Address:     fe80::7cad:157d:443e:4aa
IPV6NetworkMaskPrefixLength: 64
HardwareAddress: 0a:00:27:00:00:2e
MediumType:      Ethernet
Wireless:        No
Status:          Up
VBoxNetworkName: HostInterfaceNetworking-VirtualBox Host-Only Ethernet Adapter

Name:            VirtualBox Host-Only Ethernet Adapter #2
GUID:            1d2c3b4a-0f9e-4d8c-b7a6-958473625140
DHCP:            Disabled
IPAddress:       192.168.99.1
NetworkMask:     255.255.255.0
IPV6Address:    \x20
IPV6NetworkMaskPrefixLength: 0
HardwareAddress: 0a:00:27:00:00:13
MediumType:      Ethernet
Wireless:        No
Status:          Up
VBoxNetworkName: HostInterfaceNetworking-VirtualBox Host-Only Ethernet Adapter #2

";

/// 5.0-era Windows: uncompressed IPv6 (docker-archive/toolbox#216) and a fresh adapter's
/// `0.0.0.0` / `15.0.0.0` (docker.kitematic#960).
pub(super) const HOSTONLYIFS_5_0_WINDOWS_FRESH: &str = "\
Name:            VirtualBox Host-Only Ethernet Adapter #3
GUID:            5f0c1b2a-3d4e-4f60-8a9b-0c1d2e3f4a5b
DHCP:            Disabled
IPAddress:       0.0.0.0
NetworkMask:     15.0.0.0
IPV6Address:     fe80:0000:0000:0000:39e3:3df4:294c:5fd0
IPV6NetworkMaskPrefixLength: 64
HardwareAddress: 0a:00:27:00:00:0c
MediumType:      Ethernet
Status:          Up
VBoxNetworkName: HostInterfaceNetworking-VirtualBox Host-Only Ethernet Adapter #3

";

/// 7.x macOS `list hostonlynets` (from source; vagrant `VBOX_HOSTONLYNETS` fixture): not
/// `list hostonlyifs`, and must not pass for it.
pub(super) const HOSTONLYNETS_7_MACOS: &str = "\
Name:            vagrantnet-vbox1
GUID:            10f3a2d4-7c1b-4e8e-9a55-1b2c3d4e5f60

State:           Enabled
NetworkMask:     255.255.255.0
LowerIP:         192.168.56.0
UpperIP:         192.168.56.0
VBoxNetworkName: hostonly-vagrantnet-vbox1

";

/// As quoted in virtualbox-facts.md.
pub(super) const DHCPSERVERS_FACTS_DOC: &str = "\
NetworkName:    HostInterfaceNetworking-vboxnet0
IP:             192.168.99.6
NetworkMask:    255.255.255.0
lowerIPAddress: 192.168.99.100
upperIPAddress: 192.168.99.254
Enabled:        Yes
";

/// Real, Windows 6.0.x, never-configured server (samples doc §3, first of four blocks).
pub(super) const DHCPSERVERS_6_0_WINDOWS_UNCONFIGURED: &str = "\
NetworkName:    HostInterfaceNetworking-VirtualBox Host-Only Ethernet Adapter
IP:             0.0.0.0
NetworkMask:    0.0.0.0
lowerIPAddress: 0.0.0.0
upperIPAddress: 0.0.0.0
Enabled:        No
Global options:
   1:0.0.0.0

";

/// 6.0 with per-VM options (format from source, samples doc §3).
pub(super) const DHCPSERVERS_6_0_NIC_OPTIONS: &str = "\
NetworkName:    HostInterfaceNetworking-vboxnet0
IP:             192.168.56.100
NetworkMask:    255.255.255.0
lowerIPAddress: 192.168.56.101
upperIPAddress: 192.168.56.254
Enabled:        Yes
Global options:
   1:255.255.255.0
Options for NIC 2 of 'node-01':
   3:192.168.56.1
   6:8.8.8.8

";

/// Real 6.1.26 macOS (kubernetes/minikube#12311): the 6.1 layout with the docker-machine
/// server, then a second server with a group and an individual config (format from source),
/// blank line only between servers.
pub(super) const DHCPSERVERS_6_1_26_TWO: &str = "\
NetworkName:    HostInterfaceNetworking-vboxnet0
Dhcpd IP:       192.168.99.16
LowerIPAddress: 192.168.99.100
UpperIPAddress: 192.168.99.254
NetworkMask:    255.255.255.0
Enabled:        Yes
Global Configuration:
    minLeaseTime:     default
    defaultLeaseTime: default
    maxLeaseTime:     default
    Forced options:   None
    Suppressed opts.: None
        1/legacy: 255.255.255.0
Groups:               None
Individual Configs:   None

NetworkName:    HostInterfaceNetworking-vboxnet1
Dhcpd IP:       192.168.57.2
LowerIPAddress: 192.168.57.100
UpperIPAddress: 192.168.57.200
NetworkMask:    255.255.255.0
Enabled:        No
Global Configuration:
    minLeaseTime:     default
    defaultLeaseTime: 3600 sec
    maxLeaseTime:     default
    Forced options:   None
    Suppressed opts.: None
        1/legacy: 255.255.255.0
Group:                workers
    minLeaseTime:     default
    defaultLeaseTime: default
    maxLeaseTime:     default
    Forced options:   None
    Suppressed opts.: None
    Conditions:
        include  MAC       08:00:27:*
Individual Config:    MAC 08:00:27:aa:bb:cc
    Fixed Address:    192.168.57.50
    minLeaseTime:     default
    defaultLeaseTime: default
    maxLeaseTime:     default
    Forced options:   None
    Suppressed opts.: None";

/// Real 6.1.26 macOS (kubernetes/minikube#12311), as quoted in the samples doc §4: part 1,
/// the source-derived gap, part 2 (with the doc's elisions: `SATA-3-0`…`SATA-28-0`, `nic4`…`nic7`).
pub(super) const SHOWVMINFO_6_1_26_MACOS: &str =
    include_str!("../../tests/samples/showvminfo-6.1.26-macos.txt");

/// Real 7.0.x Linux, powered off (yunielrc/vedv), as quoted in the samples doc §4 (`nic3`…`nic7`
/// elided there).
pub(super) const SHOWVMINFO_7_0_LINUX: &str = r#"name="manjaro-gnome-x64-full-clean"
Encryption:     disabled
groups="/"
ostype="Arch Linux (64-bit)"
UUID="19e117b3-06f4-4a1e-851d-47336ad6a142"
CfgFile="/home/user/VirtualBox VMs/manjaro-gnome-x64-full-clean/manjaro-gnome-x64-full-clean.vbox"
SnapFldr="/home/user/VirtualBox VMs/manjaro-gnome-x64-full-clean/Snapshots"
LogFldr="/home/user/VirtualBox VMs/manjaro-gnome-x64-full-clean/Logs"
hardwareuuid="19e117b3-06f4-4a1e-851d-47336ad6a142"
memory=4096
pagefusion="off"
vram=64
cpuexecutioncap=100
hpet="off"
cpu-profile="host"
chipset="piix3"
firmware="BIOS"
cpus=4
pae="off"
longmode="on"
triplefaultreset="off"
apic="on"
x2apic="on"
nested-hw-virt="off"
cpuid-portability-level=0
bootmenu="messageandmenu"
boot1="dvd"
boot2="disk"
boot3="none"
boot4="none"
acpi="on"
ioapic="on"
biosapic="apic"
biossystemtimeoffset=0
BIOS NVRAM File="/home/user/VirtualBox VMs/manjaro-gnome-x64-full-clean/manjaro-gnome-x64-full-clean.nvram"
rtcuseutc="on"
hwvirtex="on"
nestedpaging="on"
largepages="on"
vtxvpid="on"
vtxux="on"
virtvmsavevmload="on"
iommu="none"
paravirtprovider="default"
effparavirtprovider="kvm"
VMState="poweroff"
VMStateChangeTime="2023-02-06T02:18:47.191000000"
graphicscontroller="vmsvga"
monitorcount=1
accelerate3d="off"
accelerate2dvideo="off"
teleporterenabled="off"
teleporterport=0
teleporteraddress=""
teleporterpassword=""
tracing-enabled="off"
tracing-allow-vm-access="off"
tracing-config=""
autostart-enabled="off"
autostart-delay=0
defaultfrontend=""
vmprocpriority="default"
storagecontrollername0="IDE"
storagecontrollertype0="PIIX4"
storagecontrollerinstance0="0"
storagecontrollermaxportcount0="2"
storagecontrollerportcount0="2"
storagecontrollerbootable0="on"
storagecontrollername1="SATA"
storagecontrollertype1="IntelAhci"
storagecontrollerinstance1="0"
storagecontrollermaxportcount1="30"
storagecontrollerportcount1="1"
storagecontrollerbootable1="on"
"IDE-0-0"="none"
"IDE-0-1"="none"
"IDE-1-0"="emptydrive"
"IDE-IsEjected-1-0"="off"
"IDE-1-1"="none"
"SATA-0-0"="/home/user/VirtualBox VMs/manjaro-gnome-x64-full-clean/manjaro-gnome-x64-full-clean-disk001.vdi"
"SATA-ImageUUID-0-0"="37a0bb6b-4292-464e-b766-1e8b7101ec94"
"SATA-hot-pluggable-0-0"="off"
"SATA-nonrotational-0-0"="off"
"SATA-discard-0-0"="off"
natnet1="nat"
macaddress1="08002744D7F6"
cableconnected1="on"
nic1="nat"
nictype1="82540EM"
nicspeed1="0"
mtu="0"
sockSnd="64"
sockRcv="64"
tcpWndSnd="64"
tcpWndRcv="64"
nic2="none"
nic8="none"
hidpointing="usbtablet"
hidkeyboard="ps2kbd"
uart1="off"
uart2="off"
uart3="off"
uart4="off"
lpt1="off"
lpt2="off"
audio="default"
audio_out="on"
audio_in="off"
clipboard="bidirectional"
draganddrop="bidirectional"
vrde="off"
usb="on"
ehci="on"
xhci="off"
recording_enabled="off"
recording_screens=1
 rec_screen0
rec_screen_enabled="on"
rec_screen_id=0
rec_screen_video_enabled="on"
rec_screen_dest="File"
rec_screen_dest_filename="/home/user/VirtualBox VMs/manjaro-gnome-x64-full-clean/manjaro-gnome-x64-full-clean-screen0.webm"
rec_screen_opts="vc_enabled=true,ac_enabled=false,ac_profile=med"
rec_screen_video_res_xy="1024x768"
rec_screen_video_rate_kbps=512
rec_screen_video_fps=25
description="name1=value1
name2=value2"
GuestMemoryBalloon=0
"#;

/// Real 7.0 Windows NIC lines (public Rust test, 2022-12) and a macOS 7 host-only network
/// NIC (vagrant 7.x fixture), samples doc §4.
pub(super) const SHOWVMINFO_7_0_NICS: &str = r#"name="xtec-4"
Encryption:     disabled
groups="/"
VMState="poweroff"
natnet1="nat"
macaddress1="080027C0FFEE"
cableconnected1="on"
nic1="nat"
nictype1="82540EM"
nicspeed1="0"
mtu="0"
sockSnd="64"
sockRcv="64"
tcpWndSnd="64"
tcpWndRcv="64"
Forwarding(0)="ssh,tcp,127.0.0.1,2201,,22"
hostonlyadapter2="VirtualBox Host-Only Ethernet Adapter"
macaddress2="080027AE1F98"
cableconnected2="on"
nic2="hostonly"
nictype2="82540EM"
nicspeed2="0"
hostonly-network3="vagrantnet-vbox1"
macaddress3="0800271A2B3C"
cableconnected3="off"
nic3="hostonlynetwork"
nictype3="82540EM"
nicspeed3="0"
nic4="none"
"#;

/// 5.2 Windows, running docker-machine VM: the 5.2 line list of tests/lab/reference/showvminfo.md
/// §2.1 with the real S52c values (raw shared folder `\\?\c:\Users`, raw storage paths,
/// escaped `CfgFile`, `VRDEClients=0`, `videocap*`, `audio_in` before `audio_out`).
pub(super) const SHOWVMINFO_5_2_WINDOWS: &str = r#"name="default"
groups="/"
ostype="Linux 2.6 / 3.x / 4.x (64-bit)"
UUID="3d1b4f62-93a1-4c1e-8a6e-2f7f0b6c9d11"
CfgFile="C:\\Users\\me\\.docker\\machine\\machines\\default\\default\\default.vbox"
SnapFldr="C:\\Users\\me\\.docker\\machine\\machines\\default\\default\\Snapshots"
LogFldr="C:\\Users\\me\\.docker\\machine\\machines\\default\\default\\Logs"
hardwareuuid="3d1b4f62-93a1-4c1e-8a6e-2f7f0b6c9d11"
memory=1024
pagefusion="off"
vram=8
cpuexecutioncap=100
hpet="on"
chipset="piix3"
firmware="BIOS"
cpus=1
VMState="running"
VMStateChangeTime="2020-08-20T09:12:01.123000000"
storagecontrollername0="SATA"
storagecontrollertype0="IntelAhci"
storagecontrollerinstance0="0"
storagecontrollermaxportcount0="30"
storagecontrollerportcount0="30"
storagecontrollerbootable0="on"
"SATA-0-0"="C:\Users\me\.docker\machine\machines\default\boot2docker.iso"
"SATA-ImageUUID-0-0"="e19bbcd1-04d1-4c45-b05a-07bf985467e0"
"SATA-tempeject"="off"
"SATA-IsEjected"="off"
"SATA-1-0"="C:\Users\me\.docker\machine\machines\default\disk.vmdk"
"SATA-ImageUUID-1-0"="adc5121f-6e26-48ab-ba4b-ca777f440673"
"SATA-2-0"="none"
natnet1="nat"
macaddress1="080027DC3858"
cableconnected1="on"
nic1="nat"
nictype1="82540EM"
nicspeed1="0"
mtu="0"
sockSnd="64"
sockRcv="64"
tcpWndSnd="64"
tcpWndRcv="64"
Forwarding(0)="ssh,tcp,127.0.0.1,50123,,22"
hostonlyadapter2="VirtualBox Host-Only Ethernet Adapter #2"
macaddress2="080027AFB224"
cableconnected2="on"
nic2="hostonly"
nictype2="82540EM"
nicspeed2="0"
nic3="none"
audio="dsound"
audio_in="false"
audio_out="false"
SessionName="headless"
VideoMode="720,400,0"@0,0 1
SharedFolderNameMachineMapping1="c/Users"
SharedFolderPathMachineMapping1="\\?\c:\Users"
VRDEActiveConnection="off"
VRDEClients=0
videocap="off"
videocap_audio="off"
videocapscreens=0
videocapfile="C:\\Users\\me\\.docker\\machine\\machines\\default\\default\\default.webm"
videocapres=1024x768
videocaprate=512
videocapfps=25
videocapopts=
GuestMemoryBalloon=0
GuestOSType="Linux26_64"
GuestAdditionsRunLevel=2
"#;

/// 5.0/5.1-format saved VM (terra-farm/go-virtualbox `vboxmanage-showvminfo-1.out`, the
/// keys the samples doc names).
pub(super) const SHOWVMINFO_5_1_SAVED: &str = r#"name="go-virtualbox"
UUID="def44546-e3da-4902-8d15-b91c99c80cbc"
memory=512
cpus=1
VMState="saved"
VMStateChangeTime="2018-03-10T19:22:47.000000000"
VMStateFile="/Users/me/VirtualBox VMs/go-virtualbox/Snapshots/2018-03-10T19-22-47-062Z.sav"
vrde="on"
vrdeport=-1
vrdeproperty[TCP/Ports]="5914"
vrdeproperty[TCP/Address]=<not set>
vcpenabled="off"
vcpscreens=0
"#;

/// 6.0/6.1 Windows vagrant VM (hashicorp/vagrant#11174, S6xW): escaped `CfgFile` and shared
/// folder path, raw storage path.
pub(super) const SHOWVMINFO_6_X_WINDOWS: &str = r#"name="gitlab"
CfgFile="F:\\VirtualBox VMs\\gitlab\\gitlab.vbox"
VMState="running"
memory=4096
cpus=2
storagecontrollername0="IDE Controller"
"IDE Controller-0-0"="F:\VirtualBox VMs\gitlab\box-disk001.vmdk"
SharedFolderNameMachineMapping1="vagrant"
SharedFolderPathMachineMapping1="\\\\?\\D:\\vagrant\\bak\\test2"
VRDEClients==0
capturescreens="0"
"#;

/// 7.1 head (main-branch source; no real sample exists).
pub(super) const SHOWVMINFO_7_1_HEAD: &str = r#"name="node-01"
encryption="disabled"
groups="/"
platformArchitecture="x86"
ostype="Linux 2.6 / 3.x / 4.x / 5.x (64-bit)"
UUID="0f3c2c1a-4d0e-4b8e-9d2a-6f1e2b3c4d5e"
CfgFile="/home/me/.vswarm/machines/node-01/node-01.vbox"
memory=1024
cpus=2
hpet="on"
NvramFile="/home/me/.vswarm/machines/node-01/node-01.nvram"
VMState="aborted-saved"
recording_started="off"
"#;

/// Every sample this module knows, for the truncation property.
pub(super) fn every_sample() -> Vec<&'static str> {
    let mut all = ALL_SAMPLE_FILES.to_vec();
    all.extend([
        VERSION_DEBIAN_5_1_6_WITH_WARNING,
        VERSION_ORACLE_WRAPPER_7_0_20,
        HOSTONLYIFS_5_X,
        HOSTONLYIFS_6_1_WINDOWS,
        HOSTONLYIFS_5_0_WINDOWS_FRESH,
        HOSTONLYNETS_7_MACOS,
        DHCPSERVERS_6_0_NIC_OPTIONS,
        DHCPSERVERS_6_1_26_TWO,
        SHOWVMINFO_6_1_26_MACOS,
        SHOWVMINFO_7_0_LINUX,
        SHOWVMINFO_5_2_WINDOWS,
        SHOWVMINFO_6_X_WINDOWS,
    ]);
    all
}

pub(super) fn arb_ipv4() -> impl Strategy<Value = Option<Ipv4Addr>> {
    proptest::option::of((1..=u32::MAX).prop_map(Ipv4Addr::from))
}

pub(super) fn arb_interface_name() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u32..64).prop_map(|n| format!("vboxnet{n}")),
        (1u32..12).prop_map(|n| match n {
            1 => "VirtualBox Host-Only Ethernet Adapter".to_string(),
            n => format!("VirtualBox Host-Only Ethernet Adapter #{n}"),
        }),
        "[A-Za-z0-9][A-Za-z0-9 #:_.()-]{0,24}[A-Za-z0-9#)]",
    ]
}
