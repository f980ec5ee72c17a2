#!/usr/bin/env bash
# Figures: requests/s of bench_http beside wrk against the same workload_server endpoint
# (GET /cpu?iters=1, keep-alive) with the same threads and connections, alternating runs;
# and bench_http's peak RSS holding 1,000 connections. Target: bench_http >= 0.9x wrk.
#
# usage: bench/bench_vs_wrk.sh [DURATION_S=5] [PAIRS=3] [THREADS=2] [CONNS=16]
# Last line: bench_http/wrk throughput = R (...); peak RSS at 1000 conns = N MiB
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
duration=${1:-5}
pairs=${2:-3}
threads=${3:-2}
conns=${4:-16}
rss_conns=1000
path="/cpu?iters=1"

command -v wrk >/dev/null || { echo "bench_vs_wrk: wrk not found; run scripts/install-deps.sh" >&2; exit 1; }
for b in bench_http workload_server; do
	[ -x "$BUILD/bin/$b" ] || { echo "bench_vs_wrk: build first (make)" >&2; exit 1; }
done

tmp=$(mktemp -d)
server_pid=
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# One worker thread per connection, enough for the RSS run too.
"$BUILD/bin/workload_server" --port 0 --threads $((rss_conns + 64)) --data-dir "$tmp/data" \
	2>"$tmp/ws.log" &
server_pid=$!
for _ in $(seq 400); do
	grep -q 'listening on' "$tmp/ws.log" && break
	sleep 0.05
done
port=$(sed -n 's/.*listening on .*:\([0-9]*\) (.*/\1/p' "$tmp/ws.log")
[ -n "$port" ] || { echo "bench_vs_wrk: workload_server did not start" >&2; cat "$tmp/ws.log" >&2; exit 1; }
url="http://127.0.0.1:$port"

wrk_rps() {
	wrk -t"$threads" -c"$conns" -d"${duration}s" "$url$path" | awk '/^Requests\/sec:/ {print $2}'
}
bench_rps() {
	"$BUILD/bin/bench_http" --url "$url" --path "$path" --duration "$duration" \
		--threads "$threads" --concurrency "$conns" --json "$tmp/b.json" >/dev/null
	python3 -c 'import json, sys; t = json.load(open(sys.argv[1]))["totals"]; print(t["requests_per_s"] if t["errors"] == 0 else "errors")' "$tmp/b.json"
}

w_total=0
b_total=0
for i in $(seq "$pairs"); do
	w=$(wrk_rps)
	b=$(bench_rps)
	[ "$b" != errors ] || { echo "bench_vs_wrk: bench_http saw errors" >&2; exit 1; }
	printf 'pair %d: wrk %10.0f req/s   bench_http %10.0f req/s   ratio %.2f\n' "$i" "$w" "$b" \
		"$(awk -v a="$b" -v b="$w" 'BEGIN {print a / b}')"
	w_total=$(awk -v a="$w_total" -v b="$w" 'BEGIN {print a + b}')
	b_total=$(awk -v a="$b_total" -v b="$b" 'BEGIN {print a + b}')
done
ratio=$(awk -v a="$b_total" -v b="$w_total" 'BEGIN {printf "%.2f", a / b}')
printf 'mean: wrk %.0f req/s, bench_http %.0f req/s\n' \
	"$(awk -v a="$w_total" -v n="$pairs" 'BEGIN {print a / n}')" \
	"$(awk -v a="$b_total" -v n="$pairs" 'BEGIN {print a / n}')"

# Peak RSS while 1,000 connections run the mixed profile: bench_http reports its own VmHWM
# (ru_maxrss of a child would include the pre-exec image of whoever forked it).
"$BUILD/bin/bench_http" --url "$url" --duration 3 --concurrency $rss_conns --json "$tmp/rss.json" \
	>/dev/null
rss_kb=$(python3 - "$tmp/rss.json" "$rss_conns" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t = d["totals"]
if t["errors"] or t["connections_opened"] != int(sys.argv[2]):
    sys.exit("bench_vs_wrk: the 1000-connection run had errors or reconnects")
print(d["peak_rss_kib"])
PY
)
rss_mib=$(awk -v k="$rss_kb" 'BEGIN {printf "%.1f", k / 1024}')
echo "bench_http/wrk throughput = $ratio (alternating $pairs pairs of ${duration}s, GET $path," \
	"$threads threads, $conns conns, target >= 0.9); peak RSS at $rss_conns conns = $rss_mib MiB"
