//! Import of a keepalived.conf into vrrpd's TOML.
//!
//! Every keyword of keepalived 2.2.7's VRRP side is either converted to the
//! same behaviour or named in the report ([`Note`]) with the reason, and
//! the report says whether leaving it out changes how the routers behave
//! ([`Impact`]). Where keepalived itself overrides a setting (it clears
//! `nopreempt` on a `state MASTER` instance, ignores weighted track scripts
//! on sync-group members), the import reproduces keepalived's effective
//! behaviour and says so. LVS keywords are named as not yet converted.
//! [`keywords`] lists every keyword and its fate; `docs/migration.md`
//! explains each.

mod convert;
mod fifo;
mod instance;
pub mod keywords;
mod lvs;
mod lvs_check;
mod mail;
mod preprocess;
mod process;
mod statics;

use std::fmt;
use std::path::{Path, PathBuf};

pub use convert::convert;

/// One statement of keepalived's configuration: a keyword, its arguments and,
/// for blocks, the statements inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// 1-based line of the keyword.
    pub line: usize,
    /// The keyword (or, inside list blocks such as `virtual_ipaddress`, the item).
    pub key: String,
    /// The words after the keyword on the same line.
    pub args: Vec<String>,
    /// The statements of a `{ ... }` block, if the statement opens one.
    pub block: Option<Vec<Node>>,
}

/// What a [`Note`] means for the imported configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Impact {
    /// Converted, with a remark (a path resolved, an instance split, a
    /// setting keepalived itself overrides applied as keepalived does).
    Converted,
    /// Dropped, with no effect on how vrrpd behaves.
    NoEffect,
    /// Dropped or changed, and vrrpd behaves differently from keepalived
    /// (or the import cannot tell what was meant): review it.
    Changes,
}

impl fmt::Display for Impact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Impact::Converted => "converted",
            Impact::NoEffect => "dropped, no effect here",
            Impact::Changes => "behaviour changes",
        })
    }
}

/// Something the import could not carry over, or changed on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The file the statement is in.
    pub file: PathBuf,
    /// 1-based line in that file.
    pub line: usize,
    /// What happened to it.
    pub message: String,
    /// Whether it matters.
    pub impact: Impact,
    /// The keepalived keyword the note is about, if it is about one.
    pub keyword: Option<String>,
}

/// Why an import failed outright (unreadable file, unbalanced braces).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file's syntax is broken.
    #[error("{path}:{line}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// The result of an import.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The TOML text.
    pub toml: String,
    /// What was not carried over or was changed, in file order.
    pub notes: Vec<Note>,
}

impl Imported {
    /// True if something was dropped or changed that makes vrrpd behave
    /// differently from keepalived (`vrrpd import-keepalived` exits 3).
    pub fn changes_behaviour(&self) -> bool {
        self.notes.iter().any(|n| n.impact == Impact::Changes)
    }
}

/// Splits keepalived text into statements. `#` and `!` start comments;
/// double quotes group words; `{` and `}` are tokens of their own.
pub fn parse(text: &str) -> Result<Vec<Node>, (usize, String)> {
    let mut stack: Vec<(Node, Vec<Node>)> = Vec::new();
    let mut top: Vec<Node> = Vec::new();
    // The last statement seen, kept back until we know whether a `{` (on the
    // same line or the next) opens a block for it.
    let mut pending: Option<Node> = None;
    for (i, raw_line) in text.lines().enumerate() {
        let line = i + 1;
        let tokens = tokenize(raw_line).map_err(|m| (line, m))?;
        let mut words: Vec<String> = Vec::new();
        let statement = |words: &mut Vec<String>| -> Option<Node> {
            if words.is_empty() {
                return None;
            }
            let key = words.remove(0);
            Some(Node {
                line,
                key,
                args: std::mem::take(words),
                block: None,
            })
        };
        for tok in tokens {
            match tok.as_str() {
                "{" => {
                    let opener = match statement(&mut words) {
                        Some(node) => {
                            if let Some(p) = pending.take() {
                                push(&mut stack, &mut top, p);
                            }
                            node
                        }
                        None => pending
                            .take()
                            .ok_or_else(|| (line, "'{' without a keyword before it".to_owned()))?,
                    };
                    stack.push((opener, Vec::new()));
                }
                "}" => {
                    for node in [pending.take(), statement(&mut words)]
                        .into_iter()
                        .flatten()
                    {
                        push(&mut stack, &mut top, node);
                    }
                    let Some((mut node, children)) = stack.pop() else {
                        return Err((line, "'}' without a matching '{'".to_owned()));
                    };
                    node.block = Some(children);
                    push(&mut stack, &mut top, node);
                }
                _ => words.push(tok),
            }
        }
        if let Some(node) = statement(&mut words) {
            if let Some(p) = pending.replace(node) {
                push(&mut stack, &mut top, p);
            }
        }
    }
    if let Some(p) = pending.take() {
        push(&mut stack, &mut top, p);
    }
    if let Some((open, _)) = stack.last() {
        return Err((open.line, format!("block '{}' is never closed", open.key)));
    }
    Ok(top)
}

