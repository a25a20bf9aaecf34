#!/usr/bin/env bash
# Installs everything the build, the tests and the demo need on a fresh Debian
# machine (run as root). Safe to run again: it skips what is already there.
set -euo pipefail

need_apt=()
for pair in keepalived:keepalived frr:/usr/lib/frr/vrrpd tshark:tshark tcpdump:tcpdump \
            arping:arping iputils-ping:ping iproute2:ip python3:python3 nftables:/usr/sbin/nft \
            ethtool:/usr/sbin/ethtool systemd:systemd-analyze man-db:man binutils:readelf \
            prometheus:promtool; do
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

# The IPVS test group (scripts/vm-test.sh) boots Debian's kernel, which has
# IPVS, in a VM on this machine's own file system: qemu (TCG), the kernel
# image and its modules, ipvsadm (the tests' oracle), busybox (virtme-ng's
# initramfs) and virtme-ng itself, in a venv of its own.
need_vm=()
for pair in qemu-system-x86:qemu-system-x86_64 ipvsadm:ipvsadm busybox-static:/bin/busybox; do
    pkg=${pair%%:*} probe=${pair#*:}
    if ! command -v "$probe" >/dev/null 2>&1 && [ ! -x "$probe" ]; then
        need_vm+=("$pkg")
    fi
done
if ! dpkg-query -W -f='${Status}' linux-image-amd64 2>/dev/null | grep -q 'ok installed'; then
    need_vm+=(linux-image-amd64)
fi
# A Debian python3 needs python3-venv for `python3 -m venv`.
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    need_vm+=(python3-venv)
fi
if [ ${#need_vm[@]} -gt 0 ]; then
    echo "setup: installing ${need_vm[*]} (IPVS test VM)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_vm[@]}" >/dev/null
fi
VNG_VENV=${VNG_VENV:-/opt/virtme-ng}
if [ ! -x "$VNG_VENV/bin/vng" ]; then
    echo "setup: installing virtme-ng in $VNG_VENV"
    python3 -m venv "$VNG_VENV"
    "$VNG_VENV/bin/pip" install -q virtme-ng
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
# The Debian package (scripts/build-deb.sh, docs/decisions.md "Publishing
# and packaging").
command -v cargo-deb >/dev/null 2>&1 || cargo install cargo-deb --locked
# The static (musl) vrrpd build: what docs/operations.md recommends for
# deployment, and what benches/scale measures. `ring` (the TLS provider of
# HTTPS checks) compiles C and assembly, which needs musl-gcc for it.
if ! command -v musl-gcc >/dev/null 2>&1; then
    echo "setup: installing musl-tools (ring's C for the static build)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends musl-tools >/dev/null ||
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends musl-tools >/dev/null; }
fi
if command -v rustup >/dev/null 2>&1; then
    rustup target list --installed | grep -qx x86_64-unknown-linux-musl ||
        rustup target add x86_64-unknown-linux-musl
fi
echo "setup: done"
