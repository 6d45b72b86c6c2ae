-- mynumber_ledger 0.1.0 → 0.2.0 (ALTER EXTENSION mynumber_ledger UPDATE).  The rules:
-- src/upgrade/README.md.  Runs in the ALTER EXTENSION's transaction; the library of 0.2.0
-- serves a 0.1.0 database until then (src/core/version.c).  Every change below is one a
-- fresh install of 0.2.0 has; the upgrade-path test (test/process/upgrade_path.sh) compares
-- the two object by object.
\echo Use "ALTER EXTENSION mynumber_ledger UPDATE TO '0.2.0'" to load this file. \quit

-- 1. 操作権限 gains disclose_access (本人開示).  The type is made anew: a value added to an
--    enum cannot be used in the transaction that added it, and the duty below uses it.
--    ledger._permitted_org_units reads the column (a function body of its own, BEGIN ATOMIC):
--    it is dropped around the change and made again in PL/pgSQL, whose plan a session keeps
--    (a SQL function's query was planned anew at every call of a gated function).
DROP FUNCTION ledger._permitted_org_units(name, text, text);
ALTER TYPE ledger.staff_action RENAME TO _staff_action_0_1_0;
CREATE TYPE ledger.staff_action AS ENUM
    ('read', 'write', 'reveal', 'approve', 'export', 'administer_staff', 'read_audit', 'disclose_access');
COMMENT ON TYPE ledger.staff_action IS
    '操作権限: read 閲覧, write 更新, reveal 番号表示, approve 決裁, export 抽出, administer_staff 職員管理, read_audit 監査ログ閲覧, disclose_access 本人開示 (who saw a person''s data)';
ALTER TABLE ledger.duty_permission
    ALTER COLUMN action TYPE ledger.staff_action USING action::text::ledger.staff_action;
DROP TYPE ledger._staff_action_0_1_0;
CREATE FUNCTION ledger._permitted_org_units(role name, action text, affair text,
                                            OUT staff_id bigint, OUT org_units integer[],
                                            OUT recheck_at timestamptz)
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    SELECT me.staff_id,
           COALESCE((SELECT pg_catalog.array_agg(DISTINCT o.org_unit_id)
                     FROM ledger.staff_duty sd
                     JOIN ledger.duty_permission dp
                       ON dp.duty_code = sd.duty_code AND dp.action::text = _permitted_org_units.action
                     JOIN ledger.org_unit o
                       ON o.municipality_code = me.municipality_code
                      AND (dp.scope = 'all' OR o.org_unit_id = me.org_unit_id)
                     WHERE sd.municipality_code = me.municipality_code
                       AND sd.staff_id = me.staff_id
                       AND sd.affair_code = _permitted_org_units.affair
                       AND sd.valid_from <= d.today
                       AND (sd.valid_until IS NULL OR sd.valid_until >= d.today)
                       AND me.retired_at IS NULL
                       AND me.valid_from <= d.today
                       AND (me.valid_until IS NULL OR me.valid_until >= d.today)),
                    '{}'),
           ((d.today + 1)::timestamp AT TIME ZONE pg_catalog.current_setting('ledger.time_zone'))
      INTO staff_id, org_units, recheck_at
    FROM (SELECT ledger._today() AS today) d
    LEFT JOIN ledger.staff me ON me.role_name = _permitted_org_units.role;
END $$;
REVOKE ALL ON FUNCTION ledger._permitted_org_units(name, text, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._permitted_org_units(name, text, text) IS
    '権限判定: the org units where a role may do an action for an affair today (cached by ledger.may)';
REVOKE ALL ON FUNCTION ledger._permitted_org_units(name, text, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._permitted_org_units(name, text, text) IS
    '権限判定: the org units where a role may do an action for an affair today (cached by ledger.may)';

-- 2. Tables: new ones, new columns (last, as the fresh install has them), new indexes.
CREATE TABLE ledger.reveal_serial (role_name name PRIMARY KEY);
REVOKE ALL ON ledger.reveal_serial FROM PUBLIC;
COMMENT ON TABLE ledger.reveal_serial IS '表示確認の直列化 (internal): a row per revealing staff member, locked while their quota is checked';
COMMENT ON COLUMN ledger.reveal_serial.role_name IS '職員ロール';

ALTER TABLE ledger.payment_run ADD COLUMN certifications_skipped integer NOT NULL DEFAULT 0;
COMMENT ON COLUMN ledger.payment_run.certifications_skipped IS 'ロック待ちで次回に回した認定 (rows another session held locked past ledger.job_lock_timeout: the next run prepares them)';

-- A provision request of 0.1.0 carried no permit: each gets a permit id of its own, expired
-- when it was received (such a request can no longer be answered; its record stays).
ALTER TABLE ledger.provision_request
    ADD COLUMN permit_id uuid,
    ADD COLUMN permit_expires_at timestamptz,
    ADD COLUMN answer_expires_at timestamptz;
UPDATE ledger.provision_request
   SET permit_id = pg_catalog.gen_random_uuid(), permit_expires_at = received_at
 WHERE permit_id IS NULL;
ALTER TABLE ledger.provision_request
    ALTER COLUMN permit_id SET NOT NULL,
    ALTER COLUMN permit_expires_at SET NOT NULL,
    ADD CONSTRAINT provision_request_permit_id_key UNIQUE (permit_id);
COMMENT ON COLUMN ledger.provision_request.permit_id IS '情報提供許可証ID (the requester''s permit, carried by the request; used once)';
COMMENT ON COLUMN ledger.provision_request.permit_expires_at IS '許可証の有効期限';
COMMENT ON COLUMN ledger.provision_request.answer_expires_at IS '提供内容の削除予定日時 (like inquiry results)';

CREATE INDEX exchange_record_permit ON ledger.exchange_record (permit_id) WHERE permit_id IS NOT NULL;
COMMENT ON INDEX ledger.exchange_record_permit IS '許可証による検索: a permit is used once';

-- 3. Functions and procedures: those whose signature changed are dropped and made anew;
--    the others replaced in place (owner, privileges and comment kept, restated where they
--    changed); new ones with their privileges and comment.

DROP FUNCTION ledger.audit_table(regclass,text[]);
DROP FUNCTION ledger.verify_audit(bigint,bytea);
DROP FUNCTION ledger.protect_table(regclass,name,text,text[]);
DROP FUNCTION ledger._receive_provision_request(oid,text,text,text,text,bigint);
DROP FUNCTION ledger.receive_provision_request(text,text,text,text,bigint);
DROP FUNCTION ledger._payment_run_progress(oid,bigint,integer,integer,bigint,integer,integer,integer,integer,text,bigint,boolean);
DROP FUNCTION ledger.payment_run_progress(bigint,integer,integer,bigint,integer,integer,integer,integer,text,bigint,boolean);

-- functions new or changed
CREATE OR REPLACE FUNCTION ledger._is_blank(t text)
 RETURNS boolean
 LANGUAGE plpgsql
 IMMUTABLE PARALLEL SAFE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
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
END $function$;
GRANT EXECUTE ON FUNCTION ledger._is_blank(text) TO PUBLIC;
COMMENT ON FUNCTION ledger._is_blank(text) IS '空欄の判定 (internal): empty or only characters that show nothing (white space, control and format characters, blank fillers)';

-- ledger._role_name and ledger._is_superuser: C (src/core/roles.c), read from the system cache
-- instead of planned at each call; the same answers.
CREATE OR REPLACE FUNCTION ledger._role_name(role_oid oid) RETURNS name
    AS 'MODULE_PATHNAME', 'role_name_of' LANGUAGE C STABLE PARALLEL SAFE;
GRANT EXECUTE ON FUNCTION ledger._role_name(oid) TO PUBLIC;
COMMENT ON FUNCTION ledger._role_name(oid) IS 'ロール名 (internal): the name of the role with this oid, NULL for none';

CREATE OR REPLACE FUNCTION ledger._is_superuser(role_oid oid) RETURNS boolean
    AS 'MODULE_PATHNAME', 'role_is_superuser' LANGUAGE C STABLE PARALLEL SAFE;
GRANT EXECUTE ON FUNCTION ledger._is_superuser(oid) TO PUBLIC;
COMMENT ON FUNCTION ledger._is_superuser(oid) IS 'スーパーユーザーの確認 (internal): whether the role with this oid is a superuser (false for none)';

CREATE OR REPLACE FUNCTION ledger._require_dba(caller oid, what text)
 RETURNS void
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
    IF NOT ledger._is_superuser(caller)
       AND NOT pg_catalog.pg_has_role(caller, 'ledger_dba', 'MEMBER') THEN
        RAISE EXCEPTION 'permission denied: only members of ledger_dba %', what
            USING ERRCODE = '42501', HINT = 'Ask the 特定個人情報ファイル管理者 (a member of ledger_dba), or schedule it as a superuser.';
    END IF;
END $function$;

CREATE OR REPLACE FUNCTION ledger._key_period(purpose text)
 RETURNS text
 LANGUAGE c
 IMMUTABLE PARALLEL SAFE STRICT
AS 'MODULE_PATHNAME', $function$keys_period_of$function$;
REVOKE ALL ON FUNCTION ledger._key_period(text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._key_period(text) IS '期間鍵の期間 (internal): the retention period of a period key''s purpose, NULL for any other purpose';

REVOKE ALL ON FUNCTION ledger.blind_index(ledger.mynumber) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.blind_index(ledger.mynumber) TO ledger_dba;

COMMENT ON FUNCTION ledger._reseal(ledger.sealed_mynumber,text) IS '再暗号化 (internal): the same number sealed again under the active key of its own key family; the number never leaves it';

CREATE OR REPLACE FUNCTION ledger._sealed_key_current(value ledger.sealed_mynumber)
 RETURNS boolean
 LANGUAGE c
 STRICT
AS 'MODULE_PATHNAME', $function$sealed_key_current$function$;
REVOKE ALL ON FUNCTION ledger._sealed_key_current(ledger.sealed_mynumber) FROM PUBLIC;
COMMENT ON FUNCTION ledger._sealed_key_current(ledger.sealed_mynumber) IS '現行鍵の確認 (internal): is the value under the active key of its own key family (a retention period''s key stays that period''s)?';

CREATE OR REPLACE PROCEDURE ledger.rekey(IN tab regclass, IN col name, IN context_sql text, IN batch_size integer DEFAULT 1000)
 LANGUAGE plpgsql
AS $procedure$
DECLARE
    started timestamptz := pg_catalog.clock_timestamp();
    n bigint;
    total bigint := 0;
    left_over bigint;
BEGIN
    IF batch_size < 1 THEN
        RAISE EXCEPTION 'batch_size must be positive' USING ERRCODE = '22023',
            HINT = 'Give the number of rows to re-seal per committed batch, e.g. 1000.';
    END IF;
    INSERT INTO ledger.rekey_progress VALUES (tab, col, started, started, 0, NULL, NULL);
    COMMIT;
    LOOP
        EXECUTE pg_catalog.format('UPDATE %s t SET %I = ledger._reseal(t.%I, %s) '
                       'WHERE (t.tableoid, t.ctid) IN (SELECT tableoid, ctid FROM %s '
                       'WHERE NOT ledger._sealed_key_current(%I) LIMIT $1 FOR UPDATE SKIP LOCKED)',
                       tab, col, col, context_sql, tab, col)
            USING batch_size;
        GET DIAGNOSTICS n = ROW_COUNT;
        total := total + n;
        EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s WHERE NOT ledger._sealed_key_current(%I)', tab, col)
            INTO left_over;
        UPDATE ledger.rekey_progress SET done = total, remaining = left_over, updated_at = pg_catalog.clock_timestamp(),
               finished_at = CASE WHEN n = 0 THEN pg_catalog.clock_timestamp() END
        WHERE relation = tab AND column_name = col AND started_at = started;
        RAISE NOTICE 'rekey %.%: % re-sealed, % left', tab, col, total, left_over;
        COMMIT;
        EXIT WHEN n = 0;
    END LOOP;
END $procedure$;

CREATE OR REPLACE FUNCTION ledger._audit_detach_before(cutoff timestamp with time zone)
 RETURNS text[]
 LANGUAGE c
 STRICT
 SET search_path TO 'pg_catalog', 'pg_temp'
AS 'MODULE_PATHNAME', $function$audit_detach_before$function$;

CREATE OR REPLACE FUNCTION ledger._audit_partitions_sql(months_ahead integer)
 RETURNS integer
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    first_month date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
    m date;
    part text;
    created integer := 0;
BEGIN
    FOR i IN 0..months_ahead LOOP
        m := first_month + make_interval(months => i);
        part := 'audit_event_' || to_char(m, 'YYYYMM');
        CONTINUE WHEN to_regclass(format('ledger.%I', part)) IS NOT NULL
            OR EXISTS (SELECT 1 FROM ledger.audit_checkpoint c WHERE part = ANY (c.detached));
        EXECUTE format('CREATE TABLE ledger.%I PARTITION OF ledger.audit_event '
                       'FOR VALUES FROM (%L) TO (%L)', part,
                       m::text || ' 00:00:00+00', (m + interval '1 month')::date::text || ' 00:00:00+00');
        EXECUTE format('CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON ledger.%I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION ledger.audit_trail_guard()', part);
        EXECUTE format('CREATE TRIGGER audit_event_no_dml BEFORE INSERT OR UPDATE OR DELETE ON ledger.%I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION ledger.audit_trail_guard()', part);
        EXECUTE format('ALTER TABLE ledger.%I ENABLE ALWAYS TRIGGER audit_event_no_truncate, '
                       'ENABLE ALWAYS TRIGGER audit_event_no_dml', part);
        EXECUTE format('COMMENT ON TABLE ledger.%I IS %L', part, '操作ログ ' || to_char(m, 'YYYY年MM月'));
        IF NOT EXISTS (SELECT 1 FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
                       WHERE d.classid = 'pg_class'::regclass AND d.objid = format('ledger.%I', part)::regclass
                         AND d.deptype = 'e' AND e.extname = 'mynumber_ledger') THEN
            EXECUTE format('ALTER EXTENSION mynumber_ledger ADD TABLE ledger.%I', part);
        END IF;
        created := created + 1;
    END LOOP;
    RETURN created;
END $function$;
REVOKE ALL ON FUNCTION ledger._audit_partitions_sql(integer) FROM PUBLIC;
COMMENT ON FUNCTION ledger._audit_partitions_sql(integer) IS '操作ログの月パーティション作成の本体 (internal): run by ledger._audit_add_partitions inside the guard''s bypass';

CREATE OR REPLACE FUNCTION ledger._audit_add_partitions(months_ahead integer DEFAULT 3)
 RETURNS integer
 LANGUAGE c
 STRICT
 SET search_path TO 'pg_catalog', 'pg_temp'
AS 'MODULE_PATHNAME', $function$audit_add_partitions$function$;
COMMENT ON FUNCTION ledger._audit_add_partitions(integer) IS '操作ログの月パーティション作成: creates this and the next months'' partitions with their guard triggers (internal; superuser)';

CREATE OR REPLACE FUNCTION ledger.audit_table(tab regclass, sensitive_columns text[] DEFAULT '{}'::text[], keep_columns text[] DEFAULT NULL::text[])
 RETURNS void
 LANGUAGE c
 SET search_path TO 'pg_catalog', 'pg_temp'
AS 'MODULE_PATHNAME', $function$audit_table$function$;
GRANT EXECUTE ON FUNCTION ledger.audit_table(regclass,text[],text[]) TO PUBLIC;
COMMENT ON FUNCTION ledger.audit_table(regclass,text[],text[]) IS '操作ログの対象登録: attaches the audit triggers to a table the caller owns; named sensitive columns are never recorded, and with keep_columns nothing is but the keys and those columns';

CREATE OR REPLACE FUNCTION ledger.verify_audit(digest_block_seq bigint DEFAULT NULL::bigint, digest_hash bytea DEFAULT NULL::bytea, digest_sealed_at timestamp with time zone DEFAULT NULL::timestamp with time zone, OUT block_seq bigint, OUT event_id bigint, OUT problem text)
 RETURNS SETOF record
 LANGUAGE c
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS 'MODULE_PATHNAME', $function$verify_audit$function$;
REVOKE ALL ON FUNCTION ledger.verify_audit(bigint,bytea,timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.verify_audit(bigint,bytea,timestamp with time zone) TO ledger_auditor;
COMMENT ON FUNCTION ledger.verify_audit(bigint,bytea,timestamp with time zone) IS '操作ログの検証: recomputes every record and block hash; returns the first break, or no row. Pass the digest kept outside (with its sealed_at) to detect removal of the newest blocks and records dated before it';

CREATE OR REPLACE FUNCTION ledger.audit_read_keys(row_keys text[])
 RETURNS SETOF text[]
 LANGUAGE c
 IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', $function$audit_read_keys$function$;
REVOKE ALL ON FUNCTION ledger.audit_read_keys(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.audit_read_keys(text[]) TO ledger_auditor;
COMMENT ON FUNCTION ledger.audit_read_keys(text[]) IS '読取り行の一覧: the row keys of a select record one by one, each as the row_key of a change record';

CREATE OR REPLACE FUNCTION ledger.audit_keys_contain(row_keys text[], row_key text[])
 RETURNS boolean
 LANGUAGE c
 IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', $function$audit_keys_contain$function$;
REVOKE ALL ON FUNCTION ledger.audit_keys_contain(text[],text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.audit_keys_contain(text[],text[]) TO ledger_auditor;
COMMENT ON FUNCTION ledger.audit_keys_contain(text[],text[]) IS '読取り行の照合: does the key set of a select record name the row with this key';

CREATE OR REPLACE FUNCTION ledger.may(action text, affair text, org_unit integer)
 RETURNS boolean
 LANGUAGE c
 STABLE PARALLEL SAFE LEAKPROOF COST 2
AS 'MODULE_PATHNAME', $function$perm_may$function$;

CREATE OR REPLACE FUNCTION ledger._duty_hint(action text)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
    SELECT pg_catalog.format('This needs a duty with the %s action (%s) for the org unit concerned; ask a staff administrator.',
        action, CASE action WHEN 'read' THEN '閲覧' WHEN 'write' THEN '更新' WHEN 'reveal' THEN '番号表示'
                            WHEN 'approve' THEN '決裁' WHEN 'export' THEN '抽出'
                            WHEN 'administer_staff' THEN '職員管理 (システム管理)' WHEN 'read_audit' THEN '監査ログ閲覧'
                            WHEN 'disclose_access' THEN '本人開示'
                            ELSE action END)
$function$;
REVOKE ALL ON FUNCTION ledger._duty_hint(text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._duty_hint(text) IS '拒否時の案内 (internal): the hint naming the duty an action needs';

CREATE OR REPLACE FUNCTION ledger._require(caller oid, action text, affair text, org_unit integer)
 RETURNS void
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
    IF ledger._is_superuser(caller) THEN
        RETURN;
    END IF;
    IF org_unit = ANY ((ledger._permitted_org_units(
            ledger._role_name(caller), action, affair)).org_units) THEN
        RETURN;
    END IF;
    -- the refusal names the action, never an attribute of the row (its org unit); the trail
    -- keeps the org unit for the auditor
    PERFORM ledger._record_denied(NULL, pg_catalog.format('refused: permission denied: %s on org unit %s for affair %s',
                                                          action, org_unit, affair));
    RAISE EXCEPTION 'permission denied: % for affair %', action, affair
        USING ERRCODE = '42501', HINT = ledger._duty_hint(action);
END $function$;

CREATE OR REPLACE FUNCTION ledger._require_other(caller oid, target name)
 RETURNS void
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
    IF ledger._is_superuser(caller) THEN
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = target
               AND pg_catalog.pg_has_role(caller, r.oid, 'MEMBER')) THEN
        RAISE EXCEPTION 'permission denied: a staff administrator cannot change their own duties or role'
            USING ERRCODE = '42501', HINT = 'Another administrator must do it (職務の分離).';
    END IF;
END $function$;

CREATE OR REPLACE FUNCTION ledger._sync_staff_role(sid bigint)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    s ledger.staff;
    active boolean;
    grp text;
    wanted boolean;
BEGIN
    SELECT * INTO STRICT s FROM ledger.staff WHERE staff_id = sid;
    active := s.retired_at IS NULL AND (s.valid_until IS NULL OR s.valid_until >= ledger._today());
    -- ledger_revealer is not granted: a ledger number is revealed only through
    -- ledger.reveal_person_number, which checks the reveal duty for the row's org unit.
    FOREACH grp IN ARRAY ARRAY['ledger_staff', 'ledger_auditor'] LOOP
        wanted := active AND (grp = 'ledger_staff' OR EXISTS (
            SELECT 1 FROM ledger.staff_duty sd JOIN ledger.duty_permission dp USING (duty_code)
            WHERE sd.staff_id = sid AND dp.action = 'read_audit'
              AND sd.valid_from <= ledger._today()
              AND (sd.valid_until IS NULL OR sd.valid_until >= ledger._today())));
        IF wanted = EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m
                            WHERE m.roleid = grp::regrole AND m.member = s.role_name::regrole) THEN
            CONTINUE;
        ELSIF wanted THEN
            EXECUTE format('GRANT %I TO %I', grp, s.role_name);
        ELSE
            EXECUTE format('REVOKE %I FROM %I', grp, s.role_name);
        END IF;
    END LOOP;
    IF NOT active THEN
        EXECUTE format('ALTER ROLE %I NOLOGIN', s.role_name);
        -- no membership survives: not of an extension role granted outside the registry
        -- (ledger_dba, ledger_revealer), nor of any other role; and no role (a pooled
        -- application role) can become the person any more
        FOR grp IN SELECT r.rolname FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles r ON r.oid = m.roleid
                    WHERE m.member = s.role_name::regrole LOOP
            EXECUTE format('REVOKE %I FROM %I CASCADE', grp, s.role_name);
        END LOOP;
        FOR grp IN SELECT r.rolname FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles r ON r.oid = m.member
                    WHERE m.roleid = s.role_name::regrole LOOP
            EXECUTE format('REVOKE %I FROM %I CASCADE', s.role_name, grp);
        END LOOP;
    END IF;
END $function$;

CREATE OR REPLACE FUNCTION ledger._sync_staff_roles(caller oid)
 RETURNS integer
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    sid bigint;
    n integer := 0;
BEGIN
    IF NOT ledger._is_superuser(caller) THEN
        PERFORM ledger._require(caller, 'administer_staff', 'child_allowance',
                                (SELECT org_unit_id FROM ledger.staff WHERE role_name =
                                    ledger._role_name(caller)));
    END IF;
    FOR sid IN SELECT staff_id FROM ledger.staff ORDER BY staff_id LOOP
        PERFORM ledger._sync_staff_role(sid);
        n := n + 1;
    END LOOP;
    RETURN n;
END $function$;

CREATE OR REPLACE FUNCTION ledger._register_staff(caller oid, role_name name, full_name text, org_unit integer, duties text[], valid_from date, valid_until date, affair text, login boolean)
 RETURNS bigint
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    muni text;
    r pg_catalog.pg_roles;
    sid bigint;
    d text;
    start date := COALESCE(valid_from, ledger._today());
BEGIN
    SELECT municipality_code INTO muni FROM ledger.org_unit o WHERE o.org_unit_id = org_unit;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'org unit % does not exist', org_unit USING ERRCODE = '23503',
            HINT = 'Add it to ledger.org_unit first.';
    END IF;
    PERFORM ledger._require(caller, 'administer_staff', affair, org_unit);
    IF duties IS NULL OR cardinality(duties) = 0 THEN
        RAISE EXCEPTION 'a staff member needs at least one duty' USING ERRCODE = '22023',
            HINT = 'Give duties such as ARRAY[''clerk''] (see ledger.duty).';
    END IF;
    FOREACH d IN ARRAY duties LOOP
        IF NOT EXISTS (SELECT 1 FROM ledger.duty WHERE duty_code = d) THEN
            RAISE EXCEPTION 'duty "%" does not exist', d USING ERRCODE = '23503',
                HINT = 'See ledger.duty for the defined duties.';
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM ledger.staff s WHERE s.role_name = _register_staff.role_name) THEN
        RAISE EXCEPTION 'role "%" is already registered as staff', role_name USING ERRCODE = '23505',
            HINT = 'One person, one role: a role is registered once and never reused after retirement.';
    END IF;
    SELECT * INTO r FROM pg_catalog.pg_roles WHERE rolname = role_name;
    IF FOUND THEN
        IF r.rolsuper OR r.rolbypassrls OR r.rolcreaterole OR r.rolreplication THEN
            RAISE EXCEPTION 'role "%" cannot be staff: it is a superuser or has BYPASSRLS, CREATEROLE or REPLICATION', role_name
                USING ERRCODE = '42501',
                      HINT = 'Staff roles are ordinary roles; give the person a role of their own.';
        END IF;
        RAISE EXCEPTION 'role "%" already exists', role_name USING ERRCODE = '42710',
            HINT = 'register_staff creates the person''s own new role; an existing role may have members or rights of its own.';
    END IF;
    EXECUTE format('CREATE ROLE %I %s', role_name, CASE WHEN login THEN 'LOGIN' ELSE 'NOLOGIN' END);
    -- a staff member's statements are not shown in pg_stat_activity (their text may hold a
    -- number before it is parsed and masked: docs/operations.md)
    EXECUTE format('ALTER ROLE %I SET track_activities = off', role_name);
    IF current_setting('ledger.staff_idle_session_timeout') <> '0' THEN
        EXECUTE format('ALTER ROLE %I SET idle_session_timeout = %L', role_name,
                       current_setting('ledger.staff_idle_session_timeout'));
    END IF;
    INSERT INTO ledger.staff (municipality_code, role_name, full_name, org_unit_id, valid_from, valid_until)
    VALUES (muni, role_name, full_name, org_unit, start, valid_until)
    RETURNING staff_id INTO sid;
    INSERT INTO ledger.staff_duty (municipality_code, staff_id, duty_code, affair_code, valid_from, valid_until)
    SELECT DISTINCT muni, sid, x, affair, start, valid_until FROM unnest(duties) AS x;
    PERFORM ledger._sync_staff_role(sid);
    RETURN sid;
END $function$;

CREATE OR REPLACE FUNCTION ledger._hold_condition(tab regclass, key_col text, person_col text, recipient_col text)
 RETURNS text
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
    SELECT pg_catalog.format(
        'h.lifted_at IS NULL AND (h.held_until IS NULL OR h.held_until >= ledger._today()) %s'
        'AND ((h.scope = ''table'' AND h.schema_name = %L AND h.table_name = %L)%s%s%s)',
        -- a table without the 団体コード (a DBA's own): a hold of any municipality names it
        CASE WHEN t.has_muni THEN 'AND h.municipality_code = o.municipality_code ' ELSE '' END,
        t.nspname, t.relname,
        CASE WHEN key_col <> '' THEN pg_catalog.format(
            ' OR (h.scope = ''record'' AND h.schema_name = %L AND h.table_name = %L AND h.record_key = o.%I)',
            t.nspname, t.relname, key_col) ELSE '' END,
        CASE WHEN person_col <> '' THEN pg_catalog.format(' OR (h.scope = ''person'' AND h.person_id = o.%I)', person_col)
             ELSE '' END,
        CASE WHEN recipient_col <> '' AND t.has_muni THEN pg_catalog.format(
            ' OR (h.scope = ''person'' AND h.person_id = (SELECT r.person_id FROM ledger.recipient r '
            'WHERE r.municipality_code = o.municipality_code AND r.recipient_id = o.%I))', recipient_col)
             -- rows that reach the person through their certification (額改定)
             WHEN t.has_cert AND t.has_muni THEN
            ' OR (h.scope = ''person'' AND h.person_id = (SELECT r.person_id FROM ledger.certification c'
            ' JOIN ledger.recipient r ON r.municipality_code = c.municipality_code AND r.recipient_id = c.recipient_id'
            ' WHERE c.municipality_code = o.municipality_code AND c.certification_id = o.certification_id))'
             ELSE '' END)
    FROM (SELECT n.nspname, c.relname,
                 EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid
                          AND a.attname = 'municipality_code' AND NOT a.attisdropped) AS has_muni,
                 c.relnamespace = 'ledger'::pg_catalog.regnamespace
                 AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid
                             AND a.attname = 'certification_id' AND NOT a.attisdropped)
                 AND c.relname <> 'certification' AS has_cert
          FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE c.oid = tab) t
$function$;
REVOKE ALL ON FUNCTION ledger._hold_condition(regclass,text,text,text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._hold_condition(regclass,text,text,text) IS '保存延長の条件 (internal): the SQL condition, over a row o, that an active legal hold names it';

CREATE OR REPLACE FUNCTION ledger._record_use(kind text, relation regclass, row_key text[], detail text)
 RETURNS void
 LANGUAGE c
AS 'MODULE_PATHNAME', $function$audit_record_use$function$;
REVOKE ALL ON FUNCTION ledger._record_use(text,regclass,text[],text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._record_use(text,regclass,text[],text) IS '利用の記録 (internal, owner only): a record of a gated function''s use of a person''s data, naming them, by the staff member it acts for';

CREATE OR REPLACE FUNCTION ledger._record_denied(relation regclass, detail text)
 RETURNS void
 LANGUAGE c
AS 'MODULE_PATHNAME', $function$audit_record_denied$function$;
REVOKE ALL ON FUNCTION ledger._record_denied(regclass,text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._record_denied(regclass,text) IS '拒否の記録 (internal): a denied event that survives the rollback of the refused statement';

CREATE OR REPLACE FUNCTION ledger._hold_guard()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    held bigint;
BEGIN
    IF TG_NARGS <> 3 OR TG_LEVEL <> 'STATEMENT' OR (TG_OP IN ('DELETE', 'UPDATE')) <> (TG_WHEN = 'AFTER')
       OR TG_NAME NOT IN ('mnl_rls_hold_delete', 'mnl_rls_hold_update', 'mnl_rls_hold_truncate') THEN
        RAISE EXCEPTION 'ledger._hold_guard() must be the AFTER DELETE / UPDATE or BEFORE TRUNCATE statement trigger protect_table creates'
            USING ERRCODE = '39P01', HINT = 'ledger.protect_table() creates it; it is not called directly.';
    END IF;
    -- the common case, at the cost of one probe: no hold is active anywhere
    IF NOT EXISTS (SELECT 1 FROM ledger.legal_hold h WHERE h.lifted_at IS NULL) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        EXECUTE pg_catalog.format('SELECT h.hold_id FROM mnl_old o JOIN ledger.legal_hold h ON %s LIMIT 1',
                                  ledger._hold_condition(TG_RELID, TG_ARGV[0], TG_ARGV[1], TG_ARGV[2])) INTO held;
    ELSIF TG_OP = 'UPDATE' THEN
        -- an UPDATE must not move a held row out from under its hold: its key, person,
        -- recipient and municipality stay as they were (the row is still there, unchanged
        -- in what the hold names)
        EXECUTE pg_catalog.format(
            'SELECT h.hold_id FROM mnl_old o JOIN ledger.legal_hold h ON %s '
            'WHERE NOT EXISTS (SELECT 1 FROM mnl_new n WHERE %s) LIMIT 1',
            ledger._hold_condition(TG_RELID, TG_ARGV[0], TG_ARGV[1], TG_ARGV[2]),
            (SELECT pg_catalog.string_agg(pg_catalog.format('n.%1$I IS NOT DISTINCT FROM o.%1$I', c), ' AND ')
               FROM pg_catalog.unnest(ARRAY[TG_ARGV[0], TG_ARGV[1], TG_ARGV[2], 'municipality_code']) c
              WHERE c <> '' AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = TG_RELID
                                        AND a.attname = c AND NOT a.attisdropped))) INTO held;
    ELSE
        EXECUTE pg_catalog.format('SELECT h.hold_id FROM %s o JOIN ledger.legal_hold h ON %s LIMIT 1',
                                  TG_RELID::regclass, ledger._hold_condition(TG_RELID, TG_ARGV[0], TG_ARGV[1], TG_ARGV[2]))
            INTO held;
        IF held IS NULL THEN
            SELECT h.hold_id INTO held FROM ledger.legal_hold h, pg_catalog.pg_class c, pg_catalog.pg_namespace n
             WHERE c.oid = TG_RELID AND n.oid = c.relnamespace AND h.scope = 'table' AND h.lifted_at IS NULL
               AND (h.held_until IS NULL OR h.held_until >= ledger._today())
               AND h.schema_name = n.nspname AND h.table_name = c.relname
             LIMIT 1;
        END IF;
    END IF;
    IF held IS NOT NULL THEN
        PERFORM ledger._record_denied(TG_RELID, pg_catalog.format('%s refused: legal hold %s', pg_catalog.lower(TG_OP), held));
        RAISE EXCEPTION 'permission denied: % of rows under a legal hold', pg_catalog.lower(TG_OP)
            USING ERRCODE = '42501', CONSTRAINT = 'mnl_legal_hold',
                  HINT = 'A legal hold (保存延長) keeps these rows; a member of ledger_dba lifts it with ledger.lift_hold() first.';
    END IF;
    RETURN NULL;
END $function$;
GRANT EXECUTE ON FUNCTION ledger._hold_guard() TO PUBLIC;
COMMENT ON FUNCTION ledger._hold_guard() IS '保存延長の保護 (statement trigger): refuses, with an audit event, any DELETE or TRUNCATE of a row a legal hold names, and an UPDATE that moves one out from under its hold';

CREATE OR REPLACE FUNCTION ledger.staff_sign_on(role_name name)
 RETURNS void
 LANGUAGE c
AS 'MODULE_PATHNAME', $function$staff_sign_on$function$;
GRANT EXECUTE ON FUNCTION ledger.staff_sign_on(name) TO PUBLIC;
COMMENT ON FUNCTION ledger.staff_sign_on(name) IS '職員の再認証: the pooled role signs a staff member on after authenticating them; their idle limit starts afresh (never the staff member for themselves)';

CREATE OR REPLACE FUNCTION ledger.protect_table(tab regclass, org_column name, affair text DEFAULT 'child_allowance'::text, sensitive_columns text[] DEFAULT NULL::text[], keep_columns text[] DEFAULT NULL::text[])
 RETURNS void
 LANGUAGE c
AS 'MODULE_PATHNAME', $function$protect_table$function$;
GRANT EXECUTE ON FUNCTION ledger.protect_table(regclass,name,text,text[],text[]) TO PUBLIC;
COMMENT ON FUNCTION ledger.protect_table(regclass,name,text,text[],text[]) IS 'テーブルの保護: row-level security (enabled, forced) on the org unit column through ledger.may/must, the write gate, the legal-hold guard and the audit triggers (every value withheld from the trail but the keys, the org unit and keep_columns)';

CREATE OR REPLACE FUNCTION ledger._protect_update(tab regclass, keep_columns text[] DEFAULT NULL::text[])
 RETURNS void
 LANGUAGE c
 SET search_path TO 'pg_catalog', 'pg_temp'
AS 'MODULE_PATHNAME', $function$protect_update$function$;
REVOKE ALL ON FUNCTION ledger._protect_update(regclass,text[]) FROM PUBLIC;
COMMENT ON FUNCTION ledger._protect_update(regclass,text[]) IS 'テーブルの保護の更新 (internal): in ALTER EXTENSION ... UPDATE from 0.1.0, the legal-hold guard and an audit keeping only the keys, the org unit and keep_columns, on a table protected before';

CREATE OR REPLACE FUNCTION ledger._enrol_person(caller oid, municipality_code text, org_unit_id integer, mynumber ledger.mynumber, family_name text, given_name text, family_name_kana text, given_name_kana text, birth_date date, address text)
 RETURNS bigint
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    pid bigint;
BEGIN
    PERFORM ledger._require(caller, 'write', 'child_allowance', org_unit_id);
    IF NOT EXISTS (SELECT 1 FROM ledger.org_unit o WHERE o.org_unit_id = _enrol_person.org_unit_id
                   AND o.municipality_code = _enrol_person.municipality_code) THEN
        RAISE EXCEPTION 'org unit % is not of municipality %', org_unit_id, municipality_code
            USING ERRCODE = '23503', HINT = 'See ledger.org_unit.';
    END IF;
    -- Whether a number is already enrolled is what a lookup tells: an enrolment counts
    -- against the same per-staff limits and its duplicate refusal is recorded (lookup.c).
    IF mynumber IS NOT NULL THEN
        PERFORM ledger._lookup_begin(caller);
        SELECT p.person_id INTO pid FROM ledger.person p
         WHERE p.municipality_code = _enrol_person.municipality_code
           AND p.mynumber_index = ledger.blind_index(_enrol_person.mynumber);
        IF FOUND THEN
            -- named as a lookup of that person: the probe is in the person's history
            PERFORM ledger._lookup_done(true, _enrol_person.municipality_code, pid);
            PERFORM ledger._record_denied('ledger.person'::regclass, 'enrol refused: the number is already enrolled');
            RAISE EXCEPTION 'a person with this My Number is already enrolled' USING ERRCODE = '23505',
                HINT = 'Find the person with ledger.find_person().';
        END IF;
    END IF;
    pid := nextval('ledger.person_person_id_seq');
    INSERT INTO ledger.person (municipality_code, person_id, org_unit_id, mynumber, mynumber_index,
                               family_name, given_name, family_name_kana, given_name_kana, birth_date, address)
    VALUES (_enrol_person.municipality_code, pid, _enrol_person.org_unit_id,
            ledger.seal(_enrol_person.mynumber, ledger.person_context(_enrol_person.municipality_code, pid)),
            ledger.blind_index(_enrol_person.mynumber),
            _enrol_person.family_name, _enrol_person.given_name, _enrol_person.family_name_kana,
            _enrol_person.given_name_kana, _enrol_person.birth_date, _enrol_person.address);
    -- The person's 符号 in this affair (linkage.sql): the key of any affair-local table.
    IF mynumber IS NOT NULL THEN
        INSERT INTO ledger.person_pseudonym
        VALUES (_enrol_person.municipality_code, pid, 'child_allowance',
                ledger.pseudonym(_enrol_person.mynumber, 'child_allowance'));
    END IF;
    RETURN pid;
END $function$;

CREATE OR REPLACE FUNCTION ledger._lookup_begin(caller oid)
 RETURNS void
 LANGUAGE c
 STRICT
AS 'MODULE_PATHNAME', $function$lookup_begin$function$;
REVOKE ALL ON FUNCTION ledger._lookup_begin(oid) FROM PUBLIC;
COMMENT ON FUNCTION ledger._lookup_begin(oid) IS '番号検索の件数制限 (internal): counts a lookup against ledger.lookup_rate_per_minute and ledger.lookup_daily_cap, or refuses it (recorded)';

CREATE OR REPLACE FUNCTION ledger._lookup_done(found boolean, municipality_code text, person_id bigint)
 RETURNS void
 LANGUAGE c
AS 'MODULE_PATHNAME', $function$lookup_done$function$;
REVOKE ALL ON FUNCTION ledger._lookup_done(boolean,text,bigint) FROM PUBLIC;
COMMENT ON FUNCTION ledger._lookup_done(boolean,text,bigint) IS '番号検索の記録 (internal): records the outcome (the person when found, never the number) and answers no sooner than ledger.lookup_min_duration';

CREATE OR REPLACE FUNCTION ledger._find_person(caller oid, mynumber ledger.mynumber, municipality_code text)
 RETURNS bigint
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    p record;
    readable integer[];
    found boolean;
BEGIN
    PERFORM ledger._lookup_begin(caller);
    -- the same work whether the number is enrolled or not
    readable := CASE WHEN ledger._is_superuser(caller) THEN NULL
                     ELSE (ledger._permitted_org_units(ledger._role_name(caller),
                                                        'read', 'child_allowance')).org_units END;
    SELECT x.person_id, x.org_unit_id INTO p FROM ledger.person x
     WHERE x.municipality_code = _find_person.municipality_code
       AND x.mynumber_index = ledger.blind_index(_find_person.mynumber);
    -- Someone the caller may not read is not found.
    found := p.person_id IS NOT NULL AND (readable IS NULL OR p.org_unit_id = ANY (readable));
    -- the record names the person whenever the number is enrolled, even when the caller is
    -- told "not found" (a hidden person): the person's history shows the probe
    PERFORM ledger._lookup_done(found, _find_person.municipality_code, p.person_id);
    RETURN CASE WHEN found THEN p.person_id END;
END $function$;

COMMENT ON FUNCTION ledger.find_person(ledger.mynumber,text) IS '個人番号による検索: the person id, by blind index, if the caller may read that person (else NULL); limited per staff member, recorded, constant in time';

CREATE OR REPLACE FUNCTION ledger._reveal_person_number(caller oid, municipality_code text, person_id bigint, purpose text, legal_basis text)
 RETURNS ledger.mynumber
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    p ledger.person;
BEGIN
    SELECT * INTO p FROM ledger.person x
     WHERE x.municipality_code = _reveal_person_number.municipality_code
       AND x.person_id = _reveal_person_number.person_id;
    -- a person the caller may not reveal is refused like one that does not exist: the
    -- refusal tells nothing of a hidden row
    PERFORM ledger._require(caller, 'reveal', 'child_allowance', COALESCE(p.org_unit_id, -1));
    IF p.mynumber IS NULL THEN
        RAISE EXCEPTION 'no My Number to reveal for this person' USING ERRCODE = '02000',
            HINT = 'The person has no number recorded.';
    END IF;
    PERFORM ledger._reveal_allowance(caller, 1);    -- the daily quota (disclosure.sql)
    RETURN ledger.reveal(p.mynumber, ledger.person_context(p.municipality_code, p.person_id), purpose, legal_basis);
END $function$;

CREATE OR REPLACE FUNCTION ledger._register_file(caller oid, schema_name name, table_name name, file_name text, legal_basis text, affair text)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
    PERFORM ledger._require_dba(caller, 'register files that hold My Numbers');
    IF ledger._is_blank(file_name) OR ledger._is_blank(legal_basis) THEN
        RAISE EXCEPTION 'a registered file needs its name and legal basis' USING ERRCODE = '22023',
            HINT = 'Give the file''s name as in the PIA and the article of law that allows it.';
    END IF;
    INSERT INTO ledger.registered_file (schema_name, table_name, file_name, affair_code, legal_basis, registered_by)
    VALUES (schema_name, table_name, file_name, affair, legal_basis,
            ledger._role_name(caller));
END $function$;

CREATE OR REPLACE FUNCTION ledger._load_inquiry_rules(caller oid, csv text, replace_all boolean)
 RETURNS integer
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    lines text[];
    f text[];
    errs text[] := '{}';
    bad integer[] := '{}';
    loaded ledger.inquiry_rule[] := '{}';
    n integer := 0;
    i integer;
    seen text[] := '{}';
    k text;
BEGIN
    PERFORM ledger._require_dba(caller, 'load the rule list');
    lines := regexp_split_to_array(regexp_replace(coalesce(csv, ''), E'\r', '', 'g'), E'\n');
    IF cardinality(lines) = 0 OR btrim(lines[1]) <>
       'requester,requester_affair,provider,item_code,allowed,auto_answer,legal_basis' THEN
        RAISE EXCEPTION 'the rule list must start with the header line' USING ERRCODE = '22P04',
            HINT = 'requester,requester_affair,provider,item_code,allowed,auto_answer,legal_basis';
    END IF;
    -- (No temporary table: the twin runs with the owner's rights, and a table of the caller's
    -- own pg_temp, with the caller's triggers, must never be written with them.)
    FOR i IN 2 .. cardinality(lines) LOOP
        CONTINUE WHEN btrim(lines[i]) = '';
        -- quotes come in pairs ("" inside a quoted field included): an odd count leaves one open
        IF (length(lines[i]) - length(replace(lines[i], '"', ''))) % 2 = 1 THEN
            errs := errs || format('line %s: a quoted field is not closed', i);
            bad := bad || i;
            CONTINUE;
        END IF;
        -- fields: a quoted field may hold commas; "" is a quote
        SELECT array_agg(CASE WHEN m[1] ~ '^".*"$' THEN replace(substr(m[1], 2, length(m[1]) - 2), '""', '"')
                              ELSE btrim(m[1]) END ORDER BY ord)
          INTO f
          FROM regexp_matches(lines[i] || ',', '("(?:[^"]|"")*"|[^,]*),', 'g') WITH ORDINALITY AS x(m, ord);
        IF cardinality(f) <> 7 THEN
            errs := errs || format('line %s: %s fields, expected 7', i, coalesce(cardinality(f), 0));
            bad := bad || i;
            CONTINUE;
        END IF;
        IF f[1] = '' OR f[3] = '' THEN
            errs := errs || format('line %s: requester and provider are required', i);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM ledger.affair WHERE affair_code = f[2]) THEN
            errs := errs || format('line %s: unknown affair "%s"', i, left(f[2], 40));
        END IF;
        IF NOT EXISTS (SELECT 1 FROM ledger.data_item WHERE item_code = f[4]) THEN
            errs := errs || format('line %s: unknown data item "%s"', i, left(f[4], 40));
        END IF;
        IF lower(f[5]) NOT IN ('true', 'false') OR lower(f[6]) NOT IN ('true', 'false') THEN
            errs := errs || format('line %s: allowed and auto_answer must be true or false', i);
            bad := bad || i;
            CONTINUE;
        END IF;
        IF ledger._is_blank(f[7]) THEN
            errs := errs || format('line %s: the legal basis is required', i);
        END IF;
        k := concat_ws(E'\x1f', f[1], f[2], f[3], f[4]);
        IF k = ANY (seen) THEN
            errs := errs || format('line %s: duplicate of an earlier line', i);
        END IF;
        seen := seen || k;
        IF cardinality(errs) > 0 AND errs[cardinality(errs)] LIKE format('line %s:%%', i) THEN
            bad := bad || i;
        END IF;
        loaded := loaded || ROW(f[1], f[2], f[3], f[4], lower(f[5])::boolean, lower(f[6])::boolean, f[7], now())::ledger.inquiry_rule;
        n := n + 1;
    END LOOP;
    IF cardinality(errs) > 0 THEN
        RAISE EXCEPTION 'the rule list has % bad line(s); nothing was loaded',
            (SELECT count(DISTINCT b) FROM unnest(bad) b)
            USING ERRCODE = '22P04', DETAIL = array_to_string(errs[1:20], E'\n'),
                  HINT = 'Correct the lines named and load the whole file again.';
    END IF;
    IF replace_all THEN
        DELETE FROM ledger.inquiry_rule;
    END IF;
    INSERT INTO ledger.inquiry_rule SELECT * FROM unnest(loaded)
    ON CONFLICT (requester, requester_affair, provider, item_code) DO UPDATE
        SET allowed = EXCLUDED.allowed, auto_answer = EXCLUDED.auto_answer,
            legal_basis = EXCLUDED.legal_basis, loaded_at = EXCLUDED.loaded_at;
    RETURN n;
END $function$;

CREATE OR REPLACE FUNCTION ledger._request_inquiry(caller oid, municipality_code text, person_id bigint, provider text, item text, purpose text, affair text)
 RETURNS uuid
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    p ledger.person;
    r ledger.inquiry_rule;
    who name := ledger._role_name(caller);
    permit uuid;
BEGIN
    -- The rule list first, before anything else is looked at.
    SELECT * INTO r FROM ledger.inquiry_rule ir
     WHERE ir.requester = _request_inquiry.municipality_code AND ir.requester_affair = affair
       AND ir.provider = _request_inquiry.provider AND ir.item_code = item AND ir.allowed;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'inquiry refused: % may not ask % for % in affair %',
            municipality_code, provider, item, affair
            USING ERRCODE = '42501', HINT = 'The 照会許可用照合リスト has no allowing line for this inquiry.';
    END IF;
    SELECT * INTO p FROM ledger.person x
     WHERE x.municipality_code = _request_inquiry.municipality_code AND x.person_id = _request_inquiry.person_id;
    -- a hidden person is refused like one that does not exist
    PERFORM ledger._require(caller, 'read', affair, COALESCE(p.org_unit_id, -1));
    IF ledger._is_blank(purpose) THEN
        RAISE EXCEPTION 'an inquiry needs its purpose' USING ERRCODE = '22023', HINT = 'State why the item is needed.';
    END IF;
    INSERT INTO ledger.inquiry_permit (municipality_code, person_id, org_unit_id, requester_affair, provider,
                                       item_code, purpose, issued_to, issued_at, expires_at)
    VALUES (p.municipality_code, p.person_id, p.org_unit_id, affair, provider, item, purpose, who, now(),
            now() + current_setting('ledger.inquiry_permit_lifetime')::interval)
    RETURNING permit_id INTO permit;
    PERFORM ledger._record_exchange(p, 'inquiry', p.municipality_code, affair, provider, item, 'permitted', who, permit, NULL);
    RETURN permit;
END $function$;

CREATE OR REPLACE FUNCTION ledger._require_connector(caller oid, what text)
 RETURNS void
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
    IF NOT ledger._is_superuser(caller)
       AND NOT pg_catalog.pg_has_role(caller, 'ledger_connector', 'MEMBER') THEN
        RAISE EXCEPTION 'permission denied: only the network connector may %', what
            USING ERRCODE = '42501', HINT = 'The 中間サーバー''s connection (a member of ledger_connector) hands the ledger what arrives from the network.';
    END IF;
END $function$;
REVOKE ALL ON FUNCTION ledger._require_connector(oid,text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._require_connector(oid,text) IS '中間サーバー接続の確認 (internal): error 42501 unless the caller is the network connector';

CREATE OR REPLACE FUNCTION ledger._receive_inquiry_result(caller oid, permit uuid, result jsonb)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    pm ledger.inquiry_permit;
    p ledger.person;
BEGIN
    PERFORM ledger._require_connector(caller, 'receive inquiry results');
    SELECT * INTO pm FROM ledger.inquiry_permit WHERE permit_id = permit;
    -- the clock, not the transaction's start: a transaction opened before the permit
    -- expired does not keep it alive
    IF NOT FOUND OR pm.expires_at <= pg_catalog.clock_timestamp() THEN
        RAISE EXCEPTION 'the result does not carry a valid permit' USING ERRCODE = '42501',
            HINT = 'A result is accepted only with an unexpired 情報提供許可証 from ledger.request_inquiry.';
    END IF;
    -- once: the exchange record of a receipt outlives the result's own expiry
    IF EXISTS (SELECT 1 FROM ledger.inquiry_result WHERE permit_id = permit)
       OR EXISTS (SELECT 1 FROM ledger.exchange_record x
                   WHERE x.permit_id = permit AND x.direction = 'inquiry' AND x.outcome = 'received') THEN
        RAISE EXCEPTION 'a result for this permit was already received' USING ERRCODE = '23505',
            HINT = 'A permit covers one inquiry.';
    END IF;
    SELECT * INTO STRICT p FROM ledger.person x
     WHERE x.municipality_code = pm.municipality_code AND x.person_id = pm.person_id;
    INSERT INTO ledger.inquiry_result VALUES (permit, pm.municipality_code, pm.person_id, pm.org_unit_id,
        pm.item_code, result, now(), now() + current_setting('ledger.inquiry_result_lifetime')::interval);
    PERFORM ledger._record_exchange(p, 'inquiry', pm.municipality_code, pm.requester_affair, pm.provider,
                                    pm.item_code, 'received', ledger._role_name(caller),
                                    permit, NULL);
END $function$;

CREATE OR REPLACE FUNCTION ledger._expire_inquiry_data(caller oid, OUT results_deleted bigint, OUT permits_deleted bigint)
 RETURNS record
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    id uuid;
    held text;
BEGIN
    PERFORM ledger._require_dba(caller, 'expire inquiry data');
    -- a legal hold keeps what it names; everything else expires (one held row must not keep
    -- every other result alive): all at once, else row by row past the held ones
    BEGIN
        DELETE FROM ledger.inquiry_result WHERE expires_at <= now();
        GET DIAGNOSTICS results_deleted = ROW_COUNT;
    EXCEPTION WHEN insufficient_privilege THEN
        results_deleted := 0;
        FOR id IN SELECT r.permit_id FROM ledger.inquiry_result r WHERE r.expires_at <= now() LOOP
            BEGIN
                DELETE FROM ledger.inquiry_result r WHERE r.permit_id = id;
                results_deleted := results_deleted + 1;
            EXCEPTION WHEN insufficient_privilege THEN
                GET STACKED DIAGNOSTICS held = CONSTRAINT_NAME;
                IF held IS DISTINCT FROM 'mnl_legal_hold' THEN
                    RAISE;
                END IF;
            END;
        END LOOP;
    END;
    BEGIN
        DELETE FROM ledger.inquiry_permit pm WHERE pm.expires_at <= now()
           AND NOT EXISTS (SELECT 1 FROM ledger.inquiry_result r WHERE r.permit_id = pm.permit_id);
        GET DIAGNOSTICS permits_deleted = ROW_COUNT;
    EXCEPTION WHEN insufficient_privilege THEN
        permits_deleted := 0;
        FOR id IN SELECT pm.permit_id FROM ledger.inquiry_permit pm WHERE pm.expires_at <= now()
                   AND NOT EXISTS (SELECT 1 FROM ledger.inquiry_result r WHERE r.permit_id = pm.permit_id) LOOP
            BEGIN
                DELETE FROM ledger.inquiry_permit pm WHERE pm.permit_id = id;
                permits_deleted := permits_deleted + 1;
            EXCEPTION WHEN insufficient_privilege THEN
                GET STACKED DIAGNOSTICS held = CONSTRAINT_NAME;
                IF held IS DISTINCT FROM 'mnl_legal_hold' THEN
                    RAISE;
                END IF;
            END;
        END LOOP;
    END;
    -- what was provided expires like what was received: the answer goes, the record stays
    UPDATE ledger.provision_request SET answer = NULL WHERE answer IS NOT NULL AND answer_expires_at <= now();
END $function$;

CREATE OR REPLACE FUNCTION ledger._receive_provision_request(caller oid, requester text, requester_affair text, item text, municipality_code text, person_id bigint, permit uuid, permit_expires_at timestamp with time zone)
 RETURNS bigint
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    r ledger.inquiry_rule;
    p ledger.person;
    id bigint;
    answer jsonb;
    who name := ledger._role_name(caller);
BEGIN
    -- only the network's connection receives requests, each with its 情報提供許可証
    PERFORM ledger._require_connector(caller, 'receive provision requests');
    -- (the permit's expiry comes with it from the network: it cannot lie beyond a permit's
    -- lifetime from now, so a forged 'infinity' is refused)
    IF permit IS NULL OR permit_expires_at IS NULL OR permit_expires_at <= pg_catalog.clock_timestamp()
       OR permit_expires_at > pg_catalog.clock_timestamp() + current_setting('ledger.inquiry_permit_lifetime')::interval THEN
        RAISE EXCEPTION 'provision refused: the request does not carry a valid 情報提供許可証'
            USING ERRCODE = '42501', HINT = 'A request is answered only with the unexpired permit the network issued for it.';
    END IF;
    IF EXISTS (SELECT 1 FROM ledger.provision_request q WHERE q.permit_id = permit) THEN
        RAISE EXCEPTION 'provision refused: the 情報提供許可証 was already used'
            USING ERRCODE = '42501', HINT = 'A permit covers one request.';
    END IF;
    SELECT * INTO r FROM ledger.inquiry_rule ir
     WHERE ir.requester = _receive_provision_request.requester
       AND ir.requester_affair = _receive_provision_request.requester_affair
       AND ir.provider = _receive_provision_request.municipality_code
       AND ir.item_code = item AND ir.allowed;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'provision refused: % may not ask % for % in affair %',
            requester, municipality_code, item, requester_affair
            USING ERRCODE = '42501', HINT = 'The 照会許可用照合リスト has no allowing line for this request.';
    END IF;
    SELECT * INTO p FROM ledger.person x
     WHERE x.municipality_code = _receive_provision_request.municipality_code
       AND x.person_id = _receive_provision_request.person_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'person % of % does not exist', person_id, municipality_code USING ERRCODE = '02000',
            HINT = 'The 符号 did not resolve to a person of the ledger.';
    END IF;
    IF r.auto_answer THEN
        answer := ledger._provision_answer(item, p);
    END IF;
    INSERT INTO ledger.provision_request (municipality_code, person_id, org_unit_id, requester, requester_affair,
                                          item_code, received_at, status, answer, permit_id, permit_expires_at,
                                          answer_expires_at)
    VALUES (p.municipality_code, p.person_id, p.org_unit_id, requester, requester_affair, item, now(),
            CASE WHEN r.auto_answer THEN 'answered' ELSE 'pending_review' END, answer, permit, permit_expires_at,
            now() + current_setting('ledger.inquiry_result_lifetime')::interval)
    RETURNING request_id INTO id;
    PERFORM ledger._record_exchange(p, 'provision', requester, requester_affair, p.municipality_code, item,
                                    CASE WHEN r.auto_answer THEN 'answered' ELSE 'pending_review' END, who, permit, id);
    RETURN id;
END $function$;
REVOKE ALL ON FUNCTION ledger._receive_provision_request(oid,text,text,text,text,bigint,uuid,timestamp with time zone) FROM PUBLIC;
COMMENT ON FUNCTION ledger._receive_provision_request(oid,text,text,text,text,bigint,uuid,timestamp with time zone) IS '情報提供の求めの受付 (internal twin of ledger.receive_provision_request)';

CREATE OR REPLACE FUNCTION ledger.receive_provision_request(requester text, requester_affair text, item text, municipality_code text, person_id bigint, permit uuid, permit_expires_at timestamp with time zone)
 RETURNS bigint
 LANGUAGE c
AS 'MODULE_PATHNAME', $function$gated_call$function$;
GRANT EXECUTE ON FUNCTION ledger.receive_provision_request(text,text,text,text,bigint,uuid,timestamp with time zone) TO PUBLIC;
COMMENT ON FUNCTION ledger.receive_provision_request(text,text,text,text,bigint,uuid,timestamp with time zone) IS '情報提供の求めの受付: the network connector only, with the request''s unexpired 情報提供許可証 (used once); checked against the rule list; answered automatically, or queued for review when the item is 自動応答不可';

CREATE OR REPLACE FUNCTION ledger._review_provision(caller oid, request_id bigint, approve boolean, reason text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    q ledger.provision_request;
    p ledger.person;
    who name := ledger._role_name(caller);
    provided jsonb;
BEGIN
    SELECT * INTO q FROM ledger.provision_request pr WHERE pr.request_id = _review_provision.request_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no provision request %', request_id USING ERRCODE = '02000', HINT = 'See ledger.provision_request.';
    END IF;
    PERFORM ledger._require(caller, 'approve', 'child_allowance', q.org_unit_id);
    IF q.status <> 'pending_review' THEN
        RAISE EXCEPTION 'provision request % is not waiting for review (%)', request_id, q.status
            USING ERRCODE = '55000', HINT = 'Only requests in pending_review are reviewed.';
    END IF;
    IF ledger._is_blank(reason) THEN
        RAISE EXCEPTION 'a review needs its reason' USING ERRCODE = '22023', HINT = 'State why the item is or is not provided.';
    END IF;
    -- the request's 情報提供許可証 and the answer's life are checked against the clock at review
    IF approve AND (q.permit_expires_at <= pg_catalog.clock_timestamp()
                    OR q.answer_expires_at <= pg_catalog.clock_timestamp()) THEN
        RAISE EXCEPTION 'provision request % can no longer be answered: its permit has expired', request_id
            USING ERRCODE = '55000',
                  HINT = 'Refuse it (approve => false) to close it; the requester asks again with a new permit.';
    END IF;
    SELECT * INTO STRICT p FROM ledger.person x WHERE x.municipality_code = q.municipality_code AND x.person_id = q.person_id;
    IF approve THEN
        provided := ledger._provision_answer(q.item_code, p);
    END IF;
    UPDATE ledger.provision_request pr
       SET status = CASE WHEN approve THEN 'answered' ELSE 'rejected' END, answer = provided,
           reviewed_by = who, reviewed_at = now(), review_reason = reason
     WHERE pr.request_id = q.request_id;
    PERFORM ledger._record_exchange(p, 'provision', q.requester, q.requester_affair, q.municipality_code, q.item_code,
                                    CASE WHEN approve THEN 'approved' ELSE 'rejected' END, who, NULL, q.request_id);
    RETURN provided;
END $function$;

CREATE OR REPLACE FUNCTION ledger._link(caller oid, municipality_code text, from_affair text, pseudonym bytea, to_affair text, purpose text)
 RETURNS bytea
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    p ledger.person;
    who name := ledger._role_name(caller);
    target bytea;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM ledger.linkage_rule r WHERE r.from_affair = _link.from_affair
                   AND r.to_affair = _link.to_affair) THEN
        RAISE EXCEPTION 'linkage refused: no rule maps % to %', from_affair, to_affair
            USING ERRCODE = '42501', HINT = 'Linking beyond the affair''s purpose needs a rule in ledger.linkage_rule (番号法).';
    END IF;
    IF ledger._is_blank(purpose) THEN
        RAISE EXCEPTION 'a link needs its purpose' USING ERRCODE = '22023', HINT = 'State why the person is linked.';
    END IF;
    SELECT x.* INTO p FROM ledger.person x
      JOIN ledger.person_pseudonym pp ON pp.municipality_code = x.municipality_code AND pp.person_id = x.person_id
     WHERE pp.municipality_code = _link.municipality_code AND pp.affair_code = from_affair
       AND pp.pseudonym = _link.pseudonym;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no person has this pseudonym in affair %', from_affair USING ERRCODE = '02000',
            HINT = 'Give a pseudonym issued in the affair you link from.';
    END IF;
    PERFORM ledger._require(caller, 'read', from_affair, p.org_unit_id);
    IF NOT ledger._is_superuser(caller)
       AND cardinality((ledger._permitted_org_units(who, 'read', to_affair)).org_units) = 0 THEN
        RAISE EXCEPTION 'permission denied: no read duty for affair %', to_affair USING ERRCODE = '42501',
            HINT = 'Only staff of the target affair receive its pseudonyms.';
    END IF;
    target := ledger._pseudonym_of_sealed(p.mynumber, ledger.person_context(p.municipality_code, p.person_id), to_affair);
    INSERT INTO ledger.person_pseudonym VALUES (p.municipality_code, p.person_id, to_affair, target)
    ON CONFLICT DO NOTHING;
    INSERT INTO ledger.link_record (municipality_code, person_id, org_unit_id, from_affair, to_affair, purpose, linked_by)
    VALUES (p.municipality_code, p.person_id, p.org_unit_id, from_affair, to_affair, purpose, who);
    RETURN target;
END $function$;

CREATE OR REPLACE FUNCTION ledger._pseudonym_of_person(caller oid, municipality_code text, person_id bigint)
 RETURNS bytea
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    p ledger.person;
BEGIN
    SELECT * INTO p FROM ledger.person x
     WHERE x.municipality_code = _pseudonym_of_person.municipality_code AND x.person_id = _pseudonym_of_person.person_id;
    -- a hidden person is refused like one that does not exist
    PERFORM ledger._require(caller, 'read', 'child_allowance', COALESCE(p.org_unit_id, -1));
    IF p.mynumber IS NULL THEN
        RETURN NULL;
    END IF;
    -- the person's 符号 given out: recorded, naming them (本人開示)
    PERFORM ledger._record_use('pseudonym', 'ledger.person'::regclass,
                               ARRAY[p.municipality_code::text, p.person_id::text], 'child_allowance');
    RETURN (SELECT pp.pseudonym FROM ledger.person_pseudonym pp
            WHERE pp.municipality_code = p.municipality_code AND pp.person_id = p.person_id
              AND pp.affair_code = 'child_allowance');
END $function$;

CREATE OR REPLACE FUNCTION ledger._reveals_today(role name)
 RETURNS integer
 LANGUAGE c
 STRICT
AS 'MODULE_PATHNAME', $function$disclosure_reveals_today$function$;
REVOKE ALL ON FUNCTION ledger._reveals_today(name) FROM PUBLIC;
COMMENT ON FUNCTION ledger._reveals_today(name) IS '本日の表示件数 (internal): what the audit writer has counted, under the latest snapshot (not the transaction''s)';

CREATE OR REPLACE FUNCTION ledger._usable_approval(role name, kind text, n integer)
 RETURNS bigint
 LANGUAGE c
 STRICT
AS 'MODULE_PATHNAME', $function$disclosure_usable_approval$function$;
REVOKE ALL ON FUNCTION ledger._usable_approval(name,text,integer) FROM PUBLIC;
COMMENT ON FUNCTION ledger._usable_approval(name,text,integer) IS '使用できる承認 (internal): an approved, unexpired approval of the role covering n reveals, under the latest snapshot';

CREATE OR REPLACE FUNCTION ledger._use_approval(approval_id bigint, n integer)
 RETURNS void
 LANGUAGE c
 STRICT
AS 'MODULE_PATHNAME', $function$disclosure_use_approval$function$;
REVOKE ALL ON FUNCTION ledger._use_approval(bigint,integer) FROM PUBLIC;
COMMENT ON FUNCTION ledger._use_approval(bigint,integer) IS '承認の使用 (internal): spends n of an approval through the audit writer, committed before it returns (a ROLLBACK does not give it back)';

CREATE OR REPLACE FUNCTION ledger._statement_reveals(n integer)
 RETURNS integer
 LANGUAGE c
AS 'MODULE_PATHNAME', $function$disclosure_statement_reveals$function$;
REVOKE ALL ON FUNCTION ledger._statement_reveals(integer) FROM PUBLIC;
COMMENT ON FUNCTION ledger._statement_reveals(integer) IS '文単位の表示件数 (internal): numbers revealed in the current statement, these included (outside every transaction)';

CREATE OR REPLACE FUNCTION ledger._reveal_allowance(caller oid, n integer)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    who name := ledger._role_name(caller);
    quota integer;
    used integer;
    approval bigint;
BEGIN
    IF ledger._is_superuser(caller) THEN
        RETURN;
    END IF;
    IF n IS NULL OR n < 1 THEN
        RAISE EXCEPTION 'a reveal allowance is asked for a positive number of reveals' USING ERRCODE = '22023',
            HINT = 'Give the number of numbers about to be revealed.';
    END IF;
    PERFORM 1 FROM ledger.reveal_serial r WHERE r.role_name = who FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO ledger.reveal_serial VALUES (who) ON CONFLICT DO NOTHING;
        PERFORM 1 FROM ledger.reveal_serial r WHERE r.role_name = who FOR UPDATE;
    END IF;
    -- one statement that reveals one number per row, or a loop, is one bulk disclosure
    IF n <= current_setting('ledger.bulk_reveal_threshold')::integer
       AND ledger._statement_reveals(n) > current_setting('ledger.bulk_reveal_threshold')::integer THEN
        RAISE EXCEPTION 'revealing more than % numbers in one statement needs a second staff member''s approval',
            current_setting('ledger.bulk_reveal_threshold')
            USING ERRCODE = '42501',
                  HINT = 'Reveal them together with ledger.reveal_people and an approved bulk_reveal request (二者承認).';
    END IF;
    IF n > current_setting('ledger.bulk_reveal_threshold')::integer THEN
        approval := ledger._usable_approval(who, 'bulk_reveal', n);
        IF approval IS NULL THEN
            RAISE EXCEPTION 'revealing % numbers at once needs a second staff member''s approval', n
                USING ERRCODE = '42501',
                      HINT = format('Request it with ledger.request_disclosure_approval(''bulk_reveal'', %s, purpose); a staff member with the approve duty approves it (二者承認).', n);
        END IF;
        PERFORM ledger._use_approval(approval, n);
        RETURN;
    END IF;
    SELECT max(COALESCE(d.reveal_quota_per_day, current_setting('ledger.reveal_quota_per_day')::integer)) INTO quota
      FROM ledger.staff s
      JOIN ledger.staff_duty sd ON sd.staff_id = s.staff_id
      JOIN ledger.duty_permission dp ON dp.duty_code = sd.duty_code AND dp.action = 'reveal'
      JOIN ledger.duty d ON d.duty_code = sd.duty_code
     WHERE s.role_name = who AND s.retired_at IS NULL
       AND sd.valid_from <= ledger._today() AND (sd.valid_until IS NULL OR sd.valid_until >= ledger._today());
    used := ledger._reveals_today(who);
    IF used + n <= COALESCE(quota, 0) THEN
        RETURN;
    END IF;
    approval := ledger._usable_approval(who, 'reveal_quota', n);
    IF approval IS NULL THEN
        RAISE EXCEPTION 'the daily reveal quota (%) is reached', COALESCE(quota, 0)
            USING ERRCODE = '42501',
                  HINT = 'Request more with ledger.request_disclosure_approval(''reveal_quota'', count, purpose); a staff member with the approve duty approves it.';
    END IF;
    PERFORM ledger._use_approval(approval, n);
END $function$;
COMMENT ON FUNCTION ledger._reveal_allowance(oid,integer) IS '表示件数の確認 (internal): quota, bulk threshold and approvals, exact under every isolation level';

CREATE OR REPLACE FUNCTION ledger._request_disclosure_approval(caller oid, kind text, count integer, purpose text)
 RETURNS bigint
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    s ledger.staff;
    id bigint;
BEGIN
    SELECT * INTO s FROM ledger.staff st
     WHERE st.role_name = ledger._role_name(caller) AND st.retired_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'permission denied: only active staff request an approval' USING ERRCODE = '42501',
            HINT = 'SET ROLE to the staff member''s own role.';
    END IF;
    PERFORM ledger._require(caller, 'reveal', 'child_allowance', s.org_unit_id);
    IF kind NOT IN ('reveal_quota', 'bulk_reveal') OR count IS NULL OR count < 1 OR ledger._is_blank(purpose) THEN
        RAISE EXCEPTION 'an approval request needs a kind (reveal_quota or bulk_reveal), a positive count and a purpose'
            USING ERRCODE = '22023', HINT = 'For example: ledger.request_disclosure_approval(''bulk_reveal'', 40, ''年次の一括照会'').';
    END IF;
    INSERT INTO ledger.disclosure_approval (municipality_code, org_unit_id, requested_by, kind, count, purpose, expires_at)
    VALUES (s.municipality_code, s.org_unit_id, s.role_name, kind, count, purpose,
            ((ledger._today() + 1)::timestamp AT TIME ZONE current_setting('ledger.time_zone')))
    RETURNING approval_id INTO id;
    RETURN id;
END $function$;

CREATE OR REPLACE FUNCTION ledger._approve_disclosure(caller oid, approval_id bigint)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    a ledger.disclosure_approval;
BEGIN
    SELECT * INTO a FROM ledger.disclosure_approval d WHERE d.approval_id = _approve_disclosure.approval_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no approval request %', approval_id USING ERRCODE = '02000', HINT = 'See ledger.disclosure_approval.';
    END IF;
    PERFORM ledger._require(caller, 'approve', 'child_allowance', a.org_unit_id);
    -- never the requester, nor a role either of them can act as (NULL - a vanished role - refuses too)
    IF NOT ledger._is_superuser(caller)
       AND COALESCE((SELECT r.oid = caller OR pg_catalog.pg_has_role(caller, r.oid, 'MEMBER')
                            OR pg_catalog.pg_has_role(r.oid, caller, 'MEMBER')
                     FROM pg_catalog.pg_roles r WHERE r.rolname = a.requested_by), true) THEN
        RAISE EXCEPTION 'permission denied: the requester cannot approve their own request' USING ERRCODE = '42501',
            HINT = 'A second staff member with the approve duty must approve (二者承認).';
    END IF;
    IF a.approved_by IS NOT NULL OR a.expires_at <= now() THEN
        RAISE EXCEPTION 'approval request % is already approved or expired', approval_id USING ERRCODE = '55000',
            HINT = 'Request a new approval.';
    END IF;
    UPDATE ledger.disclosure_approval d
       SET approved_by = ledger._role_name(caller), approved_at = now()
     WHERE d.approval_id = a.approval_id;
END $function$;

CREATE OR REPLACE FUNCTION ledger._reveal_people(caller oid, municipality_code text, person_ids bigint[], purpose text, legal_basis text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    p ledger.person;
    result jsonb := '{}';
    n integer := 0;
BEGIN
    FOR p IN SELECT x.* FROM ledger.person x
              WHERE x.municipality_code = _reveal_people.municipality_code
                AND x.person_id = ANY (person_ids) AND x.mynumber IS NOT NULL
              ORDER BY x.person_id LOOP
        PERFORM ledger._require(caller, 'reveal', 'child_allowance', p.org_unit_id);
        n := n + 1;
    END LOOP;
    IF n <> cardinality(ARRAY(SELECT DISTINCT unnest(person_ids))) THEN
        -- the same refusal as for a person of another org unit: nothing told of hidden rows
        PERFORM ledger._require(caller, 'reveal', 'child_allowance', -1);
        RAISE EXCEPTION 'some of the persons have no number' USING ERRCODE = '02000',
            HINT = 'Give ids of enrolled persons with a number.';
    END IF;
    PERFORM ledger._reveal_allowance(caller, n);
    FOR p IN SELECT x.* FROM ledger.person x
              WHERE x.municipality_code = _reveal_people.municipality_code AND x.person_id = ANY (person_ids)
              ORDER BY x.person_id LOOP
        result := result || jsonb_build_object(p.person_id::text,
            ledger.reveal(p.mynumber, ledger.person_context(p.municipality_code, p.person_id), purpose, legal_basis)::text);
    END LOOP;
    RETURN result;
END $function$;

CREATE OR REPLACE FUNCTION ledger._place_hold(caller oid, municipality_code text, scope text, reason text, person_id bigint, table_name regclass, record_key bigint, held_until date)
 RETURNS bigint
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    id bigint;
BEGIN
    PERFORM ledger._require_dba(caller, 'place legal holds');
    INSERT INTO ledger.legal_hold (municipality_code, scope, schema_name, table_name, person_id, record_key,
                                   reason, held_until, created_by)
    SELECT municipality_code, scope, n.nspname, c.relname, person_id, record_key, reason, held_until,
           ledger._role_name(caller)
    FROM (SELECT 1) x
    LEFT JOIN pg_catalog.pg_class c ON c.oid = table_name
    LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    RETURNING hold_id INTO id;
    RETURN id;
END $function$;

CREATE OR REPLACE PROCEDURE ledger.run_retention(IN dry_run boolean DEFAULT false, IN batch_size integer DEFAULT 1000, IN only_policy text DEFAULT NULL::text)
 LANGUAGE plpgsql
AS $procedure$
DECLARE
    p ledger.retention_policy;
    run bigint;
    today date := ledger._today();
    tab text;
    due text;
    keys bigint[];
    n integer;
    would bigint;
    held bigint;
    done_policy bigint;
    job text := ledger._job_name();
    saved_path text := pg_catalog.current_setting('search_path');
    blocked bigint[];
    one bigint;
    kept bigint[];
    hold_constraint text;
BEGIN
    -- the caller's search_path must not resolve anything the run executes
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false);
    IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'permission denied: the retention run needs a superuser' USING ERRCODE = '42501',
            HINT = 'Schedule CALL ledger.run_retention() with pg_cron as a superuser.';
    END IF;
    IF batch_size < 1 THEN
        RAISE EXCEPTION 'batch_size must be positive' USING ERRCODE = '22023', HINT = 'For example 1000.';
    END IF;
    -- Runs whose session ended while they ran (or is this one: a run that failed here).
    UPDATE ledger.retention_run r SET status = 'interrupted'
     WHERE r.status = 'running' AND ledger._run_session_gone(r.backend_pid, r.backend_start);
    BEGIN
        INSERT INTO ledger.retention_run (started_at, updated_at, dry_run, job, status, backend_start)
        VALUES (pg_catalog.clock_timestamp(), pg_catalog.clock_timestamp(), dry_run, job, 'running',
                ledger._backend_start())
        RETURNING run_id INTO run;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'another retention run is in progress' USING ERRCODE = '55P03',
            HINT = 'Runs never overlap; wait for it to finish (see ledger.retention_run).';
    END;
    COMMIT;

    FOR p IN SELECT * FROM ledger.retention_policy
              WHERE enabled AND (only_policy IS NULL OR policy_id = only_policy)
              ORDER BY run_order, policy_id LOOP
        tab := pg_catalog.format('%I.%I', p.schema_name, p.table_name);
        -- the run writes with a superuser's rights: only into tables a superuser owns (no one
        -- else's triggers may run with those rights)
        IF NOT (SELECT o.rolsuper FROM pg_catalog.pg_class c JOIN pg_catalog.pg_roles o ON o.oid = c.relowner
                WHERE c.oid = tab::regclass) THEN
            RAISE EXCEPTION 'retention policy % names table %, which a non-superuser owns', p.policy_id, tab
                USING ERRCODE = '42501', HINT = 'Policies apply to tables owned by a superuser (the ledger''s own).';
        END IF;
        due := ledger._retention_due(p, today);
        IF p.schema_name = 'ledger' AND p.table_name = 'person' THEN
            -- a record reopened since it was closed (a certification current again) is kept
            due := due || ' AND ledger._person_record_complete(t.municipality_code, t.person_id, ledger._today())';
        END IF;
        done_policy := 0;
        EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s t WHERE %s AND NOT %s', tab, due,
                                  ledger._retention_not_held(p)) INTO held;
        IF EXISTS (SELECT 1 FROM ledger.legal_hold h WHERE h.scope = 'table' AND h.lifted_at IS NULL
                   AND (h.held_until IS NULL OR h.held_until >= today)
                   AND h.schema_name = p.schema_name AND h.table_name = p.table_name) THEN
            EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s t WHERE %s', tab, due) INTO held;
            UPDATE ledger.retention_run SET report = report || pg_catalog.jsonb_build_object(p.policy_id,
                   pg_catalog.jsonb_build_object('held_table', true, 'held', held)), updated_at = pg_catalog.clock_timestamp()
             WHERE run_id = run;
            COMMIT;
            CONTINUE;
        END IF;
        IF dry_run THEN
            EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s t WHERE %s AND %s', tab, due,
                                      ledger._retention_not_held(p)) INTO would;
            UPDATE ledger.retention_run SET report = report || pg_catalog.jsonb_build_object(p.policy_id,
                   pg_catalog.jsonb_build_object('would_' || p.action, would, 'held', held)),
                   updated_at = pg_catalog.clock_timestamp()
             WHERE run_id = run;
            RAISE NOTICE 'retention (dry run) %: % rows would be processed (%), % held', p.policy_id, would, p.action, held;
            COMMIT;
            CONTINUE;
        END IF;
        blocked := '{}';
        LOOP
            EXECUTE pg_catalog.format(
                'SELECT pg_catalog.array_agg(k ORDER BY k) FROM (SELECT t.%I AS k FROM %s t WHERE %s AND %s '
                'AND t.%I <> ALL ($2) ORDER BY t.%I, t.%I LIMIT $1 FOR UPDATE OF t SKIP LOCKED) s',
                p.key_column, tab, due, ledger._retention_not_held(p), p.key_column, p.anchor_column, p.key_column)
                INTO keys USING batch_size, blocked;
            EXIT WHEN keys IS NULL;
            IF p.action = 'delete' THEN
                -- a row whose deletion would cascade into rows a hold names is kept (the hold
                -- guard refuses the cascade): the batch again row by row, skipping those
                BEGIN
                    EXECUTE pg_catalog.format('DELETE FROM %s t WHERE t.%I = ANY ($1)', tab, p.key_column) USING keys;
                EXCEPTION WHEN insufficient_privilege THEN
                    GET STACKED DIAGNOSTICS hold_constraint = CONSTRAINT_NAME;
                    IF hold_constraint IS DISTINCT FROM 'mnl_legal_hold' THEN
                        RAISE;
                    END IF;
                    kept := '{}';
                    FOREACH one IN ARRAY keys LOOP
                        BEGIN
                            EXECUTE pg_catalog.format('DELETE FROM %s t WHERE t.%I = $1', tab, p.key_column) USING one;
                        EXCEPTION WHEN insufficient_privilege THEN
                            GET STACKED DIAGNOSTICS hold_constraint = CONSTRAINT_NAME;
                            IF hold_constraint IS DISTINCT FROM 'mnl_legal_hold' THEN
                                RAISE;
                            END IF;
                            kept := kept || one;
                        END;
                    END LOOP;
                    blocked := blocked || kept;
                    held := held + pg_catalog.cardinality(kept);
                    keys := ARRAY(SELECT k FROM pg_catalog.unnest(keys) k WHERE k <> ALL (kept) ORDER BY k);
                END;
                IF pg_catalog.cardinality(keys) = 0 THEN
                    COMMIT;
                    CONTINUE;
                END IF;
            ELSE
                EXECUTE pg_catalog.format('UPDATE %s t SET %s WHERE t.%I = ANY ($1)', tab,
                                          ledger._retention_set_list(p), p.key_column) USING keys;
                IF p.schema_name = 'ledger' AND p.table_name = 'person' AND p.action = 'erase_number' THEN
                    -- pseudonyms derive from the number: they go with it
                    DELETE FROM ledger.person_pseudonym pp WHERE pp.person_id = ANY (keys);
                END IF;
            END IF;
            n := pg_catalog.cardinality(keys);
            INSERT INTO ledger.deletion_record (run_id, policy_id, relation, action, row_count, key_min, key_max, key_digest, job)
            VALUES (run, p.policy_id, tab, p.action, n, keys[1], keys[n],
                    pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.array_to_string(keys, ','), 'UTF8')), job);
            done_policy := done_policy + n;
            UPDATE ledger.retention_run
               SET rows_done = rows_done + n, current_policy = p.policy_id, updated_at = pg_catalog.clock_timestamp(),
                   report = report || pg_catalog.jsonb_build_object(p.policy_id,
                            pg_catalog.jsonb_build_object(p.action, done_policy, 'held', held))
             WHERE run_id = run;
            COMMIT;
        END LOOP;
        UPDATE ledger.retention_run
           SET report = report || pg_catalog.jsonb_build_object(p.policy_id,
                        pg_catalog.jsonb_build_object(p.action, done_policy, 'held', held)),
               updated_at = pg_catalog.clock_timestamp()
         WHERE run_id = run;
        COMMIT;
    END LOOP;

    IF NOT dry_run AND only_policy IS NULL THEN
        PERFORM ledger.expire_inquiry_data();
        PERFORM ledger.sync_staff_roles();
        UPDATE ledger.retention_run SET report = report || pg_catalog.jsonb_build_object('shredded_periods',
               pg_catalog.to_jsonb(ledger._shred_spent_periods()))
         WHERE run_id = run;
        COMMIT;
        -- the trail's own retention: expired months detached after a verification checkpoint
        UPDATE ledger.retention_run SET report = report || pg_catalog.jsonb_build_object('detached_audit_partitions',
               pg_catalog.to_jsonb(ledger._audit_detach_before(
                   pg_catalog.now() - pg_catalog.current_setting('ledger.audit_retention')::interval)))
         WHERE run_id = run;
    END IF;
    UPDATE ledger.retention_run SET status = 'finished', finished_at = pg_catalog.clock_timestamp(),
           current_policy = NULL, updated_at = pg_catalog.clock_timestamp()
     WHERE run_id = run;
    COMMIT;
    PERFORM pg_catalog.set_config('search_path', saved_path, false);
END $procedure$;

CREATE OR REPLACE FUNCTION ledger._person_record_complete(municipality_code text, person_id bigint, d date)
 RETURNS boolean
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
    SELECT NOT EXISTS (SELECT 1 FROM ledger.recipient r JOIN ledger.certification c
                         ON c.municipality_code = r.municipality_code AND c.recipient_id = r.recipient_id
                        WHERE r.municipality_code = _person_record_complete.municipality_code
                          AND r.person_id = _person_record_complete.person_id
                          AND c.status IN ('claimed', 'certified'))
       AND NOT EXISTS (SELECT 1 FROM ledger.child ch JOIN ledger.certification c
                         ON c.municipality_code = ch.municipality_code AND c.recipient_id = ch.recipient_id
                        WHERE ch.municipality_code = _person_record_complete.municipality_code
                          AND ch.person_id = _person_record_complete.person_id
                          AND c.status IN ('claimed', 'certified')
                          AND (ch.until_date IS NULL OR ch.until_date >= d))
$function$;
REVOKE ALL ON FUNCTION ledger._person_record_complete(text,bigint,date) FROM PUBLIC;
COMMENT ON FUNCTION ledger._person_record_complete(text,bigint,date) IS '記録の完結の判定 (internal): nothing current rests on the person''s record';

CREATE OR REPLACE FUNCTION ledger._person_record_ended(municipality_code text, person_id bigint)
 RETURNS date
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
    SELECT pg_catalog.max(x) FROM (
        SELECT c.extinguished_on AS x FROM ledger.recipient r JOIN ledger.certification c
          ON c.municipality_code = r.municipality_code AND c.recipient_id = r.recipient_id
         WHERE r.municipality_code = _person_record_ended.municipality_code AND r.person_id = _person_record_ended.person_id
        UNION ALL
        SELECT LEAST(ch.until_date, c.extinguished_on) FROM ledger.child ch JOIN ledger.certification c
          ON c.municipality_code = ch.municipality_code AND c.recipient_id = ch.recipient_id
         WHERE ch.municipality_code = _person_record_ended.municipality_code AND ch.person_id = _person_record_ended.person_id) e
$function$;
REVOKE ALL ON FUNCTION ledger._person_record_ended(text,bigint) FROM PUBLIC;
COMMENT ON FUNCTION ledger._person_record_ended(text,bigint) IS '記録の終了日 (internal): the last 消滅 or end of care resting on the record';

CREATE OR REPLACE FUNCTION ledger._close_person(caller oid, municipality_code text, person_id bigint, closed_on date)
 RETURNS text
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    p ledger.person;
    pol ledger.retention_policy;
    period text;
BEGIN
    SELECT * INTO p FROM ledger.person x
     WHERE x.municipality_code = _close_person.municipality_code AND x.person_id = _close_person.person_id FOR UPDATE;
    -- a hidden person is refused like one that does not exist
    PERFORM ledger._require(caller, 'write', 'child_allowance', COALESCE(p.org_unit_id, -1));
    IF p.person_id IS NULL THEN
        RAISE EXCEPTION 'no person % in %', person_id, municipality_code USING ERRCODE = '02000', HINT = 'See ledger.person.';
    END IF;
    IF NOT ledger._person_record_complete(p.municipality_code, p.person_id, COALESCE(closed_on, ledger._today())) THEN
        RAISE EXCEPTION 'the person''s record is not complete: a certification resting on it is current'
            USING ERRCODE = '55000',
                  HINT = 'Record the 消滅 (extinguished) of the certification, or the end of care, before closing the record.';
    END IF;
    -- a record is closed when it ended, not before: not before the end of the certifications
    -- and care that rested on it, and not in the future
    IF closed_on IS NOT NULL AND (closed_on > ledger._today() OR closed_on < ledger._person_record_ended(p.municipality_code, p.person_id)) THEN
        RAISE EXCEPTION 'the closing date is before the record ended, or in the future' USING ERRCODE = '22023',
            HINT = 'Close the record on or after the last 消滅 or end of care that rested on it, and not after today.';
    END IF;
    SELECT * INTO pol FROM ledger.retention_policy WHERE policy_id = 'person_number';
    IF closed_on IS NOT NULL AND p.mynumber IS NOT NULL AND FOUND
       AND current_setting('ledger.period_key_command') <> '' THEN
        period := date_part('year', ledger.retention_expires_on(closed_on, pol.period, pol.counting))::text;
        UPDATE ledger.person x SET closed_on = _close_person.closed_on,
               mynumber = ledger._seal_for_period(p.mynumber, ledger.person_context(p.municipality_code, p.person_id), period)
         WHERE x.municipality_code = p.municipality_code AND x.person_id = p.person_id;
    ELSE
        UPDATE ledger.person x SET closed_on = _close_person.closed_on
         WHERE x.municipality_code = p.municipality_code AND x.person_id = p.person_id;
    END IF;
    RETURN period;
END $function$;

CREATE OR REPLACE FUNCTION ledger._shred_spent_periods()
 RETURNS text[]
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    period text;
    done text[] := '{}';
BEGIN
    IF current_setting('ledger.period_key_command') = '' THEN
        RETURN done;
    END IF;
    FOR period IN
        SELECT DISTINCT ledger._key_period(k.purpose) FROM ledger.data_key k
         WHERE ledger._key_period(k.purpose) IS NOT NULL AND k.destroyed_at IS NULL
           AND ledger._key_period(k.purpose)::integer <= date_part('year', ledger._today())
           AND NOT EXISTS (SELECT 1 FROM ledger.data_key k2 JOIN ledger.person x
                             ON ledger.sealed_key_id(x.mynumber) = k2.key_id
                           WHERE k2.purpose = k.purpose AND x.mynumber IS NOT NULL)
         ORDER BY 1 LOOP
        PERFORM ledger._forget_period_key(period);
        done := done || period;
    END LOOP;
    RETURN done;
END $function$;

-- (from the source: a function body of its own is re-parsed from its text)
CREATE OR REPLACE FUNCTION ledger.months_covered(payment_month date, OUT first_month date, OUT last_month date,
                                      OUT rule_id text)
LANGUAGE sql STABLE PARALLEL RESTRICTED
BEGIN ATOMIC
    SELECT (pg_catalog.date_trunc('month', payment_month) - pg_catalog.make_interval(months => r.months_per_payment))::date,
           (pg_catalog.date_trunc('month', payment_month) - interval '1 month')::date,
           r.rule_id
    FROM ledger.allowance_rule r
    WHERE (pg_catalog.date_trunc('month', payment_month) - interval '1 month')::date
          BETWEEN r.from_month AND COALESCE(r.to_month, 'infinity'::date)
      AND pg_catalog.date_part('month', payment_month)::integer = ANY (r.payment_months);
END;

CREATE OR REPLACE FUNCTION ledger.income_limits(rule_id text, dependants integer, OUT limit_yen bigint, OUT upper_yen bigint)
 RETURNS record
 LANGUAGE sql
 STABLE PARALLEL RESTRICTED STRICT
BEGIN ATOMIC
 SELECT (((l.limit_man + (r.limit_step_man * (income_limits.dependants - l.dependants))))::bigint * 10000),
     (((l.upper_man + (r.limit_step_man * (income_limits.dependants - l.dependants))))::bigint * 10000)
    FROM (ledger.income_limit l
      JOIN ledger.allowance_rule r USING (rule_id))
   WHERE ((l.rule_id = income_limits.rule_id) AND (l.dependants <= income_limits.dependants))
   ORDER BY l.dependants DESC
  LIMIT 1;
END;

CREATE OR REPLACE FUNCTION ledger.child_allowance(municipality_code text, recipient_ids bigint[], first_month date, last_month date)
 RETURNS TABLE(recipient_id bigint, month date, child_id bigint, person_id bigint, birth_date date, birth_order integer, band text, amount integer, reason text, rule_id text)
 LANGUAGE sql
 STABLE PARALLEL RESTRICTED
BEGIN ATOMIC
 WITH rm AS (
          SELECT x.rid,
             m.month,
             r.rule_id,
             r.eligible_age,
             r.order_age,
             r.primary_end_age,
             r.amount_under3,
             r.amount_3_to_primary,
             r.amount_3_to_primary_third,
             r.amount_after_primary,
             r.amount_third_any_age,
             r.special_amount,
                 CASE
                     WHEN (NOT r.income_limits) THEN 'none'::text
                     ELSE COALESCE(( SELECT
                             CASE
                                 WHEN ((r.upper_limit_from IS NOT NULL) AND (m.month >= r.upper_limit_from) AND (i.income >= l.upper_yen)) THEN 'upper'::text
                                 WHEN (i.income >= l.limit_yen) THEN 'limit'::text
                                 ELSE 'under'::text
                             END AS "case"
                        FROM (ledger.recipient_income i
                          CROSS JOIN LATERAL ledger.income_limits(r.rule_id, i.dependants) l(limit_yen, upper_yen))
                       WHERE (((i.municipality_code)::text = child_allowance.municipality_code) AND (i.recipient_id = x.rid) AND (i.benefit_year = ledger.benefit_year(m.month)))), 'unknown'::text)
                 END AS income_band
            FROM ((( SELECT DISTINCT u.rid
                    FROM unnest(child_allowance.recipient_ids) u(rid)) x
              CROSS JOIN ( SELECT (g.g)::date AS month
                    FROM generate_series(
                         CASE
                             WHEN (isfinite(child_allowance.first_month) AND isfinite(child_allowance.last_month)) THEN date_trunc('month'::text, (child_allowance.first_month)::timestamp without time zone)
                             ELSE NULL::timestamp without time zone
                         END, LEAST(date_trunc('month'::text, (child_allowance.last_month)::timestamp without time zone), ((child_allowance.first_month)::timestamp without time zone + '100 years'::interval)), '1 mon'::interval) g(g)) m)
              JOIN ledger.allowance_rule r ON (((m.month >= r.from_month) AND ((r.to_month IS NULL) OR (m.month <= r.to_month)))))
         ), kid AS (
          SELECT c.recipient_id,
             rm.month,
             c.child_id,
             c.person_id,
             p.birth_date,
             rm.rule_id,
             rm.income_band,
             rm.order_age,
             rm.eligible_age,
             rm.special_amount,
             ((date_trunc('month'::text, (c.from_date)::timestamp without time zone) < rm.month) AND ((c.until_date IS NULL) OR (rm.month <= c.until_date))) AS in_care,
             ((c.until_date IS NOT NULL) AND (rm.month > c.until_date)) AS left_care,
             c.supported,
             (rm.month <= ledger.school_year_end(p.birth_date, rm.order_age)) AS within_order_age,
             (rm.month <= ledger.school_year_end(p.birth_date, rm.eligible_age)) AS within_eligible_age,
                 CASE
                     WHEN (rm.month <= ledger.under3_last_month(p.birth_date)) THEN 'under3'::text
                     WHEN (rm.month <= ledger.school_year_end(p.birth_date, rm.primary_end_age)) THEN 'age3_to_primary'::text
                     ELSE 'after_primary'::text
                 END AS age_band,
             rm.amount_under3,
             rm.amount_3_to_primary,
             rm.amount_3_to_primary_third,
             rm.amount_after_primary,
             rm.amount_third_any_age
            FROM (((( SELECT DISTINCT u.rid
                    FROM unnest(child_allowance.recipient_ids) u(rid)) x
              CROSS JOIN LATERAL ( SELECT c1.municipality_code,
                     c1.child_id,
                     c1.person_id,
                     c1.recipient_id,
                     c1.org_unit_id,
                     c1.supported,
                     c1.support_confirmed_on,
                     c1.relationship,
                     c1.from_date,
                     c1.until_date
                    FROM ledger.child c1
                   WHERE (((c1.municipality_code)::text = child_allowance.municipality_code) AND (c1.recipient_id = x.rid))
                  OFFSET 0) c)
              JOIN ledger.person p ON ((((p.municipality_code)::text = (c.municipality_code)::text) AND (p.person_id = c.person_id))))
              JOIN rm ON ((rm.rid = c.recipient_id)))
         ), kid_counted AS (
          SELECT k.recipient_id,
             k.month,
             k.child_id,
             k.person_id,
             k.birth_date,
             k.rule_id,
             k.income_band,
             k.order_age,
             k.eligible_age,
             k.special_amount,
             k.in_care,
             k.left_care,
             k.supported,
             k.within_order_age,
             k.within_eligible_age,
             k.age_band,
             k.amount_under3,
             k.amount_3_to_primary,
             k.amount_3_to_primary_third,
             k.amount_after_primary,
             k.amount_third_any_age,
             (k.supported AND k.in_care AND k.within_order_age) AS counted
            FROM kid k
         ), ordered AS (
          SELECT k.recipient_id,
             k.month,
             k.child_id,
             k.person_id,
             k.birth_date,
             k.rule_id,
             k.income_band,
             k.order_age,
             k.eligible_age,
             k.special_amount,
             k.in_care,
             k.left_care,
             k.supported,
             k.within_order_age,
             k.within_eligible_age,
             k.age_band,
             k.amount_under3,
             k.amount_3_to_primary,
             k.amount_3_to_primary_third,
             k.amount_after_primary,
             k.amount_third_any_age,
             k.counted,
                 CASE
                     WHEN k.counted THEN (row_number() OVER (PARTITION BY k.recipient_id, k.month, k.counted ORDER BY k.birth_date, k.child_id))::integer
                     ELSE NULL::integer
                 END AS birth_order
            FROM kid_counted k
         ), b AS (
          SELECT o.recipient_id,
             o.month,
             o.child_id,
             o.person_id,
             o.birth_date,
             o.rule_id,
             o.income_band,
             o.order_age,
             o.eligible_age,
             o.special_amount,
             o.in_care,
             o.left_care,
             o.supported,
             o.within_order_age,
             o.within_eligible_age,
             o.age_band,
             o.amount_under3,
             o.amount_3_to_primary,
             o.amount_3_to_primary_third,
             o.amount_after_primary,
             o.amount_third_any_age,
             o.counted,
             o.birth_order,
                 CASE
                     WHEN ((NOT o.counted) OR (NOT o.within_eligible_age)) THEN 0
                     WHEN ((o.birth_order >= 3) AND (o.amount_third_any_age IS NOT NULL)) THEN o.amount_third_any_age
                     WHEN (o.age_band = 'under3'::text) THEN o.amount_under3
                     WHEN ((o.age_band = 'age3_to_primary'::text) AND (o.birth_order >= 3)) THEN o.amount_3_to_primary_third
                     WHEN (o.age_band = 'age3_to_primary'::text) THEN o.amount_3_to_primary
                     ELSE o.amount_after_primary
                 END AS base_amount
            FROM ordered o
         )
  SELECT b.recipient_id,
     b.month,
     b.child_id,
     b.person_id,
     b.birth_date,
     b.birth_order,
         CASE
             WHEN (NOT b.supported) THEN 'not_supported'::text
             WHEN b.left_care THEN 'left_care'::text
             WHEN (NOT b.in_care) THEN 'not_yet_in_care'::text
             WHEN (NOT b.within_order_age) THEN 'past_order_age'::text
             WHEN (NOT b.within_eligible_age) THEN 'order_only'::text
             WHEN (b.income_band = 'unknown'::text) THEN 'income_unknown'::text
             WHEN (b.income_band = 'upper'::text) THEN 'over_upper_limit'::text
             WHEN (b.income_band = 'limit'::text) THEN 'special_benefit'::text
             ELSE b.age_band
         END AS age_band,
         CASE
             WHEN ((b.base_amount = 0) OR (b.income_band = ANY (ARRAY['unknown'::text, 'upper'::text]))) THEN 0
             WHEN (b.income_band = 'limit'::text) THEN b.special_amount
             ELSE b.base_amount
         END AS base_amount,
         CASE
             WHEN (NOT b.supported) THEN '監護相当・生計費の負担なし (出生順位に数えない)'::text
             WHEN b.left_care THEN '監護終了 (支給なし)'::text
             WHEN (NOT b.in_care) THEN '監護開始の翌月から'::text
             WHEN (NOT b.within_order_age) THEN format('%s歳年度末を経過 (出生順位に数えない)'::text, b.order_age)
             WHEN (NOT b.within_eligible_age) THEN format('第%s子: %s歳年度末を経過 (出生順位のみ算定, 支給なし)'::text, b.birth_order, b.eligible_age)
             ELSE format('%s 第%s子 %s円%s'::text,
             CASE b.age_band
                 WHEN 'under3'::text THEN '3歳未満'::text
                 WHEN 'age3_to_primary'::text THEN '3歳以上小学校修了前'::text
                 ELSE '小学校修了後'::text
             END, b.birth_order, to_char(b.base_amount, 'FM999,999'::text),
             CASE b.income_band
                 WHEN 'unknown'::text THEN ' -> 所得未確認のため支給なし'::text
                 WHEN 'upper'::text THEN ' -> 所得上限限度額以上のため支給なし'::text
                 WHEN 'limit'::text THEN format(' -> 所得制限限度額以上: 特例給付 %s円'::text, to_char(b.special_amount, 'FM999,999'::text))
                 ELSE ''::text
             END)
         END AS format,
     b.rule_id
    FROM b;
END;

CREATE OR REPLACE FUNCTION ledger.monthly_amount(municipality_code text, recipient_id bigint, month date)
 RETURNS TABLE(child_id bigint, person_id bigint, birth_date date, birth_order integer, band text, amount integer, reason text, rule_id text)
 LANGUAGE sql
 STABLE PARALLEL RESTRICTED
 SET jit TO 'off'
BEGIN ATOMIC
 SELECT a.child_id,
     a.person_id,
     a.birth_date,
     a.birth_order,
     a.band,
     a.amount,
     a.reason,
     a.rule_id
    FROM ledger.child_allowance(monthly_amount.municipality_code, ARRAY[monthly_amount.recipient_id], monthly_amount.month, monthly_amount.month) a(recipient_id, month, child_id, person_id, birth_date, birth_order, band, amount, reason, rule_id)
   ORDER BY a.birth_order, a.birth_date, a.child_id;
END;

CREATE OR REPLACE FUNCTION ledger.monthly_total(municipality_code text, recipient_id bigint, month date)
 RETURNS integer
 LANGUAGE sql
 STABLE PARALLEL RESTRICTED
 SET jit TO 'off'
BEGIN ATOMIC
 SELECT (COALESCE(sum(a.amount), (0)::bigint))::integer AS "coalesce"
    FROM ledger.child_allowance(monthly_total.municipality_code, ARRAY[monthly_total.recipient_id], monthly_total.month, monthly_total.month) a(recipient_id, month, child_id, person_id, birth_date, birth_order, band, amount, reason, rule_id);
END;

CREATE OR REPLACE FUNCTION ledger._payment_run_claim(caller oid, payment_month date, first_month date, last_month date, rule_id text, job text)
 RETURNS bigint
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    who name := ledger._role_name(caller);
    run bigint;
BEGIN
    -- the run is the municipality's: only a role that writes in every org unit of its
    -- municipality (the payment_job duty) may claim it, so that no clerk's open transaction
    -- or idle session holding a claim can keep the municipality's job from running
    IF ledger._is_superuser(caller)
       OR NOT EXISTS (SELECT 1 FROM ledger.staff s WHERE s.role_name = who)
       OR EXISTS (SELECT 1 FROM ledger.staff s JOIN ledger.org_unit o ON o.municipality_code = s.municipality_code
                   WHERE s.role_name = who
                     AND o.org_unit_id <> ALL ((ledger._permitted_org_units(who, 'write', 'child_allowance')).org_units)) THEN
        RAISE EXCEPTION 'permission denied: the payment run needs a staff role that writes in every org unit (the payment_job duty)'
            USING ERRCODE = '42501',
            HINT = 'Run it as a job role registered with ledger.register_staff(..., ARRAY[''payment_job'']), not as a superuser or a clerk.';
    END IF;
    UPDATE ledger.payment_run r SET status = 'interrupted', updated_at = pg_catalog.clock_timestamp()
     WHERE r.status = 'running' AND ledger._run_session_gone(r.backend_pid, r.backend_start);
    BEGIN
        INSERT INTO ledger.payment_run (payment_month, first_month, last_month, rule_id, run_by, job,
                                        backend_pid, backend_start)
        VALUES (payment_month, first_month, last_month, rule_id, who, job, pg_catalog.pg_backend_pid(),
                ledger._backend_start())
        RETURNING ledger.payment_run.run_id INTO run;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'another payment run is in progress' USING ERRCODE = '55P03',
            HINT = 'Runs never overlap; wait for it to finish (see ledger.payment_run).';
    END;
    RETURN run;
END $function$;

CREATE OR REPLACE FUNCTION ledger._payment_run_progress(caller oid, run_id bigint, certifications integer, payments integer, amount bigint, already_prepared integer, public_servant integer, zero_amount integer, revisions integer, skipped integer, municipality text, last_certification_id bigint, finished boolean)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
    UPDATE ledger.payment_run r
       SET batches = r.batches + CASE WHEN finished THEN 0 ELSE 1 END,
           certifications = r.certifications + _payment_run_progress.certifications,
           certifications_skipped = r.certifications_skipped + COALESCE(skipped, 0),
           payments_created = r.payments_created + payments, amount_created = r.amount_created + amount,
           already_prepared = r.already_prepared + _payment_run_progress.already_prepared,
           public_servant = r.public_servant + _payment_run_progress.public_servant,
           zero_amount = r.zero_amount + _payment_run_progress.zero_amount,
           revisions_created = r.revisions_created + revisions,
           current_municipality = COALESCE(municipality, r.current_municipality),
           last_certification_id = COALESCE(_payment_run_progress.last_certification_id, r.last_certification_id),
           status = CASE WHEN finished THEN 'finished' ELSE r.status END,
           finished_at = CASE WHEN finished THEN pg_catalog.clock_timestamp() END,
           updated_at = pg_catalog.clock_timestamp()
     WHERE r.run_id = _payment_run_progress.run_id AND r.status = 'running'
       AND r.backend_pid = pg_catalog.pg_backend_pid()
       AND r.run_by = ledger._role_name(caller);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'payment run % is not running in this session', run_id USING ERRCODE = '55000',
            HINT = 'Progress is recorded by ledger.prepare_payments for its own run.';
    END IF;
END $function$;
REVOKE ALL ON FUNCTION ledger._payment_run_progress(oid,bigint,integer,integer,bigint,integer,integer,integer,integer,integer,text,bigint,boolean) FROM PUBLIC;
COMMENT ON FUNCTION ledger._payment_run_progress(oid,bigint,integer,integer,bigint,integer,integer,integer,integer,integer,text,bigint,boolean) IS '支払処理の進捗 (internal twin of ledger.payment_run_progress)';

CREATE OR REPLACE FUNCTION ledger.payment_run_progress(run_id bigint, certifications integer, payments integer, amount bigint, already_prepared integer, public_servant integer, zero_amount integer, revisions integer, skipped integer, municipality text, last_certification_id bigint, finished boolean)
 RETURNS void
 LANGUAGE c
AS 'MODULE_PATHNAME', $function$gated_call$function$;
GRANT EXECUTE ON FUNCTION ledger.payment_run_progress(bigint,integer,integer,bigint,integer,integer,integer,integer,integer,text,bigint,boolean) TO PUBLIC;
COMMENT ON FUNCTION ledger.payment_run_progress(bigint,integer,integer,bigint,integer,integer,integer,integer,integer,text,bigint,boolean) IS '支払処理の進捗: used by ledger.prepare_payments after each committed batch';

CREATE OR REPLACE PROCEDURE ledger.prepare_payments(IN payment_month date, IN batch_size integer DEFAULT 1000)
 LANGUAGE plpgsql
AS $procedure$
DECLARE
    pm date;
    cov record;
    run bigint;
    muni text;
    after_id bigint;
    ids bigint[];
    b record;
    b1 record;
    one bigint;
    ready bigint[];
    skipped integer;
    budget interval := pg_catalog.current_setting('ledger.job_lock_timeout')::interval;
    waited timestamptz;
    job text;
    saved_path text := pg_catalog.current_setting('search_path');
BEGIN
    -- the caller's search_path must not resolve anything the run executes
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false);
    pm := pg_catalog.date_trunc('month', payment_month::timestamp)::date;
    job := ledger._job_name();
    SELECT * INTO cov FROM ledger.months_covered(pm);
    IF cov.first_month IS NULL THEN
        RAISE EXCEPTION '% is not a payment month (支払期月)', pg_catalog.to_char(pm, 'YYYY-MM') USING ERRCODE = '22023',
            HINT = 'Payment months are in ledger.allowance_rule.payment_months (from 2024-10: every even month).';
    END IF;
    IF batch_size IS NULL OR batch_size < 1 THEN
        RAISE EXCEPTION 'batch_size must be positive' USING ERRCODE = '22023', HINT = 'For example 1000.';
    END IF;
    -- the claim refuses a superuser (who would pass every policy) and a role without write
    run := ledger.payment_run_claim(pm, cov.first_month, cov.last_month, cov.rule_id, job);
    COMMIT;

    FOR muni IN SELECT DISTINCT c.municipality_code FROM ledger.certification c ORDER BY 1 LOOP
        after_id := 0;
        LOOP
            SELECT pg_catalog.array_agg(s.certification_id ORDER BY s.certification_id) INTO ids
            FROM (SELECT c.certification_id FROM ledger.certification c
                  WHERE c.municipality_code = muni AND c.certification_id > after_id
                    AND c.status IN ('certified', 'extinguished')
                    AND c.first_month <= cov.last_month
                    AND (c.extinguished_on IS NULL OR c.extinguished_on >= cov.first_month)
                  ORDER BY c.certification_id LIMIT batch_size) s;
            EXIT WHEN ids IS NULL;
            -- Rows another session holds locked (a clerk's SELECT ... FOR UPDATE in an open
            -- transaction) do not hold the run up: the batch's certifications are locked now,
            -- skipping those another session holds (left to the next run); any other row is
            -- waited for at most what is left of ledger.job_lock_timeout for the whole run.
            SELECT pg_catalog.array_agg(s.certification_id ORDER BY s.certification_id) INTO ready
            FROM (SELECT c.certification_id FROM ledger.certification c
                  WHERE c.municipality_code = muni AND c.certification_id = ANY (ids)
                  ORDER BY c.certification_id FOR NO KEY UPDATE SKIP LOCKED) s;
            skipped := pg_catalog.cardinality(ids) - COALESCE(pg_catalog.cardinality(ready), 0);
            SELECT 0 AS certifications, 0 AS payments, 0::bigint AS amount, 0 AS already_prepared,
                   0 AS public_servant, 0 AS zero_amount, 0 AS revisions INTO b;
            IF ready IS NOT NULL THEN
                waited := pg_catalog.clock_timestamp();
                PERFORM pg_catalog.set_config('lock_timeout', GREATEST(1, (EXTRACT(epoch FROM budget) * 1000)::bigint)::text, true);
                BEGIN
                    b := ledger._prepare_payment_batch(muni, ready, pm, cov.first_month, cov.last_month);
                EXCEPTION WHEN lock_not_available THEN
                    budget := budget - (pg_catalog.clock_timestamp() - waited);
                    -- one certification at a time: only those still held wait for the next run
                    FOREACH one IN ARRAY ready LOOP
                        waited := pg_catalog.clock_timestamp();
                        PERFORM pg_catalog.set_config('lock_timeout', GREATEST(1, (EXTRACT(epoch FROM budget) * 1000)::bigint)::text, true);
                        BEGIN
                            b1 := ledger._prepare_payment_batch(muni, ARRAY[one], pm, cov.first_month, cov.last_month);
                            SELECT b.certifications + b1.certifications AS certifications, b.payments + b1.payments AS payments,
                                   b.amount + b1.amount AS amount, b.already_prepared + b1.already_prepared AS already_prepared,
                                   b.public_servant + b1.public_servant AS public_servant,
                                   b.zero_amount + b1.zero_amount AS zero_amount, b.revisions + b1.revisions AS revisions INTO b;
                        EXCEPTION WHEN lock_not_available THEN
                            budget := budget - (pg_catalog.clock_timestamp() - waited);
                            skipped := skipped + 1;
                        END;
                    END LOOP;
                END;
            END IF;
            after_id := ids[pg_catalog.cardinality(ids)];
            PERFORM ledger.payment_run_progress(run, b.certifications, b.payments, b.amount, b.already_prepared,
                                                b.public_servant, b.zero_amount, b.revisions, skipped, muni, after_id, false);
            COMMIT;
        END LOOP;
    END LOOP;
    PERFORM ledger.payment_run_progress(run, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL, true);
    COMMIT;
    SELECT * INTO b FROM ledger.payment_run r WHERE r.run_id = run;
    RAISE NOTICE 'payment run % for %: % payments (% yen), % already prepared, % public servants skipped, % revisions, % certifications held locked (left to the next run)',
        run, pg_catalog.to_char(pm, 'YYYY-MM'), b.payments_created, b.amount_created, b.already_prepared,
        b.public_servant, b.revisions_created, b.certifications_skipped;
    PERFORM pg_catalog.set_config('search_path', saved_path, false);
END $procedure$;

CREATE OR REPLACE FUNCTION ledger._rows_about(municipality_code text, person_id bigint)
 RETURNS TABLE(relation_name text, row_key text[])
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
    WITH trail AS (
        -- (relation, row key, column, value) of every recorded value of a linking column
        SELECT e.relation_name, e.row_key, v.c, v.val
          FROM ledger.audit_event e
         CROSS JOIN LATERAL (SELECT c, n AS val FROM unnest(e.column_names, e.new_values) AS x(c, n)
                             UNION ALL
                             SELECT c, o FROM unnest(e.column_names, e.old_values) AS y(c, o)) v
         WHERE e.relation_name IN ('ledger.recipient', 'ledger.child', 'ledger.certification', 'ledger.payment',
                                   'ledger.certification_revision')
           AND e.row_key[1] = _rows_about.municipality_code
           AND v.c IN ('person_id', 'recipient_id', 'certification_id') AND v.val IS NOT NULL
    ), linked AS (
        -- recipient and child rows about the person, now or ever
        SELECT 'ledger.recipient' AS rel, ARRAY[r.municipality_code::text, r.recipient_id::text] AS k
          FROM ledger.recipient r WHERE r.municipality_code = _rows_about.municipality_code AND r.person_id = _rows_about.person_id
        UNION SELECT 'ledger.child', ARRAY[c.municipality_code::text, c.child_id::text]
          FROM ledger.child c WHERE c.municipality_code = _rows_about.municipality_code AND c.person_id = _rows_about.person_id
        UNION SELECT t.relation_name, t.row_key FROM trail t
         WHERE t.relation_name IN ('ledger.recipient', 'ledger.child') AND t.c = 'person_id'
           AND t.val = _rows_about.person_id::text
    ), recipients AS (
        SELECT k[2] AS rid FROM linked WHERE rel = 'ledger.recipient'
    ), below AS (
        -- rows of those recipients, now or ever
        SELECT 'ledger.certification' AS rel, ARRAY[c.municipality_code::text, c.certification_id::text] AS k
          FROM ledger.certification c WHERE c.municipality_code = _rows_about.municipality_code
           AND c.recipient_id::text IN (SELECT rid FROM recipients)
        UNION SELECT 'ledger.payment', ARRAY[p.municipality_code::text, p.payment_id::text]
          FROM ledger.payment p WHERE p.municipality_code = _rows_about.municipality_code
           AND p.recipient_id::text IN (SELECT rid FROM recipients)
        UNION SELECT 'ledger.recipient_income', ARRAY[i.municipality_code::text, i.recipient_id::text, i.benefit_year::text]
          FROM ledger.recipient_income i WHERE i.municipality_code = _rows_about.municipality_code
           AND i.recipient_id::text IN (SELECT rid FROM recipients)
        UNION SELECT t.relation_name, t.row_key FROM trail t
         WHERE t.relation_name IN ('ledger.certification', 'ledger.payment') AND t.c = 'recipient_id'
           AND t.val IN (SELECT rid FROM recipients)
    ), revisions AS (
        SELECT 'ledger.certification_revision' AS rel, ARRAY[v.municipality_code::text, v.revision_id::text] AS k
          FROM ledger.certification_revision v WHERE v.municipality_code = _rows_about.municipality_code
           AND v.certification_id::text IN (SELECT k[2] FROM below WHERE rel = 'ledger.certification')
        UNION SELECT t.relation_name, t.row_key FROM trail t
         WHERE t.relation_name = 'ledger.certification_revision' AND t.c = 'certification_id'
           AND t.val IN (SELECT k[2] FROM below WHERE rel = 'ledger.certification')
    )
    SELECT 'ledger.person', ARRAY[municipality_code, person_id::text]
    UNION SELECT rel, k FROM linked
    UNION SELECT rel, k FROM below
    UNION SELECT rel, k FROM revisions
$function$;
REVOKE ALL ON FUNCTION ledger._rows_about(text,bigint) FROM PUBLIC;
COMMENT ON FUNCTION ledger._rows_about(text,bigint) IS '個人に関する行 (internal): the trail''s (relation, row key) of every ledger row about a person';

CREATE OR REPLACE FUNCTION ledger._require_history(caller oid, municipality_code text)
 RETURNS void
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
    IF ledger._is_superuser(caller)
       OR pg_catalog.pg_has_role(caller, 'ledger_auditor', 'MEMBER')
       OR EXISTS (SELECT 1 FROM ledger.org_unit o
                   WHERE (o.municipality_code = _require_history.municipality_code
                          OR (_require_history.municipality_code IS NULL AND o.municipality_code =
                              (SELECT s.municipality_code FROM ledger.staff s JOIN pg_catalog.pg_roles r ON r.rolname = s.role_name
                                WHERE r.oid = caller)))
                     AND o.org_unit_id = ANY ((ledger._permitted_org_units(ledger._role_name(caller),
                                                                          'disclose_access', 'child_allowance')).org_units)) THEN
        RETURN;
    END IF;
    RAISE EXCEPTION 'permission denied: disclose_access for affair child_allowance'
        USING ERRCODE = '42501', HINT = ledger._duty_hint('disclose_access') || ' The auditor (監査) may too.';
END $function$;
REVOKE ALL ON FUNCTION ledger._require_history(oid,text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._require_history(oid,text) IS '本人開示・監査の確認 (internal): 42501 unless superuser, auditor or disclose_access in the municipality';

CREATE OR REPLACE FUNCTION ledger._access_history(caller oid, municipality_code text, person_id bigint, from_time timestamp with time zone, to_time timestamp with time zone)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
    PERFORM ledger._require_history(caller, COALESCE(municipality_code, '-'));
    IF municipality_code IS NULL OR person_id IS NULL THEN
        RAISE EXCEPTION 'an access history names a municipality and a person' USING ERRCODE = '22004',
            HINT = 'ledger.access_history(''131016'', person_id, from, to)';
    END IF;
    RETURN (WITH r AS MATERIALIZED (
        SELECT * FROM ledger._rows_about(_access_history.municipality_code, _access_history.person_id))
    SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(h) ORDER BY h.at, h.what), '[]')
    FROM (
    SELECT e.logged_at AS at, e.kind AS what, e.acting_role AS staff_role, e.staff_id, e.relation_name AS relation,
           CASE WHEN e.kind IN ('reveal', 'lookup', 'pseudonym') THEN e.detail END AS detail
      FROM ledger.audit_event e
      JOIN r ON r.relation_name = e.relation_name AND r.row_key = e.row_key
     WHERE e.kind IN ('reveal', 'lookup', 'pseudonym', 'insert', 'update', 'delete')
       AND e.logged_at >= COALESCE(from_time, '-infinity') AND e.logged_at < COALESCE(to_time, 'infinity')
    UNION ALL
    -- reads: a statement that returned one of the person's rows (once per statement)
    SELECT e.logged_at, e.kind, e.acting_role, e.staff_id, e.relation_name, NULL
      FROM ledger.audit_event e
     WHERE e.kind = 'select' AND e.row_key IS NOT NULL
       AND e.relation_name IN (SELECT r.relation_name FROM r)
       AND e.logged_at >= COALESCE(from_time, '-infinity') AND e.logged_at < COALESCE(to_time, 'infinity')
       AND EXISTS (SELECT 1 FROM r WHERE r.relation_name = e.relation_name
                                     AND ledger.audit_keys_contain(e.row_key, r.row_key))
    UNION ALL
    SELECT x.recorded_at, 'exchange:' || x.direction, x.staff_role::text, NULL::bigint, 'ledger.exchange_record',
           x.requester || ' -> ' || x.provider || ' ' || x.item_code || ' ' || x.outcome
      FROM ledger.exchange_record x
     WHERE x.municipality_code = _access_history.municipality_code AND x.person_id = _access_history.person_id
       AND x.recorded_at >= COALESCE(from_time, '-infinity') AND x.recorded_at < COALESCE(to_time, 'infinity')
    ) h);
