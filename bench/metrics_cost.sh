#!/usr/bin/env bash
# What the operators' outputs cost (docs/metrics.md): the collector with --metrics-addr and
# --cgroup-csv while CGROUPS cgroups each run a process every interval and PROCS
# short-lived processes are spawned per interval among them, scraped once a second:
#  - scrape latency (curl time_total: p50, p99, max),
#  - the collector's CPU (% of one core) with the outputs, and without them in the same
#    load (the run before),
#  - its RSS at the end and its peak.
# usage: bench/metrics_cost.sh [SECONDS=15]   (root; CGROUPS=1000 PROCS=10000 INTERVAL_MS=1000)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
secs=${1:-15}
cgroups=${CGROUPS:-1000}
procs=${PROCS:-10000}
interval_ms=${INTERVAL_MS:-1000}
[ "$(id -u)" = 0 ] || { echo "metrics_cost: needs root" >&2; exit 1; }

tmp=$(mktemp -d)
cg_root=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break } }' /proc/self/mountinfo)
parent=$cg_root/http_energy_metrics_bench_$$
spawner=
cleanup() {
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

# The load: one child per cgroup; each forks PROCS/CGROUPS short-lived processes per
# interval and counts them. SIGTERM makes them print their counts.
python3 - "$parent" "$cgroups" "$procs" "$interval_ms" >"$tmp/spawned" 2>"$tmp/spawner.err" <<'PY' &
import os, signal, sys, time
parent, n, per_interval, interval_ms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
each = max(1, per_interval // n)
period = interval_ms / 1000.0 / each
r, w = os.pipe()
kids = []
for i in range(n):
    d = "%s/c%d" % (parent, i)
    os.mkdir(d)
    pid = os.fork()
    if pid == 0:
        os.close(r)
        with open(d + "/cgroup.procs", "w") as f:
            f.write(str(os.getpid()))
        count = 0
        stop = []
        signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
        t0 = time.monotonic()
        nxt = t0 + (i % 97) * period / 97
        while not stop:
            now = time.monotonic()
            if now < nxt:
                time.sleep(nxt - now)
                continue
            nxt += period
            if nxt < now:
                nxt = now + period
            c = os.fork()
            if c == 0:
                os._exit(0)
            os.waitpid(c, 0)
            count += 1
        os.write(w, b"%d %.3f\n" % (count, time.monotonic() - t0))
        os._exit(0)
    kids.append(pid)
os.close(w)
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
while not stop:
    time.sleep(0.2)
for k in kids:
    os.kill(k, signal.SIGTERM)
total = 0; dur = 0.0
with os.fdopen(r) as f:
    for line in f:
        c, d = line.split(); total += int(c); dur = max(dur, float(d))
for k in kids:
    os.waitpid(k, 0)
print(total, dur)
PY
spawner=$!
until [ "$(ls -d "$parent"/c* 2>/dev/null | wc -l)" -ge "$cgroups" ]; do sleep 0.2; done
sleep 2

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
# run NAME [OPTIONS]: the collector for $secs seconds; sets CPU_PCT, RSS_KB, HWM_KB.
run() {
	echo "# $(date +%T) run $1" >&2
	local name=$1 pid t0 c0 c1 t1 port
	shift
	"$BIN_DIR/http_energy" --energy-source synthetic --no-requests "$@" "$cg_root" \
		"$tmp/energy.conf" 2>"$tmp/$name.log" &
	pid=$!
	until grep -q "collecting" "$tmp/$name.log"; do sleep 0.1; done
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
read -r spawned spawn_secs <"$tmp/spawned"
per_interval=$(awk -v n="$spawned" -v s="$spawn_secs" -v ms="$interval_ms" 'BEGIN { printf "%d", n / s * ms / 1000 }')
lat=$(sort -n "$tmp/metrics.lat" | awk '{ v[NR] = $1 * 1000 } END {
	printf "p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d scrapes)", v[int((NR + 1) / 2)], v[int(NR * 0.99 + 0.999)], v[NR], NR }')
series=$(grep -c '^http_energy_cgroup_energy_joules_total{' "$tmp/metrics.scrape" || true)
size_kb=$(( $(wc -c <"$tmp/metrics.scrape") / 1024 ))
ran=$(awk -F, '$6 == "cgroup" { n[$1]++ } END { for (i in n) { s += n[i]; k++ } printf "%d", k ? s / k : 0 }' "$tmp/cgroups.csv")
echo "# load: $cgroups cgroups, $per_interval short-lived processes spawned per ${interval_ms} ms interval (asked: $procs); cgroups with rows per interval: $ran; exposition ${size_kb} KiB, $series cgroup series"
echo "# host load while measuring: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs, shared; figures are noisy"
echo "metrics cost: scrape $lat; collector CPU ${CPU_PCT}% of one core (${base_cpu}% without --metrics-addr/--cgroup-csv, same load), RSS $((RSS_KB / 1024)) MiB (peak $((HWM_KB / 1024)) MiB)"
