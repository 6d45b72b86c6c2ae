-- Every read says whose data: a read of a protected table records the keys of the rows it
-- returned, compactly (one record for many rows), by every road a statement can take to the
-- rows (views, joins, cursors, COPY, functions, index-only scans, parallel plans), even when
-- the statement fails or the transaction rolls back; the access history and the auditor's
-- incident listing answer from it.
\ir lib.psql

SELECT plan(45);

-- Now: what a test records comes after it (event ids are taken in blocks per backend, so
-- the clock orders them, not the id).
CREATE FUNCTION pg_temp.mark() RETURNS timestamptz LANGUAGE sql AS $$ SELECT clock_timestamp() $$;
-- The row keys (as text) that the select records of rel by role after mark name, waiting
-- for the writer first.
CREATE FUNCTION pg_temp.keys_read(after timestamptz, role name, rel text) RETURNS text[] LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_temp.wait_for(format('logged_at > %L AND kind = %L AND acting_role = %L AND relation_name = %L',
                                    after, 'select', role, rel));
    RETURN (SELECT COALESCE(array_agg(DISTINCT k::text ORDER BY k::text), '{}')
              FROM ledger.audit_event e, ledger.audit_read_keys(e.row_key) k
             WHERE e.logged_at > after AND e.kind = 'select' AND e.acting_role = role AND e.relation_name = rel);
END $$;
CREATE FUNCTION pg_temp.records(after timestamptz, role name, rel text) RETURNS bigint LANGUAGE sql AS
    $$ SELECT count(*) FROM ledger.audit_event WHERE logged_at > after AND kind = 'select'
                                               AND acting_role = role AND relation_name = rel $$;
-- The keys of the persons of an org unit, as the records write them.
CREATE FUNCTION pg_temp.persons_of(org int, n int DEFAULT NULL) RETURNS text[] LANGUAGE sql AS $$
    SELECT COALESCE(array_agg(k ORDER BY k), '{}') FROM (
        SELECT ARRAY[municipality_code::text, person_id::text]::text AS k FROM ledger.person
         WHERE org_unit_id = org ORDER BY person_id LIMIT n) x $$;

\o /dev/null
INSERT INTO ledger.org_unit VALUES ('011002', 9881, '札幌市 読取試験'), ('011002', 9882, '札幌市 読取試験 2');
SELECT ledger.register_staff('regress_r_clerk', '受付 読取', 9881, ARRAY['clerk']);
SELECT ledger.register_staff('regress_r_appr', '決裁 読取', 9881, ARRAY['approver']);
SELECT ledger.register_staff('regress_r_officer', '本人開示 読取', 9881, ARRAY['disclosure_officer']);
SELECT ledger.register_staff('regress_r_auditor', '監査 読取', 9881, ARRAY['auditor']);
SELECT ledger.enrol_person('011002', 9881 + i % 2, (b || ledger.mynumber_check_digit(b))::ledger.mynumber,
                           '読取', i::text, 'ヨミトリ', 'イ', '2016-04-02', '札幌市')
FROM (SELECT i, lpad((51000000000 + i)::text, 11, '0') AS b FROM generate_series(1, 40) i) x;
\o

-- 1. The keys of the rows a read returned, and only those.
SELECT pg_temp.mark() AS m \gset
SET ROLE regress_r_clerk;
SELECT count(*) FROM ledger.person WHERE municipality_code = '011002' \g /dev/null
RESET ROLE;
SELECT is(pg_temp.keys_read(:'m', 'regress_r_clerk', 'ledger.person'), pg_temp.persons_of(9881),
    'read_records_row_keys: a count over the clerk''s persons names exactly those persons, none of the other org unit');
SELECT is(pg_temp.records(:'m', 'regress_r_clerk', 'ledger.person'), 1::bigint,
    'read_of_many_rows_is_one_record: twenty rows, one record');

