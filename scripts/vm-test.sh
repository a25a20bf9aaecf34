#!/usr/bin/env bash
# The IPVS test group, under Debian's kernel in one VM boot.
#
#   bash scripts/vm-test.sh
#
# This machine's own kernel has no IPVS, so the IPVS tests skip on the
# host. Here the test binaries listed in VM_TESTS are built on the host,
# then one VM boots Debian's kernel (virtme-ng, qemu in TCG mode: KVM hangs
# at early boot on these machines) on this machine's own file system
# (read-only, except /tmp), loads ip_vs and its modules and runs each
# binary with IPVS_TEST_REQUIRE=1, so that a test which would skip fails
# instead. Tests make their own network namespaces inside the VM; nothing
# is created on the host.
#
# The VM is stopped in every case: a timeout (IPVS_VM_TIMEOUT, default
# 480 s) and an EXIT trap that kills its process group by pid. If the tests
# still run after IPVS_VM_WATCHDOG seconds (default 240), the kernel's
# blocked tasks are dumped and shown.
#
# Needs scripts/setup.sh (qemu-system-x86, linux-image-amd64, ipvsadm,
# busybox-static, virtme-ng in /opt/virtme-ng). Exit status: 0 when every
# test passed, non-zero otherwise; the last line says which.
set -euo pipefail
cd "$(dirname "$0")/.."

# The test binaries of the group, as PACKAGE:TEST (cargo test -p PACKAGE
# --test TEST). Each runs with its tests two at a time.
VM_TESTS=(
    ipvs-netlink:kernel
    vrrpd:lvs_vm
)
# Overrides for other runs in the VM (benches/lvs-checks.sh): another list
# of PACKAGE:TEST, variables set for the binaries, arguments after theirs.
if [ -n "${IPVS_VM_TESTS:-}" ]; then
    read -r -a VM_TESTS <<<"$IPVS_VM_TESTS"
fi
VM_ENV=${IPVS_VM_ENV:-}
VM_ARGS=${IPVS_VM_ARGS:-}
# Extra cargo arguments for the build (e.g. --profile bench).
VM_CARGO=${IPVS_VM_CARGO_ARGS:-}

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
# The VM writes only below /tmp (--rwdir).
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

echo "== vm-test: building the test binaries on the host"
bins=()
for t in "${VM_TESTS[@]}"; do
    pkg=${t%%:*} test=${t#*:}
    if ! cargo test $VM_CARGO -p "$pkg" --test "$test" --no-run --message-format=json \
        >"$work/build.json" 2>"$work/build.log"; then
        cat "$work/build.log" >&2
        fail "could not build $t (cargo test -p $pkg --test $test --no-run)"
    fi
    # The test target's executable (not a binary the package builds too).
    bin=$(grep '"kind":\["test"\]' "$work/build.json" | grep -o '"executable":"[^"]*"' | tail -n 1 | cut -d'"' -f4)
    [ -n "$bin" ] && [ -x "$bin" ] || fail "no test binary for $t in cargo's output"
    bins+=("$t=$bin")
done

{
    cat <<EOF
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
# Unix sockets (vrrpd's control socket) cannot live on the shared /tmp
# (9p): the tests' scratch directories go to a tmpfs of the VM.
mkdir -p "$work/scratch" && mount -t tmpfs tmpfs "$work/scratch" && export TMPDIR="$work/scratch"
# A watchdog: if the tests still run after $WATCHDOG seconds, dump the
# kernel's blocked tasks (sysrq w) where the host can show them.
( sleep $WATCHDOG; echo w >/proc/sysrq-trigger; dmesg >"$work/dmesg" ) &
rc=0
EOF
    for b in "${bins[@]}"; do
        t=${b%%=*} bin=${b#*=}
        cat <<EOF
echo "==== $t" >>"$work/out"
IPVS_TEST_REQUIRE=1 RUST_BACKTRACE=1 $VM_ENV "$bin" --test-threads=2 $VM_ARGS >>"$work/out" 2>&1 || { rc=1; echo "$t" >>"$work/failed"; }
EOF
    done
    echo "echo \$rc >\"$work/rc\""
} >"$work/inside.sh"

echo "== vm-test: booting $(basename "$KERNEL") (TCG) and running ${VM_TESTS[*]} inside"
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
summary=$(grep -E '^test result:' "$work/out" | sed 's/^test result: //' | paste -sd ';' - || true)
if [ "$(cat "$work/rc")" != 0 ]; then
    failed=$(paste -sd ' ' "$work/failed" 2>/dev/null || cat "$work/rc")
    fail "IPVS tests in the VM failed: $failed: ${summary:-no summary} (total ${elapsed}s)"
fi
echo "vm-test: PASS: ${VM_TESTS[*]} under $(basename "$KERNEL"): $summary (total ${elapsed}s)"
