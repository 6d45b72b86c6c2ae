-- Every record says whose data: a person's access history (本人開示) lists who revealed their
-- number, found them by number, changed their rows or exchanged their data, and nothing
-- about anyone else; the auditor lists whose data a staff member used (the incident
-- question); staff without the duty get neither.
\ir lib.psql

SELECT plan(11);

\o /dev/null
INSERT INTO ledger.org_unit VALUES ('011002', 9871, '札幌市 開示試験'), ('282014', 9872, '姫路市 開示試験');
SELECT ledger.register_staff('regress_a_exam', '審査 開示', 9871, ARRAY['examiner']);
SELECT ledger.register_staff('regress_a_clerk', '受付 開示', 9871, ARRAY['clerk']);
SELECT ledger.register_staff('regress_a_officer', '本人開示 担当', 9871, ARRAY['disclosure_officer']);
SELECT ledger.register_staff('regress_a_auditor', '監査 開示', 9871, ARRAY['auditor']);
SET ROLE regress_a_clerk;
SELECT ledger.enrol_person('011002', 9871, '728394056123', '開示', '甲', 'カイジ', 'コウ', '2016-04-02', '札幌市');
SELECT ledger.enrol_person('011002', 9871, '839405612739', '開示', '乙', 'カイジ', 'オツ', '2016-04-02', '札幌市');
RESET ROLE;
\o
SELECT person_id AS ko FROM ledger.person WHERE municipality_code = '011002' AND given_name = '甲' \gset
SELECT person_id AS otsu FROM ledger.person WHERE municipality_code = '011002' AND given_name = '乙' \gset
SET ROLE regress_a_clerk;
UPDATE ledger.person SET address = '札幌市 中央区' WHERE municipality_code = '011002' AND person_id = :ko;
SELECT ledger.find_person('728394056123', '011002') \g /dev/null
RESET ROLE;
SET ROLE regress_a_exam;
SELECT ledger.reveal_person_number('011002', :ko, '認定審査') \g /dev/null
SELECT ledger.reveal_person_number('011002', :otsu, '認定審査') \g /dev/null
RESET ROLE;
SELECT pg_temp.wait_for($$kind = 'reveal' AND acting_role = 'regress_a_exam'$$) \g /dev/null

SET ROLE regress_a_officer;
SELECT ledger.access_history('011002', :ko) AS h \gset
RESET ROLE;
SELECT ok(:'h'::jsonb @> '[{"what": "reveal", "staff_role": "regress_a_exam", "detail": "認定審査"}]',
    'access_history_names_reveals: who revealed the person''s number, and why');
SELECT ok(:'h'::jsonb @> '[{"what": "lookup", "staff_role": "regress_a_clerk"}]',
    'access_history_names_lookups: who found the person by number');
SELECT ok(:'h'::jsonb @> '[{"what": "update", "staff_role": "regress_a_clerk", "relation": "ledger.person"}]',
    'access_history_names_changes: who changed the person''s rows');
SELECT is((SELECT count(*) FROM jsonb_array_elements(:'h'::jsonb) x WHERE x->>'what' = 'reveal'), 1::bigint,
    'access_history_nothing_about_others: the reveal of another person is not in it');
SET ROLE regress_a_auditor;
SELECT ledger.audit_persons_seen('regress_a_exam') AS seen \gset
RESET ROLE;
SELECT is((SELECT array_agg((x->>'person_id')::bigint ORDER BY (x->>'person_id')::bigint) FROM jsonb_array_elements(:'seen'::jsonb) x
           WHERE x->>'municipality_code' = '011002'),
    ARRAY[:ko, :otsu]::bigint[], 'audit_persons_seen: the auditor lists the persons whose numbers the examiner revealed');
-- A row moved to another person keeps its history with the first (the trail remembers).
INSERT INTO ledger.recipient (municipality_code, person_id, org_unit_id) VALUES ('011002', :ko, 9871);
SELECT recipient_id AS rec FROM ledger.recipient WHERE municipality_code = '011002' AND person_id = :ko \gset
SET ROLE regress_a_clerk;
UPDATE ledger.recipient SET is_public_servant = true WHERE municipality_code = '011002' AND recipient_id = :rec;
UPDATE ledger.recipient SET person_id = :otsu WHERE municipality_code = '011002' AND recipient_id = :rec;
RESET ROLE;
SET ROLE regress_a_officer;
SELECT ok(ledger.access_history('011002', :ko) @> '[{"what": "update", "staff_role": "regress_a_clerk", "relation": "ledger.recipient"}]',
    'access_history_follows_moved_rows: a recipient row moved to another person stays in the first person''s history');
RESET ROLE;
SELECT ledger.register_staff('regress_a_other_officer', '他市 開示', 9872, ARRAY['disclosure_officer']) \g /dev/null
SET ROLE regress_a_other_officer;
SELECT throws_ok(format($$SELECT ledger.access_history('011002', %s)$$, :ko), '42501', NULL,
    'access_history_own_municipality_only: another municipality''s disclosure officer is refused');
SELECT is((SELECT count(*) FROM jsonb_array_elements(ledger.audit_persons_seen('regress_a_exam'))), 0::bigint,
    'audit_persons_seen_own_municipality_only');
RESET ROLE;
SET ROLE regress_a_clerk;
SELECT throws_ok(format($$SELECT ledger.access_history('011002', %s)$$, :ko), '42501', NULL,
    'access_history_refused_to_staff: a clerk cannot read who used a person''s data');
SELECT throws_ok($$SELECT ledger.audit_persons_seen('regress_a_exam')$$, '42501', NULL,
    'audit_persons_seen_refused_to_staff');
RESET ROLE;
SET ROLE regress_a_officer;
SELECT is((SELECT count(*) FROM ledger.person WHERE municipality_code = '011002'), 0::bigint,
    'the disclosure officer reads no ledger row');
RESET ROLE;
SELECT * FROM finish();
