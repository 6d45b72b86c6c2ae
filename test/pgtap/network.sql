-- The information-provision network: the rule list from CSV, inquiries with permits and
-- results that expire, provisions answered automatically or held for review, and the
-- per-person record of every exchange.  Each refusal path has a test named after it.
\ir lib.psql

SELECT plan(51);

\o /dev/null
INSERT INTO ledger.org_unit VALUES ('272035', 9301, '吹田市 子育て給付課'), ('272035', 9302, '吹田市 支所');
SELECT ledger.register_staff('regress_n_examiner', '照会担当', 9301, ARRAY['examiner']);
SELECT ledger.register_staff('regress_n_approver', '決裁', 9301, ARRAY['approver']);
SELECT ledger.register_staff('regress_n_clerk2', '支所 受付', 9302, ARRAY['clerk']);
CREATE ROLE regress_n_keeper IN ROLE ledger_dba;
CREATE ROLE regress_n_connector IN ROLE ledger_connector;   -- the 中間サーバー's connection
SET ROLE regress_n_examiner;
SELECT ledger.enrol_person('272035', 9301, '123456789018', '吹田', '一', 'スイタ', 'ハジメ', '2016-04-02', '吹田市');
SELECT ledger.enrol_person('272035', 9301, '271828182840', '吹田', '二', 'スイタ', 'ジ', '2017-04-02', '吹田市');
RESET ROLE;
SET ROLE regress_n_clerk2;
SELECT ledger.enrol_person('272035', 9302, '271828182890', '支所', '三', 'シショ', 'サン', '2018-04-02', '吹田市');
RESET ROLE;
\o
SELECT person_id AS p1 FROM ledger.person WHERE municipality_code = '272035' AND given_name = '一' \gset
SELECT person_id AS p2 FROM ledger.person WHERE municipality_code = '272035' AND given_name = '二' \gset
SELECT person_id AS p3 FROM ledger.person WHERE municipality_code = '272035' AND given_name = '三' \gset

-- ---------------------------------------------------------------------------------------
-- The rule list
-- ---------------------------------------------------------------------------------------
SET ROLE regress_n_keeper;
SELECT throws_ok($$SELECT ledger.load_inquiry_rules(E'requester,requester_affair,provider,item_code,allowed,auto_answer,legal_basis\n'
    '272035,child_allowance,131016,resident_record,true,true,番号法別表第二 74\n'
    '272035,child_allowance,131016,no_such_item,true,true,x\n'
    '272035,nonexistent,131016,local_tax,maybe,true,x\n'
    '272035,child_allowance,131016,local_tax,true,true\n'
    '272035,child_allowance,131016,resident_record,true,false,dup')$$,
    '22P04', 'the rule list has 4 bad line(s); nothing was loaded',
    'rule_list_bad_lines_refused: every bad line is counted and the file is refused');
SELECT throws_ok($$SELECT ledger.load_inquiry_rules(E'requester,requester_affair,provider,item_code,allowed,auto_answer,legal_basis\n'
    '272035,child_allowance,131016,resident_record,true,true,"番号法別表第二 74\n')$$,
    '22P04', 'the rule list has 1 bad line(s); nothing was loaded',
    'rule_list_unterminated_quote_is_a_bad_line: an unterminated quote is a bad line (22P04), not a failing substring (22011)');
SELECT is((SELECT count(*) FROM ledger.inquiry_rule), 0::bigint, 'rule_list_nothing_half_loaded');
SELECT is(ledger.load_inquiry_rules(E'requester,requester_affair,provider,item_code,allowed,auto_answer,legal_basis\n'
    '272035,child_allowance,131016,resident_record,true,true,"番号法別表第二 74, 住民票関係情報"\n'
    '272035,child_allowance,131016,local_tax,false,true,番号法別表第二\n'
    '131016,child_allowance,272035,child_allowance,true,true,番号法別表第二 74\n'
    '011002,child_allowance,272035,child_allowance,true,false,番号法別表第二 74 (自動応答不可)\n'), 4,
    'a ledger_dba member loads a valid rule list');
