"""test/process/portal.py SOCKET_DIR USER — a client of the extended query protocol that keeps
a portal open across messages, as a driver fetching in pages does (libpq cannot: it always
executes a portal to the end).  Commands on stdin, one per line:
  begin          a transaction block (BEGIN), so that the portal outlives each message
  open SQL       Parse and Bind SQL into portal "p", Execute it for 2 rows
  exec N         Execute portal "p" for N more rows
  sql SQL        a simple Query (the named portal "p" survives it): "OK" or "ERR ..."
  setrole ROLE   set_config('role', ROLE, false) by a fast-path FunctionCall: "OK" or "ERR ..."
  sleep S
  touch FILE     made once every command before it is done (a test waits for it)
Prints "ROWS n", "SUSPENDED n" or "ERR <sqlstate> <message>" per command."""
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pgwire import Wire, error_fields  # noqa: E402

wire = Wire(sys.argv[1], sys.argv[2])
send, receive = wire.send, wire.receive


def error(body):
    fields = error_fields(body)
    return "ERR %s %s" % (fields.get("C", "?"), fields.get("M", ""))


def answer():
    """Up to ReadyForQuery: "OK", or the error."""
    said = "OK"
    while True:
        kind, body = receive()
        if kind == b"E":
            said = error(body)
        elif kind == b"Z":
            return said


def until(stops):
    rows = 0
    while True:
        kind, body = receive()
        if kind == b"D":
            rows += 1
        elif kind == b"E":
            return error(body)
        elif kind in stops:
            return "%s %d" % ("SUSPENDED" if kind == b"s" else "ROWS", rows)


while True:
    kind, body = receive()
    if kind == b"E":
        print(error(body))
        sys.exit(1)
    if kind == b"Z":
        break

for line in sys.stdin:
    words = line.split(None, 1)
    if not words:
        continue
    try:
        if words[0] == "sleep":
            time.sleep(float(words[1]))
        elif words[0] == "begin":
            send(b"Q", b"BEGIN\0")
            print(until([b"Z"]).replace("ROWS 0", "OK begin"))
        elif words[0] == "open":
            send(b"P", b"\0" + words[1].strip().encode() + b"\0" + struct.pack("!h", 0))
            send(b"B", b"p\0\0" + struct.pack("!hhh", 0, 0, 0))
            send(b"E", b"p\0" + struct.pack("!i", 2))
            send(b"H", b"")
            print(until([b"s", b"C"]))
        elif words[0] == "touch":
            open(words[1].strip(), "w").close()
        elif words[0] == "sql":
            send(b"Q", words[1].strip().encode() + b"\0")
            print(answer())
        elif words[0] == "setrole":
            args = [b"role", words[1].strip().encode(), b"false"]
            body = struct.pack("!ihh", 2078, 0, len(args))
            for a in args:
                body += struct.pack("!i", len(a)) + a
            send(b"F", body + struct.pack("!h", 0))
            print(answer())
        elif words[0] == "exec":
            send(b"E", b"p\0" + struct.pack("!i", int(words[1])))
            send(b"H", b"")
            print(until([b"s", b"C"]))
    except EOFError as e:
        print("ERR closed", e)
        break
    sys.stdout.flush()
