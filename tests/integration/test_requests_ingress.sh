#!/usr/bin/env bash
# http_energy, the ingress side of request tracking: a first request on the segment that
# completes the handshake (TCP_DEFER_ACCEPT, TCP Fast Open), recovery after a lost
# segment, pipelining deeper than the kind ring, and connections the server opens itself.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
require_root "http_energy ingress"

tmp=$(mktemp -d)
on_exit "rm -rf $tmp"
make_cgroup "http_energy_ingress_$$" || { not_ok "creating a test cgroup"; finish; }
peers=tests/integration/ingress_peers.py

# in_cgroup CMD...: runs CMD as a process of the test cgroup
in_cgroup() { exec bash -c "echo \$\$ > $CGROUP/cgroup.procs; exec $*"; }
# start_peer PORTFILE CMD...: a background server in the cgroup; sets PEER_PORT
start_peer() {
	local portfile=$1
	shift
	(in_cgroup "$@") &
	on_exit "kill $! 2>/dev/null"
	wait_for "a peer's port" 20 test -s "$portfile" || return 1
	PEER_PORT=$(cat "$portfile")
}
# netstat_counter NAME: a TcpExt counter of this network namespace
netstat_counter() {
	awk -v n="$1" '$1 == "TcpExt:" { if (!h) { for (i = 2; i <= NF; i++) c[$i] = i; h = 1 }
		else print $(c[n]) }' /proc/net/netstat
}

write_model_conf "$tmp/model.conf"
"$BIN/http_energy" "$CGROUP" "$tmp/model.conf" 2>"$tmp/collector.log" &
collector=$!
on_exit "kill -INT $collector 2>/dev/null; wait $collector 2>/dev/null"
wait_for "request tracking" 20 grep -q 'requests: sockops' "$tmp/collector.log" ||
	{ not_ok "request tracking attaches"; cat "$tmp/collector.log"; finish; }

# ---- TCP_DEFER_ACCEPT: the client's first data segment completes the handshake
start_peer "$tmp/defer.port" python3 $peers server "$tmp/defer.port" --defer ||
	{ not_ok "the TCP_DEFER_ACCEPT server starts"; finish; }
python3 $peers client "$PEER_PORT" 3 >"$tmp/defer.out" 2>&1
check "TCP_DEFER_ACCEPT: the first request (on the handshake's last segment) gets its header" \
	[ "$(sed -n 1p "$tmp/defer.out")" = "/r0 1 intact" ]
check "TCP_DEFER_ACCEPT: the connection stays in step ($(tr '\n' ';' <"$tmp/defer.out"))" \
	[ "$(sed -n '2,3p' "$tmp/defer.out" | tr '\n' ';')" = "/r1 1 intact;/r2 1 intact;" ]

# ---- TCP Fast Open: the first request rides on the SYN
old_tfo=$(sysctl -n net.ipv4.tcp_fastopen)
on_exit "sysctl -qw net.ipv4.tcp_fastopen=$old_tfo"
sysctl -qw net.ipv4.tcp_fastopen=$((0x207)) # client and server, no cookie needed
start_peer "$tmp/tfo.port" python3 $peers server "$tmp/tfo.port" --tfo ||
	{ not_ok "the TFO server starts"; finish; }
tfo_before=$(netstat_counter TCPFastOpenPassive)
python3 $peers client "$PEER_PORT" 3 --tfo >"$tmp/tfo.out" 2>&1
tfo_after=$(netstat_counter TCPFastOpenPassive)
sysctl -qw net.ipv4.tcp_fastopen="$old_tfo"
if [ "${tfo_after:-0}" -gt "${tfo_before:-0}" ]; then
	check "TCP Fast Open: the request on the SYN gets its header, and the rest theirs ($(tr '\n' ';' <"$tmp/tfo.out"))" \
		[ "$(tr '\n' ';' <"$tmp/tfo.out")" = "/r0 1 intact;/r1 1 intact;/r2 1 intact;" ]
else
	skip "TCP Fast Open: the kernel did not accept data on the SYN (TCPFastOpenPassive $tfo_before -> $tfo_after)"
fi

# ---- pipelining deeper than CONN_KINDS: left alone, bodies intact
start_peer "$tmp/pipe.port" python3 $peers server "$tmp/pipe.port" ||
	{ not_ok "the plain server starts"; finish; }
python3 $peers client "$PEER_PORT" 12 --pipeline >"$tmp/pipe.out" 2>&1
check "12 pipelined requests (more than the 8 the kind ring holds): every body intact" \
	[ "$(grep -c ' intact$' "$tmp/pipe.out")" = 12 ]