-- 2. Views, joins, LIMIT.
SELECT pg_temp.mark() AS m \gset
SET ROLE regress_r_clerk;
SELECT family_name FROM ledger.person_masked WHERE municipality_code = '011002' ORDER BY person_id LIMIT 3 \g /dev/null
RESET ROLE;
SELECT ok(pg_temp.keys_read(:'m', 'regress_r_clerk', 'ledger.person') @> pg_temp.persons_of(9881, 3),
    'view_read_names_rows: a read through ledger.person_masked names the persons behind it');
\o /dev/null
INSERT INTO ledger.recipient (municipality_code, person_id, org_unit_id)
SELECT municipality_code, person_id, org_unit_id FROM ledger.person WHERE municipality_code = '011002' AND family_name = '読取';
\o
SELECT pg_temp.mark() AS m \gset
SET ROLE regress_r_appr;
SELECT p.family_name FROM ledger.recipient r JOIN ledger.person p USING (municipality_code, person_id)
 WHERE r.municipality_code = '011002' AND r.org_unit_id IN (9881, 9882) \g /dev/null
RESET ROLE;
SELECT is(cardinality(pg_temp.keys_read(:'m', 'regress_r_appr', 'ledger.recipient')), 40,
    'join_read_names_rows_of_both_tables: the recipients read');
SELECT ok(pg_temp.keys_read(:'m', 'regress_r_appr', 'ledger.person') @> pg_temp.persons_of(9882),
    'join_read_names_rows_of_both_tables: and the persons joined to them');

-- 3. Rolled back, failed part-way, in a savepoint: what was returned is named.
SELECT pg_temp.mark() AS m \gset
BEGIN;
SET LOCAL ROLE regress_r_clerk;
SELECT family_name FROM ledger.person WHERE municipality_code = '011002' \g /dev/null
ROLLBACK;
SELECT is(pg_temp.keys_read(:'m', 'regress_r_clerk', 'ledger.person'), pg_temp.persons_of(9881),
    'rolled_back_read_still_names_rows');
SELECT pg_temp.mark() AS m \gset
SELECT person_id AS fifth FROM ledger.person WHERE org_unit_id = 9881 ORDER BY person_id OFFSET 4 LIMIT 1 \gset
SET ROLE regress_r_clerk;
SELECT throws_ok(format($$SELECT 1 / (person_id - %s) FROM ledger.person WHERE org_unit_id = 9881 ORDER BY person_id$$, :fifth),
    '22012', NULL, 'a read that fails on its fifth row');
RESET ROLE;
SELECT ok(pg_temp.keys_read(:'m', 'regress_r_clerk', 'ledger.person') @> pg_temp.persons_of(9881, 4)
          AND (SELECT bool_or(detail LIKE 'statement failed%') FROM ledger.audit_event
                WHERE logged_at > :'m' AND kind = 'select' AND acting_role = 'regress_r_clerk'),
    'failed_statement_names_rows_read: the rows read before the error are named');
SELECT pg_temp.mark() AS m \gset
BEGIN;
SET LOCAL ROLE regress_r_clerk;
SAVEPOINT s;
DECLARE c CURSOR FOR SELECT family_name FROM ledger.person WHERE org_unit_id = 9881 ORDER BY person_id;
FETCH 2 FROM c \g /dev/null
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT ok(pg_temp.keys_read(:'m', 'regress_r_clerk', 'ledger.person') @> pg_temp.persons_of(9881, 2),
    'savepoint_rollback_keeps_read_keys: a cursor in a rolled-back savepoint still names what it fetched');

-- 4. Cursors: the rows fetched, not the whole table.
SELECT pg_temp.mark() AS m \gset
BEGIN;
SET LOCAL ROLE regress_r_appr;
DECLARE c CURSOR FOR SELECT family_name FROM ledger.person WHERE municipality_code = '011002' AND person_id > 0;
FETCH 3 FROM c \g /dev/null
CLOSE c;
COMMIT;
SELECT is(cardinality(pg_temp.keys_read(:'m', 'regress_r_appr', 'ledger.person')), 3,
    'cursor_fetch_names_rows_fetched: three rows fetched, three rows named');

