//! [`Route`]: a route as the executor and netlink see it (its own module,
//! so that errors can name one without depending on the netlink code).

use std::net::IpAddr;

/// A static route a master installs beside its virtual addresses
/// (keepalived's `virtual_routes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Destination network.
    pub dst: IpAddr,
    /// Its prefix length.
    pub prefix_len: u8,
    /// Next hop, if any (same family as `dst`).
    pub gateway: Option<IpAddr>,
    /// Outgoing interface, if any.
    pub oif: Option<u32>,
    /// Metric (`RTA_PRIORITY`), if any.
    pub metric: Option<u32>,
    /// Routing table; `None` is the main table.
    pub table: Option<u32>,
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.dst, self.prefix_len)?;
        if let Some(g) = self.gateway {
            write!(f, " via {g}")?;
        }
        if let Some(i) = self.oif {
            write!(f, " oif {i}")?;
        }
        if let Some(m) = self.metric {
            write!(f, " metric {m}")?;
        }
        if let Some(t) = self.table {
            write!(f, " table {t}")?;
        }
        Ok(())
    }
}
