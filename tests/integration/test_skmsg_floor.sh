#!/usr/bin/env bash
# skmsg_floor --hooks (bench/overhead.sh's hooks and hooks-clock modes, issue 14): programs at
# every hook request records use, on a real cgroup with real traffic. They must be attached
# where the collector's are (the cgroup's ingress and egress, the socket tracepoints), run
# for the traffic, and read the clock with --clock only: a floor that measured less (a hook
# missing) or more (work in it) than empty programs would be no floor.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
require_root "skmsg_floor"

tmp=$(mktemp -d)
on_exit "rm -rf $tmp"
make_cgroup "http_energy_floor_$$" || { not_ok "creating a test cgroup"; finish; }

# usage errors: one line, exit 2, nothing attached
for args in "--clock" "--tp --hooks" "--hooks --no-msg"; do
	# shellcheck disable=SC2086 # the words of args are separate options
	"$BIN/skmsg_floor" $args "$CGROUP" 2>"$tmp/usage.err"
	rc=$?
	check "usage: '$args' exits 2 with one line (rc $rc)" \
		test "$rc" = 2 -a "$(wc -l <"$tmp/usage.err")" = 1
done

bash -c "echo \$\$ > $CGROUP/cgroup.procs; exec $BIN/workload_server --port 0 \
	--data-dir $tmp/data" 2>"$tmp/server.log" &
server=$!
on_exit "kill $server 2>/dev/null; wait $server 2>/dev/null"
wait_for "workload_server" 20 grep -q 'listening on' "$tmp/server.log" ||
	{ not_ok "server starts"; finish; }
port=$(sed -n 's/.*listening on .*:\([0-9]*\) (.*/\1/p' "$tmp/server.log")

stats_before=$(sysctl -n kernel.bpf_stats_enabled)
on_exit "sysctl -q -w kernel.bpf_stats_enabled=$stats_before"

# every hook program: NAME:CLOCK:TRACEPOINT, CLOCK 1 where the collector's program there
# reads the clock (TRACEPOINT - for the cgroup's ingress and egress)
hooks="sched_switch:1:sched_switch sched_wakeup:0:sched_wakeup
	sched_wakeup_new:0:sched_wakeup_new sched_migrate_task:0:sched_migrate_task
	sched_process_exit:0:sched_process_exit irq_entry:1:irq_handler_entry
	irq_exit:1:irq_handler_exit softirq_entry:1:softirq_entry softirq_exit:1:softirq_exit
	hrtimer_entry:0:hrtimer_expire_entry hrtimer_exit:0:hrtimer_expire_exit
	writeback:0:writeback_dirty_folio page_cache:0:mm_filemap_get_pages
	recv:1:sock_recv_length send:1:sock_send_length ingress:1:- egress:1:-"

# prog_ids PID: "ID NAME RUNS" of each BPF program the process holds (RUNS: bpf_stats'
# run count), from one listing of every program
prog_ids() {
	bpftool prog show --json | python3 -c '
import json, sys
ids = {int(i) for i in sys.argv[1:]}
for p in json.load(sys.stdin):
    if p["id"] in ids:
        print(p["id"], p["name"], p.get("run_cnt", 0))' \
		$(awk '$1 == "prog_id:" { print $2 }' /proc/"$1"/fdinfo/* 2>/dev/null)
}

for variant in "" "--clock"; do
	what="--hooks${variant:+ $variant}"
	"$BIN/skmsg_floor" --hooks $variant "$CGROUP" 2>"$tmp/floor.log" &
	floor=$!
	on_exit "kill -INT $floor 2>/dev/null; wait $floor 2>/dev/null"
	if ! wait_for "skmsg_floor $what" 30 grep -q 'attached:' "$tmp/floor.log"; then
		not_ok "$what attaches ($(tail -1 "$tmp/floor.log"))"
		kill "$floor" 2>/dev/null
		continue
	fi
	ok "$what attaches"
	check "$what: the start-up line names the cgroup" grep -q "on $CGROUP" "$tmp/floor.log"
	prog_ids "$floor" >"$tmp/progs"
	objects=$(bpf_objects_of "$floor")
	check "$what: floor_sockops is loaded" grep -q " floor_sockops " "$tmp/progs"
	for h in $hooks; do
		name=${h%%:*}
		# a tracepoint this kernel lacks is named on the start-up line instead
		if grep -qE "absent from this kernel:.* ${h##*:}( |;|\$)" "$tmp/floor.log"; then
			ok "$what: hook_$name left out: this kernel has no ${h##*:}"
			continue
		fi
		check "$what: hook_$name is loaded" grep -q " hook_$name " "$tmp/progs"
	done
	sysctl -q -w kernel.bpf_stats_enabled=1
	python3 - "$port" <<'EOF'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
for _ in range(50):
    c.request("GET", "/json?items=1")
    c.getresponse().read()
EOF
	prog_ids "$floor" >"$tmp/runs"
	for name in hook_ingress hook_egress hook_recv hook_send; do
		n=$(awk -v n="$name" '$2 == n { print $3 }' "$tmp/runs")
		check "$what: $name ran for the server's traffic ($n runs for 50 requests)" \
			test "${n:-0}" -ge 50
	done
	sysctl -q -w kernel.bpf_stats_enabled="$stats_before"
	# the clock reads are in the verified code with --clock only; hooks where the collector
	# reads no clock never have one
	for h in $hooks; do
		name=${h%%:*}
		id=$(awk -v n="hook_$name" '$2 == n { print $1 }' "$tmp/progs")
		[ -n "$id" ] || continue # not loaded: said above
		calls=$(bpftool prog dump xlated id "$id" | grep -c 'call bpf_ktime_get_ns')
		want=0
		[ -n "$variant" ] && { want=${h#*:}; want=${want%%:*}; }
		check "$what: hook_$name reads the clock $want times ($calls)" \
			test "$calls" = "$want"
	done
	kill -INT "$floor"
	wait "$floor"
	rc=$?
	check "$what: exits 0 at SIGINT ($rc)" test "$rc" = 0
	check "$what: its programs are gone after it exits" gone_after_exit "$objects"
done

finish
