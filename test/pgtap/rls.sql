-- Staff, duties and row-level security: each test is named after the attack it stops.
-- Runs without a wrapping transaction (denials must survive a ROLLBACK, the registry must
-- commit); the cluster is throwaway, so the roles and rows made here stay.
\ir lib.psql

SELECT plan(258);

\o /dev/null
-- Two org units of 千代田区 and one of 札幌市.
INSERT INTO ledger.org_unit VALUES ('131016', 9001, '子育て支援課'), ('131016', 9002, '出張所'),
                                   ('011002', 9003, '札幌市 子ども未来局');
SELECT ledger.register_staff('regress_clerk_a', '受付 A', 9001, ARRAY['clerk']);
SELECT ledger.register_staff('regress_clerk_b', '受付 B', 9002, ARRAY['clerk']);
SELECT ledger.register_staff('regress_examiner', '審査 A', 9001, ARRAY['examiner']);
SELECT ledger.register_staff('regress_approver', '決裁 A', 9001, ARRAY['approver']);
SELECT ledger.register_staff('regress_admin', '管理 A', 9001, ARRAY['administrator']);
SELECT ledger.register_staff('regress_auditor', '監査 A', 9001, ARRAY['auditor']);
SELECT ledger.register_staff('regress_sapporo', '札幌 受付', 9003, ARRAY['clerk', 'approver']);
SELECT ledger.register_staff('regress_retiree', '退職 予定', 9001, ARRAY['clerk']);
CREATE ROLE regress_outsider;
GRANT ledger_staff TO regress_outsider;		-- table privileges, but not staff
CREATE ROLE regress_app LOGIN;					-- a pooled application role
GRANT regress_clerk_a, regress_clerk_b TO regress_app;

SET ROLE regress_clerk_a;
SELECT ledger.enrol_person('131016', 9001, '123456789018', '山田', '太郎', 'ヤマダ', 'タロウ', '2015-04-01', '千代田区 1');
SELECT ledger.enrol_person('131016', 9001, '271828182840', '山田', '花子', 'ヤマダ', 'ハナコ', '2018-04-02', '千代田区 1');
RESET ROLE;
SET ROLE regress_clerk_b;
SELECT ledger.enrol_person('131016', 9002, '271828182890', '佐藤', '一郎', 'サトウ', 'イチロウ', '2012-12-31', '千代田区 2');
RESET ROLE;
SET ROLE regress_sapporo;
SELECT ledger.enrol_person('011002', 9003, '314159265352', '鈴木', '次郎', 'スズキ', 'ジロウ', '2010-01-01', '札幌市');
RESET ROLE;
-- A DBA who owns a table of their own and protects it.
CREATE ROLE regress_dba;
CREATE ROLE regress_dba_heir;
GRANT regress_dba_heir TO regress_dba;
SELECT format('GRANT CREATE ON DATABASE %I TO regress_dba_heir', current_database()) \gexec
CREATE SCHEMA regress_dba AUTHORIZATION regress_dba;
CREATE SCHEMA regress_evil;
GRANT USAGE, CREATE ON SCHEMA regress_evil TO PUBLIC;
CREATE EXTENSION IF NOT EXISTS citext SCHEMA regress_evil;   -- another extension, for DEPENDS ON
SET ROLE regress_dba;
CREATE TABLE regress_dba.case_note (id int PRIMARY KEY, org_unit_id int NOT NULL, note text);
INSERT INTO regress_dba.case_note VALUES (1, 9001, 'org 1 note'), (2, 9002, 'org 2 note');
SELECT ledger.protect_table('regress_dba.case_note', 'org_unit_id');
GRANT SELECT, INSERT, UPDATE, DELETE ON regress_dba.case_note TO ledger_staff;
GRANT USAGE ON SCHEMA regress_dba TO ledger_staff;
RESET ROLE;
\o

-- ---------------------------------------------------------------------------------------
-- Who sees what
-- ---------------------------------------------------------------------------------------
SELECT results_eq($$SELECT relation::text FROM ledger.protected_tables
                     WHERE rls_enabled AND rls_forced AND relation::text LIKE 'ledger.%' ORDER BY 1$$,
    $$SELECT c.oid::regclass::text FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
      WHERE c.relnamespace = 'ledger'::regnamespace AND c.relkind = 'r' AND a.attname = 'org_unit_id'
        AND c.relname NOT IN ('org_unit', 'staff') ORDER BY 1$$,
    'every_ledger_table_protected: each table of the ledger with an org unit has row-level security enabled and forced');
SELECT ok((SELECT count(*) FROM ledger.protected_tables WHERE relation::text IN
           ('ledger.person', 'ledger.recipient', 'ledger.child', 'ledger.certification', 'ledger.payment',
            'ledger.certification_revision', 'regress_dba.case_note')) = 7,
    'the ledger tables and the DBA''s protected table are among them');

SET ROLE regress_clerk_a;
SELECT results_eq($$SELECT given_name FROM ledger.person WHERE municipality_code = '131016' ORDER BY 1$$,
    ARRAY['太郎', '花子'], 'own_org_unit: a clerk sees the rows of the own org unit');
SELECT is((SELECT count(*) FROM ledger.person WHERE org_unit_id <> 9001), 0::bigint,
    'other_org_unit: a clerk sees no row of another org unit');
UPDATE ledger.person SET address = 'changed' WHERE org_unit_id = 9002;
RESET ROLE;
SELECT is((SELECT count(*) FROM ledger.person WHERE address = 'changed'), 0::bigint,
    'other_org_unit_update: an UPDATE of another org unit''s rows changes nothing');

\set ON_ERROR_STOP 0
BEGIN;
SET LOCAL ROLE regress_clerk_a;
SELECT throws_ok($$SELECT ledger.enrol_person('131016', 9002, '161803398872', '他', '所', 'タ', 'ショ', '2020-01-01', 'x')$$,
    '42501', NULL, 'other_org_unit_insert: writing a row into another org unit is refused (42501)');
ROLLBACK;
\set ON_ERROR_STOP 1
SELECT ok(pg_temp.wait_for($$kind = 'denied' AND acting_role = 'regress_clerk_a' AND detail LIKE '%org unit 9002%'$$) > 0,
    'denied_write_survives_rollback: the refused write has an audit event after ROLLBACK');

SET ROLE regress_approver;
SELECT is((SELECT count(*) FROM ledger.person WHERE municipality_code = '131016'), 3::bigint,
    'all_scope: an approver reads every org unit of the municipality');
SELECT is((SELECT count(*) FROM ledger.person WHERE municipality_code <> '131016'), 0::bigint,
    'other_municipality: scope all never crosses into another municipality');
SELECT throws_ok($$UPDATE ledger.person SET address = 'x'$$, '42501', NULL,
    'read_only_duty_write: a role without the write action is refused before any row is touched');
RESET ROLE;
SELECT ok(pg_temp.wait_for($$kind = 'denied' AND acting_role = 'regress_approver' AND detail LIKE 'update denied%'$$) > 0,
    'the refused UPDATE has an audit event');

SET ROLE regress_admin;
SELECT is((SELECT count(*) FROM ledger.person), 0::bigint,
    'administrator_reads_no_personal_data: システム管理 sees no ledger row');
SELECT throws_ok($$SELECT count(*) FROM ledger.audit_event$$, '42501', NULL,
    'administrator_reads_no_audit_trail');
RESET ROLE;
SET ROLE regress_auditor;
SELECT is((SELECT count(*) FROM ledger.person), 0::bigint, 'auditor_reads_no_personal_data');
SELECT ok((SELECT count(*) FROM ledger.audit_event) > 0, 'auditor_reads_the_audit_trail');
RESET ROLE;

-- ---------------------------------------------------------------------------------------
-- Attacks
-- ---------------------------------------------------------------------------------------

-- The owner of a protected table is subject to its policies and cannot weaken them.
SET ROLE regress_dba;
SELECT is((SELECT count(*) FROM regress_dba.case_note), 0::bigint,
    'owner_cannot_bypass_rls: the table owner without BYPASSRLS sees no row');
SELECT throws_ok($$ALTER TABLE regress_dba.case_note NO FORCE ROW LEVEL SECURITY$$, '42501', NULL,
    'owner_cannot_unforce_rls');
SELECT throws_ok($$ALTER TABLE regress_dba.case_note DISABLE ROW LEVEL SECURITY$$, '42501', NULL,
    'owner_cannot_disable_rls');
SELECT throws_ok($$SELECT ledger.audit_table('regress_dba.case_note', '{}', ARRAY['id', 'org_unit_id', 'note'])$$, '42501', NULL,
    'owner_unwithholds_trail_of_protected_table: the owner cannot re-audit a protected table to keep staff''s values in the trail');
SELECT throws_ok($$DROP POLICY mnl_rls_select ON regress_dba.case_note$$, '42501', NULL,
    'owner_cannot_drop_policy');
SELECT throws_ok($$CREATE POLICY everything ON regress_dba.case_note USING (true)$$, '42501', NULL,
    'owner_cannot_add_permissive_policy');
SELECT throws_ok($$ALTER POLICY mnl_rls_select ON regress_dba.case_note USING (true)$$, '42501', NULL,
    'owner_cannot_alter_policy');
SELECT throws_ok($$ALTER TABLE regress_dba.case_note ADD CONSTRAINT peek CHECK (note <> 'x')$$, '42501', NULL,
    'owner_check_constraint_scan: a CHECK evaluated over every row is refused');
SELECT throws_ok($$CREATE INDEX ON regress_dba.case_note ((lower(note)))$$, '42501', NULL,
    'owner_expression_index_scan: an expression index over every row is refused');
SELECT throws_ok($$CREATE FUNCTION regress_dba.t() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
                   CREATE TRIGGER copy_rows AFTER INSERT ON regress_dba.case_note FOR EACH ROW EXECUTE FUNCTION regress_dba.t()$$,
    '42501', NULL, 'owner_trigger_copies_rows: a new trigger on a protected table is refused');
SELECT throws_ok($$TRUNCATE regress_dba.case_note$$, '42501', NULL,
    'truncate_bypasses_rls: TRUNCATE of a protected table is refused, even for its owner');
SELECT throws_ok($$ALTER TABLE regress_dba.case_note DISABLE TRIGGER mnl_rls_write_gate$$, '42501', NULL,
    'disable_trigger: the write gate cannot be disabled');
SELECT throws_ok($$ALTER TABLE regress_dba.case_note DISABLE TRIGGER ALL$$, '42501', NULL,
    'disable_trigger_all: DISABLE TRIGGER ALL is refused');
RESET ROLE;
SELECT is((SELECT count(*) FROM regress_dba.case_note), 2::bigint, 'the owner''s attempts changed nothing');

-- session_replication_role = replica skips ordinary triggers; ours are ENABLE ALWAYS.
SET ROLE regress_clerk_a;
SELECT throws_ok($$SET session_replication_role = replica$$, '42501', NULL,
    'session_replication_role_replica: a staff member cannot set it');
RESET ROLE;
SET session_replication_role = replica;
SET ROLE regress_approver;
SELECT throws_ok($$DELETE FROM ledger.person$$, '42501', NULL,
    'session_replication_role_replica: the write gate still fires in replica mode');
RESET ROLE;
RESET session_replication_role;

-- A pooled application role that does not SET ROLE sees nothing and writes nothing.
SET ROLE regress_app;
SELECT is((SELECT count(*) FROM ledger.person), 0::bigint,
    'pooled_role_without_set_role: the pool''s role sees no row, though it inherits table privileges');
SELECT throws_ok($$INSERT INTO ledger.recipient (municipality_code, person_id, org_unit_id) VALUES ('131016', 1, 9001)$$,
    '42501', NULL, 'pooled_role_without_set_role: the pool''s role cannot write');
SET ROLE regress_clerk_a;
SELECT is((SELECT count(*) FROM ledger.person), 2::bigint, 'pooled_role_with_set_role: SET ROLE gives the staff member''s rows');
RESET ROLE;
SELECT ok(pg_temp.wait_for($$kind = 'select' AND session_role = 'postgres' AND acting_role = 'regress_clerk_a'
                            AND staff_id = (SELECT staff_id FROM ledger.staff WHERE role_name = 'regress_clerk_a')$$) > 0,
    'audit_names_both_identities: session role, acting staff role and staff id are recorded');

-- A staff identity lent through a SECURITY DEFINER function: the pooled application, acting
-- as clerk A, makes a function clerk A owns; after RESET ROLE, or acting for clerk B, it
-- would read with clerk A's duties, past the statement gate (idle limit, retirement) and
-- recorded under clerk A.  A borrowed identity is permitted nothing.
-- (Staff make no functions — they run no DDL — so a superuser gives clerk A the functions.)
SET ROLE regress_app;
SET ROLE regress_clerk_a;
SELECT throws_ok($$CREATE FUNCTION pg_temp.peek() RETURNS bigint LANGUAGE sql SECURITY DEFINER AS 'SELECT 1'$$,
    '42501', 'permission denied: staff run no DDL', 'staff_definer_function_refused: staff make no SECURITY DEFINER function');
RESET ROLE;
CREATE FUNCTION pg_temp.peek() RETURNS bigint LANGUAGE sql SECURITY DEFINER AS $$ SELECT count(*) FROM ledger.person $$;
CREATE FUNCTION pg_temp.lookup() RETURNS bigint LANGUAGE sql SECURITY DEFINER
    AS $$ SELECT ledger.find_person('123456789018', '131016') $$;
ALTER FUNCTION pg_temp.peek() OWNER TO regress_clerk_a;
ALTER FUNCTION pg_temp.lookup() OWNER TO regress_clerk_a;
SET ROLE regress_app;
SET ROLE regress_clerk_a;
SELECT is(pg_temp.peek(), 2::bigint, 'a staff member''s own definer function, called as that staff member, reads as usual');
SET ROLE regress_app;
SELECT is(pg_temp.peek(), 0::bigint,
    'staff_identity_borrowed_by_definer: the pooled role without SET ROLE reads nothing through clerk A''s function');
SET ROLE regress_clerk_b;
SELECT throws_ok($$SELECT pg_temp.peek()$$, '42501', NULL,
    'staff_identity_borrowed_by_definer: nor while acting for clerk B (another role''s code does not run in a staff session)');
