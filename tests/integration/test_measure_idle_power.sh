#!/usr/bin/env bash
# measure_idle_power end to end, on this machine: replay traces with known power (the
# printed idle power must be within 0.5%), the synthetic source, --strict, --json, and the
# errors. Needs no root, no BPF and no power telemetry. Prints ok/not ok lines.
set -u
BUILD=${BUILD:-build}
BIN=$BUILD/bin/measure_idle_power
TRACE=tests/fixtures/replay/idle_12345678uw.csv
KNOWN_UW=12345678

tmp=$(mktemp -d /tmp/test_mip.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

failures=0
ok() { echo "ok - $*"; }
not_ok() {
	echo "not ok - $*"
	failures=$((failures + 1))
}
check() { # check DESCRIPTION COMMAND...: ok when the command succeeds
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}
show() { # the files of a failed run, for whoever reads the log
	echo "  --- stdout"; sed 's/^/  /' "$tmp/out"
	echo "  --- stderr"; sed 's/^/  /' "$tmp/err"
}
run() { # run ARGS...: stdout in $tmp/out, stderr in $tmp/err, status in $rc
	timeout 60 "$BIN" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}
last_line() { tail -n 1 "$tmp/out"; }

if [ ! -x "$BIN" ]; then
	not_ok "$BIN is built"
	exit 1
fi

# 1. A replay trace whose mean power is known: 12,345,678 uW with +-1.5% swings.
run --energy-source "replay:$TRACE" --duration 0.5 --samples 6 --json "$tmp/idle.json"
check "replay: exit status 0" [ "$rc" -eq 0 ] || show
check "replay: last line is idle_power_uw=<integer>" \
	grep -Eq '^idle_power_uw=[0-9]+$' <(last_line)
got=$(last_line | sed -n 's/^idle_power_uw=//p')
if [ -n "$got" ] && awk -v g="$got" -v k="$KNOWN_UW" \
	'BEGIN { d = (g - k) / k; if (d < 0) d = -d; exit !(d <= 0.005) }'; then
	ok "replay: idle power $got uW is within 0.5% of $KNOWN_UW uW"
else
	not_ok "replay: idle power '$got' uW is within 0.5% of $KNOWN_UW uW"
	show
fi
check "replay: one line per sample" [ "$(grep -c '^sample [1-6]/6: power_uw=' "$tmp/out")" -eq 6 ]
check "replay: median, mean, MAD and range lines" \
	grep -q '^median_uw=.* mean_uw=' "$tmp/out"
check "replay: fluctuation line" grep -Eq '^mad_uw=[0-9]+ fluctuation=[0-9.]+ ' "$tmp/out"
check "replay: min/max range line" grep -Eq '^min_uw=[0-9]+ max_uw=[0-9]+ range_uw=' "$tmp/out"
check "replay: start-up line names the source" \
	grep -q "^measure_idle_power: energy source: replay: $TRACE: 601 rows" "$tmp/err"
if python3 - "$tmp/idle.json" "$got" <<'PY'; then
import json, sys
d = json.load(open(sys.argv[1]))
assert d["energy_source"] == "replay" and d["measured"] is True
assert len(d["samples"]) == 6 and [s["index"] for s in d["samples"]] == list(range(1, 7))
assert all(s["t_end_ns"] > s["t_start_ns"] for s in d["samples"])
assert d["idle_power_uw"] == int(sys.argv[2])
assert d["fluctuation"] is not None and d["fluctuation"] < 0.05
assert d["min_uw"] <= d["median_uw"] <= d["max_uw"]
PY
	ok "replay: --json has every sample and the statistics"
else
	not_ok "replay: --json has every sample and the statistics"
fi

# 2. A ramp from 5 W upwards (4.5 W per s): far from idle, so --strict must fail.
awk 'BEGIN { print "t_ns,energy_uj"; e = 0;
	for (i = 0; i <= 1500; i++) { t = i / 100; printf "%.0f,%.0f\n", i * 10000000, e;
		e += (5e6 + 4.5e6 * t) * 0.01 } }' >"$tmp/ramp.csv"
run --energy-source "replay:$tmp/ramp.csv" --duration 0.3 --samples 7 --strict
check "ramp --strict: exit status 1" [ "$rc" -eq 1 ] || show
check "ramp --strict: says the limit was exceeded" \
	grep -q '^measure_idle_power: fluctuation [0-9.]* exceeds --max-fluctuation 0.05: .*(--strict)$' "$tmp/err"
