//! The I/O half: one blocking generic netlink socket, through neli.
//!
//! [`Ipvs`] resolves the `IPVS` family once, then sends one request at a
//! time and waits for the kernel's answer. The payloads come from
//! [`crate::wire`]; this module only frames them in netlink headers, maps
//! errnos to [`Error`] variants and collects dumps.

use std::io;
use std::net::IpAddr;

use neli::consts::nl::NlmF;
use neli::consts::socket::NlFamily;
use neli::err::SocketError;
use neli::nl::{NlPayload, NlmsghdrBuilder};
use neli::socket::synchronous::NlSocketHandle;
use neli::types::Buffer;
use neli::utils::Groups;

use crate::error::{Error, Op, Result};
use crate::types::{
    Destination, DestinationEntry, HostPort, Info, Service, ServiceEntry, ServiceKey, SyncDaemon,
    SyncState, Timeouts,
};
use crate::wire::{self, Command, DecodeError};

const ENOENT: i32 = 2;
const ESRCH: i32 = 3;
const EEXIST: i32 = 17;

/// A handle on the kernel's IPVS table in the network namespace the
/// handle was opened in.
///
/// Every method is one request and its answer; the handle is not
/// thread-safe (`&mut self`) and keeps no state but the family id and a
/// sequence number.
pub struct Ipvs {
    sock: NlSocketHandle,
    family: u16,
    seq: u32,
}

impl std::fmt::Debug for Ipvs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ipvs")
            .field("pid", &self.sock.pid())
            .field("family", &self.family)
            .finish()
    }
}

fn sock_err(e: SocketError) -> io::Error {
    match e {
        SocketError::Io(arc) => match arc.raw_os_error() {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::new(arc.kind(), arc.to_string()),
        },
        other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
    }
}

/// How one request failed, before it is given its operation and target.
enum Fail {
    /// The kernel answered with this errno.
    Errno(i32),
    /// The socket failed.
    Io(io::Error),
}

fn dest_target(key: &ServiceKey, addr: IpAddr, port: u16) -> String {
    format!("{key} -> {}", HostPort(addr, port))
}

impl Ipvs {
    /// Opens a generic netlink socket and resolves the `IPVS` family.
    ///
    /// A kernel without IPVS (no `ip_vs` module loaded) gives
    /// [`Error::NotAvailable`].
    pub fn new() -> Result<Ipvs> {
        let sock =
            NlSocketHandle::connect(NlFamily::Generic, None, Groups::empty()).map_err(|e| {
                Error::Socket {
                    op: Op::Open,
                    source: sock_err(e),
                }
            })?;
        let mut ipvs = Ipvs {
            sock,
            family: wire::GENL_ID_CTRL,
            seq: 0,
        };
        let answers = match ipvs.exchange(
            wire::GENL_ID_CTRL,
            NlmF::empty(),
            wire::encode_get_family(wire::FAMILY_NAME),
        ) {
            Ok(a) => a,
            Err(Fail::Errno(ENOENT)) => return Err(Error::NotAvailable),
            Err(Fail::Errno(e)) => {
                return Err(Error::Kernel {
                    op: Op::Open,
                    target: String::new(),
                    source: io::Error::from_raw_os_error(e),
                });
            }
            Err(Fail::Io(source)) => {
                return Err(Error::Socket {
                    op: Op::Open,
                    source,
                });
            }
        };
        let first = answers.first().ok_or(Error::Decode {
            op: Op::Open,
            target: String::new(),
            source: DecodeError::Truncated("controller answer"),
        })?;
        ipvs.family = wire::decode_family_id(first).map_err(|source| Error::Decode {
            op: Op::Open,
            target: String::new(),
            source,
        })?;
        Ok(ipvs)
    }

    /// The IPVS generic netlink family id in use.
    pub fn family_id(&self) -> u16 {
        self.family
    }

