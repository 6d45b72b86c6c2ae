-- mynumber_ledger: 児童手当等支給台帳 with the protections of its 特定個人情報保護評価.
-- This file opens the install script; the Makefile appends the other src/*.sql files
-- in the order it declares.

\echo Use "CREATE EXTENSION mynumber_ledger" to load this file. \quit

COMMENT ON SCHEMA ledger IS '児童手当等支給台帳 (mynumber_ledger): ledger tables, number types and their protections';

-- The schema is created by CREATE EXTENSION from the control file.  Nobody but its owner
-- creates objects in it; everybody may name the types in it.
REVOKE ALL ON SCHEMA ledger FROM PUBLIC;
GRANT USAGE ON SCHEMA ledger TO PUBLIC;

-- Text that says nothing: empty, or only white space and invisible characters (ASCII white
-- space, U+00A0, U+1680, U+2000-U+200D, U+2028, U+2029, U+202F, U+205F, U+2060, U+3000,
-- U+FEFF).  A purpose, a reason or a legal basis must say something.
CREATE FUNCTION ledger._is_blank(t text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF t IS NULL THEN
        RETURN true;
    END IF;
    -- (the characters are made at run time: an EUC_JP database could not hold them all as
    -- literals of the script)
    IF pg_catalog.current_setting('server_encoding') = 'UTF8' THEN
        RETURN pg_catalog.btrim(t, E' \t\n\r\f\v' || (SELECT pg_catalog.string_agg(pg_catalog.chr(c), '')
            FROM pg_catalog.unnest(ARRAY[160, 5760, 8192, 8193, 8194, 8195, 8196, 8197, 8198, 8199, 8200, 8201, 8202,
                                         8203, 8204, 8205, 8232, 8233, 8239, 8287, 8288, 12288, 65279]) c)) = '';
    END IF;
    RETURN pg_catalog.btrim(t, E' \t\n\r\f\v　') = '';
END $$;
COMMENT ON FUNCTION ledger._is_blank(text) IS '空欄の判定 (internal): empty or only white space, the ideographic space included';
