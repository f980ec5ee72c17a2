#!/usr/bin/env bash
# What request tracking costs the traffic itself (issue 14): inserting X-Energy-Score must
# not split a small response into several TCP segments (each one more packet, softirq and
# ACK on the host). The client counts the segments it received on its own connection
# (TCP_INFO tcpi_segs_in), so other traffic on the host does not count; the same requests
# without the collector give the expected count.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
require_root "request tracking cost"

tmp=$(mktemp -d)
on_exit "rm -rf $tmp"
make_cgroup "http_energy_cost_$$" || { not_ok "creating a test cgroup"; finish; }

bash -c "echo \$\$ > $CGROUP/cgroup.procs; exec $BIN/workload_server --port 0 \
	--data-dir $tmp/data" 2>"$tmp/server.log" &
server=$!
on_exit "kill $server 2>/dev/null; wait $server 2>/dev/null"
wait_for "workload_server" 20 grep -q 'listening on' "$tmp/server.log" ||
	{ not_ok "server starts"; finish; }
port=$(sed -n 's/.*listening on .*:\([0-9]*\) (.*/\1/p' "$tmp/server.log")

requests=300
# segs: TCP segments the client received per request, over $requests keep-alive requests
# of a tiny response on one connection; also prints how many carried the header.
segs() {
	python3 - "$port" "$requests" <<'EOF'
import http.client, socket, struct, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
c = http.client.HTTPConnection("127.0.0.1", port)
c.request("GET", "/json?items=1"); c.getresponse().read()  # connection set up outside the count
def segs_in():  # struct tcp_info: tcpi_segs_in at byte 140 (Linux >= 4.2)
    info = c.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 192)
    return struct.unpack_from("I", info, 140)[0]
before, with_header = segs_in(), 0
for _ in range(n):
    c.request("GET", "/json?items=1")
    r = c.getresponse()
    r.read()
    with_header += r.getheader("X-Energy-Score") is not None
after = segs_in()
c.close()
print("%.2f %d" % ((after - before) / n, with_header))
EOF
}

read -r off off_hdr <<<"$(segs)"
check "without the collector: no response carries the header ($off_hdr)" [ "$off_hdr" = 0 ]

cat >"$tmp/model.conf" <<CONF
attribution_mode = model
energy_source = synthetic
default_multiplier = 0.001
CONF
"$BIN/http_energy" "$CGROUP" "$tmp/model.conf" 2>"$tmp/collector.log" &
collector=$!
on_exit "kill -INT $collector 2>/dev/null; wait $collector 2>/dev/null"
wait_for "request tracking" 30 grep -q 'requests: sockops' "$tmp/collector.log" ||
	{ not_ok "request tracking attaches"; cat "$tmp/collector.log"; finish; }
read -r on on_hdr <<<"$(segs)"
check "with the collector: every response carries the header ($on_hdr of $requests)" \
	[ "$on_hdr" = "$requests" ]
# Without the collector a response is one segment (ACKs ride on the requests); a header
# that splits the response makes it three.
check "segments per response with the header ($on) within 0.5 of without ($off)" \
	python3 -c "import sys; sys.exit(0 if $on <= $off + 0.5 else 1)"
finish
