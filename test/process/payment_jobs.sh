# Multi-process test: the payment run as a job — run by a staff job role, its progress visible
# from another session, never two at once, killed mid-run and resumed with exactly the result
# of an uninterrupted run (the engine's own totals, computed independently of the run), and
# scheduled by a real pg_cron under the job role.  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap mnl_cluster_destroy_all EXIT

mnl_ledger_cluster pay "shared_preload_libraries = 'pg_cron,mynumber_ledger'" \
    "cron.database_name = 'ledger'" "cron.use_background_workers = on" \
    "max_worker_processes = 16" || exit 1
q() { mnl_psql pay -d ledger -Atc "$1" 2>&1; }
job() { mnl_psql pay -d ledger -U regress_payment_job -Atc "$1" 2>&1; }
mnl_psql pay -d ledger -c "CREATE EXTENSION pg_cron" >/dev/null

# 3,000 recipients in 3 org units (1 in 50 a 公務員), 1-3 children each, certified in 2024.
mnl_psql pay -d ledger >/dev/null <<'SQL'
INSERT INTO ledger.org_unit SELECT '131016', o, '課 ' || o FROM generate_series(1, 3) o;
SELECT ledger.register_staff('regress_payment_job', '支払処理ジョブ', 1, ARRAY['payment_job']);
INSERT INTO ledger.person (municipality_code, person_id, org_unit_id, family_name, given_name, birth_date)
SELECT '131016', i, 1 + i % 3, '受給', '者', '1985-01-01' FROM generate_series(1, 3000) i;
INSERT INTO ledger.recipient (municipality_code, recipient_id, person_id, org_unit_id, is_public_servant)
SELECT '131016', i, i, 1 + i % 3, i % 50 = 0 FROM generate_series(1, 3000) i;
INSERT INTO ledger.person (municipality_code, person_id, org_unit_id, family_name, given_name, birth_date)
SELECT '131016', 10000 + r * 10 + k, 1 + r % 3, '児童', k::text, date '2003-01-01' + (r * 131 + k * 977) % 8400
FROM generate_series(1, 3000) r, generate_series(1, 3) k WHERE k <= 1 + r % 3;
INSERT INTO ledger.child (municipality_code, person_id, recipient_id, org_unit_id, supported, from_date)
SELECT '131016', p.person_id, (p.person_id - 10000) / 10, p.org_unit_id, p.person_id % 17 <> 0, p.birth_date
FROM ledger.person p WHERE p.person_id > 10000;
INSERT INTO ledger.certification (municipality_code, certification_id, recipient_id, org_unit_id, claim_date, status)
SELECT '131016', i, i, 1 + i % 3, '2024-06-20', 'certified' FROM generate_series(1, 3000) i;
SQL
# What an uninterrupted run must produce, from the engine directly (as the superuser).
expected=$(q "SELECT count(*) || '|' || sum(t) FROM (
                SELECT a.recipient_id, sum(a.amount) AS t
                FROM ledger.child_allowance('131016', (SELECT array_agg(recipient_id) FROM ledger.recipient WHERE NOT is_public_servant),
                                            '2026-10-01', '2026-11-01') a
                GROUP BY 1 HAVING sum(a.amount) > 0) s")

# A run in the background as the job role, in batches of 20; watch it from another session.
(mnl_psql pay -d ledger -U regress_payment_job -c "CALL ledger.prepare_payments('2026-12-01', 20)" >/dev/null 2>&1 &)
seen=0
for _ in $(seq 1 100); do
    seen=$(q "SELECT batches FROM ledger.payment_run WHERE status = 'running' ORDER BY run_id DESC LIMIT 1")
    [ -n "$seen" ] && [ "$seen" -gt 0 ] && break
    sleep 0.1
done
[ -n "$seen" ] && [ "$seen" -gt 0 ]
tap_ok $? "payment_progress_visible: another session sees the running run's committed batches ($seen)"
out=$(job "CALL ledger.prepare_payments('2026-12-01')")
echo "$out" | grep -q "another payment run is in progress"
tap_ok $? "payment_runs_never_overlap: a second run is refused while one holds the lock"
# (a staff role's statements are not shown in pg_stat_activity: found by the role)
q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'regress_payment_job' AND backend_type = 'client backend' AND pid <> pg_backend_pid()" >/dev/null
sleep 0.5
partial=$(q "SELECT count(*) FROM ledger.payment")
[ "$partial" -gt 0 ] && [ "$partial" -lt "${expected%%|*}" ]
tap_ok $? "the run was killed part-way ($partial of ${expected%%|*} payments)"

# Resume: the same result as an uninterrupted run, nothing twice.
job "CALL ledger.prepare_payments('2026-12-01', 500)" >/dev/null
tap_is "$(q "SELECT count(*) || '|' || sum(amount) FROM ledger.payment WHERE payment_month = '2026-12-01'")" "$expected" \
    "payment_resumed_after_kill: the payments and their total are those the engine gives (count|yen)"
tap_is "$(q "SELECT string_agg(status, ',' ORDER BY run_id) FROM ledger.payment_run")" "interrupted,finished" \
    "the killed run is marked interrupted, the resumed one finished"
