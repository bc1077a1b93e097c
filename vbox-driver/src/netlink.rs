//! Bringing a Linux interface up with its address, through netlink (needs CAP_NET_ADMIN).
//!
//! This is the manual fix of the seed (`ip addr add ... && ip link set ... up`) done by vswarm
//! itself when it runs as root.

use std::net::IpAddr;

use ipnet::Ipv4Net;

/// Adds `net` to `interface` (when `add_address`) and sets the interface up.
#[cfg(target_os = "linux")]
pub async fn bring_up(interface: &str, net: Ipv4Net, add_address: bool) -> Result<(), String> {
    let index: u32 = std::fs::read_to_string(format!("/sys/class/net/{interface}/ifindex"))
        .map_err(|e| format!("no interface {interface}: {e}"))?
        .trim()
        .parse()
        .map_err(|e| format!("reading the index of {interface}: {e}"))?;
    let (connection, handle, _) =
        rtnetlink::new_connection().map_err(|e| format!("netlink: {e}"))?;
    let task = tokio::spawn(connection);
    let result = async {
        if add_address {
            handle
                .address()
                .add(index, IpAddr::V4(net.addr()), net.prefix_len())
                .execute()
                .await
                .map_err(|e| format!("adding {net}: {e}"))?;
        }
        handle
            .link()
            .set(rtnetlink::LinkUnspec::new_with_index(index).up().build())
            .execute()
            .await
            .map_err(|e| format!("setting {interface} up: {e}"))
    }
    .await;
    task.abort();
    result
}

#[cfg(not(target_os = "linux"))]
pub async fn bring_up(interface: &str, net: Ipv4Net, _add_address: bool) -> Result<(), String> {
    Err(format!(
        "configuring {interface} with {net} is only done on Linux"
    ))
}
