#!/usr/bin/env bash
# Figure: how close the per-request energy of http_energy comes to the truth on four kinds
# of server (issue 13). Model mode with a known µJ/ns (K), so a request's true energy is its
# own CPU time × K:
#  - truth: each request class run ALONE (closed loop), the server's on-CPU ns from
#    /proc/PID/task/*/schedstat (all its threads; nginx: its one worker) over the run,
#    divided by the responses and the requests in flight at the end, × K; the collector
#    attached (one per server kind, for its three runs);
#  - the mean X-Energy-Score per class alone, then with the classes MIXED on the same
#    connections, and (when the build has --request-log) the mean record energy per class
#    and the conservation check: Σ records + the not-a-request share = server CPU × K.
# Then the truths INSIDE mixed load (schedstat, never our records' energy): on
# workload_server, the classes on class-pure connections (two bench_http at once) and each
# class's threads' CPU; on every kind, mixes of 50, 500 and 5000 tiny per heavy and a
# least-squares fit of the server's CPU = a*n_heavy + b*n_tiny over them and the 1:1 run;
# and each server's own per-request clock (workload_server --self-cpu, Go's and Node's GET
# /self-cpu; nginx: $BUILD/bin/nginx_clock, uprobes on its worker for the whole nginx part,
# a request named by the file it serves, so each nginx run has its own hard links of the
# two files: /one_m, /big.txt_r3, ...).
# Server kinds: workload_server (thread per connection), nginx with one worker (event
# loop; a gunzip-filtered 4 MiB response vs a 1-byte file), Node.js (one event loop) and
# Go net/http (goroutines over OS threads). Sources of the last two: bench/servers/.
#
# usage: bench/attribution_accuracy.sh [KIND...]   (root; KIND: workload nginx node go)
# environment: DURATION (s per run, default 10), CONCURRENCY (default 8), K (µJ per ns,
#   default 0.01), KEEP=1 keeps the temporary directory (logs, JSON, records), HEADER=0
#   runs the collector records only (--no-header --request-log: no header to compare, the
#   records' own framing path, issue 14)
# Last lines: worst |error| = X% (where) over all classes and servers, target <= 15%: met|NOT
# met; conservation worst Y% (server), target <= 2% (or: conservation n/a)
# in-mix worst |error| = X% (where, against which in-mix truth) ..., target <= 15%: met|NOT met
# Method and figures: docs/benchmarks.md
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/nginx_conf.sh
BUILD=${BUILD:-build}
DURATION=${DURATION:-10}
CONCURRENCY=${CONCURRENCY:-8}
K=${K:-0.01}
HEADER=${HEADER:-1}
me=attribution_accuracy
usage="usage: bench/attribution_accuracy.sh [KIND...]   (root; KIND: workload nginx node go; default all)
environment: DURATION (s per run, 1..600, default 10), CONCURRENCY (1..1000, default 8),
  K (uJ per ns of server CPU, default 0.01), KEEP=1 keeps the temporary directory,
  HEADER=0 runs the collector records only (--no-header --request-log)"
kinds=()
for a in "$@"; do
	case $a in
	-h | --help) echo "$usage"; exit 0 ;;
	workload | nginx | node | go) kinds+=("$a") ;;
	*) echo "$me: KIND: unknown server kind: $a (workload, nginx, node, go)" >&2; exit 2 ;;
	esac
