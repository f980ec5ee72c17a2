#!/usr/bin/env bash
# make collect end to end (synthetic source on hosts without power telemetry), and
# collect_signals on its own: usage errors, a failing child, SIGINT mid-run. Every case
# checks that no process, cgroup or BPF program is left behind.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
require_root "collect"

tmp=$(mktemp -d /tmp/test_collect.XXXXXX)
on_exit "rm -rf $tmp"
cgroot=$(cgroup2_mount)
bpf_since=$(bpf_prog_max_id)
DURATION=5

# The pid and cgroup that collect_signals names in its log lines.
server_pid_of() { sed -n 's/.*workload_server: pid \([0-9]*\) in cgroup.*/\1/p' "$1" | tail -1; }
collector_pid_of() { sed -n 's/.*http_energy: pid \([0-9]*\) started.*/\1/p' "$1" | tail -1; }
cgroup_of() { sed -n 's/.*workload_server: pid [0-9]* in cgroup \([^ ,]*\),.*/\1/p' "$1" | tail -1; }
gone() { [ -n "$1" ] && ! kill -0 "$1" 2>/dev/null; }
# A safety net if a check below fails half-way: stop what a log names, remove its cgroup.
reap() {
	local p
	for p in $(server_pid_of "$1") $(collector_pid_of "$1"); do kill "$p" 2>/dev/null; done
	p=$(cgroup_of "$1")
	[ -n "$p" ] && [ -d "$p" ] && remove_cgroup "$p"
	true
}
leftovers_check() { # what log
	local what=$1 log=$2 cg
	cg=$(cgroup_of "$log")
	check "$what: workload_server stopped" gone "$(server_pid_of "$log")"
	check "$what: http_energy stopped" gone "$(collector_pid_of "$log")"
	check "$what: cgroup $cg removed" test -n "$cg" -a ! -e "$cg"
	check "$what: no BPF program of ours left" [ "$(our_bpf_programs_since "$bpf_since")" = 0 ]
}

# --- make collect -----------------------------------------------------------------------
runs=$tmp/runs
on_exit "reap $tmp/collect.err"
make --no-print-directory -s collect BUILD="$BUILD" DURATION=$DURATION CONCURRENCY=4 \
	LABEL=ci RUNS_DIR="$runs" >"$tmp/collect.out" 2>"$tmp/collect.err"
