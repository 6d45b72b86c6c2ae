-- Reveal quotas and the two-person rule (PIA 7 事故事例).  Each refusal path has a test.
\ir lib.psql

SELECT plan(54);

-- Wait until the audit writer has counted n reveals of role today.
CREATE FUNCTION pg_temp.wait_tally(role name, n integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE got integer;
BEGIN
    FOR i IN 1..100 LOOP
        SELECT reveals INTO got FROM ledger.reveal_tally WHERE role_name = role AND day = ledger._today();
        EXIT WHEN got >= n;
        PERFORM pg_sleep(0.1);
    END LOOP;
    RETURN coalesce(got, 0);
END $$;

\o /dev/null
INSERT INTO ledger.org_unit VALUES ('130001', 9501, '試験市 子育て課'), ('130001', 9502, '試験市 支所');
CREATE TEMP TABLE saved_quota AS SELECT reveal_quota_per_day FROM ledger.duty WHERE duty_code = 'examiner';
UPDATE ledger.duty SET reveal_quota_per_day = 2 WHERE duty_code = 'examiner';
SELECT ledger.register_staff('regress_d_exam', '審査 甲', 9501, ARRAY['examiner']);
SELECT ledger.register_staff('regress_d_both', '審査兼決裁', 9501, ARRAY['examiner', 'approver']);
SELECT ledger.register_staff('regress_d_appr', '決裁 乙', 9501, ARRAY['approver']);
SELECT ledger.enrol_person('130001', 9501, (b || ledger.mynumber_check_digit(b))::ledger.mynumber, '試験', i::text, 'シケン', 'イ', '2015-04-02', '試験市')
FROM (SELECT i, lpad((70000000000 + i)::text, 11, '0') AS b FROM generate_series(1, 5) i) x;
SELECT ledger.enrol_person('130001', 9502, '123456789018', '支所', '一', 'シショ', 'イチ', '2015-04-02', '試験市');
\o
SELECT array_agg(person_id ORDER BY person_id) AS ids FROM ledger.person WHERE municipality_code = '130001' AND org_unit_id = 9501 \gset
SELECT person_id AS other FROM ledger.person WHERE municipality_code = '130001' AND org_unit_id = 9502 \gset

-- The daily quota, counted from the trail.
SET ROLE regress_d_exam;
SELECT ok(ledger.reveal_person_number('130001', (:'ids'::bigint[])[1], '認定審査') IS NOT NULL, 'first reveal of the day');
BEGIN;
SELECT ok(ledger.reveal_person_number('130001', (:'ids'::bigint[])[2], '認定審査') IS NOT NULL, 'second reveal (then rolled back)');
ROLLBACK;
RESET ROLE;
SELECT is(pg_temp.wait_tally('regress_d_exam', 2), 2, 'rollback_does_not_return_a_reveal: both reveals are counted');
SET ROLE regress_d_exam;
SELECT throws_ok(format($$SELECT ledger.reveal_person_number('130001', %s, '認定審査')$$, (:'ids'::bigint[])[3]), '42501',
    'the daily reveal quota (2) is reached', 'reveal_quota_enforced: beyond the duty''s quota a reveal is refused');
RESET ROLE;
SELECT ok(pg_temp.wait_for($$kind = 'denied' AND acting_role = 'regress_d_exam' AND detail LIKE '%quota%'$$) > 0,
    'reveal_quota_refusal_recorded');

-- A second person's approval lifts it, for the approved count only.
SET ROLE regress_d_exam;
SELECT ledger.request_disclosure_approval('reveal_quota', 1, '至急の認定審査') AS quota_req \gset
SELECT throws_ok(format($$SELECT ledger.approve_disclosure(%s)$$, :quota_req), '42501', NULL,
    'two_person_rule_needs_approve_duty: the requester (without the approve duty) cannot approve');
RESET ROLE;
SET ROLE regress_d_appr;
SELECT lives_ok(format($$SELECT ledger.approve_disclosure(%s)$$, :quota_req), 'another staff member with the approve duty approves');
RESET ROLE;
SET ROLE regress_d_exam;
SELECT ok(ledger.reveal_person_number('130001', (:'ids'::bigint[])[3], '至急の認定審査') IS NOT NULL,
    'an approved reveal beyond the quota');
SELECT throws_ok(format($$SELECT ledger.reveal_person_number('130001', %s, 'x')$$, (:'ids'::bigint[])[4]), '42501', NULL,
    'approval_used_up: the approval covered one reveal');
RESET ROLE;

-- The requester never approves their own request, even with the approve duty.
SET ROLE regress_d_both;
SELECT ledger.request_disclosure_approval('bulk_reveal', 3, '一括確認') AS own_req \gset
SELECT throws_ok(format($$SELECT ledger.approve_disclosure(%s)$$, :own_req), '42501',
    'permission denied: the requester cannot approve their own request', 'two_person_rule_self_approval_refused');
RESET ROLE;

-- Bulk reveals above the threshold.
SET ledger.bulk_reveal_threshold = 2;
SET ROLE regress_d_both;
SELECT throws_ok(format($$SELECT ledger.reveal_people('130001', %L, '一括確認')$$, (:'ids'::bigint[])[1:3]), '42501', NULL,
    'bulk_reveal_needs_approval: three numbers at once without approval are refused');
RESET ROLE;
SET ROLE regress_d_appr;
SELECT ledger.approve_disclosure(:own_req) \g /dev/null
RESET ROLE;
SET ROLE regress_d_both;
SELECT is((SELECT count(*) FROM jsonb_object_keys(ledger.reveal_people('130001', (:'ids'::bigint[])[1:3], '一括確認'))), 3::bigint,
    'bulk_reveal_with_approval: the approved bulk reveal returns every number');
SELECT throws_ok(format($$SELECT ledger.reveal_people('130001', %L, '一括確認')$$, (:'ids'::bigint[])[1:3]), '42501', NULL,
    'bulk_approval_single_use: the approval is spent');
SELECT throws_ok(format($$SELECT ledger.reveal_people('130001', ARRAY[%s, %s]::bigint[], 'x')$$, (:'ids'::bigint[])[1], :other), '42501', NULL,
    'bulk_reveal_other_org_unit_refused: every person must be revealable by the caller');
RESET ROLE;
RESET ledger.bulk_reveal_threshold;
SELECT ok(pg_temp.wait_for($$kind = 'reveal' AND acting_role = 'regress_d_both'$$) >= 3, 'bulk reveals are recorded one by one');
SELECT is((SELECT count(*) FROM ledger.disclosure_approval WHERE approved_by IS NOT NULL AND approved_by <> requested_by), 2::bigint,
    'every approval names a second person');

-- A used approval stays used: its use is committed by the audit writer, not in the caller's
-- transaction.
\o /dev/null
SELECT ledger.enrol_person('130001', 9501, (b || ledger.mynumber_check_digit(b))::ledger.mynumber, '一括', i::text, 'イッカツ', 'イ', '2015-04-02', '試験市')
FROM (SELECT i, lpad((70000000100 + i)::text, 11, '0') AS b FROM generate_series(1, 30) i) x;
\o
SELECT array_agg(person_id ORDER BY person_id) AS many FROM ledger.person WHERE municipality_code = '130001' AND given_name ~ '^[0-9]+$' AND family_name = '一括' \gset
SET ledger.bulk_reveal_threshold = 2;
SET ROLE regress_d_both;
SELECT ledger.request_disclosure_approval('bulk_reveal', 3, 'ロールバック試験') AS rb_req \gset
RESET ROLE;
SET ROLE regress_d_appr;
SELECT ledger.approve_disclosure(:rb_req) \g /dev/null
RESET ROLE;
SET ROLE regress_d_both;
BEGIN;
SELECT is((SELECT count(*) FROM jsonb_object_keys(ledger.reveal_people('130001', (:'many'::bigint[])[1:3], 'ロールバック試験'))), 3::bigint,
    'a bulk reveal under an approval (then rolled back)');
ROLLBACK;
SELECT throws_ok(format($$SELECT ledger.reveal_people('130001', %L, 'ロールバック試験')$$, (:'many'::bigint[])[1:3]), '42501', NULL,
    'approval_not_returned_by_rollback: the rolled-back bulk reveal spent the approval');
RESET ROLE;
SET ROLE regress_d_appr;
RESET ROLE;
SET ROLE regress_d_both;
SELECT ledger.request_disclosure_approval('bulk_reveal', 3, 'セーブポイント試験') AS sp_req \gset
RESET ROLE;
SET ROLE regress_d_appr;
SELECT ledger.approve_disclosure(:sp_req) \g /dev/null
RESET ROLE;
SET ROLE regress_d_both;
BEGIN;
SAVEPOINT s;
SELECT jsonb_typeof(ledger.reveal_people('130001', (:'many'::bigint[])[4:6], 'セーブポイント試験')) \g /dev/null
ROLLBACK TO SAVEPOINT s;
SELECT throws_ok(format($$SELECT ledger.reveal_people('130001', %L, 'セーブポイント試験')$$, (:'many'::bigint[])[4:6]), '42501', NULL,
    'approval_not_returned_by_savepoint_rollback: ROLLBACK TO SAVEPOINT gives the approval no use back');
ROLLBACK;
RESET ROLE;
SELECT is((SELECT used_count FROM ledger.disclosure_approval WHERE approval_id = :rb_req), 3,
    'approval_use_committed_by_the_writer: used_count is set though the revealer rolled back');
SELECT ok(pg_temp.wait_for(format($$kind = 'approval_used' AND row_key = ARRAY[%L] AND row_count = 3$$, :rb_req)) = 1,
    'approval_use_recorded: the trail has the use, with the approval and the count');
RESET ledger.bulk_reveal_threshold;

-- The daily quota is exact whatever the isolation level: counts are read under the latest
-- snapshot, not the transaction's.
UPDATE ledger.duty SET reveal_quota_per_day = 5 WHERE duty_code = 'examiner';
SELECT ledger.register_staff('regress_d_rr', '審査 丙', 9501, ARRAY['examiner']) \g /dev/null
SELECT ledger.register_staff('regress_d_sr', '審査 丁', 9501, ARRAY['examiner']) \g /dev/null
CREATE FUNCTION pg_temp.reveal_many(ids bigint[], tries integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE ok integer := 0;
BEGIN
    FOR i IN 1..tries LOOP
        BEGIN
            PERFORM ledger.reveal_person_number('130001', ids[i], '認定審査');
            ok := ok + 1;
        EXCEPTION WHEN insufficient_privilege THEN NULL;
        END;
    END LOOP;
    RETURN ok;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.reveal_many(bigint[], integer) TO PUBLIC;
SET ROLE regress_d_rr;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM ledger.person \g /dev/null
SELECT is(pg_temp.reveal_many(:'many', 8), 5, 'quota_exact_under_repeatable_read: 8 tries in one REPEATABLE READ transaction, quota 5');
COMMIT;
RESET ROLE;
SET ROLE regress_d_sr;
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT count(*) FROM ledger.person \g /dev/null
SELECT is(pg_temp.reveal_many(:'many', 8), 5, 'quota_exact_under_serializable: 8 tries in one SERIALIZABLE transaction, quota 5');
ROLLBACK;
SELECT is(pg_temp.reveal_many(:'many', 3), 0, 'quota_not_returned_by_rollback: the rolled-back reveals still count');
RESET ROLE;

-- Membership of ledger_revealer (for a DBA's own sealed columns) opens no number of the ledger.
CREATE ROLE regress_d_revealer;
GRANT ledger_revealer, ledger_staff TO regress_d_revealer;
GRANT SELECT (municipality_code, person_id, mynumber) ON ledger.person TO regress_d_revealer;
CREATE TEMP TABLE own_sealed AS SELECT ledger.seal('123456789018', 'person:1') AS mn;
GRANT SELECT ON own_sealed TO regress_d_revealer;
SELECT mynumber AS ledger_value, person_id AS ledger_pid FROM ledger.person WHERE person_id = (:'many'::bigint[])[10] \gset
SET ROLE regress_d_revealer;
SELECT throws_ok(format($$SELECT ledger.reveal(%L, ledger.person_context('130001', %s), '確認')$$, :'ledger_value', :ledger_pid),
    '42501', NULL, 'revealer_membership_opens_no_ledger_number: ledger.reveal refuses a person of the ledger');
SELECT is((SELECT ledger.reveal(mn, 'person:1', '確認')::text FROM own_sealed), '123456789018',
    'a revealer still opens its own sealed column (a context of its own)');
RESET ROLE;
SELECT ok(pg_temp.wait_for($$kind = 'denied' AND acting_role = 'regress_d_revealer' AND detail LIKE '%outside the gated reveal%'$$) = 1,
    'revealer_shortcut_refusal_recorded');

-- One statement that reveals a number per row, or a loop of reveals, is one bulk disclosure.
UPDATE ledger.duty SET reveal_quota_per_day = 1000 WHERE duty_code = 'examiner';
SELECT ledger.register_staff('regress_d_rows', '審査 己', 9501, ARRAY['examiner']) \g /dev/null
SET ROLE regress_d_rows;
SELECT throws_matching(format($$SELECT count(ledger.reveal_person_number('130001', id, '一括確認'))
                                 FROM unnest(%L::bigint[]) id$$, :'many'),
    'in one statement needs a second staff member',
    'bulk_reveal_threshold_bypassed_by_multirow_select: a number a row, past the threshold, needs the approval');
SELECT is(pg_temp.reveal_many(:'many', 15), 10,
    'bulk_reveal_threshold_bypassed_by_loop: a loop of single reveals in one statement stops at the threshold');
SELECT ok(ledger.reveal_person_number('130001', (:'many'::bigint[])[1], '個別確認') IS NOT NULL,
    'single reveals in statements of their own are the daily quota''s to limit');
RESET ROLE;
UPDATE ledger.duty SET reveal_quota_per_day = 5 WHERE duty_code = 'examiner';

-- A reveal needs a purpose that says something, recorded whole.
SELECT ledger.register_staff('regress_d_text', '審査 戊', 9501, ARRAY['examiner']) \g /dev/null
SET ROLE regress_d_text;
SELECT throws_ok(format($$SELECT ledger.reveal_person_number('130001', %s, E'\u200b')$$, (:'many'::bigint[])[20]), '22023', NULL,
    'invisible_purpose_refused: a zero-width space is no purpose');
SELECT throws_ok(format($$SELECT ledger.reveal_person_number('130001', %s, repeat('x', 520), '番号法第19条第8号')$$, (:'many'::bigint[])[20]),
    '22001', NULL, 'reveal_record_not_truncated: a purpose too long to be recorded whole is refused');
RESET ROLE;

-- A reveal's record says whose number it was.
SELECT ok(pg_temp.wait_for(format($$kind = 'reveal' AND acting_role = 'regress_d_rr' AND relation_name = 'ledger.person'
                                   AND row_key = ARRAY['130001', %L]$$, (:'many'::bigint[])[1])) = 1,
    'reveal_record_names_the_person: relation ledger.person and the key (団体コード, 個人ID)');

-- A revealed number is not written where clerks read it: every text column of the ledger's
-- tables refuses a valid number in any form the type accepts (ledger.contains_mynumber).
SET ROLE regress_d_text;
SELECT throws_ok(format($$UPDATE ledger.person SET address = address || ' ' || ledger.reveal_person_number('130001', %s, '住所確認')
                          WHERE municipality_code = '130001' AND person_id = %s$$, (:'many'::bigint[])[21], (:'many'::bigint[])[21]),
    '23514', NULL, 'revealed_number_into_free_text_refused: an examiner cannot copy a revealed number into the address clerks read');
SELECT throws_ok(format($$UPDATE ledger.person
                             SET family_name_kana = translate(regexp_replace(ledger.reveal_person_number('130001', %s, '氏名確認')::text,
                                                                             '(....)(....)(....)', E'\\1\u3000\\2\u3000\\3'),
                                                              '0123456789', '０１２３４５６７８９')
                          WHERE municipality_code = '130001' AND person_id = %s$$, (:'many'::bigint[])[22], (:'many'::bigint[])[22]),
    '23514', NULL, 'revealed_number_in_wide_form_into_free_text_refused: full-width digits grouped by U+3000 are refused too');
SELECT throws_ok($$SELECT ledger.enrol_person('130001', 9501, '400000000017', '番号', '記入', 'バンゴウ', 'キニュウ',
                                          '2015-04-02', '試験市 1234-5678-9018')$$,
    '23514', NULL, 'number_in_enrolment_address_refused: the gated enrolment writes no number into the address either');
RESET ROLE;
SELECT is((SELECT count(*) FROM ledger.person WHERE municipality_code = '130001' AND address LIKE '%9018%'), 0::bigint,
    'no person row holds the number in its address');
SELECT lives_ok($$UPDATE ledger.person SET address = '試験市本町1-2-3 ハイツ101号 電話 03-1234-5678'
                   WHERE municipality_code = '130001' AND person_id = $$ || (:'many'::bigint[])[23],
    'an address with house and telephone numbers is accepted');
SELECT is(ARRAY[ledger.contains_mynumber('123456789018'), ledger.contains_mynumber('住所 1234 5678 9018 まで'),
                ledger.contains_mynumber('１２３４－５６７８－９０１８'), ledger.contains_mynumber('1234-5678-9018'),
                ledger.contains_mynumber('{"note": "123456789018"}'::jsonb::text)],
          ARRAY[true, true, true, true, true], 'contains_mynumber finds the forms the type accepts');
SELECT is(ARRAY[ledger.contains_mynumber('123456789017'), ledger.contains_mynumber('1123456789018'),
                ledger.contains_mynumber('12345678901'), ledger.contains_mynumber(''), ledger.contains_mynumber('000000000000')],
          ARRAY[false, false, false, false, false],
          'contains_mynumber: a wrong check digit, a longer run of digits, eleven digits, empty and all zeros are no number');
SELECT is(ledger.contains_mynumber(NULL), NULL, 'contains_mynumber(NULL) is NULL (a NULL column passes its CHECK)');
-- Every text column of a table the ledger protects (and of its staff and hold registers)
-- carries the check, or a CHECK that holds it to a fixed list: a column added without one fails here.
SELECT is(ARRAY(
    SELECT format('%s.%s', c.oid::regclass, a.attname)
      FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
     WHERE c.oid IN (SELECT relation FROM ledger.protected_tables
                      WHERE relation IN (SELECT objid FROM pg_depend WHERE refobjid = (SELECT oid FROM pg_extension WHERE extname = 'mynumber_ledger')
                                                                       AND classid = 'pg_class'::regclass AND deptype = 'e')
                     UNION ALL VALUES ('ledger.staff'::regclass), ('ledger.legal_hold'::regclass))
       AND a.attnum > 0 AND NOT a.attisdropped
       AND a.atttypid IN ('text'::regtype, 'varchar'::regtype, 'bpchar'::regtype, 'json'::regtype, 'jsonb'::regtype)
       AND NOT EXISTS (SELECT 1 FROM pg_constraint k
                        WHERE k.conrelid = c.oid AND k.contype = 'c' AND k.conkey = ARRAY[a.attnum]
                          AND (pg_get_constraintdef(k.oid) ~ ('ledger\.contains_mynumber\(\(?' || quote_ident(a.attname) || '\M')
                               OR pg_get_constraintdef(k.oid) ~ ('^CHECK \(\(' || quote_ident(a.attname) || ' = ANY \(ARRAY\[')))
     ORDER BY 1), '{}'::text[],
    'free_text_column_without_number_check: every text column of a protected table refuses a My Number');

-- Every column of every protected table refuses it, whatever its type: a DBA's table (text,
-- jsonb, a column added after protection, a bigint) and the ledger's own keys (attack round 17).
CREATE ROLE regress_d_dba LOGIN IN ROLE ledger_dba;
CREATE SCHEMA d_kanri AUTHORIZATION regress_d_dba;
SET ROLE regress_d_dba;
CREATE TABLE d_kanri.case_note (id int PRIMARY KEY, org_unit_id int NOT NULL, note text, extra jsonb);
SELECT ledger.protect_table('d_kanri.case_note', 'org_unit_id') \g /dev/null
ALTER TABLE d_kanri.case_note ADD COLUMN memo varchar(200), ADD COLUMN ref bigint, ADD COLUMN amount money;
GRANT USAGE ON SCHEMA d_kanri TO ledger_staff;
GRANT SELECT, INSERT, UPDATE ON d_kanri.case_note TO ledger_staff;
RESET ROLE;
INSERT INTO ledger.recipient (municipality_code, person_id, org_unit_id)
    VALUES ('130001', (:'many'::bigint[])[25], 9501) RETURNING recipient_id AS d_recipient \gset
SET ROLE regress_d_text;
SELECT ledger.reveal_person_number('130001', (:'many'::bigint[])[24], '記録確認')::text AS n \gset
SELECT throws_ok($$INSERT INTO d_kanri.case_note (id, org_unit_id, note) VALUES (1, 9501, '番号 $$ || :'n' || $$')$$,
    '23514', NULL, 'dba_protected_table_text_holds_number_refused: a DBA''s protected text column refuses a revealed number');
SELECT throws_ok(format($$INSERT INTO d_kanri.case_note (id, org_unit_id, extra) VALUES (1, 9501, jsonb_build_object('mn', %L))$$, :'n'),
    '23514', NULL, 'dba_protected_table_jsonb_holds_number_refused: ... and a jsonb one');
SELECT throws_ok(format($$INSERT INTO d_kanri.case_note (id, org_unit_id, memo) VALUES (1, 9501, translate(%L, '0123456789', '０１２３４５６７８９'))$$, :'n'),
    '23514', NULL, 'column_added_after_protection_holds_number_refused: a varchar column the owner added afterwards, full-width');
SELECT throws_ok(format($$INSERT INTO d_kanri.case_note (id, org_unit_id, extra) VALUES (1, 9501, jsonb_build_object('k', chr(16) || %L))$$, :'n'),
    '23514', NULL, 'jsonb_escaped_control_character_hides_number_refused: a control character before the number (\u0010 in jsonb''s text) hides nothing');
SELECT throws_ok(format($$INSERT INTO d_kanri.case_note (id, org_unit_id, ref) VALUES (1, 9501, %s)$$, :'n'),
    '23514', NULL, 'revealed_number_into_bigint_column_refused: a bigint column of a protected table');
SELECT throws_ok(format($$UPDATE ledger.recipient SET recipient_id = %s WHERE municipality_code = '130001' AND recipient_id = %s$$, :'n', :'d_recipient'),
    '23514', NULL, 'revealed_number_into_key_column_refused: the ledger''s own keys (recipient_id, cascading to the household) too');
SELECT throws_ok($$INSERT INTO d_kanri.case_note (id, org_unit_id, ref) VALUES (1, 9501, 12345678903)$$,
    '23514', NULL, 'leading_zero_number_as_integer_refused: 012345678903 as an integer reads 12345678903 (the type stores it so)');
SELECT throws_ok($$INSERT INTO d_kanri.case_note (id, org_unit_id, amount) VALUES (1, 9501, 123456789018)$$,
    '23514', NULL, 'money_column_holds_number_refused: money''s text groups by thousands; its amount is read');
SELECT lives_ok($$INSERT INTO d_kanri.case_note VALUES (1, 9501, '面談 2026-12-07 電話 03-1234-5678 携帯 09012345678', '{"visits": 3}', '窓口', 9012345678, 1234567)$$,
    'a row without a number is written (dates, telephone numbers, small numbers)');
SELECT throws_ok($$SELECT pg_notify('carry', 'x')$$, '42501', NULL,
    'pg_notify_from_staff_refused: the function form of NOTIFY is refused to staff too');
RESET ROLE;
SELECT is(ARRAY[ledger.contains_mynumber(jsonb_build_object('note', chr(16) || '123456789018')),
                ledger.contains_mynumber(jsonb_build_object(chr(7) || '123456789018', 1)),
                ledger.contains_mynumber('[123456789018]'::jsonb), ledger.contains_mynumber('{"a": "12345678901"}'::jsonb)],
          ARRAY[true, true, true, false], 'contains_mynumber(jsonb) reads each string, key and number decoded');
-- A constraint that a gated function's write breaks is reported without the row's values
-- (the twin writes as the owner, who reads the sealed number and its blind index).
CREATE FUNCTION pg_temp.enrol_detail() RETURNS text LANGUAGE plpgsql AS $$
DECLARE d text;
BEGIN
    PERFORM ledger.enrol_person('130001', 9501, '400000000025', '詳細', '試験', 'ショウサイ', 'シケン', '1800-04-02', '試験市');
    RETURN 'no error';
EXCEPTION WHEN check_violation THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RETURN d;
END $$;
SET ROLE regress_d_text;
SELECT is(pg_temp.enrol_detail(), 'The row''s values are not shown: the extension wrote it with its owner''s rights.',
    'constraint_detail_gives_blind_index_refused: a failed enrolment''s detail carries no sealed number or blind index, even to a handler');
RESET ROLE;
DROP SCHEMA d_kanri CASCADE;

UPDATE ledger.duty SET reveal_quota_per_day = (SELECT reveal_quota_per_day FROM saved_quota) WHERE duty_code = 'examiner';
SELECT * FROM finish();
