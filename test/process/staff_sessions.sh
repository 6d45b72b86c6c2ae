# Multi-process test: a retirement or a duty change in one session is seen by another
# session that is already open — in the middle of a cursor, inside a REPEATABLE READ
# transaction — and staff roles are logged off when idle (自動ログオフ).  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap 'kill ${S1_PID:-} 2>/dev/null; mnl_cluster_destroy_all' EXIT

mnl_cluster_create staff "ledger.database = 'ledger'" || { echo "Bail out! initdb failed"; exit 1; }
mnl_cluster_start staff || { echo "Bail out! cluster did not start"; exit 1; }
q() { mnl_psql staff -d ledger -Atc "$1" 2>&1; }
mnl_psql staff -d postgres -c "CREATE DATABASE ledger" >/dev/null
mnl_psql staff -d ledger -c "CREATE EXTENSION mynumber_ledger" >/dev/null
mnl_wait_writer staff ledger || { echo "Bail out! writer did not start"; exit 1; }

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
mnl_psql staff -d ledger -c "SELECT ledger.enrol_person('131016', 2, '123456789018', 'A', 'B', 'C', 'D', '2016-01-01', 'x')" \
    -c "SELECT ledger.enrol_person('131016', 2, '271828182840', 'A', 'B', 'C', 'D', '2016-01-01', 'x')" >/dev/null

# Session 1, a staff member logged in directly, kept open across the other session's acts.
coproc S1 { PGHOST="${MNL_CLUSTER_DIR[staff]}/sock" PGPORT=5432 "$MNL_PGBIN/psql" -X -At -U regress_leaver -d ledger 2>&1; }
S1_PID=$S1_PID
# s1 SQL: run SQL in the open session; its output is left in $R (coproc descriptors do not
# survive a $(...) subshell).
R=""
s1() {
    printf '%s\n;SELECT '"'"'__END__'"'"';\n' "$1" >&"${S1[1]}"
    local line
    R=""
    while IFS= read -r -t 20 line <&"${S1[0]}"; do
        [ "$line" = __END__ ] && break
        R+="$line"$'\n'
    done
    R=${R%$'\n'}
}

s1 "SELECT count(*) FROM ledger.person"; tap_is "$R" 5 "an open session of a clerk reads the own org unit"
# No ORDER BY: a sort would read every row at the first FETCH.
s1 "BEGIN; DECLARE c NO SCROLL CURSOR FOR SELECT person_id FROM ledger.person;" >/dev/null
s1 "FETCH 2 FROM c"; tap_is "$(echo "$R" | grep -c .)" 2 "the clerk's cursor returns rows before the retirement"
q "SELECT ledger.retire_staff('regress_leaver', '退職')" >/dev/null
s1 "FETCH ALL FROM c"; tap_is "$(echo "$R" | grep -c .)" 0 \
    "retired_staff_open_cursor: rows fetched after the retirement (committed elsewhere) are refused"
s1 "COMMIT" >/dev/null
s1 "SELECT count(*) FROM ledger.person"
echo "$R" | grep -q "permission denied"
tap_ok $? "retired_staff_open_session: the next statement of the open session is refused"
tap_is "$(q "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'regress_leaver'")" f "the retired role is NOLOGIN"
PGHOST="${MNL_CLUSTER_DIR[staff]}/sock" "$MNL_PGBIN/psql" -X -U regress_leaver -d ledger -c "SELECT 1" >/dev/null 2>&1
tap_ok $(( $? == 0 )) "retired_staff_new_login: a new login is refused"
s1 '\q' >/dev/null

# A duty taken away is seen inside a REPEATABLE READ transaction already under way.
coproc S2 { PGHOST="${MNL_CLUSTER_DIR[staff]}/sock" PGPORT=5432 "$MNL_PGBIN/psql" -X -At -U regress_mover -d ledger 2>&1; }
S1=("${S2[@]}"); S1_PID=$S2_PID
s1 "BEGIN ISOLATION LEVEL REPEATABLE READ" >/dev/null
s1 "SELECT count(*) FROM ledger.person"; tap_is "$R" 7 "an approver reads both org units"
q "SELECT ledger.revoke_duty('regress_mover', 'approver')" >/dev/null
s1 "SELECT count(*) FROM ledger.person"; tap_is "$R" 5 \
    "duty_change_in_open_transaction: the revoked scope is gone at the next statement, even in REPEATABLE READ"
s1 "COMMIT" >/dev/null
s1 '\q' >/dev/null

# 自動ログオフ: the staff role's idle_session_timeout ends an idle session.
q "ALTER SYSTEM SET ledger.staff_idle_session_timeout = '1s'" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
sleep 0.3
q "SELECT ledger.register_staff('regress_idle', '放置', 1, ARRAY['clerk'])" >/dev/null
coproc S3 { PGHOST="${MNL_CLUSTER_DIR[staff]}/sock" PGPORT=5432 "$MNL_PGBIN/psql" -X -At -U regress_idle -d ledger 2>&1; }
S1=("${S3[@]}"); S1_PID=$S3_PID
s1 "SHOW idle_session_timeout"; tap_is "$R" 1s "a staff session starts with the staff idle timeout"
sleep 2.5
s1 "SELECT 1"
echo "$R" | grep -qi "idle-session timeout\|connection to server was lost\|terminating connection"
tap_ok $? "idle_staff_session_logged_off: an idle staff session is ended"

tap_is "$(q "SELECT count(*) FROM ledger.verify_audit()")" 0 "the trail verifies"
tap_done
