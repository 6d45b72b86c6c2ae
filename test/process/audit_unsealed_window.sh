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
said=$(mnl_psql window -d ledger -Atc "SET ledger.audit_unsealed_limit = 2" -c "SELECT problem FROM ledger.verify_audit()" 2>&1)
echo "$said" | grep -q "waited longer than ledger.audit_unsealed_limit"
tap_ok $? "unsealed_window_reported: a record waiting past ledger.audit_unsealed_limit is named ($(echo "$said" | tail -1))"
q "CREATE ROLE window_clerk LOGIN" >/dev/null
out=$(mnl_psql window -d ledger -U window_clerk -Atc "SET ledger.audit_unsealed_limit = 100000" 2>&1)
echo "$out" | grep -q "permission denied"
tap_ok $? "the limit is a superuser's setting"
mnl_session holder "COMMIT" >/dev/null
sleep 1
q "SELECT ledger.audit_seal_now()" >/dev/null
said=$(mnl_psql window -d ledger -Atc "SET ledger.audit_unsealed_limit = 2" -c "SELECT count(*) FROM ledger.verify_audit()" 2>&1)
tap_is "$said" "0" "once the transaction ends, everything is sealed and verifies"
tap_done
