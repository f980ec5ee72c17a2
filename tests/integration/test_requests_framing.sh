#!/usr/bin/env bash
# http_energy, response framing (issue 11): a scripted raw server in a real cgroup writes
# responses in awkward pieces (split status lines, pipelined writev, interim responses,
# 101, CONNECT, HEAD, 204/304, chunked bodies full of status lines, close-delimited bodies,
# writes the kernel takes in part, what cannot be framed). Bodies must be byte-identical with
# and without the collector, the header only right after a final status line, and what was
# left alone counted.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
require_root "http_energy response framing"

tmp=$(mktemp -d)
on_exit "rm -rf $tmp"
make_cgroup "http_energy_framing_$$" || { not_ok "creating a test cgroup"; finish; }
mkdir -p "$tmp/plain" "$tmp/traced"

bash -c "echo \$\$ > $CGROUP/cgroup.procs; exec python3 tests/integration/framing_raw.py serve $tmp/ports" \
	2>"$tmp/server.log" &
server=$!
on_exit "kill $server 2>/dev/null; wait $server 2>/dev/null"
wait_for "the framing server" 20 test -s "$tmp/ports" || { not_ok "framing server starts"; finish; }

# Without the collector: the reference bytes.
python3 tests/integration/framing_raw.py check "$tmp/ports" "$tmp/plain" ||
	not_ok "without the collector every case runs as scripted"

cat >"$tmp/model.conf" <<CONF
attribution_mode = model
default_multiplier = 0.001
psys_interval_ms = 100
CONF
"$BIN/http_energy" "$CGROUP" "$tmp/model.conf" 2>"$tmp/collector.log" &
collector=$!
on_exit "kill -INT $collector 2>/dev/null; wait $collector 2>/dev/null"
wait_for "request tracking" 20 grep -q 'requests: sockops' "$tmp/collector.log" ||
	{ not_ok "request tracking attaches"; cat "$tmp/collector.log"; finish; }

server_lines=$(wc -l <"$tmp/server.log")
python3 tests/integration/framing_raw.py check "$tmp/ports" "$tmp/traced" --expect-headers |
	tee "$tmp/traced.tap"
# The "nb" cases (framing_raw.py, "Writes the kernel takes in part"): how many boundary holes
# the kernel made in this run (a first write taken in part); each leaves its connection alone.
holes=$(tail -n +$((server_lines + 1)) "$tmp/server.log" |
	grep -c 'hole_at_boundary_.*: short write')
check "the kernel took a first write in part in at least one hole case ($holes of 3)" \
	[ "$holes" -ge 1 ]
failures=$((failures + $(grep -c '^not ok' "$tmp/traced.tap")))
for f in "$tmp"/plain/*.bin; do
	name=$(basename "$f" .bin)
	check "$name: the bytes are identical with and without the collector (headers taken out)" \
		cmp -s "$f" <(python3 -c '
import re, sys
sys.stdout.buffer.write(re.sub(rb"X-Energy-Score: [0-9]+\r\n", b"", open(sys.argv[1], "rb").read()))' \
			"$tmp/traced/$name.bin")
done

kill -INT $collector
wait $collector
check "SIGINT exits 0" [ $? = 0 ]
summary=$(grep 'requests: .* heads' "$tmp/collector.log")
echo "# $summary"
while read -r count name; do
	check "the exit summary counts $count $name" grep -q "[^0-9]$count $name" <<<"$summary"
done < <(python3 -c '
import importlib.util, sys
spec = importlib.util.spec_from_file_location("f", "tests/integration/framing_raw.py")
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
for k, v in m.EXPECTED_COUNTS.items(): print(v, k)')
tunnel=$(sed -n 's/.* \([0-9]*\) tunnel.*/\1/p' <<<"$summary")
closed=$(sed -n 's/.* \([0-9]*\) close-delimited.*/\1/p' <<<"$summary")
# ingress tells CONNECT from other methods (req_kind), so the CONNECT case ends in a tunnel
check "the exit summary counts 1 tunnel (CONNECT) and 1 close-delimited ($tunnel, $closed)" \
	eval '[ "$tunnel" = 1 ] && [ "$closed" = 1 ]'
check "no push or pull failed" grep -q ' 0 pull failed, 0 push failed' <<<"$summary"
check "the exit summary counts $holes unseen bytes (a hole across a response boundary)" \
	grep -q "[^0-9]$holes unseen bytes" <<<"$summary"

# ---- --header-ports and --header-quantum-uj: the header only on one port, rounded
short_port=$(awk '$1 == "short_status_write" { print $2 }' "$tmp/ports")
"$BIN/http_energy" --header-ports "1-2,$short_port-$short_port" --header-quantum-uj 1000 \
	"$CGROUP" "$tmp/model.conf" 2>"$tmp/ports.log" &
collector=$!
wait_for "request tracking" 20 grep -q 'requests: sockops' "$tmp/ports.log" ||
	{ not_ok "request tracking attaches with --header-ports"; cat "$tmp/ports.log"; finish; }
