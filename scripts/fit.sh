#!/usr/bin/env bash
# `make fit RUN=dir`: fits the run's samples.csv with fit_energy and writes fitted.conf,
# report.json, predictions.csv, the plots (PNG and SVG) and index.html into the run
# (docs/experiments.md). RUN defaults to the latest run under RUNS_DIR (data/runs).
# FORCE=1 passes --force (write the model even when it fails the quality gate).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
RUNS_DIR=${RUNS_DIR:-data/runs}

die() { echo "fit: $*" >&2; exit 1; }
if [ -z "${RUN:-}" ]; then
	# The latest run: directory names start with the UTC time, so they sort by it.
	RUN=$(find "$RUNS_DIR" -mindepth 2 -maxdepth 2 -name samples.csv 2>/dev/null | sort | tail -1)
	RUN=${RUN%/samples.csv}
	[ -n "$RUN" ] || die "no run under $RUNS_DIR: run 'make collect' first, or give RUN=DIR"
fi
RUN=${RUN%/}
[ -s "$RUN/samples.csv" ] || die "RUN: $RUN/samples.csv: missing or empty"
[ -x "$BIN/fit_energy" ] || die "$BIN/fit_energy: not built (it comes with issue 7)"

args=("$RUN/samples.csv" -o "$RUN/fitted.conf" --report-json "$RUN/report.json"
	--predictions-csv "$RUN/predictions.csv")
# The run's config carries idle_power_uw and energy_source into the fitted one.
[ -r "$RUN/config.conf" ] && args+=(--config "$RUN/config.conf")
[ -n "${FORCE:-}" ] && args+=(--force)
echo "fit: $BIN/fit_energy ${args[*]}"
status=0
"$BIN/fit_energy" "${args[@]}" >"$RUN/fit.log" 2>&1 || status=$?
cat "$RUN/fit.log"
[ -s "$RUN/report.json" ] || die "fit_energy exited $status without a report (see $RUN/fit.log)"

bash scripts/report.sh "$RUN"
[ "$status" -eq 0 ] || die "fit_energy exited $status: no fitted.conf written (quality gate?); FORCE=1 writes it anyway"
echo "fit: wrote $RUN/fitted.conf, report.json, predictions.csv, plots and index.html"
