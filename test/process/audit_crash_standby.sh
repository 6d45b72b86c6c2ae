# Multi-process test: the audit trail across a crash and on a hot standby.
#   crash:   committed changes keep their records, an in-flight transaction leaves neither
#            rows nor records, and the chain still verifies after crash recovery;
#   standby: audited reads are refused with a clear error (the trail cannot be written
#            during recovery), unaudited work and verification are not.
# TAP output.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap mnl_cluster_destroy_all EXIT

mnl_ledger_cluster primary "wal_level = replica" "max_wal_senders = 4" "hot_standby = on" || exit 1
p() { mnl_psql primary -d ledger -Atc "$1" 2>&1; }
mnl_psql primary -d ledger -c "CREATE TABLE child (id int PRIMARY KEY, name text)" \
    -c "SELECT ledger.audit_table('child')" -c "CREATE TABLE note (id int)" >/dev/null

for i in $(seq 1 20); do p "INSERT INTO child VALUES ($i, 'child $i')" >/dev/null; done
p "UPDATE child SET name = name || ' (updated)' WHERE id % 2 = 0" >/dev/null

# A transaction in flight when the server dies.
dir=${MNL_CLUSTER_DIR[primary]}
( echo "BEGIN; INSERT INTO child SELECT g, 'in flight' FROM generate_series(100, 199) g; SELECT pg_sleep(30);" |
  mnl_psql primary -d ledger >/dev/null 2>&1 ) &
sleep 1
mnl_as_postgres "$MNL_PGBIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1
wait
mnl_cluster_start primary
mnl_wait_writer primary ledger
tap_is "$(p "SELECT count(*) FROM child")" 20 "crash: committed rows survive, the in-flight ones are gone"
tap_is "$(p "SELECT count(*) FROM ledger.audit_event WHERE relation_name = 'public.child' AND kind = 'insert'")" 20 \
    "crash_keeps_row_records: every committed insert has its record after crash recovery"
tap_is "$(p "SELECT count(*) FROM ledger.audit_event WHERE relation_name = 'public.child' AND kind = 'update'")" 10 \
    "crash_keeps_row_records: and every committed update"
tap_is "$(p "SELECT count(*) FROM ledger.audit_event WHERE relation_name = 'public.child' AND row_key[1]::int >= 100")" 0 \
    "crash: the in-flight transaction left no record"
p "SELECT ledger.audit_seal_now()" >/dev/null
tap_is "$(p "SELECT count(*) FROM ledger.verify_audit()")" 0 "crash: the chain verifies after recovery"

# A hot standby of the primary.
mnl_cluster_dir standby >/dev/null
sdir=${MNL_CLUSTER_DIR[standby]}
mnl_as_postgres "$MNL_PGBIN/pg_basebackup" -h "$dir/sock" -p 5432 -U postgres -D "$sdir/data" -R -X stream >/dev/null 2>&1
tap_ok $? "pg_basebackup makes a standby"
mnl_as_postgres mkdir -p "$sdir/sock"
echo "unix_socket_directories = '$sdir/sock'" | mnl_as_postgres tee -a "$sdir/data/postgresql.conf" >/dev/null
mnl_cluster_start standby
s() { mnl_psql standby -d ledger -Atc "$1" 2>&1; }
for i in $(seq 1 40); do [ "$(s "SELECT count(*) FROM note")" = 0 ] && break; sleep 0.25; done
tap_is "$(s "SELECT pg_is_in_recovery()")" t "the standby is in recovery"
out=$(s "SELECT * FROM child")
echo "$out" | grep -q "could not record an audit event: the server is in recovery"
tap_ok $? "standby_refuses_audited_reads: an audited read is refused on a standby"
echo "$out" | grep -q "HINT:  Audited reads and reveals are refused on a standby"
tap_ok $? "standby_refuses_audited_reads: the hint says to use the primary"
tap_is "$(s "SELECT count(*) FROM note")" 0 "unaudited tables read normally on the standby"
tap_is "$(s "SELECT '1234 5678 9018'::ledger.mynumber")" 123456789018 "number types work on the standby"
tap_is "$(s "SELECT count(*) FROM ledger.verify_audit()")" 0 "the trail verifies on the standby"
tap_is "$(s "SELECT ready FROM ledger.audit_writer_status()")" f "no audit writer runs on the standby"
tap_done
