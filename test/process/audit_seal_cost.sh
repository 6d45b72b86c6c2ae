# Multi-process test: sealing reads the new records, not the month's partition.  The seal walk
# finds the records of [lo, hi) through the BRIN index on xact_id; a range of pages the index
# has not summarized matches every search, so after a burst of records (and until a VACUUM)
# each seal, every second, read every page written since — hundreds of milliseconds a seal
# after a busy hour, holding the sealing lock.  The writer summarizes the new pages before it
# seals.  Autovacuum is off here, so nothing else summarizes.  No timing is asserted: the
# pages a narrow search of the trail reads are counted.  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap 'mnl_session_close_all; mnl_cluster_destroy_all' EXIT

mnl_ledger_cluster sealcost "ledger.audit_seal_interval = '200ms'" "autovacuum = off" || exit 1
q() { mnl_psql sealcost -d ledger -Atc "$1" 2>&1; }
sealed() {  # sealed XID: wait until a block covers the transaction XID
    local i
    for i in $(seq 1 100); do
        [ "$(q "SELECT count(*) FROM ledger.audit_block WHERE xact_hi > $1")" -gt 0 ] && return 0
        sleep 0.2
    done
    return 1
}
q "CREATE TABLE w (id int PRIMARY KEY, v text); SELECT ledger.audit_table('w')" >/dev/null
burst=$(q "INSERT INTO w SELECT g, md5(g::text) FROM generate_series(1, 40000) g; SELECT txid_current()" | tail -1)
sealed "$burst"
tap_ok $? "a burst of 40,000 records is sealed"
pages=$(q "SELECT pg_relation_size(tableoid) / 8192 FROM ledger.audit_event ORDER BY event_id DESC LIMIT 1")
one=$(q "INSERT INTO w VALUES (0, 'after the burst'); SELECT txid_current()" | tail -1)
sealed "$one"
tap_ok $? "the record after the burst is sealed"
lossy=$(q "SET enable_seqscan = off; EXPLAIN (ANALYZE, FORMAT JSON) SELECT * FROM ledger.audit_event WHERE xact_id >= $one AND xact_id < $one + 1" |
    grep -o '"Lossy Heap Blocks": [0-9]*' | awk '{ s += $NF } END { print s + 0 }')
[ "$pages" -gt 1000 ] && [ "$lossy" -le 384 ]
tap_ok $? "seal_reads_new_pages_only: a search for the newest record reads $lossy of the partition's $pages pages (at most three summarized ranges of 128)"

# The writer never waits for a partition another process holds (autovacuum summarizes it and
# would give up its work for a waiter): it skips the summary and seals all the same.
mnl_session_open holder sealcost postgres
part=$(q "SELECT tableoid::regclass FROM ledger.audit_event ORDER BY event_id DESC LIMIT 1")
mnl_session holder "BEGIN; LOCK TABLE $part IN SHARE UPDATE EXCLUSIVE MODE" >/dev/null
held=$(q "INSERT INTO w VALUES (-1, 'while the partition is held'); SELECT txid_current()" | tail -1)
sealed "$held"
tap_ok $? "seal_does_not_wait_for_partition_lock: a record is sealed while another session holds its partition"
mnl_session holder "COMMIT" >/dev/null
tap_is "$(q "SELECT count(*) FROM ledger.verify_audit()")" 0 "the trail verifies"
tap_done
