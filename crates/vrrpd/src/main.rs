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
    /// Convert a keepalived.conf to vrrpd TOML. The TOML goes to stdout (or
    /// --output); what could not be carried over goes to stderr. Exit 1 if
    /// the result does not pass `vrrpd check`.
    ImportKeepalived {
        /// The keepalived configuration file.
        file: PathBuf,
        /// Write the TOML here instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
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
        Command::ImportKeepalived { file, output } => import(&file, output.as_deref()),
    }
}

fn import(file: &std::path::Path, output: Option<&std::path::Path>) -> ExitCode {
    let imported = match vrrpd::import::import_file(file) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    for n in &imported.notes {
        eprintln!("{}:{}: {}", n.file.display(), n.line, n.message);
    }
    let written = match output {
        Some(path) => {
            std::fs::write(path, &imported.toml).map_err(|e| format!("{}: {e}", path.display()))
        }
        None => {
            print!("{}", imported.toml);
            Ok(())
        }
    };
    if let Err(e) = written {
        eprintln!("{e}");
        return ExitCode::FAILURE;
    }
    let name = output.map_or_else(|| "<imported>".to_owned(), |p| p.display().to_string());
    match vrrpd::config::load_str(&imported.toml, &name) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("the imported configuration does not pass `vrrpd check` yet:\n{e}");
            ExitCode::FAILURE
        }
    }
}
