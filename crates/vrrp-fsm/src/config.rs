//! Validated configuration of one virtual router: [`Config`], built through
//! [`ConfigBuilder`], rejected with a [`ConfigError`].

use std::net::IpAddr;
use std::time::Duration;

use vrrp_proto::{Auth, Interval, Priority, Version, VirtualAddrs, Vrid};

/// keepalived's upper bound for `preempt_delay` (its documented range is
/// 0..=1000 seconds); kept so that imported configurations mean the same.
pub const MAX_PREEMPT_DELAY: Duration = Duration::from_secs(1000);

/// How a new master announces its virtual addresses to the LAN: gratuitous
/// ARP for IPv4 ([RFC 9568 §6.4.1], [RFC 3768 §6.4.1]) or unsolicited
/// neighbour advertisements for IPv6 ([RFC 9568 §6.4.2]).
///
/// The RFCs ask for one announcement per address; the repeats, the second
/// burst and the periodic refresh are keepalived's `garp_master_repeat`,
/// `garp_master_delay` and `garp_master_refresh` (with
/// `garp_master_refresh_repeat`), with keepalived's defaults.
///
/// [RFC 9568 §6.4.1]: https://www.rfc-editor.org/rfc/rfc9568#section-6.4.1
/// [RFC 9568 §6.4.2]: https://www.rfc-editor.org/rfc/rfc9568#section-6.4.2
/// [RFC 3768 §6.4.1]: https://www.rfc-editor.org/rfc/rfc3768#section-6.4.1
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AnnounceConfig {
    /// Announcements per address in each burst (keepalived
    /// `garp_master_repeat`, default 5). At least 1.
    pub repeat: u8,
    /// Delay after becoming master before a second burst of `repeat`
    /// announcements (keepalived `garp_master_delay`, default 5 s); `None`
    /// sends no second burst.
    pub second_burst_delay: Option<Duration>,
    /// Period of refresh announcements while master (keepalived
    /// `garp_master_refresh`, default off).
    pub refresh: Option<Duration>,
    /// Announcements per address at each refresh (keepalived
    /// `garp_master_refresh_repeat`, default 1). At least 1.
    pub refresh_repeat: u8,
}

impl Default for AnnounceConfig {
    fn default() -> Self {
        AnnounceConfig {
            repeat: 5,
            second_burst_delay: Some(Duration::from_secs(5)),
            refresh: None,
            refresh_repeat: 1,
        }
    }
}

/// What a master does when it hears a lower-priority advert (keepalived's
/// `garp_lower_prio_repeat` / `garp_lower_prio_delay`): besides the advert
/// RFC 9568 §6.4.3 asks for, `repeat` announcements per address at once
/// and, after `delay`, `repeat` more. keepalived's rationale: the lower
/// router was master during a split brain and drew the LAN's caches to
/// itself; they must come back.
///
/// `repeat` 0 sends none (keepalived's `vrrp_strict` forces that).
/// keepalived's defaults are its `garp_master_repeat` and
/// `garp_master_delay` (5 and 5 s); without this setting the router sends
/// [`AnnounceConfig::repeat`] announcements and no second set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LowerPrioAnnounce {
    /// Announcements per address in each set (keepalived
    /// `garp_lower_prio_repeat`).
    pub repeat: u8,
    /// Delay before the second set (keepalived `garp_lower_prio_delay`);
    /// `None` or zero sends one set.
    pub delay: Option<Duration>,
}

