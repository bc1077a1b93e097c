//! Bringing a Linux interface up with its address, through netlink (needs CAP_NET_ADMIN).
//!
//! This is the manual fix of the seed (`ip addr add ... && ip link set ... up`) done by vswarm
//! itself when it runs as root.

use ipnet::Ipv4Net;

/// What a netlink request fails with: rtnetlink's error on Linux. Elsewhere no request is made,
/// so none can fail.
#[cfg(target_os = "linux")]
type RequestError = rtnetlink::Error;
#[cfg(not(target_os = "linux"))]
type RequestError = std::convert::Infallible;

/// Why an interface could not be brought up with its address: the step that failed, with what
/// the system said as its source.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    /// `/sys/class/net/<interface>/ifindex` cannot be read: no such kernel interface.
    #[error("no interface {interface}")]
    NoInterface {
        interface: String,
        #[source]
        source: std::io::Error,
    },
    #[error("reading the index of {interface}")]
    BadIndex {
        interface: String,
        #[source]
        source: std::num::ParseIntError,
    },
    #[error("opening a netlink connection")]
    Connection(#[source] std::io::Error),
    #[error("adding {net}")]
    AddAddress {
        net: Ipv4Net,
        #[source]
        source: RequestError,
    },
    #[error("setting {interface} up")]
    SetUp {
        interface: String,
        #[source]
        source: RequestError,
    },
    /// Every request succeeded, yet the kernel does not show the interface up with its address.
    #[error("the interface is still not up with its address after the fix")]
    StillDown,
    #[error("configuring {interface} with {net} is only done on Linux")]
    NotLinux { interface: String, net: Ipv4Net },
}

/// Adds `net` to `interface` (when `add_address`) and sets the interface up.
#[cfg(target_os = "linux")]
pub async fn bring_up(
    interface: &str,
    net: Ipv4Net,
    add_address: bool,
) -> Result<(), NetlinkError> {
    use std::net::IpAddr;

    let index: u32 = std::fs::read_to_string(format!("/sys/class/net/{interface}/ifindex"))
        .map_err(|source| NetlinkError::NoInterface {
            interface: interface.to_string(),
            source,
        })?
        .trim()
        .parse()
        .map_err(|source| NetlinkError::BadIndex {
            interface: interface.to_string(),
            source,
        })?;
    let (connection, handle, _) = rtnetlink::new_connection().map_err(NetlinkError::Connection)?;
    let task = tokio::spawn(connection);
    let result = async {
        if add_address {
            handle
                .address()
                .add(index, IpAddr::V4(net.addr()), net.prefix_len())
                .execute()
                .await
                .map_err(|source| NetlinkError::AddAddress { net, source })?;
        }
        handle
            .link()
            .set(rtnetlink::LinkUnspec::new_with_index(index).up().build())
            .execute()
            .await
            .map_err(|source| NetlinkError::SetUp {
                interface: interface.to_string(),
                source,
            })
    }
    .await;
    task.abort();
    result
}

#[cfg(not(target_os = "linux"))]
pub async fn bring_up(
    interface: &str,
    net: Ipv4Net,
    _add_address: bool,
) -> Result<(), NetlinkError> {
    Err(NetlinkError::NotLinux {
        interface: interface.to_string(),
        net,
    })
}
