#!/usr/bin/env bash
# A real Prometheus (Debian's) scrapes http_energy --metrics-addr every second while
# workload_server serves bench_http in a test cgroup; PromQL over its HTTP API checks that
# the per-cgroup energy adds up to the node's dynamic energy over the same window (1%);
# where the collector has the request log (--request-log, issue 13), that the per-route
# request energy and counts at the last scrape match the log's rows.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
require_root "http_energy with Prometheus"
command -v prometheus >/dev/null || { skip "prometheus missing (apt-get install prometheus)"; finish; }

tmp=$(mktemp -d)
on_exit "rm -rf $tmp"
[ -n "${KEEP_TMP:-}" ] && on_exit "cp -r $tmp /tmp/prom_keep"
make_cgroup "http_energy_prom_$$" || { not_ok "creating a test cgroup"; finish; }
cat >"$tmp/energy.conf" <<CONF
attribution_mode = psys
energy_source = synthetic
idle_power_uw = 1000000
psys_interval_ms = 200
CONF

bash -c "echo \$\$ > $CGROUP/cgroup.procs; exec $BIN/workload_server --port 0 --threads 4 --data-dir $tmp/data" \
	2>"$tmp/server.log" &
server=$!
on_exit "kill $server 2>/dev/null; wait $server 2>/dev/null"
wait_for "workload_server" 20 grep -q 'listening on' "$tmp/server.log" || { not_ok "server starts"; finish; }
port=$(sed -n 's/.*listening on .*:\([0-9]*\) (.*/\1/p' "$tmp/server.log")

# The request log and the per-route series come from the same records.
if "$BIN/http_energy" --help | grep -q -- '--request-log'; then
	requests=(--request-log "$tmp/records.csv")
else
	requests=(--no-requests)
fi
"$BIN/http_energy" --metrics-addr 127.0.0.1:0 "${requests[@]}" --no-realtime "$CGROUP" \
	"$tmp/energy.conf" 2>"$tmp/collector.log" &
collector=$!
on_exit "kill -INT $collector 2>/dev/null; wait $collector 2>/dev/null"
wait_for "the metrics line" 20 grep -q 'metrics: serving' "$tmp/collector.log" ||
	{ not_ok "http_energy starts the endpoint"; cat "$tmp/collector.log"; finish; }
target=$(sed -n 's|.*metrics: serving http://\([^/]*\)/metrics.*|\1|p' "$tmp/collector.log")

# A free loopback port for Prometheus (it cannot report one it picked itself).
prom_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$tmp/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: http_energy
    scrape_timeout: 900ms
    static_configs:
      - targets: ['$target']
YML
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
	--web.listen-address="127.0.0.1:$prom_port" >"$tmp/prometheus.log" 2>&1 &
prom=$!
on_exit "kill $prom 2>/dev/null; wait $prom 2>/dev/null"
api=http://127.0.0.1:$prom_port/api/v1
wait_for "Prometheus ready" 30 curl -sf "http://127.0.0.1:$prom_port/-/ready" -o /dev/null ||
	{ not_ok "Prometheus starts"; tail -5 "$tmp/prometheus.log"; finish; }

"$BIN/bench_http" --url "http://127.0.0.1:$port" --profile mixed --duration 14 \
	--concurrency 4 --threads 1 >"$tmp/bench.txt" 2>&1 &
bench=$!
on_exit "kill $bench 2>/dev/null"
wait $bench

curl -s "$api/targets" >"$tmp/targets.json"
curl -s -m 3 -D "$tmp/direct.hdr" "http://$target/metrics" -o "$tmp/direct.txt"
# query EXPR: the instant value, at one fixed time so every query sees the same window.
t_eval=$(date +%s)
query_raw() { curl -s "$api/query" --data-urlencode "query=$1" --data-urlencode "time=$t_eval"; }
query() {
	curl -sf "$api/query" --data-urlencode "query=$1" --data-urlencode "time=$t_eval" |
		python3 -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "nan")'
}
check "Prometheus scraped the target (up == 1)" [ "$(query 'up{job="http_energy"}')" = 1 ] ||
	curl -s "$api/targets"
