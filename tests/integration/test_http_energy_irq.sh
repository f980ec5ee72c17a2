#!/usr/bin/env bash
# http_energy's IRQ and softirq time under network load at start-up: an interrupt handler
# running while the hooks attach must not leave a CPU "inside an interrupt" for the whole
# run. The collector is started STARTS times while loopback traffic (127.0.0.1 only,
# bounded in time) keeps softirqs running on every CPU; after the traffic stops, each
# run's irq_ns + softirq_ns must drop below one CPU's worth of wall time (a stuck CPU
# alone shows a whole CPU in every row), and no row may exceed wall time x CPUs.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
require_root "http_energy IRQ time"

STARTS=${STARTS:-3}
tmp=$(mktemp -d /tmp/test_http_energy_irq.XXXXXX)
on_exit "rm -rf $tmp"
make_cgroup "http_energy_irq_$$" || { not_ok "creating a test cgroup"; finish; }
ncpus=$(nproc)
printf 'attribution_mode = psys\nenergy_source = synthetic\nidle_power_uw = 1\npsys_interval_ms = 100\n' \
	>"$tmp/energy.conf"

# flood.py READY STOP: one sender and one receiver per CPU over loopback TCP until STOP
# exists (at most 60 s); creates READY once traffic flows and prints the CLOCK_MONOTONIC
# ns at which it stopped.
cat >"$tmp/flood.py" <<'PY'
import os, socket, sys, time
ready, stop = sys.argv[1], sys.argv[2]; n = os.cpu_count() or 1
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(n)
port = srv.getsockname()[1]
pids = []
for i in range(n):
    pid = os.fork()
    if pid == 0:
        c = socket.create_connection(("127.0.0.1", port)); buf = b"x" * 16384
        end = time.monotonic() + 60; k = 0
        while time.monotonic() < end:
            c.sendall(buf); k += 1
            if k % 256 == 0 and os.path.exists(stop):
                break
        os._exit(0)
    pids.append(pid)
    conn, _ = srv.accept()
    if os.fork() == 0:
        while conn.recv(65536):
            pass
        os._exit(0)
    conn.close()
open(ready, "w").close()
for p in pids:
    os.waitpid(p, 0)
print(time.monotonic_ns())
PY

for run in $(seq "$STARTS"); do
	timeout 90 python3 "$tmp/flood.py" "$tmp/ready$run" "$tmp/stop$run" >"$tmp/flood$run" 2>/dev/null &
	flood=$!
	on_exit "touch $tmp/stop$run; kill $flood 2>/dev/null"
	wait_for "loopback traffic" 30 test -e "$tmp/ready$run" || { not_ok "loopback traffic starts"; break; }
	"$BIN/http_energy" --no-requests --collect-csv "$tmp/run$run.csv" "$CGROUP" \
		"$tmp/energy.conf" 2>"$tmp/collector$run.log" &
	collector=$!
	on_exit "kill -INT $collector 2>/dev/null"
	# Attached under traffic; then 1 s more of it, and 2 s without.
	wait_for "the first CSV row" 180 bash -c "[ \$(wc -l < $tmp/run$run.csv 2>/dev/null || echo 0) -ge 2 ]"
	sleep 1
	touch "$tmp/stop$run"
	wait $flood
	sleep 2
	kill -INT $collector
	wait $collector
	rc=$?
	check "start $run under loopback traffic: http_energy exits 0" [ "$rc" = 0 ]
	stop_ns=$(cat "$tmp/flood$run")
	# per row: (irq_ns + softirq_ns) / wall; after: the rows that start 200 ms after the
	# traffic stopped.
	read -r worst quiet_min quiet_rows < <(awk -F, -v stop="$stop_ns" -v n="$ncpus" '
		NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		{ wall = $c["t_end_ns"] - $c["t_start_ns"]; if (wall <= 0) next
		  r = ($c["irq_ns"] + $c["softirq_ns"]) / wall
		  if (r > worst) worst = r
		  if ($c["t_start_ns"] > stop + 200000000) { q++; if (q == 1 || r < qmin) qmin = r } }
		END { printf "%.3f %.3f %d\n", worst, q ? qmin : -1, q }' "$tmp/run$run.csv")
	check "start $run: no row has irq+softirq above wall x $ncpus CPUs (worst $worst CPUs)" \
		awk -v w="$worst" -v n="$ncpus" 'BEGIN { exit !(w <= n * 1.02) }'
	check "start $run: after the traffic, irq+softirq falls below one CPU ($quiet_min CPUs at least, $quiet_rows rows)" \
		awk -v q="$quiet_min" -v r="$quiet_rows" 'BEGIN { exit !(r >= 3 && q >= 0 && q < 0.9) }'
done
finish
