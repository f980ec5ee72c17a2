#!/usr/bin/env bash
# Every program's command line comes from one option table (common/options.h): the same
# --help, --version, error lines and exit statuses everywhere, and --seed with one syntax.
# Nothing here attaches, listens or writes outside a temporary directory.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

tmp=$(mktemp -d)
on_exit "rm -rf $tmp"

# run PROG ARGS...: sets rc; stdout in $tmp/out, stderr in $tmp/err.
run() {
	local prog=$1
	shift
	"$BIN/$prog" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}

# usage_error "DESCRIPTION" EXPECTED_LINE PROG ARGS...: exit 2, exactly that one stderr line,
# nothing on stdout.
usage_error() {
	local what=$1 want=$2
	shift 2
	run "$@"
	if [ "$rc" = 2 ] && [ "$(cat "$tmp/err")" = "$want" ] && [ ! -s "$tmp/out" ]; then
		ok "$what"
	else
		not_ok "$what (exit $rc; stderr: $(head -c 300 "$tmp/err"))"
	fi
}

for p in http_energy collect_signals fit_energy workload_server bench_http measure_idle_power; do
	run "$p" --help
	check "$p --help: usage on stdout, exit 0, nothing on stderr" \
		bash -c "[ $rc = 0 ] && grep -q '^Usage: $p ' '$tmp/out' && grep -q -- '--help, --version' '$tmp/out' && [ ! -s '$tmp/err' ]"
	run "$p" --version
	check "$p --version: name and version on stdout, exit 0" \
		bash -c "[ $rc = 0 ] && grep -q '^$p ' '$tmp/out' && [ ! -s '$tmp/err' ]"
	usage_error "$p --bogus: exit 2, one line" \
		"$p: --bogus: unknown option (see --help)" "$p" --bogus
	run "$p" --help
	# The first option of the table that takes a value, given none.
	opt=$(sed -n 's/^  \(-., \)\{0,1\}\(--[a-z-]*\) [A-Z].*/\2/p' "$tmp/out" | head -n 1)
	usage_error "$p $opt without its value: exit 2, one line" \
		"$p: $opt: needs a value (see --help)" "$p" "$opt"
done

# --seed: one syntax (decimal 0..2^64-1), one wording, in every program that has it.
for p in http_energy fit_energy bench_http measure_idle_power; do
	usage_error "$p --seed -1: exit 2, one line" \
		"$p: --seed: \"-1\" is not a whole number" "$p" --seed -1
	usage_error "$p --seed 2^64: exit 2, one line" \
		"$p: --seed: \"18446744073709551616\" is out of range 0..18446744073709551615" \
		"$p" --seed 18446744073709551616
done

# Numbers out of range name the range; stray arguments are refused.
usage_error "workload_server --threads 0" \
	'workload_server: --threads: "0" is out of range 1..4096' workload_server --port 0 --threads 0
usage_error "measure_idle_power --duration 0" \
	'measure_idle_power: --duration: "0" is out of range 0.01..86400' measure_idle_power --duration 0
usage_error "measure_idle_power with an argument" \
	'measure_idle_power: "extra": unexpected argument (see --help)' measure_idle_power extra
usage_error "http_energy with three arguments" \
	'http_energy: "c": unexpected argument (see --help)' http_energy a b c
usage_error "http_energy without CGROUP_DIR" \
	'http_energy: CGROUP_DIR is required (see --help)' http_energy
usage_error "a required option missing is named" \
	'workload_server: --port is required (see --help)' workload_server
# An energy source the collector does not know is a usage error before anything starts.
usage_error "http_energy --energy-source bogus" \
	'http_energy: --energy-source: "bogus" is not one of psys, rapl, powercap, hwmon, replay:FILE, synthetic[:CONF], auto' \
	http_energy --energy-source bogus "$tmp"
usage_error "measure_idle_power --energy-source replay" \
	'measure_idle_power: --energy-source: "replay" needs a trace: replay:FILE' \
	measure_idle_power --energy-source replay
# The framer is chosen only where records are kept without the header.
usage_error "http_energy --sk-msg-framing with the header" \
	'http_energy: --sk-msg-framing: only records without the header choose their framer (--no-header with --request-log or --metrics-addr; see --help)' \
	http_energy --sk-msg-framing --request-log "$tmp/r.csv" "$tmp"
usage_error "http_energy --sk-msg-framing --no-header without records" \
	'http_energy: --sk-msg-framing: only records without the header choose their framer (--no-header with --request-log or --metrics-addr; see --help)' \
	http_energy --sk-msg-framing --no-header "$tmp"

finish