END $function$;
REVOKE ALL ON FUNCTION ledger._access_history(oid,text,bigint,timestamp with time zone,timestamp with time zone) FROM PUBLIC;
COMMENT ON FUNCTION ledger._access_history(oid,text,bigint,timestamp with time zone,timestamp with time zone) IS '本人開示 (internal twin of ledger.access_history)';

CREATE OR REPLACE FUNCTION ledger.access_history(municipality_code text, person_id bigint, from_time timestamp with time zone DEFAULT NULL::timestamp with time zone, to_time timestamp with time zone DEFAULT NULL::timestamp with time zone)
 RETURNS jsonb
 LANGUAGE c
AS 'MODULE_PATHNAME', $function$gated_call$function$;
GRANT EXECUTE ON FUNCTION ledger.access_history(text,bigint,timestamp with time zone,timestamp with time zone) TO PUBLIC;
COMMENT ON FUNCTION ledger.access_history(text,bigint,timestamp with time zone,timestamp with time zone) IS '本人開示: who read, revealed, found, changed or exchanged this person''s data, when and why (disclose_access or the auditor)';

CREATE OR REPLACE FUNCTION ledger._audit_persons_seen(caller oid, staff_role name, from_time timestamp with time zone, to_time timestamp with time zone)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
    -- staff with disclose_access see their own municipality's persons only; the auditor all
    PERFORM ledger._require_history(caller, NULL);
    RETURN (WITH keyed AS (
        -- one row per row key: a read's record names many rows, any other one
        SELECT e.kind, e.logged_at, e.relation_name, k.key
          FROM ledger.audit_event e
         CROSS JOIN LATERAL (SELECT e.row_key AS key WHERE e.kind <> 'select'
                             UNION ALL
                             SELECT x FROM ledger.audit_read_keys(e.row_key) x WHERE e.kind = 'select') k
         WHERE e.acting_role = _audit_persons_seen.staff_role
           AND e.kind IN ('select', 'reveal', 'lookup', 'pseudonym', 'insert', 'update', 'delete')
           AND e.relation_name IN ('ledger.person', 'ledger.recipient', 'ledger.child')
           AND e.row_key IS NOT NULL
           AND e.logged_at >= COALESCE(from_time, '-infinity') AND e.logged_at < COALESCE(to_time, 'infinity')
    ), ev AS (
        SELECT keyed.kind, keyed.logged_at, keyed.key[1] AS muni,
               CASE WHEN keyed.relation_name = 'ledger.person' THEN keyed.key[2]::bigint
                    WHEN keyed.relation_name = 'ledger.recipient' THEN
                         (SELECT r.person_id FROM ledger.recipient r
                           WHERE r.municipality_code = keyed.key[1] AND r.recipient_id = keyed.key[2]::bigint)
                    WHEN keyed.relation_name = 'ledger.child' THEN
                         (SELECT c.person_id FROM ledger.child c
                           WHERE c.municipality_code = keyed.key[1] AND c.child_id = keyed.key[2]::bigint)
               END AS pid
          FROM keyed
         WHERE pg_catalog.cardinality(keyed.key) >= 2
           AND (ledger._is_superuser(caller)
                OR pg_catalog.pg_has_role(caller, 'ledger_auditor', 'MEMBER')
                OR keyed.key[1] = (SELECT s.municipality_code FROM ledger.staff s JOIN pg_catalog.pg_roles r
                                     ON r.rolname = s.role_name WHERE r.oid = caller)))
    SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(s) ORDER BY s.municipality_code, s.person_id), '[]')
    FROM (SELECT ev.muni AS municipality_code, ev.pid AS person_id,
                 pg_catalog.count(*) FILTER (WHERE ev.kind = 'select') AS reads,
                 pg_catalog.count(*) FILTER (WHERE ev.kind = 'reveal') AS reveals,
                 pg_catalog.count(*) FILTER (WHERE ev.kind IN ('lookup', 'pseudonym')) AS lookups,
                 pg_catalog.count(*) FILTER (WHERE ev.kind IN ('insert', 'update', 'delete')) AS changes,
                 pg_catalog.min(ev.logged_at) AS first_at, pg_catalog.max(ev.logged_at) AS last_at
            FROM ev WHERE ev.pid IS NOT NULL
           GROUP BY 1, 2) s);
