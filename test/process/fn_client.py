"""test/process/fn_client.py SOCKET_DIR USER DB FUNCTION_OID — calls a function without
arguments through the protocol's FunctionCall message (the fast path libpq's PQfn uses) and
prints its result (FunctionCallResponse) as it arrives, "ERR <SQLSTATE>" on an error, then
"READY"."""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pgwire import Wire, error_fields  # noqa: E402

wire = Wire(sys.argv[1], sys.argv[2], sys.argv[3])
while wire.receive()[0] != b"Z":
    pass
# FunctionCall: oid, no argument formats, no arguments, result in text
wire.send(b"F", struct.pack("!ihhh", int(sys.argv[4]), 0, 0, 0))
while True:
    kind, body = wire.receive()
    if kind == b"V":
        length = struct.unpack("!i", body[:4])[0]
        print(body[4:4 + length].decode(errors="replace") if length >= 0 else "NULL", flush=True)
    elif kind == b"E":
        print("ERR " + error_fields(body).get("C", "?"), flush=True)
    elif kind == b"Z":
        print("READY", flush=True)
        break
