-- staff: organisation units (組織), affairs (事務), duties (職責), staff (職員) and the
-- permission decision behind row-level security.  perm.c caches the answer of
-- ledger._permitted_org_units(); gate.c gates the administration functions below.


CREATE TABLE ledger.org_unit (
    municipality_code ledger.municipality_code NOT NULL,
    org_unit_id       integer NOT NULL,
    name              text    NOT NULL,
    PRIMARY KEY (municipality_code, org_unit_id),
    UNIQUE (org_unit_id)
);
COMMENT ON TABLE ledger.org_unit IS '組織 (所属): org units of a municipality; every ledger row names one';
COMMENT ON COLUMN ledger.org_unit.municipality_code IS '団体コード';
COMMENT ON COLUMN ledger.org_unit.org_unit_id IS '所属ID (unique across municipalities)';
COMMENT ON COLUMN ledger.org_unit.name IS '所属名';

CREATE TABLE ledger.affair (
    affair_code  text PRIMARY KEY CHECK (affair_code ~ '^[a-z][a-z0-9_]{0,62}$'),
    name         text NOT NULL,
    legal_basis  text NOT NULL
);
COMMENT ON TABLE ledger.affair IS '事務: affairs for which the ledger holds data, with their legal basis';
COMMENT ON COLUMN ledger.affair.affair_code IS '事務コード';
COMMENT ON COLUMN ledger.affair.name IS '事務の名称';
COMMENT ON COLUMN ledger.affair.legal_basis IS '根拠法令';
INSERT INTO ledger.affair VALUES
    ('child_allowance', '児童手当法による児童手当の支給に関する事務',
     '行政手続における特定の個人を識別するための番号の利用等に関する法律 第9条第1項 別表第一; 児童手当法');

CREATE TYPE ledger.staff_action AS ENUM
    ('read', 'write', 'reveal', 'approve', 'export', 'administer_staff', 'read_audit', 'disclose_access');
COMMENT ON TYPE ledger.staff_action IS
    '操作権限: read 閲覧, write 更新, reveal 番号表示, approve 決裁, export 抽出, administer_staff 職員管理, read_audit 監査ログ閲覧, disclose_access 本人開示 (who saw a person''s data)';

CREATE TABLE ledger.duty (
    duty_code    text PRIMARY KEY CHECK (duty_code ~ '^[a-z][a-z0-9_]{0,62}$'),
    name         text NOT NULL,
    description  text,
    reveal_quota_per_day integer CHECK (reveal_quota_per_day >= 0)
);
COMMENT ON TABLE ledger.duty IS '職責: a named set of permitted actions';
COMMENT ON COLUMN ledger.duty.duty_code IS '職責コード';
COMMENT ON COLUMN ledger.duty.name IS '職責名';
COMMENT ON COLUMN ledger.duty.description IS '説明';
COMMENT ON COLUMN ledger.duty.reveal_quota_per_day IS '番号表示の1日上限 (NULL: ledger.reveal_quota_per_day)';

CREATE TABLE ledger.duty_permission (
    duty_code  text NOT NULL REFERENCES ledger.duty ON UPDATE CASCADE,
    action     ledger.staff_action NOT NULL,
    scope      text NOT NULL CHECK (scope IN ('own_org_unit', 'all')),
    PRIMARY KEY (duty_code, action)
);
COMMENT ON TABLE ledger.duty_permission IS '職責の権限: duty × action × scope (own org unit, or every org unit of the municipality)';
COMMENT ON COLUMN ledger.duty_permission.duty_code IS '職責コード';
COMMENT ON COLUMN ledger.duty_permission.action IS '操作';
COMMENT ON COLUMN ledger.duty_permission.scope IS '範囲: own_org_unit 自所属のみ, all 全所属';

INSERT INTO ledger.duty (duty_code, name, description) VALUES
    ('clerk',         '受付',       'Takes claims and enters ledger data in the own org unit'),
    ('examiner',      '審査',       'Examines claims; may reveal My Numbers in the own org unit'),
    ('approver',      '決裁',       'Approves decisions and bulk operations across the municipality'),
    ('administrator', 'システム管理', 'Manages staff and duties; reads no personal data'),
    ('auditor',       '監査',       'Reads the audit trail only'),
    -- the payment run (payments.sql) is a staff member like any other: the same row-level
    -- security and write gate as the staff it pays for
    ('payment_job',   '支払処理',   'The scheduled payment run: reads and writes every org unit; reveals nothing'),
    ('disclosure_officer', '本人開示担当', 'Answers a person''s request to know who used their data (ledger.access_history); reads no ledger row');
