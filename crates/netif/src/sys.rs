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

/// Messages per `recvmmsg` / `sendmmsg` call.
pub(crate) const MMSG_MAX: usize = 32;

/// Room for the control messages of one datagram, 8-byte aligned (a
/// hop-limit `int` and an `in6_pktinfo`, or an `in_pktinfo`, fit in 64).
type Control = [u64; 16];

/// What `recvmmsg` said about one datagram.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RecvMeta {
    /// Bytes the datagram had (may exceed the slot: see `truncated`).
    pub(crate) len: usize,
    /// The datagram did not fit its slot.
    pub(crate) truncated: bool,
    /// The sender (`msg_name`).
    pub(crate) src: Option<std::net::IpAddr>,
    /// `IPV6_HOPLIMIT`.
    pub(crate) hop_limit: Option<u8>,
    /// `IPV6_PKTINFO` destination.
    pub(crate) dst6: Option<std::net::Ipv6Addr>,
    /// Arrival interface from `IP_PKTINFO` / `IPV6_PKTINFO`.
    pub(crate) ifindex: Option<u32>,
}

/// `recvmmsg(fd, .., MSG_DONTWAIT)` into consecutive `slot`-byte slots of
/// `data`, at most [`MMSG_MAX`] datagrams. Returns how many were read
/// (0 when nothing was pending) and fills `meta[..n]`.
pub(crate) fn recvmmsg(
    fd: RawFd,
    data: &mut [u8],
    slot: usize,
    meta: &mut [RecvMeta; MMSG_MAX],
) -> io::Result<usize> {
    if slot == 0 {
        return Ok(0);
    }
    let n = (data.len() / slot).min(MMSG_MAX);
    // SAFETY: these are plain C structs for which all-zero bytes are a
    // valid value (null pointers, zero lengths).
    let mut names: [libc::sockaddr_storage; MMSG_MAX] = unsafe { std::mem::zeroed() };
    let mut iovs: [libc::iovec; MMSG_MAX] = unsafe { std::mem::zeroed() };
    let mut hdrs: [libc::mmsghdr; MMSG_MAX] = unsafe { std::mem::zeroed() };
    let mut ctrl: [Control; MMSG_MAX] = [[0; 16]; MMSG_MAX];
    for (i, chunk) in data.chunks_exact_mut(slot).take(n).enumerate() {
        iovs[i] = libc::iovec {
            iov_base: chunk.as_mut_ptr().cast(),
            iov_len: slot,
        };
        let h = &mut hdrs[i].msg_hdr;
        h.msg_name = (&mut names[i] as *mut libc::sockaddr_storage).cast();
        h.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        h.msg_iov = &mut iovs[i];
        h.msg_iovlen = 1;
        h.msg_control = ctrl[i].as_mut_ptr().cast();
        h.msg_controllen = std::mem::size_of::<Control>() as _;
    }
    // SAFETY: every header points into `names`, `iovs`, `ctrl` and `data`,
    // which are alive and not otherwise borrowed until this returns; the
    // buffer lengths given are their real sizes; `n <= MMSG_MAX`.
    let rc = unsafe {
        libc::recvmmsg(
            fd,
            hdrs.as_mut_ptr(),
            n as libc::c_uint,
            // `as _`: the flags are `c_int` in glibc, `c_uint` in musl.
            libc::MSG_DONTWAIT as _,
            std::ptr::null_mut(),
        )
    };
    if rc < 0 {
        let e = io::Error::last_os_error();
        return match e.kind() {
            io::ErrorKind::WouldBlock => Ok(0),
            _ => Err(e),
        };
    }
    let got = usize::try_from(rc).unwrap_or(0).min(n);
    for i in 0..got {
        let h = &hdrs[i].msg_hdr;
        let len = hdrs[i].msg_len as usize;
        let mut m = RecvMeta {
            len,
            truncated: h.msg_flags & libc::MSG_TRUNC != 0 || len > slot,
            src: sockaddr_ip(&names[i]),
            ..RecvMeta::default()
        };
        // SAFETY: `h` is a header the kernel just filled: msg_control and
        // msg_controllen describe the control bytes it wrote into ctrl[i],
        // and the CMSG_* helpers stay within them. Data is read unaligned.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(h);
            while !c.is_null() {
                let d = libc::CMSG_DATA(c);
                match ((*c).cmsg_level, (*c).cmsg_type) {
                    (libc::IPPROTO_IP, libc::IP_PKTINFO) => {
                        let p = std::ptr::read_unaligned(d.cast::<libc::in_pktinfo>());
                        m.ifindex = u32::try_from(p.ipi_ifindex).ok();
                    }
                    (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
                        let p = std::ptr::read_unaligned(d.cast::<libc::in6_pktinfo>());
                        m.dst6 = Some(std::net::Ipv6Addr::from(p.ipi6_addr.s6_addr));
                        m.ifindex = Some(p.ipi6_ifindex);
                    }
                    (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT) => {
                        let v = std::ptr::read_unaligned(d.cast::<libc::c_int>());
                        m.hop_limit = u8::try_from(v).ok();
                    }
                    _ => {}
                }
                c = libc::CMSG_NXTHDR(h, c);
            }
        }
        meta[i] = m;
    }
    Ok(got)
}

