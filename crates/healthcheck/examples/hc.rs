//! Runs health checks standalone and prints state changes with the priority
//! breakdown.
//!
//! ```text
//! cargo run -p vrrp-healthcheck --example hc -- [--base PRIO] [--interval-ms N] [--secs N]
//!     [--tcp ADDR:PORT] [--http ADDR:PORT/PATH] [--https ADDR:PORT/PATH] [--icmp IP] [--iface NAME]
//!     [--file PATH] [--exec 'shell command'] [--weight W] ...
//! ```
//! Each check takes the `--weight` given before it (default 0).
#![allow(clippy::unwrap_used)]

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use healthcheck::{
    CheckKind, CheckSpec, ExecSpec, FileSpec, HttpSpec, IcmpMode, IcmpSpec, InterfaceSpec, Runner,
    TcpSpec, TlsSpec, TrackedCheck,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut runner = Runner::new()?;
    let (mut base, mut interval, mut secs, mut weight) =
        (100u8, Duration::from_secs(1), 10u64, 0i32);
    let mut tracked: Vec<TrackedCheck> = Vec::new();
    let mut n = 0;
    while let Some(a) = args.next() {
        let v = args.next().ok_or_else(|| format!("{a} needs a value"))?;
        let kind = match a.as_str() {
            "--base" => {
                base = v.parse()?;
                continue;
            }
            "--interval-ms" => {
                interval = Duration::from_millis(v.parse()?);
                continue;
            }
            "--secs" => {
                secs = v.parse()?;
                continue;
            }
            "--weight" => {
                weight = v.parse()?;
                continue;
            }
            "--tcp" => CheckKind::Tcp(TcpSpec { addr: v.parse()? }),
            "--http" => {
                let (addr, path) = v.split_once('/').unwrap_or((&v, ""));
                CheckKind::Http(HttpSpec::new(addr.parse()?, format!("/{path}")))
            }
            "--https" => {
                let (addr, path) = v.split_once('/').unwrap_or((&v, ""));
                let mut spec = HttpSpec::new(addr.parse()?, format!("/{path}"));
                spec.tls = Some(TlsSpec::default());
                CheckKind::Http(spec)
            }
            "--icmp" => CheckKind::Icmp(IcmpSpec {
                addr: v.parse()?,
                mode: IcmpMode::Auto,
            }),
            "--iface" => CheckKind::Interface(InterfaceSpec::new(v.clone())),
            "--file" => CheckKind::File(FileSpec {
                path: v.clone().into(),
            }),
            "--exec" => CheckKind::Exec(ExecSpec::shell(v.clone())),
            other => return Err(format!("unknown option {other}").into()),
        };
        n += 1;
        let spec = CheckSpec::new(format!("{}{n}:{v}", &a[2..]), kind)
            .interval(interval)
            .timeout(interval)
            .weight(weight);
        tracked.push(runner.checker().add(spec, Instant::now())?.into());
    }
    println!("{}", runner.checker().breakdown(base, &tracked));
    let _ = runner.run_until(
        Instant::now() + Duration::from_secs(secs),
        |checker, event| {
            println!("{event}\n  {}", checker.breakdown(base, &tracked));
            ControlFlow::Continue(())
        },
    )?;
    Ok(())
}
