#!/usr/bin/env python3
"""Ack-waiting sender: the standard form `IP:PORT NAME MSG`, then it waits up to 5 s on the same
socket for any reply; its own receiver answers `[ACK] Message received from PORT`.

What it needs from the other side: the message handled as soon as it has arrived (not when the
sender closes), and a short reply on the same socket.

Commands: send HOST:PORT text | ping HOST:PORT | peers | quit
Events (besides the common ones, see common.py):
  sent:    {..., "acked": bool, "reply": str|null, "waited_ms": n}  acked = any reply within --ack-wait
  message: {..., "from": "IP:PORT", "name": N}, then "answered" with its [ACK] line
"""
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the tests

from common import Peer, base_args, send_args, standard_kind


class AckWait(Peer):
    family = "ackwait"

    def __init__(self, args):
        super().__init__(args)
        self.commands.update(send=self.cmd_send, ping=self.cmd_ping)

    reads = "once"

    def on_data(self, conn, data, remote, _n):
        parts = self.standard_of(data, remote)
        if not parts:
            return
        ip_port, name, msg = parts
        kind = standard_kind(msg)
        self.message(kind, msg, remote, **{"from": ip_port, "name": name})
        if kind != "exit":
            self.learn(ip_port, name=name)
        self.answer(conn, "[ACK] Message received from %d" % self.port, remote)

    def send(self, target, text):
        ev = self.one_shot(target, "%s %s %s" % (self.address, self.name, text), text=text,
                           wait_reply=self.args.ack_wait, quiet=True)
        ev.setdefault("reply", None)
        ev["acked"] = bool(ev.get("reply"))
        self.emit(ev)

    def cmd_send(self, rest):
        target, text = send_args(rest)
        self.send(target, text)

    def cmd_ping(self, rest):
        self.send(rest.strip(), "PING")


def main():
    ap = base_args("standard form, waits for a reply on the same socket", "ackwait")
    ap.add_argument("--ack-wait", type=float, default=5.0, help="seconds to wait for a reply after sending")
    AckWait(ap.parse_args()).run()


if __name__ == "__main__":
    main()
