#!/usr/bin/env bash
# http_energy, per-request attribution: workload_server in a real cgroup with the
# collector attached, checked with curl and raw sockets.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
require_root "http_energy requests"

tmp=$(mktemp -d)
on_exit "rm -rf $tmp"
make_cgroup "http_energy_req_$$" || { not_ok "creating a test cgroup"; finish; }

# The server, dual-stack, started inside the cgroup (sockets belong to their creator's cgroup).
bash -c "echo \$\$ > $CGROUP/cgroup.procs; exec $BIN/workload_server --port 0 --bind :: --data-dir $tmp/data" \
	2>"$tmp/server.log" &
server=$!
on_exit "kill $server 2>/dev/null; wait $server 2>/dev/null"
wait_for "workload_server" 20 grep -q 'listening on' "$tmp/server.log" || { not_ok "server starts"; finish; }
port=$(sed -n 's/.*listening on .*:\([0-9]*\) (.*/\1/p' "$tmp/server.log")
url=http://127.0.0.1:$port
endpoints=("/cpu?iters=200000" "/json?items=200" "/compress?kb=64" "/file?kb=64")

# Bodies without the collector, to compare with.
for i in "${!endpoints[@]}"; do curl -s "$url${endpoints[i]}" -o "$tmp/plain.$i"; done
head -c 16384 /dev/urandom >"$tmp/post.bin"
curl -s --data-binary @"$tmp/post.bin" "$url/post?kb=16" -o "$tmp/plain.post"

start_collector() { # MODE_CONF LOG CSV
	"$BIN/http_energy" --collect-csv "$3" "$CGROUP" "$1" 2>"$2" &
	collector=$!
	on_exit "kill -INT $collector 2>/dev/null; wait $collector 2>/dev/null"
}

# ---- model mode: weights in µJ, known exactly
write_model_conf "$tmp/model.conf"
start_collector "$tmp/model.conf" "$tmp/model.log" "$tmp/model.csv"
wait_for "request tracking" 20 grep -q 'requests: sockops' "$tmp/model.log" ||
	{ not_ok "request tracking attaches"; cat "$tmp/model.log"; finish; }
model_objects=$(bpf_objects_of $collector)
stats_start=$(curl -s "$url/stats" | python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["requests"].values()))')

for i in "${!endpoints[@]}"; do
	curl -s -D "$tmp/head.$i" "$url${endpoints[i]}" -o "$tmp/traced.$i"
	n=$(grep -ciE '^X-Energy-Score: [0-9]+'$'\r''?$' "$tmp/head.$i")
	check "GET ${endpoints[i]} carries exactly one numeric X-Energy-Score" [ "$n" = 1 ]
	check "GET ${endpoints[i]}: body byte-identical with and without the collector" \
		cmp -s "$tmp/plain.$i" "$tmp/traced.$i"
done
curl -s -D "$tmp/head.post" --data-binary @"$tmp/post.bin" "$url/post?kb=16" -o "$tmp/traced.post"
check "POST /post carries exactly one numeric X-Energy-Score" \
	[ "$(grep -ciE '^X-Energy-Score: [0-9]+' "$tmp/head.post")" = 1 ]
check "POST /post: body byte-identical" cmp -s "$tmp/plain.post" "$tmp/traced.post"
for p in / /healthz /stats /nothing "/cpu?iters=0"; do
	check "GET $p (status $(curl -s -o /dev/null -w '%{http_code}' "$url$p")) carries one header" \
		[ "$(curl -s -D - -o /dev/null "$url$p" | grep -ciE '^X-Energy-Score: [0-9]+')" = 1 ]
done

score() { curl -s -D - -o /dev/null "$url$1" | tr -d '\r' | sed -n 's/^X-Energy-Score: //Ip'; }
small=$(score "/cpu?iters=300000")
big=$(score "/cpu?iters=30000000")
check "/cpu with 100x the iterations reports >= 20x the energy ($small -> $big uJ)" \
	[ "$big" -ge $((20 * small)) ]

