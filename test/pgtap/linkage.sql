-- Per-affair pseudonyms and linking between affairs (invariant 6): data of two affairs cannot
-- be joined on a shared identifier; a link needs a rule and is recorded.
\ir lib.psql

SELECT plan(14);

\o /dev/null
INSERT INTO ledger.affair VALUES ('regress_tax', '個人住民税の賦課に関する事務 (試験)', '番号法 別表第一 (試験)');
INSERT INTO ledger.org_unit VALUES ('141003', 9401, '横浜市 こども福祉課');
SELECT ledger.register_staff('regress_l_clerk', '児童手当 担当', 9401, ARRAY['clerk']);
SELECT ledger.register_staff('regress_l_both', '両事務 担当', 9401, ARRAY['clerk']);
SELECT ledger.assign_duty('regress_l_both', 'clerk', 'regress_tax');
CREATE ROLE regress_l_keeper IN ROLE ledger_dba;
SET ROLE regress_l_clerk;
SELECT ledger.enrol_person('141003', 9401, '123456789018', '横浜', '一', 'ヨコハマ', 'ハジメ', '2016-04-02', '横浜市');
RESET ROLE;
\o
SELECT person_id AS p1 FROM ledger.person WHERE municipality_code = '141003' AND given_name = '一' \gset

SELECT isnt(ledger.pseudonym('123456789018', 'child_allowance'), ledger.pseudonym('123456789018', 'regress_tax'),
    'pseudonyms_differ_per_affair: one number, two unrelated identifiers');
SELECT is(octet_length(ledger.pseudonym('123456789018', 'regress_tax')), 32, 'a pseudonym is an HMAC-SHA256');
SELECT is(ledger.pseudonym('123456789018', 'regress_tax'), ledger.pseudonym('１２３４ ５６７８ ９０１８', 'regress_tax'),
    'a pseudonym is a function of the number, however typed');

-- Two affairs' tables keyed by their own pseudonyms: no join on a shared identifier.
CREATE TABLE regress_allowance_side AS SELECT ledger.pseudonym('123456789018', 'child_allowance') AS who, 'allowance' AS v;
CREATE TABLE regress_tax_side AS SELECT ledger.pseudonym('123456789018', 'regress_tax') AS who, 'tax' AS v;
SELECT is((SELECT count(*) FROM regress_allowance_side a JOIN regress_tax_side t USING (who)), 0::bigint,
    'affairs_cannot_be_joined: the two affairs'' tables share no key');

SELECT ledger.pseudonym('123456789018', 'child_allowance') AS ca_pseudonym \gset
SELECT ledger.pseudonym('123456789018', 'regress_tax') AS tax_pseudonym \gset
SET ROLE regress_l_both;
SELECT throws_ok($$SELECT ledger.pseudonym('123456789018', 'regress_tax')$$, '42501', NULL,
    'pseudonym_without_rule_refused: staff of both affairs cannot compute pseudonyms and join without a rule');
RESET ROLE;
SET ROLE regress_l_clerk;
SELECT is(ledger.pseudonym_of_person('141003', :p1), :'ca_pseudonym'::bytea,
    'enrolment issues the person''s pseudonym in the ledger''s affair');
RESET ROLE;

SET ROLE regress_l_both;
SELECT throws_ok(format($$SELECT ledger.link('141003', 'child_allowance', %L, 'regress_tax', '賦課資料との照合')$$, :'ca_pseudonym'),
    '42501', NULL, 'link_without_rule_refused: no rule, no link');
RESET ROLE;
SELECT ok(pg_temp.wait_for($$kind = 'denied' AND acting_role = 'regress_l_both' AND detail LIKE 'link refused: linkage refused%'$$) > 0,
    'link_refusal_recorded');
SET ROLE regress_l_keeper;
SELECT lives_ok($$SELECT ledger.allow_linkage('child_allowance', 'regress_tax', '番号法第19条 (試験)')$$,
    'a ledger_dba member sets a linkage rule');
RESET ROLE;
SET ROLE regress_l_clerk;
SELECT throws_ok(format($$SELECT ledger.link('141003', 'child_allowance', %L, 'regress_tax', '照合')$$, :'ca_pseudonym'),
    '42501', NULL, 'link_requires_duty_in_target_affair: staff of one affair do not receive another''s pseudonym');
RESET ROLE;
SET ROLE regress_l_both;
SELECT is(ledger.link('141003', 'child_allowance', :'ca_pseudonym', 'regress_tax', '賦課資料との照合'), :'tax_pseudonym'::bytea,
    'link_under_rule: the person''s pseudonym in the other affair');
SELECT throws_ok($$SELECT ledger.link('141003', 'child_allowance', '\x00', 'regress_tax', '照合')$$, '02000', NULL,
    'link_unknown_pseudonym: a pseudonym nobody has maps to nothing');
RESET ROLE;
SELECT is((SELECT count(*) FROM ledger.link_record WHERE person_id = :p1 AND from_affair = 'child_allowance'
           AND to_affair = 'regress_tax' AND linked_by = 'regress_l_both'), 1::bigint,
    'link_recorded: the link is in ledger.link_record');
SELECT throws_ok($$SELECT ledger.allow_linkage('child_allowance', 'regress_tax', '')$$, '23514', NULL,
    'a linkage rule needs its legal basis');

SELECT * FROM finish();
