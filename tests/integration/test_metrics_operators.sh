#!/usr/bin/env bash
# http_energy for operators: --metrics-addr (promtool-valid exposition; hostile scrapers
# cannot stall boundaries or grow memory), --cgroup-csv (every cgroup, conservation per
# interval), SIGHUP (log rotation without a lost or duplicated row) and SIGTERM.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
require_root "http_energy metrics"
command -v promtool >/dev/null || { skip "promtool missing (apt-get install prometheus)"; finish; }

tmp=$(mktemp -d)
on_exit "rm -rf $tmp"
make_cgroup "http_energy_ops_$$" || { not_ok "creating a test cgroup"; finish; }
cat >"$tmp/energy.conf" <<CONF
attribution_mode = psys
energy_source = synthetic
idle_power_uw = 1000000
psys_interval_ms = 100
CONF

"$BIN/http_energy" --collect-csv "$tmp/run.csv" --cgroup-csv "$tmp/cgroups.csv" \
	--metrics-addr 127.0.0.1:0 --metrics-max-processes 8 --no-requests \
	"$CGROUP" "$tmp/energy.conf" 2>"$tmp/collector.log" &
collector=$!
on_exit "kill -INT $collector 2>/dev/null; wait $collector 2>/dev/null"
wait_for "the metrics line" 20 grep -q 'metrics: serving' "$tmp/collector.log" ||
	{ not_ok "http_energy starts the endpoint"; cat "$tmp/collector.log"; finish; }
url=$(sed -n 's|.*metrics: serving \(http://[^ ]*/metrics\).*|\1|p' "$tmp/collector.log")
wait_for "the first CSV rows" 20 bash -c "[ \$(wc -l < $tmp/run.csv) -ge 3 ]"

# Load in the test cgroup: a CPU burner, so the cgroup has rows of its own.
bash -c "echo \$\$ > $CGROUP/cgroup.procs; exec timeout 8 bash -c 'while :; do :; done'" &
burner=$!
on_exit "kill $burner 2>/dev/null"
sleep 1

curl -sf "$url" -o "$tmp/m1.txt"
check "GET /metrics answers" [ -s "$tmp/m1.txt" ]
check "promtool check metrics accepts the exposition" \
	bash -c "promtool check metrics < $tmp/m1.txt 2>&1 | tee $tmp/promtool.txt; [ \${PIPESTATUS[0]} = 0 ]"
check "the test cgroup has a series" grep -q "cgroup=\"/http_energy_ops_$$\"" "$tmp/m1.txt"
check "process series are bounded (8 + other)" \
	[ "$(grep -c '^http_energy_process_energy_joules_total{' "$tmp/m1.txt")" -le 9 ]
check "an unknown path is 404" [ "$(curl -s -o /dev/null -w '%{http_code}' "${url%/metrics}/x")" = 404 ]
check "POST is 405" [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$url")" = 405 ]

