-- mynumber_ledger: 児童手当等支給台帳 with the protections of its 特定個人情報保護評価.
-- This file opens the install script; the Makefile appends the other src/*.sql files
-- in the order it declares.

\echo Use "CREATE EXTENSION mynumber_ledger" to load this file. \quit

COMMENT ON SCHEMA ledger IS '児童手当等支給台帳 (mynumber_ledger): ledger tables, number types and their protections';

-- The schema is created by CREATE EXTENSION from the control file.  Nobody but its owner
-- creates objects in it; everybody may name the types in it.
REVOKE ALL ON SCHEMA ledger FROM PUBLIC;
GRANT USAGE ON SCHEMA ledger TO PUBLIC;

-- Text that says nothing: empty, or only characters that show nothing: white space,
-- control and format characters (zero-width spaces and joiners, direction marks, the soft
-- hyphen, variation selectors, tags), and the fillers that render blank (Hangul fillers,
-- the braille blank, U+3000).  A purpose, a reason or a legal basis must say something.
CREATE FUNCTION ledger._is_blank(t text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF t IS NULL THEN
        RETURN true;
    END IF;
    -- (the characters are written as escapes: an EUC_JP database could not hold them as
    -- literals, and holds none of them but ASCII and U+3000 anyway)
    IF pg_catalog.current_setting('server_encoding') = 'UTF8' THEN
        RETURN t ~ '^[\u0001-\u0020\u007f-\u00a0\u00ad\u034f\u061c\u115f\u1160\u1680\u17b4\u17b5\u180b-\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u2800\u3000\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb\U000e0000-\U000e007f\U000e0100-\U000e01ef]*$';
    END IF;
    RETURN pg_catalog.translate(t, E'\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x20\x7f　', '') = '';
END $$;
COMMENT ON FUNCTION ledger._is_blank(text) IS '空欄の判定 (internal): empty or only characters that show nothing (white space, control and format characters, blank fillers)';
