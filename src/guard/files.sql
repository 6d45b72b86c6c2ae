-- files: 特定個人情報ファイル - the registered files, and the DDL guard that refuses any new
-- place able to hold a My Number outside them (番号法 第29条).  files.c is the event trigger;
-- the rule itself is the SQL below.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_dba') THEN
        CREATE ROLE ledger_dba NOLOGIN;
    END IF;
END $$;
COMMENT ON ROLE ledger_dba IS '特定個人情報ファイル管理者: may register files that hold My Numbers';
-- The blind index of the DBA's own registered files (sealed.sql revoked it from PUBLIC).
GRANT EXECUTE ON FUNCTION ledger.blind_index(ledger.mynumber) TO ledger_dba;

CREATE TABLE ledger.registered_file (
    schema_name   name NOT NULL,
    table_name    name NOT NULL,
    file_name     text NOT NULL,
    affair_code   text NOT NULL REFERENCES ledger.affair,
    legal_basis   text NOT NULL,
    registered_by name NOT NULL,
    registered_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (schema_name, table_name)
);
COMMENT ON TABLE ledger.registered_file IS
    '特定個人情報ファイル: tables (by name, registered before they are created) allowed to hold My Numbers';
COMMENT ON COLUMN ledger.registered_file.schema_name IS 'スキーマ名';
COMMENT ON COLUMN ledger.registered_file.table_name IS 'テーブル名';
COMMENT ON COLUMN ledger.registered_file.file_name IS '特定個人情報ファイル名 (as in the PIA)';
COMMENT ON COLUMN ledger.registered_file.affair_code IS '事務コード';
COMMENT ON COLUMN ledger.registered_file.legal_basis IS '根拠法令';
COMMENT ON COLUMN ledger.registered_file.registered_by IS '登録者';
COMMENT ON COLUMN ledger.registered_file.registered_at IS '登録日時';
REVOKE ALL ON ledger.registered_file FROM PUBLIC;
GRANT SELECT ON ledger.registered_file TO PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('ledger.registered_file', '');
SELECT ledger.audit_table('ledger.registered_file');

-- Can a value of this type hold a My Number?  Through domains, arrays, ranges and composite
-- types, down to ledger.mynumber or ledger.sealed_mynumber (法人番号 is public: not counted).
CREATE FUNCTION ledger.type_holds_mynumber(typ regtype) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    WITH RECURSIVE reach(t) AS (
        SELECT typ::oid
        UNION
        SELECT x.next
        FROM reach r
        JOIN pg_catalog.pg_type ty ON ty.oid = r.t
        CROSS JOIN LATERAL (
            SELECT ty.typbasetype WHERE ty.typtype = 'd'
            UNION ALL SELECT ty.typelem WHERE ty.typelem <> 0
            UNION ALL SELECT rg.rngsubtype FROM pg_catalog.pg_range rg WHERE rg.rngtypid = ty.oid
            UNION ALL SELECT a.atttypid FROM pg_catalog.pg_attribute a
                      WHERE ty.typtype = 'c' AND a.attrelid = ty.typrelid AND a.attnum > 0 AND NOT a.attisdropped
        ) AS x(next)
    )
    SELECT EXISTS (SELECT 1 FROM reach WHERE t IN ('ledger.mynumber'::regtype, 'ledger.sealed_mynumber'::regtype));
END;
COMMENT ON FUNCTION ledger.type_holds_mynumber(regtype) IS
    '個人番号を保持できる型か: through domains, arrays, ranges and composite types';