check "ramp --strict: still prints the suggestion last" grep -Eq '^idle_power_uw=[0-9]+$' <(last_line)
run --energy-source "replay:$tmp/ramp.csv" --duration 0.3 --samples 7
check "ramp without --strict: exit status 0 and a warning" \
	bash -c "[ $rc -eq 0 ] && grep -q 'exceeds --max-fluctuation' '$tmp/err'"
run --energy-source "replay:$tmp/ramp.csv" --duration 0.3 --samples 7 --strict --max-fluctuation 100
check "ramp --strict --max-fluctuation 100: exit status 0" [ "$rc" -eq 0 ]

# 3. A trace shorter than the measurement.
head -n 101 "$TRACE" >"$tmp/short.csv" # 5 s of trace
run --energy-source "replay:$tmp/short.csv" --duration 0.5 --samples 1
check "short trace, short run: exit status 0" [ "$rc" -eq 0 ]
head -n 12 "$TRACE" >"$tmp/short.csv" # 11 rows: 0.5 s of trace
run --energy-source "replay:$tmp/short.csv" --duration 0.4 --samples 3
check "replay past the end: exit status 1" [ "$rc" -eq 1 ]
check "replay past the end: one clear error line" \
	grep -q "^measure_idle_power: energy source replay: $tmp/short.csv: read at +[0-9.]* s is past the end of the trace (0.500 s long)$" "$tmp/err"

run --energy-source "replay:$tmp/missing.csv" --duration 0.1 --samples 1
check "missing trace: exit status 1 and one line naming it" \
	bash -c "[ $rc -eq 1 ] && [ \$(wc -l <'$tmp/err') -eq 1 ] && grep -q '^measure_idle_power: energy source replay: $tmp/missing.csv: No such file or directory$' '$tmp/err'"

# 4. The synthetic source works anywhere and never passes for a measurement.
run --energy-source synthetic --duration 0.1 --samples 3 --json "$tmp/syn.json"
check "synthetic: exit status 0" [ "$rc" -eq 0 ] || show
check "synthetic: start-up line says it is not a measurement" \
	grep -q '^measure_idle_power: energy source: synthetic (a model, NOT a measurement)' "$tmp/err"
check "synthetic: prints idle_power_uw last" grep -Eq '^idle_power_uw=[0-9]+$' <(last_line)
check "synthetic: JSON says measured=false" \
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not (d["measured"] is False and d["energy_source"] == "synthetic"))' "$tmp/syn.json"

# 5. auto on a host tree with nothing: one line per source tried, exit 1.
mkdir -p "$tmp/empty"
run --root "$tmp/empty" --duration 0.1 --samples 1
check "auto with no telemetry: exit status 1" [ "$rc" -eq 1 ]
check "auto with no telemetry: one line per source tried, then the verdict" \
	bash -c "[ \$(grep -c '^measure_idle_power: energy source \(psys\|rapl\|powercap\|hwmon\): ' '$tmp/err') -eq 4 ] && grep -q '^measure_idle_power: energy source auto: none of' '$tmp/err'"
run --root tests/fixtures/sysfs/powercap_psys --duration 0.05 --samples 2
check "auto finds powercap below --root" \
	bash -c "[ $rc -eq 0 ] && grep -q 'energy source: powercap: ' '$tmp/err' && grep -qx 'idle_power_uw=0' '$tmp/out'"

# 6. Usage errors exit 2 with one line; --help exits 0.
for args in "--duration abc" "--duration 0" "--samples 0" "--samples 1.5" "--bogus" "extra" \
	"--energy-source nonsense" "--max-fluctuation -1" "--duration"; do
	# shellcheck disable=SC2086
	run $args
	want=2
	if [ "$rc" -eq "$want" ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && [ ! -s "$tmp/out" ]; then
		ok "'$args': exit status $want and one error line"
	else
		not_ok "'$args': exit status $want and one error line (got $rc)"
		show
	fi
done
run --help
check "--help: usage on stdout, exit status 0" \
	bash -c "[ $rc -eq 0 ] && grep -q '^Usage: measure_idle_power' '$tmp/out' && [ ! -s '$tmp/err' ]"
run --energy-source "replay:$TRACE" --duration 0.05 --samples 1 --json /nonexistent/dir/x.json
check "--json to an unwritable path: exit status 1 with a message" \
	bash -c "[ $rc -eq 1 ] && grep -q '/nonexistent/dir/x.json: cannot write the JSON report' '$tmp/err'"

[ "$failures" -eq 0 ]
