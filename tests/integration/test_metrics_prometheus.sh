#!/usr/bin/env bash
# A real Prometheus (Debian's) scrapes http_energy --metrics-addr every second while
# workload_server serves bench_http in a test cgroup; PromQL over its HTTP API checks that
# the per-cgroup energy adds up to the node's dynamic energy over the same window (1%).
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

"$BIN/http_energy" --metrics-addr 127.0.0.1:0 --no-requests --no-realtime "$CGROUP" \
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
skip "per-route request energy vs the request log: needs the request records (issue 13)"
finish
