#!/usr/bin/env python3
"""Pipe form: `LISTENING_PORT:P|TEAM_NAME:T|MSG`, one message per connection. Its receiver does one
recv(1024), splits on the first two `|` and rejects anything else.

What it needs from the other side: to be parsed (IP from the socket, port from the first field)
and answered in the pipe form.

Commands: send HOST:PORT text | peers | quit
Events (besides the common ones, see common.py):
  message: {..., "listening_port": P, "name": T}
"""
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the tests

from common import Peer, base_args, send_args, standard_kind


class Pipe(Peer):
    family = "pipe"

    def __init__(self, args):
        super().__init__(args)
        self.commands.update(send=self.cmd_send)

    reads = "once"

    def on_data(self, conn, data, remote, _n):
        message = self.text_of(data, remote)
        if message is None:
            return
        parts = message.split("|", 2)
        if len(parts) < 3 or not parts[0].startswith("LISTENING_PORT:") or not parts[1].startswith("TEAM_NAME:"):
            self.rejected("not LISTENING_PORT:P|TEAM_NAME:T|MSG", message, remote)
            return
        try:
            port = int(parts[0][len("LISTENING_PORT:"):])
        except ValueError:
            self.rejected("bad LISTENING_PORT", message, remote)
            return
        name = parts[1][len("TEAM_NAME:"):]
        msg = parts[2]
        kind = standard_kind(msg)
        self.message(kind, msg, remote, listening_port=port, name=name)
        if kind != "exit":
            self.learn("%s:%d" % (remote.rpartition(":")[0], port), name=name)

    def cmd_send(self, rest):
        target, text = send_args(rest)
        self.one_shot(target, "LISTENING_PORT:%d|TEAM_NAME:%s|%s" % (self.port, self.name, text), text=text)


def main():
    ap = base_args("LISTENING_PORT:P|TEAM_NAME:T|MSG", "pipe")
    Pipe(ap.parse_args()).run()


if __name__ == "__main__":
    main()
