# Multi-process test: a full audit queue (a session flooding it with reads of its own, the
# writer held up) makes no read go unrecorded or lose whose data it was.  The records that are
# made where nothing may wait or fail — the rows read before a notice, the rows a statement
# read before a subtransaction failed (a PL/pgSQL exception block that catches the error and
# returns what it collected), a failed login — are not dropped: they are kept, made once
# there is room, and nothing is answered before they are durable; a result is never silently
# cut short.  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap 'mnl_session_close_all; mnl_cluster_destroy_all' EXIT

mnl_ledger_cluster qfull "ledger.audit_queue_size = 64" "ledger.audit_queue_timeout = 60000" || exit 1
q() { mnl_psql qfull -d ledger -Atc "$1" 2>&1; }
setup=$(mnl_psql qfull -d ledger -Atq 2>&1 <<'SQL'
INSERT INTO ledger.org_unit VALUES ('131016', 1, '本庁');
SELECT ledger.register_staff('regress_qf_clerk', '受付 満杯', 1, ARRAY['clerk']);
SELECT ledger.enrol_person('131016', 1, (b || ledger.mynumber_check_digit(b))::ledger.mynumber,
                           '満杯', i::text, 'マンパイ', 'イ', '2015-04-02', '千代田区')
FROM (SELECT i, lpad((81000000000 + i)::text, 11, '0') AS b FROM generate_series(1, 30) i) x;
CREATE FUNCTION public.collect_then_fail() RETURNS text LANGUAGE plpgsql AS $$
DECLARE acc text := ''; n int := 0; r record;
BEGIN
    BEGIN
        FOR r IN SELECT given_name FROM ledger.person ORDER BY person_id LOOP
            acc := acc || r.given_name || ' '; n := n + 1;
            IF n = 30 THEN RAISE EXCEPTION 'caught'; END IF;
        END LOOP;
    EXCEPTION WHEN raise_exception THEN NULL;
    END;
    RETURN acc;
END $$;
GRANT EXECUTE ON FUNCTION public.collect_then_fail() TO regress_qf_clerk;
SQL
)
echo "$setup" | grep -q ERROR && { echo "Bail out! setup failed: $setup"; exit 1; }
all_keys=$(q "SELECT string_agg(k, ' ' ORDER BY k) FROM (SELECT ARRAY[municipality_code::text, person_id::text]::text AS k FROM ledger.person) p")

hold_writer() {   # the trail's tables locked: the writer's inserts wait, the queue fills
    mnl_session_open holder qfull postgres
    mnl_session holder "BEGIN; SELECT format('LOCK TABLE %s IN EXCLUSIVE MODE', string_agg(c.oid::regclass::text, ', '))
        FROM pg_class c WHERE c.oid = 'ledger.audit_event'::regclass
           OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'ledger.audit_event'::regclass) \\gexec" >/dev/null
}
fill_queue() {    # a superuser's reads, not waited for (durability off for it): the queue full
    mnl_psql qfull -d ledger -Atc "SET ledger.audit_read_durable = off" \
        -c "DO \$\$ BEGIN FOR i IN 1..100 LOOP PERFORM count(*) FROM ledger.person; END LOOP; END \$\$" >/dev/null 2>&1 &
    local i
    for i in $(seq 1 100); do
        [ "$(q "SELECT queued >= 64 FROM ledger.audit_writer_status()")" = t ] && return 0
        sleep 0.1
    done
    return 1
}
keys_of() {   # keys_of DETAIL_CONDITION: the keys the clerk's person reads with that detail name
    q "SELECT string_agg(DISTINCT k, ' ' ORDER BY k) FROM (
         SELECT ARRAY[municipality_code::text, person_id::text]::text AS k, person_id FROM ledger.person) p
       WHERE k IN (SELECT kk::text FROM ledger.audit_event e, ledger.audit_read_keys(e.row_key) kk
                    WHERE e.kind = 'select' AND e.acting_role = 'regress_qf_clerk'
                      AND e.relation_name = 'ledger.person' AND $1)"
}

# 1. A notice after every row was read, while the queue is full.
hold_writer
fill_queue
tap_ok $? "a session of reads fills the queue while the writer is held up ($(q "SELECT queued FROM ledger.audit_writer_status()") queued)"
mnl_session_open clerk qfull regress_qf_clerk
# (a notice half-way through the rows: "word is too long" for the 20th)
mnl_session_send clerk "SELECT person_id, given_name, CASE WHEN person_id = (SELECT min(person_id) + 19 FROM ledger.person)
                               THEN to_tsvector('simple', repeat('x', 3000)) IS NULL END AS noise FROM ledger.person ORDER BY person_id"
