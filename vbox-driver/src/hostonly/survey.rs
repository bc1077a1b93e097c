//! Reading VirtualBox's host-only state: the interfaces and DHCP servers (or, with VirtualBox 7
//! on macOS, the host-only networks) as they are now. Read-only calls, so that a plan can be
//! made, and shown, before anything changes.

use super::NetworkError;
use crate::parse::{self, DhcpServer, HostOnlyInterface, HostOnlyNet, VBoxVersion};
use crate::runner::VBoxManage;

/// VirtualBox's host-only interfaces and DHCP servers as they are now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostOnlySurvey {
    pub interfaces: Vec<HostOnlyInterface>,
    pub dhcp_servers: Vec<DhcpServer>,
    /// The host-only networks, on a host that has them instead of adapters (see
    /// [`uses_hostonly_networks`]); None elsewhere.
    pub networks: Option<Vec<HostOnlyNet>>,
}

/// Whether this VirtualBox makes host-only networks rather than adapters: version 7 or later
/// on macOS (`list hostinfo` names the host's OS; only asked of 7.x).
pub async fn uses_hostonly_networks(
    vbm: &VBoxManage,
    version: &VBoxVersion,
) -> Result<bool, NetworkError> {
    if version.major < 7 {
        return Ok(false);
    }
    let out = vbm.run(&["list", "hostinfo"]).await?;
    Ok(parse::parse_host_os(&out.stdout).is_some_and(|os| os.eq_ignore_ascii_case("darwin")))
}

/// The host-only networks (`list hostonlynets`).
pub async fn list_hostonly_networks(vbm: &VBoxManage) -> Result<Vec<HostOnlyNet>, NetworkError> {
    let out = vbm.run(&["list", "hostonlynets"]).await?;
    parse::parse_hostonlynets(&out.stdout).map_err(NetworkError::Parse)
}

/// Reads the host-only interfaces and the DHCP servers (two read-only calls, run together).
pub async fn survey_hostonly(vbm: &VBoxManage) -> Result<HostOnlySurvey, NetworkError> {
    let (interfaces, servers) = tokio::join!(list_hostonlyifs(vbm), list_dhcp_servers(vbm));
    Ok(HostOnlySurvey {
        interfaces: interfaces?,
        dhcp_servers: servers?,
        networks: None,
    })
}

pub(super) async fn list_hostonlyifs(
    vbm: &VBoxManage,
) -> Result<Vec<HostOnlyInterface>, NetworkError> {
    let out = vbm.run(&["list", "hostonlyifs"]).await?;
    parse::parse_hostonlyifs(&out.stdout).map_err(NetworkError::Parse)
}

pub(super) async fn list_dhcp_servers(vbm: &VBoxManage) -> Result<Vec<DhcpServer>, NetworkError> {
    let out = vbm.run(&["list", "dhcpservers"]).await?;
    parse::parse_dhcpservers(&out.stdout).map_err(NetworkError::Parse)
}
