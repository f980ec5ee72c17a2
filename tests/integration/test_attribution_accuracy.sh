#!/usr/bin/env bash
# bench/attribution_accuracy.sh: usage errors, and its figures (bench/attribution_accuracy.py)
# computed from run files with known numbers: truth from CPU ns over responses plus those in
# flight, header and record errors per class, records told apart by target, conservation,
# headers another collector wrote. Starts no server and no collector (fast, no root needed).
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

tmp=$(mktemp -d)
on_exit "rm -rf $tmp"
# the interpreter itself: a version manager's shim can take seconds per start on a busy host
PY=$(python3 -c 'import sys; print(sys.executable)')
script=bench/attribution_accuracy.sh

# ---- usage errors: exit 2, one line naming what is wrong
usage_error() { # EXPECTED_MESSAGE ENV... -- ARGS...
	local want=$1 envs=() out rc
	shift
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	out=$(env "${envs[@]}" bash "$script" "$@" 2>&1 >/dev/null)
	rc=$?
	[ "$rc" = 2 ] && [ "$out" = "$want" ]
}
check "an unknown server kind is a usage error" \
	usage_error 'attribution_accuracy: KIND: unknown server kind: apache (workload, nginx, node, go)' -- node apache
check "DURATION=0 is a usage error" \
	usage_error 'attribution_accuracy: DURATION: "0" is out of range 1..600' DURATION=0 --
check "CONCURRENCY=1.5 is a usage error" \
	usage_error 'attribution_accuracy: CONCURRENCY: "1.5" is out of range 1..1000' CONCURRENCY=1.5 --
check "K=abc is a usage error" usage_error 'attribution_accuracy: K: "abc" is not a number' K=abc --
check "--help prints the usage to stdout, exit 0" bash -c "bash $script --help | grep -q '^usage: '"