RESET ROLE;
SELECT is((SELECT legal_basis FROM ledger.inquiry_rule WHERE item_code = 'resident_record'), '番号法別表第二 74, 住民票関係情報',
    'quoted CSV fields keep their commas');
SET ROLE regress_n_examiner;
SELECT throws_ok($$SELECT ledger.load_inquiry_rules(E'requester,requester_affair,provider,item_code,allowed,auto_answer,legal_basis\n')$$,
    '42501', NULL, 'rule_list_load_requires_ledger_dba: staff cannot change the rule list');
RESET ROLE;
SELECT ok(EXISTS (SELECT 1 FROM ledger.audit_event WHERE relation_name = 'ledger.inquiry_rule' AND kind = 'insert'
                  AND acting_role = 'regress_n_keeper'),
    'rule_list_changes_audited: the load is recorded as the keeper''s act');

-- ---------------------------------------------------------------------------------------
-- Inquiry
-- ---------------------------------------------------------------------------------------
SET ROLE regress_n_examiner;
SELECT throws_ok(format($$SELECT ledger.request_inquiry('272035', %s, '131016', 'local_tax', '所得の確認')$$, :p1),
    '42501', NULL, 'inquiry_not_allowed_refused: a line with allowed = false refuses the inquiry');
SELECT throws_ok(format($$SELECT ledger.request_inquiry('272035', %s, '999999', 'resident_record', '確認')$$, :p1),
    '42501', NULL, 'inquiry_not_on_list_refused: an inquiry with no line is refused');
SELECT throws_ok(format($$SELECT ledger.request_inquiry('272035', %s, '131016', 'resident_record', '確認')$$, :p3),
    '42501', NULL, 'inquiry_other_org_unit_refused: staff cannot inquire about a person of another org unit');
SELECT throws_ok($$SELECT ledger.request_inquiry('272035', 999999999, '131016', 'resident_record', '確認')$$,
    '42501', NULL, 'inquiry_refusal_same_for_hidden_and_missing: a missing person is refused like a hidden one');
SELECT ledger.request_inquiry('272035', :p1, '131016', 'resident_record', '児童の監護の確認') AS permit \gset
SELECT ok(:'permit' IS NOT NULL, 'an allowed inquiry gets a 情報提供許可証');
SELECT throws_ok(format($$SELECT ledger.receive_inquiry_result(%L, '{"address": "東京都千代田区"}')$$, :'permit'), '42501', NULL,
    'result_by_staff_refused: staff cannot hand the ledger a result as if it came from the network');
RESET ROLE;
SET ROLE regress_n_connector;
SELECT lives_ok(format($$SELECT ledger.receive_inquiry_result(%L, '{"address": "東京都千代田区"}')$$, :'permit'),
    'a result carrying its permit is accepted from the connector');
SELECT throws_ok(format($$SELECT ledger.receive_inquiry_result(%L, '{}')$$, :'permit'), '23505', NULL,
    'a permit covers one result');
SELECT throws_ok($$SELECT ledger.receive_inquiry_result('00000000-0000-0000-0000-000000000000', '{}')$$, '42501', NULL,
    'result_without_permit_refused');
RESET ROLE;
SET ROLE regress_n_examiner;
SELECT is((SELECT result->>'address' FROM ledger.inquiry_result WHERE permit_id = :'permit'), '東京都千代田区',
    'the examiner reads the result');
RESET ROLE;
SET ROLE regress_n_clerk2;
SELECT is((SELECT count(*) FROM ledger.inquiry_result), 0::bigint, 'inquiry results follow the row-level security of their org unit');
RESET ROLE;
SELECT ok(pg_temp.wait_for($$kind = 'denied' AND acting_role = 'regress_n_examiner' AND detail LIKE 'request_inquiry refused: inquiry refused%'$$) > 0,
    'inquiry_refusal_recorded: a refused inquiry leaves an audit event after its rollback');