fn push(stack: &mut [(Node, Vec<Node>)], top: &mut Vec<Node>, node: Node) {
    match stack.last_mut() {
        Some((_, children)) => children.push(node),
        None => top.push(node),
    }
}

fn tokenize(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '#' | '!' if cur.is_empty() => break,
            '"' => {
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some(c) => cur.push(c),
                        None => return Err("unterminated double quote".to_owned()),
                    }
                }
                out.push(std::mem::take(&mut cur));
            }
            '{' | '}' => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                out.push(c.to_string());
            }
            c if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

/// Reads `path` (following `include` statements, with globs in their last
/// component) and converts it.
pub fn import_file(path: &Path) -> Result<Imported, ImportError> {
    let mut notes = Vec::new();
    let nodes = read_with_includes(path, &mut notes, 0)?;
    Ok(convert(&nodes, notes))
}

/// A statement with the file it came from.
pub type Sourced = (PathBuf, Node);

fn read_with_includes(
    path: &Path,
    notes: &mut Vec<Note>,
    depth: usize,
) -> Result<Vec<Sourced>, ImportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ImportError::Read {
        path: path.to_owned(),
        source,
    })?;
    let text = preprocess::lines(&text, &preprocess::config_id(), path, notes);
    let nodes = parse(&text).map_err(|(line, message)| ImportError::Syntax {
        path: path.to_owned(),
        line,
        message,
    })?;
    let mut out = Vec::new();
    for n in nodes {
        // keepalived's include variants differ only in which errors they
        // report.
        if !matches!(
            n.key.as_str(),
            "include" | "includer" | "includem" | "includew" | "includeb" | "includea"
        ) {
            out.push((path.to_owned(), n));
            continue;
        }
        let Some(target) = n.args.first() else {
            continue;
        };
        let target = path.parent().unwrap_or(Path::new("/")).join(target);
        let mut note = |message: String| {
            notes.push(Note {
                file: path.to_owned(),
                line: n.line,
                message,
                impact: Impact::Changes,
                keyword: Some("include".to_owned()),
            });
        };
        if depth >= 8 {
            note(format!(
                "include {} is nested more than 8 deep: not followed",
                target.display()
            ));
            continue;
        }
        match expand(&target) {
            Ok(files) if files.is_empty() => {
                note(format!("include {}: no file matches", target.display()))
            }
            Ok(files) => {
                // keepalived warns about an included file it cannot read
                // or parse and goes on with the rest.
                for f in files {
                    match read_with_includes(&f, notes, depth + 1) {
                        Ok(more) => out.extend(more),
                        Err(e) => notes.push(Note {
                            file: path.to_owned(),
                            line: n.line,
                            message: format!("include {}: {e}; not read", f.display()),
                            impact: Impact::Changes,
                            keyword: Some("include".to_owned()),
                        }),
                    }
                }
            }
            Err(why) => note(format!("include {}: {why}", target.display())),
        }
    }
    Ok(out)
}

