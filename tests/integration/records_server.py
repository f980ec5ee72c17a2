#!/usr/bin/env python3
"""A one-thread HTTP/1.1 server for tests/integration/test_request_records.sh (issue 13).

One thread serves every connection (an event loop), so which connection a stretch of its
CPU belongs to is decided only by its socket operations. Paths:
  /spin?ms=N[&...]   N ms of CPU in 1 ms pieces with a short sleep between them (real
                     context switches); X-Cpu-Ns: the thread CPU ns the piece work took
  /hold?...          like /spin, but held until a second request is held too: then both
                     are served in arrival order (read A, read B, work A, write A, work B,
                     write B: the thread's last read is B while it works for A)
  /chunked           a chunked body written in three writes
  /file              a 64 KiB file with os.sendfile (HEAD: the head only)
  /close             a close-delimited body, then the connection is closed
  /tiny              a 2-byte body; every /tiny of one read is answered in one write
  /tail?ms=N         a 2-byte body, then N ms of CPU as /spin AFTER the write, before the
                     thread reads again (a response's tail: its clean-up, logging)
  /stream?ms=N       a chunked body: the head and a first chunk written, then N ms of CPU
                     as /spin for the rest (the response's work, ended by no socket op),
                     then the loop serves the other ready connections (reads them) before
                     it writes the rest (nginx's gunzip filter when the client's socket is
                     full: inflated output waits for the socket to be writable)
  /lost?ms=N         as /stream, but its first chunk's size is not a number (the framing
                     is lost: no record); after the rest the connection is closed
  /open              held, unanswered, until an /upload comes (any connection)
  /upload?ms=N&len=L a POST whose L-byte body the client sends once it sees /open's first
                     chunk: the held /open's head and first chunk are written, then N ms of
                     CPU as /spin for the upload, then its body read, its response written,
                     then /open's rest (a Go handler that reads its body after a write of
                     another response that left it unfinished: the read ends the upload's
                     own work)
  /handoff?ms=N      N ms of CPU as /spin, a non-blocking read of the same connection that
                     finds nothing (EAGAIN), then the response written by another thread
                     (a Go handler whose connection reads in the background, resumed on
                     another OS thread); this thread's next operation is a read elsewhere
Prints "listening on 127.0.0.1:PORT" once ready.
"""
import os
import queue
import select
import socket
import sys
import tempfile
import threading
import time
from urllib.parse import parse_qs, urlsplit


def spin(ms):
    t0 = time.thread_time_ns()
    for _ in range(ms):
        end = time.thread_time_ns() + 1_000_000
        while time.thread_time_ns() < end:
            pass
        time.sleep(0.0002)
    return time.thread_time_ns() - t0


def head(status, length, extra=""):
    return ("HTTP/1.1 %d OK\r\nContent-Length: %d\r\n%s\r\n" % (status, length, extra)).encode()


def main():
    fd, path = tempfile.mkstemp()
    os.write(fd, bytes(range(256)) * 256)
    os.close(fd)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0))
    ls.listen(128)
    print("listening on 127.0.0.1:%d" % ls.getsockname()[1], flush=True)
    conns = {}  # socket -> bytes read and not yet parsed
    writes = queue.Queue()  # /handoff: (socket, bytes, done) for the writer thread

    def writer():
        while True:
            ws, data, done = writes.get()
            ws.sendall(data)
            done.set()

    # started before any connection: a thread's start is work of its own (about 1 ms here)
    threading.Thread(target=writer, daemon=True).start()
    held = []  # (socket, path)
    opened = []  # /open: sockets held until an /upload
    streams = []  # /stream, /lost: (round, socket, the rest, close), written a round later
    rounds = 0

    def serve(s, method, target):
        u = urlsplit(target)
        q = parse_qs(u.query)
        if u.path in ("/spin", "/hold"):
            ns = spin(int(q.get("ms", ["1"])[0]))
            s.sendall(head(200, 2, "X-Cpu-Ns: %d\r\n" % ns) + b"ok")
        elif u.path == "/handoff":
            ns = spin(int(q.get("ms", ["1"])[0]))
            s.setblocking(False)
            try:
                # leaves any bytes there for select; binds like any receive (the receive
                # hooks do not look at the flags: were they to skip peeks, use a real read)
                s.recv(65536, socket.MSG_PEEK)
            except BlockingIOError:
                pass  # nothing has come: EAGAIN
            s.setblocking(True)
            done = threading.Event()
            writes.put((s, head(200, 2, "X-Cpu-Ns: %d\r\n" % ns) + b"ok", done))
            done.wait()
        elif u.path == "/upload":
            a = opened.pop(0)
            a.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
            ns = spin(int(q.get("ms", ["1"])[0]))
            n, body = int(q.get("len", ["1"])[0]), b""
            while len(body) < n:
                body += s.recv(n - len(body))
            s.sendall(head(200, 2, "X-Cpu-Ns: %d\r\n" % ns) + b"ok")
            a.sendall(b"4\r\nrest\r\n0\r\n\r\n")
        elif u.path in ("/stream", "/lost"):
            size = b"5" if u.path == "/stream" else b"zz"
            s.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%s\r\nfirst\r\n" % size)
            spin(int(q.get("ms", ["1"])[0]))
            streams.append((rounds, s, b"4\r\nrest\r\n0\r\n\r\n", u.path == "/lost"))
        elif u.path == "/tail":
            s.sendall(head(200, 2) + b"ok")
            spin(int(q.get("ms", ["1"])[0]))
        elif u.path == "/chunked":
            s.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            s.sendall(b"5\r\nhello\r\n")
            s.sendall(b"6\r\n world\r\n0\r\n\r\n")
        elif u.path == "/file":
            size = os.path.getsize(path)
            s.sendall(head(200, size))
            if method != "HEAD":
                with open(path, "rb") as f:
                    off = 0
                    while off < size:
                        off += os.sendfile(s.fileno(), f.fileno(), off, size - off)
        elif u.path == "/close":
            s.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end")
            return False
        else:
            s.sendall(head(404, 9) + b"not found")
        return True

    while True:
        r, _, _ = select.select([ls] + list(conns), [], [], 0.5 if streams else None)
        rounds += 1
        for s in r:
            if s is ls:
                c, _ = ls.accept()
                conns[c] = b""
                continue
            data = s.recv(65536)
            if not data:
                del conns[s]
                s.close()
                continue
            buf = conns[s] + data
            tiny = b""
            keep = True
            while b"\r\n\r\n" in buf:
                h, buf = buf.split(b"\r\n\r\n", 1)
                method, target = h.split(b"\r\n")[0].decode().split(" ")[:2]
                if target.startswith("/tiny"):
                    tiny += head(200, 2) + b"ok"
                    continue
                if tiny:
                    s.sendall(tiny)
                    tiny = b""
                if target.startswith("/hold"):
                    held.append((s, method, target))
                    continue
                if target.startswith("/open"):
                    opened.append(s)
                    continue
                keep = serve(s, method, target) and keep
            if tiny:
                s.sendall(tiny)
            conns[s] = buf
            if len(held) >= 2:
                for hs, m, t in held:
                    serve(hs, m, t)
                held = []
            if not keep:
                del conns[s]
                s.close()
        # a stream's rest, once the round after its work has read what was ready
        for x in [x for x in streams if x[0] < rounds]:
            streams.remove(x)
            x[1].sendall(x[2])
            if x[3]:  # /lost: done with
                del conns[x[1]]
                x[1].close()


if __name__ == "__main__":
    main()
