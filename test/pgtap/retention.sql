-- Retention: boundaries (the last day kept, the first day deleted), holds, dry run, batches
-- with their deletion records, a rerun that finds nothing, and the trail still verifying.
\ir lib.psql

SELECT plan(27);

-- The counting rules themselves.
SELECT is(ledger.retention_expires_on('2020-03-31', '5 years', 'from_next_april'), '2025-04-01'::date,
    'from_next_april: a record closed on 31 March counts from the next day');
SELECT is(ledger.retention_expires_on('2020-04-01', '5 years', 'from_next_april'), '2026-04-01'::date,
    'from_next_april: a record closed on 1 April counts from the following 1 April');
SELECT is(ledger.retention_expires_on('2020-01-15', '5 years', 'from_date'), '2025-01-15'::date,
    'from_date: counts from the date itself');
SELECT is((SELECT count(*) FROM generate_series('2018-01-01'::date, '2023-12-31', '1 day') a(anchor),
                 unnest(ARRAY['2025-03-31', '2025-04-01', '2026-02-28', '2028-02-29']::date[]) d(day),
                 unnest(ARRAY['from_date', 'from_next_april']) c(counting)
           WHERE (a.anchor::date <= ledger._retention_cutoff(d.day, '5 years', c.counting))
              <> (ledger.retention_expires_on(a.anchor::date, '5 years', c.counting) <= d.day)), 0::bigint,
    'retention_cutoff_matches_rule: the batch condition selects exactly the expired anchors (6 years of days)');

\o /dev/null
INSERT INTO ledger.org_unit VALUES ('151009', 9601, '新潟市 こども家庭課');
SELECT ledger.enrol_person('151009', 9601, (b || ledger.mynumber_check_digit(b))::ledger.mynumber, '保存', i::text, 'ホゾン', 'イ', '2010-04-02', '新潟市')
FROM (SELECT i, lpad((80000000000 + i)::text, 11, '0') AS b FROM generate_series(1, 6) i) x;
\o
CREATE TEMP TABLE p AS SELECT given_name::int AS i, person_id FROM ledger.person WHERE municipality_code = '151009';
INSERT INTO ledger.recipient (municipality_code, person_id, org_unit_id) SELECT '151009', person_id, 9601 FROM p;
-- one certification per recipient: i -> extinguished_on
CREATE TEMP TABLE cert_dates (i int, ext date);
INSERT INTO cert_dates VALUES (1, ledger._retention_cutoff(ledger._today(), '5 years', 'from_next_april')),        -- last day deleted
                              (2, ledger._retention_cutoff(ledger._today(), '5 years', 'from_next_april') + 1),    -- first day kept
                              (3, '2019-06-01'), (4, '2018-01-01'), (5, NULL), (6, '2017-01-01');
INSERT INTO ledger.certification (municipality_code, recipient_id, org_unit_id, claim_date, first_month, monthly_amount,
                                  extinguished_on, extinction_reason, status)
SELECT '151009', r.recipient_id, 9601, '2010-05-01', '2010-06-01', 10000, c.ext,
       CASE WHEN c.ext IS NOT NULL THEN '転出' END, CASE WHEN c.ext IS NULL THEN 'certified' ELSE 'extinguished' END
FROM p JOIN ledger.recipient r ON r.person_id = p.person_id AND r.municipality_code = '151009' JOIN cert_dates c USING (i);
INSERT INTO ledger.payment (municipality_code, certification_id, recipient_id, org_unit_id, payment_month, first_month, last_month, amount)
SELECT municipality_code, certification_id, recipient_id, 9601, '2011-02-01', '2010-10-01', '2011-01-01', 40000
FROM ledger.certification WHERE municipality_code = '151009';
UPDATE ledger.person SET closed_on = c.ext FROM p JOIN cert_dates c USING (i)
 WHERE ledger.person.person_id = p.person_id AND ledger.person.municipality_code = '151009';
-- exchange records: kept through keep_until
INSERT INTO ledger.exchange_record (municipality_code, person_id, org_unit_id, direction, requester, requester_affair,
                                    provider, item_code, outcome, keep_until)
SELECT '151009', p.person_id, 9601, 'inquiry', '151009', 'child_allowance', '131016', 'resident_record', 'permitted', k
FROM p, (VALUES (ledger._today() - 1), (ledger._today())) v(k) WHERE p.i = 1;
-- holds: person 3 (an appeal), the certification of person 4 (litigation)
SELECT ledger.place_hold('151009', 'person', '不服申立て', person_id => (SELECT person_id FROM p WHERE i = 3)) \g /dev/null
SELECT ledger.place_hold('151009', 'record', '訴訟', table_name => 'ledger.certification',
    record_key => (SELECT c.certification_id FROM ledger.certification c JOIN ledger.recipient r USING (municipality_code, recipient_id)
                   JOIN p ON p.person_id = r.person_id WHERE c.municipality_code = '151009' AND p.i = 4)) \g /dev/null

CREATE TEMP VIEW state AS
SELECT (SELECT string_agg(p.i::text, ',' ORDER BY p.i) FROM ledger.certification c
          JOIN ledger.recipient r USING (municipality_code, recipient_id) JOIN p ON p.person_id = r.person_id
         WHERE c.municipality_code = '151009') AS certs,
       (SELECT count(*) FROM ledger.payment WHERE municipality_code = '151009') AS payments,
       (SELECT string_agg(p.i::text, ',' ORDER BY p.i) FROM ledger.person x JOIN p ON p.person_id = x.person_id
         WHERE x.municipality_code = '151009' AND x.mynumber IS NOT NULL) AS numbered,
       (SELECT count(*) FROM ledger.exchange_record WHERE municipality_code = '151009') AS exchanges;