/// The files an include names: the path itself, or the sorted matches of
/// `*`, `?` and `[...]` in its last component (as glob(3) sorts them).
/// vrrpd's own `include` key reads the same way.
pub(crate) fn expand(target: &Path) -> Result<Vec<PathBuf>, String> {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = target.parent().unwrap_or(Path::new("/"));
    if dir.to_string_lossy().contains(['*', '?', '[']) {
        return Err("wildcards in directory names are not followed".to_owned());
    }
    if !name.contains(['*', '?', '[']) {
        // keepalived reports a missing file and reads on; so does the
        // import (the caller notes that nothing matched).
        return Ok(if target.exists() {
            vec![target.to_owned()]
        } else {
            Vec::new()
        });
    }
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            !n.starts_with('.') && glob_match(&name, &n)
        })
        .map(|e| e.path())
        .collect();
    files.sort();
    Ok(files)
}

/// Shell-style matching of one path component: `*`, `?`, `[abc]`, `[a-z]`,
/// `[!x]`.
fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    glob_at(&p, &n)
}

fn glob_at(p: &[char], n: &[char]) -> bool {
    match p.split_first() {
        None => n.is_empty(),
        Some(('*', rest)) => (0..=n.len()).any(|i| glob_at(rest, n.get(i..).unwrap_or(&[]))),
        Some(('?', rest)) => n.split_first().is_some_and(|(_, tail)| glob_at(rest, tail)),
        Some(('[', rest)) => {
            let Some(close) = rest.iter().skip(1).position(|&c| c == ']').map(|i| i + 1) else {
                return n.first() == Some(&'[') && glob_at(rest, n.get(1..).unwrap_or(&[]));
            };
            let (set, after) = rest.split_at(close);
            let (negate, set) = match set.split_first() {
                Some(('!' | '^', s)) => (true, s),
                _ => (false, set),
            };
            let Some((&c, tail)) = n.split_first() else {
                return false;
            };
            let mut hit = false;
            let mut i = 0;
            while i < set.len() {
                if i + 2 < set.len() && set[i + 1] == '-' {
                    hit |= set[i] <= c && c <= set[i + 2];
                    i += 3;
                } else {
                    hit |= set[i] == c;
                    i += 1;
                }
            }
            hit != negate && glob_at(after.get(1..).unwrap_or(&[]), tail)
        }
        Some((c, rest)) => n.first() == Some(c) && glob_at(rest, n.get(1..).unwrap_or(&[])),
    }
}

/// `prog` found on PATH, as keepalived finds a relative program.
pub(crate) fn which(prog: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(prog))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_handles_comments_quotes_and_braces() {
        assert_eq!(
            tokenize("a \"b c\" {d} # x").unwrap(),
            vec!["a", "b c", "{", "d", "}"]
        );
        assert_eq!(tokenize("! all comment").unwrap(), Vec::<String>::new());
        assert!(tokenize("x \"open").is_err());
    }

    #[test]
    fn parser_builds_nested_blocks_and_rejects_unbalanced_ones() {
        let nodes = parse("a 1 {\n b {\n c\n }\n}\nd\n").unwrap();
        assert_eq!(nodes.len(), 2);
        let a = &nodes[0];
        assert_eq!(
            (a.key.as_str(), a.args.as_slice(), a.line),
            ("a", &["1".to_owned()][..], 1)
        );
        let b = &a.block.as_ref().unwrap()[0];
        assert_eq!(b.block.as_ref().unwrap()[0].key, "c");
        // A brace on its own line opens the block of the line before.
        let nodes = parse("a\n{\n b\n}\n").unwrap();
        assert_eq!(nodes[0].block.as_ref().unwrap()[0].key, "b");
        assert_eq!(parse("a {\n").unwrap_err().0, 1);
        assert_eq!(parse("}\n").unwrap_err().0, 1);
    }

    #[test]
    fn globs_match_like_the_shell() {
        assert!(glob_match("*.conf", "a.conf"));
        assert!(!glob_match("*.conf", "a.conf.bak"));
        assert!(glob_match("vrrp-?.conf", "vrrp-1.conf"));
        assert!(glob_match("[a-c]*", "beta"));
        assert!(!glob_match("[!a-c]*", "beta"));
        assert!(glob_match("x[", "x["));
    }
}
