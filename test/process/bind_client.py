"""test/process/bind_client.py SOCKET_DIR USER DB SQL PARAM... — runs SQL once through the
extended query protocol (Parse, Bind with the text parameters given, Execute, Sync), as a
driver does, so that the server logs the parameters (log_parameter_max_length) or names them
in an error's CONTEXT (log_parameter_max_length_on_error).  Prints "OK n" or "ERR <sqlstate>"."""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pgwire import Wire, error_fields  # noqa: E402

wire = Wire(sys.argv[1], sys.argv[2], sys.argv[3])


def until_ready():
    result, rows = None, 0
    while True:
        kind, body = wire.receive()
        if kind == b"D":
            rows += 1
        elif kind == b"E":
            result = "ERR " + error_fields(body).get("C", "?")
        elif kind == b"Z":
            return result or "OK %d" % rows


while wire.receive()[0] != b"Z":
    pass
params = [p.encode() for p in sys.argv[5:]]
wire.send(b"P", b"\0" + sys.argv[4].encode() + b"\0" + struct.pack("!h", 0))
wire.send(b"B", b"\0\0" + struct.pack("!h", 0) + struct.pack("!h", len(params)) +
          b"".join(struct.pack("!i", len(p)) + p for p in params) + struct.pack("!h", 0))
wire.send(b"E", b"\0" + struct.pack("!i", 0))
wire.send(b"S", b"")
print(until_ready())
