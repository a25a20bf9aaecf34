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
    /// The included file the problem is in (`include`); `None`: the main
    /// file, [`ConfigError::file`].
    pub file: Option<String>,
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
                file: None,
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
                self.file_of(d),
                d.line,
                d.column,
                d.message.replace('\n', " ")
            ),
            None => format!("{n} {noun}"),
        }
    }

    /// The file `d` is in: its included file, or the main one.
    pub fn file_of<'a>(&'a self, d: &'a Diagnostic) -> &'a str {
        d.file.as_deref().unwrap_or(&self.file)
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
            write!(
                f,
                "{}:{}:{}: {}",
                self.file_of(d),
                d.line,
                d.column,
                d.message
            )?;
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

/// One text that offsets point into: the main file (first, at offset 0)
/// or an included one, at `base` in the offset space of the checked text.
#[derive(Debug)]
pub(crate) struct Source {
    /// Its name in messages.
    pub(crate) file: String,
    /// Where its first byte is in the offset space.
    pub(crate) base: usize,
    /// Its text.
    pub(crate) text: String,
}

/// Turns collected problems into a [`ConfigError`], sorted by position:
/// each offset is placed in the source it falls in (`sources[0]` is the
/// main file).
pub(crate) fn finish_sources(sources: &[Source], mut pending: Vec<Pending>) -> ConfigError {
    pending.sort_by_key(|p| (p.offset, p.group));
    let indexes: Vec<LineIndex<'_>> = sources.iter().map(|s| LineIndex::new(&s.text)).collect();
    // The source of an offset: the last one starting at or before it.
    let place = |offset: usize| -> (usize, usize, usize) {
        let i = sources.iter().rposition(|s| s.base <= offset).unwrap_or(0);
        let base = sources.get(i).map_or(0, |s| s.base);
        let (l, c) = indexes
            .get(i)
            .map_or((1, 1), |ix| ix.position(offset - base));
        (i, l, c)
    };
    let diagnostics = pending
        .into_iter()
        .map(|p| {
            let (i, line, column) = place(p.offset);
            let message = match p.other {
                Some(o) => match place(o) {
                    (j, l, c) if j == i => format!("{} (first at {l}:{c})", p.message),
                    (j, l, c) => format!(
                        "{} (first at {}:{l}:{c})",
                        p.message,
                        sources.get(j).map_or("", |s| s.file.as_str())
                    ),
                },
                None => p.message,
            };
            Diagnostic {
                line,
                column,
                message,
                group: p.group,
                file: (i > 0)
                    .then(|| sources.get(i).map(|s| s.file.clone()))
                    .flatten(),
            }
        })
        .collect();
    ConfigError {
        file: sources.first().map(|s| s.file.clone()).unwrap_or_default(),
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
                    file: None,
                },
                Diagnostic {
                    line: 5,
                    column: 1,
                    message: "other".into(),
                    group: Group::Host,
                    file: None,
                },
            ],
        };
        assert_eq!(e.summary(), "2 problems; first: f:2:3: bad thing");
    }
}
