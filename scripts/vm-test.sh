#!/usr/bin/env bash
# The IPVS test group, under Debian's kernel in one VM boot.
#
#   bash scripts/vm-test.sh
#
# This machine's own kernel has no IPVS, so the privileged tests of
# crates/ipvs-netlink (tests/kernel.rs) skip on the host. Here they are
# built on the host, then one VM boots Debian's kernel (virtme-ng, qemu in
# TCG mode: KVM hangs at early boot on these machines) on this machine's
# own file system, loads ip_vs and runs the test binary with
# IPVS_TEST_REQUIRE=1, so that a test which would skip fails instead.
# Each test makes its own network namespaces inside the VM; nothing is
# created on the host.
#
# The VM is stopped in every case: a timeout (IPVS_VM_TIMEOUT, default
# 480 s) and an EXIT trap that kills its process group by pid.
#
# Needs scripts/setup.sh (qemu-system-x86, linux-image-amd64, ipvsadm,
# busybox-static, virtme-ng in /opt/virtme-ng). Exit status: 0 when every
# test passed, non-zero otherwise; the last line says which.
set -euo pipefail
cd "$(dirname "$0")/.."

VNG=${VNG:-/opt/virtme-ng/bin/vng}
TIMEOUT=${IPVS_VM_TIMEOUT:-480}
WATCHDOG=${IPVS_VM_WATCHDOG:-240}
# The newest kernel in /boot that has IPVS modules (Debian's
# linux-image-amd64), unless IPVS_VM_KERNEL names one.
pick_kernel() {
    local k v found=
    for k in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V); do
        v=${k#/boot/vmlinuz-}
        [ -d "/lib/modules/$v/kernel/net/netfilter/ipvs" ] && found=$k
    done
    echo "$found"
}
KERNEL=${IPVS_VM_KERNEL:-$(pick_kernel)}

fail() {
    echo "vm-test: FAIL: $*" >&2
    exit 1
}
[ -x "$VNG" ] || fail "no virtme-ng at $VNG (run scripts/setup.sh)"
# vng runs its helpers (virtme-run) from its own directory.
export PATH="$(dirname "$VNG"):$PATH"
[ -n "$KERNEL" ] && [ -r "$KERNEL" ] || fail "no kernel with IPVS modules in /boot (apt-get install linux-image-amd64)"
command -v qemu-system-x86_64 >/dev/null || fail "no qemu-system-x86_64 (run scripts/setup.sh)"
command -v ipvsadm >/dev/null || fail "no ipvsadm (run scripts/setup.sh)"

start=$(date +%s)
echo "== vm-test: building the IPVS test binary on the host"
build_log=$(mktemp /tmp/ipvs-vm-build.XXXXXX)
if ! cargo test -p ipvs-netlink --test kernel --no-run --message-format=json >"$build_log.json" 2>"$build_log"; then
    cat "$build_log" >&2
    rm -f "$build_log" "$build_log.json"
    fail "could not build the test binary (cargo test -p ipvs-netlink --test kernel --no-run)"
fi
bin=$(grep -o '"executable":"[^"]*"' "$build_log.json" | tail -n 1 | cut -d'"' -f4)
rm -f "$build_log" "$build_log.json"
[ -n "$bin" ] && [ -x "$bin" ] || fail "no test binary in cargo's output"

# The VM writes only below /tmp (--rwdir); the host's file system is
# read-only inside it.
work=$(mktemp -d /tmp/ipvs-vm.XXXXXX)
vm_pid=
cleanup() {
    if [ -n "$vm_pid" ] && kill -0 "$vm_pid" 2>/dev/null; then
        echo "vm-test: stopping the VM (pid $vm_pid)" >&2
        kill -TERM -- "-$vm_pid" 2>/dev/null || true
        sleep 2
        kill -KILL -- "-$vm_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$work/inside.sh" <<EOF
#!/bin/sh
# Runs inside the VM.
echo "vm: kernel \$(uname -r)"
if ! modprobe ip_vs; then
    echo "modprobe ip_vs failed" >"$work/rc"
    exit 1
fi
# Load every scheduler module now. Loaded on demand (the kernel's
# request_module in NEW_SERVICE, under the IPVS mutex), a module such as
# ip_vs_lblc registers per-namespace state and so waits for
# pernet_ops_rwsem, which a namespace being destroyed holds while it waits
# for the IPVS mutex: a deadlock in Debian's 6.1 kernel that the parallel
# tests hit (docs/decisions.md).
for m in /lib/modules/\$(uname -r)/kernel/net/netfilter/ipvs/ip_vs_*.ko*; do
    m=\${m##*/}
    modprobe "\${m%%.ko*}" || echo "vm: modprobe \${m%%.ko*} failed"
done
cd "$work"
# A watchdog: if the tests still run after WATCHDOG seconds, dump the
# kernel's blocked tasks (sysrq w) where the host can show them.
( sleep $WATCHDOG; echo w >/proc/sysrq-trigger; dmesg >"$work/dmesg" ) &
IPVS_TEST_REQUIRE=1 RUST_BACKTRACE=1 "$bin" --test-threads=2 >"$work/out" 2>&1
echo \$? >"$work/rc"
EOF
chmod +x "$work/inside.sh"

echo "== vm-test: booting $(basename "$KERNEL") (TCG) and running the tests inside"
# setsid: the VM (vng and its qemu) is a process group of its own, which
# cleanup() can stop as a whole by its pid.
setsid timeout --kill-after=10 "$TIMEOUT" "$VNG" --disable-kvm --run "$KERNEL" --user root \
    --rwdir /tmp --memory 1G --exec "sh $work/inside.sh" >"$work/vm.log" 2>&1 </dev/null &
vm_pid=$!
vm_status=0
wait "$vm_pid" || vm_status=$?
vm_pid=

[ -f "$work/out" ] && cat "$work/out"
elapsed=$(($(date +%s) - start))
if [ ! -f "$work/rc" ] || [ "$(cat "$work/rc")" != 0 ]; then
    if [ -f "$work/dmesg" ]; then
        echo "---- VM kernel log after ${WATCHDOG}s (blocked tasks)"
        grep -v -E '^\[ *[0-9.]+\] *(audit|ACPI|pci|PCI)' "$work/dmesg" | tail -n 120
    fi
fi
if [ ! -f "$work/rc" ]; then
    echo "---- VM log (last 40 lines)"
    tail -n 40 "$work/vm.log"
    [ "$vm_status" = 124 ] && fail "the VM timed out after ${TIMEOUT}s (total ${elapsed}s)"
    fail "the tests did not run in the VM (vng exit $vm_status, total ${elapsed}s)"
fi
rc=$(cat "$work/rc")
summary=$(grep -E '^test result:' "$work/out" | tail -n 1 || true)
if [ "$rc" != 0 ]; then
    fail "IPVS tests in the VM: exit $rc: ${summary:-no summary} (total ${elapsed}s)"
fi
echo "vm-test: PASS: IPVS tests under $(basename "$KERNEL"): ${summary#test result: } (total ${elapsed}s)"
