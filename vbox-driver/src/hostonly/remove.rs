//! Removing what vswarm made of a network (the DHCP server, the interface, or the host-only
//! network), and finding the VMs still attached to it first. Something already gone is not an
//! error: removal runs again after a partial failure.

use super::{NetworkError, dhcp_network_name};
use crate::parse;
use crate::runner::{VBoxManage, VBoxManageError};

/// Removes what vswarm made of a network: the DHCP server (when `dhcp`) and the interface (when
/// `interface`). Either being gone already is not an error.
pub async fn remove_hostonly_network(
    vbm: &VBoxManage,
    name: &str,
    dhcp: bool,
    interface: bool,
) -> Result<(), NetworkError> {
    if dhcp {
        let netname = dhcp_network_name(name);
        match vbm
            .run(&["dhcpserver", "remove", "--netname", &netname])
            .await
        {
            Ok(_) => tracing::info!(network = %netname, "removed the DHCP server"),
            Err(e) if is_missing(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if interface {
        match vbm.run(&["hostonlyif", "remove", name]).await {
            Ok(_) => tracing::info!(interface = name, "removed the host-only interface"),
            Err(e) if is_missing(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Removes a host-only network vswarm made (VirtualBox 7 on macOS); one gone already is fine.
pub async fn remove_hostonly_net(vbm: &VBoxManage, name: &str) -> Result<(), NetworkError> {
    match vbm.run(&["hostonlynet", "remove", "--name", name]).await {
        Ok(_) => {
            tracing::info!(network = name, "removed the host-only network");
            Ok(())
        }
        Err(e) if is_missing(&e) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// VirtualBox's words for a DHCP server or interface that does not exist.
fn is_missing(e: &VBoxManageError) -> bool {
    let text = e.stderr();
    e.is_not_found()
        || text.contains("DHCP server does not exist")
        || text.contains("could not be found")
        || text.contains("Could not find")
        || text.contains("VBOX_E_OBJECT_NOT_FOUND")
}

/// The VMs (by name) whose adapters are attached to the host-only interface `name`: one
/// `list vms` and one `showvminfo` per VM, run together.
pub async fn vms_on_hostonly(vbm: &VBoxManage, name: &str) -> Result<Vec<String>, NetworkError> {
    let out = vbm.run(&["list", "vms"]).await?;
    let vms = parse::parse_list_vms(&out.stdout);
    let infos = futures::future::join_all(vms.iter().map(|vm| async move {
        let out = vbm
            .run(&["showvminfo", &vm.uuid, "--machinereadable"])
            .await;
        (vm.name.clone(), out)
    }))
    .await;
    let mut using = Vec::new();
    for (vm, out) in infos {
        let Ok(out) = out else { continue };
        let Ok(info) = parse::parse_showvminfo(&out.stdout) else {
            continue;
        };
        if (1..=8).any(|slot| {
            info.nic(slot).is_some_and(|n| {
                n.hostonly_adapter.as_deref() == Some(name)
                    || n.hostonly_network.as_deref() == Some(name)
            })
        }) {
            using.push(vm);
        }
    }
    Ok(using)
}
