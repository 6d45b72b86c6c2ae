# Multi-process test: the audit writer as a separate process.  Reads of audited tables fail
# closed while it is down and work again when the postmaster has restarted it; events queued
# before a clean restart are written; pgaudit preloaded beside us changes nothing; changes
# of the extension's settings are recorded.  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap mnl_cluster_destroy_all EXIT

mnl_ledger_cluster writer "shared_preload_libraries = 'pgaudit,mynumber_ledger'" \
    "pgaudit.log = 'write'" || exit 1
q() { mnl_psql writer -d ledger -Atc "$1" 2>&1; }
mnl_psql writer -d ledger -c "CREATE EXTENSION pgaudit" \
    -c "CREATE TABLE t (id int PRIMARY KEY, v text)" \
    -c "SELECT ledger.audit_table('t')" >/dev/null
tap_ok $? "the writer attaches to ledger.database with pgaudit preloaded first"

q "INSERT INTO t VALUES (1, 'a'), (2, 'b')" >/dev/null
tap_is "$(q "SELECT count(*) FROM ledger.audit_event WHERE relation_name = 'public.t' AND kind = 'insert'")" 2 \
    "pgaudit_coexists: row records are written with pgaudit's hooks chained before ours"
grep -q "AUDIT: SESSION,.*WRITE,INSERT" "$(mnl_cluster_log writer)"
tap_ok $? "pgaudit_coexists: pgaudit still logs the same statement"

# Failed and successful logins, and logouts, with a password-checked role.
mnl_psql writer -d ledger \
    -c "CREATE ROLE regress_login LOGIN PASSWORD 'right horse battery'" >/dev/null
sed -i "1i local all regress_login scram-sha-256" "${MNL_CLUSTER_DIR[writer]}/data/pg_hba.conf"
q "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
PGPASSWORD=wrong "$MNL_PGBIN/psql" -X -h "${MNL_CLUSTER_DIR[writer]}/sock" -U regress_login -d ledger -c "SELECT 1" >/dev/null 2>&1
PGPASSWORD='right horse battery' "$MNL_PGBIN/psql" -X -h "${MNL_CLUSTER_DIR[writer]}/sock" -U regress_login -d ledger -c "SELECT 1" >/dev/null 2>&1
sleep 0.5
tap_is "$(q "SELECT count(*) FROM ledger.audit_event WHERE kind = 'login_failed' AND session_role = 'regress_login'")" 1 \
    "login_failed_recorded: a wrong password leaves a login_failed event"
tap_is "$(q "SELECT count(*) FROM ledger.audit_report_sessions WHERE session_role = 'regress_login' AND logout_at IS NOT NULL")" 1 \
    "the successful session appears with its logout in the sessions report"
tap_ok "$(grep -c 'right horse battery' "$(mnl_cluster_log writer)")" "the password is in no log line"
# Trust accepts any name before PostgreSQL looks the role up: one that does not exist did
# not log in.
"$MNL_PGBIN/psql" -X -h "${MNL_CLUSTER_DIR[writer]}/sock" -U regress_nobody_such -d ledger -c "SELECT 1" >/dev/null 2>&1
sleep 0.5
tap_is "$(q "SELECT string_agg(kind || ':' || coalesce(detail, ''), ',') FROM ledger.audit_event WHERE session_role = 'regress_nobody_such'")" \
    "login_failed:role does not exist" "trust_login_of_missing_role_not_a_login: recorded as a failed login"
# Nor did a role that may not log in (a retired staff member is NOLOGIN), nor a login to a
# database that does not exist: PostgreSQL refuses both right after authentication.
q "CREATE ROLE regress_nologin NOLOGIN" >/dev/null
"$MNL_PGBIN/psql" -X -h "${MNL_CLUSTER_DIR[writer]}/sock" -U regress_nologin -d ledger -c "SELECT 1" >/dev/null 2>&1
PGPASSWORD='right horse battery' "$MNL_PGBIN/psql" -X -h "${MNL_CLUSTER_DIR[writer]}/sock" -U regress_login -d regress_no_such_db -c "SELECT 1" >/dev/null 2>&1
sleep 0.5
tap_is "$(q "SELECT string_agg(kind || ':' || coalesce(detail, ''), ',') FROM ledger.audit_event WHERE session_role = 'regress_nologin'")" \
    "login_failed:role is not permitted to log in" "nologin_role_login_not_a_login: a NOLOGIN role's refused login is a failed login"
tap_is "$(q "SELECT string_agg(kind || ':' || coalesce(detail, ''), ',') FROM ledger.audit_event WHERE session_role = 'regress_login' AND database_name = 'regress_no_such_db'")" \
    "login:,login_failed:refused after authentication (the database does not exist, allows no connections or refuses the role)" \
    "missing_database_login_not_a_login: a login to a database that does not exist ends as a failed login, not a logout"