END $function$;
REVOKE ALL ON FUNCTION ledger._audit_persons_seen(oid,name,timestamp with time zone,timestamp with time zone) FROM PUBLIC;
COMMENT ON FUNCTION ledger._audit_persons_seen(oid,name,timestamp with time zone,timestamp with time zone) IS '閲覧対象者の一覧 (internal twin of ledger.audit_persons_seen)';

CREATE OR REPLACE FUNCTION ledger.audit_persons_seen(staff_role name, from_time timestamp with time zone DEFAULT NULL::timestamp with time zone, to_time timestamp with time zone DEFAULT NULL::timestamp with time zone)
 RETURNS jsonb
 LANGUAGE c
AS 'MODULE_PATHNAME', $function$gated_call$function$;
GRANT EXECUTE ON FUNCTION ledger.audit_persons_seen(name,timestamp with time zone,timestamp with time zone) TO PUBLIC;
COMMENT ON FUNCTION ledger.audit_persons_seen(name,timestamp with time zone,timestamp with time zone) IS '閲覧対象者の一覧 (事故時の調査): the persons whose rows a staff member read or changed, or whose number they revealed or found, in a period';

-- 4. A blank text (spaces only) is as empty as ''.
ALTER TABLE ledger.disclosure_approval DROP CONSTRAINT disclosure_approval_purpose_check,
    ADD CONSTRAINT disclosure_approval_purpose_check CHECK (NOT ledger._is_blank(purpose));
