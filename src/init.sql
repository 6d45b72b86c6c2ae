-- mynumber_ledger: 児童手当等支給台帳 with the protections of its 特定個人情報保護評価.
-- This file opens the install script; the Makefile appends the other src/*.sql files
-- in the order it declares.

\echo Use "CREATE EXTENSION mynumber_ledger" to load this file. \quit

COMMENT ON SCHEMA ledger IS '児童手当等支給台帳 (mynumber_ledger): ledger tables, number types and their protections';

-- The schema is created by CREATE EXTENSION from the control file.  Nobody but its owner
-- creates objects in it; everybody may name the types in it.
REVOKE ALL ON SCHEMA ledger FROM PUBLIC;
GRANT USAGE ON SCHEMA ledger TO PUBLIC;

-- Text that says nothing: empty, or only white space (ASCII or the ideographic space U+3000).
-- A purpose, a reason or a legal basis must say something.
CREATE FUNCTION ledger._is_blank(t text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT t IS NULL OR pg_catalog.btrim(t, E' \t\n\r\f\v\u3000') = ''
$$;
COMMENT ON FUNCTION ledger._is_blank(text) IS '空欄の判定 (internal): empty or only white space, the ideographic space included';
