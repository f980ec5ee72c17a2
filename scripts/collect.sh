#!/usr/bin/env bash
# `make collect`: one labelled data-collection run into data/runs/<UTC time>-<label>/
# (docs/experiments.md). collect_signals does the run; this script picks the energy
# source (falling back to synthetic, loudly, where the host has no power telemetry),
# and writes run.json with what is needed to reproduce the run.
#
# Environment: DURATION (s, default 30), CONCURRENCY (default 8), PROFILE (default mixed),
# LABEL (default the attribution mode), CONFIG (default configs/energy_model.conf),
# ENERGY_SOURCE (default: the config's), RUNS_DIR (default data/runs), WARMUP (s, default 0).
# The last line on stdout is "run: DIR".
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
DURATION=${DURATION:-30}
CONCURRENCY=${CONCURRENCY:-8}
PROFILE=${PROFILE:-mixed}
CONFIG=${CONFIG:-configs/energy_model.conf}
RUNS_DIR=${RUNS_DIR:-data/runs}
WARMUP=${WARMUP:-0}

die() { echo "collect: $*" >&2; exit 1; }
[ -r "$CONFIG" ] || die "CONFIG: $CONFIG: cannot read"
[ "$(id -u)" -eq 0 ] || die "needs root (BPF and cgroups); try: sudo make collect"
conf_value() { sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*\([^[:space:]#]*\).*/\1/p" "$CONFIG" | tail -1; }
MODE=$(conf_value attribution_mode)
MODE=${MODE:-psys}
LABEL=${LABEL:-$MODE}
case $LABEL in *[!A-Za-z0-9._-]*|'') die "LABEL: \"$LABEL\" may only hold letters, digits, '.', '_' and '-'" ;; esac
SOURCE=${ENERGY_SOURCE:-$(conf_value energy_source)}
SOURCE=${SOURCE:-auto}
REQUESTED_SOURCE=$SOURCE

run=$RUNS_DIR/$(date -u +%Y%m%dT%H%M%SZ)-$LABEL
[ -e "$run" ] && run=$run-$$
mkdir -p "$run"
# A cgroup name of our own: several runs (and tests) may run at once.
cgroup=http_energy_collect_$$
config_abs=$(realpath "$CONFIG")

# Active energy is measured energy minus idle: a config without idle_power_uw would count
# the whole idle draw as work. Then measure it first, with the run's energy source, and
# collect with a run-local copy of the config that carries the measured value.
ensure_idle_power() {
	local idle
	cp "$CONFIG" "$run/config.conf"
	config_abs=$(realpath "$run/config.conf")
	idle=$(conf_value idle_power_uw)
	[ -n "$idle" ] && [ "$idle" != 0 ] && return 0
	case $1 in
	synthetic | synthetic:*)
		# The synthetic meter's idle draw is part of its definition; measuring it on a
		# busy host would count the host's other work as idle.
		local model=${1#synthetic:}
		[ "$model" = synthetic ] && model=configs/synthetic_host.conf
		idle=$(sed -n 's/^[[:space:]]*idle_power_uw[[:space:]]*=[[:space:]]*\([0-9]*\).*/\1/p' "$model" | tail -1)
		echo "collect: $CONFIG has no idle_power_uw: using the synthetic meter's own, ${idle:-0} uW ($model)"
		;;
	*)
		echo "collect: $CONFIG has no idle_power_uw: measuring idle power (3 x 1 s, energy source $1)"
		measure_idle "$1" || return 0
		;;
	esac
	[ -n "$idle" ] || return 0
	sed -i '/^[[:space:]]*idle_power_uw[[:space:]]*=/d' "$run/config.conf"
	printf '# set by make collect (energy source %s)\nidle_power_uw = %s\n' "$1" "$idle" >>"$run/config.conf"
	echo "collect: idle power $idle uW (in $run/config.conf)"
}

measure_idle() {
	if ! "$BIN/measure_idle_power" --energy-source "$1" --duration 1 --samples 3 \
		>"$run/idle.log" 2>&1; then
		echo "collect: measure_idle_power failed (see $run/idle.log); collecting with idle_power_uw = 0" >&2
		return 1
	fi
	idle=$(sed -n 's/^idle_power_uw=\([0-9]*\)$/\1/p' "$run/idle.log" | tail -1)
}

collect() {
	ensure_idle_power "$1"
	"$BIN/collect_signals" --cgroup "$cgroup" --use-workload-server --workload-port 0 \
		--output-csv "$run/samples.csv" --benchmark-json "$run/benchmark.json" \
		--duration "$DURATION" --concurrency "$CONCURRENCY" --warmup "$WARMUP" \
		--profile "$PROFILE" --config "$config_abs" --energy-source "$1" --label "$LABEL" \
		--run-dir "$run" --status-json "$run/.status.json" --request-log "$run/records.csv" \
		${PROGRESS:+--progress}
}

echo "collect: run directory $run (energy source $SOURCE, $MODE mode, ${DURATION}s, $CONCURRENCY connections, profile $PROFILE)"
status=0
collect "$SOURCE" || status=$?
if [ "$status" -ne 0 ] && [ "$SOURCE" = auto ] && grep -q 'energy source auto: none' "$run/collector.log" 2>/dev/null; then
	grep 'energy source auto' "$run/collector.log" >&2 || true
	cat >&2 <<-MSG
	collect: ************************************************************************
	collect: NO POWER TELEMETRY on this host: using the SYNTHETIC energy source.
	collect: Energy figures in this run come from a MODEL (configs/synthetic_host.conf),
	collect: not a measurement; every CSV row says energy_source=synthetic.
	collect: ************************************************************************
	MSG
	rm -f "$run/samples.csv" "$run/benchmark.json" "$run/.status.json"
	mv "$run/collector.log" "$run/collector-auto.log"
	mv "$run/server.log" "$run/server-auto.log" 2>/dev/null || true
	rm -f "$run/bench.log"
	SOURCE=synthetic
	status=0
	collect "$SOURCE" || status=$?
fi
rm -rf "$run/server-data"

# run.json: the host, the inputs and the outcome.
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
used_source=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "energy_source") c = i; next } c { print $c; exit }' "$run/samples.csv" 2>/dev/null || true)
git_rev=$(git rev-parse HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || git_rev="$git_rev-dirty"
versions=$(for p in collect_signals http_energy workload_server bench_http; do
	"$BIN/$p" --version 2>/dev/null | head -1 || echo "$p unknown"; done | jq -R . | jq -s .)
status_json='{}'
[ -s "$run/.status.json" ] && status_json=$(cat "$run/.status.json")
jq -n --argjson cs "$status_json" --argjson versions "$versions" \
	--arg kernel "$(uname -r)" --arg machine "$(uname -m)" --arg cpu "$cpu_model" \
	--argjson cores "$(nproc)" --arg source_requested "$REQUESTED_SOURCE" --arg source "${used_source:-unknown}" \
	--arg config "$CONFIG" --arg sha "$(sha256sum "$run/config.conf" | cut -d' ' -f1)" --arg mode "$MODE" \
	--arg git "$git_rev" --arg lbl "$LABEL" --argjson duration "$DURATION" \
	--argjson concurrency "$CONCURRENCY" --arg profile "$PROFILE" --argjson status "$status" \
	'{"label": $lbl, kernel: $kernel, machine: $machine, cpu_model: $cpu, cores: $cores,
	  energy_source: $source, energy_source_requested: $source_requested,
	  synthetic: ($source == "synthetic"), attribution_mode: $mode,
	  config: $config, config_sha256: $sha, git_revision: $git, tool_versions: $versions,
	  options: {duration_s: $duration, concurrency: $concurrency, profile: $profile},
	  start_utc: $cs.start_utc, end_utc: $cs.end_utc, exit_status: $status,
	  collect_signals: $cs}' >"$run/run.json"
rm -f "$run/.status.json"

if [ "$status" -ne 0 ]; then
	echo "collect: FAILED (exit $status): see $run/collector.log, $run/server.log, $run/bench.log" >&2
	echo "run: $run"
	exit "$status"
fi
rows=$(($(wc -l <"$run/samples.csv") - 1))
echo "collect: $rows intervals in $run/samples.csv (energy source $used_source)"
jq -r '"collect: bench_http: \(.totals.responses) responses, \(.totals.requests_per_s | floor) req/s, \(.energy.responses_with_header) with X-Energy-Score"' "$run/benchmark.json" 2>/dev/null || true
bash scripts/report.sh "$run" || echo "collect: plots and index.html failed (see above)" >&2
[ "$used_source" = synthetic ] && echo "collect: NOTE: energy source synthetic: a MODEL, not a measurement"
echo "run: $run"
