# Multi-process test: every SQL example of README.md and docs/*.md (a fenced ```sql block)
# runs as written — statement by statement, the ones the doc says fail failing with the
# SQLSTATE it gives — against a ledger like scripts/run.sh's (the sample municipality,
# pg_cron).  A wrong column name, a missing prerequisite or a changed error fails here.
# Blocks not meant to run are marked <!-- docs-sql: skip REASON -->.  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap 'mnl_cluster_destroy_all' EXIT

mnl_ledger_cluster docsql "shared_preload_libraries = 'mynumber_ledger,pg_cron'" "cron.database_name = 'ledger'" \
    "cron.use_background_workers = on" "max_worker_processes = 16" || exit 1
mnl_psql docsql -d ledger -c "CREATE EXTENSION pg_cron" >/dev/null || { echo "Bail out! pg_cron"; exit 1; }
out=$(mnl_psql docsql -d ledger -f "$MNL_ROOT/scripts/sample.sql" 2>&1) || { echo "Bail out! sample.sql failed: $out"; exit 1; }
cd "$MNL_ROOT" && /usr/bin/python3 test/process/docs_sql.py "${MNL_CLUSTER_DIR[docsql]}/sock" README.md docs/*.md
