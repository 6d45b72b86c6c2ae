#!/usr/bin/env bash
# bench/rls/run.sh — row-level security over 1M rows in 20 org units: count(*) and 20,000
# indexed lookups as staff under ledger.may, against the same queries run by a superuser
# with the equivalent filter written by hand as constants, a PL/pgSQL per-row policy and a
# hashed-subplan policy, all in the same run.  Writes bench/results/rls.md.
# Target (DESIGN.md §6): ours <= 1.3x the hand-written filter.
. "$(dirname "$0")/../lib.sh"
mnl_cluster_create bench "ledger.database = 'bench'" "shared_buffers = 512MB" "jit = off"
mnl_cluster_start bench
mnl_psql bench -d postgres -c "CREATE DATABASE bench"
mnl_psql bench -d bench -c "CREATE EXTENSION mynumber_ledger" >/dev/null
mnl_wait_writer bench bench
mnl_psql bench -d bench -f bench/rls/setup.sql >/dev/null
raw=$(mnl_psql bench -d bench -f bench/rls/bench.sql)
plan=$(mnl_psql bench -d bench -Atc "SET ROLE bench_approver" -c "EXPLAIN (COSTS OFF) SELECT payload FROM t_ours WHERE id = 42" | tr '\n' ' ')

out=$ROOT/bench/results/rls.md
{
    echo "# bench/rls — row-level security"
    echo
    echo "Command: \`bench/rls/run.sh\`. Recorded $(date -u +%Y-%m-%dT%H:%MZ) on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $("$MNL_PGBIN/postgres" --version). 1,000,000 rows in 20 org units; no parallel workers (per-row cost); best of 7 runs (PL/pgSQL: 1 run for counts, 3 for lookups). The superuser baseline reads the same protected table (superusers bypass row-level security) with \`org_unit_id = ANY('{…}')\` written as constants."
    echo
    echo "| query | under | ms | × hand-written |"
    echo "|---|---|---:|---:|"
    echo "$raw" | awk -F'|' '
        { q[NR] = $1; who[NR] = $2; ms[NR] = $3; if ($2 ~ /hand-written/) base[$1] = $3 }
        END {
            for (i = 1; i <= NR; i++) printf "| %s | %s | %.2f | %.2f |\n", q[i], who[i], ms[i], ms[i] / base[q[i]];
            print "";
            print "| target (DESIGN.md §6) | measured | met |";
            print "|---|---:|:-:|";
            for (i = 1; i <= NR; i++) if (who[i] ~ /ours/) {
                r = ms[i] / base[q[i]];
                printf "| %s: ours <= 1.3x hand-written | %.2fx | %s |\n", q[i], r, (r <= 1.3 ? "yes" : "NO");
            }
        }'
    echo
    echo "Plan of an indexed lookup as staff (the policy does not prevent the index scan): \`$plan\`"
} >"$out"
cat "$out"