scrapes=$(query 'count_over_time(up{job="http_energy"}[12s])')
# Prometheus itself may skip scrapes on a loaded 2-CPU host: at least half must be there.
check "about one scrape a second (got $scrapes in 12 s)" \
	python3 -c "import sys; sys.exit(not 6 <= float('$scrapes') <= 14)"
w=10s
cg=$(query "sum(increase(http_energy_cgroup_energy_joules_total[$w]))")
dyn=$(query "sum(increase(http_energy_node_energy_joules_total{component=\"dynamic\"}[$w]))")
node=$(query "sum(increase(http_energy_node_energy_joules_total[$w]))")
idle=$(query "sum(increase(http_energy_node_energy_joules_total{component=\"idle\"}[$w]))")
echo "# over $w: cgroups $cg J, node dynamic $dyn J, idle $idle J, node $node J"
check "Σ per-cgroup energy = node dynamic energy over $w within 1% ($cg vs $dyn)" \
	python3 -c "import sys; c, d = float('$cg'), float('$dyn'); sys.exit(not (d > 0 and abs(c - d) <= 0.01 * d))"
check "Σ per-cgroup + idle energy = node energy within 1%" \
	python3 -c "import sys; c, i, n = float('$cg'), float('$idle'), float('$node'); sys.exit(not (n > 0 and abs(c + i - n) <= 0.01 * n))"
mine=$(query "sum(increase(http_energy_cgroup_energy_joules_total{cgroup=\"/http_energy_prom_$$\"}[$w]))")
check "the loaded test cgroup has energy ($mine J)" python3 -c "import sys; sys.exit(not float('$mine') > 0)"

# Per route: the load has stopped, so once two scrapes 2 s apart agree, the last scrape
# holds every record; it must match the log, route by route (target without its query).
if [ "${requests[0]}" != --request-log ]; then
	skip "per-route request energy vs the request log: this http_energy has no --request-log (issue 13)"
	finish
fi
routes_now() {
	curl -sf "$api/query" --data-urlencode "query=$1" | python3 -c 'import json, sys
for r in sorted(json.load(sys.stdin)["data"]["result"], key=lambda r: sorted(r["metric"].items())):
    print(r["metric"].get("method", ""), r["metric"].get("route", ""), r["value"][1])'
}
mine_re="cgroup=\"/http_energy_prom_$$\""
energy_q="sum by (method, route) (http_energy_route_energy_joules_total{$mine_re})"
count_q="sum by (method, route) (http_energy_route_requests_total{$mine_re})"
prev=
for _ in $(seq 15); do
	now=$(routes_now "$energy_q"; routes_now "$count_q")
	[ -n "$now" ] && [ "$now" = "$prev" ] && break
	prev=$now
	sleep 2
done
routes_now "$energy_q" >"$tmp/route_energy.txt"
routes_now "$count_q" >"$tmp/route_count.txt"
check "per-route energy and counts at the last scrape = the request log's rows, per route" \
	python3 - "$tmp/records.csv" "$tmp/route_energy.txt" "$tmp/route_count.txt" <<'PY'
import csv, sys
from collections import defaultdict
log_uj, log_n = defaultdict(int), defaultdict(int)
for row in csv.DictReader(open(sys.argv[1], newline="")):
    path = row["target"].split("?", 1)[0].split("#", 1)[0]
    log_uj[(row["method"], path)] += float(row["energy_uj"])  # µJ, maybe with decimals
    log_n[(row["method"], path)] += 1
def load(name):
    out = {}
    for line in open(name):
        method, route, value = line.split()
        out[(method, route)] = float(value)
    return out
prom_j, prom_n = load(sys.argv[2]), load(sys.argv[3])
bad = 0
for key in sorted(set(log_n) | set(prom_n)):
    j, n = prom_j.get(key, 0.0), prom_n.get(key, 0.0)
    # each log row is rounded to a whole µJ: at most 0.5 µJ per row apart, beyond the 1%
    ok = n == log_n[key] and abs(j * 1e6 - log_uj[key]) <= 0.01 * log_uj[key] + 0.5 * n
    bad += not ok
    print("#", key, "log", log_n[key], "rows", log_uj[key], "uJ; prometheus", n, "requests",
          round(j * 1e6, 3), "uJ", "" if ok else "MISMATCH")
sys.exit(bad or not log_n)
PY
finish
