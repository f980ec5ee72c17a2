#!/usr/bin/env bash
# `make experiment`: collect in psys mode, fit, collect again with the fitted config in
# model mode, and compare X-Energy-Score per endpoint between the two runs
# (docs/experiments.md). Everything goes into RUNS_DIR/<UTC time>-experiment/: the two
# runs, comparison.json and index.html. Same variables as `make collect`; CONFIG is the
# psys-mode config of the first run (default configs/energy_model.conf). The last line on
# stdout is "experiment: DIR".
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS_DIR=${RUNS_DIR:-data/runs}
CONFIG=${CONFIG:-configs/energy_model.conf}
die() { echo "experiment: $*" >&2; exit 1; }

exp=$RUNS_DIR/$(date -u +%Y%m%dT%H%M%SZ)-experiment
[ -e "$exp" ] && exp=$exp-$$
mkdir -p "$exp"
echo "experiment: directory $exp"
mode=$(sed -n 's/^[[:space:]]*attribution_mode[[:space:]]*=[[:space:]]*\([a-z]*\).*/\1/p' "$CONFIG" | tail -1)
[ "${mode:-psys}" = psys ] || die "CONFIG: $CONFIG: attribution_mode must be psys for the first run (it is $mode)"

# 1. psys run.
echo "experiment: 1/4 collect in psys mode"
RUNS_DIR=$exp LABEL=psys CONFIG=$CONFIG bash scripts/collect.sh | tee "$exp/.collect1.out"
psys_run=$(sed -n 's/^run: //p' "$exp/.collect1.out")
rm -f "$exp/.collect1.out"
[ -n "$psys_run" ] || die "the psys run did not name its directory"

# 2. Fit.
echo "experiment: 2/4 fit"
RUN=$psys_run bash scripts/fit.sh

# 3. model run with the fitted config, on the energy source the first run used.
echo "experiment: 3/4 collect in model mode with $psys_run/fitted.conf"
source=$(jq -r .energy_source "$psys_run/run.json")
RUNS_DIR=$exp LABEL=model CONFIG=$psys_run/fitted.conf ENERGY_SOURCE=$source \
	bash scripts/collect.sh | tee "$exp/.collect2.out"
model_run=$(sed -n 's/^run: //p' "$exp/.collect2.out")
rm -f "$exp/.collect2.out"
[ -n "$model_run" ] || die "the model run did not name its directory"
grep -q ', model mode, ' "$model_run/collector.log" ||
	die "$model_run/collector.log: http_energy did not run in model mode"

# 4. Compare mean X-Energy-Score per endpoint: (model - psys) / psys.
echo "experiment: 4/4 compare"
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
	echo "<p>Run 1 (psys mode, measured energy split by the collector): <a href=\"$(basename "$psys_run")/index.html\">$(basename "$psys_run")</a>; run 2 (model mode, the model fitted on run 1): <a href=\"$(basename "$model_run")/index.html\">$(basename "$model_run")</a>. Energy source: $source.</p>"
	echo '<h2>Mean X-Energy-Score per endpoint</h2><table><tr><th>endpoint</th><th>psys run</th><th>model run</th><th>relative difference (model - psys) / psys</th></tr>'
	jq -r '(.endpoints[], (.total + {name: "total"})) | "<tr><td>\(.name)</td><td>\(.psys_mean_uj // "n/a" | if type == "number" then floor else . end)</td><td>\(.model_mean_uj // "n/a" | if type == "number" then floor else . end)</td><td>\(if .relative_difference == null then "n/a" else ((.relative_difference * 1000 | round) / 10 | tostring) + " %" end)</td></tr>"' "$exp/comparison.json"
	echo '</table>'
	echo "<h2>Fit</h2><p><img src=\"$(basename "$psys_run")/measured_vs_predicted.png\" width=\"900\" alt=\"measured vs predicted\"></p>"
	echo '</body></html>'
} >"$exp/index.html"
echo "experiment: $exp"
