-- bench/sealed: sealing, opening, HMAC and lookup, against pgcrypto in the same session.
\set QUIET 1
SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0;
SET jit = off;
CREATE EXTENSION IF NOT EXISTS pgcrypto;

CREATE TEMP TABLE input AS
SELECT i, (b || ledger.mynumber_check_digit(b))::ledger.mynumber AS mn
FROM (SELECT i, lpad((i::bigint * 99991 % 99999999999)::text, 11, '0') AS b FROM generate_series(1, :n) i) x
WHERE ledger.mynumber_is_valid(b || ledger.mynumber_check_digit(b));
CREATE TEMP TABLE sealed AS SELECT i, ledger.seal(mn, 'p:' || i) AS s FROM input;
CREATE TEMP TABLE pgp AS SELECT i, pgp_sym_encrypt(mn::text, 'secret') AS c FROM input LIMIT 2000;
CREATE TEMP TABLE pgp0 AS SELECT i, pgp_sym_encrypt(mn::text, 'secret', 's2k-mode=0') AS c FROM input;
CREATE TEMP TABLE raw AS SELECT i, encrypt(convert_to(mn::text, 'UTF8'), '0123456789abcdef0123456789abcdef'::bytea, 'aes') AS c FROM input;
ANALYZE input;

CREATE FUNCTION pg_temp.ms(q text, runs int DEFAULT 3) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; best numeric := NULL; d numeric;
BEGIN
    FOR r IN 1..runs LOOP
        t0 := clock_timestamp();
        EXECUTE q;
        d := extract(epoch FROM clock_timestamp() - t0) * 1000;
        best := least(coalesce(best, d), d);
    END LOOP;
    RETURN best;
END $$;

CREATE TEMP TABLE result (name text, rows bigint, ms numeric);
INSERT INTO result VALUES
  ('scan only',                                    :n, pg_temp.ms('SELECT count(mn) FROM input')),
  ('ledger.seal',                                  :n, pg_temp.ms($$SELECT count(ledger.seal(mn, 'p:' || i)) FROM input$$)),
  ('pgp_sym_encrypt (defaults)',                   2000, pg_temp.ms($$SELECT count(pgp_sym_encrypt(mn::text, 'secret')) FROM input WHERE i <= 2000$$, 1)),
  ('pgp_sym_encrypt (s2k-mode=0)',                 :n, pg_temp.ms($$SELECT count(pgp_sym_encrypt(mn::text, 'secret', 's2k-mode=0')) FROM input$$, 1)),
  ('pgcrypto encrypt (raw AES)',                   :n, pg_temp.ms($$SELECT count(encrypt(convert_to(mn::text, 'UTF8'), '0123456789abcdef0123456789abcdef'::bytea, 'aes')) FROM input$$)),
  ('scan only (sealed)',                           :n, pg_temp.ms('SELECT count(s) FROM sealed')),
  ('open without audit (ledger.mask)',             :n, pg_temp.ms($$SELECT count(ledger.mask(s, 'p:' || i)) FROM sealed$$)),
  ('pgp_sym_decrypt (defaults)',                   2000, pg_temp.ms($$SELECT count(pgp_sym_decrypt(c, 'secret')) FROM pgp$$, 1)),
  ('pgp_sym_decrypt (s2k-mode=0)',                 :n, pg_temp.ms($$SELECT count(pgp_sym_decrypt(c, 'secret')) FROM pgp0$$, 1)),
  ('pgcrypto decrypt (raw AES)',                   :n, pg_temp.ms($$SELECT count(decrypt(c, '0123456789abcdef0123456789abcdef'::bytea, 'aes')) FROM raw$$)),
  ('ledger.blind_index (HMAC-SHA256)',             :n, pg_temp.ms('SELECT count(ledger.blind_index(mn)) FROM input')),
  ('pgcrypto hmac sha256',                         :n, pg_temp.ms($$SELECT count(hmac(mn::text, 'key', 'sha256')) FROM input$$)),
  ('ledger.reveal (audited, 2000 values)',         2000, pg_temp.ms($$SELECT count(ledger.reveal(s, 'p:' || i, 'bench')) FROM sealed WHERE i <= 2000$$, 1));

\pset format unaligned
\pset tuples_only on
\pset fieldsep '|'
SELECT name, rows, round(ms, 1) FROM result;
