#!/usr/bin/env python3
"""Graceful shutdown of rs-serve (tests/27-rs-serve-ops.bats).

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
time.sleep(0.3)
os.kill(pid, signal.SIGTERM)
time.sleep(0.5)
keep.request("GET", "/readyz")
r = keep.getresponse()
assert r.status == 503 and r.getheader("Connection", "").lower() == "close", (r.status, r.getheaders())
assert b"draining" in r.read()
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
