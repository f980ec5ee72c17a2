#!/usr/bin/env bash
# bench_http against workload_server: the mixed profile reaches all five endpoints with no
# errors (POST /post with a real body), the server's own counters agree, the single
# profiles and open loop work, IPv6, and a wrong body size shows up as 4xx.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

BH=$BIN/bench_http
tmp=$(mktemp -d)
on_exit "rm -rf $tmp"

if [ ! -x "$BH" ] || [ ! -x "$BIN/workload_server" ]; then
	not_ok "bench_http and workload_server are built"
	finish
fi

bh() {
	timeout 60 "$BH" "$@" >"$tmp/out" 2>"$tmp/err"
	RC=$?
}
rc_is() { [ "$RC" -eq "$1" ] || { echo "    exit status $RC, wanted $1" >&2; sed 's/^/    stderr: /' "$tmp/err" >&2; return 1; }; }
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

start_server "$tmp/server.log" --data-dir "$tmp/data" || { not_ok "workload_server starts"; finish; }
URL=http://127.0.0.1:$SERVER_PORT/

curl -sf "${URL}stats" >"$tmp/stats-before.json"
bh --url "$URL" --duration 2 --concurrency 8 --json "$tmp/mixed.json"
curl -sf "${URL}stats" >"$tmp/stats-after.json"
check "mixed profile against workload_server exits 0" rc_is 0
check "mixed profile: no errors of any kind" jtrue "$tmp/mixed.json" \
	'd["totals"]["errors"] == 0 and d["totals"]["ok"] > 100'
check "mixed profile: all five endpoints answered" jtrue "$tmp/mixed.json" \
	'sorted(e["path"].split("?")[0] for e in d["endpoints"] if e["ok"] > 0) == ["/compress", "/cpu", "/file", "/json", "/post"]'
check "mixed profile: POST /post with a 16 KiB body succeeds" jtrue "$tmp/mixed.json" \
	'E("/post?kb=16")["ok"] > 0 and d["options"]["mix"][4]["method"] == "POST" and d["options"]["mix"][4]["body_kb"] == 16'
check "mixed profile: each endpoint gets about a fifth" jtrue "$tmp/mixed.json" \
	'all(0.14 < e["responses"] / d["totals"]["responses"] < 0.26 for e in d["endpoints"])'
python3 - "$tmp/stats-before.json" "$tmp/stats-after.json" "$tmp/mixed.json" >"$tmp/served" <<'PY'
import json, sys
def total(s):
    r = json.load(open(s))["requests"]
    return sum(r[k] for k in ("cpu", "json", "compress", "file", "post"))
t = json.load(open(sys.argv[3]))["totals"]
print(total(sys.argv[2]) - total(sys.argv[1]), t["responses"], t["in_flight_at_end"])
PY
read -r served counted in_flight <"$tmp/served"
echo "# server counted $served requests; bench_http $counted responses, $in_flight in flight at the end"
check "the server's request count matches: counted <= served <= counted + in flight" \
	[ "$counted" -gt 0 -a "$served" -ge "$counted" -a "$served" -le $((counted + in_flight)) ]

for p in cpu json compress file post; do
	bh --url "$URL" --duration 0.5 --concurrency 2 --profile $p --json "$tmp/$p.json"
	check "profile $p: all ok" jtrue "$tmp/$p.json" \
		'd["totals"]["errors"] == 0 and d["totals"]["ok"] > 0 and len(d["endpoints"]) == 1'
done

bh --url "$URL" --duration 2 --concurrency 4 --rate 300 --profile mixed --json "$tmp/open.json"
check "open loop at 300/s for 2 s schedules 600 requests, no errors" jtrue "$tmp/open.json" \
	'abs(d["totals"]["responses"] + d["totals"]["in_flight_at_end"] + d["totals"]["backlog_at_end"] - 600) <= 1 and d["totals"]["responses"] >= 480 and d["totals"]["errors"] == 0'

printf '[{"method":"POST","path":"/post?kb=8","body_kb":4}]' >"$tmp/wrong.json"
bh --url "$URL" --duration 0.5 --concurrency 1 --mix-file "$tmp/wrong.json" --json "$tmp/wrong.out.json"
check "a body that does not match kb is refused by the server: exit 1" rc_is 1
check "... counted as 4xx with the status" jtrue "$tmp/wrong.out.json" \
	'd["errors"]["4xx"] > 0 and d["error_causes"]["4xx"][0]["code"] == 400'

mkdir -p "$tmp/v6"
"$BIN/workload_server" --port 0 --bind ::1 --data-dir "$tmp/data" 2>"$tmp/v6/log" &
v6_pid=$!
on_exit "kill $v6_pid 2>/dev/null; wait $v6_pid 2>/dev/null"
if wait_for "workload_server on ::1" 20 grep -q 'listening on' "$tmp/v6/log"; then
	v6_port=$(sed -n 's/.*listening on .*:\([0-9]*\) (.*/\1/p' "$tmp/v6/log")
	bh --url "http://[::1]:$v6_port" --duration 0.5 --concurrency 2 --json "$tmp/v6.json"
	check "IPv6 literal URL against workload_server" jtrue "$tmp/v6.json" \
		'd["totals"]["errors"] == 0 and d["totals"]["ok"] > 0'
else
	skip "workload_server cannot listen on ::1 here"
fi

finish