mkdir -p "$tmp/ports_out"
python3 tests/integration/framing_raw.py check "$tmp/ports" "$tmp/ports_out" --expect-headers \
	--only=short_status_write || not_ok "--header-ports: the listed port's responses get headers"
values=$(grep -ao 'X-Energy-Score: [0-9]*' "$tmp/ports_out/short_status_write.bin" | sed 's/.*: //' | tr '\n' ' ')
check "--header-quantum-uj 1000: every value is a multiple of 1000 ($values)" \
	awk -v v="$values" 'BEGIN { n = split(v, a, " "); if (n != 3) exit 1; for (i = 1; i <= n; i++) if (a[i] % 1000) exit 1 }'
python3 tests/integration/framing_raw.py check "$tmp/ports" "$tmp/ports_out" --only=chunked,no_content |
	sed 's/^ok - /ok - --header-ports: another port: /' | tee "$tmp/ports.tap"
failures=$((failures + $(grep -c '^not ok' "$tmp/ports.tap")))
kill -INT $collector
wait $collector
summary=$(grep 'requests: .* heads' "$tmp/ports.log")
echo "# $summary"
check "--header-ports: the other ports' 5 responses are counted, not rewritten" \
	grep -q ' 8 responses, 3 X-Energy-Score headers written; not rewritten: 0 batched, 5 other port,' <<<"$summary"

# ---- --no-header: nothing goes through sk_msg; bytes as without the collector
"$BIN/http_energy" --no-header --collect-csv "$tmp/noheader.csv" --energy-source synthetic \
	"$CGROUP" "$tmp/model.conf" 2>"$tmp/noheader.log" &
collector=$!
wait_for "request tracking" 20 grep -q 'requests: sockops' "$tmp/noheader.log" ||
	{ not_ok "request tracking attaches with --no-header"; cat "$tmp/noheader.log"; finish; }
check "--no-header: the start-up line says there is no sk_msg and no receive hook" \
	grep -q 'no sk_msg and no receive hook (--no-header' "$tmp/noheader.log"
# Nothing would read what the receive binding moves: none of the collector's links runs its
# receive program (recv_tp, recv_fexit or recv_kprobe; issue 14).
objs=$(bpf_objects_of $collector)
recv_progs=""
for o in $objs; do
	[ "${o%%:*}" = prog ] &&
		bpftool prog show id "${o#*:}" 2>/dev/null | grep -qE 'name recv_(tp|fexit|kprobe)' &&
		recv_progs+="${o#*:} "
done
recv_links=""
for o in $objs; do
	for p in $recv_progs; do
		[ "${o%%:*}" = link ] && bpftool link show id "${o#*:}" 2>/dev/null |
			grep -qE "prog $p( |\$)" && recv_links+="${o#*:} "
	done
done
check "--no-header: the receive program is loaded (${recv_progs:-none}) but has no link (${recv_links:-none})" \
	eval '[ -n "$recv_progs" ] && [ -z "$recv_links" ]'
mkdir -p "$tmp/noheader_out"
python3 tests/integration/framing_raw.py check "$tmp/ports" "$tmp/noheader_out" |
	sed 's/^\(not \)\?ok - /&--no-header: /' | tee "$tmp/noheader.tap"
