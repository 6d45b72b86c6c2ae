-- The payment run (支払処理) and the automatic 額改定: CALL ledger.prepare_payments as a job
-- role, through the transition of 令和6年10月 and 12月, with 公務員 skipped, the 15日特例, a
-- 消滅 in the middle of a period, a child turning 3, a birth and a child leaving; idempotent;
-- limited to what the caller may write; reconcilable with the per-child reasons.
\ir lib.psql

SELECT plan(41);

\o /dev/null
INSERT INTO ledger.org_unit VALUES ('231002', 9901, '名古屋市 子育て支援課'), ('231002', 9902, '名古屋市 区役所');
SELECT ledger.register_staff('regress_p_job', '支払処理ジョブ', 9901, ARRAY['payment_job']);
SELECT ledger.register_staff('regress_p_clerk', '受付 甲', 9901, ARRAY['clerk']);
SELECT ledger.register_staff('regress_p_audit', '監査 乙', 9901, ARRAY['auditor']);

-- Households: recipient rid is person rid * 10, children rid * 10 + i.
CREATE FUNCTION pg_temp.person(pid bigint, org int, birth date) RETURNS void LANGUAGE sql AS $$
    INSERT INTO ledger.person (municipality_code, person_id, org_unit_id, family_name, given_name, birth_date)
    VALUES ('231002', pid, org, '名古屋', pid::text, birth)
$$;
CREATE FUNCTION pg_temp.recipient(rid bigint, org int, public_servant boolean DEFAULT false) RETURNS void LANGUAGE sql AS $$
    SELECT pg_temp.person(rid * 10, org, '1985-05-05');
    INSERT INTO ledger.recipient (municipality_code, recipient_id, person_id, org_unit_id, is_public_servant)
    VALUES ('231002', rid, rid * 10, org, public_servant);
$$;
CREATE FUNCTION pg_temp.child(rid bigint, i int, org int, birth date) RETURNS void LANGUAGE sql AS $$
    SELECT pg_temp.person(rid * 10 + i, org, birth);
    INSERT INTO ledger.child (municipality_code, person_id, recipient_id, org_unit_id, from_date)
    VALUES ('231002', rid * 10 + i, rid, org, birth);
$$;
CREATE FUNCTION pg_temp.certify(rid bigint, org int, claim date, event date DEFAULT NULL, extinguished date DEFAULT NULL)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO ledger.certification (municipality_code, certification_id, recipient_id, org_unit_id, claim_date, event_date,
                                      decision_date, extinguished_on, extinction_reason, status)
    VALUES ('231002', rid, rid, org, claim, event, claim + 5, extinguished, CASE WHEN extinguished IS NOT NULL THEN '転出' END,
            CASE WHEN extinguished IS NOT NULL THEN 'extinguished' ELSE 'certified' END);