# The model's value from the server's own measured runtime (schedstat, ns on CPU, all threads).
cpu_ns() { cat /proc/$server/task/*/schedstat | awk '{ s += $1 } END { print s }'; }
before=$(cpu_ns)
got=$(score "/cpu?iters=100000000")
after=$(cpu_ns)
want=$(( (after - before) / 1000 )) # 0.001 uJ per ns
check "model mode: the header ($got uJ) is the config's model of the measured runtime ($want uJ) within 5%" \
	awk -v a="$got" -v b="$want" 'BEGIN { exit !(b > 0 && a >= 0.95 * b && a <= 1.05 * b) }'

python3 tests/integration/requests_raw.py 127.0.0.1 "$port" || not_ok "raw socket checks ran to the end"

# Non-HTTP traffic in the cgroup: an echo server's bytes come back unchanged, even bytes
# that look like HTTP.
bash -c "echo \$\$ > $CGROUP/cgroup.procs; exec python3 -c '
import socket
s = socket.socket(); s.bind((\"127.0.0.1\", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    while True:
        d = c.recv(65536)
        if not d: break
        c.sendall(d)
    c.close()
'" >"$tmp/echo.port" &
echo_pid=$!
on_exit "kill $echo_pid 2>/dev/null"
wait_for "the echo server" 10 test -s "$tmp/echo.port"
check "non-HTTP traffic in the cgroup is untouched (an echo of binary, requests and status lines)" \
	python3 -c '
import socket, sys
port = int(open(sys.argv[1]).read())
for payload in [bytes(range(256)) * 8,
                b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
                b"GET / HTTP/1.1\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"]:
    s = socket.create_connection(("127.0.0.1", port)); s.settimeout(5)
    s.sendall(payload); got = b""
    while len(got) < len(payload):
        d = s.recv(65536)
        if not d: break
        got += d
    s.close()
    assert got == payload, (payload[:40], got[:60])
' "$tmp/echo.port"

# A server that splits its first status line over two writes: the header goes in right
# after the status line's CRLF (in the second write), and the next response gets its own.
bash -c "echo \$\$ > $CGROUP/cgroup.procs; exec python3 -c '
import socket, time
s = socket.socket(); s.bind((\"127.0.0.1\", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
c, _ = s.accept(); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
buf = b\"\"
while buf.count(b\"\\r\\n\\r\\n\") < 2:
    buf += c.recv(65536)
c.sendall(b\"HTTP/1.1 200 O\"); time.sleep(0.2)
c.sendall(b\"K\\r\\nContent-Length: 2\\r\\n\\r\\nhi\")
time.sleep(0.2)
c.sendall(b\"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nho\")
time.sleep(1)
'" >"$tmp/split.port" &
split_pid=$!
on_exit "kill $split_pid 2>/dev/null"
wait_for "the split-status server" 10 test -s "$tmp/split.port"
check "a status line split across writes gets its header after its CRLF; so does the next response" \
	python3 -c '
import socket, sys, re
port = int(open(sys.argv[1]).read())
s = socket.create_connection(("127.0.0.1", port)); s.settimeout(5)
s.sendall(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n")
got = b""
while not got.endswith(b"ho"):
    d = s.recv(65536)
    if not d: break
    got += d
first, second = got.split(b"hi", 1)
assert re.match(rb"HTTP/1.1 200 OK\r\nX-Energy-Score: [0-9]+\r\nContent-Length: 2\r\n\r\n$", first), first
assert re.match(rb"HTTP/1.1 200 OK\r\nX-Energy-Score: [0-9]+\r\nContent-Length: 2\r\n\r\nho$", second), second
' "$tmp/split.port"

stats_end=$(curl -s "$url/stats" | python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["requests"].values()))')
kill -INT $collector
wait $collector
rc=$?
check "model mode: SIGINT exits 0" [ "$rc" = 0 ]
check "model mode: the start-up says which receive hook binds threads" \
	grep -q 'receive: tp_btf/sock_recv_length\|receive: fexit/tcp_recvmsg\|receive: kprobe/tcp_recvmsg' "$tmp/model.log"
counted=$(csv_col "$tmp/model.csv" requests | awk '{ s += $1 } END { print s + 0 }')
# Responses the kernel saw: the first /stats, everything between, the last /stats, and
# the split-status server's two.
check "the CSV's requests column counts every response ($counted = $((stats_end - stats_start + 3)))" \
	[ "$counted" = $((stats_end - stats_start + 3)) ]
check "request_energy_uj is filled in" \
	[ "$(csv_col "$tmp/model.csv" request_energy_uj | awk '{ s += $1 } END { print s + 0 }')" -gt 0 ]
grep 'requests: .* heads' "$tmp/model.log" | sed 's/^/# /'
# The one connection left alone: the echo of a plain request (a head came in, and what went
# out is not a status line).
check "the exit summary counts no response without its header, and the echo's connection left alone" \
	grep -q 'X-Energy-Score headers written; not rewritten: 0 batched, 0 other port, 0 pull failed, 0 push failed, 0 send buffer; connections left alone: unframed: 1 status not HTTP/1.x, 0 head too long, 0 transfer coding, 0 conflicting lengths, 0 bad head, 0 bad chunk, 0 unsolicited, 0 unreadable, 0 too complex, 0 unseen bytes; HTTP ended: 0 upgraded, 0 tunnel, 0 close-delimited;' "$tmp/model.log"

# ---- psys mode: measured (synthetic) energy split live
cat >"$tmp/psys.conf" <<CONF
attribution_mode = psys
energy_source = synthetic
idle_power_uw = 9500000
psys_interval_ms = 100
CONF
start_collector "$tmp/psys.conf" "$tmp/psys.log" "$tmp/psys.csv"
wait_for "the first psys factor" 20 grep -q 'first uJ/score factor' "$tmp/psys.log" ||
	{ not_ok "psys mode starts tracking after the first interval"; cat "$tmp/psys.log"; finish; }
psys_objects=$(bpf_objects_of $collector)
small=$(score "/cpu?iters=300000")
big=$(score "/cpu?iters=30000000")
check "psys mode: headers are numeric and grow with the work ($small -> $big uJ)" \
	[ -n "$small" ] && [ "$big" -ge $((20 * small)) ]
python3 tests/integration/requests_raw.py 127.0.0.1 "$port" --only keep_alive,pipelining ||
	not_ok "psys raw checks"
kill -INT $collector
wait $collector
check "psys mode: conservation: attributed_uj = max(active_psys_uj, 0) in every row" \
	[ "$(awk -F, 'NR > 1 { a = $8 > 0 ? $8 : 0; if ($25 != a) bad++ } END { print bad + 0 }' "$tmp/psys.csv")" = 0 ]
check "psys mode: rows with requests have request energy" \
	[ "$(awk -F, 'NR > 1 && $23 > 0 && $24 > 0' "$tmp/psys.csv" | wc -l)" -gt 0 ]
check "after exit none of either collector's BPF programs, maps or links is left ($(echo $model_objects $psys_objects | wc -w) seen)" \
	gone_after_exit "$model_objects $psys_objects"
check "the server is unharmed: it still answers" [ "$(curl -s "$url/healthz")" = ok ]
finish
