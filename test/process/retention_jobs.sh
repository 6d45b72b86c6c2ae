# Multi-process test: the retention run as a job — progress visible from another session,
# killed mid-run and resumed with the same result (no deletion recorded twice, nothing
# missed), never two runs at once, and scheduled by a real pg_cron, whose run details hold
# no My Number.  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap mnl_cluster_destroy_all EXIT

mnl_ledger_cluster jobs "shared_preload_libraries = 'pg_cron,mynumber_ledger'" \
    "cron.database_name = 'ledger'" "cron.use_background_workers = on" \
    "max_worker_processes = 16" || exit 1
q() { mnl_psql jobs -d ledger -Atc "$1" 2>&1; }
mnl_psql jobs -d ledger -c "CREATE EXTENSION pg_cron" >/dev/null

# 20,000 certifications closed long ago (recipients of persons without numbers: fast to load).
mnl_psql jobs -d ledger >/dev/null <<'SQL'
INSERT INTO ledger.org_unit VALUES ('131016', 1, '本庁');
INSERT INTO ledger.person (municipality_code, person_id, org_unit_id, family_name, given_name, birth_date)
SELECT '131016', i, 1, '保存', '試験', '2010-04-02' FROM generate_series(1, 20000) i;
INSERT INTO ledger.recipient (municipality_code, recipient_id, person_id, org_unit_id)
SELECT '131016', i, i, 1 FROM generate_series(1, 20000) i;
INSERT INTO ledger.certification (municipality_code, certification_id, recipient_id, org_unit_id, claim_date,
                                  extinguished_on, extinction_reason, status)
SELECT '131016', i, i, 1, '2010-05-01', '2015-01-01', '転出', 'extinguished' FROM generate_series(1, 20000) i;
SELECT setval('ledger.person_person_id_seq', 100000);
SQL

# A run in the background, with small batches; watch its progress, then kill it.
(mnl_psql jobs -d ledger -c "CALL ledger.run_retention(batch_size => 50)" >/dev/null 2>&1 &)
seen=0
for _ in $(seq 1 100); do
    seen=$(q "SELECT rows_done FROM ledger.retention_run WHERE status = 'running' ORDER BY run_id DESC LIMIT 1")
    [ -n "$seen" ] && [ "$seen" -gt 0 ] && break
    sleep 0.1
done
[ -n "$seen" ] && [ "$seen" -gt 0 ]
tap_ok $? "retention_progress_visible: another session sees the running run's progress ($seen rows)"
out=$(mnl_psql jobs -d ledger -Atc "CALL ledger.run_retention()" 2>&1)
echo "$out" | grep -q "another retention run is in progress"
tap_ok $? "retention_runs_never_overlap: a second run is refused while one holds the lock"
q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'CALL ledger.run_retention(batch_size%' AND pid <> pg_backend_pid()" >/dev/null
sleep 0.5
left=$(q "SELECT count(*) FROM ledger.certification")
[ "$left" -gt 0 ] && [ "$left" -lt 20000 ]
tap_ok $? "the run was killed part-way ($left certifications left)"

# Resume: the same result as an uninterrupted run.
q "CALL ledger.run_retention(batch_size => 500)" >/dev/null
tap_is "$(q "SELECT count(*) FROM ledger.certification")" 0 "retention_resumed_after_kill: nothing missed"
tap_is "$(q "SELECT sum(row_count) FROM ledger.deletion_record WHERE policy_id = 'certification'")" 20000 \
    "retention_kill_no_duplicate_records: the deletion records count each certification once"
tap_is "$(q "SELECT count(*) FROM ledger.deletion_record a JOIN ledger.deletion_record b
             ON a.deletion_id < b.deletion_id AND a.policy_id = b.policy_id
            AND a.key_min <= b.key_max AND b.key_min <= a.key_max")" 0 "no two deletion records cover the same keys"
tap_is "$(q "SELECT string_agg(status, ',' ORDER BY run_id) FROM ledger.retention_run")" "interrupted,finished" \
    "the killed run is marked interrupted, the resumed one finished"

# An advisory lock anyone can take (the run once used one) does not hold the run up.
(mnl_psql jobs -d ledger -c "SELECT pg_advisory_lock(hashtext('mynumber_ledger.run_retention')), pg_sleep(10)" >/dev/null 2>&1 &)
sleep 1
out=$(mnl_psql jobs -d ledger -Atc "SET client_min_messages = warning" -c "CALL ledger.run_retention(dry_run => true)" 2>&1)
tap_is "$out|$(q "SELECT status FROM ledger.retention_run ORDER BY run_id DESC LIMIT 1")" "|finished" \
    "advisory_lock_cannot_block_retention: another session's advisory lock does not stop the run"

# pg_cron runs it.
mnl_psql jobs -d ledger >/dev/null <<'SQL'
INSERT INTO ledger.person (municipality_code, person_id, org_unit_id, family_name, given_name, birth_date)
VALUES ('131016', 30001, 1, '予定', '試験', '2010-04-02');
SELECT ledger.enrol_person('131016', 1, '123456789018', '番号', '持ち', 'バンゴウ', 'モチ', '2010-04-02', '市内');
UPDATE ledger.person SET closed_on = '2015-01-01' WHERE mynumber IS NOT NULL;
INSERT INTO ledger.recipient (municipality_code, recipient_id, person_id, org_unit_id) VALUES ('131016', 30001, 30001, 1);
INSERT INTO ledger.certification (municipality_code, certification_id, recipient_id, org_unit_id, claim_date,
                                  extinguished_on, extinction_reason, status)
VALUES ('131016', 30001, 30001, 1, '2010-05-01', '2015-01-01', '転出', 'extinguished');
SELECT cron.schedule('ledger-retention', '* * * * *', 'CALL ledger.run_retention()');
SQL
tap_is "$(q "SELECT count(*) FROM ledger.certification")|$(q "SELECT count(*) FROM ledger.person WHERE mynumber IS NOT NULL")" "1|1" \
    "an expired certification and an expired number wait for the job"
ok=1
for _ in $(seq 1 90); do
    [ "$(q "SELECT count(*) FROM cron.job_run_details WHERE status = 'succeeded'")" -gt 0 ] && { ok=0; break; }
    sleep 1
done
tap_ok $ok "pg_cron_runs_retention: the scheduled job ran and succeeded"
tap_is "$(q "SELECT count(*) FROM ledger.certification")|$(q "SELECT count(*) FROM ledger.person WHERE mynumber IS NOT NULL")" "0|0" \
    "the job deleted the expired certification and erased the expired number"
tap_is "$(q "SELECT count(*) FROM ledger.retention_run WHERE status = 'finished' AND job IS DISTINCT FROM 'psql'")" 1 \
    "the run records its job (the pg_cron worker), not psql"
tap_is "$(q "SELECT count(*) FROM cron.job_run_details WHERE concat(command, return_message) ~ '[0-9]{12}'")" 0 \
    "no_mynumber_in_cron_details: no 12-digit string in pg_cron's run details"
tap_is "$(q "SELECT count(*) FROM ledger.verify_audit()")" 0 "the trail verifies"
tap_done
