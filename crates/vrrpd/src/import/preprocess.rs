//! keepalived's line preprocessing: conditional lines (`@ID`) and
//! parameters (`$NAME=VALUE`, then `$NAME` / `${NAME}`), done before the
//! statements are parsed, line by line, so line numbers stay those of the
//! file.

use std::collections::HashMap;
use std::path::Path;

use super::{Impact, Note};

/// keepalived's config id: the host name up to its first dot (keepalived's
/// default when `-i` is not given).
pub(super) fn config_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    host.trim().split('.').next().unwrap_or("").to_owned()
}

/// The text with conditional lines resolved for config id `id` and
/// parameters substituted; what could not be done is noted.
pub(super) fn lines(text: &str, id: &str, path: &Path, notes: &mut Vec<Note>) -> String {
    let mut p = Pre {
        id,
        path,
        notes,
        params: HashMap::new(),
        seen: Vec::new(),
    };
    let mut out = String::with_capacity(text.len());
    let mut continued = false;
    for (i, line) in text.lines().enumerate() {
        // The rest of a multi-line definition (not expanded).
        if continued {
            continued = line.trim_end().ends_with('\\');
            out.push('\n');
            continue;
        }
        let line = p.conditional(line, i + 1);
        if let Some(multi) = p.definition(&line, i + 1) {
            continued = multi;
        } else {
            out.push_str(&p.substitute(&line, i + 1));
        }
        out.push('\n');
    }
    out
}

struct Pre<'a> {
    id: &'a str,
    path: &'a Path,
    notes: &'a mut Vec<Note>,
    params: HashMap<String, String>,
    /// Conditional ids and parameters already noted.
    seen: Vec<String>,
}

impl Pre<'_> {
    fn note(&mut self, line: usize, keyword: &str, message: String) {
        self.notes.push(Note {
            file: self.path.to_owned(),
            line,
            message,
            impact: Impact::Changes,
            keyword: Some(keyword.to_owned()),
        });
    }

    /// `@ID rest` keeps `rest` only on the host whose config id is ID,
    /// `@^ID rest` everywhere else. Each id is noted once.
    fn conditional(&mut self, line: &str, no: usize) -> String {
        let Some(tag) = line.trim_start().strip_prefix('@') else {
            return line.to_owned();
        };
        let word = tag.split_whitespace().next().unwrap_or("");
        let (inverted, name) = match word.strip_prefix('^') {
            Some(n) => (true, n),
            None => (false, word),
        };
        let kept = (name == self.id) != inverted;
        if !self.seen.iter().any(|s| s == word) {
            self.seen.push(word.to_owned());
            let verdict = if kept { "kept" } else { "left out" };
            let id = self.id;
            self.note(
                no,
                "@",
                format!(
                    "lines marked `@{word}` are {verdict}: this import's config id is {id:?} (keepalived's default, the host name); import on the host the file is for"
                ),
            );
        }
        if kept {
            tag.get(word.len()..).unwrap_or("").to_owned()
        } else {
            String::new()
        }
    }

    /// `$NAME=VALUE`: remembered; `Some(true)` if the value continues on the
    /// next line (a multi-line definition, which is not expanded).
    fn definition(&mut self, line: &str, no: usize) -> Option<bool> {
        let rest = line.trim_start().strip_prefix('$')?;
        let (name, value) = rest.split_once('=')?;
        let valid = name.chars().next().is_some_and(|c| !c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return None;
        }
        if value.trim_end().ends_with('\\') {
            self.note(
                no,
                "$",
                format!("the multi-line parameter ${name} is not expanded by the import: expand it by hand"),
            );
            self.params.remove(name);
            return Some(true);
        }
        self.params.insert(name.to_owned(), value.trim().to_owned());
        Some(false)
    }

    /// Replaces `${NAME}` and `$NAME` (followed by white space or the end)
    /// of defined parameters, again in what was substituted (at most 16
    /// rounds, against a definition that refers to itself).
    fn substitute(&mut self, line: &str, no: usize) -> String {
        let mut cur = line.to_owned();
        for _ in 0..16 {
            let next = self.once(&cur);
            if next == cur {
                if cur.contains("~SEQ(") && !self.seen.iter().any(|s| s == "~SEQ") {
                    self.seen.push("~SEQ".to_owned());
                    self.note(
                        no,
                        "~SEQ",
                        "`~SEQ` sequences are not expanded by the import: expand them by hand"
                            .to_owned(),
                    );
                }
                return cur;
            }
            cur = next;
        }
        self.note(
            no,
            "$",
            "parameter substitution does not end (a parameter refers to itself)".to_owned(),
        );
        cur
    }

    fn once(&self, line: &str) -> String {
        let mut out = String::with_capacity(line.len());
        let mut rest = line;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let (name, len) = match after.strip_prefix('{') {
                Some(b) => match b.find('}') {
                    Some(end) => (&b[..end], end + 2),
                    None => ("", 0),
                },
                None => {
                    let end = after
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .unwrap_or(after.len());
                    // `$NAME` must be followed by white space or the end.
                    let ok = after[end..].chars().next().is_none_or(char::is_whitespace);
                    (if ok { &after[..end] } else { "" }, end)
                }
            };
            match self.params.get(name).filter(|_| !name.is_empty()) {
                Some(v) => {
                    out.push_str(v);
                    rest = &after[len..];
                }
                None => {
                    out.push('$');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, id: &str) -> (String, Vec<Note>) {
        let mut notes = Vec::new();
        let out = lines(text, id, Path::new("k.conf"), &mut notes);
        (out, notes)
    }

    #[test]
    fn conditional_lines_follow_the_config_id() {
        let (out, notes) = run("@main a 1\n@backup a 2\n@^main b 3\nc\n", "main");
        assert_eq!(out, " a 1\n\n\nc\n");
        assert_eq!(notes.len(), 3);
    }

    #[test]
    fn parameters_are_substituted_as_keepalived_does() {
        let text = "$BASE=10.2.${SUB}\n$SUB=0\n${BASE}.100/32\n$SUB=10\n${BASE}.100/32\npriority $P\n$P=7\npriority $P\nscript \"$HOME/x\" $Px\n";
        let (out, notes) = run(text, "h");
        assert_eq!(
            out,
            "\n\n10.2.0.100/32\n\n10.2.10.100/32\npriority $P\n\npriority 7\nscript \"$HOME/x\" $Px\n"
        );
        assert!(notes.is_empty(), "{notes:#?}");
        let (out, notes) = run("$M= \\\n  a \\\n  b\nc\n", "h");
        assert_eq!(out, "\n\n\nc\n");
        assert_eq!(notes[0].keyword.as_deref(), Some("$"));
    }
}
