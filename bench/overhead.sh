#!/usr/bin/env bash
# Figure (issue 14): what measuring costs the requests it measures. In ONE run, with
# alternating runs (off, mode, off, mode, ... off; the order of the modes reversed every
# other round), for each workload and mode:
#   - throughput ratio vs the adjacent "off" runs, p99 latency change,
#   - ADDED CPU PER REQUEST in us: host CPU time (/proc/stat user+system+irq+softirq, all
#     CPUs) over the run / requests, minus the same for the adjacent "off" runs; also the
#     same from the server's and the load generator's cgroups only (cpu.stat usage_usec),
#     which other work on a shared host does not reach,
#   - with kernel.bpf_stats_enabled=1 (one extra run per mode, restored after): per BPF
#     program, ns per run, runs per request and ns per request; sched_switch ns per run.
# Workloads (127.0.0.1 only, 8 connections, 2 wrk threads): nginx serving a 1-byte file,
# workload_server /json?items=1, workload_server /cpu?iters=N (N calibrated so a request
# takes >= 200 us), bench_http's mixed profile against workload_server.
# Modes: off; on (psys, X-Energy-Score header); no-header (http_energy --no-header);
# records (--no-header --request-log: records only, framed from cgroup_skb/egress, no socket
# map); records-skmsg (the same with --sk-msg-framing: sk_msg frames, the framer before
# issue 14; not in the default MODES);
# no-requests (signals only); floor (bin/skmsg_floor: sockops puts sockets in a sockhash,
# sk_msg returns SK_PASS); sockops (skmsg_floor --no-msg: sockops and the sockhash, no
# sk_msg); tp-floor (skmsg_floor --tp: empty tp_btf/sched_switch and softirq_entry
# programs, the floor of the scheduler hooks; not in the default MODES); hooks (skmsg_floor
# --hooks: programs that return at once at every hook records use) and hooks-clock (the
# same, each reading the clock where the collector's program needs a time): the floor of
# the design, what no program at those hooks can go below (not in the default MODES). A
# mode the build lacks prints "n/a (not in this build)".
# docs/overhead.md explains the figures. The key figures are the last lines.
#
# usage: bench/overhead.sh [SECONDS_PER_RUN=3] [PAIRS=2]    (root)
# environment: RUN_SECONDS, PAIRS (same as the arguments), WORKLOADS="nginx json cpu mixed",
#   MODES="on no-header records no-requests floor sockops", CONNS=8, THREADS=2, STATS=1 (0: no
#   bpf_stats runs), STATS_SECONDS=2 (length of those), CPU_TARGET_US=300 (what /cpu calibration aims at), KEEP=1 (keep the
#   raw data directory and say where).
# Default duration: about 7 minutes with the 6 default modes (on a loaded 2-core VM the
# collector's start-up takes a few seconds per run).
set -euo pipefail
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then
	sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
	exit 0
fi
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
secs=${1:-${RUN_SECONDS:-3}}
pairs=${2:-${PAIRS:-2}}
conns=${CONNS:-8}
threads=${THREADS:-2}
stats=${STATS:-1}
stats_secs=${STATS_SECONDS:-2}
cpu_target_us=${CPU_TARGET_US:-300}
workloads=${WORKLOADS:-nginx json cpu mixed}
modes=${MODES:-on no-header records no-requests floor sockops}
prog=overhead

die() {
	echo "$prog: $*" >&2
	exit 1
}
usage_die() {
	echo "$prog: $*" >&2
	exit 2
}
[[ $secs =~ ^[1-9][0-9]*$ ]] && [ "$secs" -le 600 ] ||
	usage_die "SECONDS_PER_RUN: \"$secs\" is not a whole number in 1..600"
[[ $pairs =~ ^[1-9][0-9]*$ ]] && [ "$pairs" -le 100 ] ||
	usage_die "PAIRS: \"$pairs\" is not a whole number in 1..100"
[[ $stats_secs =~ ^[1-9][0-9]*$ ]] && [ "$stats_secs" -le 600 ] ||
	usage_die "STATS_SECONDS: \"$stats_secs\" is not a whole number in 1..600"
[[ $conns =~ ^[1-9][0-9]*$ ]] || usage_die "CONNS: \"$conns\" is not a whole number"
[[ $threads =~ ^[1-9][0-9]*$ ]] && [ "$threads" -le "$conns" ] ||
	usage_die "THREADS: \"$threads\" is not a whole number in 1..CONNS"
