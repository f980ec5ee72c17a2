#!/usr/bin/env python3
"""Raw-socket checks of X-Energy-Score injection against workload_server under http_energy.
Prints "ok - " / "not ok - " lines; exits 1 if any check failed.

usage: requests_raw.py HOST PORT [--only name,name]
"""
import re
import socket
import sys
import time

HOST, PORT = sys.argv[1], int(sys.argv[2])
ONLY = sys.argv[4].split(",") if len(sys.argv) > 4 and sys.argv[3] == "--only" else None
failures = 0
SCORE = re.compile(rb"^X-Energy-Score: ([0-9]+)\r?$", re.M | re.I)


def result(ok, what):
    global failures
    print(("ok - " if ok else "not ok - ") + what, flush=True)
    failures += 0 if ok else 1


def connect(host=None):
    host = host or HOST
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.settimeout(20)
    s.connect((host, PORT))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class Reader:
    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def _more(self):
        d = self.sock.recv(1 << 20)
        if not d:
            raise EOFError("connection closed")
        self.buf += d

    def response(self):
        """(status, head bytes, body bytes)"""
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        status = int(head.split(b" ")[1])
        m = re.search(rb"^Content-Length: ([0-9]+)\r?$", head, re.M | re.I)
        n = int(m.group(1)) if m else 0
        while len(self.buf) < n:
            self._more()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, head, body


def scores(head):
    return [int(x) for x in SCORE.findall(head)]


def one_score(head):
    s = scores(head)
    return s[0] if len(s) == 1 else None


def check_keep_alive():
    s = connect()
    r = Reader(s)
    good = 0
    for i in range(100):
        s.sendall(b"GET /cpu?iters=%d HTTP/1.1\r\nHost: t\r\n\r\n" % (1000 + i))
        st, head, body = r.response()
        good += st == 200 and one_score(head) is not None and b'"iters":%d,' % (1000 + i) in body
    result(good == 100, "100 keep-alive requests on one connection each carry one header (%d)" % good)
    s.close()


def check_pipelining():
    # small, big, small: the big one's energy must stay with the big one
    s = connect()
    s.sendall(b"GET /cpu?iters=1000 HTTP/1.1\r\n\r\n"
              b"GET /cpu?iters=30000000 HTTP/1.1\r\n\r\n"
              b"GET /cpu?iters=1000 HTTP/1.1\r\n\r\n"
              b"GET /healthz HTTP/1.1\r\n\r\n")
    r = Reader(s)
    out = [r.response() for _ in range(4)]
    sc = [one_score(h) for _, h, _ in out]
    ok = all(x is not None for x in sc)
    result(ok, "pipelined responses each carry exactly one header (%s)" % sc)
    result(ok and sc[1] > 10 * max(sc[0], sc[2], 1),
           "pipelined values are not shifted: the big request's response has the big value")
    result(b'"iters":30000000' in out[1][2] and out[3][2] == b"ok\n",
           "pipelined bodies arrive in order, unchanged")
    s.close()


def check_split_head():
    s = connect()
    req = b"GET /cpu?iters=5000 HTTP/1.1\r\nHost: split\r\nX-Long: " + b"v" * 3000 + b"\r\n\r\n"
    for i in range(0, len(req), 7):
        s.sendall(req[i:i + 7])
        time.sleep(0.0005)
    st, head, body = Reader(s).response()
    result(st == 200 and one_score(head) is not None,
           "a head split across many segments gets its header")
    s.close()


def check_post_with_crlfcrlf_body():
    s = connect()
    body = b"\r\n\r\nGET /fake HTTP/1.1\r\n\r\n" * 100
    body += b"x" * (4096 - len(body))
    s.sendall(b"POST /post?kb=4 HTTP/1.1\r\nContent-Length: 4096\r\n\r\n" + body +
              b"GET /healthz HTTP/1.1\r\n\r\n")
    r = Reader(s)
    a, b = r.response(), r.response()
    result(a[0] == 200 and one_score(a[1]) is not None and b'"bytes":4096' in a[2] and
           b[0] == 200 and one_score(b[1]) is not None,
           "a POST whose body holds CRLFCRLF and request lines: one header per real response")
    s.sendall(b"GET /healthz HTTP/1.1\r\n\r\n")
    c = r.response()
    result(one_score(c[1]) is not None, "the connection stays in step after that body")
    s.close()


def check_http10():
    s = connect()
    s.sendall(b"GET /json?items=10 HTTP/1.0\r\n\r\n")
    st, head, body = Reader(s).response()
    result(st == 200 and one_score(head) is not None and body.startswith(b"[{"),
           "HTTP/1.0 responses carry the header")
    s.close()


def check_ipv6():
    try:
        s = connect("::1")
    except OSError as e:
        print("skip - IPv6: %s" % e)
        return
    s.sendall(b"GET /cpu?iters=1000 HTTP/1.1\r\n\r\n")
    st, head, _ = Reader(s).response()
    result(st == 200 and one_score(head) is not None, "IPv6 responses carry the header")
    s.close()


def check_large_response():
    s = connect()
    s.sendall(b"GET /file?kb=16384 HTTP/1.1\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n")
    r = Reader(s)
    st, head, body = r.response()
    st2, head2, _ = r.response()
    result(st == 200 and one_score(head) is not None and len(body) == 16384 * 1024 and
           one_score(head2) is not None,
           "a 16 MiB response gets one header, and the next response its own")
    s.close()
    return body


CHECKS = {
    "keep_alive": check_keep_alive,
    "pipelining": check_pipelining,
    "split_head": check_split_head,
    "post_crlfcrlf": check_post_with_crlfcrlf_body,
    "http10": check_http10,
    "ipv6": check_ipv6,
    "large_response": check_large_response,
}
for name, fn in CHECKS.items():
    if ONLY and name not in ONLY:
        continue
    try:
        fn()
    except Exception as e:
        result(False, "%s raised %r" % (name, e))
sys.exit(1 if failures else 0)
