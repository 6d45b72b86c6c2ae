"""test/process/pgbouncer_clients.py SOCKET_DIR PORT POOL_ROLE STAFF_A STAFF_B — two clients of one
PgBouncer (transaction mode, one server connection), taking turns, as the pooled role.  Prints
one line per step: "<step> <result>", where the result is the rows (joined by ",") or
"ERR <sqlstate>"."""
import sys

import psycopg

sock, port, pool_role, staff_a, staff_b = sys.argv[1:6]


def connect():
    # prepare_threshold=None: PgBouncer before 1.21 keeps no prepared statement across transactions
    return psycopg.connect(host=sock, port=port, dbname="ledger", user=pool_role,
                           autocommit=True, prepare_threshold=None)


a, b = connect(), connect()


def step(name, conn, *sqls):
    try:
        rows = None
        for sql, params in sqls:
            cur = conn.execute(sql, params)
            if cur.description is not None:
                rows = cur.fetchall()
        print(name, ",".join(str(r[0]) for r in rows or []))
    except psycopg.Error as e:
        print(name, "ERR", e.sqlstate)
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.execute("ROLLBACK")
    sys.stdout.flush()


def request(name, conn, staff, sql):
    step(name, conn, ("BEGIN", None), ("SELECT set_config('role', %s, true)", (staff,)), (sql, None), ("COMMIT", None))


count = "SELECT count(*) FROM ledger.person"
request("a_request", a, staff_a, count)
step("b_after_a", b, ("SELECT current_user", None))
step("b_set_local_role", b, ("BEGIN", None), ("SET LOCAL ROLE " + staff_b, None), (count, None), ("COMMIT", None))
step("a_after_b", a, ("SELECT current_user", None))
step("a_session_set_role", a, ("SET ROLE " + staff_a, None))
step("b_after_session_set_role", b, ("SELECT current_user", None))
step("a_set_config_session", a, ("SELECT set_config('role', %s, false)", (staff_a,)))
step("b_after_set_config_session", b, ("SELECT current_user", None))
step("a_set_config_session_in_block", a, ("BEGIN", None), ("SELECT set_config('role', %s, false)", (staff_a,)),
     ("SELECT count(*) FROM ledger.person", None), ("COMMIT", None))
step("b_reset_role", b, ("RESET ROLE", None), ("SELECT current_user", None))
request("b_request", b, staff_b, count)
# a session setting as a carrier: rows read as A, left for the next client
step("a_setting_carrier", a, ("BEGIN", None), ("SELECT set_config('role', %s, true)", (staff_a,)),
     ("SELECT set_config('x.carry', (SELECT string_agg(given_name, ',') FROM ledger.person), false)", None),
     ("COMMIT", None))
step("b_after_setting_carrier", b, ("SELECT coalesce(nullif(current_setting('x.carry', true), ''), '(none)')", None))
# the session's other state as a carrier, after a read as A
for name, sql in [("hold_cursor", "DECLARE carry_c CURSOR WITH HOLD FOR SELECT 1"),
                  ("prepare", "PREPARE carry_p AS SELECT 1"),
                  ("listen", "LISTEN carry_l"),
                  ("temp_table", "CREATE TEMP TABLE carry_t AS SELECT 1 AS v"),
                  ("temp_function", "CREATE FUNCTION pg_temp.carry_f() RETURNS int LANGUAGE sql AS 'SELECT 1'")]:
    step("a_state_" + name, a, ("BEGIN", None), ("SELECT set_config('role', %s, true)", (staff_a,)),
         (count, None), (sql, None), ("COMMIT", None))
step("pool_prepare_without_data", a, ("PREPARE plain_p AS SELECT 1", None), ("DEALLOCATE plain_p", None))
# what a refused commit or a rollback would not undo is refused before it is made
step("a_hold_cursor_declared", a, ("BEGIN", None), ("SELECT set_config('role', %s, true)", (staff_a,)),
     ("DECLARE carry_h CURSOR WITH HOLD FOR SELECT current_setting('role')", None), ("COMMIT", None))
step("b_fetch_hold_cursor", b, ("FETCH ALL FROM carry_h", None))
step("a_prepare_then_rollback", a, ("BEGIN", None), ("SELECT set_config('role', %s, true)", (staff_a,)),
     (count, None), ("PREPARE carry_r AS SELECT 1", None), ("ROLLBACK", None))
step("b_execute_prepared", b, ("EXECUTE carry_r", None))
step("pool_temp_sequence", a, ("CREATE TEMP SEQUENCE carry_s", None))
step("a_setval_after_read", a, ("BEGIN", None), ("SELECT set_config('role', %s, true)", (staff_a,)),
     (count, None), ("SELECT setval(0::oid::regclass, 42)", None), ("COMMIT", None))
step("a_advisory_lock", a, ("SELECT pg_advisory_lock(7)", None))
step("a_setseed", a, ("BEGIN", None), ("SELECT set_config('role', %s, true)", (staff_a,)),
     ("SELECT setseed(0.25)", None), ("ROLLBACK", None))
step("a_wal_message", a, ("SELECT pg_logical_emit_message(false, 'x', 'y')", None))
step("a_notify", a, ("NOTIFY carry, 'x'", None))
step("a_staff_ddl", a, ("BEGIN", None), ("SELECT set_config('role', %s, true)", (staff_a,)),
     ("CREATE TYPE pg_temp.carry_e AS ENUM ('x')", None), ("COMMIT", None))
step("a_role_default_after_read", a, ("BEGIN", None), ("SELECT set_config('role', %s, true)", (staff_a,)),
     (count, None), ("SELECT set_config('role', 'none', true)", None),
     ("ALTER ROLE " + pool_role + " SET search_path = 'carried'", None), ("COMMIT", None))
step("a_setting_local", a, ("BEGIN", None), ("SELECT set_config('role', %s, true)", (staff_a,)),
     ("SELECT set_config('x.carry', 'for this transaction', true)", None), ("COMMIT", None))
a.close()
b.close()