SELECT throws_ok($$SELECT pg_temp.lookup()$$, '42501', NULL,
    'staff_identity_borrowed_by_definer: a gated function refuses the borrowed identity');
RESET ROLE;

-- A function of the attacker's in WHERE sees only the rows the policies let through.
CREATE TABLE regress_evil.leaked (v text);
GRANT INSERT ON regress_evil.leaked TO PUBLIC;
CREATE FUNCTION regress_evil.leak(v text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN INSERT INTO regress_evil.leaked VALUES (v); RETURN true; END $$;
SET ROLE regress_clerk_b;
SELECT count(*) FROM ledger.person WHERE regress_evil.leak(given_name) \g /dev/null
SELECT count(*) FROM ledger.person WHERE regress_evil.leak(given_name) AND person_id > 0 \g /dev/null
RESET ROLE;
SELECT is((SELECT array_agg(DISTINCT v) FROM regress_evil.leaked), ARRAY['一郎'],
    'leaky_function_in_where: a cheap non-LEAKPROOF function sees only visible rows');
-- Inference through the order of conditions: PostgreSQL lets a LEAKPROOF comparison over a
-- hidden row's column run before the policy, and counts a function with no column in it as
-- leaking nothing; together, the side effect says whether the comparison held on the hidden
-- row (佐藤, org unit 9002, born 2012-12-31; clerk A's rows were born in 2015 and 2018), and
-- bisection reads every column.  Each form below must run no side effect for any row: the
-- prober is a clerk of an org unit with no rows, so every row is one the policy hides.
CREATE TABLE regress_evil.marks (form text);
GRANT INSERT ON regress_evil.marks TO PUBLIC;
CREATE FUNCTION regress_evil.mark(form text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN INSERT INTO regress_evil.marks VALUES (form); RETURN true; END $$;
CREATE FUNCTION regress_evil.boom() RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN RAISE EXCEPTION 'the condition ran'; END $$;
SELECT person_id AS hidden_id FROM ledger.person WHERE org_unit_id = 9002 \gset
INSERT INTO ledger.org_unit VALUES ('131016', 9004, '分室') \g /dev/null
SELECT ledger.register_staff('regress_prober', '受付 分室', 9004, ARRAY['clerk']) \g /dev/null
SET ROLE regress_prober;
SELECT count(*) FROM ledger.person WHERE person_id = :hidden_id AND birth_date < '2013-01-01' AND regress_evil.mark('and') \g /dev/null
SELECT count(*) FROM ledger.person WHERE person_id = :hidden_id AND regress_evil.mark('index') \g /dev/null
SELECT count(*) FROM ledger.person WHERE CASE WHEN birth_date < '2013-01-01' THEN regress_evil.mark('case') END \g /dev/null
SELECT count(*) FROM ledger.person WHERE birth_date >= '2013-01-01' OR regress_evil.mark('or') \g /dev/null
SELECT count(*) FROM ledger.person_masked WHERE person_id = :hidden_id AND birth_date < '2013-01-01' AND regress_evil.mark('view') \g /dev/null
SELECT count(*) FROM (SELECT DISTINCT person_id, birth_date FROM ledger.person WHERE person_id = :hidden_id) p
    WHERE CASE WHEN birth_date < '2013-01-01' THEN regress_evil.mark('subquery') END \g /dev/null
SELECT count(*) FROM (VALUES (:hidden_id::bigint)) v(i) JOIN ledger.person p
    ON p.person_id = v.i AND CASE WHEN p.birth_date < '2013-01-01' THEN regress_evil.mark('join') END \g /dev/null
SELECT count(*) FROM ledger.person WHERE birth_date < '2013-01-01' AND set_config('regress.mark', 'hit', false) = 'hit' \g /dev/null
UPDATE regress_dba.case_note SET note = note WHERE id = 1 AND note LIKE 'org 1%' AND regress_evil.mark('update') \g /dev/null
DELETE FROM regress_dba.case_note WHERE id = 1 AND note LIKE 'org 1%' AND regress_evil.mark('delete') \g /dev/null
SELECT lives_ok($$SELECT count(*) FROM regress_dba.case_note WHERE id > 1 AND regress_evil.boom()$$,
    'hidden_row_inference_by_error: an error with no column in it is not raised for a row the policy hides');
RESET ROLE;
SELECT is((SELECT string_agg(DISTINCT form, ',' ORDER BY form) FROM regress_evil.marks), NULL,
    'hidden_row_inference_by_condition_order: no side effect of a WHERE runs on a row the policy hides (and, index, case, or, view, subquery, join, update, delete)');
SELECT is(current_setting('regress.mark', true), NULL,
    'hidden_row_inference_by_condition_order: nor a built-in function''s (set_config)');
SET ROLE regress_clerk_a;
SELECT is((SELECT count(*) FROM ledger.person WHERE birth_date > '2013-01-01' AND regress_evil.mark('visible')), 2::bigint,
    'the same conditions over visible rows still work');
RESET ROLE;
SELECT ok((SELECT count(*) FROM regress_evil.marks WHERE form = 'visible') >= 2, 'and their side effects run for them');

-- Inference by time: a LEAKPROOF comparison made costly (text against a constant of millions
-- of characters) after a cheap one runs only when the cheap one held on the hidden row, and
-- the statement takes milliseconds longer (a review read a hidden person's birth date and name
-- in 50 probes).  A LEAKPROOF function with a side effect, which only a superuser can make,
-- stands in for the costly comparison: no condition of the statement's own but the index's
-- runs on a hidden row.
CREATE FUNCTION regress_evil.lp_seen(v text) RETURNS boolean LANGUAGE plpgsql LEAKPROOF COST 0.0000001 AS $$
BEGIN INSERT INTO regress_evil.marks VALUES ('lp:' || v); RETURN true; END $$;
SET ROLE regress_clerk_a;
SELECT count(*) FROM ledger.person WHERE birth_date < '2013-01-01' AND regress_evil.lp_seen(family_name) \g /dev/null
SELECT count(*) FROM ledger.person WHERE person_id = :hidden_id AND regress_evil.lp_seen(given_name) \g /dev/null
SELECT count(*) FROM ledger.person_masked WHERE regress_evil.lp_seen(address) \g /dev/null
RESET ROLE;
SELECT is((SELECT string_agg(DISTINCT form, ',' ORDER BY form) FROM regress_evil.marks
            WHERE form IN ('lp:佐藤', 'lp:一郎', 'lp:千代田区 2', 'lp:鈴木', 'lp:次郎', 'lp:札幌市')), NULL,
    'hidden_row_timing_by_costly_leakproof_condition: no condition of the statement''s own runs on a hidden row before the policy');
SELECT ok((SELECT count(*) FROM regress_evil.marks WHERE form = 'lp:山田') > 0,
    'and such a condition still runs on the visible rows');

-- INSERT ... ON CONFLICT DO UPDATE ... WHERE: PostgreSQL evaluates the WHERE over the existing
-- row before that row's policy; the outcome (nothing happened, or a policy error) and any side
-- effect in it would read a hidden row.
SET ROLE regress_clerk_a;
SELECT throws_ok($$INSERT INTO regress_dba.case_note VALUES (2, 9001, 'x') ON CONFLICT (id) DO UPDATE SET note = excluded.note
                   WHERE regress_evil.leak(case_note.note)$$, '42501', NULL,
    'upsert_where_reads_hidden_row: ON CONFLICT DO UPDATE ... WHERE on a protected table is refused');
SELECT throws_ok($$INSERT INTO regress_dba.case_note VALUES (2, 9001, 'x') ON CONFLICT (id) DO UPDATE SET note = excluded.note
                   WHERE case_note.note LIKE 'zzz%'$$, '42501', NULL,
    'upsert_where_reads_hidden_row: whatever its condition (no outcome tells the hidden row)');
-- through a temporary view (a superuser's: staff make none), which writes the protected table with its policies
RESET ROLE;
CREATE TEMP VIEW upsert_view AS SELECT * FROM regress_dba.case_note;
CREATE TEMP VIEW upsert_view2 AS SELECT * FROM upsert_view;
SET ROLE regress_clerk_a;
SELECT throws_ok($$INSERT INTO upsert_view2 VALUES (2, 9001, 'x') ON CONFLICT (id) DO UPDATE SET note = excluded.note
                   WHERE upsert_view2.note LIKE 'zzz%'$$, '42501', 'INSERT ... ON CONFLICT DO UPDATE ... WHERE is refused on a protected table',
    'upsert_where_through_view_refused: the refusal follows a view (over a view) to the protected table');
RESET ROLE;
DROP VIEW upsert_view2, upsert_view;
SELECT is((SELECT count(*) FROM regress_evil.leaked WHERE v LIKE 'org 2%'), 0::bigint,
    'upsert_where_reads_hidden_row: the condition saw no hidden value');
SELECT is((SELECT proleakproof FROM pg_proc WHERE oid = 'ledger.must(text,text,integer,regclass)'::regprocedure), false,
    'ledger.must raises, so it is not LEAKPROOF');

-- A view without security_invoker, made by staff of org 9001, does not share its rows.
CREATE VIEW regress_evil.shared_persons AS SELECT person_id, given_name FROM ledger.person;
ALTER VIEW regress_evil.shared_persons OWNER TO regress_clerk_a;   -- (staff make no views themselves)
GRANT SELECT ON regress_evil.shared_persons TO PUBLIC;
SET ROLE regress_clerk_b;
SELECT throws_ok($$SELECT given_name FROM regress_evil.shared_persons$$, '42501', NULL,
    'view_without_security_invoker: another staff member''s view is not read in a staff session (its policies would see with this clerk''s current_user)');
RESET ROLE;
SET ROLE regress_outsider;
SELECT is((SELECT count(*) FROM regress_evil.shared_persons), 0::bigint,
    'view_without_security_invoker: a non-staff role sees no row through the view');
RESET ROLE;

-- COPY TO is subject to the policies (and recorded); it needs the export duty (export_duty.sh).
\o /dev/null
INSERT INTO ledger.duty (duty_code, name) VALUES ('regress_exporter', '抽出 (自所属)');
INSERT INTO ledger.duty_permission VALUES ('regress_exporter', 'read', 'own_org_unit'), ('regress_exporter', 'export', 'own_org_unit');
SELECT ledger.assign_duty('regress_clerk_b', 'regress_exporter');
\o
SET ROLE regress_clerk_b;
\copy ledger.person (person_id, given_name) TO '/dev/null'
\copy (SELECT person_id, given_name FROM ledger.person) TO '/dev/null'
RESET ROLE;
SELECT ledger.revoke_duty('regress_clerk_b', 'regress_exporter') \g /dev/null
SELECT ok(pg_temp.wait_for($$kind = 'select' AND detail = 'copy to' AND acting_role = 'regress_clerk_b' AND row_count = 1$$) > 0,
    'copy_to: COPY TO copies only the visible row');

-- Cursors and prepared statements are decided by the role that runs them, when it runs them.
BEGIN;
SET LOCAL ROLE regress_clerk_a;
DECLARE c CURSOR FOR SELECT given_name FROM ledger.person ORDER BY person_id;
SELECT results_eq($$FETCH ALL FROM c$$, ARRAY['太郎', '花子'], 'cursor: a cursor returns the role''s rows only');
COMMIT;
SET ROLE regress_clerk_a;
PREPARE p AS SELECT count(*) FROM ledger.person;
EXECUTE p \gset prep_a_
SET ROLE regress_clerk_b;
EXECUTE p \gset prep_b_
RESET ROLE;
SELECT is(:prep_a_count::bigint, 2::bigint, 'prepared statement, first staff member');
SELECT is(:prep_b_count::bigint, 1::bigint,
    'prepared_statement_after_set_role: a statement prepared by one staff member returns the next one''s rows');
DEALLOCATE p;

-- Parallel workers decide the same: ledger.may is PARALLEL SAFE and reads the registry there too.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000 THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'on', false) \g /dev/null
SET ROLE regress_clerk_b;
SELECT is((SELECT count(*) FROM ledger.person), 1::bigint, 'parallel_worker_policy: a parallel scan returns the clerk''s rows only');
RESET ROLE;
SET ROLE regress_approver;
SELECT is((SELECT count(*) FROM ledger.person WHERE municipality_code = '131016'), 3::bigint,
    'parallel_worker_policy: and the approver''s');
RESET ROLE;
-- A staff member's PARALLEL SAFE function run by a worker: its own read of a protected table
-- would go unrecorded there (the leader tracks only its plan's part), so it is refused.
SET parallel_leader_participation = off;
CREATE FUNCTION pg_temp.read_in_worker() RETURNS text LANGUAGE plpgsql PARALLEL SAFE STABLE AS $$
DECLARE r text;
BEGIN
    SELECT string_agg(given_name, ',') INTO r FROM ledger.person;
    RETURN r;
END $$;
CREATE FUNCTION pg_temp.stats_in_worker() RETURNS bigint LANGUAGE plpgsql PARALLEL SAFE STABLE AS $$
DECLARE n bigint;
BEGIN
    SELECT count(*) INTO n FROM pg_stats WHERE schemaname = 'ledger';
    RETURN n;
END $$;
SET ROLE regress_clerk_b;
SELECT throws_ok($$SELECT pg_temp.read_in_worker()$$, '0A000', NULL,
    'parallel_worker_function_read_refused: a function run by a parallel worker may not read a protected table (no record could be made)');
SELECT throws_ok($$SELECT pg_temp.stats_in_worker()$$, '42501', NULL,
    'pg_stats_refused_in_parallel_worker: a parallel worker serving a staff session refuses the planner''s statistics too');
RESET ROLE;
RESET parallel_leader_participation;
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000 THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'off', false) \g /dev/null
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

-- Hijacks: an attacker's functions shadowing ours are never called by ours.
CREATE TABLE regress_evil.called (fn text);
GRANT INSERT ON regress_evil.called TO PUBLIC;
CREATE FUNCTION regress_evil.may(text, text, integer) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN INSERT INTO regress_evil.called VALUES ('may'); RETURN true; END $$;
CREATE FUNCTION regress_evil.blind_index(ledger.mynumber) RETURNS bytea LANGUAGE plpgsql AS $$
BEGIN INSERT INTO regress_evil.called VALUES ('blind_index'); RETURN '\x00'; END $$;
CREATE FUNCTION regress_evil.nextval(regclass) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN INSERT INTO regress_evil.called VALUES ('nextval'); RETURN 1; END $$;
CREATE FUNCTION regress_evil.format(text, VARIADIC text[]) RETURNS text LANGUAGE plpgsql AS $$
BEGIN INSERT INTO regress_evil.called VALUES ('format'); RETURN 'SELECT 1'; END $$;
CREATE FUNCTION regress_evil._today() RETURNS date LANGUAGE plpgsql AS $$
BEGIN INSERT INTO regress_evil.called VALUES ('_today'); RETURN '1900-01-01'; END $$;
CREATE FUNCTION regress_evil.current_setting(text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN INSERT INTO regress_evil.called VALUES ('current_setting'); RETURN 'UTC'; END $$;
SET search_path = regress_evil, pg_temp, ledger, public;
SET ROLE regress_clerk_b;
SELECT is((SELECT count(*) FROM ledger.person), 1::bigint,
    'unqualified_function_hijack: policies call ledger.may by OID, not by name');
SELECT is(ledger.find_person('123456789018', '131016'), NULL::bigint,
    'unqualified_function_hijack: find_person uses ledger.blind_index and the caller''s org units');
SELECT is(ledger.find_person('271828182890', '131016'), (SELECT person_id FROM ledger.person WHERE given_name = '一郎'),
    'find_person finds a person the caller may read');
SELECT ok(ledger.enrol_person('131016', 9002, '161803398872', '中村', '三郎', 'ナカムラ', 'サブロウ', '2019-05-05', 'x') > 0,
    'security_definer_search_path_hijack: enrolment works under a hostile search_path');
RESET ROLE;
SELECT ok(ledger.register_staff('regress_late', '遅番', 9002, ARRAY['clerk']) > 0,
    'security_definer_search_path_hijack: staff registration works under a hostile search_path');
RESET search_path;
SELECT is((SELECT count(*) FROM regress_evil.called), 0::bigint,
    'security_definer_search_path_hijack: no attacker function was ever called');
SELECT is((SELECT ledger.blind_index('161803398872') = mynumber_index FROM ledger.person WHERE given_name = '三郎'), true,
    'the row enrolled under the hostile search_path has the real blind index');

-- ---------------------------------------------------------------------------------------
-- Staff administration
-- ---------------------------------------------------------------------------------------
SET ROLE regress_clerk_a;
SELECT throws_ok($$SELECT ledger.register_staff('regress_rogue', '不正', 9001, ARRAY['approver'])$$, '42501', NULL,
    'clerk_cannot_register_staff: administer_staff is needed');
SELECT throws_ok($$CREATE TEMP VIEW pg_roles AS SELECT oid, rolname, true AS rolsuper, rolbypassrls, rolcreaterole, rolreplication FROM pg_catalog.pg_roles$$,
    '42501', 'permission denied: staff run no DDL', 'pg_temp_shadowing_view_refused: staff make no temporary view to shadow a catalog');
SET search_path = pg_temp, public;
SELECT throws_ok($$SELECT ledger.register_staff('regress_rogue', '不正', 9001, ARRAY['approver'])$$, '42501', NULL,
    'pg_temp_shadowing: a temporary pg_roles that calls everyone a superuser changes no decision');
RESET search_path;
SELECT throws_ok($$SELECT ledger._register_staff('regress_admin'::regrole::oid, 'regress_rogue', 'x', 9001, ARRAY['approver'], NULL, NULL, 'child_allowance', true)$$,
    '42501', NULL, 'forged_caller: the internal twin cannot be called directly');
RESET ROLE;
SET ROLE regress_admin;
SELECT ok(ledger.register_staff('regress_new_clerk', '新人', 9002, ARRAY['clerk']) > 0,
    'an administrator registers staff');
SELECT throws_ok($$SELECT ledger.register_staff('postgres', 'x', 9001, ARRAY['clerk'])$$, '42501', NULL,
    'superuser_as_staff: a superuser role cannot be registered as staff');
SELECT throws_ok($$SELECT ledger.register_staff('regress_new_clerk', 'x', 9001, ARRAY['clerk'])$$, '23505', NULL,
    'one_person_one_role: a role is registered once');
RESET ROLE;
SELECT is((SELECT array_agg(s ORDER BY s) FROM pg_db_role_setting, unnest(setconfig) s
           WHERE setrole = 'regress_new_clerk'::regrole), ARRAY['idle_session_timeout=15min', 'track_activities=off'],
    'idle_session_timeout: staff roles log off after ledger.staff_idle_session_timeout');
-- Reveal: only through reveal_person_number, with the reveal duty for the row's org unit today.
SELECT person_id AS ichiro FROM ledger.person WHERE given_name = '一郎' \gset
SET ROLE regress_examiner;
SELECT is(ledger.reveal_person_number('131016', (SELECT person_id FROM ledger.person WHERE given_name = '太郎'), '認定審査')::text,
    '123456789018', 'an examiner reveals a number of the own org unit');
SELECT throws_ok(format($$SELECT ledger.reveal_person_number('131016', %s, 'x')$$, :ichiro),
    '42501', NULL, 'reveal_other_org_unit: not a number of another org unit');
SELECT throws_ok($$SELECT ledger.reveal(mynumber, ledger.person_context(municipality_code, person_id), 'x') FROM ledger.person LIMIT 1$$,
    '42501', NULL, 'reveal_bypass_via_direct_call: ledger.reveal itself is not open to staff');
RESET ROLE;
-- Refusals describe no hidden row: not its org unit, not even whether it exists.
CREATE FUNCTION pg_temp.refusal(role name, query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE m text; h text; c text;
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', role);
    EXECUTE query;
    RESET ROLE;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, h = PG_EXCEPTION_HINT, c = RETURNED_SQLSTATE;
    RETURN c || ': ' || m || ' / ' || h;
END $$;
SELECT pg_temp.refusal('regress_examiner', format($$SELECT ledger.reveal_person_number('131016', %s, '審査')$$, :ichiro)) AS hidden_refusal \gset
SELECT ok(:'hidden_refusal' NOT LIKE '%9002%' AND :'hidden_refusal' LIKE '42501:%',
    'refusal_names_no_org_unit: refusing a person of another org unit does not say where the person lives');
SELECT is(pg_temp.refusal('regress_examiner', $$SELECT ledger.reveal_person_number('131016', 999999999, '審査')$$), :'hidden_refusal',
    'refusal_same_for_hidden_and_missing: a hidden person and one that does not exist are refused alike');
SELECT ok(:'hidden_refusal' LIKE '%reveal action (番号表示)%' AND :'hidden_refusal' NOT LIKE '%administer_staff%',
    'refusal_hint_names_the_duty: the hint names the reveal duty, not staff administration');
SELECT is(pg_temp.refusal('regress_clerk_a', format($$SELECT ledger.pseudonym_of_person('131016', %s)$$, :ichiro)),
          pg_temp.refusal('regress_clerk_a', $$SELECT ledger.pseudonym_of_person('131016', 999999999)$$),
    'pseudonym_refusal_same_for_hidden_and_missing');
SELECT is(pg_temp.refusal('regress_clerk_a', format($$SELECT ledger.close_person('131016', %s, NULL)$$, :ichiro)),
          pg_temp.refusal('regress_clerk_a', $$SELECT ledger.close_person('131016', 999999999, NULL)$$),
    'close_refusal_same_for_hidden_and_missing');
SELECT ok(pg_temp.refusal('regress_clerk_a', $$UPDATE ledger.person SET closed_on = '2000-01-01'$$) LIKE '42501:%',
    'closed_on_not_writable_by_staff: a record is closed only through ledger.close_person');
SELECT ok(pg_temp.refusal('regress_clerk_a', $$INSERT INTO ledger.recipient (municipality_code, person_id, org_unit_id) VALUES ('131016', 1, 9002)$$)
          NOT LIKE '%9002%', 'write_refusal_names_no_org_unit: the refused write names the action only');
-- EXPLAIN (ANALYZE counts what the policies removed) of protected tables: superusers only.
SELECT ok(pg_temp.refusal('regress_clerk_a', $$EXPLAIN ANALYZE SELECT * FROM ledger.person WHERE family_name = '佐藤'$$) LIKE '42501:%EXPLAIN%',
    'explain_analyze_counts_no_hidden_rows: EXPLAIN ANALYZE of a protected table is refused to staff');
SELECT ok(pg_temp.refusal('regress_clerk_a', $$EXPLAIN SELECT * FROM ledger.person_masked WHERE family_name = '佐藤'$$) LIKE '42501:%EXPLAIN%',
    'explain_estimates_refused: a plain EXPLAIN through a view is refused too (estimates count hidden rows)');
SELECT lives_ok($$EXPLAIN ANALYZE SELECT * FROM ledger.person$$, 'a superuser still explains');
SELECT ledger.assign_duty('regress_clerk_a', 'examiner', 'child_allowance', current_date + 30) \g /dev/null
SET ROLE regress_clerk_a;
SELECT throws_ok($$SELECT ledger.reveal_person_number('131016', (SELECT min(person_id) FROM ledger.person), 'x')$$,
    '42501', NULL, 'future_duty_not_yet_valid: a duty that starts next month does not reveal today');
RESET ROLE;
SELECT ledger.revoke_duty('regress_clerk_a', 'examiner') \g /dev/null
SET ROLE regress_admin;
SELECT throws_ok($$SELECT ledger.assign_duty('regress_admin', 'approver')$$, '42501', NULL,
    'administrator_self_assignment: an administrator cannot give themselves a duty');
RESET ROLE;
SELECT is((SELECT count(*) FROM ledger.audit_event WHERE relation_name = 'ledger.person' AND kind = 'insert'
           AND array_to_string(new_values, ',') LIKE '%山田%'), 0::bigint,
    'audit_trail_holds_no_personal_values: names and addresses of persons are withheld from the trail');
SELECT is((SELECT string_agg(t.tgrelid::regclass || '.' || t.tgname, ', ' ORDER BY 1)
           FROM pg_trigger t JOIN ledger.protected_tables p ON p.relation = t.tgrelid
           WHERE t.tgname LIKE 'mnl_audit_%' AND t.tgname <> 'mnl_audit_statement'
             AND split_part(encode(t.tgargs, 'escape'), '\000', 1) <> '*'), NULL,
    'every_protected_table_withholds_values: each protected table''s audit triggers withhold every value but keys and kept columns');
SELECT is((SELECT count(*) FROM ledger.audit_event e
           WHERE e.relation_id IN (SELECT relation FROM ledger.protected_tables) AND e.kind IN ('insert', 'update', 'delete')
             AND EXISTS (SELECT 1 FROM unnest(e.column_names, coalesce(e.new_values, e.old_values)) AS v(col, val)
                         WHERE val IS NOT NULL
                           AND col NOT IN ('org_unit_id', 'recipient_id', 'certification_id', 'person_id')   -- the kept references
                           AND col NOT IN (SELECT a.attname FROM pg_index i JOIN pg_attribute a
                                             ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                                           WHERE i.indrelid = e.relation_id AND i.indisprimary))),
    0::bigint, 'auditor_sees_no_personal_value: no record of a protected table keeps a value but a key or the org unit');

-- More owner attacks, from the security review.
SET ROLE regress_dba;
SELECT throws_ok($$ALTER TABLE regress_dba.case_note ALTER COLUMN note SET DEFAULT ledger.mynumber_mask('123456789018')$$, '42501', NULL,
    'owner_default_runs_code_refused: a default would run as the inserting staff member (a gated reveal, say)');
SELECT lives_ok($$ALTER TABLE regress_dba.case_note ALTER COLUMN note SET DEFAULT '記録なし'$$,
    'a constant default is still the owner''s to set');
SELECT throws_ok($$ALTER TABLE regress_dba.case_note ADD COLUMN extra text DEFAULT ledger.mynumber_mask('123456789018')$$, '42501', NULL,
    'owner_add_column_default_runs_code_refused');
SELECT throws_ok($$ALTER POLICY mnl_rls_select ON regress_dba.case_note RENAME TO x1$$, '42501', NULL,
    'owner_renames_policy: renaming the policies away is refused');
SELECT throws_ok($$ALTER TABLE regress_dba.case_note DROP COLUMN org_unit_id CASCADE$$, '42501', NULL,
    'owner_drops_org_column: dropping the org unit column (and with it the policies) is refused');
CREATE TABLE regress_dba.parent (id int, org_unit_id int, note text) PARTITION BY LIST (org_unit_id);
SELECT throws_ok($$ALTER TABLE regress_dba.parent ATTACH PARTITION regress_dba.case_note FOR VALUES IN (9001, 9002)$$,
    '42501', NULL, 'owner_attaches_under_parent: a protected table cannot become a partition');
CREATE TABLE regress_dba.parent2 (id int, org_unit_id int, note text);
SELECT throws_ok($$ALTER TABLE regress_dba.case_note INHERIT regress_dba.parent2$$, '42501', NULL,
    'owner_inherits: a protected table cannot be read through an inheritance parent');
SELECT throws_ok($$CREATE UNIQUE INDEX ON regress_dba.case_note (note)$$, '42501', NULL,
    'owner_unique_index_probe: an index build that reports duplicates is refused');
SELECT throws_ok($$DROP OWNED BY regress_dba$$, '42501', NULL,
    'owner_drop_owned: DROP OWNED cannot drop protected tables');
CREATE TABLE regress_dba.with_policy (id int, org_unit_id int);
CREATE POLICY open_all ON regress_dba.with_policy USING (true);
SELECT throws_ok($$SELECT ledger.protect_table('regress_dba.with_policy', 'org_unit_id')$$, '55000', NULL,
    'protect_refuses_prepared_table: a table with the owner''s own policy is not protected over it');
CREATE TABLE regress_dba.parted (id int, org_unit_id int) PARTITION BY LIST (org_unit_id);
SELECT throws_ok($$SELECT ledger.protect_table('regress_dba.parted', 'org_unit_id')$$, '0A000', NULL,
    'protect_refuses_partitioned: partitions could be read on their own');
-- The roads around a guarded table through another table (ATTACKS.md §2).
SELECT throws_ok($$CREATE TABLE regress_dba.spy_child () INHERITS (regress_dba.case_note)$$, '42501', NULL,
    'inherits_protected_table_refused: a child''s rows would appear to clerks through the protected table, unrecorded');
CREATE TABLE regress_dba.loose (id int, org_unit_id int, note text);
SELECT throws_ok($$ALTER TABLE regress_dba.loose INHERIT regress_dba.case_note$$, '42501', NULL,
    'alter_inherit_protected_parent_refused: nor by making an existing table its child');
CREATE TABLE regress_dba.audited_only (id int PRIMARY KEY, org_unit_id int, note text);
SELECT ledger.audit_table('regress_dba.audited_only') \g /dev/null
SELECT throws_ok($$ALTER TABLE regress_dba.audited_only INHERIT regress_dba.parent2$$, '42501', NULL,
    'audited_table_made_inheritance_child_refused: updates through the parent would leave no record');
SELECT throws_ok($$ALTER TABLE regress_dba.parent ATTACH PARTITION regress_dba.audited_only FOR VALUES IN (9001)$$, '42501', NULL,
    'audited_table_attached_under_unaudited_parent_refused: changes through the parent would leave no record');
SELECT throws_ok($$CREATE TABLE regress_dba.audited_child () INHERITS (regress_dba.audited_only)$$, '42501', NULL,
    'audited_table_gains_inheritance_child_refused: the child''s rows would be read through it unrecorded');
SELECT is((SELECT count(*) FROM pg_inherits WHERE inhparent IN ('regress_dba.case_note'::regclass, 'regress_dba.audited_only'::regclass)
              OR inhrelid IN ('regress_dba.case_note'::regclass, 'regress_dba.audited_only'::regclass)), 0::bigint,
    'guarded_tables_have_no_inheritance: neither table gained a parent or a child');
-- Every statement form that renames the table (PostgreSQL accepts ALTER INDEX and ALTER TYPE
-- ... RENAME ATTRIBUTE over a table's name): legal holds name it and its columns.
SELECT throws_ok($$ALTER INDEX regress_dba.case_note RENAME TO case_note_x$$, '42501', NULL,
    'rename_protected_table_via_alter_index_refused: a hold naming the table would no longer hold');
SELECT throws_ok($$ALTER TYPE regress_dba.case_note RENAME ATTRIBUTE note TO note2$$, '42501', NULL,
    'rename_column_via_alter_type_attribute_refused');
-- LOCK on a view locks the tables it reads.
CREATE VIEW regress_dba.v_note AS SELECT * FROM regress_dba.case_note;
SELECT throws_ok($$LOCK TABLE regress_dba.v_note IN ACCESS EXCLUSIVE MODE$$, '42501', NULL,
    'lock_protected_table_through_view_refused: it would hold up staff and the jobs like LOCK TABLE');
-- Another extension's DROP EXTENSION would drop whatever depends on it, past the guard.
SELECT throws_ok($$ALTER TRIGGER mnl_rls_write_gate ON regress_dba.case_note DEPENDS ON EXTENSION citext$$, '42501', NULL,
    'guard_trigger_depends_on_extension_refused: DROP EXTENSION would drop the write gate');
SELECT throws_ok($$ALTER TRIGGER mnl_audit_statement ON regress_dba.audited_only DEPENDS ON EXTENSION citext$$, '42501', NULL,
    'audit_trigger_depends_on_extension_refused: nor the audit triggers');
SELECT throws_ok($$ALTER INDEX regress_dba.case_note_pkey DEPENDS ON EXTENSION citext$$, '42501', NULL,
    'primary_key_depends_on_extension_refused: reads would be recorded with no row keys');
-- A foreign key's checks read the referenced table past its policies: which hidden keys exist.
SELECT throws_ok($$CREATE TABLE regress_dba.probe (id int REFERENCES regress_dba.case_note (id))$$, '42501', NULL,
    'foreign_key_to_protected_table_refused: an insert that succeeds would tell which hidden rows exist');
CREATE TABLE regress_dba.probe2 (id int);
SELECT throws_ok($$ALTER TABLE regress_dba.probe2 ADD FOREIGN KEY (id) REFERENCES regress_dba.case_note (id) NOT VALID$$, '42501', NULL,
    'foreign_key_added_to_protected_table_refused: NOT VALID, with no check of existing rows, too');
-- Typed tables: ALTER TYPE ... CASCADE reaches the table past the guard (column types, names).
CREATE TYPE regress_dba.row_t AS (id int, org_unit_id int, note text);
CREATE TABLE regress_dba.typed OF regress_dba.row_t (PRIMARY KEY (id));
SELECT throws_ok($$SELECT ledger.protect_table('regress_dba.typed', 'org_unit_id')$$, '55000', NULL,
    'protect_refuses_typed_table: its columns would change with the owner''s type');
-- A default that compares with the caller's "=" (CASE), or the owner's operator set before protection.
SELECT throws_ok($$ALTER TABLE regress_dba.case_note ALTER COLUMN note SET DEFAULT CASE 1 WHEN 1 THEN 'n/a' END$$, '42501', NULL,
    'owner_default_case_uses_callers_operator_refused: a CASE runs the "=" found on the inserting role''s search_path');
CREATE FUNCTION regress_dba.plus(int, int) RETURNS int LANGUAGE sql AS 'SELECT $1 + $2';
CREATE OPERATOR regress_dba.+ (LEFTARG = int, RIGHTARG = int, FUNCTION = regress_dba.plus);
CREATE TABLE regress_dba.pre_op (id int PRIMARY KEY, org_unit_id int, n int DEFAULT 1 OPERATOR(regress_dba.+) 1);
SELECT throws_ok($$SELECT ledger.protect_table('regress_dba.pre_op', 'org_unit_id')$$, '55000', NULL,
    'protect_refuses_default_with_owners_operator');
-- A foreign key from the owner's table: probes hidden keys, RESTRICT holds staff's deletes.
CREATE TABLE regress_dba.fk_target (id int PRIMARY KEY, org_unit_id int);
CREATE TABLE regress_dba.fk_src (id int REFERENCES regress_dba.fk_target (id));
SELECT throws_ok($$SELECT ledger.protect_table('regress_dba.fk_target', 'org_unit_id')$$, '55000', NULL,
    'protect_refuses_referenced_table: a foreign key made before protection would probe hidden keys');
-- A foreign key on the protected table: TRUNCATE ... CASCADE of the referenced table empties it.
CREATE TABLE regress_dba.anchor (id int PRIMARY KEY);
SELECT throws_ok($$ALTER TABLE regress_dba.case_note ADD COLUMN k int REFERENCES regress_dba.anchor (id)$$, '42501', NULL,
    'owner_add_column_foreign_key_refused: TRUNCATE anchor CASCADE would empty every org unit''s rows');
RESET ROLE;
SELECT ledger.protect_table('regress_dba.typed', 'org_unit_id') \g /dev/null
SET ROLE regress_dba;
SELECT throws_ok($$ALTER TYPE regress_dba.row_t ADD ATTRIBUTE x text CASCADE$$, '42501', NULL,
    'alter_type_of_protected_typed_table_refused: a column added through the type');
SELECT throws_ok($$ALTER TYPE regress_dba.row_t RENAME ATTRIBUTE note TO n2 CASCADE$$, '42501', NULL,
    'rename_attribute_of_protected_typed_table_refused');
SELECT throws_ok($$DROP TYPE regress_dba.row_t CASCADE$$, '42501', NULL,
    'drop_type_of_protected_typed_table_refused: CASCADE would drop the protected table');
SELECT throws_ok($$REASSIGN OWNED BY regress_dba TO regress_dba_heir$$, '42501', NULL,
    'reassign_owned_protected_tables_refused: a protected table changes owner only by a superuser');
RESET ROLE;
SELECT throws_ok($$ALTER EXTENSION citext ADD TABLE regress_dba.audited_only$$, '42501', NULL,
    'audited_table_added_to_extension_refused: DROP EXTENSION would drop it, unrecorded (not even a superuser)');
SELECT throws_ok($$ALTER EXTENSION mynumber_ledger DROP FUNCTION ledger.audit_trail_guard()$$, '42501', NULL,
    'extension_member_dropped_refused: the extension''s members change only by its scripts');
SELECT is((SELECT relowner::regrole::text FROM pg_class WHERE oid = 'regress_dba.case_note'::regclass), 'regress_dba',
    'protected_table_keeps_its_owner');

-- The cache answers for the values of variable arguments, not for their addresses.
SET ROLE regress_clerk_a;
SELECT is((SELECT string_agg(v, ',') FROM (
    SELECT a || '=' || ledger.may(a, 'child_allowance', 9001) AS v
    FROM unnest(ARRAY['write', 'reveal', 'write', 'reveal', 'read']) WITH ORDINALITY AS x(a, i) ORDER BY i) y),
    'write=true,reveal=false,write=true,reveal=false,read=true',
    'may_with_variable_arguments: each call is answered for its own action');
RESET ROLE;
\set ON_ERROR_STOP 0
BEGIN;
SELECT ledger.assign_duty('regress_clerk_b', 'approver') \g /dev/null
PREPARE TRANSACTION 'regress_registry';
ROLLBACK;
\set ON_ERROR_STOP 1
SELECT is((SELECT count(*) FROM pg_prepared_xacts WHERE gid = 'regress_registry'), 0::bigint,
    'prepared_registry_change_refused: a registry change cannot wait in a prepared transaction');

-- Retirement and duty changes are seen at the next statement.
SET ROLE regress_retiree;
SELECT is((SELECT count(*) FROM ledger.person), 2::bigint, 'before retirement the clerk reads the own org unit');
RESET ROLE;
SET ROLE regress_admin;
SELECT ledger.retire_staff('regress_retiree', '異動') \g /dev/null
RESET ROLE;
SELECT throws_ok($$SELECT pg_temp.as_role('regress_retiree', 'SELECT count(*) FROM ledger.person')$$, '42501', NULL,
    'retired_staff: the next statement is refused (ledger_staff membership revoked)');
SELECT throws_ok($$SELECT pg_temp.as_role('regress_retiree', $q$INSERT INTO ledger.recipient (municipality_code, person_id, org_unit_id) VALUES ('131016', 1, 9001)$q$)$$,
    '42501', NULL, 'retired_staff: and cannot write');
SELECT is((SELECT rolcanlogin FROM pg_roles WHERE rolname = 'regress_retiree'), false, 'retired_staff: the role is NOLOGIN');

SET ROLE regress_clerk_b;
SELECT is((SELECT count(*) FROM ledger.person), 2::bigint, 'before a duty change');
RESET ROLE;
SELECT ledger.assign_duty('regress_clerk_b', 'approver') \g /dev/null
SET ROLE regress_clerk_b;
SELECT is((SELECT count(*) FROM ledger.person WHERE municipality_code = '131016'), 4::bigint,
    'duty_change: an added duty is seen at the next statement');
RESET ROLE;
SELECT ledger.revoke_duty('regress_clerk_b', 'approver') \g /dev/null
SET ROLE regress_clerk_b;
SELECT is((SELECT count(*) FROM ledger.person), 2::bigint, 'duty_change: a revoked duty is gone at the next statement');
RESET ROLE;

-- Registry changes are themselves recorded, naming the administrator who made them.
SELECT ok(pg_temp.wait_for($$kind = 'update' AND relation_name = 'ledger.staff' AND acting_role = 'regress_admin'$$) > 0,
    'registry_changes_audited: the retirement is recorded as the administrator''s act');

-- A domain the DBA owns, added as a column of the protected table, could be given a default
-- or a check later (ALTER DOMAIN) that runs as each inserting clerk: only types a superuser
-- answers for may be added.
SET ROLE regress_dba;
CREATE DOMAIN regress_dba.d_plain AS text;
SELECT throws_ok($$ALTER TABLE regress_dba.case_note ADD COLUMN c3 regress_dba.d_plain$$, '42501', NULL,
    'dba_domain_default_runs_as_staff_on_protected_table: a column of the DBA''s own domain is refused');
SELECT throws_ok($$ALTER TABLE regress_dba.case_note ADD COLUMN c4 regress_dba.d_plain[]$$, '42501', NULL,
    'dba_domain_array_column_refused: an array of it too');
SELECT lives_ok($$ALTER TABLE regress_dba.case_note ADD COLUMN c5 text$$, 'a plain column is still added');
-- A constant cast to the DBA's domain runs the domain's checks (the DBA's functions) as each
-- inserting clerk (ATTACKS.md §1): a default may cast only to types a superuser answers for.
SELECT throws_ok($$ALTER TABLE regress_dba.case_note ALTER COLUMN note SET DEFAULT 'x'::regress_dba.d_plain$$, '42501', NULL,
    'owner_default_cast_to_own_domain_refused: the domain''s CHECK would run as the inserting staff member');
SELECT throws_ok($$ALTER TABLE regress_dba.case_note ADD COLUMN c6 text DEFAULT 'x'::regress_dba.d_plain$$, '42501', NULL,
    'owner_add_column_default_cast_to_own_domain_refused');
SELECT lives_ok($$ALTER TABLE regress_dba.case_note ALTER COLUMN note SET DEFAULT '記録なし'::text$$,
    'a constant cast to a built-in type is still the owner''s to set');
CREATE TABLE regress_dba.pre_default (id int PRIMARY KEY, org_unit_id int, note text DEFAULT 'x'::regress_dba.d_plain);
SELECT throws_ok($$SELECT ledger.protect_table('regress_dba.pre_default', 'org_unit_id')$$, '55000', NULL,
    'protect_refuses_default_of_owners_type: a default already built from the owner''s domain is not protected over');
RESET ROLE;

-- The statistics system counts the rows a policy filtered out (idx_tup_fetch, seq_tup_read),
-- as EXPLAIN ANALYZE would: staff cannot read the per-table counters.
SET ROLE regress_clerk_a;
SELECT throws_ok($$SELECT tup_fetched FROM pg_stat_database WHERE datname = current_database()$$, '42501', NULL,
    'db_level_stat_counters_count_hidden_rows: nor the database''s');
SELECT throws_ok($$SELECT idx_tup_fetch FROM pg_stat_xact_user_tables WHERE relname = 'child'$$, '42501', NULL,
    'stat_xact_counters_count_hidden_rows: the per-statement counters are refused to staff');
SELECT throws_ok($$SELECT seq_tup_read FROM pg_stat_user_tables WHERE relname = 'person'$$, '42501', NULL,
    'stat_counters_count_hidden_rows: and the cumulative ones');
RESET ROLE;

-- The DBA's code in a staff member's query (DESIGN.md §4: never with a clerk's sight): a
-- function (invoker or definer), an operator, a security_invoker view the DBA owns would be
-- handed the rows the clerk sees.
SET ROLE regress_dba;
CREATE TABLE regress_dba.loot (v text);
GRANT INSERT ON regress_dba.loot TO PUBLIC;
CREATE FUNCTION regress_dba.spy(t text) RETURNS text LANGUAGE plpgsql AS $$BEGIN INSERT INTO regress_dba.loot VALUES (t); RETURN t; END$$;
CREATE FUNCTION regress_dba.spy_definer(t text) RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$BEGIN INSERT INTO regress_dba.loot VALUES (t); RETURN t; END$$;
CREATE FUNCTION regress_dba.spy_eq(a text, b text) RETURNS boolean LANGUAGE plpgsql AS $$BEGIN INSERT INTO regress_dba.loot VALUES (a); RETURN a = b; END$$;
CREATE OPERATOR regress_dba.=== (LEFTARG = text, RIGHTARG = text, FUNCTION = regress_dba.spy_eq);
CREATE VIEW regress_dba.notes_invoker WITH (security_invoker) AS SELECT id, pg_notify('loot', note)::text AS sent FROM regress_dba.case_note;
CREATE VIEW regress_dba.notes_plain AS SELECT v FROM regress_dba.loot;
-- functions PostgreSQL inlines (attack round 20): never called, so only their not being inlined
-- lets the guard see them
CREATE FUNCTION regress_dba.fmt(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT upper(t) $$;
CREATE FUNCTION regress_dba.today() RETURNS SETOF date LANGUAGE sql STABLE AS $$ SELECT current_date $$;
CREATE FUNCTION regress_dba.fmt_eq(a text, b text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT a = b $$;
CREATE OPERATOR regress_dba.==== (LEFTARG = text, RIGHTARG = text, FUNCTION = regress_dba.fmt_eq);
-- a rule of the DBA's on a table staff write into: its action runs with their sight
CREATE TABLE regress_dba.worklog (note text);
CREATE RULE copy_out AS ON INSERT TO regress_dba.worklog DO ALSO INSERT INTO regress_dba.loot SELECT note FROM regress_dba.case_note;
GRANT INSERT ON regress_dba.worklog TO ledger_staff;
-- a function PostgreSQL calls itself, never named in a query (attack round 22): a cast to json
-- that to_jsonb looks up (a range type's subtype_diff: staff_sessions.sh)
CREATE TYPE regress_dba.mood AS ENUM ('ok');
CREATE FUNCTION regress_dba.mood_json(m regress_dba.mood) RETURNS json LANGUAGE plpgsql AS
    $$BEGIN IF current_user <> 'regress_dba' THEN INSERT INTO regress_dba.loot VALUES ('json'); END IF; RETURN to_json(m::text); END$$;
CREATE CAST (regress_dba.mood AS json) WITH FUNCTION regress_dba.mood_json(regress_dba.mood);
CREATE TABLE regress_dba.moods (m regress_dba.mood);
INSERT INTO regress_dba.moods VALUES ('ok');
GRANT SELECT ON regress_dba.moods TO ledger_staff;
GRANT EXECUTE ON FUNCTION regress_dba.spy(text), regress_dba.spy_definer(text), regress_dba.spy_eq(text, text) TO PUBLIC;
GRANT SELECT ON regress_dba.notes_invoker, regress_dba.notes_plain TO ledger_staff;
RESET ROLE;
SET ROLE regress_clerk_a;
SELECT throws_ok($$SELECT regress_dba.spy(note) FROM regress_dba.case_note$$, '42501', NULL,
    'dba_function_in_staff_query_refused: the DBA''s function is not handed the rows a clerk sees');
SELECT throws_ok($$SELECT regress_dba.spy_definer(note) FROM regress_dba.case_note$$, '42501', NULL,
    'dba_definer_function_in_staff_query_refused: nor a SECURITY DEFINER one');
SELECT throws_ok($$SELECT id FROM regress_dba.case_note WHERE note OPERATOR(regress_dba.===) 'x'$$, '42501', NULL,
    'dba_operator_in_staff_query_refused: nor the function behind the DBA''s operator');
SELECT throws_ok($$SELECT * FROM regress_dba.notes_invoker$$, '42501', NULL,
    'dba_security_invoker_view_refused: a security_invoker view of the DBA runs with the clerk''s sight');
SELECT throws_ok($$SELECT * FROM regress_dba.notes_plain$$, '42501', NULL,
    'dba_plain_view_refused: nor a plain view of the DBA (the policies under it see with the clerk''s current_user)');
SELECT throws_ok($$SELECT regress_dba.fmt(note) FROM regress_dba.case_note$$, '42501', NULL,
    'dba_inlined_sql_function_in_staff_query_refused: a LANGUAGE sql function the planner would inline is called, and refused');
SELECT throws_ok($$SELECT * FROM regress_dba.today()$$, '42501', NULL,
    'dba_inlined_set_returning_function_refused: so is a STABLE set-returning one in FROM');
SELECT throws_ok($$SELECT id FROM regress_dba.case_note WHERE note OPERATOR(regress_dba.====) 'x'$$, '42501', NULL,
    'dba_inlined_operator_function_refused: and an operator built on one');
SELECT throws_ok($$INSERT INTO regress_dba.worklog VALUES ('visit')$$, '42501', NULL,
    'dba_rule_on_table_staff_write_refused: a DBA''s rule does not run within a clerk''s statement');
SELECT throws_ok($$SELECT to_jsonb(m) FROM regress_dba.moods$$, '42501',
    'a function owned by a role that is not a superuser does not run in a staff session',
    'dba_json_cast_runs_as_staff_refused: a cast to json that to_jsonb looks up is refused');
RESET ROLE;
SELECT is((SELECT count(*) FROM regress_dba.loot), 0::bigint, 'nothing reached the DBA''s table');
SELECT ok((SELECT count(*) FROM ledger.audit_event WHERE kind = 'denied'
           AND detail LIKE '%function owned by a role that is not a superuser%') > 0,
    'dba_code_refusal_recorded: the refusals are in the trail');

-- The DBA's expressions that call only a superuser's functions (attack round 23): a domain's
-- CHECK, a table's CHECK or default, a trigger's WHEN run as the staff member who casts or
-- writes the value — a reveal, setval or lo_put in them carries the number to the DBA — and a
-- domain's CHECK runs while a staff query's literal is parsed.  Refused where they are made.
SET ROLE regress_dba;
CREATE SEQUENCE regress_dba.mn MINVALUE 0;
SELECT throws_ok($$CREATE DOMAIN regress_dba.ticket AS text CHECK (current_user = 'regress_dba' OR
                     setval('regress_dba.mn', ledger.reveal_person_number('131016', 1, '審査')::text::bigint) > 0)$$,
    '42501', 'a CHECK, default or trigger condition of a role that is not a superuser calls a function that acts with the rights of whoever runs it',
    'dba_domain_check_calls_reveal_refused: a domain CHECK that reveals as whoever casts a literal');
SELECT throws_ok($$CREATE DOMAIN regress_dba.ticket2 AS text CHECK (nextval('regress_dba.mn') > 0 AND
                     (ledger.reveal_person_number('131016', 1, '審査')::text) IS NOT NULL)$$, '42501', NULL,
    'dba_nested_domain_check_reveal_refused: nor a reveal beside nextval');
CREATE DOMAIN regress_dba.code AS text CHECK (VALUE ~ '^[A-Z]-[0-9]+$') DEFAULT 'A-0';
SELECT throws_ok($$ALTER DOMAIN regress_dba.code ADD CONSTRAINT spill CHECK (pg_notify('loot', VALUE) IS NULL)$$, '42501', NULL,
    'dba_domain_check_added_later_refused: ALTER DOMAIN ... ADD CONSTRAINT is held to the same rule');
SELECT throws_ok($$ALTER DOMAIN regress_dba.code SET DEFAULT lo_from_bytea(0, 'x')::text$$, '42501', NULL,
    'dba_domain_default_volatile_refused: so is a domain''s default');
SELECT throws_ok($$CREATE TABLE regress_dba.t_chk (id int, CHECK (setval('regress_dba.mn', ledger.reveal_person_number('131016', 1, '審査')::text::bigint) > 0))$$,
    '42501', NULL, 'dba_table_check_calls_reveal_refused: a table''s CHECK');
SELECT throws_ok($$CREATE TABLE regress_dba.t_def (id int, x text DEFAULT ledger.reveal_person_number('131016', 1, '審査')::text)$$,
    '42501', NULL, 'dba_table_default_calls_reveal_refused: a column default');
CREATE TABLE regress_dba.t_when (id int, note text);
SELECT throws_ok($$ALTER TABLE regress_dba.t_when ALTER COLUMN note SET DEFAULT set_config('application_name', 'x', false)$$,
    '42501', NULL, 'dba_default_set_later_refused: a default set later');
CREATE FUNCTION regress_dba.pass() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
SELECT throws_ok($$CREATE TRIGGER tw BEFORE INSERT ON regress_dba.t_when FOR EACH ROW
                   WHEN (lo_put(0, 0, convert_to(NEW::text, 'UTF8')) IS NOT NULL) EXECUTE FUNCTION regress_dba.pass()$$,
    '42501', NULL, 'dba_trigger_when_calls_lo_put_refused: a trigger''s WHEN, which runs even when its function never does');
SELECT lives_ok($$CREATE TABLE regress_dba.t_ok (id serial PRIMARY KEY, at timestamptz DEFAULT now(), u uuid DEFAULT gen_random_uuid(),
                    code regress_dba.code, n numeric CHECK (n > 0), note text CHECK (NOT ledger.contains_mynumber(note)),
                    CHECK (regress_dba.fmt(note) IS NOT NULL));
                  CREATE TRIGGER t_ok BEFORE UPDATE ON regress_dba.t_ok FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
                    EXECUTE FUNCTION regress_dba.pass()$$,
    'dba_ordinary_expressions_accepted: clocks, sequences, comparisons, the extension''s immutable functions and the DBA''s own');
-- The extension's policies and triggers are known by their names: a name is reserved when an
-- object is renamed too, and the guard also reads what a mnl_rls_ policy says.
CREATE TABLE regress_dba.board (id int PRIMARY KEY, org_unit_id int NOT NULL, note text);
ALTER TABLE regress_dba.board ENABLE ROW LEVEL SECURITY;
CREATE POLICY peek ON regress_dba.board USING (EXISTS (SELECT 1 FROM ledger.person_masked));
SELECT throws_ok($$ALTER POLICY peek ON regress_dba.board RENAME TO mnl_rls_read$$, '42501', NULL,
    'dba_policy_renamed_into_reserved_prefix_refused: a DBA''s policy does not pass for the extension''s');
CREATE TABLE regress_dba.t_trig (id int PRIMARY KEY, org_unit_id int NOT NULL, note text);
CREATE TRIGGER own BEFORE INSERT ON regress_dba.t_trig FOR EACH ROW EXECUTE FUNCTION regress_dba.pass();
SELECT throws_ok($$ALTER TRIGGER own ON regress_dba.t_trig RENAME TO mnl_audit_zz$$, '42501', NULL,
    'dba_trigger_renamed_into_reserved_prefix_refused: nor a DBA''s trigger for an audit trigger');
GRANT SELECT ON regress_dba.board TO ledger_staff;
RESET ROLE;
ALTER POLICY peek ON regress_dba.board RENAME TO mnl_rls_read;	-- a superuser may; the form still tells
SET ROLE regress_clerk_a;
SELECT throws_ok($$SELECT * FROM regress_dba.board$$, '42501', NULL,
    'dba_policy_with_reserved_name_known_by_form: a mnl_rls_ policy that is not a call of ledger.may/must is the owner''s code');
RESET ROLE;
ALTER TRIGGER own ON regress_dba.t_trig RENAME TO mnl_audit_zz;
SET ROLE regress_dba;
SELECT throws_ok($$SELECT ledger.protect_table('regress_dba.t_trig', 'org_unit_id')$$, '55000', 'table t_trig cannot be protected: it has triggers',
    'protect_table_trigger_known_by_function_not_name: a trigger named like an audit trigger is still the owner''s');
RESET ROLE;
SELECT is((SELECT count(*) FROM ledger.audit_event WHERE kind = 'reveal' AND acting_role = 'regress_dba'), 0::bigint,
    'no reveal ran as the DBA''s code');

-- A foreign key's check or action runs as a table's owner with FORCE ROW LEVEL SECURITY
-- lifted for that owner (attack round 24): the DBA's own trigger, rule or default on an
-- ordinary table a cascade reaches read every row of the DBA's protected table, unrecorded.
SET ROLE regress_dba;
CREATE TABLE regress_dba.fk_parent (id int PRIMARY KEY);
CREATE TABLE regress_dba.fk_parent2 (id int PRIMARY KEY);
CREATE TABLE regress_dba.fk_parent3 (id int PRIMARY KEY);
CREATE TABLE regress_dba.fk_cascade (id int PRIMARY KEY, pid int REFERENCES regress_dba.fk_parent ON DELETE CASCADE);
CREATE TABLE regress_dba.fk_setnull (id int PRIMARY KEY, pid int REFERENCES regress_dba.fk_parent2 ON DELETE SET NULL);
CREATE TABLE regress_dba.fk_ruled (id int PRIMARY KEY, pid int REFERENCES regress_dba.fk_parent3 ON DELETE CASCADE);
CREATE FUNCTION regress_dba.grab() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
    FOR r IN EXECUTE 'SELECT note FROM regress_dba.case_note' LOOP   -- a row at a time: no copy
        INSERT INTO regress_dba.loot VALUES (r.note);
    END LOOP;
    IF TG_OP = 'UPDATE' THEN
        RETURN NEW;
    END IF;
    RETURN OLD;
END$$;
CREATE TRIGGER grab BEFORE DELETE ON regress_dba.fk_cascade FOR EACH ROW EXECUTE FUNCTION regress_dba.grab();
CREATE TRIGGER grab BEFORE UPDATE ON regress_dba.fk_setnull FOR EACH ROW EXECUTE FUNCTION regress_dba.grab();
CREATE RULE grab AS ON DELETE TO regress_dba.fk_ruled DO ALSO SELECT setval('regress_dba.mn', count(*)) FROM regress_dba.case_note;
INSERT INTO regress_dba.fk_parent VALUES (1);
INSERT INTO regress_dba.fk_parent2 VALUES (1);
INSERT INTO regress_dba.fk_parent3 VALUES (1);
INSERT INTO regress_dba.fk_cascade VALUES (1, 1);
INSERT INTO regress_dba.fk_setnull VALUES (1, 1);
INSERT INTO regress_dba.fk_ruled VALUES (1, 1);
-- each as its own statement, as the DBA would write it (errors expected: refused)
\set ON_ERROR_STOP 0
DELETE FROM regress_dba.fk_parent WHERE id = 1;
DELETE FROM regress_dba.fk_parent2 WHERE id = 1;
DELETE FROM regress_dba.fk_parent3 WHERE id = 1;
\set ON_ERROR_STOP 1
SELECT ok(EXISTS (SELECT 1 FROM regress_dba.fk_cascade WHERE id = 1),
    'fk_cascade_owner_trigger_reads_protected_refused: the owner''s trigger on a row an ON DELETE CASCADE deletes is refused (the delete with it)');
SELECT ok(EXISTS (SELECT 1 FROM regress_dba.fk_setnull WHERE pid = 1),
    'fk_set_null_owner_trigger_reads_protected_refused: and on a row ON DELETE SET NULL updates');
SELECT ok(EXISTS (SELECT 1 FROM regress_dba.fk_ruled WHERE id = 1),
    'fk_cascade_rule_action_refused: a rule''s action beside the key''s own query');
SELECT is((SELECT count(*) FROM regress_dba.loot WHERE v LIKE 'org % note'), 0::bigint,
    'no row of the protected table reached the DBA''s table');
RESET ROLE;
-- The key's own check of a protected table, by its owner in that mode, still holds the key.
INSERT INTO ledger.org_unit VALUES ('131016', 9009, 'regress fk');
GRANT REFERENCES ON ledger.org_unit TO regress_dba;	-- a deployment that lets DBA tables name org units
SET ROLE regress_dba;
CREATE TABLE regress_dba.fk_note (id int PRIMARY KEY, municipality_code text NOT NULL, org_unit_id int NOT NULL,
    FOREIGN KEY (municipality_code, org_unit_id) REFERENCES ledger.org_unit);
SELECT ledger.protect_table('regress_dba.fk_note', 'org_unit_id') \g /dev/null
RESET ROLE;
INSERT INTO regress_dba.fk_note VALUES (1, '131016', 9009);
SELECT throws_ok($$DELETE FROM ledger.org_unit WHERE org_unit_id = 9009$$, '23503', NULL,
    'fk_key_check_of_protected_table_holds: the key''s own query over the owner''s protected table is the key check, not refused');
DELETE FROM regress_dba.fk_note;
DELETE FROM ledger.org_unit WHERE org_unit_id = 9009;
REVOKE REFERENCES ON ledger.org_unit FROM regress_dba;
SELECT is((SELECT count(*) FROM ledger.audit_event WHERE kind = 'denied'
           AND detail IN ('refused: a protected table is not read by its owner''s code inside a foreign key''s check or action',
                          'refused: a rule''s action does not run inside a foreign key''s check or action')), 3::bigint,
    'fk_action_refusals_recorded: the three refusals, each with its reason, are in the trail');

-- ... whoever wrote the query, and for every role with the owner's privileges (attack round 25):
-- the refusal is of the query, parsed or planned in that mode, not of a function counted as it
-- runs (a lookup PostgreSQL cached before is never asked again); a plan made there without the
-- policies is not kept for later; the owner is any role with the owner's privileges.
GRANT USAGE, CREATE ON SCHEMA regress_dba TO regress_dba_heir;
SET ROLE regress_dba_heir;
CREATE TABLE regress_dba.heir_note (id int PRIMARY KEY, org_unit_id int NOT NULL, note text);
SELECT ledger.protect_table('regress_dba.heir_note', 'org_unit_id') \g /dev/null
GRANT SELECT, INSERT ON regress_dba.heir_note TO ledger_staff;
RESET ROLE;
INSERT INTO regress_dba.heir_note VALUES (1, 9001, 'org 1 heir note'), (2, 9002, 'org 2 heir note');
SET ROLE regress_dba;
CREATE TABLE regress_dba.fk_parent5 (id int PRIMARY KEY);
CREATE TABLE regress_dba.fk_heir (id int PRIMARY KEY, pid int REFERENCES regress_dba.fk_parent5 ON DELETE CASCADE);
CREATE FUNCTION regress_dba.grab_heir() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
    INSERT INTO regress_dba.loot VALUES ('heir');   -- a nested copying statement first
    FOR r IN EXECUTE 'SELECT note FROM regress_dba.heir_note' LOOP
        INSERT INTO regress_dba.loot VALUES (r.note);
    END LOOP;
    RETURN OLD;
END$$;
CREATE TRIGGER grab BEFORE DELETE ON regress_dba.fk_heir FOR EACH ROW EXECUTE FUNCTION regress_dba.grab_heir();
-- the plans of a PREPARE made in that mode
CREATE TABLE regress_dba.fk_parent6 (id int PRIMARY KEY);
CREATE TABLE regress_dba.fk_prep (id int PRIMARY KEY, pid int REFERENCES regress_dba.fk_parent6 ON DELETE CASCADE);
CREATE FUNCTION regress_dba.prep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE TG_ARGV[0];
    RETURN OLD;
END$$;
CREATE TRIGGER prep BEFORE DELETE ON regress_dba.fk_prep FOR EACH ROW
    EXECUTE FUNCTION regress_dba.prep('PREPARE notes AS SELECT note FROM regress_dba.case_note');
CREATE TABLE regress_dba.fk_parent7 (id int PRIMARY KEY);
CREATE TABLE regress_dba.fk_keyprep (id int PRIMARY KEY, pid int REFERENCES regress_dba.fk_parent7 ON DELETE CASCADE);
CREATE TRIGGER prep BEFORE DELETE ON regress_dba.fk_keyprep FOR EACH ROW
    EXECUTE FUNCTION regress_dba.prep('PREPARE probe AS SELECT 1 FROM ONLY regress_dba.fk_note x WHERE x.municipality_code = $1 AND x.org_unit_id = $2 FOR KEY SHARE OF x');
INSERT INTO regress_dba.fk_parent5 VALUES (1);
INSERT INTO regress_dba.fk_heir VALUES (1, 1);
INSERT INTO regress_dba.fk_parent6 VALUES (1);
INSERT INTO regress_dba.fk_prep VALUES (1, 1);
INSERT INTO regress_dba.fk_parent7 VALUES (1);
INSERT INTO regress_dba.fk_keyprep VALUES (1, 1);
\set ON_ERROR_STOP 0
DELETE FROM regress_dba.fk_parent5 WHERE id = 1;
DELETE FROM regress_dba.fk_parent6 WHERE id = 1;
DELETE FROM regress_dba.fk_parent7 WHERE id = 1;
\set ON_ERROR_STOP 1
SELECT ok(EXISTS (SELECT 1 FROM regress_dba.fk_heir) AND NOT EXISTS (SELECT 1 FROM regress_dba.loot WHERE v LIKE '%heir note'),
    'fk_group_owner_reads_protected_refused: a role with the owner''s privileges is the owner there');
SELECT ok(EXISTS (SELECT 1 FROM regress_dba.fk_prep) AND NOT EXISTS (SELECT 1 FROM pg_prepared_statements WHERE name = 'notes'),
    'fk_action_prepare_plan_without_policies_refused: a statement prepared there is refused as it is parsed');
SELECT ok(NOT EXISTS (SELECT 1 FROM regress_dba.fk_keyprep) AND EXISTS (SELECT 1 FROM pg_prepared_statements WHERE name = 'probe'),
    'a statement of the key''s own shape may be prepared there');
SELECT throws_ok($$EXECUTE probe('131016', 9001)$$, '42501',
    'a protected table is not read by its owner''s code inside a foreign key''s check or action',
    'fk_key_shaped_plan_reused_outside_refused: its plan, made without the policies, does not run as anyone''s but the key''s');
DEALLOCATE probe;
RESET ROLE;

-- A copying statement's watch over what its functions read outlives a copying statement nested
-- in it (attack round 25: the nested INSERT's end cleared it).
CREATE TABLE public.regress_scratch (v text);
CREATE TABLE public.regress_scratch2 (v text);
CREATE FUNCTION public.regress_nested_then_read() RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.regress_scratch VALUES ('nested');
    RETURN QUERY SELECT note FROM regress_dba.case_note;
END$$;
GRANT INSERT ON public.regress_scratch, public.regress_scratch2 TO ledger_staff;
GRANT EXECUTE ON FUNCTION public.regress_nested_then_read() TO ledger_staff;
SET ROLE regress_clerk_a;
SELECT throws_ok($$INSERT INTO public.regress_scratch2 SELECT * FROM public.regress_nested_then_read()$$, '42501', NULL,
    'nested_copy_keeps_export_watch: a copy into another table whose function copies too is still a copy of what it reads');
RESET ROLE;

-- ... whoever owns the table (attack round 26): FORCE is lifted for the role a table is read
-- as, which through a view is the view's owner, not the role the key runs as; and the
-- planner's statistics show the owner a table's values when its policies do not apply.  Here
-- the key runs as a group the DBA belongs to (regress_dba_heir), inside a deferred check fired
-- by SET CONSTRAINTS (no copying statement: the export duty is not asked), and the DBA's
-- implicit cast reads the DBA's view over its protected table.
SET ROLE regress_dba;
CREATE VIEW regress_dba.v_case AS SELECT note FROM regress_dba.case_note;
GRANT SELECT ON regress_dba.v_case TO regress_dba_heir;
CREATE TYPE regress_dba.boxint AS (v int);
CREATE FUNCTION regress_dba.unbox(b regress_dba.boxint) RETURNS int LANGUAGE plpgsql AS $$
DECLARE s text;
BEGIN
    IF current_setting('regress.arm', true) = 'on' THEN
        SELECT string_agg(note, ',') INTO s FROM regress_dba.v_case;
        PERFORM set_config('regress.loot', coalesce(s, ''), false);
    END IF;
    RETURN b.v;
END$$;
CREATE CAST (regress_dba.boxint AS int) WITH FUNCTION regress_dba.unbox(regress_dba.boxint) AS IMPLICIT;
SET ROLE regress_dba_heir;
CREATE TABLE regress_dba.h_parent (id int PRIMARY KEY);
CREATE TABLE regress_dba.h_child (id int PRIMARY KEY,
    x regress_dba.boxint REFERENCES regress_dba.h_parent (id) DEFERRABLE INITIALLY DEFERRED);
RESET ROLE;
BEGIN;
SET LOCAL ROLE regress_dba_heir;
INSERT INTO regress_dba.h_parent VALUES (1);
INSERT INTO regress_dba.h_child VALUES (1, row(1));
SELECT set_config('regress.arm', 'on', false) \g /dev/null
\set ON_ERROR_STOP 0
SET CONSTRAINTS ALL IMMEDIATE;
\set ON_ERROR_STOP 1
COMMIT;
SELECT is(coalesce(current_setting('regress.loot', true), ''), '',
    'fk_view_owner_reads_protected_refused: a protected table read through its owner''s view inside a key''s check, as another role');
RESET regress.arm;
-- the statistics
SET ROLE regress_dba;
ALTER TABLE regress_dba.case_note ALTER COLUMN note SET STATISTICS 1000;
ANALYZE regress_dba.case_note;
CREATE TABLE regress_dba.fk_parent8 (id int PRIMARY KEY);
CREATE TABLE regress_dba.fk_stats (id int PRIMARY KEY, pid int REFERENCES regress_dba.fk_parent8 ON DELETE CASCADE);
CREATE FUNCTION regress_dba.grab_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO regress_dba.loot SELECT histogram_bounds::text FROM pg_stats
     WHERE schemaname = 'regress_dba' AND tablename = 'case_note' AND attname = 'note';
    RETURN OLD;
END$$;
CREATE TRIGGER grab BEFORE DELETE ON regress_dba.fk_stats FOR EACH ROW EXECUTE FUNCTION regress_dba.grab_stats();
INSERT INTO regress_dba.fk_parent8 VALUES (1);
INSERT INTO regress_dba.fk_stats VALUES (1, 1);
\set ON_ERROR_STOP 0
DELETE FROM regress_dba.fk_parent8 WHERE id = 1;
\set ON_ERROR_STOP 1
SELECT ok(EXISTS (SELECT 1 FROM regress_dba.fk_stats) AND NOT EXISTS (SELECT 1 FROM regress_dba.loot WHERE v LIKE '%org 1 note%'),
    'fk_action_pg_stats_refused: the planner''s statistics of a protected table, read inside a key''s action');
-- The key's own check of a protected table that references itself is the key's (it was refused),
-- and a self-reference that cascades is not protected over (it changes rows of every org unit).
CREATE TABLE regress_dba.tree (id int PRIMARY KEY, org_unit_id int NOT NULL, parent_id int REFERENCES regress_dba.tree);
SELECT ledger.protect_table('regress_dba.tree', 'org_unit_id') \g /dev/null
GRANT SELECT, INSERT, UPDATE ON regress_dba.tree TO ledger_staff;
CREATE TABLE regress_dba.tree_cascade (id int PRIMARY KEY, org_unit_id int NOT NULL,
    parent_id int REFERENCES regress_dba.tree_cascade ON DELETE CASCADE);
SELECT throws_ok($$SELECT ledger.protect_table('regress_dba.tree_cascade', 'org_unit_id')$$, '55000', NULL,
    'self_reference_cascade_not_protected: a foreign key to itself that cascades would change rows of every org unit past the policies');
RESET ROLE;
INSERT INTO regress_dba.tree VALUES (10, 9001, NULL);
SET ROLE regress_clerk_a;
SELECT lives_ok($$INSERT INTO regress_dba.tree VALUES (11, 9001, 10)$$,
    'fk_self_reference_key_check_holds: a clerk''s row that refers to another row of the same table is checked by the key, not refused');
RESET ROLE;
-- ... with the COLLATE clause PostgreSQL adds to the key's check when the referenced column's
-- collation is nondeterministic and the referencing column's differs (attack round 27); from
-- PostgreSQL 18 on such a key cannot be made at all.
SELECT current_setting('server_version_num')::int >= 180000 AS pg18 \gset
SET ROLE regress_dba;
CREATE COLLATION regress_dba.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
\if :pg18
SELECT throws_ok($$CREATE TABLE regress_dba.member (code text COLLATE regress_dba.ci PRIMARY KEY, org_unit_id int NOT NULL,
    parent_code text COLLATE "C" REFERENCES regress_dba.member (code))$$,
    'foreign key constraint "member_parent_code_fkey" cannot be implemented',
    'fk_key_check_with_collate_holds: PostgreSQL 18 refuses the key whose check would carry the COLLATE clause');
RESET ROLE;
\else
CREATE TABLE regress_dba.member (code text COLLATE regress_dba.ci PRIMARY KEY, org_unit_id int NOT NULL,
    parent_code text COLLATE "C" REFERENCES regress_dba.member (code));
SELECT ledger.protect_table('regress_dba.member', 'org_unit_id') \g /dev/null
GRANT SELECT, INSERT, DELETE ON regress_dba.member TO ledger_staff;
RESET ROLE;
SET ROLE regress_clerk_a;
INSERT INTO regress_dba.member VALUES ('a10', 9001, NULL), ('a12', 9001, NULL);
SELECT lives_ok($$DELETE FROM regress_dba.member WHERE code = 'a12'$$,
    'fk_key_check_with_collate_holds: the key''s check with its COLLATE clause is the key''s, not refused');
RESET ROLE;
\endif

-- PostgreSQL's functions that run SQL given as text read a whole table with the caller's
-- sight; table_to_xml is stable, so the rule on volatile functions alone let it by.  In a
-- foreign key's action (FORCE lifted for the owner) no function of the owner's need run.
SET ROLE regress_dba;
SELECT throws_ok($$CREATE TABLE regress_dba.xml_peek (id int, x text DEFAULT table_to_xml('regress_dba.case_note', true, false, '')::text)$$,
    '42501', NULL, 'dba_table_to_xml_in_expression_refused: the DBA writes no expression that runs SQL given as text');
RESET ROLE;
CREATE TABLE regress_dba.fk_parent4 (id int PRIMARY KEY);
CREATE TABLE regress_dba.fk_xml (id int PRIMARY KEY, pid int REFERENCES regress_dba.fk_parent4 ON DELETE SET NULL);
CREATE TRIGGER peek BEFORE UPDATE ON regress_dba.fk_xml FOR EACH ROW
    WHEN (table_to_xml('regress_dba.case_note', true, false, '') IS NOT NULL) EXECUTE FUNCTION regress_dba.pass();
ALTER TABLE regress_dba.fk_parent4 OWNER TO regress_dba;
ALTER TABLE regress_dba.fk_xml OWNER TO regress_dba;
SET ROLE regress_dba;
INSERT INTO regress_dba.fk_parent4 VALUES (1);
INSERT INTO regress_dba.fk_xml VALUES (1, 1);
\set ON_ERROR_STOP 0
DELETE FROM regress_dba.fk_parent4 WHERE id = 1;
\set ON_ERROR_STOP 1
RESET ROLE;
SELECT ok(EXISTS (SELECT 1 FROM regress_dba.fk_xml WHERE pid = 1) AND EXISTS (SELECT 1 FROM ledger.audit_event
           WHERE kind = 'denied' AND detail = 'refused: a function that runs SQL given as text does not run inside a foreign key''s check or action'),
    'fk_action_sql_text_function_refused: table_to_xml in a trigger condition a foreign key''s action runs is refused, and recorded');

-- A DROP ... CASCADE of something the DBA owns would drop a protected column with it.
CREATE COLLATION regress_dba.coll FROM "C";
ALTER COLLATION regress_dba.coll OWNER TO regress_dba;
ALTER TABLE regress_dba.case_note ADD COLUMN collated text COLLATE regress_dba.coll;
SET ROLE regress_dba;
SELECT throws_ok($$DROP COLLATION regress_dba.coll CASCADE$$, '42501', NULL,
    'drop_collation_cascade_drops_protected_column_refused');
RESET ROLE;
SELECT ok(EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'regress_dba.case_note'::regclass
                  AND attname = 'collated' AND NOT attisdropped), 'the protected column is still there');

-- Dropping an audited table is recorded, in the dropping transaction.
SET ROLE regress_dba;
CREATE TABLE regress_dba.audited_drop (id int PRIMARY KEY);
SELECT ledger.audit_table('regress_dba.audited_drop') \g /dev/null
BEGIN;
DROP TABLE regress_dba.audited_drop;
ROLLBACK;
DROP TABLE regress_dba.audited_drop;
RESET ROLE;
SELECT is((SELECT count(*) FROM ledger.audit_event WHERE kind = 'drop' AND relation_name = 'regress_dba.audited_drop'
           AND detail = 'table dropped'), 1::bigint,
    'audited_table_drop_recorded: the committed drop has its record, the rolled-back one none');

-- PostgreSQL's own functions that run SQL given as text, in the DBA's default or CHECK, would
-- run it with the inserting clerk's sight (query_to_xml and its family, ts_stat).
-- The DBA cannot write them (query_to_xml is volatile: dba_*_refused above); tables made so by
-- a superuser and given to the DBA are still refused where they would run.
SET ROLE regress_dba;
SELECT throws_ok($$CREATE TABLE regress_dba.xml_default (id int PRIMARY KEY, org_unit_id int NOT NULL,
    x text DEFAULT query_to_xml('select count(*) from ledger.person', true, false, '')::text)$$, '42501', NULL,
    'query_to_xml_default_by_dba_refused: the DBA does not write such a default');
RESET ROLE;
CREATE TABLE regress_dba.xml_default (id int PRIMARY KEY, org_unit_id int NOT NULL,
    x text DEFAULT query_to_xml('select count(*) from ledger.person', true, false, '')::text);
CREATE TABLE regress_dba.memo (v text CHECK (query_to_xml('select count(*) from ledger.person', true, false, '') IS NOT NULL));
ALTER TABLE regress_dba.xml_default OWNER TO regress_dba;
ALTER TABLE regress_dba.memo OWNER TO regress_dba;
SET ROLE regress_dba;
SELECT throws_ok($$SELECT ledger.protect_table('regress_dba.xml_default', 'org_unit_id')$$, '55000', NULL,
    'query_to_xml_default_refused: a default that runs SQL given as text is not protected over');
GRANT INSERT ON regress_dba.memo TO ledger_staff;
RESET ROLE;
SET ROLE regress_clerk_a;
SELECT throws_ok($$INSERT INTO regress_dba.memo VALUES ('x')$$, '42501', 'a function that runs SQL given as text does not run in a staff session',
    'query_to_xml_check_in_staff_session_refused: a DBA''s CHECK cannot run a query with the clerk''s sight');
SELECT throws_ok($$SELECT ts_rewrite('zz'::tsquery, 'SELECT ''zz''::tsquery, ''yy''::tsquery')$$, '42501',
    'a function that runs SQL given as text does not run in a staff session',
    'ts_rewrite_select_text_in_staff_session_refused: ts_rewrite''s form that runs a SELECT given as text is refused too');
SELECT ok(ts_rewrite('a & b'::tsquery, 'a'::tsquery, 'c'::tsquery) IS NOT NULL,
    'ts_rewrite of three queries (no SQL text) still runs');
SELECT throws_ok($q$DO $d$ BEGIN EXECUTE format('CREATE TYPE pg_temp.bulk_e AS ENUM (%s)',
                     (SELECT string_agg(quote_literal(family_name), ',') FROM ledger.person)); END $d$$q$,
    '42501', 'permission denied: staff run no DDL',
    'staff_ddl_copies_rows_into_catalog_refused: an enum''s labels built from rows would be a copy every role reads in pg_enum');
SELECT throws_ok($q$DO $d$ BEGIN EXECUTE format('CREATE TEMP TABLE %I AS SELECT 1 AS a',
                     (SELECT string_agg(family_name, ',') FROM ledger.person)); END $d$$q$,
    '42501', 'permission denied: staff run no DDL',
    'staff_ctas_names_carry_rows_refused: without the export duty, CREATE TABLE AS is DDL too (its names would hold rows in pg_class)');
SELECT throws_ok($$SELECT pg_logical_emit_message(false, 'x', (SELECT string_agg(family_name, ',') FROM ledger.person))$$,
    '42501', 'a staff or pooled session writes no message into the WAL',
    'wal_message_from_staff_refused: pg_logical_emit_message would keep rows (or a revealed number) in the WAL, in clear, past a rollback');
SELECT throws_ok($$NOTIFY carry, 'x'$$, '42501', 'permission denied: staff and pooled logins send no notification',
    'notify_statement_from_staff_refused: NOTIFY (which needs no EXECUTE on pg_notify) carries a payload to every listener');
RESET ROLE;

-- TRUNCATE ... CASCADE of the DBA's table that a protected table references.
SET ROLE regress_dba;
CREATE TABLE regress_dba.ref (id int PRIMARY KEY);
INSERT INTO regress_dba.ref VALUES (1);
CREATE TABLE regress_dba.fk_child (id int PRIMARY KEY, org_unit_id int NOT NULL, ref_id int REFERENCES regress_dba.ref);
INSERT INTO regress_dba.fk_child VALUES (1, 9001, 1), (2, 9002, 1);
RESET ROLE;
-- a superuser's protection
SELECT ledger.protect_table('regress_dba.fk_child', 'org_unit_id') \g /dev/null
SET ROLE regress_dba;
SELECT throws_ok($$TRUNCATE regress_dba.ref CASCADE$$, '42501', NULL,
    'truncate_cascade_empties_protected_table_refused');
RESET ROLE;
SELECT is((SELECT count(*) FROM regress_dba.fk_child), 2::bigint, 'the protected table keeps its rows');

-- A protected table's foreign key to the DBA's own table: deleting a row there checks the key
-- against every row of the protected table, past its policies, and the error's DETAIL names
-- the hidden row's values.  Extended statistics made before protection: ANALYZE (and
-- autovacuum) evaluate them over every row.
SET ROLE regress_dba;
CREATE TABLE regress_dba.fk_cand (id int, birth date, PRIMARY KEY (id, birth));
CREATE TABLE regress_dba.fk_leak (id int PRIMARY KEY, org_unit_id int NOT NULL, birth date,
    FOREIGN KEY (id, birth) REFERENCES regress_dba.fk_cand (id, birth));
SELECT throws_ok($$SELECT ledger.protect_table('regress_dba.fk_leak', 'org_unit_id')$$, '55000', NULL,
    'foreign_key_error_detail_reads_hidden_rows_refused: a foreign key to a table its owner changes freely is not protected over');
CREATE TABLE regress_dba.stx (id int PRIMARY KEY, org_unit_id int NOT NULL, body text);
CREATE STATISTICS regress_dba.stx_s ON (length(body)) FROM regress_dba.stx;
SELECT throws_ok($$SELECT ledger.protect_table('regress_dba.stx', 'org_unit_id')$$, '55000', NULL,
    'extended_statistics_before_protection_refused: statistics made before protection are not protected over');
CREATE TABLE regress_dba.fk_later (id int PRIMARY KEY, org_unit_id int NOT NULL, birth date);
SELECT ledger.protect_table('regress_dba.fk_later', 'org_unit_id') \g /dev/null
SELECT throws_ok($$ALTER TABLE regress_dba.fk_later ADD FOREIGN KEY (id, birth) REFERENCES regress_dba.fk_cand (id, birth)$$, '42501', NULL,
    'foreign_key_added_after_protection_refused: nor one added later');
RESET ROLE;

-- An audited table reached around its triggers: as a partition or child of an unaudited
-- table, by a type change that rewrites its values, made unlogged, or filled by ATTACH.
SET ROLE regress_dba;
CREATE TABLE regress_dba.lp (k int, v int) PARTITION BY LIST (k);
CREATE TABLE regress_dba.lp1 PARTITION OF regress_dba.lp FOR VALUES IN (1);
SELECT throws_ok($$SELECT ledger.audit_table('regress_dba.lp1')$$, '55000', NULL,
    'audit_partition_of_unaudited_parent_refused: writes through the parent would leave no record');
CREATE TABLE regress_dba.ip (v int);
CREATE TABLE regress_dba.ic () INHERITS (regress_dba.ip);
SELECT throws_ok($$SELECT ledger.audit_table('regress_dba.ic')$$, '55000', NULL,
    'audit_inheritance_child_refused');
CREATE TABLE regress_dba.aud (id int PRIMARY KEY, amount int);
SELECT ledger.audit_table('regress_dba.aud') \g /dev/null
SELECT throws_ok($$ALTER TABLE regress_dba.aud ALTER COLUMN amount TYPE bigint USING amount + 1$$, '42501', NULL,
    'audited_alter_type_using_refused: the rewrite would change values with no update record');
SELECT throws_ok($$ALTER TABLE regress_dba.aud SET UNLOGGED$$, '42501', NULL,
    'audited_set_unlogged_refused: a crash would empty it with no record');
CREATE TABLE regress_dba.alp (k int, v int) PARTITION BY LIST (k);
SELECT ledger.audit_table('regress_dba.alp') \g /dev/null
CREATE TABLE regress_dba.alp_full (k int, v int);
INSERT INTO regress_dba.alp_full VALUES (2, 1);
SELECT throws_ok($$ALTER TABLE regress_dba.alp ATTACH PARTITION regress_dba.alp_full FOR VALUES IN (2)$$, '42501', NULL,
    'attach_populated_partition_to_audited_refused: its rows would enter with no insert record');
CREATE TABLE regress_dba.alp_empty (k int, v int);
SELECT lives_ok($$ALTER TABLE regress_dba.alp ATTACH PARTITION regress_dba.alp_empty FOR VALUES IN (3)$$,
    'an empty table attaches');

-- PostgreSQL's own refusals on a guarded table are attempts like any other: recorded.
SELECT throws_ok($$TRUNCATE ledger.audit_event$$, '42501', NULL, 'trail truncate by a non-owner refused');
SELECT throws_ok($$ALTER TABLE ledger.person DISABLE ROW LEVEL SECURITY$$, '42501', NULL, 'ledger table altered by a non-owner refused');
RESET ROLE;
SELECT ok(pg_temp.wait_for($$kind = 'denied' AND relation_name = 'ledger.audit_event' AND detail = 'refused: permission denied'
                              AND acting_role = 'regress_dba'$$) > 0
          AND pg_temp.wait_for($$kind = 'denied' AND relation_name = 'ledger.person' AND detail = 'refused: not the owner'
                              AND acting_role = 'regress_dba'$$) > 0,
    'postgres_refusal_on_guarded_table_recorded: the refusals PostgreSQL makes itself are in the trail');
SELECT throws_ok($$COPY ledger.audit_event FROM '/dev/null'$$, '42501', NULL,
    'trail_copy_from_refused: not even a superuser writes the trail with COPY');
SET ROLE regress_dba;
SELECT throws_ok($$REINDEX TABLE ledger.audit_block$$, '42501', NULL, 'trail reindex by a non-owner refused');
SELECT throws_ok($$CLUSTER ledger.audit_block USING audit_block_pkey$$, '42501', NULL, 'trail cluster by a non-owner refused');
SELECT throws_ok($$COMMENT ON TABLE ledger.audit_block IS 'x'$$, '42501', NULL, 'trail comment by a non-owner refused');
SELECT throws_ok($$GRANT SELECT ON ledger.audit_block TO regress_dba$$, NULL, NULL, 'trail grant by a non-owner refused (or a warning: nothing granted)');
SELECT throws_ok($$COPY ledger.audit_event TO '/tmp/mnl_trail_copy'$$, '42501', NULL, 'trail copy to by a non-reader refused');
RESET ROLE;
SELECT ok(pg_temp.wait_for_count($$kind = 'denied' AND relation_name = 'ledger.audit_block' AND detail = 'refused: not the owner'
                              AND acting_role = 'regress_dba'$$, 3) >= 3
          AND pg_temp.wait_for($$kind = 'denied' AND relation_name = 'ledger.audit_event' AND detail = 'refused: permission denied'
                              AND acting_role = 'regress_dba' AND statement_at > now() - interval '1 minute'$$) > 0,
    'postgres_refusal_outside_guard_recorded: REINDEX, CLUSTER, COMMENT of the trail and COPY of it out, refused by PostgreSQL, are recorded');
SET ROLE regress_dba;
SELECT lives_ok($$ANALYZE ledger.audit_block$$, 'analyze by a non-owner: skipped with a warning');
SELECT throws_ok($$SELECT ledger._audit_detach_before(now())$$, '42501', NULL, 'an internal function without EXECUTE refused');
SELECT throws_ok($$SELECT 1 WHERE ledger.unaudit_table('regress_dba.aud') IS NULL$$, '42501', NULL,
    'an internal function refused inside an expression');
RESET ROLE;
SELECT ok(pg_temp.wait_for_count($$kind = 'denied' AND relation_name = 'ledger.audit_block' AND detail = 'refused: not the owner'
                              AND acting_role = 'regress_dba'$$, 5) >= 5,
    'analyze_skip_recorded: ANALYZE of a guarded table that PostgreSQL skips is recorded (after REINDEX, CLUSTER, COMMENT and GRANT, a fifth refusal)');
SELECT ok(pg_temp.wait_for($$kind = 'denied' AND detail = 'refused: permission denied (execute ledger._audit_detach_before)'
                              AND acting_role = 'regress_dba'$$) > 0
          AND pg_temp.wait_for($$kind = 'denied' AND detail = 'refused: permission denied (execute ledger.unaudit_table)'
                              AND acting_role = 'regress_dba'$$) > 0,
    'refused_execute_recorded: a call of an internal function PostgreSQL refuses is recorded');

-- More roads around an audited table: created unlogged, its columns or an enum's labels
-- renamed (a swap changes what every row says).
SET ROLE regress_dba;
CREATE UNLOGGED TABLE regress_dba.unlogged_audit (id int PRIMARY KEY, org_unit_id int NOT NULL);
SELECT throws_ok($$SELECT ledger.audit_table('regress_dba.unlogged_audit')$$, '55000', NULL,
    'audit_unlogged_refused: a crash would empty it with no record');
SELECT throws_ok($$SELECT ledger.protect_table('regress_dba.unlogged_audit', 'org_unit_id')$$, '55000', NULL,
    'protect_unlogged_refused');
SELECT throws_ok($$ALTER TABLE regress_dba.aud RENAME COLUMN amount TO owed$$, '42501', NULL,
    'audited_column_rename_refused: swapping two columns'' names would change their values unrecorded');
CREATE TYPE regress_dba.st AS ENUM ('approved', 'rejected');
CREATE TABLE regress_dba.ae (id int PRIMARY KEY, status regress_dba.st);
SELECT ledger.audit_table('regress_dba.ae') \g /dev/null
SELECT throws_ok($$ALTER TYPE regress_dba.st RENAME VALUE 'approved' TO 'x'$$, '42501', NULL,
    'audited_enum_value_rename_refused');
RESET ROLE;

-- What a superuser may still do to an audited table's definition is on the record, written in
-- the changing transaction (a rewrite of every value, made unlogged, a label swapped).
BEGIN;
ALTER TABLE regress_dba.aud ALTER COLUMN amount TYPE bigint USING amount + 1000;
ALTER TABLE regress_dba.aud SET UNLOGGED;
ALTER TYPE regress_dba.st RENAME VALUE 'approved' TO 'x';
ALTER TABLE regress_dba.aud RENAME COLUMN amount TO owed;
SELECT is((SELECT string_agg(detail, ' | ' ORDER BY event_id) FROM ledger.audit_event
           WHERE kind = 'alter' AND xact_id = txid_current()),
    'alter table: column type changed (rows rewritten) | alter table: set unlogged (a crash empties it) | a value of an enum type of its columns renamed | column renamed',
    'superuser_change_of_audited_table_recorded: a superuser''s rewrite, SET UNLOGGED, label and column renames are in the trail with the change');
ROLLBACK;
SELECT is((SELECT count(*) FROM ledger.audit_event WHERE kind = 'alter' AND detail LIKE '%rows rewritten%'), 0::bigint,
    'a change rolled back leaves no alter record (like a row record)');

-- So is a superuser's change to who may read or change it, or how: policies, triggers, rules,
-- indexes, privileges (ALTER POLICY ... USING (true) opens a protected table).
BEGIN;
CREATE FUNCTION pg_temp.noop() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE POLICY regress_open ON regress_dba.case_note FOR SELECT USING (true);
ALTER POLICY mnl_rls_select ON regress_dba.case_note USING (true);
CREATE INDEX regress_idx ON regress_dba.case_note (lower(note));
CREATE TRIGGER regress_t BEFORE INSERT ON regress_dba.case_note FOR EACH ROW EXECUTE FUNCTION pg_temp.noop();
CREATE RULE regress_r AS ON INSERT TO regress_dba.case_note DO ALSO NOTIFY regress_r;
GRANT SELECT ON regress_dba.case_note TO PUBLIC;
DROP POLICY regress_open ON regress_dba.case_note;
DROP INDEX regress_dba.regress_idx;
SELECT is((SELECT string_agg(detail, ' | ' ORDER BY event_id) FROM ledger.audit_event
           WHERE kind = 'alter' AND relation_name = 'regress_dba.case_note' AND xact_id = txid_current()),
    'policy created | policy altered | index created | trigger created | rule created | privileges granted | policy dropped | index dropped',
    'superuser_policy_trigger_rule_index_grant_change_recorded: a superuser''s change to who may read a protected table, or how, is in the trail');
ROLLBACK;

-- Attacker round 4: more roads around an audited table.
SET ROLE regress_dba;
CREATE TABLE regress_dba.alp_hidden (k int, v int);
INSERT INTO regress_dba.alp_hidden VALUES (5, 1);
ALTER TABLE regress_dba.alp_hidden ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY hide ON regress_dba.alp_hidden USING (false);
SELECT throws_ok($$ALTER TABLE regress_dba.alp ATTACH PARTITION regress_dba.alp_hidden FOR VALUES IN (5)$$, '42501', NULL,
    'attach_rows_hidden_by_own_policy_refused: the row check reads the heap, past the owner''s own row-level security');
SELECT throws_ok($$CREATE UNLOGGED TABLE regress_dba.alp_unlogged PARTITION OF regress_dba.alp FOR VALUES IN (6)$$, '42501', NULL,
    'unlogged_partition_of_audited_refused: a crash would empty it with no record');
CREATE UNLOGGED TABLE regress_dba.alp_u2 (k int, v int);
SELECT throws_ok($$ALTER TABLE regress_dba.alp ATTACH PARTITION regress_dba.alp_u2 FOR VALUES IN (7)$$, '42501', NULL,
    'unlogged_table_attach_to_audited_refused');
CREATE TYPE regress_dba.comp4 AS (id int, v int);
CREATE TABLE regress_dba.typed4 OF regress_dba.comp4 (PRIMARY KEY (id));
SELECT ledger.audit_table('regress_dba.typed4') \g /dev/null
SELECT throws_ok($$ALTER TYPE regress_dba.comp4 ALTER ATTRIBUTE v TYPE bigint CASCADE$$, '42501', NULL,
    'audited_typed_table_alter_type_cascade_refused: ALTER TYPE ... CASCADE would rewrite its column unrecorded');
SELECT throws_ok($$ALTER TYPE regress_dba.comp4 RENAME ATTRIBUTE v TO w CASCADE$$, '42501', NULL,
    'audited_typed_table_rename_attribute_refused');
CREATE TYPE regress_dba.st3 AS ENUM ('unpaid', 'paid');
CREATE DOMAIN regress_dba.dst AS regress_dba.st3;
CREATE TABLE regress_dba.ea (id int PRIMARY KEY, s regress_dba.st3[], d regress_dba.dst);
SELECT ledger.audit_table('regress_dba.ea') \g /dev/null
SELECT throws_ok($$ALTER TYPE regress_dba.st3 RENAME VALUE 'unpaid' TO 'x'$$, '42501', NULL,
    'enum_label_behind_array_or_domain_rename_refused: a swap would change every row of a column of an array or domain over it');
RESET ROLE;
BEGIN;
TRUNCATE regress_dba.alp_empty;
SELECT is((SELECT detail FROM ledger.audit_event WHERE kind = 'truncate' AND xact_id = txid_current()),
    'partition of an audited table truncated',
    'partition_truncate_recorded: a partition''s truncation (its parent''s TRUNCATE trigger does not fire) is recorded with it');
ROLLBACK;
BEGIN;
SELECT ledger.unaudit_table('regress_dba.aud') \g /dev/null
SELECT ledger.audit_table('regress_dba.aud') \g /dev/null
SELECT is((SELECT string_agg(detail, ' | ' ORDER BY event_id) FROM ledger.audit_event WHERE kind = 'alter' AND xact_id = txid_current()),
    'ledger.unaudit_table: auditing removed | ledger.audit_table: audited (sensitive and kept columns as given)',
    'unaudit_and_reaudit_recorded: switching auditing off and on again is on the record');
ROLLBACK;
BEGIN;
SELECT throws_ok($$DECLARE held CURSOR WITH HOLD FOR SELECT * FROM regress_dba.aud$$, '42501', NULL,
    'cursor_with_hold_over_audited_refused_even_superuser: its rows would leave from a store no durable record covers');
ROLLBACK;
SELECT throws_ok($$GRANT SET ON PARAMETER ledger.reveal_quota_per_day TO regress_dba$$, '42501', NULL,
    'ledger_setting_grant_refused: a security setting is not handed to another role');
SELECT lives_ok($$ALTER ROLE regress_dba SET ledger.mask_digits = 4$$, 'a role''s setting');
SELECT ok(pg_temp.wait_for($$kind = 'setting' AND detail = 'ALTER ROLE ... SET ledger.mask_digits = 4'$$) > 0,
    'role_setting_recorded: ALTER ROLE ... SET of a ledger setting is on the record');
ALTER ROLE regress_dba RESET ledger.mask_digits;

-- The planner's statistics hold values of the rows: not read in a staff session.
SET ROLE regress_clerk_a;
SELECT throws_ok($$SELECT most_common_vals FROM pg_stats WHERE schemaname = 'ledger'$$, '42501', NULL,
    'pg_stats_refused_in_staff_session: most common values and histograms would show audited rows unrecorded');
SELECT throws_ok($$SELECT * FROM pg_stats_ext$$, '42501', NULL, 'pg_stats_ext refused in a staff session');
RESET ROLE;

-- Attacker round 7: a DBA's row policy on a plain table staff only read runs with the staff
-- member's sight (a subquery of the ledger sent out by pg_notify, a reveal).
SET ROLE regress_dba;
CREATE TABLE regress_dba.office_codes (code int PRIMARY KEY, label text);
INSERT INTO regress_dba.office_codes VALUES (1, '本庁');
GRANT SELECT ON regress_dba.office_codes TO ledger_staff;
GRANT USAGE ON SCHEMA regress_dba TO ledger_staff;
ALTER TABLE regress_dba.office_codes ENABLE ROW LEVEL SECURITY;
CREATE POLICY harvest ON regress_dba.office_codes FOR SELECT USING (
    (SELECT count(*) FROM (SELECT pg_catalog.pg_notify('harvest', p.given_name) FROM ledger.person p) s) >= 0);
RESET ROLE;
SET ROLE regress_clerk_a;
SELECT throws_ok($$SELECT * FROM regress_dba.office_codes$$, '42501',
    'a table with a policy of a role that is not a superuser is not read in a staff session',
    'dba_policy_on_read_table_refused: a DBA''s row policy does not run with a staff member''s sight');
RESET ROLE;
SELECT is((SELECT label FROM regress_dba.office_codes), '本庁', 'the DBA reads the table (the policy is not the staff''s)');

SELECT * FROM finish();
