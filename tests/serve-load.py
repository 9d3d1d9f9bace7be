#!/usr/bin/env python3
"""serve-load.py - a loopback load driver for rs-serve (stdlib only), used by
tests/25-rs-serve-load.bats (short runs) and bench/serve-load (long runs).

  serve-load.py idle PORT SOCKETS SECONDS
      one client (source address 127.0.0.2) opens SOCKETS idle connections
      and holds them; meanwhile another (127.0.0.3) asks GET /healthz on a
      new connection every 20 ms for SECONDS. Prints the sockets opened and
      the probes' count, failures, p50/p99/max latency in ms (JSON).
  serve-load.py oversized PORT
      sends malformed and oversized requests; prints each one's status (0:
      no HTTP answer) as JSON {"name": status}.
  serve-load.py hammer PORT PATH STOPFILE SECONDS
      requests PATH (keep-alive, one connection, reconnecting when closed)
      until STOPFILE exists, at most SECONDS; prints the count, the failures (anything but
      200, or no answer) with their first messages, and the versions seen.
"""
import http.client
import json
import os
import resource
import socket
import sys
import threading
import time

HOST = "127.0.0.1"


def connect(port, source, timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect((HOST, port))
    return s


def raw_status(port, data, source="127.0.0.4"):
    """Sends data, returns the HTTP status of the answer, 0 when none."""
    try:
        s = connect(port, source)
        s.sendall(data)
        got = b""
        while b"\r\n" not in got:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        s.close()
        parts = got.split(b" ", 2)
        return int(parts[1]) if got.startswith(b"HTTP/1.") and len(parts) > 1 else 0
    except OSError:
        return 0


def quantile(xs, q):
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else None


def idle(port, nsockets, seconds):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    held, opened = [], threading.Event()

    def hold():
        for _ in range(nsockets):
            try:
                held.append(connect(port, "127.0.0.2", timeout=2.0))
            except OSError:
                pass
        opened.set()

    t = threading.Thread(target=hold, daemon=True)
    t.start()
    opened.wait(60)
    lat, failures, first_error = [], 0, None
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.monotonic()
        status = raw_status(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "127.0.0.3")
        dt = (time.monotonic() - t0) * 1000
        if status == 200:
            lat.append(dt)
        else:
            failures += 1
            first_error = first_error or f"status {status} after {dt:.0f} ms"
        time.sleep(0.02)
    lat.sort()
    print(json.dumps({"sockets": len(held), "probes": len(lat) + failures, "failures": failures,
                      "first_error": first_error, "p50_ms": quantile(lat, 0.5), "p99_ms": quantile(lat, 0.99),
                      "max_ms": lat[-1] if lat else None}))
    for s in held:
        s.close()


def oversized(port):
    many = "&".join(f"p{i}=v{i}" for i in range(500))
    tiny = "&".join("a" for _ in range(3000))
    cases = {
        "params_500": f"GET /recommend?user_id=u1&{many} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
        "params_3000_tiny": f"GET /recommend?user_id=u1&{tiny} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
        "url_20k": ("GET /recommend?user_id=" + "u" * 20000 + " HTTP/1.1\r\nHost: x\r\n\r\n").encode(),
        "url_200k": ("GET /recommend?user_id=" + "u" * 200000 + " HTTP/1.1\r\nHost: x\r\n\r\n").encode(),
        "headers_3000": b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"h%d: v\r\n" % i for i in range(3000)) + b"\r\n",
        "header_100k": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 100000 + b"\r\n\r\n",
        "body_2m": b"POST /recommend HTTP/1.1\r\nHost: x\r\nContent-Length: 2097152\r\n\r\n" + b"{" * 2097152,
        "garbage": b"\x00\x01\x02 nonsense\r\n\r\n",
        "bad_method_line": b"GET\r\n\r\n",
        "bad_version": b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n",
        "no_host": b"GET /healthz HTTP/1.1\r\n\r\n",
    }
    print(json.dumps({name: raw_status(port, data) for name, data in cases.items()}))


def hammer(port, path, stopfile, seconds):
    count, failures, errors, versions = 0, 0, [], set()
    conn = None
    end = time.monotonic() + seconds
    while not os.path.exists(stopfile) and time.monotonic() < end:
        try:
            if conn is None:
                conn = http.client.HTTPConnection(HOST, port, timeout=10)
            conn.request("GET", path)
            r = conn.getresponse()
            body = r.read()
            count += 1
            if r.status != 200:
                failures += 1
                errors = (errors + [f"{r.status} {body[:200].decode(errors='replace')}"])[:5]
            else:
                versions.add(json.loads(body)["version"])
            if r.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as e:
            count += 1
            failures += 1
            errors = (errors + [repr(e)])[:5]
            conn = None
    print(json.dumps({"requests": count, "failures": failures, "errors": errors, "versions": sorted(versions)}))


if __name__ == "__main__":
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "idle":
        idle(port, int(sys.argv[3]), float(sys.argv[4]))
    elif mode == "oversized":
        oversized(port)
    elif mode == "hammer":
        hammer(port, sys.argv[3], sys.argv[4], float(sys.argv[5]))
    else:
        sys.exit(f"unknown mode {mode}")
