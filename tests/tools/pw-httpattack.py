#!/usr/bin/env python3
"""pw-httpattack: hostile HTTP clients for tests/integration/dash_lan.sh.

Loopback test traffic against the dashboard on 127.0.0.1:PORT.  Every mode
prints one summary line and exits 0 unless it could not start.

  pw-httpattack.py half PORT N HOLD_S
      N connections, each sending half a request (no blank line), held
      HOLD_S seconds, then all closed at once: "half opened N served_closed K"
      (K: connections the server closed while they were held).
  pw-httpattack.py slow PORT N SECONDS
      slowloris: N connections, each trickling one header byte a second
      and never finishing; one the server closes is opened again; runs
      SECONDS: "slow opened N closed_by_server K longest_s S" (S: the
      longest a trickling connection stayed open).
  pw-httpattack.py burst PORT N
      N connections opened at once, each sending a full GET /api/state:
      "burst sent N answered A" (A: complete HTTP answers of any status).
"""
import socket
import sys
import time


def connect(port, timeout=2.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    return s


def closed_by_peer(s):
    """True when the server closed s (EOF or reset); never blocks."""
    s.setblocking(False)
    try:
        data = s.recv(4096, socket.MSG_PEEK)
        return data == b"" or len(data) > 0 and data.startswith(b"HTTP/")
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        s.setblocking(True)


def half(port, n, hold):
    socks = []
    for _ in range(n):
        try:
            s = connect(port)
            s.sendall(b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            socks.append(s)
        except OSError:
            break
    time.sleep(hold)
    gone = sum(1 for s in socks if closed_by_peer(s))
    for s in socks:
        s.close()
    print("half opened %d served_closed %d" % (len(socks), gone))


def slow(port, n, secs):
    req = b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 4096
    conns = []  # [socket, opened_at, bytes_sent]
    opened = closed = 0
    longest = 0.0
    end = time.monotonic() + secs
    while time.monotonic() < end:
        while len(conns) < n:
            try:
                conns.append([connect(port, 1.0), time.monotonic(), 0])
                opened += 1
            except OSError:
                break
        keep = []
        for c in conns:
            s, t0, i = c
            try:
                if closed_by_peer(s):
                    raise OSError
                s.send(req[i % len(req):i % len(req) + 1])
                c[2] = i + 1
                keep.append(c)
            except OSError:
                closed += 1
                longest = max(longest, time.monotonic() - t0)
                s.close()
        conns = keep
        time.sleep(1.0)
    for s, t0, _ in conns:
        longest = max(longest, time.monotonic() - t0)
        s.close()
    print("slow opened %d closed_by_server %d longest_s %.1f" % (opened, closed, longest))


def burst(port, n):
    socks = []
    for _ in range(n):
        try:
            s = connect(port)
            s.sendall(b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Connection: close\r\n\r\n")
            socks.append(s)
        except OSError:
            pass
    answered = 0
    for s in socks:
        try:
            s.settimeout(15.0)
            if s.recv(12).startswith(b"HTTP/1.1 "):
                answered += 1
        except OSError:
            pass
        s.close()
    print("burst sent %d answered %d" % (len(socks), answered))


def main():
    a = sys.argv[1:]
    if len(a) >= 4 and a[0] == "half":
        half(int(a[1]), int(a[2]), float(a[3]))
    elif len(a) >= 4 and a[0] == "slow":
        slow(int(a[1]), int(a[2]), float(a[3]))
    elif len(a) >= 3 and a[0] == "burst":
        burst(int(a[1]), int(a[2]))
    else:
        sys.stderr.write(__doc__)
        return 64
    return 0


if __name__ == "__main__":
    sys.exit(main())
