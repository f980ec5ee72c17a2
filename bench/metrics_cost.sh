#!/usr/bin/env bash
# What the operators' outputs cost (docs/metrics.md): the collector with --metrics-addr and
# --cgroup-csv while CGROUPS cgroups each run a process every interval and PROCS
# short-lived processes are spawned per interval among them, scraped once a second:
#  - scrape latency (curl time_total: p50, p99, max),
#  - the collector's CPU (% of one core) with the outputs, and without them in the same
#    load (the run before),
#  - its RSS at the end and its peak,
#  - the sampler's interval jitter (interval lengths from --collect-csv), in both runs.
# The load is build/bin/spawn_load (bench/spawn_load.c: one process, clone3 into each
# cgroup in turn); it is stopped while each collector starts, so start-up is not
# measured against thousands of forks.
# usage: bench/metrics_cost.sh [SECONDS=15]   (root; CGROUPS=1000 PROCS=10000 INTERVAL_MS=1000)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
secs=${1:-15}
cgroups=${CGROUPS:-1000}
procs=${PROCS:-10000}
interval_ms=${INTERVAL_MS:-1000}
max_procs=$((procs > 4096 ? 2 * procs : 8192)) # the kernel's per-interval process entries
[ "$(id -u)" = 0 ] || { echo "metrics_cost: needs root" >&2; exit 1; }

tmp=$(mktemp -d)
cg_root=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break } }' /proc/self/mountinfo)
parent=$cg_root/http_energy_metrics_bench_$$
spawner=
load() { [ -n "$spawner" ] && kill -"$1" "$spawner" 2>/dev/null || true; }
cleanup() {
	load CONT
	[ -n "$spawner" ] && kill "$spawner" 2>/dev/null && wait "$spawner" 2>/dev/null
	if [ -d "$parent" ]; then
		for d in "$parent"/c*; do
			[ -d "$d" ] || continue
			while read -r p; do echo "$p" >"$cg_root/cgroup.procs" 2>/dev/null; done <"$d/cgroup.procs"
			rmdir "$d" 2>/dev/null || true
		done
		rmdir "$parent" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$parent"
printf 'energy_source = synthetic\npsys_interval_ms = %s\n' "$interval_ms" >"$tmp/energy.conf"

# The load: PROCS short-lived processes per interval, round robin over the cgroups; on
# SIGTERM spawn_load prints "SPAWNED SECONDS".
"$BUILD/bin/spawn_load" "$parent" "$cgroups" "$procs" "$interval_ms" >"$tmp/spawned" \
	2>"$tmp/spawner.err" &
spawner=$!
until grep -q ready "$tmp/spawned"; do sleep 0.2; done
sleep 2

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
# run NAME [OPTIONS]: the collector for $secs seconds; sets CPU_PCT, RSS_KB, HWM_KB.
run() {
	echo "# $(date +%T) run $1" >&2
	local name=$1 pid t0 c0 c1 t1 port
	shift
	load STOP
	"$BIN_DIR/http_energy" --energy-source synthetic --no-requests --max-processes "$max_procs" \
		--collect-csv "$tmp/$name.csv" "$@" "$cg_root" "$tmp/energy.conf" 2>"$tmp/$name.log" &
	pid=$!
	until grep -q "collecting" "$tmp/$name.log"; do sleep 0.1; done
	load CONT
	echo "# $(date +%T) $name collecting" >&2
	sleep "$(awk -v ms="$interval_ms" 'BEGIN { print 2 * ms / 1000 }')"
	t0=$(date +%s%N); c0=$(cpu_ticks $pid)
	: >"$tmp/$name.lat"
	port=$(sed -n 's|.*serving http://[^:]*:\([0-9]*\)/metrics.*|\1|p' "$tmp/$name.log")
	for ((i = 0; i < secs; i++)); do
		if [ -n "$port" ]; then
			curl -s -o "$tmp/$name.scrape" -w '%{time_total}\n' "http://127.0.0.1:$port/metrics" >>"$tmp/$name.lat"
		fi
		sleep 1
	done
	c1=$(cpu_ticks $pid); t1=$(date +%s%N)
	RSS_KB=$(awk '/^VmRSS/ { print $2 }' /proc/$pid/status)
	HWM_KB=$(awk '/^VmHWM/ { print $2 }' /proc/$pid/status)
	kill -INT $pid; wait $pid || true
	CPU_PCT=$(awk -v c=$((c1 - c0)) -v hz="$hz" -v ns=$((t1 - t0)) 'BEGIN { printf "%.2f", 100 * c / hz / (ns / 1e9) }')
}
BIN_DIR=$BUILD/bin
run base
base_cpu=$CPU_PCT
run metrics --metrics-addr 127.0.0.1:0 --cgroup-csv "$tmp/cgroups.csv" --metrics-max-cgroups 2048
kill "$spawner"; wait "$spawner" || true; spawner=
read -r spawned spawn_secs < <(tail -n 1 "$tmp/spawned")
per_interval=$(awk -v n="$spawned" -v s="$spawn_secs" -v ms="$interval_ms" 'BEGIN { printf "%d", n / s * ms / 1000 }')
lat=$(sort -n "$tmp/metrics.lat" | awk '{ v[NR] = $1 * 1000 } END {
	printf "p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d scrapes)", v[int((NR + 1) / 2)], v[int(NR * 0.99 + 0.999)], v[NR], NR }')
series=$(grep -c '^http_energy_cgroup_energy_joules_total{' "$tmp/metrics.scrape" || true)
size_kb=$(( $(wc -c <"$tmp/metrics.scrape") / 1024 ))
ran=$(awk -F, '$6 == "cgroup" { n[$1]++ } END { for (i in n) { s += n[i]; k++ } printf "%d", k ? s / k : 0 }' "$tmp/cgroups.csv")
# jitter NAME: interval length minus INTERVAL_MS (ms): p50 and p99 of |deviation|, max;
# the last row is left out (SIGINT cuts that interval short on purpose).
jitter() {
	awk -F, -v ms="$interval_ms" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		NR > 2 { print last } { d = ($c["t_end_ns"] - $c["t_start_ns"]) / 1e6 - ms
		last = d < 0 ? -d : d }' "$tmp/$1.csv" | sort -n | awk '{ v[NR] = $1 } END {
		printf "p50 %.2f ms, p99 %.2f ms, max %.2f ms over %d intervals", v[int((NR + 1) / 2)], v[int(NR * 0.99 + 0.999)], v[NR], NR }'
}
echo "# load: $cgroups cgroups, $per_interval short-lived processes spawned per ${interval_ms} ms interval (asked: $procs); cgroups with rows per interval: $ran; exposition ${size_kb} KiB, $series cgroup series"
echo "# host load while measuring: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs, shared; figures are noisy"
echo "# sampler interval jitter: $(jitter metrics) with the outputs; $(jitter base) without"
echo "metrics cost: scrape $lat; collector CPU ${CPU_PCT}% of one core (${base_cpu}% without --metrics-addr/--cgroup-csv, same load), RSS $((RSS_KB / 1024)) MiB (peak $((HWM_KB / 1024)) MiB)"
