//! `vrrp_track_process` to a `[[check]]` of type `process`, with
//! keepalived's defaults (weight 0, quorum 1, no upper limit).

use super::convert::{Convert, Table, quote, quote_list};
use super::{Impact, Node};

/// The poll interval of an imported process check: keepalived reacts to
/// process events at once; one scan a second is the import's bound.
const INTERVAL_SECS: f64 = 1.0;

impl Convert {
    /// The weight a `vrrp_track_process` block gives (keepalived's
    /// default is 0), for the instances that track it.
    pub(super) fn survey_process(&mut self, n: &Node) {
        let Some(name) = n.args.first() else { return };
        let children = n.block.iter().flatten();
        if !children
            .clone()
            .any(|c| c.key == "process" && !c.args.is_empty())
        {
            return;
        }
        let w = children
            .filter(|c| c.key == "weight")
            .filter_map(|c| c.args.first()?.parse::<i64>().ok())
            .next_back();
        self.wide
            .process_weights
            .insert(name.clone(), w.unwrap_or(0));
    }

    pub(super) fn track_process(&mut self, n: &Node, out: &mut String) {
        let Some(name) = n.args.first() else {
            self.note(
                n.line,
                Impact::Changes,
                Some("vrrp_track_process"),
                "vrrp_track_process without a name; skipped",
            );
            return;
        };
        let mut t = Table::default();
        t.set("name", quote(name));
        t.set("type", quote("process"));
        t.set("interval", quote("1s"));
        let mut args: Option<Vec<String>> = None;
        let mut param_match = false;
        // keepalived: `delay` sets both, the specific keys override it.
        let (mut fork, mut terminate) = (None, None);
        for c in n.block.iter().flatten() {
            match c.key.as_str() {
                "process" => match c.args.split_first() {
                    Some((prog, rest)) => {
                        t.set("process", quote(prog));
                        args = (!rest.is_empty()).then(|| rest.to_vec());
                    }
                    None => {
                        self.value(c);
                    }
                },
                "param_match" => {
                    param_match = true;
                    match c.args.first().map(String::as_str) {
                        Some(m @ ("partial" | "initial")) => {
                            t.set("param_match", quote(m));
                        }
                        None => {}
                        Some(other) => self.note(
                            c.line,
                            Impact::Changes,
                            Some("param_match"),
                            format!("param_match {other:?} is not partial or initial; exact matching kept"),
                        ),
                    }
                }
                "full_command" => {
                    t.set("full_command", "true".to_owned());
                }
                "weight" => {
                    if let Some(w) = c.args.first().and_then(|w| w.parse::<i64>().ok()) {
                        t.set("weight", w.to_string());
                        if c.args.get(1).map(String::as_str) == Some("reverse") {
                            t.set("reverse", "true".to_owned());
                        }
                    } else {
                        self.int(c);
                    }
                }
                "quorum" | "quorum_max" => {
                    if let Some(v) = self.int(c) {
                        t.set(&c.key, v.to_string());
                    }
                }
                "delay" | "fork_delay" | "terminate_delay" => {
                    let secs = c.args.first().and_then(|s| s.parse::<f64>().ok());
                    match (c.key.as_str(), secs) {
                        (_, None) => {
                            self.value(c);
                        }
                        ("delay", Some(s)) => {
                            fork = Some(s);
                            terminate = Some(s);
                        }
                        ("fork_delay", Some(s)) => fork = Some(s),
                        (_, Some(s)) => terminate = Some(s),
                    }
                }
                _ => self.keyword("vrrp_track_process", c),
            }
        }
        if !t.has("process") {
            self.note(
                n.line,
                Impact::Changes,
                Some("vrrp_track_process"),
                format!("vrrp_track_process {name} has no process; skipped"),
            );
            return;
        }
        // keepalived: param_match without parameters means "no parameters".
        if let Some(a) = args.or_else(|| param_match.then(Vec::new)) {
            t.set("args", quote_list(a.iter().map(String::as_str)));
        }
        // A delay of d seconds: the state holds for d seconds of scans.
        for (key, d) in [("rise", fork), ("fall", terminate)] {
            if let Some(d) = d.filter(|d| d.is_finite() && *d > 0.0) {
                let n = (d / INTERVAL_SECS).ceil() + 1.0;
                t.set(key, format!("{}", n.min(1000.0) as u32));
            }
        }
        t.render("check", out);
    }
}
