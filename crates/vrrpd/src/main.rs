//! The vrrpd daemon. Not built yet: see the project's issues.
fn main() {
    eprintln!("vrrpd: not built yet");
    std::process::exit(2);
}