-- Expiry of permits and results.
SET ROLE regress_n_examiner;
SELECT ledger.request_inquiry('272035', :p2, '131016', 'resident_record', '期限切れの確認') AS permit2 \gset
RESET ROLE;
UPDATE ledger.inquiry_permit SET expires_at = clock_timestamp() + interval '1 second' WHERE permit_id = :'permit2';
SET ROLE regress_n_connector;
BEGIN;   -- opened while the permit is still valid
SELECT pg_sleep(1.2) \g /dev/null
SELECT throws_ok(format($$SELECT ledger.receive_inquiry_result(%L, '{}')$$, :'permit2'), '42501', NULL,
    'expired_permit_refused_in_open_transaction: the permit expired by the clock though not by the transaction''s start');
COMMIT;
RESET ROLE;
UPDATE ledger.inquiry_result SET expires_at = now() - interval '1 second' WHERE permit_id = :'permit';
SELECT is((SELECT results_deleted || '/' || permits_deleted FROM ledger.expire_inquiry_data()), '1/1', 'expired results and permits are deleted');
SELECT is((SELECT count(*) FROM ledger.inquiry_result WHERE permit_id = :'permit'), 0::bigint,
    'inquiry_result_expiry: the expired result is gone');
SET ROLE regress_n_connector;
SELECT throws_ok(format($$SELECT ledger.receive_inquiry_result(%L, '{"replayed": true}')$$, :'permit'), '23505', NULL,
    'inquiry_result_replay_after_expiry: the permit of a result that expired is not used again');
RESET ROLE;
-- A legal hold on one person keeps that person's rows, and only those: every other expired
-- result and permit still goes.
SET ROLE regress_n_examiner;
SELECT ledger.request_inquiry('272035', :p1, '131016', 'resident_record', '保存対象') AS held_permit \gset
SELECT ledger.request_inquiry('272035', :p2, '131016', 'resident_record', '保存対象外') AS free_permit \gset
RESET ROLE;
SELECT ledger.place_hold('272035', 'person', '訴訟', :p1) AS net_hold \gset
UPDATE ledger.inquiry_permit SET expires_at = now() - interval '1 second' WHERE permit_id IN (:'held_permit', :'free_permit');
SELECT lives_ok($$SELECT ledger.expire_inquiry_data()$$,
    'legal_hold_with_expired_permit_stops_inquiry_expiry: the expiry runs past a held row');
SELECT is((SELECT string_agg((permit_id = :'held_permit')::text, ',') FROM ledger.inquiry_permit
            WHERE permit_id IN (:'held_permit', :'free_permit')), 'true',
    'the held person''s permit is kept, the other one deleted');
SELECT ledger.lift_hold(:net_hold) \g /dev/null
SET ROLE regress_n_examiner;
SELECT throws_ok($$SELECT ledger.expire_inquiry_data()$$, '42501', NULL, 'staff cannot run the expiry');
RESET ROLE;

-- ---------------------------------------------------------------------------------------
-- Provision
-- ---------------------------------------------------------------------------------------
SET ROLE regress_n_examiner;
SELECT throws_ok(format($$SELECT ledger.receive_provision_request('131016', 'child_allowance', 'child_allowance', '272035', %s,
                                                                  gen_random_uuid(), now() + interval '1 hour')$$, :p1),
    '42501', NULL, 'provision_request_by_staff_refused: staff cannot make a request in another municipality''s name');
RESET ROLE;
SET ROLE regress_n_connector;
SELECT throws_ok(format($$SELECT ledger.receive_provision_request('999999', 'child_allowance', 'child_allowance', '272035', %s,
                                                                  gen_random_uuid(), now() + interval '1 hour')$$, :p1),
    '42501', NULL, 'provision_not_on_list_refused');
SELECT throws_ok(format($$SELECT ledger.receive_provision_request('131016', 'child_allowance', 'child_allowance', '272035', %s,
                                                                  NULL, NULL)$$, :p1),
    '42501', NULL, 'provision_without_permit_refused: a request must carry its 情報提供許可証');