sleep 1
mnl_session holder "COMMIT" >/dev/null   # the writer goes on: room again
mnl_session_wait clerk
answered=$R
tap_is "$(echo "$answered" | grep -c '^[0-9]*|')" 30 \
    "notice_under_full_queue_answers_whole_result: the rows before a notice that could not be recorded are not dropped: the result is whole"
mnl_session_close clerk
# ... and a notice after every row was read, by an aggregate: their record still names them
hold_writer
fill_queue
mnl_session_open clerk qfull regress_qf_clerk
mnl_session_send clerk "SELECT to_tsvector('simple', repeat('x', 3000 + 0 * count(*)::int)) IS NULL AS noise, count(*) AS n,
                               string_agg(given_name, ' ') FROM ledger.person"
sleep 1
mnl_session holder "COMMIT" >/dev/null
mnl_session_wait clerk
sleep 1.5
tap_is "$(keys_of "true")" "$all_keys" \
    "notice_under_full_queue_names_rows: the rows read before a notice that could not be recorded are named by the read's own record"
mnl_session_close clerk

# 2. A function that catches the failure of its own read and returns what it collected.
hold_writer
fill_queue
tap_ok $? "the queue is full again ($(q "SELECT queued FROM ledger.audit_writer_status()") queued)"
mnl_session_open clerk2 qfull regress_qf_clerk
mnl_session_send clerk2 "SELECT length(public.collect_then_fail()) > 0 AS collected"
sleep 1
mnl_session holder "COMMIT" >/dev/null
mnl_session_wait clerk2
tap_is "$(echo "$R" | tail -1)" t "the function returned what it collected"
sleep 1.5
tap_is "$(keys_of "e.detail = 'statement failed'")" "$all_keys" \
    "exception_block_read_under_full_queue_recorded: the read a caught exception ended is recorded, naming its rows, before the function's answer"
mnl_session_close clerk2

# 3. A statement that fails after its reads, at the top level, with a side effect that
# outlives its transaction (an advisory lock): the record the full queue had no room for is
# owed, and the session's next statement makes it before it runs.
failed_reads() { q "SELECT count(*) FROM ledger.audit_event WHERE kind = 'select' AND acting_role = 'regress_qf_clerk'
                      AND relation_name = 'ledger.person' AND detail = 'statement failed'"; }
before=$(failed_reads)
hold_writer
fill_queue
mnl_session_open clerk3 qfull regress_qf_clerk
# (its side effect, here an advisory lock taken before it failed, outlives its transaction)
mnl_session_send clerk3 "SELECT pg_try_advisory_lock(person_id) AND person_id / (person_id - (SELECT max(person_id) FROM ledger.person)) > 0
                         FROM (SELECT person_id FROM ledger.person ORDER BY person_id) p"
mnl_session_wait clerk3
failed=$R
mnl_session holder "COMMIT" >/dev/null
mnl_session clerk3 "SELECT 1" >/dev/null
sleep 1.5
tap_ok "$(echo "$failed" | grep -q "ERROR"; echo $?)" "the statement failed after it read ($(echo "$failed" | head -1 | cut -c1-80))"
tap_is "$(( $(failed_reads) - before ))" 1 \
    "top_level_failed_read_under_full_queue_owed: a failed statement's read the full queue had no room for is recorded before the session's next statement"
mnl_session_close clerk3

# 4. A failed login while the queue is full waits for room instead of being dropped.
hold_writer
fill_queue
before=$(q "SELECT count(*) FROM ledger.audit_event WHERE kind = 'login_failed'")
( PGHOST="${MNL_CLUSTER_DIR[qfull]}/sock" PGPORT=5432 "$MNL_PGBIN/psql" -X -U regress_qf_nobody -d ledger -c "SELECT 1" >/dev/null 2>&1 ) &
login=$!
sleep 1
mnl_session holder "COMMIT" >/dev/null
wait "$login"
sleep 1.5
tap_is "$(q "SELECT count(*) - $before FROM ledger.audit_event WHERE kind = 'login_failed'")" 1 \
    "failed_login_under_full_queue_recorded: a failed login waits for room in the queue instead of being dropped"
mnl_session_close holder
tap_done
