# Multi-process test: a libpq fast-path call (the FunctionCall message, PQfn) reaches a
# function without the executor or utility hooks.  The staff statement gate and the idle
# limit still hold there: a retired examiner's open session, an idle one and a pooled role
# whose SET ROLE identity was taken away cannot reveal a number or lift a hold that way.  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap 'mnl_cluster_destroy_all' EXIT

mnl_ledger_cluster fp || exit 1
q() { mnl_psql fp -d ledger -Atc "$1" 2>&1; }
mnl_psql fp -d ledger >/dev/null <<'SQL'
INSERT INTO ledger.org_unit VALUES ('131016', 1, '本庁');
SELECT ledger.register_staff('regress_fp_leaver', '審査 退職', 1, ARRAY['examiner']);
SELECT ledger.register_staff('regress_fp_idle', '審査 放置', 1, ARRAY['examiner']);
SELECT ledger.register_staff('regress_fp_dba', 'DBA', 1, ARRAY['clerk']);
SELECT ledger.register_staff('regress_fp_clerk', '受付', 1, ARRAY['clerk']);
GRANT ledger_dba TO regress_fp_dba;
CREATE ROLE regress_fp_pool LOGIN NOINHERIT;
GRANT regress_fp_dba TO regress_fp_pool;
SELECT ledger.enrol_person('131016', 1, '123456789018', '高速', '一', 'コウソク', 'イチ', '2015-04-02', '千代田区');
SQL
pid=$(q "SELECT person_id FROM ledger.person")
hold=$(q "SELECT ledger.place_hold('131016', 'person', '訴訟', $pid)")
reveal=$(q "SELECT 'ledger.reveal_person_number(text,bigint,text,text)'::regprocedure::oid")
lift=$(q "SELECT 'ledger.lift_hold(bigint)'::regprocedure::oid")
fp() { python3 "$MNL_ROOT/test/process/fastpath.py" "${MNL_CLUSTER_DIR[fp]}/sock"; }

# Control: the fast path works for an active examiner.
out=$(echo "fn regress_fp_leaver $reveal t:131016 i:$pid t:確認 null" | fp)
tap_is "$out" "OK fn" "the fast path reveals for an active examiner (the road is open)"

# A retired examiner's open session.
# (the session is open before the retirement: the client says so, instead of a guessed sleep)
flag=$(mktemp -u /tmp/mnl-fp-flag.XXXXXX)
after_login() {  # after_login SQL: run it once the client's commands so far are done
    mnl_wait_flag "$flag"
    q "$1" >/dev/null
}
out=$( { echo "sql regress_fp_leaver SELECT 1"; echo "touch $flag"; after_login "SELECT ledger.retire_staff('regress_fp_leaver', '退職')";
         echo "fn regress_fp_leaver $reveal t:131016 i:$pid t:確認 null"; } | fp)
echo "$out" | tail -1 | grep -q "ERR fn.*no longer active"
tap_ok $? "fastpath_retired_staff_refused: a retired examiner's open session cannot reveal through the fast path"

# An idle examiner's own login.
q "ALTER SYSTEM SET ledger.staff_idle_session_timeout = '1s'" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
sleep 0.3
out=$( { echo "sql regress_fp_idle SET idle_session_timeout = 0"; echo "sleep 2"; echo "fn regress_fp_idle $reveal t:131016 i:$pid t:確認 null"; } | fp)
echo "$out" | tail -1 | grep -q "ERR fn.*idle longer than"
tap_ok $? "fastpath_idle_limit_holds: an idle staff login cannot reveal through the fast path"
q "ALTER SYSTEM RESET ledger.staff_idle_session_timeout" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
sleep 0.3

# A pooled role whose SET ROLE identity (ledger_dba, through the DBA's role) is taken away.
out=$( { echo "sql regress_fp_pool BEGIN"; echo "sql regress_fp_pool SET LOCAL ROLE ledger_dba"; echo "touch $flag"; after_login "SELECT ledger.retire_staff('regress_fp_dba', '退職')";
         echo "fn regress_fp_pool $lift i:$hold"; } | fp)
echo "$out" | tail -1 | grep -q "ERR fn.*no longer granted"
tap_ok $? "fastpath_revoked_identity_refused: the pooled role cannot lift a hold through the fast path"
tap_is "$(q "SELECT lifted_at IS NULL FROM ledger.legal_hold WHERE hold_id = $hold")" t "the hold is still in place"
tap_is "$(q "SELECT count(*) FROM ledger.audit_event WHERE kind = 'reveal'")" 1 "only the control's reveal happened"

# A call of an internal function PostgreSQL refuses (no EXECUTE) is recorded on the roads
# parse analysis does not see: the fast path, a stored function body, a column default.
refusals() {
    sleep 1.5   # queued, written within ledger.audit_flush_delay
    q "SELECT count(*) FROM ledger.audit_event WHERE kind = 'denied' AND acting_role = 'regress_fp_clerk'
         AND detail = 'refused: permission denied for function $1'"
}
seal_now=$(q "SELECT 'ledger.audit_seal_now()'::regprocedure::oid")
out=$(echo "fn regress_fp_clerk $seal_now" | fp)
tap_ok "$(echo "$out" | grep -q "ERR fn.*permission denied"; echo $?)" "a clerk's fast-path call of an internal function is refused ($out)"
tap_is "$(refusals audit_seal_now)" 1 "fastpath_refused_execute_recorded: the refusal is recorded once"
# The roads parse analysis does not see — a stored function body (BEGIN ATOMIC), a column
# default — are closed before that: staff run no DDL; the refusal is recorded.
ddl_refusals() {
    sleep 1.5
    q "SELECT count(*) FROM ledger.audit_event WHERE kind = 'denied' AND acting_role = 'regress_fp_clerk'
         AND detail = 'statement refused: staff run no DDL'"
}
out=$(mnl_psql fp -d ledger -U regress_fp_clerk -Atc "CREATE FUNCTION pg_temp.atomic_call() RETURNS void LANGUAGE sql BEGIN ATOMIC SELECT ledger._today(); END" 2>&1)
tap_ok "$(echo "$out" | grep -q "staff run no DDL"; echo $?)" "stored_body_road_closed: a clerk stores no function body that calls an internal function ($(echo "$out" | head -1))"
out=$(mnl_psql fp -d ledger -U regress_fp_clerk -Atc "CREATE TEMP TABLE default_call (d date DEFAULT ledger._today())" 2>&1)
tap_ok "$(echo "$out" | grep -q "staff run no DDL"; echo $?)" "default_road_closed: nor a column default that calls one ($(echo "$out" | head -1))"
tap_is "$(ddl_refusals)" 2 "the refusals are recorded"
tap_done