-- 5. Functions: a read inside the caller's own function, and an inlined SQL function.
CREATE FUNCTION public.regress_r_names(org int) RETURNS SETOF text LANGUAGE sql STABLE PARALLEL SAFE AS
    'SELECT family_name || given_name FROM ledger.person WHERE org_unit_id = org';
CREATE FUNCTION public.regress_r_count(org int) RETURNS bigint LANGUAGE plpgsql AS
    'BEGIN RETURN (SELECT count(*) FROM ledger.person WHERE org_unit_id = org); END';
SELECT pg_temp.mark() AS m \gset
SET ROLE regress_r_clerk;
SELECT public.regress_r_count(9881) \g /dev/null
RESET ROLE;
SELECT is(pg_temp.keys_read(:'m', 'regress_r_clerk', 'ledger.person'), pg_temp.persons_of(9881),
    'read_in_function_names_rows: a read inside a PL/pgSQL function');

-- 6. Parallel plans: a worker's rows are never out of sight.
SELECT pg_temp.mark() AS m \gset
BEGIN;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 4;
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000 THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'on', true) \g /dev/null
-- (plans are shown to a superuser only; the hook that shapes them is the same for every role)
SELECT doesnt_match(pg_temp.plan_of($$SELECT count(*) FROM public.regress_r_names(9881)$$), 'Gather',
    'parallel_plan_refused_for_protected_table: no Gather over a protected table, even inlined from a function');
SELECT doesnt_match(pg_temp.plan_of($$SELECT count(*) FROM ledger.person p JOIN ledger.recipient r USING (municipality_code, person_id)$$), 'Gather',
    'parallel_plan_refused_for_protected_table: nor over a join of two');
SET LOCAL ROLE regress_r_appr;
SELECT count(*) FROM public.regress_r_names(9881) \g /dev/null
COMMIT;
SELECT is(pg_temp.keys_read(:'m', 'regress_r_appr', 'ledger.person'), pg_temp.persons_of(9881),
    'parallel_workers_do_not_hide_reads: every row named');

-- 7. Index-only scans: only with the key at hand.
CREATE SCHEMA regress_r;
CREATE TABLE regress_r.note (municipality_code text, note_id bigint, org_unit_id int NOT NULL, tag text,
                             PRIMARY KEY (municipality_code, note_id));
INSERT INTO regress_r.note SELECT '011002', i, 9881 + i % 2, 'tag' || i FROM generate_series(1, 2000) i;
CREATE INDEX note_org_tag ON regress_r.note (org_unit_id, tag);
CREATE INDEX note_org_key ON regress_r.note (org_unit_id, municipality_code, note_id);
SELECT ledger.protect_table('regress_r.note', 'org_unit_id') \g /dev/null
GRANT USAGE ON SCHEMA regress_r TO ledger_staff;
GRANT SELECT ON regress_r.note TO ledger_staff;
VACUUM ANALYZE regress_r.note;
-- (an index-only scan needs the pages all-visible: vacuum again if the writer held them back)
SELECT 'SELECT pg_sleep(0.5)', 'VACUUM regress_r.note' FROM pg_class WHERE oid = 'regress_r.note'::regclass AND relallvisible < relpages \gexec
SELECT 'SELECT pg_sleep(1)', 'VACUUM regress_r.note' FROM pg_class WHERE oid = 'regress_r.note'::regclass AND relallvisible < relpages \gexec
SELECT pg_temp.mark() AS m \gset
BEGIN;
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT doesnt_match(pg_temp.plan_of($$SELECT tag FROM regress_r.note WHERE org_unit_id = 9881 AND tag > 'tag1'$$),
    'Index Only Scan using note_org_tag',
    'index_only_scan_without_key_not_planned: an index without the key is read through the table');