for w in $workloads; do
	case $w in nginx | json | cpu | mixed) ;; *) usage_die "WORKLOADS: \"$w\" is not one of nginx json cpu mixed" ;; esac
done
for m in $modes; do
	case $m in on | no-header | records | records-skmsg | no-requests | floor | sockops | tp-floor | hooks | hooks-clock) ;;
	*) usage_die "MODES: \"$m\" is not one of on no-header records records-skmsg no-requests floor sockops tp-floor hooks hooks-clock" ;;
	esac
done
[ "$(id -u)" = 0 ] || die "needs root (BPF, cgroups, sysctl)"
for t in wrk bpftool python3 curl; do
	command -v "$t" >/dev/null || die "$t: not installed (scripts/install-deps.sh)"
done
for b in http_energy workload_server bench_http skmsg_floor; do
	[ -x "$BUILD/bin/$b" ] || die "$BUILD/bin/$b: missing (make programs)"
done

tmp=$(mktemp -d /tmp/http_energy_overhead.XXXXXX)
chmod 755 "$tmp" # nginx's worker runs as nobody and reads $tmp/www
cg_root=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break } }' /proc/self/mountinfo)
[ -n "$cg_root" ] || die "/proc/self/mountinfo: no cgroup2 mount"
cg_srv=$cg_root/http_energy_overhead_srv_$$
cg_cli=$cg_root/http_energy_overhead_cli_$$
old_stats=$(sysctl -n kernel.bpf_stats_enabled)
ws_pid=
nginx_pid=
mode_pid=
load_pid=

cleanup() {
	set +e
	[ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null && wait "$load_pid" 2>/dev/null
	[ -n "$mode_pid" ] && kill -INT "$mode_pid" 2>/dev/null && wait "$mode_pid" 2>/dev/null
	[ -n "$nginx_pid" ] && kill -TERM "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
	[ -n "$ws_pid" ] && kill -TERM "$ws_pid" 2>/dev/null && wait "$ws_pid" 2>/dev/null
	sysctl -q -w kernel.bpf_stats_enabled="$old_stats"
	for cg in "$cg_srv" "$cg_cli"; do
		# nginx's worker may outlive its master by a moment
		for _ in $(seq 50); do [ -d "$cg" ] || break; rmdir "$cg" 2>/dev/null && break; sleep 0.1; done
		[ -d "$cg" ] && echo "$prog: $cg: could not be removed" >&2
	done
	if [ "${KEEP:-0}" = 1 ]; then echo "$prog: raw data kept in $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir "$cg_srv" "$cg_cli"

# ---- what this build of http_energy can do ----
help=$("$BUILD/bin/http_energy" --help)
has_opt() { grep -q -- "$1" <<<"$help"; }
mode_available() {
	case $1 in
	on | floor | sockops) return 0 ;;
	no-header) has_opt --no-header ;;
	records) has_opt --no-header && has_opt --request-log ;;
	records-skmsg) has_opt --sk-msg-framing ;;
	no-requests) has_opt --no-requests ;;
	tp-floor) "$BUILD/bin/skmsg_floor" --help | grep -q -- --tp ;;
	hooks | hooks-clock) "$BUILD/bin/skmsg_floor" --help | grep -q -- --hooks ;;
	esac
}
avail_modes=
for m in $modes; do mode_available "$m" && avail_modes+="$m "; done
avail_modes=${avail_modes% }
printf 'attribution_mode = psys\nenergy_source = synthetic\nidle_power_uw = 9500000\npsys_interval_ms = 200\n' >"$tmp/energy.conf"

# ---- helpers ----
cat >"$tmp/done.lua" <<'EOF'
done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("WRK %d %d %d %d %d\n", summary.requests, summary.duration,
		latency:percentile(99), latency:percentile(50),
		e.connect + e.read + e.write + e.status + e.timeout))
end
EOF

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# host_cpu_us: user+system+irq+softirq of all CPUs, in us.
host_cpu_us() {
	awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { printf "%.0f\n", ($2 + $4 + $7 + $8) * 1e6 / hz; exit }' /proc/stat
}
cg_cpu_us() {
	local sum=0 v
	for cg in "$cg_srv" "$cg_cli"; do
		v=$(awk '$1 == "usage_usec" { print $2 }' "$cg/cpu.stat")
		sum=$((sum + v))
	done
	echo "$sum"
}

