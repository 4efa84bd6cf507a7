#!/usr/bin/env python3
"""`connect` dials back: `connect HOST:PORT` sends `IP:PORT NAME connect` one-shot (it closes at
once) and counts that peer as active only when the peer opens a NEW connection to it carrying
`IP:PORT NAME connect_ack`. It answers a `connect` it receives the same way: it dials back
`connect_ack` to the address in the header.

What it needs from the other side: a correct header address; a dial-back of `connect_ack` to a
`connect` whose sender closed at once.

Commands: connect HOST:PORT | send HOST:PORT text | peers | quit
Events (besides the common ones, see common.py):
  active:     {"address": "IP:PORT" (header of the connect_ack), "name", "remote"}
  dialed_back: {"to": "IP:PORT", "ok": bool, "error"?}  its own connect_ack after a connect
  message:    {..., "from", "name"}   (kind "connect" / "connect_ack" for the keywords)
  peers:      entries carry "active": bool
"""
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the tests

from common import Peer, base_args, send_args, standard_kind


class ConnectDial(Peer):
    family = "connectdial"

    def __init__(self, args):
        super().__init__(args)
        self.commands.update(connect=self.cmd_connect, send=self.cmd_send)

    def header(self):
        return "%s %s" % (self.address, self.name)

    reads = "once"

    def on_data(self, conn, data, remote, _n):
        parts = self.standard_of(data, remote)
        if not parts:
            return
        ip_port, name, msg = parts
        if msg == "connect_ack":
            self.message("connect_ack", msg, remote, **{"from": ip_port, "name": name})
            self.learn(ip_port, name=name, active=True)
            self.emit({"type": "active", "address": ip_port, "name": name, "remote": remote})
            return
        if msg == "connect":
            self.message("connect", msg, remote, **{"from": ip_port, "name": name})
            self.learn(ip_port, name=name, active=True)
            conn.close()
            ev = self.one_shot(ip_port, "%s connect_ack" % self.header(), quiet=True)
            self.emit({"type": "dialed_back", "to": ip_port, "ok": ev["ok"], **({"error": ev["error"]} if "error" in ev else {})})
            return
        kind = standard_kind(msg)
        self.message(kind, msg, remote, **{"from": ip_port, "name": name})
        if kind != "exit":
            self.learn(ip_port, name=name)

    def cmd_connect(self, rest):
        target = rest.strip()
        self.learn(target, active=False)
        self.one_shot(target, "%s connect" % self.header(), text="connect")

    def cmd_send(self, rest):
        target, text = send_args(rest)
        self.one_shot(target, "%s %s" % (self.header(), text), text=text)


def main():
    ap = base_args("`connect` one-shot, active only after a dial-back `connect_ack`", "connectdial")
    ConnectDial(ap.parse_args()).run()


if __name__ == "__main__":
    main()
