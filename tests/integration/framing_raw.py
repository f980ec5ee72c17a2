#!/usr/bin/env python3
"""Response framing under sk_msg: a scripted raw HTTP/1.1 server and its client.

  framing_raw.py serve PORTFILE        serves every case on its own port (PORTFILE: lines
                                       "NAME PORT"), forever
  framing_raw.py check PORTFILE OUTDIR runs every case; writes OUTDIR/NAME.bin (bytes as
                                       received); prints "ok - "/"not ok - " lines when
                                       --expect-headers is given (the collector attached)

Each case is a script of steps on one connection: ("req", bytes) the client sends (the
server waits for exactly those bytes), ("resp", [write, write, ...]) the server sends with
one send() (or, for a tuple, one sendmsg() of several buffers: a writev) per item;
("pause", seconds) the client reads nothing for that long; ("nb", [A, B, C, ...]) a writer
whose socket buffer fills (below, "Writes the kernel takes in part"); then the server
closes. In the scripts, the marker H stands where the collector must insert
"X-Energy-Score: N\\r\\n" (right after the CRLF of a final status line), the marker O where it
may (a response the collector may have to leave alone); the server strips them. The client
compares what it received with the script: without the collector, byte for byte; with it,
byte for byte once each header is taken out again, and with each header at a marker and
nowhere else.
"""
import fcntl
import re
import socket
import struct
import termios
import sys
import time

H = b"\x00H\x00"
O = b"\x00O\x00"


def req(path, method=b"GET", extra=b""):
    return b"%s %s HTTP/1.1\r\nHost: framing\r\n%s\r\n" % (method, path, extra)


STATUS_BODY = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"  # a body that looks like a response


def cl_resp(body, status=b"200 OK"):
    return b"HTTP/1.1 " + status + b"\r\n" + H + b"Content-Length: %d\r\n\r\n" % len(body) + body


CASES = {}

# 1. The reported corruption: the status line's first write is short ("HTTP/1.1"), and the
# body starts with a status line. Three keep-alive requests: all three bodies intact.
CASES["short_status_write"] = [
    s for i in range(3) for s in (
        ("req", req(b"/short/%d" % i)),
        ("resp", [b"HTTP/1.1",
                  b" 200 OK\r\n" + H + b"Content-Length: %d\r\n\r\n" % len(STATUS_BODY),
                  STATUS_BODY]))
]

# The status line split in the middle of the reason phrase and of the CRLF.
CASES["status_split_crlf"] = [
    ("req", req(b"/a")),
    ("resp", [b"HTTP/1.1 200 O", b"K\r", b"\n" + H + b"Content-Length: 2\r\n\r\nab"]),
    ("req", req(b"/b")),
    ("resp", [cl_resp(b"cd")]),
]

# The status line alone in its write (the kernel cannot insert at a write's end: the header
# goes at the start of the next one, the same place in the stream).
CASES["status_line_alone"] = [
    ("req", req(b"/alone")),
    ("resp", [b"HTTP/1.1 200 OK\r\n", H + b"Content-Length: 2\r\n\r\nab"]),
    ("req", req(b"/alone2")),
    ("resp", [b"HTTP/1.1 200 OK\r", b"\n", H + b"Content-Length: 2\r\n\r\ncd"]),
]

# Two pipelined responses in one writev: the first gets the header, the second is counted
# ("batched"); the connection stays in step, so the third response gets its header.
_second = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nxyz"
CASES["writev_pipelined"] = [
    ("req", req(b"/p1") + req(b"/p2")),
    ("resp", [(cl_resp(STATUS_BODY), _second)]),
    ("req", req(b"/p3")),
    ("resp", [cl_resp(b"ok")]),
]

# An interim response and the final one in one write; then one interim with headers
# (103 Early Hints) in its own write.
CASES["interim_and_final"] = [
    ("req", req(b"/c", b"POST", b"Expect: 100-continue\r\nContent-Length: 0\r\n")),
    ("resp", [b"HTTP/1.1 100 Continue\r\n\r\n" + cl_resp(STATUS_BODY)]),
    ("req", req(b"/d")),
    ("resp", [b"HTTP/1.1 103 Early Hints\r\nLink: </x.css>; rel=preload\r\n\r\n",
              cl_resp(b"done")]),
]