start_ws() {
	bash -c "echo \$\$ > $cg_srv/cgroup.procs; exec $BUILD/bin/workload_server --port 0 --threads $((conns * 2)) --data-dir $tmp/ws" \
		2>"$tmp/ws.log" &
	ws_pid=$!
	for _ in $(seq 300); do grep -q 'listening on' "$tmp/ws.log" && break; sleep 0.05; done
	ws_port=$(sed -n 's/.*listening on .*:\([0-9]*\) (.*/\1/p' "$tmp/ws.log")
	[ -n "$ws_port" ] || { cat "$tmp/ws.log" >&2; die "workload_server did not start"; }
}

start_nginx() {
	mkdir -p "$tmp/nginx/logs" "$tmp/www"
	printf x >"$tmp/www/1b"
	chmod 755 "$tmp/www" && chmod 644 "$tmp/www/1b"
	for _ in 1 2 3; do
		nginx_port=$(free_port)
		cat >"$tmp/nginx/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	keepalive_requests 1000000;
	default_type application/octet-stream;
	server {
		listen 127.0.0.1:$nginx_port;
		root $tmp/www;
	}
}
EOF
		bash -c "echo \$\$ > $cg_srv/cgroup.procs; exec nginx -p $tmp/nginx -c $tmp/nginx/nginx.conf -e $tmp/nginx/logs/error.log" \
			2>>"$tmp/nginx/logs/stderr" &
		nginx_pid=$!
		for _ in $(seq 100); do
			curl -sf -o /dev/null "http://127.0.0.1:$nginx_port/1b" && return 0
			kill -0 "$nginx_pid" 2>/dev/null || break
			sleep 0.05
		done
		kill -TERM "$nginx_pid" 2>/dev/null
		wait "$nginx_pid" 2>/dev/null || true
		nginx_pid=
	done
	cat "$tmp/nginx/logs/error.log" "$tmp/nginx/logs/stderr" >&2 2>/dev/null
	return 1
}

# load WORKLOAD OUT [SECONDS]: one run of the load generator (in its own cgroup); writes
# "requests duration_us p99_us p50_us errors host_cpu_us cg_cpu_us" to OUT.
load() {
	local w=$1 out=$2 secs=${3:-$secs} h0 h1 c0 c1 url res
	h0=$(host_cpu_us)
	c0=$(cg_cpu_us)
	if [ "$w" = mixed ]; then
		bash -c "echo \$\$ > $cg_cli/cgroup.procs; exec $BUILD/bin/bench_http --url http://127.0.0.1:$ws_port --profile mixed --duration $secs --concurrency $conns --threads $threads --warmup 0 --json $out.json" \
			>"$out.log" 2>&1 &
	else
		case $w in
		nginx) url=http://127.0.0.1:$nginx_port/1b ;;
		json) url="http://127.0.0.1:$ws_port/json?items=1" ;;
		cpu) url="http://127.0.0.1:$ws_port/cpu?iters=$cpu_iters" ;;
		esac
		bash -c "echo \$\$ > $cg_cli/cgroup.procs; exec wrk -t$threads -c$conns -d${secs}s -s $tmp/done.lua '$url'" \
			>"$out.log" 2>&1 &
	fi
	load_pid=$!
	wait "$load_pid" || true
	load_pid=
	h1=$(host_cpu_us)
	c1=$(cg_cpu_us)
	if [ "$w" = mixed ]; then
		res=$(python3 -c 'import json, sys
d = json.load(open(sys.argv[1])); t = d["totals"]; l = t["latency"]
print(t["responses"], round(d["measured_s"] * 1e6), round(l.get("p99_us") or 0),
      round(l.get("p50_us") or 0), t["errors"])' "$out.json" 2>/dev/null) || res=
	else
		res=$(awk '$1 == "WRK" { print $2, $3, $4, $5, $6 }' "$out.log")
	fi
	[ -n "$res" ] || { cat "$out.log" >&2; die "$w: the load generator gave no result"; }
	echo "$res $((h1 - h0)) $((c1 - c0))" >"$out"
}