INSERT INTO ledger.duty_permission VALUES
    ('clerk', 'read', 'own_org_unit'), ('clerk', 'write', 'own_org_unit'),
    ('examiner', 'read', 'own_org_unit'), ('examiner', 'write', 'own_org_unit'),
    ('examiner', 'reveal', 'own_org_unit'),
    ('approver', 'read', 'all'), ('approver', 'approve', 'all'), ('approver', 'export', 'all'),
    ('administrator', 'administer_staff', 'all'),
    ('auditor', 'read_audit', 'all'),
    ('payment_job', 'read', 'all'), ('payment_job', 'write', 'all'),
    ('disclosure_officer', 'disclose_access', 'all');

CREATE TABLE ledger.staff (
    municipality_code ledger.municipality_code NOT NULL,
    staff_id       bigint GENERATED ALWAYS AS IDENTITY,
    role_name      name   NOT NULL UNIQUE,
    full_name      text   NOT NULL,
    org_unit_id    integer NOT NULL,
    valid_from     date   NOT NULL,
    valid_until    date,
    retired_at     timestamptz,
    retired_reason text,
    registered_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (municipality_code, staff_id),
    UNIQUE (staff_id),
    FOREIGN KEY (municipality_code, org_unit_id) REFERENCES ledger.org_unit,
    CHECK (valid_until IS NULL OR valid_until >= valid_from),
    CONSTRAINT staff_full_name_no_mynumber CHECK (NOT ledger.contains_mynumber(full_name)),
    CONSTRAINT staff_retired_reason_no_mynumber CHECK (NOT ledger.contains_mynumber(retired_reason))
);
COMMENT ON TABLE ledger.staff IS '職員: one person, one PostgreSQL role (個人ごとのユーザID), with a validity period';
COMMENT ON COLUMN ledger.staff.municipality_code IS '団体コード';
COMMENT ON COLUMN ledger.staff.staff_id IS '職員ID';
COMMENT ON COLUMN ledger.staff.role_name IS 'ロール名 (the person''s own PostgreSQL role)';
COMMENT ON COLUMN ledger.staff.full_name IS '氏名';
COMMENT ON COLUMN ledger.staff.org_unit_id IS '所属ID';
COMMENT ON COLUMN ledger.staff.valid_from IS '有効開始日 (in ledger.time_zone)';
COMMENT ON COLUMN ledger.staff.valid_until IS '有効終了日 (last valid day, inclusive)';
COMMENT ON COLUMN ledger.staff.retired_at IS '退職・異動日時: denied from this moment';
COMMENT ON COLUMN ledger.staff.retired_reason IS '退職・異動理由';
COMMENT ON COLUMN ledger.staff.registered_at IS '登録日時';

CREATE TABLE ledger.staff_duty (
    municipality_code ledger.municipality_code NOT NULL,
    staff_id     bigint NOT NULL,
    duty_code    text   NOT NULL REFERENCES ledger.duty ON UPDATE CASCADE,
    affair_code  text   NOT NULL REFERENCES ledger.affair,
    valid_from   date   NOT NULL,
    valid_until  date,
    PRIMARY KEY (municipality_code, staff_id, duty_code, affair_code),
    FOREIGN KEY (municipality_code, staff_id) REFERENCES ledger.staff,
    CHECK (valid_until IS NULL OR valid_until >= valid_from)
);
COMMENT ON TABLE ledger.staff_duty IS '職員の職責: which duties a staff member holds for which affair, and when';
COMMENT ON COLUMN ledger.staff_duty.municipality_code IS '団体コード';
COMMENT ON COLUMN ledger.staff_duty.staff_id IS '職員ID';
COMMENT ON COLUMN ledger.staff_duty.duty_code IS '職責コード';
COMMENT ON COLUMN ledger.staff_duty.affair_code IS '事務コード';
COMMENT ON COLUMN ledger.staff_duty.valid_from IS '有効開始日';
COMMENT ON COLUMN ledger.staff_duty.valid_until IS '有効終了日 (inclusive)';