fn sockaddr_ip(s: &libc::sockaddr_storage) -> Option<std::net::IpAddr> {
    match i32::from(s.ss_family) {
        libc::AF_INET => {
            // SAFETY: ss_family says the storage holds a sockaddr_in, and
            // sockaddr_storage is large and aligned enough for it.
            let a = unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            Some(std::net::Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr)).into())
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let a = unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            Some(std::net::Ipv6Addr::from(a.sin6_addr.s6_addr).into())
        }
        _ => None,
    }
}

/// One datagram for [`sendmmsg`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct SendItem<'a> {
    /// The destination (port 0; `scope` for link-scoped IPv6).
    pub(crate) dst: std::net::IpAddr,
    /// The IPv6 scope id (interface) of `dst`, or 0.
    pub(crate) scope: u32,
    /// The payload.
    pub(crate) payload: &'a [u8],
}

/// `sendmmsg(fd, .., MSG_DONTWAIT)` of up to [`MMSG_MAX`] datagrams, each
/// with an `IP_PKTINFO` / `IPV6_PKTINFO` control message that picks source
/// `src` on interface `ifindex`. Returns how many the kernel took; the
/// first of the rest failed (call again from there to learn why).
pub(crate) fn sendmmsg(
    fd: RawFd,
    src: std::net::IpAddr,
    ifindex: u32,
    items: &[SendItem<'_>],
) -> io::Result<usize> {
    let n = items.len().min(MMSG_MAX);
    if n == 0 {
        return Ok(0);
    }
    let mut ctrl: Control = [0; 16];
    let ctrl_len = pktinfo_cmsg(src, ifindex, &mut ctrl)?;
    // SAFETY: plain C structs, all-zero is valid.
    let mut names: [libc::sockaddr_storage; MMSG_MAX] = unsafe { std::mem::zeroed() };
    let mut iovs: [libc::iovec; MMSG_MAX] = unsafe { std::mem::zeroed() };
    let mut hdrs: [libc::mmsghdr; MMSG_MAX] = unsafe { std::mem::zeroed() };
    for (i, it) in items.iter().take(n).enumerate() {
        let namelen = write_sockaddr(&mut names[i], it.dst, it.scope);
        iovs[i] = libc::iovec {
            iov_base: it.payload.as_ptr().cast_mut().cast(),
            iov_len: it.payload.len(),
        };
        let h = &mut hdrs[i].msg_hdr;
        h.msg_name = (&mut names[i] as *mut libc::sockaddr_storage).cast();
        h.msg_namelen = namelen;
        h.msg_iov = &mut iovs[i];
        h.msg_iovlen = 1;
        // The kernel only reads the control bytes: every message shares them.
        h.msg_control = ctrl.as_mut_ptr().cast();
        h.msg_controllen = ctrl_len as _;
    }
    // SAFETY: every header points into `names`, `iovs`, `ctrl` and the
    // payload slices, all alive until this returns; the kernel only reads
    // the payloads (the `cast_mut` above is for the C signature only).
    let rc = unsafe { sendmmsg_call(fd, &mut hdrs[..n]) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(usize::try_from(rc).unwrap_or(0))
    }
}

/// The `sendmmsg(2)` system call itself, with `MSG_DONTWAIT`.
///
/// musl's 64-bit `sendmmsg` is not the system call: it loops over
/// `sendmsg`, one system call per datagram, each copying the control
/// message to clear its padding, which undoes the batching (measured on the
/// static build: 10,000 `sendmsg` a second at 1000 routers × 100 ms). Its
/// structures match the kernel's when their padding fields are zero (they
/// sit where the kernel's wider `size_t` fields have their high bytes), as
/// they are here: the headers and the control buffer start zeroed and only
/// the named fields are written. glibc's `sendmmsg` is the system call.
///
/// # Safety
///
/// Every header must point to live name, iovec, payload and control memory,
/// with its padding fields zero.
unsafe fn sendmmsg_call(fd: RawFd, hdrs: &mut [libc::mmsghdr]) -> libc::c_int {
    let n = libc::c_uint::try_from(hdrs.len()).unwrap_or(libc::c_uint::MAX);
    #[cfg(target_env = "musl")]
    {
        // SAFETY: as the caller promises; the kernel writes only `msg_len`.
        // The variadic arguments are passed as the `long`s syscall(2) reads.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_sendmmsg,
                libc::c_long::from(fd),
                hdrs.as_mut_ptr(),
                libc::c_long::from(n),
                libc::c_long::from(libc::MSG_DONTWAIT),
            )
        };
        libc::c_int::try_from(rc).unwrap_or(-1)
    }
    #[cfg(not(target_env = "musl"))]
    {
        // SAFETY: as the caller promises.
        unsafe { libc::sendmmsg(fd, hdrs.as_mut_ptr(), n, libc::MSG_DONTWAIT as _) }
    }
}

