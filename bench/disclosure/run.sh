#!/usr/bin/env bash
# bench/disclosure/run.sh [SECONDS] — the disclosure path with its durable bookkeeping, each
# pgbench run SECONDS long (default 10), synchronous_commit on and fsync on:
#   - a one-row INSERT commit (the baseline DESIGN.md §6 names);
#   - ledger.reveal_person_number as an examiner: the reveal's record and the quota's count
#     committed by the audit writer before the number is returned;
#   - ledger.find_person found vs not found, with the time floor (ledger.lookup_min_duration)
#     and without it (the work itself).
# Writes bench/results/disclosure.md.  Target: reveal <= 2x the latency of a one-row INSERT
# commit; found and not found indistinguishable.
SECONDS_PER_RUN=${1:-10}
. "$(dirname "$0")/../lib.sh"
mnl_cluster_create bench "ledger.database = 'bench'" "fsync = on" "synchronous_commit = on" "jit = off" \
    "ledger.lookup_rate_per_minute = 100000" "ledger.lookup_daily_cap = 10000000"
mnl_cluster_start bench
mnl_psql bench -d postgres -c "CREATE DATABASE bench"
mnl_psql bench -d bench -c "CREATE EXTENSION mynumber_ledger" >/dev/null
mnl_wait_writer bench bench
mnl_psql bench -d bench >/dev/null <<'SQL'
INSERT INTO ledger.org_unit VALUES ('131016', 1, '本庁');
UPDATE ledger.duty SET reveal_quota_per_day = 10000000 WHERE duty_code = 'examiner';
SELECT ledger.register_staff('bench_examiner', '審査', 1, ARRAY['examiner']);
SELECT ledger.enrol_person('131016', 1, (b || ledger.mynumber_check_digit(b))::ledger.mynumber, '計測', i::text, 'ケイソク', 'イ', '2015-04-02', '千代田区')
FROM (SELECT i, lpad((20000000000 + i)::text, 11, '0') AS b FROM generate_series(1, 1000) i) x;
CREATE TABLE bench_insert (id bigserial PRIMARY KEY, v text);
GRANT INSERT ON bench_insert TO bench_examiner;
GRANT USAGE ON SEQUENCE bench_insert_id_seq TO bench_examiner;
SQL
first=$(mnl_psql bench -d bench -Atc "SELECT min(person_id) FROM ledger.person")
w=$MNL_RESULTS/disclosure; mkdir -p "$w"
echo "INSERT INTO bench_insert (v) VALUES ('x');" >"$w/insert.sql"
echo "\\set p random($first, $((first + 999)))
SELECT ledger.reveal_person_number('131016', :p, 'bench');" >"$w/reveal.sql"
echo "\\set i random(1, 1000)
SELECT ledger.find_person((lpad((20000000000 + :i)::text, 11, '0') || ledger.mynumber_check_digit(lpad((20000000000 + :i)::text, 11, '0')))::ledger.mynumber, '131016');" >"$w/found.sql"
echo "\\set i random(1, 1000)
SELECT ledger.find_person((lpad((30000000000 + :i)::text, 11, '0') || ledger.mynumber_check_digit(lpad((30000000000 + :i)::text, 11, '0')))::ledger.mynumber, '131016');" >"$w/notfound.sql"

run() {  # run SCRIPT [PGOPTIONS]: average latency in ms of one client
    PGHOST="${MNL_CLUSTER_DIR[bench]}/sock" PGPORT=5432 PGOPTIONS="${2:-}" \
        "$MNL_PGBIN/pgbench" -n -c 1 -T "$SECONDS_PER_RUN" -U bench_examiner -f "$1" bench 2>"$1.err" |
        sed -n 's/^latency average = \([0-9.]*\) ms$/\1/p'
}
mnl_psql bench -d bench -c "ALTER ROLE bench_examiner SET idle_session_timeout = 0" >/dev/null
ins=$(run "$w/insert.sql")
rev=$(run "$w/reveal.sql")
found=$(run "$w/found.sql")
notfound=$(run "$w/notfound.sql")
mnl_psql bench -d bench -c "ALTER SYSTEM SET ledger.lookup_min_duration = 0" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
found0=$(run "$w/found.sql")
notfound0=$(run "$w/notfound.sql")

out=$ROOT/bench/results/disclosure.md
{
    echo "# bench/disclosure — reveals and lookups with their bookkeeping"
    echo
    echo "Command: \`bench/disclosure/run.sh $SECONDS_PER_RUN\`. Recorded $(date -u +%Y-%m-%dT%H:%MZ) on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $("$MNL_PGBIN/postgres" --version); fsync on, synchronous_commit on; pgbench, one client, ${SECONDS_PER_RUN} s each, as a staff role (examiner)."
    echo
    echo "| operation | latency ms |"
    echo "|---|---:|"
    echo "| one-row INSERT commit (baseline) | $ins |"
    echo "| reveal_person_number (durable record and quota, committed by the writer first) | $rev |"
    echo "| find_person, found (floor 5 ms) | $found |"
    echo "| find_person, not found (floor 5 ms) | $notfound |"
    echo "| find_person, found (no floor: the work) | $found0 |"
    echo "| find_person, not found (no floor: the work) | $notfound0 |"
    echo
    echo "| target | measured | met |"
    echo "|---|---:|:-:|"
    awk -v r="$rev" -v i="$ins" 'BEGIN { printf "| reveal <= 2x a one-row INSERT commit | %.2fx | %s |\n", r / i, (r / i <= 2 ? "yes" : "NO") }'
    awk -v f="$found" -v n="$notfound" 'BEGIN { d = f - n; if (d < 0) d = -d; printf "| found and not found alike (with the floor) | %.3f ms apart (%.1f%%) | %s |\n", d, 100 * d / n, (d / n < 0.05 ? "yes" : "NO") }'
} >"$out"
cat "$out"
