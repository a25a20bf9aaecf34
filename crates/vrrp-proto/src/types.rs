//! Constrained protocol values: [`Vrid`], [`Priority`], [`Interval`], [`Version`].
//!
//! Each newtype can only hold a value the RFCs allow, so code that receives
//! one never has to re-check it.

use core::fmt;
use core::time::Duration;

/// A Virtual Router Identifier, 1..=255.
///
/// [RFC 9568 §5.2.3]: "VRID ... Configurable item in the range 1-255 (decimal).
/// There is no default." The same holds for VRRPv2 ([RFC 3768 §5.3.3]).
///
/// [RFC 9568 §5.2.3]: https://www.rfc-editor.org/rfc/rfc9568#section-5.2.3
/// [RFC 3768 §5.3.3]: https://www.rfc-editor.org/rfc/rfc3768#section-5.3.3
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Vrid(core::num::NonZeroU8);

impl Vrid {
    /// Returns the VRID for `value`, or `None` for 0 (which no RFC allows).
    pub const fn new(value: u8) -> Option<Self> {
        match core::num::NonZeroU8::new(value) {
            Some(v) => Some(Vrid(v)),
            None => None,
        }
    }

    /// The VRID as it appears on the wire.
    pub const fn get(self) -> u8 {
        self.0.get()
    }
}

impl fmt::Display for Vrid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A VRRP router priority, 0..=255.
///
/// [RFC 9568 §5.2.4]: 255 is reserved for the router that owns the virtual
/// addresses ([`Priority::OWNER`]); 0 means the current master has stopped
/// participating ([`Priority::RELEASE`]); backups use 1..=254, default 100.
///
/// [RFC 9568 §5.2.4]: https://www.rfc-editor.org/rfc/rfc9568#section-5.2.4
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Priority(u8);

impl Priority {
    /// Priority 0: "the current Master has stopped participating in VRRP"
    /// (RFC 9568 §5.2.4).
    pub const RELEASE: Priority = Priority(0);
    /// Priority 255: the router owns the virtual addresses (RFC 9568 §5.2.4).
    pub const OWNER: Priority = Priority(255);
    /// The default priority of a backup router, 100 (RFC 9568 §5.2.4).
    pub const DEFAULT: Priority = Priority(100);
    /// The lowest priority a non-owner may run with (RFC 9568 §6.1: 1-254).
    pub const MIN_BACKUP: Priority = Priority(1);
    /// The highest priority a non-owner may run with (RFC 9568 §6.1: 1-254).
    pub const MAX_BACKUP: Priority = Priority(254);

    /// Wraps a wire value; every `u8` is a valid priority on the wire.
    pub const fn new(value: u8) -> Self {
        Priority(value)
    }

    /// The priority as it appears on the wire.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// True for 255, the address owner.
    pub const fn is_owner(self) -> bool {
        self.0 == 255
    }