$$;
-- H1: two children, certified from June 2024
SELECT pg_temp.recipient(1, 9901); SELECT pg_temp.child(1, 1, 9901, '2014-06-01'); SELECT pg_temp.child(1, 2, 9901, '2019-08-15');
SELECT pg_temp.certify(1, 9901, '2024-05-10');
-- H2: a 公務員
SELECT pg_temp.recipient(2, 9901, true); SELECT pg_temp.child(2, 1, 9901, '2020-01-01');
SELECT pg_temp.certify(2, 9901, '2024-01-10');
-- H3: 消滅 on 15 November 2024 (moved away)
SELECT pg_temp.recipient(3, 9901); SELECT pg_temp.child(3, 1, 9901, '2018-03-03');
SELECT pg_temp.certify(3, 9901, '2023-12-01', NULL, '2024-11-15');
-- H4: born 25 October 2024, claimed on 8 November (the 14th day): 15日特例, from November
SELECT pg_temp.recipient(4, 9901); SELECT pg_temp.child(4, 1, 9901, '2024-10-25');
SELECT pg_temp.certify(4, 9901, '2024-11-08', '2024-10-25');
-- H5 (the other org unit): a child who turns 3 in November 2024, certified from October 2024
SELECT pg_temp.recipient(5, 9902); SELECT pg_temp.child(5, 1, 9902, '2021-11-20');
SELECT pg_temp.certify(5, 9902, '2024-09-05');
-- H6 (the other org unit): one child, certified from March 2024
SELECT pg_temp.recipient(6, 9902); SELECT pg_temp.child(6, 1, 9902, '2016-05-05');
SELECT pg_temp.certify(6, 9902, '2024-02-01');
-- H7: three children, certified from October 2024; the eldest leaves care in January 2025
SELECT pg_temp.recipient(7, 9901); SELECT pg_temp.child(7, 1, 9901, '2008-06-01');
SELECT pg_temp.child(7, 2, 9901, '2012-06-01'); SELECT pg_temp.child(7, 3, 9901, '2018-06-01');
SELECT pg_temp.certify(7, 9901, '2024-09-10');
-- incomes for the 手当年度 2023 and 2024 (old rules until September 2024), under the limits
INSERT INTO ledger.recipient_income
SELECT '231002', r.recipient_id, r.org_unit_id, y, 4000000, 2
FROM ledger.recipient r, generate_series(2023, 2024) y WHERE r.municipality_code = '231002';
\o

-- Refusals
SELECT throws_ok($$CALL ledger.prepare_payments('2024-10-01')$$, '42501', NULL,
    'payment_run_refuses_superuser: a superuser would pass every policy; the run is staff work');
SET ROLE regress_p_audit;
SELECT throws_ok($$CALL ledger.prepare_payments('2024-10-01')$$, '42501', NULL,
    'payment_run_refuses_staff_without_write: an auditor cannot run it');
SET ROLE regress_p_job;
SELECT throws_ok($$CALL ledger.prepare_payments('2024-11-01')$$, '22023', NULL,
    'payment_run_refuses_non_payment_month: November is not a 支払期月');
SELECT throws_ok($$CALL ledger.prepare_payments('2024-08-01')$$, '22023', NULL,
    'August 2024 was not a payment month under the old rules');
SELECT throws_ok($$CALL ledger.prepare_payments('2024-10-01', 0)$$, '22023', NULL, 'a batch size of 0 is refused');
RESET ROLE;

-- The run is the municipality's job: a clerk (write in the own org unit only) may not claim it,
-- so no clerk's open transaction or idle session holding a claim can stop the job.
SET ROLE regress_p_clerk;
SELECT throws_ok($$CALL ledger.prepare_payments('2024-10-01', 2)$$, '42501', NULL,
    'payment_run_needs_municipality_wide_duty: a clerk cannot run the payments');
SELECT throws_ok($$SELECT ledger.payment_run_claim('2024-10-01', '2024-06-01', '2024-09-01', 'before_2024_10', 'x')$$, '42501', NULL,
    'clerk_cannot_claim_the_payment_run: nor hold its claim to block the job');
RESET ROLE;
SELECT is((SELECT count(*) FROM ledger.payment WHERE municipality_code = '231002'), 0::bigint, 'the clerk paid nothing');

-- The job runs October 2024, then December 2024, February and April 2025.
SET ROLE regress_p_job;
CALL ledger.prepare_payments('2024-10-01', 2);
RESET ROLE;
SELECT is((SELECT string_agg(recipient_id || ':' || first_month || '..' || last_month || '=' || amount, ' ' ORDER BY recipient_id)
           FROM ledger.payment WHERE municipality_code = '231002' AND payment_month = '2024-10-01'),
    '1:2024-06-01..2024-09-01=80000 3:2024-06-01..2024-09-01=40000 6:2024-06-01..2024-09-01=40000',
    'transition_october_2024_payment: October 2024 pays June to September under the old rules');
