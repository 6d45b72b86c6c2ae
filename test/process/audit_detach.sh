# Multi-process test: the audit trail's own retention.  Months past ledger.audit_retention are
# detached only once sealed, after a verification checkpoint; ledger.verify_audit() then
# verifies from the checkpoint, the writer goes on, and the checkpoint cannot be altered.
# (The trail cannot be backdated from SQL, so the test detaches the current month by giving
# the internal function a cutoff one month ahead.)  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap mnl_cluster_destroy_all EXIT

mnl_ledger_cluster detach "ledger.audit_sessions = off" || exit 1
q() { mnl_psql detach -d ledger -Atc "$1" 2>&1; }
mnl_psql detach -d ledger -c "CREATE TABLE t (id int PRIMARY KEY, v text)" \
    -c "SELECT ledger.audit_table('t')" >/dev/null
q "INSERT INTO t SELECT i, 'v' FROM generate_series(1, 50) i" >/dev/null
q "SELECT count(*) FROM t" >/dev/null
sleep 1.5
q "SELECT ledger.audit_seal_now()" >/dev/null
# a digest kept outside now, then two more blocks before the detach
old_digest=$(q "SELECT block_seq || ',' || encode(block_hash, 'hex') FROM ledger.audit_digest()")
for i in 1001 1002; do q "INSERT INTO t VALUES ($i, 'w')" >/dev/null; sleep 1.1; q "SELECT ledger.audit_seal_now()" >/dev/null; done
month="audit_event_$(q "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYYMM')")"
before=$(q "SELECT count(*) FROM ledger.audit_event")
tap_is "$(q "SELECT count(*) FROM ledger.verify_audit()")" 0 "the trail verifies before"
detach="SELECT ledger._audit_detach_before(pg_catalog.date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '1 month')"
out=""
for _ in $(seq 1 20); do           # until every record of the month is sealed
    out=$(q "$detach")
    echo "$out" | grep -q "not sealed yet" || break
    sleep 0.5
done
tap_is "$out" "{$month}" "audit_partition_detached: the month past the cutoff is detached once sealed"
tap_is "$(q "SELECT count(*) FROM ledger.audit_checkpoint WHERE detached = ARRAY['$month']")" 1 \
    "a verification checkpoint records it"
tap_is "$(q "SELECT count(*) FROM ledger.$month")" "$before" "the detached table keeps its records for archiving"
tap_is "$(q "SELECT count(*) FROM ledger.verify_audit()")" 0 "audit_verifies_from_checkpoint: the trail verifies from the checkpoint"
q "INSERT INTO t VALUES (51, 'after')" >/dev/null
q "SELECT ledger._audit_add_partitions(3)" >/dev/null
tap_ok $? "the writer's partition maintenance goes on (the detached month is not recreated)"
sleep 1.5
q "SELECT ledger.audit_seal_now()" >/dev/null
tap_is "$(q "SELECT count(*) FROM ledger.audit_event WHERE relation_name = 'public.t' AND kind = 'insert'")" 1 \
    "new records go on being written"
tap_is "$(q "SELECT count(*) FROM ledger.verify_audit()")" 0 "and the chain after the checkpoint verifies"
# While the detached month is kept (nobody can drop it through SQL: it is the trail's), the
# chain is still recomputed from its first block over it: a digest from before the detach is
# compared, and a record rewritten in the detached month is caught.
new_digest=$(q "SELECT block_seq || ',' || encode(block_hash, 'hex') FROM ledger.audit_digest()")
tap_is "$(q "SELECT count(*) FROM ledger.verify_audit(${new_digest%,*}, decode('${new_digest#*,}', 'hex'))")" 0 \
    "the trail verifies against a digest taken after the detach"
tap_is "$(q "SELECT count(*) FROM ledger.verify_audit(${old_digest%,*}, decode('${old_digest#*,}', 'hex'))")" 0 \
    "old_digest_compared_after_detach: a digest from before the detach is compared through the kept month"
tap_is "$(q "SELECT count(*) FROM ledger.verify_audit(${old_digest%,*}, sha256('bogus'))")" 1 \
    "bogus_old_digest_reported: a made-up digest from before the detach does not verify"
said=$(mnl_psql detach -d ledger -At <<SQL 2>&1
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE pg_trigger SET tgenabled = 'D' WHERE tgrelid = 'ledger.$month'::regclass;
UPDATE ledger.$month SET detail = 'forged' WHERE event_id = (SELECT min(event_id) FROM ledger.$month);
SELECT problem FROM ledger.verify_audit();
ROLLBACK;
SQL
)
echo "$said" | grep -q "record content does not match its hash"
tap_ok $? "detached_month_still_verified: a record rewritten in the detached month is caught ($(echo "$said" | tail -2 | head -1))"
# A detached month removed by editing the catalogs (nobody can drop it through SQL): reported.
q "UPDATE pg_class SET relname = 'x_$month' WHERE relname = '$month' AND relnamespace = 'ledger'::regnamespace" >/dev/null
said=$(q "SELECT problem FROM ledger.verify_audit(${new_digest%,*}, decode('${new_digest#*,}', 'hex'))")
q "UPDATE pg_class SET relname = '$month' WHERE relname = 'x_$month' AND relnamespace = 'ledger'::regnamespace" >/dev/null
echo "$said" | grep -q "no longer kept in schema ledger"
tap_ok $? "detached_month_removed_reported: a detached month taken away is reported, even against the latest digest"
out=$(q "UPDATE ledger.audit_checkpoint SET block_hash = '\\x00'")
echo "$out" | grep -q "append-only"
tap_ok $? "checkpoint_tamper_refused: the checkpoint cannot be changed through SQL"
tap_done
