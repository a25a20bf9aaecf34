#!/usr/bin/env bash
# Runs every check CI runs: format, lints, publishable crates, a bounded fuzz
# smoke, doc tests, the API docs (no broken links), the whole test suite (unit, simulated LAN, network-namespace
# end-to-end), the IPVS test group in a VM (IPVS_VM=0 leaves it out) and the
# Debian package (built, installed, removed).
# Needs root for the namespace tests; run scripts/setup.sh once before.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-15}

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== forbidden dependencies of the core crates"
bash scripts/check-deps.sh
echo "== crates package for crates.io (README, licences, metadata)"
bash scripts/check-package.sh
if [ -x "$(command -v cargo-fuzz)" ] && [ -f fuzz/smoke.sh ]; then
    echo "== fuzz smoke (${FUZZ_SECONDS}s per target)"
    bash fuzz/smoke.sh "$FUZZ_SECONDS"
fi
echo "== doc tests"
cargo test --workspace --doc
echo "== API docs build without broken links"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
echo "== tests"
cargo nextest run --workspace --no-fail-fast
# The static build's batched send is netif's own system call (musl's
# sendmmsg loops over sendmsg; crates/netif/src/sys.rs): its socket tests
# run once more against musl.
if rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
    echo "== netif socket tests on the static (musl) build"
    cargo test --quiet -p vrrp-netif --target x86_64-unknown-linux-musl --test sockets
fi
# The IPVS group: this host's kernel has no IPVS, so these tests skipped
# above; here they run under Debian's kernel in one VM boot (about a
# minute; scripts/vm-test.sh, docs/decisions.md).
if [ "${IPVS_VM:-1}" != 0 ]; then
    echo "== IPVS tests in a VM (Debian kernel)"
    bash scripts/vm-test.sh
fi
if [ "${SCALE_SMOKE:-1}" != 0 ]; then
    # Issue 7's harness, bounded (about 80 s plus a release build): both
    # daemons converge, fail over and stop cleanly at 10 instances. The
    # full matrix is `bash benches/scale/run.sh` (docs/performance.md).
    echo "== scale smoke: vrrpd beside keepalived"
    bash benches/scale/run.sh --smoke
fi
# The Debian package: built from the musl release binary the scale smoke
# just built (a no-op build then), installed with dpkg, checked, purged.
echo "== Debian package: build, install, check, remove"
bash scripts/test-deb.sh
