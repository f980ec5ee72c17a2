#!/usr/bin/env bash
# bench/servers: the Go and Node.js servers of bench/attribution_accuracy.sh, and their own
# clocks (GET /self-cpu), the in-mix truths that need no attribution; and nginx's clock,
# bench/nginx_clock (uprobes on its worker; root). Checks exact counts,
# the probe left out, a tiny request far below a heavy one, and for Go that the clock holds
# only the timed goroutine's work: with one P (GOMAXPROCS=1) and four heavy requests at
# once, goroutines preempt each other on one thread, and the clocks' sum must not exceed
# the process's CPU (schedstat). Skips a server whose toolchain is not installed (CI installs
# them only with scripts/install-deps.sh --bench).
set -u
cd "$(dirname "$0")/../.."
. bench/nginx_conf.sh
. tests/integration/lib.sh

tmp=$(mktemp -d)
on_exit "rm -rf $tmp"

# wait_port LOG: the port the server printed ("listening on ADDR:PORT")
wait_port() {
	wait_for "listening" 60 grep -q 'listening on' "$1" || return 1
	sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$1"
}

# drive PORT HEAVY TINY CONCURRENT: 3 heavy and 20 tiny requests on one keep-alive
# connection, then CONCURRENT heavy ones at once on their own connections; prints
# /self-cpu's JSON
drive() {
	python3 - "$@" <<'PY'
import socket, sys, threading
sys.path.insert(0, "tests/integration")
from records_client import bodies
port, heavy, tiny, conc = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
def get(s, target):
    return bodies(s, [target.encode()])
s = socket.create_connection(("127.0.0.1", port))
for _ in range(3):
    get(s, heavy)
for _ in range(20):
    get(s, tiny)
s.close()
def one():
    c = socket.create_connection(("127.0.0.1", port))
    get(c, heavy + "&c")
    c.close()
ts = [threading.Thread(target=one) for _ in range(conc)]
[t.start() for t in ts]
[t.join() for t in ts]
print(get(socket.create_connection(("127.0.0.1", port)), "/self-cpu").decode())
PY
}
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { print s }'; }

# ---- Go
if command -v go >/dev/null; then
	if bash bench/servers/build_go_server.sh "$tmp/go" 2>"$tmp/gobuild.err"; then
		ok "go: go_server builds offline"
		GOMAXPROCS=1 "$tmp/go/go_server" 0 >"$tmp/go.log" 2>&1 &
		gopid=$!
		on_exit "kill $gopid 2>/dev/null; wait $gopid 2>/dev/null"
		port=$(wait_port "$tmp/go.log") || { not_ok "go: go_server starts"; finish; }
		c0=$(cpu_ns $gopid)
		drive "$port" "/cpu?iters=20000000" /tiny 4 >"$tmp/go.json" || not_ok "go: the client ran"
		c1=$(cpu_ns $gopid)
		python3 - "$tmp/go.json" $((c1 - c0)) <<'PY' >"$tmp/go.out" 2>&1
import json, sys
d, cpu_us = json.load(open(sys.argv[1])), int(sys.argv[2]) / 1e3
heavy, tiny, conc = d["/cpu?iters=20000000"], d["/tiny"], d["/cpu?iters=20000000&c"]
print(json.dumps(d), "process_cpu_us=%.0f" % cpu_us)
assert "/self-cpu" not in d, "the probe counts itself"
assert heavy[0] + heavy[2] == 3 and tiny[0] + tiny[2] == 20 and conc[0] + conc[2] == 4, "counts"
assert heavy[0] >= 2 and tiny[0] >= 15 and conc[0] >= 3, "most requests timed"
assert tiny[1] / tiny[0] * 20 < heavy[1] / heavy[0], "a tiny request under 1/20 of a heavy one"
# one thread for Go code, goroutines preempted every 10 ms: a clock that counted the other
# goroutines' turns would exceed the process's CPU about 2.5 times
assert heavy[1] + tiny[1] + conc[1] <= 1.05 * cpu_us, "the clocks exceed the process's CPU"
assert conc[1] / conc[0] <= 1.5 * heavy[1] / heavy[0], "a preempted heavy request is over-timed"
PY
		check "go: /self-cpu counts exactly, leaves the probe out, and holds only the timed goroutine's work" \
			[ $? = 0 ]
		cat "$tmp/go.out"
	else
		not_ok "go: go_server builds offline"
		cat "$tmp/gobuild.err"
	fi
