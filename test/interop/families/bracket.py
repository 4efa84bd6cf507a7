#!/usr/bin/env python3
"""Bracket forms: the header address in angle brackets, in one of three forms (--form):

  at     `<IP:PORT> @ <NAME>\\nMSG\\n<end>`
  dated  `<IP:PORT> [YYYY-mm-dd HH:MM:SS] @ <NAME>\\nMSG\\n`
  plain  `<IP:PORT> NAME MSG`

With --recipient-header it writes the RECIPIENT's address in the brackets, as some of these
programs do. Its receiver does one recv(1024) and displays only messages in its own form;
anything else (the standard form included) is rejected.

What it needs from the other side: to be parsed (IP from the socket) and answered in its own form.

Commands: send HOST:PORT text | ping HOST:PORT | peers | quit
Events (besides the common ones, see common.py):
  message: {..., "from": "IP:PORT" (the brackets), "name": N, "timestamp"?: T}
  rejected: {"reason": "not in this program's own bracket form", ...}
"""
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the tests

import re
import time

from common import Peer, base_args, send_args, standard_kind

FORMS = {
    "at": re.compile(r"^<(?P<addr>[^<>\s]+)> @ <(?P<name>[^<>]*)>\n(?P<msg>.*?)\n<end>\n?$", re.S),
    "dated": re.compile(r"^<(?P<addr>[^<>\s]+)> \[(?P<ts>[^\]\n]*)\] @ <(?P<name>[^<>]*)>\n(?P<msg>.*?)\n?$", re.S),
    "plain": re.compile(r"^<(?P<addr>[^<>\s]+)> (?P<name>\S+) (?P<msg>.*)$", re.S),
}


class Bracket(Peer):
    def __init__(self, args):
        super().__init__(args)
        self.family = "bracket-" + args.form
        self.form = FORMS[args.form]
        self.commands.update(send=self.cmd_send, ping=self.cmd_ping)

    def format(self, target, text):
        addr = target if self.args.recipient_header else self.address
        if self.args.form == "at":
            return "<%s> @ <%s>\n%s\n<end>" % (addr, self.name, text)
        if self.args.form == "dated":
            return "<%s> [%s] @ <%s>\n%s\n" % (addr, time.strftime("%Y-%m-%d %H:%M:%S"), self.name, text)
        return "<%s> %s %s" % (addr, self.name, text)

    reads = "once"

    def on_data(self, conn, data, remote, _n):
        message = self.text_of(data, remote)
        if message is None:
            return
        m = self.form.match(message)
        if not m:
            self.rejected("not in this program's own bracket form", message, remote)
            return
        fields = {"from": m.group("addr"), "name": m.group("name")}
        if "ts" in m.groupdict():
            fields["timestamp"] = m.group("ts")
        msg = m.group("msg")
        kind = standard_kind(msg)
        self.message(kind, msg, remote, **fields)
        if kind != "exit":
            self.learn(m.group("addr"), name=m.group("name"))

    def cmd_send(self, rest):
        target, text = send_args(rest)
        self.one_shot(target, self.format(target, text), text=text)

    def cmd_ping(self, rest):
        target = rest.strip()
        self.one_shot(target, self.format(target, "PING"), text="PING")


def main():
    ap = base_args("header address in angle brackets", "bracket")
    ap.add_argument("--form", choices=sorted(FORMS), default="at")
    ap.add_argument("--recipient-header", action="store_true",
                    help="write the recipient's address in the brackets instead of its own")
    Bracket(ap.parse_args()).run()


if __name__ == "__main__":
    main()
