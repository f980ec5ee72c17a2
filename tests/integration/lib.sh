# Shared helpers for integration tests: TAP-like result lines, server start/stop.
# Each test script sources this, registers cleanup with `on_exit`, and calls `finish`.

BUILD=${BUILD:-build}
BIN=$BUILD/bin
failures=0
cleanups=()

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; failures=$((failures + 1)); }
skip() { echo "skip - $*"; }
# check "description" command...: ok when the command succeeds.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

on_exit() { cleanups+=("$*"); }
run_cleanups() {
	local i
	for ((i = ${#cleanups[@]} - 1; i >= 0; i--)); do eval "${cleanups[i]}" || true; done
}
trap run_cleanups EXIT
trap 'exit 130' INT TERM

finish() {
	[ "$failures" -eq 0 ]
	exit $?
}

# wait_for "description" timeout_s command...: polls until the command succeeds.
wait_for() {
	local what=$1 timeout=$2 deadline
	shift 2
	deadline=$((SECONDS + timeout))
	until "$@" 2>/dev/null; do
		if [ $SECONDS -ge $deadline ]; then
			echo "timed out after ${timeout}s waiting for $what" >&2
			return 1
		fi
		sleep 0.05
	done
}

# start_server LOGFILE [workload_server options]: starts it on an ephemeral port and sets
# SERVER_PID and SERVER_PORT once the start-up line names the port.
start_server() {
	local log=$1
	shift
	"$BIN/workload_server" --port 0 "$@" 2>"$log" &
	SERVER_PID=$!
	on_exit "kill $SERVER_PID 2>/dev/null; wait $SERVER_PID 2>/dev/null"
	wait_for "workload_server to listen" 20 grep -q 'listening on' "$log" || return 1
	SERVER_PORT=$(sed -n 's/.*listening on .*:\([0-9]*\) (.*/\1/p' "$log")
	[ -n "$SERVER_PORT" ]
}

# The cgroup2 mount point, from mountinfo (the field after " - " is the fs type).
cgroup2_mount() {
	awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break } }' \
		/proc/self/mountinfo
}

# make_cgroup NAME: creates a cgroup under the cgroup2 mount, removed at exit (its
# processes are moved back to the root first). Sets CGROUP.
make_cgroup() {
	local root
	root=$(cgroup2_mount)
	[ -n "$root" ] || return 1
	CGROUP=$root/$1
	mkdir -p "$CGROUP" || return 1
	on_exit "remove_cgroup $CGROUP"
}
remove_cgroup() {
	local root
	root=$(cgroup2_mount)
	[ -d "$1" ] || return 0
	while read -r pid; do echo "$pid" >"$root/cgroup.procs" 2>/dev/null; done <"$1/cgroup.procs"
	rmdir "$1" 2>/dev/null || { sleep 0.2; rmdir "$1"; }
}

# BPF programs whose names are ours (bpftool truncates names to 15 characters).
our_bpf_programs() {
	bpftool prog show 2>/dev/null | grep -cE 'name (on_sched_switch|on_sched_wakeup|flush_cpu|on_irq_|on_softirq_|page_cache_get_|on_cpu_frequenc|on_writeback_di|on_sched_migrat|on_sockops|on_ingress|on_msg|on_egress|send_tp|recv_tp|recv_fexit|recv_kprobe)'
}
# The newest BPF program id now; ids only grow, so a later check can ignore what was
# loaded before (by anyone).
bpf_prog_max_id() {
	bpftool prog show 2>/dev/null | sed -n 's/^\([0-9]*\): .*/\1/p' | sort -n | tail -n 1 | grep . || echo 0
}
# our_bpf_programs_since ID: programs with our names loaded after program ID.
our_bpf_programs_since() {
	bpftool prog show 2>/dev/null | awk -v since="$1" -F': ' '/^[0-9]+: / { id = $1 + 0 }
		id > since && / name (on_sched_switch|flush_cpu|on_sockops|on_ingress|on_msg) / { n++ }
		END { print n + 0 }'
}

# bpf_objects_of PID: "prog:ID", "map:ID" and "link:ID" for every BPF object the process
# holds open (from /proc/PID/fdinfo), so a test can later check that exactly these are gone
# even while someone else's collector runs on the same host.
bpf_objects_of() {
	grep -hE '^(prog_id|map_id|link_id):' /proc/"$1"/fdinfo/* 2>/dev/null |
		sed 's/_id:[[:space:]]*/:/' | sort -u | tr '\n' ' '
}
# map_entries PID PATTERN: the entries of the map PID holds whose `bpftool map show` line
# matches PATTERN (grep -E), or "none" when it holds no such map.
map_entries() {
	local o id=""
	for o in $(bpf_objects_of "$1"); do
		[ "${o%%:*}" = map ] && bpftool map show id "${o#*:}" 2>/dev/null | grep -qE "$2" &&
			id=${o#*:}
	done
	if [ -n "$id" ]; then
		bpftool map dump id "$id" 2>/dev/null | grep -c key
	else
		echo none
	fi
}
# still_loaded "OBJECTS": those of OBJECTS that still exist.
still_loaded() {
	local o
	for o in $1; do
		bpftool "${o%%:*}" show id "${o#*:}" >/dev/null 2>&1 && printf '%s ' "$o"
	done
	return 0
}
# gone_after_exit "OBJECTS": true when OBJECTS is not empty (so it can fail) and none is left.
# The kernel frees some objects after the process has exited (socket-map programs are
# released from a deferred work item): poll, bounded (10 s).
gone_after_exit() {
	[ -n "$1" ] || return 1
	local i
	for i in $(seq 50); do
		[ -z "$(still_loaded "$1")" ] && return 0
		sleep 0.2
	done
	return 1
}


require_root() {
	if [ "$(id -u)" -ne 0 ]; then
		skip "$1: needs root (BPF and cgroups)"
		exit 0
	fi
}

# write_model_conf FILE [UJ_PER_NS [LINE...]]: a model-mode config on the synthetic source,
# every CPU ns weighted UJ_PER_NS (default 0.001 uJ), 100 ms intervals, then LINEs as given.
write_model_conf() {
	local file=$1 k=${2:-0.001}
	shift $(($# < 2 ? $# : 2))
	printf '%s\n' "attribution_mode = model" "energy_source = synthetic" \
		"default_multiplier = $k" "psys_interval_ms = 100" "$@" >"$file"
}

# csv_col FILE NAME: prints the named column of every data row.
csv_col() {
	awk -F, -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next } { print $c }' "$1"
}