else
	skip "go: golang-go is not installed (scripts/install-deps.sh --bench)"
fi

# ---- Node.js
if command -v node >/dev/null; then
	node bench/servers/node_server.js 0 >"$tmp/node.log" 2>&1 &
	nodepid=$!
	on_exit "kill $nodepid 2>/dev/null; wait $nodepid 2>/dev/null"
	port=$(wait_port "$tmp/node.log") || { not_ok "node: node_server starts"; finish; }
	drive "$port" "/cpu?iters=20000000" /tiny 2 >"$tmp/node.json" || not_ok "node: the client ran"
	python3 - "$tmp/node.json" <<'PY' >"$tmp/node.out" 2>&1
import json, sys
d = json.load(open(sys.argv[1]))
heavy, tiny, conc = d["/cpu?iters=20000000"], d["/tiny"], d["/cpu?iters=20000000&c"]
print(json.dumps(d))
assert "/self-cpu" not in d, "the probe counts itself"
assert heavy[0] == 3 and tiny[0] == 20 and conc[0] == 2, "counts"
assert tiny[1] / tiny[0] * 20 < heavy[1] / heavy[0], "a tiny request under 1/20 of a heavy one"
PY
	check "node: /self-cpu counts exactly, leaves the probe out, tiny under 1/20 of heavy" [ $? = 0 ]
	cat "$tmp/node.out"
else
	skip "node: nodejs is not installed (scripts/install-deps.sh --bench)"
fi

# ---- nginx: bench/nginx_clock (uprobes on the worker), its clock by the file served
if ! command -v nginx >/dev/null; then
	skip "nginx: nginx-light is not installed (scripts/install-deps.sh --bench)"
elif [ "$(id -u)" != 0 ]; then
	skip "nginx: nginx_clock needs root (uprobes)"
elif [ ! -x "$BIN/nginx_clock" ]; then
	not_ok "nginx: $BIN/nginx_clock is built (make programs)"
else
	www=$tmp/www
	mkdir -p "$www"
	printf x >"$www/one"
	# 128 KiB of text stored gzip -9 and inflated by the worker (heavier than a 1-byte file;
	# its writes may still wait on the client at times: then not timed); 8 MiB the same way,
	# more than the socket buffers hold: its writes wait on the client
	awk 'BEGIN { for (i = 0; i < 2048; i++) printf "line %08d of a compressible file served by nginx, gunzipped\n", i }' >"$www/mid.txt"
	for _ in $(seq 64); do cat "$www/mid.txt"; done >"$www/huge.txt"
	gzip -9 "$www/mid.txt" "$www/huge.txt"
	ln "$www/huge.txt.gz" "$www/huge2.txt.gz"
	ln "$www/one" "$www/one2"
	chmod 755 "$tmp" "$www" # the worker runs as nobody
	nport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	nginx_conf "$tmp" "$nport" "$www" 1 "default_type text/plain;" \
		'location ~ [.]txt$ { gzip_static always; gunzip on; }' >"$tmp/nginx.conf"
	nginx -c "$tmp/nginx.conf" -e "$tmp/nginx-error.log" 2>"$tmp/nginx.log" &
	ngpid=$!
	on_exit "kill $ngpid 2>/dev/null; wait $ngpid 2>/dev/null"
	worker() { awk '{ print $1 }' /proc/"$ngpid"/task/"$ngpid"/children 2>/dev/null; }
	if ! wait_for "nginx's worker" 20 grep -q . /proc/"$ngpid"/task/"$ngpid"/children; then
		not_ok "nginx: starts"
		cat "$tmp/nginx.log" "$tmp/nginx-error.log"
		finish
	fi
	wpid=$(worker)
	wait_for "nginx to listen" 20 curl -s -o /dev/null "http://127.0.0.1:$nport/one" ||
		{ not_ok "nginx: listens"; finish; }
	"$BIN/nginx_clock" --root "$www" --json "$tmp/nginx.json" "$wpid" 2>"$tmp/clock.log" &
	clockpid=$!
	on_exit "kill $clockpid 2>/dev/null; wait $clockpid 2>/dev/null"
	wait_for "nginx_clock to attach" 30 grep -q attached "$tmp/clock.log" ||
		{ not_ok "nginx: nginx_clock attaches"; cat "$tmp/clock.log"; finish; }
	# phase 1: 50 tiny and 5 mid requests on one connection (the worker's CPU around it);
	# phase 2: a cut window of each kind: /huge.txt read slowly (the worker waits for the
	# client inside it: a switch), and /huge2.txt left unread while 5 tiny requests run on
	# another connection (windows opened inside it)
	nginx_client() {
		python3 - "$nport" "$1" <<'PY' || not_ok "nginx: the client ran (phase $1)"
import socket, sys, time
sys.path.insert(0, "tests/integration")
from records_client import bodies
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port))
if sys.argv[2] == "1":
    for _ in range(50):
        assert bodies(s, [b"/one"]) == b"x"
    for _ in range(5):
        bodies(s, [b"/mid.txt"])
    sys.exit(0)
