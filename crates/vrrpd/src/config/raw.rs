//! The TOML shapes, as written by the operator.
//!
//! Every table denies unknown keys, so a typo is an error with its position
//! rather than a silently ignored setting. Values that later checks may
//! complain about are kept with their [`Spanned`] position.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use toml::Spanned;

/// The tables of the file, each read on its own (see `lenient`), so that
/// a mistake in one does not hide the others.
#[derive(Debug, Default)]
pub(crate) struct RawConfig {
    pub(crate) global: Option<Spanned<RawGlobal>>,
    pub(crate) instances: Vec<Spanned<RawInstance>>,
    pub(crate) checks: Vec<Spanned<RawCheck>>,
    pub(crate) sync_groups: Vec<Spanned<RawSyncGroup>>,
    /// `[lvs]` (`lvs.rs`).
    pub(crate) lvs: Option<Spanned<super::lvs::RawLvs>>,
    /// `[[virtual_server]]` (`lvs.rs`).
    pub(crate) virtual_servers: Vec<Spanned<super::lvs::RawVirtualServer>>,
}

/// A table read by `lenient::table`, which records the keys it left out
/// (so that a required key with a wrong value is not also called missing).
pub(crate) trait Partial {
    /// The keys left out.
    fn dropped_mut(&mut self) -> &mut Vec<String>;
    /// The keys left out.
    fn dropped(&self) -> &[String];
}

/// The top-level keys, for "did you mean".
pub(crate) const TOP_LEVEL: [&str; 7] = [
    "global",
    "instance",
    "check",
    "sync_group",
    "include",
    "lvs",
    "virtual_server",
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGlobal {
    /// Keys left out because their value was wrong (already reported).
    #[serde(skip)]
    pub(crate) dropped: Vec<String>,
    pub(crate) control_socket: Option<Spanned<String>>,
    pub(crate) notify_timeout: Option<Spanned<Dur>>,
    pub(crate) metrics_listen: Option<Spanned<String>>,
    pub(crate) control_group: Option<Spanned<String>>,
    pub(crate) advert_late_warn: Option<Spanned<f64>>,
    // e-mail alerts (`mail.rs`), keepalived's names
    pub(crate) router_id: Option<Spanned<String>>,
    pub(crate) notification_email: Option<Spanned<Vec<Spanned<String>>>>,
    pub(crate) notification_email_from: Option<Spanned<String>>,
    pub(crate) smtp_server: Option<Spanned<String>>,
    pub(crate) smtp_connect_timeout: Option<Spanned<Dur>>,
    pub(crate) smtp_helo_name: Option<Spanned<String>>,
    pub(crate) smtp_alert: Option<Spanned<bool>>,
    pub(crate) no_email_faults: Option<Spanned<bool>>,
    pub(crate) smtp_alert_checker: Option<Spanned<bool>>,
    pub(crate) no_checker_emails: Option<Spanned<bool>>,
    // Defaults of every instance's announcement keys (keepalived's
    // global `vrrp_garp_*`).
    pub(crate) garp_master_delay: Option<Spanned<Dur>>,
    pub(crate) garp_master_repeat: Option<Spanned<u32>>,
    pub(crate) garp_master_refresh: Option<Spanned<Dur>>,
    pub(crate) garp_lower_prio_delay: Option<Spanned<Dur>>,
    pub(crate) garp_lower_prio_repeat: Option<Spanned<u32>>,
    pub(crate) garp_master_refresh_repeat: Option<Spanned<u32>>,
    pub(crate) lower_prio_no_advert: Option<Spanned<bool>>,
    pub(crate) notify_fifo: Option<Spanned<String>>,
    pub(crate) notify_priority_changes: Option<Spanned<bool>>,
    pub(crate) fifo_write_states_on_reload: Option<Spanned<bool>>,
    pub(crate) startup_delay: Option<Spanned<Dur>>,
    pub(crate) strict: Option<Spanned<bool>>,
    #[serde(default)]
    pub(crate) static_addresses: Vec<Spanned<RawVip>>,
    #[serde(default)]
    pub(crate) static_routes: Vec<Spanned<RawRoute>>,
    #[serde(default)]
    pub(crate) static_rules: Vec<Spanned<RawRule>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInstance {
    /// Keys left out because their value was wrong (already reported).
    #[serde(skip)]
    pub(crate) dropped: Vec<String>,
    // Required keys are optional here so that the rest of an instance is
    // still checked when one is missing; validation reports the absence.
    pub(crate) name: Option<Spanned<String>>,
    pub(crate) interface: Option<Spanned<String>>,
    pub(crate) vrid: Option<Spanned<u8>>,
    pub(crate) version: Option<Spanned<u8>>,
    pub(crate) priority: Option<Spanned<u8>>,
    pub(crate) advert_interval: Option<Spanned<Dur>>,
    pub(crate) virtual_addresses: Option<Spanned<Vec<Spanned<NameOr<RawVip>>>>>,
    pub(crate) preempt: Option<Spanned<bool>>,
    pub(crate) preempt_delay: Option<Spanned<Dur>>,
    pub(crate) accept: Option<Spanned<bool>>,
    pub(crate) authentication: Option<Spanned<RawAuth>>,
    pub(crate) unicast_source: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) unicast_peers: Vec<Spanned<String>>,
    #[serde(default)]
    pub(crate) track_interfaces: Vec<Spanned<NameOr<RawTrackInterface>>>,
    #[serde(default)]
    pub(crate) track_checks: Vec<Spanned<NameOr<RawTrackCheck>>>,
    pub(crate) v3_ipv4_checksum: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) virtual_routes: Vec<Spanned<RawRoute>>,
    #[serde(default)]
    pub(crate) virtual_rules: Vec<Spanned<RawRule>>,
    pub(crate) use_vmac: Option<Spanned<bool>>,
    pub(crate) vmac_name: Option<Spanned<String>>,
    pub(crate) garp_master_delay: Option<Spanned<Dur>>,
    pub(crate) garp_master_repeat: Option<Spanned<u32>>,
    pub(crate) garp_master_refresh: Option<Spanned<Dur>>,
    pub(crate) garp_lower_prio_delay: Option<Spanned<Dur>>,
    pub(crate) garp_lower_prio_repeat: Option<Spanned<u32>>,
    pub(crate) garp_master_refresh_repeat: Option<Spanned<u32>>,
    pub(crate) lower_prio_no_advert: Option<Spanned<bool>>,
    pub(crate) multicast_source: Option<Spanned<String>>,
    pub(crate) virtual_addresses_excluded: Option<Spanned<Vec<Spanned<NameOr<RawVip>>>>>,
    pub(crate) track_own_interface: Option<Spanned<bool>>,
    pub(crate) promote_secondaries: Option<Spanned<bool>>,
    pub(crate) down_timer_adverts: Option<Spanned<u32>>,
    pub(crate) track_source: Option<Spanned<bool>>,
    pub(crate) strict: Option<Spanned<bool>>,
    pub(crate) notify_master: Option<Spanned<Argv>>,
    pub(crate) notify_backup: Option<Spanned<Argv>>,
    pub(crate) notify_fault: Option<Spanned<Argv>>,
    pub(crate) notify_stop: Option<Spanned<Argv>>,
    pub(crate) notify: Option<Spanned<Argv>>,
    pub(crate) notify_master_rx_lower_pri: Option<Spanned<Argv>>,
    pub(crate) smtp_alert: Option<Spanned<bool>>,
    pub(crate) notify_priority_changes: Option<Spanned<bool>>,
}