SET LOCAL ROLE regress_r_clerk;
SELECT tag FROM regress_r.note WHERE org_unit_id = 9881 AND tag > 'tag1' \g /dev/null
COMMIT;
SELECT is(cardinality(pg_temp.keys_read(:'m', 'regress_r_clerk', 'regress_r.note')),
          (SELECT count(*)::int FROM regress_r.note WHERE org_unit_id = 9881 AND tag > 'tag1'),
    'index_only_scan_names_rows: every row read is named');
SELECT pg_temp.mark() AS m \gset
BEGIN;
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT matches(pg_temp.plan_of($$SELECT note_id FROM regress_r.note WHERE org_unit_id = 9881 AND municipality_code = '011002'$$),
    'Index Only Scan using note_org_key', 'an index that holds the key may still be read alone');
SET LOCAL ROLE regress_r_clerk;
SELECT note_id FROM regress_r.note WHERE org_unit_id = 9881 AND municipality_code = '011002' \g /dev/null
COMMIT;
SELECT is(pg_temp.keys_read(:'m', 'regress_r_clerk', 'regress_r.note'),
          (SELECT array_agg(ARRAY[municipality_code, note_id::text]::text ORDER BY ARRAY[municipality_code, note_id::text]::text)
             FROM regress_r.note WHERE org_unit_id = 9881),
    'index_only_scan_with_key_names_rows: its rows are named from the index');

-- 8. The compact form: odd key values round-trip, and a large read stays one record.
CREATE TABLE regress_r.odd (code text PRIMARY KEY, org_unit_id int NOT NULL);
INSERT INTO regress_r.odd VALUES ('a:b', 9881), ('c,d', 9881), ('1..5', 9881), ('back\slash', 9881), ('7', 9881), ('x.y', 9882);
SELECT ledger.protect_table('regress_r.odd', 'org_unit_id') \g /dev/null
GRANT SELECT ON regress_r.odd TO ledger_staff;
SELECT pg_temp.mark() AS m \gset
SET ROLE regress_r_clerk;
SELECT count(*) FROM regress_r.odd \g /dev/null
RESET ROLE;
SELECT is(pg_temp.keys_read(:'m', 'regress_r_clerk', 'regress_r.odd'),
          (SELECT array_agg(ARRAY[code]::text ORDER BY ARRAY[code]::text) FROM regress_r.odd WHERE org_unit_id = 9881),
    'read_keys_escape_separators: keys with : , .. and \ come back as they were');
SELECT ok(ledger.audit_keys_contain(ARRAY['1\.\.5'], ARRAY['1..5']) AND NOT ledger.audit_keys_contain(ARRAY['1\.\.5'], ARRAY['3'])
          AND ledger.audit_keys_contain(ARRAY['011002:1..5,9'], ARRAY['011002', '3'])
          AND NOT ledger.audit_keys_contain(ARRAY['011002:1..5,9'], ARRAY['011002', '7'])
          AND NOT ledger.audit_keys_contain(ARRAY['011002:1..5,9'], ARRAY['131016', '3']),
    'audit_keys_contain: ranges, escaped values and leading columns');
CREATE TABLE regress_r.big (id bigint PRIMARY KEY, org_unit_id int NOT NULL);
INSERT INTO regress_r.big SELECT i, 9881 + (i % 3 = 0)::int FROM generate_series(1, 100000) i;
SELECT ledger.protect_table('regress_r.big', 'org_unit_id') \g /dev/null
GRANT SELECT ON regress_r.big TO ledger_staff;
SELECT pg_temp.mark() AS m \gset
SET ROLE regress_r_clerk;
SELECT count(*) FROM regress_r.big \g /dev/null
RESET ROLE;
SELECT pg_temp.wait_for(format('logged_at > %L AND kind = %L AND relation_name = %L', :'m', 'select', 'regress_r.big')) \g /dev/null
SELECT is((SELECT count(*) FROM ledger.audit_event e, ledger.audit_read_keys(e.row_key)
            WHERE e.logged_at > :'m' AND e.kind = 'select' AND e.relation_name = 'regress_r.big'
              AND e.acting_role = 'regress_r_clerk'), 66667::bigint,
    'read_of_100k_rows_names_each: 66,667 scattered rows named');