def slow(target, then=None):
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.connect(("127.0.0.1", port))
    c.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % target)
    time.sleep(0.3)  # the worker fills the buffers and waits for the client
    if then:
        then()
    while c.recv(1 << 20):
        pass
    c.close()
slow(b"/huge.txt")
slow(b"/huge2.txt", lambda: [bodies(s, [b"/one2"]) for _ in range(5)])
s.close()
PY
	}
	c0=$(cpu_ns "$wpid")
	nginx_client 1
	c1=$(cpu_ns "$wpid")
	nginx_client 2
	kill -INT "$clockpid"
	wait "$clockpid"
	rc=$?
	cat "$tmp/clock.log"
	check "nginx: nginx_clock exits 0 at SIGINT" [ "$rc" = 0 ]
	python3 - "$tmp/nginx.json" $((c1 - c0)) "$tmp/clock.log" <<'PY' >"$tmp/nginx.out" 2>&1
import json, sys
d, cpu_us, log = json.load(open(sys.argv[1])), int(sys.argv[2]) / 1e3, open(sys.argv[3]).read()
print(json.dumps(d), "worker_cpu_us=%.0f" % cpu_us)
one, mid, huge, huge2 = d["/one"], d["/mid.txt"], d["/huge.txt"], d["/huge2.txt"]
assert one[0] + one[2] == 50 and mid[0] + mid[2] == 5, "counts"
assert one[0] >= 45 and mid[0] >= 2, "most requests timed"
assert one[1] / one[0] * 2 < mid[1] / mid[0], "a tiny request under half a 128 KiB gunzip"
# the windows cut by a wait for the client and by other requests inside: counted, not timed
why = {l.split(": ")[1]: l.split("not timed: ")[-1] for l in log.splitlines() if "not timed: " in l}
assert huge[:3] == [0, 0, 1] and why["/huge.txt"].startswith("1 switched, 0 interleaved"), \
    "a window with a switch inside is not timed"
assert huge2[:3] == [0, 0, 1] and why["/huge2.txt"].startswith("0 switched, 1 interleaved"), \
    "a window with other windows inside is not timed"
assert 0 < one[3] < one[1], "a tiny response's loopback delivery: softirq inside its window"
# (a preempted window is timed, its time off CPU taken out)
assert sum(d["/one2"][0::2]) == 5 and d["/one2"][0] >= 3, "the requests inside another's window are timed"
# the clock is the worker's own CPU: below its schedstat over phase 1, and a sizable share
total = one[1] + mid[1]
# (the softirq part is in schedstat here; with CONFIG_IRQ_TIME_ACCOUNTING it is not)
assert total <= cpu_us + one[3] + mid[3], "the clocks exceed the worker's CPU"
assert total >= 0.3 * cpu_us, "the clocks hold under 30%% of the worker's CPU (%.0f us)" % total
PY
	check "nginx: nginx_clock counts exactly, times tiny below heavy, counts cut windows as not timed, and holds only the worker's CPU" \
		[ $? = 0 ]
	cat "$tmp/nginx.out"
fi
finish
