//! The few raw system calls that neither socket2 nor nix wrap. Each `unsafe`
//! block is in a small function with its safety argument.

use std::io;
use std::os::fd::RawFd;

/// `setsockopt(fd, level, name, &value)` for a plain-data option value.
pub(crate) fn setsockopt<T: Copy>(fd: RawFd, level: i32, name: i32, value: &T) -> io::Result<()> {
    let len = libc::socklen_t::try_from(std::mem::size_of::<T>())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: `value` points to `len` readable bytes of a `Copy` (plain
    // data) value that outlives the call; the kernel only reads them.
    let rc = unsafe { libc::setsockopt(fd, level, name, (value as *const T).cast(), len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `sendto(fd, frame, 0, sockaddr_ll{ifindex, protocol})` on an `AF_PACKET`
/// socket: sends a complete Ethernet frame out of interface `ifindex`.
pub(crate) fn send_frame(fd: RawFd, ifindex: u32, ethertype: u16, frame: &[u8]) -> io::Result<()> {
    let ifindex = i32::try_from(ifindex).map_err(|_| io::Error::from_raw_os_error(libc::ENODEV))?;
    let mut dst = [0u8; 8];
    if let Some(d) = frame.get(..6) {
        dst[..6].copy_from_slice(d);
    }
    let sll = libc::sockaddr_ll {
        sll_family: libc::AF_PACKET as u16,
        sll_protocol: ethertype.to_be(),
        sll_ifindex: ifindex,
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 6,
        sll_addr: dst,
    };
    let len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: `frame` is a valid readable slice of `frame.len()` bytes and
    // `sll` a fully initialised sockaddr_ll of `len` bytes, both alive for
    // the duration of the call; the kernel only reads them.
    let rc = unsafe {
        libc::sendto(
            fd,
            frame.as_ptr().cast(),
            frame.len(),
            0,
            (&sll as *const libc::sockaddr_ll).cast(),
            len,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `SO_BINDTODEVICE` by interface index: the socket then only sends and
/// receives through that interface.
pub(crate) fn bind_to_device(sock: &socket2::Socket, ifindex: u32) -> io::Result<()> {
    let name = nix::net::if_::if_indextoname(ifindex).map_err(io::Error::from)?;
    sock.bind_device(Some(name.as_bytes()))
}

/// Sets `O_NONBLOCK` on `fd` (for sockets that expose only a raw fd).
pub(crate) fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    // SAFETY: the caller passes the fd of a socket object it owns and keeps
    // alive for the duration of this call; the borrow does not outlive it.
    let bfd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    let flags = fcntl(bfd, FcntlArg::F_GETFL).map_err(io::Error::from)?;
    let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
    fcntl(bfd, FcntlArg::F_SETFL(flags)).map_err(io::Error::from)?;
    Ok(())
}