# ---- the figures from run files with known numbers (K = 0.01 uJ/ns)
# node: heavy alone 1e9 ns over 92 responses + 8 in flight -> truth 100000 uJ; headers
# 105000 alone, 90000 mixed. tiny alone 5e7 ns over 990 + 10 -> truth 500 uJ; headers 500
# alone, 1000 mixed. Records: heavy 101000 alone (target /cpu?iters=9), 95000 mixed
# (/cpu?iters=9&mixed); tiny 510 and 450. go: everything exact.
make_runs() { # DIR NOT_A_REQUEST_UJ INTERVAL_REQUESTS
	"$PY" - "$@" <<'PY'
import csv, json, os, sys
d, nar, counted = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
os.makedirs(d, exist_ok=True)
def bench(path, name, eps, in_flight):
    resp = sum(e[1] for e in eps)
    json.dump({"totals": {"responses": resp, "ok": resp, "errors": 0, "in_flight_at_end": in_flight},
               "energy": {"responses_with_header": resp},
               "endpoints": [{"path": p, "responses": n,
                              "energy": {"responses_with_header": n, "mean_uj": m}}
                             for p, n, m in eps]}, open(os.path.join(d, name), "w"))
kinds = {"node": (105000, 90000, 500, 1000, 101000, 95000, 510, 450),
         "go": (100000, 100000, 500, 500, 100000, 100000, 500, 500)}
with open(os.path.join(d, "classes.tsv"), "w") as f:
    for k in kinds:
        f.write("%s\t/cpu?iters=9\t/tiny\t/cpu?iters=9&mixed\t/tiny?mixed\n" % k)
with open(os.path.join(d, "runs.tsv"), "w") as f:
    for k in kinds:
        f.write("%s\theavy\t1000000000\n%s\ttiny\t50000000\n%s\tmixed\t999\n" % (k, k, k))
open(os.path.join(d, "skipped.tsv"), "w").write("nginx\tnginx not found\n")
life_ns = 2000000000
open(os.path.join(d, "life.tsv"), "w").write("".join("%s\t%d\n" % (k, life_ns) for k in kinds))
for k, (ha, hm, ta, tm, ra, rm, rta, rtm) in kinds.items():
    bench("/cpu?iters=9", "%s.heavy.json" % k, [("/cpu?iters=9", 92, ha)], 8)
    bench("/tiny", "%s.tiny.json" % k, [("/tiny", 990, ta)], 10)
    bench(None, "%s.mixed.json" % k, [("/cpu?iters=9&mixed", 50, hm), ("/tiny?mixed", 50, tm)], 2)
    recs = ([("/cpu?iters=9", ra)] * 92 + [("/tiny", rta)] * 990 +
            [("/cpu?iters=9&mixed", rm)] * 50 + [("/tiny?mixed", rtm)] * 50 + [("/tiny?probe", 7)])
    with open(os.path.join(d, "%s.records.csv" % k), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t_head_ns", "pid", "target", "cpu_ns", "energy_uj", "header_uj"])
        for t, uj in recs:
            w.writerow([1, 2, t, 3, uj, ""])
    total = sum(uj for _, uj in recs)
    with open(os.path.join(d, "%s.intervals.csv" % k), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["interval", "requests", "not_a_request_uj"])
        # the not-a-request share makes records + share = CPU x K exactly, times NAR
        share = life_ns * 0.01 * nar - total
        w.writerow([0, counted // 2, share / 2])
        w.writerow([1, counted - counted // 2, share / 2])
PY
}
report() { "$PY" bench/attribution_accuracy.py "$@"; }

make_runs "$tmp/a" 1 5000
report "$tmp/a" 0.01 0 >"$tmp/a.out" 2>&1
# row_has KIND CLASS OUT PATTERN: the table row of KIND and CLASS in OUT matches PATTERN
row_has() {
	grep -E "^$1 +${2//\?/\\?} " "$tmp/$3.out" | grep -q -- "$4"
}
check "truth counts the requests in flight at the end (heavy: 1e9 ns x 0.01 / (92 + 8) = 100000.0)" \
	row_has node '/cpu?iters=9' a ' 100000.0 '
check "header alone and mixed errors (+5.0%, -10.0%)" \
	row_has node '/cpu?iters=9' a '105000.0 (+5.0%) *90000.0 (-10.0%)'
check "the tiny class: truth 500.0, +0.0% alone, +100.0% mixed" \
	row_has node /tiny a ' 500.0 *500.0 (+0.0%) *1000.0 (+100.0%)'
check "without --request-log the record columns say n/a" \
	row_has node /tiny a 'n/a (no --request-log) *n/a (no --request-log)$'
check "without --request-log, conservation is n/a" grep -q '^conservation (.*): n/a (no --request-log in this build)$' "$tmp/a.out"
check "a server kind not measured is named" grep -q '^not measured: nginx (nginx not found)$' "$tmp/a.out"
check "the last line: the worst error over all classes and servers, the target not met" \
	bash -c "tail -1 $tmp/a.out | grep -q '^worst |error| = 100.0% (node /tiny header mixed) over 4 classes on 2 server kinds (go node), target <= 15%: NOT met; conservation n/a$'"

report "$tmp/a" 0.01 1 >"$tmp/b.out" 2>&1
check "record means per class, alone and mixed told apart by target (+1.0%, -5.0%)" \
	row_has node '/cpu?iters=9' b '101000.0 (+1.0%) *95000.0 (-5.0%)$'
check "tiny records (+2.0%, -10.0%)" row_has node /tiny b '510.0 (+2.0%) *450.0 (-10.0%)$'
check "conservation: records + not-a-request share = server CPU x K" \
	grep -q '^conservation go: records + not-a-request = 20000000 uJ, server CPU x K = 20000000 uJ (+0.00%, ok)$' "$tmp/b.out"
cp -r "$tmp/a" "$tmp/e"
sed -i '/^node/d' "$tmp/e/classes.tsv"
report "$tmp/e" 0.01 1 >"$tmp/e.out" 2>&1
check "exact figures meet the target (go alone)" \
	bash -c "tail -1 $tmp/e.out | grep -q '^worst |error| = 0.0% (.*) over 2 classes on 1 server kinds (go), target <= 15%: met; conservation worst 0.00% (go), target <= 2%$'"

make_runs "$tmp/c" 1.05 5000
report "$tmp/c" 0.01 1 >"$tmp/c.out" 2>&1
check "a conservation gap over 2% is reported (+5.00%)" \
	grep -q '^conservation node: .*(+5.00%, NOT within 2%)$' "$tmp/c.out"
check "the last line gives the worst conservation error" \
	bash -c "tail -1 $tmp/c.out | grep -q 'conservation worst 5.00% (.*), target <= 2%$'"

make_runs "$tmp/d" 1 100
report "$tmp/d" 0.01 0 >"$tmp/d.out" 2>&1
check "headers beyond what this collector counted are reported (another collector)" \
	grep -q '^note: node: 1182 responses carried X-Energy-Score but this collector counted 100 responses' "$tmp/d.out"
check "no such note when the counts agree" bash -c "! grep -q 'another collector' $tmp/a.out"
# ---- the in-mix truths (workload_server): alone, heavy 1e9 ns / 100 -> 100000 uJ, tiny
# 5e7 ns / 1000 -> 500 uJ; in the mixes heavy costs 1e7 ns (100000 uJ) and tiny 1e5 ns
# (1000 uJ: twice its alone cost). Split run: threads 11, 12 served heavy (6e8 ns over 58 +
# 2 in flight), 21, 22 tiny (8e7 ns over 800), 30 wrote nothing (1e6 ns). Fit runs (1:1,
# 50:1, 500:1, 5000:1) with CPU exactly a*n_heavy + b*n_tiny. Records: split heavy 110000
# (+10%), split tiny 900 (-10%); in the fit runs heavy 100000, tiny 1200 (+20%).
make_inmix() { # DIR N: N tiny per heavy in every ratio run, like the 1:1 run (0: 50, 500, 5000)
	"$PY" - "$@" <<'PY'
import csv, json, os, sys
d, same = sys.argv[1], int(sys.argv[2])
os.makedirs(d, exist_ok=True)
def w(name, text):
    open(os.path.join(d, name), "w").write(text)
def bench(name, eps, in_flight=0):
    resp = sum(e[1] for e in eps)
    json.dump({"measured_s": 10.0,
               "totals": {"responses": resp, "ok": resp, "errors": 0, "in_flight_at_end": in_flight},
               "energy": {"responses_with_header": resp},
               "endpoints": [{"path": p, "responses": n, "latency": {"mean_us": 100.0},
                              "energy": {"responses_with_header": n, "mean_uj": m}}
                             for p, n, m in eps]}, open(os.path.join(d, name), "w"))
H, T = "/cpu?iters=9", "/cpu?iters=1"
tag = lambda p, n: p.replace("=", "=" + "0" * n)
w("classes.tsv", "workload\t%s\t%s\t%s\t%s\n" % (H, T, tag(H, 1), tag(T, 1)))
fit = {"mixed": (50, 50)}
tl = "workload\tsplit\theavy\t%s\nworkload\tsplit\ttiny\t%s\n" % (tag(H, 2), tag(T, 2))
for i, (r, nh, nt) in enumerate(((50, 20, 1000), (500, 4, 2000), (5000, 1, 5000))):
    if same:
        nh, nt = 10, 10 * same
    fit["r%d" % r] = (nh, nt)
    tl += "workload\tr%d\theavy\t%s\nworkload\tr%d\ttiny\t%s\n" % (r, tag(H, i + 3), r, tag(T, i + 3))
w("targets.tsv", tl)
runs = "workload\theavy\t1000000000\nworkload\ttiny\t50000000\nworkload\tsplit\t681000000\n"
runs += "".join("workload\t%s\t%d\n" % (r, nh * 10**7 + nt * 10**5) for r, (nh, nt) in fit.items())
w("runs.tsv", runs)
w("life.tsv", "workload\t5000000000\n")
w("skipped.tsv", "")
bench("workload.heavy.json", [(H, 100, 100000)])
bench("workload.tiny.json", [(T, 1000, 500)])
bench("workload.split_heavy.json", [(tag(H, 2), 58, 105000)], 2)
bench("workload.split_tiny.json", [(tag(T, 2), 800, 1000)])
w("workload.split.tid0", "11 0\n12 0\n21 0\n22 0\n30 0\n")
w("workload.split.tid1", "11 300000000\n12 300000000\n21 40000000\n22 40000000\n30 1000000\n")
w("workload.mixed.tid0", "11 0\n")
w("workload.mixed.tid1", "11 505000000\n")
recs = [(H, 11, 100000)] * 100 + [(T, 21, 500)] * 1000
recs += [(tag(H, 2), 11 + i % 2, 110000) for i in range(58)]
recs += [(tag(T, 2), 21 + i % 2, 900) for i in range(800)]
for i, (r, (nh, nt)) in enumerate(fit.items()):
    n = 1 if r == "mixed" else i + 2
    bench("workload.%s.json" % r, [(tag(H, n), nh, 100000), (tag(T, n), nt, 1200)])
    recs += [(tag(H, n), 11, 100000)] * nh + [(tag(T, n), 11, 1200)] * nt
with open(os.path.join(d, "workload.records.csv"), "w", newline="") as f:
    wr = csv.writer(f)
    wr.writerow(["head_ns", "pid", "tid", "target", "cpu_ns", "energy_uj", "header_uj"])
    for t, tid, uj in recs:
        wr.writerow([1, 2, tid, t, int(uj / 0.01), uj, ""])
w("workload.intervals.csv", "interval,requests,not_a_request_uj,cgroup_runtime_ns\n0,100000,0,5100000000\n")
PY
}
make_inmix "$tmp/f" 0
report "$tmp/f" 0.01 1 >"$tmp/f.out" 2>&1
# inmix_row CLASS METHOD PATTERN: the in-mix table's row of CLASS and METHOD matches PATTERN
inmix_row() {
	grep -E "^workload +${1//\?/\\?} +$2 " "$tmp/f.out" | grep -qE -- "$3"
}
check "split run: heavy's truth from its threads' schedstat (6e8 ns / (58 + 2)), header +5%, record +10%" \
	inmix_row '/cpu?iters=9' 'threads\(2\)' ' 100000\.0 +1\.00 +105000\.0 \(\+5\.0%\) +110000\.0 \(\+10\.0%\)$'
check "split run: tiny's truth 8e7 ns / 800 = 1000 uJ, twice alone; record -10%" \
	inmix_row '/cpu?iters=1' 'threads\(2\)' ' 1000\.0 +2\.00 +1000\.0 \(\+0\.0%\) +900\.0 \(-10\.0%\)$'
check "split run: the CPU of threads that wrote no response is named" \
	grep -q '^note: workload split run: 0.1% of the server.s CPU was on threads that wrote no response' "$tmp/f.out"
check "fit: heavy 100000 uJ in the mixes, records pooled over the fit runs +0%" \
	inmix_row '/cpu?iters=9' fit ' 100000\.0 \+-0% +1\.00 +100000\.0 \(\+0\.0%\) +100000\.0 \(\+0\.0%\)$'
check "fit: tiny 1000 uJ in the mixes, records +20%" \
	inmix_row '/cpu?iters=1' fit ' 1000\.0 \+-0% +2\.00 +1200\.0 \(\+20\.0%\) +1200\.0 \(\+20\.0%\)$'
check "fit line: coefficients, residuals, tiny share, conditioning" \
	grep -qE '^fit workload: server CPU = a\*n_heavy \+ b\*n_tiny over 4 runs \(tiny:heavy 1:1 50:1 500:1 5000:1\): a = 100000\.0 uJ .*b = 1000\.0 uJ .*residuals [+-]0\.0% [+-]0\.0% [+-]0\.0% [+-]0\.0% of each run.s CPU; tiny share of CPU 1% 33% 83% 98%; cond [0-9.]+' "$tmp/f.out"
check "per thread: records' cpu_ns against the writing threads' schedstat (mixed 5.06e8 / 5.05e8; split heavy 6.38e8 / 6e8, tiny 7.2e7 / 8e7)" \
	grep -q "^threads workload: records' cpu_ns / schedstat of the threads that wrote them, per run: mixed 1.002 (threads 1.00..1.00), split 1.044 (threads 0.90..1.06), split heavy threads 1.063, split tiny threads 0.900$" "$tmp/f.out"
check "the collector's slices against schedstat over its life (5.1e9 / 5e9)" \
	grep -q "^slices: the collector's cgroup_runtime_ns / the server's schedstat over the collector's life (nginx: the cgroup also holds the master): workload 1.020$" "$tmp/f.out"
check "the last line: the worst error against the in-mix truths" \
	bash -c "tail -1 $tmp/f.out | grep -q '^in-mix worst |error| = 20.0% (workload /cpu?iters=1 record vs fit) over 4 class truths on 1 server kinds (workload), target <= 15%: NOT met; records only: 20.0% (workload /cpu?iters=1 record vs fit)$'"
check "the line before it: the worst error against the alone truth, as before" \
	bash -c "tail -2 $tmp/f.out | head -1 | grep -q '^worst |error| = 140.0% (workload /cpu?iters=1 record mixed) over 2 classes'"
check "no server clock, no clock truth" bash -c "! grep -qE '^workload +[^ ]+ +clock ' $tmp/f.out"
# the server's own clock (workload_server --self-cpu): heavy 10000 us alone, 11000 in the
# 1:1 mix (1.10); tiny 50 alone, 100 mixed (2.00): the alone truths scaled by those
cp -r "$tmp/f" "$tmp/h"
echo '{"/cpu?iters=9": [100, 1000000.0], "/cpu?iters=09": [50, 550000.0], "/cpu?iters=1": [1000, 50000.0], "/cpu?iters=01": [50, 5000.0]}' \
	>"$tmp/h/workload.selfcpu.json"
report "$tmp/h" 0.01 1 >"$tmp/h.out" 2>&1
clock_row() { grep -E "^workload +${1//\?/\\?} +clock " "$tmp/h.out" | grep -qE -- "$2"; }
check "clock: heavy's in-mix truth 100000 x 1.10, its 1:1 header and record -9.1%" \
	clock_row '/cpu?iters=9' ' 110000\.0 +1\.10 +100000\.0 \(-9\.1%\) +100000\.0 \(-9\.1%\)$'
check "clock: tiny's in-mix truth 500 x 2.00, its 1:1 header and record +20.0%" \
	clock_row '/cpu?iters=1' ' 1000\.0 +2\.00 +1200\.0 \(\+20\.0%\) +1200\.0 \(\+20\.0%\)$'
check "clock+ for workload too: tiny's in-mix truth 500 + 50 us x 0.01 = 1000, record +20.0%" \
	grep -qE '^workload +/cpu\?iters=1 +clock\+ .* 1000\.0 +2\.00 .*1200\.0 \(\+20\.0%\)$' "$tmp/h.out"
check "the server's own clock table: tiny 50.0 alone, 100.0 mixed, covers 1.00 of its alone truth, 2.00" \
	grep -qE '^workload +/cpu\?iters=1 +50\.0 +100\.0 +1\.00 +2\.00 ' "$tmp/h.out"
# nginx's clock (bench/nginx_clock's JSON: [timed, us, not timed, softirq us]): the same
# runs as kind nginx; tiny 40 us alone (covers 0.80 of its truth), 80 mixed: clock = 500 x
# 2.00, clock+ = 500 + 40 us x K; heavy timed in 40% of its mixed requests: no clock truth
mkdir "$tmp/n"
for f in "$tmp"/h/*; do
	b=${f##*/}
	case $b in
	workload.*) sed 's/^workload\t/nginx\t/' "$f" >"$tmp/n/nginx.${b#workload.}" ;;
	*.tsv) sed 's/^workload\t/nginx\t/' "$f" >"$tmp/n/$b" ;;
	esac
done
echo '{"/cpu?iters=9": [100, 1000000.0, 0, 0.0], "/cpu?iters=09": [20, 220000.0, 30, 0.0], "/cpu?iters=1": [1000, 40000.0, 0, 5000.0], "/cpu?iters=01": [50, 4000.0, 0, 500.0]}' \
	>"$tmp/n/nginx.selfcpu.json"
report "$tmp/n" 0.01 1 >"$tmp/n.out" 2>&1
nginx_row() { grep -E "^nginx +${1//\?/\\?} +$2 " "$tmp/n.out" | grep -qE -- "$3"; }
check "nginx clock: tiny's in-mix truth 500 x 2.00, record +20.0%" \
	nginx_row '/cpu?iters=1' clock ' 1000\.0 +2\.00 +1200\.0 \(\+20\.0%\) +1200\.0 \(\+20\.0%\)$'
check "nginx clock+: tiny's in-mix truth 500 + 40 us x 0.01 = 900, record +33.3%" \
	nginx_row '/cpu?iters=1' 'clock\+' ' 900\.0 +1\.80 +1200\.0 \(\+33\.3%\) +1200\.0 \(\+33\.3%\)$'
check "nginx clock: no clock truth for a class timed in under half its requests" \
	bash -c "! grep -qE '^nginx +/cpu.iters=9 +clock' $tmp/n.out"
check "nginx clock: the timed shares and the softirq part are noted" \
	bash -c "grep -q '^note: nginx clock, requests timed .*: /cpu?iters=9 100%, /cpu?iters=09 40%, /cpu?iters=1 100%, /cpu?iters=01 100%$' $tmp/n.out &&
		grep -q '^note: nginx clock, of which softirq .*: /cpu?iters=9 0.0 / 0.0, /cpu?iters=1 5.0 / 10.0$' $tmp/n.out"
make_inmix "$tmp/g" 1
report "$tmp/g" 0.01 1 >"$tmp/g.out" 2>&1
check "mixes of one ratio cannot separate the classes: the fit says so" \
	grep -q '^fit workload: singular' "$tmp/g.out"
finish
