//! Configuration: strict TOML in, a validated [`Config`] out.
//!
//! Every problem found is reported with `file:line:column` and a reason,
//! all of them in one run: only a TOML syntax error stops the reading early;
//! a key with a wrong value is reported and left out, and every rule (those
//! between objects too) runs on whatever could be read. Problems come in two
//! [`Group`]s: the file's own, and the host's (a missing interface, program
//! or `nft`), which [`Options`] can leave out to check a file elsewhere. See
//! `docs/config.md` for every key.
//!
//! The entry points:
//! - [`load`]: what the daemon runs (start and reload): the file's rules
//!   and the programs and `nft` it needs on this host; a refused reload
//!   logs [`ConfigError::summary`].
//! - [`check_file`]: what `vrrpd check` runs, with [`Options`].
//! - [`load_str`]: validates text (tests, the importer's output).

mod check;
mod diag;
mod extras;
mod facts;
mod host;
mod include;
mod instance;
mod lenient;
pub mod lvs;
mod lvs_check;
mod lvs_forward;
mod lvs_rs_check;
mod mail;
mod model;
mod raw;
mod read;
mod suggest;
mod validate;

use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

pub use diag::{ConfigError, Diagnostic, Group};
use diag::{Pending, finish_sources};
pub use host::nft_program;
pub use mail::{Mail, SmtpServer};
pub use model::{
    Check, CheckKind, Config, Family, Garp, Global, Hooks, Instance, ParamMatch, Rule, SyncGroup,
    TrackCheck, TrackInterface, V3Ipv4Checksum, Vip, VirtualRoute,
};
use raw::RawConfig;
pub use read::MAX_CONFIG_BYTES;

/// What a validation looks at besides the file itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Programs named by hooks and exec checks exist and are executable.
    pub programs: bool,
    /// Interfaces named by the file exist (virtual MAC interfaces, which
    /// vrrpd creates, excepted).
    pub interfaces: bool,
    /// `nft` is installed where an instance needs it (`accept = false`).
    pub nft: bool,
    /// The file must configure at least one instance.
    pub require_instance: bool,
}

impl Options {
    /// `vrrpd check`: every host check, and a file must configure something.
    pub const CHECK: Options = Options {
        programs: true,
        interfaces: true,
        nft: true,
        require_instance: true,
    };
    /// `vrrpd check --offline`: the file's own rules only.
    pub const OFFLINE: Options = Options {
        programs: false,
        interfaces: false,
        nft: false,
        require_instance: true,
    };
    /// [`load`] (the daemon): programs and `nft`, as before; interfaces may
    /// appear later (the daemon waits for a missing one in Fault).
    pub const DAEMON: Options = Options {
        programs: true,
        interfaces: false,
        nft: true,
        require_instance: true,
    };
    /// [`load_str`]: as [`Options::DAEMON`], but a fragment without an
    /// instance (a file of checks) is accepted.
    pub const TEXT: Options = Options {
        require_instance: false,
        ..Options::DAEMON
    };
}

/// The outcome of [`check_file`].
// One value per check or load: boxing the configuration would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Checked {
    /// Valid, and nothing is missing on this host.
    Ok(Config),
    /// The file was read: these are its problems (both groups, in file order).
    Problems(ConfigError),
    /// The file could not be read at all (missing, not a regular file, too
    /// big, not UTF-8).
    Unreadable(ConfigError),
}

/// Splits a command string into words the way command keys are read:
/// white space separates words, `'...'` and `"..."` group them, `\\` escapes.
pub fn split_command(s: &str) -> Result<Vec<String>, String> {
    raw::split_words(s)
}

/// The word of `candidates` closest to a misspelt `word`, if one is close
/// enough to be a likely typo (for "did you mean"; the importer uses it too).
pub fn closest_word<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    suggest::closest(word, candidates)
}

/// Reads and validates the configuration file at `path` for the daemon
/// ([`Options::DAEMON`]).
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    match check_file(path, Options::DAEMON) {
        Checked::Ok(c) => Ok(c),
        Checked::Problems(e) | Checked::Unreadable(e) => Err(e),
    }
}

