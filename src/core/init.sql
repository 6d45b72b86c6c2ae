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

-- ---------------------------------------------------------------------------------------
-- Shared by every part: the staff role, the municipality code, today, the DBA check, and
-- the helpers of runs that commit as they go (retention, payments).
-- ---------------------------------------------------------------------------------------

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_staff') THEN
        CREATE ROLE ledger_staff NOLOGIN;
    END IF;
END $$;
COMMENT ON ROLE ledger_staff IS '職員ロール: every active staff member; table privileges, rows by row-level security';

-- 団体コード: 5 digits and a check digit (11 - weighted sum mod 11, last digit).
CREATE FUNCTION ledger.municipality_code_is_valid(code text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    SELECT code ~ '^[0-9]{6}$'
       AND (11 - (6 * substr(code, 1, 1)::int + 5 * substr(code, 2, 1)::int + 4 * substr(code, 3, 1)::int
                + 3 * substr(code, 4, 1)::int + 2 * substr(code, 5, 1)::int) % 11) % 10
           = substr(code, 6, 1)::int;
END;
COMMENT ON FUNCTION ledger.municipality_code_is_valid(text) IS '団体コードの検査: six digits whose last is the check digit';

CREATE DOMAIN ledger.municipality_code AS text
    CONSTRAINT municipality_code_check CHECK (ledger.municipality_code_is_valid(VALUE));
COMMENT ON DOMAIN ledger.municipality_code IS '団体コード (地方公共団体コード, 6 digits with check digit); leads every ledger key';

-- A role's name and whether it is a superuser, by oid (the callers of the internal twins
-- pass the calling role's oid): what pg_roles shows every role, so PUBLIC keeps EXECUTE.
-- An oid that is no role is no superuser and has no name.  C (src/core/roles.c): read from
-- the system cache, not planned at each of the many calls a gated function makes.
CREATE FUNCTION ledger._role_name(role_oid oid) RETURNS name
    AS 'MODULE_PATHNAME', 'role_name_of' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ledger._role_name(oid) IS 'ロール名 (internal): the name of the role with this oid, NULL for none';
CREATE FUNCTION ledger._is_superuser(role_oid oid) RETURNS boolean
    AS 'MODULE_PATHNAME', 'role_is_superuser' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ledger._is_superuser(oid) IS 'スーパーユーザーの確認 (internal): whether the role with this oid is a superuser (false for none)';

-- Today, where staff validity dates are counted.
CREATE FUNCTION ledger._today() RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT (pg_catalog.statement_timestamp() AT TIME ZONE pg_catalog.current_setting('ledger.time_zone'))::date;
END;
REVOKE ALL ON FUNCTION ledger._today() FROM PUBLIC;
COMMENT ON FUNCTION ledger._today() IS '本日 (in ledger.time_zone, at the start of the statement)';

-- Refuses (42501) unless caller is a superuser or a member of ledger_dba; what names the act.
CREATE FUNCTION ledger._require_dba(caller oid, what text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT ledger._is_superuser(caller)
       AND NOT pg_catalog.pg_has_role(caller, 'ledger_dba', 'MEMBER') THEN
        RAISE EXCEPTION 'permission denied: only members of ledger_dba %', what
            USING ERRCODE = '42501', HINT = 'Ask the 特定個人情報ファイル管理者 (a member of ledger_dba), or schedule it as a superuser.';
    END IF;
END $$;
REVOKE ALL ON FUNCTION ledger._require_dba(oid, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._require_dba(oid, text) IS '特定個人情報ファイル管理者の確認 (internal): error 42501 unless ledger_dba or superuser';

-- Runs that commit as they go (retention, payments) hold a 'running' row instead of an advisory
-- lock.  Such a row is stale when the session that started it is gone, or is this very session
-- (the run failed here: nothing runs two of them at once in one session).
CREATE FUNCTION ledger._backend_start() RETURNS timestamptz
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT a.backend_start FROM pg_catalog.pg_stat_activity a WHERE a.pid = pg_catalog.pg_backend_pid();
END;
REVOKE ALL ON FUNCTION ledger._backend_start() FROM PUBLIC;
COMMENT ON FUNCTION ledger._backend_start() IS 'このセッションの開始日時 (internal)';

-- What a run records as its job: the client's application_name (pg_cron sets one), else the backend.
CREATE FUNCTION ledger._job_name() RETURNS text
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT COALESCE(NULLIF(pg_catalog.current_setting('application_name'), ''), 'backend ' || pg_catalog.pg_backend_pid());
END;
REVOKE ALL ON FUNCTION ledger._job_name() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger._job_name() TO ledger_staff;
COMMENT ON FUNCTION ledger._job_name() IS 'ジョブ名 (internal): application_name, else the backend';

CREATE FUNCTION ledger._run_session_gone(pid integer, started timestamptz) RETURNS boolean
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT (_run_session_gone.pid = pg_catalog.pg_backend_pid() AND started IS NOT DISTINCT FROM ledger._backend_start())
        OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a
                       WHERE a.pid = _run_session_gone.pid AND a.backend_start IS NOT DISTINCT FROM started);
END;
REVOKE ALL ON FUNCTION ledger._run_session_gone(integer, timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION ledger._run_session_gone(integer, timestamptz) IS
    '実行の中断判定 (internal): the session that started a run is gone, or is this one';
