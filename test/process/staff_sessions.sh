# Multi-process test: a retirement or a duty change in one session is seen by another
# session that is already open — in the middle of a cursor, inside a REPEATABLE READ
# transaction — and staff roles are logged off when idle (自動ログオフ).  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap 'mnl_session_close_all; mnl_cluster_destroy_all' EXIT

mnl_ledger_cluster staff || exit 1
q() { mnl_psql staff -d ledger -Atc "$1" 2>&1; }

mnl_psql staff -d ledger >/dev/null <<'SQL'
INSERT INTO ledger.org_unit VALUES ('131016', 1, '本庁'), ('131016', 2, '支所');
SELECT ledger.register_staff('regress_leaver', '退職 予定', 1, ARRAY['clerk']);
SELECT ledger.register_staff('regress_mover', '異動 予定', 1, ARRAY['clerk', 'approver']);
SET ROLE regress_leaver;
SELECT ledger.enrol_person('131016', 1, n::ledger.mynumber, '氏' || i, '名', 'シ', 'メイ', '2015-04-01', '住所')
FROM (SELECT i, b || ledger.mynumber_check_digit(b) AS n
      FROM (SELECT i, lpad((10000000000 + i)::text, 11, '0') AS b FROM generate_series(1, 5) i) x) y;
RESET ROLE;
SET ROLE regress_mover;
RESET ROLE;
SQL
mnl_psql staff -d ledger -c "SET ROLE regress_mover" \
    -c "INSERT INTO ledger.recipient (municipality_code, person_id, org_unit_id) SELECT '131016', person_id, 1 FROM ledger.person" >/dev/null
# Two persons kept by org unit 2 (enrolled by a superuser: the write gate lets superusers pass).
mnl_psql staff -d ledger \
    -c "SELECT ledger.enrol_person('131016', 2, '123456789018', 'A', 'B', 'C', 'D', '2016-01-01', 'x')" \
    -c "SELECT ledger.enrol_person('131016', 2, '271828182840', 'A', 'B', 'C', 'D', '2016-01-01', 'x')" >/dev/null

# Session 1, a staff member logged in directly, kept open across the other session's acts.
mnl_session_open s1 staff regress_leaver
s1() { mnl_session s1 "$1"; }   # its output is left in $R

s1 "SELECT count(*) FROM ledger.person"; tap_is "$R" 5 "an open session of a clerk reads the own org unit"
# No ORDER BY: a sort would read every row at the first FETCH.
s1 "BEGIN; DECLARE c NO SCROLL CURSOR FOR SELECT person_id FROM ledger.person;" >/dev/null
s1 "FETCH 2 FROM c"; tap_is "$(echo "$R" | grep -c .)" 2 "the clerk's cursor returns rows before the retirement"
q "SELECT ledger.retire_staff('regress_leaver', '退職')" >/dev/null
s1 "FETCH ALL FROM c"; tap_is "$(echo "$R" | grep -c '^[0-9][0-9]*$')" 0 \
    "retired_staff_open_cursor: rows fetched after the retirement (committed elsewhere) are refused"
s1 "COMMIT" >/dev/null
s1 "SELECT count(*) FROM ledger.person"
echo "$R" | grep -q "permission denied"
tap_ok $? "retired_staff_open_session: the next statement of the open session is refused"
tap_is "$(q "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'regress_leaver'")" f "the retired role is NOLOGIN"
PGHOST="${MNL_CLUSTER_DIR[staff]}/sock" "$MNL_PGBIN/psql" -X -U regress_leaver -d ledger -c "SELECT 1" >/dev/null 2>&1
tap_ok $(( $? == 0 )) "retired_staff_new_login: a new login is refused"
mnl_session_close s1

