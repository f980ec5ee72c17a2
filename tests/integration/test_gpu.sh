#!/usr/bin/env bash
# http_energy --gpu: the GPU source against fake NVML and DCGM libraries (tests/fake_gpu/,
# built by tests/fake_gpu.mk) that answer from a script: two GPUs, one MIG-partitioned,
# one whose energy counter wraps and then restarts, a field not supported, transient
# errors, a stale DCGM value, a GPU lost mid-run. Every GPU row and every gpu_energy_uj
# must be what tests/integration/gpu_fake.py computes from the same script.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

FAKE_NVML_DIR=$BUILD/fake_gpu/nvml
FAKE_DCGM_DIR=$BUILD/fake_gpu/dcgm
tmp=$(mktemp -d)
on_exit "rm -rf $tmp"
mkdir "$tmp/empty"

# Usage errors need neither root nor a GPU.
"$BIN/http_energy" --gpu cuda /nonexistent 2>"$tmp/usage.log"
rc=$?
check "--gpu cuda is a usage error (exit 2, got $rc)" [ "$rc" = 2 ]
check "... said in one line naming the option" \
	bash -c "[ \$(wc -l < $tmp/usage.log) = 1 ] && grep -q -- '--gpu: \"cuda\"' $tmp/usage.log"

require_root "http_energy --gpu"
for f in "$FAKE_NVML_DIR/libnvidia-ml.so.1" "$FAKE_DCGM_DIR/libdcgm.so.4"; do
	[ -f "$f" ] || { not_ok "$f is built (make fake-gpu-libs)"; finish; }
done
make_cgroup "http_energy_gpu_test_$$" || { not_ok "creating a test cgroup"; finish; }
cat >"$tmp/energy.conf" <<CONF
attribution_mode = psys
energy_source = synthetic
idle_power_uw = 2000000
psys_interval_ms = 100
CONF

# collect NAME LIBDIRS SCRIPT_MODE SECONDS [options]: runs the collector with the fake
# libraries of LIBDIRS (":"-separated) on LD_LIBRARY_PATH; leaves NAME.{csv,gpu.csv,log}.
collect() {
	local name=$1 libdirs=$2 mode=$3 secs=$4
	shift 4
	python3 tests/integration/gpu_fake.py script "$mode" >"$tmp/$name.script"
	HTTP_ENERGY_FAKE_GPU_SCRIPT=$tmp/$name.script LD_LIBRARY_PATH=$libdirs \
		timeout 60 "$BIN/http_energy" --no-requests --duration "$secs" \
		--collect-csv "$tmp/$name.csv" "$@" "$CGROUP" "$tmp/energy.conf" \
		2>"$tmp/$name.log"
}
# once LOG PATTERN: the pattern is on exactly one line.
once() { [ "$(grep -c -- "$2" "$1")" = 1 ]; }

# 1. NVML (auto: no DCGM library on the path).
collect nvml "$FAKE_NVML_DIR" nvml 3 --gpu-csv "$tmp/nvml.gpu.csv"
rc=$?
check "auto with NVML only: exit 0 (got $rc)" [ "$rc" = 0 ]
check "one start-up line says nvml, the devices, and why not DCGM" \
	once "$tmp/nvml.log" 'gpu: nvml (libnvidia-ml.so.1; 2 GPUs, 2 MIG instances; DCGM not used: libdcgm.so.4: '
check "the per-GPU CSV header is the documented one" \
	[ "$(head -n 1 "$tmp/nvml.gpu.csv")" = "interval,t_start_ns,t_end_ns,gpu,uuid,mig_instance,energy_uj,energy_method,power_mw,sm_util_pct,mem_util_pct,enc_util_pct,dec_util_pct,temperature_c,memory_used_bytes,memory_total_bytes,sm_clock_mhz,mem_clock_mhz,process_energy_uj" ]
