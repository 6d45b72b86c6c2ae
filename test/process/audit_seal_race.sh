# Multi-process test: sealing under concurrency.  Four pgbench clients commit audited writes
# and call ledger.audit_seal_now() as fast as they can while the writer seals on its own
# schedule; every sealer must see the blocks and the records of every transaction that
# finished before its horizon.  A sealer that read them under an older snapshot sealed a
# block another had already sealed (duplicate block) or left finished records out of the
# block they belong to ("inserted" on verification).  Meanwhile another session holds the
# advisory lock sealing once used, which anyone can take: sealing must not wait for it.  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap mnl_cluster_destroy_all EXIT

mnl_ledger_cluster seal "ledger.audit_seal_interval = '50ms'" "max_connections = 40" || exit 1
q() { mnl_psql seal -d ledger -Atc "$1" 2>&1; }
q "CREATE TABLE race (id bigserial PRIMARY KEY, v int); SELECT ledger.audit_table('race')" >/dev/null
writer=$(q "SELECT writer_pid FROM ledger.audit_writer_status()")

dir=${MNL_CLUSTER_DIR[seal]}
cat >"$dir/race.sql" <<'SQL'
INSERT INTO race (v) VALUES (1), (2);
SELECT ledger.audit_seal_now();
SQL
chown postgres "$dir/race.sql"
before=$(q "SELECT coalesce(max(block_seq), 0) FROM ledger.audit_block")
(mnl_psql seal -d ledger -c "SELECT pg_advisory_lock(1835953152, 1936023916), pg_sleep(20)" >/dev/null 2>&1 &)
sleep 1
(cd "$dir" && mnl_as_postgres "$MNL_PGBIN/pgbench" -h "$dir/sock" -U postgres -n -c 4 -j 4 -T 15 -f "$dir/race.sql" ledger) \
    >"$dir/race.out" 2>&1
tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$dir/race.out")
[ -n "$tx" ] && [ "$tx" -gt 100 ]
tap_ok $? "the clients committed writes and sealed concurrently (${tx:-0} transactions)"
tap_is "$(grep -c 'duplicate key\|ERROR' "$dir/race.out")" 0 "seal_race_no_duplicate_block: no sealer sealed a block twice"
tap_is "$(q "SELECT writer_pid FROM ledger.audit_writer_status()")" "$writer" "the writer never stopped"
tap_ok "$([ "$(q "SELECT max(block_seq) FROM ledger.audit_block")" -gt $((before + 50)) ]; echo $?)" \
    "seal_not_blocked_by_advisory_lock: sealing went on while another session held the old advisory lock"
q "SELECT ledger.audit_seal_now()" >/dev/null
tap_is "$(q "SELECT count(*) FROM ledger.verify_audit()")" 0 \
    "seal_race_blocks_complete: every block holds exactly the records of its transactions"
tap_is "$(q "SELECT count(*) FROM ledger.audit_event e WHERE e.relation_name = 'public.race'
             AND NOT EXISTS (SELECT 1 FROM ledger.audit_block b WHERE e.xact_id >= b.xact_lo AND e.xact_id < b.xact_hi)")" 0 \
    "every committed write is sealed after a final seal"
tap_done
