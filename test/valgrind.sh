#!/usr/bin/env bash
# test/valgrind.sh — run pg_regress and the pgTAP suite against a server running under
# valgrind memcheck, and fail if valgrind reports any error (the server's own benign reports
# are suppressed in test/valgrind.supp), naming those whose stack passes through our code.  Slow (minutes); not part of scripts/test.sh.  Reports in
# test/results/valgrind/.  MNL_VALGRIND_PGTAP="test/pgtap/a.sql test/pgtap/b.sql" runs only those pgTAP files.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/deps.sh"
mnl_require_root "$@"
cd "$ROOT"
command -v valgrind >/dev/null || { apt-get install -y -qq valgrind >/dev/null; }
make -s >/dev/null && make -s install >/dev/null
export MNL_RESULTS=$ROOT/test/results
. "$ROOT/test/harness.sh"
trap mnl_cluster_destroy_all EXIT
OUT=$MNL_RESULTS/valgrind
rm -rf "$OUT"; mkdir -p "$OUT"; chmod 777 "$OUT"

mnl_cluster_create vg "max_connections = 10" "autovacuum = off" "ledger.database = 'mnl_regress'" "compute_query_id = on" "jit = off"
dir=${MNL_CLUSTER_DIR[vg]}
mnl_as_postgres bash -c "valgrind --quiet --trace-children=yes --track-origins=yes \
    --error-limit=no --num-callers=30 --read-var-info=no \
    --suppressions=$ROOT/test/valgrind.supp --log-file=$OUT/pid-%p.log \
    $MNL_PGBIN/postgres -D $dir/data >$dir/server.log 2>&1 &"
for i in $(seq 1 120); do
    mnl_psql vg -d postgres -c 'SELECT 1' >/dev/null 2>&1 && break
    sleep 1
done
mnl_cluster_env vg
mnl_psql vg -d postgres -c "CREATE DATABASE mnl_regress" && \
    mnl_psql vg -d mnl_regress -c "CREATE EXTENSION pgtap; CREATE EXTENSION mynumber_ledger;"
for i in $(seq 1 120); do
    [ "$(mnl_psql vg -d mnl_regress -Atc "SELECT ready FROM ledger.audit_writer_status()")" = t ] && break
    sleep 1
done
make installcheck >"$OUT/regress.out" 2>&1; echo "pg_regress exit $?"
pg_prove --ext .sql -d mnl_regress ${MNL_VALGRIND_PGTAP:-test/pgtap/} >"$OUT/pgtap.out" 2>&1; status=$?; grep -q "Result: PASS" "$OUT/pgtap.out" || status=1; echo "pg_prove exit $status"
mnl_cluster_stop vg
sleep 2

traced=$(ls "$OUT"/pid-*.log 2>/dev/null | wc -l)
sources=$(cd src && ls */*.c | xargs -n1 basename | sed 's/\.c$//' | sort -u | paste -sd'|')
ours=$(cat "$OUT"/pid-*.log 2>/dev/null | grep -cE "\(($sources)\.c:|mynumber_ledger\.so" || true)
total=$(cat "$OUT"/pid-*.log | grep -cE '^==[0-9]+== [A-Z]' || true)
echo "valgrind: $traced processes traced, $total error reports, $ours stack frames in mynumber_ledger"
[ "$traced" -gt 1 ] && [ "$total" -eq 0 ]
