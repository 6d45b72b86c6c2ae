-- Properties of ledger.mynumber and ledger.corporate_number, checked against an independent
-- SQL statement of each formula over 10,000 generated bases, plus binary round trips,
-- index use, joins and statistics.  Runs in one transaction and rolls back.
\ir lib.psql

BEGIN;
SELECT plan(36);

-- The formulas once more, in SQL, as the ordinances state them (Pn counted from the right).
CREATE FUNCTION pg_temp.ref_mynumber_check(base text) RETURNS integer LANGUAGE sql AS $$
    SELECT CASE WHEN s % 11 <= 1 THEN 0 ELSE 11 - s % 11 END
    FROM (SELECT sum(substr(base, 12 - n, 1)::int * CASE WHEN n <= 6 THEN n + 1 ELSE n - 5 END) AS s
          FROM generate_series(1, 11) AS n) AS x $$;
CREATE FUNCTION pg_temp.ref_corporate_check(base text) RETURNS integer LANGUAGE sql AS $$
    SELECT 9 - s % 9
    FROM (SELECT sum(substr(base, 13 - n, 1)::int * CASE WHEN n % 2 = 1 THEN 1 ELSE 2 END) AS s
          FROM generate_series(1, 12) AS n) AS x $$;
CREATE FUNCTION pg_temp.full_width(s text) RETURNS text LANGUAGE sql AS $$
    SELECT translate(s, '0123456789', '０１２３４５６７８９') $$;

-- Server-side files for COPY BINARY live in the data directory (absolute paths only).
CREATE FUNCTION pg_temp.path(name text) RETURNS text LANGUAGE sql AS $$
    SELECT current_setting('data_directory') || '/' || name $$;
