#!/usr/bin/env bash
# http_energy, response framing (issue 11): a scripted raw server in a real cgroup writes
# responses in awkward pieces (split status lines, pipelined writev, interim responses,
# 101, CONNECT, HEAD, 204/304, chunked bodies full of status lines, close-delimited bodies,
# what cannot be framed). Bodies must be byte-identical with and without the collector, the
# header only right after a final status line, and what was left alone counted.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
require_root "http_energy response framing"

tmp=$(mktemp -d)
on_exit "rm -rf $tmp"
make_cgroup "http_energy_framing_$$" || { not_ok "creating a test cgroup"; finish; }
mkdir -p "$tmp/plain" "$tmp/traced"

bash -c "echo \$\$ > $CGROUP/cgroup.procs; exec python3 tests/integration/framing_raw.py serve $tmp/ports" \
	2>"$tmp/server.log" &
server=$!
on_exit "kill $server 2>/dev/null; wait $server 2>/dev/null"
wait_for "the framing server" 20 test -s "$tmp/ports" || { not_ok "framing server starts"; finish; }

# Without the collector: the reference bytes.
python3 tests/integration/framing_raw.py check "$tmp/ports" "$tmp/plain" ||
	not_ok "without the collector every case runs as scripted"

cat >"$tmp/model.conf" <<CONF
attribution_mode = model
default_multiplier = 0.001
psys_interval_ms = 100
CONF
"$BIN/http_energy" "$CGROUP" "$tmp/model.conf" 2>"$tmp/collector.log" &
collector=$!
on_exit "kill -INT $collector 2>/dev/null; wait $collector 2>/dev/null"
wait_for "request tracking" 20 grep -q 'requests: sockops' "$tmp/collector.log" ||
	{ not_ok "request tracking attaches"; cat "$tmp/collector.log"; finish; }

python3 tests/integration/framing_raw.py check "$tmp/ports" "$tmp/traced" --expect-headers |
	tee "$tmp/traced.tap" | grep -v '^not ok - head:'
# HEAD needs the ingress side to tell the method (req_kind); until it does, the HEAD
# response's Content-Length frames a body that never comes: nothing is corrupted, but the
# next response goes without its header.
if grep -q '^not ok - head:' "$tmp/traced.tap"; then
	if grep -qE '[^=!]= *REQ_KIND_HEAD' bpf/requests.bpf.c; then
		grep '^not ok - head:' "$tmp/traced.tap"
		failures=$((failures + $(grep -c '^not ok - head:' "$tmp/traced.tap")))
	else
		skip "head: the header after a HEAD response needs ingress method detection (not on this branch)"
	fi
fi
failures=$((failures + $(grep -v '^not ok - head:' "$tmp/traced.tap" | grep -c '^not ok')))
for f in "$tmp"/plain/*.bin; do
	name=$(basename "$f" .bin)
	check "$name: the bytes are identical with and without the collector (headers taken out)" \
		cmp -s "$f" <(python3 -c '
import re, sys
sys.stdout.buffer.write(re.sub(rb"X-Energy-Score: [0-9]+\r\n", b"", open(sys.argv[1], "rb").read()))' \
			"$tmp/traced/$name.bin")
done

kill -INT $collector
wait $collector
check "SIGINT exits 0" [ $? = 0 ]
summary=$(grep 'requests: .* heads' "$tmp/collector.log")
echo "# $summary"
while read -r count name; do
	check "the exit summary counts $count $name" grep -q "[^0-9]$count $name" <<<"$summary"
done < <(python3 -c '
import importlib.util, sys
spec = importlib.util.spec_from_file_location("f", "tests/integration/framing_raw.py")
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
for k, v in m.EXPECTED_COUNTS.items(): print(v, k)')
tunnel=$(sed -n 's/.* \([0-9]*\) tunnel.*/\1/p' <<<"$summary")
closed=$(sed -n 's/.* \([0-9]*\) close-delimited.*/\1/p' <<<"$summary")
if grep -qE '[^=!]= *REQ_KIND_CONNECT' bpf/requests.bpf.c; then want_tunnel=1; else want_tunnel=0; fi
check "the exit summary counts $want_tunnel tunnel (CONNECT) and $((2 - want_tunnel)) close-delimited ($tunnel, $closed)" \
	[ "$tunnel" = $want_tunnel ] && [ "$closed" = $((2 - want_tunnel)) ]
check "no push or pull failed" grep -q ' 0 pull failed, 0 push failed' <<<"$summary"
finish
