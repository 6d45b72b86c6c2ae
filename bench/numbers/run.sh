#!/usr/bin/env bash
# bench/numbers/run.sh [RUNS] — measure ledger.mynumber input over 1M values against its
# baselines in the same run, and write bench/results/numbers.md.
#
# Targets (DESIGN.md §6): >= 10x faster than the PL/pgSQL check-digit function; within 2x of
# text::bigint.  The cluster is a throwaway one (test/harness.sh), torn down afterwards.
RUNS=${1:-7}
. "$(dirname "$0")/../lib.sh"
mnl_cluster_create bench "fsync = on" "shared_buffers = 512MB"
mnl_cluster_start bench
mnl_psql bench -d postgres -c "CREATE DATABASE bench"
mnl_psql bench -d bench -c "CREATE EXTENSION mynumber_ledger" -f bench/numbers/plpgsql_baseline.sql
raw=$(mnl_psql bench -d bench -v runs="$RUNS" -f bench/numbers/bench.sql)

out=$ROOT/bench/results/numbers.md
mkdir -p "$(dirname "$out")"
awk -F'|' -v runs="$RUNS" -v date="$(date -u +%Y-%m-%dT%H:%MZ)" \
    -v cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" \
    -v pg="$("$MNL_PGBIN/postgres" --version)" '
{ n = $1; name[NR] = $2; ms[NR] = $3; net[NR] = $4; idx[$2] = NR }
END {
    print "# bench/numbers — `ledger.mynumber` input"
    print ""
    print "Command: `bench/numbers/run.sh " runs "` (median of " runs " runs each; the PL/pgSQL baseline " int(runs/2 > 1 ? runs/2 : 1) " runs)"
    print ""
    print "Recorded " date " on " cpu " (" pg "), one backend, no parallel workers, " n " distinct valid numbers as `text`."
    print ""
    print "| query over " n " values | total ms | µs per value net of the scan |"
    print "|---|---:|---:|"
    for (i = 1; i <= NR; i++) printf "| %s | %.1f | %.3f |\n", name[i], ms[i], net[i]
    ours = ms[idx["text::ledger.mynumber"]]; big = ms[idx["text::bigint"]]; pl = ms[idx["PL/pgSQL check-digit function (baseline)"]]
    scan = ms[idx["scan only: count(plain)"]]
    print ""
    print "| target (DESIGN.md §6) | measured | met |"
    print "|---|---:|:-:|"
    printf "| >= 10x faster than the PL/pgSQL function (totals) | %.1fx | %s |\n", pl / ours, (pl / ours >= 10 ? "yes" : "NO")
    printf "| >= 10x faster than the PL/pgSQL function (net of the scan) | %.1fx | %s |\n", (pl - scan) / (ours - scan), ((pl - scan) / (ours - scan) >= 10 ? "yes" : "NO")
    printf "| within 2x of text::bigint (totals) | %.2fx | %s |\n", ours / big, (ours / big <= 2 ? "yes" : "NO")
    printf "| within 2x of text::bigint (net of the scan) | %.2fx | %s |\n", (ours - scan) / (big - scan), ((ours - scan) / (big - scan) <= 2 ? "yes" : "NO")
}' <<<"$raw" >"$out"
cat "$out"
