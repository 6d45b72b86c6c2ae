-- Baseline for bench/numbers: the check-digit validation a municipal system would write in
-- PL/pgSQL without this extension (12 ASCII digits only, no full-width or grouped input).
CREATE OR REPLACE FUNCTION bench_mynumber_plpgsql(input text) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    s integer := 0;
    r integer;
    n integer;
BEGIN
    IF input !~ '^[0-9]{12}$' THEN
        RAISE EXCEPTION 'invalid My Number' USING ERRCODE = '22P02';
    END IF;
    FOR n IN 1..11 LOOP
        s := s + substr(input, 12 - n, 1)::integer * CASE WHEN n <= 6 THEN n + 1 ELSE n - 5 END;
    END LOOP;
    r := s % 11;
    IF (CASE WHEN r <= 1 THEN 0 ELSE 11 - r END) <> substr(input, 12, 1)::integer THEN
        RAISE EXCEPTION 'invalid My Number' USING ERRCODE = '22P02';
    END IF;
    RETURN input::bigint;
END $$;
