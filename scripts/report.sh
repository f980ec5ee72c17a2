#!/usr/bin/env bash
# report.sh RUN: the plots (PNG and SVG) and index.html of a run that has samples.csv,
# benchmark.json and, after a fit, report.json and predictions.csv; with records.csv (the
# request log) a per-route table and plot (scripts/routes_report.py). Temporary data files
# stay inside the run directory and are removed.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1%/}
tmp=$(mktemp -d "$RUN/.plotdata.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# endpoints.tsv: name, mean, p50, p99 energy per request (X-Energy-Score).
jq -r '.endpoints[] | [.name, (.energy.mean_uj // 0), (.energy.p50_uj // 0), (.energy.p99_uj // 0)] | @tsv' \
	"$RUN/benchmark.json" >"$tmp/endpoints.tsv"
# intervals.tsv: seconds since the first interval, active, attributed and request energy.
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
	NR == 2 { t0 = $c["t_start_ns"] }
	{ printf "%.3f\t%s\t%s\t%s\n", ($c["t_end_ns"] - t0) / 1e9, $c["active_psys_uj"],
		$c["attributed_uj"] == "" ? "NaN" : $c["attributed_uj"],
		$c["request_energy_uj"] == "" ? "NaN" : $c["request_energy_uj"] }' \
	"$RUN/samples.csv" >"$tmp/intervals.tsv"
fitted=0
plots=(energy_per_request attributed_vs_measured)
if [ -s "$RUN/predictions.csv" ]; then
	fitted=1
	plots=(measured_vs_predicted residuals "${plots[@]}")
fi
routes=0
if [ -s "$RUN/records.csv" ]; then
	python3 scripts/routes_report.py "$RUN/records.csv" "$tmp/routes.tsv" "$tmp/routes.html"
	routes=1
	plots+=(route_energy)
fi
for ext in png svg; do
	gnuplot -e "dir='$RUN'; data='$tmp'; ext='$ext'; fitted=$fitted; routes=$routes" \
		scripts/plots.gnuplot \
		2>"$tmp/gnuplot.err" ||
		{ cat "$tmp/gnuplot.err" >&2; echo "report: gnuplot failed ($ext)" >&2; exit 1; }
done

# index.html: key figures and the plots.
esc() { sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g'; }
run_json=$RUN/run.json
[ -s "$run_json" ] || run_json=/dev/null
{
	echo "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>http_energy run $(basename "$RUN" | esc)</title>"
	echo '<style>body{font-family:sans-serif;max-width:960px;margin:auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}th:first-child,td:first-child{text-align:left}.warn{background:#fee;border:2px solid #c00;padding:8px}</style></head><body>'
	echo "<h1>Run $(basename "$RUN" | esc)</h1>"
	if [ "$(jq -r '.energy_source // ""' "$run_json" 2>/dev/null)" = synthetic ]; then
		echo '<p class="warn"><b>Synthetic energy source:</b> this host has no power telemetry; the energy figures come from a model (configs/synthetic_host.conf), not a measurement.</p>'
	fi
	echo '<h2>Run</h2><table>'
	jq -r 'to_entries[] | select(.value | type != "object" and type != "array") | "<tr><td>\(.key)</td><td>\(.value)</td></tr>"' "$run_json" 2>/dev/null
	echo '</table>'
	echo '<h2>Load (bench_http)</h2><table><tr><th>endpoint</th><th>responses</th><th>req/s</th><th>p50 latency (us)</th><th>mean energy per request</th><th>p99</th></tr>'
	jq -r '.endpoints[] | "<tr><td>\(.name)</td><td>\(.responses)</td><td>\(.requests_per_s | floor)</td><td>\(.latency.p50_us | floor)</td><td>\(.energy.mean_uj // 0 | floor)</td><td>\(.energy.p99_uj // 0)</td></tr>"' "$RUN/benchmark.json"
	jq -r '"<tr><th>total</th><th>\(.totals.responses)</th><th>\(.totals.requests_per_s | floor)</th><th></th><th>\(.energy.mean_uj // 0 | floor)</th><th></th></tr>"' "$RUN/benchmark.json"
	echo '</table>'
	if [ -s "$RUN/report.json" ]; then
		echo '<h2>Fit (fit_energy)</h2><table><tr><th>set</th><th>rows</th><th>R&sup2;</th><th>MAPE %</th><th>RMSE (uJ)</th><th>MAE (uJ)</th></tr>'
		jq -r '.metrics | to_entries[] | select(.key == "train" or .key == "test") | "<tr><td>\(.key)</td><td>\(.value.rows)</td><td>\(.value.r2 // "n/a")</td><td>\(.value.mape_percent // "n/a")</td><td>\(.value.rmse_uj // "n/a")</td><td>\(.value.mae_uj // "n/a")</td></tr>"' "$RUN/report.json"
		echo '</table>'
		jq -r '"<p>Quality gate: \(if .quality_gate.passed then "passed" else "FAILED" end) (R&sup2; of \(.quality_gate.r2_of) = \(.quality_gate.r2)); config written: \(.config.written).</p>"' "$RUN/report.json"
		echo '<table><tr><th>feature</th><th>coefficient</th><th>std error</th><th>unit</th></tr>'
		jq -r '.features[] | "<tr><td>\(.name)</td><td>\(.coefficient)</td><td>\(.std_error)</td><td>\(.unit)</td></tr>"' "$RUN/report.json"
		echo '</table>'
	fi
	if [ "$routes" = 1 ]; then
		echo '<h2>Routes (request log)</h2><p>Energy per request by route (method and path without query), from records.csv: the 50 routes with the most energy, the rest in one row; percentiles nearest-rank.</p>'
		cat "$tmp/routes.html"
	fi
	for p in "${plots[@]}"; do
		echo "<h3>$p</h3><p><img src=\"$p.png\" alt=\"$p\" width=\"900\"> (<a href=\"$p.svg\">SVG</a>)</p>"
	done
	echo '</body></html>'
} >"$RUN/index.html"
