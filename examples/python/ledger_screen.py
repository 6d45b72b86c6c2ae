"""examples/python/ledger_screen.py — what a municipal 児童手当 screen does with the ledger, in
Python with psycopg 3 and psycopg_pool (Debian: python3-psycopg, python3-psycopg-pool).

Run:  python3 examples/python/ledger_screen.py
Connection from the environment (libpq's PGHOST, PGPORT, PGDATABASE, PGUSER: the pooled
application role, ledger_app in scripts/run.sh's sample; PGPASSWORD); the staff members from
MNL_CLERK and MNL_EXAMINER (clerk_1, examiner_1).

Every request is one transaction that names its staff member with
set_config('role', %s, true) — SET LOCAL ROLE, with the name as a parameter — so nothing of
one request's identity is left on the connection the pool hands to the next.  The pool's
reset hook (RESET ROLE) is there as well, for code that set a role some other way; the
extension refuses a pooled login's session-level SET ROLE in any case.
"""
import datetime
import os
import random
import sys
from contextlib import contextmanager

import psycopg
from psycopg_pool import ConnectionPool

MUNICIPALITY = "131016"  # 千代田区 in the sample
CLERK = os.environ.get("MNL_CLERK", "clerk_1")
EXAMINER = os.environ.get("MNL_EXAMINER", "examiner_1")

# What the screen says for an error, by SQLSTATE (the message never holds a number).
FOR_SCREEN = {
    "22P02": "個人番号に誤りがあります（検査用数字を確認してください）",
    "42501": "この操作の権限がありません",
    "23505": "この個人番号はすでに登録されています",
    "57P05": "一定時間操作がなかったため、再度ログインしてください",
}


def reset(conn):
    """The pool's reset hook: the connection goes back as the pooled role."""
    conn.execute("RESET ROLE")
    conn.commit()


pool = ConnectionPool("", min_size=1, max_size=2, reset=reset, open=True)


@contextmanager
def as_staff(staff):
    """One request: a pooled connection, one transaction, the staff member's identity for it."""
    with pool.connection() as conn:
        with conn.transaction():
            conn.execute("SELECT set_config('role', %s, true)", (staff,))
            yield conn


def one(conn, sql, params=()):
    return conn.execute(sql, params).fetchone()[0]


def check(ok, step):
    print(("ok " if ok else "FAILED ") + step)
    if not ok:
        sys.exit(1)


def full_width_with_spaces(digits):
    """1234 5678 9018 → full-width digits with an ideographic space, as typed at a counter."""
    w = "".join(chr(ord("０") + int(d)) for d in digits)
    return "\u3000".join(w[i:i + 4] for i in range(0, 12, 4))


base = "%011d" % (70000000000 + random.randrange(900000000))
with as_staff(CLERK) as conn:
    check_digit = one(conn, "SELECT ledger.mynumber_check_digit(%s)", (base,))
typed = full_width_with_spaces(base + str(check_digit))

# 受付: enrol a person, the number typed in full width with spaces
with as_staff(CLERK) as conn:
    person_id = one(conn, "SELECT ledger.enrol_person(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (MUNICIPALITY, 1, typed, "試験", "花子", "シケン", "ハナコ",
                     datetime.date(2019, 6, 1), "東京都千代田区麹町1-1"))
check(person_id > 0, "enrol_person with a full-width number")

# 検索: by number, a text parameter ($1::text as a driver may send it) and an untyped one
with as_staff(CLERK) as conn:
    found_text = one(conn, "SELECT ledger.find_person(%s::text, %s)", (typed, MUNICIPALITY))
    found = one(conn, "SELECT ledger.find_person(%s, %s)", (typed, MUNICIPALITY))
check(found_text == person_id and found == person_id, "find_person with a text and an untyped parameter")

# 一覧: the masked list, under the clerk's row-level security
with as_staff(CLERK) as conn:
    masked = one(conn, "SELECT mynumber_masked FROM ledger.person_masked WHERE municipality_code = %s AND person_id = %s",
                 (MUNICIPALITY, person_id))
check(len(masked) == 12 and masked.startswith("********") and base[:8] not in masked,
      "the masked list shows %s (ledger.mask_digits shows that many last digits)" % masked)

# 手当月額: one recipient's children, their amounts and reasons
with as_staff(CLERK) as conn:
    rows = conn.execute("SELECT birth_order, band, amount, reason FROM ledger.monthly_amount("
                        "%s, (SELECT min(recipient_id) FROM ledger.recipient), %s)",
                        (MUNICIPALITY, datetime.date(2026, 12, 1))).fetchall()
check(len(rows) >= 1, "monthly_amount lists %d child(ren) of a recipient" % len(rows))

# 番号の表示: the examiner, with a purpose (recorded before it answers)
with as_staff(EXAMINER) as conn:
    revealed = one(conn, "SELECT ledger.reveal_person_number(%s, %s, %s)", (MUNICIPALITY, person_id, "認定審査"))
check(len(revealed) == 12 and revealed.endswith(str(check_digit)), "reveal_person_number gives the 12 digits to the examiner")

# errors by SQLSTATE: a wrong check digit, a clerk asking to reveal
wrong = base + str((check_digit + 1) % 10)
try:
    with as_staff(CLERK) as conn:
        one(conn, "SELECT ledger.find_person(%s, %s)", (wrong, MUNICIPALITY))
    check(False, "a wrong check digit is refused")
except psycopg.Error as e:
    check(e.sqlstate == "22P02" and wrong not in str(e),
          "a wrong check digit: %s → %s" % (e.sqlstate, FOR_SCREEN.get(e.sqlstate)))
try:
    with as_staff(CLERK) as conn:
        one(conn, "SELECT ledger.reveal_person_number(%s, %s, %s)", (MUNICIPALITY, person_id, "確認"))
    check(False, "a clerk's reveal is refused")
except psycopg.Error as e:
    check(e.sqlstate == "42501", "a clerk's reveal: %s → %s" % (e.sqlstate, FOR_SCREEN.get(e.sqlstate)))

# between requests every pooled connection is the pooled role again
with pool.connection() as conn:
    who = one(conn, "SELECT current_user")
check(who == os.environ.get("PGUSER", "ledger_app"), "between requests the connection is " + who)
pool.close()
print("ledger_screen.py: every step passed")
