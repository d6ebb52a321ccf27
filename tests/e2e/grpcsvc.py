#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""gRPC test server and client for weir's end-to-end tests (Debian's python3-grpcio, no codegen).

The service is weir.test.Echo, written by hand over raw protobuf bytes:
  rpc Echo(Msg) returns (Msg);                 unary
  rpc Chat(stream Msg) returns (stream Msg);   bidirectional: each message is echoed as it
                                               arrives, not after the client's stream ends
  rpc Stats(Msg) returns (Msg);                text = JSON counters of what the server got
  message Msg { string text = 1; int64 seq = 2; string server = 3; }

  grpcsvc.py server --port P [--host IP] [--name N] [--fail-code C [--fail-first K]]
                    [--delay-ms D] [--lifetime S] [--chat-buffered]
  grpcsvc.py client --target HOST:PORT --calls N [--stream M] [--timeout S]
                    [--header K=V]... [--channel-per-call] [--text T]
                    [--duration S] [--parallel K] [--summary] [--pause S]
  grpcsvc.py stats --target HOST:PORT [--timeout S]

server: --fail-code answers that gRPC status (number, e.g. 14 UNAVAILABLE) to the first K calls
(every call when --fail-first is not given); --delay-ms delays every answer (each echoed
message on Chat); it exits after --lifetime seconds (default 3600) so it never outlives a test.
--chat-buffered makes Chat wait for the end of the client's stream, as a buffering proxy would,
so that the client's check for it can itself be checked.
client: one JSON line per call on stdout, {"call", "method", "code", "code_num", "messages",
"server", "ms", "details"?}; with --stream M each call is a Chat of M messages, each sent
only after the previous one's echo came back (so a proxy that buffers a stream shows up as
DEADLINE_EXCEEDED with messages < M). Exit status 0 when every call was OK, 1 otherwise,
2 for bad arguments. Every call has a deadline (--timeout, default 5 s), so a run is bounded.
--duration stops starting calls after S seconds (still at most --calls in all); --parallel
runs K callers at once on the one channel, so their calls are concurrent streams of one
HTTP/2 connection; --pause waits S seconds between one caller's calls (an idle
connection between them); --summary prints one JSON line at the end instead of one per call:
{"calls", "ok", "failed", "codes": {name: count}, "connections_seen"?: ...}.
"""
import argparse
import json
import os
import queue
import socket
import sys
import threading
import time
from concurrent import futures

import grpc

SERVICE = "weir.test.Echo"
MAX_CALLS = 100000
MAX_STREAM = 100000


# --- the Msg message, encoded by hand: protobuf wire types 0 (varint) and 2 (bytes).

def _varint(n):
    out = bytearray()
    n &= (1 << 64) - 1  # int64 is sent as its two's-complement 64-bit value
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _read_varint(buf, i):
    shift = n = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise ValueError("truncated or overlong varint")
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def msg_encode(m):
    """Encodes a dict with optional text, seq and server as a Msg."""
    out = bytearray()
    for field, key in ((1, "text"), (3, "server")):
        if m.get(key):
            data = m[key].encode()
            out += _varint(field << 3 | 2) + _varint(len(data)) + data
    if m.get("seq"):
        out += _varint(2 << 3 | 0) + _varint(m["seq"])
    return bytes(out)


def msg_decode(buf):
    """Decodes a Msg into a dict; unknown fields are skipped as protobuf requires."""
    m = {"text": "", "seq": 0, "server": ""}
    i = 0
    while i < len(buf):
        key, i = _read_varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _read_varint(buf, i)
            if field == 2:
                m["seq"] = v - (1 << 64) if v >= 1 << 63 else v
        elif wire == 2:
            n, i = _read_varint(buf, i)
            if i + n > len(buf):
                raise ValueError("field %d runs past the message" % field)
            if field in (1, 3):
                m["text" if field == 1 else "server"] = buf[i:i + n].decode()
            i += n
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            raise ValueError("unsupported wire type %d" % wire)
    if i != len(buf):
        raise ValueError("message ends inside a field")
    return m


# --- server

class Echo:
    """The service's state: the failure budget and the counters Stats reports."""

    def __init__(self, args):
        self.name = args.name
        self.fail_code = args.fail_code
        self.fail_left = args.fail_first if args.fail_first is not None else -1
        self.delay = args.delay_ms / 1000.0
        self.buffered = args.chat_buffered
        self.lock = threading.Lock()
        self.counts = {"calls": 0, "echo": 0, "chat": 0, "messages": 0, "failed": 0}

    def _admit(self, context, method):
        """Counts a call and fails it when the failure budget says so."""
        with self.lock:
            self.counts["calls"] += 1
            self.counts[method] += 1
            fail = self.fail_code is not None and self.fail_left != 0
            if fail:
                self.counts["failed"] += 1
                if self.fail_left > 0:
                    self.fail_left -= 1
        if fail:
            context.abort(self.fail_code, "injected failure (--fail-code) by %s" % self.name)

    def echo(self, req, context):
        self._admit(context, "echo")
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.counts["messages"] += 1
        return {"text": req["text"], "seq": req["seq"], "server": self.name}

    def chat(self, reqs, context):
        self._admit(context, "chat")
        if self.buffered:
            # What a buffering proxy would do: nothing until the client's stream ends.
            reqs = list(reqs)
        for req in reqs:
            if self.delay:
                time.sleep(self.delay)
            with self.lock:
                self.counts["messages"] += 1
            yield {"text": req["text"], "seq": req["seq"], "server": self.name}

    def stats(self, req, context):
        with self.lock:
            text = json.dumps(dict(self.counts, server=self.name), sort_keys=True)
        return {"text": text, "server": self.name}


