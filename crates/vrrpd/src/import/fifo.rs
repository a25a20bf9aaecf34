//! keepalived's notify-FIFO options: `vrrp_notify_priority_changes` and
//! `fifo_write_vrrp_states_on_reload` in `global_defs`, and
//! `notify_priority_changes` in an instance or sync group. They write to
//! the notify FIFO; a file without one (`notify_fifo` / `vrrp_notify_fifo`)
//! writes them nowhere in keepalived, so they are dropped with a note
//! rather than written where vrrpd's check would refuse them.

use super::convert::{Convert, Table, flag_on};
use super::{Impact, Node};

/// keepalived's global keyword → vrrpd's `[global]` key.
const GLOBAL: [(&str, &str); 2] = [
    ("vrrp_notify_priority_changes", "notify_priority_changes"),
    (
        "fifo_write_vrrp_states_on_reload",
        "fifo_write_states_on_reload",
    ),
];

impl Convert {
    /// A global FIFO option of `global_defs` (true if `c` was one).
    pub(super) fn fifo_global(&mut self, c: &Node) -> bool {
        let Some((_, key)) = GLOBAL.iter().find(|(k, _)| *k == c.key) else {
            return false;
        };
        self.wide.global.set(key, flag_on(c).to_string());
        true
    }

    /// After `global_defs` block `n` (whose `notify_fifo` may come after
    /// the options): in a file without a FIFO, its FIFO options are
    /// dropped, with a note each.
    pub(super) fn fifo_global_done(&mut self, n: &Node) {
        if self.wide_has_fifo() {
            return;
        }
        for c in n.block.iter().flatten() {
            if let Some((kw, key)) = GLOBAL.iter().find(|(k, _)| *k == c.key) {
                self.wide.global.remove(key);
                self.no_fifo_note(c.line, kw);
            }
        }
    }

    /// An instance's or sync group's `notify_priority_changes`.
    pub(super) fn priority_changes(&mut self, c: &Node, t: &mut Table) {
        if self.wide_has_fifo() {
            t.set("notify_priority_changes", flag_on(c).to_string());
        } else {
            self.no_fifo_note(c.line, &c.key);
        }
    }

    fn wide_has_fifo(&self) -> bool {
        self.wide.global.has("notify_fifo")
    }

    fn no_fifo_note(&mut self, line: usize, kw: &str) {
        self.note(
            line,
            Impact::NoEffect,
            Some(kw),
            format!("`{kw}`: the file has no notify FIFO (`notify_fifo`), so keepalived writes these lines nowhere; dropped"),
        );
    }
}
