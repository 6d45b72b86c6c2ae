-- The audit trail: row records in the writer's transaction, events that survive ROLLBACK,
-- append-only for every role, the guard on the audit triggers, and tamper detection.
-- Runs as the superuser in mnl_regress, where the audit writer is attached.  It commits
-- (sealing needs committed records) and cleans up its tables at the end; tampering happens
-- inside savepoints that are rolled back, with the verifier's answer kept in psql variables.
\ir lib.psql

SELECT plan(99);

-- The documented encoding (audit/record.c, docs/audit.md), written again in SQL: what an
-- auditor would run without trusting the extension.
CREATE FUNCTION pg_temp.f_null() RETURNS bytea LANGUAGE sql AS $$ SELECT '\xffffffff'::bytea $$;
CREATE FUNCTION pg_temp.f_int8(v bigint) RETURNS bytea LANGUAGE sql AS $$
    SELECT coalesce(int4send(8) || int8send(v), pg_temp.f_null()) $$;
CREATE FUNCTION pg_temp.f_int4(v integer) RETURNS bytea LANGUAGE sql AS $$
    SELECT coalesce(int4send(4) || int4send(v), pg_temp.f_null()) $$;
CREATE FUNCTION pg_temp.f_oid(v oid) RETURNS bytea LANGUAGE sql AS $$
    SELECT pg_temp.f_int4((v::bigint - CASE WHEN v::bigint > 2147483647 THEN 4294967296 ELSE 0 END)::integer) $$;
CREATE FUNCTION pg_temp.f_ts(v timestamptz) RETURNS bytea LANGUAGE sql AS $$
    SELECT pg_temp.f_int8((extract(epoch FROM v - timestamptz '2000-01-01 00:00:00+00') * 1000000)::bigint) $$;
CREATE FUNCTION pg_temp.f_text(v text) RETURNS bytea LANGUAGE sql AS $$
    SELECT coalesce(int4send(octet_length(convert_to(v, 'UTF8'))) || convert_to(v, 'UTF8'), pg_temp.f_null()) $$;
CREATE FUNCTION pg_temp.f_arr(v text[]) RETURNS bytea LANGUAGE sql AS $$
    SELECT CASE WHEN v IS NULL THEN pg_temp.f_null() ELSE
        int4send(4 + coalesce((SELECT sum(length(pg_temp.f_text(e)))::int FROM unnest(v) e), 0))
        || int4send(coalesce(cardinality(v), 0))
        || coalesce((SELECT string_agg(pg_temp.f_text(e), ''::bytea ORDER BY n) FROM unnest(v) WITH ORDINALITY u(e, n)), ''::bytea)
    END $$;
CREATE FUNCTION pg_temp.ref_record_hash(e ledger.audit_event) RETURNS bytea LANGUAGE sql AS $$
    SELECT sha256(convert_to('mnl-audit-record-v1', 'UTF8')
        || pg_temp.f_int8(e.event_id) || pg_temp.f_int8(e.xact_id) || pg_temp.f_ts(e.logged_at)
        || pg_temp.f_ts(e.statement_at) || pg_temp.f_text(e.kind) || pg_temp.f_text(e.database_name)
        || pg_temp.f_text(e.session_role) || pg_temp.f_text(e.acting_role) || pg_temp.f_int8(e.staff_id)
        || pg_temp.f_int4(e.backend_pid) || pg_temp.f_text(e.client_addr::text)
        || pg_temp.f_text(e.application_name) || pg_temp.f_oid(e.relation_id)
        || pg_temp.f_text(e.relation_name) || pg_temp.f_arr(e.row_key) || pg_temp.f_arr(e.column_names)
        || pg_temp.f_arr(e.sensitive_columns) || pg_temp.f_arr(e.old_values) || pg_temp.f_arr(e.new_values)
        || pg_temp.f_int8(e.row_count) || pg_temp.f_int8(e.query_id) || pg_temp.f_text(e.detail)) $$;
CREATE FUNCTION pg_temp.ref_block_hash(b ledger.audit_block) RETURNS bytea LANGUAGE sql AS $$
    SELECT sha256(convert_to('mnl-audit-block-v1', 'UTF8') || b.prev_hash || int8send(b.block_seq)
        || int8send(b.xact_lo) || int8send(b.xact_hi)
        || coalesce((SELECT string_agg(e.record_hash, ''::bytea ORDER BY e.xact_id, e.event_id)
                     FROM ledger.audit_event e WHERE e.xact_id >= b.xact_lo AND e.xact_id < b.xact_hi), ''::bytea)
        || int8send((SELECT count(*) FROM ledger.audit_event e WHERE e.xact_id >= b.xact_lo AND e.xact_id < b.xact_hi))) $$;


-- Turn the trail's guard off and on, as a superuser who edits the catalog directly would
-- (touching pg_class makes the change visible to the relation cache).
CREATE FUNCTION pg_temp.guard(enabled boolean) RETURNS void LANGUAGE sql AS $$
    UPDATE pg_trigger SET tgenabled = CASE WHEN enabled THEN 'A' ELSE 'D' END
    WHERE tgname IN ('audit_event_append_only', 'audit_block_append_only', 'audit_event_no_dml', 'audit_block_no_dml');
    UPDATE pg_class SET relhastriggers = true
    WHERE oid IN (SELECT tgrelid FROM pg_trigger WHERE tgname IN ('audit_event_append_only', 'audit_block_append_only')) $$;

SELECT ok(ledger.audit_writer_status() IS NOT NULL AND (ledger.audit_writer_status()).ready,
    'the audit writer is attached to this database');

-- Layout: the C record layout (audit.h) matches the table.
SELECT is((SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
           WHERE attrelid = 'ledger.audit_event'::regclass AND attnum > 0 AND NOT attisdropped),
    'event_id,xact_id,logged_at,statement_at,kind,database_name,session_role,acting_role,staff_id,backend_pid,client_addr,application_name,relation_id,relation_name,row_key,column_names,sensitive_columns,old_values,new_values,row_count,query_id,detail,record_hash',
    'audit_event columns are in the order the C writer uses');

-- Row audit ------------------------------------------------------------------------------
DROP TABLE IF EXISTS regress_audited, regress_truncated;
DROP ROLE IF EXISTS regress_audit_clerk;
CREATE TABLE regress_audited (id int PRIMARY KEY, name text, mn ledger.mynumber, note text, born date);
SELECT ledger.audit_table('regress_audited', '{note}');
SELECT ok((SELECT always_enabled FROM ledger.audited_tables WHERE table_name = 'regress_audited'::regclass),
    'audit_table attaches triggers that fire ALWAYS');

