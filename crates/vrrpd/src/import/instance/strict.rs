//! keepalived's strict mode on an imported instance: `strict = true`, and
//! what keepalived resets in strict mode (vrrp.c, when it completes an
//! instance) left out, each with a note, so that the import runs as
//! keepalived did and loads (vrrpd refuses those settings with `strict`).

use super::super::Impact;
use super::{Convert, Inst};

impl Convert {
    /// Applies strict mode to `i` if it or `vrrp_strict` asks for it;
    /// returns whether it does.
    pub(super) fn strict_overrides(&mut self, name: &str, i: &mut Inst) -> bool {
        let on = i.strict.map_or(self.wide.strict, |(_, on)| on);
        if !on {
            if i.strict.is_some() {
                i.body.set("strict", "false".to_owned());
            }
            return false;
        }
        let line = i.strict.map_or(i.line, |(l, _)| l);
        if let Some((_, pl)) = i.peers.first() {
            // keepalived refuses the instance ("Unicast peers are not
            // supported in strict mode"): it does not run at all.
            self.note(*pl, Impact::Changes, Some("unicast_peer"), format!("keepalived does not run instance {name}: unicast peers are not supported in strict mode; the import keeps it, without strict mode"));
            i.body.set("strict", "false".to_owned());
            return false;
        }
        i.body.set("strict", "true".to_owned());
        let owner = i.priority == Some(255);
        if let Some((l, _)) = i.auth.take() {
            self.note(
                l,
                Impact::Converted,
                Some("authentication"),
                format!("keepalived ignores authentication on {name} in strict mode: not imported"),
            );
        }
        if let Some((l, _)) = i.preempt_delay.take() {
            self.note(
                l,
                Impact::Converted,
                Some("preempt_delay"),
                format!("keepalived resets preempt_delay on {name} in strict mode: not imported"),
            );
        }
        for key in ["garp_lower_prio_repeat", "garp_lower_prio_delay"] {
            if i.body.has(key) {
                i.body.remove(key);
                self.note(line, Impact::Converted, Some(key), format!("keepalived sends no lower-priority announcements in strict mode: {key} of {name} not imported"));
            }
        }
        if i.body
            .entries()
            .any(|(k, v)| k == "lower_prio_no_advert" && v == "false")
        {
            i.body.remove("lower_prio_no_advert");
            self.note(
                line,
                Impact::Converted,
                Some("lower_prio_no_advert"),
                format!(
                    "keepalived sets lower_prio_no_advert on {name} in strict mode: imported so"
                ),
            );
        }
        let v2 = i.version.or(self.wide.version).unwrap_or(2) == 2;
        if v2 && !owner && i.body.entries().any(|(k, v)| k == "accept" && v == "true") {
            i.body.remove("accept");
            self.note(line, Impact::Converted, Some("accept"), format!("keepalived resets accept on {name} in strict mode with VRRPv2 (RFC 3768 has no Accept_Mode): not imported"));
        }
        true
    }
}
