//! The side-by-side markdown report: machine header, one table of every
//! case (a row per metric, a column per daemon, and their ratio), the
//! stress table, target checks for 1000 instances at 100 ms, and errors.

use std::fmt::Write as _;
use std::time::Duration;

use crate::case::{CaseResult, StressResult, master_down, skew};
use crate::daemon::Kind;
use crate::probe::Outage;

/// The instance count and interval the targets are set for.
pub(crate) const TARGET_CASE: (usize, u32) = (1000, 100);

/// Slack allowed over the RFC failover bound, per the issue.
const BOUND_SLACK: Duration = Duration::from_millis(5);

fn mib(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

fn cell(v: Option<f64>, prec: usize) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.prec$}"))
}

fn ratio(v: Option<f64>, k: Option<f64>) -> String {
    match (v, k) {
        (Some(v), Some(k)) if k > 0.0 => format!("{:.2}", v / k),
        _ => "–".to_owned(),
    }
}

fn outage_ms(o: Option<Outage>) -> Option<f64> {
    o.map(|o| o.longest.as_secs_f64() * 1000.0)
}

fn d_s(d: Option<Duration>) -> Option<f64> {
    d.map(|d| d.as_secs_f64())
}

fn d_ms(d: Option<Duration>) -> Option<f64> {
    d.map(|d| d.as_secs_f64() * 1000.0)
}

/// Extracts one figure from a case result.
type Getter = Box<dyn Fn(&CaseResult) -> Option<f64>>;

/// One metric, extracted from a case result.
struct Metric {
    name: String,
    prec: usize,
    get: Getter,
}

fn metric(
    name: impl Into<String>,
    prec: usize,
    get: impl Fn(&CaseResult) -> Option<f64> + 'static,
) -> Metric {
    Metric {
        name: name.into(),
        prec,
        get: Box::new(get),
    }
}

fn metrics(interval_ms: u32) -> Vec<Metric> {
    let mdi = master_down(interval_ms).as_secs_f64() * 1000.0;
    let sk = skew(interval_ms).as_secs_f64() * 1000.0;
    let total = |r: &CaseResult, f: fn(&crate::sys::Mem) -> u64| -> Option<f64> {
        Some(mib(f(r.mem_a.as_ref()?) + f(r.mem_b.as_ref()?)))
    };
    vec![
        metric("convergence (s)", 2, |r| d_s(r.converge)),
        metric("master CPU %", 2, |r| r.cpu_a),
        metric("backup CPU %", 2, |r| r.cpu_b),
        metric("RSS master (MiB)", 1, |r| r.mem_a.map(|m| mib(m.rss_kb))),
        metric("RSS backup (MiB)", 1, |r| r.mem_b.map(|m| mib(m.rss_kb))),
        metric("RSS total a+b (MiB)", 1, move |r| total(r, |m| m.rss_kb)),
        metric("PSS total a+b (MiB)", 1, move |r| total(r, |m| m.pss_kb)),
        metric("processes a+b", 0, |r| {
            (r.procs > 0).then_some(r.procs as f64)
        }),
        metric("transitions until converged (ideal 3 × N)", 0, |r| {
            r.startup_transitions.map(|s| s as f64)
        }),
        metric("spurious transitions (steady)", 0, |r| {
            r.spurious.map(|s| s as f64)
        }),
        metric("VIP-count changes (steady)", 0, |r| {
            r.vip_changes.map(|s| s as f64)
        }),
        metric(format!("link-loss outage ms (bound {mdi:.1})"), 1, |r| {
            outage_ms(r.link)
        }),
        metric(format!("graceful-stop outage ms (bound {sk:.1})"), 1, |r| {
            outage_ms(r.stop)
        }),
        metric("master exit after SIGTERM (ms)", 0, |r| d_ms(r.exit_time)),
    ]
}

fn find(results: &[CaseResult], kind: Kind, n: usize, interval_ms: u32) -> Option<&CaseResult> {
    results
        .iter()
        .find(|r| r.kind == kind && r.setup.n == n && r.setup.interval_ms == interval_ms)
}

fn interval_label(ms: u32) -> String {
    if ms % 1000 == 0 {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    }
}

fn pass(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}

