# Multi-process test: the example applications of examples/ — Java with pgJDBC at its default
# settings (over TCP: pgJDBC has no Unix sockets), Python with psycopg 3 and psycopg_pool,
# Node with node-postgres — each does a municipal screen's whole flow against the sample
# ledger of scripts/run.sh as its pooled role: per-request staff identity, enrolment with a
# number typed in full width with spaces, search by number, the masked list, monthly amounts,
# a reveal with a purpose, errors by SQLSTATE.  Their records name the staff members.  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap 'mnl_cluster_destroy_all' EXIT

# TCP on a loopback address of this PostgreSQL version's own (the versions' suites run side by side)
major=$("$MNL_PGBIN/postgres" --version | sed -n 's/.* \([0-9][0-9]*\)\..*/\1/p')
addr=127.0.$major.1
mnl_ledger_cluster ex "listen_addresses = '$addr'" || exit 1
q() { mnl_psql ex -d ledger -Atc "$1" 2>&1; }
out=$(mnl_psql ex -d ledger -f "$MNL_ROOT/scripts/sample.sql" 2>&1) || { echo "Bail out! sample.sql failed: $out"; exit 1; }

client_env=(PGDATABASE=ledger PGUSER=ledger_app MNL_CLERK=clerk_1 MNL_EXAMINER=examiner_1)
run_example() {   # run_example NAME ENV... -- COMMAND...: its output commented, its status as TAP
    local name=$1; shift
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    local out status
    out=$(cd "$MNL_ROOT" && env "${client_env[@]}" "${envs[@]}" timeout 180 "$@" 2>&1)
    status=$?
    echo "$out" | sed 's/^/# /'
    echo "$out" | tail -1 | grep -q "every step passed" && [ "$status" -eq 0 ]
    tap_ok $? "$name"
}
before=$(q "SELECT count(*) FROM ledger.audit_event WHERE kind = 'reveal' AND acting_role = 'examiner_1'")

run_example "example_java_default_settings: examples/java/LedgerScreen.java (pgJDBC, setString, no stringtype)" \
    PGHOST="$addr" PGPORT=5432 -- java -cp /usr/share/java/postgresql.jar examples/java/LedgerScreen.java
run_example "example_python_psycopg_pool: examples/python/ledger_screen.py (psycopg 3, psycopg_pool with a reset hook)" \
    PGHOST="${MNL_CLUSTER_DIR[ex]}/sock" PGPORT=5432 -- /usr/bin/python3 examples/python/ledger_screen.py
run_example "example_node_pg: examples/node/ledger_screen.js (node-postgres, a named prepared statement)" \
    PGHOST="${MNL_CLUSTER_DIR[ex]}/sock" PGPORT=5432 \
    NODE_PATH="$MNL_ROOT/examples/node/node_modules:/usr/share/nodejs:/usr/lib/nodejs" -- node examples/node/ledger_screen.js

sleep 1.5   # queued records are written within ledger.audit_flush_delay
tap_is "$(q "SELECT count(*) - $before FROM ledger.audit_event WHERE kind = 'reveal' AND acting_role = 'examiner_1'")" 3 \
    "examples_reveals_recorded_as_examiner: each example's reveal is recorded under the examiner of its request"
tap_is "$(q "SELECT count(*) FROM ledger.audit_event WHERE kind = 'insert' AND relation_name = 'ledger.person'
               AND acting_role = 'clerk_1' AND session_role = 'ledger_app'")" 3 \
    "examples_enrolments_recorded_as_clerk: each example's enrolment is recorded under the clerk of its request"
tap_is "$(q "SELECT count(*) FROM ledger.audit_event WHERE acting_role = 'ledger_app' AND kind IN ('select', 'insert', 'reveal')")" 0 \
    "nothing is recorded under the pooled role itself"
tap_done