SELECT cmp_ok(pg_temp.records(:'m', 'regress_r_clerk', 'regress_r.big'), '<=', 2::bigint,
    'read_of_100k_rows_is_not_100k_records');

-- 9. Whose data: the access history and the auditor's listing answer from the reads.
SELECT min(person_id) AS p FROM ledger.person WHERE org_unit_id = 9881 AND family_name = '読取' \gset
SET ROLE regress_r_officer;
SELECT ledger.access_history('011002', :p) AS h \gset
RESET ROLE;
SELECT ok(:'h'::jsonb @> '[{"what": "select", "staff_role": "regress_r_clerk", "relation": "ledger.person"}]'
          AND :'h'::jsonb @> '[{"what": "select", "staff_role": "regress_r_appr", "relation": "ledger.recipient"}]',
    'access_history_names_reads: who read the person''s rows, and the rows about them');
SELECT min(person_id) AS p2 FROM ledger.person WHERE org_unit_id = 9882 \gset
SET ROLE regress_r_officer;
SELECT ledger.access_history('011002', :p2) AS h2 \gset
RESET ROLE;
SELECT ok(NOT :'h2'::jsonb @> '[{"what": "select", "staff_role": "regress_r_clerk"}]',
    'access_history_reads_of_others_not_listed: the clerk never read the other org unit''s person');
SET ROLE regress_r_auditor;
SELECT ledger.audit_persons_seen('regress_r_clerk') AS seen \gset
RESET ROLE;
SELECT is((SELECT array_agg(ARRAY[x->>'municipality_code', x->>'person_id']::text ORDER BY ARRAY[x->>'municipality_code', x->>'person_id']::text)
             FROM jsonb_array_elements(:'seen'::jsonb) x WHERE (x->>'reads')::int > 0),
          pg_temp.persons_of(9881),
    'audit_persons_seen_counts_reads: the incident listing names every person the clerk read');

-- 10. A cursor over protected rows belongs to the identity that opened it.
BEGIN;
SET LOCAL ROLE regress_r_clerk;
SELECT throws_ok($$DECLARE h CURSOR WITH HOLD FOR SELECT family_name FROM ledger.person_masked$$, '42501', NULL,
    'cursor_with_hold_over_protected_refused: a held cursor would be read after the transaction, by whoever the pool hands the session to');
DECLARE c2 CURSOR FOR SELECT family_name FROM ledger.person WHERE org_unit_id = 9881;
SET LOCAL ROLE regress_r_appr;
SELECT throws_ok($$FETCH 1 FROM c2$$, '42501', NULL,
    'cursor_fetched_by_another_role_refused: rows read under another identity''s sight, recorded under the first''s');
ROLLBACK;
-- ... also when the cursor reads through a function: rows a function read (a loop, RETURN
-- QUERY) are carried in the cursor to whoever fetches it.
CREATE FUNCTION pg_temp.loop_names() RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE r record; BEGIN
    FOR r IN SELECT family_name FROM ledger.person WHERE org_unit_id = 9881 LOOP RETURN NEXT r.family_name; END LOOP;
END $$;
CREATE FUNCTION pg_temp.query_names() RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN RETURN QUERY SELECT family_name FROM ledger.person WHERE org_unit_id = 9881; END $$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA pg_temp TO PUBLIC;
SET ROLE regress_r_clerk;
BEGIN;
DECLARE h2 CURSOR WITH HOLD FOR SELECT * FROM pg_temp.loop_names();
\set ON_ERROR_STOP 0
COMMIT;  -- the commit runs the cursor's query into the held store: refused there
\set ON_ERROR_STOP 1
SELECT is((SELECT count(*) FROM pg_cursors WHERE name = 'h2'), 0::bigint,
    'hold_cursor_through_function_loop_refused: a held cursor over a function whose loop reads a protected table does not survive its commit');
