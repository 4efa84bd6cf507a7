"""Shared plumbing of the per-family reference peers (Python 3 standard library only).

Each family peer is a small program modelled on one kind of classroom implementation described in
/work/shared/guides/classic-protocol.md ("Other implementations of the same assignment"). They
share the test-facing surface of test/interop/refpeer.py:

* ``--host`` (bind address, loopback only; default 127.0.0.1), ``--port`` (0 = let the OS pick),
  ``--name``, ``--advertise`` (IP written in headers, default --host), ``--timeout`` (seconds);
* commands on stdin, one per line (``send HOST:PORT text``, ``peers``, ``quit`` and the family's
  own), stdin closing = quit;
* events on stdout, one JSON object per line, flushed.

Events every peer prints:
  {"type":"listening","family":F,"host":H,"port":P,"address":"IP:PORT"}
  {"type":"message","family":F,"kind":K,"text":T,"remote":"IP:PORT", ...form fields}
  {"type":"rejected","family":F,"reason":R,"data":T,"remote":...}   input the program refuses
  {"type":"sent","family":F,"to":"HOST:PORT","text":T,"wire":W,"ok":bool,"error"?:E, ...}
  {"type":"answered","family":F,"remote":...,"text":A}              it wrote a reply on a socket
  {"type":"peers","peers":[...]}, {"type":"error","message":M}, {"type":"bye"}

Only loopback addresses are used: binding or connecting anywhere else is refused.
"""

import argparse
import ipaddress
import json
import socket
import sys
import threading
import time

out_lock = threading.Lock()

RECV_SIZE = 1024  # what the classroom programs read at once


def emit(event):
    with out_lock:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()


def accept_loop(server, handler):
    """Accepts until the listener is closed; each connection is handled on its own thread as
    handler(conn, addr, seq), seq counting the connections from 1."""
    seq = 0
    while True:
        try:
            conn, addr = server.accept()
        except OSError:
            return
        seq += 1
        threading.Thread(target=handler, args=(conn, addr, seq), daemon=True).start()


def read_chunks(sock, on_chunk, swallow_errors=False):
    """The read loop of a program that keeps a connection: on_chunk(data, n) for every
    recv(1024) (n from 1), until the other side closes. A socket error ends the loop quietly with
    swallow_errors, else it is raised."""
    n = 0
    while True:
        try:
            data = sock.recv(RECV_SIZE)
        except OSError:
            if swallow_errors:
                return
            raise
        if not data:
            return
        n += 1
        on_chunk(data, n)


def is_loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def split_target(target):
    """"HOST:PORT" -> (host, port); only loopback hosts."""
    host, _, port = target.strip().rpartition(":")
    if not is_loopback(host):
        raise ValueError("only loopback targets are allowed here, not %r" % host)
    return host, int(port)


def base_args(description, family):
    ap = argparse.ArgumentParser(description="%s reference peer (tests): %s" % (family, description))
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--name", default=family)
    ap.add_argument("--advertise", default=None, help="IP written in headers (default: --host)")
    ap.add_argument("--timeout", type=float, default=5.0, help="connect/send timeout, seconds")
    return ap


