"""test/process/fetch_client.py SOCKET_DIR USER DB SQL MAX_ROWS — runs SQL through the extended
query protocol with a row limit on Execute, as a driver with a fetch size does (pgJDBC's
setFetchSize): Parse, Bind, Execute(MAX_ROWS), Flush.  Prints the first column of each row as
it arrives, then "SUSPENDED" when the server stops at the limit (the portal stays open)."""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pgwire import Wire, error_fields  # noqa: E402

wire = Wire(sys.argv[1], sys.argv[2], sys.argv[3])
while wire.receive()[0] != b"Z":
    pass
wire.send(b"Q", b"BEGIN\0")
while wire.receive()[0] != b"Z":
    pass
wire.send(b"P", b"\0" + sys.argv[4].encode() + b"\0" + struct.pack("!h", 0))
wire.send(b"B", b"\0\0" + struct.pack("!h", 0) + struct.pack("!h", 0) + struct.pack("!h", 0))
wire.send(b"E", b"\0" + struct.pack("!i", int(sys.argv[5])))
wire.send(b"H", b"")
while True:
    kind, body = wire.receive()
    if kind == b"D":
        length = struct.unpack("!i", body[2:6])[0]
        print(body[6:6 + length].decode(), flush=True)
    elif kind == b"E":
        print("ERR " + error_fields(body).get("C", "?"), flush=True)
        break
    elif kind in (b"s", b"C"):
        print("SUSPENDED" if kind == b"s" else "COMPLETE", flush=True)
        break
wire.send(b"S", b"")
