# make experiment's validation plots (docs/experiments.md): one predicted-vs-measured
# scatter per cross-validation fold, from fit_energy --cv-predictions-csv
# (row,label,fold,measured,predicted). Called as
#   gnuplot -e "val='DIR'; ext='png'; folds=N" scripts/cv_plots.gnuplot
if (ext eq 'svg') {
	set terminal svg size 600,500 dynamic noenhanced font 'sans,12'
} else {
	set terminal pngcairo size 600,500 noenhanced font 'sans,10'
}
set grid
set key top left
set datafile separator ','
set xlabel 'measured energy per interval (mJ)'
set ylabel 'predicted, by the model fitted without this workload (mJ)'
do for [f = 1:folds] {
	set output val.'/fold_'.f.'.'.ext
	label = system("awk -F, -v f=".f." 'NR > 1 && $3 == f { print $2; exit }' ".val."/cv_predictions.csv")
	set title 'fold '.f.': workload '.label.' held out'
	plot val.'/cv_predictions.csv' every ::1 using ($4/1000):(int($3) == f ? $5/1000 : NaN) with points pt 7 ps 0.6 lc rgb '#1f77b4' title 'intervals', \
	     x with lines lc rgb '#555555' title 'predicted = measured'
}
