//! `include = ["/etc/vrrpd/conf.d/*.toml"]`: more files of `[[instance]]`,
//! `[[check]]` and `[[sync_group]]` tables, read after the main file as if
//! they followed it, with every problem reported in the file it is in.
//!
//! Paths are absolute or relative to the main file's directory; `*`, `?`
//! and `[...]` in the last component match files in sorted order (as
//! keepalived's `include` and glob(3) do), hidden files excepted. A glob
//! that matches nothing is fine (an empty or missing `conf.d`); a literal
//! path that does not exist is an error. An included file holds tables only: no
//! `[global]`, no top-level keys and no `include` of its own.

use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

use super::diag::{Group, Pending, Source};
use super::read;

/// The tables an included file may hold.
const INCLUDABLE: [&str; 3] = ["instance", "check", "sync_group"];

/// The main file and its includes as one text to check, the sources that
/// place its offsets, and the problems found while including.
#[derive(Debug)]
pub(crate) struct Combined {
    pub(crate) text: String,
    pub(crate) sources: Vec<Source>,
    pub(crate) problems: Vec<Pending>,
}

fn problem(offset: usize, message: String) -> Pending {
    Pending {
        offset,
        message,
        group: Group::Config,
        other: None,
    }
}

/// Reads what `main` (named `file`, in directory `dir`) includes.
pub(crate) fn combine(main: &str, file: &str, dir: Option<&Path>) -> Combined {
    let mut c = Combined {
        text: main.to_owned(),
        sources: vec![Source {
            file: file.to_owned(),
            base: 0,
            text: main.to_owned(),
        }],
        problems: Vec::new(),
    };
    // A syntax error in the main file is reported by the caller's parse.
    let Ok(doc) = DeTable::parse(main) else {
        return c;
    };
    let Some((_, value)) = doc.get_ref().iter().find(|(k, _)| k.get_ref() == "include") else {
        return c;
    };
    let patterns = patterns(value, &mut c.problems);
    let mut seen: Vec<PathBuf> = Vec::new();
    // Offsets of files left out (bad structure) lie past the checked text,
    // so that their problems still find their file.
    let mut spare = usize::MAX / 2;
    for (pattern, at) in patterns {
        let target = match dir {
            Some(d) if Path::new(&pattern).is_relative() => d.join(&pattern),
            _ => PathBuf::from(&pattern),
        };
        let literal = !pattern.contains(['*', '?', '[']);
        // A glob over a directory that does not exist matches nothing.
        let no_dir = !literal && target.parent().is_some_and(|p| !p.is_dir());
        let files = match crate::import::expand(&target) {
            _ if no_dir => Vec::new(),
            Ok(f) if f.is_empty() && literal => {
                let msg = format!("included file {} does not exist", target.display());
                c.problems.push(problem(at, msg));
                continue;
            }
            Ok(f) => f,
            Err(why) => {
                c.problems
                    .push(problem(at, format!("include {pattern:?}: {why}")));
                continue;
            }
        };
        for path in files {
            if seen.contains(&path) {
                continue;
            }
            seen.push(path.clone());
            add_file(&mut c, &path, at, &mut spare);
        }
    }
    c
}

/// The include patterns with their offsets; entries that are not strings
/// are problems.
fn patterns(
    value: &toml::Spanned<DeValue<'_>>,
    problems: &mut Vec<Pending>,
) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    match value.get_ref() {
        DeValue::Array(items) => {
            for item in items {
                match item.get_ref() {
                    DeValue::String(s) => out.push((s.to_string(), item.span().start)),
                    _ => problems.push(problem(
                        item.span().start,
                        "an include entry is a path or a glob, e.g. \"/etc/vrrpd/conf.d/*.toml\""
                            .to_owned(),
                    )),
                }
            }
        }
        _ => problems.push(problem(
            value.span().start,
            "include is a list of paths or globs, e.g. include = [\"/etc/vrrpd/conf.d/*.toml\"]"
                .to_owned(),
        )),
    }
    out
}

/// Reads one included file into `c`: appended to the checked text when its
/// structure is right, else kept aside (at `spare` offsets) with its
/// problems, so that they still name their file.
fn add_file(c: &mut Combined, path: &Path, at: usize, spare: &mut usize) {
    let name = path.display().to_string();
    let text = match read::read_config(path, &name) {
        Ok(t) => t,
        Err(read::Unreadable(e)) => {
            let why = e.diagnostics.first().map_or("", |d| d.message.as_str());
            c.problems
                .push(problem(at, format!("included file {name}: {why}")));
            return;
        }
    };
    let bad = structure(&text);
    let base = if bad.is_empty() {
        c.text.push('\n');
        let base = c.text.len();
        c.text.push_str(&text);
        base
    } else {
        let base = *spare;
        *spare = spare.saturating_add(text.len() + 1);
        c.problems
            .extend(bad.into_iter().map(|(o, m)| problem(base + o, m)));
        base
    };
    c.sources.push(Source {
        file: name,
        base,
        text,
    });
}

/// Top-level keys an included file may not hold, with their offsets (a
/// syntax error is left to the parse of the whole).
fn structure(text: &str) -> Vec<(usize, String)> {
    let Ok(doc) = DeTable::parse(text) else {
        return Vec::new();
    };
    doc.get_ref()
        .iter()
        .filter(|(k, _)| !INCLUDABLE.contains(&k.get_ref().as_ref()))
        .map(|(k, _)| {
            (
                k.span().start,
                format!(
                    "an included file holds [[instance]], [[check]] and [[sync_group]] tables only; `{}` belongs in the main file",
                    k.get_ref()
                ),
            )
        })
        .collect()
}