INSERT INTO regress_audited VALUES (1, 'Sato', '123456789018', 'private', '2020-04-01'),
                                   (2, 'Suzuki', '271828182840', NULL, NULL);
UPDATE regress_audited SET name = 'Satou', note = 'changed', mn = '271828182890' WHERE id = 1;
DELETE FROM regress_audited WHERE id = 2;
SELECT clock_timestamp() AS before_rollback \gset
BEGIN;
INSERT INTO regress_audited VALUES (3, 'Rolled back', NULL, NULL, NULL);
ROLLBACK;
BEGIN;
INSERT INTO regress_audited VALUES (4, 'Kept', NULL, NULL, NULL);
SAVEPOINT s;
INSERT INTO regress_audited VALUES (5, 'Undone', NULL, NULL, NULL);
ROLLBACK TO s;
COMMIT;

SELECT is((SELECT count(*) FROM ledger.audit_event WHERE relation_id = 'regress_audited'::regclass AND kind = 'insert'), 3::bigint,
    'committed_change_has_record: three committed inserts, three records');
SELECT is((SELECT count(*) FROM ledger.audit_event WHERE relation_id = 'regress_audited'::regclass AND row_key IN ('{3}', '{5}')), 0::bigint,
    'rolled_back_change_has_no_record: neither the rolled-back insert nor the one in a rolled-back savepoint');
SELECT is((SELECT new_values FROM ledger.audit_event WHERE relation_id = 'regress_audited'::regclass AND kind = 'insert' AND row_key = '{1}'),
    '{1,Sato,NULL,NULL,2020-04-01}'::text[], 'insert records the values of non-sensitive columns only');
SELECT is((SELECT sensitive_columns FROM ledger.audit_event WHERE relation_id = 'regress_audited'::regclass AND kind = 'insert' AND row_key = '{1}'),
    '{mn,note}'::text[], 'the mynumber column and the column named sensitive are withheld');
SELECT is((SELECT column_names || old_values || new_values FROM ledger.audit_event WHERE relation_id = 'regress_audited'::regclass AND kind = 'update'),
    ARRAY['name','mn','note','Sato',NULL,NULL,'Satou',NULL,NULL], 'update records the changed columns, sensitive ones without values');
SELECT is((SELECT old_values FROM ledger.audit_event WHERE relation_id = 'regress_audited'::regclass AND kind = 'delete'),
    '{2,Suzuki,NULL,NULL,NULL}'::text[], 'delete records the old row');
SELECT is((SELECT count(*) FROM ledger.audit_event e WHERE e::text ~ '(123456789018|271828182840|271828182890)'), 0::bigint,
    'no_plaintext_mynumber_in_trail: no number written to an audited table appears in any audit column');

SET session_replication_role = replica;
INSERT INTO regress_audited VALUES (6, 'Replica', NULL, NULL, NULL);
RESET session_replication_role;
SELECT is((SELECT count(*) FROM ledger.audit_event WHERE relation_id = 'regress_audited'::regclass AND row_key = '{6}'), 1::bigint,
    'replica_role_still_audited: session_replication_role = replica does not silence the trigger');

MERGE INTO regress_audited t USING (VALUES (7, 'Merged')) AS m(id, name) ON t.id = m.id
    WHEN NOT MATCHED THEN INSERT (id, name, born) VALUES (m.id, m.name, date '2021-01-01');
SELECT is((SELECT count(*) FROM ledger.audit_event WHERE relation_id = 'regress_audited'::regclass AND kind = 'insert' AND row_key = '{7}'), 1::bigint,
    'merge_audited: a row inserted by MERGE is recorded');
DELETE FROM regress_audited WHERE id = 7;

-- A partitioned table: the row trigger is cloned to every partition.
DROP TABLE IF EXISTS regress_parted;
CREATE TABLE regress_parted (municipality text, id int, v text, PRIMARY KEY (municipality, id)) PARTITION BY LIST (municipality);
CREATE TABLE regress_parted_131016 PARTITION OF regress_parted FOR VALUES IN ('131016');
SELECT ledger.audit_table('regress_parted');
CREATE TABLE regress_parted_271004 PARTITION OF regress_parted FOR VALUES IN ('271004');
SELECT throws_ok('ALTER TABLE regress_parted DETACH PARTITION regress_parted_271004', '42501',
    'a partition of an audited table cannot be detached', 'audited_partition_detach_refused');
INSERT INTO regress_parted VALUES ('131016', 1, 'via parent');
INSERT INTO regress_parted_271004 VALUES ('271004', 2, 'into a partition directly');
SELECT is((SELECT array_agg(row_key::text ORDER BY row_key::text) FROM ledger.audit_event
           WHERE relation_id IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'regress_parted'::regclass)
             AND kind = 'insert'),
    ARRAY['{131016,1}', '{271004,2}'], 'partitioned_table_audited: through the parent and into a partition attached later');
DROP TABLE regress_parted;

CREATE TABLE regress_truncated (id int);
SELECT ledger.audit_table('regress_truncated');
TRUNCATE regress_truncated;
SELECT is((SELECT count(*) FROM ledger.audit_event WHERE relation_id = 'regress_truncated'::regclass AND kind = 'truncate'), 1::bigint,
    'truncate_recorded: TRUNCATE of an audited table leaves a record');

-- Events that survive ROLLBACK -------------------------------------------------------------
CREATE ROLE regress_audit_clerk;
BEGIN;
SELECT id FROM regress_audited;
ROLLBACK;
SELECT ok(pg_temp.wait_for(format('kind = %L AND relation_id = %s AND logged_at > %L AND row_count = 3',
          'select', 'regress_audited'::regclass::oid, :'before_rollback')) > 0,
    'read_survives_rollback: a read in a rolled-back transaction is recorded with its row count');
BEGIN;
SET LOCAL ROLE regress_audit_clerk;
DO $$ BEGIN PERFORM count(*) FROM regress_audited; EXCEPTION WHEN insufficient_privilege THEN NULL; END $$;
ROLLBACK;
SELECT ok(pg_temp.wait_for(format('kind = %L AND relation_id = %s AND acting_role = %L',
          'denied', 'regress_audited'::regclass::oid, 'regress_audit_clerk')) > 0,
    'denied_survives_rollback: a refused read in a rolled-back transaction is recorded');
