#!/usr/bin/env bash
# A VIP failover demo in network namespaces (run as root):
#   two vrrpd hosts (a: priority 200, b: priority 100) and a client on one
#   bridge share 10.99.9.100. The client pings the VIP while host a loses its
#   link, comes back, and is stopped with SIGTERM. Everything is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates network namespaces)"; exit 1; }
echo "== building vrrpd"
cargo build -q -p vrrpd
BIN=$PWD/target/debug/vrrpd
P=vdemo$$
WORK=$(mktemp -d)
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    for ns in $P-br $P-a $P-b $P-c; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

ip netns add $P-br
ip -n $P-br link add br0 type bridge forward_delay 0 stp_state 0
ip -n $P-br link set br0 up
n=10
for h in a b c; do
    ip netns add $P-$h
    ip -n $P-br link add p-$h type veth peer name eth0 netns $P-$h
    ip -n $P-br link set p-$h master br0 up
    ip -n $P-$h link set lo up
    ip -n $P-$h addr add 10.99.9.$n/24 dev eth0
    ip -n $P-$h link set eth0 up
    ip netns exec $P-$h sysctl -qw net.ipv4.conf.all.arp_accept=1
    n=$((n + 1))
done

for h in a b; do
    prio=$([ $h = a ] && echo 200 || echo 100)
    cat > "$WORK/$h.toml" <<TOML
[global]
control_socket = "$WORK/$h.sock"

[[instance]]
name = "VI_DEMO"
interface = "eth0"
vrid = 42
version = 3
priority = $prio
advert_interval = "100ms"
virtual_addresses = ["10.99.9.100/24"]
TOML
    ip netns exec $P-$h "$BIN" run -c "$WORK/$h.toml" > "$WORK/$h.log" 2>&1 &
    PIDS+=($!)
done

holder() {
    for h in a b; do
        if ip -n $P-$h -o addr show dev eth0 | grep -q '10.99.9.100/'; then echo -n "$h "; fi
    done
}
status() { "$BIN" status -s "$WORK/$1.sock" 2>/dev/null | sed "s/^/    [$1] /" || echo "    [$1] (not running)"; }
show() { echo "-- VIP is on host: $(holder)"; status a; status b; }
ping_vip() { echo "-- client pings the VIP:"; ip netns exec $P-c ping -c 3 -i 0.2 -W 1 10.99.9.100 | sed 's/^/    /' | grep -E "bytes from|packet loss" || true; }

sleep 1.5
echo; echo "== 1. election: host a (priority 200) should be master"; show; ping_vip
echo; echo "== 2. host a loses its link"; ip -n $P-br link set p-a down; sleep 1; show; ping_vip
echo; echo "== 3. host a's link comes back: it preempts"; ip -n $P-br link set p-a up; sleep 1.5; show; ping_vip
echo; echo "== 4. host a is stopped with SIGTERM: it hands over to b"
kill -TERM "${PIDS[0]}"; wait "${PIDS[0]}" && echo "    vrrpd on a exited with status 0"
sleep 0.5; show; ping_vip
echo; echo "== done: cleaning up namespaces"
