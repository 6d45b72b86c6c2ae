-- retention: 保存期間経過後の削除 (番号法 第20条, 個人情報保護委員会ガイドライン).  Policies say what
-- expires when and what happens to it; legal holds (保存延長) keep named rows; the procedure
-- ledger.run_retention works in committed batches, each with its 削除記録 in the same
-- transaction, so an interrupted run resumes with the same result.  Run it with pg_cron.

CREATE TABLE ledger.retention_policy (
    policy_id      text    PRIMARY KEY CHECK (policy_id ~ '^[a-z][a-z0-9_]{0,62}$'),
    run_order      integer NOT NULL DEFAULT 100,
    schema_name    name    NOT NULL,
    table_name     name    NOT NULL,
    key_column     name    NOT NULL,
    anchor_column  name    NOT NULL,
    period         interval NOT NULL CHECK (period > interval '0'),
    counting       text    NOT NULL CHECK (counting IN ('from_date', 'from_next_april')),
    action         text    NOT NULL CHECK (action IN ('delete', 'erase_number', 'anonymise')),
    erase_columns  name[],
    person_expr    text,
    enabled        boolean NOT NULL DEFAULT true,
    description    text    NOT NULL,
    CHECK (action <> 'erase_number' OR cardinality(erase_columns) > 0),
    CHECK (action <> 'anonymise' OR cardinality(erase_columns) > 0)
);
COMMENT ON TABLE ledger.retention_policy IS
    '保存期間: what expires when (anchor date, period, counting from the date or from the next 1 April) and what happens to it';
COMMENT ON COLUMN ledger.retention_policy.policy_id IS 'ポリシーID';
COMMENT ON COLUMN ledger.retention_policy.run_order IS '実行順';
COMMENT ON COLUMN ledger.retention_policy.schema_name IS 'スキーマ名';
COMMENT ON COLUMN ledger.retention_policy.table_name IS 'テーブル名';
COMMENT ON COLUMN ledger.retention_policy.key_column IS 'キー列 (bigint; for holds, batches and the deletion record)';
COMMENT ON COLUMN ledger.retention_policy.anchor_column IS '起算日の列 (date)';
COMMENT ON COLUMN ledger.retention_policy.period IS '保存期間';
COMMENT ON COLUMN ledger.retention_policy.counting IS '起算: from_date その日から, from_next_april 翌年度の4月1日から';
COMMENT ON COLUMN ledger.retention_policy.action IS '処理: delete 削除, erase_number 番号のみ消去, anonymise 匿名化';
COMMENT ON COLUMN ledger.retention_policy.erase_columns IS '消去・匿名化する列';
COMMENT ON COLUMN ledger.retention_policy.person_expr IS '個人IDを求める式 (over alias t; for holds naming a person)';
COMMENT ON COLUMN ledger.retention_policy.enabled IS '有効';
COMMENT ON COLUMN ledger.retention_policy.description IS '説明 (文書管理規程の根拠)';
REVOKE ALL ON ledger.retention_policy FROM PUBLIC;
GRANT SELECT ON ledger.retention_policy TO ledger_auditor, ledger_dba;

-- Batches are taken in anchor order through these indexes, so each batch reads only what it
-- deletes (not the dead rows of the batches before it).
CREATE INDEX certification_retention ON ledger.certification (extinguished_on, certification_id)
    WHERE extinguished_on IS NOT NULL;
CREATE INDEX person_retention ON ledger.person (closed_on, person_id) WHERE closed_on IS NOT NULL;
CREATE INDEX exchange_record_retention ON ledger.exchange_record (keep_until, record_id);

