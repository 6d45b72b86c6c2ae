-- bench/numbers: 1M values through ledger.mynumber input, against text::bigint and a PL/pgSQL
-- check-digit function, in one session on one core.  Each query runs :runs times; the median
-- is kept.  Called by bench/numbers/run.sh.
\set QUIET 1
SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0;
SET jit = off;

DROP TABLE IF EXISTS bench_input;
CREATE TABLE bench_input AS
SELECT b || ledger.mynumber_check_digit(b) AS plain,
       translate(substr(b, 1, 4) || ' ' || substr(b, 5, 4) || ' ' || substr(b, 9, 3) || ledger.mynumber_check_digit(b),
                 '0123456789', '０１２３４５６７８９') AS full_width_grouped
FROM (SELECT lpad((i::bigint * 99991 % 99999999999)::text, 11, '0') AS b
      FROM generate_series(1, 1000000) AS i) AS g;
DELETE FROM bench_input WHERE NOT ledger.mynumber_is_valid(plain);
VACUUM ANALYZE bench_input;

CREATE OR REPLACE FUNCTION bench_median_ms(query text, runs integer) RETURNS numeric
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    times numeric[] := '{}';
BEGIN
    EXECUTE query;                       -- warm the cache once
    FOR i IN 1..runs LOOP
        t0 := clock_timestamp();
        EXECUTE query;
        times := times || (extract(epoch FROM clock_timestamp() - t0) * 1000)::numeric;
    END LOOP;
    RETURN (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY t) FROM unnest(times) t);
END $$;

CREATE TEMP TABLE result (name text, ms numeric);
INSERT INTO result VALUES
  ('scan only: count(plain)',                    bench_median_ms('SELECT count(plain) FROM bench_input', :runs)),
  ('text::bigint',                               bench_median_ms('SELECT count(plain::bigint) FROM bench_input', :runs)),
  ('text::ledger.mynumber',                      bench_median_ms('SELECT count(plain::ledger.mynumber) FROM bench_input', :runs)),
  ('ledger.mynumber_is_valid(text)',             bench_median_ms('SELECT count(*) FILTER (WHERE ledger.mynumber_is_valid(plain)) FROM bench_input', :runs)),
  ('full-width grouped text::ledger.mynumber',   bench_median_ms('SELECT count(full_width_grouped::ledger.mynumber) FROM bench_input', :runs)),
  ('PL/pgSQL check-digit function (baseline)',   bench_median_ms('SELECT count(bench_mynumber_plpgsql(plain)) FROM bench_input', greatest(:runs / 2, 1)));

\pset format unaligned
\pset tuples_only on
\pset fieldsep '|'
SELECT (SELECT count(*) FROM bench_input), name, round(ms, 1),
       round((ms - (SELECT ms FROM result WHERE name LIKE 'scan only%')) * 1000 / (SELECT count(*) FROM bench_input), 3)
FROM result;
