"""test/process/bind_client.py SOCKET_DIR USER DB SQL PARAM... — runs SQL once through the
extended query protocol (Parse, Bind with the text parameters given, Execute, Sync), as a
driver does, so that the server logs the parameters (log_parameter_max_length) or names them
in an error's CONTEXT (log_parameter_max_length_on_error).  Prints "OK n" or "ERR <sqlstate>"."""
import socket
import struct
import sys

sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect(sys.argv[1] + "/.s.PGSQL.5432")
buf = b""


def send(kind, body):
    sock.sendall(kind + struct.pack("!i", len(body) + 4) + body)


def receive():
    global buf
    while len(buf) < 5 or len(buf) < 1 + struct.unpack("!i", buf[1:5])[0]:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("the server closed the connection")
        buf += chunk
    kind, length = buf[:1], struct.unpack("!i", buf[1:5])[0]
    body, buf = buf[5:1 + length], buf[1 + length:]
    return kind, body


def until_ready():
    result, rows = None, 0
    while True:
        kind, body = receive()
        if kind == b"D":
            rows += 1
        elif kind == b"E":
            fields = {chr(p[0]): p[1:].decode(errors="replace") for p in body.split(b"\0") if p}
            result = "ERR " + fields.get("C", "?")
        elif kind == b"Z":
            return result or "OK %d" % rows


startup = struct.pack("!i", 196608) + b"user\0" + sys.argv[2].encode() + b"\0database\0" + \
    sys.argv[3].encode() + b"\0\0"
sock.sendall(struct.pack("!i", len(startup) + 4) + startup)
while receive()[0] != b"Z":
    pass
params = [p.encode() for p in sys.argv[5:]]
send(b"P", b"\0" + sys.argv[4].encode() + b"\0" + struct.pack("!h", 0))
send(b"B", b"\0\0" + struct.pack("!h", 0) + struct.pack("!h", len(params)) +
     b"".join(struct.pack("!i", len(p)) + p for p in params) + struct.pack("!h", 0))
send(b"E", b"\0" + struct.pack("!i", 0))
send(b"S", b"")
print(until_ready())
