//! [`Netlink`]: the `NETLINK_ROUTE` socket and its request loop.

use std::io::{self, Cursor};

use neli::consts::nl::NlmF;
use neli::consts::rtnl::Rtm;
use neli::consts::socket::NlFamily;
use neli::err::SocketError;
use neli::nl::{NlPayload, NlmsghdrBuilder};
use neli::socket::synchronous::NlSocketHandle;
use neli::types::Buffer;
use neli::utils::Groups;
use neli::{FromBytesWithInput, Size, ToBytes};

use super::attr::invalid;
use crate::error::{Error, Result};

/// Converts a neli socket error into an `io::Error`, keeping the OS error
/// where there is one.
pub(crate) fn sock_err(e: SocketError) -> io::Error {
    match e {
        SocketError::Io(arc) => match arc.raw_os_error() {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::new(arc.kind(), arc.to_string()),
        },
        other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
    }
}

/// A blocking rtnetlink handle for configuration requests.
pub struct Netlink {
    sock: NlSocketHandle,
    seq: u32,
}

impl std::fmt::Debug for Netlink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Netlink")
            .field("pid", &self.sock.pid())
            .finish()
    }
}

impl Netlink {
    /// Opens a `NETLINK_ROUTE` socket in the calling thread's network namespace.
    pub fn new() -> Result<Self> {
        let sock =
            NlSocketHandle::connect(NlFamily::Route, None, Groups::empty()).map_err(|e| {
                Error::NetlinkSocket {
                    source: sock_err(e),
                }
            })?;
        // Strict checking makes the kernel honour ifindex filters in dumps
        // (Linux >= 4.20); older kernels ignore it and we filter ourselves.
        let _ = sock.enable_strict_checking(true);
        Ok(Netlink { sock, seq: 0 })
    }

    /// Sends a change and reads errno `unchanged` as "nothing to do":
    /// `Ok(true)` if the kernel made the change, `Ok(false)` if it answered
    /// `unchanged` (`EEXIST` for an add, a delete's "not there").
    pub(super) fn change<P>(
        &mut self,
        ty: Rtm,
        flags: NlmF,
        payload: P,
        unchanged: i32,
    ) -> io::Result<bool>
    where
        P: Size + ToBytes + FromBytesWithInput<Input = usize> + std::fmt::Debug,
    {
        match self.request(ty, flags, payload) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(unchanged) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Sends one request and collects the answer: every payload of a dump,
    /// or nothing for an acknowledged change. Kernel errors come back as
    /// `io::Error::from_raw_os_error(errno)`.
    pub(super) fn request<P>(&mut self, ty: Rtm, flags: NlmF, payload: P) -> io::Result<Vec<P>>
    where
        P: Size + ToBytes + FromBytesWithInput<Input = usize> + std::fmt::Debug,
    {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let dump = flags.contains(NlmF::DUMP);
        let flags = flags | NlmF::REQUEST | if dump { NlmF::empty() } else { NlmF::ACK };
        let msg = NlmsghdrBuilder::default()
            .nl_type(ty)
            .nl_flags(flags)
            .nl_seq(seq)
            .nl_payload(NlPayload::Payload(payload))
            .build()
            .map_err(invalid)?;
        self.sock.send(&msg).map_err(sock_err)?;
        let mut out = Vec::new();
        loop {
            let (iter, _) = self.sock.recv::<u16, Buffer>().map_err(sock_err)?;
            for m in iter {
                let m = m.map_err(sock_err)?;
                if *m.nl_seq() != seq {
                    // A late answer to an earlier request; not ours.
                    continue;
                }
                let ty: u16 = *m.nl_type();
                let len = (*m.nl_len() as usize).saturating_sub(16);
                match m.nl_payload() {
                    NlPayload::Err(e) => return Err(io::Error::from_raw_os_error(-*e.error())),
                    NlPayload::Ack(_) => return Ok(out),
                    NlPayload::DumpExtAck(_) => return Ok(out),
                    NlPayload::Empty => {
                        if ty == libc::NLMSG_DONE as u16 {
                            return Ok(out);
                        }
                    }
                    NlPayload::Payload(buf) => {
                        if ty == libc::NLMSG_DONE as u16 {
                            // Some kernels put an error code in DONE.
                            return Ok(out);
                        }
                        if ty == libc::NLMSG_NOOP as u16 {
                            continue;
                        }
                        let p = P::from_bytes_with_input(
                            &mut Cursor::new(buf.as_ref()),
                            len.min(buf.as_ref().len()),
                        )
                        .map_err(invalid)?;
                        out.push(p);
                    }
                }
            }
        }
    }
}