-- What the DDL that just ended created or changed that can hold a My Number outside the
-- registered files: one row per refusal, with the reason.  Called by the event trigger.
CREATE FUNCTION ledger._unregistered_number_holders()
RETURNS TABLE (object_identity text, reason text)
LANGUAGE sql STABLE
BEGIN ATOMIC
    WITH RECURSIVE cmd AS (
        SELECT c.objid, c.object_type, c.command_tag, c.object_identity
        FROM pg_catalog.pg_event_trigger_ddl_commands() c
    ),
    -- types the commands created or changed (a composite type is reported by its pg_class row)
    changed_type AS (
        SELECT ty.oid FROM cmd JOIN pg_catalog.pg_type ty
          ON (cmd.object_type IN ('type', 'domain') AND ty.oid = cmd.objid)
          OR (cmd.object_type = 'composite type' AND (ty.typrelid = cmd.objid OR ty.oid = cmd.objid))
    ),
    -- every relation whose columns the commands may have changed: the relations named, all
    -- tables of a created or renamed schema, tables typed by or using a changed type, and the
    -- inheritance descendants of all of these (a column added to a parent reaches them)
    touched(oid) AS (
        SELECT cmd.objid FROM cmd
         WHERE cmd.object_type IN ('table', 'table column', 'materialized view', 'foreign table')
        UNION
        SELECT cl.oid FROM pg_catalog.pg_class cl JOIN cmd ON cmd.object_type = 'schema' AND cl.relnamespace = cmd.objid
        UNION
        SELECT cl.oid FROM pg_catalog.pg_class cl WHERE cl.reloftype IN (SELECT oid FROM changed_type)
        UNION
        SELECT a.attrelid FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid
         WHERE a.attnum > 0 AND (ty.oid IN (SELECT oid FROM changed_type) OR ty.typelem IN (SELECT oid FROM changed_type)
                                 OR ty.typbasetype IN (SELECT oid FROM changed_type))
        UNION
        SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN touched t ON i.inhparent = t.oid
    ),
    rel AS (
        SELECT DISTINCT cl.oid, cl.relname, n.nspname, cl.relkind
        FROM touched t
        JOIN pg_catalog.pg_class cl ON cl.oid = t.oid
        JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace
        WHERE cl.relkind IN ('r', 'p', 'm', 'f') AND n.nspname <> 'ledger'
    )
    SELECT pg_catalog.quote_ident(rel.nspname) || '.' || pg_catalog.quote_ident(rel.relname) ||
           '.' || pg_catalog.quote_ident(a.attname),
           'column can hold a My Number and the table is not a registered file'
    FROM rel
    JOIN pg_catalog.pg_attribute a ON a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE ledger.type_holds_mynumber(a.atttypid)
      AND NOT EXISTS (SELECT 1 FROM ledger.registered_file f
                      WHERE f.schema_name = rel.nspname AND f.table_name = rel.relname
                        AND rel.relkind IN ('r', 'p'))
    UNION ALL
    SELECT DISTINCT cmd.object_identity, 'a type that can hold a My Number is reserved to the extension'
    FROM cmd
    JOIN pg_catalog.pg_type ty
      ON (cmd.object_type IN ('type', 'domain') AND ty.oid = cmd.objid)
      OR (cmd.object_type = 'composite type' AND (ty.typrelid = cmd.objid OR ty.oid = cmd.objid))
    JOIN pg_catalog.pg_namespace n ON n.oid = ty.typnamespace
    WHERE n.nspname <> 'ledger' AND ledger.type_holds_mynumber(ty.oid)
    UNION ALL
    SELECT cmd.object_identity, 'extended statistics would keep sampled My Numbers'
    FROM cmd
    JOIN pg_catalog.pg_statistic_ext s ON s.oid = cmd.objid
    WHERE cmd.object_type = 'statistics object'
      AND (EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                   WHERE a.attrelid = s.stxrelid AND a.attnum = ANY (s.stxkeys)
                     AND ledger.type_holds_mynumber(a.atttypid))
           OR s.stxexprs IS NOT NULL AND EXISTS (
                   SELECT 1 FROM pg_catalog.pg_attribute a
                   WHERE a.attrelid = s.stxrelid AND a.attnum > 0 AND NOT a.attisdropped
                     AND ledger.type_holds_mynumber(a.atttypid)));
END;
REVOKE ALL ON FUNCTION ledger._unregistered_number_holders() FROM PUBLIC;
COMMENT ON FUNCTION ledger._unregistered_number_holders() IS
    'ファイル作成制限の判定 (internal): what the ending DDL made that can hold a My Number outside the registered files';

CREATE FUNCTION ledger._file_guard() RETURNS event_trigger
    AS 'MODULE_PATHNAME', 'files_guard' LANGUAGE C;
COMMENT ON FUNCTION ledger._file_guard() IS
    'ファイル作成制限 (番号法第29条): refuses DDL that makes a place for My Numbers outside the registered files';

CREATE EVENT TRIGGER mnl_file_guard ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE', 'CREATE SCHEMA', 'ALTER SCHEMA',
                 'CREATE MATERIALIZED VIEW', 'CREATE FOREIGN TABLE', 'ALTER FOREIGN TABLE',
                 'CREATE TYPE', 'ALTER TYPE', 'CREATE DOMAIN', 'ALTER DOMAIN', 'CREATE STATISTICS')
    EXECUTE FUNCTION ledger._file_guard();
COMMENT ON EVENT TRIGGER mnl_file_guard IS 'ファイル作成制限 (番号法第29条): see ledger._file_guard()';


-- Registering a file: a member of ledger_dba (or a superuser), recorded in the audit trail.
CREATE FUNCTION ledger._register_file(caller oid, schema_name name, table_name name, file_name text,
                                      legal_basis text, affair text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM ledger._require_dba(caller, 'register files that hold My Numbers');
    IF ledger._is_blank(file_name) OR ledger._is_blank(legal_basis) THEN
        RAISE EXCEPTION 'a registered file needs its name and legal basis' USING ERRCODE = '22023',
            HINT = 'Give the file''s name as in the PIA and the article of law that allows it.';
    END IF;
    INSERT INTO ledger.registered_file (schema_name, table_name, file_name, affair_code, legal_basis, registered_by)
    VALUES (schema_name, table_name, file_name, affair, legal_basis,
            ledger._role_name(caller));
END $$;
REVOKE ALL ON FUNCTION ledger._register_file(oid, name, name, text, text, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._register_file(oid, name, name, text, text, text) IS
    '特定個人情報ファイルの登録 (internal twin of ledger.register_file)';

CREATE FUNCTION ledger.register_file(schema_name name, table_name name, file_name text, legal_basis text,
                                     affair text DEFAULT 'child_allowance')
RETURNS void AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.register_file(name, name, text, text, text) IS
    '特定個人情報ファイルの登録: lets the named table (existing or not yet created) hold My Numbers; ledger_dba only, recorded';
