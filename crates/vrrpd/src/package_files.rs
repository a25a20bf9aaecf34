//! The files a package installs beside the binary that come from the
//! command-line definition itself: a man page for `vrrpd` and one per
//! subcommand (section 8, `vrrpd-check(8)` …), and bash, zsh and fish
//! completions. They are generated when the package is built
//! (`vrrpd generate-package-files`, hidden; scripts/build-deb.sh), so they
//! can never describe another version of the command line.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use clap_complete::Shell;

/// The man section of a system administration command.
const SECTION: &str = "8";

/// What every page points to besides the other pages.
const SEE_ALSO_DOCS: &str = "/usr/share/doc/vrrpd/config.md (every configuration key), \
/usr/share/doc/vrrpd/operations.md (start-up, stop, reload, hooks, systemd), \
/etc/vrrpd/vrrpd.toml (the commented sample)";

/// Writes `out/man/*.8` and `out/completions/{vrrpd,_vrrpd,vrrpd.fish}`
/// (the names bash-completion, zsh and fish look for), creating the
/// directories.
pub(crate) fn write_all(cmd: clap::Command, out: &Path) -> io::Result<()> {
    let cmd = cmd.disable_help_subcommand(true);
    // clap_complete offers hidden subcommands too: complete a copy without
    // them (the top level has no arguments of its own besides help and
    // version, which clap adds again).
    let mut visible = clap::Command::new("vrrpd")
        .version(env!("CARGO_PKG_VERSION"))
        .disable_help_subcommand(true)
        .subcommands(cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    let mut cmd = cmd;
    cmd.build();
    write_man_pages(&cmd, &out.join("man"))?;
    write_completions(&mut visible, &out.join("completions"))
}

fn write_man_pages(cmd: &clap::Command, dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let subcommands: Vec<&clap::Command> =
        cmd.get_subcommands().filter(|s| !s.is_hide_set()).collect();
    let page_name = |c: &clap::Command| {
        c.get_display_name()
            .unwrap_or_else(|| c.get_name())
            .to_owned()
    };
    let all: Vec<String> = std::iter::once(page_name(cmd))
        .chain(subcommands.iter().map(|c| page_name(c)))
        .collect();
    for page in std::iter::once(cmd).chain(subcommands.iter().copied()) {
        let name = page_name(page);
        let man = clap_mangen::Man::new(page.clone())
            .section(SECTION)
            .manual("vrrpd manual")
            .source(format!("vrrpd {}", env!("CARGO_PKG_VERSION")));
        let mut text = Vec::new();
        man.render(&mut text)?;
        if std::ptr::eq(page, cmd) {
            write_top_page_sections(&mut text)?;
        }
        // SEE ALSO: the other pages, then the documents the package installs.
        let others: Vec<String> = all
            .iter()
            .filter(|n| **n != name)
            .map(|n| format!("\\fB{}\\fR({SECTION})", n.replace('-', "\\-")))
            .collect();
        writeln!(text, ".SH \"SEE ALSO\"")?;
        writeln!(text, "{}", others.join(", "))?;
        writeln!(text, ".PP")?;
        writeln!(text, "{SEE_ALSO_DOCS}")?;
        fs::write(dir.join(format!("{name}.{SECTION}")), text)?;
    }
    Ok(())
}

/// FILES and ENVIRONMENT of vrrpd(8), which clap does not know.
fn write_top_page_sections(text: &mut Vec<u8>) -> io::Result<()> {
    let socket = vrrpd::config::Global::DEFAULT_CONTROL_SOCKET;
    writeln!(text, ".SH FILES")?;
    for (path, what) in [
        (
            "/etc/vrrpd/vrrpd.toml",
            "The configuration (every key: /usr/share/doc/vrrpd/config.md).",
        ),
        (
            socket,
            "The control socket of \\fBvrrpd status\\fR, \\fBswitchover\\fR and \\fBmaintenance\\fR.",
        ),
        (
            "/usr/lib/systemd/system/vrrpd.service",
            "The systemd unit (Type=notify, sandboxed; see operations.md).",
        ),
    ] {
        writeln!(text, ".TP\n{}\n{what}", path.replace('-', "\\-"))?;
    }
    writeln!(text, ".SH ENVIRONMENT")?;
    writeln!(
        text,
        ".TP\nRUST_LOG\nThe log level of \\fBvrrpd run\\fR: a level (\\fBdebug\\fR) or \\fItarget\\fR=\\fIlevel\\fR directives (\\fBinfo,vrrpd=debug,netif=warn\\fR); default info."
    )?;
    writeln!(
        text,
        ".TP\nJOURNAL_STREAM\nSet by systemd. When it names vrrpd's stderr, log lines carry a journald priority prefix and no timestamp; otherwise they are plain text with a timestamp."
    )?;
    Ok(())
}

fn write_completions(cmd: &mut clap::Command, dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    for (shell, file) in [
        (Shell::Bash, "vrrpd"),
        (Shell::Zsh, "_vrrpd"),
        (Shell::Fish, "vrrpd.fish"),
    ] {
        let mut text = Vec::new();
        clap_complete::generate(shell, cmd, "vrrpd", &mut text);
        fs::write(dir.join(file), text)?;
    }
    Ok(())
}