/// Why a configuration was rejected. Every variant names the rule it enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// VRID 0; RFC 9568 §5.2.3: "configurable item in the range 1-255".
    #[error("VRID must be in 1..=255, got 0")]
    VridZero,
    /// Priority 0 is reserved for the release advertisement of a master
    /// that stops (RFC 9568 §5.2.4); configure 1..=254, or 255 for the owner.
    #[error("priority 0 is reserved for releasing mastership; use 1..=255")]
    PriorityZero,
    /// The interval cannot be carried by the version: VRRPv2 needs whole
    /// seconds 1..=255 (RFC 3768 §5.3.7), VRRPv3 1..=4095 centiseconds
    /// (RFC 9568 §5.2.7, erratum 8301).
    #[error("advertisement interval {centis} cs is not valid for {version}")]
    IntervalInvalid {
        /// The interval, in centiseconds.
        centis: u16,
        /// The configured version.
        version: Version,
    },
    /// No virtual address: Count IPvX Addrs is at least 1 (RFC 9568 §5.2.5).
    #[error("at least one virtual address is required")]
    NoVirtualAddresses,
    /// Virtual addresses of both families: one virtual router protects one
    /// family (RFC 9568 §5.2.9; IPv4 and IPv6 instances are independent).
    #[error("virtual addresses must all be of one address family")]
    MixedFamilies,
    /// An IPv6 virtual address on VRRPv2, which is IPv4 only (RFC 3768 §1).
    #[error("VRRPv2 carries IPv4 virtual addresses only")]
    V2WithIpv6,
    /// The same virtual address listed twice.
    #[error("virtual address {0} is listed twice")]
    DuplicateAddress(IpAddr),
    /// More addresses than fit: the count field is 8 bits (RFC 9568 §5.2.5),
    /// and an advertisement must fit a 1500-octet IP packet (at most 90 IPv6
    /// addresses).
    #[error("{count} virtual addresses; at most {max} fit one advertisement")]
    TooManyAddresses {
        /// Addresses configured.
        count: usize,
        /// The limit for this family.
        max: usize,
    },
    /// No primary address was given. It is the IP source of adverts and the
    /// tie-breaker between equal priorities (RFC 9568 §6.4.3).
    #[error("the primary address (advert source) is required")]
    MissingPrimaryAddress,
    /// The primary address is of another family than the virtual addresses.
    #[error("the primary address family differs from the virtual addresses")]
    PrimaryFamily,
    /// RFC 9568 §7.2: IPv6 adverts are sent from "the link-local IPv6 address
    /// of the interface".
    #[error("an IPv6 primary address must be link-local (fe80::/10)")]
    PrimaryNotLinkLocal,
    /// Authentication on VRRPv3, which has none (RFC 9568 §9).
    #[error("VRRPv3 has no authentication")]
    AuthOnV3,
    /// `preempt_delay` beyond [`MAX_PREEMPT_DELAY`] (keepalived: 0..=1000 s).
    #[error("preempt_delay is limited to 1000 s")]
    PreemptDelayTooLong,
    /// An announcement repeat count of 0.
    #[error("announcement repeat counts must be at least 1")]
    RepeatZero,
    /// A zero refresh period would announce in a loop.
    #[error("the announcement refresh period must not be zero")]
    RefreshZero,
    /// keepalived's `down_timer_adverts` takes 1 to 100 intervals.
    #[error("down_timer_adverts must be in 1..=100, got {0}")]
    DownTimerAdverts(u8),
}

/// The validated configuration of one virtual router: one (interface, VRID,
/// address family).
///
/// Built with [`Config::builder`]; every field is checked once there, so the
/// state machine never meets an invalid value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub(crate) vrid: Vrid,
    pub(crate) version: Version,
    pub(crate) priority: Priority,
    pub(crate) interval: Interval,
    pub(crate) addrs: VirtualAddrs,
    pub(crate) primary: IpAddr,
    pub(crate) preempt: bool,
    pub(crate) preempt_delay: Option<Duration>,
    pub(crate) accept_mode: bool,
    pub(crate) auth: Auth,
    pub(crate) announce: AnnounceConfig,
    pub(crate) higher_prio_send_advert: bool,
    pub(crate) excluded: Vec<IpAddr>,
    pub(crate) lower_prio: Option<LowerPrioAnnounce>,
    pub(crate) strict: bool,
    pub(crate) lower_prio_no_advert: bool,
    pub(crate) report_lower_priority: bool,
    pub(crate) down_timer_adverts: u8,
}

