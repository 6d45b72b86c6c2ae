"""test/process/docs_sql.py SOCKET_DIR FILE... — runs every SQL example of the docs, as written.

An SQL example is a fenced ```sql block.  It runs statement by statement in one session of
the superuser (postgres) against a ledger like scripts/run.sh's, in the order the files give
them, so that one example may use what an earlier one made.  Inside a block:

  -- as ROLE ...            the following statements run as ROLE (SET ROLE); "-- as a
                            superuser" (or "as the superuser") goes back
  ...; -- ERROR ... (42501  a statement whose comment (on its line or the next) says ERROR
                            must fail, with that SQLSTATE when one is given; any other must
                            succeed

An HTML comment on the line before a block changes how it runs:

  <!-- docs-sql: skip REASON -->   not run (a placeholder path, a command for another server)
  <!-- docs-sql: as ROLE -->       the block runs as ROLE

Prints TAP: one line per block, "ok N - docs_sql_runs: FILE:LINE ..." or "not ok" with the
statement that did otherwise than the block says."""
import re
import sys

import psycopg

sock, files = sys.argv[1], sys.argv[2:]


def blocks(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```sql":
            directive = ""
            k = i - 1
            while k >= 0 and lines[k].strip() == "":
                k -= 1
            m = re.match(r"\s*<!--\s*docs-sql:\s*(.*?)\s*-->", lines[k]) if k >= 0 else None
            if m:
                directive = m.group(1)
            j = i + 1
            while not lines[j].strip().startswith("```"):
                j += 1
            yield i + 1, directive, lines[i + 1:j]
            i = j
        i += 1


def statements(block):
    """(statement, expected_error, sqlstate, role_switch) from the block's lines."""
    out = []
    buf = []
    role = None
    quote = None          # None, "'", '"' or a dollar tag
    for n, line in enumerate(block):
        stripped = line.strip()
        if quote is None and not buf:
            m = re.match(r"--\s*as\s+([a-z_][a-z0-9_]*)\b", stripped)
            if m:
                # "-- as tanaka": that role; "-- as a superuser", "-- as the administrator": back
                role = "" if m.group(1) in ("a", "an", "the") else m.group(1)
                out.append((None, False, None, role))
                continue
            if stripped.startswith("--") or stripped == "":
                # an ERROR comment on the line after a statement belongs to it
                if out and out[-1][0] is not None and re.match(r"--\s*ERROR", stripped):
                    st, _, _, r = out[-1]
                    code = re.search(r"\b(?=[0-9A-Z]*[0-9])([0-9A-Z]{5})\b", stripped)
                    out[-1] = (st, True, code.group(1) if code else None, r)
                continue
        # scan the line for the end of a statement, outside quotes and comments
        pos = 0
        text = line
        end_at = None
        while pos < len(text):
            c = text[pos]
            if quote is None:
                if text.startswith("--", pos):
                    break
                if c in ("'", '"'):
                    quote = c
                elif c == "$":
                    m = re.match(r"\$[A-Za-z_]*\$", text[pos:])
                    if m:
                        quote = m.group(0)
                        pos += len(quote)
                        continue
                elif c == ";":
                    end_at = pos
                    break
            elif quote in ("'", '"'):
                if c == quote:
                    quote = None
            elif text.startswith(quote, pos):
                pos += len(quote)
                quote = None
                continue
            pos += 1
        if end_at is None:
            buf.append(line)
            continue
        buf.append(text[:end_at + 1])
        comment = text[end_at + 1:]
        st = "\n".join(buf).strip()
        buf = []
        err = bool(re.search(r"--\s*ERROR", comment))
        code = re.search(r"\b(?=[0-9A-Z]*[0-9])([0-9A-Z]{5})\b", comment) if err else None
        out.append((st, err, code.group(1) if code else None, None))
    if "".join(buf).strip():
        out.append(("\n".join(buf).strip(), False, None, None))
    return out


conn = psycopg.connect(host=sock, port=5432, dbname="ledger", user="postgres", autocommit=True)
n = 0
failed = 0
for path in files:
    for line, directive, block in blocks(path):
        n += 1
        name = "docs_sql_runs: %s:%d" % (path.split("/")[-1] if "/" not in path else path, line)
        if directive.startswith("skip"):
            print("ok %d - %s # SKIP %s" % (n, name, directive[4:].strip(" :-") or "marked"))
            continue
        m = re.match(r"as\s+(\S+)", directive)
        conn.execute("RESET ROLE")
        if m:
            conn.execute("SET ROLE %s" % m.group(1))
        problem = None
        count = 0
        for st, expect_error, code, role in statements(block):
            if st is None:
                conn.execute("RESET ROLE")
                if role:
                    conn.execute("SET ROLE %s" % role)
                continue
            count += 1
            try:
                conn.execute(st)
                if expect_error:
                    problem = "succeeded, the doc says it fails: %s" % st
            except psycopg.Error as e:
                if not expect_error:
                    problem = "failed (%s %s): %s" % (e.sqlstate, str(e).split("\n")[0], st)
                elif code and e.sqlstate != code:
                    problem = "failed with %s, the doc says %s: %s" % (e.sqlstate, code, st)
                if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    conn.execute("ROLLBACK")
            if problem:
                break
        if problem:
            failed += 1
            print("not ok %d - %s" % (n, name))
            print("# " + problem.replace("\n", "\n# "))
        else:
            print("ok %d - %s (%d statements)" % (n, name, count))
conn.execute("RESET ROLE")
print("1..%d" % n)
sys.exit(1 if failed else 0)