# Retirement takes everything: memberships granted outside the registry (ledger_dba,
# ledger_revealer), the pooled role's membership, and every road of an open session —
# functions gated by membership, a sorted cursor (materialised at its first fetch), a SET ROLE
# identity of a pooled connection.
mnl_psql staff -d ledger >/dev/null <<'SQL'
SELECT ledger.register_staff('regress_dba_staff', 'DBA 兼 職員', 1, ARRAY['clerk']);
GRANT ledger_dba, ledger_revealer TO regress_dba_staff;
SELECT ledger.register_staff('regress_pooled', '窓口 甲', 1, ARRAY['clerk']);
CREATE ROLE regress_pool LOGIN NOINHERIT;
GRANT regress_pooled TO regress_pool;
SQL
mnl_session_open s1 staff regress_dba_staff
s1 "SELECT ledger.place_hold('131016', 'table', '監査のため保存', NULL, 'ledger.person')"
hold=$R
tap_ok "$([ "$hold" -gt 0 ] 2>/dev/null; echo $?)" "a DBA who is also staff places a hold (ledger_dba) before retiring"
s1 "BEGIN; DECLARE sorted CURSOR FOR SELECT person_id FROM ledger.person ORDER BY family_name;"
s1 "FETCH 1 FROM sorted"; tap_is "$(echo "$R" | grep -c '^[0-9]')" 1 "the sorted cursor returns a row before the retirement"
mnl_session_open pool staff regress_pool
pool() { mnl_session pool "$1"; P=$R; }
# A sequence's currval is the session's, outside any transaction: one client's nextval (until
# currval says a value it read) would reach the pool's next client (attack round 20).
q "CREATE SEQUENCE public.app_request_no; GRANT USAGE, SELECT ON SEQUENCE public.app_request_no TO ledger_staff, regress_pool" >/dev/null
pool "BEGIN; SET LOCAL ROLE regress_pooled; SELECT nextval('public.app_request_no'), currval('public.app_request_no'); ROLLBACK"
inside=$P
pool "SELECT currval('public.app_request_no')"
echo "$inside" | grep -q '^1|1$' && echo "$P" | grep -q "not yet defined in this session"
tap_ok $? "pooled_currval_carries_rows_refused: currval works within the transaction and is gone after it ($(echo "$P" | head -1))"
pool "BEGIN; SET LOCAL ROLE regress_pooled; SELECT count(*) FROM ledger.person"
tap_is "$(echo "$P" | grep -c '^[0-9]')" 1 "the pooled connection acts as the staff member before the retirement"
q "SELECT ledger.retire_staff('regress_dba_staff', '退職')" >/dev/null
q "SELECT ledger.retire_staff('regress_pooled', '退職')" >/dev/null
tap_is "$(q "SELECT count(*) FROM pg_auth_members WHERE member IN ('regress_dba_staff'::regrole, 'regress_pooled'::regrole)
               OR roleid IN ('regress_dba_staff'::regrole, 'regress_pooled'::regrole)")" 0 \
    "retired_staff_keeps_no_membership: ledger_dba, ledger_revealer and the pooled role's membership are gone"
s1 "FETCH ALL FROM sorted"
echo "$R" | grep -q "no longer active"
tap_ok $? "retired_staff_sorted_cursor: a FETCH from a sorted cursor after the retirement is refused"
s1 "ROLLBACK" >/dev/null
s1 "SELECT ledger.lift_hold($hold)"
echo "$R" | grep -q "no longer active"
tap_ok $? "retired_dba_open_session: the open session of a retired DBA cannot lift a hold"
s1 "SELECT ledger.allow_linkage('child_allowance', 'child_allowance', '番号法')"
echo "$R" | grep -q "no longer active"
tap_ok $? "retired_dba_open_session: nor add a linkage rule"
s1 "SET ROLE ledger_dba; SELECT ledger.lift_hold($hold)"
echo "$R" | grep -q "no longer active"
tap_ok $? "retired_dba_set_role: SET ROLE to a role it held does not escape the retirement"
tap_is "$(q "SELECT count(*) FROM ledger.legal_hold WHERE hold_id = $hold AND lifted_at IS NULL")" 1 "the hold is still in place"
pool "SELECT count(*) FROM ledger.person"
echo "$P" | grep -q "no longer active"
tap_ok $? "retired_staff_via_pooled_role: the pooled connection's SET ROLE identity is refused at its next statement"
pool "ROLLBACK; RESET ROLE; SELECT 'reset'"
echo "$P" | grep -q '^reset$'
tap_ok $? "the pooled connection can leave the retired identity (RESET ROLE)"
pool "BEGIN; SET LOCAL ROLE regress_pooled"
echo "$P" | grep -q "permission denied"
tap_ok $? "and cannot become the retired person again"
pool "ROLLBACK"
# A role reached through the retired person (the pool was granted a DBA's role and SET ROLE
# to ledger_dba through it): once the membership is gone the identity is refused.
q "SELECT ledger.register_staff('regress_dba_two', 'DBA 二', 1, ARRAY['clerk'])" >/dev/null
q "GRANT ledger_dba TO regress_dba_two; GRANT regress_dba_two TO regress_pool" >/dev/null
pool "BEGIN; SET LOCAL ROLE ledger_dba; SELECT 'as dba'"
echo "$P" | grep -q '^as dba$'
tap_ok $? "the pooled connection acts as ledger_dba through the DBA's role"
q "SELECT ledger.retire_staff('regress_dba_two', '退職')" >/dev/null
pool "SELECT ledger.place_hold('131016', 'table', '試験', NULL, 'ledger.person')"
echo "$P" | grep -q "no longer granted"
tap_ok $? "retired_staff_role_chain_via_pool: a role reached through the retired person is refused at the next statement"
pool "ROLLBACK"
tap_ok "$([ "$(q "SELECT count(*) FROM ledger.audit_event WHERE kind = 'denied' AND detail LIKE '%no longer active%'")" -gt 0 ]; echo $?)" \
    "the refusals are recorded"
