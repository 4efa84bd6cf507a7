#!/usr/bin/env python3
"""Line mode, persistent: the sender opens ONE connection per peer and keeps it; its first line is
its listening port, then `CONNECT`, then one `IP:PORT NAME MSG\\n` line per message. After every
line it blocks until it reads `Message received` (the real program has no timeout; this one gives
up after --ack-timeout and reports "hung": true). Its receiver expects the same: a first line that
is a port, and it answers every line with `Message received\\n`; the one-shot standard form (a first
line that is not a port) is rejected.

Commands: send HOST:PORT text | close HOST:PORT | peers | quit
Events (besides the common ones, see common.py):
  opened:  {"to", "lines": [...], "acks": [...], "ok"}            the opening of a new connection
  sent:    {..., "acked": bool, "reply": str|null, "hung": bool}
  line:    {"kind":"opening", "text": "5000"|"CONNECT", "remote"}  an opening line it received
  message: {..., "from": "IP:PORT", "name": N, "listen_port": P}
"""
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the tests

import re
import socket
import threading

from common import Peer, base_args, parse_standard, send_args, split_target, standard_kind

ACK = "Message received"
OPENING = re.compile(r"^(\d{1,5})( CONNECT)?$")


class LineMode(Peer):
    family = "linemode"

    def __init__(self, args):
        super().__init__(args)
        self.conns = {}  # target -> {"sock": socket, "buf": bytes}
        self.conns_lock = threading.Lock()
        self.commands.update(send=self.cmd_send, close=self.cmd_close)

    # ----------------------------------------------------------- receiving
    def handle(self, conn, remote):
        f = conn.makefile("rb")
        first = f.readline()
        if not first:
            return  # bare connect
        try:
            line = first.decode().rstrip("\r\n")
        except UnicodeDecodeError:
            self.rejected("not UTF-8", first, remote)
            return
        m = OPENING.match(line.strip())
        if not m:
            # The one-shot standard form: this program refuses it.
            self.rejected("expected the sender's port on the first line", line, remote)
            return
        listen_port = int(m.group(1))
        self.emit({"type": "line", "kind": "opening", "text": line, "remote": remote})
        self.answer(conn, ACK + "\n", remote)
        while True:
            raw = f.readline()
            if not raw:
                return
            try:
                text = raw.decode().rstrip("\r\n")
            except UnicodeDecodeError:
                self.rejected("not UTF-8", raw, remote)
                self.answer(conn, ACK + "\n", remote)
                continue
            if text == "CONNECT":
                self.emit({"type": "line", "kind": "opening", "text": text, "remote": remote})
            else:
                parts = parse_standard(text)
                if not parts:
                    self.rejected("malformed line: expected IP:PORT NAME MESSAGE", text, remote)
                else:
                    ip_port, name, msg = parts
                    kind = standard_kind(msg)
                    self.message(kind, msg, remote, **{"from": ip_port, "name": name, "listen_port": listen_port})
                    if kind != "exit":
                        self.learn(ip_port, name=name)
            self.answer(conn, ACK + "\n", remote)

    # ----------------------------------------------------------- sending
    def wait_ack(self, entry):
        """Reads until `Message received` arrives; returns (reply or None, hung)."""
        s = entry["sock"]
        s.settimeout(self.args.ack_timeout)
        while ACK.encode() not in entry["buf"]:
            try:
                chunk = s.recv(1024)
            except socket.timeout:
                return (entry["buf"].decode("utf-8", "replace") or None), True
            if not chunk:
                return (entry["buf"].decode("utf-8", "replace") or None), False
            entry["buf"] += chunk
        i = entry["buf"].index(ACK.encode()) + len(ACK)
        if entry["buf"][i:i + 1] == b"\n":
            i += 1
        reply, entry["buf"] = entry["buf"][:i], entry["buf"][i:]
        return reply.decode("utf-8", "replace"), False

    def open(self, target):
        host, port = split_target(target)
        s = socket.create_connection((host, port), timeout=self.args.timeout)
        entry = {"sock": s, "buf": b""}
        lines = ["%d CONNECT\n" % self.port] if self.args.opening == "one-line" else ["%d\n" % self.port, "CONNECT\n"]
        acks = []
        ok = True
        for line in lines:
            s.sendall(line.encode())
            reply, hung = self.wait_ack(entry)
            acks.append(reply)
            if reply is None or ACK not in reply:
                ok = False
                break
        self.emit({"type": "opened", "to": target, "lines": lines, "acks": acks, "ok": ok})
        if not ok:
            s.close()
            return None
        return entry

    def cmd_send(self, rest):
        target, text = send_args(rest)
        wire = "%s %s %s\n" % (self.address, self.name, text)
        ev = {"type": "sent", "to": target, "text": text, "wire": wire, "reply": None, "acked": False, "hung": False}
        try:
            with self.conns_lock:
                entry = self.conns.get(target)
                if entry is None:
                    entry = self.open(target)
                    if entry is None:
                        raise OSError("the peer did not acknowledge the opening lines")
                    self.conns[target] = entry
                entry["sock"].sendall(wire.encode())
                reply, hung = self.wait_ack(entry)
            ev.update(ok=True, reply=reply, acked=bool(reply and ACK in reply), hung=hung)
            if not ev["acked"]:
                self.drop(target)
        except (OSError, ValueError) as e:
            ev.update(ok=False, error=str(e))
            self.drop(target)
        self.emit(ev)

    def drop(self, target):
        with self.conns_lock:
            entry = self.conns.pop(target, None)
        if entry:
            try:
                entry["sock"].close()
            except OSError:
                pass

    def cmd_close(self, rest):
        self.drop(rest.strip())
        self.emit({"type": "closed", "to": rest.strip()})

    def close(self):
        for target in list(self.conns):
            self.drop(target)
        super().close()


def main():
    ap = base_args("persistent line-mode connection, every line acknowledged", "linemode")
    ap.add_argument("--ack-timeout", type=float, default=10.0,
                    help="seconds to wait for `Message received` (the real program waits for ever)")
    ap.add_argument("--opening", choices=("two-lines", "one-line"), default="two-lines",
                    help="`PORT\\n` then `CONNECT\\n` (default), or `PORT CONNECT\\n`")
    LineMode(ap.parse_args()).run()


if __name__ == "__main__":
    main()
