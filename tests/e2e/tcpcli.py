# SPDX-License-Identifier: Apache-2.0
"""Test TCP client for weir's end-to-end tests, run inside a Pod netns. Prints JSON.

  who HOST PORT COUNT          COUNT connections, counts the names answered
  send HOST PORT NBYTES        sends NBYTES (seeded pattern), half-closes, reads the reply:
                               prints sent, sha256, the server's count and sha, reply bytes
  peer HOST PORT               connects and prints getpeername() and getsockname()
  hold HOST PORT SECONDS       holds one connection, exchanging a line per 100 ms; prints
                               how many exchanges succeeded and the first failure
"""
import hashlib
import json
import socket
import sys
import time


def conn(host, port, timeout=5):
    return socket.create_connection((host, port), timeout=timeout)


def who(host, port, count):
    seen, errors = {}, 0
    for _ in range(count):
        try:
            c = conn(host, port)
            data = b""
            while not data.endswith(b"\n"):
                b = c.recv(100)
                if not b:
                    break
                data += b
            c.close()
            name = data.decode().strip() or "(empty)"
            seen[name] = seen.get(name, 0) + 1
        except OSError as e:
            errors += 1
            seen["error:" + type(e).__name__] = seen.get("error:" + type(e).__name__, 0) + 1
    print(json.dumps({"counts": seen, "errors": errors}))


def send(host, port, nbytes):
    c = conn(host, port, timeout=30)
    h = hashlib.sha256()
    left, i = nbytes, 0
    while left > 0:
        chunk = bytes((i + k) % 251 for k in range(min(left, 65536)))
        c.sendall(chunk)
        h.update(chunk)
        left -= len(chunk)
        i += 1
    c.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        b = c.recv(65536)
        if not b:
            break
        data += b
    c.close()
    line, _, rest = data.partition(b"\n")
    got, sha = line.decode().split()
    print(json.dumps({"sent": nbytes, "sha": h.hexdigest(), "server_got": int(got),
                      "server_sha": sha, "reply_bytes": len(rest), "reply_total": len(data)}))


def peer(host, port):
    c = conn(host, port)
    p, s = c.getpeername(), c.getsockname()
    c.close()
    print(json.dumps({"peer": "%s:%d" % p, "local": "%s:%d" % s}))


def hold(host, port, seconds):
    c = conn(host, port)
    ok, fail = 0, None
    end = time.time() + seconds
    while time.time() < end:
        try:
            c.sendall(b"ping\n")
            b = c.recv(100)
            if b != b"ping\n":
                fail = "got %r" % b
                break
            ok += 1
        except OSError as e:
            fail = str(e)
            break
        time.sleep(0.1)
    c.close()
    print(json.dumps({"ok": ok, "fail": fail}))


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "who":
        who(host, port, int(sys.argv[4]))
    elif mode == "send":
        send(host, port, int(sys.argv[4]))
    elif mode == "peer":
        peer(host, port)
    elif mode == "hold":
        hold(host, port, float(sys.argv[4]))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
