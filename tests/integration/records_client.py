#!/usr/bin/env python3
"""Client and checker for tests/integration/test_request_records.sh (issue 13).

  records_client.py drive PORT EXPECTED.json   the scenarios against records_server.py;
                                               writes what each record must say
  records_client.py check EXPECTED.json RECORDS.csv UJ_PER_NS
                                               prints ok/not ok lines (TAP-like)
  records_client.py burst PORT N               N /tiny requests, 8 pipelined per connection
"""
import csv
import json
import os
import socket
import sys
import time

HEADER = b"x-energy-score:"


def read_response(s, buf, head_only=False):
    """One response from s (buf: bytes already read). Returns (raw, header_uj, rest)."""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise EOFError("connection closed inside a head")
        buf += d
    h, buf = buf.split(b"\r\n\r\n", 1)
    lines = h.split(b"\r\n")
    kept, hdr, cl, chunked = [], None, None, False
    for ln in lines:
        low = ln.lower()
        if low.startswith(HEADER):
            hdr = int(ln.split(b":", 1)[1])
            continue
        kept.append(ln)
        if low.startswith(b"content-length:"):
            cl = int(ln.split(b":", 1)[1])
        if low.startswith(b"transfer-encoding:") and b"chunked" in low:
            chunked = True
    raw = b"\r\n".join(kept) + b"\r\n\r\n"
    if head_only:
        return raw, hdr, buf
    if cl is not None:
        while len(buf) < cl:
            buf += s.recv(65536)
        return raw + buf[:cl], hdr, buf[cl:]
    if chunked:
        while not buf.endswith(b"0\r\n\r\n"):
            buf += s.recv(65536)
        return raw + buf, hdr, b""
    while True:  # close-delimited
        d = s.recv(65536)
        if not d:
            return raw + buf, hdr, b""
        buf += d


def bodies(s, targets):
    """GET each target (bytes) on s, all sent at once (pipelined when several); returns the
    last response's body."""
    s.sendall(b"".join(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % t for t in targets))
    rest = b""
    for _ in targets:
        raw, _, rest = read_response(s, rest)
    return raw.split(b"\r\n\r\n", 1)[1]


