//! Log format of `vrrpd run`: journald-native under systemd, plain text
//! with timestamps elsewhere (docs/operations.md, "Logs").
//!
//! systemd connects a service's stderr to the journal and says so in
//! `JOURNAL_STREAM=<device>:<inode>` ("systemd.exec(5)": a process should
//! compare it with `fstat()` of its stderr, since the variable is inherited
//! by children whose stderr may go elsewhere). When it matches, every line
//! starts with a syslog priority prefix (`<3>` error … `<7>` debug), which
//! journald strips and stores as the entry's priority (`SyslogLevelPrefix=`,
//! on by default), and carries no timestamp, since the journal stamps each
//! entry itself. Anywhere else (a terminal, a file, a test harness) the
//! lines are tracing's usual text with an RFC 3339 timestamp.

use std::fmt;
use std::os::unix::fs::MetadataExt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Whether this process's stderr is the journal stream systemd announced in
/// `JOURNAL_STREAM` (its device and inode numbers match stderr's).
pub(crate) fn stderr_is_journal() -> bool {
    let Some(announced) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = announced.to_str().and_then(parse_stream) else {
        return false;
    };
    // fstat(2) of fd 2, through /proc so that no unsafe code is needed.
    std::fs::metadata("/proc/self/fd/2").is_ok_and(|m| m.dev() == dev && m.ino() == ino)
}

/// `"<dev>:<ino>"`, both decimal, as systemd writes them.
fn parse_stream(s: &str) -> Option<(u64, u64)> {
    let (dev, ino) = s.split_once(':')?;
    Some((dev.parse().ok()?, ino.parse().ok()?))
}

/// The syslog priority journald stores for `level` (`<N>` prefix).
pub(crate) fn priority(level: Level) -> u8 {
    match level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        Level::DEBUG | Level::TRACE => 7,
    }
}

/// The text that reports a fatal `message` on stderr: as it is, or under
/// the journal with an error priority on every line (a configuration
/// error lists every problem, one per line, and each line becomes an
/// entry of its own).
pub(crate) fn error_text(message: &str, journal: bool) -> String {
    let mut text = String::with_capacity(message.len() + 8);
    for line in message.lines() {
        if journal {
            text.push_str("<3>");
        }
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// Journald lines: `<N>LEVEL target: span{fields}: message fields`, no
/// timestamp and no colours. A message spanning several lines would become
/// several journal entries, of which only the first had the priority; the
/// line breaks are therefore written as `\n` escapes.
pub(crate) struct JournalFormat;

impl<S, N> FormatEvent<S, N> for JournalFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut line = String::new();
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                line.push_str(span.name());
                let ext = span.extensions();
                match ext.get::<FormattedFields<N>>() {
                    Some(fields) if !fields.is_empty() => {
                        line.push('{');
                        line.push_str(fields);
                        line.push('}');
                    }
                    _ => {}
                }
                line.push_str(": ");
            }
        }
        ctx.format_fields(Writer::new(&mut line), event)?;
        write!(
            writer,
            "<{}>{} {}: ",
            priority(*meta.level()),
            meta.level(),
            meta.target()
        )?;
        writeln!(writer, "{}", line.trim_end().replace('\n', "\\n"))
    }
}

/// Logs to stderr at the level `RUST_LOG` names: a level (`debug`) or
/// `target=level` directives (`info,vrrpd=debug,netif=warn`). These are
/// `tracing_subscriber`'s `Targets` filter, not the regex-based env filter,
/// which would add a regex engine to a daemon that has no other use for one.
/// `journal` selects [`JournalFormat`] (see [`stderr_is_journal`]).
pub(crate) fn init(journal: bool) {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::prelude::*;

    let default = Targets::new().with_default(LevelFilter::INFO);
    let (filter, bad) = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => match spec.parse::<Targets>() {
            Ok(t) => (t, None),
            Err(e) => (
                default,
                Some(format!("RUST_LOG={spec:?} ignored ({e}); logging at info")),
            ),
        },
        _ => (default, None),
    };
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let layer = if journal {
        layer.with_ansi(false).event_format(JournalFormat).boxed()
    } else {
        layer
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .boxed()
    };
    tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .init();
    if let Some(warning) = bad {
        tracing::warn!(target: "vrrpd", "{warning}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_stream_is_device_colon_inode() {
        assert_eq!(parse_stream("8:12345"), Some((8, 12345)));
        assert_eq!(parse_stream("8:"), None);
        assert_eq!(parse_stream("8"), None);
        assert_eq!(parse_stream("x:1"), None);
    }

    #[test]
    fn every_line_of_a_fatal_error_has_the_error_priority() {
        let message = "vrrpd: a.toml:1:1: first\na.toml:2:1: second";
        assert_eq!(
            error_text(message, true),
            "<3>vrrpd: a.toml:1:1: first\n<3>a.toml:2:1: second\n"
        );
        assert_eq!(error_text(message, false), format!("{message}\n"));
    }

    /// Formats the events `emit` logs with [`JournalFormat`].
    fn journal_lines(emit: impl FnOnce()) -> String {
        use std::sync::{Arc, Mutex};
        use tracing_subscriber::prelude::*;

        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().expect("not poisoned").extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let out = buffer.clone();
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .event_format(JournalFormat)
            .with_writer(move || out.clone());
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, emit);
        let bytes = buffer.0.lock().expect("not poisoned").clone();
        String::from_utf8(bytes).expect("utf-8")
    }

    #[test]
    fn journal_lines_have_priority_level_target_spans_and_fields() {
        let text = journal_lines(|| {
            let span = tracing::info_span!("instance", name = "VI_1");
            let _g = span.enter();
            tracing::warn!(target: "vrrpd::runtime", priority = 90, "check failed");
            tracing::error!(target: "vrrpd", "one\ntwo");
            tracing::debug!(target: "netif", "deep");
        });
        assert_eq!(
            text,
            "<4>WARN vrrpd::runtime: instance{name=\"VI_1\"}: check failed priority=90\n\
             <3>ERROR vrrpd: instance{name=\"VI_1\"}: one\\ntwo\n\
             <7>DEBUG netif: instance{name=\"VI_1\"}: deep\n"
        );
    }

    #[test]
    fn priorities_follow_syslog() {
        assert_eq!(priority(Level::ERROR), 3);
        assert_eq!(priority(Level::WARN), 4);
        assert_eq!(priority(Level::INFO), 6);
        assert_eq!(priority(Level::DEBUG), 7);
        assert_eq!(priority(Level::TRACE), 7);
    }
}
