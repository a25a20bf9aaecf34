#!/usr/bin/env bash
# Scale harness (issue 7): vrrpd beside keepalived at 1 to 1000 VRRP
# instances in network namespaces; prints one side-by-side markdown table.
#
#   bash benches/scale/run.sh --smoke                      # CI preset, < 90 s
#   bash benches/scale/run.sh                              # full matrix (about 12 min)
#   bash benches/scale/run.sh --instances 100 --intervals-ms 100 --cpu-secs 10 --stress-secs 0
#   bash benches/scale/run.sh --out scale.md --keep-logs /tmp/scale-logs
#
# Every argument goes to `vrrp-scale` (see `vrrp-scale --help`). Needs root,
# iproute2 and keepalived (bash scripts/setup.sh installs them). Honours
# CARGO_TARGET_DIR and VRRPD_BUILD=static|dynamic (below). Exit status: 0 all cases ran, 1 a case failed outright
# (no convergence, failover not seen, VIPs left, daemon crash), 2 harness
# error. Performance figures never fail the run.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

if [ "$(id -u)" -ne 0 ]; then
    echo "run.sh: needs root (it creates network namespaces)" >&2
    exit 2
fi
for tool in ip keepalived cargo ethtool; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "run.sh: $tool not found (run: bash scripts/setup.sh)" >&2
        exit 2
    fi
done

target_dir=${CARGO_TARGET_DIR:-$root/target}
case "$target_dir" in
    /*) ;;
    *) target_dir=$root/$target_dir ;;
esac

# Which vrrpd build is measured: VRRPD_BUILD=static (default) is the static
# musl binary docs/operations.md recommends for deployment; dynamic is the
# host's default target (glibc). Without the musl target, static falls back
# to dynamic and says so; the report's "vrrpd build" line shows what ran.
musl=x86_64-unknown-linux-musl
build=${VRRPD_BUILD:-static}
if [ "$build" = static ] && ! rustup target list --installed 2>/dev/null | grep -qx "$musl"; then
    echo "run.sh: Rust target $musl not installed (rustup target add $musl); measuring the dynamic build" >&2
    build=dynamic
fi
echo "run.sh: building vrrp-scale and vrrpd ($build, release)" >&2
cargo build --release --quiet -p vrrp-benches --bin vrrp-scale >&2
case "$build" in
    static)
        cargo build --release --quiet -p vrrpd --bin vrrpd --target "$musl" >&2
        vrrpd=$target_dir/$musl/release/vrrpd ;;
    dynamic)
        cargo build --release --quiet -p vrrpd --bin vrrpd >&2
        vrrpd=$target_dir/release/vrrpd ;;
    *)
        echo "run.sh: VRRPD_BUILD must be static or dynamic, not '$build'" >&2
        exit 2 ;;
esac
exec "$target_dir/release/vrrp-scale" --vrrpd "$vrrpd" "$@"
