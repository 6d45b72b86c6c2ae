-- Legal holds on every road (invariant 12, ATTACKS.md §1 foreign-key actions, §2 TRUNCATE):
-- a row a hold names cannot be removed by a staff DELETE, a foreign key's cascade, the
-- retention run, TRUNCATE (CASCADE too), or the owner of a protected table; each refusal is
-- recorded, and a lifted hold lets the row go.
\ir lib.psql

SELECT plan(25);

\o /dev/null
INSERT INTO ledger.org_unit VALUES ('401005', 9761, '北九州市 子育て支援課');
SELECT ledger.register_staff('regress_h_clerk', '受付 保存', 9761, ARRAY['clerk']);
SELECT ledger.enrol_person('401005', 9761, (b || ledger.mynumber_check_digit(b))::ledger.mynumber, '保存延長', i::text, 'ホゾン', 'イ', '1985-04-02', '北九州市')
FROM (SELECT i, lpad((60000000000 + i)::text, 11, '0') AS b FROM generate_series(1, 3) i) x;
\o
CREATE TEMP TABLE hp AS SELECT given_name::int AS i, person_id FROM ledger.person WHERE municipality_code = '401005';
INSERT INTO ledger.recipient (municipality_code, person_id, org_unit_id) SELECT '401005', person_id, 9761 FROM hp;
-- each recipient: an extinguished certification long past its retention, with a paid payment
INSERT INTO ledger.certification (municipality_code, recipient_id, org_unit_id, claim_date, first_month, monthly_amount,
                                  extinguished_on, extinction_reason, status)
SELECT '401005', r.recipient_id, 9761, '2010-05-01', '2010-06-01', 10000, '2012-01-01', '転出', 'extinguished'
FROM ledger.recipient r WHERE r.municipality_code = '401005';
INSERT INTO ledger.payment (municipality_code, certification_id, recipient_id, org_unit_id, payment_month, first_month, last_month, amount, status, paid_on)
SELECT municipality_code, certification_id, recipient_id, 9761, '2011-02-01', '2010-10-01', '2011-01-01', 40000, 'paid', '2011-02-15'
FROM ledger.certification WHERE municipality_code = '401005';
CREATE TEMP TABLE hc AS
SELECT hp.i, c.certification_id, pay.payment_id, r.recipient_id
FROM hp JOIN ledger.recipient r ON r.person_id = hp.person_id AND r.municipality_code = '401005'
JOIN ledger.certification c ON c.recipient_id = r.recipient_id AND c.municipality_code = '401005'
JOIN ledger.payment pay ON pay.certification_id = c.certification_id AND pay.municipality_code = '401005';
SELECT ledger.enrol_person('401005', 9761, '412345678901', '保存延長', '他', 'ホゾン', 'タ', '1986-04-02', '北九州市') AS spare_person \gset
-- 1: the payment itself is held; 2: the person is held
SELECT ledger.place_hold('401005', 'record', '不服申立て', NULL, 'ledger.payment', (SELECT payment_id FROM hc WHERE i = 1)) AS record_hold \gset
SELECT ledger.place_hold('401005', 'person', '訴訟', (SELECT person_id FROM hp WHERE i = 2)) AS person_hold \gset

SELECT payment_id AS pay1 FROM hc WHERE i = 1 \gset
SET ROLE regress_h_clerk;
SELECT throws_ok(format($$DELETE FROM ledger.payment WHERE municipality_code = '401005' AND payment_id = %s$$, :pay1),
    '42501', NULL, 'held_payment_staff_delete_refused: a clerk''s plain DELETE of a held, paid payment');
RESET ROLE;
SELECT ok(pg_temp.wait_for($$kind = 'denied' AND acting_role = 'regress_h_clerk' AND detail LIKE 'delete refused: legal hold%'$$) > 0,
    'held_row_refusal_recorded');
SELECT throws_ok(format($$DELETE FROM ledger.certification WHERE municipality_code = '401005' AND certification_id = %s$$, (SELECT certification_id FROM hc WHERE i = 1)),
    '42501', NULL, 'held_payment_cascade_refused: deleting the certification would cascade into the held payment');
