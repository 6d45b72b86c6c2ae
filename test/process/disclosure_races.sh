# Multi-process test: the disclosure limits hold with concurrent sessions of one staff member
# (ATTACKS.md §3: N sessions racing the same limit).  Several sessions of the same examiner
# reveal at once against the daily quota, and race to use one bulk approval; what reached
# the clients never exceeds the limit.  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap 'mnl_cluster_destroy_all' EXIT

mnl_ledger_cluster races || exit 1
q() { mnl_psql races -d ledger -Atc "$1" 2>&1; }
mnl_psql races -d ledger >/dev/null <<'SQL'
INSERT INTO ledger.org_unit VALUES ('131016', 1, '本庁');
UPDATE ledger.duty SET reveal_quota_per_day = 20 WHERE duty_code = 'examiner';
SELECT ledger.register_staff('regress_racer', '審査 競争', 1, ARRAY['examiner']);
SELECT ledger.register_staff('regress_bulk', '審査 一括', 1, ARRAY['examiner']);
SELECT ledger.register_staff('regress_appr', '決裁', 1, ARRAY['approver']);
SELECT ledger.enrol_person('131016', 1, (b || ledger.mynumber_check_digit(b))::ledger.mynumber, '競争', i::text, 'キョウソウ', 'イ', '2015-04-02', '千代田区')
FROM (SELECT i, lpad((30000000000 + i)::text, 11, '0') AS b FROM generate_series(1, 60) i) x;
SQL

SESSIONS=4
start_at=$(q "SELECT extract(epoch FROM clock_timestamp() + interval '2 seconds')")

# Each session: wait for the common start, then try TRIES reveals one statement at a time;
# prints how many numbers it got.
racer() {
    local role=$1 tries=$2 offset=$3
    PGHOST="${MNL_CLUSTER_DIR[races]}/sock" PGPORT=5432 "$MNL_PGBIN/psql" -X -q -At -U "$role" -d ledger <<SQL 2>/dev/null | grep -c '^[0-9]\{12\}$'
SELECT pg_sleep(greatest(0, $start_at - extract(epoch FROM clock_timestamp()))) \\g /dev/null
$(for i in $(seq 1 "$tries"); do
    echo "SELECT ledger.reveal_person_number('131016', (SELECT person_id FROM ledger.person ORDER BY person_id OFFSET $(( (offset + i) % 60 )) LIMIT 1), '競合試験');"
  done)
SQL
}
pids=""
for s in $(seq 1 $SESSIONS); do
    racer regress_racer 10 $((s * 10)) >"$MNL_RESULTS/races_$s.count" &
    pids="$pids $!"
done
wait $pids
got=$(cat "$MNL_RESULTS"/races_*.count | awk "{ s += \$1 } END { print s + 0 }")
tap_is "$got" 20 "quota_exact_with_concurrent_sessions: $SESSIONS sessions of one examiner, 10 tries each, quota 20"
tap_is "$(q "SELECT reveals FROM ledger.reveal_tally WHERE role_name = 'regress_racer'")" 20 \
    "the tally counts exactly the reveals that were returned"
tap_is "$(q "SELECT count(*) FROM ledger.audit_event WHERE kind = 'reveal' AND acting_role = 'regress_racer'")" 20 \
    "every returned number has its reveal record"

# One approval for a bulk reveal of 3, four sessions racing to use it: one gets the numbers.
q "SET ROLE regress_bulk; SELECT ledger.request_disclosure_approval('bulk_reveal', 3, '一括競合')" >"$MNL_RESULTS/races_req"
req=$(cat "$MNL_RESULTS/races_req")
q "SET ROLE regress_appr; SELECT ledger.approve_disclosure($req)" >/dev/null
q "ALTER SYSTEM SET ledger.bulk_reveal_threshold = 2" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
start_at=$(q "SELECT extract(epoch FROM clock_timestamp() + interval '2 seconds')")
bulk() {
    PGHOST="${MNL_CLUSTER_DIR[races]}/sock" PGPORT=5432 "$MNL_PGBIN/psql" -X -q -At -U regress_bulk -d ledger <<SQL 2>/dev/null | grep -c '^3$'
SELECT pg_sleep(greatest(0, $start_at - extract(epoch FROM clock_timestamp()))) \\g /dev/null
SELECT count(*) FROM jsonb_object_keys(ledger.reveal_people('131016',
    (SELECT array_agg(person_id) FROM (SELECT person_id FROM ledger.person ORDER BY person_id DESC LIMIT 3) x), '一括競合'));
SQL
}
pids=""
for s in $(seq 1 $SESSIONS); do
    bulk >"$MNL_RESULTS/bulk_$s.count" &
    pids="$pids $!"
done
wait $pids
tap_is "$(cat "$MNL_RESULTS"/bulk_*.count | awk "{ s += \$1 } END { print s + 0 }")" 1 \
    "approval_used_once_with_concurrent_sessions: one bulk approval, $SESSIONS sessions racing, one bulk reveal"
tap_is "$(q "SELECT used_count FROM ledger.disclosure_approval WHERE approval_id = $req")" 3 "the approval is spent"
tap_done