/// The notify hook keys, shared by instances and sync groups (serde's
/// `flatten` would lose positions and `deny_unknown_fields`, so the keys are
/// spelled out in both tables and read through this trait).
pub(crate) trait HookKeys {
    /// `(key, value)` for each notify key that is set.
    fn hook_keys(&self) -> [(&'static str, Option<&Spanned<Argv>>); 5];
    /// `smtp_alert`, if set.
    fn smtp_alert(&self) -> Option<bool>;
    /// `notify_priority_changes`, if set.
    fn priority_changes(&self) -> Option<&Spanned<bool>>;
}

macro_rules! impl_hook_keys {
    ($t:ty) => {
        impl HookKeys for $t {
            fn hook_keys(&self) -> [(&'static str, Option<&Spanned<Argv>>); 5] {
                [
                    ("notify_master", self.notify_master.as_ref()),
                    ("notify_backup", self.notify_backup.as_ref()),
                    ("notify_fault", self.notify_fault.as_ref()),
                    ("notify_stop", self.notify_stop.as_ref()),
                    ("notify", self.notify.as_ref()),
                ]
            }
            fn smtp_alert(&self) -> Option<bool> {
                self.smtp_alert.as_ref().map(|s| *s.get_ref())
            }
            fn priority_changes(&self) -> Option<&Spanned<bool>> {
                self.notify_priority_changes.as_ref()
            }
        }
    };
}
impl_hook_keys!(RawInstance);
impl_hook_keys!(RawSyncGroup);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVip {
    pub(crate) address: Spanned<String>,
    pub(crate) label: Option<Spanned<String>>,
    pub(crate) interface: Option<Spanned<String>>,
}

impl From<String> for RawVip {
    fn from(address: String) -> Self {
        RawVip {
            address: Spanned::new(0..0, address),
            label: None,
            interface: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRoute {
    pub(crate) to: Spanned<String>,
    pub(crate) via: Option<Spanned<String>>,
    pub(crate) interface: Option<Spanned<String>>,
    pub(crate) metric: Option<Spanned<u32>>,
    pub(crate) table: Option<Spanned<u32>>,
}

/// A routing policy rule (`ip rule`): keepalived's `virtual_rules` and
/// `static_rules`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    pub(crate) from: Option<Spanned<String>>,
    pub(crate) to: Option<Spanned<String>>,
    pub(crate) iif: Option<Spanned<String>>,
    pub(crate) oif: Option<Spanned<String>>,
    pub(crate) fwmark: Option<Spanned<u32>>,
    pub(crate) priority: Option<Spanned<u32>>,
    pub(crate) table: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTrackInterface {
    pub(crate) name: String,
    pub(crate) weight: Option<Spanned<i32>>,
}

impl From<String> for RawTrackInterface {
    fn from(name: String) -> Self {
        RawTrackInterface { name, weight: None }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTrackCheck {
    pub(crate) name: String,
    pub(crate) weight: Option<Spanned<i32>>,
}

impl From<String> for RawTrackCheck {
    fn from(name: String) -> Self {
        RawTrackCheck { name, weight: None }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAuth {
    #[serde(rename = "type")]
    pub(crate) kind: Spanned<String>,
    pub(crate) password: Option<Spanned<String>>,
}

/// One `[[check]]`: the keys of every kind, checked against `type` later so
/// that a key of the wrong kind is reported with its position.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCheck {
    /// Keys left out because their value was wrong (already reported).
    #[serde(skip)]
    pub(crate) dropped: Vec<String>,
    pub(crate) name: Option<Spanned<String>>,
    #[serde(rename = "type")]
    pub(crate) kind: Option<Spanned<String>>,
    pub(crate) interval: Option<Spanned<Dur>>,
    pub(crate) timeout: Option<Spanned<Dur>>,
    pub(crate) rise: Option<Spanned<u32>>,
    pub(crate) fall: Option<Spanned<u32>>,
    pub(crate) weight: Option<Spanned<i32>>,
    pub(crate) reverse: Option<Spanned<bool>>,
    pub(crate) init_fail: Option<Spanned<bool>>,
    // exec
    pub(crate) command: Option<Spanned<Argv>>,
    pub(crate) shell: Option<Spanned<bool>>,
    pub(crate) user: Option<Spanned<String>>,
    pub(crate) env: Option<Spanned<BTreeMap<String, String>>>,
    // tcp, http, icmp
    pub(crate) address: Option<Spanned<String>>,
    pub(crate) port: Option<Spanned<u16>>,
    // http
    pub(crate) host: Option<Spanned<String>>,
    pub(crate) path: Option<Spanned<String>>,
    pub(crate) expect_status: Option<Spanned<Vec<u16>>>,
    pub(crate) expect_body: Option<Spanned<String>>,
    // interface
    pub(crate) interface: Option<Spanned<String>>,
    // process
    pub(crate) process: Option<Spanned<String>>,
    pub(crate) args: Option<Spanned<Vec<String>>>,
    pub(crate) param_match: Option<Spanned<String>>,
    pub(crate) full_command: Option<Spanned<bool>>,
    pub(crate) quorum: Option<Spanned<u32>>,
    pub(crate) quorum_max: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSyncGroup {
    /// Keys left out because their value was wrong (already reported).
    #[serde(skip)]
    pub(crate) dropped: Vec<String>,
    pub(crate) name: Option<Spanned<String>>,
    pub(crate) instances: Option<Spanned<Vec<Spanned<String>>>>,
    pub(crate) notify_master: Option<Spanned<Argv>>,
    pub(crate) notify_backup: Option<Spanned<Argv>>,
    pub(crate) notify_fault: Option<Spanned<Argv>>,
    pub(crate) notify_stop: Option<Spanned<Argv>>,
    pub(crate) notify: Option<Spanned<Argv>>,
    pub(crate) smtp_alert: Option<Spanned<bool>>,
    pub(crate) notify_priority_changes: Option<Spanned<bool>>,
}

/// A duration written as `"100ms"`, `"1.5s"`, `"2m"`, or a number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dur(pub(crate) Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"100ms\", \"1s\", \"1.5s\", \"2m\", or a number of seconds")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                u64::try_from(v)
                    .map(|s| Dur(Duration::from_secs(s)))
                    .map_err(|_| E::custom("a duration cannot be negative"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dur, E> {
                Ok(Dur(Duration::from_secs(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Dur, E> {
                Duration::try_from_secs_f64(v).map(Dur).map_err(|_| {
                    E::custom("a duration must be a finite, non-negative number of seconds")
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                parse_duration(v).map(Dur).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Parses `"250ms"`, `"1s"`, `"1.5s"`, `"2m"`, `"1h"`, `"10us"` (no sign, one unit).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("duration {text:?} has no unit (use ms, s, m or h)"))?;
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("duration {text:?} does not start with a number"))?;
    let scale = match unit.trim() {
        "us" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!(
                "unknown duration unit {other:?} in {text:?} (use ms, s, m or h)"
            ));
        }
    };
    Duration::try_from_secs_f64(value * scale)
        .map_err(|_| format!("duration {text:?} is out of range"))
}

/// A command line: an array of arguments (run without a shell), or a string
/// split on white space with single or double quotes grouping words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Argv(pub(crate) Vec<String>);

impl<'de> Deserialize<'de> for Argv {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Argv;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a command: a string, or an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Argv, E> {
                split_words(v).map(Argv).map_err(E::custom)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Argv, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(Argv(out))
            }
        }
        let argv = d.deserialize_any(V)?;
        if argv.0.first().is_none_or(|a| a.is_empty()) {
            return Err(de::Error::custom("a command needs at least a program name"));
        }
        Ok(argv)
    }
}

/// Splits a command string into words, honouring single and double quotes
/// and backslash escapes outside single quotes. No variables, no globbing.
pub(crate) fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err(format!("unterminated single quote in {s:?}")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => cur.push(c),
                            None => return Err(format!("trailing backslash in {s:?}")),
                        },
                        Some(c) => cur.push(c),
                        None => return Err(format!("unterminated double quote in {s:?}")),
                    }
                }
            }
            '\\' => match chars.next() {
                Some(c) => {
                    in_word = true;
                    cur.push(c);
                }
                None => return Err(format!("trailing backslash in {s:?}")),
            },
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// A list entry written either as a bare string (its name or address) or as
/// a table with more keys.
#[derive(Debug)]
pub(crate) struct NameOr<T>(pub(crate) T);

impl<'de, T> Deserialize<'de> for NameOr<T>
where
    T: Deserialize<'de> + From<String>,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T> Visitor<'de> for V<T>
        where
            T: Deserialize<'de> + From<String>,
        {
            type Value = NameOr<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a table")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<NameOr<T>, E> {
                Ok(NameOr(T::from(v.to_owned())))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<NameOr<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(NameOr)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl Partial for RawGlobal {
    fn dropped_mut(&mut self) -> &mut Vec<String> {
        &mut self.dropped
    }
    fn dropped(&self) -> &[String] {
        &self.dropped
    }
}

impl Partial for RawInstance {
    fn dropped_mut(&mut self) -> &mut Vec<String> {
        &mut self.dropped
    }
    fn dropped(&self) -> &[String] {
        &self.dropped
    }
}

impl Partial for RawCheck {
    fn dropped_mut(&mut self) -> &mut Vec<String> {
        &mut self.dropped
    }
    fn dropped(&self) -> &[String] {
        &self.dropped
    }
}

impl Partial for RawSyncGroup {
    fn dropped_mut(&mut self) -> &mut Vec<String> {
        &mut self.dropped
    }
    fn dropped(&self) -> &[String] {
        &self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_units_and_reject_nonsense() {
        assert_eq!(parse_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("100").is_err());
        assert!(parse_duration("ms").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn command_strings_split_like_a_shell_without_expansion() {
        assert_eq!(
            split_words(r#"/bin/echo 'a b' "c \"d\"" e\ f"#),
            Ok(vec![
                "/bin/echo".into(),
                "a b".into(),
                "c \"d\"".into(),
                "e f".into()
            ])
        );
        assert_eq!(split_words("  x   y "), Ok(vec!["x".into(), "y".into()]));
        assert!(split_words("'open").is_err());
        assert!(split_words("\"open").is_err());
        assert!(split_words("trailing\\").is_err());
    }
}
