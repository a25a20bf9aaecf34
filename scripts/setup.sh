#!/usr/bin/env bash
# Installs everything the build, the tests and the demo need on a fresh Debian
# machine (run as root). Safe to run again: it skips what is already there.
set -euo pipefail

need_apt=()
for pair in keepalived:keepalived frr:/usr/lib/frr/vrrpd tshark:tshark tcpdump:tcpdump \
            arping:arping iputils-ping:ping iproute2:ip python3:python3 nftables:/usr/sbin/nft \
            ethtool:/usr/sbin/ethtool prometheus:promtool; do
    pkg=${pair%%:*} probe=${pair#*:}
    if ! command -v "$probe" >/dev/null 2>&1 && [ ! -x "$probe" ]; then
        need_apt+=("$pkg")
    fi
done
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "setup: installing ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# The e-mail alert tests run Debian's aiosmtpd (system python, not a venv's).
if ! /usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
    echo "setup: installing python3-aiosmtpd"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends python3-aiosmtpd >/dev/null ||
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-aiosmtpd >/dev/null; }
fi

# Debian starts these services on install; our tests run their own copies in
# network namespaces and must not share the host with a packaged instance.
for svc in keepalived frr prometheus; do
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
        systemctl stop "$svc" || true
    fi
done

command -v cargo-nextest >/dev/null 2>&1 || cargo install cargo-nextest --locked
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
# The static (musl) vrrpd build: what docs/operations.md recommends for
# deployment, and what benches/scale measures. Pure Rust, no C toolchain.
if command -v rustup >/dev/null 2>&1; then
    rustup target list --installed | grep -qx x86_64-unknown-linux-musl ||
        rustup target add x86_64-unknown-linux-musl
fi
echo "setup: done"