class Peer:
    """Listener + stdin command loop. Subclasses set `family` and implement `handle(conn, remote)`."""

    family = "?"

    def __init__(self, args):
        if not is_loopback(args.host):
            raise SystemExit("refusing to bind %r: reference peers listen on loopback only" % args.host)
        self.args = args
        self.name = args.name
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.bind((args.host, args.port))
        self.server.listen(5)  # as the classroom programs do
        self.port = self.server.getsockname()[1]
        self.ip = args.advertise or args.host
        self.address = "%s:%d" % (self.ip, self.port)
        self.peers_lock = threading.Lock()
        self.peers = {}  # address -> dict
        self.commands = {"peers": self.cmd_peers}

    # ----------------------------------------------------------------- events
    def emit(self, event):
        event = dict(event)
        event.setdefault("family", self.family)
        emit(event)

    def message(self, kind, text, remote, **fields):
        self.emit(dict({"type": "message", "kind": kind, "text": text, "remote": remote}, **fields))

    def rejected(self, reason, data, remote):
        if isinstance(data, bytes):
            data = data.decode("utf-8", "replace")
        self.emit({"type": "rejected", "reason": reason, "data": data, "remote": remote})

    def text_of(self, data, remote):
        """The bytes as text, or None after saying so: every classroom program decodes strictly."""
        try:
            return data.decode()
        except UnicodeDecodeError:
            self.rejected("not UTF-8", data, remote)
            return None

    def standard_of(self, data, remote):
        """(ip_port, name, msg) of a standard-form message, or None after saying why not."""
        message = self.text_of(data, remote)
        if message is None:
            return None
        parts = parse_standard(message)
        if not parts:
            self.rejected("malformed: expected IP:PORT NAME MESSAGE", message, remote)
        return parts

    def answer(self, conn, text, remote):
        """Writes a reply on the connection it came on (never fails the handler)."""
        try:
            conn.sendall(text.encode())
            self.emit({"type": "answered", "remote": remote, "text": text})
        except OSError as e:
            self.emit({"type": "answer_failed", "remote": remote, "text": text, "error": str(e)})

    # ----------------------------------------------------------------- sockets
    def connect(self, target):
        host, port = split_target(target)
        s = socket.create_connection((host, port), timeout=self.args.timeout)
        return s

    def one_shot(self, target, wire, text=None, wait_reply=0.0, quiet=False, **fields):
        """One connection, one sendall, then (optionally) read a reply for up to wait_reply s, close.
        Emits the "sent" event unless quiet (then the caller completes and emits it)."""
        event = dict({"type": "sent", "to": target, "text": text if text is not None else wire, "wire": wire}, **fields)
        try:
            s = self.connect(target)
            try:
                s.sendall(wire.encode())
                if wait_reply:
                    started = time.monotonic()
                    s.settimeout(wait_reply)
                    try:
                        reply = s.recv(1024)
                        event["reply"] = reply.decode("utf-8", "replace") if reply else None
                    except socket.timeout:
                        event["reply"] = None
                    event["waited_ms"] = int((time.monotonic() - started) * 1000)
            finally:
                s.close()
            event["ok"] = True
        except (OSError, ValueError) as e:
            event["ok"] = False
            event["error"] = str(e)
        if not quiet:
            self.emit(event)
        return event

    def serve(self):
        accept_loop(self.server, lambda conn, addr, _seq: self._handle(conn, "%s:%d" % (addr[0], addr[1])))

    def _handle(self, conn, remote):
        try:
            self.handle(conn, remote)
        except Exception as e:  # a handler error is reported, never kills the peer
            self.emit({"type": "handler_error", "remote": remote, "error": repr(e)})
        finally:
            try:
                conn.close()
            except OSError:
                pass

    # How the program reads an accepted connection (the connection is closed afterwards):
    #   "once":   ONE recv(1024) is the message; an empty read is a bare connect (on_bare_connect)
    #   "each":   every recv(1024) is one message, until the sender closes
    #   "custom": the family overrides handle(conn, remote) (line mode reads lines)
    reads = "custom"

    def handle(self, conn, remote):
        if self.reads == "once":
            data = conn.recv(RECV_SIZE)
            if not data:
                self.on_bare_connect(conn, remote)
                return
            self.on_data(conn, data, remote, 1)
        elif self.reads == "each":
            read_chunks(conn, lambda data, n: self.on_data(conn, data, remote, n))
        else:
            raise NotImplementedError

    def on_data(self, conn, data, remote, n):
        """One message as read (n: which recv() of the connection, from 1)."""
        raise NotImplementedError

    def on_bare_connect(self, conn, remote):
        """A connection closed without a byte (a liveness probe): most programs show nothing."""

    # ----------------------------------------------------------------- peers
    def learn(self, address, **info):
        with self.peers_lock:
            self.peers.setdefault(address, {}).update(info)

    def cmd_peers(self, _rest):
        with self.peers_lock:
            listing = [dict({"address": a}, **p) for a, p in self.peers.items()]
        self.emit({"type": "peers", "peers": listing})

    # ----------------------------------------------------------------- main loop
    def run(self):
        threading.Thread(target=self.serve, daemon=True).start()
        self.emit({"type": "listening", "host": self.args.host, "port": self.port, "address": self.address})
        for line in sys.stdin:
            line = line.rstrip("\r\n")
            cmd, _, rest = line.partition(" ")
            if cmd == "quit":
                break
            fn = self.commands.get(cmd)
            if fn is None:
                if cmd:
                    self.emit({"type": "error", "message": "unknown command: " + cmd})
                continue
            try:
                fn(rest)
            except (OSError, ValueError) as e:
                self.emit({"type": "error", "message": "%s: %s" % (cmd, e)})
        self.close()
        emit({"type": "bye"})

    def close(self):
        try:
            self.server.close()
        except OSError:
            pass


def send_args(rest):
    """"HOST:PORT text" -> (target, text)."""
    target, _, text = rest.partition(" ")
    return target, text


def parse_standard(message):
    """split(" ", 2) like the classroom receivers: (ip_port, name, msg) or None."""
    parts = message.split(" ", 2)
    if len(parts) < 3:
        return None
    return parts


def standard_kind(msg):
    if msg == "PING":
        return "ping"
    if msg.lower() == "exit":
        return "exit"
    if msg in ("Connected", "Hello, I am connecting!"):
        return "greeting"
    return "chat"
