//! Placing a router: its socket, its virtual MAC interface and its
//! interface's `promote_secondaries`, taken when it is added and given back
//! when it is removed.

use super::{Event, Executor, Placed, Placement, RouterCounters, RouterSpec};
use crate::error::{Error, Result};

impl Executor {
    /// Stale addresses, virtual MAC, socket: everything a router needs
    /// before its state machine runs. Undone by [`Self::unplace`].
    pub(super) fn place(
        &mut self,
        spec: RouterSpec,
        at: Placement,
        vrid: vrrp_proto::Vrid,
    ) -> Result<Placed> {
        if spec.vmac.is_some() && at.source.is_ipv6() {
            return Err(Error::Unsupported {
                what: "virtual MAC for IPv6 routers",
            });
        }
        self.remove_stale(&spec, at.ifindex);
        let promoted = self.promote(&spec, at)?;
        let vmac = match &spec.vmac {
            Some(name) => match self.vmacs.create(&mut self.nl, at.ifindex, name, vrid) {
                Ok(v) => Some(v),
                Err(e) => {
                    self.unpromote(promoted.as_deref());
                    return Err(e);
                }
            },
            None => None,
        };
        let link = match self.open_sock(&spec, at) {
            Ok(l) => l,
            Err(e) => {
                if let Some(v) = &vmac {
                    let _ = self.vmacs.remove(&mut self.nl, v);
                }
                self.unpromote(promoted.as_deref());
                return Err(e);
            }
        };
        if let Some(s) = self.socks.get_mut(link.0 as usize).and_then(Option::as_mut) {
            s.users += 1;
        }
        let placed = Placed {
            spec,
            link,
            ifindex: at.ifindex,
            source: at.source,
            vmac,
            routes_on: false,
            retired: Vec::new(),
            counters: RouterCounters::default(),
            send_failing: false,
            send_failed_in: 0,
            promoted,
        };
        Ok(placed)
    }

    pub(super) fn unplace(&mut self, p: &Placed) {
        self.release_sock(p.link);
        if let Some(v) = &p.vmac {
            let _ = self.vmacs.remove(&mut self.nl, v);
        }
        self.unpromote(p.promoted.as_deref());
    }

    /// `promote_secondaries` on the router's own interface, if its
    /// spec asks (a virtual MAC interface promotes anyway).
    fn promote(&mut self, spec: &RouterSpec, at: Placement) -> Result<Option<String>> {
        if !spec.promote_secondaries || spec.vmac.is_some() {
            return Ok(None);
        }
        let name = match self.links.get(&at.ifindex) {
            Some((name, _)) => name.clone(),
            None => self.nl.link(at.ifindex)?.name,
        };
        let path = format!("/proc/sys/net/ipv4/conf/{name}/promote_secondaries");
        self.sysctls.hold(&path, "1")?;
        Ok(Some(path))
    }

    fn unpromote(&mut self, path: Option<&str>) {
        if let Some(Err(error)) = path.map(|p| self.sysctls.release(p)) {
            self.out.push_back(Event::Error {
                router: None,
                error,
            });
        }
    }
}
