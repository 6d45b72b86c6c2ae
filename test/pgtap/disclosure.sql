-- Reveal quotas and the two-person rule (PIA 7 事故事例).  Each refusal path has a test.
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only true
\pset pager off
SET client_min_messages = warning;

SELECT plan(16);
\ir lib.psql

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

UPDATE ledger.duty SET reveal_quota_per_day = (SELECT reveal_quota_per_day FROM saved_quota) WHERE duty_code = 'examiner';
SELECT * FROM finish();
