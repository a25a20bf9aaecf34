#!/usr/bin/env bash
# The starvation abuses that keepalived has an input for (reloads, checks),
# against a vrrpd pair and a keepalived pair at 100 ms adverts, measured the
# same way from outside (docs/performance.md, "Starvation"). As root, after
# scripts/setup.sh. Prints a Markdown table; takes about two minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -p vrrpd --bin vrrpd
cargo nextest run -p vrrpd --test starvation --run-ignored only --no-capture \
    vrrpd_and_keepalived_under_the_same_abuse 2>&1 | grep -E '^\|'
