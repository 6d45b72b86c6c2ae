#!/usr/bin/env bash
# scripts/test.sh — build mynumber_ledger with warnings as errors, start a throwaway cluster,
# run every suite, stop the cluster, and end with one line "N passed, N failed".
#
#   scripts/test.sh                      everything, with a short fuzz run
#   scripts/test.sh --fuzz-seconds 600   a longer fuzz run
#   scripts/test.sh --keep               leave the cluster directories in /tmp afterwards
#   scripts/test.sh --postgres 15,17,18  the suite on each PostgreSQL version: natively for the
#                                        machine's own (first), in a debootstrapped root of the
#                                        Debian release that packages it for the others (at
#                                        the same time; scripts/roots.sh); one line per
#                                        version, then the sum
#
# Suites (each counted by its individual checks):
#   pg_regress   sql/*.sql against expected/*.out          one check per file
#   pgTAP        test/pgtap/*.sql through pg_prove           one check per assertion
#   processes    test/process/*.sh (restarts, other clusters) one check per assertion
#   fuzz         test/fuzz/ libFuzzer target over the parser  one check
#   log          test/check_log.sh over every server log      one check per assertion
# Exit status is non-zero when anything failed.  Logs: test/results/.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/deps.sh"
mnl_require_root "$@"

FUZZ_SECONDS=${FUZZ_SECONDS:-20}
KEEP=0
VERSIONS=""
PASS_ON=()
while [ $# -gt 0 ]; do
    case $1 in
        --fuzz-seconds) FUZZ_SECONDS=$2; PASS_ON+=("$1" "$2"); shift 2 ;;
        --keep) KEEP=1; PASS_ON+=("$1"); shift ;;
        --postgres) VERSIONS=$2; shift 2 ;;
        *) echo "usage: scripts/test.sh [--fuzz-seconds N] [--keep] [--postgres 15,17,18]" >&2; exit 2 ;;
    esac
done

