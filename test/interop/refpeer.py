#!/usr/bin/env python3
"""Reference classic peer for PeerChat's interoperability tests.

Modelled on the classroom peer-to-peer chat assignment as the students wrote it
(see /work/shared/guides/classic-protocol.md): Python 3 standard library only,
`socket` + `threading`, and the same wire behaviour as the fourteen "standard form"
implementations:

* the listener binds one address (here --host, normally 127.0.0.1) and calls listen(5);
* one thread per accepted connection does exactly ONE conn.recv(1024), then closes;
  nothing is ever written back; a longer or split message is simply cut;
* the buffer is decoded as UTF-8 and parsed with split(" ", 2) into IP:PORT, NAME, MESSAGE;
* "PING" (exact) is a liveness probe and is not shown;
* "exit" (any case, but otherwise exact: "exit\\n" is a chat message) removes the peer;
* "Connected" / "Hello, I am connecting!" are the greetings of "connect to peers";
* every other sender becomes a known peer, keyed by the IP:PORT of the header;
* to send: one connection per message, one send of "{myip}:{myport} {name} {text}", close.

Differences from a classroom program, all for testability and none visible on the wire:
the menu is replaced by commands read from stdin (one per line), output is one JSON
object per line on stdout (flushed), a decode error or malformed header is reported
instead of killing the handler thread, connects have a timeout, and --hold-ms can keep each
connection open a while after the recv (a slow handler) to show whether a sender overlaps them.

Commands (stdin):
  send HOST:PORT text      one chat message
  broadcast text           a chat message to every known peer
  connect [HOST:PORT]      greet ("Connected", or --greeting) that peer, or every known peer
  ping HOST:PORT           send PING (reports ok=false if the connect fails)
  prune                    PING every known peer, forget those that fail ("remove inactive peers")
  peers                    print the known peers
  exit                     send exit to every known peer, then quit
  quit                     quit without telling anyone (stdin closing does the same)

Events (stdout), one JSON object per line:
  {"type":"listening","host":H,"port":P,"address":"IP:PORT"}
  {"type":"message","kind":"chat|ping|exit|greeting","from":"IP:PORT","name":N,"text":T,
   "bytes":<len of the recv'd buffer>,"remote":"socket peer IP:PORT","seq":<accept order>,
   "concurrent":<most connections held at once while this one was: 1 for a one-at-a-time sender>}
  {"type":"decode_error","bytes":n,"hex":"...","remote":...,"seq":...}
  {"type":"malformed","text":T,"bytes":n,"remote":...,"seq":...}
  {"type":"sent","to":"HOST:PORT","text":T,"ok":bool,"error"?:str}
  {"type":"peers","peers":[{"address","name","connected"}...]}
  {"type":"bye"}
"""

import argparse
import os
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ beside the tests
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "families"))
from common import RECV_SIZE, accept_loop, emit  # noqa: E402  (the shared accept loop and output)

GREETINGS = ("Connected", "Hello, I am connecting!")

peers_lock = threading.Lock()
peers = {}  # "IP:PORT" -> {"name": str, "connected": bool}
active_lock = threading.Lock()
active = [0]  # handler threads holding a connection (to spot senders that overlap connections)
hold_seconds = [0.0]


