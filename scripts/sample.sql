-- scripts/sample.sql — a sample municipality for scripts/run.sh: 千代田区 (団体コード 131016)
-- with two org units, staff of every duty in each, 300 recipients, their children,
-- certifications and one payment month.  Loaded once, by a superuser; all names are made up
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

INSERT INTO ledger.certification (municipality_code, recipient_id, org_unit_id, claim_date, decision_date,
                                  first_month, monthly_amount, status)
SELECT '131016', r.recipient_id, r.org_unit_id, r.registered_on, r.registered_on + 10,
       (date_trunc('month', r.registered_on) + interval '1 month')::date,
       (SELECT sum(CASE WHEN age(date '2026-10-01', p.birth_date) < interval '3 years' THEN 15000 ELSE 10000 END)
        FROM ledger.child c JOIN ledger.person p ON p.person_id = c.person_id WHERE c.recipient_id = r.recipient_id),
       'certified'
FROM ledger.recipient r WHERE NOT r.is_public_servant;

INSERT INTO ledger.payment (municipality_code, certification_id, recipient_id, org_unit_id, payment_month,
                            first_month, last_month, amount, status, paid_on)
SELECT '131016', certification_id, recipient_id, org_unit_id, date '2026-10-01',
       date '2026-08-01', date '2026-09-01', monthly_amount * 2, 'paid', date '2026-10-15'
FROM ledger.certification;
