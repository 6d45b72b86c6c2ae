-- ledger.mynumber (個人番号): what is accepted, what is refused and why, and the
-- operators.  Rejected inputs come from test/fixtures/rejected_mynumbers.txt, which
-- test/check_log.sh also reads to prove none of them reached the server log.
\set VERBOSITY terse
SET client_min_messages = warning;

-- Every refusal as "SQLSTATE: message", so this file shows both.
CREATE FUNCTION regress_try_mynumber(input text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    RETURN input::ledger.mynumber::text;
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- The worked example of DOMAIN.md and the forms people type.
SELECT input, regress_try_mynumber(input) AS stored, ledger.mynumber_is_valid(input) AS valid
FROM (VALUES ('123456789018'), ('1234 5678 9018'), ('1234-5678-9018'),
             ('１２３４５６７８９０１８'), ('１２３４　５６７８　９０１８'),
             ('1234－5678－9018'), ('1234‐5678‐9018'), ('1234‑5678‑9018'),
             ('1234‒5678‒9018'), ('1234–5678–9018'), ('1234—5678—9018'),
             ('1234―5678―9018'), ('1234−5678−9018'), ('1234ー5678ー9018'),
             ('１２３４-５６７８-９０１８'), ('  123456789018  '), (E'\t123456789018\n'),
             ('　123456789018　'), ('271828182840'), ('271828182890')) AS v(input);

-- Refused: wrong check digit, length, character, grouping, separators, all zeros.
\set rejected `cat "$PG_ABS_SRCDIR/test/fixtures/rejected_mynumbers.txt"`
SELECT n, regress_try_mynumber(input) AS refused, ledger.mynumber_is_valid(input) AS valid
FROM unnest(string_to_array(rtrim(:'rejected', E'\n'), E'\n')) WITH ORDINALITY AS r(input, n);
SELECT regress_try_mynumber(''), regress_try_mynumber('   '), regress_try_mynumber('　');

-- The message says what is wrong and never repeats the digits; the hint says what to do.
\set VERBOSITY default
SELECT '057830862710'::ledger.mynumber;
SELECT '9510 6933 305'::ledger.mynumber;
SELECT '6579 3505-7018'::ledger.mynumber;
SELECT '000000000000'::ledger.mynumber;
\set VERBOSITY terse

-- All zeros is a superuser setting, off by default.
SHOW ledger.allow_all_zero_mynumber;
SET ledger.allow_all_zero_mynumber = on;
SELECT '000000000000'::ledger.mynumber, ledger.mynumber_is_valid('0000 0000 0000');
RESET ledger.allow_all_zero_mynumber;
CREATE ROLE regress_mn_clerk;
SET ROLE regress_mn_clerk;
SET ledger.allow_all_zero_mynumber = on;
RESET ROLE;
DROP ROLE regress_mn_clerk;

-- NULL in, NULL out.
SELECT NULL::text::ledger.mynumber IS NULL AS null_cast, ledger.mynumber_is_valid(NULL) IS NULL AS null_valid;

-- Check digit of a base, and its refusals.
SELECT ledger.mynumber_check_digit('12345678901') AS worked_example,
       ledger.mynumber_check_digit('27182818284') AS remainder_one,
       ledger.mynumber_check_digit('１２３４５６７８９０１') AS full_width;
SELECT ledger.mynumber_check_digit('1234567890');
SELECT ledger.mynumber_check_digit('1234-5678901');

-- Masked display.
SELECT ledger.mynumber_mask('123456789018');
SELECT ledger.mynumber_mask('000000000019'::ledger.mynumber);

-- Storage and comparison.
SELECT typlen, typbyval, typalign, typstorage FROM pg_type WHERE oid = 'ledger.mynumber'::regtype;
SELECT pg_column_size('123456789018'::ledger.mynumber);
SELECT a.x, b.y, a.x = b.y AS eq, a.x <> b.y AS ne, a.x < b.y AS lt, a.x <= b.y AS le,
       a.x > b.y AS gt, a.x >= b.y AS ge
FROM (VALUES ('123456789018'::ledger.mynumber), ('271828182840')) a(x),
     (VALUES ('123456789018'::ledger.mynumber), ('271828182840')) b(y)
ORDER BY 1, 2;

-- Casts: from text and varchar by assignment; to text only explicitly.
CREATE TABLE regress_person (mn ledger.mynumber PRIMARY KEY, note text);
INSERT INTO regress_person VALUES ('1234-5678-9018', 'typed with hyphens');
INSERT INTO regress_person VALUES ('271828182840'::varchar, 'varchar');
INSERT INTO regress_person VALUES ('271828182840', 'duplicate');
INSERT INTO regress_person (mn) VALUES ('057830862711');
PREPARE regress_ins(text) AS INSERT INTO regress_person (mn) VALUES ($1);
EXECUTE regress_ins('２７１８ ２８１８ ２８９０');
EXECUTE regress_ins('057830862712');
CREATE TABLE regress_leak (t text);
INSERT INTO regress_leak SELECT mn FROM regress_person;
INSERT INTO regress_leak SELECT mn::text FROM regress_person;
SELECT mn, mn::text AS as_text, mn::varchar AS as_varchar, note FROM regress_person ORDER BY mn;
UPDATE regress_person SET mn = '057830862713' WHERE note = 'varchar';
SELECT count(*) FROM regress_person WHERE mn = '１２３４ ５６７８ ９０１８';
-- A refused line in COPY: the client is told which line; the server log gets neither the
-- line (CONTEXT) nor the statement (test/check_log.sh proves it).
\set VERBOSITY default
COPY regress_person (mn) FROM stdin;
057830862714
\.
\set VERBOSITY terse
SELECT count(*) FROM regress_person;
DROP TABLE regress_person, regress_leak;
DROP FUNCTION regress_try_mynumber(text);

-- test/check_log.sh looks for this statement in the server log: it proves that failing
-- statements were being logged while the refusals above were not.
SELECT 1 / 0 AS regress_log_canary;
