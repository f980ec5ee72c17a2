#!/usr/bin/env bash
# http_energy when attach fails part-way: every hook before the failure was attached (the
# scheduler hooks, sockops and ingress on the cgroup, sk_msg on the sockhash, the receive
# hook), then one more fails. The exit is 1 with one line naming what failed, and nothing
# of ours stays: no program, no link, no cgroup attachment, no sockhash.
# The failure is injected with HTTP_ENERGY_TEST_FAIL_ATTACH_TP (bpf_loader.c, documented
# in docs/http_energy.md): the loader attaches flush_cpu to that raw tracepoint last, and
# the name given here does not exist.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
require_root "http_energy partial attach"

tmp=$(mktemp -d /tmp/test_http_energy_partial_attach.XXXXXX)
on_exit "rm -rf $tmp"
make_cgroup "http_energy_partial_$$" || { not_ok "creating a test cgroup"; finish; }
# Model mode: request tracking attaches at start-up, so the failure comes after it.
printf 'attribution_mode = model\nenergy_source = synthetic\n' >"$tmp/model.conf"
tp=he_no_such_tracepoint_$$

# The newest id of each kind now: ids only grow, so what is above them later is this run's
# (or another process's: only our program names and our map name count).
max_id() { bpftool "$1" show 2>/dev/null | sed -n 's/^\([0-9]*\): .*/\1/p' | sort -n | tail -n 1 | grep . || echo 0; }
prog_since=$(max_id prog)
map_since=$(max_id map)
link_since=$(max_id link)
our_names='on_sched_switch|on_sched_wakeup|on_sched_migrat|flush_cpu|on_irq_|on_softirq_|on_hrtimer_|page_cache_get_|page_accessed_|on_cpu_frequenc|on_writeback_di|on_process_exi|on_sockops|on_ingress|on_msg|recv_tp|recv_fexit|recv_kprobe'
# Our objects created since the ids above: "prog:ID", "map:ID" (sock_hash), "link:ID"
# (links to our programs).
ours_since() {
	local progs
	progs=$(bpftool prog show 2>/dev/null | awk -v since="$prog_since" -v re=" name ($our_names)" \
		'/^[0-9]+: / { id = $1 + 0; if (id > since && $0 ~ re) print id }')
	for p in $progs; do printf 'prog:%s ' "$p"; done
	bpftool map show 2>/dev/null | awk -v since="$map_since" \
		'/^[0-9]+: / { id = $1 + 0; if (id > since && / name sock_hash /) printf "map:%d ", id }'
	bpftool link show 2>/dev/null | awk -v since="$link_since" -v progs=" $(echo $progs) " \
		'/^[0-9]+: / { id = $1 + 0; for (i = 1; i < NF; i++) if ($i == "prog" && id > since &&
			index(progs, " " $(i + 1) " ")) printf "link:%d ", id }'
}

HTTP_ENERGY_TEST_FAIL_ATTACH_TP=$tp "$BIN/http_energy" --duration 5 "$CGROUP" "$tmp/model.conf" \
	2>"$tmp/collector.log"
rc=$?
check "attach failing part-way: exit 1 (got $rc)" [ "$rc" = 1 ]
check "every hook before the failure was attached: the scheduler hooks" \
	grep -q 'signals: hooks tp_btf/sched_switch, .* attached' "$tmp/collector.log"
check "... and sockops, ingress, sk_msg and the receive hook" \
	grep -q 'requests: sockops and cgroup_skb/ingress on .*sk_msg on the sockhash, work follows the connection of each socket operation (receive: ' \
	"$tmp/collector.log"
check "one start-up line says where irq_ns and softirq_ns come from (kernel accounting or hooks)" \
	test "$(grep -cE 'signals: IRQ and softirq time (from the kernel|traced by)' "$tmp/collector.log")" = 1
check "one line names the failed hook and the errno (ENOENT), and it is the last line" \
	test "$(grep -c "raw_tp/$tp" "$tmp/collector.log")" = 1 -a \
	-n "$(tail -n 1 "$tmp/collector.log" | grep "^http_energy: .*raw_tp/$tp.*: No such file or directory$")"

# The kernel frees socket-map programs from a deferred work item: poll, bounded (10 s).
left=""
for i in $(seq 50); do
	left=$(ours_since)
	[ -z "$left" ] && break
	sleep 0.2
done
check "no program, link or sockhash of ours left (left: ${left:-none})" [ -z "$left" ]
attached=$(bpftool cgroup show "$CGROUP" 2>/dev/null | grep -c '^[0-9]')
check "no cgroup attachment left on $CGROUP ($attached)" [ "$attached" = 0 ]
if [ "$rc" != 1 ] || [ -n "$left" ]; then cat "$tmp/collector.log"; fi

# The signals-only path fails the same way at its own last step.
HTTP_ENERGY_TEST_FAIL_ATTACH_TP=$tp "$BIN/http_energy" --no-requests --duration 5 "$CGROUP" \
	"$tmp/model.conf" 2>"$tmp/signals.log"
rc=$?
check "--no-requests: exit 1, the last line names raw_tp/$tp (got $rc)" \
	test "$rc" = 1 -a -n "$(tail -n 1 "$tmp/signals.log" | grep "raw_tp/$tp")"
left=""
for i in $(seq 50); do
	left=$(ours_since)
	[ -z "$left" ] && break
	sleep 0.2
done
check "--no-requests: nothing of ours left (left: ${left:-none})" [ -z "$left" ]
finish