/// Renders the whole report.
pub(crate) fn render(
    machine: &[(String, String)],
    settings: &str,
    results: &[CaseResult],
    stress: &[StressResult],
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# VRRP at scale: vrrpd beside keepalived\n");
    for (k, v) in machine {
        let _ = writeln!(out, "- {k}: {v}");
    }
    let _ = writeln!(out, "- settings: {settings}\n");

    // Cases in the order they ran, each once.
    let mut cases: Vec<(usize, u32)> = Vec::new();
    for r in results {
        let c = (r.setup.n, r.setup.interval_ms);
        if !cases.contains(&c) {
            cases.push(c);
        }
    }
    if !cases.is_empty() {
        let _ = writeln!(
            out,
            "VRRPv3, IPv4; a (master) priority 200, b (backup) priority 100. CPU over the steady window; \
             memory at its end (all processes of each daemon); outage = longest time the client \
             (one UDP probe per ms to instance 0's VIP) got no answer.\n"
        );
        let _ = writeln!(
            out,
            "| instances | interval | metric | vrrpd | keepalived | vrrpd / keepalived |"
        );
        let _ = writeln!(out, "|---:|---:|---|---:|---:|---:|");
        for &(n, iv) in &cases {
            let v = find(results, Kind::Vrrpd, n, iv);
            let k = find(results, Kind::Keepalived, n, iv);
            for m in metrics(iv) {
                let vv = v.and_then(|r| (m.get)(r));
                let kv = k.and_then(|r| (m.get)(r));
                let _ = writeln!(
                    out,
                    "| {n} | {} | {} | {} | {} | {} |",
                    interval_label(iv),
                    m.name,
                    cell(vv, m.prec),
                    cell(kv, m.prec),
                    ratio(vv, kv)
                );
            }
            let status = |r: Option<&CaseResult>| match r {
                None => "not run".to_owned(),
                Some(r) if r.errors.is_empty() => "ok".to_owned(),
                Some(_) => "**ERROR** (below)".to_owned(),
            };
            let _ = writeln!(
                out,
                "| {n} | {} | result | {} | {} | |",
                interval_label(iv),
                status(v),
                status(k)
            );
        }
        out.push('\n');
    }

    if !stress.is_empty() {
        let _ = writeln!(
            out,
            "## Stress: another process keeps one core busy\n\n\
             | daemon | instances | interval | busy (s) | convergence (s) | master CPU % | backup CPU % | transitions a / b | VIP-count changes | result |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
        );
        for s in stress {
            let trans = s
                .spurious
                .map_or_else(|| "–".to_owned(), |(a, b)| format!("{a} / {b}"));
            let result = if s.errors.is_empty() {
                "ok"
            } else {
                "**ERROR** (below)"
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {trans} | {} | {result} |",
                s.kind.name(),
                s.setup.n,
                interval_label(s.setup.interval_ms),
                s.secs,
                cell(d_s(s.converge), 2),
                cell(s.cpu_a, 2),
                cell(s.cpu_b, 2),
                cell(s.vip_changes.map(|c| c as f64), 0),
            );
        }
        out.push('\n');
    }

    out.push_str(&targets(results, stress));

    let errors: Vec<String> = results
        .iter()
        .flat_map(|r| {
            r.errors.iter().map(move |e| {
                format!(
                    "- {} {} × {}: {e}",
                    r.kind.name(),
                    r.setup.n,
                    interval_label(r.setup.interval_ms)
                )
            })
        })
        .chain(stress.iter().flat_map(|s| {
            s.errors.iter().map(move |e| {
                format!(
                    "- stress {} {} × {}: {e}",
                    s.kind.name(),
                    s.setup.n,
                    interval_label(s.setup.interval_ms)
                )
            })
        }))
        .collect();
    if !errors.is_empty() {
        let _ = writeln!(out, "\n## Errors\n");
        for e in errors {
            // One line per error in the list.
            let _ = writeln!(out, "{}", e.replace('\n', " / "));
        }
    }
    out
}