# Hostile scrapers for 3 s: 40 idle connections, garbage, a huge head, a reader that never
# reads; rows must keep coming on time and the collector's memory must not grow.
rss() { awk '/^VmRSS/ {print $2}' /proc/$collector/status; }
rss0=$(rss)
rows0=$(($(wc -l <"$tmp/run.csv") - 1))
port=${url#http://127.0.0.1:}
port=${port%/metrics}
python3 - "$port" >"$tmp/hostile.txt" 2>&1 <<'PY'
import socket, sys, time
port = int(sys.argv[1])
socks = []
for i in range(40):
    try:
        socks.append(socket.create_connection(("127.0.0.1", port), timeout=2))
    except OSError:
        pass
g = socket.create_connection(("127.0.0.1", port)); g.sendall(b"\x00\xffGARBAGE\r\n\r\n"); socks.append(g)
h = socket.create_connection(("127.0.0.1", port))
try:
    h.sendall(b"GET /" + b"a" * 100000)
except OSError:
    pass
socks.append(h)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
s.connect(("127.0.0.1", port)); s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"); socks.append(s)
time.sleep(3)
print("held", len(socks))
PY
rows1=$(($(wc -l <"$tmp/run.csv") - 1))
rss1=$(rss)
check "rows kept coming during the hostile scrapers ($((rows1 - rows0)) in ~3 s at 100 ms)" \
	[ $((rows1 - rows0)) -ge 25 ]
late=$(awk -F, -v r0="$rows0" 'NR > r0 + 1 && ($4 - $3) > 150000000 {n++} END {print n + 0}' "$tmp/run.csv")
check "no interval during them ran over 150 ms ($late did)" [ "$late" = 0 ]
check "memory did not grow by over 8 MiB (${rss0} -> ${rss1} KiB)" [ $((rss1 - rss0)) -lt 8192 ]
check "after they left, scrapes work again" \
	wait_for "a scrape" 10 curl -sf -o /dev/null "$url"
curl -sf "$url" -o "$tmp/m2.txt"
check "refused connections are counted" \
	awk '/^http_energy_scrapes_refused_total/ { exit !($2 > 0) }' "$tmp/m2.txt"

# SIGHUP: rotate both files.
mv "$tmp/run.csv" "$tmp/run.csv.1"
mv "$tmp/cgroups.csv" "$tmp/cgroups.csv.1"
kill -HUP $collector
check "after SIGHUP the interval CSV is written anew" \
	wait_for "the new interval CSV" 10 bash -c "[ -f $tmp/run.csv ] && [ \$(wc -l < $tmp/run.csv) -ge 3 ]"
check "after SIGHUP the cgroup CSV is written anew" \
	wait_for "the new cgroup CSV" 10 bash -c "[ -f $tmp/cgroups.csv ] && [ \$(wc -l < $tmp/cgroups.csv) -ge 3 ]"
kill -TERM $collector
wait $collector
rc=$?
check "SIGTERM: exit 0" [ "$rc" = 0 ]
check "SIGTERM: the interval is finished and the files flushed" \
	grep -q 'wrote [0-9]* cgroup rows' "$tmp/collector.log"
check "the new files start with their headers" \
	bash -c "[ \"\$(head -n 1 $tmp/run.csv)\" = \"\$(head -n 1 $tmp/run.csv.1)\" ] && [ \"\$(head -n 1 $tmp/cgroups.csv)\" = \"\$(head -n 1 $tmp/cgroups.csv.1)\" ]"
check "no interval lost or duplicated across the rotated interval CSVs" \
	bash -c "tail -q -n +2 $tmp/run.csv.1 $tmp/run.csv | cut -d, -f1 | awk '\$1 != NR - 1 { exit 1 }'"
check "no interval lost or duplicated across the rotated cgroup CSVs" \
	bash -c "tail -q -n +2 $tmp/cgroups.csv.1 $tmp/cgroups.csv | awk -F, '\$6 == \"idle\" { print \$1 }' | awk '\$1 != NR - 1 { exit 1 }'"

# Conservation: in every interval, Σ cgroup CSV energy (cgroups, other, idle,
# unattributed) = the interval CSV's measured energy.
tail -q -n +2 "$tmp/run.csv.1" "$tmp/run.csv" >"$tmp/all_intervals"
tail -q -n +2 "$tmp/cgroups.csv.1" "$tmp/cgroups.csv" >"$tmp/all_cgroups"
bad=$(awk -F, 'NR == FNR { m[$1] = $6; next } { s[$1] += $13 } END {
	for (i in m) if (s[i] != m[i]) { n++; if (n < 4) print "interval " i ": " s[i] " != " m[i] > "/dev/stderr" }
	print n + 0 }' "$tmp/all_intervals" "$tmp/all_cgroups")
check "every interval's cgroup rows add up to its measured energy exactly ($bad did not)" [ "$bad" = 0 ]
check "the test cgroup has rows with runtime" \
	awk -F, -v cg="/http_energy_ops_$$" '$8 == cg && $12 > 0 { f = 1 } END { exit !f }' "$tmp/all_cgroups"
check "the root cgroup (kernel threads) has rows" \
	awk -F, '$6 == "cgroup" && $8 == "/" { f = 1 } END { exit !f }' "$tmp/all_cgroups"
check "bad --metrics-addr is a usage error (exit 2, one line)" \
	bash -c "$BIN/http_energy --metrics-addr nope $CGROUP 2>$tmp/bad.log; [ \$? = 2 ] && [ \$(wc -l < $tmp/bad.log) = 1 ] && grep -q '^http_energy: --metrics-addr: \"nope\"' $tmp/bad.log"
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True); time.sleep(30)' >"$tmp/busy_port" &
holder=$!
on_exit "kill $holder 2>/dev/null"
wait_for "a busy port" 10 test -s "$tmp/busy_port"
busy=$(cat "$tmp/busy_port")
"$BIN/http_energy" --metrics-addr "127.0.0.1:$busy" --energy-source synthetic --no-requests \
	--duration 5 "$CGROUP" 2>"$tmp/bad2.log"
rc=$?
check "an address in use is a runtime error (exit 1) naming it" \
	bash -c "[ $rc = 1 ] && grep -q 'cannot listen on 127.0.0.1:$busy' $tmp/bad2.log"
finish