SELECT throws_ok(format($$SELECT ledger.receive_provision_request('131016', 'child_allowance', 'child_allowance', '272035', %s,
                                                                  gen_random_uuid(), clock_timestamp() - interval '1 second')$$, :p1),
    '42501', NULL, 'provision_expired_permit_refused');
SELECT throws_ok(format($$SELECT ledger.receive_provision_request('131016', 'child_allowance', 'child_allowance', '272035', %s,
                                                                  gen_random_uuid(), 'infinity')$$, :p1),
    '42501', NULL, 'provision_permit_beyond_lifetime_refused: a permit cannot outlive a permit''s lifetime');
SELECT gen_random_uuid() AS prov_permit \gset
SELECT ledger.receive_provision_request('131016', 'child_allowance', 'child_allowance', '272035', :p1,
                                        :'prov_permit', now() + interval '1 hour') AS auto_req \gset
SELECT throws_ok(format($$SELECT ledger.receive_provision_request('131016', 'child_allowance', 'child_allowance', '272035', %s,
                                                                  %L, now() + interval '1 hour')$$, :p1, :'prov_permit'),
    '42501', NULL, 'provision_permit_used_once: a permit covers one request');
SELECT ledger.receive_provision_request('011002', 'child_allowance', 'child_allowance', '272035', :p1,
                                        gen_random_uuid(), now() + interval '1 hour') AS held_req \gset
RESET ROLE;
SELECT is((SELECT status FROM ledger.provision_request WHERE request_id = :auto_req), 'answered',
    'provision_auto_answered: an allowed item is answered at once');
SELECT is((SELECT status || '/' || (answer IS NULL) FROM ledger.provision_request WHERE request_id = :held_req), 'pending_review/true',
    'provision_flagged_held: a 自動応答不可 item waits for review, nothing provided');
RESET ROLE;
SET ROLE regress_n_examiner;
SELECT throws_ok(format($$SELECT ledger.review_provision(%s, true, '確認済')$$, :held_req), '42501', NULL,
    'review_requires_approve_duty: an examiner cannot approve');
RESET ROLE;
SET ROLE regress_n_approver;
SELECT throws_ok(format($$SELECT ledger.review_provision(%s, true, '')$$, :held_req), '22023', NULL,
    'a review needs a reason');
SELECT throws_ok(format($$SELECT ledger.review_provision(%s, true, E' \u3000 ')$$, :held_req), '22023', NULL,
    'blank_reason_refused: white space, the ideographic space included, is no reason');
SELECT throws_ok(format($$SELECT ledger.review_provision(%s, true, E'\u00a0\u200b\ufeff')$$, :held_req), '22023', NULL,
    'invisible_reason_refused: no-break and zero-width spaces are no reason either');
SELECT throws_ok(format($$SELECT ledger.review_provision(%s, true, U&'\200e\3164\2800\00ad\115f')$$, :held_req), '22023', NULL,
    'blank_text_with_invisible_characters_accepted: direction marks, Hangul and braille fillers and soft hyphens are no reason');
SELECT ok(ledger.review_provision(:held_req, true, '内容を確認した') IS NOT NULL, 'an approver provides the held item');
SELECT throws_ok(format($$SELECT ledger.review_provision(%s, false, '二重')$$, :held_req), '55000', NULL,
    'a reviewed request is not reviewed twice');
RESET ROLE;
-- A held request whose permit expired before the review is not answered.
SET ROLE regress_n_connector;
SELECT ledger.receive_provision_request('011002', 'child_allowance', 'child_allowance', '272035', :p1,
                                        gen_random_uuid(), clock_timestamp() + interval '1 second') AS late_req \gset
RESET ROLE;
SELECT pg_sleep(1.2) \g /dev/null
SET ROLE regress_n_approver;
SELECT throws_ok(format($$SELECT ledger.review_provision(%s, true, '確認した')$$, :late_req), '55000', NULL,
    'provision_approved_after_permit_and_answer_expired: a request whose permit expired is not answered at review');
