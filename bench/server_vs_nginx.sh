#!/usr/bin/env bash
# Figure: requests/s of workload_server for GET /cpu?iters=1 with keep-alive, beside nginx
# serving a 1-byte file, both measured by wrk with the same settings, alternating runs.
# Target: workload_server >= 0.5x nginx, so the server never limits an experiment.
#
# usage: bench/server_vs_nginx.sh [DURATION_S=5] [PAIRS=3]
# Last line: workload_server/nginx = R (8 conns: R8, 64 conns: R64; ...)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/nginx_conf.sh
BUILD=${BUILD:-build}
duration=${1:-5}
pairs=${2:-3}
threads=2

for tool in wrk nginx; do
	command -v $tool >/dev/null || { echo "server_vs_nginx: $tool not found; run scripts/install-deps.sh" >&2; exit 1; }
done
[ -x "$BUILD/bin/workload_server" ] || { echo "server_vs_nginx: build first (make)" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# nginx: as its package configures it (one worker per core), one 1-byte file, no logging.
nginx_port=$(free_port)
mkdir -p "$tmp/www"
printf x >"$tmp/www/one"
nginx_conf "$tmp" "$nginx_port" "$tmp/www" auto "keepalive_requests 1000000;" >"$tmp/nginx.conf"
nginx -c "$tmp/nginx.conf" -e "$tmp/nginx-error.log" &
pids+=($!)

"$BUILD/bin/workload_server" --port 0 --threads 128 --data-dir "$tmp/data" 2>"$tmp/ws.log" &
pids+=($!)
for _ in $(seq 200); do
	grep -q 'listening on' "$tmp/ws.log" && curl -sf "http://127.0.0.1:$nginx_port/one" >/dev/null && break
	sleep 0.05
done
ws_port=$(sed -n 's/.*listening on .*:\([0-9]*\) (.*/\1/p' "$tmp/ws.log")
[ -n "$ws_port" ] || { echo "server_vs_nginx: workload_server did not start" >&2; cat "$tmp/ws.log" >&2; exit 1; }

# wrk's Requests/sec for URL at CONNS connections
rps() {
	wrk -t$threads -c"$2" -d"${duration}s" "$1" | awk '/^Requests\/sec:/ {print $2}'
}

summary=()
for conns in 8 64; do
	ws_total=0
	ng_total=0
	for i in $(seq "$pairs"); do
		ws=$(rps "http://127.0.0.1:$ws_port/cpu?iters=1" "$conns")
		ng=$(rps "http://127.0.0.1:$nginx_port/one" "$conns")
		printf '%3d conns, pair %d: workload_server %10.0f req/s   nginx %10.0f req/s\n' \
			"$conns" "$i" "$ws" "$ng"
		ws_total=$(awk -v a="$ws_total" -v b="$ws" 'BEGIN {print a + b}')
		ng_total=$(awk -v a="$ng_total" -v b="$ng" 'BEGIN {print a + b}')
	done
	ratio=$(awk -v a="$ws_total" -v b="$ng_total" 'BEGIN {printf "%.2f", a / b}')
	printf '%3d conns: workload_server %.0f req/s, nginx %.0f req/s, ratio %s\n' "$conns" \
		"$(awk -v a="$ws_total" -v n="$pairs" 'BEGIN {print a / n}')" \
		"$(awk -v a="$ng_total" -v n="$pairs" 'BEGIN {print a / n}')" "$ratio"
	summary+=("$conns conns: $ratio")
done
echo "workload_server/nginx = ${summary[0]##*: }x at 8 conns, ${summary[1]##*: }x at 64 conns" \
	"(GET /cpu?iters=1 vs 1-byte file, wrk -t$threads, ${duration}s x $pairs alternating pairs, keep-alive)"
