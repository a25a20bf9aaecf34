//! `vrrp-scale`: runs vrrpd and keepalived side by side on the same
//! namespace topology at 1 to 1000 VRRP instances and prints one markdown
//! table: CPU, memory, convergence time, spurious transitions, and the
//! outage a client sees on link loss and on a graceful stop; plus a stress
//! run with one core kept busy. Started by `benches/scale/run.sh`.
//!
//! It needs root (network namespaces), `ip`, and keepalived. It does not
//! tune the machine (CPU governor, pinning), so figures are as noisy as the
//! machine; cases of both daemons are interleaved so that drift hits both
//! alike. It creates only namespaces named `vsc<its pid>-*` and stops only
//! processes it started.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

#[path = "vrrp-scale/case.rs"]
mod case;
#[path = "vrrp-scale/daemon.rs"]
mod daemon;
#[path = "vrrp-scale/probe.rs"]
mod probe;
#[path = "vrrp-scale/report.rs"]
mod report;
#[path = "vrrp-scale/sys.rs"]
mod sys;
#[path = "vrrp-scale/topo.rs"]
mod topo;

use case::{Ctx, progress};
use daemon::{Kind, Setup};

/// Measures vrrpd beside keepalived at scale (see benches/scale/run.sh).
#[derive(Debug, Parser)]
#[command(name = "vrrp-scale")]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Sub>,
    /// The vrrpd binary to measure.
    #[arg(long)]
    vrrpd: Option<PathBuf>,
    /// Instance counts, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,100,1000")]
    instances: Vec<usize>,
    /// Advertisement intervals in ms (VRRPv3: multiples of 10), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000,100")]
    intervals_ms: Vec<u32>,
    /// Length of the steady-state CPU window, s.
    #[arg(long, default_value_t = 30)]
    cpu_secs: u64,
    /// Length of the stress run (one core busy), s; 0 skips it.
    #[arg(long, default_value_t = 60)]
    stress_secs: u64,
    /// Instances in the stress run (at 100 ms).
    #[arg(long, default_value_t = 1000)]
    stress_instances: usize,
    /// Daemons to compare, comma-separated (vrrpd, keepalived).
    #[arg(long, value_delimiter = ',', default_value = "vrrpd,keepalived")]
    daemons: Vec<String>,
    /// Also write the report (markdown) to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// CI preset: 10 instances at 100 ms and 1 s, 3 s CPU windows, 5 s
    /// stress with 10 instances (overrides the sizing flags).
    #[arg(long)]
    smoke: bool,
    /// Copy every daemon log to this directory.
    #[arg(long)]
    keep_logs: Option<PathBuf>,
    /// Leave the veths in their default mode, where the sender's system
    /// call also runs the simulated switch and the peers' receive path, so
    /// that work is charged to the sending daemon. By default every veth
    /// polls in its own kernel thread (threaded NAPI), as a NIC and a real
    /// switch would.
    #[arg(long)]
    charge_network: bool,
}

#[derive(Debug, Subcommand)]
enum Sub {
    /// (internal) UDP responder for the client's probes.
    #[command(hide = true)]
    Respond {
        /// Id sent back in each answer.
        #[arg(long)]
        id: u8,
        /// UDP port.
        #[arg(long, default_value_t = probe::PORT)]
        port: u16,
    },
    /// (internal) keeps one core busy.
    #[command(hide = true)]
    Spin {
        /// How long, s.
        #[arg(long)]
        secs: f64,
    },
}

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    match cli.cmd.take() {
        Some(Sub::Respond { id, port }) => match probe::respond(id, port) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("vrrp-scale respond: {e:#}");
                ExitCode::FAILURE
            }
        },
        Some(Sub::Spin { secs }) => {
            case::spin(secs);
            ExitCode::SUCCESS
        }
        None => match run(cli) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(e) => {
                eprintln!("vrrp-scale: {e:#}");
                ExitCode::from(2)
            }
        },
    }
}

