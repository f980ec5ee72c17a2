#!/usr/bin/env bash
# Figures for http_energy's host-wide signals, under load (workload_server + bench_http's
# mixed profile):
#  - mean cost of one sched_switch program run (kernel.bpf_stats_enabled: run_time_ns /
#    run_cnt), target <= 300 ns without PMU reads;
#  - the collector process's CPU use at psys_interval_ms=200, target <= 1% of one core;
#  - the collector's peak RSS.
# usage: bench/collector_overhead.sh [SECONDS=20]   (root)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
secs=${1:-20}
[ "$(id -u)" = 0 ] || { echo "collector_overhead: needs root" >&2; exit 1; }

tmp=$(mktemp -d)
cg_root=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break } }' /proc/self/mountinfo)
cg=$cg_root/http_energy_bench_$$
pids=()
old_stats=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	sysctl -q -w kernel.bpf_stats_enabled="$old_stats"
	[ -d "$cg" ] && rmdir "$cg" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$cg"
printf 'energy_source = synthetic\npsys_interval_ms = 200\n' >"$tmp/energy.conf"

"$BUILD/bin/workload_server" --port 0 --data-dir "$tmp/data" 2>"$tmp/server.log" &
pids+=($!)
echo $! >"$cg/cgroup.procs"
for _ in $(seq 200); do grep -q 'listening on' "$tmp/server.log" && break; sleep 0.05; done
port=$(sed -n 's/.*listening on .*:\([0-9]*\) (.*/\1/p' "$tmp/server.log")

sysctl -q -w kernel.bpf_stats_enabled=1
"$BUILD/bin/http_energy" --collect-csv "$tmp/run.csv" --duration $((secs + 2)) "$cg" \
	"$tmp/energy.conf" 2>"$tmp/collector.log" &
collector=$!
pids+=($collector)
for _ in $(seq 200); do [ -s "$tmp/run.csv" ] && [ "$(wc -l <"$tmp/run.csv")" -ge 2 ] && break; sleep 0.05; done
read -r t0_ticks < <(awk '{ print $14 + $15 }' /proc/$collector/stat)
t0=$(date +%s.%N)

"$BUILD/bin/bench_http" --url "http://127.0.0.1:$port" --profile mixed --duration "$secs" \
	--concurrency 16 >"$tmp/bench.txt" 2>&1 || true

read -r t1_ticks < <(awk '{ print $14 + $15 }' /proc/$collector/stat)
t1=$(date +%s.%N)
peak_kb=$(awk '/VmHWM/ { print $2 }' /proc/$collector/status)
prog=$(bpftool prog show | grep -A1 'name on_sched_switch' | tr '\n' ' ')
run_time=$(sed -n 's/.*run_time_ns \([0-9]*\).*/\1/p' <<<"$prog")
run_cnt=$(sed -n 's/.*run_cnt \([0-9]*\).*/\1/p' <<<"$prog")
wait "$collector" || true

hz=$(getconf CLK_TCK)
ns_per_run=$(awk -v t="$run_time" -v c="$run_cnt" 'BEGIN { printf "%.0f", c ? t / c : 0 }')
cpu_pct=$(awk -v a="$t0_ticks" -v b="$t1_ticks" -v hz="$hz" -v s0="$t0" -v s1="$t1" \
	'BEGIN { printf "%.2f", 100 * (b - a) / hz / (s1 - s0) }')
echo "load: $(grep -m1 -iE 'req(uests)?/s' "$tmp/bench.txt" | sed 's/^ *//')"
echo "sched_switch: $run_cnt runs, $run_time ns in total"
echo "sched_switch cost = $ns_per_run ns/run (target <= 300, no PMU); collector CPU = $cpu_pct% of a core at 200 ms (target <= 1%); collector peak RSS = $peak_kb KiB"