SELECT throws_ok(format($$DELETE FROM ledger.certification WHERE municipality_code = '401005' AND certification_id = %s$$, (SELECT certification_id FROM hc WHERE i = 2)),
    '42501', NULL, 'held_person_cascade_refused: the payments of a held person are kept through the cascade');
SELECT throws_ok($$TRUNCATE ledger.payment CASCADE$$, '42501', NULL, 'held_rows_truncate_refused: TRUNCATE ... CASCADE (a superuser''s)');
SELECT throws_ok($$TRUNCATE ledger.certification CASCADE$$, '42501', NULL,
    'held_rows_truncate_cascade_refused: TRUNCATE of the parent reaches the held payment');
SELECT is((SELECT count(*) FROM ledger.payment WHERE municipality_code = '401005'), 3::bigint, 'every payment is still there');

-- A person hold reaches the 額改定 of the person's certifications too.
INSERT INTO ledger.certification_revision (municipality_code, certification_id, org_unit_id, effective_month, old_amount, new_amount, reason)
SELECT '401005', certification_id, 9761, '2011-01-01', 10000, 15000, '3歳到達' FROM hc WHERE i = 2;
SET ROLE regress_h_clerk;
SELECT throws_ok($$DELETE FROM ledger.certification_revision WHERE municipality_code = '401005'$$, '42501', NULL,
    'held_person_revision_delete_refused: a person hold covers the revisions of their certification');
RESET ROLE;

-- An UPDATE cannot move a held row out from under its hold (then delete it freely).
SELECT throws_ok(format($$UPDATE ledger.certification SET certification_id = certification_id + 900000
                          WHERE municipality_code = '401005' AND certification_id = %s$$, (SELECT certification_id FROM hc WHERE i = 2)),
    '42501', NULL, 'held_row_key_update_refused: renaming the key of a held person''s certification');
SELECT throws_ok(format($$UPDATE ledger.recipient SET person_id = %s WHERE municipality_code = '401005' AND recipient_id = %s$$,
                        :spare_person, (SELECT recipient_id FROM hc WHERE i = 2)),
    '42501', NULL, 'held_person_moved_refused: pointing the held person''s recipient at another person');
SELECT lives_ok(format($$UPDATE ledger.payment SET status = 'returned' WHERE municipality_code = '401005' AND payment_id = %s$$, :pay1),
    'an UPDATE that leaves a held row where its hold names it is allowed');

-- The retention run: the certification whose deletion would take a held payment is kept,
-- and the run goes on with the rest.
CALL ledger.run_retention(false, 1000, 'certification');
SELECT is((SELECT array_agg(hc.i ORDER BY hc.i) FROM hc JOIN ledger.certification c USING (certification_id) WHERE c.municipality_code = '401005'),
    ARRAY[1, 2], 'retention_cascade_respects_holds: the certifications of the held payment and of the held person are kept');
SELECT is((SELECT count(*) FROM ledger.payment WHERE municipality_code = '401005' AND payment_id IN (SELECT payment_id FROM hc WHERE i IN (1, 2))), 2::bigint,
    'and their payments');
SELECT is((SELECT count(*) FROM ledger.certification WHERE municipality_code = '401005' AND certification_id = (SELECT certification_id FROM hc WHERE i = 3)), 0::bigint,
    'the unheld certification of the same batch is deleted');
SELECT ok((SELECT (report->'certification'->>'held')::int >= 2 FROM ledger.retention_run ORDER BY run_id DESC LIMIT 1),
    'the run reports the rows it kept for a hold');