/// Runs the matrix; Ok(false) if a case failed outright.
fn run(mut cli: Cli) -> Result<bool> {
    if cli.smoke {
        cli.instances = vec![10];
        cli.intervals_ms = vec![100, 1000];
        cli.cpu_secs = 3;
        cli.stress_secs = 5;
        cli.stress_instances = 10;
    }
    let vrrpd = cli
        .vrrpd
        .clone()
        .context("--vrrpd PATH is required (benches/scale/run.sh passes it)")?;
    if !vrrpd.is_file() {
        bail!("vrrpd binary {} not found", vrrpd.display());
    }
    let kinds = cli
        .daemons
        .iter()
        .map(|d| Kind::parse(d))
        .collect::<Result<Vec<_>>>()?;
    for &n in cli.instances.iter().chain([&cli.stress_instances]) {
        if n == 0 || n > 2500 {
            bail!("instance counts must be 1..=2500 (10 segments of 250), got {n}");
        }
    }
    for &iv in &cli.intervals_ms {
        if !(10..=40_950).contains(&iv) || iv % 10 != 0 {
            bail!("VRRPv3 intervals are multiples of 10 ms from 10 to 40950, got {iv}");
        }
    }
    if std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        != Some(true)
    {
        bail!("needs root (it creates network namespaces)");
    }
    if kinds.contains(&Kind::Keepalived) {
        sys::run(&["keepalived", "--version"]).context("keepalived is not runnable")?;
    }
    sys::install_signal_handlers();

    let pid = std::process::id();
    let prefix = format!("vsc{pid}");
    let work = std::env::temp_dir().join(format!("vrrp-scale-{pid}"));
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let _work_guard = RemoveDir(work.clone());
    let ctx = Ctx {
        vrrpd: std::fs::canonicalize(&vrrpd)?,
        exe: std::env::current_exe().context("own path")?,
        prefix,
        work,
        keep_logs: cli.keep_logs.clone(),
        cpu_secs: cli.cpu_secs,
        threaded_napi: !cli.charge_network,
    };
    let machine = sys::machine_info(&ctx.vrrpd.display().to_string());
    let stress_text = if cli.stress_secs > 0 {
        format!(
            "stress {} s × {} instances at 100 ms",
            cli.stress_secs, cli.stress_instances
        )
    } else {
        "no stress run".to_owned()
    };
    let settings = format!(
        "instances {:?}, intervals {:?} ms, CPU window {} s, {stress_text}{}; veths {}",
        cli.instances,
        cli.intervals_ms,
        cli.cpu_secs,
        if cli.smoke { " (smoke preset)" } else { "" },
        if cli.charge_network {
            "in default mode (network path charged to the sender)"
        } else {
            "with threaded NAPI (network path in kernel threads)"
        }
    );
    progress(&format!("vrrp-scale: {settings}"));

    // Interleaved: each case runs for every daemon before the next case.
    let mut results = Vec::new();
    for &n in &cli.instances {
        for &interval_ms in &cli.intervals_ms {
            for &kind in &kinds {
                sys::check_interrupted()?;
                results.push(case::run_case(&ctx, kind, Setup { n, interval_ms }));
            }
        }
    }
    let mut stress = Vec::new();
    if cli.stress_secs > 0 {
        let setup = Setup {
            n: cli.stress_instances,
            interval_ms: 100,
        };
        for &kind in &kinds {
            sys::check_interrupted()?;
            stress.push(case::run_stress(&ctx, kind, setup, cli.stress_secs));
        }
    }
    sys::check_interrupted()?;

    let text = report::render(&machine, &settings, &results, &stress);
    println!("{text}");
    if let Some(out) = &cli.out {
        std::fs::write(out, &text).with_context(|| format!("writing {}", out.display()))?;
    }
    let failed = results.iter().filter(|r| !r.errors.is_empty()).count()
        + stress.iter().filter(|s| !s.errors.is_empty()).count();
    if failed > 0 {
        progress(&format!("vrrp-scale: {failed} case(s) failed"));
    }
    Ok(failed == 0)
}

/// Removes the scratch directory on exit.
struct RemoveDir(PathBuf);

impl Drop for RemoveDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