SELECT lives_ok(format($$SELECT ledger.review_provision(%s, false, '許可証の期限切れ')$$, :late_req),
    'it can still be refused, which closes it');
RESET ROLE;

-- ---------------------------------------------------------------------------------------
-- The record of every exchange, per person
-- ---------------------------------------------------------------------------------------
SET ROLE regress_n_examiner;
SELECT results_eq(format($$SELECT direction || ':' || outcome FROM ledger.exchange_records_for('272035', %s)$$, :p1),
    ARRAY['inquiry:permitted', 'inquiry:received', 'inquiry:permitted', 'provision:answered', 'provision:pending_review',
          'provision:approved', 'provision:pending_review', 'provision:rejected'],
    'exchange_records_per_person: every exchange about the person, in order');
SELECT is((SELECT count(*) FROM ledger.exchange_records_for('272035', :p1) WHERE person_id <> :p1), 0::bigint,
    'exchange_records_per_person: nothing about anyone else');
RESET ROLE;
SELECT is((SELECT count(DISTINCT keep_until - recorded_at::date > 7 * 365) FROM ledger.exchange_record), 1::bigint,
    'exchange records are kept 7 years');
-- What was provided expires like what was received.
UPDATE ledger.provision_request SET answer_expires_at = now() - interval '1 second' WHERE request_id = :auto_req;
SELECT ledger.expire_inquiry_data() \g /dev/null
SELECT is((SELECT (answer IS NULL)::text || '/' || status FROM ledger.provision_request WHERE request_id = :auto_req), 'true/answered',
    'provided_answer_expires: the answer is deleted when its lifetime ends; the record of the provision stays');
-- A rule list line with a blank legal basis is refused.
SET ROLE regress_n_keeper;
SELECT throws_ok($$SELECT ledger.load_inquiry_rules(E'requester,requester_affair,provider,item_code,allowed,auto_answer,legal_basis\n'
    '272035,child_allowance,131016,resident_record,true,true,"   "\n', false)$$, '22P04', NULL,
    'blank_legal_basis_refused: a rule list line whose legal basis is only spaces');
RESET ROLE;

-- A keeper's own temporary table, named like something a loader might use, with a trigger
-- that would make its owner superuser if the loader wrote into it with the owner's rights.
SET ROLE regress_n_keeper;
CREATE TEMP TABLE mnl_rule_load (LIKE ledger.inquiry_rule);
CREATE FUNCTION pg_temp.escalate() RETURNS trigger LANGUAGE plpgsql AS
    $f$BEGIN EXECUTE 'ALTER ROLE regress_n_keeper SUPERUSER'; RETURN NEW; END$f$;
CREATE TRIGGER escalate BEFORE INSERT ON mnl_rule_load FOR EACH ROW EXECUTE FUNCTION pg_temp.escalate();
SELECT ledger.load_inquiry_rules(E'requester,requester_affair,provider,item_code,allowed,auto_answer,legal_basis\n'
    '272035,child_allowance,131016,resident_record,true,true,番号法別表第二 74\n', false) \g /dev/null
RESET ROLE;
SELECT is((SELECT rolsuper FROM pg_roles WHERE rolname = 'regress_n_keeper'), false,
    'rule_loader_temp_table_hijack: nothing of the caller''s pg_temp runs with the owner''s rights');

-- A refusal whose message is cut inside a multibyte character still leaves a readable trail.
SET ROLE regress_n_examiner;
SELECT throws_ok(format($$SELECT ledger.request_inquiry('272035', %s, '131016', %L, 'x')$$, :p1,
                        repeat('a', 170) || repeat('あ', 30)), '42501', NULL, 'a refusal naming a long item');
RESET ROLE;
SELECT pg_temp.wait_for($$kind = 'denied' AND detail LIKE 'request_inquiry refused: inquiry refused%aaaa%'$$) \g /dev/null
SELECT ok((SELECT sum(length(detail)) FROM ledger.audit_event WHERE kind = 'denied') > 0,
    'audit_detail_clipped_to_whole_characters: every recorded detail is valid text');
SELECT * FROM finish();
