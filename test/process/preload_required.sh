# Multi-process test: without shared_preload_libraries, CREATE EXTENSION and LOAD fail with a
# clear message, an SQLSTATE and a hint, and leave nothing behind.  With the library
# preloaded after a restart, the same database accepts the extension.  TAP output.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap mnl_cluster_destroy_all EXIT

mnl_cluster_create nopreload "shared_preload_libraries = ''" || { echo "Bail out! initdb failed"; exit 1; }
mnl_cluster_start nopreload || { echo "Bail out! cluster did not start"; exit 1; }

out=$(mnl_psql nopreload -d postgres -c '\set VERBOSITY verbose' -c 'CREATE EXTENSION mynumber_ledger' 2>&1)
[ $? -ne 0 ]
tap_ok $? "preload_required: CREATE EXTENSION without shared_preload_libraries is refused"
[ "$(echo "$out" | grep -c 'ERROR:  55000: mynumber_ledger must be loaded via shared_preload_libraries')" -eq 1 ]
tap_ok $? "preload_required: the error names the cause with SQLSTATE 55000"
echo "$out" | grep -q 'HINT:  Add mynumber_ledger to shared_preload_libraries in postgresql.conf and restart the server.'
tap_ok $? "preload_required: the hint says what to do"
tap_is "$(mnl_psql nopreload -d postgres -Atc "SELECT count(*) FROM pg_extension WHERE extname = 'mynumber_ledger'")" 0 \
    "preload_required: no extension was left half-created"
tap_is "$(mnl_psql nopreload -d postgres -Atc "SELECT count(*) FROM pg_namespace WHERE nspname = 'ledger'")" 0 \
    "preload_required: no ledger schema was left behind"
out=$(mnl_psql nopreload -d postgres -c "LOAD 'mynumber_ledger'" 2>&1)
echo "$out" | grep -q 'must be loaded via shared_preload_libraries'
tap_ok $? "preload_required: LOAD is refused the same way"

# Preloaded after a restart, the same cluster takes the extension.
echo "shared_preload_libraries = 'mynumber_ledger'" | mnl_as_postgres tee -a "${MNL_CLUSTER_DIR[nopreload]}/data/postgresql.conf" >/dev/null
mnl_cluster_restart nopreload
tap_is "$(mnl_psql nopreload -d postgres -Atc "CREATE EXTENSION mynumber_ledger; SELECT '1234 5678 9018'::ledger.mynumber")" 123456789018 \
    "preload_required: once preloaded, CREATE EXTENSION works and numbers are read"
tap_done
