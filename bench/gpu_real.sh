#!/usr/bin/env bash
# bench/gpu_real.sh: http_energy on a real host with an NVIDIA GPU (root). Not part of CI:
# CI hosts have no GPU; tests/integration/test_gpu.sh checks the same code against fakes.
#
#   1. GPU energy: the collector (--gpu nvml, 200 ms intervals) runs 14 s while a PyTorch
#      matrix-product load runs 6 s in its cgroup. The truth is NVML itself, read by a
#      separate process (Python's pynvml) every 10 ms: its energy counter, interpolated at
#      each interval's boundaries (CLOCK_MONOTONIC, as the collector's), and the trapezoid
#      of its power readings. Printed: per-interval and total error of energy_uj against
#      both, the load's share of the per-process split, and gpu_energy_uj = sum of rows.
#   2. Request tracking on this kernel: which hooks load (fexit, fentry, tp_btf), and
#      workload_server under bench_http with the header and the request log.
# environment: PARTS (default "1 2"), BIN (default build/bin), OUTDIR (default /tmp/gpu_real), LIBDIR (prepended to
# LD_LIBRARY_PATH: the collector's libraries when this host lacks them).
set -u
cd "$(dirname "$0")/.."
me=bench/gpu_real.sh
BIN=${BIN:-build/bin}
OUTDIR=${OUTDIR:-/tmp/gpu_real}
[ -n "${LIBDIR:-}" ] && export LD_LIBRARY_PATH=$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
mkdir -p "$OUTDIR"
rm -f "$OUTDIR/part1.last"
[ "$(id -u)" = 0 ] || { echo "$me: needs root" >&2; exit 2; }

echo "== host"
uname -r
nvidia-smi -L 2>&1 | head -4
echo "btf: $(ls /sys/kernel/btf/vmlinux 2>&1)"
echo "powercap: $(ls /sys/class/powercap 2>&1 | tr '\n' ' ')"
echo "cpufreq: $(ls /sys/devices/system/cpu/cpu0/cpufreq 2>&1 | head -3 | tr '\n' ' ')"
echo "perf_event_paranoid: $(cat /proc/sys/kernel/perf_event_paranoid 2>&1)"
cg_root=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
mounted=
if [ -z "$cg_root" ]; then
	mkdir -p /tmp/cg2 && mount -t cgroup2 none /tmp/cg2 && cg_root=/tmp/cg2 && mounted=1
fi
echo "cgroup2: ${cg_root:-none}"
[ -n "$cg_root" ] || { echo "$me: no cgroup2" >&2; exit 1; }
cg=$cg_root/he_gpu_real_$$
mkdir "$cg" || exit 1
cleanup() {
	local i
	for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do kill "$p" 2>/dev/null; done
	for i in $(seq 50); do rmdir "$cg" 2>/dev/null && break; sleep 0.1; done
	[ -d "$cg" ] && echo "$me: $cg: still has processes; left in place" >&2
	[ -n "$mounted" ] && umount /tmp/cg2
}
fails=0 # checks that failed; the exit status
trap cleanup EXIT

cat >"$OUTDIR/psys.conf" <<CONF
attribution_mode = psys
energy_source = synthetic
idle_power_uw = 2000000
psys_interval_ms = 200
CONF

