#!/usr/bin/env bash
# scripts/report.sh with a request log: the per-route table and plot from
# tests/fixtures/records/records.csv (routes by method and path without query, quoted
# targets, an absolute-form target, 59 routes so the top-50 bound and "other" show).
# The expected rows are worked out by hand from the fixture. Needs no root.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
for tool in gnuplot jq python3; do
	command -v $tool >/dev/null || { skip "$tool missing (scripts/install-deps.sh)"; finish; }
done
tmp=$(mktemp -d)
on_exit "rm -rf $tmp"

# A minimal run: two intervals, one endpoint.
run=$tmp/run
mkdir "$run"
cat >"$run/samples.csv" <<CSV
interval,t_start_ns,t_end_ns,active_psys_uj,attributed_uj,request_energy_uj
0,1000000000,1200000000,5000,4000,3000
1,1200000000,1400000000,6000,5000,3500
CSV
echo '{"endpoints":[{"name":"/cpu","responses":6,"requests_per_s":3,"latency":{"p50_us":900},"energy":{"mean_uj":40,"p50_uj":30,"p99_uj":100}}],"totals":{"responses":6,"requests_per_s":3},"energy":{"mean_uj":40}}' >"$run/benchmark.json"

bash scripts/report.sh "$run" 2>"$tmp/report.err"
check "report.sh without records.csv: exit 0, no route section" \
	bash -c "! grep -q 'Routes (request log)' $run/index.html && [ ! -e $run/route_energy.png ]"

cp tests/fixtures/records/records.csv "$run/records.csv"
bash scripts/report.sh "$run" 2>"$tmp/report.err"
rc=$?
check "report.sh with records.csv: exit 0 (got $rc)" [ "$rc" = 0 ] || cat "$tmp/report.err"
html=$run/index.html
# row ROUTE COUNT TOTAL MEAN P50 P90 P99: that exact table row is in index.html.
row() {
	local want="<tr><td>$1</td><td>$2</td><td>$3</td><td>$4</td><td>$5</td><td>$6</td><td>$7</td></tr>"
	grep -qF -- "$want" "$html" || { echo "# missing: $want"; return 1; }
}
check "the route table is there" grep -q 'Routes (request log)' "$html"
# 10, 40, 30, 20, 100000 (queries dropped) and 50: nearest-rank p50 = 3rd = 30
check "GET /cpu: 6 requests across queries, mean 16691.7, p50 30, p90 and p99 100000" \
	row "GET /cpu" 6 100150.0 16691.7 30.0 100000.0 100000.0
check "a quoted target with a comma and a quote, query dropped, HTML-escaped" \
	row "GET /a,b&quot;c" 2 8000.0 4000.0 3000.0 5000.0 5000.0
check "an absolute-form target gives its path" row "GET /abs/path" 1 6000.0 6000.0 6000.0 6000.0 6000.0
check "a fragment is dropped" row "GET /frag" 1 2500.0 2500.0 2500.0 2500.0 2500.0
check "the 50th route by energy has its row" row "GET /item/09" 1 10.0 10.0 10.0 10.0 10.0
check "a route below the top 50 has none" bash -c "! grep -qF '<td>GET /item/08</td>' $html"
# other: /item/00../item/08 (1..9 uJ) and POST /cpu (7 uJ): 1 2 3 4 5 6 7 7 8 9
check "the other row: 10 routes, 10 requests, mean 5.2, p50 5, p90 8, p99 9" \
	row "other (10 routes)" 10 52.0 5.2 5.0 8.0 9.0
check "51 route rows (50 + other)" [ "$(grep -c '^<tr><td>' "$html")" -ge 51 ]
check "the route plot is written (PNG and SVG) and linked" \
	bash -c "[ -s $run/route_energy.png ] && [ -s $run/route_energy.svg ] && grep -q 'route_energy.png' $html"

# Bad input: one line naming file, line and column; exit 1.
{ head -n 3 tests/fixtures/records/records.csv; echo '1,2,3,4,5,6,7,GET,/x,200,1,1,1,abc,0,,psys'; } >"$tmp/bad.csv"
python3 scripts/routes_report.py "$tmp/bad.csv" "$tmp/b.tsv" "$tmp/b.html" 2>"$tmp/bad.err"
rc=$?
check "a bad energy cell: exit 1 (got $rc), one line with file, line and column" \
	bash -c "[ $rc = 1 ] && [ \$(wc -l <$tmp/bad.err) = 1 ] && grep -q 'routes_report: $tmp/bad.csv:4: energy_uj: \"abc\" is not a number' $tmp/bad.err"
finish
