"""test/process/copy_client.py SOCKET_DIR USER DB SQL — runs a COPY ... TO STDOUT through the
simple query protocol and prints the start of each row (CopyData) as it arrives, as a client
that streams a COPY does (psql buffers its output); "ERR <SQLSTATE>" on an error, "COMPLETE"
at the end."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pgwire import Wire, error_fields  # noqa: E402

wire = Wire(sys.argv[1], sys.argv[2], sys.argv[3])
while wire.receive()[0] != b"Z":
    pass
wire.send(b"Q", sys.argv[4].encode() + b"\0")
while True:
    kind, body = wire.receive()
    if kind == b"d":
        print(body[:40].decode(errors="replace"), flush=True)
    elif kind == b"E":
        print("ERR " + error_fields(body).get("C", "?"), flush=True)
    elif kind == b"C":
        print("COMPLETE", flush=True)
    elif kind == b"Z":
        break