ALTER TABLE ledger.inquiry_rule DROP CONSTRAINT inquiry_rule_legal_basis_check,
    ADD CONSTRAINT inquiry_rule_legal_basis_check CHECK (NOT ledger._is_blank(legal_basis));
ALTER TABLE ledger.legal_hold DROP CONSTRAINT legal_hold_reason_check,
    ADD CONSTRAINT legal_hold_reason_check CHECK (NOT ledger._is_blank(reason));
ALTER TABLE ledger.linkage_rule DROP CONSTRAINT linkage_rule_legal_basis_check,
    ADD CONSTRAINT linkage_rule_legal_basis_check CHECK (NOT ledger._is_blank(legal_basis));

-- 5. The 本人開示担当 duty.
INSERT INTO ledger.duty (duty_code, name, description) VALUES
    ('disclosure_officer', '本人開示担当', 'Answers a person''s request to know who used their data (ledger.access_history); reads no ledger row');
INSERT INTO ledger.duty_permission VALUES
    ('disclosure_officer', 'disclose_access', 'all');
-- a dump keeps the DBA's duties, not the extension's own
SELECT pg_catalog.pg_extension_config_dump('ledger.duty',
    'WHERE duty_code NOT IN (''clerk'', ''examiner'', ''approver'', ''administrator'', ''auditor'', ''payment_job'', ''disclosure_officer'')');
