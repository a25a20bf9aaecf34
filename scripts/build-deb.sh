#!/usr/bin/env bash
# Builds the Debian package of vrrpd with cargo-deb (metadata in
# crates/vrrpd/Cargo.toml, [package.metadata.deb]) and prints its path.
#
# The binary is the static musl release build, the same one docs/operations.md
# recommends and benches/scale/run.sh measures (so after the scale smoke
# this build is a no-op). The man pages and shell completions are generated
# by that binary from its own command-line definition, so they always match
# it. Needs scripts/setup.sh (musl target, cargo-deb).
set -euo pipefail
cd "$(dirname "$0")/.."

musl=x86_64-unknown-linux-musl
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
case "$target_dir" in
    /*) ;;
    *) target_dir=$PWD/$target_dir ;;
esac
release=$target_dir/$musl/release

cargo build --release --quiet -p vrrpd --bin vrrpd --target "$musl" >&2

# What cargo-deb packages from target/release/deb-files/ (see the assets).
rm -rf "$release/deb-files"
"$release/vrrpd" generate-package-files --out "$release/deb-files"
gzip -9n "$release"/deb-files/man/*.8

mkdir -p "$target_dir/debian"
# --no-build: built above. It prints the path of the .deb.
cargo deb --quiet -p vrrpd --target "$musl" --no-build --output "$target_dir/debian/"
