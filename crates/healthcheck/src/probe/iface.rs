//! Interface state probes: sysfs `operstate` (RFC 2863 ifOperStatus names) and `carrier`.

use std::io::Read;

use super::{Detail, OsFailure};
use crate::spec::InterfaceSpec;
use crate::state::Outcome;

fn read_small(path: &std::path::Path) -> std::io::Result<String> {
    let mut s = String::new();
    std::fs::File::open(path)?
        .take(256)
        .read_to_string(&mut s)?;
    Ok(s)
}

/// Reads the state now.
pub(crate) fn probe(spec: &InterfaceSpec) -> (Outcome, Detail) {
    let dir = spec.sysfs_net.join(&spec.name);
    let operstate = match read_small(&dir.join("operstate")) {
        Ok(s) => s.trim().to_owned(),
        Err(e) => {
            return (
                Outcome::Failure,
                Detail::Os(OsFailure::new("read operstate", &e)),
            );
        }
    };
    // carrier is unreadable (EINVAL) while the interface is administratively down.
    let carrier = read_small(&dir.join("carrier"))
        .ok()
        .map(|s| s.trim() == "1");
    let ok = match operstate.as_str() {
        "up" => true,
        "unknown" => carrier == Some(true),
        _ => false,
    };
    (
        if ok {
            Outcome::Success
        } else {
            Outcome::Failure
        },
        Detail::Operstate { operstate, carrier },
    )
}
