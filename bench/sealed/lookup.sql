-- bench/sealed: finding one person by My Number among :n rows, by the blind index.
\set QUIET 1
SET client_min_messages = warning;
DROP TABLE IF EXISTS person;
CREATE TABLE person AS
SELECT i AS id, ledger.seal(mn, 'person:' || i) AS mn, ledger.blind_index(mn) AS mn_index
FROM (SELECT i, (b || ledger.mynumber_check_digit(b))::ledger.mynumber AS mn
      FROM (SELECT i, lpad((i::bigint * 99991 % 99999999999)::text, 11, '0') AS b FROM generate_series(1, :n) i) x
      WHERE ledger.mynumber_is_valid(b || ledger.mynumber_check_digit(b))) y;
CREATE INDEX ON person (mn_index);
VACUUM ANALYZE person;
\o /dev/null
SELECT set_config('bench.n', :'n', false) IS NOT NULL AS set;
\o
-- 1000 lookups of existing numbers, each a separate statement inside one function.
CREATE FUNCTION pg_temp.lookups(k int) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; found int := 0; r int; num text;
BEGIN
    t0 := clock_timestamp();
    FOR j IN 1..k LOOP
        num := lpad(((j * 7919 % current_setting('bench.n')::int + 1)::bigint * 99991 % 99999999999)::text, 11, '0');
        num := num || ledger.mynumber_check_digit(num);
        SELECT id INTO r FROM person WHERE mn_index = ledger.blind_index(num::ledger.mynumber);
        IF r IS NOT NULL THEN found := found + 1; END IF;
    END LOOP;
    IF found <> k THEN RAISE EXCEPTION 'only % of % lookups found their row', found, k; END IF;
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1000 / k;
END $$;
\pset format unaligned
\pset tuples_only on
SELECT 1, round(pg_temp.lookups(1000), 4), (SELECT count(*) FROM person);