impl Config {
    /// Starts a configuration for `vrid` speaking `version`.
    ///
    /// Defaults: priority 100, interval 1 s, preempt on, no preempt delay,
    /// accept mode off, no authentication, [`AnnounceConfig::default`].
    pub fn builder(vrid: u8, version: Version) -> ConfigBuilder {
        ConfigBuilder {
            vrid,
            version,
            priority: Priority::DEFAULT.get(),
            interval: Interval::DEFAULT,
            addrs: Vec::new(),
            primary: None,
            preempt: true,
            preempt_delay: None,
            accept_mode: false,
            auth: Auth::None,
            announce: AnnounceConfig::default(),
            higher_prio_send_advert: true,
            excluded: Vec::new(),
            lower_prio: None,
            strict: false,
            lower_prio_no_advert: false,
            report_lower_priority: false,
            down_timer_adverts: 3,
        }
    }

    /// The same configuration with another primary address (a driver whose
    /// interface address changed): checked as [`ConfigBuilder::build`]
    /// checks it.
    pub fn with_primary_addr(&self, primary: IpAddr) -> Result<Config, ConfigError> {
        match primary {
            IpAddr::V4(_) if !self.primary.is_ipv4() => Err(ConfigError::PrimaryFamily),
            IpAddr::V6(_) if self.primary.is_ipv4() => Err(ConfigError::PrimaryFamily),
            IpAddr::V6(p) if !p.is_unicast_link_local() => Err(ConfigError::PrimaryNotLinkLocal),
            _ => Ok(Config {
                primary,
                ..self.clone()
            }),
        }
    }

    /// The virtual router identifier.
    pub fn vrid(&self) -> Vrid {
        self.vrid
    }
    /// The protocol version.
    pub fn version(&self) -> Version {
        self.version
    }
    /// The configured (base) priority; 255 for the address owner.
    pub fn priority(&self) -> Priority {
        self.priority
    }
    /// True if this router owns the virtual addresses (priority 255).
    pub fn is_owner(&self) -> bool {
        self.priority.is_owner()
    }
    /// The configured Advertisement_Interval.
    pub fn interval(&self) -> Interval {
        self.interval
    }
    /// The virtual addresses, in configured order (the order adverts carry).
    pub fn virtual_addrs(&self) -> &VirtualAddrs {
        &self.addrs
    }
    /// The primary address: advert source and tie-breaker.
    pub fn primary_addr(&self) -> IpAddr {
        self.primary
    }
    /// Preempt_Mode (RFC 9568 §6.1), default true.
    pub fn preempt(&self) -> bool {
        self.preempt
    }
    /// keepalived's `preempt_delay`, if any.
    pub fn preempt_delay(&self) -> Option<Duration> {
        self.preempt_delay
    }
    /// Accept_Mode (RFC 9568 §6.1). The state machine only carries it: what
    /// it means for packet acceptance is for the daemon and the interface
    /// layer to enforce while master.
    pub fn accept_mode(&self) -> bool {
        self.accept_mode
    }
    /// VRRPv2 authentication (always [`Auth::None`] for VRRPv3).
    pub fn auth(&self) -> Auth {
        self.auth
    }
    /// The announcement (gratuitous ARP / unsolicited NA) settings.
    pub fn announce(&self) -> AnnounceConfig {
        self.announce
    }
    /// keepalived's `higher_prio_send_advert` (here on by default): a
    /// master that yields to a better advert sends one last advert of its
    /// own, so that the winner hears the conflict and re-announces.
    pub fn higher_prio_send_advert(&self) -> bool {
        self.higher_prio_send_advert
    }
    /// keepalived's `virtual_ipaddress_excluded`: addresses installed,
    /// removed and announced with the virtual addresses but not carried in
    /// adverts (so peers need not list them, and their family may differ).
    pub fn excluded_addrs(&self) -> &[IpAddr] {
        &self.excluded
    }
    /// The announcements sent on hearing a lower-priority advert while
    /// master (see [`LowerPrioAnnounce`]).
    pub fn lower_prio_announce(&self) -> LowerPrioAnnounce {
        self.lower_prio.unwrap_or(LowerPrioAnnounce {
            repeat: self.announce.repeat,
            delay: None,
        })
    }
    /// keepalived's `lower_prio_no_advert` (see
    /// [`ConfigBuilder::lower_prio_no_advert`]).
    pub fn lower_prio_no_advert(&self) -> bool {
        self.lower_prio_no_advert
    }
    /// Whether a master reports the lower-priority adverts it hears (see
    /// [`ConfigBuilder::report_lower_priority`]).
    pub fn report_lower_priority(&self) -> bool {
        self.report_lower_priority
    }
    /// The advert intervals in Master_Down_Interval (see
    /// [`ConfigBuilder::down_timer_adverts`]; 3 by the RFCs).
    pub fn down_timer_adverts(&self) -> u8 {
        self.down_timer_adverts
    }
    /// keepalived's strict mode (see [`ConfigBuilder::strict`]).
    pub fn strict(&self) -> bool {
        self.strict
    }
    /// Every address the router installs: the virtual addresses in
    /// configured order, then the excluded ones.
    pub(crate) fn installed(&self) -> impl Iterator<Item = IpAddr> + '_ {
        let (v4, v6) = match &self.addrs {
            VirtualAddrs::V4(v) => (&v[..], &[][..]),
            VirtualAddrs::V6(v) => (&[][..], &v[..]),
        };
        v4.iter()
            .map(|a| IpAddr::V4(*a))
            .chain(v6.iter().map(|a| IpAddr::V6(*a)))
            .chain(self.excluded.iter().copied())
    }
    /// The number of virtual addresses.
    pub fn addr_count(&self) -> usize {
        match &self.addrs {
            VirtualAddrs::V4(v) => v.len(),
            VirtualAddrs::V6(v) => v.len(),
        }
    }
}

