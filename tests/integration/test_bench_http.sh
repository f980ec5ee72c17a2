#!/usr/bin/env bash
# bench_http against tests/tools/bench_test_server.py, a server that delays, resets, closes
# and garbles on request: options and usage errors, HTTP framing (Content-Length, chunked,
# read-to-close, split responses), errors by kind, X-Energy-Score, open loop and
# coordinated omission, seeds, warm-up, IPv6 and Ctrl-C.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

BH=$BIN/bench_http
tmp=$(mktemp -d)
on_exit "rm -rf $tmp"

# start_test_server NAME [--bind ADDR]: sets PORT_<NAME>; requests are logged to $tmp/NAME.log.
start_test_server() {
	local name=$1 pid port
	shift
	python3 tests/tools/bench_test_server.py --port 0 --log "$tmp/$name.log" "$@" \
		>"$tmp/$name.out" 2>&1 &
	pid=$!
	on_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
	wait_for "test server $name" 20 grep -q 'listening on' "$tmp/$name.out" || return 1
	port=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$tmp/$name.out")
	[ -n "$port" ] || return 1
	printf -v "PORT_$name" '%s' "$port"
}

# bh ARGS...: runs bench_http (bounded in time); sets RC, output in $tmp/out, $tmp/err.
bh() {
	timeout 60 "$BH" "$@" >"$tmp/out" 2>"$tmp/err"
	RC=$?
}