check "the interval CSV has gpu_energy_uj after attributed_uj (issue 13's and the feature table's columns after it)" \
	bash -c "head -n 1 $tmp/nvml.csv | grep -q ',attributed_uj,gpu_energy_uj,request_uj,'"
if python3 tests/integration/gpu_fake.py check nvml "$tmp/nvml.gpu.csv" "$tmp/nvml.csv" \
	>"$tmp/nvml.diff"; then
	ok "NVML: every GPU row and gpu_energy_uj match the script"
else
	not_ok "NVML: every GPU row and gpu_energy_uj match the script"
	head -n 20 "$tmp/nvml.diff"
fi
check "NVML: the unsupported field is said once" once "$tmp/nvml.log" 'GPU-fake-1111): enc_util_pct missing (.*Not Supported)'
check "NVML: the wrap is said and counted" once "$tmp/nvml.log" 'GPU-fake-1111): energy counter wrapped'
check "NVML: the reset is said once" once "$tmp/nvml.log" 'GPU-fake-1111): energy counter went back'
check "NVML: the lost GPU is said once" once "$tmp/nvml.log" 'GPU-fake-1111): lost (.*GPU is lost)'
check "NVML: a GPU without per-process utilisation is said once" \
	once "$tmp/nvml.log" 'GPU-fake-0000): per-process utilisation unavailable'
check "NVML: transient errors are said once each" \
	bash -c "[ \$(grep -c 'GPU-fake-0000): .* missing' $tmp/nvml.log) = 3 ]"

# 1b. The Prometheus endpoint carries the GPU energy: a scrape taken during the run is the
# sum of GPU 0's energy cells over the intervals published so far.
collect nvml_metrics "$FAKE_NVML_DIR" nvml 3 --gpu-csv "$tmp/nvml_metrics.gpu.csv" \
	--metrics-addr 127.0.0.1:0 &
metrics_run=$!
wait_for "the metrics line" 20 grep -q 'metrics: serving' "$tmp/nvml_metrics.log"
url=$(sed -n 's|.*metrics: serving \(http://[^ ]*/metrics\).*|\1|p' "$tmp/nvml_metrics.log")
for _ in $(seq 40); do
	curl -sf --max-time 2 "$url" >"$tmp/scrape.try" 2>/dev/null &&
		grep -q '^http_energy_gpu_energy_joules_total{gpu="0"' "$tmp/scrape.try" &&
		cp "$tmp/scrape.try" "$tmp/scrape.txt"
	sleep 0.1
done
wait $metrics_run
check "the GPU energy on /metrics is a running sum of GPU 0's CSV energy" \
	python3 - "$tmp/scrape.txt" "$tmp/nvml_metrics.gpu.csv" <<'PY'
import csv, re, sys
text = open(sys.argv[1]).read()
m = re.search(r'^http_energy_gpu_energy_joules_total\{gpu="0",[^}]*\} (\d+)\.(\d{6})$', text, re.M)
scraped = int(m.group(1)) * 1000000 + int(m.group(2))
sums, total = set(), 0
for row in csv.DictReader(open(sys.argv[2])):
    if row["gpu"] == "0" and row["mig_instance"] in ("", "-1"):
        total += int(row["energy_uj"] or 0)
        sums.add(total)
print("# scraped", scraped, "uJ; running sums", sorted(sums))
sys.exit(0 if scraped > 0 and scraped in sums else 1)
PY
# Issue 16: GPU 1 splits its energy per process; the per-process series of that same
# scrape are running sums of the process_energy_uj cells, over as many intervals as GPU 1's
# own energy series (its shares add up to it). GPU 0 does not split: no series for it.
check "per-process GPU energy on /metrics: running sums of GPU 1's process_energy_uj cells" \
	python3 - "$tmp/scrape.txt" "$tmp/nvml_metrics.gpu.csv" <<'PY'