/// Writes `dst` (port 0) into `s`; returns the address length.
fn write_sockaddr(
    s: &mut libc::sockaddr_storage,
    dst: std::net::IpAddr,
    scope: u32,
) -> libc::socklen_t {
    match dst {
        std::net::IpAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 0,
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is large and aligned enough for any
            // sockaddr; we write a whole, initialised sockaddr_in.
            unsafe { std::ptr::write((s as *mut libc::sockaddr_storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t
        }
        std::net::IpAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: 0,
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: a.octets(),
                },
                sin6_scope_id: scope,
            };
            // SAFETY: as above, for sockaddr_in6.
            unsafe { std::ptr::write((s as *mut libc::sockaddr_storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t
        }
    }
}

/// Builds the `IP_PKTINFO` / `IPV6_PKTINFO` control message that sends
/// from `src` on `ifindex`; returns its length in bytes.
fn pktinfo_cmsg(src: std::net::IpAddr, ifindex: u32, buf: &mut Control) -> io::Result<usize> {
    let bad = || io::Error::from_raw_os_error(libc::EINVAL);
    let (level, ty, len) = match src {
        std::net::IpAddr::V4(_) => (
            libc::IPPROTO_IP,
            libc::IP_PKTINFO,
            std::mem::size_of::<libc::in_pktinfo>(),
        ),
        std::net::IpAddr::V6(_) => (
            libc::IPPROTO_IPV6,
            libc::IPV6_PKTINFO,
            std::mem::size_of::<libc::in6_pktinfo>(),
        ),
    };
    let len32 = u32::try_from(len).map_err(|_| bad())?;
    // SAFETY: CMSG_SPACE / CMSG_LEN are pure arithmetic.
    let (space, cmsg_len) = unsafe {
        (
            libc::CMSG_SPACE(len32) as usize,
            libc::CMSG_LEN(len32) as usize,
        )
    };
    if space > std::mem::size_of::<Control>() {
        return Err(bad());
    }
    let ptr = buf.as_mut_ptr().cast::<libc::cmsghdr>();
    // SAFETY: `buf` is 8-byte aligned and at least `space` bytes long (just
    // checked), which holds one cmsghdr followed by `len` data bytes; the
    // data is written unaligned.
    unsafe {
        (*ptr).cmsg_len = cmsg_len as _;
        (*ptr).cmsg_level = level;
        (*ptr).cmsg_type = ty;
        let data = libc::CMSG_DATA(ptr);
        match src {
            std::net::IpAddr::V4(a) => std::ptr::write_unaligned(
                data.cast::<libc::in_pktinfo>(),
                libc::in_pktinfo {
                    ipi_ifindex: i32::try_from(ifindex).unwrap_or(0),
                    ipi_spec_dst: libc::in_addr {
                        s_addr: u32::from_ne_bytes(a.octets()),
                    },
                    ipi_addr: libc::in_addr { s_addr: 0 },
                },
            ),
            std::net::IpAddr::V6(a) => std::ptr::write_unaligned(
                data.cast::<libc::in6_pktinfo>(),
                libc::in6_pktinfo {
                    ipi6_addr: libc::in6_addr {
                        s6_addr: a.octets(),
                    },
                    ipi6_ifindex: ifindex,
                },
            ),
        }
    }
    Ok(space)
}
