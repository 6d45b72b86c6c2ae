-- ledger.corporate_number (法人番号): 13 digits, check digit first.
\set VERBOSITY terse
SET client_min_messages = warning;

CREATE FUNCTION regress_try_corporate(input text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    RETURN input::ledger.corporate_number::text;
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

SELECT input, regress_try_corporate(input) AS stored, ledger.corporate_number_is_valid(input) AS valid
FROM (VALUES ('7123456789012'), ('7-1234-5678-9012'), ('7 1234 5678 9012'),
             ('７１２３４５６７８９０１２'), ('７ー１２３４ー５６７８ー９０１２'),
             ('  7123456789012 '), ('9000000000000')) AS v(input);

\set rejected `cat "$PG_ABS_SRCDIR/test/fixtures/rejected_corporate_numbers.txt"`
SELECT n, regress_try_corporate(input) AS refused, ledger.corporate_number_is_valid(input) AS valid
FROM unnest(string_to_array(rtrim(:'rejected', E'\n'), E'\n')) WITH ORDINALITY AS r(input, n);
SELECT regress_try_corporate('');

\set VERBOSITY default
SELECT '7123456789013'::ledger.corporate_number;
\set VERBOSITY terse

SELECT ledger.corporate_number_check_digit('123456789012') AS worked_example;
SELECT ledger.corporate_number_check_digit('12345678901');

SELECT typlen, typbyval FROM pg_type WHERE oid = 'ledger.corporate_number'::regtype;
CREATE TABLE regress_company (cn ledger.corporate_number PRIMARY KEY);
INSERT INTO regress_company VALUES ('7-1234-5678-9012'), ('9000000000000');
INSERT INTO regress_company VALUES ('7123456789012');
SELECT cn, cn::text AS as_text FROM regress_company ORDER BY 1 DESC;
DROP TABLE regress_company;
DROP FUNCTION regress_try_corporate(text);
