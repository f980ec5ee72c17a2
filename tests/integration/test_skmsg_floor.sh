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

# prog_ids PID: "ID NAME" of each BPF program the process holds
prog_ids() {
	local id
	for id in $(awk '$1 == "prog_id:" { print $2 }' /proc/"$1"/fdinfo/* 2>/dev/null | sort -un); do
		bpftool prog show id "$id" --json 2>/dev/null |
			python3 -c 'import json, sys; p = json.load(sys.stdin); print(p["id"], p["name"])'
	done
}
# runs ID: the program's run count (bpf_stats)
runs() {
	bpftool prog show id "$1" --json | python3 -c 'import json, sys; print(json.load(sys.stdin).get("run_cnt", 0))'
}

for variant in "" "--clock"; do
	what="--hooks${variant:+ $variant}"
	"$BIN/skmsg_floor" --hooks $variant "$CGROUP" 2>"$tmp/floor.log" &
	floor=$!
	if ! wait_for "skmsg_floor $what" 30 grep -q 'attached:' "$tmp/floor.log"; then
		not_ok "$what attaches ($(tail -1 "$tmp/floor.log"))"
		kill "$floor" 2>/dev/null
		continue
	fi
	ok "$what attaches"
	check "$what: the start-up line names the cgroup" grep -q "on $CGROUP" "$tmp/floor.log"
	prog_ids "$floor" >"$tmp/progs"
	objects=$(bpf_objects_of "$floor")
	for name in hook_ingress hook_egress hook_recv hook_send hook_sched_switch \
		hook_softirq_entry hook_softirq_exit hook_sched_wakeup floor_sockops; do
		check "$what: $name is loaded" grep -q " $name\$" "$tmp/progs"
	done
	sysctl -q -w kernel.bpf_stats_enabled=1
	python3 - "$port" <<'EOF'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
for _ in range(50):
    c.request("GET", "/json?items=1")
    c.getresponse().read()
EOF
	for name in hook_ingress hook_egress hook_recv hook_send; do
		id=$(awk -v n="$name" '$2 == n { print $1 }' "$tmp/progs")
		n=$(runs "$id")
		check "$what: $name ran for the server's traffic ($n runs for 50 requests)" \
			test "${n:-0}" -ge 50
	done
	sysctl -q -w kernel.bpf_stats_enabled="$stats_before"
	# the clock reads are in the verified code with --clock only; hooks where the collector
	# reads no clock never have one
	for name in hook_recv hook_egress hook_sched_switch hook_sched_wakeup; do
		id=$(awk -v n="$name" '$2 == n { print $1 }' "$tmp/progs")
		calls=$(bpftool prog dump xlated id "$id" | grep -c 'call bpf_ktime_get_ns')
		want=0
		[ -n "$variant" ] && [ "$name" != hook_sched_wakeup ] && want=1
		check "$what: $name reads the clock $want times ($calls)" test "$calls" = "$want"
	done
	kill -INT "$floor"
	wait "$floor"
	rc=$?
	check "$what: exits 0 at SIGINT ($rc)" test "$rc" = 0
	check "$what: its programs are gone after it exits" gone_after_exit "$objects"
done

finish
