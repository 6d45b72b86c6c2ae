# Multi-process test: the unsealed window is bounded (issue: a transaction held open stalls
# sealing without limit, and records rewritten in that window pass).  One session keeps a
# transaction open after writing; the records committed after it wait.  Past
# ledger.audit_unsealed_limit the verifier names the wait instead of calling the trail intact
# (a record rewritten meanwhile is no longer hidden behind "not sealed yet"); once the
# transaction ends, everything is sealed and verifies.  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap 'mnl_session_close_all; mnl_cluster_destroy_all' EXIT

mnl_ledger_cluster window "ledger.audit_seal_interval = '200ms'" || exit 1
q() { mnl_psql window -d ledger -Atc "$1" 2>&1; }
q "CREATE TABLE w (id int PRIMARY KEY, v text); SELECT ledger.audit_table('w')" >/dev/null
mnl_session_open holder window postgres
mnl_session holder "BEGIN; INSERT INTO w VALUES (1, 'held')" >/dev/null
q "INSERT INTO w VALUES (2, 'committed behind the open transaction')" >/dev/null
sleep 3
tap_is "$(q "SELECT count(*) FROM ledger.verify_audit()")" 0 "within the limit, records waiting behind an open transaction are not a break"
limit() { q "ALTER SYSTEM SET ledger.audit_unsealed_limit = $1" >/dev/null; q "SELECT pg_reload_conf()" >/dev/null; sleep 0.5; }
limit 2
said=$(q "SELECT problem FROM ledger.verify_audit()")
echo "$said" | grep -q "waited longer than ledger.audit_unsealed_limit"
tap_ok $? "unsealed_window_reported: a record waiting past ledger.audit_unsealed_limit is named ($(echo "$said" | tail -1))"
# The verifier's allowance is the server's setting: no session, role or function may widen it
# (a superuser who did so for the auditor's login, by a catalog edit that records nothing, let a
# forged record dated days before the kept digest pass).  A reload that changes it is recorded.
q "CREATE ROLE window_clerk LOGIN; CREATE ROLE window_auditor LOGIN IN ROLE ledger_auditor" >/dev/null
out=$(mnl_psql window -d ledger -U window_clerk -Atc "SET ledger.audit_unsealed_limit = 100000" 2>&1)
out2=$(q "SET ledger.audit_unsealed_limit = 604800")
echo "$out" | grep -q "cannot be changed now" && echo "$out2" | grep -q "cannot be changed now"
tap_ok $? "verifier_allowance_not_settable_in_session: neither a role nor a superuser sets it for a session"
q "INSERT INTO pg_db_role_setting VALUES (0, 'window_auditor'::regrole, '{ledger.audit_unsealed_limit=604800}')" >/dev/null
seen=$(mnl_psql window -d ledger -U window_auditor -Atc "SHOW ledger.audit_unsealed_limit" 2>/dev/null)
tap_is "$seen" "2s" "verifier_allowance_not_widened_by_role_setting: a role setting written into the catalog is not taken at login"
q "DELETE FROM pg_db_role_setting WHERE setrole = 'window_auditor'::regrole" >/dev/null
q "UPDATE pg_proc SET proconfig = '{ledger.audit_unsealed_limit=604800}' WHERE oid = 'ledger.verify_audit(bigint, bytea, timestamptz)'::regprocedure" >/dev/null
out=$(q "SELECT count(*) FROM ledger.verify_audit()")
q "UPDATE pg_proc SET proconfig = NULL WHERE oid = 'ledger.verify_audit(bigint, bytea, timestamptz)'::regprocedure" >/dev/null
echo "$out" | grep -q "cannot be changed now"
tap_ok $? "verifier_allowance_not_widened_by_function_setting: a SET written into the verifier's catalog row makes it fail, not pass"
sleep 1.5
q "SELECT detail FROM ledger.audit_event WHERE kind = 'setting'" | grep -q "ledger.audit_unsealed_limit changed by a reload from '900' to '2'"
tap_ok $? "verifier_allowance_change_recorded: a reload that changes the allowance is in the trail"
mnl_session holder "COMMIT" >/dev/null
sleep 1
q "SELECT ledger.audit_seal_now()" >/dev/null
said=$(q "SELECT count(*) FROM ledger.verify_audit()")
tap_is "$said" "0" "once the transaction ends, everything is sealed and verifies"
q "ALTER SYSTEM RESET ledger.audit_unsealed_limit" >/dev/null; q "SELECT pg_reload_conf()" >/dev/null
tap_done
