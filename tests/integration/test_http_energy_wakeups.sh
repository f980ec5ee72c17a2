#!/usr/bin/env bash
# Wakeups raised in interrupt context are not charged to the task they interrupted: a
# spinner that wakes nobody shares a CPU with a sleeper woken 5,000 times a second by its
# timer (hrtimer interrupts land on the spinner). With wakeups worth everything in the
# model (wakeup_penalty 1000, runtime almost free), the spinner's share of the energy must
# stay small, while a pipe ping-pong, whose tasks wake each other themselves, gets most.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
require_root "http_energy wakeups in interrupt context"
[ "$(nproc)" -ge 2 ] || { skip "needs 2 CPUs"; finish; }

tmp=$(mktemp -d /tmp/test_http_energy_wakeups.XXXXXX)
on_exit "rm -rf $tmp"
make_cgroup "http_energy_wakeups_$$" || { not_ok "creating a test cgroup"; finish; }
cat >"$tmp/e.conf" <<CONF
attribution_mode = psys
energy_source = synthetic
idle_power_uw = 0
psys_interval_ms = 100
default_multiplier = 0.000000001
wakeup_penalty = 1000
migration_penalty = 0
CONF

"$BIN/http_energy" --collect-csv "$tmp/run.csv" "$CGROUP" "$tmp/e.conf" 2>"$tmp/collector.log" &
collector=$!
on_exit "kill -INT $collector 2>/dev/null; wait $collector 2>/dev/null"
wait_for "request tracking (proc_energy_uj written)" 180 grep -q 'requests: sockops' "$tmp/collector.log" ||
	{ not_ok "http_energy starts"; sed 's/^/  /' "$tmp/collector.log"; finish; }
energy_map=""
for o in $(bpf_objects_of $collector); do
	[ "${o%%:*}" = map ] || continue
	bpftool map show id "${o#map:}" 2>/dev/null | grep -q 'name proc_energy_uj ' && energy_map=${o#map:}
done
# energy_of TGID: its cumulative uJ in proc_energy_uj (0 if none).
energy_of() {
	bpftool map lookup id "$energy_map" key $(($1 & 255)) $((($1 >> 8) & 255)) \
		$((($1 >> 16) & 255)) $((($1 >> 24) & 255)) -j 2>/dev/null |
		jq -r '.formatted.value // ([.value[] | ltrimstr("0x")] | reverse | join("") |
			explode | reduce .[] as $c (0; . * 16 + (if $c >= 97 then $c - 87 else $c - 48 end)))' \
			2>/dev/null || echo 0
}

# The spinner (wakes nobody) and the sleeper (woken by its timer), both on CPU 1.
taskset -c 1 bash -c 'end=$((SECONDS + 4)); while [ $SECONDS -lt $end ]; do :; done' &
spinner=$!
taskset -c 1 python3 -c '
import time
end = time.monotonic() + 4
while time.monotonic() < end:
    time.sleep(0.0002)
' &
sleeper=$!
# A ping-pong on CPU 0: two processes waking each other themselves.
taskset -c 0 python3 -c '
import os, time
r1, w1 = os.pipe(); r2, w2 = os.pipe()
if os.fork() == 0:
    os.close(w1); os.close(r2)
    while os.read(r1, 1): os.write(w2, b"x")
    os._exit(0)
os.close(r1); os.close(w2)
end = time.monotonic() + 4
while time.monotonic() < end:
    os.write(w1, b"x"); os.read(r2, 1)
os.close(w1); os.wait()
' &
pinger=$!
# Read while they still run: an exited process's entry is dropped about an interval later.
sleep 3.3
e_spin=$(energy_of $spinner)
e_ping=$(energy_of $pinger)
e_sleep=$(energy_of $sleeper)
wait $spinner $sleeper $pinger
kill -INT $collector
wait $collector
check "http_energy exits 0" [ "$?" = 0 ]
check "the ping-pong that wakes itself is charged ($e_ping uJ)" test "${e_ping:-0}" -gt 0
# Before the fix the spinner got more than the ping-pong (977223 vs 626439 uJ here); after,
# about 15% of it (wakeups in scheduler IPIs from other CPUs still land on it where
# preempt_count is not readable: see docs/http_energy.md).
check "the spinner interrupted by timer wakeups gets under a third of the ping-pong's energy ($e_spin vs $e_ping uJ; sleeper $e_sleep)" \
	awk -v s="${e_spin:-0}" -v p="${e_ping:-0}" 'BEGIN { exit !(p > 0 && s < p / 3) }'
finish