-- A table hold on the DBA's own protected table: the owner cannot delete or truncate.
CREATE ROLE regress_h_dba;
GRANT ledger_dba TO regress_h_dba;
CREATE TABLE public.regress_h_own (id bigint PRIMARY KEY, municipality_code text NOT NULL DEFAULT '401005', org_unit_id integer);
ALTER TABLE public.regress_h_own OWNER TO regress_h_dba;
SET ROLE regress_h_dba;
SELECT ledger.protect_table('public.regress_h_own', 'org_unit_id') \g /dev/null
RESET ROLE;
INSERT INTO public.regress_h_own VALUES (1, '401005', 9761);
SELECT ledger.place_hold('401005', 'table', '監査', NULL, 'public.regress_h_own') AS table_hold \gset
SET ROLE regress_h_dba;
SELECT throws_ok($$TRUNCATE public.regress_h_own$$, '42501', NULL, 'held_table_owner_truncate_refused');
-- A hold names the table by schema and name, and its guard the columns by name: the owner
-- cannot take the table out from under it.
SELECT throws_ok($$ALTER TABLE public.regress_h_own RENAME TO regress_h_own_x$$, '42501', NULL,
    'renamed_protected_table_escapes_table_hold: the owner cannot rename a protected table');
SELECT throws_ok($$ALTER TABLE public.regress_h_own RENAME COLUMN id TO id_x$$, '42501', NULL,
    'renamed_column_escapes_hold_guard: nor rename its columns');
RESET ROLE;
CREATE SCHEMA regress_h_dba_schema AUTHORIZATION regress_h_dba;
SET ROLE regress_h_dba;
SELECT throws_ok($$ALTER TABLE public.regress_h_own SET SCHEMA regress_h_dba_schema$$, '42501', NULL,
    'moved_protected_table_escapes_table_hold: nor move it to another schema');
CREATE TABLE regress_h_dba_schema.kept (id bigint PRIMARY KEY, org_unit_id integer);
SELECT ledger.protect_table('regress_h_dba_schema.kept', 'org_unit_id') \g /dev/null
SELECT throws_ok($$ALTER SCHEMA regress_h_dba_schema RENAME TO regress_h_dba_schema_x$$, '42501', NULL,
    'renamed_schema_escapes_table_hold: nor rename the schema that holds one');
SELECT throws_ok($$DROP SCHEMA regress_h_dba_schema CASCADE$$, '42501', NULL,
    'dropped_schema_takes_protected_table: nor drop that schema with it');
RESET ROLE;
-- The guard's trigger function runs as the extension's owner: attached to a table of one's
-- own, it would tell which persons are held (it reads the holds past their policies).
SET ROLE regress_h_clerk;
SELECT throws_ok($$CREATE TEMP TABLE probe (municipality_code text, k bigint PRIMARY KEY, person_id bigint, recipient_id bigint)$$,
    '42501', 'permission denied: staff run no DDL', 'staff_table_for_hold_guard_refused: staff make no table to attach it to');
SELECT throws_ok($$CREATE TRIGGER p AFTER DELETE ON probe REFERENCING OLD TABLE AS mnl_old FOR EACH STATEMENT
                   EXECUTE FUNCTION ledger._hold_guard('k', 'person_id', 'recipient_id')$$, '42501', NULL,
    'hold_guard_trigger_on_own_table_refused: the extension''s trigger functions are attached by the extension only');
RESET ROLE;

-- A lifted hold lets the row go.
SELECT ledger.lift_hold(:record_hold) \g /dev/null
SELECT lives_ok(format($$DELETE FROM ledger.certification WHERE municipality_code = '401005' AND certification_id = %s$$, (SELECT certification_id FROM hc WHERE i = 1)),
    'lifted_hold_releases: once lifted, the certification and its payment are deleted');
SELECT is((SELECT count(*) FROM ledger.payment WHERE municipality_code = '401005' AND payment_id = (SELECT payment_id FROM hc WHERE i = 1)), 0::bigint,
    'the cascade took the payment');

-- Leave nothing held behind for the other files of the suite.
\o /dev/null
SELECT ledger.lift_hold(hold_id) FROM ledger.legal_hold WHERE municipality_code = '401005' AND lifted_at IS NULL;
DELETE FROM ledger.certification WHERE municipality_code = '401005';
DELETE FROM public.regress_h_own;
DROP SCHEMA regress_h_dba_schema CASCADE;
\o
SELECT * FROM finish();
