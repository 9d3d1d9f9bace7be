#!/usr/bin/env python3
"""Graceful shutdown of rs-serve (tests/36-rs-serve-ops.bats).

Usage: serve-drain.py PORT PID
A request is in flight (a POST /recommend whose body is half sent) when the
server gets SIGTERM: a keep-alive connection opened before sees /readyz 503
with Connection: close, a new connection is refused, and the request in
flight, once its body ends, is answered 200. Prints "drained"."""
import http.client
import os
import signal
import socket
import sys
import time

port, pid = int(sys.argv[1]), int(sys.argv[2])
keep = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
keep.request("GET", "/readyz")
r = keep.getresponse()
assert r.status == 200, r.status
r.read()
body = b'{"user_id": "u1", "k": 3}'
slow = socket.create_connection(("127.0.0.1", port), timeout=10)
slow.sendall(b"POST /recommend HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:10])


def get(path):
    keep.request("GET", path)
    r = keep.getresponse()
    return r, r.read()


def wait_for(what, cond):
    for _ in range(200):  # 20 s: a loaded machine
        got = cond()
        if got:
            return got
        time.sleep(0.1)
    sys.exit(f"timed out waiting for {what}")


# the server has the slow request (this /metrics request is the other one in flight)
wait_for("the request in flight", lambda: b"rs_serve_in_flight_requests 2" in get("/metrics")[1])
os.kill(pid, signal.SIGTERM)
r, text = wait_for("draining", lambda: (lambda r: r if r[0].status == 503 else None)(get("/readyz")))
assert r.getheader("Connection", "").lower() == "close", r.getheaders()
assert b"draining" in text
try:
    socket.create_connection(("127.0.0.1", port), timeout=2).close()
    sys.exit("a new connection was accepted while draining")
except ConnectionRefusedError:
    pass
slow.sendall(body[10:])
answer = b""
while b"\r\n\r\n" not in answer:
    chunk = slow.recv(65536)
    assert chunk, answer
    answer += chunk
assert answer.startswith(b"HTTP/1.1 200"), answer
print("drained")