part1() {
echo "== 1. GPU energy against NVML read independently"
python3 - "$OUTDIR/truth.csv" 16 <<'PY' &
import sys, time, pynvml
pynvml.nvmlInit()
h = pynvml.nvmlDeviceGetHandleByIndex(0)
end = time.monotonic() + float(sys.argv[2])
with open(sys.argv[1], "w") as f:
    f.write("t_ns,energy_mj,power_mw\n")
    while time.monotonic() < end:
        t0 = time.monotonic_ns()
        e = pynvml.nvmlDeviceGetTotalEnergyConsumption(h)
        p = pynvml.nvmlDeviceGetPowerUsage(h)
        t1 = time.monotonic_ns()
        f.write(f"{(t0 + t1) // 2},{e},{p}\n")
        time.sleep(0.01)
PY
truth=$!
sleep 0.5
timeout 40 "$BIN/http_energy" --no-requests --gpu nvml --gpu-csv "$OUTDIR/gpu.csv" \
	--collect-csv "$OUTDIR/intervals.csv" --duration 14 "$cg" "$OUTDIR/psys.conf" \
	2>"$OUTDIR/collector1.log" &
coll=$!
sleep 3
bash -c "echo \$\$ > $cg/cgroup.procs; exec python3 -c '
import time, torch
a = torch.randn(8192, 8192, device=\"cuda\", dtype=torch.bfloat16)
b = torch.randn(8192, 8192, device=\"cuda\", dtype=torch.bfloat16)
end = time.monotonic() + 6
n = 0
while time.monotonic() < end:
    for _ in range(20):
        c = a @ b
    torch.cuda.synchronize()
    n += 20
print(\"load: products\", n)
'" >"$OUTDIR/load.log" 2>&1 &
load=$!
wait "$load"
echo "load pid $load: $(cat "$OUTDIR/load.log" | tail -1)"
wait "$coll"
rc=$?
echo "collector exit $rc"
[ "$rc" = 0 ] || fails=$((fails + 1))
wait "$truth"
grep -v '^$' "$OUTDIR/collector1.log" | head -20
python3 - "$OUTDIR" "$load" <<'PY' || fails=$((fails + 1))
import csv, sys, bisect
d, load = sys.argv[1], int(sys.argv[2])
tr = [(int(r["t_ns"]), int(r["energy_mj"]), int(r["power_mw"]))
      for r in csv.DictReader(open(f"{d}/truth.csv"))]
ts = [t for t, _, _ in tr]
def counter_at(t):  # mJ, linear between the two readings around t
    i = bisect.bisect_left(ts, t)
    if i == 0 or i >= len(ts):
        return None
    (t0, e0, _), (t1, e1, _) = tr[i - 1], tr[i]
    return e0 + (e1 - e0) * (t - t0) / (t1 - t0)
def power_uj(a, b):  # trapezoid of the power readings over [a, b], uJ
    s = 0.0
    for (t0, _, p0), (t1, _, p1) in zip(tr, tr[1:]):
        lo, hi = max(a, t0), min(b, t1)
        if hi > lo:
            pa = p0 + (p1 - p0) * (lo - t0) / (t1 - t0)
            pb = p0 + (p1 - p0) * (hi - t0) / (t1 - t0)
            s += (pa + pb) / 2 * (hi - lo) / 1e6
    return s
steps = [t for (t, e, _), (_, e0, _) in zip(tr[1:], tr) if e != e0]
gaps = sorted(b - a for a, b in zip(steps, steps[1:]))
if not gaps:
    sys.exit("gpu_real: NVML's energy counter did not move during the run")
print(f"NVML's energy counter moved every {gaps[len(gaps) // 2] / 1e6:.0f} ms (median of "
      f"{len(gaps)}): an interval holds whole steps of it, so single intervals differ from "
      f"an interpolation by up to a step's energy; the run's total does not")
rows = [r for r in csv.DictReader(open(f"{d}/gpu.csv")) if r["mig_instance"] in ("", "-1")]
ours = cnt = pw = 0.0
worst = 0.0
split_load = split_all = split_rows = compared = 0
for r in rows:
    a, b = int(r["t_start_ns"]), int(r["t_end_ns"])
    ca, cb = counter_at(a), counter_at(b)
    if not r["energy_uj"] or ca is None or cb is None:
        continue
    compared += 1
    e = int(r["energy_uj"])
    c = (cb - ca) * 1000
    ours += e; cnt += c; pw += power_uj(a, b)
    if c > 0:
        worst = max(worst, abs(e - c) / c)
    if r["process_energy_uj"]:
        shares = dict(x.split(":") for x in r["process_energy_uj"].split(";"))
        tot = sum(int(v) for v in shares.values())
        split_all += tot
        split_load += int(shares.get(str(load), 0))
        split_rows += 1
        if tot != e:
            sys.exit(f"gpu_real: interval {r['interval']}: shares {tot} uJ != energy {e} uJ")
print(f"rows {len(rows)}, compared with the reader {compared} (the others lie outside its "
      f"capture or have no energy), methods {sorted(set(r['energy_method'] for r in rows))}")
if not compared or not cnt or not pw:
    sys.exit("gpu_real: no GPU row to compare with the reader")
print(f"peak power_mw {max(int(r['power_mw'] or 0) for r in rows)}; "
      f"sm_util max {max(int(r['sm_util_pct'] or 0) for r in rows)}%")
print(f"split: {split_rows} rows with shares; load pid's share of the split "
      f"{split_load / split_all if split_all else float('nan'):.3f}; split / energy "
      f"{split_all / ours if ours else float('nan'):.3f}")
iv = list(csv.DictReader(open(f"{d}/intervals.csv")))
gsum = sum(int(r["gpu_energy_uj"]) for r in iv if r["gpu_energy_uj"])
gall = sum(int(r["energy_uj"]) for r in rows if r["energy_uj"])
print(f"interval CSV sum gpu_energy_uj {gsum} vs GPU rows {gall} (intervals with a value: "
      f"{sum(1 for r in iv if r['gpu_energy_uj'])})")
if gsum != gall:
    sys.exit("gpu_real: gpu_energy_uj is not the sum of the GPU rows")
# the reader sees the same driver counter: this checks units, boundaries and bookkeeping
# (a wrong scale, a lost or doubled interval), not the counter's own accuracy
last = (f"GPU energy over the run: ours {ours / 1e6:.3f} J, NVML counter (independent reader) "
      f"{cnt / 1e6:.3f} J ({(ours - cnt) / cnt * 100:+.2f}%), power trapezoid "
      f"{pw / 1e6:.3f} J ({(ours - pw) / pw * 100:+.2f}%); worst interval vs counter "
      f"{worst * 100:.2f}% (the reader's interpolation of a stepped counter: no truth for one "
      f"interval)")
print(last)
with open(f"{d}/part1.last", "w") as f:
    f.write(last + "\n")
PY

}

part2() {
echo "== 2. request tracking on this kernel"
cat >"$OUTDIR/model.conf" <<CONF
attribution_mode = model
energy_source = synthetic
default_multiplier = 0.001
psys_interval_ms = 200
CONF
bash -c "echo \$\$ > $cg/cgroup.procs; exec $BIN/workload_server --port 0 --threads 16" \
	>"$OUTDIR/server.log" 2>&1 &
sleep 1
port=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\) .*/\1/p' "$OUTDIR/server.log" | head -1)
echo "workload_server port ${port:-?}: $(head -2 "$OUTDIR/server.log" | tr '\n' ' ')"
[ -n "$port" ] || { echo "$me: workload_server did not start" >&2; fails=$((fails + 1)); return; }
timeout 40 "$BIN/http_energy" --gpu none --request-log "$OUTDIR/records.csv" \
	--collect-csv "$OUTDIR/req_intervals.csv" --duration 12 --verbose "$cg" \
	"$OUTDIR/model.conf" 2>"$OUTDIR/collector2.log" &
coll=$!
for _ in $(seq 300); do # attached and collecting: the first row is written
	[ "$(wc -l <"$OUTDIR/req_intervals.csv" 2>/dev/null || echo 0)" -ge 2 ] && break
	sleep 0.1
done
timeout 20 "$BIN/bench_http" --url "http://127.0.0.1:$port" --duration 3 --concurrency 8 \
	--threads 4 --path '/cpu?iters=20000' --path '/json?items=20' >"$OUTDIR/bench.log" 2>&1
rc=$?
echo "bench_http exit $rc"
[ "$rc" = 0 ] || fails=$((fails + 1))
wait "$coll"
rc=$?
echo "collector exit $rc"
[ "$rc" = 0 ] || fails=$((fails + 1))
grep -i 'requests\|receive\|fexit\|fentry\|kprobe\|tp_btf\|sched\|perf\|pmu\|error' \
	"$OUTDIR/collector2.log" | grep -v '^libbpf: \(elf\|map\|prog\|sec\)' | head -30
tail -25 "$OUTDIR/bench.log"
echo "records: $(($(wc -l <"$OUTDIR/records.csv" 2>/dev/null || echo 1) - 1))"
head -3 "$OUTDIR/req_intervals.csv" | cut -c1-400
}

for p in ${PARTS:-1 2}; do part$p; done
echo "$me: $fails checks failed"
[ -f "$OUTDIR/part1.last" ] && cat "$OUTDIR/part1.last" # the figure, last
[ "$fails" = 0 ]
