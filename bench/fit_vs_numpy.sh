#!/usr/bin/env bash
# fit_energy against the same least squares in Python with pandas and numpy.
#
# Generates an interval CSV of ROWS rows (default 1,000,000) with runtime at 12 CPU
# frequencies, wakeups and migrations (PMU columns empty, as on a host without a PMU),
# with known coefficients and 1% noise; then times, RUNS times each (default 3, median
# kept), measuring wall time and peak RSS (getrusage of the child):
#   C:      fit_energy big.csv -o out.conf --method ols   (also reports nnls, the default)
#   Python: pandas.read_csv, freq_runtime_ns turned into one column per frequency (two
#           ways: the usual str.split/explode/pivot_table, and a vectorised numpy parse
#           of all cells at once), the same time split (first 80% train),
#           numpy.linalg.lstsq without intercept, test R^2
#   Floor:  wc -l big.csv (reading the file at all)
# and checks that both found the same coefficients. The last three lines are the figures:
# the ratios to the vectorised numpy code (target >= 5x), to idiomatic pandas (target >=
# 20x) and to wc -l. Other work on the host makes every figure noisy: compare ratios from
# one run, not times from different runs.
# The data lives in a temporary directory that is removed at exit.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
FIT=$BUILD/bin/fit_energy
PYTHON=${PYTHON:-/usr/bin/python3} # Debian's, with python3-numpy and python3-pandas
ROWS=${ROWS:-1000000}
RUNS=${RUNS:-3}

