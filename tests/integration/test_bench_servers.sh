#!/usr/bin/env bash
# bench/servers: the Go and Node.js servers of bench/attribution_accuracy.sh, and their own
# clocks (GET /self-cpu), the in-mix truths that need no attribution. Checks exact counts,
# the probe left out, a tiny request far below a heavy one, and for Go that the clock holds
# only the timed goroutine's work: with one P (GOMAXPROCS=1) and four heavy requests at
# once, goroutines preempt each other on one thread, and the clocks' sum must not exceed
# the process's CPU (schedstat). Skips a server whose toolchain is not installed (CI installs
# them only with scripts/install-deps.sh --bench).
set -u
cd "$(dirname "$0")/../.."
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
finish
