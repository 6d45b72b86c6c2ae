"""test/process/pgwire.py — the few messages of PostgreSQL's wire protocol the test clients
(portal.py, bind_client.py) speak themselves, where libpq would hide what they test: a
connection over the cluster's Unix socket, messages out, messages in."""
import socket
import struct


class Wire:
    def __init__(self, socket_dir, user, database="ledger"):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(socket_dir + "/.s.PGSQL.5432")
        self.buf = b""
        startup = struct.pack("!i", 196608) + b"user\0" + user.encode() + b"\0database\0" + \
            database.encode() + b"\0\0"
        self.sock.sendall(struct.pack("!i", len(startup) + 4) + startup)

    def send(self, kind, body):
        self.sock.sendall(kind + struct.pack("!i", len(body) + 4) + body)

    def receive(self):
        while len(self.buf) < 5 or len(self.buf) < 1 + struct.unpack("!i", self.buf[1:5])[0]:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the server closed the connection")
            self.buf += chunk
        kind, length = self.buf[:1], struct.unpack("!i", self.buf[1:5])[0]
        body, self.buf = self.buf[5:1 + length], self.buf[1 + length:]
        return kind, body


def error_fields(body):
    return {chr(p[0]): p[1:].decode(errors="replace") for p in body.split(b"\0") if p}
