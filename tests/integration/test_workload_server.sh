#!/usr/bin/env bash
# workload_server end to end: every endpoint and every error, with curl and raw sockets.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

tmp=$(mktemp -d)
on_exit "rm -rf $tmp"
data=$tmp/data

start_server "$tmp/server.log" --data-dir "$data" --threads 4 --idle-timeout 1 \
	--request-timeout 1 || { not_ok "server starts"; cat "$tmp/server.log"; finish; }
ok "server starts on an ephemeral port ($SERVER_PORT)"
url=http://127.0.0.1:$SERVER_PORT

# status and body of a request: "STATUS BODY"
fetch() { curl -s -o "$tmp/body" -w '%{http_code}' "$@"; }

check "GET / lists every endpoint" \
	bash -c "[ \$(curl -s $url/ | grep -cE '^  (GET|POST) +/') -eq 8 ]"
check "GET /healthz answers ok" [ "$(curl -s "$url/healthz")" = ok ]
check "GET /cpu?iters=1000 reports the result" \
	grep -q '"iters":1000,"result":"bbfc35f082e23be9"' <(curl -s "$url/cpu?iters=1000")
check "GET /json?items=300 has 300 records" \
	[ "$(curl -s "$url/json?items=300" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 300 ]
check "GET /compress?kb=128 reports sizes" \
	grep -q '"kb":128,"input_bytes":131072,"output_bytes":[0-9]*,"crc32":"[0-9a-f]\{8\}"' \
	<(curl -s "$url/compress?kb=128")
curl -s "$url/file?kb=16384" -o "$tmp/file"
check "GET /file?kb=16384 sends the data file's first 16 MiB byte for byte" \
	cmp -s "$tmp/file" <(head -c $((16384 * 1024)) "$data/workload.dat")
check "GET /file?kb=3 sends 3 KiB" [ "$(curl -s "$url/file?kb=3" | wc -c)" = 3072 ]
head -c 65536 /dev/urandom >"$tmp/post"
want_crc=$(python3 -c "import zlib,sys; print('%08x' % zlib.crc32(open('$tmp/post','rb').read()))")
check "POST /post?kb=64 checksums the body" \
	grep -q "\"bytes\":65536,\"crc32\":\"$want_crc\"" \
	<(curl -s --data-binary @"$tmp/post" "$url/post?kb=64")
head -c $((3 << 20)) /dev/zero >"$tmp/post3m"
check "POST of 3 MiB with Expect: 100-continue" \
	grep -q '"bytes":3145728' <(curl -s -H 'Expect: 100-continue' \
	--data-binary @"$tmp/post3m" "$url/post?kb=3072")

check "missing parameter is a 400 naming it and its range" \
	[ "$(fetch "$url/cpu")" = 400 ] && grep -q '^iters: missing; allowed range 1..1000000000$' "$tmp/body"
check "out-of-range parameter is a 400 naming it and its range" \
	[ "$(fetch "$url/json?items=100001")" = 400 ] && grep -q 'items: "100001" is out of range; allowed range 1..100000' "$tmp/body"
check "unknown path is a 404" [ "$(fetch "$url/nothing")" = 404 ]
check "wrong method is a 405 with Allow" \
	grep -q '^Allow: POST' <(curl -s -i "$url/post?kb=1" | tr -d '\r')
check "kb not matching Content-Length is a 400" \
	[ "$(fetch --data-binary @"$tmp/post" "$url/post?kb=63")" = 400 ]

python3 tests/integration/workload_raw.py 127.0.0.1 "$SERVER_PORT" "$data/workload.dat" ||
	not_ok "raw socket checks ran to the end"

check "GET /stats counts requests per endpoint" \
	python3 -c "import json,urllib.request as u; d=json.load(u.urlopen('$url/stats')); \
assert d['requests']['cpu'] >= 101 and d['requests']['post'] >= 2 and d['responses']['4xx'] >= 5, d"

check "GET /self-cpu is a 404 without --self-cpu" [ "$(fetch "$url/self-cpu")" = 404 ]

# Graceful stop: a request in flight when SIGTERM arrives still gets its whole answer.
curl -s "$url/cpu?iters=300000000" -o "$tmp/slow" &
curl_pid=$!
# in_flight counts the /stats request itself too, so 2 means the slow one is being served.
wait_for "the slow request to be in flight" 10 \
	bash -c "curl -s $url/stats | grep -q '\"in_flight\":[2-9]'"
kill -TERM "$SERVER_PID"
wait "$curl_pid"
check "SIGTERM lets the request in flight finish" grep -q '"iters":300000000' "$tmp/slow"
wait "$SERVER_PID"
rc=$?
check "SIGTERM exits 0" [ "$rc" = 0 ]
check "the server logs that it stopped" grep -q 'stopped after' "$tmp/server.log"
check "the server refuses new connections after stopping" \
	bash -c "! curl -s -m 2 $url/healthz"

# --self-cpu: each request's thread CPU time summed per target (a benchmark truth)
start_server "$tmp/server_self.log" --data-dir "$data" --threads 4 --self-cpu ||
	{ not_ok "server starts with --self-cpu"; finish; }
python3 - "$SERVER_PORT" >"$tmp/self.out" 2>&1 <<'PY'
import json, socket, sys, time
sys.path.insert(0, "tests/integration")
from records_client import bodies as get
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port))
wall = 0.0
for _ in range(5):
    t = time.monotonic()
    get(s, [b"/cpu?iters=3000000"])
    wall += time.monotonic() - t
    get(s, [b"/cpu?iters=1"])