/// The targets, checked on the 1000 instances × 100 ms case.
fn targets(results: &[CaseResult], stress: &[StressResult]) -> String {
    let (n, iv) = TARGET_CASE;
    let mut out = format!(
        "## Targets ({n} instances, {})\n\n| target | measured | check |\n|---|---|---|\n",
        interval_label(iv)
    );
    let v = find(results, Kind::Vrrpd, n, iv);
    let k = find(results, Kind::Keepalived, n, iv);
    let not_run = "not measured in this run";
    let mut line = |target: &str, measured: Option<(String, bool)>| {
        let (m, c) = measured.map_or((not_run.to_owned(), "–"), |(m, ok)| (m, pass(ok)));
        let _ = writeln!(out, "| {target} | {m} | {c} |");
    };
    let cpu = v.zip(k).and_then(|(v, k)| Some((v.cpu_a?, k.cpu_a?)));
    line(
        "master CPU ≤ 1/3 of keepalived's",
        cpu.map(|(a, b)| (format!("{a:.2} % vs {b:.2} %"), a * 3.0 <= b)),
    );
    let rss = |r: &CaseResult| Some(r.mem_a?.rss_kb + r.mem_b?.rss_kb);
    let mem = v.zip(k).and_then(|(v, k)| Some((rss(v)?, rss(k)?)));
    line(
        "total RSS ≤ 1/3 of keepalived's",
        mem.map(|(a, b)| {
            (
                format!("{:.1} MiB vs {:.1} MiB", mib(a), mib(b)),
                a * 3 <= b,
            )
        }),
    );
    let st = stress
        .iter()
        .find(|s| s.kind == Kind::Vrrpd && s.setup.n == n && s.setup.interval_ms == iv)
        .and_then(|s| s.spurious);
    line(
        "zero spurious transitions under stress (vrrpd)",
        st.map(|(a, b)| (format!("{a} / {b}"), a + b == 0)),
    );
    let bound = master_down(iv) + BOUND_SLACK;
    line(
        "link-loss outage ≤ Master_Down_Interval + 5 ms (vrrpd)",
        v.and_then(|r| r.link).map(|o| {
            (
                format!(
                    "{:.1} ms ≤ {:.1} ms",
                    o.longest.as_secs_f64() * 1000.0,
                    bound.as_secs_f64() * 1000.0
                ),
                o.longest <= bound,
            )
        }),
    );
    let bound = skew(iv) + BOUND_SLACK;
    line(
        "graceful-stop outage ≤ Skew_Time + 5 ms (vrrpd)",
        v.and_then(|r| r.stop).map(|o| {
            (
                format!(
                    "{:.1} ms ≤ {:.1} ms",
                    o.longest.as_secs_f64() * 1000.0,
                    bound.as_secs_f64() * 1000.0
                ),
                o.longest <= bound,
            )
        }),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::Setup;
    use crate::sys::Mem;

    fn result(kind: Kind, cpu: f64, rss_kb: u64) -> CaseResult {
        CaseResult {
            kind,
            setup: Setup {
                n: 1000,
                interval_ms: 100,
            },
            converge: Some(Duration::from_millis(1500)),
            cpu_a: Some(cpu),
            cpu_b: Some(cpu / 2.0),
            mem_a: Some(Mem {
                rss_kb,
                pss_kb: rss_kb / 2,
            }),
            mem_b: Some(Mem {
                rss_kb,
                pss_kb: rss_kb / 2,
            }),
            procs: 2,
            startup_transitions: Some(3000),
            spurious: Some(0),
            vip_changes: Some(0),
            link: Some(Outage {
                longest: Duration::from_millis(300),
                lost: 300,
                sent: 1000,
            }),
            stop: None,
            exit_time: Some(Duration::from_millis(120)),
            errors: Vec::new(),
        }
    }

    #[test]
    fn table_is_side_by_side_with_targets() {
        let v = result(Kind::Vrrpd, 1.0, 4096);
        let mut k = result(Kind::Keepalived, 6.0, 8192);
        k.errors.push("timeout: not converged\nsecond line".into());
        let text = render(&[("nproc".into(), "2".into())], "smoke", &[v, k], &[]);
        assert!(text.contains("- nproc: 2"));
        assert!(text.contains("| 1000 | 100 ms | master CPU % | 1.00 | 6.00 | 0.17 |"));
        assert!(text.contains("| 1000 | 100 ms | RSS total a+b (MiB) | 8.0 | 16.0 | 0.50 |"));
        assert!(text.contains("link-loss outage ms (bound 360.9) | 300.0 | 300.0 | 1.00 |"));
        assert!(text.contains("graceful-stop outage ms (bound 60.9) | – | – | – |"));
        assert!(text.contains("| master CPU ≤ 1/3 of keepalived's | 1.00 % vs 6.00 % | PASS |"));
        assert!(text.contains("| total RSS ≤ 1/3 of keepalived's | 8.0 MiB vs 16.0 MiB | FAIL |"));
        assert!(text.contains("| zero spurious transitions under stress (vrrpd) | not measured"));
        assert!(text.contains("| link-loss outage ≤ Master_Down_Interval + 5 ms (vrrpd) | 300.0 ms ≤ 365.9 ms | PASS |"));
        assert!(text.contains("| 1000 | 100 ms | result | ok | **ERROR** (below) | |"));
        assert!(text.contains("- keepalived 1000 × 100 ms: timeout: not converged / second line"));
    }

    #[test]
    fn stress_rows() {
        let s = StressResult {
            kind: Kind::Vrrpd,
            setup: Setup {
                n: 10,
                interval_ms: 100,
            },
            secs: 5,
            converge: Some(Duration::from_millis(400)),
            cpu_a: Some(0.5),
            cpu_b: Some(0.25),
            spurious: Some((0, 1)),
            vip_changes: Some(0),
            errors: Vec::new(),
        };
        let text = render(&[], "x", &[], &[s]);
        assert!(text.contains("| vrrpd | 10 | 100 ms | 5 | 0.40 | 0.50 | 0.25 | 0 / 1 | 0 | ok |"));
        assert_eq!(interval_label(1000), "1 s");
    }
}
