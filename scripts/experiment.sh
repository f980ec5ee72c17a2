#!/usr/bin/env bash
# `make experiment`: collect three labelled workloads in psys mode (cpu: the cpu profile,
# io: the file profile, reads through the page cache; mixed: the mixed profile), validate
# the model across workloads (fit_energy --cv label: fitted on two, tested on the third),
# fit the mixed run, collect again with that fitted config in model mode, and compare
# X-Energy-Score per endpoint between the two mixed runs (docs/experiments.md).
# Everything goes into RUNS_DIR/<UTC time>-experiment/: the runs, validation/,
# comparison.json and index.html. Same variables as `make collect` (PROFILE is set per
# workload); CONFIG is the psys-mode config of the first runs (default
# configs/energy_model.conf). The last line on stdout is "experiment: DIR".
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RUNS_DIR=${RUNS_DIR:-data/runs}
CONFIG=${CONFIG:-configs/energy_model.conf}
die() { echo "experiment: $*" >&2; exit 1; }

exp=$RUNS_DIR/$(date -u +%Y%m%dT%H%M%SZ)-experiment
[ -e "$exp" ] && exp=$exp-$$
mkdir -p "$exp"
echo "experiment: directory $exp"
mode=$(sed -n 's/^[[:space:]]*attribution_mode[[:space:]]*=[[:space:]]*\([a-z]*\).*/\1/p' "$CONFIG" | tail -1)
[ "${mode:-psys}" = psys ] || die "CONFIG: $CONFIG: attribution_mode must be psys for the first runs (it is $mode)"

