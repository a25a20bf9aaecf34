//! Connection and traffic statistics (`IPVS_STATS_ATTR_*`), nested in
//! services and destinations, in a 32-bit and a 64-bit set.

use super::DecodeError;
use super::attr::{AttrWriter, Attrs};
use crate::types::Stats;

/// Decodes a nested `IPVS_*_ATTR_STATS` (32-bit counters, 64-bit bytes)
/// or `STATS64` (all 64-bit) into `Stats`.
fn decode_stats(bytes: &[u8], wide: bool) -> Result<Stats, DecodeError> {
    let mut s = Stats::default();
    for a in Attrs::new(bytes) {
        let a = a?;
        let get = |name| -> Result<u64, DecodeError> {
            if wide {
                a.u64(name)
            } else {
                a.u32(name).map(u64::from)
            }
        };
        match a.ty {
            1 => s.conns = get("STATS_ATTR_CONNS")?,
            2 => s.in_packets = get("STATS_ATTR_INPKTS")?,
            3 => s.out_packets = get("STATS_ATTR_OUTPKTS")?,
            4 => s.in_bytes = a.u64("STATS_ATTR_INBYTES")?,
            5 => s.out_bytes = a.u64("STATS_ATTR_OUTBYTES")?,
            6 => s.cps = get("STATS_ATTR_CPS")?,
            7 => s.in_pps = get("STATS_ATTR_INPPS")?,
            8 => s.out_pps = get("STATS_ATTR_OUTPPS")?,
            9 => s.in_bps = get("STATS_ATTR_INBPS")?,
            10 => s.out_bps = get("STATS_ATTR_OUTBPS")?,
            _ => {}
        }
    }
    Ok(s)
}

/// Statistics from the 64-bit set if present, else the 32-bit one.
pub(super) fn pick_stats(s32: Option<&[u8]>, s64: Option<&[u8]>) -> Result<Stats, DecodeError> {
    match (s64, s32) {
        (Some(b), _) => decode_stats(b, true),
        (None, Some(b)) => decode_stats(b, false),
        (None, None) => Ok(Stats::default()),
    }
}

/// Writes `s` as the kernel does: the 32-bit set as `ty32`, the 64-bit
/// set as `ty64`.
pub(super) fn put_stats(w: &mut AttrWriter, ty32: u16, ty64: u16, s: &Stats) {
    let vals = [
        s.conns,
        s.in_packets,
        s.out_packets,
        s.in_bytes,
        s.out_bytes,
        s.cps,
        s.in_pps,
        s.out_pps,
        s.in_bps,
        s.out_bps,
    ];
    w.nest(ty32, |w| {
        for (i, v) in vals.iter().enumerate() {
            let ty = i as u16 + 1;
            if ty == 4 || ty == 5 {
                w.put(ty, &v.to_ne_bytes());
            } else {
                // The 32-bit set truncates, as the kernel does.
                w.put_u32(ty, *v as u32);
            }
        }
    });
    w.nest(ty64, |w| {
        for (i, v) in vals.iter().enumerate() {
            w.put(i as u16 + 1, &v.to_ne_bytes());
        }
    });
}