SELECT * FROM state \gset before_

SET client_min_messages = warning;
CALL ledger.run_retention(dry_run => true);
SELECT is((SELECT certs || '/' || payments || '/' || numbered || '/' || exchanges FROM state),
          :'before_certs' || '/' || :'before_payments' || '/' || :'before_numbered' || '/' || :'before_exchanges',
    'dry_run_changes_nothing');
SELECT is((SELECT count(*) FROM ledger.deletion_record WHERE relation LIKE 'ledger.%' AND run_id =
           (SELECT max(run_id) FROM ledger.retention_run)), 0::bigint, 'a dry run writes no deletion record');
SELECT is((SELECT (report->'certification'->>'would_delete')::int FROM ledger.retention_run ORDER BY run_id DESC LIMIT 1), 2,
    'the dry run reports what would be deleted (persons 1 and 6)');
SELECT is((SELECT (report->'certification'->>'held')::int FROM ledger.retention_run ORDER BY run_id DESC LIMIT 1), 2,
    'and what the holds keep (persons 3 and 4)');

CALL ledger.run_retention(batch_size => 1);
SELECT is((SELECT certs FROM state), '2,3,4,5', 'boundary_dates: the last anchor due is deleted, the first one after it kept');
SELECT is((SELECT payments FROM state), 4::bigint, 'the payments of a deleted certification go with it');
SELECT ok((SELECT certs FROM state) LIKE '%3%' AND (SELECT certs FROM state) LIKE '%4%',
    'legal_hold_respected: a person hold and a record hold keep expired rows');
SELECT is((SELECT numbered FROM state), '2,3,5', 'erase_number: numbers of persons closed long enough are erased (held person 3 kept)');
SELECT is((SELECT count(*) FROM ledger.person x JOIN p ON p.person_id = x.person_id
           WHERE x.municipality_code = '151009' AND p.i IN (1, 4, 6)), 3::bigint,
    'erase_number keeps the rest of the person');
SELECT is((SELECT count(*) FROM ledger.person_pseudonym pp JOIN p ON p.person_id = pp.person_id
           WHERE pp.municipality_code = '151009' AND p.i IN (1, 4, 6)), 0::bigint,
    'pseudonyms go with the number');
SELECT is((SELECT keep_until FROM ledger.exchange_record WHERE municipality_code = '151009'), ledger._today(),
    'exchange records are kept through keep_until and deleted the day after');
SELECT is((SELECT sum(row_count) FROM ledger.deletion_record WHERE run_id = (SELECT max(run_id) FROM ledger.retention_run)
           AND policy_id = 'certification'), 2::bigint,
    'every_deletion_recorded: the deletion records count every deleted certification');
SELECT is((SELECT count(*) FROM ledger.deletion_record WHERE run_id = (SELECT max(run_id) FROM ledger.retention_run)), 6::bigint,
    'one deletion record per committed batch (batch size 1: 2 certifications, 3 numbers, 1 exchange record)');
SELECT is((SELECT key_digest FROM ledger.deletion_record WHERE run_id = (SELECT max(run_id) FROM ledger.retention_run)
           AND policy_id = 'exchange_record'),
          sha256(convert_to((SELECT min(key_min)::text FROM ledger.deletion_record WHERE policy_id = 'exchange_record'
                             AND run_id = (SELECT max(run_id) FROM ledger.retention_run)), 'UTF8')),
    'the key digest is sha256 of the sorted keys');
SELECT is((SELECT status FROM ledger.retention_run ORDER BY run_id DESC LIMIT 1), 'finished', 'the run finished');
SELECT ok(pg_temp.wait_for($$kind = 'insert' AND relation_name = 'ledger.deletion_record'$$) > 0,
    'deletion records are in the audit trail');

CALL ledger.run_retention();
SELECT is((SELECT rows_done FROM ledger.retention_run ORDER BY run_id DESC LIMIT 1), 0::bigint,
    'rerun_finds_nothing: a second run deletes nothing more');

SELECT ledger.lift_hold(hold_id) FROM ledger.retention_held WHERE municipality_code = '151009' AND scope = 'record' \g /dev/null
CALL ledger.run_retention(only_policy => 'certification');
SELECT is((SELECT certs FROM state), '2,3,5', 'a lifted hold lets the next run delete');

SELECT ok((SELECT ledger.audit_seal_now()) >= 0 AND NOT EXISTS (SELECT 1 FROM ledger.verify_audit()),
    'verify_audit passes after the runs');

-- A record is closed only when nothing current rests on it.
SELECT throws_ok(format($$SELECT ledger.close_person('151009', %s, current_date)$$, (SELECT person_id FROM p WHERE i = 5)),
    '55000', NULL, 'close_person_with_current_certification_refused: a recipient whose certification is current');
SELECT is((SELECT closed_on FROM ledger.person WHERE municipality_code = '151009' AND person_id = (SELECT person_id FROM p WHERE i = 5)), NULL::date,
    'and the record stays open');
SELECT throws_ok(format($$SELECT ledger.close_person('151009', %s, '2000-01-01')$$, (SELECT person_id FROM p WHERE i = 3)),
    '22023', NULL, 'close_person_before_record_ended_refused: a record is not closed before its certification ended');
SELECT throws_ok(format($$SELECT ledger.close_person('151009', %s, current_date + 30)$$, (SELECT person_id FROM p WHERE i = 3)),
    '22023', NULL, 'close_person_in_future_refused');
SELECT * FROM finish();
