#!/usr/bin/env python3
"""Two framers, one truth: a corpus of responses that crosses every framing edge, for
tests/integration/test_framers_agree.sh.

  framers_corpus.py serve PORTFILE            serves every case on its own port, forever
  framers_corpus.py run PORTFILE OUTDIR [--headers]
                                              runs every case; checks the bytes (with
                                              --headers: once X-Energy-Score lines are taken
                                              out); prints ok/not ok lines
  framers_corpus.py truth RECORDS.csv LABEL   checks a --request-log file against the truth
  framers_corpus.py agree A.csv B.csv         checks two --request-log files against each other

The server and the client are framing_raw.py's (a case is a script of steps on one
connection: ("req", bytes), ("resp", [write, ...]) one send() per write); only the cases
differ. Each case also says what the records must be: one per framed final response, in
the connection's order, (method, target, status, response_bytes), response_bytes counted
from the final status line (a 1xx before it is not counted) to the last byte. A response the
framing leaves alone by design (a head over RESP_HEAD_MAX) has no record, nor has anything
after it on its connection. Every target is /CASE/N, so a record names its case.
"""
import csv
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import framing_raw as fr  # noqa: E402

RESP_HEAD_MAX = 16384  # bpf/requests.bpf.c: a head's bytes after its first, at most

CASES = {}
TRUTH = {}  # case -> [(method, target, status, response_bytes)]


def cl(body, status=b"200 OK", name=b"Content-Length", extra=b""):
    return b"HTTP/1.1 %s\r\n%s%s: %d\r\n\r\n%s" % (status, extra, name, len(body), body)


def chunked_head(status=b"200 OK", extra=b""):
    return b"HTTP/1.1 %s\r\n%sTransfer-Encoding: chunked\r\n\r\n" % (status, extra)


class Case:
    """Builds one case: its steps and its truth."""

    def __init__(self, name):
        self.name, self.n, self.steps, self.truth = name, 0, [], []
        CASES[name], TRUTH[name] = self.steps, self.truth

    def target(self):
        t = b"/%s/%d" % (self.name.encode(), self.n)
        self.n += 1
        return t

    def exchange(self, answers, writes):
        """answers: [(method, status, response bytes as counted, framed?)], one request each
        (sent together: pipelined when several); writes: the server's writes for them."""
        reqs = b""
        for method, status, nbytes, framed in answers:
            t = self.target()
            reqs += fr.req(t, method)
            if framed:
                self.truth.append((method.decode(), t.decode(), status, nbytes))
        self.steps.append(("req", reqs))
        self.steps.append(("resp", writes))


def one(c, resp, writes=None, method=b"GET", status=200, counted=None):
    """One request, one response (written as given, or in one write)."""
    c.exchange([(method, status, len(resp) if counted is None else counted, True)],
               writes if writes is not None else [resp])


def split_at(b, *offs):
    cuts = [0] + list(offs) + [len(b)]
    return [b[cuts[i]:cuts[i + 1]] for i in range(len(cuts) - 1)]


LOOKS = fr.STATUS_BODY  # a body that looks like a response