import csv, re, sys
text = open(sys.argv[1]).read()
uj = lambda w, f: int(w) * 1000000 + int(f)
gpu1 = [uj(*m) for m in re.findall(r'^http_energy_gpu_energy_joules_total\{gpu="1",[^}]*\} (\d+)\.(\d{6})$', text, re.M)]
procs = {m[0]: uj(m[1], m[2]) for m in re.findall(
    r'^http_energy_process_gpu_energy_joules_total\{pid="(\w+)",start="\d*",comm="[^"]*",gpu="1"\} (\d+)\.(\d{6})$', text, re.M)}
gpu0 = re.search(r'^http_energy_process_gpu_energy_joules_total\{[^}]*gpu="0"\}', text, re.M)
total, shares, states = 0, {}, []
for row in csv.DictReader(open(sys.argv[2])):
    if row["gpu"] != "1" or row["mig_instance"] not in ("", "-1"):
        continue
    total += int(row["energy_uj"] or 0)
    for cell in filter(None, row["process_energy_uj"].split(";")):
        pid, v = cell.split(":")
        shares[pid] = shares.get(pid, 0) + int(v)
    states.append((total, {k: v for k, v in dict(shares, other=0).items() if v or k == "other"}))
print("# scraped GPU 1", gpu1, "uJ, processes", procs)
ok = len(gpu1) == 1 and any(t == gpu1[0] and s == procs for t, s in states) and not gpu0
sys.exit(0 if ok and procs.get("100", 0) > 0 else 1)
PY

# 2. DCGM (auto: both libraries; NVML for MIG and processes).
collect dcgm "$FAKE_NVML_DIR:$FAKE_DCGM_DIR" dcgm 3 --gpu-csv "$tmp/dcgm.gpu.csv"
rc=$?
check "auto with DCGM and a host engine: exit 0 (got $rc)" [ "$rc" = 0 ]
check "one start-up line says dcgm and where MIG and processes come from" \
	once "$tmp/dcgm.log" 'gpu: dcgm (libdcgm.so.4, nv-hostengine at 127.0.0.1; 2 GPUs, 2 MIG instances; MIG instances and per-process utilisation from libnvidia-ml.so.1)'
if python3 tests/integration/gpu_fake.py check dcgm "$tmp/dcgm.gpu.csv" "$tmp/dcgm.csv" \
	>"$tmp/dcgm.diff"; then
	ok "DCGM: every GPU row and gpu_energy_uj match the script"
else
	not_ok "DCGM: every GPU row and gpu_energy_uj match the script"
	head -n 20 "$tmp/dcgm.diff"
fi
check "DCGM: a stale value is an empty cell, said once" \
	once "$tmp/dcgm.log" 'GPU-fake-0000): temperature_c missing (.*stale'

# 3. DCGM without NVML: device rows only, said at start.
collect dcgm_only_lib "$FAKE_DCGM_DIR" dcgm 1 --gpu-csv "$tmp/dcgm_only_lib.gpu.csv"
rc=$?
check "DCGM without NVML: exit 0 (got $rc), the start-up line says what is missing" \
	bash -c "[ $rc = 0 ] && grep -q 'gpu: dcgm (libdcgm.so.4, .*2 GPUs; no NVML: no MIG rows, no per-process split)' $tmp/dcgm_only_lib.log"
rows=$(($(wc -l <"$tmp/dcgm_only_lib.gpu.csv") - 1))
intervals=$(($(wc -l <"$tmp/dcgm_only_lib.csv") - 1))
check "... two rows per interval ($rows rows, $intervals intervals), none split" \
	bash -c "[ $intervals -ge 5 ] && [ $rows = $((2 * intervals)) ] && [ \$(cut -d, -f19 $tmp/dcgm_only_lib.gpu.csv | grep -c .) = 1 ]"