SELECT is((SELECT certifications || '/' || public_servant || '/' || already_prepared || '/' || payments_created || '/' || batches
           FROM ledger.payment_run WHERE run_by = 'regress_p_job' ORDER BY run_id DESC LIMIT 1),
    '4/1/0/3/2', 'the run''s record: 4 certifications, 1 公務員 skipped, none already paid, 3 created, 2 batches of 2');
SELECT is((SELECT count(*) FROM ledger.payment WHERE municipality_code = '231002' AND recipient_id = 2), 0::bigint,
    'public_servant_skipped: no payment for a 公務員');

SET ROLE regress_p_job;
CALL ledger.prepare_payments('2024-12-01', 2);
RESET ROLE;
SELECT is((SELECT string_agg(recipient_id || ':' || first_month || '..' || last_month || '=' || amount, ' ' ORDER BY recipient_id)
           FROM ledger.payment WHERE municipality_code = '231002' AND payment_month = '2024-12-01'),
    '1:2024-10-01..2024-11-01=40000 3:2024-10-01..2024-11-01=20000 4:2024-11-01..2024-11-01=15000 5:2024-10-01..2024-11-01=30000 6:2024-10-01..2024-11-01=20000 7:2024-10-01..2024-11-01=100000',
    'transition_december_2024_payment: December 2024 pays October and November under the new rules');
SELECT is((SELECT first_month FROM ledger.certification WHERE municipality_code = '231002' AND certification_id = 4), '2024-11-01'::date,
    'fifteen_day_rule_first_month: a claim on the 14th day after the birth starts the month after the birth');
SELECT is((SELECT count(*) FROM ledger.certification_revision WHERE municipality_code = '231002'), 0::bigint,
    'the reform changed no total here, so no 額改定 was recorded for it');

\o /dev/null
UPDATE ledger.child SET until_date = '2025-01-20' WHERE municipality_code = '231002' AND person_id = 71;
\o
SET ROLE regress_p_job;
CALL ledger.prepare_payments('2025-02-01', 2);
RESET ROLE;
SELECT is((SELECT string_agg(recipient_id || '=' || amount, ' ' ORDER BY recipient_id)
           FROM ledger.payment WHERE municipality_code = '231002' AND payment_month = '2025-02-01'),
    '1=40000 4=30000 5=20000 6=20000 7=100000',
    'February 2025: nothing after the 消滅 month (H3), the 3-year-old at 10,000円, H7 still whole in January');
SELECT is((SELECT effective_month || ' ' || old_amount || '->' || new_amount || ' ' || reason FROM ledger.certification_revision
           WHERE municipality_code = '231002' AND certification_id = 5),
    '2024-12-01 15000->10000 3歳到達', 'revision_after_third_birthday: 額改定 from the month after the 3rd birthday month, with its reason');

-- A birth in H5 on 10 January 2025: counted from February.
\o /dev/null
SELECT pg_temp.child(5, 2, 9902, '2025-01-10');
\o
SET ROLE regress_p_job;
CALL ledger.prepare_payments('2025-04-01', 2);
RESET ROLE;
SELECT is((SELECT effective_month || ' ' || old_amount || '->' || new_amount || ' ' || reason FROM ledger.certification_revision
           WHERE municipality_code = '231002' AND certification_id = 5 AND effective_month = '2025-02-01'),
    '2025-02-01 10000->25000 出生・監護開始', 'revision_after_birth: 額改定 from the month after the birth');
SELECT is((SELECT amount FROM ledger.payment WHERE municipality_code = '231002' AND certification_id = 5 AND payment_month = '2025-04-01'),
    50000, 'April 2025 pays February and March at 25,000円');
SELECT is((SELECT effective_month || ' ' || old_amount || '->' || new_amount || ' ' || reason FROM ledger.certification_revision
           WHERE municipality_code = '231002' AND certification_id = 7),
    '2025-02-01 50000->20000 出生順位の変動、監護終了 (児童の減少)',
    'revision_after_child_leaves: from the month after the child leaves; the third child becomes 第2子 (10,000円)');
