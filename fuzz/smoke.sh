#!/usr/bin/env bash
# Bounded fuzz smoke: runs every cargo-fuzz target for N seconds (default 20)
# from its committed seeds (corpus/seeds/<target>/), on stable Rust.
#
#   bash fuzz/smoke.sh [SECONDS]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). Without a
# sanitizer by default (`-s none`, works on stable). FUZZ_SANITIZER=address
# builds with ASan instead, which needs nightly or RUSTC_BOOTSTRAP=1 on
# stable (the script sets the latter for any sanitizer other than none).
# New inputs go to corpus/<target>/ (git-ignored), never into the seeds;
# crashes to artifacts/<target>/, and the script fails on any crash.
set -euo pipefail
cd "$(dirname "$0")"

SECS=${1:-20}
SANITIZER=${FUZZ_SANITIZER:-none}
# cargo-fuzz looks for its binaries under fuzz/target; a target dir set for
# the main workspace must not redirect it.
unset CARGO_TARGET_DIR
if [ "$SANITIZER" != none ]; then
    export RUSTC_BOOTSTRAP=1
fi

command -v cargo-fuzz >/dev/null 2>&1 || {
    echo "fuzz/smoke.sh: cargo-fuzz is not installed (cargo install cargo-fuzz --locked)" >&2
    exit 1
}

mapfile -t targets < <(cargo fuzz list)
[ ${#targets[@]} -gt 0 ] || { echo "fuzz/smoke.sh: no targets" >&2; exit 1; }

for t in "${targets[@]}"; do
    echo "== fuzz $t for ${SECS}s (sanitizer: $SANITIZER)"
    mkdir -p "corpus/$t"
    corpora=("corpus/$t")
    [ -d "corpus/seeds/$t" ] && corpora+=("corpus/seeds/$t")
    cargo fuzz run -s "$SANITIZER" "$t" "${corpora[@]}" -- \
        -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
done
echo "fuzz/smoke.sh: ok (${targets[*]})"