def connect(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def req(method, target):
    return ("%s %s HTTP/1.1\r\nHost: t\r\n\r\n" % (method, target)).encode()


def expect(out, method, target, request, raw, hdr, **extra):
    status = int(raw.split(b" ", 2)[1])
    e = {"method": method, "target": target, "status": status, "request_bytes": len(request),
         "response_bytes": len(raw), "header_uj": hdr}
    if b"X-Cpu-Ns: " in raw:
        e["cpu_ns"] = int(raw.split(b"X-Cpu-Ns: ")[1].split(b"\r\n")[0])
    e.update(extra)
    out.append(e)


def drive(port, path):
    out = []
    # 1. one thread, two connections: read A, read B, work for A, write A, work for B,
    #    write B; then the other way round. Each record must carry its own work.
    for n, (ma, mb) in enumerate(((150, 5), (5, 150), (120, 10))):
        a, b = connect(port), connect(port)
        ta, tb = "/hold?ms=%d&id=a%d" % (ma, n), "/hold?ms=%d&id=b%d" % (mb, n)
        ra, rb = req("GET", ta), req("GET", tb)
        a.sendall(ra)
        time.sleep(0.2)  # the server reads A on its own
        b.sendall(rb)
        raw, hdr, _ = read_response(a, b"")
        expect(out, "GET", ta, ra, raw, hdr, interleaved=True)
        raw, hdr, _ = read_response(b, b"")
        expect(out, "GET", tb, rb, raw, hdr, interleaved=True)
        a.close()
        b.close()
    # 2. framing: pipelined, chunked, HEAD, sendfile, a 404, a close-delimited body
    s = connect(port)
    batch = [("GET", "/spin?ms=3&id=p1"), ("GET", "/nothing?id=p2"), ("HEAD", "/file?id=p3"),
             ("GET", "/spin?ms=1&id=p4")]
    reqs = [req(m, t) for m, t in batch]
    s.sendall(b"".join(reqs))
    rest = b""
    for (m, t), r in zip(batch, reqs):
        raw, hdr, rest = read_response(s, rest, head_only=(m == "HEAD"))
        expect(out, m, t, r, raw, hdr)
    for m, t in (("GET", "/chunked?id=c1"), ("GET", "/file?id=f1"),
                 ("GET", '/file?id=f2,"q"'), ("GET", "/close?id=x1")):
        r = req(m, t)
        s.sendall(r)
        raw, hdr, rest = read_response(s, rest)
        expect(out, m, t, r, raw, hdr)
    s.close()
    # 2b. two pipelined requests the server answers with one write (its /tiny batch): the
    #    first record can go out before that write returns, and still names its writer
    s = connect(port)
    batch = [("GET", "/tiny?id=b1"), ("GET", "/tiny?id=b2")]
    reqs = [req(m, t) for m, t in batch]
    s.sendall(b"".join(reqs))
    rest = b""
    for (m, t), r in zip(batch, reqs):
        raw, hdr, rest = read_response(s, rest)
        expect(out, m, t, r, raw, hdr)
    s.close()
    # 3. a response's tail: the server works 100 ms after /tail's last write, then reads
    #    the next request (sent once that work is over): the work is /tail's, not the
    #    next request's (which gets only its own X-Cpu-Ns)
    s = connect(port)
    for m, t in (("GET", "/tail?ms=100&id=t1"), ("GET", "/spin?ms=10&id=t2")):
        r = req(m, t)
        s.sendall(r)
        raw, hdr, _ = read_response(s, b"")
        expect(out, m, t, r, raw, hdr, interleaved=t.startswith("/spin"),
               tail_ns=100_000_000 if t.startswith("/tail") else 0)
        time.sleep(0.4)  # the tail's work ends before the next head arrives
    s.close()
    # 4. a read that returns nothing (EAGAIN) on the request's own connection in the middle
    #    of its work, the response then written by another thread, and the working
    #    thread's next receive on another connection: the work before that read is the
    #    request's (the read binds it), not the other connection's next request's
    b, a = connect(port), connect(port)
    time.sleep(0.2)  # both accepted before the work
    #    (20 ms: the 25% also holds the ~1 ms the server's own hand-off leaves to h2)
    for s, (m, t) in ((a, ("GET", "/handoff?ms=100&id=h1")), (b, ("GET", "/spin?ms=20&id=h2"))):
        r = req(m, t)
        s.sendall(r)
        raw, hdr, _ = read_response(s, b"")
        expect(out, m, t, r, raw, hdr, interleaved=True)
        time.sleep(0.2)
    a.close()
    b.close()
    # 5. a record's target holds only its line_len bytes (slots are reused; issue 14 tried
    #    copying only line_len's words): request 0's long line leaves its bytes in the slot that
    #    request 2 reuses (requests n and n + 2 share an entry of slot_ring); request 2's
    #    line is split after "?id=s", so its record's target is cut there, and any byte
    #    read past line_len would show as request 0's ("/tiny?id=song...")
    s = connect(port)
    for t in ("/tiny?id=long" + "a" * 100, "/tiny?id=mid"):
        r = req("GET", t)
        s.sendall(r)
        raw, hdr, _ = read_response(s, b"")
        expect(out, "GET", t, r, raw, hdr)
    r = req("GET", "/tiny?id=s2")
    s.sendall(r[:14])  # "GET /tiny?id=s"
    time.sleep(0.1)
    s.sendall(r[14:])
    raw, hdr, _ = read_response(s, b"")
    expect(out, "GET", "/tiny?id=s", r, raw, hdr)
    s.close()
    # 6. a response's work between two of its writes, ended by no socket operation, then a
    #    read of another connection's request before the response's next write (nginx's
    #    gunzip filter when the client's socket is full): the work is the streamed
    #    response's, not the request read next
    b, a = connect(port), connect(port)
    time.sleep(0.2)  # both accepted before the work
    ts, tb = "/stream?ms=100&id=st1", "/spin?ms=10&id=st2"
    ra, rb = req("GET", ts), req("GET", tb)
    a.sendall(ra)
    first = b""
    while b"first" not in first:
        first += a.recv(65536)
    b.sendall(rb)  # arrives while the server works for /stream
    raw, hdr, _ = read_response(b, b"")
    expect(out, "GET", tb, rb, raw, hdr, interleaved=True)
    raw, hdr, _ = read_response(a, first)
    expect(out, "GET", ts, ra, raw, hdr, work_ns=100_000_000)
    a.close()
    b.close()
    # 7. the same on a connection whose framing was lost (a chunk size that is not a
    #    number): that response has no record, and its work is still not the request read
    #    next
    b, a = connect(port), connect(port)
    time.sleep(0.2)
    tb = "/spin?ms=10&id=lo2"
    rb = req("GET", tb)
    a.sendall(req("GET", "/lost?ms=100&id=lo1"))
    first = b""
    while b"first" not in first:
        first += a.recv(65536)
    b.sendall(rb)
    raw, hdr, _ = read_response(b, b"")
    expect(out, "GET", tb, rb, raw, hdr, interleaved=True)
    while a.recv(65536):
        pass
    a.close()
    b.close()
    # 8. a read of a request's body (not a head) after a write that left another response
    #    unfinished: the work before it is the request's own (its handler, then its body
    #    read: a Go handler), not the unfinished response's
    b, a = connect(port), connect(port)
    time.sleep(0.2)
    ta, tb = "/open?id=up1", "/upload?ms=100&len=4&id=up2"
    ra = req("GET", ta)
    hb = ("POST %s HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\n" % tb).encode()
    a.sendall(ra)
    time.sleep(0.2)  # the server holds /open
    b.sendall(hb)
    first = b""
    while b"first" not in first:
        first += a.recv(65536)
    b.sendall(b"body")
    raw, hdr, _ = read_response(b, b"")
    expect(out, "POST", tb, hb + b"body", raw, hdr, interleaved=True)
    raw, hdr, _ = read_response(a, first)
    expect(out, "GET", ta, ra, raw, hdr, most_ns=20_000_000)
    a.close()
    b.close()
    with open(path, "w") as f:
        json.dump(out, f)


def burst(port, n):
    conns = []
    left = n
    while left > 0:
        s, k = connect(port), min(8, left)
        left -= k
        s.sendall(b"".join(req("GET", "/tiny?burst") for _ in range(k)))
        conns.append((s, k))
    for s, k in conns:
        rest = b""
        for _ in range(k):
            _, _, rest = read_response(s, rest)
        s.close()


def check(path, records_path, k):
    with open(path) as f:
        want = json.load(f)
    with open(records_path, newline="") as f:
        rows = list(csv.DictReader(f))
    by_target = {}
    for r in rows:
        by_target.setdefault(r["target"], []).append(r)
    fails = 0
    skip = os.environ.get("SKIP_INTERLEAVED", "").split()

    def ok(cond, what):
        nonlocal fails
        print("%s - %s" % ("ok" if cond else "not ok", what))
        fails += 0 if cond else 1

    for e in want:
        got = by_target.get(e["target"], [])
        ok(len(got) == 1, "%s %s: one record (%d)" % (e["method"], e["target"], len(got)))
        if len(got) != 1:
            continue
        r = got[0]
        for f in ("method", "status", "request_bytes", "response_bytes"):
            ok(str(r[f]) == str(e[f]), "%s %s: %s %s (want %s)" % (e["method"], e["target"], f,
                                                                r[f], e[f]))
        if e["header_uj"] is not None:
            ok(r["header_uj"] == str(e["header_uj"]) and r["header_skip"] == "",
               "%s: header_uj %s is the header's value %s" % (e["target"], r["header_uj"],
                                                              e["header_uj"]))
        ok(float(r["energy_uj"]) + 0.5 >= float(r["header_uj"] or 0),
           "%s: the record (%s uJ) holds at least the header's part" % (e["target"], r["energy_uj"]))
        ok(int(r["head_ns"]) <= int(r["first_write_ns"]) <= int(r["end_ns"]),
           "%s: head_ns <= first_write_ns <= end_ns" % e["target"])
        if e.get("work_ns") and e["target"].split("id=")[-1] in skip:
            print("ok - %s: its work not checked (SKIP_INTERLEAVED: a known limit)" % e["target"])
        elif e.get("work_ns"):
            # its work between two writes, ended by a read elsewhere (docs/attribution.md)
            ok(float(r["energy_uj"]) >= 0.8 * e["work_ns"] * k,
               "%s: the record (%s uJ) holds its work between two of its writes (%.0f uJ)"
               % (e["target"], r["energy_uj"], e["work_ns"] * k))
        if e.get("tail_ns"):
            # the work after the response's last write is in its record (docs/attribution.md)
            ok(float(r["energy_uj"]) >= 0.8 * e["tail_ns"] * k,
               "%s: the record (%s uJ) holds the work after its last write (%.0f uJ)"
               % (e["target"], r["energy_uj"], e["tail_ns"] * k))
        if e.get("most_ns"):
            # another request's work is not in it (docs/attribution.md)
            ok(float(r["energy_uj"]) <= e["most_ns"] * k,
               "%s: the record (%s uJ) holds no other request's work (at most %.0f uJ)"
               % (e["target"], r["energy_uj"], e["most_ns"] * k))
        if e.get("interleaved") and e["target"].split("id=")[-1] in skip:
            print("ok - %s: own work not checked (SKIP_INTERLEAVED: a known limit)" % e["target"])
        elif e.get("interleaved"):
            truth = e["cpu_ns"] * k
            rec = float(r["energy_uj"])
            # 25% and 2 ms: the server's own overhead around the measured work (parsing,
            # sleeps, the interrupts inside its slices; 2 ms: a 2 ms request read +1.6 ms
            # once in about 10 runs on a loaded 2-vCPU host); the misplacements each
            # scenario tells apart are 100 ms or more (the other rules are off by 30x), and
            # every request checked so works 5 ms or more, so a record that lost its own
            # work fails too
            ok(abs(rec - truth) <= 0.25 * truth + 2_000_000 * k,
               "%s: the record (%.0f uJ) is its own work (%.0f uJ, X-Cpu-Ns x K) within 25%%"
               % (e["target"], rec, truth))
    return fails


if __name__ == "__main__":
    if sys.argv[1] == "drive":
        drive(int(sys.argv[2]), sys.argv[3])
    elif sys.argv[1] == "burst":
        burst(int(sys.argv[2]), int(sys.argv[3]))
    else:
        sys.exit(1 if check(sys.argv[2], sys.argv[3], float(sys.argv[4])) else 0)
