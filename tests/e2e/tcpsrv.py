# SPDX-License-Identifier: Apache-2.0
"""Test TCP server for weir's end-to-end tests, run inside a Pod netns.

Modes (first argument):
  who NAME PORT      answers each connection with "NAME\n" and closes (load-balancing tests)
  sink PORT          reads until EOF, replies with the byte count and a sha256 of what it got,
                     then sends REPLY_BYTES (env, default 0) bytes of a fixed pattern
  echo PORT          echoes everything back until EOF
Every mode runs until killed; each connection is handled in its own thread.
"""
import hashlib
import os
import socket
import sys
import threading


def serve(port, handler):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(512)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handler, args=(c,), daemon=True).start()


def who(name):
    def h(c):
        try:
            c.sendall((name + "\n").encode())
        finally:
            c.close()
    return h


def sink(c):
    try:
        n, h = 0, hashlib.sha256()
        while True:
            b = c.recv(65536)
            if not b:
                break
            n += len(b)
            h.update(b)
        c.sendall(("%d %s\n" % (n, h.hexdigest())).encode())
        left = int(os.environ.get("REPLY_BYTES", "0"))
        chunk = bytes(range(256)) * 256
        while left > 0:
            k = min(left, len(chunk))
            c.sendall(chunk[:k])
            left -= k
    finally:
        c.close()


def echo(c):
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
            c.sendall(b)
    finally:
        c.close()


def main():
    mode = sys.argv[1]
    if mode == "who":
        serve(int(sys.argv[3]), who(sys.argv[2]))
    elif mode == "sink":
        serve(int(sys.argv[2]), sink)
    elif mode == "echo":
        serve(int(sys.argv[2]), echo)
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
