//! `vrrpd generate-package-files` (hidden; scripts/build-deb.sh): a man
//! page for `vrrpd` and for every subcommand, and bash/zsh/fish
//! completions, all from the clap definition. No privileges needed.

use std::path::Path;
use std::process::Command;

/// The subcommands an operator sees (`vrrpd --help`).
const SUBCOMMANDS: [&str; 7] = [
    "run",
    "reload",
    "status",
    "switchover",
    "maintenance",
    "check",
    "import-keepalived",
];

fn generate(out: &Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_vrrpd"))
        .arg("generate-package-files")
        .arg("--out")
        .arg(out)
        .status()
        .expect("vrrpd runs");
    assert!(status.success(), "{status}");
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_man_page_for_vrrpd_and_each_subcommand() {
    let dir = tempfile::tempdir().expect("tempdir");
    generate(dir.path());
    let man = dir.path().join("man");
    let top = read(&man.join("vrrpd.8"));
    assert!(top.contains(".TH vrrpd 8"), "{top}");
    assert!(top.contains(env!("CARGO_PKG_VERSION")), "{top}");
    for section in [".SH FILES", ".SH ENVIRONMENT", "RUST_LOG", "JOURNAL_STREAM"] {
        assert!(top.contains(section), "{section} missing: {top}");
    }
    assert!(top.contains("/run/vrrpd/control.sock"), "{top}");
    for sub in SUBCOMMANDS {
        let page = read(&man.join(format!("vrrpd-{sub}.8")));
        assert!(
            page.contains(&format!(".TH vrrpd-{sub} 8")),
            "{sub}: {page}"
        );
        // Cross-references both ways.
        let roff_name = format!("vrrpd-{sub}").replace('-', "\\-");
        assert!(top.contains(&format!("\\fB{roff_name}\\fR(8)")), "{top}");
        assert!(page.contains("\\fBvrrpd\\fR(8)"), "{sub}: {page}");
        assert!(
            page.contains("/usr/share/doc/vrrpd/operations.md"),
            "{page}"
        );
    }
    // The options come from the definition.
    let check = read(&man.join("vrrpd-check.8"));
    assert!(check.contains("config"), "{check}");
    assert!(check.contains("/etc/vrrpd/vrrpd.toml"), "{check}");
    // Nothing else, and nothing for the hidden generator.
    let mut names: Vec<String> = std::fs::read_dir(&man)
        .expect("man dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut want: Vec<String> = std::iter::once("vrrpd.8".to_owned())
        .chain(SUBCOMMANDS.iter().map(|s| format!("vrrpd-{s}.8")))
        .collect();
    want.sort();
    assert_eq!(names, want);
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    let dir = tempfile::tempdir().expect("tempdir");
    generate(dir.path());
    let comp = dir.path().join("completions");
    let bash = read(&comp.join("vrrpd"));
    let zsh = read(&comp.join("_vrrpd"));
    let fish = read(&comp.join("vrrpd.fish"));
    assert!(bash.contains("complete -F _vrrpd"), "{bash}");
    assert!(zsh.starts_with("#compdef vrrpd"), "{zsh}");
    assert!(fish.contains("complete -c vrrpd"), "{fish}");
    for text in [&bash, &zsh, &fish] {
        for sub in SUBCOMMANDS {
            assert!(text.contains(sub), "{sub} missing: {text}");
        }
        assert!(!text.contains("generate-package-files"), "{text}");
    }
}

#[test]
fn the_generator_is_not_in_the_help() {
    let out = Command::new(env!("CARGO_BIN_EXE_vrrpd"))
        .arg("--help")
        .output()
        .expect("vrrpd runs");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("import-keepalived"), "{help}");
    assert!(!help.contains("generate-package-files"), "{help}");
}
