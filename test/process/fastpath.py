"""test/process/fastpath.py SOCKET — a libpq fast-path client (PQfn, the protocol's
FunctionCall message), which reaches a function without the executor or utility hooks.
Commands on stdin, one per line:  sql USER SQL  |  fn USER OID ARG...  |  sleep SECONDS  |
touch FILE (made once every command before it is done: a test waits for it, not a guess)
(ARG: i:<int8>, t:<text>, null).  One connection per USER, kept open; prints OK/ERR lines."""
import ctypes, struct, sys, time

lib = ctypes.CDLL("libpq.so.5")
lib.PQconnectdb.restype = ctypes.c_void_p
lib.PQconnectdb.argtypes = [ctypes.c_char_p]
lib.PQstatus.argtypes = [ctypes.c_void_p]
lib.PQerrorMessage.restype = ctypes.c_char_p
lib.PQerrorMessage.argtypes = [ctypes.c_void_p]
lib.PQexec.restype = ctypes.c_void_p
lib.PQexec.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
lib.PQresultStatus.argtypes = [ctypes.c_void_p]
lib.PQresultErrorMessage.restype = ctypes.c_char_p
lib.PQresultErrorMessage.argtypes = [ctypes.c_void_p]


class Arg(ctypes.Structure):
    class U(ctypes.Union):
        _fields_ = [("ptr", ctypes.c_void_p), ("integer", ctypes.c_int)]
    _fields_ = [("len", ctypes.c_int), ("isint", ctypes.c_int), ("u", U)]


lib.PQfn.restype = ctypes.c_void_p
lib.PQfn.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(ctypes.c_int),
                     ctypes.c_int, ctypes.POINTER(Arg), ctypes.c_int]
sock = sys.argv[1]
conns = {}


def conn(user):
    if user not in conns:
        c = lib.PQconnectdb(("host=%s dbname=ledger user=%s" % (sock, user)).encode())
        if lib.PQstatus(c) != 0:
            print("ERR connect", lib.PQerrorMessage(c).decode(errors="replace").strip())
            return None
        conns[user] = c
    return conns[user]


def report(what, r, c):
    if lib.PQresultStatus(r) in (1, 2):
        print("OK", what)
    else:
        err = lib.PQresultErrorMessage(r) or lib.PQerrorMessage(c)
        print("ERR", what, err.decode(errors="replace").strip().replace("\n", " "))


for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    if words[0] == "sleep":
        time.sleep(float(words[1]))
        continue
    if words[0] == "touch":
        open(words[1], "w").close()
        continue
    c = conn(words[1])
    if c is None:
        continue
    if words[0] == "sql":
        report("sql", lib.PQexec(c, " ".join(words[2:]).encode()), c)
    elif words[0] == "fn":
        keep, args = [], (Arg * max(1, len(words) - 3))()
        for i, a in enumerate(words[3:]):
            if a == "null":
                args[i].len, args[i].isint, args[i].u.ptr = -1, 0, None
                continue
            b = struct.pack(">q", int(a[2:])) if a.startswith("i:") else a[2:].encode()
            buf = ctypes.create_string_buffer(b, len(b))
            keep.append(buf)
            args[i].len, args[i].isint, args[i].u.ptr = len(b), 0, ctypes.cast(buf, ctypes.c_void_p)
        out, outlen = ctypes.create_string_buffer(1024), ctypes.c_int(0)
        report("fn", lib.PQfn(c, int(words[2]), out, ctypes.byref(outlen), 0, args, len(words) - 3), c)
    sys.stdout.flush()
