-- test/bad_input/calls.sql — every function and procedure of the extension, from the catalog,
-- called with a typical value in every argument, then with NULL and with each edge value of
-- the argument's type in one position at a time.  Prints one statement per line; run by
-- test/process/bad_input.sh as a superuser (the typical values come from the sample ledger),
-- and the same lines are then run as every role.  A function added later is called without
-- editing this file: its argument types decide the values.
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset footer off
WITH ext AS (
    SELECT p.oid, p.proname, p.prokind, p.proretset,
           p.proargtypes::oid[] AS types,
           (SELECT array_agg(n ORDER BY o)
              FROM unnest(COALESCE(p.proargnames, array_fill(''::text, ARRAY[p.pronargs])),
                          COALESCE(p.proargmodes, array_fill('i'::"char", ARRAY[p.pronargs])))
                   WITH ORDINALITY AS a(n, m, o)
             WHERE m IN ('i', 'b', 'v')) AS names
    FROM pg_proc p
    JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
    JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'mynumber_ledger'
),
-- Values every argument of a type is tried with (besides NULL), as SQL expressions.
edge(typ, expr) AS (
    SELECT t, x FROM (VALUES
      ('text', $$''$$), ('text', $$'   '$$), ('text', $$repeat('x', 100000)$$),
      ('text', $$repeat('個', 20000)$$), ('text', $$'"Quoted Name"'$$), ('text', $$'ledger.person'$$),
      ('text', $$'011002'$$), ('text', $$'131016'$$), ('text', $$E'\t\n'$$), ('text', $$'o''reilly; --'$$),
      ('text', $$'123456789018'$$),
      ('name', $$''$$), ('name', $$'   '$$), ('name', $$repeat('x', 1000)$$), ('name', $$'"Quoted Name"'$$),
      ('name', $$'ctid'$$), ('name', $$'postgres'$$), ('name', $$'no_such_name'$$),
      ('cstring', $$''$$), ('cstring', $$' '$$), ('cstring', $$repeat('9', 100000)$$), ('cstring', $$'１２３４ ５６７８ ９０１８'$$),
      ('integer', '0'), ('integer', '-1'), ('integer', '2147483647'), ('integer', '(-2147483648)'),
      ('bigint', '0'), ('bigint', '-1'), ('bigint', '9223372036854775807'), ('bigint', '(-9223372036854775808)'),
      ('oid', '0'), ('oid', '4294967295'), ('oid', '10'),
      ('regclass', '0'), ('regclass', $$'pg_class'$$), ('regclass', $$'ledger.audit_event'$$),
      ('regclass', $$'ledger.person_masked'$$), ('regclass', $$'ledger.person_pkey'$$),
      ('regclass', $$'regress_other.plain'$$), ('regclass', $$'regress_other."Quoted Table"'$$),
      ('regclass', '4294967295'), ('regclass', $$'ledger.staff'$$),
      ('regtype', '0'), ('regtype', $$'text'$$), ('regtype', $$'ledger.sealed_mynumber'$$), ('regtype', $$'ledger.mynumber[]'$$),
      ('boolean', 'false'),
      ('date', $$'infinity'$$), ('date', $$'-infinity'$$), ('date', $$'2024-02-29'$$), ('date', $$'4713-01-01 BC'$$),
      ('date', $$'5874897-12-31'$$), ('date', $$'2000-03-31'$$),
      ('timestamp with time zone', $$'infinity'$$), ('timestamp with time zone', $$'-infinity'$$),
      ('timestamp with time zone', $$'4713-01-01 00:00+00 BC'$$),
      ('interval', $$'0'$$), ('interval', $$'-1 day'$$), ('interval', $$'178000000 years'$$),
      ('bytea', $$'\x'$$), ('bytea', $$'\x00'$$), ('bytea', $$decode(repeat('ff', 100000), 'hex')$$),
      ('jsonb', $$'null'$$), ('jsonb', $$'[]'$$), ('jsonb', $$'"x"'$$), ('jsonb', $$'{"health": "病歴"}'$$),
      ('jsonb', $$(repeat('[', 5000) || repeat(']', 5000))::jsonb$$),
      ('uuid', $$'ffffffff-ffff-ffff-ffff-ffffffffffff'$$),
      ('text[]', $$'{}'$$), ('text[]', $$'{NULL}'$$), ('text[]', $$'{""}'$$), ('text[]', $$'{ctid,xmin}'$$),
      ('text[]', $$array_fill('x'::text, ARRAY[10000])$$),
      ('bigint[]', $$'{}'$$), ('bigint[]', $$'{NULL}'$$), ('bigint[]', $$'{-1,0}'$$),
      ('bigint[]', $$array(SELECT generate_series(1, 10000)::bigint)$$),
      ('ledger.mynumber', $$'271828182840'$$),
      ('ledger.corporate_number', $$'5835678256246'$$),
      ('ledger.sealed_mynumber', quote_literal(:'other_sealed')),
      ('ledger.staff_action', $$'administer_staff'$$)
    ) AS v(t, x)
),
-- One typical value per argument, by name first, then by type: deep enough to get past the
-- first check of most functions.
arg AS (
    SELECT e.oid, a.pos, a.typ, e.names[a.pos] AS argname,
           format_type(a.typ, NULL) AS typname
    FROM ext e, unnest(e.types) WITH ORDINALITY AS a(typ, pos)
),
typical AS (
    SELECT arg.*,
           CASE
             WHEN argname IN ('municipality_code', 'municipality') THEN $$'131016'$$
             WHEN argname IN ('caller') THEN format('%s', :'clerk_oid')
             WHEN argname IN ('person_id') AND typname = 'bigint' THEN :'person_id'
             WHEN argname IN ('person_ids') THEN format('ARRAY[%s]::bigint[]', :'person_id')
             WHEN argname IN ('recipient_id') THEN :'recipient_id'
             WHEN argname IN ('recipient_ids') THEN format('ARRAY[%s]::bigint[]', :'recipient_id')
             WHEN argname IN ('org_unit', 'org_unit_id') THEN '1'
             WHEN argname IN ('affair', 'affair_code', 'from_affair', 'to_affair', 'requester_affair') THEN $$'child_allowance'$$
             WHEN argname IN ('purpose', 'reason', 'legal_basis', 'full_name', 'file_name', 'what') THEN $$'審査のため'$$
             WHEN argname IN ('action') THEN $$'read'$$
             WHEN argname IN ('role_name', 'role', 'target') THEN $$'clerk_2'$$
             WHEN argname IN ('duty') THEN $$'clerk'$$
             WHEN argname IN ('duties') THEN $$ARRAY['clerk']$$
             WHEN argname IN ('tab', 'relation', 'table_name') AND typname = 'regclass' THEN $$'regress_other.plain'$$
             WHEN argname IN ('org_column', 'col') THEN $$'org_unit_id'$$
             WHEN argname IN ('context') THEN quote_literal(:'person_context')
             WHEN argname IN ('kind') THEN $$'reveal_quota'$$
             WHEN argname IN ('scope') THEN $$'person'$$
             WHEN argname IN ('purpose') THEN $$'審査'$$
             WHEN argname IN ('schema_name') THEN $$'regress_other'$$
             WHEN argname IN ('table_name') THEN $$'plain'$$
             WHEN argname IN ('payment_month', 'month', 'first_month') THEN $$'2026-12-01'$$
             WHEN argname IN ('period') AND typname = 'text' THEN $$'2026'$$
             WHEN argname IN ('counting') THEN $$'fiscal_year'$$
             WHEN argname IN ('item') THEN $$'resident_record'$$
             WHEN argname IN ('requester', 'provider') THEN $$'011002'$$
             WHEN argname IN ('years') THEN '18'
             WHEN argname IN ('batch_size') THEN '10'
             WHEN argname IN ('dry_run') THEN 'true'
             WHEN typname IN ('text', 'name', 'cstring') THEN $$'x'$$
             WHEN typname IN ('integer', 'bigint', 'oid') THEN '1'
             WHEN typname = 'regclass' THEN $$'ledger.person'$$
             WHEN typname = 'regtype' THEN $$'ledger.mynumber'$$
             WHEN typname = 'boolean' THEN 'true'
             WHEN typname = 'date' THEN $$'2026-12-01'$$
             WHEN typname = 'timestamp with time zone' THEN $$'2026-12-01 09:00+09'$$
             WHEN typname = 'interval' THEN $$'5 years'$$
             WHEN typname = 'bytea' THEN $$'\x00'$$
             WHEN typname = 'jsonb' THEN $$'{}'$$
             WHEN typname = 'uuid' THEN $$'8f14e45f-ceea-467f-a0e6-7f0b5e2b7a1e'$$
             WHEN typname = 'text[]' THEN $$'{}'$$
             WHEN typname = 'bigint[]' THEN $$'{1}'$$
             WHEN typname = 'ledger.mynumber' THEN $$'123456789018'$$
             WHEN typname = 'ledger.corporate_number' THEN $$'5835678256246'$$
             WHEN typname = 'ledger.sealed_mynumber' THEN quote_literal(:'person_sealed')
             WHEN typname = 'ledger.person' THEN format('(SELECT p FROM ledger.person p WHERE person_id = %s)', :'person_id')
             WHEN typname = 'ledger.retention_policy' THEN '(SELECT p FROM ledger.retention_policy p LIMIT 1)'
             ELSE 'NULL'
           END AS expr
    FROM arg
),
-- Vectors: 0 = all typical; (pos, k) = position pos replaced by its k-th edge (k 0 = NULL).
vec AS (
    SELECT oid, 0 AS pos, NULL::text AS alt FROM ext
    UNION ALL
    SELECT oid, pos, 'NULL' FROM typical
    UNION ALL
    SELECT t.oid, t.pos, edge.expr FROM typical t JOIN edge ON edge.typ = t.typname
    UNION ALL
    SELECT oid, -1, 'NULL' FROM ext WHERE cardinality(types) > 1   -- every argument NULL
),
stmt AS (
    SELECT e.oid, e.prokind, v.pos,
           format('%s ledger.%I(%s)',
                  CASE e.prokind WHEN 'p' THEN 'CALL' ELSE 'SELECT' END, e.proname,
                  COALESCE((SELECT string_agg(format('(%s)::%s',
                                                     CASE WHEN v.pos = -1 OR v.pos = t.pos THEN v.alt ELSE t.expr END,
                                                     t.typname), ', ' ORDER BY t.pos)
                            FROM typical t WHERE t.oid = e.oid), '')) AS call
    FROM ext e JOIN vec v ON v.oid = e.oid
)
-- Functions run inside a transaction that is rolled back, so one call's effect does not
-- change the next one's; a procedure that commits cannot run inside one.
SELECT CASE WHEN prokind = 'p' THEN call || ';'
            ELSE 'BEGIN; ' || call || '; ROLLBACK;' END
FROM stmt
ORDER BY oid::regprocedure::text, pos, call;
