//! `vrrpd`: the command-line entry point.

mod logging;
mod package_files;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use vrrpd::control::{Request, Response};

use clap::{CommandFactory, Parser, Subcommand};

/// VRRP virtual-IP failover daemon.
#[derive(Debug, Parser)]
#[command(name = "vrrpd", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the client commands find the daemon.
#[derive(Debug, clap::Args)]
struct Target {
    /// The control socket (default: `[global] control_socket` of --config
    /// if given, else /run/vrrpd/control.sock).
    #[arg(short, long)]
    socket: Option<PathBuf>,
    /// Read the control socket path from this configuration file.
    #[arg(short, long)]
    config: Option<PathBuf>,
}

/// `on` or `off`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum OnOff {
    On,
    Off,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon in the foreground (logs to stderr; RUST_LOG sets the
    /// level, default info). SIGTERM/SIGINT stop it (every instance
    /// releases), SIGHUP reloads the configuration.
    Run {
        /// The configuration file.
        #[arg(short, long, default_value = "/etc/vrrpd/vrrpd.toml")]
        config: PathBuf,
        /// Override `[global] control_socket`.
        #[arg(short, long)]
        socket: Option<PathBuf>,
    },
    /// Show every instance: a table, or the daemon's JSON answer with --json.
    /// Exit 2 if the daemon cannot be reached.
    Status {
        /// Print the JSON answer (`{"ok":true,"data":{"instances":[...]}}`).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        target: Target,
    },
    /// Hand mastership of INSTANCE (and its sync group) to the best backup
    /// now, make-before-break. Exit 1 if refused (e.g. not master).
    Switchover {
        /// The instance name.
        instance: String,
        #[command(flatten)]
        target: Target,
    },
    /// Turn maintenance mode of INSTANCE on (release mastership, never take
    /// over) or off.
    Maintenance {
        /// The instance name.
        instance: String,
        /// on or off.
        #[arg(value_enum)]
        mode: OnOff,
        #[command(flatten)]
        target: Target,
    },
    /// Ask the running daemon to re-read its configuration file and apply
    /// it (what `systemctl reload` runs). Prints what changed. Exit 1 if
    /// the file was refused (the reason on stderr; the daemon keeps the
    /// configuration it runs), 2 if the daemon cannot be reached.
    Reload {
        #[command(flatten)]
        target: Target,
    },
    /// Validate a configuration file: every problem, with file:line:column
    /// and the reason, the file's own first, then this host's (missing
    /// interfaces, programs, nft).
    ///
    /// Exit status: 0 valid; 1 the file has errors; 2 wrong command line;
    /// 3 the file is valid but this host cannot run it (only host problems);
    /// 4 the file cannot be read (missing, not a regular file, too big, not
    /// UTF-8).
    Check {
        /// The configuration file.
        #[arg(short, long, default_value = "/etc/vrrpd/vrrpd.toml")]
        config: PathBuf,
        /// Skip the host checks (to check a file for another machine).
        #[arg(long)]
        offline: bool,
    },
    /// Convert a keepalived.conf to vrrpd TOML. The TOML goes to stdout (or
    /// --output); the report (every keyword not carried over as it was,
    /// marked "converted", "dropped, no effect here" or "behaviour
    /// changes") goes to stderr.
    ///
    /// Exit status: 0 converted (nothing dropped that changes behaviour);
    /// 1 the file cannot be read or parsed, or the result does not pass
    /// `vrrpd check --offline`; 2 wrong command line; 3 converted, but
    /// something dropped or changed makes vrrpd behave differently: review
    /// the notes marked "behaviour changes".
    ImportKeepalived {
        /// The keepalived configuration file.
        file: PathBuf,
        /// Write the TOML here instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Write the man pages and shell completions of this command line into
    /// DIR/man and DIR/completions (used by scripts/build-deb.sh).
    #[command(hide = true)]
    GeneratePackageFiles {
        /// The output directory.
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { config, offline } => check(&config, offline),
        Command::ImportKeepalived { file, output } => import(&file, output.as_deref()),
        Command::GeneratePackageFiles { out } => {
            match package_files::write_all(Cli::command(), &out) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("vrrpd: {}: {e}", out.display());
                    ExitCode::FAILURE
                }
            }
        }
        Command::Run { config, socket } => run(config, socket),
        Command::Status { json, target } => client(&target, &Request::Status, |resp| {
            if json {
                // The contract: the daemon's answer, as it sent it.
                println!("{}", serde_json::to_string(resp).unwrap_or_default());
            } else if let Some(data) = &resp.data {
                print!("{}", vrrpd::runtime::status::render_table(data));
            }
        }),
        Command::Reload { target } => client(&target, &Request::Reload, print_message),
        Command::Switchover { instance, target } => {
            client(&target, &Request::Switchover { instance }, print_message)
        }
        Command::Maintenance {
            instance,
            mode,
            target,
        } => client(
            &target,
            &Request::Maintenance {
                instance,
                on: matches!(mode, OnOff::On),
            },
            print_message,
        ),
    }
}

