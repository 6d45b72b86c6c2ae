# Multi-process test: the row keys of a very large read are split over a few records, not
# lost and not one record per row.  A cluster with a small key buffer (ledger.audit_key_buffer
# = 256kB: at most 64 kB of keys per record) reads 30,000 scattered rows (every other id):
# the keys take several records, each within the limit, together naming every row once,
# with the row count on the first.  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap 'mnl_cluster_destroy_all' EXIT

mnl_ledger_cluster split "ledger.audit_key_buffer = 256kB" || exit 1
q() { mnl_psql split -d ledger -Atc "$1" 2>&1; }
mnl_psql split -d ledger >/dev/null <<'SQL'
INSERT INTO ledger.org_unit VALUES ('131016', 1, '本庁'), ('131016', 2, '出張所');
SELECT ledger.register_staff('regress_s_clerk', '受付', 1, ARRAY['clerk']);
CREATE TABLE public.wide (id bigint PRIMARY KEY, org_unit_id int NOT NULL);
INSERT INTO public.wide SELECT i, 1 + i % 2 FROM generate_series(1, 60000) i;
SELECT ledger.protect_table('public.wide', 'org_unit_id');
GRANT SELECT ON public.wide TO ledger_staff;
SQL
PGHOST="${MNL_CLUSTER_DIR[split]}/sock" PGPORT=5432 "$MNL_PGBIN/psql" -X -q -U regress_s_clerk -d ledger \
    -c "SELECT count(*) FROM public.wide" >/dev/null
sel="kind = 'select' AND acting_role = 'regress_s_clerk' AND relation_name = 'public.wide'"
for i in $(seq 1 50); do
    [ "$(q "SELECT count(*) FROM ledger.audit_event WHERE $sel")" -gt 1 ] && break
    sleep 0.2
done
sleep 1
records=$(q "SELECT count(*) FROM ledger.audit_event WHERE $sel")
tap_ok "$([ "$records" -gt 1 ] && [ "$records" -le 10 ]; echo $?)" \
    "large_read_split_over_few_records: 30,000 scattered rows in $records records"
tap_is "$(q "SELECT max(octet_length(array_to_string(row_key, ',')) + cardinality(row_key)) <= 65536 FROM ledger.audit_event WHERE $sel")" t \
    "each record within a quarter of the key buffer"
tap_is "$(q "SELECT count(*), count(DISTINCT k) FROM ledger.audit_event e, ledger.audit_read_keys(e.row_key) k WHERE $sel")" "30000|30000" \
    "large_read_keys_complete: every row named, once"
tap_is "$(q "SELECT count(row_count), sum(row_count) FROM ledger.audit_event WHERE $sel")" "1|1" \
    "the row count on the first record only (reports sum it once)"
tap_is "$(q "SELECT count(*) FROM ledger.audit_event WHERE $sel AND detail LIKE 'row keys, part % of $records'")" "$records" \
    "each record says which part it is"
# A database without the extension reads its tables as ever (the planner hooks ask nothing
# of the extension there).
tap_is "$(mnl_psql split -d postgres -Atc "SELECT count(*) > 0 FROM pg_class" 2>&1)" t \
    "non_ledger_database_reads_fail: a table read in a database without the extension works"
tap_done
