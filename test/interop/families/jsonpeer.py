#!/usr/bin/env python3
"""JSON form: `{"type":"message","content":"<IP:PORT> <TEAM> text","sender_name":…,"sender_port":…}`
written with json.dumps, where the address inside `content` is the RECIPIENT's (as the program
in the guide does). Its receiver does one recv(1024), json.loads it and rejects anything that is
not such an object.

What it needs from the other side: to be parsed (IP from the socket, port from sender_port) and
answered in JSON.

Commands: send HOST:PORT text | peers | quit
Events (besides the common ones, see common.py):
  message: {..., "msg_type": type, "content": content, "name": sender_name, "sender_port": P}
  rejected: {"reason": "not JSON" | "not a JSON message object", ...}
"""
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the tests

import json

from common import Peer, base_args, send_args, standard_kind


class JsonPeer(Peer):
    family = "json"

    def __init__(self, args):
        super().__init__(args)
        self.commands.update(send=self.cmd_send)

    reads = "once"

    def on_data(self, conn, data, remote, _n):
        try:
            obj = json.loads(data.decode())
        except (UnicodeDecodeError, ValueError):
            self.rejected("not JSON", data, remote)
            return
        if not isinstance(obj, dict) or not isinstance(obj.get("type"), str) or not isinstance(obj.get("content"), str):
            self.rejected("not a JSON message object", data, remote)
            return
        content = obj["content"]
        # "<IP:PORT> <TEAM> text": the text is what follows the second "> "
        text = content
        if content.startswith("<"):
            parts = content.split("> ", 2)
            if len(parts) == 3:
                text = parts[2]
        kind = standard_kind(text)
        self.message(kind, text, remote, msg_type=obj["type"], content=content,
                     name=obj.get("sender_name"), sender_port=obj.get("sender_port"))
        if kind != "exit" and isinstance(obj.get("sender_port"), int):
            self.learn("%s:%d" % (remote.rpartition(":")[0], obj["sender_port"]), name=obj.get("sender_name"))

    def cmd_send(self, rest):
        target, text = send_args(rest)
        wire = json.dumps({"type": "message", "content": "<%s> <%s> %s" % (target, self.name, text),
                           "sender_name": self.name, "sender_port": self.port})
        self.one_shot(target, wire, text=text)


def main():
    ap = base_args("JSON messages", "json")
    JsonPeer(ap.parse_args()).run()


if __name__ == "__main__":
    main()