check "12 pipelined requests: no header on any response (the connection is unframeable)" \
	[ "$(awk '$2 != 0' "$tmp/pipe.out" | wc -l)" = 0 ]
python3 $peers client "$PEER_PORT" 2 --pipeline >"$tmp/pipe2.out" 2>&1
check "2 pipelined requests on a new connection still get their headers" \
	[ "$(tr '\n' ';' <"$tmp/pipe2.out")" = "/r0 1 intact;/r1 1 intact;" ]

# ---- after CONNECT the connection is a tunnel: requests inside it are not requests to us
start_peer "$tmp/connect.port" python3 $peers server "$tmp/connect.port" --connect ||
	{ not_ok "the CONNECT server starts"; finish; }
python3 $peers tunnel-client "$PEER_PORT" >"$tmp/tunnel.out" 2>&1
check "answers to requests inside a CONNECT tunnel arrive unchanged" \
	grep -q '^tunnel intact$' "$tmp/tunnel.out"
grep -q '^tunnel intact$' "$tmp/tunnel.out" || sed 's/^/# /' "$tmp/tunnel.out"

# ---- connections the server opens itself stay out of conns and the sockhash
# conns is socket storage (no dump): the object counts its connections in .bss (conns_live).
bss_map=
for o in $(bpf_objects_of $collector); do
	case $o in map:*) bpftool map show id "${o#map:}" 2>/dev/null | grep -q ' name [^ ]*\.bss ' &&
		bss_map=${o#map:} ;;
	esac
done
conn_entries() {
	bpftool -j map dump id "$bss_map" | python3 -c '
import json, sys
def find(v):
    if isinstance(v, dict):
        if "conns_live" in v:
            return v["conns_live"]
        v = list(v.values())
    if isinstance(v, list):
        for x in v:
            r = find(x)
            if r is not None:
                return r
print(find(json.load(sys.stdin)))'
}
python3 $peers listen "$tmp/listen.port" "$tmp/listen.out" 4 &
listener=$!
on_exit "kill $listener 2>/dev/null"
wait_for "the outside listener" 10 test -s "$tmp/listen.port"
before=$(conn_entries)
(in_cgroup python3 $peers outbound "$(cat "$tmp/listen.port")" 4 "$tmp/outbound.ready") &
on_exit "kill $! 2>/dev/null"
wait_for "the outbound connections" 10 test -s "$tmp/outbound.ready"
after=$(conn_entries)
check "outbound connections from the cgroup do not enter the conns map ($before -> $after entries)" \
	test -n "$bss_map" -a "$after" = "$before" -a "$before" != None
# ... while the ones it accepts do (so the check above can fail)
(in_cgroup python3 $peers listen "$tmp/accept.port" "$tmp/accept.out" 4) &
acceptor=$!
on_exit "kill $acceptor 2>/dev/null"
wait_for "the listener in the cgroup" 10 test -s "$tmp/accept.port"
before=$(conn_entries)
python3 $peers outbound "$(cat "$tmp/accept.port")" 4 "$tmp/inbound.ready" &
inbound=$!
on_exit "kill $inbound 2>/dev/null"
wait_for "the inbound connections" 10 test -s "$tmp/inbound.ready"
after=$(conn_entries)
accepted_counted() { [[ $before =~ ^[0-9]+$ ]] && [ "$after" = "$((before + 4))" ]; }
check "connections the server accepts get state in conns ($before -> $after entries)" \
	accepted_counted
kill $inbound $acceptor 2>/dev/null
conns_back() { [ "$(conn_entries)" = "$before" ]; }
check "their state goes when they close (back to $before entries)" wait_for "the close" 10 conns_back
wait_for "the listener's bytes" 10 test -s "$tmp/listen.out"
python3 -c 'import sys; sys.stdout.buffer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" * 8)' >"$tmp/listen.want"
check "bytes the server writes on them arrive untouched" cmp -s "$tmp/listen.want" "$tmp/listen.out"

# ---- one lost segment: the connection resyncs at the next request
ns=http_energy_ingress_$$
if ip netns add "$ns" 2>/dev/null && command -v nft >/dev/null; then
	on_exit "ip netns del $ns"
	ip -n "$ns" link set lo up
	# (into the cgroup first: ip netns exec mounts the namespace's own /sys)
	(in_cgroup ip netns exec "$ns" python3 $peers server "$tmp/gap.port") &
	on_exit "kill $! 2>/dev/null"
	wait_for "the server in the namespace" 10 test -s "$tmp/gap.port"
	gport=$(cat "$tmp/gap.port")
	# Each request goes in two writes, the first of 500 bytes (IP length 20 + 32 + 500):
	# drop the first such segment once; TCP retransmits it after the second arrived.
	ip netns exec "$ns" nft -f - <<NFT
table inet http_energy_ingress {
	chain input {
		type filter hook input priority 0;
		tcp dport $gport ip length 552 quota until 552 bytes counter drop
	}
}
NFT
	ip netns exec "$ns" python3 $peers client "$gport" 4 --split 500 >"$tmp/gap.out" 2>&1
	dropped=$(ip netns exec "$ns" nft list ruleset | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
	if [ "$dropped" = 1 ]; then
		check "after a lost segment the request it belonged to is left alone ($(sed -n 1p "$tmp/gap.out"))" \
			[ "$(sed -n 1p "$tmp/gap.out")" = "/r0 0 intact" ]
		# Ingress is back in step at /r1, but /r0's head was lost: its response answers
		# a request nobody counted, whose kind (HEAD or not) and so whose end is unknown.
		# sk_msg leaves the connection alone from there (unsolicited): no header rather
		# than one at a guessed offset (docs/attribution.md, Limits).
		check "after the lost head every later response is left alone, intact ($(sed -n '2,4p' "$tmp/gap.out" | tr '\n' ';'))" \
			[ "$(sed -n '2,4p' "$tmp/gap.out" | tr '\n' ';')" = "/r1 0 intact;/r2 0 intact;/r3 0 intact;" ]
	else
		not_ok "the nft rule dropped exactly one segment (dropped: '$dropped'; $(cat "$tmp/gap.out"))"
	fi
else
	skip "resync after a lost segment: needs ip netns and nft"
fi

kill -INT $collector
wait $collector
rc=$?
check "SIGINT exits 0" [ "$rc" = 0 ]
summary=$(grep 'requests: .* heads' "$tmp/collector.log")
echo "# $summary"
heads_on_handshake=$(echo "$summary" | sed -n 's/.* \([0-9]*\) heads on handshake.*/\1/p')
check "the exit summary counts the heads that came with a handshake (${heads_on_handshake:-none})" \
	[ "${heads_on_handshake:-0}" -ge 1 ]
check "the exit summary counts the connection pipelined too deep" \
	grep -q ' 1 pipelined too deep' <<<"$summary"
if [ "${dropped:-0}" = 1 ]; then
	check "the exit summary counts the gap and the resync" \
		grep -q ' 1 connections lost sync.* 1 resynced' <<<"$summary"
fi

# ---- --max-connections: connections past it get no state (and no header), and are counted
"$BIN/http_energy" --max-connections 16 "$CGROUP" "$tmp/model.conf" 2>"$tmp/max.log" &
collector=$!
on_exit "kill -INT $collector 2>/dev/null; wait $collector 2>/dev/null"
wait_for "request tracking (--max-connections 16)" 20 grep -q 'requests: sockops' "$tmp/max.log" ||
	{ not_ok "request tracking attaches with --max-connections 16"; cat "$tmp/max.log"; finish; }
(in_cgroup python3 $peers listen "$tmp/max.port" "$tmp/max.out" 20) &
maxpeer=$!
on_exit "kill $maxpeer 2>/dev/null"
wait_for "the listener in the cgroup" 10 test -s "$tmp/max.port"
python3 $peers outbound "$(cat "$tmp/max.port")" 20 "$tmp/max.ready" &
maxout=$!
on_exit "kill $maxout 2>/dev/null"
wait_for "the 20 connections" 20 test -s "$tmp/max.ready"
kill $maxout $maxpeer 2>/dev/null
kill -INT $collector
wait $collector
summary=$(grep 'requests: .* heads' "$tmp/max.log")
check "20 connections at once, --max-connections 16: 4 over it (${summary##*HTTP ended})" \
	grep -q ' 4 over --max-connections' <<<"$summary"

# ---- the kprobe receive binding (its own 4-tuple index, conn_index) passes the verifier;
# attached only where kprobes are (not on every test host)
HTTP_ENERGY_TEST_RECV_KPROBE=1 "$BIN/http_energy" --duration 1 "$CGROUP" "$tmp/model.conf" \
	2>"$tmp/kprobe.log"
check "the kprobe receive binding loads ($(grep -o 'receive: kprobe[^;]*\|attaching kprobe/tcp_recvmsg: [^;]*' "$tmp/kprobe.log"))" \
	grep -q 'receive: kprobe/tcp_recvmsg\|attaching kprobe/tcp_recvmsg' "$tmp/kprobe.log"
finish
