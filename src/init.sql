-- mynumber_ledger: 児童手当等支給台帳 with the protections of its 特定個人情報保護評価.
-- This file opens the install script; the Makefile appends the other src/*.sql files
-- in the order it declares.

\echo Use "CREATE EXTENSION mynumber_ledger" to load this file. \quit

COMMENT ON SCHEMA ledger IS '児童手当等支給台帳 (mynumber_ledger): ledger tables, number types and their protections';

-- The schema is created by CREATE EXTENSION from the control file.  Nobody but its owner
-- creates objects in it; everybody may name the types in it.
REVOKE ALL ON SCHEMA ledger FROM PUBLIC;
GRANT USAGE ON SCHEMA ledger TO PUBLIC;
