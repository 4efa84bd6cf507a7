#!/usr/bin/env python3
"""Headerless: no address in the message. It writes `Team : msg` (--form team) or bare text
(--form bare); with --announce it first tells a new peer its listening port with `CONNECT:PORT`
(its own connection); with --keep it keeps one socket per peer open, writes every message on it
and shows whatever comes back on it (sockets reused both ways). Its receiver reads a connection
until it closes, each recv() one message, and displays everything it gets.

What it needs from the other side: the address taken from the socket; `CONNECT:PORT` read as the
listening port; what it writes on a kept socket split by the gaps between writes.

Commands: send HOST:PORT text | close HOST:PORT | peers | quit
Events (besides the common ones, see common.py):
  message:   {..., "kind": "chat"|"exit"|"ping"|"connect_port", "name"?: Team, "port"?: P}
  announced: {"to", "ok"}       its CONNECT:PORT
  kept_data: {"to", "text"}     anything written back on a kept socket
  sent:      {..., "via": "kept"|"one-shot"}
"""
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the tests

import re
import threading

from common import Peer, base_args, read_chunks, send_args, standard_kind

TEAM = re.compile(r"^([^\s:]+) : (.*)$", re.S)
CONNECT_PORT = re.compile(r"^CONNECT:(\d{1,5})\s*$")


class Headerless(Peer):
    family = "headerless"

    def __init__(self, args):
        super().__init__(args)
        self.kept = {}
        self.kept_lock = threading.Lock()
        self.announced = set()
        self.commands.update(send=self.cmd_send, close=self.cmd_close)

    reads = "each"

    def on_data(self, conn, data, remote, _n):
        message = self.text_of(data, remote)
        if message is None:
            return
        c = CONNECT_PORT.match(message)
        if c:
            self.message("connect_port", message.strip(), remote, port=int(c.group(1)))
            self.learn("%s:%s" % (remote.rpartition(":")[0], c.group(1)))
            return
        t = TEAM.match(message)
        fields = {"name": t.group(1)} if t else {}
        msg = t.group(2) if t else message
        self.message(standard_kind(msg.strip()), msg, remote, **fields)

    def format(self, text):
        return "%s : %s" % (self.name, text) if self.args.form == "team" else text

    def read_kept(self, target, s):
        read_chunks(s, lambda data, _n: self.emit({"type": "kept_data", "to": target, "text": data.decode("utf-8", "replace")}),
                    swallow_errors=True)

    def cmd_send(self, rest):
        target, text = send_args(rest)
        if self.args.announce and target not in self.announced:
            ev = self.one_shot(target, "CONNECT:%d" % self.port, quiet=True)
            self.announced.add(target)
            self.emit({"type": "announced", "to": target, "ok": ev["ok"]})
        wire = self.format(text)
        if not self.args.keep:
            self.one_shot(target, wire, text=text, via="one-shot")
            return
        ev = {"type": "sent", "to": target, "text": text, "wire": wire, "via": "kept"}
        try:
            with self.kept_lock:
                s = self.kept.get(target)
                if s is None:
                    s = self.connect(target)
                    s.settimeout(None)
                    self.kept[target] = s
                    threading.Thread(target=self.read_kept, args=(target, s), daemon=True).start()
            s.sendall(wire.encode())
            ev["ok"] = True
        except (OSError, ValueError) as e:
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
    ap = base_args("no header: `Team : msg`, `CONNECT:PORT` or bare text", "headerless")
    ap.add_argument("--form", choices=("team", "bare"), default="team")
    ap.add_argument("--announce", action="store_true", help="send CONNECT:PORT to a peer before the first message")
    ap.add_argument("--keep", action="store_true", help="keep one socket per peer and reuse it both ways")
    Headerless(ap.parse_args()).run()


if __name__ == "__main__":
    main()
