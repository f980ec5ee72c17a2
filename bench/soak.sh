#!/usr/bin/env bash
# Soak: DURATION seconds (default 1800) of bench_http's mixed profile at 256 connections
# against workload_server (one thread per connection, so none waits in the accept queue) in a
# cgroup, with http_energy collecting the interval CSV (all through collect_signals). Checks,
# and prints as figures, that
#  - the CSV rows are contiguous (interval numbers 0, 1, ... and each t_start_ns is the
#    previous t_end_ns) and none is lost (the rows cover the collector's whole run);
#  - the collector's RSS is flat (mean of the last third vs the first third of samples);
#  - its maps stay bounded (entries of conns, proc_energy_uj and exited_tgids, sampled);
#  - every response is intact (bench_http: no errors of any kind, no invalid header).
# usage: DURATION=SEC [CONCURRENCY=256] [SAMPLE_S=5] bench/soak.sh   (root; exit 1 when a
# check fails). The figures are the last lines, the summary last.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
DURATION=${DURATION:-1800}
CONCURRENCY=${CONCURRENCY:-256}
SAMPLE_S=${SAMPLE_S:-5}
[ "$(id -u)" = 0 ] || { echo "soak: needs root" >&2; exit 1; }
for p in collect_signals http_energy workload_server bench_http; do
	[ -x "$BUILD/bin/$p" ] || { echo "soak: $BUILD/bin/$p: not built (make programs)" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/soak.XXXXXX)
cs=""
cleanup() {
	[ -n "$cs" ] && kill -INT "$cs" 2>/dev/null && wait "$cs" 2>/dev/null
	[ -n "${KEEP:-}" ] && echo "soak: files kept in $tmp" >&2 || rm -rf "$tmp"
}
trap cleanup EXIT
printf 'attribution_mode = psys\nenergy_source = synthetic\nidle_power_uw = 9500000\npsys_interval_ms = 200\n' \
	>"$tmp/energy.conf"

"$BUILD/bin/collect_signals" --cgroup "http_energy_soak_$$" --use-workload-server \
	--output-csv "$tmp/run.csv" --benchmark-json "$tmp/bench.json" --duration "$DURATION" \
	--concurrency "$CONCURRENCY" --server-threads "$CONCURRENCY" --profile mixed \
	--config "$tmp/energy.conf" \
	--label soak --status-json "$tmp/status.json" >"$tmp/cs.out" 2>"$tmp/cs.err" &
cs=$!

# The collector's pid once collect_signals says it is ready.
pid=""
for _ in $(seq 600); do
	pid=$(sed -n 's/.*http_energy: pid \([0-9]*\) ready.*/\1/p' "$tmp/cs.err" | head -1)
	[ -n "$pid" ] && break
	kill -0 "$cs" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$pid" ]; then
	echo "soak: http_energy never became ready:" >&2
	sed 's/^/  /' "$tmp/cs.err" >&2
	exit 1
fi