# start_mode MODE NAME: attaches what MODE measures; returns when it is in effect.
start_mode() {
	local m=$1 log=$tmp/$2.mode.log ready seen_collecting=
	case $m in
	off) return 0 ;;
	on) "$BUILD/bin/http_energy" "$cg_srv" "$tmp/energy.conf" 2>"$log" & ;;
	no-header) "$BUILD/bin/http_energy" --no-header "$cg_srv" "$tmp/energy.conf" 2>"$log" & ;;
	records) "$BUILD/bin/http_energy" --no-header --request-log "$tmp/$2.records.csv" "$cg_srv" \
		"$tmp/energy.conf" 2>"$log" & ;;
	records-skmsg) "$BUILD/bin/http_energy" --no-header --sk-msg-framing --request-log \
		"$tmp/$2.records.csv" "$cg_srv" "$tmp/energy.conf" 2>"$log" & ;;
	no-requests) "$BUILD/bin/http_energy" --no-requests "$cg_srv" "$tmp/energy.conf" 2>"$log" & ;;
	floor) "$BUILD/bin/skmsg_floor" "$cg_srv" 2>"$log" & ;;
	sockops) "$BUILD/bin/skmsg_floor" --no-msg "$cg_srv" 2>"$log" & ;;
	tp-floor) "$BUILD/bin/skmsg_floor" --tp "$cg_srv" 2>"$log" & ;;
	hooks) "$BUILD/bin/skmsg_floor" --hooks "$cg_srv" 2>"$log" & ;;
	hooks-clock) "$BUILD/bin/skmsg_floor" --hooks --clock "$cg_srv" 2>"$log" & ;;
	esac
	mode_pid=$!
	case $m in
	floor | sockops | tp-floor | hooks | hooks-clock) ready='attached:' ;;
	no-requests) ready='collecting' ;;
	*) ready='first uJ/score factor' ;;
	esac
	# A loaded host can take seconds to load and verify the collector.
	for i in $(seq 1200); do
		if grep -q "$ready" "$log"; then
			# the collector's own CPU from here (its start-up is not per record)
			mode_ticks=$(awk '{ print $14 + $15 }' /proc/"$mode_pid"/stat 2>/dev/null)
			return 0
		fi
		kill -0 "$mode_pid" 2>/dev/null || break
		# a build whose --no-header prints no factor line: collecting is enough after 3 s
		if [ "$m" = no-header ] && grep -q 'collecting' "$log"; then
			[ -z "$seen_collecting" ] && seen_collecting=$i
			[ $((i - seen_collecting)) -ge 60 ] && return 0
		fi
		sleep 0.05
	done
	cat "$log" >&2
	die "mode $m did not start"
}
# stop_mode MODE NAME: detaches; writes what the mode says it did (headers, sockets) to
# $tmp/NAME.note.
stop_mode() {
	local m=$1 log=$tmp/$2.mode.log rc=0 ticks rows
	: >"$tmp/$2.note"
	[ "$m" = off ] && return 0
	ticks=$(awk '{ print $14 + $15 }' /proc/"$mode_pid"/stat 2>/dev/null)
	kill -INT "$mode_pid"
	wait "$mode_pid" || rc=$?
	mode_pid=
	[ "$rc" = 0 ] || die "mode $m exited with $rc (log: $(tail -1 "$log"))"
	case $m in
	floor | sockops) sed -n 's/^skmsg_floor: \([0-9]*\) sockets put.*/\1 sockets in the sockhash/p' "$log" ;;
	no-requests) echo "signals only" ;;
	tp-floor) echo "empty tp_btf programs" ;;
	hooks) echo "empty programs at records' hooks" ;;
	hooks-clock) echo "programs at records' hooks, clock reads only" ;;
	*) sed -n 's/.* \([0-9]*\) X-Energy-Score headers written.*/\1 headers written/p' "$log" ;;
	esac >"$tmp/$2.note"
	# records: the collector's CPU (utime + stime, clock ticks) per record written
	rows=$(sed -n 's/.* \([0-9]*\) records written to .*/\1/p' "$log")
	if [ -n "$rows" ] && [ -n "$ticks" ] && [ -n "$mode_ticks" ]; then
		rows=$(awk -v r="$rows" -v t=$((ticks - mode_ticks)) -v hz="$(getconf CLK_TCK)" 'BEGIN {
			printf ", %d records, collector %.2f us CPU/record", r, r ? t / hz * 1e6 / r : 0 }')
		printf '%s%s' "$(cat "$tmp/$2.note")" "$rows" >"$tmp/$2.note"
	fi
}