tap_is "$(q "SELECT already_prepared FROM ledger.payment_run WHERE status = 'finished'")" "$partial" \
    "the resumed run found the killed run's committed payments already prepared"
tap_is "$(q "SELECT count(*) FROM ledger.payment p JOIN ledger.recipient r USING (municipality_code, recipient_id) WHERE r.is_public_servant")" 0 \
    "no payment for a 公務員"

# An advisory lock anyone can take (the run once used one) does not hold the run up.
(mnl_psql pay -d ledger -c "SELECT pg_advisory_lock(hashtext('mynumber_ledger.prepare_payments')), pg_sleep(10)" >/dev/null 2>&1 &)
sleep 1
out=$(mnl_psql pay -d ledger -U regress_payment_job -Atc "SET client_min_messages = warning" \
      -c "CALL ledger.prepare_payments('2026-12-01')" 2>&1)
tap_is "$out|$(q "SELECT status FROM ledger.payment_run ORDER BY run_id DESC LIMIT 1")" "|finished" \
    "advisory_lock_cannot_block_payment_run: another session's advisory lock does not stop the run"

# A clerk's open transaction cannot hold the run up: LOCK TABLE on a ledger table is refused,
# and a row lock is waited for ledger.job_lock_timeout at most, its certification left to the
# next run (which prepares it once the lock is gone).
q "SELECT ledger.register_staff('regress_pay_clerk', '受付', 1, ARRAY['clerk'])" >/dev/null
out=$(mnl_psql pay -d ledger -U regress_pay_clerk -c "BEGIN" -c "LOCK TABLE ledger.certification IN ACCESS EXCLUSIVE MODE" 2>&1)
echo "$out" | grep -q "cannot be locked"
tap_ok $? "clerk_lock_table_blocks_payment_run: a clerk cannot LOCK TABLE a ledger table (it would hold up the run)"
# (thirty certifications locked at once: the run must not wait ledger.job_lock_timeout, 10 s,
# for each of them)
cert=$(q "SELECT min(certification_id) FROM ledger.payment WHERE payment_month = '2026-12-01' AND org_unit_id = 1")
(mnl_psql pay -d ledger -U regress_pay_clerk -c "BEGIN" \
    -c "SELECT count(*) FROM (SELECT 1 FROM ledger.certification WHERE municipality_code = '131016' AND certification_id >= $cert
                              ORDER BY certification_id LIMIT 30 FOR UPDATE) s" \
    -c "SELECT pg_sleep(12)" -c "COMMIT" >/dev/null 2>&1 &)
sleep 1
t0=$(date +%s)
out=$(mnl_psql pay -d ledger -U regress_payment_job -Atc "SET client_min_messages = warning" \
      -c "CALL ledger.prepare_payments('2026-10-01')" 2>&1)
t1=$(date +%s)
tap_is "$out|$(q "SELECT status || ' ' || certifications_skipped FROM ledger.payment_run WHERE payment_month = '2026-10-01' ORDER BY run_id DESC LIMIT 1")" \
    "|finished 30" "clerk_row_lock_cannot_block_payment_run: the run finished, leaving the thirty locked certifications to the next run"
tap_ok "$([ $((t1 - t0)) -lt 8 ]; echo $?)" \
    "payment_run_held_up_per_locked_row: the run did not wait for the clerk's locks, one after another ($((t1 - t0)) s)"
tap_is "$(q "SELECT count(*) FROM ledger.payment WHERE payment_month = '2026-10-01' AND certification_id = $cert")" 0 \
    "the locked certification has no payment yet"
sleep 12
mnl_psql pay -d ledger -U regress_payment_job -Atc "SET client_min_messages = warning" \
    -c "CALL ledger.prepare_payments('2026-10-01')" >/dev/null 2>&1
tap_ok "$([ "$(q "SELECT count(*) FROM ledger.payment WHERE payment_month = '2026-10-01' AND certification_id = $cert")" -gt 0 ]; echo $?)" \
    "the next run prepares it"

# pg_cron runs the next payment month under the job role.
q "SELECT cron.schedule_in_database('ledger-payments', '* * * * *', \$\$CALL ledger.prepare_payments('2027-02-01')\$\$,
                                    'ledger', 'regress_payment_job')" >/dev/null
ok=1
for _ in $(seq 1 90); do
    [ "$(q "SELECT count(*) FROM cron.job_run_details WHERE status = 'succeeded'")" -gt 0 ] && { ok=0; break; }
    sleep 1
done
tap_ok $ok "pg_cron_runs_payments: the scheduled job ran and succeeded"
q "SELECT cron.unschedule('ledger-payments')" >/dev/null
tap_is "$(q "SELECT run_by || ' ' || status FROM ledger.payment_run WHERE payment_month = '2027-02-01' ORDER BY run_id LIMIT 1")" \
    "regress_payment_job finished" "the scheduled run ran as the job role"
tap_ok "$([ "$(q "SELECT count(*) FROM ledger.payment WHERE payment_month = '2027-02-01'")" -gt 0 ]; echo $?)" \
    "the scheduled run created the February 2027 payments"
v=$(q "SELECT * FROM ledger.verify_audit()"); [ -n "$v" ] && echo "# $v"
tap_is "$(q "SELECT count(*) FROM ledger.verify_audit()")" 0 "the trail verifies"
tap_done