# jtrue FILE EXPR: a Python expression over the JSON document d is true. E(path) is the
# endpoint with that path.
jtrue() {
	python3 - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
E = lambda p: next(e for e in d["endpoints"] if e["path"] == p)
ok = eval(sys.argv[2])
if not ok:
    print("    false: %s" % sys.argv[2], file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}

err_has() { grep -q -- "$1" "$tmp/err" || { sed 's/^/    stderr: /' "$tmp/err" >&2; return 1; }; }
out_has() { grep -q -- "$1" "$tmp/out"; }
rc_is() { [ "$RC" -eq "$1" ] || { echo "    exit status $RC, wanted $1" >&2; sed 's/^/    stderr: /' "$tmp/err" >&2; return 1; }; }
# one_line: stderr is exactly one line.
one_line() { [ "$(wc -l <"$tmp/err")" -eq 1 ]; }

if [ ! -x "$BH" ]; then
	not_ok "bench_http is built ($BH)"
	finish
fi
start_test_server main || { not_ok "test server starts"; finish; }
URL=http://127.0.0.1:$PORT_main/

# --- usage and input errors ---------------------------------------------------------------
bh --help
check "--help prints usage on stdout and exits 0" rc_is 0
check "--help names every option" out_has "--mix-file FILE"

bh --duration 1 --concurrency 1
check "missing --url is a usage error (exit 2)" rc_is 2
check "missing --url is named in one line" err_has "bench_http: --url is required"

bh --url "ftp://x" --duration 1 --concurrency 1
check "a non-http URL is a usage error" rc_is 2
check "the URL error names the value" err_has '--url: "ftp://x": must start with http://'

bh --url "$URL" --duration abc --concurrency 1
check "a bad --duration is a usage error" rc_is 2
check "the --duration error names the value" err_has '--duration: "abc" is not a number'

bh --url "$URL" --duration 1 --concurrency 1 --path /ok --profile cpu
check "--path with --profile is a usage error" rc_is 2

bh --url "$URL" --duration 1 --concurrency 2 --threads 3
check "more threads than connections is a usage error" rc_is 2

bh --url "$URL" --duration 1 --concurrency 1 --profile nope
check "an unknown profile is a usage error listing the profiles" \
	err_has '"nope" is not a profile (mixed, cpu'

printf '[{"path":"/ok"},{"path":"/ok","weight":-2}]' >"$tmp/bad.json"
bh --url "$URL" --duration 1 --concurrency 1 --mix-file "$tmp/bad.json"
check "a bad mix file exits 1" rc_is 1
check "the mix-file error names file, entry, field and value in one line" \
	err_has "$tmp/bad.json: entry 2: weight: -2 is out of range"
check "the mix-file error is one line" one_line

free_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
bh --url "http://127.0.0.1:$free_port/" --duration 1 --concurrency 1 --path /ok
check "an unreachable server exits 1" rc_is 1
check "an unreachable server is reported in one line" \
	err_has "cannot connect to 127.0.0.1:$free_port: Connection refused"

# --- framing, energy, weighting -------------------------------------------------------------
cat >"$tmp/mix.json" <<'JSON'
[{"path":"/ok?energy=1500&len=100","weight":3},
 {"path":"/chunked?energy=250&chunks=4","weight":1}]
JSON
bh --url "$URL" --duration 1.5 --concurrency 4 --threads 2 --mix-file "$tmp/mix.json" \
	--json "$tmp/mix.out.json"
check "Content-Length and chunked responses: exit 0" rc_is 0
check "no errors on well-formed responses" jtrue "$tmp/mix.out.json" 'd["totals"]["errors"] == 0'
check "chunked responses complete" jtrue "$tmp/mix.out.json" \
	'E("/chunked?energy=250&chunks=4")["ok"] > 50'
check "energy mean per endpoint is exact" jtrue "$tmp/mix.out.json" \
	'E("/ok?energy=1500&len=100")["energy"]["mean_uj"] == 1500 and E("/chunked?energy=250&chunks=4")["energy"]["mean_uj"] == 250'
check "energy p50/p99 within 1%" jtrue "$tmp/mix.out.json" \
	'abs(E("/ok?energy=1500&len=100")["energy"]["p50_uj"] - 1500) <= 15 and abs(E("/ok?energy=1500&len=100")["energy"]["p99_uj"] - 1500) <= 15'
check "every response carried the header, and the total adds up" jtrue "$tmp/mix.out.json" \
	'all(e["energy"]["responses_with_header"] == e["responses"] for e in d["endpoints"]) and d["energy"]["total_uj"] == 1500 * E("/ok?energy=1500&len=100")["responses"] + 250 * E("/chunked?energy=250&chunks=4")["responses"]'
# 3:1 weights: the share of the first is 0.75 within 4 standard errors.
check "weights 3:1 give about 3:1 responses" jtrue "$tmp/mix.out.json" \
	'abs(E("/ok?energy=1500&len=100")["responses"] / d["totals"]["responses"] - 0.75) < 4 * (0.75 * 0.25 / d["totals"]["responses"]) ** 0.5'
check "body bytes are counted" jtrue "$tmp/mix.out.json" \
	'E("/ok?energy=1500&len=100")["body_bytes"] == 100 * E("/ok?energy=1500&len=100")["responses"]'
check "keep-alive: one connection each" jtrue "$tmp/mix.out.json" \
	'd["totals"]["connections_opened"] == 4'
check "JSON has options, times and percentiles" jtrue "$tmp/mix.out.json" \
	'all(k in d for k in ("options", "totals", "endpoints", "errors", "start_time", "end_time", "energy")) and all(k in d["totals"]["latency"] for k in ("p50_us", "p90_us", "p99_us", "p99_9_us", "max_us")) and d["options"]["concurrency"] == 4'
check "the summary shows the energy table" out_has "energy per endpoint"

bh --url "$URL" --duration 1 --concurrency 2 --path /split --path /eof-body --path /close \
	--json "$tmp/framing.json"
check "split, read-to-close and Connection: close responses: exit 0" rc_is 0
check "split, read-to-close and Connection: close: no errors, all endpoints answered" \
	jtrue "$tmp/framing.json" 'd["totals"]["errors"] == 0 and all(e["ok"] > 0 for e in d["endpoints"])'
check "a byte-by-byte response still carries its energy header" jtrue "$tmp/framing.json" \
	'E("/split")["energy"]["mean_uj"] == 77'
check "Connection: close and read-to-close responses reconnect" jtrue "$tmp/framing.json" \
	'd["totals"]["connections_opened"] >= E("/close")["responses"] + E("/eof-body")["responses"]'

# --- errors by kind -------------------------------------------------------------------------
bh --url "$URL" --duration 1 --concurrency 2 --path /ok --path /reset --path /drop \
	--path "/status?code=503" --path "/status?code=404" --path /garbage --path /extra \
	--path /energy-bad --json "$tmp/errors.json"
check "a run with some failures exits 0" rc_is 0
check "resets and early closes are read errors of their endpoint" jtrue "$tmp/errors.json" \
	'E("/reset")["errors"]["read"] > 0 and E("/drop")["errors"]["read"] > 0 and E("/reset")["ok"] == 0'
check "5xx and 4xx are counted per endpoint" jtrue "$tmp/errors.json" \
	'E("/status?code=503")["errors"]["5xx"] == E("/status?code=503")["responses"] > 0 and E("/status?code=404")["errors"]["4xx"] > 0'
check "malformed responses are parse errors" jtrue "$tmp/errors.json" \
	'E("/garbage")["errors"]["parse"] > 0 and E("/garbage")["ok"] == 0'
check "bytes after a response are parse errors" jtrue "$tmp/errors.json" \
	'd["errors"]["parse"] > E("/garbage")["errors"]["parse"]'
check "a non-numeric X-Energy-Score is counted, not used" jtrue "$tmp/errors.json" \
	'E("/energy-bad")["energy"]["invalid_headers"] > 0 and E("/energy-bad")["energy"]["responses_with_header"] == 0'
check "totals add up the kinds" jtrue "$tmp/errors.json" \
	'd["totals"]["errors"] == sum(d["errors"].values())'
check "the summary tells resets from early closes" \
	out_has "Connection reset by peer, [0-9]* the server closed the connection before responding\|[0-9]* the server closed the connection before responding, [0-9]* Connection reset by peer"
check "the JSON gives the causes of each kind, statuses for 4xx/5xx" jtrue "$tmp/errors.json" \
	'sum(c["count"] for c in d["error_causes"]["read"]) == d["errors"]["read"] and d["error_causes"]["5xx"] == [{"code": 503, "cause": "status 503", "count": d["errors"]["5xx"]}]'


bh --url "$URL" --duration 1.5 --concurrency 2 --timeout 0.3 --path /ok --path /hang \
	--json "$tmp/timeout.json"
check "requests with no answer time out" jtrue "$tmp/timeout.json" \
	'E("/hang")["errors"]["timeout"] >= 2 and E("/ok")["errors"]["timeout"] == 0 and E("/ok")["ok"] > 0'

bh --url "$URL" --duration 0.5 --concurrency 2 --path "/status?code=500" --json "$tmp/allfail.json"
check "every request failing exits 1" rc_is 1
check "every request failing says so, with the kinds" err_has "every request failed: 5xx"
check "the JSON is still written when every request failed" jtrue "$tmp/allfail.json" \
	'd["totals"]["ok"] == 0 and d["errors"]["5xx"] > 0'

# --- POST bodies ----------------------------------------------------------------------------
printf '[{"method":"POST","path":"/post?kb=64","body_kb":64}]' >"$tmp/post.json"
bh --url "$URL" --duration 1 --concurrency 2 --mix-file "$tmp/post.json" --json "$tmp/post.out.json"
check "POST with a 64 KiB body from a mix file is accepted" jtrue "$tmp/post.out.json" \
	'E("/post?kb=64")["ok"] > 0 and d["totals"]["errors"] == 0 and d["totals"]["bytes_written"] >= 65536 * d["totals"]["ok"]'
bh --url "$URL" --duration 0.5 --concurrency 1 --path "POST /post?kb=4" --body-kb 4 \
	--json "$tmp/post2.json"
check "--path 'POST ...' --body-kb sends the body" jtrue "$tmp/post2.json" \
	'E("/post?kb=4")["ok"] > 0 and d["totals"]["errors"] == 0'
grep -q '^POST /post?kb=4$' "$tmp/main.log"
check "the server saw POST, not GET" [ $? -eq 0 ]

# --- open loop and coordinated omission -----------------------------------------------------
bh --url "$URL" --duration 2 --concurrency 4 --rate 200 --path /ok --json "$tmp/rate.json"
# Every request the schedule had due is answered, in flight or in the backlog.
check "open loop at 200/s for 2 s schedules 400 requests" jtrue "$tmp/rate.json" \
	'abs(d["totals"]["responses"] + d["totals"]["in_flight_at_end"] + d["totals"]["backlog_at_end"] - 400) <= 1 and d["options"]["mode"] == "open"'
check "open loop at 200/s: the server keeps up" jtrue "$tmp/rate.json" \
	'd["totals"]["responses"] >= 320 and d["totals"]["errors"] == 0'

bh --url "$URL" --duration 2 --concurrency 1 --path "/delay?ms=50" --json "$tmp/closed.json"
bh --url "$URL" --duration 2 --concurrency 1 --rate 40 --path "/delay?ms=50" \
	--json "$tmp/open.json"
python3 - "$tmp/closed.json" "$tmp/open.json" <<'PY' >"$tmp/co.txt"
import json, sys
c = json.load(open(sys.argv[1]))["totals"]
o = json.load(open(sys.argv[2]))["totals"]
print(c["latency"]["p50_us"], o["latency"]["p50_us"], o["backlog_at_end"])
PY
read -r closed_p50 open_p50 backlog <"$tmp/co.txt"
echo "# closed-loop p50 ${closed_p50}us, open-loop p50 ${open_p50}us, backlog $backlog"
check "closed loop measures the 50 ms service time" \
	python3 -c "import sys; sys.exit(not 45000 <= $closed_p50 <= 90000)"
check "open loop past capacity counts queueing from the scheduled time" \
	python3 -c "import sys; sys.exit(not $open_p50 > 4 * $closed_p50)"
check "open loop reports the requests it could not send in time" [ "$backlog" -gt 10 ]

# --- reproducibility and warm-up ------------------------------------------------------------
seed_run() { # seed -> request lines this run caused, in $tmp/seed-$1-$2
	local before
	before=$(wc -l <"$tmp/main.log")
	bh --url "$URL" --duration 0.5 --concurrency 1 --seed "$1" --path /ok?a --path /ok?b \
		--path /ok?c --path /ok?d
	tail -n +"$((before + 1))" "$tmp/main.log" | head -n 50 >"$tmp/seed-$1-$2"
}
seed_run 7 a
seed_run 7 b
seed_run 8 a
check "a seed gives at least 50 requests" [ "$(wc -l <"$tmp/seed-7-a")" -eq 50 ]
check "the same seed repeats the same request sequence" cmp -s "$tmp/seed-7-a" "$tmp/seed-7-b"
differ() { ! cmp -s "$1" "$2"; }
check "another seed gives another sequence" differ "$tmp/seed-7-a" "$tmp/seed-8-a"

before=$(wc -l <"$tmp/main.log")
bh --url "$URL" --duration 1 --warmup 1 --concurrency 2 --path /delay?ms=2 --json "$tmp/warm.json"
sent=$(($(wc -l <"$tmp/main.log") - before))
check "warm-up requests are not counted" jtrue "$tmp/warm.json" \
	"0 < d['totals']['responses'] < 0.75 * $sent and d['options']['warmup_s'] == 1"

# --- IPv6 -----------------------------------------------------------------------------------
if start_test_server v6 --bind ::1; then
	bh --url "http://[::1]:$PORT_v6/" --duration 0.5 --concurrency 2 --path /ok --json "$tmp/v6.json"
	check "an IPv6 literal URL works" jtrue "$tmp/v6.json" \
		'd["totals"]["ok"] > 0 and d["options"]["address"].startswith("[::1]:")'
else
	skip "no IPv6 loopback here"
fi

# --- Ctrl-C ---------------------------------------------------------------------------------
before=$(wc -l <"$tmp/main.log")
"$BH" --url "$URL" --duration 30 --concurrency 2 --path /delay?ms=1 --json "$tmp/int.json" \
	>"$tmp/int.out" 2>"$tmp/int.err" &
bh_pid=$!
on_exit "kill -9 $bh_pid 2>/dev/null"
lines_since() { [ $(($(wc -l <"$tmp/main.log") - before)) -ge "$1" ]; }
wait_for "requests to flow" 10 lines_since 20
kill -INT $bh_pid
stopped() { ! kill -0 $bh_pid 2>/dev/null; }
check "SIGINT stops the run within 5 s" wait_for "bench_http to exit" 5 stopped
wait $bh_pid
RC=$?
check "an interrupted run with responses exits 0" rc_is 0
check "an interrupted run prints its summary" grep -q "(interrupted)" "$tmp/int.out"
check "an interrupted run writes its JSON" jtrue "$tmp/int.json" \
	'd["interrupted"] and d["totals"]["ok"] > 0 and d["measured_s"] < 29'

finish