# 4. Fallbacks and refusals.
python3 tests/integration/gpu_fake.py script nvml >"$tmp/nohe.script"
echo dcgm_no_hostengine >>"$tmp/nohe.script"
HTTP_ENERGY_FAKE_GPU_SCRIPT=$tmp/nohe.script LD_LIBRARY_PATH=$FAKE_NVML_DIR:$FAKE_DCGM_DIR \
	timeout 60 "$BIN/http_energy" --no-requests --duration 1 "$CGROUP" "$tmp/energy.conf" \
	2>"$tmp/nohe.log"
rc=$?
check "auto without nv-hostengine falls back to NVML and says why (exit $rc)" \
	bash -c "[ $rc = 0 ] && grep -q 'gpu: nvml (.*DCGM not used: libdcgm.so.4: no nv-hostengine at 127.0.0.1' $tmp/nohe.log"
HTTP_ENERGY_FAKE_GPU_SCRIPT=$tmp/nohe.script LD_LIBRARY_PATH=$FAKE_NVML_DIR:$FAKE_DCGM_DIR \
	timeout 60 "$BIN/http_energy" --no-requests --duration 1 --gpu dcgm "$CGROUP" \
	"$tmp/energy.conf" 2>"$tmp/dcgm_only.log"
rc=$?
check "--gpu dcgm without nv-hostengine is an error (exit 1, got $rc), said once" \
	bash -c "[ $rc = 1 ] && [ \$(grep -c 'http_energy: gpu dcgm: .*no nv-hostengine' $tmp/dcgm_only.log) = 1 ]"

python3 tests/integration/gpu_fake.py script nvml >"$tmp/noinit.script"
echo nvml_init_fails >>"$tmp/noinit.script"
HTTP_ENERGY_FAKE_GPU_SCRIPT=$tmp/noinit.script LD_LIBRARY_PATH=$FAKE_NVML_DIR \
	timeout 60 "$BIN/http_energy" --no-requests --duration 1 --gpu nvml "$CGROUP" \
	"$tmp/energy.conf" 2>"$tmp/noinit.log"
rc=$?
check "--gpu nvml with the driver not loaded is an error (exit 1, got $rc)" \
	bash -c "[ $rc = 1 ] && grep -q 'gpu nvml: .*nvmlInit: Driver Not Loaded' $tmp/noinit.log"

LD_LIBRARY_PATH=$tmp/empty timeout 60 "$BIN/http_energy" --no-requests --duration 1 \
	--collect-csv "$tmp/none.csv" --gpu-csv "$tmp/none.gpu.csv" "$CGROUP" "$tmp/energy.conf" \
	2>"$tmp/none.log"
rc=$?
check "auto without any NVIDIA library: exit 0 (got $rc) and one line saying none and why" \
	bash -c "[ $rc = 0 ] && [ \$(grep -c 'gpu: none (DCGM: libdcgm.so.4: .*; NVML: libnvidia-ml.so.1: ' $tmp/none.log) = 1 ]"
cells=$(csv_col "$tmp/none.csv" gpu_energy_uj | grep -c .)
rows=$(($(wc -l <"$tmp/none.csv") - 1))
check "... gpu_energy_uj is an empty cell in every row ($cells of $rows filled)" \
	[ "$cells" = 0 ] && [ "$rows" -ge 5 ]
check "... and the per-GPU CSV has its header only" [ "$(wc -l <"$tmp/none.gpu.csv")" = 1 ]

HTTP_ENERGY_FAKE_GPU_SCRIPT=$tmp/nvml.script LD_LIBRARY_PATH=$FAKE_NVML_DIR \
	timeout 60 "$BIN/http_energy" --no-requests --duration 1 --gpu none "$CGROUP" \
	"$tmp/energy.conf" 2>"$tmp/off.log"
rc=$?
check "--gpu none: exit 0 (got $rc), says so, loads nothing" \
	bash -c "[ $rc = 0 ] && grep -q 'gpu: none (--gpu none)' $tmp/off.log && ! grep -q 'gpu: nvml' $tmp/off.log"
finish