SELECT is((SELECT monthly_amount FROM ledger.certification WHERE municipality_code = '231002' AND certification_id = 5), 25000,
    'the certification''s 手当月額 follows the newest prepared month');
SELECT is((SELECT count(*) FROM ledger.payment WHERE municipality_code = '231002' AND recipient_id = 3 AND payment_month > '2024-12-01'),
    0::bigint, 'extinguished_certification_not_paid_after_extinction_month');

-- Idempotent: running a month again changes nothing.
CREATE TEMP TABLE state_before AS
SELECT (SELECT count(*) || '/' || sum(amount) FROM ledger.payment WHERE municipality_code = '231002') AS payments,
       (SELECT count(*) || '/' || string_agg(effective_month || ':' || new_amount, ',' ORDER BY certification_id, effective_month)
          FROM ledger.certification_revision WHERE municipality_code = '231002') AS revisions,
       (SELECT string_agg(certification_id || ':' || monthly_amount, ',' ORDER BY certification_id)
          FROM ledger.certification WHERE municipality_code = '231002') AS amounts;
GRANT SELECT ON state_before TO PUBLIC;
SET ROLE regress_p_job;
CALL ledger.prepare_payments('2024-12-01', 2);
CALL ledger.prepare_payments('2025-02-01', 2);
RESET ROLE;
SELECT is((SELECT count(*) || '/' || sum(amount) FROM ledger.payment WHERE municipality_code = '231002'),
    (SELECT payments FROM state_before), 'payment_run_idempotent: a second run creates no payment');
SELECT is((SELECT count(*) || '/' || string_agg(effective_month || ':' || new_amount, ',' ORDER BY certification_id, effective_month)
             FROM ledger.certification_revision WHERE municipality_code = '231002'),
    (SELECT revisions FROM state_before), 'a second run records no 額改定 twice');
SELECT is((SELECT string_agg(certification_id || ':' || monthly_amount, ',' ORDER BY certification_id)
             FROM ledger.certification WHERE municipality_code = '231002'),
    (SELECT amounts FROM state_before), 'a second run of an older month does not move the current 手当月額 back');
SELECT is((SELECT payments_created || '/' || already_prepared FROM ledger.payment_run WHERE run_by = 'regress_p_job'
           ORDER BY run_id DESC LIMIT 1), '0/5', 'the second run reports what it found already prepared');

-- An auditor reconciles: each payment is the sum of the monthly totals of its months, and each
-- monthly total is the sum of the per-child amounts with their reasons.
SELECT is((SELECT count(*) FROM ledger.payment p
           WHERE p.municipality_code = '231002'
             AND p.amount <> (SELECT sum(ledger.monthly_total('231002', p.recipient_id, m::date))
                              FROM generate_series(p.first_month, p.last_month, interval '1 month') m)), 0::bigint,
    'payments_reconcile_with_monthly_totals: every payment equals the sum of its months');
SELECT is((SELECT count(*) FROM ledger.certification_revision v JOIN ledger.certification c USING (municipality_code, certification_id)
           WHERE v.municipality_code = '231002'
             AND (v.new_amount <> ledger.monthly_total('231002', c.recipient_id, v.effective_month)
               OR v.old_amount <> ledger.monthly_total('231002', c.recipient_id, (v.effective_month - interval '1 month')::date))),
    0::bigint, 'revisions_reconcile: each 額改定 names the totals of its month and the month before');
SELECT is((SELECT string_agg(birth_order || ':' || amount || ':' || reason, ' / ' ORDER BY birth_order)
           FROM ledger.monthly_amount('231002', 5, '2025-03-01')),
    '1:10000:3歳以上小学校修了前 第1子 10,000円 / 2:15000:3歳未満 第2子 15,000円', 'the reasons behind H5''s 25,000円');