REVOKE ALL ON ledger.org_unit, ledger.affair, ledger.duty, ledger.duty_permission,
              ledger.staff, ledger.staff_duty FROM PUBLIC;

-- The registry is configuration: pg_dump keeps it.
SELECT pg_catalog.pg_extension_config_dump('ledger.org_unit', '');
SELECT pg_catalog.pg_extension_config_dump('ledger.affair', 'WHERE affair_code <> ''child_allowance''');
SELECT pg_catalog.pg_extension_config_dump('ledger.duty',
    'WHERE duty_code NOT IN (''clerk'', ''examiner'', ''approver'', ''administrator'', ''auditor'', ''payment_job'', ''disclosure_officer'')');
SELECT pg_catalog.pg_extension_config_dump('ledger.duty_permission',
    'WHERE duty_code NOT IN (''clerk'', ''examiner'', ''approver'', ''administrator'', ''auditor'', ''payment_job'', ''disclosure_officer'')');
SELECT pg_catalog.pg_extension_config_dump('ledger.staff', '');
SELECT pg_catalog.pg_extension_config_dump('ledger.staff_duty', '');
SELECT pg_catalog.pg_extension_config_dump('ledger.staff_staff_id_seq', '');
COMMENT ON SEQUENCE ledger.staff_staff_id_seq IS '職員IDの採番';

-- Every change to the registry: backends recompute their permission answers (perm.c).
CREATE FUNCTION ledger._registry_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'perm_registry_changed' LANGUAGE C;
REVOKE ALL ON FUNCTION ledger._registry_changed() FROM PUBLIC;
COMMENT ON FUNCTION ledger._registry_changed() IS '権限キャッシュの無効化 (internal trigger)';
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['org_unit', 'affair', 'duty', 'duty_permission', 'staff', 'staff_duty'] LOOP
        EXECUTE pg_catalog.format('CREATE TRIGGER mnl_registry_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE '
                                  'ON ledger.%I FOR EACH STATEMENT EXECUTE FUNCTION ledger._registry_changed()', t);
        EXECUTE pg_catalog.format('ALTER TABLE ledger.%I ENABLE ALWAYS TRIGGER mnl_registry_changed', t);
        PERFORM ledger.audit_table(pg_catalog.format('ledger.%I', t)::regclass);
    END LOOP;
END $$;


-- The decision, in one place: the org units where role may do action for affair today.
-- A role that is not staff gets staff_id NULL and no org unit.  perm.c caches the answer
-- until the registry changes or recheck_at (the next midnight) passes.  PL/pgSQL, so that a
-- session plans the query once: the gated functions' twins call it directly, on every call
-- (as a SQL function it was planned anew each time, the largest part of a reveal's work).
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

CREATE FUNCTION ledger.may(action text, affair text, org_unit integer) RETURNS boolean
    AS 'MODULE_PATHNAME', 'perm_may' LANGUAGE C STABLE LEAKPROOF PARALLEL SAFE COST 2;
-- COST 2: a cheap leakproof condition of the statement's own (a key or org unit compared with
-- a constant) is evaluated first, so a read names only the rows it asked for and that passed
-- the policy (reads/scan.c); a condition that may leak is still evaluated after it.
COMMENT ON FUNCTION ledger.may(text, text, integer) IS
    '権限判定 (行): may the current role do action on a row of this org unit for this affair; the USING clause of every ledger policy';

CREATE FUNCTION ledger.must(action text, affair text, org_unit integer, relation regclass) RETURNS boolean
    AS 'MODULE_PATHNAME', 'perm_must' LANGUAGE C STABLE PARALLEL SAFE COST 1;
COMMENT ON FUNCTION ledger.must(text, text, integer, regclass) IS
    '権限確認 (書込み): true, or error 42501 recorded in the audit trail; the WITH CHECK clause of ledger policies';

CREATE FUNCTION ledger._write_gate() RETURNS trigger
    AS 'MODULE_PATHNAME', 'perm_write_gate' LANGUAGE C;
