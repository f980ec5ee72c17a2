#!/usr/bin/env bash
# http_energy reads a measured energy source at the interval boundary itself (the instant
# of t_end_ns), not after flushing the CPUs and draining the maps: with a replayed meter
# of constant power, every row's energy is power x (t_end_ns - t_start_ns) to within what
# a read takes (a read after the flush and drain is off by their varying duration).
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
require_root "http_energy energy at the cut"

tmp=$(mktemp -d /tmp/test_http_energy_cut.XXXXXX)
on_exit "rm -rf $tmp"
make_cgroup "http_energy_cut_$$" || { not_ok "creating a test cgroup"; finish; }
# 100 W for 120 s: 1e8 uW, so 1 ns is 0.1 uJ.
printf 't_ns,energy_uj\n0,0\n120000000000,12000000000\n' >"$tmp/meter.csv"
printf 'attribution_mode = psys\nidle_power_uw = 1\npsys_interval_ms = 50\n' >"$tmp/energy.conf"
# A background load makes the flush and drain vary (more processes, busier CPUs).
bash -c 'end=$((SECONDS + 8)); while [ $SECONDS -lt $end ]; do /bin/true; done' &
load=$!
on_exit "kill $load 2>/dev/null"
"$BIN/http_energy" --no-requests --energy-source "replay:$tmp/meter.csv" --duration 4 \
	--collect-csv "$tmp/run.csv" "$CGROUP" "$tmp/energy.conf" 2>"$tmp/collector.log"
rc=$?
kill $load 2>/dev/null
check "http_energy with a replayed meter exits 0" [ "$rc" = 0 ]
[ "$rc" = 0 ] || sed 's/^/  /' "$tmp/collector.log"
# |energy - 0.1 uJ/ns x duration| per row, in ns of meter time: the median (a stray
# preemption of the sampler can still hit a single read) and the worst.
read -r rows median_ns worst_ns < <(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
	{ d = $c["t_end_ns"] - $c["t_start_ns"]; off = $c["interval_psys_uj"] * 10 - d
	  print off < 0 ? -off : off }' "$tmp/run.csv" | sort -n |
	awk '{ a[NR] = $1 } END { printf "%d %d %d\n", NR, NR ? a[int((NR + 1) / 2)] : 0, a[NR] }')
check "row energy is 100 W x duration: median off by at most 5 us ($rows rows, median $((median_ns / 1000)) us, worst $((worst_ns / 1000)) us)" \
	test "$rows" -ge 60 -a "$median_ns" -le 5000
check "and no row is off by more than 2 ms" test "$worst_ns" -le 2000000
finish
