#!/usr/bin/env bash
# http_energy's per-process energy map (proc_energy_uj): a process's entry goes away after
# it exits (so the map holds live processes and a reused PID starts from 0), and when the
# per-interval process map is full, the charges that found no room go to a visible
# overflow bucket (process 4294967295) that gets its energy and is named in the log.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
require_root "http_energy per-process energy"

tmp=$(mktemp -d /tmp/test_http_energy_procs.XXXXXX)
on_exit "rm -rf $tmp"
make_cgroup "http_energy_procs_$$" || { not_ok "creating a test cgroup"; finish; }
printf 'attribution_mode = psys\nenergy_source = synthetic\nidle_power_uw = 9500000\n' >"$tmp/e.conf"

# start_collector ARGS...: runs http_energy until it is ready; sets collector and energy_map.
start_collector() {
	mkfifo "$tmp/ready.fifo"
	"$BIN/http_energy" --ready-fd 7 "$@" "$CGROUP" "$tmp/e.conf" 7>"$tmp/ready.fifo" \
		2>"$tmp/collector.log" &
	collector=$!
	on_exit "kill -INT $collector 2>/dev/null; wait $collector 2>/dev/null"
	[ "$(timeout 180 cat "$tmp/ready.fifo")" = ready ] || return 1
	rm -f "$tmp/ready.fifo"
	energy_map=""
	local o
	for o in $(bpf_objects_of $collector); do
		[ "${o%%:*}" = map ] || continue
		bpftool map show id "${o#map:}" 2>/dev/null | grep -q 'name proc_energy_uj ' &&
			energy_map=${o#map:}
	done
	[ -n "$energy_map" ]
}
# has_entry TGID: proc_energy_uj has a key TGID.
has_entry() {
	bpftool map lookup id "$energy_map" key $(($1 & 255)) $((($1 >> 8) & 255)) \
		$((($1 >> 16) & 255)) $((($1 >> 24) & 255)) >/dev/null 2>&1
}

# 1. An exited process leaves proc_energy_uj.
if start_collector; then
	ok "http_energy ready with request tracking (proc_energy_uj is map $energy_map)"
	bash -c 'end=$((SECONDS + 2)); while [ $SECONDS -lt $end ]; do :; done' &
	burner=$!
	wait_for "the burner's entry" 20 has_entry $burner
	check "a running process has an entry" has_entry $burner
	wait $burner
	gone=0
	for i in $(seq 50); do
		has_entry $burner || { gone=1; break; }
		sleep 0.2
	done
	check "its entry is gone within 10 s of its exit" [ "$gone" = 1 ]
	kill -INT $collector
	wait $collector
else
	not_ok "http_energy ready with request tracking"
	sed 's/^/  /' "$tmp/collector.log"
fi

# 2. A full process map: the overflow bucket, visible in the log and in proc_energy_uj.
for i in $(seq 40); do sleep 3 & done
if start_collector --max-processes 16; then
	wait_for "the overflow bucket" 20 has_entry 4294967295
	check "--max-processes 16 with more processes running: proc_energy_uj has the overflow bucket" \
		has_entry 4294967295
	wait_for "the log line" 10 grep -q 'process map full; [0-9]* charges went to the overflow bucket (process 4294967295), [0-9]* uJ' "$tmp/collector.log"
	check "the log says how many charges and how many uJ went to the overflow bucket" \
		grep -q 'process map full; [0-9]* charges went to the overflow bucket (process 4294967295), [0-9]* uJ' "$tmp/collector.log"
	kill -INT $collector
	wait $collector
	check "SIGINT: exit 0" [ "$?" = 0 ]
else
	not_ok "http_energy --max-processes 16 ready"
	sed 's/^/  /' "$tmp/collector.log"
fi
wait
finish
