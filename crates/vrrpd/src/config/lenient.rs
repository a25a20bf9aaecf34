//! Reading tables that contain mistakes: a key with a wrong value or an
//! unknown key is reported and left out, and the rest of the table is read,
//! so that every problem of a file shows in one run.
//!
//! Serde stops at the first error of a struct. Here the table is read, the
//! key the error points into is reported (in the user's words) and removed,
//! and the table is read again; each retry removes one key, so the work is
//! bounded by the number of keys.

use std::ops::Range;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeValue, ValueDeserializer};

use super::raw::Partial;
use super::suggest::closest;

/// A problem found while reading: where and what.
pub(crate) type Problem = (Range<usize>, String);

/// Reads `T` from the table `v`. Keys that cannot be read are reported in
/// `problems` and left out; `None` if the value is not a table or the
/// table cannot be read even without them.
pub(crate) fn table<T: DeserializeOwned + Partial>(
    v: Spanned<DeValue<'_>>,
    what: &str,
    problems: &mut Vec<Problem>,
) -> Option<Spanned<T>> {
    let span = v.span();
    let DeValue::Table(mut t) = v.into_inner() else {
        problems.push((span, format!("{what} must be a table")));
        return None;
    };
    let mut dropped = Vec::new();
    loop {
        let whole = Spanned::new(span.clone(), DeValue::Table(t.clone()));
        let err = match T::deserialize(ValueDeserializer::from(whole)) {
            Ok(mut x) => {
                *x.dropped_mut() = dropped;
                return Some(Spanned::new(span, x));
            }
            Err(e) => e,
        };
        let at = err.span().unwrap_or_else(|| span.clone());
        let key = t
            .iter()
            .find(|(k, v)| inside(&k.span(), at.start) || inside(&v.span(), at.start))
            .map(|(k, v)| (k.clone(), v.span()));
        let Some((key, value_span)) = key else {
            problems.push((at, plain(err.message())));
            return None;
        };
        let name = key.get_ref().to_string();
        problems.push((at.clone(), explain(&name, err.message(), at == value_span)));
        t.remove(&key);
        dropped.push(name);
    }
}

fn inside(span: &Range<usize>, offset: usize) -> bool {
    span.start <= offset && offset < span.end.max(span.start + 1)
}

/// The serde message `message` about key `key`, in the user's words.
/// `whole` says the error is about the key's whole value (not something
/// nested inside it).
pub(crate) fn explain(key: &str, message: &str, whole: bool) -> String {
    let message = message.trim_end();
    if let Some(rest) = message.strip_prefix("unknown field `") {
        return unknown_key(rest);
    }
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|r| r.strip_suffix('`'))
    {
        return format!("`{key}`: an entry needs `{field}`");
    }
    let bad = ["invalid type: ", "invalid value: "]
        .iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|r| r.split_once(", expected "));
    match bad {
        Some((found, expected)) if whole => {
            let expected = expectation(key).map_or_else(|| plain_type(expected), str::to_owned);
            format!("{key} must be {expected}, not {}", found_value(found))
        }
        Some((found, expected)) => format!(
            "in `{key}`: {} where {} is expected",
            found_value(found),
            plain_type(expected)
        ),
        None if whole => format!("{key}: {}", plain(message)),
        None => format!("in `{key}`: {}", plain(message)),
    }
}

/// "unknown field `x`, expected one of `a`, `b`": with a suggestion when
/// one of the keys is close, else with the list of keys.
fn unknown_key(rest: &str) -> String {
    let (name, tail) = rest.split_once('`').unwrap_or((rest, ""));
    let keys: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
    match closest(name, keys.iter().copied()) {
        Some(k) => format!("unknown field `{name}`: did you mean `{k}`?"),
        None => format!("unknown field `{name}`{tail}"),
    }
}

/// What a key accepts, where serde's word (`u8`, `u16`) would not say it.
fn expectation(key: &str) -> Option<&'static str> {
    Some(match key {
        "vrid" => "a whole number from 1 to 255 (RFC 9568 §5.2.3)",
        "priority" => "a whole number from 1 to 255 (255: the address owner)",
        "version" => "2 or 3",
        "port" => "a port number from 1 to 65535",
        "weight" => "a whole number from -254 to 254",
        "rise" | "fall" => "a whole number of probes, at least 1",
        "garp_master_repeat" | "down_timer_adverts" => "a whole number from 1 to 100",
        "garp_lower_prio_repeat" => "a whole number from 0 to 100",
        "metric" | "table" => "a whole number from 0 to 4294967295",
        "expect_status" => "a list of HTTP status codes (100 to 599)",
        _ => return None,
    })
}

/// Serde's type names in words.
fn plain_type(expected: &str) -> String {
    match expected {
        "u8" => "a whole number from 0 to 255".to_owned(),
        "u16" => "a whole number from 0 to 65535".to_owned(),
        "u32" => "a whole number from 0 to 4294967295".to_owned(),
        "i32" => "a whole number".to_owned(),
        "a boolean" => "true or false".to_owned(),
        "a string" => "a string (in quotes)".to_owned(),
        "a sequence" => "a list `[...]`".to_owned(),
        other => other.to_owned(),
    }
}

/// Rewrites the type names of any serde message.
pub(crate) fn plain(message: &str) -> String {
    match message.split_once(", expected ") {
        Some((head, expected)) => format!("{head}, expected {}", plain_type(expected.trim_end())),
        None => message.trim_end().to_owned(),
    }
}

/// `integer `300`` → `300`, `string "x"` → `"x"`.
fn found_value(found: &str) -> String {
    for p in ["integer ", "floating point ", "boolean ", "string "] {
        if let Some(v) = found.strip_prefix(p) {
            return v.trim_matches('`').to_owned();
        }
    }
    match found {
        "map" => "a table".to_owned(),
        "sequence" => "a list".to_owned(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_words_become_the_users() {
        assert_eq!(
            explain("vrid", "invalid value: integer `300`, expected u8", true),
            "vrid must be a whole number from 1 to 255 (RFC 9568 §5.2.3), not 300"
        );
        assert_eq!(
            explain(
                "preempt",
                "invalid type: string \"yes\", expected a boolean",
                true
            ),
            "preempt must be true or false, not \"yes\""
        );
        assert_eq!(
            explain(
                "priorty",
                "unknown field `priorty`, expected one of `name`, `priority`",
                true
            ),
            "unknown field `priorty`: did you mean `priority`?"
        );
        assert_eq!(
            explain("zz", "unknown field `zz`, expected `name` or `vrid`", true),
            "unknown field `zz`, expected `name` or `vrid`"
        );
    }
}