-- Through the same checks as staff: what the job wrote is in the audit trail under its name.
SELECT ok(pg_temp.wait_for(format('kind = %L AND relation_id = %s AND acting_role = %L',
          'insert', 'ledger.payment'::regclass::oid, 'regress_p_job')) > 0,
    'payment_run_audited: the payments are in the audit trail under the job''s role');
SELECT ok(pg_temp.wait_for(format('kind = %L AND relation_id = %s AND acting_role = %L',
          'insert', 'ledger.certification_revision'::regclass::oid, 'regress_p_job')) > 0,
    'the 額改定 are in the audit trail under the job''s role');
SELECT is((SELECT string_agg(DISTINCT run_by, ',') FROM ledger.payment_run WHERE payment_month = '2024-10-01'),
    'regress_p_job', 'each run names the role that ran it');

-- Run records are written only by the run itself (through the gated claim and progress).
SET ROLE regress_p_job;
SELECT throws_ok($$UPDATE ledger.payment_run SET amount_created = 0$$, '42501', NULL,
    'payment_run_records_not_writable: not even the job can rewrite a run''s record');
SELECT throws_ok($$INSERT INTO ledger.payment_run (payment_month, first_month, last_month, rule_id, run_by)
                   VALUES ('2024-12-01', '2024-10-01', '2024-11-01', 'from_2024_10', 'regress_p_clerk')$$, '42501', NULL,
    'nor forge one');
SELECT throws_ok($$SELECT ledger.payment_run_progress((SELECT max(run_id) FROM ledger.payment_run), 1, 1, 1, 0, 0, 0, 0, 0, NULL, NULL, false)$$,
    '55000', NULL, 'a finished run''s progress cannot be added to');
SELECT throws_ok($$SELECT * FROM ledger._prepare_payment_batch('231002', ARRAY[1::bigint], '2024-12-01', '2024-06-01', '2024-11-01')$$,
    '22023', NULL, 'payment_batch_refuses_other_months: a batch called directly pays only the months its payment month covers');
RESET ROLE;

-- Foreign keys ignore row-level security: a household's rows must stay in its org unit, or the
-- job (which reads every org unit) would carry one org unit's rows into another's payments.
SET ROLE regress_p_clerk;
SELECT throws_ok($$INSERT INTO ledger.child (municipality_code, person_id, recipient_id, org_unit_id, from_date)
                   VALUES ('231002', 12, 5, 9901, '2020-01-01')$$, '23503', NULL,
    'child_of_other_org_units_recipient_refused: a clerk cannot attach a child to a recipient of another org unit');
SELECT throws_ok($q$DO $d$ BEGIN SET CONSTRAINTS ALL IMMEDIATE;
                   INSERT INTO ledger.child (municipality_code, person_id, recipient_id, org_unit_id, from_date)
                   VALUES ('231002', 51, 1, 9901, '2020-01-01'); END $d$$q$, '23503', NULL,
    'hidden_person_as_child_refused: nor make a person of another org unit a child of an own recipient');
SELECT throws_ok($$INSERT INTO ledger.recipient_income VALUES ('231002', 5, 9901, 2030, 1, 0)$$, '23503', NULL,
    'nor record an income for a recipient of another org unit');
SELECT throws_ok($$UPDATE ledger.person SET birth_date = 'infinity' WHERE municipality_code = '231002' AND person_id = 11$$,
    '23514', NULL, 'birth_date_must_be_real: an infinite birth date (which would stop every payment run) is refused');
RESET ROLE;
-- The staff who may not write a row do not get it written by the run (row-level security on insert).
SELECT is((SELECT count(*) FROM ledger.payment WHERE municipality_code = '231002' AND org_unit_id = 9902
           AND payment_month = '2024-10-01'), 1::bigint, 'the job (scope all) paid the other org unit''s H6');
SELECT is((SELECT count(*) FROM ledger.payment_run WHERE run_by = 'regress_p_clerk'), 0::bigint, 'the clerk left no run record');

SELECT * FROM finish();
