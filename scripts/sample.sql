-- scripts/sample.sql — a sample municipality for scripts/run.sh: 千代田区 (団体コード 131016)
-- with two org units, staff of every duty in each, 300 recipients, their children,
-- certifications and one payment run (令和8年10月).  Loaded once, by a superuser; all names are made up
-- and every My Number is generated (valid check digit, not a real person's).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

INSERT INTO ledger.org_unit VALUES ('131016', 1, '子ども部 子育て支援課'), ('131016', 2, '神田出張所');

SELECT ledger.register_staff(d || '_' || o, n || ' (' || o || ')', o, ARRAY[d])
FROM (VALUES ('clerk', '受付'), ('examiner', '審査'), ('approver', '決裁'),
             ('administrator', 'システム管理'), ('auditor', '監査')) AS duty(d, n),
     generate_series(1, 2) AS o
ORDER BY o, d;

-- A pooled application role: it may SET ROLE to the clerks and examiners, and sees nothing itself.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_app') THEN
        CREATE ROLE ledger_app LOGIN NOINHERIT;  -- holds nothing until it SET ROLEs
    END IF;
END $$;
GRANT clerk_1, clerk_2, examiner_1, examiner_2 TO ledger_app;

-- Persons: 300 recipients (parents) and 1 to 3 children each.
CREATE TEMP TABLE sample_person AS
SELECT r AS recipient_no, 0 AS child_no, 1 + (r % 2) AS org,
       (date '1975-01-01' + (r * 37 % 7000)) AS birth
FROM generate_series(1, 300) r
UNION ALL
SELECT r, c, 1 + (r % 2), (date '2006-04-01' + ((r * 53 + c * 811) % 6900))
FROM generate_series(1, 300) r, generate_series(1, 1 + r % 3) c;

CREATE TEMP TABLE sample_ids AS
SELECT recipient_no, child_no, org,
       ledger.enrol_person('131016', org,
           (b || ledger.mynumber_check_digit(b))::ledger.mynumber,
           (ARRAY['佐藤','鈴木','高橋','田中','伊藤','渡辺','山本','中村','小林','加藤'])[1 + recipient_no % 10],
           CASE WHEN child_no = 0 THEN (ARRAY['一郎','花子','健太','陽子','大輔'])[1 + recipient_no % 5]
                ELSE (ARRAY['蓮','陽葵','湊','凛','蒼','結菜'])[1 + (recipient_no + child_no) % 6] END,
           (ARRAY['サトウ','スズキ','タカハシ','タナカ','イトウ','ワタナベ','ヤマモト','ナカムラ','コバヤシ','カトウ'])[1 + recipient_no % 10],
           NULL, birth, '東京都千代田区' || (ARRAY['神田','麹町','丸の内','飯田橋'])[1 + recipient_no % 4] || recipient_no) AS person_id
FROM (SELECT *, lpad((recipient_no * 1000 + child_no + 50000000000)::text, 11, '0') AS b FROM sample_person) p;

INSERT INTO ledger.recipient (municipality_code, person_id, org_unit_id, is_public_servant, registered_on)
SELECT '131016', person_id, org, recipient_no % 25 = 0, date '2024-04-01' + recipient_no
FROM sample_ids WHERE child_no = 0;

INSERT INTO ledger.child (municipality_code, person_id, recipient_id, org_unit_id, supported, relationship, from_date)
SELECT '131016', c.person_id, r.recipient_id, c.org, true, '子', p.birth_date
FROM sample_ids c
JOIN sample_ids pr ON pr.recipient_no = c.recipient_no AND pr.child_no = 0
JOIN ledger.recipient r ON r.person_id = pr.person_id
JOIN ledger.person p ON p.person_id = c.person_id
WHERE c.child_no > 0;

-- Incomes for the 手当年度 2023 and 2024 (the rules before 令和6年10月 had income limits):
-- 2.0 to 11.9 million yen, so that some recipients get the 特例給付 and some nothing.
INSERT INTO ledger.recipient_income (municipality_code, recipient_id, org_unit_id, benefit_year, income, dependants)
SELECT '131016', r.recipient_id, r.org_unit_id, y, 2000000 + (r.recipient_id * 37 % 100) * 100000, 1 + r.recipient_id % 3
FROM ledger.recipient r, generate_series(2023, 2024) y;

-- Certifications: the first month follows from the claim (ledger.certification_first_month);
-- the 手当月額 as decided at certification, by the engine.
INSERT INTO ledger.certification (municipality_code, recipient_id, org_unit_id, claim_date, decision_date, status)
SELECT '131016', r.recipient_id, r.org_unit_id, r.registered_on, r.registered_on + 10, 'certified'
FROM ledger.recipient r;
UPDATE ledger.certification c
   SET monthly_amount = ledger.monthly_total(c.municipality_code, c.recipient_id, c.first_month);

-- The payment job: a staff member with the payment_job duty, runs the payments of 令和8年10月
-- (August and September 2026) through the same checks as any staff member; they were paid.
SELECT ledger.register_staff('payment_job', '支払処理ジョブ', 1, ARRAY['payment_job']);
SET ROLE payment_job;
CALL ledger.prepare_payments('2026-10-01');
RESET ROLE;
UPDATE ledger.payment SET status = 'paid', paid_on = date '2026-10-15' WHERE payment_month = '2026-10-01';