-- Defaults (the PIA's 保管期間; docs/operations.md): ledger records 5 years from the 1 April after the record closed;
-- 情報提供等の記録 7 years (keep_until is their last day).
INSERT INTO ledger.retention_policy (policy_id, run_order, schema_name, table_name, key_column, anchor_column,
                                     period, counting, action, erase_columns, person_expr, description) VALUES
    ('certification', 10, 'ledger', 'certification', 'certification_id', 'extinguished_on',
     '5 years', 'from_next_april', 'delete', NULL,
     '(SELECT r.person_id FROM ledger.recipient r WHERE r.municipality_code = t.municipality_code AND r.recipient_id = t.recipient_id)',
     '消滅した認定 (支払・額改定を含む): 5年, 翌年度4月1日起算 (文書管理規程)'),
    ('person_number', 20, 'ledger', 'person', 'person_id', 'closed_on',
     '5 years', 'from_next_april', 'erase_number', ARRAY['mynumber', 'mynumber_index']::name[], 't.person_id',
     '完結した個人の個人番号: 5年, 翌年度4月1日起算; 番号のみ消去 (ガイドライン)'),
    ('exchange_record', 30, 'ledger', 'exchange_record', 'record_id', 'keep_until',
     '1 day', 'from_date', 'delete', NULL, 't.person_id',
     '情報提供等の記録: 7年 (keep_until の翌日に削除)');
SELECT pg_catalog.pg_extension_config_dump('ledger.retention_policy',
    'WHERE policy_id NOT IN (''certification'', ''person_number'', ''exchange_record'')');
SELECT ledger.audit_table('ledger.retention_policy');   -- after the defaults: changes from here on

CREATE TABLE ledger.legal_hold (
    hold_id      bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    municipality_code ledger.municipality_code NOT NULL,
    scope        text    NOT NULL CHECK (scope IN ('person', 'record', 'table')),
    schema_name  name,
    table_name   name,
    person_id    bigint,
    record_key   bigint,
    reason       text    NOT NULL CHECK (NOT ledger._is_blank(reason)),
    held_until   date,
    created_by   name    NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    lifted_at    timestamptz,
    CHECK (scope <> 'person' OR person_id IS NOT NULL),
    CHECK (scope <> 'record' OR (table_name IS NOT NULL AND record_key IS NOT NULL)),
    CHECK (scope <> 'table' OR table_name IS NOT NULL),
    CONSTRAINT legal_hold_reason_no_mynumber CHECK (NOT ledger.contains_mynumber(reason))
);
COMMENT ON TABLE ledger.legal_hold IS '保存延長 (不服申立て・訴訟・調査): rows a hold names are never touched by retention';
COMMENT ON COLUMN ledger.legal_hold.hold_id IS '保存延長ID';
COMMENT ON COLUMN ledger.legal_hold.municipality_code IS '団体コード';
COMMENT ON COLUMN ledger.legal_hold.scope IS '対象: person 個人, record 記録, table テーブル';
COMMENT ON COLUMN ledger.legal_hold.schema_name IS 'スキーマ名';
COMMENT ON COLUMN ledger.legal_hold.table_name IS 'テーブル名';
COMMENT ON COLUMN ledger.legal_hold.person_id IS '個人ID';
COMMENT ON COLUMN ledger.legal_hold.record_key IS '記録のキー';
COMMENT ON COLUMN ledger.legal_hold.reason IS '理由';
COMMENT ON COLUMN ledger.legal_hold.held_until IS '期限 (NULL: until lifted)';
COMMENT ON COLUMN ledger.legal_hold.created_by IS '設定者';
COMMENT ON COLUMN ledger.legal_hold.created_at IS '設定日時';
COMMENT ON COLUMN ledger.legal_hold.lifted_at IS '解除日時';
COMMENT ON SEQUENCE ledger.legal_hold_hold_id_seq IS '保存延長IDの採番';
REVOKE ALL ON ledger.legal_hold FROM PUBLIC;
GRANT SELECT ON ledger.legal_hold TO ledger_auditor, ledger_dba;
SELECT ledger.audit_table('ledger.legal_hold');
SELECT pg_catalog.pg_extension_config_dump('ledger.legal_hold', '');
SELECT pg_catalog.pg_extension_config_dump('ledger.legal_hold_hold_id_seq', '');

-- Placing and lifting holds: ledger_dba (or a superuser), recorded.
CREATE FUNCTION ledger._place_hold(caller oid, municipality_code text, scope text, reason text,
                                   person_id bigint, table_name regclass, record_key bigint, held_until date)
RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
END $$;
REVOKE ALL ON FUNCTION ledger._place_hold(oid, text, text, text, bigint, regclass, bigint, date) FROM PUBLIC;
COMMENT ON FUNCTION ledger._place_hold(oid, text, text, text, bigint, regclass, bigint, date) IS '保存延長の設定 (internal twin of ledger.place_hold)';

CREATE FUNCTION ledger.place_hold(municipality_code text, scope text, reason text, person_id bigint DEFAULT NULL,
                                  table_name regclass DEFAULT NULL, record_key bigint DEFAULT NULL,
                                  held_until date DEFAULT NULL)
RETURNS bigint AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.place_hold(text, text, text, bigint, regclass, bigint, date) IS
    '保存延長の設定: a person, a record (table and key) or a whole table is kept past its retention; ledger_dba only, recorded';

CREATE FUNCTION ledger._lift_hold(caller oid, hold_id bigint) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM ledger._require_dba(caller, 'lift legal holds');
    UPDATE ledger.legal_hold h SET lifted_at = now() WHERE h.hold_id = _lift_hold.hold_id AND h.lifted_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no hold % in force', hold_id USING ERRCODE = '02000', HINT = 'See ledger.retention_held.';
    END IF;
END $$;
REVOKE ALL ON FUNCTION ledger._lift_hold(oid, bigint) FROM PUBLIC;
COMMENT ON FUNCTION ledger._lift_hold(oid, bigint) IS '保存延長の解除 (internal twin of ledger.lift_hold)';

CREATE FUNCTION ledger.lift_hold(hold_id bigint) RETURNS void
    AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.lift_hold(bigint) IS '保存延長の解除: the held rows are processed by the next retention run; recorded';


CREATE TABLE ledger.retention_run (
    run_id       bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    dry_run      boolean NOT NULL,
    job          text,
    status       text    NOT NULL CHECK (status IN ('running', 'finished', 'interrupted')),
    current_policy text,
    rows_done    bigint  NOT NULL DEFAULT 0,
    report       jsonb   NOT NULL DEFAULT '{}',
    backend_pid  integer NOT NULL DEFAULT pg_catalog.pg_backend_pid(),
    backend_start timestamptz
);
-- One run at a time, held by a row (an advisory lock could be taken by anyone who can connect).
CREATE UNIQUE INDEX retention_run_one_running ON ledger.retention_run ((true)) WHERE status = 'running';
COMMENT ON INDEX ledger.retention_run_one_running IS '保存期間処理の排他: at most one run in progress';
COMMENT ON TABLE ledger.retention_run IS '保存期間処理の実行: one row per run, committed with every batch (progress visible to other sessions)';
COMMENT ON COLUMN ledger.retention_run.run_id IS '実行ID';
COMMENT ON COLUMN ledger.retention_run.started_at IS '開始日時';
COMMENT ON COLUMN ledger.retention_run.updated_at IS '更新日時';
COMMENT ON COLUMN ledger.retention_run.finished_at IS '終了日時';
COMMENT ON COLUMN ledger.retention_run.backend_pid IS '実行中のサーバプロセスID';
COMMENT ON COLUMN ledger.retention_run.backend_start IS '実行中のサーバプロセスの開始日時 (with backend_pid: is the run still alive)';
COMMENT ON COLUMN ledger.retention_run.dry_run IS '試行 (nothing changed)';
COMMENT ON COLUMN ledger.retention_run.job IS 'ジョブ (application_name, e.g. pg_cron)';
COMMENT ON COLUMN ledger.retention_run.status IS '状態: running, finished; a run whose session ended while running is interrupted';
COMMENT ON COLUMN ledger.retention_run.current_policy IS '処理中のポリシー';
COMMENT ON COLUMN ledger.retention_run.rows_done IS '処理済み件数';
COMMENT ON COLUMN ledger.retention_run.report IS '結果: per policy, rows processed (or that would be, in a dry run), rows held';
COMMENT ON SEQUENCE ledger.retention_run_run_id_seq IS '実行IDの採番';
REVOKE ALL ON ledger.retention_run FROM PUBLIC;
GRANT SELECT ON ledger.retention_run TO ledger_auditor, ledger_dba;
-- the runs' history is kept by a dump, like the deletion records that name them
SELECT pg_catalog.pg_extension_config_dump('ledger.retention_run', '');
SELECT pg_catalog.pg_extension_config_dump('ledger.retention_run_run_id_seq', '');

CREATE TABLE ledger.deletion_record (
    deletion_id  bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id       bigint  NOT NULL,
    policy_id    text    NOT NULL,
    relation     text    NOT NULL,
    action       text    NOT NULL,
    row_count    integer NOT NULL,
    key_min      bigint  NOT NULL,
    key_max      bigint  NOT NULL,
    key_digest   bytea   NOT NULL,
    deleted_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    job          text
);
COMMENT ON TABLE ledger.deletion_record IS
    '削除記録: one row per committed retention batch (policy, table, count, key range, SHA-256 of the sorted keys, time, job); kept in the audit trail';
COMMENT ON COLUMN ledger.deletion_record.deletion_id IS '削除記録ID';
COMMENT ON COLUMN ledger.deletion_record.run_id IS '実行ID';
COMMENT ON COLUMN ledger.deletion_record.policy_id IS 'ポリシーID';
COMMENT ON COLUMN ledger.deletion_record.relation IS '対象テーブル';
COMMENT ON COLUMN ledger.deletion_record.action IS '処理';
COMMENT ON COLUMN ledger.deletion_record.row_count IS '件数';
COMMENT ON COLUMN ledger.deletion_record.key_min IS '最小キー';
COMMENT ON COLUMN ledger.deletion_record.key_max IS '最大キー';
COMMENT ON COLUMN ledger.deletion_record.key_digest IS 'キーのダイジェスト: sha256 of the keys, sorted, comma-separated';
COMMENT ON COLUMN ledger.deletion_record.deleted_at IS '削除日時';
COMMENT ON COLUMN ledger.deletion_record.job IS 'ジョブ';
COMMENT ON SEQUENCE ledger.deletion_record_deletion_id_seq IS '削除記録IDの採番';
REVOKE ALL ON ledger.deletion_record FROM PUBLIC;
GRANT SELECT ON ledger.deletion_record TO ledger_auditor, ledger_dba;
SELECT ledger.audit_table('ledger.deletion_record');
SELECT pg_catalog.pg_extension_config_dump('ledger.deletion_record', '');
-- A restore keeps the numbering with the rows: a new run or deletion record never reuses an id
-- the restored rows hold (their sequences are dumped with them).
SELECT pg_catalog.pg_extension_config_dump('ledger.deletion_record_deletion_id_seq', '');

-- The first day on which a row anchored on anchor is past its period (the last day kept is
-- the day before).  from_next_april counts from the first 1 April after the anchor.
CREATE FUNCTION ledger.retention_expires_on(anchor date, period interval, counting text) RETURNS date
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    SELECT (CASE counting
                WHEN 'from_date' THEN anchor
                ELSE pg_catalog.make_date(pg_catalog.date_part('year', anchor)::integer
                                          + CASE WHEN anchor < pg_catalog.make_date(pg_catalog.date_part('year', anchor)::integer, 4, 1)
                                                 THEN 0 ELSE 1 END, 4, 1)
            END + period)::date;
END;
COMMENT ON FUNCTION ledger.retention_expires_on(date, interval, text) IS
    '削除日: the first day a row is past its retention (the day before is the last day kept)';

-- The latest anchor date that has expired by day d: rows with anchor <= it are due.
CREATE FUNCTION ledger._retention_cutoff(d date, period interval, counting text) RETURNS date
LANGUAGE plpgsql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    x date := (d - period)::date;       -- the start of counting must be on or before x
    april date;
BEGIN
    IF counting = 'from_date' THEN
        RETURN x;
    END IF;
    -- the first 1 April strictly after the anchor is on or before x  <=>  anchor < the latest 1 April <= x
    april := make_date(date_part('year', x)::integer - CASE WHEN x < make_date(date_part('year', x)::integer, 4, 1) THEN 1 ELSE 0 END, 4, 1);
    RETURN april - 1;
END $$;
REVOKE ALL ON FUNCTION ledger._retention_cutoff(date, interval, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._retention_cutoff(date, interval, text) IS '削除対象の起算日の上限 (internal): anchors on or before it are due';

-- SQL condition, over alias t, that keeps rows a hold names.
CREATE FUNCTION ledger._retention_not_held(p ledger.retention_policy) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.format(
        'NOT EXISTS (SELECT 1 FROM ledger.legal_hold h WHERE h.lifted_at IS NULL '
        'AND (h.held_until IS NULL OR h.held_until >= ledger._today()) AND h.municipality_code = t.municipality_code '
        'AND ((h.scope = ''record'' AND h.schema_name = %L AND h.table_name = %L AND h.record_key = t.%I)%s))',
        p.schema_name, p.table_name, p.key_column,
        CASE WHEN p.person_expr IS NULL THEN ''
             ELSE pg_catalog.format(' OR (h.scope = ''person'' AND h.person_id = %s)', p.person_expr) END)
$$;
REVOKE ALL ON FUNCTION ledger._retention_not_held(ledger.retention_policy) FROM PUBLIC;
COMMENT ON FUNCTION ledger._retention_not_held(ledger.retention_policy) IS '保存延長の条件 (internal)';

-- SQL condition, over alias t, for rows of a policy due by day d and not yet processed.
CREATE FUNCTION ledger._retention_due(p ledger.retention_policy, d date) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.format('t.%I <= %L::date', p.anchor_column, ledger._retention_cutoff(d, p.period, p.counting))
        || CASE p.action
               WHEN 'delete' THEN ''
               ELSE pg_catalog.format(' AND t.%I IS NOT NULL', p.erase_columns[1]) END
$$;
REVOKE ALL ON FUNCTION ledger._retention_due(ledger.retention_policy, date) FROM PUBLIC;
COMMENT ON FUNCTION ledger._retention_due(ledger.retention_policy, date) IS '削除対象の条件 (internal)';

-- The SET list of an erase or anonymise action.
CREATE FUNCTION ledger._retention_set_list(p ledger.retention_policy) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.string_agg(
        pg_catalog.format('%I = %s', c,
            CASE WHEN p.action = 'erase_number' OR NOT a.attnotnull THEN 'NULL'
                 WHEN a.atttypid IN ('text'::regtype, 'varchar'::regtype) THEN '''***'''
                 WHEN a.atttypid = 'date'::regtype THEN pg_catalog.format('pg_catalog.date_trunc(''year'', %I)::date', c)
                 ELSE 'NULL' END), ', ')
    FROM pg_catalog.unnest(p.erase_columns) AS c
    JOIN pg_catalog.pg_attribute a
      ON a.attrelid = pg_catalog.format('%I.%I', p.schema_name, p.table_name)::regclass AND a.attname = c
$$;
REVOKE ALL ON FUNCTION ledger._retention_set_list(ledger.retention_policy) FROM PUBLIC;
COMMENT ON FUNCTION ledger._retention_set_list(ledger.retention_policy) IS '消去・匿名化の内容 (internal)';

-- The retention run.  A superuser (the pg_cron job) runs it; see docs/operations.md (pg_cron) and docs/api.md (retention).
-- (No SET clause: a procedure with one cannot COMMIT.  It names everything with its schema.)
CREATE PROCEDURE ledger.run_retention(dry_run boolean DEFAULT false, batch_size integer DEFAULT 1000,
                                      only_policy text DEFAULT NULL)
LANGUAGE plpgsql AS $$
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
END $$;
REVOKE ALL ON PROCEDURE ledger.run_retention(boolean, integer, text) FROM PUBLIC;
COMMENT ON PROCEDURE ledger.run_retention(boolean, integer, text) IS
    '保存期間経過後の削除: committed batches with a 削除記録 each; never overlaps; resumable; dry run reports only';

-- Closing a person's record (記録の完結): sets closed_on and, when ledger.period_key_command is
-- configured, seals the number again under the key of the retention period in which it
-- expires, so that destroying that period's key later shreds every copy, backups included.
-- Is nothing current resting on the person's record on day d: not a recipient whose
-- certification is claimed or certified, nor a child in care under one?
CREATE FUNCTION ledger._person_record_complete(municipality_code text, person_id bigint, d date) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
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
$$;
REVOKE ALL ON FUNCTION ledger._person_record_complete(text, bigint, date) FROM PUBLIC;
COMMENT ON FUNCTION ledger._person_record_complete(text, bigint, date) IS
    '記録の完結の判定 (internal): nothing current rests on the person''s record';

-- The day the person's record ended: the latest 消滅 of a certification resting on it, or end
-- of care under one (NULL when there was none).
CREATE FUNCTION ledger._person_record_ended(municipality_code text, person_id bigint) RETURNS date
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.max(x) FROM (
        SELECT c.extinguished_on AS x FROM ledger.recipient r JOIN ledger.certification c
          ON c.municipality_code = r.municipality_code AND c.recipient_id = r.recipient_id
         WHERE r.municipality_code = _person_record_ended.municipality_code AND r.person_id = _person_record_ended.person_id
        UNION ALL
        SELECT LEAST(ch.until_date, c.extinguished_on) FROM ledger.child ch JOIN ledger.certification c
          ON c.municipality_code = ch.municipality_code AND c.recipient_id = ch.recipient_id
         WHERE ch.municipality_code = _person_record_ended.municipality_code AND ch.person_id = _person_record_ended.person_id) e
$$;
REVOKE ALL ON FUNCTION ledger._person_record_ended(text, bigint) FROM PUBLIC;
COMMENT ON FUNCTION ledger._person_record_ended(text, bigint) IS '記録の終了日 (internal): the last 消滅 or end of care resting on the record';

CREATE FUNCTION ledger._close_person(caller oid, municipality_code text, person_id bigint, closed_on date)
RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
END $$;
REVOKE ALL ON FUNCTION ledger._close_person(oid, text, bigint, date) FROM PUBLIC;
COMMENT ON FUNCTION ledger._close_person(oid, text, bigint, date) IS '記録の完結 (internal twin of ledger.close_person)';

CREATE FUNCTION ledger.close_person(municipality_code text, person_id bigint, closed_on date)
RETURNS text AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.close_person(text, bigint, date) IS
    '記録の完結: sets closed_on; the number is sealed again under its retention period''s key (returned, NULL when none)';

-- Destroys the key of every retention period that has begun and under which no live value
-- is sealed any more; returns the periods shredded.  Called at the end of a retention run.
CREATE FUNCTION ledger._shred_spent_periods() RETURNS text[]
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
END $$;
REVOKE ALL ON FUNCTION ledger._shred_spent_periods() FROM PUBLIC;
COMMENT ON FUNCTION ledger._shred_spent_periods() IS '期間鍵の破棄 (internal): periods whose numbers are all gone';

CREATE VIEW ledger.retention_held AS
    SELECT h.hold_id, h.municipality_code, h.scope, h.schema_name, h.table_name, h.person_id, h.record_key,
           h.reason, h.held_until, h.created_by, h.created_at
    FROM ledger.legal_hold h
    WHERE h.lifted_at IS NULL AND (h.held_until IS NULL OR h.held_until >= ledger._today());
COMMENT ON VIEW ledger.retention_held IS '保存延長中: the holds in force today';
REVOKE ALL ON ledger.retention_held FROM PUBLIC;
GRANT SELECT ON ledger.retention_held TO ledger_auditor, ledger_dba;
