//! Sans-IO codecs for VRRP (work in progress; see repr.rs for the pinned contract).
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod repr;
mod types;

pub use repr::{Advert, Auth, VirtualAddrs};
pub use types::{Interval, Priority, Version, Vrid};
