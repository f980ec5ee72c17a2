#!/usr/bin/env python3
"""Peers for test_requests_ingress.sh: small servers and clients that exercise the ingress
side of request tracking in ways workload_server cannot.

  server PORTFILE [--defer] [--tfo] [--connect]
                                      HTTP/1.1 keep-alive server on 127.0.0.1 (CRLF heads,
                                      Content-Length bodies); each response's body is
                                      "resp <path>"; writes its port to PORTFILE
                                      (--connect: answers CONNECT 200, then answers
                                      requests in the tunnel as an upstream would)
  tunnel-client PORT                  CONNECT, then requests through the tunnel; prints
                                      "tunnel intact" when their answers are unchanged
  outbound PORT COUNT READYFILE       opens COUNT connections to 127.0.0.1:PORT, sends a
                                      response-shaped message on each, keeps them open
  listen PORTFILE OUTFILE COUNT       accepts COUNT connections, sends each a request, and
                                      appends what it receives to OUTFILE
  client PORT N [--tfo] [--split K] [--pipeline]
                                      N keep-alive GETs on one connection (--tfo: the first
                                      on the SYN; --split K: each request in two writes, the
                                      first K bytes; --pipeline: all in one write before
                                      reading); prints one line per response:
                                      "<path> <headers> <body-ok>"
"""
import socket
import sys
import threading
import time

HOST = "127.0.0.1"
STATUS_MSG = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
REQUEST_MSG = b"GET /from-peer HTTP/1.1\r\nHost: x\r\n\r\n"
TUNNEL_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"


def read_head(conn, buf):
    while b"\r\n\r\n" not in buf:
        d = conn.recv(65536)
        if not d:
            return None, buf
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head, rest


def serve(conn):
    buf = b""
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while True:
        head, buf = read_head(conn, buf)
        if head is None:
            break
        lines = head.split(b"\r\n")
        path = lines[0].split(b" ")[1]
        n = 0
        for line in lines[1:]:
            if line.lower().startswith(b"content-length:"):
                n = int(line.split(b":", 1)[1])
        while len(buf) < n:
            d = conn.recv(65536)
            if not d:
                return
            buf += d
        buf = buf[n:]
        body = b"resp " + path
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    conn.close()


def tunnel(conn):
    """A CONNECT proxy stand-in: 200, then the "upstream" answers every request that
    comes through the tunnel with TUNNEL_RESPONSE (bytes that are not ours to touch)."""
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    head, buf = read_head(conn, b"")
    if head is None or not head.startswith(b"CONNECT "):
        conn.close()
        return
    conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    while True:
        head, buf = read_head(conn, buf)
        if head is None:
            break
        conn.sendall(TUNNEL_RESPONSE)
    conn.close()


def cmd_server(args):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if "--defer" in args:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 5)
    if "--tfo" in args:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 16)
    s.bind((HOST, 0))
    s.listen(64)
    with open(args[0] + ".tmp", "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    import os
    os.rename(args[0] + ".tmp", args[0])
    while True:
        c, _ = s.accept()
        threading.Thread(target=tunnel if "--connect" in args else serve, args=(c,),
                         daemon=True).start()


def cmd_outbound(args):
    port, count, ready = int(args[0]), int(args[1]), args[2]
    socks = []
    for _ in range(count):
        c = socket.create_connection((HOST, port))
        c.sendall(STATUS_MSG)
        socks.append(c)
    for c in socks:  # the peer's request arrives on each: it is not ours to answer
        c.settimeout(10)
        got = b""
        while len(got) < len(REQUEST_MSG):
            d = c.recv(65536)
            if not d:
                break
            got += d
        c.sendall(STATUS_MSG)
    open(ready, "w").write("ready\n")
    time.sleep(30)


def cmd_listen(args):
    portfile, outfile, count = args[0], args[1], int(args[2])
    s = socket.socket()
    s.bind((HOST, 0))
    s.listen(64)
    open(portfile, "w").write("%d\n" % s.getsockname()[1])
    conns = []
    for _ in range(count):
        c, _ = s.accept()
        c.sendall(REQUEST_MSG)
        conns.append(c)
    with open(outfile, "wb") as out:
        for c in conns:
            c.settimeout(10)
            got = b""
            while len(got) < 2 * len(STATUS_MSG):
                d = c.recv(65536)
                if not d:
                    break
                got += d
            out.write(got)
    time.sleep(30)


def cmd_tunnel_client(args):
    """CONNECT, then requests through the tunnel: their answers must arrive unchanged."""
    s = socket.create_connection((HOST, int(args[0])))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(20)
    s.sendall(b"CONNECT upstream:80 HTTP/1.1\r\nHost: upstream:80\r\n\r\n")
    head, buf = read_head(s, b"")
    ok = head is not None and head.startswith(b"HTTP/1.1 200 ")
    for i in range(3):
        s.sendall(b"GET /in-tunnel%d HTTP/1.1\r\nHost: upstream\r\n\r\n" % i)
        while len(buf) < len(TUNNEL_RESPONSE):
            d = s.recv(65536)
            if not d:
                break
            buf += d
        ok = ok and buf == TUNNEL_RESPONSE
        print("through the tunnel: %r" % buf, flush=True)
        buf = b""
    print("tunnel intact" if ok else "tunnel CORRUPT", flush=True)


def cmd_client(args):
    port, n = int(args[0]), int(args[1])
    tfo = "--tfo" in args
    split = int(args[args.index("--split") + 1]) if "--split" in args else 0
    reqs = [b"GET /r%d HTTP/1.1\r\nHost: t\r\nX-Pad: %s\r\n\r\n" % (i, b"p" * 800)
            for i in range(n)]
    s = socket.socket()
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(20)
    if tfo:
        s.sendto(reqs[0], socket.MSG_FASTOPEN, (HOST, port))
    else:
        s.connect((HOST, port))
    buf = b""
    if "--pipeline" in args:
        s.sendall(b"".join(reqs))
    for i in range(n):
        if "--pipeline" in args:
            pass
        elif not (tfo and i == 0):
            if split:
                s.sendall(reqs[i][:split])
                s.sendall(reqs[i][split:])
            else:
                s.sendall(reqs[i])
        head, buf = read_head(s, buf)
        if head is None:
            print("/r%d closed" % i)
            return
        n_len = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0]
                    .split(b":", 1)[1])
        while len(buf) < n_len:
            buf += s.recv(65536)
        body, buf = buf[:n_len], buf[n_len:]
        scores = [l for l in head.split(b"\r\n")[1:] if l.lower().startswith(b"x-energy-score:")]
        print("/r%d %d %s" % (i, len(scores), "intact" if body == b"resp /r%d" % i else "CORRUPT"),
              flush=True)
    s.close()


if __name__ == "__main__":
    {"server": cmd_server, "outbound": cmd_outbound, "listen": cmd_listen,
     "client": cmd_client, "tunnel-client": cmd_tunnel_client}[sys.argv[1]](sys.argv[2:])