# 1. Three workloads in psys mode, each its own label.
runs=()
for w in cpu:cpu io:file mixed:mixed; do
	label=${w%%:*}
	echo "experiment: 1/5 collect workload $label (profile ${w#*:}) in psys mode"
	RUNS_DIR=$exp LABEL=$label PROFILE=${w#*:} CONFIG=$CONFIG bash scripts/collect.sh |
		tee "$exp/.collect.out"
	run=$(sed -n 's/^run: //p' "$exp/.collect.out")
	rm -f "$exp/.collect.out"
	[ -n "$run" ] || die "the $label run did not name its directory"
	runs+=("$run")
done
psys_run=${runs[2]} # the mixed workload: fitted, then compared with the model run

# 2. Validation across workloads: leave one label out.
echo "experiment: 2/5 validate: fit_energy --cv label (each workload held out in turn)"
val=$exp/validation
mkdir -p "$val"
status=0
"$BUILD/bin/fit_energy" "${runs[0]}/samples.csv" "${runs[1]}/samples.csv" "${runs[2]}/samples.csv" \
	-o "$val/fitted.conf" --cv label --report-json "$val/report.json" \
	--cv-predictions-csv "$val/cv_predictions.csv" --config "$psys_run/config.conf" \
	>"$val/fit.log" 2>&1 || status=$?
cat "$val/fit.log"
[ -s "$val/report.json" ] && [ -s "$val/cv_predictions.csv" ] ||
	die "fit_energy --cv label exited $status without a report (see $val/fit.log)"
[ "$status" -eq 0 ] || echo "experiment: the cross-validated model fails the quality gate (see $val/fit.log)"
folds=$(jq '.cross_validation.num_folds' "$val/report.json")
for ext in png svg; do
	gnuplot -e "val='$val'; ext='$ext'; folds=$folds" scripts/cv_plots.gnuplot 2>"$val/gnuplot.err" ||
		{ cat "$val/gnuplot.err" >&2; die "gnuplot failed on the validation plots ($ext)"; }
	rm -f "$val/gnuplot.err"
done

# 3. Fit the mixed run for the model run.
echo "experiment: 3/5 fit $psys_run"
RUN=$psys_run bash scripts/fit.sh

# 4. model run with the fitted config, on the energy source the first runs used.
echo "experiment: 4/5 collect in model mode with $psys_run/fitted.conf"
source=$(jq -r .energy_source "$psys_run/run.json")
RUNS_DIR=$exp LABEL=model PROFILE=mixed CONFIG=$psys_run/fitted.conf ENERGY_SOURCE=$source \
	bash scripts/collect.sh | tee "$exp/.collect2.out"
model_run=$(sed -n 's/^run: //p' "$exp/.collect2.out")
rm -f "$exp/.collect2.out"
[ -n "$model_run" ] || die "the model run did not name its directory"
grep -q ', model mode, ' "$model_run/collector.log" ||
	die "$model_run/collector.log: http_energy did not run in model mode"

# 5. Compare mean X-Energy-Score per endpoint: (model - psys) / psys.
echo "experiment: 5/5 compare"
jq -n --slurpfile a "$psys_run/benchmark.json" --slurpfile b "$model_run/benchmark.json" \
	--arg psys "$(basename "$psys_run")" --arg model "$(basename "$model_run")" '
	($b[0].endpoints | map({(.name): .energy}) | add) as $m |
	{psys_run: $psys, model_run: $model,
	 endpoints: [$a[0].endpoints[] | .name as $n | ($m[$n] // null) as $e |
		{name: $n, psys_mean_uj: .energy.mean_uj, model_mean_uj: ($e.mean_uj // null),
		 psys_responses_with_header: .energy.responses_with_header,
		 model_responses_with_header: ($e.responses_with_header // null),
		 relative_difference: (if $e == null or (.energy.mean_uj // 0) == 0 then null
			else (($e.mean_uj - .energy.mean_uj) / .energy.mean_uj) end)}],
	 total: {psys_mean_uj: $a[0].energy.mean_uj, model_mean_uj: $b[0].energy.mean_uj,
		relative_difference: (if ($a[0].energy.mean_uj // 0) == 0 then null
			else (($b[0].energy.mean_uj - $a[0].energy.mean_uj) / $a[0].energy.mean_uj) end)}}' \
	>"$exp/comparison.json"

pct() { awk -v x="$1" 'BEGIN { if (x == "null") print "n/a"; else printf "%+.1f%%", 100 * x }'; }
printf '%-28s %14s %14s %10s\n' endpoint "psys mean" "model mean" "rel. diff"
jq -r '(.endpoints[] | [.name, (.psys_mean_uj // "null"), (.model_mean_uj // "null"), (.relative_difference // "null")]), 
	["total", .total.psys_mean_uj, .total.model_mean_uj, (.total.relative_difference // "null")] | @tsv' \
	"$exp/comparison.json" | while IFS=$'\t' read -r name a b d; do
	printf '%-28s %14.0f %14.0f %10s\n' "$name" "$a" "$b" "$(pct "$d")"
done | tee "$exp/comparison.txt"

{
	echo '<!DOCTYPE html><html><head><meta charset="utf-8"><title>http_energy experiment</title>'
	echo '<style>body{font-family:sans-serif;max-width:960px;margin:auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}td:first-child{text-align:left}</style></head><body>'
	echo "<h1>Experiment $(basename "$exp")</h1>"
	echo "<p>Workloads in psys mode (measured energy split by the collector): $(for r in "${runs[@]}"; do printf '<a href="%s/index.html">%s</a> ' "$(basename "$r")" "$(basename "$r")"; done); model run (model mode, the model fitted on the mixed run): <a href=\"$(basename "$model_run")/index.html\">$(basename "$model_run")</a>. Energy source: $source.</p>"
	if [ "$source" = synthetic ]; then
		echo '<p style="background:#fee;border:2px solid #c00;padding:8px"><b>Synthetic energy source:</b> this host has no power telemetry; energy comes from configs/synthetic_host.conf, which has effects the fitted model lacks (memory, I/O, a non-linearity in utilisation), so the validation below measures something, but not real hardware.</p>'
	fi
	echo "<h2>Validation across workloads (leave one label out)</h2>"
	echo "<p>Each workload is predicted by a model fitted on the other two. DRE: dynamic-range error, 100 &times; MAE / (P99 &minus; P1 of the measured energy over all rows), which idle power cannot flatter. $(jq -r '"Dynamic range \(.cross_validation.dynamic_range_uj | floor) uJ; quality gate on the cross-validated R&sup2;: \(if .quality_gate.passed then "passed" else "FAILED" end)."' "$val/report.json")</p>"
	echo '<table><tr><th>held-out workload</th><th>train rows</th><th>test rows</th><th>MAE (uJ)</th><th>RMSE (uJ)</th><th>MAPE %</th><th>R&sup2;</th><th>DRE %</th></tr>'
	jq -r 'def f: if . == null then "n/a" elif type == "number" then (. * 1000 | round) / 1000 else . end;
		(.cross_validation.folds[] | "<tr><td>\(.held_out)</td><td>\(.train_rows)</td><td>\(.test_rows)</td><td>\(.metrics.mae_uj | f)</td><td>\(.metrics.rmse_uj | f)</td><td>\(.metrics.mape_percent | f)</td><td>\(.metrics.r2 | f)</td><td>\(.metrics.dynamic_range_error_percent | f)</td></tr>"),
		(.cross_validation.overall | "<tr><th>overall</th><th></th><th>\(.rows)</th><th>\(.mae_uj | f)</th><th>\(.rmse_uj | f)</th><th>\(.mape_percent | f)</th><th>\(.r2 | f)</th><th>\(.dynamic_range_error_percent | f)</th></tr>")' "$val/report.json"
	echo '</table><h3>Coefficients across folds</h3><table><tr><th>feature</th><th>all rows</th><th>min</th><th>max</th><th>flag</th></tr>'
	jq -r '.cross_validation.coefficient_stability[] | "<tr><td>\(.name)</td><td>\(.all_rows)</td><td>\(.min)</td><td>\(.max)</td><td>\([(if .changes_sign then "changes sign" else empty end), (if .moves_more_than_std_error then "moves more than its std error" else empty end)] | join(", "))</td></tr>"' "$val/report.json"
	echo '</table><h3>Predicted vs measured, per fold</h3>'
	for ((f = 1; f <= folds; f++)); do
		echo "<p><img src=\"validation/fold_$f.png\" width=\"600\" alt=\"fold $f: predicted vs measured\"> (<a href=\"validation/fold_$f.svg\">SVG</a>)</p>"
	done
	echo '<h2>Mean X-Energy-Score per endpoint</h2><table><tr><th>endpoint</th><th>psys run</th><th>model run</th><th>relative difference (model - psys) / psys</th></tr>'
	jq -r '(.endpoints[], (.total + {name: "total"})) | "<tr><td>\(.name)</td><td>\(.psys_mean_uj // "n/a" | if type == "number" then floor else . end)</td><td>\(.model_mean_uj // "n/a" | if type == "number" then floor else . end)</td><td>\(if .relative_difference == null then "n/a" else ((.relative_difference * 1000 | round) / 10 | tostring) + " %" end)</td></tr>"' "$exp/comparison.json"
	echo '</table>'
	echo "<h2>Fit of the mixed run</h2><p><img src=\"$(basename "$psys_run")/measured_vs_predicted.png\" width=\"900\" alt=\"measured vs predicted\"></p>"
	echo '</body></html>'
} >"$exp/index.html"
echo "experiment: $exp"