fn run(config: PathBuf, socket: Option<PathBuf>) -> ExitCode {
    let journal = logging::stderr_is_journal();
    logging::init(journal);
    let opts = vrrpd::runtime::Options {
        config_path: config,
        control_socket: socket,
    };
    match vrrpd::runtime::run(&opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprint!("{}", logging::error_text(&format!("vrrpd: {e:#}"), journal));
            ExitCode::FAILURE
        }
    }
}

fn print_message(resp: &Response) {
    if let Some(m) = resp
        .data
        .as_ref()
        .and_then(|d| d.get("message"))
        .and_then(|m| m.as_str())
    {
        println!("{m}");
    }
}

/// Sends `req`; exit 0 when done, 1 when the daemon refused (reason on
/// stderr), 2 when it cannot be reached.
fn client(target: &Target, req: &Request, ok: impl FnOnce(&Response)) -> ExitCode {
    let path = match (&target.socket, &target.config) {
        (Some(s), _) => s.clone(),
        (None, Some(c)) => match vrrpd::runtime::control_socket_of(c) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        },
        (None, None) => PathBuf::from(vrrpd::config::Global::DEFAULT_CONTROL_SOCKET),
    };
    match vrrpd::control::request(&path, req, Duration::from_secs(10)) {
        Ok(resp) if resp.ok => {
            ok(&resp);
            ExitCode::SUCCESS
        }
        Ok(resp) => {
            eprintln!(
                "vrrpd: {}",
                resp.error.as_deref().unwrap_or("request refused")
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("vrrpd: cannot reach the daemon: {e}");
            ExitCode::from(2)
        }
    }
}

/// `vrrpd check`: see its help for the exit status.
fn check(config: &std::path::Path, offline: bool) -> ExitCode {
    use vrrpd::config::{Checked, Group, Options};
    let opts = if offline {
        Options::OFFLINE
    } else {
        Options::CHECK
    };
    let e = match vrrpd::config::check_file(config, opts) {
        Checked::Ok(cfg) => {
            println!(
                "{}: ok ({} instances, {} checks, {} sync groups)",
                config.display(),
                cfg.instances.len(),
                cfg.checks.len(),
                cfg.sync_groups.len()
            );
            return ExitCode::SUCCESS;
        }
        Checked::Unreadable(e) => {
            eprintln!("{e}");
            return ExitCode::from(4);
        }
        Checked::Problems(e) => e,
    };
    let show = |group: Group, title: &str| {
        let n = e.of(group).count();
        if n > 0 {
            eprintln!("{title} ({n}):");
            for d in e.of(group) {
                eprintln!("{}:{}:{}: {}", e.file, d.line, d.column, d.message);
            }
        }
    };
    show(Group::Config, "configuration errors");
    show(Group::Host, "problems on this host (--offline skips them)");
    if e.of(Group::Config).next().is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::from(3)
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
        eprintln!(
            "{}:{}: {}: {}",
            n.file.display(),
            n.line,
            n.impact,
            n.message
        );
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
    let opts = vrrpd::config::Options::OFFLINE;
    match vrrpd::config::validate_text(&imported.toml, &name, opts) {
        Ok(_) if imported.changes_behaviour() => ExitCode::from(3),
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("the imported configuration does not pass `vrrpd check --offline` yet:\n{e}");
            ExitCode::FAILURE
        }
    }
}
