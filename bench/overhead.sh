#!/usr/bin/env bash
# Figure: what attaching http_energy costs a server. workload_server in a cgroup under
# bench_http's mixed load, with the collector attached (psys mode, request tracking and
# X-Energy-Score on) and not attached, alternating runs in one script.
# Targets: <= 2% throughput loss, <= 5% p99 increase.
# usage: bench/overhead.sh [SECONDS_PER_RUN=8] [PAIRS=4] [CONCURRENCY=16]   (root)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
secs=${1:-8}
pairs=${2:-4}
conc=${3:-16}
[ "$(id -u)" = 0 ] || { echo "overhead: needs root" >&2; exit 1; }

tmp=$(mktemp -d)
cg_root=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break } }' /proc/self/mountinfo)
cg=$cg_root/http_energy_overhead_$$
server=
collector=
cleanup() {
	[ -n "$collector" ] && kill -INT "$collector" 2>/dev/null && wait "$collector" 2>/dev/null
	[ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
	[ -d "$cg" ] && rmdir "$cg" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$cg"
printf 'attribution_mode = psys\nenergy_source = synthetic\nidle_power_uw = 9500000\npsys_interval_ms = 200\n' >"$tmp/energy.conf"

bash -c "echo \$\$ > $cg/cgroup.procs; exec $BUILD/bin/workload_server --port 0 --threads 64 --data-dir $tmp/data" 2>"$tmp/server.log" &
server=$!
for _ in $(seq 200); do grep -q 'listening on' "$tmp/server.log" && break; sleep 0.05; done
port=$(sed -n 's/.*listening on .*:\([0-9]*\) (.*/\1/p' "$tmp/server.log")

# run NAME: one bench_http run; prints "req_per_s p99_us energy_responses"
run() {
	"$BUILD/bin/bench_http" --url "http://127.0.0.1:$port" --profile mixed --duration "$secs" \
		--warmup 1 --concurrency "$conc" --json "$tmp/$1.json" >/dev/null 2>&1
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); t=d["totals"]
e=d["energy"]["responses_with_header"]
print(t["ok_per_s"], t["latency"]["p99_us"], e)' "$tmp/$1.json"
}
attach() {
	"$BUILD/bin/http_energy" "$cg" "$tmp/energy.conf" 2>"$tmp/collector.log" &
	collector=$!
	for _ in $(seq 200); do grep -q 'first uJ/score factor' "$tmp/collector.log" && return; sleep 0.05; done
	echo "overhead: the collector did not start tracking" >&2
	cat "$tmp/collector.log" >&2
	exit 1
}
detach() {
	kill -INT "$collector"
	wait "$collector" || true
	collector=
}

sum_off=0; sum_on=0; p99_off=0; p99_on=0
for i in $(seq "$pairs"); do
	for mode in $([ $((i % 2)) = 1 ] && echo "off on" || echo "on off"); do
		[ "$mode" = on ] && attach
		read -r rps p99 headers < <(run "$mode$i")
		[ "$mode" = on ] && detach
		printf 'pair %d, collector %-3s: %8.1f req/s, p99 %8.0f us, %d responses with X-Energy-Score\n' \
			"$i" "$mode" "$rps" "$p99" "$headers"
		if [ "$mode" = on ]; then
			sum_on=$(awk -v a="$sum_on" -v b="$rps" 'BEGIN { print a + b }')
			p99_on=$(awk -v a="$p99_on" -v b="$p99" 'BEGIN { print a + b }')
		else
			sum_off=$(awk -v a="$sum_off" -v b="$rps" 'BEGIN { print a + b }')
			p99_off=$(awk -v a="$p99_off" -v b="$p99" 'BEGIN { print a + b }')
		fi
	done
done
awk -v on="$sum_on" -v off="$sum_off" -v pon="$p99_on" -v poff="$p99_off" -v n="$pairs" -v s="$secs" -v c="$conc" 'BEGIN {
	printf "throughput with/without collector = %.3f (%.1f%% loss), p99 with/without = %.3f (%+.1f%%) (mixed profile, %d conns, %d x %ds alternating pairs)\n",
		on / off, 100 * (1 - on / off), pon / poff, 100 * (pon / poff - 1), c, n, s }'