rc=$?
check "make collect exits 0" test $rc -eq 0
run=$(sed -n 's/^run: //p' "$tmp/collect.out")
check "make collect prints its run directory" test -n "$run" -a -d "$run"
case $run in "$runs"/*-ci) ok "run directory is RUNS_DIR/<UTC time>-<label>" ;;
*) not_ok "run directory is RUNS_DIR/<UTC time>-<label>: \"$run\"" ;; esac
for f in samples.csv benchmark.json collector.log server.log run.json; do
	check "run has $f" test -s "$run/$f"
done
check "nothing but the run directory under RUNS_DIR" test "$(ls "$runs" | wc -l)" -eq 1
check "the server's data directory is removed" test ! -e "$run/server-data"

header="interval,label,t_start_ns,t_end_ns,energy_source,interval_psys_uj,idle_uj,active_psys_uj,runtime_ns,wakeups,cycles,instructions,cache_misses,migrations,freq_runtime_ns,idle_ns,irq_ns,softirq_ns,kthread_runtime_ns,page_cache_hits,writebacks,cgroup_runtime_ns,requests,request_energy_uj,attributed_uj"
got=$(head -1 "$run/samples.csv")
check "CSV header starts with the documented columns" test "${got#"$header"}" != "$got"
rows=$(($(wc -l <"$run/samples.csv") - 1))
# 200 ms intervals from before the load until after it: at least the load's, bounded above.
check "CSV has $rows rows for ${DURATION}s at 200 ms (>= $((DURATION * 5)), <= $((DURATION * 5 + 40)))" \
	test "$rows" -ge $((DURATION * 5)) -a "$rows" -le $((DURATION * 5 + 40))
check "every row is labelled ci" test "$(csv_col "$run/samples.csv" label | sort -u)" = ci
src=$(csv_col "$run/samples.csv" energy_source | sort -u)
if grep -q 'NO POWER TELEMETRY' "$tmp/collect.err"; then
	check "no telemetry: every row says synthetic" test "$src" = synthetic
	check "no telemetry: run.json says synthetic" \
		test "$(jq -r '.energy_source + " " + (.synthetic | tostring)' "$run/run.json")" = "synthetic true"
else
	check "one energy source in every row ($src)" test -n "$src" -a "$(echo "$src" | wc -l)" -eq 1
fi
check "requests were tracked in the CSV" test "$(csv_col "$run/samples.csv" requests | paste -sd+ | bc)" -gt 0
# issue 13: the request log is kept in the run directory, one row per completed response
# (the CSV's requests count responses started: a few may still be in flight at the end)
check "run has records.csv with the documented header" \
	test "$(head -1 "$run/records.csv" 2>/dev/null)" = "head_ns,first_write_ns,end_ns,cgroup_id,pid,tid,conn,method,target,status,request_bytes,response_bytes,cpu_ns,energy_uj,header_uj,header_skip,mode,tail"
recs=$(($(wc -l <"$run/records.csv") - 1))
started=$(csv_col "$run/samples.csv" requests | paste -sd+ | bc)
check "records.csv: a record per response ($recs records, $started responses started)" \
	test "$recs" -gt 0 -a "$recs" -le "$started" -a "$recs" -ge $((started - 64))
check "benchmark.json: responses, all with X-Energy-Score" \
	jq -e '.totals.responses > 0 and .energy.responses_with_header == .totals.responses' "$run/benchmark.json" >/dev/null
check "run.json: host, config hash, versions, git, times, exit statuses" jq -e '
	(.kernel | length > 0) and (.cpu_model | length > 0) and .cores >= 1 and
	(.config_sha256 | test("^[0-9a-f]{64}$")) and (.tool_versions | length == 4) and
	(.git_revision | length > 0) and (.start_utc | length > 0) and (.end_utc | length > 0) and
	.exit_status == 0 and .collect_signals.exit_status.http_energy == 0 and
	.collect_signals.exit_status.workload_server == 0 and
	.collect_signals.exit_status.bench_http == 0 and .options.duration_s == 5' "$run/run.json" >/dev/null
leftovers_check "make collect" "$tmp/collect.err"

# --- collect_signals: usage errors --------------------------------------------------------
cs=$BIN/collect_signals
"$cs" >/dev/null 2>"$tmp/u1"
check "no arguments: exit 2 naming the required options" \
	test $? -eq 2 -a -n "$(grep -- '--cgroup' "$tmp/u1")"
"$cs" --cgroup x --use-workload-server --output-csv "$tmp/x.csv" --benchmark-json "$tmp/x.json" \
	--duration 0 --concurrency 1 2>"$tmp/u2"
check "--duration 0: exit 2 with the value" test $? -eq 2 -a -n "$(grep -- '--duration: "0"' "$tmp/u2")"
"$cs" --help | grep -q '^Usage: collect_signals'
check "--help prints usage to stdout" test "${PIPESTATUS[0]}" -eq 0
check "usage errors create no cgroup" test ! -e "$cgroot/x"

# --- collect_signals: a child that fails ---------------------------------------------------
mkdir -p "$tmp/bad"
on_exit "reap $tmp/bad.err"
"$cs" --cgroup "test_collect_bad_$$" --use-workload-server --output-csv "$tmp/bad/s.csv" \
	--benchmark-json "$tmp/bad/b.json" --duration 5 --concurrency 2 \
	--energy-source no-such-source 2>"$tmp/bad.err"
rc=$?
check "http_energy failing: exit 1" test $rc -eq 1
check "http_energy failing: one line says so" \
	grep -q 'collect_signals: http_energy exited with status [0-9]* before it was ready: .*no-such-source' "$tmp/bad.err"
leftovers_check "http_energy failing" "$tmp/bad.err"
check "http_energy failing: bench_http never ran" test ! -e "$tmp/bad/b.json"

# --- collect_signals: SIGINT mid-run ---------------------------------------------------------
mkdir -p "$tmp/int"
on_exit "reap $tmp/int.err"
"$cs" --cgroup "test_collect_int_$$" --use-workload-server --output-csv "$tmp/int/s.csv" \
	--benchmark-json "$tmp/int/b.json" --duration 60 --concurrency 2 \
	--energy-source synthetic --status-json "$tmp/int/status.json" 2>"$tmp/int.err" &
cs_pid=$!
on_exit "kill $cs_pid 2>/dev/null; wait $cs_pid 2>/dev/null"
if wait_for "collect_signals to start the load" 30 grep -q 'http_energy: pid .* ready' "$tmp/int.err" &&
	wait_for "bench_http to start" 10 grep -q 'bench_http: pid' "$tmp/int.err"; then
	ok "SIGINT: run started"
else
	not_ok "SIGINT: run started"
fi
server_pid=$(server_pid_of "$tmp/int.err")
t0=$SECONDS
kill -INT "$cs_pid"
wait_for "collect_signals to exit after SIGINT" 30 sh -c "! kill -0 $cs_pid"
wait "$cs_pid"
rc=$?
check "SIGINT: exit 1 within 30 s" test $rc -eq 1 -a $((SECONDS - t0)) -le 30
check "SIGINT: one line says it was interrupted" grep -q 'collect_signals: interrupted by' "$tmp/int.err"
check "SIGINT: status.json says interrupted, http_energy exited 0" \
	jq -e '.interrupted == true and .exit_status.http_energy == 0' "$tmp/int/status.json" >/dev/null
check "SIGINT: the CSV has its header and rows" test "$(wc -l <"$tmp/int/s.csv")" -ge 2
leftovers_check "SIGINT" "$tmp/int.err"
check "SIGINT: bench_http stopped" gone "$(sed -n 's/.*bench_http: pid \([0-9]*\):.*/\1/p' "$tmp/int.err")"

finish