RESET ROLE;
BEGIN;
SET LOCAL ROLE regress_r_clerk;
DECLARE h3 CURSOR WITH HOLD FOR SELECT * FROM pg_temp.query_names();
SELECT throws_ok($$FETCH 1 FROM h3$$, '42501', NULL,
    'hold_cursor_through_return_query_refused: ... or whose RETURN QUERY does, when it first runs');
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_r_clerk;
DECLARE c4 CURSOR FOR SELECT * FROM pg_temp.loop_names();
FETCH 1 FROM c4 \g /dev/null
SET LOCAL ROLE regress_r_appr;
SELECT throws_ok($$FETCH 1 FROM c4$$, '42501', NULL,
    'cursor_through_function_fetched_by_another_role_refused: rows a function read into the cursor go to no other identity');
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_r_clerk;
DECLARE c5 CURSOR FOR SELECT * FROM pg_temp.query_names();
FETCH 1 FROM c5 \g /dev/null
RESET ROLE;
SET LOCAL ROLE regress_r_appr;
SELECT throws_ok($$FETCH 1 FROM c5$$, '42501', NULL,
    'cursor_through_return_query_fetched_by_another_role_refused: ... nor after RESET ROLE');
ROLLBACK;
BEGIN;
SET LOCAL ROLE regress_r_clerk;
SELECT is((SELECT count(*) FROM pg_temp.loop_names()), (SELECT count(*) FROM ledger.person WHERE org_unit_id = 9881),
    'a function that reads a protected table still answers its own role''s query');
ROLLBACK;

-- 11. What passed the policy is named, whatever the statement did with it afterwards.
SELECT person_id AS victim FROM ledger.person WHERE org_unit_id = 9881 ORDER BY person_id OFFSET 2 LIMIT 1 \gset
SELECT pg_temp.mark() AS m \gset
SET ROLE regress_r_clerk;
SELECT throws_ok(format($$SELECT family_name::int FROM ledger.person WHERE person_id = %s$$, :victim), '22P02', NULL,
    'a cast of a name to an integer fails, quoting the name');
RESET ROLE;
SELECT ok(pg_temp.keys_read(:'m', 'regress_r_clerk', 'ledger.person') @> ARRAY[ARRAY['011002', :'victim']::text],
    'error_in_projection_names_the_row: the row whose value the error message carried is named');
SELECT min(person_id) AS lo, max(person_id) AS hi FROM ledger.person WHERE org_unit_id IN (9881, 9882) \gset
SELECT pg_temp.mark() AS m \gset
SET ROLE regress_r_clerk;
SELECT format($f$DO $$ DECLARE i bigint; BEGIN
    FOR i IN SELECT generate_series(%s, %s) LOOP
        BEGIN PERFORM (family_name || given_name)::int FROM ledger.person WHERE person_id = i;
        EXCEPTION WHEN invalid_text_representation THEN NULL; END;
    END LOOP; END $$$f$, :lo, :hi) \gexec
RESET ROLE;
SELECT ok(pg_temp.keys_read(:'m', 'regress_r_clerk', 'ledger.person') @> pg_temp.persons_of(9881),
    'exception_block_loop_names_every_row: names read one error at a time are named one by one');
SELECT pg_temp.mark() AS m \gset
SET ROLE regress_r_clerk;
SELECT count(*) FROM ledger.person
 WHERE set_config('regress.loot', COALESCE(current_setting('regress.loot', true), '') || family_name, false) IS NULL \g /dev/null
RESET ROLE;
SELECT is(pg_temp.keys_read(:'m', 'regress_r_clerk', 'ledger.person'), pg_temp.persons_of(9881),
    'qual_side_effect_names_filtered_rows: rows a side effect in WHERE saw, then filtered out, are named');
SELECT pg_temp.mark() AS m \gset
SET ROLE regress_r_clerk;
UPDATE ledger.person SET address = address
 WHERE set_config('regress.loot2', family_name, false) IS NULL \g /dev/null
