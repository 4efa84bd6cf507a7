#!/usr/bin/env python3
"""`connect` keeps the socket: `connect HOST:PORT` sends `IP:PORT NAME connect` and waits 5 s for a
reply whose third token is `connected`; then it KEEPS that socket and writes every later message
to that peer on it, `IP:PORT NAME MSG` with no delimiter between messages. Its receiver reads a
connection until it closes, each recv() being one message, and answers `connect` with
`IP:PORT NAME connected` on the same socket.

What it needs from the other side: the reply `IP:PORT NAME connected` on the same socket, and a
reader that keeps reading and splits what arrives later by the gaps between writes.

Commands: connect HOST:PORT | send HOST:PORT text | close HOST:PORT | peers | quit
Events (besides the common ones, see common.py):
  connect_result: {"to", "reply": str|null, "ok": bool}   ok = third token of the reply is `connected`
  sent:           {..., "via": "kept"|"one-shot"}
  kept_data:      {"to", "text"}   anything the peer writes back on a kept socket
  message:        {..., "from", "name", "recv": n (which recv() of the connection)}
"""
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the tests

import socket
import threading

from common import Peer, base_args, read_chunks, send_args, standard_kind


class ConnectKeep(Peer):
    family = "connectkeep"

    def __init__(self, args):
        super().__init__(args)
        self.kept = {}
        self.kept_lock = threading.Lock()
        self.commands.update(connect=self.cmd_connect, send=self.cmd_send, close=self.cmd_close)

    def header(self):
        return "%s %s" % (self.address, self.name)

    reads = "each"

    def on_data(self, conn, data, remote, n):
        parts = self.standard_of(data, remote)
        if not parts:
            return
        ip_port, name, msg = parts
        if msg == "connect":
            self.message("connect", msg, remote, **{"from": ip_port, "name": name, "recv": n})
            self.learn(ip_port, name=name, connected=True)
            self.answer(conn, "%s connected" % self.header(), remote)
            return
        kind = standard_kind(msg)
        self.message(kind, msg, remote, **{"from": ip_port, "name": name, "recv": n})
        if kind != "exit":
            self.learn(ip_port, name=name)

    def read_kept(self, target, s):
        read_chunks(s, lambda data, _n: self.emit({"type": "kept_data", "to": target, "text": data.decode("utf-8", "replace")}),
                    swallow_errors=True)

    def cmd_connect(self, rest):
        target = rest.strip()
        ev = {"type": "connect_result", "to": target, "reply": None, "ok": False}
        try:
            s = self.connect(target)
            s.sendall(("%s connect" % self.header()).encode())
            s.settimeout(5.0)
            try:
                reply = s.recv(1024).decode("utf-8", "replace")
            except socket.timeout:
                reply = ""
            ev["reply"] = reply or None
            tokens = reply.split(" ")
            if len(tokens) >= 3 and tokens[2] == "connected":
                ev["ok"] = True
                s.settimeout(None)
                with self.kept_lock:
                    self.kept[target] = s
                self.learn(target, connected=True)
                threading.Thread(target=self.read_kept, args=(target, s), daemon=True).start()
            else:
                s.close()
        except (OSError, ValueError) as e:
            ev["error"] = str(e)
        self.emit(ev)

    def cmd_send(self, rest):
        target, text = send_args(rest)
        wire = "%s %s" % (self.header(), text)
        with self.kept_lock:
            s = self.kept.get(target)
        if s is None:
            self.one_shot(target, wire, text=text, via="one-shot")
            return
        ev = {"type": "sent", "to": target, "text": text, "wire": wire, "via": "kept"}
        try:
            s.sendall(wire.encode())
            ev["ok"] = True
        except OSError as e:
            ev.update(ok=False, error=str(e))
            self.drop(target)
        self.emit(ev)

    def drop(self, target):
        with self.kept_lock:
            s = self.kept.pop(target, None)
        if s is not None:
            try:
                s.close()
            except OSError:
                pass

    def cmd_close(self, rest):
        self.drop(rest.strip())
        self.emit({"type": "closed", "to": rest.strip()})

    def close(self):
        for target in list(self.kept):
            self.drop(target)
        super().close()


def main():
    ap = base_args("`connect` keeps the socket and writes later messages on it", "connectkeep")
    ConnectKeep(ap.parse_args()).run()


if __name__ == "__main__":
    main()
