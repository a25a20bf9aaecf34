#!/usr/bin/env bash
# The core crates must stay free of I/O crates (DESIGN: direction of dependencies).
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
check() { # crate, forbidden regex
    local found
    found=$(cargo tree -p "$1" -e normal --prefix none --format '{p}' 2>/dev/null | awk '{print $1}' | sort -u | grep -E "^($2)$" || true)
    if [ -n "$found" ]; then
        echo "check-deps: $1 must not depend on: $found"
        fail=1
    fi
}
check vrrp-proto 'libc|nix|socket2|mio|neli|tokio|tracing-subscriber|rand|vrrp-fsm|netif|healthcheck'
check vrrp-fsm 'libc|nix|socket2|mio|neli|tokio|rand|netif|healthcheck'
check healthcheck 'vrrp-proto|vrrp-fsm|netif'
check netif 'healthcheck|tokio'
check ipvs-netlink 'vrrp-proto|vrrp-fsm|netif|healthcheck|vrrpd|tokio'
[ $fail -eq 0 ] && echo "check-deps: ok"
exit $fail
