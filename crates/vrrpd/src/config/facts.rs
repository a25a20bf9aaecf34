//! What the rules between instances need to know of each one, even of an
//! instance with errors of its own.

use std::net::IpAddr;
use std::ops::Range;

use toml::Spanned;

use super::model::{Family, Vip};
use super::raw::RawInstance;

/// What the rules between instances need to know of one, read as far as
/// it could be (the instance itself may have errors).
#[derive(Debug)]
pub(crate) struct Facts {
    pub(crate) name: String,
    pub(crate) interface: Option<Spanned<String>>,
    pub(crate) vrid: Option<Spanned<u8>>,
    pub(crate) family: Family,
    /// Each VIP that could be read, with its position.
    pub(crate) vips: Vec<(IpAddr, Range<usize>)>,
    /// The virtual MAC interface's name and the position of `use_vmac`.
    pub(crate) vmac: Option<(String, Range<usize>)>,
}

impl Facts {
    /// What the rules between instances need of one instance.
    pub(super) fn of(
        ri: &RawInstance,
        name: Option<&str>,
        vrid_ok: bool,
        family: Family,
        vips: &[(Vip, Range<usize>)],
        vmac: Option<&str>,
    ) -> Facts {
        Facts {
            name: name.unwrap_or_default().to_owned(),
            interface: ri.interface.clone(),
            vrid: ri.vrid.clone().filter(|_| vrid_ok),
            family,
            vips: vips
                .iter()
                .map(|(v, span)| (v.addr, span.clone()))
                .collect(),
            vmac: vmac
                .map(str::to_owned)
                .zip(ri.use_vmac.as_ref().map(Spanned::span)),
        }
    }
}