BEGIN;
DECLARE c CURSOR FOR SELECT * FROM regress_audited ORDER BY id;
FETCH 1 FROM c;
FETCH 1 FROM c;
CLOSE c;
COMMIT;
SELECT ok(pg_temp.wait_for(format('kind = %L AND relation_id = %s AND row_count = 2 AND logged_at > %L',
          'select', 'regress_audited'::regclass::oid, :'before_rollback')) > 0,
    'cursor_reads_counted: rows fetched through a cursor are counted');
COPY regress_audited TO STDOUT;
SELECT ok(pg_temp.wait_for(format('kind = %L AND relation_id = %s AND detail = %L',
          'select', 'regress_audited'::regclass::oid, 'copy to')) > 0,
    'copy_to_recorded: COPY ... TO of an audited table is a recorded read');
SELECT ok(pg_temp.wait_for('kind = ''login''') > 0, 'logins are recorded');
BEGIN;
SAVEPOINT failing;
\set ON_ERROR_STOP 0
SELECT id, 1 / (id - 4) FROM regress_audited ORDER BY id;
\set ON_ERROR_STOP 1
ROLLBACK TO failing;
COMMIT;
SELECT ok(pg_temp.wait_for(format('kind = %L AND relation_id = %s AND detail = %L',
          'select', 'regress_audited'::regclass::oid, 'statement failed')) > 0,
    'failed_read_in_savepoint_recorded: a read that failed inside a rolled-back savepoint is recorded');
SELECT clock_timestamp() AS before_cursor \gset
BEGIN;
DECLARE failing_cursor CURSOR FOR SELECT id, 1 / (id - 4) FROM regress_audited ORDER BY id;
FETCH 1 FROM failing_cursor;
SAVEPOINT s2;
\set ON_ERROR_STOP 0
FETCH ALL FROM failing_cursor;
\set ON_ERROR_STOP 1
ROLLBACK TO s2;
COMMIT;
SELECT ok(pg_temp.wait_for(format('kind = %L AND relation_id = %s AND detail = %L AND logged_at > %L AND row_count >= 1',
          'select', 'regress_audited'::regclass::oid, 'statement failed', :'before_cursor')) > 0,
    'failed_cursor_read_recorded: a cursor that failed in a savepoint is recorded with the rows it returned');
SELECT is((SELECT count(*) FROM ledger.audit_event WHERE kind = 'select' AND relation_id = 'regress_truncated'::regclass), 0::bigint,
    'a table read by nobody has no read record');

-- Append-only, for the owner too -------------------------------------------------------------
SELECT throws_ok('UPDATE ledger.audit_event SET detail = ''x''', '42501', 'the audit trail is append-only',
    'trail_update_refused: the owner cannot UPDATE the trail');
SELECT throws_ok('DELETE FROM ledger.audit_event', '42501', 'the audit trail is append-only',
    'trail_delete_refused: the owner cannot DELETE from the trail');
SELECT throws_ok('TRUNCATE ledger.audit_event', '42501', 'the audit trail cannot be truncated',
    'trail_truncate_refused: the owner cannot TRUNCATE the trail');
