#!/usr/bin/env python3
"""Request/answer handshakes, and liveness by bare connect. It sends (and answers):

  `IP:PORT CONNECT_REQUEST` (two tokens) -> `CONNECTED`
  `Connection Request`                   -> `Connection Acknowledged`
  `DISCONNECT`                           -> `DISCONNECT_ACK`

and probes a peer by connecting and closing without a byte. Chat is the standard form, one-shot.
Like some classroom receivers it acts on SUBSTRINGS of a chat text: one containing `DISCONNECT`
or `GROUP` is dropped, one containing `CONNECT_REQUEST` stops to prompt its user.

What it needs from the other side: the answers; a bare connect taken as no message and no error.

Commands: request HOST:PORT | connection HOST:PORT | disconnect HOST:PORT | probe HOST:PORT
          send HOST:PORT text | peers | quit
Events (besides the common ones, see common.py):
  handshake: {"to", "request", "expected", "reply": str|null, "ok": reply == expected}
  probed:    {"to", "ok"}
  message:   {..., "kind": "connect_request"|"connection_request"|"disconnect"|chat kinds}
  dropped:   {"reason": "contains DISCONNECT"|"contains GROUP", "text", "remote"}
  prompt:    {"text", "remote"}    a chat containing CONNECT_REQUEST
"""
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the tests

import re

from common import Peer, base_args, parse_standard, send_args, standard_kind

REQUEST = re.compile(r"^(\S+:\d{1,5}) CONNECT_REQUEST$")


class Handshake(Peer):
    family = "handshake"

    def __init__(self, args):
        super().__init__(args)
        self.commands.update(request=self.cmd_request, connection=self.cmd_connection,
                             disconnect=self.cmd_disconnect, probe=self.cmd_probe, send=self.cmd_send)

    reads = "once"

    def on_bare_connect(self, conn, remote):
        self.emit({"type": "bare_connect", "remote": remote})

    def on_data(self, conn, data, remote, _n):
        message = self.text_of(data, remote)
        if message is None:
            return
        m = REQUEST.match(message)
        if m:
            self.message("connect_request", message, remote, **{"from": m.group(1)})
            self.learn(m.group(1), connected=True)
            self.answer(conn, "CONNECTED", remote)
            return
        if message == "Connection Request":
            self.message("connection_request", message, remote)
            self.answer(conn, "Connection Acknowledged", remote)
            return
        if message == "DISCONNECT":
            self.message("disconnect", message, remote)
            self.answer(conn, "DISCONNECT_ACK", remote)
            return
        parts = parse_standard(message)
        if not parts:
            self.rejected("malformed: expected IP:PORT NAME MESSAGE", message, remote)
            return
        ip_port, name, msg = parts
        for word in ("DISCONNECT", "GROUP"):
            if word in msg:
                self.emit({"type": "dropped", "reason": "contains " + word, "text": msg, "remote": remote})
                return
        if "CONNECT_REQUEST" in msg:
            self.emit({"type": "prompt", "text": msg, "remote": remote})
        kind = standard_kind(msg)
        self.message(kind, msg, remote, **{"from": ip_port, "name": name})
        if kind != "exit":
            self.learn(ip_port, name=name)

    def handshake(self, target, request, expected):
        ev = self.one_shot(target.strip(), request, wait_reply=self.args.timeout, quiet=True)
        self.emit({"type": "handshake", "to": target.strip(), "request": request, "expected": expected,
                   "reply": ev.get("reply"), "ok": ev.get("reply") == expected,
                   **({"error": ev["error"]} if "error" in ev else {})})

    def cmd_request(self, rest):
        self.handshake(rest, "%s CONNECT_REQUEST" % self.address, "CONNECTED")

    def cmd_connection(self, rest):
        self.handshake(rest, "Connection Request", "Connection Acknowledged")

    def cmd_disconnect(self, rest):
        self.handshake(rest, "DISCONNECT", "DISCONNECT_ACK")

    def cmd_probe(self, rest):
        target = rest.strip()
        try:
            s = self.connect(target)
            s.close()
            ok = True
        except (OSError, ValueError):
            ok = False
        self.emit({"type": "probed", "to": target, "ok": ok})

    def cmd_send(self, rest):
        target, text = send_args(rest)
        self.one_shot(target, "%s %s %s" % (self.address, self.name, text), text=text)


def main():
    ap = base_args("request/answer handshakes and bare-connect probes", "handshake")
    Handshake(ap.parse_args()).run()


if __name__ == "__main__":
    main()