failures=$((failures + $(grep -c '^not ok' "$tmp/noheader.tap")))
# While connections are open: the collector's sockhash holds none of them.
python3 - "$tmp/ports" <<'PY' &
import socket, sys, time
port = int(open(sys.argv[1]).read().split()[1])
s = socket.create_connection(("127.0.0.1", port)); time.sleep(2)
PY
holder=$!
sleep 1
sockhash=""
for o in $(bpf_objects_of $collector); do
	[ "${o%%:*}" = map ] && bpftool map show id "${o#*:}" 2>/dev/null | grep -q sockhash && sockhash=${o#*:}
done
check "--no-header: the sockhash is empty while a connection is open (map ${sockhash:-?})" \
	eval '[ -n "$sockhash" ] && [ "$(bpftool map dump id "$sockhash" 2>/dev/null | grep -c key)" = 0 ]'
wait $holder 2>/dev/null
# 20 requests on one keep-alive connection to a workload_server in the cgroup: with no
# response ever counted, ingress must go on counting heads, not give the connection up as
# "pipelined too deep" after 8 (issue 14 review).
bash -c "echo \$\$ > $CGROUP/cgroup.procs; exec $BIN/workload_server --port 0" \
	2>"$tmp/ka_server.log" &
ka_server=$!
on_exit "kill $ka_server 2>/dev/null; wait $ka_server 2>/dev/null"
wait_for "workload_server to listen" 20 grep -q 'listening on' "$tmp/ka_server.log"
ka_port=$(sed -n 's/.*listening on .*:\([0-9]*\) (.*/\1/p' "$tmp/ka_server.log")
ka_ok=$(python3 - "$ka_port" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
got = 0
for i in range(20):
    s.sendall(b"GET /cpu?iters=1 HTTP/1.1\r\nHost: t\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(65536)
    head, _, body = buf.partition(b"\r\n\r\n")
    n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(body) < n:
        body += s.recv(65536)
    got += head.startswith(b"HTTP/1.1 200")
print(got)
PY
)
kill $ka_server 2>/dev/null
kill -INT $collector
wait $collector
summary=$(grep 'requests: .* heads' "$tmp/noheader.log")
echo "# $summary"
check "--no-header: heads are counted, no response is (no sk_msg)" \
	grep -qE ' [1-9][0-9]* heads, 0 responses, 0 X-Energy-Score' <<<"$summary"
check "--no-header: 20 keep-alive requests answered ($ka_ok), none given up as pipelined too deep" \
	eval '[ "$ka_ok" = 20 ] && grep -q " 0 pipelined too deep;" <<<"$summary"'
check "--no-header: the CSV's requests and request_energy_uj are empty, attributed_uj is not" \
	eval '[ -z "$(csv_col "$tmp/noheader.csv" requests | tr -d "\n")" ] &&
	[ -z "$(csv_col "$tmp/noheader.csv" request_energy_uj | tr -d "\n")" ] &&
	[ -n "$(csv_col "$tmp/noheader.csv" attributed_uj | tr -d "\n")" ]'
# ---- interrupt safety (issue 11 item 2): sk_msg writes no per-CPU state, so a flush IPI or
# a preempting sched_switch cannot make a slice wrap. psys mode, 10 ms intervals (a flush
# every 10 ms on every CPU), 8 keep-alive connections of small requests for 20 s: no header
# may exceed all the energy the source measured over the whole run. (With the base commit's
# binaries: a header of ~660 J, twice the run's energy, for requests of ~0.2 mJ in 3 of 5
# such runs: this guards the fix, it cannot reproduce the race every time.)
bash -c "echo \$\$ > $CGROUP/cgroup.procs; exec $BIN/workload_server --port 0 --threads 8 --data-dir $tmp/data" \
	2>"$tmp/ws.log" &
ws=$!
on_exit "kill $ws 2>/dev/null; wait $ws 2>/dev/null"
wait_for "workload_server" 20 grep -q 'listening on' "$tmp/ws.log" || not_ok "workload_server starts"
ws_port=$(sed -n 's/.*listening on .*:\([0-9]*\) (.*/\1/p' "$tmp/ws.log")
printf 'attribution_mode = psys\nenergy_source = synthetic\nidle_power_uw = 1000000\npsys_interval_ms = 10\n' \
	>"$tmp/psys10.conf"
"$BIN/http_energy" --collect-csv "$tmp/psys10.csv" "$CGROUP" "$tmp/psys10.conf" 2>"$tmp/psys10.log" &
collector=$!
wait_for "the first psys factor" 20 grep -q 'first uJ/score factor' "$tmp/psys10.log" ||
	not_ok "psys mode starts tracking"
python3 - "$ws_port" >"$tmp/load.txt" <<'PY'
import re, socket, sys, threading, time
port, vals, lock = int(sys.argv[1]), [], threading.Lock()
def run():
    s = socket.create_connection(("127.0.0.1", port)); buf = b""; end = time.time() + 20
    while time.time() < end:
        s.sendall(b"GET /cpu?iters=2000 HTTP/1.1\r\nHost: x\r\n\r\n")
        while b"\r\n\r\n" not in buf:
            buf += s.recv(65536)
        head, buf = buf.split(b"\r\n\r\n", 1)
        n = int(re.search(rb"Content-Length: (\d+)", head, re.I).group(1))
        while len(buf) < n:
            buf += s.recv(65536)
        buf = buf[n:]
        m = re.search(rb"X-Energy-Score: (\d+)", head)
        with lock:
            vals.append(int(m.group(1)) if m else -1)
ts = [threading.Thread(target=run) for _ in range(8)]
[t.start() for t in ts]
[t.join() for t in ts]
vals.sort()
print(len(vals), sum(v < 0 for v in vals), vals[len(vals) // 2], vals[-1])
PY
kill -INT $collector
wait $collector
read -r n missing median max <"$tmp/load.txt"
total=$(csv_col "$tmp/psys10.csv" interval_psys_uj | awk '{ s += $1 } END { printf "%d", s }')
check "under load with a flush every 10 ms: $n responses, each with a header ($missing without)" \
	eval '[ "${n:-0}" -gt 1000 ] && [ "$missing" = 0 ]'
check "no header exceeds the energy of the whole run (max $max uJ, median $median, run $total uJ)" \
	eval '[ -n "$max" ] && [ "$max" -le "$total" ]'

check "--no-header with --header-ports is a usage error (exit 2)" \
	bash -c "'$BIN/http_energy' --no-header --header-ports 80 '$CGROUP' 2>/dev/null; [ \$? = 2 ]"
check "--header-ports 0 is a usage error (exit 2) naming the option" \
	bash -c "'$BIN/http_energy' --header-ports 0 '$CGROUP' 2>&1 | grep -q '^http_energy: --header-ports: \"0\" '; '$BIN/http_energy' --header-ports 0 '$CGROUP' 2>/dev/null; [ \$? = 2 ]"
check "--header-quantum-uj 0 is a usage error (exit 2)" \
	bash -c "'$BIN/http_energy' --header-quantum-uj 0 '$CGROUP' 2>/dev/null; [ \$? = 2 ]"
finish