/// Reads and validates the file at `path` with `opts` (`vrrpd check`).
pub fn check_file(path: &Path, opts: Options) -> Checked {
    let file = path.display().to_string();
    match read::read_config(path, &file) {
        Ok(text) => match validate_in(&text, &file, path.parent(), opts) {
            Ok(c) => Checked::Ok(c),
            Err(e) => Checked::Problems(e),
        },
        Err(read::Unreadable(e)) => Checked::Unreadable(e),
    }
}

/// Validates configuration `text` ([`Options::TEXT`]); `file` names it in
/// messages.
pub fn load_str(text: &str, file: &str) -> Result<Config, ConfigError> {
    validate_text(text, file, Options::TEXT)
}

/// Validates configuration `text` with `opts`; `file` names it in messages.
/// Relative `include` paths are taken from the current directory.
pub fn validate_text(text: &str, file: &str, opts: Options) -> Result<Config, ConfigError> {
    validate_in(text, file, None, opts)
}

/// [`validate_text`] with `include` paths relative to `dir`.
fn validate_in(
    text: &str,
    file: &str,
    dir: Option<&Path>,
    opts: Options,
) -> Result<Config, ConfigError> {
    let all = include::combine(text, file, dir);
    let doc = match DeTable::parse(&all.text) {
        Ok(doc) => doc,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let mut problems = all.problems;
            problems.push(Pending {
                offset: span.start,
                message: syntax_message(e.message()),
                group: Group::Config,
                other: None,
            });
            return Err(finish_sources(&all.sources, problems));
        }
    };
    let mut cx = validate::Cx::new(opts);
    cx.diags.extend(all.problems);
    let raw = cx.read_document(doc);
    let config = cx.validate(raw);
    if cx.diags.is_empty() {
        Ok(config)
    } else {
        Err(finish_sources(&all.sources, cx.diags))
    }
}

fn syntax_message(m: &str) -> String {
    let m = m.trim_end();
    if m.contains("recursion limit") || m.contains("cannot recurse") {
        "too deeply nested: tables and lists nest at most 80 levels".to_owned()
    } else {
        m.to_owned()
    }
}

impl validate::Cx {
    /// Splits the document into its tables, reading each on its own.
    fn read_document(&mut self, doc: Spanned<DeTable<'_>>) -> RawConfig {
        let mut raw = RawConfig::default();
        let mut problems = Vec::new();
        for (key, value) in doc.into_inner() {
            match key.get_ref().as_ref() {
                "global" => {
                    raw.global = lenient::table(value, "[global]", &mut problems);
                }
                "instance" => raw.instances = array(value, "instance", &mut problems),
                "check" => raw.checks = array(value, "check", &mut problems),
                "sync_group" => raw.sync_groups = array(value, "sync_group", &mut problems),
                // Read by `include::combine`, which reports its problems.
                "include" => {}
                "lvs" => raw.lvs = lenient::table(value, "[lvs]", &mut problems),
                "virtual_server" => {
                    raw.virtual_servers = array(value, "virtual_server", &mut problems);
                }
                other => {
                    let hint = suggest::closest(other, raw::TOP_LEVEL)
                        .map_or_else(String::new, |k| format!(": did you mean `{k}`?"));
                    problems.push((
                        key.span(),
                        format!(
                            "unknown field `{other}`{hint} (the tables are [global], [[instance]], [[check]] [[sync_group]], [lvs] and [[virtual_server]]; the one key is `include`)"
                        ),
                    ));
                }
            }
        }
        for (span, message) in problems {
            self.error(&span, message);
        }
        raw
    }
}

/// `[[name]]`: an array of tables, each read on its own.
fn array<T: serde::de::DeserializeOwned + raw::Partial>(
    value: Spanned<DeValue<'_>>,
    name: &str,
    problems: &mut Vec<lenient::Problem>,
) -> Vec<Spanned<T>> {
    let span = value.span();
    match value.into_inner() {
        DeValue::Array(items) => items
            .into_iter()
            .filter_map(|t| lenient::table(t, &format!("an entry of `{name}`"), problems))
            .collect(),
        _ => {
            problems.push((
                span,
                format!("`{name}` is a list of tables: write each one under a [[{name}]] header"),
            ));
            Vec::new()
        }
    }
}