SELECT pg_catalog.pg_extension_config_dump('ledger.duty_permission',
    'WHERE duty_code NOT IN (''clerk'', ''examiner'', ''approver'', ''administrator'', ''auditor'', ''payment_job'', ''disclosure_officer'')');

-- Backups: the run tables' sequences (and the retention runs) are dumped with their rows, so a
-- restored ledger never hands out an id its restored rows hold.
SELECT pg_catalog.pg_extension_config_dump('ledger.deletion_record_deletion_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ledger.retention_run', '');
SELECT pg_catalog.pg_extension_config_dump('ledger.retention_run_run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ledger.payment_run_run_id_seq', '');

-- 6. 台帳の閉鎖 (closed_on) is set by ledger.close_person only, no longer by a staff UPDATE.
REVOKE UPDATE (closed_on) ON ledger.person FROM ledger_staff;

-- A protected table's rows hold no My Number in clear (the row trigger _protect_update attaches).
CREATE FUNCTION ledger._no_number_in_row() RETURNS trigger
    AS 'MODULE_PATHNAME', 'no_number_in_row' LANGUAGE C;
-- EXECUTE stays with PUBLIC: a table owner's ledger.protect_table() creates the trigger.
COMMENT ON FUNCTION ledger._no_number_in_row() IS
    '個人番号の平文保存の拒否 (row trigger mnl_rls_no_number): a protected table''s new or changed values hold no valid My Number in any form the type accepts (23514)';