-- EXECUTE stays with PUBLIC: a table owner's ledger.protect_table() creates the trigger.
COMMENT ON FUNCTION ledger._write_gate() IS
    '更新権限の確認 (statement trigger): refuses, with an audit event, writes by a role without the write action';

CREATE FUNCTION ledger._no_number_in_row() RETURNS trigger
    AS 'MODULE_PATHNAME', 'no_number_in_row' LANGUAGE C;
-- EXECUTE stays with PUBLIC: a table owner's ledger.protect_table() creates the trigger.
COMMENT ON FUNCTION ledger._no_number_in_row() IS
    '個人番号の平文保存の拒否 (row trigger mnl_rls_no_number): a protected table''s new or changed values hold no valid My Number in any form the type accepts (23514)';


-- ---------------------------------------------------------------------------------------
-- Staff administration.  The public functions are C (gate.c): each runs its twin
-- ledger._<name>(caller, ...) below as the extension owner, passing the calling role.
-- ---------------------------------------------------------------------------------------


-- The hint of a refusal: the duty the refused action needs.
-- The hints it gives, for the message catalog (po/sql_messages.py):
-- msgid: 'This needs a duty with the %s action (%s) for the org unit concerned; ask a staff administrator.'
-- msgid: 'This needs a duty with the %s action (%s) for the org unit concerned; ask a staff administrator. The auditor (監査) may too.'
CREATE FUNCTION ledger._duty_hint(action text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.format('This needs a duty with the %s action (%s) for the org unit concerned; ask a staff administrator.',
        action, CASE action WHEN 'read' THEN '閲覧' WHEN 'write' THEN '更新' WHEN 'reveal' THEN '番号表示'
                            WHEN 'approve' THEN '決裁' WHEN 'export' THEN '抽出'
                            WHEN 'administer_staff' THEN '職員管理 (システム管理)' WHEN 'read_audit' THEN '監査ログ閲覧'
                            WHEN 'disclose_access' THEN '本人開示'
                            ELSE action END)
$$;
REVOKE ALL ON FUNCTION ledger._duty_hint(text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._duty_hint(text) IS '拒否時の案内 (internal): the hint naming the duty an action needs';

-- Refuses unless caller holds action for org_unit in affair (a superuser always does).
CREATE FUNCTION ledger._require(caller oid, action text, affair text, org_unit integer)
RETURNS void LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
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
END $$;
REVOKE ALL ON FUNCTION ledger._require(oid, text, text, integer) FROM PUBLIC;

-- Separation of duties: nobody administers their own role, or a role they can act as.
CREATE FUNCTION ledger._require_other(caller oid, target name) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF ledger._is_superuser(caller) THEN
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = target
               AND pg_catalog.pg_has_role(caller, r.oid, 'MEMBER')) THEN
        RAISE EXCEPTION 'permission denied: a staff administrator cannot change their own duties or role'
            USING ERRCODE = '42501', HINT = 'Another administrator must do it (職務の分離).';
    END IF;
END $$;
REVOKE ALL ON FUNCTION ledger._require_other(oid, name) FROM PUBLIC;
COMMENT ON FUNCTION ledger._require_other(oid, name) IS '職務の分離 (internal): refuses an administrator acting on a role they are or can become';
COMMENT ON FUNCTION ledger._require(oid, text, text, integer) IS '権限確認 (internal): error 42501 unless the caller holds the action';

-- Role memberships follow the registry: ledger_staff while active, ledger_auditor while a
-- read_audit duty is valid today; NOLOGIN and no membership either way once retired.  (A validity period that simply
-- ends is applied by the next sync: ledger.sync_staff_roles(), run daily.)
CREATE FUNCTION ledger._sync_staff_role(sid bigint) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
END $$;
REVOKE ALL ON FUNCTION ledger._sync_staff_role(bigint) FROM PUBLIC;
COMMENT ON FUNCTION ledger._sync_staff_role(bigint) IS 'ロール同期 (internal): memberships and LOGIN follow the registry';

-- Re-applies role memberships and LOGIN for every staff member (validity periods that ended
-- or began since the last run).  For pg_cron, daily; a superuser or an administrator runs it.
CREATE FUNCTION ledger._sync_staff_roles(caller oid) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
END $$;
REVOKE ALL ON FUNCTION ledger._sync_staff_roles(oid) FROM PUBLIC;
COMMENT ON FUNCTION ledger._sync_staff_roles(oid) IS 'ロール同期 (internal twin of ledger.sync_staff_roles)';

CREATE FUNCTION ledger.sync_staff_roles() RETURNS integer
    AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.sync_staff_roles() IS
    'ロール同期: applies every validity period that began or ended (memberships, LOGIN); run daily with pg_cron';

CREATE FUNCTION ledger._register_staff(caller oid, role_name name, full_name text, org_unit integer,
                                       duties text[], valid_from date, valid_until date,
                                       affair text, login boolean)
RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
END $$;
REVOKE ALL ON FUNCTION ledger._register_staff(oid, name, text, integer, text[], date, date, text, boolean) FROM PUBLIC;
COMMENT ON FUNCTION ledger._register_staff(oid, name, text, integer, text[], date, date, text, boolean) IS
    '職員登録 (internal twin of ledger.register_staff)';

CREATE FUNCTION ledger.register_staff(role_name name, full_name text, org_unit integer, duties text[],
                                      valid_from date DEFAULT NULL, valid_until date DEFAULT NULL,
                                      affair text DEFAULT 'child_allowance', login boolean DEFAULT true)
RETURNS bigint AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.register_staff(name, text, integer, text[], date, date, text, boolean) IS
    '職員登録: one person, one role (created if missing), org unit, duties and validity; needs administer_staff';

CREATE FUNCTION ledger._retire_staff(caller oid, role_name name, reason text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s ledger.staff;
BEGIN
    SELECT * INTO s FROM ledger.staff st WHERE st.role_name = _retire_staff.role_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role "%" is not registered as staff', role_name USING ERRCODE = '42704',
            HINT = 'See ledger.staff.';
    END IF;
    -- administer_staff for every affair the person works in (and at least child_allowance)
    PERFORM ledger._require(caller, 'administer_staff', a.affair_code, s.org_unit_id)
    FROM (SELECT affair_code FROM ledger.staff_duty WHERE staff_id = s.staff_id
          UNION SELECT 'child_allowance') a;
    PERFORM ledger._require_other(caller, role_name);
    IF s.retired_at IS NOT NULL THEN
        RAISE EXCEPTION 'staff member "%" has already retired', role_name USING ERRCODE = '55000',
            HINT = 'Nothing to do.';
    END IF;
    UPDATE ledger.staff
       SET retired_at = pg_catalog.now(), retired_reason = reason,
           valid_until = LEAST(COALESCE(valid_until, ledger._today()), ledger._today())
     WHERE staff_id = s.staff_id;
    UPDATE ledger.staff_duty
       SET valid_until = LEAST(COALESCE(valid_until, ledger._today()), ledger._today())
     WHERE staff_id = s.staff_id AND valid_from <= ledger._today();
    PERFORM ledger._sync_staff_role(s.staff_id);
END $$;
REVOKE ALL ON FUNCTION ledger._retire_staff(oid, name, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._retire_staff(oid, name, text) IS '職員の退職・異動 (internal twin of ledger.retire_staff)';

CREATE FUNCTION ledger.retire_staff(role_name name, reason text DEFAULT NULL)
RETURNS void AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.retire_staff(name, text) IS
    '職員の退職・異動: denied in every open session from the next statement; the role becomes NOLOGIN';

CREATE FUNCTION ledger._assign_duty(caller oid, role_name name, duty text, affair text,
                                    valid_from date, valid_until date)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s ledger.staff;
BEGIN
    SELECT * INTO s FROM ledger.staff st WHERE st.role_name = _assign_duty.role_name AND st.retired_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role "%" is not active staff', role_name USING ERRCODE = '42704',
            HINT = 'Register the person with ledger.register_staff() first.';
    END IF;
    PERFORM ledger._require(caller, 'administer_staff', affair, s.org_unit_id);
    PERFORM ledger._require_other(caller, role_name);
    IF NOT EXISTS (SELECT 1 FROM ledger.duty d WHERE d.duty_code = _assign_duty.duty) THEN
        RAISE EXCEPTION 'duty "%" does not exist', duty USING ERRCODE = '23503', HINT = 'See ledger.duty.';
    END IF;
    INSERT INTO ledger.staff_duty (municipality_code, staff_id, duty_code, affair_code, valid_from, valid_until)
    VALUES (s.municipality_code, s.staff_id, duty, affair, COALESCE(valid_from, ledger._today()), valid_until)
    ON CONFLICT (municipality_code, staff_id, duty_code, affair_code)
    DO UPDATE SET valid_from = EXCLUDED.valid_from, valid_until = EXCLUDED.valid_until;
    PERFORM ledger._sync_staff_role(s.staff_id);
END $$;
REVOKE ALL ON FUNCTION ledger._assign_duty(oid, name, text, text, date, date) FROM PUBLIC;
COMMENT ON FUNCTION ledger._assign_duty(oid, name, text, text, date, date) IS '職責の付与 (internal twin of ledger.assign_duty)';

CREATE FUNCTION ledger.assign_duty(role_name name, duty text, affair text DEFAULT 'child_allowance',
                                   valid_from date DEFAULT NULL, valid_until date DEFAULT NULL)
RETURNS void AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.assign_duty(name, text, text, date, date) IS
    '職責の付与: gives a staff member a duty for an affair; seen by every session from the next statement';

CREATE FUNCTION ledger._revoke_duty(caller oid, role_name name, duty text, affair text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s ledger.staff;
BEGIN
    SELECT * INTO s FROM ledger.staff st WHERE st.role_name = _revoke_duty.role_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role "%" is not registered as staff', role_name USING ERRCODE = '42704', HINT = 'See ledger.staff.';
    END IF;
    PERFORM ledger._require(caller, 'administer_staff', affair, s.org_unit_id);
    PERFORM ledger._require_other(caller, role_name);
    DELETE FROM ledger.staff_duty sd
     WHERE sd.staff_id = s.staff_id AND sd.duty_code = _revoke_duty.duty AND sd.affair_code = _revoke_duty.affair;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'staff member "%" does not hold duty "%" for affair "%"', role_name, duty, affair
            USING ERRCODE = '42704', HINT = 'See ledger.staff_duty.';
    END IF;
    PERFORM ledger._sync_staff_role(s.staff_id);
END $$;
REVOKE ALL ON FUNCTION ledger._revoke_duty(oid, name, text, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._revoke_duty(oid, name, text, text) IS '職責の取消し (internal twin of ledger.revoke_duty)';

CREATE FUNCTION ledger.revoke_duty(role_name name, duty text, affair text DEFAULT 'child_allowance')
RETURNS void AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.revoke_duty(name, text, text) IS
    '職責の取消し: takes a duty away; seen by every session from the next statement';

-- Legal holds on every road (invariant 12): a row a hold names - the whole table, the record
-- by its key, or the person it is about - cannot be deleted by any path: a staff or owner's
-- DELETE, a foreign key's ON DELETE CASCADE, the retention run, TRUNCATE (with or without
-- CASCADE), nor moved out from under its hold by an UPDATE of its key or its person (an ON
-- UPDATE CASCADE included).  ledger.protect_table() attaches both triggers, ENABLE ALWAYS.  The arguments are
-- column names only (quoted, never SQL): the key column, the person column and the
-- recipient column of the table, each '' when it has none.  The refusal (42501, constraint
-- mnl_legal_hold) is recorded in the audit trail.  SECURITY DEFINER: staff cannot read the
-- holds themselves.
CREATE FUNCTION ledger._hold_condition(tab regclass, key_col text, person_col text, recipient_col text)
RETURNS text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
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
$$;
REVOKE ALL ON FUNCTION ledger._hold_condition(regclass, text, text, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._hold_condition(regclass, text, text, text) IS
    '保存延長の条件 (internal): the SQL condition, over a row o, that an active legal hold names it';

CREATE FUNCTION ledger._record_use(kind text, relation regclass, row_key text[], detail text) RETURNS void
    AS 'MODULE_PATHNAME', 'audit_record_use' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION ledger._record_use(text, regclass, text[], text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._record_use(text, regclass, text[], text) IS
    '利用の記録 (internal, owner only): a record of a gated function''s use of a person''s data, naming them, by the staff member it acts for';

CREATE FUNCTION ledger._record_denied(relation regclass, detail text) RETURNS void
    AS 'MODULE_PATHNAME', 'audit_record_denied' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION ledger._record_denied(regclass, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._record_denied(regclass, text) IS
    '拒否の記録 (internal): a denied event that survives the rollback of the refused statement';

CREATE FUNCTION ledger._hold_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
END $$;
-- EXECUTE stays with PUBLIC: a table owner's ledger.protect_table() creates the triggers.
COMMENT ON FUNCTION ledger._hold_guard() IS
    '保存延長の保護 (statement trigger): refuses, with an audit event, any DELETE or TRUNCATE of a row a legal hold names, and an UPDATE that moves one out from under its hold';

-- 自動ログオフ through a pooled role: the application, having authenticated the person again,
-- signs their identity on (staff/idle.c).
CREATE FUNCTION ledger.staff_sign_on(role_name name) RETURNS void
    AS 'MODULE_PATHNAME', 'staff_sign_on' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.staff_sign_on(name) IS
    '職員の再認証: the pooled role signs a staff member on after authenticating them; their idle limit starts afresh (never the staff member for themselves)';

CREATE FUNCTION ledger.protect_table(tab regclass, org_column name, affair text DEFAULT 'child_allowance',
                                     sensitive_columns text[] DEFAULT NULL, keep_columns text[] DEFAULT NULL)
RETURNS void AS 'MODULE_PATHNAME', 'protect_table' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.protect_table(regclass, name, text, text[], text[]) IS
    'テーブルの保護: row-level security (enabled, forced) on the org unit column through ledger.may/must, the write gate, the legal-hold guard and the audit triggers (every value withheld from the trail but the keys, the org unit and keep_columns)';

-- The update from 0.1.0 (src/upgrade/) brings a table protected before it to what
-- protect_table gives since 0.2.0; it runs only inside the extension's own script.
CREATE FUNCTION ledger._protect_update(tab regclass, keep_columns text[] DEFAULT NULL) RETURNS void
    AS 'MODULE_PATHNAME', 'protect_update' LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION ledger._protect_update(regclass, text[]) FROM PUBLIC;
COMMENT ON FUNCTION ledger._protect_update(regclass, text[]) IS
    'テーブルの保護の更新 (internal): in ALTER EXTENSION ... UPDATE from 0.1.0, the legal-hold guard and an audit keeping only the keys, the org unit and keep_columns, on a table protected before';

-- Side channels of row-level security: the per-table and per-database tuple and block
-- counters of the statistics system count the rows a policy filtered out, as EXPLAIN ANALYZE would (a clerk
-- comparing pg_stat_xact_user_tables before and after a query counts another org unit's
-- rows).  In the ledger's database they are for monitoring roles (pg_read_all_stats) only.
DO $$
DECLARE f text;
BEGIN
    FOREACH f IN ARRAY ARRAY['pg_stat_get_tuples_returned', 'pg_stat_get_tuples_fetched',
                             'pg_stat_get_blocks_fetched', 'pg_stat_get_blocks_hit',
                             'pg_stat_get_xact_tuples_returned', 'pg_stat_get_xact_tuples_fetched',
                             'pg_stat_get_xact_blocks_fetched', 'pg_stat_get_xact_blocks_hit',
                             'pg_stat_get_db_tuples_returned', 'pg_stat_get_db_tuples_fetched',
                             'pg_stat_get_db_blocks_fetched', 'pg_stat_get_db_blocks_hit'] LOOP
        EXECUTE pg_catalog.format('REVOKE EXECUTE ON FUNCTION pg_catalog.%I(oid) FROM PUBLIC', f);
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION pg_catalog.%I(oid) TO pg_read_all_stats', f);
    END LOOP;
END $$;

CREATE VIEW ledger.protected_tables AS
    SELECT c.oid::regclass AS relation,
           (SELECT pg_catalog.pg_get_expr(p.polqual, p.polrelid) FROM pg_catalog.pg_policy p
             WHERE p.polrelid = c.oid AND p.polname = 'mnl_rls_select') AS read_policy,
           c.relrowsecurity AS rls_enabled, c.relforcerowsecurity AS rls_forced
    FROM pg_catalog.pg_class c
    WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'mnl_rls_select');
COMMENT ON VIEW ledger.protected_tables IS '保護対象テーブル: tables under the extension''s row-level security';
