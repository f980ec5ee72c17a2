#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A small HTTP/1.1 server that misbehaves on request, for bench_http's integration tests.

One thread per connection, keep-alive. The path picks the behaviour:

  /ok?energy=N&len=L    200, Content-Length body of L bytes (default 2), X-Energy-Score: N
  /chunked?energy=N&chunks=K
                        200, chunked body in K chunks (default 3) with a trailer
  /split                200 sent one byte at a time with a flush after each
  /eof-body             200 without Content-Length: the body ends when the server closes
  /close                200 with Connection: close, then close
  /delay?ms=N           200 after N milliseconds
  /status?code=N        that status, empty body
  /energy-bad           200 with X-Energy-Score: abc
  /extra                200, then bytes that belong to no response
  /garbage              a reply that is not HTTP
  /drop                 close without answering
  /reset                reset the connection (RST) without answering
  /hang                 never answer (until the client goes away)
  /post?kb=N            any method; 200 when the body is exactly N KiB, else 400

Each request line is appended to --log (one "METHOD TARGET" line each) before it is
answered. The start-up line on stdout is "bench_test_server: listening on ADDR:PORT".
"""
import argparse
import socket
import struct
import sys
import threading
import time
import urllib.parse

MAX_HEAD = 65536


class Conn:
    def __init__(self, sock, log):
        self.sock = sock
        self.buf = b""
        self.log = log

    def read_head(self):
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > MAX_HEAD:
                return None
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buf += data
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        return head.decode("latin-1")

    def read_body(self, n):
        while len(self.buf) < n:
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buf += data
        body, self.buf = self.buf[:n], self.buf[n:]
        return body

    def send(self, status, body=b"", headers=(), reason="OK"):
        lines = ["HTTP/1.1 %d %s" % (status, reason)]
        lines += ["%s: %s" % h for h in headers]
        if not any(h[0].lower() in ("content-length", "transfer-encoding") for h in headers):
            lines.append("Content-Length: %d" % len(body))
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


def energy_headers(query):
    if "energy" in query:
        return [("X-Energy-Score", query["energy"])]
    return []


def serve(sock, log, log_lock):
    c = Conn(sock, log)
    try:
        while True:
            head = c.read_head()
            if head is None:
                return
            request_line, *header_lines = head.split("\r\n")
            method, target, _version = request_line.split(" ")
            headers = {}
            for line in header_lines:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            body = c.read_body(length)
            if body is None:
                return
            if log:
                with log_lock:
                    log.write("%s %s\n" % (method, target))
                    log.flush()
            url = urllib.parse.urlsplit(target)
            q = dict(urllib.parse.parse_qsl(url.query))
            path = url.path
            if path == "/ok":
                c.send(200, b"x" * int(q.get("len", "2")), energy_headers(q))
            elif path == "/chunked":
                chunks = int(q.get("chunks", "3"))
                hdrs = [("Transfer-Encoding", "chunked")] + energy_headers(q)
                c.send(200, b"", hdrs)
                for i in range(chunks):
                    data = b"chunk%d;" % i
                    c.sock.sendall(b"%x;ext=%d\r\n%s\r\n" % (len(data), i, data))
                c.sock.sendall(b"0\r\nX-Trailer: done\r\n\r\n")
            elif path == "/split":
                wire = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Energy-Score: 77\r\n\r\nsplit"
                for i in range(len(wire)):
                    c.sock.sendall(wire[i:i + 1])
                    time.sleep(0.0005)
            elif path == "/eof-body":
                c.sock.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nthe body ends at EOF")
                return
            elif path == "/close":
                c.send(200, b"bye", [("Connection", "close")])
                return
            elif path == "/delay":
                time.sleep(int(q.get("ms", "10")) / 1000.0)
                c.send(200, b"late")
            elif path == "/status":
                code = int(q.get("code", "500"))
                c.send(code, b"", reason="Status")
            elif path == "/energy-bad":
                c.send(200, b"ok", [("X-Energy-Score", "abc")])
            elif path == "/extra":
                c.sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA")
            elif path == "/garbage":
                c.sock.sendall(b"this is not http\r\n\r\n")
            elif path == "/drop":
                return
            elif path == "/reset":
                c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            elif path == "/hang":
                while c.sock.recv(65536):
                    pass
                return
            elif path == "/post":
                want = int(q.get("kb", "0")) * 1024
                if len(body) == want:
                    c.send(200, b"%d" % len(body))
                else:
                    c.send(400, b"want %d bytes, got %d" % (want, len(body)), reason="Bad")
            else:
                c.send(404, b"no such path", reason="Not Found")
    except (ConnectionError, OSError, ValueError):
        return
    finally:
        sock.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log", help="append one line per request to this file")
    args = ap.parse_args()

    family = socket.AF_INET6 if ":" in args.bind else socket.AF_INET
    lsock = socket.socket(family, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((args.bind, args.port))
    lsock.listen(1024)
    port = lsock.getsockname()[1]
    log = open(args.log, "a") if args.log else None
    log_lock = threading.Lock()
    shown = "[%s]" % args.bind if family == socket.AF_INET6 else args.bind
    print("bench_test_server: listening on %s:%d" % (shown, port), flush=True)
    while True:
        sock, _ = lsock.accept()
        # Responses go out in several writes: no Nagle stalls between them.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve, args=(sock, log, log_lock), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
