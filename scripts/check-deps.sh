#!/usr/bin/env bash
# The core crates must stay free of I/O crates (DESIGN: direction of dependencies).
# Package names: netif and healthcheck are published as vrrp-netif and
# vrrp-healthcheck (their libraries keep the short names).
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
check() { # crate, forbidden regex
    local tree found
    # A package name that does not exist must fail, not pass silently.
    if ! tree=$(cargo tree -p "$1" -e normal --prefix none --format '{p}' 2>&1); then
        echo "check-deps: cargo tree -p $1 failed: $tree"
        fail=1
        return
    fi
    found=$(awk '{print $1}' <<<"$tree" | sort -u | grep -E "^($2)$" || true)
    if [ -n "$found" ]; then
        echo "check-deps: $1 must not depend on: $found"
        fail=1
    fi
}
check vrrp-proto 'libc|nix|socket2|mio|neli|tokio|tracing-subscriber|rand|vrrp-fsm|vrrp-netif|vrrp-healthcheck'
check vrrp-fsm 'libc|nix|socket2|mio|neli|tokio|rand|vrrp-netif|vrrp-healthcheck'
check vrrp-healthcheck 'vrrp-proto|vrrp-fsm|vrrp-netif'
check vrrp-netif 'vrrp-healthcheck|tokio'
check ipvs-netlink 'vrrp-proto|vrrp-fsm|vrrp-netif|vrrp-healthcheck|vrrpd|tokio'
[ $fail -eq 0 ] && echo "check-deps: ok"
exit $fail