CREATE FUNCTION pg_temp.copy_out(query text, name text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('COPY (%s) TO %L (FORMAT binary)', query, pg_temp.path(name));
END $$;
CREATE FUNCTION pg_temp.copy_in(tab text, name text) RETURNS text LANGUAGE sql AS $$
    SELECT format('COPY %I FROM %L (FORMAT binary)', tab, pg_temp.path(name)) $$;

SELECT setseed(0.2026);
CREATE TEMP TABLE bases AS
    SELECT i, lpad((floor(random() * 1e11))::bigint::text, 11, '0') AS base
    FROM generate_series(1, 10000) AS i;
CREATE TEMP TABLE corporate_bases AS
    SELECT i, lpad((floor(random() * 1e12))::bigint::text, 12, '0') AS base
    FROM generate_series(1, 10000) AS i;
CREATE TEMP TABLE accepted AS
    SELECT b.i, b.base, array_agg(d ORDER BY d) FILTER (WHERE ledger.mynumber_is_valid(b.base || d)) AS digits
    FROM bases b CROSS JOIN generate_series(0, 9) AS d
    GROUP BY b.i, b.base;

-- mynumber_exactly_one_check_digit_per_base
SELECT is((SELECT count(*) FROM accepted WHERE cardinality(digits) = 1), 10000::bigint,
    'mynumber: for each of 10,000 generated bases exactly one check digit is accepted');
SELECT is((SELECT count(*) FROM accepted WHERE digits[1] <> pg_temp.ref_mynumber_check(base)), 0::bigint,
    'mynumber: the accepted digit is the one the ordinance''s formula gives');
SELECT is((SELECT count(*) FROM accepted WHERE ledger.mynumber_check_digit(base) <> digits[1]), 0::bigint,
    'mynumber_check_digit agrees with what input accepts');
SELECT is((SELECT count(*) FROM accepted
           WHERE ledger.mynumber_is_valid(pg_temp.full_width(base || digits[1])) IS NOT TRUE
              OR ledger.mynumber_is_valid(pg_temp.full_width(
                     substr(base || digits[1], 1, 4) || 'ー' || substr(base || digits[1], 5, 4) || 'ー' || substr(base, 9))
                     || digits[1]) IS NOT TRUE), 0::bigint,
    'mynumber: full-width and grouped forms of every valid number are accepted');
SELECT is((SELECT count(*) FROM accepted
           WHERE (pg_temp.full_width(base || digits[1]))::ledger.mynumber::text <> base || digits[1]), 0::bigint,
    'mynumber: full-width input is stored as the 12 ASCII digits');

-- corporate_number_exactly_one_check_digit_per_base
SELECT is((SELECT count(*) FROM (
        SELECT b.base, count(*) FILTER (WHERE ledger.corporate_number_is_valid(d || b.base)) AS n,
               min(d) FILTER (WHERE ledger.corporate_number_is_valid(d || b.base)) AS digit
        FROM corporate_bases b CROSS JOIN generate_series(0, 9) AS d GROUP BY b.base) x
        WHERE n <> 1 OR digit <> pg_temp.ref_corporate_check(base)), 0::bigint,
    'corporate_number: for each of 10,000 generated bases exactly the formula''s check digit is accepted');
SELECT is((SELECT count(*) FROM corporate_bases
           WHERE ledger.corporate_number_check_digit(base) <> pg_temp.ref_corporate_check(base)), 0::bigint,
    'corporate_number_check_digit agrees with the formula');

-- Tables of valid values for the rest.
CREATE TEMP TABLE people AS
    SELECT i, (base || digits[1])::ledger.mynumber AS mn FROM accepted;
ALTER TABLE people ADD PRIMARY KEY (mn);
CREATE TEMP TABLE companies AS
    SELECT i, (pg_temp.ref_corporate_check(base) || base)::ledger.corporate_number AS cn FROM corporate_bases;
ANALYZE people;
ANALYZE companies;

-- binary_round_trip: COPY BINARY out and in again gives the same values.
SELECT pg_temp.copy_out('SELECT * FROM people', 'mnl_tap_people.bin');
CREATE TEMP TABLE people_back (LIKE people);
SELECT lives_ok(pg_temp.copy_in('people_back', 'mnl_tap_people.bin'), 'COPY BINARY of mynumber values reads back');
SELECT is((SELECT count(*) FROM (SELECT i, mn FROM people EXCEPT SELECT i, mn FROM people_back) x), 0::bigint,
    'binary round trip: every mynumber comes back unchanged through COPY BINARY');
SELECT is((SELECT count(*) FROM people_back), 10000::bigint, 'binary round trip: no row lost');
SELECT pg_temp.copy_out('SELECT * FROM companies', 'mnl_tap_companies.bin');
CREATE TEMP TABLE companies_back (LIKE companies);
SELECT lives_ok(pg_temp.copy_in('companies_back', 'mnl_tap_companies.bin'), 'COPY BINARY of corporate_number values reads back');
SELECT is((SELECT count(*) FROM (SELECT * FROM companies EXCEPT SELECT * FROM companies_back) x), 0::bigint,
    'binary round trip: every corporate_number comes back unchanged');
SELECT is(ledger.mynumber_send('123456789018'), int8send(123456789018),
    'binary form of a mynumber is the big-endian int8 of its digits');

-- binary_receive_refuses_invalid_numbers: an int8 with a wrong check digit, read as mynumber.
SELECT pg_temp.copy_out('SELECT 1, 1::bigint', 'mnl_tap_bad_check.bin');
SELECT pg_temp.copy_out('SELECT 1, 1000000000000::bigint', 'mnl_tap_too_big.bin');
SELECT pg_temp.copy_out('SELECT 1, (-19)::bigint', 'mnl_tap_negative.bin');
SELECT throws_ok(pg_temp.copy_in('people_back', 'mnl_tap_bad_check.bin'), '22P03',
    'invalid input for type mynumber: check digit does not match',
    'binary receive refuses a wrong check digit with 22P03');
SELECT throws_ok(pg_temp.copy_in('people_back', 'mnl_tap_too_big.bin'), '22P03',
    'invalid binary input for type mynumber: value out of range',
    'binary receive refuses a value of more than 12 digits');
SELECT throws_ok(pg_temp.copy_in('people_back', 'mnl_tap_negative.bin'), '22P03',
    'invalid binary input for type mynumber: value out of range',
    'binary receive refuses a negative value');
SELECT is((SELECT count(*) FROM people_back), 10000::bigint,
    'invalid_number_never_stored: the refused COPYs added nothing');

-- invalid_number_never_stored: text COPY with one bad line stores nothing at all.
CREATE TEMP TABLE people_text (mn ledger.mynumber);
SELECT throws_ok($$COPY people_text FROM PROGRAM 'printf "123456789018\n271828182840\n271828182841\n"'$$,
    '22P02', NULL, 'text COPY refuses a file with one wrong number');
SELECT is((SELECT count(*) FROM people_text), 0::bigint, 'invalid_number_never_stored: nothing of that file was kept');

-- Index use: equality by the primary key, ranges, a hash index.
SELECT matches(pg_temp.plan_of($$SELECT * FROM people WHERE mn = '123456789018'$$),
    'Index Scan using people_pkey', 'equality on a mynumber key uses the btree index');
SET LOCAL enable_seqscan = off;
SELECT matches(pg_temp.plan_of($$SELECT * FROM people WHERE mn BETWEEN '123456789018' AND '271828182840'$$),
    'Index Scan using people_pkey|Bitmap Index Scan on people_pkey', 'ranges use the btree index');
CREATE INDEX people_hash ON people USING hash (mn);
SELECT matches(pg_temp.plan_of($$SELECT * FROM people WHERE mn = '123456789018'::ledger.mynumber AND i > 0$$),
    'people_(hash|pkey)', 'a hash index on mynumber can be built and used');
DROP INDEX people_hash;
SELECT is((SELECT count(*) FROM people WHERE mn = (SELECT mn FROM people WHERE i = 4242)), 1::bigint,
    'an index lookup finds the row');
RESET enable_seqscan;

-- Joins: hash join and merge join on mynumber give the same answer as the join on text.
CREATE TEMP TABLE payments AS SELECT mn, i % 7 AS k FROM people WHERE i % 3 = 0;
ANALYZE payments;
SET LOCAL enable_mergejoin = off;
SET LOCAL enable_nestloop = off;
SELECT matches(pg_temp.plan_of('SELECT count(*) FROM people JOIN payments USING (mn)'), 'Hash Join',
    'a join on mynumber can be a hash join');
SELECT is((SELECT count(*) FROM people JOIN payments USING (mn)), 3333::bigint, 'the hash join finds every match');
RESET enable_mergejoin;
SET LOCAL enable_hashjoin = off;
SELECT matches(pg_temp.plan_of('SELECT count(*) FROM people JOIN payments USING (mn)'), 'Merge Join',
    'a join on mynumber can be a merge join');
SELECT is((SELECT count(*) FROM people JOIN payments USING (mn)), 3333::bigint, 'the merge join finds every match');
RESET enable_hashjoin;
RESET enable_nestloop;

-- Ordering of values is the ordering of their digits.
SELECT is((SELECT array_agg(mn::text ORDER BY mn) FROM people),
          (SELECT array_agg(mn::text ORDER BY mn::text COLLATE "C") FROM people),
    'ORDER BY mynumber is the order of the 12 digits');

-- statistics_hold_no_numbers: ANALYZE keeps null fraction and distinct count, never a value.
SELECT is((SELECT count(*) FROM pg_stats
           WHERE tablename IN ('people', 'companies', 'payments') AND attname IN ('mn', 'cn')
             AND most_common_vals IS NULL AND histogram_bounds IS NULL AND correlation IS NULL),
          3::bigint, 'statistics_hold_no_numbers: pg_stats keeps no mynumber or corporate_number value');
SELECT is((SELECT n_distinct FROM pg_stats WHERE tablename = 'people' AND attname = 'mn'), -1::real,
    'ANALYZE still tells the planner that the key is unique');

-- Typed string parameters (pgJDBC's setString is varchar; $1::text) resolve what takes a
-- number, checked as input is; the way back is never made for you.
CREATE FUNCTION pg_temp.takes_number(m ledger.mynumber, label text) RETURNS text LANGUAGE sql AS $$
    SELECT label || ':' || m::text $$;
PREPARE typed_varchar(varchar, varchar) AS SELECT pg_temp.takes_number($1, $2);
PREPARE typed_text(text, text) AS SELECT pg_temp.takes_number($1, $2);
SELECT results_eq($$EXECUTE typed_varchar('1234 5678 9018', 'v')$$, $$VALUES ('v:123456789018'::text)$$,
    'varchar_parameter_resolves_number_function: a varchar parameter (pgJDBC default) calls a function taking ledger.mynumber');
SELECT results_eq($$EXECUTE typed_text('１２３４５６７８９０１８', 't')$$, $$VALUES ('t:123456789018'::text)$$,
    'text_parameter_resolves_number_function: a text value is converted, full-width digits too');
SELECT throws_ok($$SELECT pg_temp.takes_number('123456789010'::varchar, 'bad')$$, '22P02', NULL,
    'implicit_cast_still_checks_digit: a wrong check digit through the implicit cast is 22P02');
SELECT is((SELECT count(*) FROM people WHERE mn = (SELECT mn::text FROM people LIMIT 1)::varchar), 1::bigint,
    'number_compared_with_varchar_compares_numbers: mynumber = varchar resolves to the number comparison');
SELECT throws_ok($$SELECT length('123456789018'::ledger.mynumber)$$, '42883', NULL,
    'number_never_implicitly_text: a text function does not take a number without an explicit cast');
SELECT throws_ok($$SELECT upper(mn) FROM people LIMIT 1$$, '42883', NULL,
    'number_column_never_implicitly_text: nor a number column');

SELECT * FROM finish();
ROLLBACK;
