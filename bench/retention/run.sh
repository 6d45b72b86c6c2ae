#!/usr/bin/env bash
# bench/retention/run.sh [ROWS] — delete ROWS (default 1,000,000) expired certifications with
# CALL ledger.run_retention while one pgbench client keeps updating live rows as a staff
# member; compares the client's latency (p50/p99) before and during the run, in the same
# session of the same cluster, and counts its errors.  Writes bench/results/retention.md.
ROWS=${1:-1000000}
. "$(dirname "$0")/../lib.sh"
mnl_cluster_create bench "ledger.database = 'bench'" "shared_buffers = 1GB" "jit = off" "max_wal_size = 8GB" \
    "checkpoint_timeout = 30min"
mnl_cluster_start bench
dir=${MNL_CLUSTER_DIR[bench]}
mnl_psql bench -d postgres -c "CREATE DATABASE bench" >/dev/null
mnl_psql bench -d bench -c "CREATE EXTENSION mynumber_ledger" >/dev/null
mnl_wait_writer bench bench
mnl_psql bench -d bench -v rows="$ROWS" >/dev/null <<'SQL'
INSERT INTO ledger.org_unit VALUES ('131016', 1, '本庁');
SELECT ledger.register_staff('bench_clerk', 'bench', 1, ARRAY['clerk']);
INSERT INTO ledger.person (municipality_code, person_id, org_unit_id, family_name, given_name, birth_date)
SELECT '131016', i, 1, 'x', 'y', '2010-04-02' FROM generate_series(1, :rows + 10000) i;
INSERT INTO ledger.recipient (municipality_code, recipient_id, person_id, org_unit_id)
SELECT '131016', i, i, 1 FROM generate_series(1, :rows + 10000) i;
-- :rows expired, 10,000 live (ids above)
INSERT INTO ledger.certification (municipality_code, certification_id, recipient_id, org_unit_id, claim_date,
                                  monthly_amount, extinguished_on, extinction_reason, status)
SELECT '131016', i, i, 1, '2010-05-01', 10000,
       CASE WHEN i <= :rows THEN date '2015-01-01' END, CASE WHEN i <= :rows THEN '転出' END,
       CASE WHEN i <= :rows THEN 'extinguished' ELSE 'certified' END
FROM generate_series(1, :rows + 10000) i;
VACUUM ANALYZE ledger.certification;
SQL
cat > "$dir/live.sql" <<SQL
\set id random($((ROWS + 1)), $((ROWS + 10000)))
UPDATE ledger.certification SET monthly_amount = monthly_amount + 1 WHERE municipality_code = '131016' AND certification_id = :id;
SQL
chown postgres "$dir/live.sql"
pgb() { (cd "$dir" && mnl_as_postgres "$MNL_PGBIN/pgbench" -h "$dir/sock" -U bench_clerk -n -c 1 -f "$dir/live.sql" "$@" bench); }

# Baseline: the client alone.
pgb -T 20 -l --log-prefix="$dir/base" >"$dir/base.out" 2>&1
# During: the same client while the run deletes.
pgb -T 600 -l --log-prefix="$dir/during" >"$dir/during.out" 2>&1 &
sleep 2
t0=$(date +%s.%N)
mnl_psql bench -d bench -c "CALL ledger.run_retention(batch_size => 1000)" >/dev/null
t1=$(date +%s.%N)
mnl_as_postgres pkill -INT -f "pgbench.*during" 2>/dev/null || pkill -INT -f "pgbench.*during"
wait || true   # pgbench exits non-zero when interrupted
deleted=$(mnl_psql bench -d bench -Atc "SELECT sum(row_count) FROM ledger.deletion_record")
batches=$(mnl_psql bench -d bench -Atc "SELECT count(*) FROM ledger.deletion_record")
left=$(mnl_psql bench -d bench -Atc "SELECT count(*) FROM ledger.certification")

pct() {  # pct FILES... : p50 p99 count of latencies (µs, column 3) inside [t0, t1] when given
    cat "$@" | awk -v a="${WIN_A:-0}" -v b="${WIN_B:-9999999999}" '{ t = $5 + $6 / 1e6; if (t >= a && t <= b) print $3 }' \
        | sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "- - 0"; exit } printf "%.2f %.2f %d\n", v[int(NR * 0.5) + 1] / 1000, v[int(NR * 0.99) + 1] / 1000, NR }'
}
read -r b50 b99 bn < <(pct "$dir"/base.*)
read -r d50 d99 dn < <(WIN_A=$t0 WIN_B=$t1 pct "$dir"/during.*)
errors=$( { grep -h "failed\|ERROR" "$dir/during.out" "$dir/base.out" || true; } | { grep -v "number of failed transactions: 0" || true; } | wc -l)
secs=$(printf "%.1f" "$(echo "$t1 - $t0" | bc)")

out=$ROOT/bench/results/retention.md
{
    echo "# bench/retention — deleting expired rows under load"
    echo
    echo "Command: \`bench/retention/run.sh $ROWS\`. Recorded $(date -u +%Y-%m-%dT%H:%MZ) on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $("$MNL_PGBIN/postgres" --version). One pgbench client, as a staff member (row-level security and audit on), updates random live certifications; \`CALL ledger.run_retention(batch_size => 1000)\` deletes $ROWS expired ones (audited, one deletion record per batch)."
    echo
    echo "| | value |"
    echo "|---|---:|"
    echo "| rows deleted | $deleted (left: $left live) |"
    echo "| batches (deletion records) | $batches |"
    echo "| run time | ${secs} s ($(echo "$deleted / $secs" | bc) rows/s) |"
    echo "| client alone: p50 / p99 latency | $b50 ms / $b99 ms ($bn transactions) |"
    echo "| client during the run: p50 / p99 latency | $d50 ms / $d99 ms ($dn transactions) |"
    echo "| client errors | $errors |"
    echo
    echo "Each batch is its own transaction, so the client waits at most for one batch's locks"
    echo "(it touches live rows only, which no batch selects) and for the I/O the deletion adds."
} >"$out"
cat "$out"
