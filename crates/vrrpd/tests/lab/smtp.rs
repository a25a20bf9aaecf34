//! A real SMTP server for the e-mail alert tests: Debian's
//! `python3-aiosmtpd` in one of the lab's namespaces, writing each message
//! it accepts as one JSON line, and readers for what arrived.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::Lab;

/// The system python, which has Debian's aiosmtpd (not a venv's).
pub const PYTHON: &str = "/usr/bin/python3";

/// An SMTP server that writes each message it accepts as one JSON line.
pub const SERVER: &str = r#"
import json, sys, time
from aiosmtpd.controller import Controller
host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
class Handler:
    async def handle_DATA(self, server, session, envelope):
        with open(out, "a") as f:
            f.write(json.dumps({"helo": session.host_name, "from": envelope.mail_from,
                "to": envelope.rcpt_tos,
                "data": envelope.content.decode("utf8", "replace")}) + "\n")
        return "250 OK"
c = Controller(Handler(), hostname=host, port=port)
c.start()
print("ready", flush=True)
while True:
    time.sleep(3600)
"#;

/// True if python3-aiosmtpd is installed; says SKIP otherwise.
pub fn aiosmtpd_available() -> bool {
    let ok = Command::new(PYTHON)
        .args(["-c", "import aiosmtpd"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIP: python3-aiosmtpd is not installed (scripts/setup.sh installs it)");
    }
    ok
}

/// Starts `script` (as process `name`) in namespace `ns`, listening on
/// `addr:port` and writing to `out`; waits until it says "ready".
pub fn start(lab: &Lab, ns: &str, name: &str, script: &str, (addr, port): (&str, u16), out: &str) {
    let path = lab.dir.path().join(format!("{name}.py"));
    std::fs::write(&path, script).unwrap();
    let p = path.display().to_string();
    let port = port.to_string();
    lab.spawn(ns, name, &[PYTHON, &p, addr, &port, out]);
    // Python starts slowly under emulation (the VM tests): allow for it.
    assert!(
        lab.wait_until(Duration::from_secs(30), || lab.log(name).contains("ready")),
        "{name} did not start:\n{}",
        lab.log(name)
    );
}

/// The messages received so far.
pub fn mails(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Header `name` of a received message.
pub fn header<'a>(mail: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    mail["data"]
        .as_str()?
        .split("\r\n\r\n")
        .next()?
        .split("\n")
        .find_map(|l| l.trim_end().strip_prefix(&format!("{name}: ")))
}

/// The subjects received so far, in order.
pub fn subjects(path: &Path) -> Vec<String> {
    mails(path)
        .iter()
        .filter_map(|m| header(m, "Subject").map(str::to_owned))
        .collect()
}

/// The first message with subject `subject`.
pub fn find(path: &Path, subject: &str) -> Option<serde_json::Value> {
    mails(path)
        .into_iter()
        .find(|m| header(m, "Subject") == Some(subject))
}