/// Builder for [`Config`]; [`ConfigBuilder::build`] validates everything.
#[derive(Debug, Clone)]
#[must_use]
pub struct ConfigBuilder {
    vrid: u8,
    version: Version,
    priority: u8,
    interval: Interval,
    addrs: Vec<IpAddr>,
    primary: Option<IpAddr>,
    preempt: bool,
    preempt_delay: Option<Duration>,
    accept_mode: bool,
    auth: Auth,
    announce: AnnounceConfig,
    higher_prio_send_advert: bool,
    excluded: Vec<IpAddr>,
    lower_prio: Option<LowerPrioAnnounce>,
    strict: bool,
    lower_prio_no_advert: bool,
    report_lower_priority: bool,
    down_timer_adverts: u8,
}

impl ConfigBuilder {
    /// Priority 1..=254, or 255 for the owner of the virtual addresses.
    pub fn priority(mut self, priority: u8) -> Self {
        self.priority = priority;
        self
    }
    /// Advertisement_Interval (VRRPv2: whole seconds).
    pub fn interval(mut self, interval: Interval) -> Self {
        self.interval = interval;
        self
    }
    /// Adds one virtual address.
    pub fn virtual_addr(mut self, addr: impl Into<IpAddr>) -> Self {
        self.addrs.push(addr.into());
        self
    }
    /// Adds virtual addresses in order.
    pub fn virtual_addrs<I, A>(mut self, addrs: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: Into<IpAddr>,
    {
        self.addrs.extend(addrs.into_iter().map(Into::into));
        self
    }
    /// The primary address of the interface (IPv6: its link-local address).
    pub fn primary_addr(mut self, addr: impl Into<IpAddr>) -> Self {
        self.primary = Some(addr.into());
        self
    }
    /// Preempt_Mode; `false` is keepalived's `nopreempt`.
    pub fn preempt(mut self, preempt: bool) -> Self {
        self.preempt = preempt;
        self
    }
    /// keepalived's `preempt_delay` (at most 1000 s); `None` or zero for none.
    pub fn preempt_delay(mut self, delay: Option<Duration>) -> Self {
        self.preempt_delay = delay.filter(|d| !d.is_zero());
        self
    }
    /// Accept_Mode (RFC 9568 §6.1).
    pub fn accept_mode(mut self, accept: bool) -> Self {
        self.accept_mode = accept;
        self
    }
    /// VRRPv2 authentication.
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }
    /// Announcement settings.
    pub fn announce(mut self, announce: AnnounceConfig) -> Self {
        self.announce = announce;
        self
    }

    /// keepalived's `higher_prio_send_advert`, default **on** here (off in
    /// keepalived): when this master yields to a better advert (RFC 9568
    /// §6.4.3), it first sends one advert of its own. The winner, hearing
    /// a lower-priority master, answers and re-announces the addresses, so
    /// that clients that followed the loser during a split brain converge
    /// back. Off gives the RFC's silent step-down.
    pub fn higher_prio_send_advert(mut self, on: bool) -> Self {
        self.higher_prio_send_advert = on;
        self
    }

