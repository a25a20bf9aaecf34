//! Small wire code spaces: the raw version nibble, the message type and the
//! VRRPv2 authentication type.
//!
//! Each is an enum with an `Unknown(u8)` arm, so `From<u8>` cannot fail and
//! a value survives a round trip unchanged. Whether an unknown value is an
//! error is decided by [`Advert::parse`](crate::Advert::parse), not here.

use core::fmt;

use crate::types::Version;

macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:expr, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// Any other value.
            Unknown(u8),
        }

        impl From<u8> for $name {
            fn from(value: u8) -> Self {
                match value {
                    $( $value => $name::$variant, )+
                    other => $name::Unknown(other),
                }
            }
        }

        impl From<$name> for u8 {
            fn from(value: $name) -> u8 {
                match value {
                    $( $name::$variant => $value, )+
                    $name::Unknown(other) => other,
                }
            }
        }
    };
}

code_enum! {
    /// The 4-bit Version field ([RFC 9568 §5.2.1], [RFC 3768 §5.3.1]) as read
    /// from the wire. [`Version`] is the validated form.
    ///
    /// `Unknown` values from the wire are below 16; a larger value given to
    /// a setter is masked to its low 4 bits.
    ///
    /// [RFC 9568 §5.2.1]: https://www.rfc-editor.org/rfc/rfc9568#section-5.2.1
    /// [RFC 3768 §5.3.1]: https://www.rfc-editor.org/rfc/rfc3768#section-5.3.1
    pub enum RawVersion {
        /// VRRPv2.
        V2 = 2,
        /// VRRPv3.
        V3 = 3,
    }
}

code_enum! {
    /// The 4-bit Type field ([RFC 9568 §5.2.2], [RFC 3768 §5.3.2]): only
    /// 1, ADVERTISEMENT, is defined.
    ///
    /// [RFC 9568 §5.2.2]: https://www.rfc-editor.org/rfc/rfc9568#section-5.2.2
    /// [RFC 3768 §5.3.2]: https://www.rfc-editor.org/rfc/rfc3768#section-5.3.2
    pub enum MessageType {
        /// 1: ADVERTISEMENT.
        Advertisement = 1,
    }
}

code_enum! {
    /// The VRRPv2 Auth Type field ([RFC 3768 §5.3.6]; the values 1 and 2 are
    /// those [RFC 2338 §5.3.6] defined and keepalived still implements).
    ///
    /// [RFC 3768 §5.3.6]: https://www.rfc-editor.org/rfc/rfc3768#section-5.3.6
    /// [RFC 2338 §5.3.6]: https://www.rfc-editor.org/rfc/rfc2338#section-5.3.6
    pub enum AuthType {
        /// 0: no authentication.
        None = 0,
        /// 1: simple text password (RFC 2338 §5.3.6.2; "Reserved" in RFC 3768).
        SimplePassword = 1,
        /// 2: IP Authentication Header (RFC 2338 §5.3.6.3; "Reserved" in RFC 3768).
        IpAh = 2,
    }
}

impl From<Version> for RawVersion {
    fn from(v: Version) -> Self {
        match v {
            Version::V2 => RawVersion::V2,
            Version::V3 => RawVersion::V3,
        }
    }
}

impl TryFrom<RawVersion> for Version {
    type Error = u8;

    /// The validated version; `Err` carries an unknown value.
    fn try_from(v: RawVersion) -> Result<Self, u8> {
        match v {
            RawVersion::V2 => Ok(Version::V2),
            RawVersion::V3 => Ok(Version::V3),
            RawVersion::Unknown(x) => Err(x),
        }
    }
}

impl fmt::Display for RawVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RawVersion::V2 => f.write_str("2"),
            RawVersion::V3 => f.write_str("3"),
            RawVersion::Unknown(x) => write!(f, "unknown ({x})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_round_trips_through_every_code_enum() {
        for b in 0..=255u8 {
            assert_eq!(u8::from(RawVersion::from(b)), b);
            assert_eq!(u8::from(MessageType::from(b)), b);
            assert_eq!(u8::from(AuthType::from(b)), b);
            assert_eq!(
                matches!(RawVersion::from(b), RawVersion::Unknown(_)),
                !(b == 2 || b == 3)
            );
            assert_eq!(
                matches!(MessageType::from(b), MessageType::Unknown(_)),
                b != 1
            );
            assert_eq!(matches!(AuthType::from(b), AuthType::Unknown(_)), b > 2);
        }
    }

    #[test]
    fn version_conversions() {
        for v in [Version::V2, Version::V3] {
            assert_eq!(Version::try_from(RawVersion::from(v)), Ok(v));
            assert_eq!(u8::from(RawVersion::from(v)), v.number());
        }
        assert_eq!(Version::try_from(RawVersion::from(4)), Err(4));
    }
}