# --postgres: one run of the suite per version, each counted, then the sum.  The machine's own
# version runs first, natively; the others then run at the same time, each in its own root
# (their clusters share nothing).  Each version's output goes to its log, kept outside
# test/results while the native run clears that folder, and is shown when it ends.
if [ -n "$VERSIONS" ]; then
    . "$ROOT/scripts/roots.sh"
    MNL_ROOT_DIR=$ROOT
    logs=$(mktemp -d "${TMPDIR:-/tmp}/mnl-versions.XXXXXX")
    total_ok=0
    total_bad=0
    lines=()
    others=()
    for v in ${VERSIONS//,/ }; do
        if [ "$v" = "$MNL_PG" ]; then
            printf '\n##### PostgreSQL %s (native)\n' "$v"
            MNL_PG_VERSION=$v bash "$ROOT/scripts/test.sh" "${PASS_ON[@]}" 2>&1 | tee "$logs/postgres-$v.log"
        else
            others+=("$v")
        fi
    done
    # the roots are made (or found) at the same time: debootstrap first, one apt at a time
    if [ ${#others[@]} -gt 0 ] && ! command -v debootstrap >/dev/null; then
        mnl_apt_install debootstrap || { echo "0 passed, 1 failed"; exit 1; }
    fi
    pids=()
    for v in "${others[@]}"; do
        printf '\n##### PostgreSQL %s (in its root, started %s)\n' "$v" "$(date +%T)"
        mnl_root_suite "$v" "${PASS_ON[@]}" >"$logs/postgres-$v.log" 2>&1 &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
    for v in "${others[@]}"; do
        printf '\n##### PostgreSQL %s (in its root)\n' "$v"
        cat "$logs/postgres-$v.log"
    done
    mkdir -p "$ROOT/test/results"
    for v in ${VERSIONS//,/ }; do
        log=$logs/postgres-$v.log
        cp "$log" "$ROOT/test/results/" 2>/dev/null
        last=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -1)
        [ -n "$last" ] || last="0 passed, 1 failed"
        ok=${last%% passed*}
        bad=${last#*passed, }
        bad=${bad%% failed*}
        total_ok=$((total_ok + ok))
        total_bad=$((total_bad + bad))
        lines+=("postgres $v: $ok passed, $bad failed")
    done
    rm -rf "$logs"
    echo
    printf '%s\n' "${lines[@]}"
    echo "$total_ok passed, $total_bad failed"
    [ "$total_bad" -eq 0 ]
    exit $?
fi

cd "$ROOT"
mnl_install_deps || { echo "0 passed, 1 failed"; exit 1; }
mnl_install_upgrade_deps || { echo "0 passed, 1 failed"; exit 1; }
mnl_install_example_deps || { echo "0 passed, 1 failed"; exit 1; }
export MNL_ROOT=$ROOT MNL_RESULTS=$ROOT/test/results
. "$ROOT/test/harness.sh"

PASSED=0
FAILED=0
make clean >/dev/null 2>&1
rm -rf "$MNL_RESULTS"
mkdir -p "$MNL_RESULTS/regress" "$MNL_RESULTS/logs"

note() { printf '\n=== %s\n' "$*"; }

# count_tap NAME FILE STATUS: add a TAP stream's ok / not ok lines to the totals.  A stream
# whose runner failed without any "not ok" (a plan cut short, a crash) or that ran nothing
# counts one failure.
count_tap() {
    local name=$1 file=$2 status=$3 ok notok
    ok=$(grep -cE '^[[:space:]]*ok [0-9]+' "$file" || true)
    notok=$(grep -cE '^[[:space:]]*not ok [0-9]+' "$file" || true)
    if grep -q 'Result: NOTESTS' "$file" || [ "$ok" -eq 0 ]; then
        status=1
    fi
    if [ "$status" -ne 0 ] && [ "$notok" -eq 0 ]; then
        notok=1
        echo "$name: runner failed (exit $status) without a failing assertion; see $file"
    fi
    echo "$name: $ok passed, $notok failed"
    PASSED=$((PASSED + ok))
    FAILED=$((FAILED + notok))
}

finish() {
    if [ "$KEEP" -eq 0 ]; then
        mnl_cluster_destroy_all
    else
        for n in $MNL_CLUSTERS; do mnl_cluster_stop "$n"; echo "kept: ${MNL_CLUSTER_DIR[$n]}"; done
    fi
    echo
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
    exit $?
}

note "build (-Wall -Werror)"
if ! { make >"$MNL_RESULTS/build.log" 2>&1 && make install >>"$MNL_RESULTS/build.log" 2>&1; }; then
    tail -40 "$MNL_RESULTS/build.log"
    FAILED=$((FAILED + 1))
    finish
fi
echo "built and installed $(sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" mynumber_ledger.control)"

note "cluster"
if ! { mnl_cluster_create main "ledger.database = 'mnl_regress'" "compute_query_id = on" &&
       mnl_cluster_start main; }; then
    FAILED=$((FAILED + 1))
    finish
fi
mnl_cluster_env main
echo "throwaway cluster at ${MNL_CLUSTER_DIR[main]}"
# One database for pg_regress and pgTAP, with the audit writer attached (ledger.database).
if ! { mnl_psql main -d postgres -c "CREATE DATABASE mnl_regress" &&
       mnl_psql main -d mnl_regress -c "CREATE EXTENSION mynumber_ledger; CREATE EXTENSION pgtap;" &&
       mnl_wait_writer main mnl_regress; }; then
    echo "the audit writer did not start; see test/results/logs/main.log"
    FAILED=$((FAILED + 1))
    finish
fi

note "pg_regress"
make installcheck >"$MNL_RESULTS/regress.out" 2>&1
status=$?
sed -n '/^test \|^ok \|^not ok \|^ *[a-z_]* *\.\.\./p' "$MNL_RESULTS/regress.out"
# PostgreSQL 15 prints "test x ... ok"; 16 and later print TAP ("ok 1 - x", "not ok 2 - y").
ok=$(grep -cE '\.\.\. ok|^ok [0-9]+ ' "$MNL_RESULTS/regress.out" || true)
bad=$(grep -cE '\.\.\. FAILED|\.\.\. failed|^not ok [0-9]+ ' "$MNL_RESULTS/regress.out" || true)
if [ "$status" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; tail -20 "$MNL_RESULTS/regress.out"; fi
[ -f "$MNL_RESULTS/regress/regression.diffs" ] && [ "$bad" -gt 0 ] && head -60 "$MNL_RESULTS/regress/regression.diffs"
echo "pg_regress: $ok passed, $bad failed"
PASSED=$((PASSED + ok)); FAILED=$((FAILED + bad))

note "pgTAP (pg_prove)"
pg_prove --verbose --ext .sql -d mnl_regress test/pgtap/ >"$MNL_RESULTS/pgtap.out" 2>&1
status=$?
grep -E '^(not )?ok|^#|Result' "$MNL_RESULTS/pgtap.out" | grep -vE '^ok ' | head -50
count_tap pgTAP "$MNL_RESULTS/pgtap.out" "$status"

note "multi-process tests"
export MNL_MAIN_PGHOST=$PGHOST
prove --verbose --timer --ext .sh --exec bash test/process/ >"$MNL_RESULTS/process.out" 2>&1
status=$?
grep -E '^(not ok|#)|Result' "$MNL_RESULTS/process.out" | head -50
count_tap processes "$MNL_RESULTS/process.out" "$status"

note "fuzz (${FUZZ_SECONDS}s)"
bash test/fuzz/run.sh "$FUZZ_SECONDS" >"$MNL_RESULTS/fuzz.out" 2>&1
status=$?
grep -E '^(not )?ok' "$MNL_RESULTS/fuzz.out"
count_tap fuzz "$MNL_RESULTS/fuzz.out" "$status"

note "server logs"
mnl_cluster_stop main
bash test/check_log.sh "$MNL_RESULTS/logs" >"$MNL_RESULTS/log-check.out" 2>&1
status=$?
cat "$MNL_RESULTS/log-check.out"
count_tap logs "$MNL_RESULTS/log-check.out" "$status"

finish