mnl_session_close s1
mnl_session_close pool

# A duty taken away is seen inside a REPEATABLE READ transaction already under way.
mnl_session_open s1 staff regress_mover
s1 "BEGIN ISOLATION LEVEL REPEATABLE READ" >/dev/null
s1 "SELECT count(*) FROM ledger.person"; tap_is "$R" 7 "an approver reads both org units"
q "SELECT ledger.revoke_duty('regress_mover', 'approver')" >/dev/null
s1 "SELECT count(*) FROM ledger.person"; tap_is "$R" 5 \
    "duty_change_in_open_transaction: the revoked scope is gone at the next statement, even in REPEATABLE READ"
s1 "COMMIT" >/dev/null
mnl_session_close s1

# 自動ログオフ: the staff role's idle_session_timeout ends an idle session.
q "ALTER SYSTEM SET ledger.staff_idle_session_timeout = '1s'" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
sleep 0.3
q "SELECT ledger.register_staff('regress_idle', '放置', 1, ARRAY['clerk'])" >/dev/null
mnl_session_open s1 staff regress_idle
s1 "SHOW idle_session_timeout"; tap_is "$R" 1s "a staff session starts with the staff idle timeout"
sleep 2.5
s1 "SELECT 1"
echo "$R" | grep -qi "idle-session timeout\|connection to server was lost\|terminating connection"
tap_ok $? "idle_staff_session_logged_off: an idle staff session is ended"

# The idle limit is the database's, per staff identity: switching PostgreSQL's timeout off
# does not lengthen it, and an identity reached through a pooled role is held to it too.
q "SELECT ledger.register_staff('regress_idle2', '放置 二', 1, ARRAY['clerk'])" >/dev/null
q "SELECT ledger.register_staff('regress_idle3', '放置 三', 1, ARRAY['clerk'])" >/dev/null
q "GRANT regress_idle3 TO regress_pool" >/dev/null
as_login() {  # as_login ROLE: psql reading statements (with pauses) from stdin
    PGHOST="${MNL_CLUSTER_DIR[staff]}/sock" PGPORT=5432 "$MNL_PGBIN/psql" -X -At -U "$1" -d ledger 2>&1
}
out=$( (echo "SET idle_session_timeout = 0; SELECT 'first';"; sleep 2.5; echo "SELECT 'second';") | as_login regress_idle2)
echo "$out" | grep -q "idle longer than ledger.staff_idle_session_timeout" && ! echo "$out" | grep -q '^second$'
tap_ok $? "idle_limit_cannot_be_switched_off: SET idle_session_timeout = 0 does not keep an idle staff session alive"
out=$( (echo "BEGIN; SET LOCAL ROLE regress_idle3; SELECT 'first';"; sleep 2.5; echo "SELECT 'second';") | as_login regress_pool)
echo "$out" | grep -q "idle longer than ledger.staff_idle_session_timeout" && ! echo "$out" | grep -q '^second$'
tap_ok $? "idle_limit_via_pooled_role: an identity idle past the limit is refused through the pooled role"
out=$( (echo "SELECT ledger.staff_sign_on('regress_idle3'); BEGIN; SET LOCAL ROLE regress_idle3; SELECT 'again'; COMMIT;") | as_login regress_pool)
echo "$out" | grep -q '^again$'
tap_ok $? "the application signs the person on again (ledger.staff_sign_on) and the identity works"
out=$(echo "SELECT ledger.staff_sign_on('regress_idle3');" | as_login regress_idle3)
echo "$out" | grep -q "permission denied"
tap_ok $? "staff_cannot_sign_themselves_on: a staff member cannot restart their own idle clock"
tap_ok "$([ "$(q "SELECT count(*) FROM ledger.audit_event WHERE kind = 'denied' AND detail LIKE '%idle past the staff idle limit%'")" -ge 2 ]; echo $?)" \
    "idle_refusals_recorded"

# An examiner's open transaction, after a reveal, does not hold up their own retirement (the
# quota's lock is not on the staff row).
q "SELECT ledger.register_staff('regress_exam_leaver', '審査 退職', 1, ARRAY['examiner'])" >/dev/null
pid=$(q "SELECT min(person_id) FROM ledger.person WHERE org_unit_id = 1")
(PGHOST="${MNL_CLUSTER_DIR[staff]}/sock" PGPORT=5432 "$MNL_PGBIN/psql" -X -q -U regress_exam_leaver -d ledger \
    -c "BEGIN" -c "SELECT ledger.reveal_person_number('131016', $pid, '認定審査')" -c "SELECT pg_sleep(15)" -c "COMMIT" \
    >/dev/null 2>&1 &)