# Kill the writer: until the postmaster restarts it, audited reads are refused.
q "SELECT pg_terminate_backend(writer_pid) FROM ledger.audit_writer_status()" >/dev/null
sleep 0.5
out=$(q "SELECT * FROM t")
echo "$out" | grep -q "could not record an audit event: the audit writer is not running"
tap_ok $? "writer_down_fails_closed: an audited read is refused while the writer is down"
echo "$out" | grep -qv "^1|a"
tap_ok $? "writer_down_fails_closed: no row was returned"
tap_is "$(q "SELECT count(*) FROM ledger.audit_event WHERE kind = 'insert'")" 2 \
    "unaudited reads of the trail itself still work while the writer is down"

mnl_wait_writer writer ledger
tap_ok $? "the postmaster restarts the writer"
tap_is "$(q "SELECT count(*) FROM t")" 2 "audited reads work again once it is back"

# Events accepted before a clean stop are written: the writer drains its queue on SIGTERM.
PGAPPNAME=restart_probe q "SELECT v FROM t WHERE id = 1" >/dev/null
mnl_cluster_restart writer
mnl_wait_writer writer ledger
tap_is "$(q "SELECT count(*) FROM ledger.audit_event WHERE kind = 'select' AND application_name = 'restart_probe'")" 1 \
    "an event accepted just before a clean restart is in the trail afterwards"
tap_is "$(q "SELECT count(*) FROM ledger.verify_audit()")" 0 "the trail verifies after restarts"

# A setting changed for a moment and put back: both the statements and what each reload
# changed are on the record, and the seal interval applies at once (sealing does not wait
# out the hour it was set to).
q "ALTER SYSTEM SET ledger.audit_seal_interval = 3600000" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
sleep 1
q "ALTER SYSTEM RESET ledger.audit_seal_interval" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
sleep 1
q "INSERT INTO t VALUES (3, 'c')" >/dev/null
sleep 2.5
tap_is "$(q "SELECT count(*) FROM ledger.audit_event WHERE relation_name = 'public.t' AND kind = 'insert'
              AND xact_id >= (SELECT max(xact_hi) FROM ledger.audit_block)")" 0 \
    "seal_interval_reload_applies_at_once: a record made after the interval was put back is sealed within seconds"
tap_is "$(q "SELECT string_agg(detail, ' | ' ORDER BY logged_at, event_id) FROM ledger.audit_event WHERE kind = 'setting'
              AND detail NOT LIKE 'at the audit writer''s start%'")" \
    "ALTER SYSTEM SET ledger.audit_seal_interval = 3600000 | ledger.audit_seal_interval changed by a reload from '1000' to '3600000' | ALTER SYSTEM SET ledger.audit_seal_interval (reset) | ledger.audit_seal_interval changed by a reload from '3600000' to '1000'" \
    "setting_change_recorded: the statements and each reload's change are in the trail"
# ... and one set as the session connects (PGOPTIONS, a startup parameter) or by a function's
# SET clause, which applies at each call.
PGOPTIONS="-c ledger.audit_read_durable=off" mnl_psql writer -d ledger -Atc "SELECT 1" >/dev/null
q "CREATE FUNCTION regress_nd() RETURNS text LANGUAGE sql SET ledger.audit_read_durable = off AS \$\$SELECT '1'\$\$" >/dev/null
q "ALTER FUNCTION regress_nd() SET ledger.audit_flush_delay = 50" >/dev/null
sleep 1
tap_is "$(q "SELECT string_agg(detail, ' | ' ORDER BY logged_at, event_id) FROM ledger.audit_event WHERE kind = 'setting'
              AND (detail LIKE 'connection option%' OR detail LIKE '%FUNCTION%')")" \
    "connection options -c ledger.audit_read_durable=off | CREATE FUNCTION ... SET ledger.audit_read_durable = off | ALTER FUNCTION ... SET ledger.audit_flush_delay = 50" \
    "connection_option_and_function_set_recorded: a setting given as the session connects, or in a function's SET clause, is recorded"

# From another database, and across a restart instead of a reload: still on the record.
mnl_psql writer -d postgres -Atc "ALTER SYSTEM SET ledger.audit_sessions = off" >/dev/null
mnl_psql writer -d postgres -Atc "ALTER ROLE postgres IN DATABASE ledger SET ledger.audit_queue_timeout = 4000" >/dev/null
mnl_cluster_restart writer
mnl_wait_writer writer ledger
sleep 1
tap_ok "$([ "$(q "SELECT count(*) FROM ledger.audit_event WHERE kind = 'setting' AND database_name = 'postgres'
              AND detail IN ('ALTER SYSTEM SET ledger.audit_sessions = off', 'ALTER ROLE ... SET ledger.audit_queue_timeout = 4000')")" = 2 ]; echo $?)" \
    "setting_from_other_database_recorded: ALTER SYSTEM and ALTER ROLE ... IN DATABASE made from another database"
tap_ok "$(q "SELECT detail FROM ledger.audit_event WHERE kind = 'setting' AND detail LIKE 'at the audit writer''s start%'
             ORDER BY logged_at DESC LIMIT 1" | grep -q 'ledger.audit_sessions=off'; echo $?)" \
    "settings_at_writer_start_recorded: a change that took effect by a restart is on the record"
mnl_psql writer -d postgres -Atc "ALTER SYSTEM RESET ledger.audit_sessions" -c "ALTER ROLE postgres IN DATABASE ledger RESET ALL" >/dev/null
tap_done
