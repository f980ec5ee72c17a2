#!/usr/bin/env bash
# http_energy --ready-fd: "ready" arrives once everything is attached (request tracking
# included), never before; a bad descriptor is a usage error; and the start-up says so in
# one line when idle_power_uw = 0 makes every process pay for the host's idle power.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
require_root "http_energy --ready-fd"

tmp=$(mktemp -d /tmp/test_http_energy_ready.XXXXXX)
on_exit "rm -rf $tmp"
make_cgroup "http_energy_ready_$$" || { not_ok "creating a test cgroup"; finish; }
printf 'attribution_mode = psys\nenergy_source = synthetic\nidle_power_uw = 0\n' >"$tmp/zero.conf"
printf 'attribution_mode = psys\nenergy_source = synthetic\nidle_power_uw = 9500000\n' >"$tmp/idle.conf"

# psys mode with requests: ready only once request tracking attached (after interval 0).
mkfifo "$tmp/ready.fifo"
"$BIN/http_energy" --ready-fd 7 --collect-csv "$tmp/run.csv" "$CGROUP" "$tmp/zero.conf" \
	7>"$tmp/ready.fifo" 2>"$tmp/collector.log" &
collector=$!
on_exit "kill -INT $collector 2>/dev/null; wait $collector 2>/dev/null"
got=$(timeout 180 cat "$tmp/ready.fifo")
# What was true when "ready" came: the log and the CSV as they were then.
attached=$(grep -c 'requests: sockops and cgroup_skb/ingress on' "$tmp/collector.log")
rows=$(($(wc -l <"$tmp/run.csv") - 1))
check "--ready-fd: \"ready\" then end of file" [ "$got" = ready ]
check "ready came after request tracking attached and interval 0 was written ($rows rows)" \
	test "$attached" = 1 -a "$rows" -ge 1
check "idle_power_uw = 0 in psys mode: one start-up line says so and names measure_idle_power" \
	test "$(grep -c 'idle_power_uw is 0: .*measure_idle_power' "$tmp/collector.log")" = 1
kill -INT $collector
wait $collector
check "SIGINT after ready: exit 0" [ "$?" = 0 ]

# Without request tracking: ready at "collecting"; no idle line with 9.5 W.
"$BIN/http_energy" --no-requests --ready-fd 7 --collect-csv "$tmp/run.csv" --duration 3 \
	"$CGROUP" "$tmp/idle.conf" 7>"$tmp/ready.fifo" 2>"$tmp/collector2.log" &
collector=$!
got=$(timeout 180 cat "$tmp/ready.fifo")
hooks=$(grep -c 'signals: irq_ns' "$tmp/collector2.log")
wait $collector
check "--no-requests: \"ready\" once the hooks are attached" test "$got" = ready -a "$hooks" = 1
check "idle_power_uw set: no idle line" test "$(grep -c 'idle_power_uw is 0' "$tmp/collector2.log")" = 0

# An exit before ready closes the descriptor: the reader sees end of file, not "ready".
"$BIN/http_energy" --ready-fd 7 --energy-source no-such-source "$CGROUP" \
	7>"$tmp/ready.fifo" 2>/dev/null &
got=$(timeout 30 cat "$tmp/ready.fifo")
wait $!
check "a failed start: end of file without \"ready\" (exit $?)" [ -z "$got" ]

out=$("$BIN/http_energy" --ready-fd 99 "$CGROUP" 2>&1 99>&-); rc=$?
check "--ready-fd 99 (not open): exit 2, one line naming it" \
	test "$rc" = 2 -a "$(printf '%s\n' "$out" | wc -l)" = 1 -a -n "$(grep -- '--ready-fd: "99"' <<<"$out")"
finish
