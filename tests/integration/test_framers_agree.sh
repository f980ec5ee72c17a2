#!/usr/bin/env bash
# http_energy, two framers, one truth: the response framing exists twice in
# bpf/requests.bpf.c, sk_msg's on_msg (header mode) and cgroup_skb/egress's on_egress
# (records only: --no-header --request-log). A scripted server in a real cgroup writes a
# fixed corpus (framers_corpus.py: Content-Length 0/1/large, chunked with extensions,
# trailers and many chunks, HEAD, 204/304, 1xx, close-delimited, heads at the 16 KiB limit
# followed by another response at each word offset, heads cut at every offset around
# "Content-Length:" and the blank line, one byte per write, pipelined responses in one
# write, responses at each of the 8 offsets of a word). The same client traffic runs under
# each mode (header; records only; and sk_msg framing without the header,
# --no-header --sk-msg-framing); each mode's records must be the corpus's truth (count,
# method, target, status, response_bytes, order on the connection), and each sk_msg mode's
# records the same as egress's.
# Compared modulo what legitimately differs: header mode inserts X-Energy-Score lines (taken
# out of the bytes; response_bytes never counts them) and says why a header was not written
# (header_skip: batched; records only: no_header), so header_skip, the energy columns and
# the times are not compared. What neither frames by design (a head over 16 KiB) is in the
# truth as no record, for that response and what follows it on its connection.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
require_root "http_energy framers agree"

tmp=$(mktemp -d)
[ -n "${KEEP:-}" ] || on_exit "rm -rf $tmp"
make_cgroup "http_energy_framers_$$" || { not_ok "creating a test cgroup"; finish; }
corpus=tests/integration/framers_corpus.py

bash -c "echo \$\$ > $CGROUP/cgroup.procs; exec python3 $corpus serve $tmp/ports" \
	2>"$tmp/server.log" &
server=$!
on_exit "kill $server 2>/dev/null; wait $server 2>/dev/null"
wait_for "the corpus server" 20 test -s "$tmp/ports" || { not_ok "corpus server starts"; finish; }

write_model_conf "$tmp/model.conf"

# run_mode NAME [options]: the corpus's traffic under a collector with those options;
# the bytes checked, the records checked against the truth
run_mode() {
	local name=$1 headers="" collector
	shift
	[[ " $* " == *" --no-header "* ]] || headers=--headers
	mkdir -p "$tmp/$name"
	"$BIN/http_energy" --request-log "$tmp/$name.csv" "$@" "$CGROUP" "$tmp/model.conf" \
		2>"$tmp/$name.log" &
	collector=$!
	on_exit "kill -INT $collector 2>/dev/null; wait $collector 2>/dev/null"
	wait_for "request tracking" 20 grep -q 'requests: one record per completed response' "$tmp/$name.log" ||
		{ not_ok "$name: the collector attaches with --request-log"; cat "$tmp/$name.log"; return; }
	python3 $corpus run "$tmp/ports" "$tmp/$name" $headers | sed "s/^\(not \)\?ok - /&$name: /" |
		tee "$tmp/$name.bytes.tap"
	failures=$((failures + $(grep -c '^not ok' "$tmp/$name.bytes.tap")))
	sleep 0.3
	kill -INT $collector
	wait $collector
	check "$name: SIGINT exits 0" [ $? = 0 ]
	python3 $corpus truth "$tmp/$name.csv" "$name" | tee "$tmp/$name.truth.tap"
	failures=$((failures + $(grep -c '^not ok' "$tmp/$name.truth.tap")))
	check "$name: the truth check ran every case" test "$(grep -c '^ok' "$tmp/$name.truth.tap")" -gt 20
	grep 'requests: .* heads' "$tmp/$name.log" | sed 's/^/# /'
}

# the corpus as the server writes it, without a collector: the scripts run as written
mkdir -p "$tmp/plain"
python3 $corpus run "$tmp/ports" "$tmp/plain" | sed 's/^\(not \)\?ok - /&plain: /' | tee "$tmp/plain.tap"
failures=$((failures + $(grep -c '^not ok' "$tmp/plain.tap")))

run_mode header
run_mode records --no-header
# sk_msg without the header: on_msg's walk with nothing inserted, against on_egress's
run_mode skmsg --no-header --sk-msg-framing
check "records only: the start-up line says responses are framed by cgroup_skb/egress" \
	grep -q 'responses framed by cgroup_skb/egress' "$tmp/records.log"

for other in header skmsg; do
	python3 $corpus agree "$tmp/$other.csv" "$tmp/records.csv" | sed "s/^\(not \)\?ok - /&$other: /" |
		tee "$tmp/agree.$other.tap"
	failures=$((failures + $(grep -c '^not ok' "$tmp/agree.$other.tap")))
done
# the exit summaries: the same responses framed, the same connections left alone, by reason
# (the header counts differ by design)
counts() { grep 'requests: .* heads' "$tmp/$1.log" |
	sed "s/[0-9]* X-Energy-Score headers written; not rewritten:.*connections left alone:/;/"; }
for other in header skmsg; do
	check "$other: the exit summaries count the same responses and the same connections left alone as records only ($(counts $other) | $(counts records))" \
		eval '[ -n "$(counts $other)" ] && [ "$(counts $other)" = "$(counts records)" ]'
done
check "both framers: one head too long (head16k_over), one bad head (name_cr), one close-delimited (close), nothing else left alone" \
	eval 'counts records | grep -q "unframed: 0 status not HTTP/1.x, 1 head too long, 0 transfer coding, 0 conflicting lengths, 1 bad head, 0 bad chunk, 0 unsolicited, 0 unreadable, 0 too complex, 0 unseen bytes; HTTP ended: 0 upgraded, 0 tunnel, 1 close-delimited;"'
finish