    /// Adds addresses installed and announced with the virtual addresses
    /// but not advertised (keepalived's `virtual_ipaddress_excluded`; any
    /// family).
    pub fn excluded_addrs<I, A>(mut self, addrs: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: Into<IpAddr>,
    {
        self.excluded.extend(addrs.into_iter().map(Into::into));
        self
    }

    /// Announcements on hearing a lower-priority advert while master;
    /// `None` keeps the default (see [`LowerPrioAnnounce`]).
    pub fn lower_prio_announce(mut self, lower: Option<LowerPrioAnnounce>) -> Self {
        self.lower_prio = lower;
        self
    }

    /// keepalived's strict mode (`vrrp_strict` / `strict_mode`) for what
    /// the state machine decides: a master that hears a lower-priority
    /// advert only discards it (keepalived's `lower_prio_no_advert`, RFC
    /// 3768 §6.4.3's "Discard the ADVERTISEMENT"), with no advert or
    /// announcement in answer; and an address owner ignores every advert
    /// (keepalived's `owner_ignore_adverts`, RFC 3768 §7.1), in VRRPv3
    /// too. The rest of strict mode (no authentication, no unicast, Accept
    /// Mode off, no `higher_prio_send_advert`) is configuration, checked
    /// where it is given.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// keepalived's `lower_prio_no_advert`: a master that hears a
    /// lower-priority advert sends no advert in answer (RFC 3768 §6.4.3
    /// discards it; RFC 9568 §6.4.3 answers), but still its lower-priority
    /// announcements ([`LowerPrioAnnounce`]). Strict mode implies it.
    pub fn lower_prio_no_advert(mut self, on: bool) -> Self {
        self.lower_prio_no_advert = on;
        self
    }

    /// Report each advert a master hears from a router it wins against
    /// (lower priority, or equal priority and lower address: a second
    /// master, RFC 9568 §6.4.3) as [`Action::LowerPriorityHeard`], for
    /// keepalived's `notify_master_rx_lower_pri` and its FIFO line. Off by
    /// default: the action is only queued for an owner that asked.
    ///
    /// [`Action::LowerPriorityHeard`]: crate::Action::LowerPriorityHeard
    pub fn report_lower_priority(mut self, on: bool) -> Self {
        self.report_lower_priority = on;
        self
    }

    /// keepalived's `down_timer_adverts`: Master_Down_Interval is `n`
    /// advert intervals plus Skew_Time instead of the RFCs' 3 (RFC 9568
    /// §6.1). A deviation from the protocol that every router of the
    /// virtual router must share; 1 to 100, default 3.
    pub fn down_timer_adverts(mut self, n: u8) -> Self {
        self.down_timer_adverts = n;
        self
    }

    /// The virtual addresses as one family's list: none mixed, none twice
    /// (excluded ones included), within what one advert carries.
    fn checked_addrs(&self) -> Result<VirtualAddrs, ConfigError> {
        let first = *self.addrs.first().ok_or(ConfigError::NoVirtualAddresses)?;
        for (i, a) in self.addrs.iter().enumerate() {
            if a.is_ipv4() != first.is_ipv4() {
                return Err(ConfigError::MixedFamilies);
            }
            if self.addrs[..i].contains(a) {
                return Err(ConfigError::DuplicateAddress(*a));
            }
        }
        for (i, a) in self.excluded.iter().enumerate() {
            if self.addrs.contains(a) || self.excluded[..i].contains(a) {
                return Err(ConfigError::DuplicateAddress(*a));
            }
        }
        let addrs = if first.is_ipv4() {
            let v: Vec<_> = self
                .addrs
                .iter()
                .filter_map(|a| match a {
                    IpAddr::V4(a) => Some(*a),
                    IpAddr::V6(_) => None,
                })
                .collect();
            if v.len() > 255 {
                return Err(ConfigError::TooManyAddresses {
                    count: v.len(),
                    max: 255,
                });
            }
            VirtualAddrs::V4(v)
        } else {
            if self.version == Version::V2 {
                return Err(ConfigError::V2WithIpv6);
            }
            let v: Vec<_> = self
                .addrs
                .iter()
                .filter_map(|a| match a {
                    IpAddr::V6(a) => Some(*a),
                    IpAddr::V4(_) => None,
                })
                .collect();
            // 40 (IPv6 header) + 8 + 16 n <= 1500.
            if v.len() > 90 {
                return Err(ConfigError::TooManyAddresses {
                    count: v.len(),
                    max: 90,
                });
            }
            // RFC 9568 §5.2.9 says the first IPv6 address "MUST be the IPv6
            // link-local address associated with the Virtual Router".
            // INTEROP: keepalived 2.2 sends IPv6 lists of global addresses
            // only (tests/fixtures/keepalived_v3_ipv6.bin in vrrp-proto), and
            // its users configure them that way; requiring a link-local first
            // address would make every such configuration and peer fail. A
            // link-local first address is accepted, not required.
            VirtualAddrs::V6(v)
        };
        Ok(addrs)
    }

    /// The primary address: set, of the addresses' family, link-local for
    /// IPv6 (RFC 9568 §5.1.2.1: the source of IPv6 adverts).
    fn checked_primary(&self, addrs: &VirtualAddrs) -> Result<IpAddr, ConfigError> {
        let v4 = matches!(addrs, VirtualAddrs::V4(_));
        let primary = self.primary.ok_or(ConfigError::MissingPrimaryAddress)?;
        match primary {
            IpAddr::V4(_) if !v4 => return Err(ConfigError::PrimaryFamily),
            IpAddr::V6(_) if v4 => return Err(ConfigError::PrimaryFamily),
            IpAddr::V6(p) if !p.is_unicast_link_local() => {
                return Err(ConfigError::PrimaryNotLinkLocal);
            }
            _ => {}
        }
        Ok(primary)
    }

    /// Checks every field and returns the configuration.
    pub fn build(self) -> Result<Config, ConfigError> {
        let vrid = Vrid::new(self.vrid).ok_or(ConfigError::VridZero)?;
        if self.priority == 0 {
            return Err(ConfigError::PriorityZero);
        }
        if !self.interval.fits_version(self.version) {
            return Err(ConfigError::IntervalInvalid {
                centis: self.interval.centis(),
                version: self.version,
            });
        }
        let addrs = self.checked_addrs()?;
        let primary = self.checked_primary(&addrs)?;
        if self.version == Version::V3 && self.auth != Auth::None {
            return Err(ConfigError::AuthOnV3);
        }
        if self.preempt_delay.is_some_and(|d| d > MAX_PREEMPT_DELAY) {
            return Err(ConfigError::PreemptDelayTooLong);
        }
        if self.announce.repeat == 0 || self.announce.refresh_repeat == 0 {
            return Err(ConfigError::RepeatZero);
        }
        if self.announce.refresh.is_some_and(|d| d.is_zero()) {
            return Err(ConfigError::RefreshZero);
        }
        if !(1..=100).contains(&self.down_timer_adverts) {
            return Err(ConfigError::DownTimerAdverts(self.down_timer_adverts));
        }
        let announce = AnnounceConfig {
            second_burst_delay: self.announce.second_burst_delay.filter(|d| !d.is_zero()),
            ..self.announce
        };
        Ok(Config {
            vrid,
            version: self.version,
            priority: Priority::new(self.priority),
            interval: self.interval,
            addrs,
            primary,
            preempt: self.preempt,
            preempt_delay: self.preempt_delay,
            accept_mode: self.accept_mode,
            auth: self.auth,
            announce,
            higher_prio_send_advert: self.higher_prio_send_advert,
            excluded: self.excluded,
            strict: self.strict,
            lower_prio_no_advert: self.lower_prio_no_advert,
            report_lower_priority: self.report_lower_priority,
            down_timer_adverts: self.down_timer_adverts,
            lower_prio: self.lower_prio.map(|l| LowerPrioAnnounce {
                delay: l.delay.filter(|d| !d.is_zero()),
                ..l
            }),
        })
    }
}
