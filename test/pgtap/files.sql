-- The file-creation guard (番号法 第29条): no new place for My Numbers outside the registered
-- files.  Each refusal path is a test named after the way around it.
\ir lib.psql

SELECT plan(26);

CREATE ROLE regress_file_dba;
CREATE SCHEMA regress_files AUTHORIZATION regress_file_dba;
CREATE ROLE regress_file_keeper IN ROLE ledger_dba;
GRANT CREATE, USAGE ON SCHEMA regress_files TO regress_file_keeper;
CREATE TABLE regress_files.source (id int, mn ledger.mynumber);
ALTER TABLE regress_files.source OWNER TO regress_file_dba;

SET ROLE regress_file_dba;
SELECT throws_ok($$CREATE TABLE regress_files.copy_of_numbers (id int, mn ledger.mynumber)$$, '42501', NULL,
    'create_table_with_number_refused: a new table with a My Number column outside the registered files');
SELECT throws_ok($$CREATE TABLE regress_files.sealed_copy (id int, mn ledger.sealed_mynumber)$$, '42501', NULL,
    'create_table_with_sealed_number_refused: sealed numbers count too');
SELECT throws_ok($$CREATE TABLE regress_files.ctas AS SELECT * FROM regress_files.source$$, '42501', NULL,
    'create_table_as_refused: CREATE TABLE AS copying numbers');
SELECT throws_ok($$SELECT * INTO regress_files.select_into FROM regress_files.source$$, '42501', NULL,
    'select_into_refused: SELECT INTO copying numbers');
SELECT throws_ok($$CREATE MATERIALIZED VIEW regress_files.mv AS SELECT * FROM regress_files.source$$, '42501', NULL,
    'materialized_view_refused: a materialized view stores what it selects');
CREATE TABLE regress_files.plain (id int);
SELECT throws_ok($$ALTER TABLE regress_files.plain ADD COLUMN mn ledger.mynumber$$, '42501', NULL,
    'add_column_refused: ALTER TABLE ADD COLUMN of a number');
CREATE TABLE regress_files.texts (id int, t text);
SELECT throws_ok($$ALTER TABLE regress_files.texts ALTER COLUMN t TYPE ledger.mynumber USING NULL$$, '42501', NULL,
    'alter_column_type_refused: changing a column into a number');
SELECT throws_ok($$CREATE DOMAIN regress_files.innocent AS ledger.mynumber$$, '42501', NULL,
    'domain_over_number_refused: a domain over the number type');
SELECT throws_ok($$CREATE TYPE regress_files.pair AS (a int, mn ledger.mynumber)$$, '42501', NULL,
    'composite_with_number_refused: a composite type holding a number');
SELECT throws_ok($$CREATE TABLE regress_files.arrays (id int, mns ledger.mynumber[])$$, '42501', NULL,
    'array_of_numbers_refused: an array of numbers');
SELECT throws_ok($$CREATE TEMP TABLE scratch (mn ledger.mynumber)$$, '42501', NULL,
    'temp_table_refused: a temporary table is a file too');
SELECT throws_ok($$CREATE STATISTICS regress_files.s (mcv) ON id, mn FROM regress_files.source$$, '42501', NULL,
    'extended_statistics_refused: MCV statistics would keep sampled numbers');
SELECT lives_ok($$CREATE TABLE regress_files.no_numbers AS SELECT id FROM regress_files.source$$,
    'a table without numbers is created as usual');
SELECT lives_ok($$CREATE VIEW regress_files.v AS SELECT * FROM regress_files.source$$,
    'a view holds nothing: allowed');
SELECT throws_ok($$SELECT ledger.register_file('regress_files', 'registered', '児童手当等支給台帳ファイル (写し)', '番号法第9条')$$,
    '42501', NULL, 'register_file_requires_ledger_dba: the table owner cannot register a file');
-- Ways around the guard found in review.
SELECT throws_ok($$CREATE SCHEMA regress_evil_schema CREATE TABLE t (m ledger.mynumber)$$, '42501', NULL,
    'create_schema_with_table_refused: CREATE SCHEMA ... CREATE TABLE');
CREATE TYPE regress_files.innocent_pair AS (x int);
CREATE TABLE regress_files.uses_pair (p regress_files.innocent_pair);
SELECT throws_ok($$ALTER TYPE regress_files.innocent_pair ADD ATTRIBUTE m ledger.mynumber$$, '42501', NULL,
    'alter_composite_type_refused: adding a number to a composite type already used by a table');
CREATE TYPE regress_files.row_type AS (x int);
CREATE TABLE regress_files.typed OF regress_files.row_type;
SELECT throws_ok($$ALTER TYPE regress_files.row_type ADD ATTRIBUTE m ledger.mynumber CASCADE$$, '42501', NULL,
    'typed_table_cascade_refused: ALTER TYPE ... CASCADE into a typed table');
RESET ROLE;

SET ROLE regress_file_keeper;
SELECT lives_ok($$SELECT ledger.register_file('regress_files', 'registered', '児童手当等支給台帳ファイル (写し)', '番号法第9条第1項 別表第一')$$,
    'a ledger_dba member registers a file');
SELECT lives_ok($$CREATE TABLE regress_files.registered (id int, mn ledger.sealed_mynumber)$$,
    'registered_file_allowed: the registered table may hold numbers');
SELECT ledger.register_file('regress_files', 'parent_file', '親ファイル', '番号法第9条第1項') \g /dev/null
CREATE TABLE regress_files.parent_file (id int);
CREATE TABLE regress_files.child_of_file () INHERITS (regress_files.parent_file);
SELECT throws_ok($$ALTER TABLE regress_files.parent_file ADD COLUMN mn ledger.mynumber$$, '42501', NULL,
    'column_through_inheritance_refused: a number added to a registered parent reaches an unregistered child');
SELECT throws_ok($$ALTER TABLE regress_files.registered RENAME TO renamed_file$$, '42501', NULL,
    'registered_table_rename_refused: a registered file renamed is no longer registered');
RESET ROLE;
ALTER SCHEMA regress_files OWNER TO regress_file_keeper;
SET ROLE regress_file_keeper;
SELECT throws_ok($$ALTER SCHEMA regress_files RENAME TO regress_files_old$$, '42501', NULL,
    'schema_rename_refused: renaming the schema moves registered files out of their registration');
RESET ROLE;
SELECT ok(pg_temp.wait_for($$kind = 'denied' AND detail LIKE 'refused: file creation%ctas%'$$) > 0,
    'file_guard_refusals_recorded: a refused CREATE TABLE AS is in the audit trail');
SELECT ok(EXISTS (SELECT 1 FROM ledger.audit_event WHERE kind = 'insert' AND relation_name = 'ledger.registered_file'
                  AND acting_role = 'regress_file_keeper'),
    'file_registration_audited: the registration is recorded as the keeper''s act');
SELECT is((SELECT count(*) FROM pg_class WHERE relnamespace = 'regress_files'::regnamespace
           AND relname IN ('copy_of_numbers', 'sealed_copy', 'ctas', 'select_into', 'mv', 'arrays')), 0::bigint,
    'nothing refused was left behind');

SELECT * FROM finish();