-- 7. Every protected table, the ledger's and the DBA's: the legal-hold guard, and a trail that
--    keeps no value but the keys, the org unit and the columns named here.
SELECT ledger._protect_update('ledger.recipient', ARRAY['person_id']);
SELECT ledger._protect_update('ledger.child', ARRAY['recipient_id', 'person_id']);
SELECT ledger._protect_update('ledger.certification', ARRAY['recipient_id']);
SELECT ledger._protect_update('ledger.certification_revision', ARRAY['certification_id']);
SELECT ledger._protect_update('ledger.payment', ARRAY['certification_id', 'recipient_id']);
SELECT ledger._protect_update(relation)
  FROM ledger.protected_tables
 WHERE relation NOT IN ('ledger.recipient'::regclass, 'ledger.child'::regclass, 'ledger.certification'::regclass,
                        'ledger.certification_revision'::regclass, 'ledger.payment'::regclass)
 ORDER BY relation::oid;

-- Casts from text and varchar to the number types: implicit (a typed string parameter, as
-- pgJDBC's setString sends, resolves the functions that take a number); the casts back stay
-- explicit.
DROP CAST (text AS ledger.mynumber);
DROP CAST (varchar AS ledger.mynumber);
DROP CAST (text AS ledger.corporate_number);
DROP CAST (varchar AS ledger.corporate_number);
CREATE CAST (text AS ledger.mynumber) WITH FUNCTION ledger.mynumber(text) AS IMPLICIT;
CREATE CAST (varchar AS ledger.mynumber) WITH FUNCTION ledger.mynumber(text) AS IMPLICIT;
CREATE CAST (text AS ledger.corporate_number) WITH FUNCTION ledger.corporate_number(text) AS IMPLICIT;
CREATE CAST (varchar AS ledger.corporate_number) WITH FUNCTION ledger.corporate_number(text) AS IMPLICIT;
COMMENT ON CAST (text AS ledger.mynumber) IS '個人番号への変換: text, implicit (a typed string parameter resolves), checked';
COMMENT ON CAST (varchar AS ledger.mynumber) IS '個人番号への変換: varchar, implicit (a typed string parameter resolves), checked';
COMMENT ON CAST (text AS ledger.corporate_number) IS '法人番号への変換: text, implicit (a typed string parameter resolves), checked';
COMMENT ON CAST (varchar AS ledger.corporate_number) IS '法人番号への変換: varchar, implicit (a typed string parameter resolves), checked';

-- 8. No My Number in the ledger's free text: a revealed number written into an address or a
--    reason would be stored in clear where every clerk of the org unit reads it.  A ledger
--    of 0.1.0 that holds one there stops the update here (23514, naming the constraint):
--    correct the row, then update.
CREATE FUNCTION ledger.contains_mynumber(text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'contains_mynumber' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
COMMENT ON FUNCTION ledger.contains_mynumber(text) IS
    '個人番号の混入検査: true when the text holds a valid My Number in any form the type accepts (the log masker''s test); never raises. The ledger''s free-text columns refuse such text';
CREATE FUNCTION ledger.contains_mynumber(jsonb) RETURNS boolean
    AS 'MODULE_PATHNAME', 'contains_mynumber_jsonb' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
COMMENT ON FUNCTION ledger.contains_mynumber(jsonb) IS
    '個人番号の混入検査 (jsonb): as for text, in each key, string and number of the value, decoded (an escaped control character does not hide a number)';
ALTER TABLE ledger.person
    ADD CONSTRAINT person_family_name_no_mynumber CHECK (NOT ledger.contains_mynumber(family_name)),
    ADD CONSTRAINT person_given_name_no_mynumber CHECK (NOT ledger.contains_mynumber(given_name)),
    ADD CONSTRAINT person_family_name_kana_no_mynumber CHECK (NOT ledger.contains_mynumber(family_name_kana)),
    ADD CONSTRAINT person_given_name_kana_no_mynumber CHECK (NOT ledger.contains_mynumber(given_name_kana)),
    ADD CONSTRAINT person_address_no_mynumber CHECK (NOT ledger.contains_mynumber(address));
ALTER TABLE ledger.child
    ADD CONSTRAINT child_relationship_no_mynumber CHECK (NOT ledger.contains_mynumber(relationship));
ALTER TABLE ledger.certification
    ADD CONSTRAINT certification_extinction_reason_no_mynumber CHECK (NOT ledger.contains_mynumber(extinction_reason));
ALTER TABLE ledger.certification_revision
    ADD CONSTRAINT certification_revision_reason_no_mynumber CHECK (NOT ledger.contains_mynumber(reason));
ALTER TABLE ledger.staff
    ADD CONSTRAINT staff_full_name_no_mynumber CHECK (NOT ledger.contains_mynumber(full_name)),
    ADD CONSTRAINT staff_retired_reason_no_mynumber CHECK (NOT ledger.contains_mynumber(retired_reason));
ALTER TABLE ledger.disclosure_approval
    ADD CONSTRAINT disclosure_approval_purpose_no_mynumber CHECK (NOT ledger.contains_mynumber(purpose));
ALTER TABLE ledger.legal_hold
    ADD CONSTRAINT legal_hold_reason_no_mynumber CHECK (NOT ledger.contains_mynumber(reason));
ALTER TABLE ledger.link_record
    ADD CONSTRAINT link_record_purpose_no_mynumber CHECK (NOT ledger.contains_mynumber(purpose));
ALTER TABLE ledger.provision_request
    ADD CONSTRAINT provision_request_answer_no_mynumber CHECK (NOT ledger.contains_mynumber(answer)),
    ADD CONSTRAINT provision_request_review_reason_no_mynumber CHECK (NOT ledger.contains_mynumber(review_reason));
ALTER TABLE ledger.inquiry_result
    ADD CONSTRAINT inquiry_result_result_no_mynumber CHECK (NOT ledger.contains_mynumber(result));
ALTER TABLE ledger.inquiry_permit
    ADD CONSTRAINT inquiry_permit_requester_affair_no_mynumber CHECK (NOT ledger.contains_mynumber(requester_affair)),
    ADD CONSTRAINT inquiry_permit_provider_no_mynumber CHECK (NOT ledger.contains_mynumber(provider)),
    ADD CONSTRAINT inquiry_permit_item_code_no_mynumber CHECK (NOT ledger.contains_mynumber(item_code)),
    ADD CONSTRAINT inquiry_permit_purpose_no_mynumber CHECK (NOT ledger.contains_mynumber(purpose));
ALTER TABLE ledger.inquiry_result
    ADD CONSTRAINT inquiry_result_item_code_no_mynumber CHECK (NOT ledger.contains_mynumber(item_code));
ALTER TABLE ledger.provision_request
    ADD CONSTRAINT provision_request_requester_no_mynumber CHECK (NOT ledger.contains_mynumber(requester)),
    ADD CONSTRAINT provision_request_requester_affair_no_mynumber CHECK (NOT ledger.contains_mynumber(requester_affair)),
    ADD CONSTRAINT provision_request_item_code_no_mynumber CHECK (NOT ledger.contains_mynumber(item_code));
ALTER TABLE ledger.exchange_record
    ADD CONSTRAINT exchange_record_requester_no_mynumber CHECK (NOT ledger.contains_mynumber(requester)),
    ADD CONSTRAINT exchange_record_requester_affair_no_mynumber CHECK (NOT ledger.contains_mynumber(requester_affair)),
    ADD CONSTRAINT exchange_record_provider_no_mynumber CHECK (NOT ledger.contains_mynumber(provider)),
    ADD CONSTRAINT exchange_record_item_code_no_mynumber CHECK (NOT ledger.contains_mynumber(item_code)),
    ADD CONSTRAINT exchange_record_outcome_no_mynumber CHECK (NOT ledger.contains_mynumber(outcome));
ALTER TABLE ledger.link_record
    ADD CONSTRAINT link_record_from_affair_no_mynumber CHECK (NOT ledger.contains_mynumber(from_affair)),
    ADD CONSTRAINT link_record_to_affair_no_mynumber CHECK (NOT ledger.contains_mynumber(to_affair));