SELECT throws_ok(format('TRUNCATE ledger.%I', 'audit_event_' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMM')),
    '42501', 'the audit trail cannot be truncated', 'trail_truncate_refused: nor one month of it');
SELECT throws_ok('INSERT INTO ledger.audit_event SELECT * FROM ledger.audit_event LIMIT 1', '42501',
    'the audit trail is append-only', 'forged_insert_refused: INSERT through SQL is refused');
SELECT throws_ok(format('ALTER TABLE ledger.audit_event DETACH PARTITION ledger.%I', 'audit_event_' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMM')),
    '42501', 'the audit trail cannot be altered', 'partition_detach_refused: partitions cannot be detached by hand');
SELECT throws_ok('ALTER TABLE ledger.audit_event DISABLE TRIGGER audit_event_append_only', '42501',
    'the audit trail cannot be altered', 'the trail''s guard trigger cannot be disabled');
SELECT throws_ok('DELETE FROM ledger.audit_block', '42501', 'the audit trail is append-only',
    'block_delete_refused: sealed blocks cannot be deleted');
SELECT throws_ok('DELETE FROM ledger.audit_event WHERE false', '42501', 'the audit trail is append-only',
    'even a DELETE that matches no row is refused (and recorded)');
SELECT throws_ok('DROP TABLE ledger.audit_block', '42501', 'the audit trail cannot be dropped',
    'the block table cannot be dropped');
SELECT throws_ok('DROP TRIGGER audit_event_append_only ON ledger.audit_event', '42501',
    'the audit trail''s guard triggers cannot be dropped', 'trail_guard_trigger_drop_refused');
-- A superuser's quiet ways around the trail's guard: replace a guard trigger, add a trigger
-- that drops rows, or a rule that turns the block writes into nothing (sealing stops).
SELECT throws_ok('CREATE OR REPLACE TRIGGER audit_event_append_only BEFORE INSERT OR UPDATE OR DELETE ON ledger.audit_event '
                 'FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()', '42501',
    'the audit trail cannot get triggers', 'trail_guard_trigger_replaced_refused: CREATE OR REPLACE TRIGGER over the trail''s guard');
SELECT throws_ok('CREATE TRIGGER regress_drop_blocks BEFORE INSERT ON ledger.audit_block '
                 'FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()', '42501',
    'the audit trail cannot get triggers', 'trail_new_trigger_refused: nor a new trigger on the block table');
SELECT throws_ok('CREATE RULE regress_no_blocks AS ON INSERT TO ledger.audit_block DO INSTEAD NOTHING', '42501',
    'the audit trail cannot get rules', 'trail_rule_do_instead_nothing_refused: a rule would silently stop sealing');
SELECT throws_ok('CREATE OR REPLACE TRIGGER mnl_audit_statement AFTER INSERT ON regress_audited '
                 'FOR EACH STATEMENT EXECUTE FUNCTION suppress_redundant_updates_trigger()', '42501',
    'the audit triggers of an audited table cannot be replaced', 'audit_trigger_replaced_refused: not even by a superuser');
-- A non-superuser's attempt on the trail is refused by its privileges before any trigger:
-- the attempt is recorded all the same.
CREATE ROLE regress_trail_vandal IN ROLE ledger_staff;
SET ROLE regress_trail_vandal;
SELECT throws_ok($q$UPDATE ledger.audit_event SET detail = 'x'$q$, '42501', NULL,
    'trail_update_by_staff_refused');
SELECT throws_ok('DELETE FROM ledger.audit_block', '42501', NULL, 'trail_delete_by_staff_refused');
RESET ROLE;
SELECT ok(pg_temp.wait_for($$kind = 'denied' AND relation_name = 'ledger.audit_event' AND acting_role = 'regress_trail_vandal'$$) > 0
      AND pg_temp.wait_for($$kind = 'denied' AND relation_name = 'ledger.audit_block' AND acting_role = 'regress_trail_vandal'$$) > 0,
    'trail_dml_attempt_recorded: an UPDATE or DELETE of the trail refused by privileges leaves a denied record');
-- The writer's own partition maintenance still adds months past the install's three, with
-- their guard triggers (it runs inside the guard's bypass scope).
SELECT lives_ok('SELECT ledger._audit_add_partitions(6)',
    'trail_partitions_added_past_install_months: the writer''s maintenance adds new months');
SELECT is((SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
           WHERE c.relname = 'audit_event_' || to_char(now() AT TIME ZONE 'UTC' + interval '6 months', 'YYYYMM')
             AND c.relnamespace = 'ledger'::regnamespace AND t.tgname IN ('audit_event_no_dml', 'audit_event_no_truncate')
             AND t.tgenabled = 'A'), 2::bigint,
    'new_trail_partition_guarded: a new month has its guard triggers, always enabled');
-- More of a superuser's quiet roads around the trail's guard (every one refused and recorded).
SET search_path = ledger, pg_catalog, public;
SELECT throws_ok('CREATE OR REPLACE FUNCTION audit_trail_guard() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN RETURN NEW; END $f$',
    '42501', NULL, 'unqualified_replace_of_extension_function_refused: found through search_path, not by its written schema');
RESET search_path;
SELECT throws_ok('ALTER SCHEMA ledger RENAME TO regress_not_ledger', '42501', NULL,
    'ledger_schema_rename_refused: renamed, the trail would be recognised by nothing');
SELECT throws_ok('ALTER FUNCTION ledger._audit_partitions_sql(integer) SET SCHEMA public', '42501', NULL,
    'extension_function_set_schema_refused: a same-named function would run inside the guard''s bypass');
SELECT throws_ok('ALTER SCHEMA ledger OWNER TO ledger_staff', '42501', NULL,
    'ledger_schema_owner_change_refused: the owner''s work runs as the schema''s owner (pg_restore sets it before the extension exists)');
SELECT throws_ok('ALTER FUNCTION ledger.audit_seal_now() OWNER TO ledger_staff', '42501', NULL,
    'extension_function_owner_change_refused');
SELECT throws_ok($$CREATE TABLE public.regress_extra_part PARTITION OF ledger.audit_event FOR VALUES FROM ('2090-01-01') TO ('2090-02-01')$$,
    '42501', NULL, 'trail_partition_by_sql_refused: a partition without the guard triggers would take forged records');
SELECT throws_ok('CREATE INDEX regress_trail_idx ON ledger.audit_block ((block_seq + 1))', '42501', NULL,
    'trail_index_refused: an index expression would run on every stored record');
SELECT throws_ok('CREATE STATISTICS regress_trail_stats ON block_seq, xact_lo FROM ledger.audit_block', '42501', NULL,
    'trail_statistics_refused');
SELECT throws_ok('DROP FUNCTION ledger.audit_trail_guard() CASCADE', '42501',
    'the extension''s functions cannot be dropped on their own', 'guard_function_drop_refused');
SELECT throws_ok('CREATE OR REPLACE FUNCTION ledger.audit_trail_guard() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN RETURN NEW; END $f$',
    '42501', 'the extension''s functions cannot be replaced', 'guard_function_replace_refused');

-- The guard on an audited table's triggers ---------------------------------------------------
SELECT throws_ok('DROP TRIGGER mnl_audit_row ON regress_audited', '42501',
    'the audit triggers of an audited table cannot be dropped', 'audit_trigger_drop_refused');
SELECT throws_ok('ALTER TABLE regress_audited DISABLE TRIGGER mnl_audit_row', '42501',
    'the audit triggers of an audited table cannot be disabled', 'audit_trigger_disable_refused');
SELECT throws_ok('ALTER TABLE regress_audited DISABLE TRIGGER ALL', '42501',
    'the audit triggers of an audited table cannot be disabled', 'audit_trigger_disable_all_refused');
SELECT throws_ok('ALTER TABLE regress_audited ENABLE REPLICA TRIGGER mnl_audit_row', '42501',
    'the audit triggers of an audited table cannot be disabled', 'audit_trigger_replica_only_refused');
SELECT throws_ok('ALTER TRIGGER mnl_audit_row ON regress_audited RENAME TO x', '42501',
    'the audit triggers cannot be renamed', 'audit_trigger_rename_refused');
CREATE ROLE regress_impostor;
CREATE TABLE regress_impostor_t (id int);
ALTER TABLE regress_impostor_t OWNER TO regress_impostor;
SET ROLE regress_impostor;
SELECT throws_ok('CREATE TRIGGER mnl_audit_row AFTER INSERT ON regress_impostor_t FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()',
    '42501', 'audit trigger names are reserved', 'audit_trigger_impostor_refused: a non-superuser cannot squat an mnl_ trigger name');
RESET ROLE;
SELECT ok((SELECT count(*) FROM ledger.audit_event WHERE kind = 'denied' AND detail LIKE 'refused: the audit triggers%') >= 0
          AND pg_temp.wait_for('kind = ''denied'' AND detail LIKE ''refused: the audit triggers%''') > 0,
    'refused attempts on the audit are themselves recorded');
GRANT SELECT ON regress_audited TO regress_audit_clerk;
ALTER TABLE regress_audited OWNER TO regress_audit_clerk;
SET ROLE regress_audit_clerk;
SELECT throws_ok('SELECT ledger.unaudit_table(''regress_audited'')', '42501', NULL,
    'owner_cannot_unaudit: the table owner cannot remove its audit');
RESET ROLE;

-- Tamper detection ---------------------------------------------------------------------------
SELECT pg_sleep(0.3);
SELECT ledger.audit_seal_now() >= 0;
SELECT is((SELECT count(*) FROM ledger.verify_audit()), 0::bigint, 'verify_audit passes on an untouched trail');
SELECT is((SELECT count(*) FROM ledger.audit_event e WHERE e.record_hash <> pg_temp.ref_record_hash(e)), 0::bigint,
    'record_hash_is_documented_encoding: every record hash recomputes from the documented encoding in plain SQL');
SELECT is((SELECT count(*) FROM ledger.audit_block b WHERE b.block_hash <> pg_temp.ref_block_hash(b)), 0::bigint,
    'block_hash_is_documented_encoding: every block hash recomputes in plain SQL');
SELECT is((SELECT count(*) FROM ledger.audit_block b JOIN ledger.audit_block p ON p.block_seq = b.block_seq - 1
           WHERE b.prev_hash <> p.block_hash OR b.xact_lo <> p.xact_hi), 0::bigint, 'blocks chain and are contiguous');
SELECT block_seq AS digest_seq, encode(block_hash, 'hex') AS digest_hash FROM ledger.audit_digest() \gset

-- A sealed record of the regress table, and another in the same block, for tampering.
SELECT e.event_id AS victim, b.block_seq AS victim_block
FROM ledger.audit_event e JOIN ledger.audit_block b ON e.xact_id >= b.xact_lo AND e.xact_id < b.xact_hi
WHERE e.relation_id = 'regress_audited'::regclass AND e.kind = 'insert' AND e.row_key = '{1}' \gset
SELECT min(e.event_id) AS neighbour FROM ledger.audit_event e JOIN ledger.audit_block b ON b.block_seq = :victim_block
WHERE e.xact_id >= b.xact_lo AND e.xact_id < b.xact_hi AND e.event_id <> :victim \gset

-- Every column, changed alone, is detected (each change in its own rolled-back subtransaction).
CREATE FUNCTION pg_temp.undetected_column_changes(victim bigint) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    col record;
    missed text[] := '{}';
    found boolean;
BEGIN
    FOR col IN SELECT attname, format_type(atttypid, atttypmod) AS t FROM pg_attribute
               WHERE attrelid = 'ledger.audit_event'::regclass AND attnum > 0 AND NOT attisdropped LOOP
        BEGIN
            PERFORM pg_temp.guard(false);
            EXECUTE format('UPDATE ledger.audit_event SET %I = %s WHERE event_id = %s', col.attname,
                CASE WHEN col.t LIKE '%[]' THEN format('coalesce(%I, ''{}'') || ''{x}''::text[]', col.attname)
                     WHEN col.t = 'text' THEN format('coalesce(%I, '''') || ''x''', col.attname)
                     WHEN col.t = 'bytea' THEN 'sha256(''forged'')'
                     WHEN col.t = 'inet' THEN '''192.0.2.1'''
                     WHEN col.t = 'timestamp with time zone' THEN format('%I + interval ''1 microsecond''', col.attname)
                     WHEN col.t = 'oid' THEN '1259'
                     ELSE format('coalesce(%I, 0) + 1', col.attname) END, victim);
            SELECT EXISTS (SELECT 1 FROM ledger.verify_audit()) INTO found;
            IF NOT found THEN missed := missed || col.attname::text; END IF;
            RAISE EXCEPTION 'undo' USING ERRCODE = 'P0001';
        EXCEPTION WHEN raise_exception THEN
            NULL;
        END;
    END LOOP;
    RETURN missed;
END $$;
SELECT is(pg_temp.undetected_column_changes(:victim), '{}'::text[],
    'update_detected: an UPDATE of any single column of a sealed record is detected');

BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT pg_temp.guard(false);
UPDATE ledger.audit_event SET detail = 'forged' WHERE event_id = :victim;
UPDATE ledger.audit_event e SET record_hash = pg_temp.ref_record_hash(e) WHERE event_id = :victim;
SELECT problem AS rehashed FROM ledger.verify_audit() \gset
ROLLBACK;
SELECT is(:'rehashed'::text, 'a sealed block''s records were changed or reordered',
    'rehashed_update_detected: a change whose record hash was recomputed is caught by the block hash');

BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT pg_temp.guard(false);
DELETE FROM ledger.audit_event WHERE event_id = :victim;
SELECT problem AS deleted FROM ledger.verify_audit() \gset
ROLLBACK;
SELECT is(:'deleted'::text, 'records of a sealed block are missing (removed)', 'delete_in_middle_detected');

BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT block_seq AS newest_seq FROM ledger.audit_digest() \gset
SELECT pg_temp.guard(false);
DELETE FROM ledger.audit_event e USING ledger.audit_block b
WHERE b.block_seq = :newest_seq AND e.xact_id >= b.xact_lo AND e.xact_id < b.xact_hi;
SELECT problem AS newest FROM ledger.verify_audit() \gset
ROLLBACK;
SELECT is(:'newest'::text, 'records of a sealed block are missing (removed)', 'newest_records_removal_detected');

BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT block_seq AS cut_seq, encode(block_hash, 'hex') AS cut_hash FROM ledger.audit_digest() \gset
SELECT pg_temp.guard(false);
DELETE FROM ledger.audit_event e USING ledger.audit_block b
WHERE b.block_seq = :cut_seq AND e.xact_id >= b.xact_lo;
DELETE FROM ledger.audit_block WHERE block_seq = :cut_seq;
SELECT count(*) AS truncated_chain_alone FROM ledger.verify_audit() \gset
SELECT problem AS truncated_chain FROM ledger.verify_audit(:cut_seq, decode(:'cut_hash', 'hex')) \gset
ROLLBACK;
SELECT is(:truncated_chain_alone, 0,
    'without the kept digest a chain cut at a block boundary still verifies: keep audit_digest() outside');
SELECT is(:'truncated_chain'::text, 'the chain ends before the digest kept outside the database (newest blocks removed)',
    'newest_block_removal_detected_with_digest: removing the newest block and its records is caught by the kept digest');

BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT pg_temp.guard(false);
CREATE TEMP TABLE forged AS SELECT * FROM ledger.audit_event WHERE event_id = :victim;
UPDATE forged SET event_id = -1, detail = 'forged';
UPDATE forged f SET record_hash = pg_temp.ref_record_hash(ROW(f.*)::ledger.audit_event);
INSERT INTO ledger.audit_event SELECT * FROM forged;
SELECT problem AS forged FROM ledger.verify_audit() \gset
ROLLBACK;
SELECT is(:'forged'::text, 'a sealed block has records it did not have (inserted)', 'forged_record_detected: a well-hashed record inserted into a sealed range');

-- A record written after the digest kept outside, dated before it (a superuser framing a clerk
-- with an old reveal): given the digest's sealed_at, the verifier reports it.
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT block_seq AS bd_seq, encode(block_hash, 'hex') AS bd_hash, sealed_at AS bd_at FROM ledger.audit_digest() \gset
SELECT pg_temp.guard(false);
CREATE TEMP TABLE backdated AS SELECT * FROM ledger.audit_event WHERE event_id = :victim;
UPDATE backdated SET event_id = -2, xact_id = txid_current(), kind = 'reveal', detail = 'backdated',
       logged_at = :'bd_at'::timestamptz - interval '20 minutes', statement_at = :'bd_at'::timestamptz - interval '20 minutes';
UPDATE backdated f SET record_hash = pg_temp.ref_record_hash(ROW(f.*)::ledger.audit_event);
INSERT INTO ledger.audit_event SELECT * FROM backdated;
SELECT problem AS backdated FROM ledger.verify_audit(:bd_seq, decode(:'bd_hash', 'hex'), :'bd_at') \gset
ROLLBACK;
SELECT is(:'backdated'::text,
    'a record after the digest kept outside is dated before it (a date forged, or a transaction held open past ledger.audit_unsealed_limit)',
    'backdated_record_after_digest_detected: a record written after the kept digest cannot claim an earlier date');

-- A record outside every range a block can cover is never checked by the chain: below zero,
-- or with a transaction id the server has not assigned ("not sealed yet" for ever).
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT pg_temp.guard(false);
CREATE TEMP TABLE forged_out AS SELECT * FROM ledger.audit_event WHERE event_id = :victim;
UPDATE forged_out SET event_id = -2, xact_id = -5, detail = 'forged';
UPDATE forged_out f SET record_hash = pg_temp.ref_record_hash(ROW(f.*)::ledger.audit_event);
INSERT INTO ledger.audit_event SELECT * FROM forged_out;
SELECT problem AS below_chain FROM ledger.verify_audit() \gset
ROLLBACK;
SELECT is(:'below_chain'::text, 'a record lies outside every range a block can cover (an impossible transaction id)',
    'negative_xact_record_detected: a well-hashed record below the chain is caught');
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT pg_temp.guard(false);
CREATE TEMP TABLE forged_future AS SELECT * FROM ledger.audit_event WHERE event_id = :victim;
UPDATE forged_future SET event_id = -3, xact_id = 4611686018427387904, detail = 'forged';
UPDATE forged_future f SET record_hash = pg_temp.ref_record_hash(ROW(f.*)::ledger.audit_event);
INSERT INTO ledger.audit_event SELECT * FROM forged_future;
SELECT problem AS future_xact FROM ledger.verify_audit() \gset
ROLLBACK;
SELECT is(:'future_xact'::text, 'a record lies outside every range a block can cover (an impossible transaction id)',
    'future_xact_record_detected: a record with a transaction id not yet assigned is caught, not left "unsealed" for ever');

-- ... nor without one: NOT NULL dropped from the catalog for the insert and put back, where
-- PostgreSQL 17's planner then reads "xact_id IS NULL" as false.
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT pg_temp.guard(false);
UPDATE pg_attribute SET attnotnull = false WHERE attname = 'xact_id'
   AND attrelid IN (SELECT 'ledger.audit_event'::regclass UNION ALL SELECT inhrelid FROM pg_inherits WHERE inhparent = 'ledger.audit_event'::regclass);
CREATE TEMP TABLE forged_null AS SELECT * FROM ledger.audit_event WHERE event_id = :victim;
UPDATE forged_null SET event_id = -4, xact_id = NULL, kind = 'reveal', detail = 'forged';
UPDATE forged_null f SET record_hash = pg_temp.ref_record_hash(ROW(f.*)::ledger.audit_event);
INSERT INTO ledger.audit_event SELECT * FROM forged_null;
UPDATE pg_attribute SET attnotnull = true WHERE attname = 'xact_id'
   AND attrelid IN (SELECT 'ledger.audit_event'::regclass UNION ALL SELECT inhrelid FROM pg_inherits WHERE inhparent = 'ledger.audit_event'::regclass);
SELECT pg_temp.guard(true);
SELECT problem AS null_xact FROM ledger.verify_audit() \gset
ROLLBACK;
SELECT is(:'null_xact'::text, 'a record lies outside every range a block can cover (an impossible transaction id)',
    'null_xact_record_detected: a record without a transaction id is caught');

-- The verifier and the writer read a record by position, the reports by name: two column
-- names swapped in the catalog turn every report away from the row keys.
BEGIN ISOLATION LEVEL REPEATABLE READ;
CREATE TEMP VIEW trail_rels AS SELECT 'ledger.audit_event'::regclass AS r
    UNION ALL SELECT inhrelid FROM pg_inherits WHERE inhparent = 'ledger.audit_event'::regclass;
UPDATE pg_attribute SET attname = 'swap_tmp' WHERE attname = 'row_key' AND attrelid IN (SELECT r FROM trail_rels);
UPDATE pg_attribute SET attname = 'row_key' WHERE attname = 'sensitive_columns' AND attrelid IN (SELECT r FROM trail_rels);
UPDATE pg_attribute SET attname = 'sensitive_columns' WHERE attname = 'swap_tmp' AND attrelid IN (SELECT r FROM trail_rels);
SELECT problem AS swapped FROM ledger.verify_audit(:digest_seq, decode(:'digest_hash', 'hex')) \gset
ROLLBACK;
SELECT is(:'swapped'::text, 'a table of the trail has columns other than the writer''s (a name, type or collation edited in the catalog)',
    'trail_column_names_swapped_detected: row_key and sensitive_columns renamed into each other in the catalog are caught');

-- An array's bounds are not its elements: a row key rewritten as '[0:1]={...}' or '{{...}}'
-- hashes the same, and drops out of every report that compares or subscripts it.
SELECT e.event_id AS shaped FROM ledger.audit_event e JOIN ledger.audit_block b
    ON e.xact_id >= b.xact_lo AND e.xact_id < b.xact_hi
 WHERE cardinality(e.row_key) >= 1 ORDER BY e.event_id LIMIT 1 \gset
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT pg_temp.guard(false);
UPDATE ledger.audit_event SET row_key = ('[0:' || cardinality(row_key) - 1 || ']=' || row_key::text)::text[]
 WHERE event_id = :shaped;
SELECT problem AS rebased FROM ledger.verify_audit() \gset
ROLLBACK;
SELECT is(:'rebased'::text, 'an array of the record has bounds or dimensions the writer never gives (the record was altered)',
    'record_array_bounds_tamper_detected: a row key given other bounds, its hash unchanged, is caught');
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT pg_temp.guard(false);
UPDATE ledger.audit_event SET row_key = ARRAY[row_key] WHERE event_id = :shaped;
SELECT problem AS deepened FROM ledger.verify_audit() \gset
ROLLBACK;
SELECT is(:'deepened'::text, 'an array of the record has bounds or dimensions the writer never gives (the record was altered)',
    'record_array_dimensions_tamper_detected: a row key made two-dimensional is caught');

BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT pg_temp.guard(false);
UPDATE ledger.audit_event SET event_id = CASE event_id WHEN :victim THEN :neighbour ELSE :victim END
WHERE event_id IN (:victim, :neighbour);
UPDATE ledger.audit_event e SET record_hash = pg_temp.ref_record_hash(e) WHERE event_id IN (:victim, :neighbour);
SELECT problem AS reordered FROM ledger.verify_audit() \gset
ROLLBACK;
SELECT is(:'reordered'::text, 'a sealed block''s records were changed or reordered', 'reordered_pair_detected: two records swapped, hashes recomputed');

BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT pg_temp.guard(false);
UPDATE ledger.audit_block SET prev_hash = sha256('x') WHERE block_seq = :victim_block;
SELECT problem AS relinked FROM ledger.verify_audit() \gset
ROLLBACK;
SELECT is(:'relinked'::text, 'the block does not link to the previous block''s hash', 'block_link_tamper_detected');

-- A forged verification checkpoint: a superuser rewrites a sealed record and adds a checkpoint
-- row at the newest block, so that verification would start past the rewritten record.
-- two more blocks after the digest kept above
INSERT INTO regress_audited (id, name) VALUES (9001, 'later');
SELECT ledger.audit_seal_now() AS sealed_more \gset
INSERT INTO regress_audited (id, name) VALUES (9002, 'later');
SELECT ledger.audit_seal_now() AS sealed_more \gset
DELETE FROM regress_audited WHERE id IN (9001, 9002);
-- The superuser's forgery of a checkpoint row: the trail's guards off, a checkpoint at the
-- newest block naming the given months (inside the caller's rolled-back block).
CREATE FUNCTION pg_temp.add_forged_checkpoint(detached text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_temp.guard(false);
    UPDATE pg_trigger SET tgenabled = 'D' WHERE tgname = 'audit_checkpoint_append_only';
    UPDATE pg_class SET relhastriggers = true WHERE oid = 'ledger.audit_checkpoint'::regclass;
    INSERT INTO ledger.audit_checkpoint
    SELECT coalesce((SELECT max(checkpoint_seq) FROM ledger.audit_checkpoint), 0) + 1, b.block_seq, b.block_hash,
           b.xact_hi, detached, now()
    FROM ledger.audit_block b ORDER BY b.block_seq DESC LIMIT 1;
END $$;
CREATE FUNCTION pg_temp.forge_checkpoint(detached text[]) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    p text;
BEGIN
    PERFORM pg_temp.guard(false);
    UPDATE ledger.audit_event SET detail = 'forged' WHERE event_id = (SELECT min(event_id) FROM ledger.audit_event WHERE xact_id >= 0);
    UPDATE ledger.audit_event e SET record_hash = pg_temp.ref_record_hash(e)
    WHERE event_id = (SELECT min(event_id) FROM ledger.audit_event WHERE xact_id >= 0);
    PERFORM pg_temp.add_forged_checkpoint(detached);
    SELECT string_agg(coalesce(v.problem, '') , '|') INTO p FROM ledger.verify_audit() v;
    p := coalesce(p, 'intact') || ' / with digest: ' ||
         coalesce((SELECT string_agg(v.problem, '|') FROM ledger.verify_audit(
             (SELECT block_seq FROM ledger.audit_digest()), (SELECT block_hash FROM ledger.audit_digest())) v), 'intact');
    RAISE EXCEPTION '%', p USING ERRCODE = 'P0001';
EXCEPTION WHEN raise_exception THEN
    RETURN SQLERRM;
END $$;
SELECT is(pg_temp.forge_checkpoint('{}'),
    'a sealed block''s records were changed or reordered / with digest: a sealed block''s records were changed or reordered',
    'forged_checkpoint_detected: a checkpoint row added by hand moves nothing while the detached months are kept; the rewritten record is caught');
SELECT is(pg_temp.forge_checkpoint('{audit_event_190001}'),
    'a month the trail''s retention detached is no longer kept in schema ledger: the records it held cannot be verified / with digest: a month the trail''s retention detached is no longer kept in schema ledger: the records it held cannot be verified',
    'forged_checkpoint_missing_table_detected: a checkpoint naming a month that is not kept is reported, never trusted');
SELECT is(pg_temp.forge_checkpoint(ARRAY[(SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                                          WHERE i.inhparent = 'ledger.audit_event'::regclass LIMIT 1)]),
    'a verification checkpoint names a partition still attached to the trail (it was not made by a detach) / with digest: a verification checkpoint names a partition still attached to the trail (it was not made by a detach)',
    'forged_checkpoint_attached_partition_detected: a checkpoint that names a month still in the trail was not made by a detach');
-- Copies of a sealed block's records in a table a forged checkpoint (at the first block)
-- names, and a CHECK constraint forged onto the month of the rewritten record so that the
-- planner would skip it: the verifier reads every row where it is, and sees the copies twice.
CREATE FUNCTION pg_temp.forge_exclusion() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    p text;
    lo bigint;
    hi bigint;
    part regclass;
    v bigint;
BEGIN
    SELECT e.event_id, e.tableoid::regclass, b.xact_lo, b.xact_hi INTO v, part, lo, hi
      FROM ledger.audit_event e JOIN ledger.audit_block b ON e.xact_id >= b.xact_lo AND e.xact_id < b.xact_hi
     WHERE b.block_seq > (SELECT min(block_seq) FROM ledger.audit_block)
     ORDER BY e.event_id LIMIT 1;
    CREATE TABLE ledger.audit_event_190002 (LIKE ledger.audit_event);
    EXECUTE format('INSERT INTO ledger.audit_event_190002 SELECT * FROM ledger.audit_event WHERE xact_id >= %s AND xact_id < %s', lo, hi);
    PERFORM pg_temp.guard(false);
    UPDATE ledger.audit_event SET detail = 'forged' WHERE event_id = v;
    CREATE TEMP TABLE forge_scratch (LIKE ledger.audit_event);
    EXECUTE format('ALTER TABLE forge_scratch ADD CONSTRAINT forged_range CHECK (xact_id < %s OR xact_id >= %s)', lo, hi);
    UPDATE pg_constraint SET conrelid = part WHERE conrelid = 'forge_scratch'::regclass AND contype = 'c';
    UPDATE pg_class SET relchecks = relchecks + 1 WHERE oid = part;
    UPDATE pg_class SET relchecks = 0 WHERE oid = 'forge_scratch'::regclass;
    UPDATE pg_trigger SET tgenabled = 'D' WHERE tgname = 'audit_checkpoint_append_only';
    UPDATE pg_class SET relhastriggers = true WHERE oid = 'ledger.audit_checkpoint'::regclass;
    INSERT INTO ledger.audit_checkpoint
    SELECT coalesce((SELECT max(checkpoint_seq) FROM ledger.audit_checkpoint), 0) + 1, b.block_seq, b.block_hash,
           b.xact_hi, '{audit_event_190002}', now()
    FROM ledger.audit_block b ORDER BY b.block_seq LIMIT 1;
    SELECT string_agg(x.problem, '|') INTO p
      FROM ledger.verify_audit((SELECT block_seq FROM ledger.audit_digest()), (SELECT block_hash FROM ledger.audit_digest())) x;
    RAISE EXCEPTION '%', coalesce(p, 'intact') USING ERRCODE = 'P0001';
EXCEPTION WHEN raise_exception THEN
    RETURN SQLERRM;
END $$;
SELECT isnt(pg_temp.forge_exclusion(), 'intact',
    'forged_check_constraint_exclusion_detected: copies behind a forged checkpoint and a forged CHECK constraint do not stand in for a rewritten record');

-- Attacker round 7: what decides which rows of the trail a query sees, edited in the catalog —
-- a month's partition bound (a report for a period would skip it), row-level security.
SELECT throws_ok($$CREATE POLICY regress_hide ON ledger.audit_event FOR SELECT USING (kind <> 'select')$$, '42501',
    'the audit trail cannot get policies', 'trail_policy_refused: not even a superuser gives the trail a policy');
CREATE FUNCTION pg_temp.forge_trail_visibility(what text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    p text;
    part regclass := (SELECT c.oid FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid
                      WHERE i.inhparent = 'ledger.audit_event'::regclass ORDER BY c.relname LIMIT 1);
BEGIN
    IF what = 'bound' THEN
        CREATE TEMP TABLE forge_p (logged_at timestamptz) PARTITION BY RANGE (logged_at);
        CREATE TEMP TABLE forge_c PARTITION OF forge_p FOR VALUES FROM ('1990-01-01 00:00:00+00') TO ('1990-02-01 00:00:00+00');
        UPDATE pg_class SET relpartbound = (SELECT relpartbound FROM pg_class WHERE oid = 'forge_c'::regclass) WHERE oid = part;
    ELSE
        UPDATE pg_class SET relrowsecurity = true WHERE oid = 'ledger.audit_event'::regclass;
    END IF;
    SELECT string_agg(x.problem, '|') INTO p
      FROM ledger.verify_audit((SELECT block_seq FROM ledger.audit_digest()), (SELECT block_hash FROM ledger.audit_digest())) x;
    RAISE EXCEPTION '%', coalesce(p, 'intact') USING ERRCODE = 'P0001';
EXCEPTION WHEN raise_exception THEN
    RETURN SQLERRM;
END $$;
SELECT is(pg_temp.forge_trail_visibility('bound'),
    'a month of the trail has a partition bound other than its month (a report for a period would skip it)',
    'forged_partition_bound_detected: a month moved out of reach of reports by its bound is reported');
SELECT is(pg_temp.forge_trail_visibility('rls'),
    'a table of the trail has row-level security or a policy (it hides records from whoever reads it)',
    'trail_row_security_detected: row-level security switched on in the catalog is reported');

-- The digest taken earlier (older than the forged checkpoint) is compared, never skipped.
CREATE FUNCTION pg_temp.old_digest_after_forged_checkpoint(seq bigint, hash bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    p text;
BEGIN
    PERFORM pg_temp.guard(false);
    DELETE FROM ledger.audit_event WHERE xact_id >= 0;   -- the records gone, a checkpoint to excuse it
    PERFORM pg_temp.add_forged_checkpoint('{}');
    SELECT string_agg(v.problem, '|') INTO p FROM ledger.verify_audit(seq, hash) v;
    RAISE EXCEPTION '%', coalesce(p, 'intact') USING ERRCODE = 'P0001';
EXCEPTION WHEN raise_exception THEN
    RETURN SQLERRM;
END $$;
SELECT is(pg_temp.old_digest_after_forged_checkpoint(:digest_seq, decode(:'digest_hash', 'hex')),
    'records of a sealed block are missing (removed)',
    'old_digest_never_skipped: records removed behind a forged checkpoint are caught, whatever digest is given');
SELECT is(pg_temp.old_digest_after_forged_checkpoint(:digest_seq, sha256('bogus')),
    'records of a sealed block are missing (removed)',
    'bogus_digest_not_verified: a made-up digest does not make such a trail verify');

SELECT is((SELECT count(*) FROM ledger.verify_audit(:digest_seq, decode(:'digest_hash', 'hex'))), 0::bigint,
    'after every rolled-back tampering the trail verifies against its digest again');

-- Reports for 自己点検・内部監査, read by the auditor role ----------------------------------
SET ledger.office_hours_start = '00:00';
SET ledger.office_hours_end = '00:00';
SET ROLE ledger_auditor;
SELECT ok((SELECT count(*) FROM ledger.audit_report_denied WHERE acting_role = 'regress_audit_clerk' AND relation_name = 'public.regress_audited') > 0,
    'audit_report_denied lists the refused read');
SELECT ok((SELECT sum(events) FROM ledger.audit_report_daily_operations WHERE kind = 'insert' AND day = current_date) >= 3,
    'audit_report_daily_operations counts today''s inserts');
SELECT ok((SELECT count(*) FROM ledger.audit_report_after_hours WHERE relation_name = 'public.regress_audited') > 0,
    'audit_report_after_hours lists operations outside the configured hours');
SELECT ok((SELECT count(*) FROM ledger.audit_report_sessions WHERE session_role = 'postgres') > 0,
    'audit_report_sessions lists logins');
SELECT lives_ok('SELECT * FROM ledger.audit_report_reveals', 'audit_report_reveals is readable by the auditor');
SELECT is((SELECT count(*) FROM ledger.verify_audit()), 0::bigint, 'the auditor can run the verifier');
SELECT throws_ok('SELECT * FROM regress_audited', '42501', NULL, 'auditor_reads_nothing_else: not the ledger''s tables');
SELECT throws_ok('DELETE FROM ledger.audit_event', '42501', NULL, 'the auditor cannot change the trail');
RESET ROLE;
RESET ledger.office_hours_start;
RESET ledger.office_hours_end;

-- Clean up what this file created (the trail keeps its records).
DROP TABLE regress_audited, regress_truncated;
DROP ROLE regress_audit_clerk;
SELECT * FROM finish();