sleep 1.5
t0=$(date +%s)
q "SET statement_timeout = '10s'; SELECT ledger.retire_staff('regress_exam_leaver', '懲戒')" >/dev/null
t1=$(date +%s)
tap_is "$(q "SELECT retired_at IS NOT NULL FROM ledger.staff WHERE role_name = 'regress_exam_leaver'")" t \
    "examiner_open_transaction_blocks_own_retirement: the examiner is retired while their transaction stays open"
tap_ok "$([ $((t1 - t0)) -lt 5 ]; echo $?)" "the retirement did not wait for it ($((t1 - t0)) s)"

tap_is "$(q "SELECT count(*) FROM ledger.verify_audit()")" 0 "the trail verifies"
# A staff login's first statement: its literals are read while it is parsed, before the
# statement gate has run once — a literal of a DBA's type runs the DBA's domain check with the
# staff member's sight (attack round 21).  The guard decides as soon as anything asks.
q "SELECT ledger.register_staff('regress_first', '初回', 1, ARRAY['clerk'])" >/dev/null
mnl_psql staff -d ledger -q >/dev/null 2>&1 <<'SQL'
CREATE ROLE regress_first_dba IN ROLE ledger_dba;
CREATE SCHEMA first_dba AUTHORIZATION regress_first_dba;
GRANT USAGE ON SCHEMA first_dba TO ledger_staff;
SET ROLE regress_first_dba;
CREATE TABLE first_dba.loot (v text);
GRANT INSERT ON first_dba.loot TO PUBLIC;
CREATE FUNCTION first_dba.ok(v bigint) RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN INSERT INTO first_dba.loot SELECT count(*)::text FROM ledger.person_masked; RETURN true; END $f$;
CREATE DOMAIN first_dba.refno AS bigint CHECK (first_dba.ok(VALUE));
CREATE TYPE first_dba.ref AS (kind text, no first_dba.refno);
CREATE TABLE first_dba.task (id int, ref first_dba.ref);
GRANT SELECT ON first_dba.task TO ledger_staff;
GRANT USAGE ON TYPE first_dba.ref, first_dba.refno TO ledger_staff;
-- a function PostgreSQL calls itself, never named in a query (attack round 22): a range type's
-- subtype_diff, called while the planner estimates a staff query
CREATE FUNCTION first_dba.diff(a int, b int) RETURNS float8 LANGUAGE plpgsql IMMUTABLE AS
    $f$BEGIN IF current_user <> 'regress_first_dba' THEN INSERT INTO first_dba.loot VALUES ('diff'); END IF; RETURN b - a; END$f$;
CREATE TYPE first_dba.span AS RANGE (subtype = int, subtype_diff = first_dba.diff);
ALTER FUNCTION first_dba.diff(int, int) VOLATILE;
CREATE TABLE first_dba.slot (r first_dba.span);
INSERT INTO first_dba.slot SELECT ('[' || i || ',' || i + 3 || ']')::first_dba.span FROM generate_series(1, 200) i;
ANALYZE first_dba.slot;
GRANT SELECT ON first_dba.slot TO ledger_staff;
GRANT USAGE ON TYPE first_dba.span TO ledger_staff;
SQL
out=$(PGHOST="${MNL_CLUSTER_DIR[staff]}/sock" PGPORT=5432 "$MNL_PGBIN/psql" -X -At -U regress_first -d ledger \
      -c "SELECT id FROM first_dba.task WHERE ref = '(person,10)'::first_dba.ref" 2>&1)
echo "$out" | grep -q "not a superuser" && [ "$(q "SELECT count(*) FROM first_dba.loot")" = 0 ]
tap_ok $? "first_statement_literal_runs_dba_code_refused: the DBA's domain check is refused in a staff login's first statement too ($(echo "$out" | head -1 | cut -c1-80))"
out=$(PGHOST="${MNL_CLUSTER_DIR[staff]}/sock" PGPORT=5432 "$MNL_PGBIN/psql" -X -At -U regress_first -d ledger \
      -c "SELECT 1" -c "SELECT count(*) FROM first_dba.slot WHERE r && '[5,7]'::first_dba.span" 2>&1)
echo "$out" | grep -q "not a superuser" && [ "$(q "SELECT count(*) FROM first_dba.loot")" = 0 ]
tap_ok $? "dba_range_subtype_diff_runs_as_staff_refused: a range type's subtype_diff, called by the planner, is refused ($(echo "$out" | tail -1 | cut -c1-70))"
tap_done
