#!/usr/bin/env bash
# The LVS checker benchmark: 1,000 real servers with TCP checks at
# delay_loop 1, run by vrrpd and then by keepalived's checker
# (`keepalived -C`) on one director, in one boot of the IPVS VM
# (scripts/vm-test.sh). Prints one BENCH line per daemon: CPU, resident
# memory, and the time from a real server's failure to its removal.
#
#   bash benches/lvs/run.sh
#
# The benchmark itself is crates/vrrpd/tests/lvs_bench.rs (it skips unless
# LVS_BENCH=1). Not a timed test: figures go to docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
# Optimised (the bench profile: opt-level 3, no LTO), as deployed.
out=$(IPVS_VM_TESTS=vrrpd:lvs_bench IPVS_VM_ENV=LVS_BENCH=1 IPVS_VM_ARGS=--nocapture \
    IPVS_VM_CARGO_ARGS="--profile bench" \
    IPVS_VM_TIMEOUT=${IPVS_VM_TIMEOUT:-600} IPVS_VM_WATCHDOG=${IPVS_VM_WATCHDOG:-500} \
    bash scripts/vm-test.sh 2>&1) || { echo "$out"; exit 1; }
echo "$out" | grep -E '^BENCH|vm-test:'
