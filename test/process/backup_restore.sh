# Multi-process test: a ledger restored whole from a logical backup goes on working.  A server
# with the sample municipality (a payment run, a retention run) is backed up the way
# docs/operations.md says (pg_dumpall --globals-only for the staff roles, pg_dump -Fc of the
# ledger); a new server with the same key-encryption key restores both.  After the restore a
# payment run and a retention run succeed and number their runs after the restored ones (the
# sequences of the run tables are dumped with their rows), the sealed numbers open, and the new
# server's writer seals the restored trail.  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap 'mnl_cluster_destroy_all' EXIT

mnl_ledger_cluster src || exit 1
src=${MNL_CLUSTER_DIR[src]}
out=$(mnl_psql src -d ledger -v ON_ERROR_STOP=1 -q -f "$MNL_ROOT/scripts/sample.sql" 2>&1)
tap_ok $? "the sample municipality is loaded (a payment run of 2026-10) ($(echo "$out" | grep ERROR | head -1))"
out=$(mnl_psql src -d ledger -v ON_ERROR_STOP=1 -Atc "CALL ledger.run_retention()" 2>&1)
tap_ok $? "a retention run before the backup ($(echo "$out" | grep ERROR | head -1))"
qs() { mnl_psql src -d ledger -Atc "$1" 2>&1; }
reveal="SET ROLE examiner_1; SELECT md5(string_agg(ledger.reveal_person_number('131016', person_id, '復元確認')::text, ',' ORDER BY person_id))
        FROM (SELECT person_id FROM ledger.person ORDER BY person_id LIMIT 3) p"
numbers_before=$(qs "$reveal")
runs_before="$(qs "SELECT max(run_id) FROM ledger.payment_run")|$(qs "SELECT max(run_id) FROM ledger.retention_run")"
persons=$(qs "SELECT count(*) FROM ledger.person")

mnl_as_postgres "$MNL_PGBIN/pg_dumpall" -h "$src/sock" -U postgres --globals-only -f "$src/globals.sql"
tap_ok $? "pg_dumpall --globals-only (the staff roles)"
mnl_as_postgres "$MNL_PGBIN/pg_dump" -h "$src/sock" -U postgres -Fc -f "$src/ledger.dump" ledger
tap_ok $? "pg_dump -Fc of the ledger"
mnl_cluster_stop src

# The new server: the same key-encryption key (kept outside, as the old server's was).
mnl_cluster_create dst "ledger.database = 'ledger'" || { echo "Bail out! initdb failed"; exit 1; }
dst=${MNL_CLUSTER_DIR[dst]}
mnl_as_postgres cp "$src/kek" "$dst/kek"
mnl_cluster_start dst || { echo "Bail out! cluster did not start"; exit 1; }
# the roles (the new server's own superuser exists already)
out=$(grep -v '^CREATE ROLE postgres;' "$src/globals.sql" | mnl_psql dst -d postgres -v ON_ERROR_STOP=1 -q 2>&1)
tap_ok $? "the staff roles and their memberships load into the new server ($(echo "$out" | grep ERROR | head -1))"
mnl_psql dst -d postgres -c "CREATE DATABASE ledger" >/dev/null
out=$(mnl_as_postgres "$MNL_PGBIN/pg_restore" -h "$dst/sock" -U postgres --exit-on-error -d ledger "$src/ledger.dump" 2>&1)
tap_ok $? "pg_restore into the new server ($(echo "$out" | head -2 | tr '\n' ' '))"
mnl_wait_writer dst ledger
qd() { mnl_psql dst -d ledger -Atc "$1" 2>&1; }
tap_is "$(qd "SELECT count(*) FROM ledger.person")" "$persons" "every person restored ($persons)"
tap_is "$(qd "$reveal")" "$numbers_before" "restored_numbers_open: the sealed numbers open on the new server"

out=$(mnl_psql dst -d ledger -v ON_ERROR_STOP=1 -Atc "SET ROLE payment_job" -c "CALL ledger.prepare_payments('2026-12-01')" 2>&1)
tap_ok $? "payment_run_after_restore: a payment run succeeds on the restored ledger ($(echo "$out" | grep ERROR | head -1))"
out=$(mnl_psql dst -d ledger -v ON_ERROR_STOP=1 -Atc "CALL ledger.run_retention()" 2>&1)
tap_ok $? "retention_run_after_restore: a retention run succeeds on the restored ledger ($(echo "$out" | grep ERROR | head -1))"
after="$(qd "SELECT min(run_id) FROM ledger.payment_run WHERE payment_month = '2026-12-01'")|$(qd "SELECT max(run_id) FROM ledger.retention_run")"
tap_ok "$([ "${after%|*}" -gt "${runs_before%|*}" ] && [ "${after#*|}" -gt "${runs_before#*|}" ]; echo $?)" \
    "run_ids_continue_after_restore: the new runs are numbered after the restored ones (before $runs_before, after $after)"
tap_is "$(qd "SELECT count(*) FROM ledger.payment WHERE payment_month = '2026-12-01'" | awk '{print ($1 > 0)}')" 1 \
    "the restored ledger's payment run created the payments of 2026-12"
# the restore's own records and those after it are sealed by the new server's writer
for i in $(seq 1 60); do
    [ "$(qd "SELECT count(*) FROM ledger.verify_audit()")" = 0 ] && break
    qd "SELECT ledger.audit_seal_now()" >/dev/null
    sleep 0.5
done
tap_is "$(qd "SELECT count(*) FROM ledger.verify_audit()")" 0 "restored_trail_sealed: the new server's writer seals the restored trail and it verifies"
tap_done