    /// True for 0, a master that is leaving.
    pub const fn is_release(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An advertisement interval in centiseconds (hundredths of a second).
///
/// One unit for both versions: VRRPv2 carries whole seconds in an 8-bit
/// field ([RFC 3768 §5.3.7], default 1 s) and is converted once, here;
/// VRRPv3 carries centiseconds in a 12-bit field ([RFC 9568 §5.2.7],
/// 1..=4095, default 100). Zero is never valid.
///
/// [RFC 3768 §5.3.7]: https://www.rfc-editor.org/rfc/rfc3768#section-5.3.7
/// [RFC 9568 §5.2.7]: https://www.rfc-editor.org/rfc/rfc9568#section-5.2.7
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interval(core::num::NonZeroU16);

impl Interval {
    /// The largest VRRPv3 interval, 4095 cs (12-bit field, RFC 9568 §5.2.7).
    pub const MAX_V3_CENTIS: u16 = 4095;
    /// The default interval of both versions: 1 s = 100 cs.
    pub const DEFAULT: Interval = match Interval::from_centis(100) {
        Some(i) => i,
        None => panic!("100 is a valid interval"),
    };

    /// An interval of `centis` centiseconds; `None` for 0.
    ///
    /// Values above [`Interval::MAX_V3_CENTIS`] are representable (a VRRPv2
    /// interval of up to 255 s is 25500 cs) but cannot be sent as VRRPv3;
    /// [`Interval::fits_version`] tells.
    pub const fn from_centis(centis: u16) -> Option<Self> {
        match core::num::NonZeroU16::new(centis) {
            Some(v) => Some(Interval(v)),
            None => None,
        }
    }

    /// A VRRPv2 interval of `secs` whole seconds (RFC 3768 §5.3.7); `None` for 0.
    pub const fn from_secs_v2(secs: u8) -> Option<Self> {
        // 255 s * 100 = 25500 < u16::MAX, so this cannot overflow.
        Self::from_centis(secs as u16 * 100)
    }

    /// The interval in centiseconds.
    pub const fn centis(self) -> u16 {
        self.0.get()
    }

    /// The interval as whole seconds for a VRRPv2 header, if it is a whole,
    /// non-zero number of seconds that fits 8 bits.
    pub const fn as_secs_v2(self) -> Option<u8> {
        let c = self.0.get();
        if c % 100 == 0 && c / 100 <= u8::MAX as u16 {
            Some((c / 100) as u8)
        } else {
            None
        }
    }

    /// True if the interval can be carried by an advertisement of `version`.
    pub const fn fits_version(self, version: Version) -> bool {
        match version {
            Version::V2 => self.as_secs_v2().is_some(),
            Version::V3 => self.0.get() <= Self::MAX_V3_CENTIS,
        }
    }

    /// The interval as a [`Duration`].
    pub const fn to_duration(self) -> Duration {
        Duration::from_millis(self.0.get() as u64 * 10)
    }
}

impl Default for Interval {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}cs", self.0.get())
    }
}

/// The VRRP protocol version of an advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// VRRPv2, [RFC 3768]: IPv4 only, interval in seconds, optional simple
    /// password authentication.
    ///
    /// [RFC 3768]: https://www.rfc-editor.org/rfc/rfc3768
    V2,
    /// VRRPv3, [RFC 9568]: IPv4 and IPv6, interval in centiseconds, no
    /// authentication.
    ///
    /// [RFC 9568]: https://www.rfc-editor.org/rfc/rfc9568
    V3,
}

impl Version {
    /// The 4-bit value of the version field.
    pub const fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VRRPv{}", self.number())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vrid_rejects_zero_and_accepts_the_rest() {
        assert_eq!(Vrid::new(0), None);
        for v in 1..=255u8 {
            assert_eq!(Vrid::new(v).map(Vrid::get), Some(v));
        }
    }

    #[test]
    fn priority_constants_follow_rfc_9568_5_2_4() {
        for v in 0..=255u8 {
            let p = Priority::new(v);
            assert_eq!(p.get(), v);
            assert_eq!(p.is_owner(), v == 255);
            assert_eq!(p.is_release(), v == 0);
        }
        assert_eq!(Priority::DEFAULT.get(), 100);
    }

    #[test]
    fn every_v3_interval_round_trips_through_duration() {
        for c in 1..=Interval::MAX_V3_CENTIS {
            let i = Interval::from_centis(c).expect("non-zero");
            assert_eq!(i.centis(), c);
            assert!(i.fits_version(Version::V3));
            assert_eq!(i.to_duration().as_millis(), u128::from(c) * 10);
        }
        assert_eq!(Interval::from_centis(0), None);
        let too_big = Interval::from_centis(4096).expect("non-zero");
        assert!(!too_big.fits_version(Version::V3));
    }

    #[test]
    fn v2_seconds_convert_once_to_centiseconds() {
        assert_eq!(Interval::from_secs_v2(0), None);
        for s in 1..=255u8 {
            let i = Interval::from_secs_v2(s).expect("non-zero");
            assert_eq!(i.centis(), u16::from(s) * 100);
            assert_eq!(i.as_secs_v2(), Some(s));
            assert!(i.fits_version(Version::V2));
        }
        let half = Interval::from_centis(50).expect("non-zero");
        assert_eq!(half.as_secs_v2(), None);
        assert!(!half.fits_version(Version::V2));
    }
}
