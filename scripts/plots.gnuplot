# The run's plots (docs/experiments.md). Called by scripts/fit.sh as
#   gnuplot -e "dir='RUN'; data='TMPDIR'; ext='png'; fitted=1" scripts/plots.gnuplot
# dir: the run directory (predictions.csv when fitted=1); data: prepared data files
# (endpoints.tsv: name, mean, p50, p99 uJ; intervals.tsv: t_s, active, attributed,
# request uJ); ext: png or svg.
if (ext eq 'svg') {
	set terminal svg size 900,500 dynamic noenhanced font 'sans,12'
} else {
	set terminal pngcairo size 900,500 noenhanced font 'sans,10'
}
set grid
set key outside top center horizontal
set datafile separator ','

if (fitted) {
# 1. Measured and predicted energy per interval, train and test rows marked.
set output dir.'/measured_vs_predicted.'.ext
set title 'Active energy per interval: measured and predicted by the fitted model'
set xlabel 'interval (row of samples.csv)'
set ylabel 'energy per interval (mJ)'
plot dir.'/predictions.csv' every ::1 using 1:($4/1000) with lines lc rgb '#555555' title 'measured', \
     '' every ::1 using 1:(strcol(3) eq 'train' ? $5/1000 : NaN) with points pt 7 ps 0.6 lc rgb '#1f77b4' title 'predicted (train)', \
     '' every ::1 using 1:(strcol(3) eq 'test' ? $5/1000 : NaN) with points pt 5 ps 0.7 lc rgb '#d62728' title 'predicted (test)'

# 2. Residuals over time.
set output dir.'/residuals.'.ext
set title 'Residuals (measured - predicted) per interval'
set ylabel 'residual (mJ)'
plot dir.'/predictions.csv' every ::1 using 1:(strcol(3) eq 'train' ? ($4-$5)/1000 : NaN) with impulses lc rgb '#1f77b4' title 'train', \
     '' every ::1 using 1:(strcol(3) eq 'test' ? ($4-$5)/1000 : NaN) with impulses lw 2 lc rgb '#d62728' title 'test', \
     0 with lines lc rgb '#000000' notitle
}

# 3. Energy per request by endpoint (X-Energy-Score seen by bench_http).
set datafile separator '\t'
set output dir.'/energy_per_request.'.ext
set title 'Energy per request by endpoint (X-Energy-Score): mean, p50 and p99'
set xlabel ''
set ylabel 'energy per request (uJ or score)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xtics rotate by -20 noenhanced
set yrange [0:*]
plot data.'/endpoints.tsv' using 2:xtic(1) title 'mean' lc rgb '#1f77b4', \
     '' using 3 title 'p50' lc rgb '#2ca02c', \
     '' using 4 title 'p99' lc rgb '#d62728'
unset style
set style data points
set xtics norotate
set autoscale y

# 4. Attributed vs measured active energy per interval.
set output dir.'/attributed_vs_measured.'.ext
set title 'Per interval: measured active energy, energy attributed to processes, and to requests'
set xlabel 'time (s since the first interval)'
set ylabel 'energy per interval (mJ)'
plot data.'/intervals.tsv' using 1:($2/1000) with lines lw 2 lc rgb '#555555' title 'measured (active_psys_uj)', \
     '' using 1:($3/1000) with lines lc rgb '#1f77b4' title 'attributed (attributed_uj)', \
     '' using 1:($4/1000) with lines lc rgb '#ff7f0e' title 'requests (request_energy_uj)'

# 5. With a request log (records.csv): energy per request by route, the top 20 routes by
# total energy (routes.tsv: rank, route, count, mean, p50, p90, p99 uJ), log scale.
if (exists('routes') && routes) {
set output dir.'/route_energy.'.ext
set title 'Energy per request by route (request log): p50, p90, p99 and mean, top 20 by total energy'
set xlabel ''
set ylabel 'energy per request (uJ)'
set logscale y
set xtics rotate by -30 noenhanced
set xrange [0.5:20.5]
plot data.'/routes.tsv' every ::0::19 using 1:5:xtic(2) with points pt 7 lc rgb '#2ca02c' title 'p50', \
     '' every ::0::19 using 1:6 with points pt 9 lc rgb '#ff7f0e' title 'p90', \
     '' every ::0::19 using 1:7 with points pt 11 lc rgb '#d62728' title 'p99', \
     '' every ::0::19 using 1:4 with points pt 2 lc rgb '#1f77b4' title 'mean'
unset logscale y
set xtics norotate
set autoscale x
}