# prog_ids PID: the BPF programs PID holds (its fds' fdinfo).
prog_ids() {
	cat /proc/"$1"/fdinfo/* 2>/dev/null | awk '$1 == "prog_id:" { print $2 }' | sort -un | tr '\n' ' '
}
prog_snapshot() {
	bpftool prog show --json >"$2" || die "bpftool prog show failed"
	echo "$1" >"$2.ids"
}

# bpf_stats_run WORKLOAD MODE: one more run of WORKLOAD with kernel.bpf_stats_enabled=1
# while MODE is still attached; appends each of its programs' runs and run time to
# stats.tsv.
bpf_stats_run() {
	local w=$1 m=$2 name=$1.stats.$2 ids n
	ids=$(prog_ids "$mode_pid")
	sysctl -q -w kernel.bpf_stats_enabled=1
	prog_snapshot "$ids" "$tmp/$name.before"
	load "$w" "$tmp/$name" "$stats_secs"
	prog_snapshot "$ids" "$tmp/$name.after"
	sysctl -q -w kernel.bpf_stats_enabled="$old_stats"
	read -r n _ <"$tmp/$name"
	python3 - "$tmp/$name.before" "$tmp/$name.after" "$n" "$w" "$m" >>"$stats_tsv" <<'EOF'
import json, sys
before, after, n, w, m = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
ids = {int(x) for x in open(before + ".ids").read().split()}
b = {p["id"]: p for p in json.load(open(before))}
for p in json.load(open(after)):
    if p["id"] not in ids or p["id"] not in b:
        continue
    runs = p.get("run_cnt", 0) - b[p["id"]].get("run_cnt", 0)
    ns = p.get("run_time_ns", 0) - b[p["id"]].get("run_time_ns", 0)
    if runs <= 0:
        continue
    print(f"{w}\t{m}\t{p['type']}\t{p['name']}\t{runs}\t{ns}\t{n}")
EOF
}

# ---- servers and calibration ----
want() { grep -qw "$1" <<<"$workloads"; }
have_nginx=1
if want nginx; then
	if ! command -v nginx >/dev/null; then
		have_nginx=0
	elif ! start_nginx; then
		die "nginx did not start"
	fi
fi
if want json || want cpu || want mixed; then start_ws; fi

cpu_iters=0
if want cpu; then
	# N so that one request takes about CPU_TARGET_US (>= 200 us) of the server's CPU: the
	# server cgroup's CPU time over requests (one connection), which other work on the
	# host does not inflate the way it does latency.
	cpu_iters=50000
	for _ in 1 2 3; do
		c0=$(awk '$1 == "usage_usec" { print $2 }' "$cg_srv/cpu.stat")
		wrk -t1 -c1 -d1s -s "$tmp/done.lua" "http://127.0.0.1:$ws_port/cpu?iters=$cpu_iters" >"$tmp/calib.log" 2>&1 || true
		c1=$(awk '$1 == "usage_usec" { print $2 }' "$cg_srv/cpu.stat")
		n=$(awk '$1 == "WRK" { print $2 }' "$tmp/calib.log")
		[ -n "$n" ] && [ "$n" -gt 0 ] || die "calibrating /cpu failed: $(tail -2 "$tmp/calib.log")"
		cpu_req_us=$(((c1 - c0) / n))
		[ "$cpu_req_us" -gt 0 ] || cpu_req_us=1
		[ "$cpu_req_us" -ge 200 ] && [ "$cpu_req_us" -le $((cpu_target_us * 2)) ] && break
		cpu_iters=$(((cpu_iters * cpu_target_us / cpu_req_us + 999) / 1000 * 1000))
	done
fi

wl_desc() {
	case $1 in
	nginx) echo "nginx 1-byte file (1 worker, wrk)" ;;
	json) echo "workload_server /json?items=1 (wrk)" ;;
	cpu) echo "workload_server /cpu?iters=$cpu_iters, ${cpu_req_us} us of server CPU a request (wrk)" ;;
	mixed) echo "workload_server, bench_http --profile mixed" ;;
	esac
}

echo "$prog: $conns connections, $threads load threads, $pairs rounds of ${secs}s runs; modes: ${avail_modes:-none}"
echo "$prog: host: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); other work on the host shows in 'host' CPU, not in 'cg' CPU"
[ -n "$(bpftool prog show 2>/dev/null | grep -E 'sched_switch|sk_msg|sock_ops' || true)" ] &&
	echo "$prog: note: BPF programs of other tools are loaded on this host (bpftool prog): they add to every mode, 'off' included"

runs=$tmp/runs.tsv
: >"$runs"
stats_tsv=$tmp/stats.tsv
: >"$stats_tsv"

for w in $workloads; do
	if [ "$w" = nginx ] && [ "$have_nginx" = 0 ]; then
		echo "== nginx: n/a (nginx not installed: apt-get install nginx-light)"
		continue
	fi
	echo "== $w: $(wl_desc "$w")"
	# one short warm-up run (caches, connection pools, page cache)
	load "$w" "$tmp/$w.warmup" 1
	for r in $(seq "$pairs"); do
		order=$avail_modes
		[ $((r % 2)) = 0 ] && order=$(tr ' ' '\n' <<<"$avail_modes" | tac | tr '\n' ' ')
		seq_modes="off"
		for m in $order; do seq_modes+=" $m off"; done
		k=0
		for m in $seq_modes; do
			k=$((k + 1))
			name=$w.$r.$k.$m
			t0=$EPOCHREALTIME
			start_mode "$m" "$name"
			t1=$EPOCHREALTIME
			load "$w" "$tmp/$name"
			# bpf_stats in the last round, while the mode is attached: no extra start-up
			if [ "$stats" = 1 ] && [ "$r" = "$pairs" ] && [ "$m" != off ] && [ "$m" != sockops ]; then
				bpf_stats_run "$w" "$m"
			fi
			stop_mode "$m" "$name"
			note=$(cat "$tmp/$name.note")
			[ "$(sysctl -n kernel.bpf_stats_enabled)" = 0 ] || note+=", bpf_stats was on (another tool?)"
			[ "$m" = off ] || note+=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf ", attach %.1fs", b - a }')
			read -r n dur p99 _ errs hcpu ccpu <"$tmp/$name"
			printf '%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$r" "$k" "$m" "$n" "$dur" "$p99" "$errs" "$hcpu" "$ccpu" >>"$runs"
			awk -v w="$w" -v r="$r" -v m="$m" -v n="$n" -v d="$dur" -v p="$p99" -v e="$errs" -v h="$hcpu" -v c="$ccpu" -v note="$note" 'BEGIN {
				printf "  %-5s round %d %-11s %9.0f req/s  p99 %7d us  CPU/req host %6.2f us, cg %6.2f us%s%s\n",
					w, r, m, n / (d / 1e6), p, h / n, c / n, (e > 0 ? sprintf("  %d errors", e) : ""),
					(note != "" ? "  [" note "]" : "") }'
		done
	done
done

# ---- figures ----
python3 - "$runs" "$stats_tsv" "$workloads" "$modes" "$avail_modes" "$pairs" "$secs" "$conns" "$threads" "$stats_secs" <<'EOF'
import sys, statistics
runs_f, stats_f, workloads, modes, avail = sys.argv[1:6]
pairs, secs, conns, threads, stats_secs = (int(x) for x in sys.argv[6:11])
workloads, modes, avail = workloads.split(), modes.split(), avail.split()
rows = {}
for line in open(runs_f):
    w, r, k, m, n, dur, p99, errs, h, c = line.rstrip("\n").split("\t")
    rows[(w, int(r), int(k))] = dict(m=m, n=int(n), tput=int(n) / (int(dur) / 1e6), p99=int(p99),
                                      h=int(h) / int(n), c=int(c) / int(n))
TINY = ("nginx", "json")

def pairs_of(w, m):
    """(mode run, mean of the adjacent off runs) for every run of mode m on workload w."""
    out = []
    for (ww, r, k), row in sorted(rows.items()):
        if ww != w or row["m"] != m:
            continue
        refs = [rows[(w, r, j)] for j in (k - 1, k + 1) if (w, r, j) in rows and rows[(w, r, j)]["m"] == "off"]
        if not refs:
            continue
        ref = {key: statistics.mean(x[key] for x in refs) for key in ("tput", "p99", "h", "c")}
        out.append((row, ref))
    return out

# The median over rounds: one round hit by a burst of other work on a shared host moves it
# least. [min..max] shows the spread.
def fig(vals, fmt):
    if not vals:
        return "n/a"
    med = statistics.median(vals)
    if len(vals) == 1:
        return fmt.format(med)
    return (fmt + " [" + fmt + ".." + fmt + "]").format(med, min(vals), max(vals))

def median_or_none(vals):
    return statistics.median(vals) if vals else None

figs = {}
for w in workloads:
    for m in modes:
        if m not in avail:
            continue
        ps = pairs_of(w, m)
        if not ps:
            continue
        figs[(w, m)] = dict(
            ratio=[row["tput"] / ref["tput"] for row, ref in ps],
            p99=[100 * (row["p99"] / ref["p99"] - 1) for row, ref in ps if ref["p99"] > 0],
            dh=[row["h"] - ref["h"] for row, ref in ps],
            dc=[row["c"] - ref["c"] for row, ref in ps])

def target(w, m, f):
    """Issue 14's targets for this workload and mode, each with met/NOT met."""
    t = []
    def chk(desc, ok):
        t.append(desc + (" met" if ok else " NOT met"))
    ratio, p99, dh = median_or_none(f["ratio"]), median_or_none(f["p99"]), median_or_none(f["dh"])
    floor = figs.get((w, "floor"))
    if m in ("on", "no-header", "records", "records-skmsg"):
        if w in TINY:
            chk("ratio>=%.2f" % (0.86 if m == "on" else 0.95), ratio is not None and ratio >= (0.86 if m == "on" else 0.95))
            chk("<=%d us" % (3 if m == "on" else 1), dh is not None and dh <= (3 if m == "on" else 1))
            if m == "on" and floor:
                chk("floor+1 us", dh is not None and dh <= statistics.median(floor["dh"]) + 1)
        else:
            chk("ratio>=0.99", ratio is not None and ratio >= 0.99)
        chk("p99<=+2%", p99 is not None and p99 <= 2)
    elif m == "no-requests" and w == "nginx":
        chk("ratio>=0.98", ratio is not None and ratio >= 0.98)
    return ", ".join(t)

names = dict(nginx="nginx 1 B", json="ws json", cpu="ws /cpu", mixed="ws mixed")
print()
print("Per workload and mode: median [min..max] over %d alternating rounds of %ds (%d conns, %d load threads);"
      % (pairs, secs, conns, threads))
print("added CPU/request = CPU/request in the run minus CPU/request in the adjacent off runs;")
print("'host' = /proc/stat user+system+irq+softirq (all CPUs, all work on the host),")
print("'cg' = cpu.stat usage of the server's and load generator's cgroups only.")
print("Target verdicts use the host figure (issue 14's definition); on a shared host read 'cg'.")
hdr = "%-9s %-12s %-26s %-24s %-26s %-26s %s" % ("workload", "mode", "throughput vs off", "p99 change %", "added CPU/req host (us)", "added CPU/req cg (us)", "targets (issue 14)")
print(hdr)
for w in workloads:
    for m in modes:
        if m not in avail:
            print("%-9s %-12s n/a (not in this build)" % (names[w], m))
            continue
        f = figs.get((w, m))
        if not f:
            print("%-9s %-12s n/a (no runs)" % (names[w], m))
            continue
        print("%-9s %-12s %-26s %-24s %-26s %-26s %s" % (names[w], m, fig(f["ratio"], "{:.3f}"), fig(f["p99"], "{:+.1f}"),
              fig(f["dh"], "{:+.2f}"), fig(f["dc"], "{:+.2f}"), target(w, m, f)))
    offs = [row for (ww, _, _), row in rows.items() if ww == w and row["m"] == "off"]
    if len(offs) >= 2:
        # how far "off" runs differ from each other: the noise every figure above carries
        print("%-9s %-12s %-26s %-24s %-26s %-26s %s" % (names[w], "(off noise)",
              "sd %.1f%%" % (100 * statistics.stdev(x["tput"] for x in offs) / statistics.mean(x["tput"] for x in offs)),
              "", "sd %.2f" % statistics.stdev(x["h"] for x in offs), "sd %.2f" % statistics.stdev(x["c"] for x in offs),
              "spread of the %d off runs" % len(offs)))

# bpf_stats
stats = {}
try:
    for line in open(stats_f):
        w, m, typ, name, runs, ns, n = line.rstrip("\n").split("\t")
        stats.setdefault((w, m), []).append((typ, name, int(runs), int(ns), int(n)))
except FileNotFoundError:
    pass
sched = {}
# BPF CPU a request per (workload, mode): the sum over that mode's programs
bpf_per_req = {k: sum(p[3] for p in v) / v[0][4] / 1000 for k, v in stats.items() if v and v[0][4]}
if stats:
    print()
    print("bpf_stats (one more %ds run per mode in the last round, kernel.bpf_stats_enabled=1): per program" % stats_secs)
    print("of that mode's process, ns per run, runs per request, ns per request; the sum is the BPF CPU")
    print("per request")
    print("(sched_switch and the softirq hooks also run for every other task on the host)")
    for (w, m), progs in stats.items():
        n = progs[0][4]
        print("  %-9s %-12s %d requests; BPF total %.2f us/request" % (names[w], m, n, bpf_per_req.get((w, m), 0)))
        for typ, name, runs, ns, _ in sorted(progs, key=lambda p: -p[3]):
            print("    %-13s %-24s %8.0f ns/run %8.2f runs/req %8.0f ns/req" % (typ, name, ns / runs, runs / n, ns / n))
            if name == "on_sched_switch":
                sched[(w, m)] = ns / runs

# key figures, the last lines
print()
def key(w, m, what):
    f = figs.get((w, m))
    if m not in avail:
        return "n/a (not in this build)"
    if not f:
        return "n/a"
    vals = f[what]
    return "{:+.2f}".format(statistics.median(vals)) if what in ("dh", "dc") else "{:.3f}".format(statistics.median(vals))
for w in workloads:
    if not any((w, m) in figs for m in avail):
        continue
    parts = []
    for m in modes:
        if m not in avail:
            parts.append("%s n/a (not in this build)" % m)
            continue
        if (w, m) not in figs:
            continue
        f = figs[(w, m)]
        s = "%s %s, %s us (cg %s us)" % (m, key(w, m, "ratio"), key(w, m, "dh"), key(w, m, "dc"))
        if f["p99"]:
            s += ", p99 %+.1f%%" % statistics.median(f["p99"])
        parts.append(s)
    print("%s: %s" % (names[w], "; ".join(parts)))
# the floor of the design: BPF a request of the empty programs at the hooks records use
for w in workloads:
    if (w, "hooks") in bpf_per_req or (w, "hooks-clock") in bpf_per_req:
        def bpf_fig(m):
            return "%.2f us" % bpf_per_req[(w, m)] if (w, m) in bpf_per_req else "n/a"
        print("%s, BPF a request (bpf_stats): records' hooks returning at once %s, reading the clock where the collector does %s; records only %s; --no-header %s"
              % (names[w], bpf_fig("hooks"), bpf_fig("hooks-clock"), bpf_fig("records"), bpf_fig("no-header")))
sw = [(k, v) for k, v in sched.items() if k[1] in ("on", "no-header", "records", "records-skmsg")]
if sw:
    print("sched_switch with request tracking: %s ns/run (target <= 150)" % ", ".join("%.0f (%s %s)" % (v, names[k[0]], k[1]) for k, v in sw))
tiny = [w for w in TINY if (w, "on") in figs]
def tiny_fig(m, what):
    v = [statistics.median(figs[(w, m)][what]) for w in tiny if (w, m) in figs]
    return ("%+.2f us" % statistics.mean(v)) if v else ("n/a" if m in avail else "n/a (not in this build)")
if tiny:
    for what, label in (("dc", "server+client cgroups"), ("dh", "host /proc/stat")):
        print("added CPU per tiny request (%s, %s): header %s (target <= 3), sk_msg floor %s, --no-header %s (target <= 1), records only (--no-header --request-log) %s (median of %d alternating rounds of %ds, %d conns)"
              % ("+".join(tiny), label, tiny_fig("on", what), tiny_fig("floor", what),
                 tiny_fig("no-header", what), tiny_fig("records", what), pairs, secs, conns))
EOF