    /// Sends one payload to family `ty` and collects the answer payloads
    /// (every message of a dump, or the answer before the ACK).
    fn exchange(
        &mut self,
        ty: u16,
        flags: NlmF,
        payload: Vec<u8>,
    ) -> std::result::Result<Vec<Vec<u8>>, Fail> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let dump = flags.contains(NlmF::DUMP);
        let flags = flags | NlmF::REQUEST | if dump { NlmF::empty() } else { NlmF::ACK };
        let msg = NlmsghdrBuilder::default()
            .nl_type(ty)
            .nl_flags(flags)
            .nl_seq(seq)
            .nl_payload(NlPayload::Payload(Buffer::from(payload)))
            .build()
            .map_err(|e| Fail::Io(io::Error::new(io::ErrorKind::InvalidInput, e.to_string())))?;
        self.sock.send(&msg).map_err(|e| Fail::Io(sock_err(e)))?;
        let mut out = Vec::new();
        loop {
            let (iter, _) = self
                .sock
                .recv::<u16, Buffer>()
                .map_err(|e| Fail::Io(sock_err(e)))?;
            for m in iter {
                let m = m.map_err(|e| Fail::Io(sock_err(e)))?;
                if *m.nl_seq() != seq {
                    continue;
                }
                let mty: u16 = *m.nl_type();
                match m.nl_payload() {
                    NlPayload::Err(e) => return Err(Fail::Errno(-*e.error())),
                    NlPayload::Ack(_) | NlPayload::DumpExtAck(_) => return Ok(out),
                    NlPayload::Empty => {
                        if mty == libc_nlmsg::DONE {
                            return Ok(out);
                        }
                    }
                    NlPayload::Payload(buf) => {
                        if mty == libc_nlmsg::DONE {
                            return Ok(out);
                        }
                        if mty == libc_nlmsg::NOOP {
                            continue;
                        }
                        // For a request that is not a dump, the ACK follows.
                        out.push(buf.as_ref().to_vec());
                    }
                }
            }
        }
    }

    /// One IPVS request, errors mapped for `op` on `target`.
    fn request(
        &mut self,
        op: Op,
        target: impl Fn() -> String,
        dump: bool,
        payload: Vec<u8>,
    ) -> Result<Vec<Vec<u8>>> {
        let flags = if dump { NlmF::DUMP } else { NlmF::empty() };
        self.exchange(self.family, flags, payload)
            .map_err(|f| match f {
                Fail::Io(source) => Error::Socket { op, source },
                Fail::Errno(EEXIST) => Error::Exists {
                    op,
                    target: target(),
                },
                Fail::Errno(ESRCH) => Error::NoSuchService {
                    op,
                    target: target(),
                },
                Fail::Errno(e) => Error::Kernel {
                    op,
                    target: target(),
                    source: io::Error::from_raw_os_error(e),
                },
            })
    }

    fn check_service(op: Op, svc: &Service) -> Result<()> {
        let bad = |reason: String| {
            Err(Error::Invalid {
                op,
                target: svc.key.to_string(),
                reason,
            })
        };
        if svc.scheduler.is_empty()
            || svc.scheduler.len() >= wire::SCHED_NAME_MAXLEN
            || svc.scheduler.contains('\0')
        {
            return bad(format!("invalid scheduler name {:?}", svc.scheduler));
        }
        if let Some(pe) = &svc.pe_name {
            if pe.len() >= wire::SCHED_NAME_MAXLEN || pe.contains('\0') {
                return bad(format!("invalid persistence engine name {pe:?}"));
            }
        }
        if svc.netmask > svc.key.family().max_prefix()
            || (svc.key.family() == crate::Family::Inet6 && svc.netmask == 0)
        {
            return bad(format!("invalid persistence netmask /{}", svc.netmask));
        }
        if let ServiceKey::Fwmark { mark: 0, .. } = svc.key {
            return bad("firewall mark 0".into());
        }
        Ok(())
    }

    /// Adds a virtual service (`ipvsadm -A`).
    ///
    /// [`Error::Exists`] if it is there already;
    /// [`Error::SchedulerUnavailable`] if the kernel has no such scheduler.
    pub fn add_service(&mut self, svc: &Service) -> Result<()> {
        self.set_service(Op::AddService, Command::NewService, svc)
    }

    /// Changes a virtual service's scheduler, flags and persistence
    /// (`ipvsadm -E`). [`Error::NoSuchService`] if it is not there.
    pub fn edit_service(&mut self, svc: &Service) -> Result<()> {
        self.set_service(Op::EditService, Command::SetService, svc)
    }

    fn set_service(&mut self, op: Op, cmd: Command, svc: &Service) -> Result<()> {
        Self::check_service(op, svc)?;
        let target = || svc.key.to_string();
        match self.request(op, target, false, wire::encode_service(cmd, svc)) {
            // The kernel answers ENOENT when it cannot find (or load) the
            // scheduler, or the persistence engine.
            Err(Error::Kernel { source, .. }) if source.raw_os_error() == Some(ENOENT) => {
                match &svc.pe_name {
                    Some(pe) => Err(Error::Invalid {
                        op,
                        target: target(),
                        reason: format!(
                            "scheduler {:?} or persistence engine {pe:?} not found",
                            svc.scheduler
                        ),
                    }),
                    None => Err(Error::SchedulerUnavailable {
                        op,
                        target: target(),
                        scheduler: svc.scheduler.clone(),
                    }),
                }
            }
            other => other.map(drop),
        }
    }

    /// Deletes a virtual service and its destinations (`ipvsadm -D`).
    pub fn delete_service(&mut self, key: &ServiceKey) -> Result<()> {
        self.request(
            Op::DeleteService,
            || key.to_string(),
            false,
            wire::encode_service_key(Command::DelService, key),
        )
        .map(drop)
    }

    /// Every virtual service, with statistics (`ipvsadm -Ln --stats`).
    pub fn list_services(&mut self) -> Result<Vec<ServiceEntry>> {
        let answers = self.request(
            Op::ListServices,
            String::new,
            true,
            wire::encode_empty(Command::GetService),
        )?;
        answers
            .iter()
            .map(|a| {
                wire::decode_service(a).map_err(|source| Error::Decode {
                    op: Op::ListServices,
                    target: String::new(),
                    source,
                })
            })
            .collect()
    }

    /// One virtual service. [`Error::NoSuchService`] if it is not there.
    pub fn get_service(&mut self, key: &ServiceKey) -> Result<ServiceEntry> {
        let target = || key.to_string();
        let answers = self.request(
            Op::GetService,
            target,
            false,
            wire::encode_service_key(Command::GetService, key),
        )?;
        let first = answers.first().ok_or_else(|| Error::NoSuchService {
            op: Op::GetService,
            target: target(),
        })?;
        wire::decode_service(first).map_err(|source| Error::Decode {
            op: Op::GetService,
            target: target(),
            source,
        })
    }

    /// Adds destination `dest` to service `key` (`ipvsadm -a`).
    pub fn add_destination(&mut self, key: &ServiceKey, dest: &Destination) -> Result<()> {
        self.set_destination(Op::AddDestination, Command::NewDest, key, dest)
    }

    /// Changes destination `dest` of service `key` (`ipvsadm -e`): its
    /// forwarding method, weight and thresholds.
    pub fn edit_destination(&mut self, key: &ServiceKey, dest: &Destination) -> Result<()> {
        self.set_destination(Op::EditDestination, Command::SetDest, key, dest)
    }

    fn set_destination(
        &mut self,
        op: Op,
        cmd: Command,
        key: &ServiceKey,
        dest: &Destination,
    ) -> Result<()> {
        let target = || dest_target(key, dest.addr, dest.port);
        if dest.lower_threshold > dest.upper_threshold && dest.upper_threshold != 0 {
            return Err(Error::Invalid {
                op,
                target: target(),
                reason: format!(
                    "lower threshold {} above upper threshold {}",
                    dest.lower_threshold, dest.upper_threshold
                ),
            });
        }
        match self.request(op, target, false, wire::encode_dest(cmd, key, dest)) {
            Err(Error::Kernel { source, .. }) if source.raw_os_error() == Some(ENOENT) => {
                Err(Error::NoSuchDestination {
                    op,
                    target: target(),
                })
            }
            other => other.map(drop),
        }
    }

    /// Removes destination `addr:port` from service `key` (`ipvsadm -d`).
    pub fn delete_destination(&mut self, key: &ServiceKey, addr: IpAddr, port: u16) -> Result<()> {
        let op = Op::DeleteDestination;
        let target = || dest_target(key, addr, port);
        match self.request(
            op,
            target,
            false,
            wire::encode_dest_key(Command::DelDest, key, addr, port),
        ) {
            Err(Error::Kernel { source, .. }) if source.raw_os_error() == Some(ENOENT) => {
                Err(Error::NoSuchDestination {
                    op,
                    target: target(),
                })
            }
            other => other.map(drop),
        }
    }

    /// The destinations of service `key`, with counters and statistics.
    /// [`Error::NoSuchService`] if there is no such service.
    pub fn list_destinations(&mut self, key: &ServiceKey) -> Result<Vec<DestinationEntry>> {
        let op = Op::ListDestinations;
        let target = || key.to_string();
        let answers = self.request(
            op,
            target,
            true,
            wire::encode_service_key(Command::GetDest, key),
        )?;
        if answers.is_empty() {
            // The kernel dumps nothing both for a service without
            // destinations and for no service at all; tell them apart.
            match self.get_service(key) {
                Err(Error::NoSuchService { .. }) => {
                    return Err(Error::NoSuchService {
                        op,
                        target: target(),
                    });
                }
                Err(e) => return Err(e),
                Ok(_) => return Ok(Vec::new()),
            }
        }
        answers
            .iter()
            .map(|a| {
                wire::decode_dest(a, key.family()).map_err(|source| Error::Decode {
                    op,
                    target: target(),
                    source,
                })
            })
            .collect()
    }

    /// Starts a connection-sync daemon (`ipvsadm --start-daemon`).
    pub fn start_sync_daemon(&mut self, d: &SyncDaemon) -> Result<()> {
        let op = Op::StartSyncDaemon;
        let target = || format!("{} on {} (syncid {})", d.state, d.ifname, d.sync_id);
        if d.ifname.is_empty() || d.ifname.len() >= wire::IFNAME_MAXLEN || d.ifname.contains('\0') {
            return Err(Error::Invalid {
                op,
                target: target(),
                reason: format!("invalid interface name {:?}", d.ifname),
            });
        }
        self.request(op, target, false, wire::encode_daemon(d))
            .map(drop)
    }

    /// Stops the sync daemon in role `state` (`ipvsadm --stop-daemon`).
    /// [`Error::NotRunning`] if none runs in that role.
    pub fn stop_sync_daemon(&mut self, state: SyncState) -> Result<()> {
        match self.request(
            Op::StopSyncDaemon,
            || state.to_string(),
            false,
            wire::encode_daemon_stop(state),
        ) {
            Err(Error::NoSuchService { op, target }) => Err(Error::NotRunning { op, target }),
            other => other.map(drop),
        }
    }

    /// The running sync daemons (`ipvsadm -Ln --daemon`).
    pub fn list_sync_daemons(&mut self) -> Result<Vec<SyncDaemon>> {
        let op = Op::ListSyncDaemons;
        let answers = self.request(
            op,
            String::new,
            true,
            wire::encode_empty(Command::GetDaemon),
        )?;
        answers
            .iter()
            .map(|a| {
                wire::decode_daemon(a).map_err(|source| Error::Decode {
                    op,
                    target: String::new(),
                    source,
                })
            })
            .collect()
    }

    /// The connection timeouts (`ipvsadm -Ln --timeout`).
    pub fn timeouts(&mut self) -> Result<Timeouts> {
        let op = Op::GetTimeouts;
        let answers = self.request(
            op,
            String::new,
            false,
            wire::encode_empty(Command::GetConfig),
        )?;
        let first = answers.first().ok_or(Error::Decode {
            op,
            target: String::new(),
            source: DecodeError::Truncated("answer"),
        })?;
        wire::decode_timeouts(first).map_err(|source| Error::Decode {
            op,
            target: String::new(),
            source,
        })
    }

    /// Sets the connection timeouts (`ipvsadm --set`); 0 leaves one as is.
    pub fn set_timeouts(&mut self, t: &Timeouts) -> Result<()> {
        self.request(
            Op::SetTimeouts,
            || format!("tcp {} tcpfin {} udp {}", t.tcp, t.tcp_fin, t.udp),
            false,
            wire::encode_timeouts(t),
        )
        .map(drop)
    }

    /// IPVS version and connection table size.
    pub fn info(&mut self) -> Result<Info> {
        let op = Op::Info;
        let answers = self.request(op, String::new, false, wire::encode_empty(Command::GetInfo))?;
        let first = answers.first().ok_or(Error::Decode {
            op,
            target: String::new(),
            source: DecodeError::Truncated("answer"),
        })?;
        wire::decode_info(first).map_err(|source| Error::Decode {
            op,
            target: String::new(),
            source,
        })
    }

    /// Removes every virtual service of this network namespace
    /// (`ipvsadm -C`). Not for a daemon that shares the table with others.
    pub fn flush(&mut self) -> Result<()> {
        self.request(
            Op::Flush,
            String::new,
            false,
            wire::encode_empty(Command::Flush),
        )
        .map(drop)
    }

    /// Zeroes the counters of every service (`ipvsadm -Z`).
    pub fn zero(&mut self) -> Result<()> {
        self.request(
            Op::Zero,
            String::new,
            false,
            wire::encode_empty(Command::Zero),
        )
        .map(drop)
    }
}

/// `NLMSG_DONE` and `NLMSG_NOOP` (without a libc dependency).
mod libc_nlmsg {
    pub(super) const NOOP: u16 = 1;
    pub(super) const DONE: u16 = 3;
}
