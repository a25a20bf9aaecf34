//! [`RecvBatch`]: the reusable buffers of one `recvmmsg` call.

use std::net::IpAddr;

use super::Received;
#[cfg(doc)]
use super::VrrpSocket;
use crate::sys;

/// One accepted datagram of a [`RecvBatch`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Item {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) src: IpAddr,
    pub(super) dst: IpAddr,
    pub(super) ttl: u8,
    pub(super) ifindex: u32,
}

/// Reusable buffers for [`VrrpSocket::recv_batch`]: 32 slots of 4 KiB, each
/// large enough for the largest VRRP datagram (an IPv6 advert with 255
/// addresses is 4088 octets; an IPv4 one with its IP header at most 1088).
/// The slots are allocated zeroed, so the pages a batch never fills are
/// never made resident.
#[derive(Debug)]
pub struct RecvBatch {
    pub(super) data: Vec<u8>,
    pub(super) slot: usize,
    pub(super) meta: [sys::RecvMeta; sys::MMSG_MAX],
    pub(super) items: Vec<Item>,
}

impl Default for RecvBatch {
    fn default() -> Self {
        Self::new()
    }
}

impl RecvBatch {
    /// Datagrams one [`VrrpSocket::recv_batch`] call reads at most.
    pub const CAPACITY: usize = sys::MMSG_MAX;
    /// Bytes per slot.
    pub const SLOT_LEN: usize = 4096;

    /// Empty buffers.
    pub fn new() -> Self {
        RecvBatch {
            data: vec![0; Self::SLOT_LEN * Self::CAPACITY],
            slot: Self::SLOT_LEN,
            meta: [sys::RecvMeta::default(); sys::MMSG_MAX],
            items: Vec::with_capacity(Self::CAPACITY),
        }
    }

    /// The datagrams the last call accepted.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True if the last call accepted none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Datagram `i` of the last call, as [`VrrpSocket::recv`] returns it.
    pub fn get(&self, i: usize) -> Option<Received<'_>> {
        let it = self.items.get(i)?;
        Some(Received {
            ifindex: it.ifindex,
            src: it.src,
            dst: it.dst,
            ttl: it.ttl,
            payload: self.data.get(it.start..it.end)?,
        })
    }

    /// The datagrams of the last call, in arrival order.
    pub fn iter(&self) -> impl Iterator<Item = Received<'_>> + '_ {
        (0..self.items.len()).filter_map(|i| self.get(i))
    }
}
