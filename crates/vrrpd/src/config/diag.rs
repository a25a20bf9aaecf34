//! Diagnostics: problems found in a configuration, with their position.
//!
//! Positions are byte offsets while the file is checked and become
//! `line:column` once, at the end, through a [`LineIndex`] (line starts
//! computed once, then a binary search per diagnostic), so the cost stays
//! linear in the number of problems however many there are.

use std::fmt;

/// Which kind of problem a diagnostic reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Group {
    /// The file itself is wrong: syntax, a key, a value, a rule between
    /// objects. Wrong on every machine.
    Config,
    /// The file is fine but this host cannot run it: an interface or a
    /// program is missing, `nft` is not installed. `vrrpd check --offline`
    /// skips these.
    Host,
}

/// One problem in a configuration file, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// What is wrong and, where it helps, what to write instead.
    pub message: String,
    /// Whether the file or the host is at fault.
    pub group: Group,
}

/// Why a configuration was rejected: one or more [`Diagnostic`]s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file name used in messages.
    pub file: String,
    /// Every problem found, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl ConfigError {
    /// A rejection with a single problem at `line:column`.
    pub(crate) fn single(file: &str, line: usize, column: usize, message: String) -> Self {
        ConfigError {
            file: file.to_owned(),
            diagnostics: vec![Diagnostic {
                line,
                column,
                message,
                group: Group::Config,
            }],
        }
    }

    /// One line for a log record: `N problems; first: FILE:L:C: MESSAGE`
    /// (the count and the first problem in file order). A refused reload
    /// logs this instead of one line per problem.
    pub fn summary(&self) -> String {
        let n = self.diagnostics.len();
        let noun = if n == 1 { "problem" } else { "problems" };
        match self.diagnostics.first() {
            Some(d) => format!(
                "{n} {noun}; first: {}:{}:{}: {}",
                self.file,
                d.line,
                d.column,
                d.message.replace('\n', " ")
            ),
            None => format!("{n} {noun}"),
        }
    }

    /// The problems of one group.
    pub fn of(&self, group: Group) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(move |d| d.group == group)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{}:{}: {}", self.file, d.line, d.column, d.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Byte offset to `line:column`, with the line starts computed once.
#[derive(Debug)]
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    /// Byte offset of the start of each line.
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    /// Indexes `text` (one pass).
    pub(crate) fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { text, starts }
    }

    /// 1-based line and column (in characters) of byte `offset`; an offset
    /// past the end or inside a character counts as the nearest one before.
    pub(crate) fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        let column = self.text.get(start..).map_or(0, |rest| {
            rest.char_indices()
                .take_while(|(i, _)| start + i < offset)
                .count()
        });
        (line, column + 1)
    }
}

/// A problem while the file is checked: a byte offset, not yet a position.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) offset: usize,
    pub(crate) message: String,
    pub(crate) group: Group,
    /// The other place of a duplicate, named in the message as `LINE:COL`.
    pub(crate) other: Option<usize>,
}

/// Turns collected problems into a [`ConfigError`], sorted by position.
pub(crate) fn finish(text: &str, file: &str, mut pending: Vec<Pending>) -> ConfigError {
    pending.sort_by_key(|p| (p.offset, p.group));
    let index = LineIndex::new(text);
    let diagnostics = pending
        .into_iter()
        .map(|p| {
            let (line, column) = index.position(p.offset);
            let message = match p.other {
                Some(o) => {
                    let (l, c) = index.position(o);
                    format!("{} (first at {l}:{c})", p.message)
                }
                None => p.message,
            };
            Diagnostic {
                line,
                column,
                message,
                group: p.group,
            }
        })
        .collect();
    ConfigError {
        file: file.to_owned(),
        diagnostics,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        let ix = LineIndex::new("ab\nçd\n\nx");
        assert_eq!(ix.position(0), (1, 1));
        assert_eq!(ix.position(1), (1, 2));
        assert_eq!(ix.position(3), (2, 1));
        // `ç` is two bytes: `d` is the second character.
        assert_eq!(ix.position(5), (2, 2));
        assert_eq!(ix.position(7), (3, 1));
        assert_eq!(ix.position(8), (4, 1));
        assert_eq!(ix.position(99), (4, 2));
    }

    #[test]
    fn summary_is_one_line_with_count_and_first() {
        let e = ConfigError {
            file: "f".into(),
            diagnostics: vec![
                Diagnostic {
                    line: 2,
                    column: 3,
                    message: "bad\nthing".into(),
                    group: Group::Config,
                },
                Diagnostic {
                    line: 5,
                    column: 1,
                    message: "other".into(),
                    group: Group::Host,
                },
            ],
        };
        assert_eq!(e.summary(), "2 problems; first: f:2:3: bad thing");
    }
}
