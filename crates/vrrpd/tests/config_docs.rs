//! docs/config.md stays true: every `toml` example loads, and every key the
//! parser knows is documented there.
#![allow(clippy::unwrap_used)]

use vrrpd::config::load_str;

fn doc() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/config.md");
    std::fs::read_to_string(path).unwrap()
}

fn toml_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        match (&mut cur, line.trim_end()) {
            (None, "```toml") => cur = Some(String::new()),
            (Some(_), "```") => blocks.push(cur.take().unwrap()),
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

#[test]
fn every_example_in_the_reference_loads() {
    let blocks = toml_blocks(&doc());
    assert!(blocks.len() >= 5, "found only {} examples", blocks.len());
    for (i, b) in blocks.iter().enumerate() {
        if let Err(e) = load_str(b, &format!("docs/config.md example {}", i + 1)) {
            panic!("{e}\n---\n{b}");
        }
    }
}

/// Asks the parser for the keys of a table by writing an unknown one: serde
/// lists the expected fields in its error.
fn keys_of(table_header: &str, required: &str) -> Vec<String> {
    let text = format!("{table_header}\n{required}zzz_unknown = 1\n");
    let err = load_str(&text, "t").unwrap_err().to_string();
    // "expected `a` or `b`" for two keys, "expected one of `a`, `b`, ..." for more.
    let list = err
        .split("expected ")
        .nth(1)
        .unwrap_or_else(|| panic!("{err}"));
    let list = list.strip_prefix("one of ").unwrap_or(list);
    list.split([',', ' '])
        .filter(|w| w.starts_with('`'))
        .map(|k| k.trim_matches('`').to_owned())
        .collect()
}

#[test]
fn every_key_is_documented() {
    let doc = doc();
    let tables = [
        ("[global]", ""),
        ("[[instance]]", ""),
        ("[[check]]", ""),
        ("[[sync_group]]", ""),
        ("[lvs]", ""),
        ("[[virtual_server]]", ""),
        (
            "[[virtual_server]]\naddress = \"192.0.2.1\"\nport = 80\n[[virtual_server.real_server]]",
            "",
        ),
        (
            "[[virtual_server]]\naddress = \"192.0.2.1\"\nport = 80\n[[virtual_server.real_server]]\naddress = \"10.0.0.1\"\n[virtual_server.real_server.tcp_check]",
            "",
        ),
    ];
    let mut total = 0;
    for (header, required) in tables {
        for key in keys_of(header, required) {
            total += 1;
            assert!(
                doc.contains(&format!("`{key}`")),
                "key `{key}` of {header} is not in docs/config.md"
            );
        }
    }
    assert!(total > 40, "only {total} keys found");
}