# Its hash maps by name (ids from its descriptors: other collectors may run too).
declare -A map_id map_cap
ids=$(grep -hE '^map_id:' /proc/"$pid"/fdinfo/* 2>/dev/null | awk '{ print $2 }' | sort -u)
while read -r id name cap; do
	case $name in
	conns | proc_energy_uj | exited_tgids) map_id[$name]=$id map_cap[$name]=$cap ;;
	*.bss) bss_id=$id ;;
	esac
done < <(bpftool map show -j | jq -r --argjson ids "[$(echo $ids | tr ' ' ',')]" \
	'.[] | select(.id as $i | $ids | index($i)) | "\(.id) \(.name) \(.max_entries)"')
maps="conns proc_energy_uj exited_tgids"
# conns is socket storage (no dump, no max_entries): the object counts its entries in .bss
# (conns_live), against --max-connections (collect_signals: the default, 65536).
[ -n "${map_id[conns]:-}" ] && map_cap[conns]=65536
# entries ID: a hash map's entry count (-1 when it cannot be read).
entries() {
	local n
	if [ "$1" = "${map_id[conns]:-}" ]; then
		n=$(bpftool -j map dump id "${bss_id:-0}" 2>/dev/null |
			jq '[.. | objects | .conns_live? // empty] | first // -1')
		echo "${n:--1}"
		return
	fi
	n=$(bpftool map dump id "$1" 2>/dev/null | grep -cE '^[[:space:]]*"?key"?:') || true
	echo "${n:--1}"
}

# Samples: "t rss_kb conns proc_energy_uj exited_tgids", every SAMPLE_S until the end.
while kill -0 "$pid" 2>/dev/null; do
	rss=$(awk '/^VmRSS/ { print $2 }' /proc/"$pid"/status 2>/dev/null)
	[ -n "$rss" ] || break
	line="$SECONDS $rss"
	for m in $maps; do line="$line $([ -n "${map_id[$m]:-}" ] && entries "${map_id[$m]}" || echo -1)"; done
	# Only whole samples: the collector may have exited while this one was taken.
	kill -0 "$pid" 2>/dev/null && echo "$line" >>"$tmp/samples"
	sleep "$SAMPLE_S"
done
wait "$cs"
cs_rc=$?
cs=""

fail=0
bad() { echo "soak: FAILED: $*"; fail=1; }
[ "$cs_rc" = 0 ] || bad "collect_signals exited $cs_rc: $(tail -n 1 "$tmp/cs.err")"

# Rows: contiguous, none lost.
read -r rows gaps breaks span_ns < <(awk -F, 'NR == 1 { next }
	{ n++; if ($1 != n - 1) gaps++; if (n > 1 && $3 != prev) breaks++; prev = $4
	  if (n == 1) first = $3; last = $4 }
	END { printf "%d %d %d %.0f\n", n, gaps + 0, breaks + 0, last - first }' "$tmp/run.csv")
expect=$(awk -v s="$span_ns" 'BEGIN { printf "%d", s / 200000000 + 0.5 }')
[ "$gaps" = 0 ] || bad "$gaps rows out of sequence"
[ "$breaks" = 0 ] || bad "$breaks rows do not start where the previous ended"
# A sampler that falls behind writes a longer row (and says so): fewer rows, none lost.
behind=$(grep -c 'sampler fell behind' "$tmp/collector.log" 2>/dev/null || true)
[ "$rows" -ge $((expect - 1 - ${behind:-0})) ] && [ "$rows" -le $((expect + 1)) ] ||
	bad "$rows rows for $((span_ns / 1000000)) ms of 200 ms intervals ($expect expected)"

# RSS flat: last third vs first third (at least 3 samples each), within 10% + 1 MiB.
n=$(wc -l <"$tmp/samples")
read -r rss_first rss_last < <(awk -v n="$n" '{ r[NR] = $2 } END {
	k = int(n / 3); if (k < 1) k = 1
	for (i = 1; i <= k; i++) a += r[i]; for (i = n - k + 1; i <= n; i++) b += r[i]
	printf "%d %d\n", a / k, b / k }' "$tmp/samples")
[ "$n" -ge 6 ] || bad "only $n RSS samples (run longer, or a lower SAMPLE_S)"
[ "$rss_last" -le $((rss_first * 11 / 10 + 1024)) ] ||
	bad "collector RSS grew from $rss_first to $rss_last KiB"

# Maps bounded: never full, and the last third no larger than twice the first (+ 64).
map_fig=""
col=3
for m in $maps; do
	read -r mx first last < <(awk -v c="$col" -v n="$n" '{ v[NR] = $c; if ($c > mx) mx = $c } END {
		k = int(n / 3); if (k < 1) k = 1
		for (i = 1; i <= k; i++) if (v[i] > a) a = v[i]
		for (i = n - k + 1; i <= n; i++) if (v[i] > b) b = v[i]
		printf "%d %d %d\n", mx, a, b }' "$tmp/samples")
	col=$((col + 1))
	if [ -z "${map_id[$m]:-}" ]; then
		map_fig="$map_fig $m n/a;"
		continue
	fi
	cap=${map_cap[$m]}
	map_fig="$map_fig $m max $mx of $cap;"
	[ "$mx" -lt "$cap" ] || bad "map $m filled up ($mx of $cap entries)"
	[ "$last" -le $((first * 2 + 64)) ] || bad "map $m keeps growing ($first -> $last entries)"
done

# Responses intact.
read -r responses errors parse invalid < <(jq -r '[.totals.responses, .totals.errors,
	.errors.parse, .energy.invalid_headers] | map(. // -1) | @tsv' "$tmp/bench.json")
[ "$responses" -gt 0 ] || bad "no responses"
[ "$errors" = 0 ] || bad "$errors responses with errors ($(jq -c .errors "$tmp/bench.json"))"
[ "$invalid" = 0 ] || bad "$invalid invalid X-Energy-Score headers"
headers=$(jq -r '.energy.responses_with_header' "$tmp/bench.json")

echo "soak: rows $rows contiguous over $((span_ns / 1000000000)) s, $gaps gaps, $breaks breaks"
echo "soak: collector RSS $rss_first -> $rss_last KiB (first vs last third of $n samples)"
echo "soak: map entries:${map_fig%;}"
echo "soak: responses $responses, errors $errors (parse $parse), invalid headers $invalid, with header $headers"
echo "soak $DURATION s mixed at $CONCURRENCY conns: $([ $fail = 0 ] && echo PASS || echo FAIL); rows $rows/$expect contiguous, RSS $rss_first->$rss_last KiB, responses $responses ($errors errors)"
exit $fail
