//! `vrrpd`: the command-line entry point.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// VRRP virtual-IP failover daemon.
#[derive(Debug, Parser)]
#[command(name = "vrrpd", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate a configuration file; exit 1 with file:line:column and the
    /// reason of every problem found.
    Check {
        /// The configuration file.
        #[arg(short, long, default_value = "/etc/vrrpd/vrrpd.toml")]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { config } => match vrrpd::config::load(&config) {
            Ok(cfg) => {
                println!(
                    "{}: ok ({} instances, {} checks, {} sync groups)",
                    config.display(),
                    cfg.instances.len(),
                    cfg.checks.len(),
                    cfg.sync_groups.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        },
    }
}
