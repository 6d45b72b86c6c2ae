# Multi-process test: every function and procedure of the extension, enumerated from the
# catalog (test/bad_input/calls.sql), called with NULL in each argument and with edge values,
# as a superuser, a ledger_dba member, a clerk, the pooled application role and a role with
# no privileges.  It fails on a backend crash, an XX000 (an elog, not a user error), an error
# without an SQLSTATE, and a call still running after ledger's statement_timeout (a loop an
# argument could make endless).  A function added later is covered without editing this.  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap 'mnl_cluster_destroy_all' EXIT

TIMEOUT=${MNL_BAD_INPUT_TIMEOUT:-10s}
mnl_ledger_cluster bad "restart_after_crash = on" || exit 1
q() { mnl_psql bad -d ledger -Atc "$1"; }
mnl_psql bad -d ledger -f "$MNL_ROOT/scripts/sample.sql" >/dev/null || { echo "Bail out! sample not loaded"; exit 1; }
mnl_psql bad -d ledger >/dev/null <<'SQL'
CREATE ROLE regress_dba LOGIN;
GRANT ledger_dba TO regress_dba;
CREATE ROLE regress_nobody LOGIN;
CREATE SCHEMA regress_other;
CREATE TABLE regress_other.plain (id integer PRIMARY KEY, org_unit_id integer);
CREATE TABLE regress_other."Quoted Table" (id integer);
ALTER TABLE regress_other.plain OWNER TO regress_dba;
GRANT USAGE ON SCHEMA regress_other TO PUBLIC;
GRANT SELECT ON regress_other.plain TO PUBLIC;
SQL

pid=$(q "SELECT min(person_id) FROM ledger.person WHERE org_unit_id = 1")
calls=$MNL_RESULTS/bad_input_calls.sql
mnl_psql bad -d ledger -q -At \
    -v clerk_oid="$(q "SELECT 'clerk_1'::regrole::oid")" \
    -v person_id="$pid" \
    -v recipient_id="$(q "SELECT min(recipient_id) FROM ledger.recipient WHERE org_unit_id = 1")" \
    -v person_context="person:131016:$pid" \
    -v person_sealed="$(q "SELECT mynumber FROM ledger.person WHERE person_id = $pid")" \
    -v other_sealed="$(q "SELECT ledger.seal('271828182840', 'another row')")" \
    -f "$MNL_ROOT/test/bad_input/calls.sql" >"$calls" || { echo "Bail out! calls not generated"; exit 1; }
total=$(wc -l <"$calls")
echo "# $total calls per role"

# Every function of the extension appears in the calls (the generator missed none).
missing=$(q "SELECT DISTINCT 'ledger.' || quote_ident(p.proname)
             FROM pg_proc p
             JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
             JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'mynumber_ledger'" |
          while read -r f; do grep -qF " ${f}(" "$calls" || echo "$f"; done)
tap_ok "$([ "$(q "SELECT count(*) FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
                   WHERE e.extname = 'mynumber_ledger' AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e'")" -gt 150 ]; echo $?)" \
    "bad_input_catalog_lists_the_extension's_functions"
tap_is "$missing" "" "bad_input_every_function_called: the catalog's functions are all in the calls"

sock=${MNL_CLUSTER_DIR[bad]}/sock
wait_ready() {
    local i
    for i in $(seq 1 120); do
        "$MNL_PGBIN/pg_isready" -q -h "$sock" -d ledger && return 0
        sleep 0.5
    done
    return 1
}

# run_as ROLE: all calls in one session of ROLE; after a crash, the rest in a new session.
run_as() {
    local role=$1 out=$MNL_RESULTS/bad_input_$1.out from=1 crashes="" line
    : >"$out"
    while [ "$from" -le "$total" ]; do
        tail -n +"$from" "$calls" >"$calls.part"
        PGHOST=$sock PGPORT=5432 "$MNL_PGBIN/psql" -X -q -d ledger -U "$role" -o /dev/null \
            -v VERBOSITY=verbose -c "SET statement_timeout = '$TIMEOUT'" -f "$calls.part" \
            2>&1 | sed "s|^psql:$calls.part:\([0-9]*\):|\1:|" |
            awk -F: -v off=$((from - 1)) '/^[0-9]+:/ { $1 = $1 + off } { print }' OFS=: >>"$out"
        line=$(grep -E '^[0-9]+: (server closed the connection|error: connection to server was lost)' "$out" |
               tail -1 | cut -d: -f1)
        if [ -n "$line" ] && [ "$line" -ge "$from" ]; then
            crashes="$crashes $line"
            from=$((line + 1))
            wait_ready
            mnl_wait_writer bad ledger
        else
            break
        fi
    done
    local crashed internal nocode hung
    crashed=$(for l in $crashes; do sed -n "${l}p" "$calls" | cut -c1-200; done)
    internal=$(grep -E '^[0-9]+: ERROR:  XX000' "$out" | head -20)
    nocode=$(grep -E '^[0-9]+: ERROR:  ' "$out" | grep -vE '^[0-9]+: ERROR:  [0-9A-Z]{5}: ' | head -20)
    hung=$(grep -E '^[0-9]+: ERROR:  57014' "$out" | cut -d: -f1 |
           while read -r l; do sed -n "${l}p" "$calls" | cut -c1-200; done)
    tap_is "$crashed" "" "bad_input_crashes_no_backend_as_$role"
    tap_is "$internal" "" "bad_input_no_internal_error_as_$role (XX000)"
    tap_is "$nocode" "" "bad_input_every_error_has_an_sqlstate_as_$role"
    tap_is "$hung" "" "bad_input_no_endless_call_as_$role (statement_timeout $TIMEOUT)"
    echo "# $role: $(grep -cE '^[0-9]+: ERROR:' "$out") calls refused with an SQLSTATE"
}

for role in postgres regress_dba clerk_1 ledger_app regress_nobody; do
    run_as "$role"
done

# The server itself saw no backend die (a crash the client did not notice would show here).
mnl_cluster_stop bad
grep -E 'was terminated by signal|terminated abnormally' "$MNL_RESULTS/logs/bad.log" | head -5 >"$MNL_RESULTS/bad_input_signals.txt"
tap_is "$(cat "$MNL_RESULTS/bad_input_signals.txt")" "" "bad_input_server_log_shows_no_backend_killed"
tap_done