done
[ ${#kinds[@]} -gt 0 ] || kinds=(workload nginx node go)
# in_range NAME VALUE MIN MAX [int]: a usage error unless MIN <= VALUE <= MAX
in_range() {
	[[ $2 =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "$me: $1: \"$2\" is not a number" >&2; exit 2; }
	awk -v v="$2" -v lo="$3" -v hi="$4" -v isint="${5:-}" \
		'BEGIN { exit !(v + 0 >= lo && v + 0 <= hi && (isint == "" || v == int(v))) }' && return 0
	echo "$me: $1: \"$2\" is out of range $3..$4" >&2
	exit 2
}
in_range DURATION "$DURATION" 1 600
in_range CONCURRENCY "$CONCURRENCY" 1 1000 int
in_range K "$K" 0.000001 1000
[ "$HEADER" = 0 ] || [ "$HEADER" = 1 ] || { echo "$me: HEADER: \"$HEADER\" is not 0 or 1" >&2; exit 2; }

[ "$(id -u)" = 0 ] || { echo "$me: needs root (BPF, cgroups)" >&2; exit 1; }
[ -r /proc/self/schedstat ] || { echo "$me: /proc/self/schedstat: missing (a kernel without CONFIG_SCHED_INFO): no truth to compare with" >&2; exit 1; }
for b in http_energy bench_http workload_server; do
	[ -x "$BUILD/bin/$b" ] || { echo "$me: $BUILD/bin/$b: not built; run make" >&2; exit 1; }
done

tmp=$(mktemp -d)
cg_root=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break } }' /proc/self/mountinfo)
[ -n "$cg_root" ] || { echo "$me: /proc/self/mountinfo: no cgroup2 mount" >&2; exit 1; }
cg=$cg_root/http_energy_accuracy_$$
server=
collector=
clock=
stop_collector() {
	[ -n "$collector" ] || return 0
	kill -INT "$collector" 2>/dev/null || true
	wait "$collector" 2>/dev/null || true
	collector=
}
stop_server() {
	local p
	[ -n "$server" ] || return 0
	kill "$server" 2>/dev/null || true
	wait "$server" 2>/dev/null || true
	server=
	# anything the server left in the cgroup (nginx's worker)
	if [ -d "$cg" ]; then
		while read -r p; do kill -9 "$p" 2>/dev/null || true; done <"$cg/cgroup.procs"
	fi
}
# stop_clock: nginx_clock writes its JSON when it stops
stop_clock() {
	[ -n "$clock" ] || return 0
	kill -INT "$clock" 2>/dev/null || true
	wait "$clock" 2>/dev/null || true
	clock=
}
cleanup() {
	stop_collector
	stop_clock
	stop_server
	if [ -d "$cg" ]; then
		for _ in $(seq 50); do rmdir "$cg" 2>/dev/null && break; sleep 0.1; done
	fi
	if [ "${KEEP:-0}" = 1 ]; then echo "$me: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$cg"

# Model mode, no frequency entries (every frequency falls to default_multiplier), no
# penalties: a request's header should be its own CPU ns × K. The synthetic source only
# feeds the interval CSV (read for a not-a-request share, when the build writes one).
cat >"$tmp/model.conf" <<CONF
attribution_mode = model
energy_source = synthetic
default_multiplier = $K
wakeup_penalty = 0
migration_penalty = 0
psys_interval_ms = 200
CONF

# Request tracking attached to an ancestor of our cgroup (another collector on this host)
# would claim our server's connections too; say so, the figures would not be ours.
foreign=$(bpftool cgroup show "$cg_root" 2>/dev/null | awk 'NR > 1 && /sock_ops|sk_msg|inet_ingress/ { print $NF }' | sort -u | tr '\n' ' ')
[ -z "$foreign" ] || echo "$me: warning: programs attached to $cg_root, above the measured cgroup: $foreign" >&2

request_log=0
if "$BUILD/bin/http_energy" --help | grep -q -- '--request-log'; then request_log=1; fi
if [ "$HEADER" = 0 ] && [ "$request_log" = 0 ]; then
	echo "$me: HEADER=0: this build has no --request-log: nothing to compare" >&2
	exit 1
fi

# in_cgroup CMD... &: CMD replaces the background subshell, inside the cgroup (sockets
# belong to their creator's cgroup), so $! is the server's pid
in_cgroup() {
	echo "$BASHPID" >"$cg/cgroup.procs"
	exec "$@"
}

# wait_listen LOG: port from the server's "listening on ADDR:PORT" line
wait_listen() {
	local port=
	for _ in $(seq 400); do
		port=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$1" | head -1)
		[ -n "$port" ] && { echo "$port"; return 0; }
		[ -n "$server" ] && ! kill -0 "$server" 2>/dev/null && break
		sleep 0.05
	done
	echo "$me: the server did not start:" >&2
	cat "$1" >&2
	return 1
}

# Per kind: start_KIND sets server, port, truth_pids (the processes whose CPU is the
# server's), heavy, tiny (the two request classes) and probe (a path to poll with).
start_workload() {
	in_cgroup "$BUILD/bin/workload_server" --port 0 --threads 64 --data-dir "$tmp/data" \
		--self-cpu 2>"$tmp/workload.log" &
	server=$!
	port=$(wait_listen "$tmp/workload.log")
	truth_pids=$server
	heavy="/cpu?iters=3000000"
	tiny="/cpu?iters=1"
	heavy_m="/cpu?iters=03000000"
	tiny_m="/cpu?iters=01"
	probe=/healthz
}

start_nginx() {
	mkdir -p "$tmp/www"
	# 4 MiB of text, served from its gzip -9 copy and inflated by the worker for every
	# request (gzip_static always + gunzip on, as for a client that does not accept gzip):
	# a CPU-heavy filtered response. Beside it a 1-byte file.
	awk 'BEGIN { for (i = 0; i < 4 * 1024 * 1024 / 64; i++) printf "line %08d of a compressible file served by nginx, gunzipped\n", i }' |
		head -c $((4 * 1024 * 1024)) >"$tmp/www/big.txt"
	gzip -9 -k "$tmp/www/big.txt"
	rm "$tmp/www/big.txt"
	printf x >"$tmp/www/one"
	# each run's targets are their own files (hard links: the same inode, the same work),
	# so nginx_clock, which names a request by the file it serves, tells runs apart: _m the
	# mixed run, _rN run_ratio's tag N, _probe the readiness probes
	local s
	for s in m r3 r4 r5; do
		ln "$tmp/www/one" "$tmp/www/one_$s"
		ln "$tmp/www/big.txt.gz" "$tmp/www/big.txt_$s.gz"
	done
	ln "$tmp/www/one" "$tmp/www/one_probe"
	chmod 755 "$tmp" "$tmp/www" # the worker runs as nobody
	local p
	p=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	nginx_conf "$tmp" "$p" "$tmp/www" 1 \
		"keepalive_requests 1000000; keepalive_timeout 120s; default_type text/plain;" \
		"location /big.txt { gzip_static always; gunzip on; }" >"$tmp/nginx.conf"
	in_cgroup nginx -c "$tmp/nginx.conf" -e "$tmp/nginx-error.log" 2>"$tmp/nginx.log" &
	server=$!
	port=$p
	truth_pids=
	for _ in $(seq 200); do
		truth_pids=$(cat "/proc/$server/task/$server/children" 2>/dev/null || true)
		[ -n "$truth_pids" ] && curl -sf -o /dev/null "http://127.0.0.1:$port/one_probe" && break
		sleep 0.05
	done
	[ -n "$truth_pids" ] || {
		echo "$me: nginx did not start:" >&2
		cat "$tmp/nginx.log" "$tmp/nginx-error.log" >&2
		exit 1
	}
	heavy=/big.txt
	tiny=/one
	heavy_m=/big.txt_m
	tiny_m=/one_m
	probe=/one_probe
	start_clock
}

# start_clock: nginx's own per-request clock on its worker, for the whole nginx part (as
# the other servers' clocks are always on); without it the in-mix clock truth is left out
start_clock() {
	if [ ! -x "$BUILD/bin/nginx_clock" ]; then
		echo "$me: nginx: $BUILD/bin/nginx_clock: not built: no clock truth" >&2
		return 0
	fi
	# shellcheck disable=SC2086 # one pid per worker
	"$BUILD/bin/nginx_clock" --root "$tmp/www" --json "$tmp/nginx.selfcpu.json" $truth_pids \
		2>"$tmp/nginx_clock.log" &
	clock=$!
	for _ in $(seq 200); do
		grep -q 'attached' "$tmp/nginx_clock.log" && return 0
		kill -0 "$clock" 2>/dev/null || break
		sleep 0.05
	done
	echo "$me: nginx: nginx_clock did not attach: no clock truth:" >&2
	cat "$tmp/nginx_clock.log" >&2
	stop_clock
}

start_node() {
	in_cgroup node bench/servers/node_server.js 0 >"$tmp/node.log" 2>&1 &
	server=$!
	port=$(wait_listen "$tmp/node.log")
	truth_pids=$server
	heavy="/cpu?iters=6000000"
	tiny=/tiny
	heavy_m="/cpu?iters=06000000"
	tiny_m="/tiny?mixed"
	probe="/tiny?probe"
}

start_go() {
	bash bench/servers/build_go_server.sh "$tmp" || exit 1
	in_cgroup "$tmp/go_server" 0 >"$tmp/go.log" 2>&1 &
	server=$!
	port=$(wait_listen "$tmp/go.log")
	truth_pids=$server
	heavy="/cpu?iters=4000000"
	tiny=/tiny
	heavy_m="/cpu?iters=04000000"
	tiny_m="/tiny?mixed"
	probe="/tiny?probe"
}

# cpu_ns: on-CPU ns of the truth processes, all their threads
cpu_ns() {
	local p
	for p in $truth_pids; do cat /proc/"$p"/task/*/schedstat; done 2>/dev/null |
		awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# start_collector KIND: http_energy on the cgroup, one per server kind, so its request log
# and its interval CSV cover that server alone; returns once new connections get headers
start_collector() {
	local args=(--collect-csv "$tmp/$1.intervals.csv")
	[ "$request_log" = 1 ] && args+=(--request-log "$tmp/$1.records.csv")
	[ "$HEADER" = 0 ] && args+=(--no-header)
	"$BUILD/bin/http_energy" "${args[@]}" "$cg" "$tmp/model.conf" 2>"$tmp/$1.collector.log" &
	collector=$!
	# Ready when the sampler has written a row (it starts after request tracking is
	# attached) and a new connection gets the header. The row comes first: on a shared
	# machine another collector attached above this cgroup may write headers too.
	for _ in $(seq 1200); do
		if [ -s "$tmp/$1.intervals.csv" ] && [ "$(wc -l <"$tmp/$1.intervals.csv")" -ge 2 ] &&
			{ [ "$HEADER" = 0 ] ||
				curl -s -D - -o /dev/null "http://127.0.0.1:$port$probe" | grep -qi '^X-Energy-Score:'; }; then
			return 0
		fi
		kill -0 "$collector" 2>/dev/null || break
		sleep 0.05
	done
	echo "$me: the collector did not start writing X-Energy-Score:" >&2
	cat "$tmp/$1.collector.log" >&2
	return 1
}

# settle: waits (at most 5 s) until the server has finished what was in flight when the
# load stopped: its CPU time grows by less than 1 ms in 200 ms
settle() {
	local a b
	b=$(cpu_ns)
	for _ in $(seq 25); do
		sleep 0.2
		a=$b
		b=$(cpu_ns)
		[ $((b - a)) -lt 1000000 ] && break
	done
}

# run KIND RUN PATH...: one closed-loop bench_http run, equal weights over the paths.
# Appends to runs.tsv: kind, run, the server's CPU ns over the run
run() {
	local kind=$1 what=$2 name=$1.$2 c0 c1 paths=() p
	shift 2
	for p in "$@"; do paths+=(--path "$p"); done
	settle
	tid_cpu "$tmp/$name.tid0"
	c0=$(cpu_ns)
	"$BUILD/bin/bench_http" --url "http://127.0.0.1:$port" "${paths[@]}" --duration "$DURATION" \
		--concurrency "$CONCURRENCY" --threads 1 --json "$tmp/$name.json" >"$tmp/$name.bench.txt" 2>&1 ||
		{ echo "$me: bench_http failed:" >&2; cat "$tmp/$name.bench.txt" >&2; exit 1; }
	settle
	c1=$(cpu_ns)
	tid_cpu "$tmp/$name.tid1"
	printf '%s\t%s\t%s\n' "$kind" "$what" $((c1 - c0)) >>"$tmp/runs.tsv"
}

# tag PATH N: PATH made distinct by N (1..) without changing its work, so request records
# of each run can be told apart by target: leading zeros for a numeric parameter
# (workload_server refuses unknown parameters), nginx's hard link _rN of the file
# (start_nginx makes them; nginx_clock knows a request by its file), else an ignored query
tag() {
	local z
	z=$(printf "%0${2}d" 0)
	case $kind:$1 in
	nginx:*) echo "${1}_r$2" ;;
	*'?iters='*) echo "${1%%\?iters=*}?iters=$z${1#*\?iters=}" ;;
	*) echo "$1?r$2" ;;
	esac
}

# tid_cpu FILE: "tid ns" per thread of the truth processes (schedstat field 1)
tid_cpu() {
	local p t v
	for p in $truth_pids; do
		for t in /proc/"$p"/task/*; do
			read -r v _ <"$t/schedstat" 2>/dev/null && echo "${t##*/} $v"
		done
	done >"$1" || true
}

# run_split KIND: the in-mix truth of a thread-per-connection server. Two bench_http at
# once, each on its own connections with one class (CONCURRENCY split evenly): every
# server thread then serves one class, and the class's truth is the schedstat ns of its
# threads over the run (the records give only which thread served which target).
run_split() {
	local kind=$1 c0 c1 ch=$((CONCURRENCY / 2)) ct pids=() p cls
	ct=$((CONCURRENCY - ch))
	settle
	tid_cpu "$tmp/$kind.split.tid0"
	c0=$(cpu_ns)
	for cls in heavy tiny; do
		if [ $cls = heavy ]; then p=$heavy_s; else p=$tiny_s; fi
		"$BUILD/bin/bench_http" --url "http://127.0.0.1:$port" --path "$p" --duration "$DURATION" \
			--concurrency "$([ $cls = heavy ] && echo "$ch" || echo "$ct")" --threads 1 \
			--json "$tmp/$kind.split_$cls.json" >"$tmp/$kind.split_$cls.bench.txt" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p" || { echo "$me: bench_http (split run) failed:" >&2; cat "$tmp/$kind".split_*.bench.txt >&2; exit 1; }
	done
	settle
	c1=$(cpu_ns)
	tid_cpu "$tmp/$kind.split.tid1"
	printf '%s\t%s\t%s\n' "$kind" split $((c1 - c0)) >>"$tmp/runs.tsv"
}

# run_ratio KIND R: both classes on the same connections, R tiny requests per heavy one
# by weight (a --mix-file); the runs of several R give the fit of the event-loop truth
run_ratio() {
	local kind=$1 r=$2 n c0 c1
	n=$(tag "$heavy" "$3")
	printf '%s\t%s\t%s\t%s\n' "$kind" "r$r" heavy "$n" >>"$tmp/targets.tsv"
	printf '[{"path": "%s", "weight": 1}, {"path": "%s", "weight": %s}]\n' "$n" "$(tag "$tiny" "$3")" "$r" \
		>"$tmp/$kind.r$r.mix.json"
	printf '%s\t%s\t%s\t%s\n' "$kind" "r$r" tiny "$(tag "$tiny" "$3")" >>"$tmp/targets.tsv"
	settle
	c0=$(cpu_ns)
	"$BUILD/bin/bench_http" --url "http://127.0.0.1:$port" --mix-file "$tmp/$kind.r$r.mix.json" \
		--duration "$DURATION" --concurrency "$CONCURRENCY" --threads 1 \
		--json "$tmp/$kind.r$r.json" >"$tmp/$kind.r$r.bench.txt" 2>&1 ||
		{ echo "$me: bench_http failed:" >&2; cat "$tmp/$kind.r$r.bench.txt" >&2; exit 1; }
	settle
	c1=$(cpu_ns)
	printf '%s\t%s\t%s\n' "$kind" "r$r" $((c1 - c0)) >>"$tmp/runs.tsv"
}

declare -A tool=([workload]="$BUILD/bin/workload_server" [nginx]=nginx [node]=node [go]=go)
: >"$tmp/runs.tsv"
: >"$tmp/skipped.tsv"
: >"$tmp/classes.tsv"
: >"$tmp/life.tsv"
: >"$tmp/targets.tsv"
echo "$me: model mode, K = $K uJ/ns, $DURATION s per run, $CONCURRENCY connections (closed loop, bench_http), request records: $([ $request_log = 1 ] && echo "--request-log" || echo "n/a (no --request-log in this build)")$([ "$HEADER" = 0 ] && echo ", --no-header (records only)")"
for kind in "${kinds[@]}"; do
	if ! command -v "${tool[$kind]}" >/dev/null; then
		echo "$me: $kind: skipped: ${tool[$kind]} not found (scripts/install-deps.sh installs it)"
		printf '%s\t%s not found\n' "$kind" "${tool[$kind]}" >>"$tmp/skipped.tsv"
		continue
	fi
	t0=$SECONDS
	start_"$kind"
	# the mixed run's targets differ from the alone runs' (a leading zero, an ignored query,
	# nginx's hard link of the file) but do the same work, so records of each run can be told apart by target
	printf '%s\t%s\t%s\t%s\t%s\n' "$kind" "$heavy" "$tiny" "$heavy_m" "$tiny_m" >>"$tmp/classes.tsv"
	start_collector "$kind"
	l0=$(cpu_ns)
	run "$kind" heavy "$heavy"
	run "$kind" tiny "$tiny"
	run "$kind" mixed "$heavy_m" "$tiny_m"
	# the in-mix truths: class-pure connections (thread per connection only), and mixes
	# of 50, 500 and 5000 tiny requests per heavy one for the fit (every kind)
	if [ "$kind" = workload ] && [ "$CONCURRENCY" -ge 2 ]; then
		heavy_s=$(tag "$heavy" 2)
		tiny_s=$(tag "$tiny" 2)
		printf '%s\tsplit\theavy\t%s\n%s\tsplit\ttiny\t%s\n' "$kind" "$heavy_s" "$kind" "$tiny_s" \
			>>"$tmp/targets.tsv"
		run_split "$kind"
	fi
	run_ratio "$kind" 50 3
	run_ratio "$kind" 500 4
	run_ratio "$kind" 5000 5
	stop_collector
	l1=$(cpu_ns)
	case $kind in
	nginx) stop_clock ;; # nginx_clock writes $tmp/nginx.selfcpu.json
	node | workload | go) # the server's own clock per target (not tracked any more)
		python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' \
			"http://127.0.0.1:$port/self-cpu" >"$tmp/$kind.selfcpu.json" ||
			{ echo "$me: $kind: GET /self-cpu failed" >&2; rm -f "$tmp/$kind.selfcpu.json"; }
	esac
	# the server's CPU ns over the collector's whole life, for the conservation check
	printf '%s\t%s\n' "$kind" $((l1 - l0)) >>"$tmp/life.tsv"
	stop_server
	echo "$me: $kind: done in $((SECONDS - t0)) s"
done

python3 bench/attribution_accuracy.py "$tmp" "$K" "$request_log" "$HEADER"