[ -x "$FIT" ] || { echo "fit_vs_numpy: $FIT is not built (make)" >&2; exit 1; }
"$PYTHON" -c 'import numpy, pandas' 2>/dev/null ||
	{ echo "fit_vs_numpy: $PYTHON lacks numpy or pandas (python3-numpy, python3-pandas)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fit_vs_numpy.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/gen.py" <<'PY'
import sys
import numpy as np
rows, out = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(1)
khz = np.array([800000 + 200000 * i for i in range(12)])
w = np.array([0.0008 + 0.0003 * i for i in range(12)])  # uJ/ns
header = ("interval,label,t_start_ns,t_end_ns,energy_source,interval_psys_uj,idle_uj,"
          "active_psys_uj,runtime_ns,wakeups,cycles,instructions,cache_misses,migrations,"
          "freq_runtime_ns,idle_ns,irq_ns,softirq_ns,kthread_runtime_ns,page_cache_hits,"
          "writebacks,cgroup_runtime_ns,requests,request_energy_uj,attributed_uj\n")
idle = 1900000  # 9.5 W over 200 ms
with open(out, "w") as f:
    f.write(header)
    for c0 in range(0, rows, 100000):
        m = min(100000, rows - c0)
        rt = rng.integers(0, 200_000_000, size=(m, 12)) * (rng.random((m, 12)) < 0.3)
        wake = rng.integers(0, 5000, size=m)
        mig = rng.integers(0, 500, size=m)
        act = rt @ w + 1.5 * wake + 4 * mig
        act = np.rint(act * (1 + 0.01 * rng.standard_normal(m))).astype(np.int64)
        lines = []
        for i in range(m):
            r = rt[i]
            cells = ";".join("%d:%d" % (khz[j], r[j]) for j in np.flatnonzero(r))
            t0 = (c0 + i) * 200000000
            lines.append("%d,run,%d,%d,synthetic,%d,%d,%d,%d,%d,,,,%d,%s,0,0,0,0,0,0,0,,,\n"
                         % (c0 + i, t0, t0 + 200000000, act[i] + idle, idle, act[i],
                            r.sum(), wake[i], mig[i], cells))
        f.write("".join(lines))
PY

cat >"$tmp/fit.py" <<'PY'
import sys
import numpy as np
import pandas as pd
df = pd.read_csv(sys.argv[1])
s = df["freq_runtime_ns"].fillna("")
if sys.argv[2] == "idiomatic":
    # One column per frequency from "khz:ns;khz:ns", the usual pandas way.
    pairs = s.str.split(";").explode()
    pairs = pairs[pairs != ""]
    kv = pairs.str.split(":", expand=True)
    kv.columns = ["khz", "ns"]
    kv["khz"] = kv["khz"].astype(np.int64)
    kv["ns"] = kv["ns"].astype(np.float64)
    wide = kv.pivot_table(index=kv.index, columns="khz", values="ns", aggfunc="sum",
                          fill_value=0.0).reindex(df.index, fill_value=0.0)
    khz, F = list(wide.columns), wide.to_numpy()
else:
    # Vectorised: every cell in one string, parsed by numpy in one call.
    per_row = s.str.count(":").to_numpy()
    flat = np.fromstring(";".join(s[s != ""]).replace(":", ";"), dtype=np.int64, sep=";")
    flat = flat.reshape(-1, 2)
    khz, col = np.unique(flat[:, 0], return_inverse=True)
    F = np.zeros((len(s), len(khz)))
    np.add.at(F, (np.repeat(np.arange(len(s)), per_row), col), flat[:, 1].astype(np.float64))
counts = [c for c in ["wakeups", "cycles", "instructions", "cache_misses", "migrations"]
          if df[c].notna().any()]  # empty columns are unmeasured: dropped
X = np.column_stack([F] + [df[c].to_numpy(np.float64) for c in counts])
y = df["active_psys_uj"].to_numpy(np.float64)
n_train = len(y) - int(np.floor(0.2 * len(y) + 0.5))  # the last 20% are the test set
coef, *_ = np.linalg.lstsq(X[:n_train], y[:n_train], rcond=None)
res = y[n_train:] - X[n_train:] @ coef
r2 = 1 - (res @ res) / ((y[n_train:] - y[n_train:].mean()) ** 2).sum()
for name, c in zip(["freq_khz=%d" % k for k in khz] + counts, coef):
    print(name, repr(c))
print("test_r2", r2)
PY

echo "fit_vs_numpy: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) (other work on the host slows both sides)" >&2
echo "fit_vs_numpy: generating $ROWS rows with 12 frequencies in $tmp" >&2
"$PYTHON" "$tmp/gen.py" "$ROWS" "$tmp/big.csv"
echo "fit_vs_numpy: $(du -m "$tmp/big.csv" | cut -f1) MB" >&2

# timed PREFIX COMMAND...: runs it, output in PREFIX.out and PREFIX.err, "wall_s max_rss_kb"
# in PREFIX.time (the peak RSS of the command, from getrusage).
timed() {
	"$PYTHON" -c '
import resource, subprocess, sys, time
t = time.monotonic()
rc = subprocess.call(sys.argv[2:], stdout=open(sys.argv[1] + ".out", "w"), stderr=open(sys.argv[1] + ".err", "w"))
wall = time.monotonic() - t
open(sys.argv[1] + ".time", "w").write("%.2f %d\n" % (wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(rc)' "$@"
}

# measure NAME COMMAND...: RUNS runs; prints "median_wall_s max_rss_kb" (RSS of that run).
measure() {
	local name=$1
	shift
	for ((i = 0; i < RUNS; i++)); do
		timed "$tmp/$name" "$@" ||
			{ echo "fit_vs_numpy: $name failed:" >&2; cat "$tmp/$name.err" >&2; exit 1; }
		cat "$tmp/$name.time"
		echo "fit_vs_numpy: $name run $((i + 1)): $(cat "$tmp/$name.time") (s, KiB)" >&2
	done | sort -n | awk -v r="$RUNS" 'NR == int((r + 1) / 2) { print $1, $2 }'
}

read -r w_s w_kb < <(measure wc wc -l "$tmp/big.csv")
read -r c_s c_kb < <(measure c "$FIT" "$tmp/big.csv" -o "$tmp/c.conf" --method ols)
read -r n_s n_kb < <(measure nnls "$FIT" "$tmp/big.csv" -o "$tmp/nnls.conf")
read -r v_s v_kb < <(measure vectorised "$PYTHON" "$tmp/fit.py" "$tmp/big.csv" vectorised)
read -r i_s i_kb < <(measure idiomatic "$PYTHON" "$tmp/fit.py" "$tmp/big.csv" idiomatic)

# The same least squares: every coefficient agrees to 1e-6, for both Python variants.
for py in vectorised idiomatic; do
	if ! awk 'FNR == NR { if ($1 == "freq_khz") want["freq_khz=" $3] = $4;
			else if ($1 == "wakeup_penalty") want["wakeups"] = $3;
			else if ($1 == "migration_penalty") want["migrations"] = $3; next }
		$1 in want { n++; d = ($2 - want[$1]) / want[$1]; if (d < 0) d = -d;
			if (d > 1e-6) { print "fit_vs_numpy: " $1 ": C " want[$1] ", numpy " $2 > "/dev/stderr"; bad = 1 } }
		END { exit bad || n != 14 }' "$tmp/c.conf" "$tmp/$py.out"; then
		echo "fit_vs_numpy: C and numpy ($py) disagree" >&2
		exit 1
	fi
done
echo "coefficients agree to 1e-6 (14 of 14); numpy test R^2 $(sed -n 's/^test_r2 //p' "$tmp/vectorised.out"), fit_energy $(grep '^test:' "$tmp/c.out" | sed 's/.*R^2/R^2/')"
mib() { echo $(($1 / 1024)); }
echo "fit_energy --method ols:             ${c_s} s, peak RSS $(mib "$c_kb") MiB"
echo "fit_energy (nnls, the default):      ${n_s} s, peak RSS $(mib "$n_kb") MiB"
echo "pandas + numpy, vectorised parse:    ${v_s} s, peak RSS $(mib "$v_kb") MiB"
echo "pandas + numpy, split/explode/pivot: ${i_s} s, peak RSS $(mib "$i_kb") MiB"
echo "wc -l (the floor):                   ${w_s} s"
awk -v c="$c_s" -v ck="$c_kb" -v v="$v_s" -v vk="$v_kb" -v i="$i_s" -v ik="$i_kb" -v w="$w_s" \
	-v rows="$ROWS" -v runs="$RUNS" -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
	if (w <= 0) w = 0.01 # below the timer resolution
	printf "fit_energy vs vectorised numpy = %.1fx faster (target >= 5x), peak RSS %.0f vs %.0f MiB (%d rows, 12 frequencies, ols, median of %d, load average %s)\n",
		v / c, ck / 1024, vk / 1024, rows, runs, load
	printf "fit_energy vs idiomatic pandas = %.1fx faster (target >= 20x), peak RSS %.0f vs %.0f MiB\n",
		i / c, ck / 1024, ik / 1024
	printf "fit_energy vs wc -l = %.1fx the time of wc -l (the floor: reading the file at all)\n", c / w }'
