#!/usr/bin/env python3
"""po/sql_messages.py — the message ids of the extension's PL/pgSQL and SQL functions.

A RAISE in a function of the extension formats its message in SQL, where gettext cannot
reach.  This script reads src/*/*.sql (the install script's parts) and writes
src/core/sql_messages.c: a table of every such message id, marked for the catalog
(xgettext reads it with the C sources, `make pot`), which core/nls.c matches against a
raised message to give it in the reader's language.

A message id is:
  - the format string of a RAISE (EXCEPTION, WARNING, NOTICE, INFO), '%' standing for a
    parameter and '%%' for a percent sign;
  - the string literal of a RAISE's HINT, DETAIL or MESSAGE option, or the first literal of a
    format(...) given there ('%s', '%L' and '%I' become '%');
  - the string literal of a comment line `-- msgid: '...'` (a text a helper builds, such as
    the hint ledger._duty_hint gives, written out beside it).

  po/sql_messages.py           write src/core/sql_messages.c
  po/sql_messages.py --check   exit 1 if src/core/sql_messages.c is not what it would write
"""
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "src", "core", "sql_messages.c")


def literal_at(s, i):
    """The SQL string literal starting at s[i] (a quote, or E and a quote): (value, end)."""
    escape = False
    if s[i] in "eE" and i + 1 < len(s) and s[i + 1] == "'":
        escape = True
        i += 1
    if s[i] != "'":
        return None, i
    i += 1
    out = []
    while i < len(s):
        c = s[i]
        if c == "'":
            if i + 1 < len(s) and s[i + 1] == "'":
                out.append("'")
                i += 2
                continue
            return "".join(out), i + 1
        if escape and c == "\\" and i + 1 < len(s):
            nxt = s[i + 1]
            out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return None, i


def skip_space(s, i):
    while i < len(s):
        if s[i].isspace():
            i += 1
        elif s.startswith("--", i):
            j = s.find("\n", i)
            i = len(s) if j < 0 else j + 1
        else:
            break
    return i


def from_format(value):
    """format()'s placeholders as the message's parameters."""
    return re.sub(r"%[sLI]", "%", value.replace("%%", "\0")).replace("\0", "%%")


def statement_end(s, i):
    """Index of the ';' ending the statement at i (quotes skipped)."""
    while i < len(s):
        if s[i] == "'":
            _, i = literal_at(s, i)
            continue
        if s[i] == ";":
            return i
        i += 1
    return i


def extract(text):
    ids = []
    for m in re.finditer(r"\bRAISE\s+(EXCEPTION|WARNING|NOTICE|INFO)\b", text):
        i = skip_space(text, m.end())
        end = statement_end(text, i)
        value, j = literal_at(text, i)
        if value is not None:
            ids.append(value)
        body = text[i:end]
        for opt in re.finditer(r"\b(HINT|DETAIL|MESSAGE)\s*=\s*", body):
            k = opt.end()
            lit, _ = literal_at(body, k)
            if lit is not None:
                ids.append(from_format(lit) if "%" in lit and "format" in body[:k] else lit)
                continue
            f = re.match(r"(pg_catalog\.)?format\s*\(\s*", body[k:])
            if f:
                lit, _ = literal_at(body, k + f.end())
                if lit is not None:
                    ids.append(from_format(lit))
    for m in re.finditer(r"--\s*msgid:\s*", text):
        lit, _ = literal_at(text, m.end())
        if lit is not None:
            ids.append(from_format(lit))
    return ids


def c_string(value):
    out = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return '"' + out + '"'


def render(ids):
    lines = [
        "/*",
        " * sql_messages.c — the message ids of the extension's SQL and PL/pgSQL functions.",
        " *",
        " * Written by po/sql_messages.py from the install script's parts: do not edit; run the script after changing",
        " * a RAISE (test/process/messages_ja.sh fails while this file is stale).  core/nls.c",
        " * matches a raised message against these ('%' a parameter, '%%' a percent sign).",
        " */",
        '#include "postgres.h"',
        "",
        '#include "core/mynumber_ledger.h"',
        "",
        "const char *const mnl_sql_messages[] = {",
    ]
    for v in ids:
        lines.append("\tmnl_sql_msgid(" + c_string(v) + "),")
    lines += ["};", "", "const int	mnl_sql_message_count = lengthof(mnl_sql_messages);", ""]
    return "\n".join(lines)


def main():
    seen = []
    for path in sorted(glob.glob(os.path.join(ROOT, "src", "*", "*.sql"))):
        if os.sep + "upgrade" + os.sep in path:
            continue
        with open(path, encoding="utf-8") as f:
            for v in extract(f.read()):
                if v.strip() and v not in seen:
                    seen.append(v)
    text = render(sorted(seen))
    if sys.argv[1:] == ["--check"]:
        try:
            with open(OUT, encoding="utf-8") as f:
                current = f.read()
        except FileNotFoundError:
            current = ""
        if current != text:
            print("src/core/sql_messages.c is stale: run po/sql_messages.py", file=sys.stderr)
            return 1
        return 0
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"{len(seen)} message ids", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
