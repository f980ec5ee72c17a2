#!/usr/bin/env python3
"""Raw-socket checks of workload_server: keep-alive, HTTP/1.0, pipelining, split, slow and
vanishing clients, and the errors that end a connection. Prints one "ok - " or "not ok - "
line per check; exits 1 if any failed.

usage: workload_raw.py HOST PORT DATA_FILE [--only name,name]
The server must run with --idle-timeout 1 --request-timeout 1 for the timeout checks.
"""
import socket
import sys
import time

HOST, PORT, DATA_FILE = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ONLY = sys.argv[5].split(",") if len(sys.argv) > 5 and sys.argv[4] == "--only" else None
failures = 0


def result(ok, what):
    global failures
    print(("ok - " if ok else "not ok - ") + what, flush=True)
    if not ok:
        failures += 1


def connect():
    fam = socket.AF_INET6 if ":" in HOST else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect((HOST, PORT))
    return s


class Reader:
    """Reads Content-Length framed responses from a socket."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def _more(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def response(self):
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            self._more()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, headers, body

    def closed(self, within_s=5):
        """True when the peer closes the connection within the time given."""
        self.sock.settimeout(within_s)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.buf += data
        except (socket.timeout, TimeoutError):
            return False
        except ConnectionResetError:
            return True


def exchange(raw, n=1):
    s = connect()
    s.sendall(raw)
    r = Reader(s)
    out = [r.response() for _ in range(n)]
    return s, r, out


def check_keep_alive():
    s = connect()
    r = Reader(s)
    ok = True
    for i in range(100):
        s.sendall(b"GET /cpu?iters=%d HTTP/1.1\r\nHost: t\r\n\r\n" % (i + 1))
        status, h, body = r.response()
        ok &= status == 200 and h.get("connection") == "keep-alive"
        ok &= (b'"iters":%d,' % (i + 1)) in body
    result(ok, "100 keep-alive requests on one connection")
    s.close()


def check_http10():
    s, r, [(status, h, _)] = exchange(b"GET /healthz HTTP/1.0\r\n\r\n")
    result(status == 200 and h.get("connection") == "close" and r.closed(),
           "HTTP/1.0 gets its answer and the connection closes")
    s, r, out = exchange(b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                         b"GET /healthz HTTP/1.0\r\n\r\n", 2)
    result([o[0] for o in out] == [200, 200] and r.closed(),
           "HTTP/1.0 with Connection: keep-alive keeps the connection for the next request")
    s, r, [(status, h, _)] = exchange(b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
    result(status == 200 and r.closed(), "HTTP/1.1 Connection: close is honoured")


def check_pipelining():
    reqs = (b"GET /cpu?iters=7 HTTP/1.1\r\n\r\n"
            b"POST /post?kb=1 HTTP/1.1\r\nContent-Length: 1024\r\n\r\n" + b"\r\n\r\n" * 256 +
            b"GET /json?items=1 HTTP/1.1\r\n\r\n"
            b"GET /nope HTTP/1.1\r\n\r\n"
            b"GET /healthz HTTP/1.1\r\n\r\n")
    s, r, out = exchange(reqs, 5)
    statuses = [o[0] for o in out]
    result(statuses == [200, 200, 200, 404, 200] and b'"iters":7' in out[0][2]
           and b'"bytes":1024' in out[1][2] and out[2][2].startswith(b"[{")
           and out[4][2] == b"ok\n",
           "pipelined requests (one POST body full of CRLFCRLF) are answered in order")
    s.close()


def check_split_and_slow():
    s = connect()
    req = b"GET /cpu?iters=5 HTTP/1.1\r\nHost: split\r\nX-A: b\r\n\r\n"
    for i in range(len(req)):
        s.sendall(req[i:i + 1])
        time.sleep(0.002)
    status, _, body = Reader(s).response()
    result(status == 200 and b'"iters":5' in body, "a request sent one byte at a time")
    s.close()

    s = connect()
    body = b"x" * 4096
    s.sendall(b"POST /post?kb=4 HTTP/1.1\r\nContent-Length: 4096\r\n\r\n" + body[:100])
    time.sleep(0.2)
    s.sendall(body[100:] + b"GET /healthz HTTP/1.1\r\n\r\n")
    r = Reader(s)
    a, b = r.response(), r.response()
    result(a[0] == 200 and b'"bytes":4096' in a[2] and b[2] == b"ok\n",
           "a body split across writes, followed by a pipelined request")
    s.close()


def check_timeouts():
    s = connect()
    s.sendall(b"GET /cpu?iters=1 HTTP/1.1\r\nHost: slow")
    r = Reader(s)
    status, h, _ = r.response()
    result(status == 408 and r.closed(), "a client that stalls mid-request gets 408 and is closed")

    s = connect()
    s.sendall(b"GET /healthz HTTP/1.1\r\n\r\n")
    r = Reader(s)
    r.response()
    t0 = time.monotonic()
    result(r.closed(within_s=5) and time.monotonic() - t0 < 4,
           "an idle keep-alive connection is closed after --idle-timeout")


def check_vanishing_clients():
    # More vanishing and stalled clients than the server has workers (4).
    for _ in range(8):
        s = connect()
        s.sendall(b"POST /post?kb=64 HTTP/1.1\r\nContent-Length: 65536\r\n\r\nabc")
        s.close()
    stalled = [connect() for _ in range(6)]
    for s in stalled:
        s.sendall(b"GET /cpu?iters=1 HTTP/1.1\r\n")
    t0 = time.monotonic()
    s, r, [(status, _, body)] = exchange(b"GET /healthz HTTP/1.1\r\n\r\n")
    result(status == 200 and time.monotonic() - t0 < 8,
           "vanishing and stalled clients do not block the workers for good")
    for x in stalled:
        x.close()


def check_errors():
    big = b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 17000 + b"\r\n\r\n"
    s, r, [(status, _, _)] = exchange(big)
    result(status == 431 and r.closed(), "headers over 16 KiB: 431 and close")

    many = b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(70)) + b"\r\n"
    s, r, [(status, _, _)] = exchange(many)
    result(status == 431 and r.closed(), "over 64 header fields: 431 and close")

    s, r, [(status, _, _)] = exchange(
        b"POST /post?kb=65537 HTTP/1.1\r\nContent-Length: 67109888\r\n\r\n")
    result(status == 413 and r.closed(), "a body over 64 MiB: 413 and close")

    s, r, [(status, _, body)] = exchange(
        b"POST /post?kb=1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n")
    result(status == 501 and b"Content-Length" in body and r.closed(),
           "a chunked request body: 501 and close")

    s, r, [(status, _, _)] = exchange(b"POST /post?kb=1 HTTP/1.1\r\n\r\n")
    result(status == 411 and r.closed(), "POST without Content-Length: 411")

    for raw, what in [(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", "a header without colon"),
                      (b"GET / HTTP/1.1\nHost: x\n\n", "bare LF line ends"),
                      (b"\x16\x03\x01\x00\xa5\x01\x00\x00", "a TLS ClientHello"),
                      (b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                       "two Content-Length fields")]:
        s, r, [(status, _, _)] = exchange(raw)
        result(status == 400 and r.closed(), "malformed request (%s): 400 and close" % what)

    s, r, [(status, _, _)] = exchange(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    result(status == 505 and r.closed(), "the HTTP/2 preface: 505 and close")

    s, r, out = exchange(b"GET /cpu?iters=0 HTTP/1.1\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n", 2)
    result([o[0] for o in out] == [400, 200],
           "a 400 for a bad parameter keeps the connection usable")


CHECKS = {
    "keep_alive": check_keep_alive,
    "http10": check_http10,
    "pipelining": check_pipelining,
    "split_and_slow": check_split_and_slow,
    "timeouts": check_timeouts,
    "vanishing_clients": check_vanishing_clients,
    "errors": check_errors,
}

for name, fn in CHECKS.items():
    if ONLY and name not in ONLY:
        continue
    try:
        fn()
    except Exception as e:  # a crash of one check is a failure, not the end of the run
        result(False, "%s raised %r" % (name, e))
sys.exit(1 if failures else 0)
