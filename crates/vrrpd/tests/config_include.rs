//! `include` in vrrpd's own configuration: globs, order, and every problem
//! reported in the file it is in, with its line and column.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use vrrpd::config::{Checked, Options, check_file};

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn inst(name: &str, vrid: u8, vip: &str) -> String {
    format!(
        "[[instance]]\nname = \"{name}\"\ninterface = \"eth0\"\nvrid = {vrid}\nvirtual_addresses = [\"{vip}\"]\n"
    )
}

#[test]
fn globs_bring_in_files_in_sorted_order() {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join("conf.d")).unwrap();
    write(
        d.path(),
        "main.toml",
        &format!(
            "include = [\"conf.d/*.toml\", \"empty.d/*.toml\"]\n\n{}",
            inst("A", 1, "192.0.2.1")
        ),
    );
    write(
        &d.path().join("conf.d"),
        "20-c.toml",
        &inst("C", 3, "192.0.2.3"),
    );
    write(
        &d.path().join("conf.d"),
        "10-b.toml",
        &format!(
            "[[check]]\nname = \"k\"\ntype = \"file\"\npath = \"/run/k\"\n\n{}",
            inst("B", 2, "192.0.2.2")
        ),
    );
    write(
        &d.path().join("conf.d"),
        "ignored.conf",
        "not toml at all [",
    );
    let cfg = match check_file(&d.path().join("main.toml"), Options::OFFLINE) {
        Checked::Ok(cfg) => cfg,
        Checked::Problems(e) | Checked::Unreadable(e) => panic!("{e}"),
    };
    let names: Vec<&str> = cfg.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["A", "B", "C"]);
    assert_eq!(cfg.checks[0].name, "k");
}

#[test]
fn problems_are_placed_in_their_own_file() {
    let d = tempfile::tempdir().unwrap();
    let main = d.path().join("main.toml");
    write(
        d.path(),
        "main.toml",
        &format!(
            "include = [\"*.inc\", \"missing.toml\"]\n{}",
            inst("A", 1, "192.0.2.1")
        ),
    );
    // A wrong value on line 4, and the VRID of A again on line 4.
    write(
        d.path(),
        "a.inc",
        "[[instance]]\nname = \"B\"\ninterface = \"eth0\"\nvrid = 1\nvirtual_addresses = [\"192.0.2.999\"]\n",
    );
    write(d.path(), "b.inc", "[global]\nnotify_timeout = \"1s\"\n");
    let Checked::Problems(e) = check_file(&main, Options::OFFLINE) else {
        panic!("loaded");
    };
    let text = e.to_string();
    let a = d.path().join("a.inc").display().to_string();
    let b = d.path().join("b.inc").display().to_string();
    let m = main.display().to_string();
    assert!(
        text.contains(&format!("{a}:5:22: \"192.0.2.999\" is not an IP address")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{a}:4:8: VRID 1 on eth0 (IPv4) is already used by instance \"A\" (first at {m}:5:8)"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("{b}:1:2: an included file holds")),
        "{text}"
    );
    assert!(text.contains(&format!("{m}:1:21: included file")), "{text}");
    assert!(text.contains("missing.toml does not exist"), "{text}");
}

#[test]
fn a_syntax_error_in_an_included_file_names_that_file() {
    let d = tempfile::tempdir().unwrap();
    let main = d.path().join("main.toml");
    write(
        d.path(),
        "main.toml",
        &format!("include = [\"x.toml\"]\n{}", inst("A", 1, "192.0.2.1")),
    );
    write(d.path(), "x.toml", "[[instance]]\nname = \"B\nvrid = 2\n");
    let Checked::Problems(e) = check_file(&main, Options::OFFLINE) else {
        panic!("loaded");
    };
    let x = d.path().join("x.toml").display().to_string();
    assert_eq!(e.file_of(&e.diagnostics[0]), x, "{e}");
    assert_eq!(e.diagnostics[0].line, 2, "{e}");
}
