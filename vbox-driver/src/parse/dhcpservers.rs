//! `VBoxManage list dhcpservers` in its three layouts (≤5.2, 6.0, 6.1+): the DHCP servers of
//! the host-only interfaces, which vswarm keeps, modifies or adds for the cluster's network.

use std::net::Ipv4Addr;

use super::{ParseError, VBoxOutput, field, flag, key_value_records, optional_ipv4, text_of};

/// One server of `VBoxManage list dhcpservers`. Addresses are `None` when printed as `0.0.0.0`
/// (a server that was never configured).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpServer {
    /// `HostInterfaceNetworking-<interface>` for a host-only interface's server.
    pub network_name: String,
    /// `IP:` (≤6.0) or `Dhcpd IP:` (6.1+).
    pub server_ip: Option<Ipv4Addr>,
    pub netmask: Option<Ipv4Addr>,
    pub lower_ip: Option<Ipv4Addr>,
    pub upper_ip: Option<Ipv4Addr>,
    pub enabled: bool,
}

const DHCPSERVER_KEYS: [&str; 8] = [
    "NetworkName",
    "IP",
    "Dhcpd IP",
    "NetworkMask",
    "lowerIPAddress",
    "upperIPAddress",
    "Enabled",
    // Not read, but proves the block belongs to a server.
    "Global Configuration",
];