# 101 Switching Protocols ends HTTP on the connection: nothing after it is touched, even
# bytes that look like requests and responses.
CASES["switching_protocols"] = [
    ("req", req(b"/ws", extra=b"Upgrade: websocket\r\nConnection: Upgrade\r\n")),
    ("resp", [b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"]),
    ("req", req(b"/tunnelled")),
    ("resp", [STATUS_BODY, STATUS_BODY]),
]

# A 2xx to CONNECT ends HTTP on the connection (the tunnel's bytes are never touched).
CASES["connect"] = [
    ("req", b"CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n"),
    ("resp", [b"HTTP/1.1 200 Connection established\r\n" + H + b"\r\n"]),
    ("req", req(b"/inside")),
    ("resp", [STATUS_BODY, STATUS_BODY]),
]

# HEAD: a Content-Length but no body; the next response gets its own header.
CASES["head"] = [
    ("req", req(b"/h", b"HEAD")),
    ("resp", [b"HTTP/1.1 200 OK\r\n" + H + b"Content-Length: 1234\r\n\r\n"]),
    ("req", req(b"/after-head")),
    ("resp", [cl_resp(b"after")]),
]

# 204 and 304 have no body, whatever their headers say.
CASES["no_content"] = [
    ("req", req(b"/204")),
    ("resp", [b"HTTP/1.1 204 No Content\r\n" + H + b"\r\n"]),
    ("req", req(b"/304")),
    ("resp", [b"HTTP/1.1 304 Not Modified\r\n" + H + b"Content-Length: 1234\r\n\r\n"]),
    ("req", req(b"/after")),
    ("resp", [cl_resp(b"after")]),
]

# A chunked body full of status lines, split at awkward places (in the size line, in the
# data, in the CRLF after the data, in the trailers); then the next response.
_chunk1 = STATUS_BODY + b"\r\n"  # 0x2a bytes, itself ending in CRLF
CASES["chunked"] = [
    ("req", req(b"/chunked")),
    ("resp", [b"HTTP/1.1 200 OK\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n",
              b"2", b"a;ext=1\r\n" + _chunk1[:10], _chunk1[10:] + b"\r", b"\n",
              b"%x\r\n" % len(STATUS_BODY) + STATUS_BODY + b"\r\n0\r\nX-Trailer: HTTP/1.1 200 OK\r",
              b"\n\r\n"]),
    ("req", req(b"/after-chunked")),
    ("resp", [cl_resp(b"after")]),
]

# Heads of many lines nobody reads (sk_msg passes them 8 bytes at a time while none holds
# an LF): every line length mod 8 and mod 64 (an LF at each place of a word, lines across
# the walk's 64-byte steps), a bare LF, names that start like Content-Length and are not it,
# a long reason phrase; the length comes last and the bodies look like responses.
def _long_lines_resp(i):
    pads = b"".join(b"X-Pad-%d: %s\r\n" % (k, b"v" * ((i * 5 + k * 3) % 71)) for k in range(9))
    return (b"HTTP/1.1 200 " + b"R" * (i * 7 % 23) + b"\r\n" + H +
            b"Content-Type: text/plain\r\nContent-Lengthy: 7\r\nX-Bare: lf\n" + pads +
            b"Content-Length: %d\r\n\r\n" % len(STATUS_BODY) + STATUS_BODY)


CASES["long_lines"] = [
    s for i in range(8) for s in (("req", req(b"/lines/%d" % i)), ("resp", [_long_lines_resp(i)]))
]

# The same through a chunk extension and trailer lines, then the next response.
CASES["long_chunk_lines"] = [
    ("req", req(b"/chunk-lines")),
    ("resp", [b"HTTP/1.1 200 OK\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n" +
              b"%x;name=%s\r\n" % (len(STATUS_BODY), b"e" * 37) + STATUS_BODY +
              b"\r\n0\r\nX-T: " + b"t" * 45 + b"\r\nX-U: HTTP/1.1 200 OK\r\n\r\n"]),
    ("req", req(b"/after-chunk-lines")),
    ("resp", [cl_resp(STATUS_BODY)]),
]

# No Content-Length, not chunked: the body runs until the close; nothing in it is touched
# although two more requests await.
CASES["close_delimited"] = [
    ("req", req(b"/close") + req(b"/x") + req(b"/y")),
    ("resp", [b"HTTP/1.1 200 OK\r\n" + H + b"Connection: close\r\n\r\n", STATUS_BODY,
              STATUS_BODY + b"\r\n"]),
]

# Writes the kernel takes in part. A non-blocking writer whose socket buffer fills (nginx to
# a slow reader) gets a short send: sk_msg framed the whole write, the kernel sent the first k
# bytes and freed the rest, and the writer sends those again. After such a failed push the
# kernel sends the first chunk of the writer's NEXT sendmsg without running sk_msg (tcp_bpf
# leaves the old verdict in place), so the framing must follow the stream's write_seq: bytes
# it framed already and sees again are skipped, unseen bytes inside a body are passed by count,
# unseen bytes anywhere else leave the connection alone ("unseen bytes"). An "nb" step: the
# server sends A with one non-blocking send() (k bytes taken: the client reads nothing yet),
# waits until the client has taken everything (SIOCOUTQ 0), then sends A[k:] + B with one
# blocking send() (its first chunk goes out unseen), then C, D, ... (each one send()). B may
# be a number j instead: the second send is A[k:k+j] (a writer that retries part of what is
# left), then A[k+j:]. Sizes vary, since k and the kernel's chunks do.
STORED = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"  # a stored HTTP message in a body


def _fill(n):
    return b"b" * n


for _kb in (64, 128, 256):
    _b2 = STORED + _fill(3000)  # resp2's body: the part after the hole starts like a response
    # The unseen bytes cross a response boundary (the rest of resp1, resp2's head, part of its
    # body): the framing cannot tell where the stream is; the next write begins with a status
    # line where the lost framing would expect resp2 to start.
    CASES["hole_at_boundary_%d" % _kb] = [
        ("req", req(b"/h1") + req(b"/h2") + req(b"/h3")),
        ("pause", 0.5),
        ("nb", [cl_resp(_fill(_kb << 10)),
                b"HTTP/1.1 200 OK\r\n" + O + b"Content-Length: %d\r\n\r\n" % (1000 + len(_b2)) +
                _fill(1000), _b2,
                b"HTTP/1.1 200 OK\r\n" + O + b"Content-Length: 2\r\n\r\nok"]),
    ]
    # The unseen bytes lie inside resp1's body: passed by count, resp2 keeps its header.
    _n = 3 * (_kb << 10)
    CASES["hole_in_body_%d" % _kb] = [
        ("req", req(b"/b1") + req(b"/b2")),
        ("pause", 0.5),
        ("nb", [b"HTTP/1.1 200 OK\r\n" + H + b"Content-Length: %d\r\n\r\n" % _n +
                _fill(_kb << 10), _fill(_kb << 10), _fill(_kb << 10),
                b"HTTP/1.1 200 OK\r\n" + H + b"Content-Length: %d\r\n\r\n" % len(_b2) + _b2]),
    ]
    # The writer retries only part of what the kernel gave back (unseen); sk_msg then runs on
    # the rest, which it framed before: skipped, resp2 keeps its header.
    CASES["resent_%d" % _kb] = [
        ("req", req(b"/r1") + req(b"/r2")),
        ("pause", 0.5),
        ("nb", [cl_resp(_fill(_kb << 10)), 8192,
                b"HTTP/1.1 200 OK\r\n" + H + b"Content-Length: %d\r\n\r\n" % len(_b2) + _b2]),
    ]

# The unseen bytes lie inside one chunk's data: passed by count as well.
CASES["hole_in_chunk"] = [
    ("req", req(b"/c1") + req(b"/c2")),
    ("pause", 0.5),
    ("nb", [b"HTTP/1.1 200 OK\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n" +
            b"%x\r\n" % (3 << 17) + _fill(1 << 17), _fill(1 << 17),
            _fill(1 << 17) + b"\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n" + H + b"Content-Length: %d\r\n\r\n" % len(_b2) + _b2]),
]

# What cannot be framed leaves the connection alone for good (and is counted). A response
# whose status line was seen starts at a known offset, so it has its header; what follows
# its unframable head is never touched.
CASES["unframed_transfer_coding"] = [
    ("req", req(b"/gz") + req(b"/next")),
    ("resp", [b"HTTP/1.1 200 OK\r\n" + H + b"Transfer-Encoding: gzip\r\n\r\n", STATUS_BODY]),
]
CASES["unframed_conflicting_length"] = [
    ("req", req(b"/cl") + req(b"/next")),
    ("resp", [b"HTTP/1.1 200 OK\r\n" + H + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\nab",
              STATUS_BODY]),
]
CASES["unframed_not_http1"] = [
    ("req", req(b"/v2") + req(b"/next")),
    ("resp", [b"HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nab", STATUS_BODY]),
]
CASES["unframed_head_too_long"] = [
    ("req", req(b"/long") + req(b"/next")),
    ("resp", [b"HTTP/1.1 200 OK\r\n" + H + b"X-Big: " + b"b" * 20000 + b"\r\nContent-Length: 2\r\n\r\nab",
              STATUS_BODY]),
]

# What the exit summary must count, by the names it prints.
EXPECTED_COUNTS = {
    "batched": 1,
    "transfer coding": 1,
    "conflicting lengths": 1,
    "status not HTTP/1.x": 1,
    "head too long": 1,
    "upgraded": 1,
}
# With the ingress side telling CONNECT apart: 1 tunnel and 1 close-delimited; without it
# the CONNECT's 200 (no length) counts as close-delimited too.
EXPECTED_ENDED_TOTAL = 2


def unmarked(b):
    return b.replace(H, b"").replace(O, b"")


def writes_of(item):
    return [unmarked(p) for p in item] if isinstance(item, tuple) else unmarked(item)


def script_bytes(steps, marked):
    out = b""
    for kind, data in steps:
        if kind not in ("resp", "nb"):
            continue
        for item in data:
            if isinstance(item, int):
                continue
            for part in (item if isinstance(item, tuple) else (item,)):
                out += part if marked else unmarked(part)
    return out


def outq(c):
    return struct.unpack("i", fcntl.ioctl(c, termios.TIOCOUTQ, b"\0" * 4))[0]


def send_nb(c, name, items):
    """An "nb" step (above): one non-blocking send, then what it left, in blocking sends."""
    a = unmarked(items[0])
    c.setblocking(False)
    try:
        k = c.send(a)
    except BlockingIOError:
        k = 0
    print("framing server: %s: short write: %d of %d" % (name, k, len(a)) if k < len(a) else
          "framing server: %s: whole write: %d" % (name, k), file=sys.stderr, flush=True)
    c.setblocking(True)  # one send() per write from here on, however long it takes
    end = time.time() + 10
    while outq(c) and time.time() < end:
        time.sleep(0.001)
    if isinstance(items[1], int):
        writes = [a[k:k + items[1]], a[k + items[1]:]]
    else:
        writes = [a[k:] + unmarked(items[1])]
    for w in writes + [unmarked(i) for i in items[2:]]:
        if w:
            c.sendall(w)
        time.sleep(0.02)
    c.settimeout(10)


def recv_exact(c, n):
    got = b""
    while len(got) < n:
        d = c.recv(n - len(got))
        if not d:
            raise EOFError
        got += d
    return got


def serve_conn(c, name):
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if any(kind == "nb" for kind, _ in CASES[name]):
        c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
    c.settimeout(10)
    try:
        for kind, data in CASES[name]:
            if kind == "req":
                recv_exact(c, len(data))
                continue
            if kind == "pause":
                continue
            if kind == "nb":
                send_nb(c, name, data)
                continue
            for item in data:
                w = writes_of(item)
                if isinstance(w, list):
                    c.sendmsg(w)  # one writev
                else:
                    c.sendall(w)
                time.sleep(0.02)
    except (OSError, EOFError) as e:
        print("framing server: %s: %r" % (name, e), file=sys.stderr, flush=True)
    c.close()


def serve(portfile):
    """One listening port per case (the case cannot be named on the connection itself:
    anything but HTTP there would make the collector leave the connection alone)."""
    import os
    import selectors
    import threading
    sel = selectors.DefaultSelector()
    lines = []
    for name in CASES:
        s = socket.socket(socket.AF_INET)
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        sel.register(s, selectors.EVENT_READ, name)
        lines.append("%s %d\n" % (name, s.getsockname()[1]))
    with open(portfile + ".tmp", "w") as f:
        f.write("".join(lines))
    os.rename(portfile + ".tmp", portfile)
    while True:
        for key, _ in sel.select():
            c, _ = key.fileobj.accept()
            threading.Thread(target=serve_conn, args=(c, key.data), daemon=True).start()


def run_case(port, name):
    c = socket.socket(socket.AF_INET)
    if any(kind == "nb" for kind, _ in CASES[name]):
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)  # the server's sends fill up
    c.connect(("127.0.0.1", port))
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c.settimeout(10)
    got = b""
    hdr = re.compile(rb"X-Energy-Score: [0-9]+\r\n")
    expect_so_far = b""
    for kind, data in CASES[name]:
        if kind == "req":
            # Wait for every response byte scripted so far, as a keep-alive client would.
            while len(hdr.sub(b"", got)) < len(expect_so_far):
                d = c.recv(65536)
                if not d:
                    break
                got += d
            c.sendall(data)
        elif kind == "pause":
            time.sleep(data)  # the client reads nothing meanwhile
        else:
            expect_so_far += script_bytes([(kind, data)], False)
    while True:
        d = c.recv(65536)
        if not d:
            break
        got += d
    c.close()
    return got


def expected_regex(steps):
    hdr = rb"X-Energy-Score: [0-9]+\r\n"
    parts = [re.escape(p) for p in script_bytes(steps, True).split(H)]
    return re.compile(hdr.join(p.replace(re.escape(O), b"(?:" + hdr + b")?") for p in parts) +
                      rb"\Z")


def header_offsets(got):
    """Where each header is, as an offset in the server's bytes (headers taken out)."""
    out, taken = [], 0
    for m in re.finditer(rb"X-Energy-Score: [0-9]+\r\n", got):
        out.append(m.start() - taken)
        taken += len(m.group(0))
    return out


def marker_offsets(steps):
    marked = script_bytes(steps, True)
    return [m.start() - 3 * i for i, m in enumerate(re.finditer(re.escape(H) + b"|" +
                                                                 re.escape(O), marked))]


def main():
    if sys.argv[1] == "serve":
        serve(sys.argv[2])
        return 0
    ports = dict((l.split()[0], int(l.split()[1])) for l in open(sys.argv[2]))
    outdir = sys.argv[3]
    headers = "--expect-headers" in sys.argv
    only = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--only=")]
    failures = 0
    for name in CASES:
        if only and name not in only[0].split(","):
            continue
        try:
            got = run_case(ports[name], name)
        except (OSError, EOFError) as e:
            print("not ok - %s: %r" % (name, e))
            failures += 1
            continue
        with open("%s/%s.bin" % (outdir, name), "wb") as f:
            f.write(got)
        plain = script_bytes(CASES[name], False)
        if not headers:
            ok = got == plain
            print("%s - %s: without the collector the bytes arrive as scripted" %
                  ("ok" if ok else "not ok", name))
            failures += not ok
            continue
        stripped = re.sub(rb"X-Energy-Score: [0-9]+\r\n", b"", got)
        ok = stripped == plain
        print("%s - %s: bytes identical to the server's once headers are taken out%s" %
              ("ok" if ok else "not ok", name, "" if ok else " (got %r)" % got[:300]))
        failures += not ok
        ok = expected_regex(CASES[name]).match(got) is not None
        print("%s - %s: a header right after each final status line, and nowhere else%s" %
              ("ok" if ok else "not ok", name, "" if ok else " (headers at %s, markers at %s; "
               "got %r)" % (header_offsets(got), marker_offsets(CASES[name]), got[:300])))
        failures += not ok
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
