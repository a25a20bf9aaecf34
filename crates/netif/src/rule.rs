//! [`Rule`]: a routing policy rule (`ip rule`), keepalived's
//! `virtual_rules` and `static_rules`. Its rtnetlink message is built in
//! `rtnl/rules.rs`.

use std::net::IpAddr;

/// A routing policy rule: traffic that matches (`from`, `to`, `iif`,
/// `oif`, `fwmark`) looks up `table`. keepalived's `virtual_rules` and
/// `static_rules` with their common options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// IPv6 (else IPv4); follows `from` / `to` when they are given.
    pub ipv6: bool,
    /// Source network.
    pub from: Option<(IpAddr, u8)>,
    /// Destination network.
    pub to: Option<(IpAddr, u8)>,
    /// Incoming interface.
    pub iif: Option<String>,
    /// Outgoing interface.
    pub oif: Option<String>,
    /// Firewall mark.
    pub fwmark: Option<u32>,
    /// Preference (`ip rule ... priority N`); the kernel picks one if
    /// `None`, which keepalived advises against.
    pub priority: Option<u32>,
    /// The table to look up.
    pub table: u32,
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(p) = self.priority {
            write!(f, "priority {p} ")?;
        }
        if let Some((a, l)) = self.from {
            write!(f, "from {a}/{l} ")?;
        }
        if let Some((a, l)) = self.to {
            write!(f, "to {a}/{l} ")?;
        }
        if let Some(i) = &self.iif {
            write!(f, "iif {i} ")?;
        }
        if let Some(o) = &self.oif {
            write!(f, "oif {o} ")?;
        }
        if let Some(m) = self.fwmark {
            write!(f, "fwmark {m} ")?;
        }
        write!(f, "table {}", self.table)
    }
}
