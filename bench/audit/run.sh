#!/usr/bin/env bash
# bench/audit/run.sh [PGBENCH_SECONDS] — audited inserts against their baselines, in one run
# on one throwaway cluster, written to bench/results/audit.md.
#
#   per-statement inserts of 10k, 100k and 1M rows: plain table, ledger.audit_table(),
#   a PL/pgSQL jsonb audit trigger, a PL/pgSQL hash chain (1k, 4k, 10k rows only: quadratic);
#   pgbench single-row inserts with 1 and 2 clients: plain table, pgaudit statement logging
#   (pgaudit.log = 'write'), ledger.audit_table().
# Targets (DESIGN.md §6): audited insert <= 2x plain per row, constant per-row cost as rows
# grow, >= 3x faster than the jsonb trigger; pgbench >= 85% of plain tps at 1 and 2 clients.
SECS=${1:-20}
. "$(dirname "$0")/../lib.sh"
mnl_cluster_create bench "shared_preload_libraries = 'pgaudit,mynumber_ledger'" "ledger.database = 'bench'" \
    "shared_buffers = 1GB" "max_wal_size = 8GB" "checkpoint_timeout = 30min" "synchronous_commit = off" \
    "fsync = on" "autovacuum = off" "jit = off" "max_parallel_workers_per_gather = 0"
mnl_cluster_start bench
mnl_psql bench -d postgres -c "CREATE DATABASE bench"
mnl_psql bench -d bench -c "CREATE EXTENSION mynumber_ledger" -c "CREATE EXTENSION pgaudit" \
    -c "CREATE ROLE bench_pgaudit LOGIN SUPERUSER" -c "ALTER ROLE bench_pgaudit SET pgaudit.log = 'write'" \
    -f bench/audit/baselines.sql >/dev/null
mnl_wait_writer bench bench

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ms() { mnl_psql bench -d bench -Atc "SELECT bench_insert_ms('$1', $2)"; }

declare -A T
for n in 10000 100000 1000000; do
    runs=3; [ "$n" -eq 1000000 ] && runs=1
    for v in plain ours jsonb; do
        T[$v,$n]=$(for r in $(seq $runs); do ms "$v" "$n"; done | median)
        echo "insert $n rows, $v: ${T[$v,$n]} ms" >&2
    done
done
for n in 1000 4000 10000; do
    T[chain,$n]=$(ms chain "$n")
    T[plain,$n]=${T[plain,$n]:-$(for r in 1 2 3; do ms plain "$n"; done | median)}
    T[ours,$n]=${T[ours,$n]:-$(for r in 1 2 3; do ms ours "$n"; done | median)}
    echo "insert $n rows, chain: ${T[chain,$n]} ms" >&2
done

# pgbench: fresh tables, then single-row inserts.
for v in plain ours pgaudit; do mnl_psql bench -d bench -Atc "SELECT bench_make_table('$v')" >/dev/null; done
mnl_psql bench -d bench -c "CHECKPOINT" >/dev/null
declare -A TPS
pgb() {   # pgb VARIANT CLIENTS -> tps
    local user=postgres
    [ "$1" = pgaudit ] && user=bench_pgaudit
    PGHOST=${MNL_CLUSTER_DIR[bench]}/sock PGPORT=5432 "$MNL_PGBIN/pgbench" -n -U "$user" \
        -T "$SECS" -c "$2" -j "$2" -f bench/audit/pgbench_insert.sql -D tab="bench_$1" bench 2>/dev/null |
        sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p'
}
# Two rounds, the second in reverse order, averaged: the order of runs matters on a small VM.
for c in 1 2; do
    for v in plain pgaudit ours; do TPS[$v,$c]=0; done
    for v in plain pgaudit ours ours pgaudit plain; do
        t=$(pgb "$v" "$c")
        echo "pgbench $v, $c client(s): $t tps" >&2
        TPS[$v,$c]=$(awk -v a="${TPS[$v,$c]}" -v b="$t" 'BEGIN { print a + b / 2 }')
    done
done
pgaudit_lines=$(grep -c "AUDIT: SESSION" "$(mnl_cluster_log bench)" || true)
trail=$(mnl_psql bench -d bench -Atc "SELECT count(*) FROM ledger.audit_event")