# pipelined, one read, a heavy then a tiny: the tiny's clock starts where the heavy's ends
get(s, [b"/cpu?iters=3000001", b"/cpu?iters=2"])
s.close()
d = json.loads(get(socket.create_connection(("127.0.0.1", port)), [b"/self-cpu"]))
print(json.dumps(d), "wall_heavy_us=%.1f" % (wall * 1e6))
heavy, tiny, pipe = d["/cpu?iters=3000000"], d["/cpu?iters=1"], d["/cpu?iters=2"]
pipe_heavy = d["/cpu?iters=3000001"]
assert heavy[0] == 5 and tiny[0] == 5 and pipe[0] == 1 and pipe_heavy[0] == 1, \
    "request counts per target"
assert "/self-cpu" not in d, "the probe counts itself"
# the clock starts before the wait for the request (poll's entry) and stops after the write
# returns: a few us a request can fall outside the client's wall time, never a wait
assert heavy[1] <= wall * 1e6 + 5 * 50, "a thread's CPU over its requests exceeds their wall time"
assert tiny[1] / 5 * 20 < heavy[1] / 5, "a tiny request under 1/20 of a heavy one"
assert 0 < pipe[1] < pipe_heavy[1] / 20, \
    "a tiny request pipelined behind a heavy one is timed from the heavy one's end"
PY
check "--self-cpu: thread CPU per target, counts exact, heavy within its wall time, the probe not counted" \
	[ $? = 0 ]
cat "$tmp/self.out"

# IPv6
if python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null; then
	start_server "$tmp/server6.log" --bind ::1 --data-dir "$data" ||
		{ not_ok "server starts on ::1"; finish; }
	check "IPv6: GET /healthz on [::1]" [ "$(curl -s -g "http://[::1]:$SERVER_PORT/healthz")" = ok ]
	python3 tests/integration/workload_raw.py ::1 "$SERVER_PORT" "$data/workload.dat" \
		--only keep_alive,pipelining || not_ok "IPv6 raw checks"
else
	skip "IPv6: no ::1 on this host"
fi

# Bad command lines
check "missing --port is a usage error (exit 2)" \
	bash -c "$BIN/workload_server 2>/dev/null; [ \$? = 2 ]"
check "bad --threads names the option and value" \
	bash -c "$BIN/workload_server --port 0 --threads 0 2>&1 | grep -q -- '--threads: \"0\" is out of range'"
check "an address this host does not have is a clear error" \
	bash -c "$BIN/workload_server --port 0 --bind 203.0.113.1 --data-dir $data 2>&1 | grep -q 'listen on 203.0.113.1 port 0: Cannot assign'"
check "a port in use is a clear error (exit 1)" \
	bash -c "$BIN/workload_server --port $SERVER_PORT --bind ::1 --data-dir $data 2>&1 | grep -q 'Address already in use'"
finish
