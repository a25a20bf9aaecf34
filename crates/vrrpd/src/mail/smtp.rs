//! The SMTP client dialogue of one alert (RFC 5321, plain text, no
//! authentication, no TLS: what keepalived speaks), blocking, every step
//! bounded by the connect time-out and the whole attempt by a deadline.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::Alert;

/// The longest reply line read.
const MAX_LINE: u64 = 4096;
/// The most lines of one (multi-line) reply.
const MAX_LINES: usize = 64;

/// Why one attempt failed.
#[derive(Debug)]
pub(crate) enum SmtpError {
    /// Resolving, connecting, reading or writing failed or timed out.
    Io(io::Error),
    /// The server answered with a 4xx code (try again later).
    Transient(String),
    /// The server answered with a 5xx code or something unexpected.
    Rejected(String),
}

impl SmtpError {
    /// Whether a retry may help.
    pub(crate) fn transient(&self) -> bool {
        !matches!(self, SmtpError::Rejected(_))
    }
}

impl std::fmt::Display for SmtpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SmtpError::Io(e) => write!(f, "{e}"),
            SmtpError::Transient(r) | SmtpError::Rejected(r) => write!(f, "server said {r:?}"),
        }
    }
}

impl From<io::Error> for SmtpError {
    fn from(e: io::Error) -> Self {
        SmtpError::Io(e)
    }
}

struct Session {
    reader: BufReader<TcpStream>,
    deadline: Instant,
    step: Duration,
}

impl Session {
    /// Sets the socket time-outs to the step bound, cut to the deadline.
    fn arm(&mut self) -> io::Result<()> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the SMTP exchange took too long",
            ));
        }
        let t = Some(self.step.min(left));
        self.reader.get_ref().set_read_timeout(t)?;
        self.reader.get_ref().set_write_timeout(t)
    }

    fn send(&mut self, line: &str) -> Result<(), SmtpError> {
        self.arm()?;
        self.reader.get_mut().write_all(line.as_bytes())?;
        Ok(())
    }

    /// Reads one reply (all its lines) and checks its code is `want`'s
    /// first digit class (2 or 3).
    fn expect(&mut self, want: u8) -> Result<(), SmtpError> {
        let mut text = String::new();
        for _ in 0..MAX_LINES {
            self.arm()?;
            let mut line = Vec::new();
            let n = (&mut self.reader)
                .take(MAX_LINE)
                .read_until(b'\n', &mut line)?;
            if n == 0 {
                return Err(SmtpError::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the SMTP server closed the connection",
                )));
            }
            let l = String::from_utf8_lossy(&line).trim_end().to_owned();
            text.push_str(&l);
            let more = l.as_bytes().get(3) == Some(&b'-');
            if more {
                text.push(' ');
                continue;
            }
            let class = l.as_bytes().first().copied().unwrap_or(b'0');
            return match class {
                c if c == b'0' + want => Ok(()),
                b'4' => Err(SmtpError::Transient(text)),
                _ => Err(SmtpError::Rejected(text)),
            };
        }
        Err(SmtpError::Rejected(format!(
            "reply longer than {MAX_LINES} lines"
        )))
    }

    fn command(&mut self, line: &str, want: u8) -> Result<(), SmtpError> {
        self.send(line)?;
        self.expect(want)
    }
}

/// Connects to the first address of the server that answers within the
/// time-out.
fn connect(alert: &Alert, deadline: Instant) -> Result<TcpStream, SmtpError> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    let addrs = (alert.server.host.as_str(), alert.server.port).to_socket_addrs()?;
    for a in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        let t = alert.timeout.min(left);
        if t.is_zero() {
            break;
        }
        match TcpStream::connect_timeout(&a, t) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(SmtpError::Io(last))
}

/// Removes line breaks, so no text can start a header or end the data.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect()
}

/// The message: keepalived's headers (with vrrpd's mailer name) and the
/// body, dot-stuffed and ended with `.`.
pub(crate) fn message(alert: &Alert) -> String {
    let mut m = format!(
        "Date: {}\r\nFrom: {}\r\nSubject: {}\r\nX-Mailer: vrrpd\r\nTo: {}\r\n\r\n",
        alert.date,
        one_line(&alert.from),
        one_line(&alert.subject),
        one_line(&alert.to.join(", "))
    );
    for line in alert.body.lines() {
        if line.starts_with('.') {
            m.push('.');
        }
        m.push_str(line);
        m.push_str("\r\n");
    }
    m.push_str(".\r\n");
    m
}

/// Delivers `alert` in one attempt; the whole exchange ends within
/// `deadline`.
pub(crate) fn deliver(alert: &Alert, deadline: Instant) -> Result<(), SmtpError> {
    let stream = connect(alert, deadline)?;
    let mut s = Session {
        reader: BufReader::new(stream),
        deadline,
        step: alert.timeout,
    };
    s.expect(2)?;
    s.command(&format!("HELO {}\r\n", one_line(&alert.helo)), 2)?;
    s.command(&format!("MAIL FROM:<{}>\r\n", one_line(&alert.from)), 2)?;
    for to in &alert.to {
        s.command(&format!("RCPT TO:<{}>\r\n", one_line(to)), 2)?;
    }
    s.command("DATA\r\n", 3)?;
    s.command(&message(alert), 2)?;
    // The mail is accepted; a QUIT that fails changes nothing.
    let _ = s.command("QUIT\r\n", 2);
    Ok(())
}