out=$ROOT/bench/results/audit.md
{
    echo "# bench/audit — audited inserts"
    echo
    echo "Command: \`bench/audit/run.sh $SECS\`. Recorded $(date -u +%Y-%m-%dT%H:%MZ) on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $("$MNL_PGBIN/postgres" --version)."
    echo "One throwaway cluster: shared_preload_libraries = 'pgaudit,mynumber_ledger', synchronous_commit = off"
    echo "(so the figures measure CPU cost, not the disk's flush latency), autovacuum off, no parallel workers."
    echo "Table: bench_<variant>(id identity primary key, municipality char(6), name text, amount int, updated date)."
    echo
    echo "## One INSERT ... SELECT of N rows (median of 3 runs; 1M rows: 1 run)"
    echo
    echo "| rows | plain ms | ours ms | jsonb trigger ms | ours / plain | µs/row plain | µs/row ours | µs/row jsonb | jsonb / ours |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for n in 10000 100000 1000000; do
        awk -v n=$n -v p=${T[plain,$n]} -v o=${T[ours,$n]} -v j=${T[jsonb,$n]} 'BEGIN {
            printf "| %d | %.1f | %.1f | %.1f | %.2fx | %.2f | %.2f | %.2f | %.1fx |\n", n, p, o, j, o/p, p*1000/n, o*1000/n, j*1000/n, j/o }'
    done
    echo
    echo "Hash-chain baseline (PL/pgSQL, newest record found by scanning; capped at 10k rows because it grows quadratically):"
    echo
    echo "| rows | chain ms | µs/row chain | µs/row ours | chain / ours |"
    echo "|---:|---:|---:|---:|---:|"
    for n in 1000 4000 10000; do
        awk -v n=$n -v c=${T[chain,$n]} -v o=${T[ours,$n]} 'BEGIN {
            printf "| %d | %.1f | %.1f | %.2f | %.0fx |\n", n, c, c*1000/n, o*1000/n, c/o }'
    done
    echo
    echo "## pgbench: single-row INSERT, ${SECS} s per run, mean of two rounds (second in reverse order)"
    echo
    echo "| clients | plain tps | pgaudit (log = write) tps | ours tps | pgaudit / plain | ours / plain |"
    echo "|---:|---:|---:|---:|---:|---:|"
    for c in 1 2; do
        awk -v c=$c -v p=${TPS[plain,$c]} -v a=${TPS[pgaudit,$c]} -v o=${TPS[ours,$c]} 'BEGIN {
            printf "| %d | %.0f | %.0f | %.0f | %.1f%% | %.1f%% |\n", c, p, a, o, 100*a/p, 100*o/p }'
    done
    echo
    echo "pgaudit wrote $pgaudit_lines log lines; the trail held $trail records at the end."
    echo
    echo "## Targets (DESIGN.md §6)"
    echo
    awk -v p1=${T[plain,10000]} -v o1=${T[ours,10000]} -v p3=${T[plain,1000000]} -v o3=${T[ours,1000000]} \
        -v j3=${T[jsonb,1000000]} -v tp1=${TPS[plain,1]} -v to1=${TPS[ours,1]} -v tp2=${TPS[plain,2]} -v to2=${TPS[ours,2]} 'BEGIN {
        r = o3/p3; printf "- audited insert <= 2x plain per row (1M rows): %.2fx — %s\n", r, (r <= 2 ? "met" : "NOT met")
        g = (o3/1000000) / (o1/10000); printf "- constant per-row cost (µs/row at 1M / at 10k): %.2f — %s\n", g, (g <= 1.25 ? "met" : "NOT met")
        k = j3/o3; printf "- >= 3x faster than the jsonb trigger (1M rows): %.1fx — %s\n", k, (k >= 3 ? "met" : "NOT met")
        a = to1/tp1; b = to2/tp2; printf "- pgbench >= 85%% of plain tps: %.1f%% at 1 client, %.1f%% at 2 — %s\n", 100*a, 100*b, (a >= 0.85 && b >= 0.85 ? "met" : "NOT met")
        s1 = tp2/tp1; s2 = to2/to1; printf "- same scaling 1 -> 2 clients: plain %.2fx, ours %.2fx\n", s1, s2 }'
} >"$out"
cat "$out"