# Content-Length: 0, 1, large (one write; three writes at odd places), names in any case
c = Case("cl")
one(c, cl(b""))
one(c, cl(b"x"))
big = LOOKS * (300000 // len(LOOKS))
one(c, cl(big))
r = cl(LOOKS * 1700, name=b"content-length")
one(c, r, split_at(r, 1, 30001, 50003))
one(c, cl(b"after", status=b"404 Not Found", name=b"CONTENT-LENGTH"), status=404)

# chunked: extensions, trailers, sizes in upper and lower case hex and with leading zeros,
# many small chunks in one write and in many writes, then a Content-Length response
c = Case("chunked")
d26 = b"abcdefghijklmnopqrstuvwxyz"
r = (chunked_head() + b"5;ext=1;q=\"a b\"\r\nhello\r\n1A\r\n" + d26 + b"\r\n1a;e\r\n" + d26 +
     b"\r\n000A\r\n" + LOOKS[:10] + b"\r\n0\r\nX-Trailer: a\r\nX-T2: HTTP/1.1 200 OK\r\n\r\n")
one(c, r)
r = chunked_head() + b"1\r\nz\r\n" * 200 + b"0\r\n\r\n"
one(c, r)
pieces = [chunked_head()] + [b"%x\r\n%s\r\n" % (k + 1, b"q" * (k + 1)) for k in range(20)] + [b"0\r\n\r\n"]
one(c, b"".join(pieces), pieces)
one(c, cl(b"after"))

# HEAD: a length (or chunked) but no body; the next response is framed on its own
c = Case("head")
r = b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"
one(c, r, method=b"HEAD")
one(c, cl(b"after-head"))
one(c, chunked_head(), method=b"HEAD")
one(c, cl(LOOKS))

# 204 and 304: no body whatever their headers say
c = Case("nobody")
one(c, b"HTTP/1.1 204 No Content\r\n\r\n", status=204)
one(c, b"HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\n\r\n", status=304)
one(c, cl(b"after"))

# 1xx before the final response: in its write, in a write of its own, two of them
c = Case("interim")
fin = cl(b"final")
one(c, b"HTTP/1.1 100 Continue\r\n\r\n" + fin, counted=len(fin))
fin = cl(b"created", status=b"201 Created")
one(c, None, [b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n", fin],
    status=201, counted=len(fin))
fin = chunked_head() + b"3\r\nabc\r\n0\r\n\r\n"
one(c, None, [b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n", fin],
    counted=len(fin))
one(c, cl(b"after"))

# Connection: close without a length: the body runs to the close
c = Case("close")
one(c, cl(b"first"))
r = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + LOOKS + LOOKS
one(c, r, [r[:50], r[50:]])


# Heads at the length limit, followed by another response on the connection. A head of
# RESP_HEAD_MAX + 1 bytes is the longest framed (its first byte starts the count at 0); the
# next response's first byte must not count against it. Both framers walk a head in words
# counted from where the walk began (a segment's or write's first byte framed, or a body's
# end); a bodiless prefix of pad more bytes (Content-Length: 0) moves the big head and the
# next response through each of the 8 offsets of that word grid (pipelined, one write:
# prefix, big, next); "sep" writes the next response on its own (a grid's first word).
def big_head(total):
    fixed = b"HTTP/1.1 200 OK\r\nX-Big: \r\nContent-Length: 0\r\n\r\n"
    r = b"HTTP/1.1 200 OK\r\nX-Big: " + b"b" * (total - len(fixed)) + b"\r\nContent-Length: 0\r\n\r\n"
    assert len(r) == total
    return r


def head_limit_case(name, total, pad, sep=False):
    c = Case(name)
    prefix, big, nxt = cl(b"", extra=b"X-Pad: %s\r\n" % (b"p" * pad)), big_head(total), cl(b"next")
    framed = total - 1 <= RESP_HEAD_MAX
    c.exchange([(b"GET", 200, len(prefix), True), (b"GET", 200, len(big), framed),
                (b"GET", 200, len(nxt), framed)],
               [prefix + big, nxt] if sep else [prefix + big + nxt])


for pad in range(8):
    head_limit_case("head16k_%d" % pad, RESP_HEAD_MAX + 1, pad)
head_limit_case("head16k_sep", RESP_HEAD_MAX + 1, 0, sep=True)
head_limit_case("head16k_less", RESP_HEAD_MAX, 3)
head_limit_case("head16k_over", RESP_HEAD_MAX + 2, 3)  # left alone by design: head too long

# A head in two writes, cut at every offset around "Content-Length:" and "\r\n\r\n"
c = Case("split")
tpl = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
a, e = tpl.index(b"Content-Length"), tpl.index(b"\r\n\r\n")
for k in sorted(set(range(a - 1, a + len(b"Content-Length: 5") + 2)) | set(range(e - 1, e + 6))):
    one(c, tpl, split_at(tpl, k))

# One byte per write: a Content-Length response, a chunked one with a trailer
c = Case("bytewise")
r = cl(b"bytes", extra=b"Content-Type: text/plain\r\n")
one(c, r, [r[i:i + 1] for i in range(len(r))])
r = chunked_head() + b"4;x=y\r\nbyte\r\n0\r\nX-T: 1\r\n\r\n"
one(c, r, [r[i:i + 1] for i in range(len(r))])

# Pipelined requests answered in one write: Content-Length, HEAD, chunked, 204, a last one
c = Case("pipelined")
rs = [cl(b"one"), b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n",
      chunked_head() + b"2\r\nhi\r\n0\r\n\r\n", b"HTTP/1.1 204 No Content\r\n\r\n", cl(LOOKS)]
c.exchange([(m, s, len(r), True) for m, s, r in
            zip([b"GET", b"HEAD", b"GET", b"GET", b"GET"], [200, 200, 200, 204, 200], rs)],
           [b"".join(rs)])


# Status lines (and Content-Length lines) at each of the 8 offsets of the word grid: the walk
# starts its grid after each body, so eight bodiless responses (Content-Length: 0, each 1 mod
# 8 bytes long) pipelined in one write, the last with a body. Eight requests: more awaiting
# than CONN_KINDS (8) leave a connection alone by design (pipelined too deep).
def padded(i, body=b""):
    """X-Pad lengthens the head by words, and by 1 to 8 bytes to make it 1 mod 8."""
    return [r for r in (cl(body, extra=b"X-Pad: %s\r\n" % (b"p" * (8 * i + k)))
                        for k in range(8)) if len(r) % 8 == 1][0]


c = Case("align")
rs = [padded(i) for i in range(7)] + [padded(7, LOOKS)]
c.exchange([(b"GET", 200, len(r), True) for r in rs], [b"".join(rs)])
# A body's end in the middle of a write: each write ends i + 1 bytes before a body's end and
# the next one carries those bytes, then the next response.
c = Case("body_tails")
rs = [padded(i, LOOKS[:16]) for i in range(8)]
writes = []
for i, r in enumerate(rs):
    tail = rs[i - 1][len(rs[i - 1]) - i:] if i else b""
    writes.append(tail + r[:len(r) - (i + 1)])
writes.append(rs[-1][len(rs[-1]) - 8:])
assert b"".join(writes) == b"".join(rs)
c.exchange([(b"GET", 200, len(r), True) for r in rs], writes)

# Names that nearly are Content-Length or Transfer-Encoding (one byte more, one less, one
# byte wrong, '_' for '-', mixed case), each at every offset of the word grid (egress_word
# takes a name's matching bytes a word at a time): only the real Content-Length frames.
NEAR = (b"Content-Lengthy: 99\r\nContent-Lengt: 98\r\nContent_Length: 97\r\n"
        b"ContentXLength: 96\r\nTransfer-Encodinx: chunked\r\nTransfer-Encoding-X: chunked\r\n"
        b"TRANSFER-encodinG2: chunked\r\nContent-Length-X: 95\r\n")
c = Case("names")
for k in range(8):
    r = cl(b"names", name=b"cOnTeNt-LeNgTh", extra=b"X-Pad: %s\r\n" % (b"p" * k) + NEAR)
    one(c, r)
for k in range(8):
    one(c, chunked_head(extra=b"X-Pad: %s\r\n" % (b"p" * k) + NEAR) + b"3\r\nabc\r\n0\r\n\r\n")
# A CR where a name has its '-' (the one byte 0x20 away from '-'): a bad head, never framed
c = Case("name_cr")
c.exchange([(b"GET", 200, 0, False)], [b"HTTP/1.1 200 OK\r\nContent\rLength: 5\r\n\r\nhello"])

fr.CASES.clear()
fr.CASES.update(CASES)


def records_of(path):
    """case -> [(method, target, status, response_bytes)] in the connection's order, and
    the problems seen (a case on several connections, a record outside the corpus)."""
    rows = list(csv.DictReader(open(path, newline="")))
    by_case, conns, problems = {}, {}, []
    for i, r in enumerate(rows):
        parts = r["target"].split("/")
        name = parts[1] if len(parts) == 3 and parts[0] == "" else None
        if name not in CASES:
            problems.append("a record outside the corpus: %r" % r)
            continue
        conns.setdefault(name, set()).add(r["conn"])
        by_case.setdefault(name, []).append((int(r["end_ns"]), i, r))
    out = {}
    for name, recs in by_case.items():
        if len(conns[name]) != 1:
            problems.append("%s: records on %d connections" % (name, len(conns[name])))
        out[name] = [(r["method"], r["target"], int(r["status"]), int(r["response_bytes"]))
                     for _, _, r in sorted(recs)]
    return out, problems


def show(recs):
    return "; ".join("%s %s %d %dB" % r for r in recs) or "none"


def main():
    cmd = sys.argv[1]
    if cmd == "serve":
        fr.serve(sys.argv[2])
        return 0
    failures = 0
    if cmd == "run":
        ports = dict((l.split()[0], int(l.split()[1])) for l in open(sys.argv[2]))
        headers = "--headers" in sys.argv
        for name in CASES:
            try:
                got = fr.run_case(ports[name], name)
            except (OSError, EOFError) as e:
                print("not ok - %s: %r" % (name, e))
                failures += 1
                continue
            with open("%s/%s.bin" % (sys.argv[3], name), "wb") as f:
                f.write(got)
            if headers:
                got = fr.re.sub(rb"X-Energy-Score: [0-9]+\r\n", b"", got)
            ok = got == fr.script_bytes(CASES[name], False)
            print("%s - %s: the bytes arrive as the server wrote them%s" %
                  ("ok" if ok else "not ok", name, " (headers taken out)" if headers else ""))
            failures += not ok
    elif cmd == "truth":
        got, problems = records_of(sys.argv[2])
        for p in problems:
            print("not ok - %s: %s" % (sys.argv[3], p))
            failures += 1
        for name in CASES:
            ok = got.get(name, []) == TRUTH[name]
            print("%s - %s: %s: %d records as the corpus says%s" %
                  ("ok" if ok else "not ok", sys.argv[3], name, len(TRUTH[name]),
                   "" if ok else " (want %s; got %s)" % (show(TRUTH[name]), show(got.get(name, [])))))
            failures += not ok
    elif cmd == "agree":
        a, _ = records_of(sys.argv[2])
        b, _ = records_of(sys.argv[3])
        for name in CASES:
            ok = a.get(name, []) == b.get(name, [])
            print("%s - both framers: %s: the same records%s" %
                  ("ok" if ok else "not ok", name,
                   "" if ok else " (%s: %s; %s: %s)" % (sys.argv[2], show(a.get(name, [])),
                                                       sys.argv[3], show(b.get(name, [])))))
            failures += not ok
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