/// Parses `VBoxManage list dhcpservers` in all three layouts (≤5.2, 6.0, 6.1+), by key and
/// without regard to the keys' case; option and configuration sub-lines are skipped.
pub fn parse_dhcpservers(stdout: &str) -> Result<Vec<DhcpServer>, ParseError> {
    const OUTPUT: VBoxOutput = VBoxOutput::DhcpServers;
    let records = key_value_records(stdout, OUTPUT, "NetworkName", &DHCPSERVER_KEYS)?;
    records
        .iter()
        .map(|record| {
            let server_ip = record.iter().rev().find(|f| {
                f.key.eq_ignore_ascii_case("IP") || f.key.eq_ignore_ascii_case("Dhcpd IP")
            });
            Ok(DhcpServer {
                network_name: text_of(field(record, "NetworkName")),
                server_ip: optional_ipv4(server_ip, OUTPUT)?,
                netmask: optional_ipv4(field(record, "NetworkMask"), OUTPUT)?,
                lower_ip: optional_ipv4(field(record, "lowerIPAddress"), OUTPUT)?,
                upper_ip: optional_ipv4(field(record, "upperIPAddress"), OUTPUT)?,
                enabled: flag(field(record, "Enabled"), OUTPUT)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::ParseProblem;
    use crate::parse::samples::*;
    use proptest::prelude::*;

    fn servers(text: &str) -> Vec<DhcpServer> {
        parse_dhcpservers(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    fn server(name: &str, ips: [&str; 4], enabled: bool) -> DhcpServer {
        let address = |text: &str| Some(ip(text)).filter(|a| !a.is_unspecified());
        DhcpServer {
            network_name: name.into(),
            server_ip: address(ips[0]),
            netmask: address(ips[1]),
            lower_ip: address(ips[2]),
            upper_ip: address(ips[3]),
            enabled,
        }
    }

    #[test]
    fn dhcpservers_5_0_windows() {
        assert_eq!(
            servers(DHCPSERVERS_5_0_WINDOWS),
            [
                server(
                    "HostInterfaceNetworking-VirtualBox Host-Only Ethernet Adapter",
                    [
                        "192.168.56.100",
                        "255.255.255.0",
                        "192.168.56.101",
                        "192.168.56.254"
                    ],
                    true
                ),
                server(
                    "HostInterfaceNetworking-VirtualBox Host-Only Ethernet Adapter #4",
                    [
                        "192.168.99.6",
                        "255.255.255.0",
                        "192.168.99.100",
                        "192.168.99.254"
                    ],
                    true
                ),
            ]
        );
        assert_eq!(
            servers(&crlf(DHCPSERVERS_5_0_WINDOWS)),
            servers(DHCPSERVERS_5_0_WINDOWS)
        );
        assert_eq!(
            servers(DHCPSERVERS_FACTS_DOC),
            [server(
                "HostInterfaceNetworking-vboxnet0",
                [
                    "192.168.99.6",
                    "255.255.255.0",
                    "192.168.99.100",
                    "192.168.99.254"
                ],
                true
            )]
        );
    }

    #[test]
    fn dhcpservers_6_0_and_6_1_describe_the_same_server() {
        let want = [server(
            "HostInterfaceNetworking-vboxnet0",
            [
                "172.28.128.2",
                "255.255.255.0",
                "172.28.128.3",
                "172.28.128.254",
            ],
            true,
        )];
        assert_eq!(servers(DHCPSERVERS_6_0), want);
        assert_eq!(servers(DHCPSERVERS_6_1), want);
        assert_eq!(servers(&crlf(DHCPSERVERS_6_1)), want);
    }

    #[test]
    fn dhcpservers_6_0_unconfigured_and_per_nic_options() {
        assert_eq!(
            servers(DHCPSERVERS_6_0_WINDOWS_UNCONFIGURED),
            [server(
                "HostInterfaceNetworking-VirtualBox Host-Only Ethernet Adapter",
                ["0.0.0.0", "0.0.0.0", "0.0.0.0", "0.0.0.0"],
                false
            )]
        );
        assert_eq!(
            servers(DHCPSERVERS_6_0_NIC_OPTIONS),
            [server(
                "HostInterfaceNetworking-vboxnet0",
                [
                    "192.168.56.100",
                    "255.255.255.0",
                    "192.168.56.101",
                    "192.168.56.254"
                ],
                true
            )]
        );
    }

    #[test]
    fn dhcpservers_6_1_groups_and_individual_configs() {
        assert_eq!(
            servers(DHCPSERVERS_6_1_26_TWO),
            [
                server(
                    "HostInterfaceNetworking-vboxnet0",
                    [
                        "192.168.99.16",
                        "255.255.255.0",
                        "192.168.99.100",
                        "192.168.99.254"
                    ],
                    true
                ),
                server(
                    "HostInterfaceNetworking-vboxnet1",
                    [
                        "192.168.57.2",
                        "255.255.255.0",
                        "192.168.57.100",
                        "192.168.57.200"
                    ],
                    false
                ),
            ]
        );
    }

    #[test]
    fn dhcpservers_errors() {
        assert_eq!(servers(""), []);
        let err = parse_dhcpservers(
            &DHCPSERVERS_6_0.replace("Enabled:        Yes", "Enabled:        Maybe"),
        )
        .unwrap_err();
        assert_eq!(err.output, VBoxOutput::DhcpServers);
        assert!(matches!(&err.problem, ParseProblem::BadValue { key, .. } if key == "Enabled"));
        assert_eq!(err.line.map(|l| l.number), Some(6));

        let headless =
            DHCPSERVERS_6_1.replacen("NetworkName:    HostInterfaceNetworking-vboxnet0\n", "", 1);
        let err = parse_dhcpservers(&headless).unwrap_err();
        assert_eq!(err.problem, ParseProblem::MissingKey("NetworkName"));
        assert_eq!(err.line.map(|l| l.number), Some(1));
    }

    fn arb_dhcpserver() -> impl Strategy<Value = DhcpServer> {
        (
            prop_oneof![
                arb_interface_name().prop_map(|n| format!("HostInterfaceNetworking-{n}")),
                "[A-Za-z][A-Za-z0-9 _#:-]{0,20}[A-Za-z0-9]",
            ],
            (arb_ipv4(), arb_ipv4(), arb_ipv4(), arb_ipv4()),
            any::<bool>(),
        )
            .prop_map(
                |(network_name, (server_ip, netmask, lower_ip, upper_ip), enabled)| DhcpServer {
                    network_name,
                    server_ip,
                    netmask,
                    lower_ip,
                    upper_ip,
                    enabled,
                },
            )
    }

    /// How a version printed `list dhcpservers`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum DhcpLayout {
        Legacy,
        GlobalOptions,
        GlobalConfiguration,
        GlobalConfigurationCrlf,
    }

    fn format_dhcpservers(list: &[DhcpServer], layout: DhcpLayout) -> String {
        let address = |a: Option<Ipv4Addr>| a.unwrap_or(Ipv4Addr::UNSPECIFIED).to_string();
        let yes_no = |b: bool| if b { "Yes" } else { "No" };
        let blocks: Vec<String> = list
            .iter()
            .enumerate()
            .map(|(index, s)| {
                let mask = address(s.netmask);
                if layout == DhcpLayout::Legacy || layout == DhcpLayout::GlobalOptions {
                    let mut block = format!(
                        "NetworkName:    {}\nIP:             {}\nNetworkMask:    {}\nlowerIPAddress: {}\nupperIPAddress: {}\nEnabled:        {}\n",
                        s.network_name,
                        address(s.server_ip),
                        mask,
                        address(s.lower_ip),
                        address(s.upper_ip),
                        yes_no(s.enabled)
                    );
                    if layout == DhcpLayout::GlobalOptions {
                        block.push_str(&format!("Global options:\n   1:{mask}\n"));
                        if index % 2 == 1 {
                            block.push_str("Options for NIC 1 of 'node-01':\n   3:192.168.56.1\n");
                        }
                    }
                    format!("{block}\n")
                } else {
                    let lease = "    minLeaseTime:     default\n    defaultLeaseTime: default\n    maxLeaseTime:     default\n    Forced options:   None\n    Suppressed opts.: None\n";
                    let mut block = format!(
                        "NetworkName:    {}\nDhcpd IP:       {}\nLowerIPAddress: {}\nUpperIPAddress: {}\nNetworkMask:    {}\nEnabled:        {}\nGlobal Configuration:\n{lease}        1/legacy: {mask}\n",
                        s.network_name,
                        address(s.server_ip),
                        address(s.lower_ip),
                        address(s.upper_ip),
                        mask,
                        yes_no(s.enabled)
                    );
                    if index % 2 == 1 {
                        block.push_str(&format!(
                            "Group:                g{index}\n{lease}    Conditions:\n        include  MAC       08:00:27:*\nIndividual Config:    MAC 08:00:27:00:00:{index:02x}\n    Fixed Address:    dynamic\n{lease}"
                        ));
                    } else {
                        block.push_str("Groups:               None\nIndividual Configs:   None\n");
                    }
                    block
                }
            })
            .collect();
        match layout {
            DhcpLayout::Legacy | DhcpLayout::GlobalOptions => blocks.concat(),
            DhcpLayout::GlobalConfiguration => blocks.join("\n"),
            DhcpLayout::GlobalConfigurationCrlf => crlf(&blocks.join("\n")),
        }
    }

    proptest! {
        #[test]
        fn dhcpservers_round_trip_in_every_layout(
            list in prop::collection::vec(arb_dhcpserver(), 0..5),
            layout in prop::sample::select(vec![
                DhcpLayout::Legacy,
                DhcpLayout::GlobalOptions,
                DhcpLayout::GlobalConfiguration,
                DhcpLayout::GlobalConfigurationCrlf,
            ]),
        ) {
            let text = format_dhcpservers(&list, layout);
            prop_assert_eq!(parse_dhcpservers(&text), Ok(list), "{}", text);
        }
    }
}
