//! File probes (keepalived `track_file`): one integer per read.

use std::io::Read;

use super::{Detail, OsFailure};
use crate::spec::FileSpec;
use crate::state::Outcome;

/// Parses the content: one decimal integer, optional sign, white space around.
pub(crate) fn parse_value(s: &str) -> Option<i64> {
    s.trim().parse().ok()
}

/// Reads the file now (at most 4 KiB).
pub(crate) fn probe(spec: &FileSpec) -> (Outcome, Detail) {
    let mut s = String::new();
    let read = std::fs::File::open(&spec.path).and_then(|f| f.take(4096).read_to_string(&mut s));
    if let Err(e) = read {
        return (
            Outcome::Failure,
            Detail::Os(OsFailure::new("read file", &e)),
        );
    }
    match parse_value(&s) {
        Some(v) => (Outcome::Value(v), Detail::FileValue(v)),
        None => (Outcome::Failure, Detail::FileNotInteger),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(parse_value("0\n"), Some(0));
        assert_eq!(parse_value("  -42 \n"), Some(-42));
        assert_eq!(parse_value("+7"), Some(7));
        assert_eq!(parse_value(""), None);
        assert_eq!(parse_value("1 2"), None);
        assert_eq!(parse_value("abc"), None);
    }
}