def handle_client(conn, addr, seq):
    remote = "%s:%d" % (addr[0], addr[1])
    with active_lock:
        active[0] += 1
        concurrent = active[0]
    try:
        data = conn.recv(RECV_SIZE)
    except OSError as e:
        data = None
        emit({"type": "recv_error", "error": str(e), "remote": remote, "seq": seq})
    if hold_seconds[0]:
        time.sleep(hold_seconds[0])  # a handler that works a while before it closes
    with active_lock:
        concurrent = max(concurrent, active[0])
        active[0] -= 1
    conn.close()
    if data is None:
        return
    if not data:
        return  # liveness by bare connect: nothing to show
    try:
        message = data.decode()
    except UnicodeDecodeError:
        emit({"type": "decode_error", "bytes": len(data), "hex": data.hex(),
              "remote": remote, "seq": seq})
        return
    parts = message.split(" ", 2)
    if len(parts) < 3:
        emit({"type": "malformed", "text": message, "bytes": len(data),
              "remote": remote, "seq": seq})
        return
    ip_port, name, msg = parts
    base = {"type": "message", "from": ip_port, "name": name, "text": msg,
            "bytes": len(data), "remote": remote, "seq": seq, "concurrent": concurrent}
    if msg == "PING":
        emit(dict(base, kind="ping"))  # the classroom program shows nothing
        return
    if msg.lower() == "exit":
        with peers_lock:
            peers.pop(ip_port, None)
        emit(dict(base, kind="exit"))
        return
    with peers_lock:
        entry = peers.setdefault(ip_port, {"name": name, "connected": False})
        entry["name"] = name
        if msg in GREETINGS:
            entry["connected"] = True
    emit(dict(base, kind="greeting" if msg in GREETINGS else "chat"))


def serve(server):
    accept_loop(server, handle_client)


def split_addr(target):
    host, _, port = target.rpartition(":")
    return host, int(port)


def send_message(me, target, text, timeout):
    """One connection, one send of "IP:PORT NAME text" (me is "IP:PORT NAME"), close."""
    event = {"type": "sent", "to": target, "text": text}
    try:
        host, port = split_addr(target)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect((host, port))
            s.sendall(("%s %s" % (me, text)).encode())
        finally:
            s.close()
        event["ok"] = True
    except (OSError, ValueError) as e:
        event["ok"] = False
        event["error"] = str(e)
    emit(event)
    return event["ok"]


def known():
    with peers_lock:
        return list(peers.keys())


def main():
    ap = argparse.ArgumentParser(description="classic reference peer (tests)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--name", default="refpeer")
    ap.add_argument("--advertise", default=None, help="IP written in headers (default: --host)")
    ap.add_argument("--greeting", default="Connected", choices=GREETINGS)
    ap.add_argument("--timeout", type=float, default=5.0, help="connect/send timeout, seconds")
    ap.add_argument("--hold-ms", type=int, default=0,
                    help="keep each accepted connection this long after the recv before closing")
    args = ap.parse_args()
    hold_seconds[0] = args.hold_ms / 1000.0

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind((args.host, args.port))
    server.listen(5)
    port = server.getsockname()[1]
    me = "%s:%d %s" % (args.advertise or args.host, port, args.name)  # header: IP:PORT NAME
    threading.Thread(target=serve, args=(server,), daemon=True).start()
    emit({"type": "listening", "host": args.host, "port": port,
          "address": "%s:%d" % (args.advertise or args.host, port)})

    for line in sys.stdin:
        line = line.rstrip("\r\n")
        cmd, _, rest = line.partition(" ")
        if cmd == "send":
            target, _, text = rest.partition(" ")
            send_message(me, target, text, args.timeout)
        elif cmd == "broadcast":
            for target in known():
                send_message(me, target, rest, args.timeout)
        elif cmd == "connect":
            targets = [rest.strip()] if rest.strip() else known()
            for target in targets:
                if send_message(me, target, args.greeting, args.timeout):
                    with peers_lock:
                        peers.setdefault(target, {"name": "", "connected": False})["connected"] = True
        elif cmd == "ping":
            send_message(me, rest.strip(), "PING", args.timeout)
        elif cmd == "prune":
            for target in known():
                if not send_message(me, target, "PING", args.timeout):
                    with peers_lock:
                        peers.pop(target, None)
        elif cmd == "peers":
            with peers_lock:
                listing = [{"address": a, "name": p["name"], "connected": p["connected"]}
                           for a, p in peers.items()]
            emit({"type": "peers", "peers": listing})
        elif cmd == "exit":
            for target in known():
                send_message(me, target, "exit", args.timeout)
            break
        elif cmd == "quit":
            break
        elif cmd:
            emit({"type": "error", "message": "unknown command: " + cmd})
    server.close()
    emit({"type": "bye"})


if __name__ == "__main__":
    main()