def status_code(n):
    for c in grpc.StatusCode:
        if c.value[0] == n and c != grpc.StatusCode.OK:
            return c
    raise argparse.ArgumentTypeError("%s is not a gRPC status code 1-16" % n)


def serve(args):
    svc = Echo(args)
    kw = {"request_deserializer": msg_decode, "response_serializer": msg_encode}
    handler = grpc.method_handlers_generic_handler(SERVICE, {
        "Echo": grpc.unary_unary_rpc_method_handler(svc.echo, **kw),
        "Chat": grpc.stream_stream_rpc_method_handler(svc.chat, **kw),
        "Stats": grpc.unary_unary_rpc_method_handler(svc.stats, **kw),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
    server.add_generic_rpc_handlers((handler,))
    addr = "%s:%d" % (args.host, args.port)
    if server.add_insecure_port(addr) == 0:
        print("grpcsvc: cannot listen on %s" % addr, file=sys.stderr)
        return 2
    server.start()
    print("grpcsvc: %s serving %s on %s" % (args.name, SERVICE, addr), file=sys.stderr, flush=True)
    server.wait_for_termination(timeout=args.lifetime)
    server.stop(grace=1).wait()
    return 0


# --- client

def _call_echo(ch, args, i, md):
    fn = ch.unary_unary("/%s/Echo" % SERVICE, request_serializer=msg_encode,
                        response_deserializer=msg_decode)
    resp = fn({"text": args.text, "seq": i + 1}, timeout=args.timeout, metadata=md)
    if resp["seq"] != i + 1 or resp["text"] != args.text:
        raise ValueError("echo mismatch: sent seq %d, got %r" % (i + 1, resp))
    return 1, resp["server"]


def _call_chat(ch, args, i, md, rec):
    fn = ch.stream_stream("/%s/Chat" % SERVICE, request_serializer=msg_encode,
                          response_deserializer=msg_decode)
    q = queue.Queue()

    def reqs():
        while True:
            m = q.get()
            if m is None:
                return
            yield m

    call = fn(reqs(), timeout=args.timeout, metadata=md)
    try:
        for seq in range(1, args.stream + 1):
            # One at a time: the next message goes only after this one's echo is back.
            q.put({"text": "%s-%d" % (args.text, seq), "seq": seq})
            resp = next(call)
            if resp["seq"] != seq:
                raise ValueError("chat out of order: sent seq %d, got %r" % (seq, resp))
            rec["messages"] += 1
            rec["server"] = resp["server"]
        q.put(None)
        for resp in call:
            raise ValueError("unexpected extra message %r" % resp)
    finally:
        q.put(None)
    return rec["messages"], rec["server"]


def _one_call(ch, args, i, md):
    """Makes call number i on channel ch; returns its JSON record."""
    rec = {"call": i + 1, "method": "Chat" if args.stream else "Echo", "messages": 0,
           "server": ""}
    t0 = time.monotonic()
    try:
        if args.stream:
            _call_chat(ch, args, i, md, rec)
        else:
            rec["messages"], rec["server"] = _call_echo(ch, args, i, md)
        code = grpc.StatusCode.OK
    except grpc.RpcError as e:
        code = e.code()
        rec["details"] = e.details()
    except (ValueError, StopIteration) as e:
        code = grpc.StatusCode.UNKNOWN
        rec["details"] = "client check: %s" % (e or "stream ended early")
    rec["code"] = code.name
    rec["code_num"] = code.value[0]
    rec["ms"] = round((time.monotonic() - t0) * 1000, 1)
    return rec


def run_client(args):
    md = []
    for h in args.header:
        k, sep, v = h.partition("=")
        if not sep or not k:
            print("grpcsvc: --header %r: want KEY=VALUE" % h, file=sys.stderr)
            return 2
        md.append((k.lower(), v))
    if args.channel_per_call and args.parallel > 1:
        print("grpcsvc: --channel-per-call and --parallel exclude each other", file=sys.stderr)
        return 2
    lock = threading.Lock()
    state = {"next": 0, "calls": 0, "ok": 0, "codes": {}}
    deadline = time.monotonic() + args.duration if args.duration else None
    ch = grpc.insecure_channel(args.target)

    def take():
        # The next call number, or None when the count or the duration is used up.
        with lock:
            if state["next"] >= args.calls:
                return None
            if deadline is not None and time.monotonic() >= deadline:
                return None
            state["next"] += 1
            return state["next"] - 1

    def caller():
        nonlocal ch
        while True:
            i = take()
            if i is None:
                return
            if args.channel_per_call:
                ch.close()
                ch = grpc.insecure_channel(args.target)
            if args.pause and i:
                time.sleep(args.pause)
            rec = _one_call(ch, args, i, md)
            with lock:
                state["calls"] += 1
                state["ok"] += rec["code"] == "OK"
                state["codes"][rec["code"]] = state["codes"].get(rec["code"], 0) + 1
                if not args.summary or rec["code"] != "OK":
                    print(json.dumps(rec, sort_keys=True), flush=True)

    threads = [threading.Thread(target=caller) for _ in range(args.parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ch.close()
    if args.summary:
        print(json.dumps({"calls": state["calls"], "ok": state["ok"],
                          "failed": state["calls"] - state["ok"], "codes": state["codes"]},
                         sort_keys=True), flush=True)
    return 0 if state["ok"] == state["calls"] else 1


def run_stats(args):
    with grpc.insecure_channel(args.target) as ch:
        fn = ch.unary_unary("/%s/Stats" % SERVICE, request_serializer=msg_encode,
                            response_deserializer=msg_decode)
        try:
            resp = fn({}, timeout=args.timeout)
        except grpc.RpcError as e:
            print(json.dumps({"code": e.code().name, "details": e.details()}))
            return 1
    print(resp["text"])
    return 0


def bounded(lo, hi, kind=int):
    def parse(s):
        try:
            v = kind(s)
        except ValueError:
            raise argparse.ArgumentTypeError("'%s' is not a number" % s)
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError("%s is not in %s-%s" % (s, lo, hi))
        return v
    return parse


def main(argv):
    p = argparse.ArgumentParser(prog="grpcsvc.py", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("server", help="serve weir.test.Echo until --lifetime")
    s.add_argument("--port", type=bounded(1, 65535), required=True)
    s.add_argument("--host", default="0.0.0.0")
    s.add_argument("--name", default=os.environ.get("POD_NAME") or socket.gethostname())
    s.add_argument("--fail-code", type=lambda v: status_code(bounded(1, 16)(v)))
    s.add_argument("--fail-first", type=bounded(0, MAX_CALLS))
    s.add_argument("--delay-ms", type=bounded(0, 600000), default=0)
    s.add_argument("--lifetime", type=bounded(1, 86400, float), default=3600)
    s.add_argument("--chat-buffered", action="store_true",
                   help="misbehave: echo a Chat only after its stream ended (checks the client)")
    c = sub.add_parser("client", help="make --calls calls, one JSON line each")
    c.add_argument("--target", required=True)
    c.add_argument("--calls", type=bounded(1, MAX_CALLS), default=1)
    c.add_argument("--stream", type=bounded(0, MAX_STREAM), default=0)
    c.add_argument("--timeout", type=bounded(0.01, 600, float), default=5.0)
    c.add_argument("--header", action="append", default=[], help="metadata KEY=VALUE")
    c.add_argument("--channel-per-call", action="store_true",
                   help="a new channel (HTTP/2 connection) for every call")
    c.add_argument("--text", default="hello")
    c.add_argument("--duration", type=bounded(0.1, 3600, float),
                   help="stop starting calls after this many seconds")
    c.add_argument("--parallel", type=bounded(1, 64), default=1,
                   help="callers at once on the one channel")
    c.add_argument("--pause", type=bounded(0, 60, float), default=0,
                   help="seconds between calls (the connection idles)")
    c.add_argument("--summary", action="store_true",
                   help="one JSON line at the end (and one per failed call)")
    t = sub.add_parser("stats", help="print the server's counters as JSON")
    t.add_argument("--target", required=True)
    t.add_argument("--timeout", type=bounded(0.01, 600, float), default=5.0)
    args = p.parse_args(argv)
    if args.mode == "server":
        if args.fail_first is not None and args.fail_code is None:
            p.error("--fail-first needs --fail-code")
        return serve(args)
    if args.mode == "client":
        return run_client(args)
    return run_stats(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