RESET ROLE;
SELECT is(pg_temp.keys_read(:'m', 'regress_r_clerk', 'ledger.person'), pg_temp.persons_of(9881),
    'update_where_side_effect_names_rows: an UPDATE whose WHERE read every row, changing none, names them');
SELECT recipient_id AS rec FROM ledger.recipient WHERE org_unit_id = 9881 ORDER BY recipient_id LIMIT 1 \gset
SELECT pg_temp.mark() AS m \gset
BEGIN;
SET LOCAL ROLE regress_r_clerk;
INSERT INTO ledger.recipient (municipality_code, recipient_id, person_id, org_unit_id)
VALUES ('011002', :rec, -1, 9881)
ON CONFLICT (municipality_code, recipient_id) DO UPDATE SET is_public_servant = ledger.recipient.is_public_servant
RETURNING person_id \g /dev/null
ROLLBACK;
SELECT ok(pg_temp.keys_read(:'m', 'regress_r_clerk', 'ledger.recipient') @> ARRAY[ARRAY['011002', :'rec']::text],
    'on_conflict_do_update_names_existing_row: the row an upsert found and returned, rolled back, is named');
SET ROLE regress_r_clerk;
SELECT throws_ok($$SELECT person_id, CASE WHEN person_id > 0 THEN set_config('role', 'regress_r_appr', false) END
                     FROM ledger.person WHERE municipality_code = '011002'$$, '42501', NULL,
    'set_config_role_mid_statement_refused: a statement that changes its role part-way is refused');
RESET ROLE;
SELECT person_id AS pp FROM ledger.person WHERE org_unit_id = 9881 AND mynumber IS NOT NULL ORDER BY person_id LIMIT 1 \gset
SET ROLE regress_r_clerk;
SELECT ledger.pseudonym_of_person('011002', :pp) \g /dev/null
RESET ROLE;
SELECT is(pg_temp.wait_for(format($$kind = 'pseudonym' AND acting_role = 'regress_r_clerk' AND row_key = ARRAY['011002', '%s']$$, :pp)), 1::bigint,
    'pseudonym_of_person_recorded: giving out a person''s 符号 is recorded, naming them');

-- 12. A table without a key to name its rows by cannot be protected.
CREATE TABLE regress_r.nokey (org_unit_id int NOT NULL, v text);
SELECT throws_ok($$SELECT ledger.protect_table('regress_r.nokey', 'org_unit_id')$$, '42P16', NULL,
    'protect_table_requires_primary_key');

-- A key set is read one key at a time: a forged range of 2^63 keys (an auditor's own argument)
-- once grew the backend until the kernel killed it and the cluster restarted.
SELECT results_eq($$SELECT k FROM ledger.audit_read_keys(ARRAY['131016:3..5,9', '011002:7']) k$$,
    $$VALUES (ARRAY['131016', '3']), (ARRAY['131016', '4']), (ARRAY['131016', '5']), (ARRAY['131016', '9']), (ARRAY['011002', '7'])$$,
    'audit_read_keys expands runs and single keys in order');
SELECT throws_ok($$SELECT count(*) FROM ledger.audit_read_keys(ARRAY['131016:1..9223372036854775807'])$$, '54000', NULL,
    'audit_read_keys_forged_huge_range: a range no statement could have read is refused, not expanded');
SELECT throws_ok($$SELECT count(*) FROM ledger.audit_read_keys(ARRAY['131016:-9223372036854775808..9223372036854775807'])$$, '54000', NULL,
    'audit_read_keys_forged_huge_range: the widest range too (no overflow)');
SELECT is((SELECT count(*) FROM (SELECT ledger.audit_read_keys(ARRAY['131016:1..50000000']) LIMIT 3) x), 3::bigint,
    'audit_read_keys_streams: a LIMIT over a long range stops it at once');

SELECT * FROM finish();
