//! Whose VMs these are: the mark vswarm writes on every VM it makes (`vswarm/owner` extra data),
//! and the checks that keep a driver's hands off VMs it did not make. vswarm changes or deletes
//! only what it created and marked as its own.

use super::{OWNER_KEY, VirtualBoxDriver, VirtualBoxError};
use crate::parse::{self, MachineInfo};
use crate::runner::VBoxManage;

/// Whose VMs a driver may change: those whose [`OWNER_KEY`] is `tag`, and the VMs named in
/// `adopt` (recorded as this owner's before VMs were marked; they are marked when met). A tag
/// ending in `/` (a cluster whose id is lost with its record) matches every id of that name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Owner {
    pub tag: String,
    pub adopt: Vec<String>,
}

impl Owner {
    /// Whether a VM's mark is this owner's.
    pub fn marks(&self, mark: &str) -> bool {
        mark == self.tag || (self.tag.ends_with('/') && mark.starts_with(&self.tag))
    }
}

/// The VMs whose mark `owner` recognizes: `list vms`, then every VM's mark, read together.
pub async fn marked_vms(vbm: &VBoxManage, owner: &Owner) -> Result<Vec<String>, VirtualBoxError> {
    let out = vbm.run(&["list", "vms"]).await?;
    let vms = parse::parse_list_vms(&out.stdout);
    let marks = futures::future::join_all(vms.iter().map(|vm| async move {
        let out = vbm.run(&["getextradata", &vm.uuid, OWNER_KEY]).await;
        (vm.name.clone(), out)
    }))
    .await;
    Ok(marks
        .into_iter()
        .filter_map(|(name, out)| {
            let mark = parse::parse_guestproperty_value(&out.ok()?.stdout)?;
            owner.marks(&mark).then_some(name)
        })
        .collect())
}

/// Marks a VM another tool made (docker-machine's) as `owner`'s, on the user's word (`vswarm
/// import`). A VM another cluster marked is refused.
pub async fn adopt_vm(vbm: &VBoxManage, name: &str, owner: &Owner) -> Result<(), VirtualBoxError> {
    let out = vbm.run(&["getextradata", name, OWNER_KEY]).await?;
    match parse::parse_guestproperty_value(&out.stdout) {
        Some(mark) if owner.marks(&mark) => Ok(()),
        Some(mark) => Err(VirtualBoxError::NotOurs {
            name: name.to_string(),
            found: Some(mark),
        }),
        None => {
            vbm.run(&["setextradata", name, OWNER_KEY, &owner.tag])
                .await?;
            Ok(())
        }
    }
}

impl VirtualBoxDriver {
    /// Whose mark a VM carries (None: none), when this driver has an owner.
    pub(super) async fn mark(&self, name: &str) -> Result<Option<String>, VirtualBoxError> {
        let out = self.vbm.run(&["getextradata", name, OWNER_KEY]).await?;
        Ok(parse::parse_guestproperty_value(&out.stdout).filter(|v| !v.is_empty()))
    }

    /// Checks that an existing VM is this driver's owner's (marking it when it is recorded as
    /// theirs but unmarked); `mark` is what [`Self::mark`] read.
    pub(super) async fn check_mark(
        &self,
        name: &str,
        mark: Result<Option<String>, VirtualBoxError>,
    ) -> Result<(), VirtualBoxError> {
        let Some(owner) = &self.owner else {
            return Ok(());
        };
        match mark? {
            Some(tag) if owner.marks(&tag) => Ok(()),
            None if owner.adopt.iter().any(|a| a == name) => {
                self.vbm
                    .run(&["setextradata", name, OWNER_KEY, &owner.tag])
                    .await?;
                Ok(())
            }
            found => Err(VirtualBoxError::NotOurs {
                name: name.to_string(),
                found,
            }),
        }
    }

    /// The VM's details, checked to be this driver's owner's (None: no such VM). The mark is
    /// read alongside the details: one round of calls.
    pub(super) async fn own_info(
        &self,
        name: &str,
    ) -> Result<Option<MachineInfo>, VirtualBoxError> {
        if self.owner.is_none() {
            return self.info(name).await;
        }
        let (info, mark) = tokio::join!(self.info(name), self.mark(name));
        let info = info?;
        if info.is_some() {
            self.check_mark(name, mark).await?;
        }
        Ok(info)
    }
}
