-- audit: the trail (操作ログ), its blocks, the triggers that feed it, and the guard that
-- keeps it append-only.  See audit.h for the parts written in C and docs/audit.md for the
-- consistency model and the verification procedure.

-- Each backend takes a block of 100 ids per nextval and hands them out itself.
CREATE SEQUENCE ledger.audit_event_id_seq INCREMENT BY 100;
COMMENT ON SEQUENCE ledger.audit_event_id_seq IS '操作ログ番号: event ids, taken 100 at a time per backend; unique, not gap-free';

-- One row per event.  Column order is the C layout in audit.h (AuditAttr); record_hash is
-- SHA-256 of the canonical encoding of the other columns (audit/record.c).
CREATE TABLE ledger.audit_event (
    event_id          bigint      NOT NULL,
    xact_id           bigint      NOT NULL,
    logged_at         timestamptz NOT NULL,
    statement_at      timestamptz NOT NULL,
    kind              text        NOT NULL,
    database_name     text        NOT NULL,
    session_role      text        NOT NULL,
    acting_role       text        NOT NULL,
    staff_id          bigint,
    backend_pid       integer     NOT NULL,
    client_addr       inet,
    application_name  text,
    relation_id       oid,
    relation_name     text,
    row_key           text[],
    column_names      text[],
    sensitive_columns text[],
    old_values        text[],
    new_values        text[],
    row_count         bigint,
    query_id          bigint,
    detail            text,
    record_hash       bytea       NOT NULL
) PARTITION BY RANGE (logged_at);
COMMENT ON TABLE ledger.audit_event IS '操作ログ: the audit trail, append-only, partitioned by month (UTC)';
COMMENT ON COLUMN ledger.audit_event.event_id IS 'ログ番号';
COMMENT ON COLUMN ledger.audit_event.xact_id IS 'トランザクション番号: full id of the writing top-level transaction; orders sealing';
COMMENT ON COLUMN ledger.audit_event.logged_at IS '記録日時: clock time of the event';
COMMENT ON COLUMN ledger.audit_event.statement_at IS '文の開始日時';
COMMENT ON COLUMN ledger.audit_event.kind IS '操作種別: insert, update, delete, truncate, select, reveal, denied, login, login_failed, logout';
COMMENT ON COLUMN ledger.audit_event.database_name IS 'データベース名';
COMMENT ON COLUMN ledger.audit_event.session_role IS 'ログインしたロール (session_user)';
COMMENT ON COLUMN ledger.audit_event.acting_role IS '実行ロール (current_user after SET ROLE)';
COMMENT ON COLUMN ledger.audit_event.staff_id IS '職員ID (set once staff exist)';
COMMENT ON COLUMN ledger.audit_event.backend_pid IS 'サーバプロセスID';
COMMENT ON COLUMN ledger.audit_event.client_addr IS '接続元アドレス (NULL for Unix sockets)';
COMMENT ON COLUMN ledger.audit_event.application_name IS 'アプリケーション名';
COMMENT ON COLUMN ledger.audit_event.relation_id IS '対象テーブルOID';
COMMENT ON COLUMN ledger.audit_event.relation_name IS '対象テーブル名 (schema-qualified, at the time)';
COMMENT ON COLUMN ledger.audit_event.row_key IS '行の主キー値 (sensitive key columns NULL)';
COMMENT ON COLUMN ledger.audit_event.column_names IS '記録した列 (the changed ones for an update)';
COMMENT ON COLUMN ledger.audit_event.sensitive_columns IS '値を記録しない列: number types and columns marked sensitive';
COMMENT ON COLUMN ledger.audit_event.old_values IS '変更前の値, aligned with column_names; NULL where SQL NULL or withheld';
COMMENT ON COLUMN ledger.audit_event.new_values IS '変更後の値, aligned with column_names';
COMMENT ON COLUMN ledger.audit_event.row_count IS '件数: rows returned or changed';
COMMENT ON COLUMN ledger.audit_event.query_id IS '問合せID (compute_query_id), never the query text';
COMMENT ON COLUMN ledger.audit_event.detail IS '詳細: purpose, reason, duration';
COMMENT ON COLUMN ledger.audit_event.record_hash IS 'レコードハッシュ: SHA-256 of the canonical encoding';

-- Sealing and verification read transaction ranges; reports by time use partition pruning.
CREATE INDEX audit_event_xact_brin ON ledger.audit_event USING brin (xact_id);

CREATE TABLE ledger.audit_event_default PARTITION OF ledger.audit_event DEFAULT;
COMMENT ON TABLE ledger.audit_event_default IS '操作ログ (月パーティション外): events of a month whose partition was missing';

-- Sealed blocks: block_hash = SHA-256("mnl-audit-block-v1" || prev_hash || block_seq ||
-- xact_lo || xact_hi || record hashes in (xact_id, event_id) order || record_count).
CREATE TABLE ledger.audit_block (
    block_seq       bigint      PRIMARY KEY,
    xact_lo         bigint      NOT NULL,
    xact_hi         bigint      NOT NULL,
    record_count    bigint      NOT NULL,
    first_logged_at timestamptz,
    last_logged_at  timestamptz,
    prev_hash       bytea       NOT NULL,
    block_hash      bytea       NOT NULL,
    sealed_at       timestamptz NOT NULL,
    CHECK (xact_lo < xact_hi)
);
COMMENT ON TABLE ledger.audit_block IS '操作ログの封印ブロック: hash-chained blocks of committed records';
COMMENT ON COLUMN ledger.audit_block.block_seq IS 'ブロック番号';
COMMENT ON COLUMN ledger.audit_block.xact_lo IS '対象トランザクション範囲の下限 (inclusive)';
COMMENT ON COLUMN ledger.audit_block.xact_hi IS '対象トランザクション範囲の上限 (exclusive)';
COMMENT ON COLUMN ledger.audit_block.record_count IS '収録件数';
COMMENT ON COLUMN ledger.audit_block.first_logged_at IS '最初の記録日時';
COMMENT ON COLUMN ledger.audit_block.last_logged_at IS '最後の記録日時';
COMMENT ON COLUMN ledger.audit_block.prev_hash IS '直前ブロックのハッシュ (32 zero bytes for the first)';
COMMENT ON COLUMN ledger.audit_block.block_hash IS 'ブロックハッシュ';
COMMENT ON COLUMN ledger.audit_block.sealed_at IS '封印日時';

-- The guard: any INSERT, UPDATE, DELETE or TRUNCATE through SQL is refused, for every role,
-- and the attempt itself is recorded as a denied event.
CREATE FUNCTION ledger.audit_trail_guard() RETURNS trigger
    AS 'MODULE_PATHNAME', 'audit_trail_guard' LANGUAGE C;
COMMENT ON FUNCTION ledger.audit_trail_guard() IS '操作ログの改ざん防止: refuses every change to the trail made through SQL';

CREATE TRIGGER audit_event_append_only BEFORE INSERT OR UPDATE OR DELETE ON ledger.audit_event
    FOR EACH ROW EXECUTE FUNCTION ledger.audit_trail_guard();
CREATE TRIGGER audit_event_no_dml BEFORE INSERT OR UPDATE OR DELETE ON ledger.audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.audit_trail_guard();
CREATE TRIGGER audit_event_no_dml BEFORE INSERT OR UPDATE OR DELETE ON ledger.audit_event_default
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.audit_trail_guard();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON ledger.audit_event_default
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.audit_trail_guard();
CREATE TRIGGER audit_block_append_only BEFORE INSERT OR UPDATE OR DELETE ON ledger.audit_block
    FOR EACH ROW EXECUTE FUNCTION ledger.audit_trail_guard();
CREATE TRIGGER audit_block_no_dml BEFORE INSERT OR UPDATE OR DELETE ON ledger.audit_block
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.audit_trail_guard();
CREATE TRIGGER audit_block_no_truncate BEFORE TRUNCATE ON ledger.audit_block
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.audit_trail_guard();
ALTER TABLE ledger.audit_event ENABLE ALWAYS TRIGGER audit_event_append_only,
    ENABLE ALWAYS TRIGGER audit_event_no_dml;
ALTER TABLE ledger.audit_event_default ENABLE ALWAYS TRIGGER audit_event_no_truncate,
    ENABLE ALWAYS TRIGGER audit_event_no_dml;
ALTER TABLE ledger.audit_block ENABLE ALWAYS TRIGGER audit_block_append_only,
    ENABLE ALWAYS TRIGGER audit_block_no_truncate, ENABLE ALWAYS TRIGGER audit_block_no_dml;

-- Month partitions, created ahead of time by the audit writer (and here, at install).
-- Verification checkpoints: where ledger.verify_audit starts after expired partitions were
-- detached by the trail's own retention (ledger._audit_detach_before).
CREATE TABLE ledger.audit_checkpoint (
    checkpoint_seq bigint      PRIMARY KEY,
    block_seq      bigint      NOT NULL,
    block_hash     bytea       NOT NULL,
    xact_hi        bigint      NOT NULL,
    detached       text[]      NOT NULL,
    made_at        timestamptz NOT NULL
);
COMMENT ON TABLE ledger.audit_checkpoint IS '検証チェックポイント: the block verification starts from after expired partitions were detached';
COMMENT ON COLUMN ledger.audit_checkpoint.checkpoint_seq IS 'チェックポイント番号';
COMMENT ON COLUMN ledger.audit_checkpoint.block_seq IS '起点ブロック';
COMMENT ON COLUMN ledger.audit_checkpoint.block_hash IS '起点ブロックのハッシュ';
COMMENT ON COLUMN ledger.audit_checkpoint.xact_hi IS '起点ブロックの上限トランザクション';
COMMENT ON COLUMN ledger.audit_checkpoint.detached IS '切り離したパーティション';
COMMENT ON COLUMN ledger.audit_checkpoint.made_at IS '作成日時';
CREATE TRIGGER audit_checkpoint_append_only BEFORE INSERT OR UPDATE OR DELETE ON ledger.audit_checkpoint
    FOR EACH ROW EXECUTE FUNCTION ledger.audit_trail_guard();
CREATE TRIGGER audit_checkpoint_no_truncate BEFORE TRUNCATE ON ledger.audit_checkpoint
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.audit_trail_guard();
ALTER TABLE ledger.audit_checkpoint ENABLE ALWAYS TRIGGER audit_checkpoint_append_only,
    ENABLE ALWAYS TRIGGER audit_checkpoint_no_truncate;
REVOKE ALL ON ledger.audit_checkpoint FROM PUBLIC;

CREATE FUNCTION ledger._audit_detach_before(cutoff timestamptz) RETURNS text[]
    AS 'MODULE_PATHNAME', 'audit_detach_before' LANGUAGE C VOLATILE STRICT SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION ledger._audit_detach_before(timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION ledger._audit_detach_before(timestamptz) IS
    '操作ログの保存期間 (internal): detaches month partitions ending by cutoff, after sealing them and recording a verification checkpoint';

CREATE FUNCTION ledger._audit_partitions_sql(months_ahead integer) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
END $$;
REVOKE ALL ON FUNCTION ledger._audit_partitions_sql(integer) FROM PUBLIC;
COMMENT ON FUNCTION ledger._audit_partitions_sql(integer) IS
    '操作ログの月パーティション作成の本体 (internal): run by ledger._audit_add_partitions inside the guard''s bypass';

CREATE FUNCTION ledger._audit_add_partitions(months_ahead integer DEFAULT 3) RETURNS integer
    AS 'MODULE_PATHNAME', 'audit_add_partitions' LANGUAGE C STRICT SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION ledger._audit_add_partitions(integer) FROM PUBLIC;
COMMENT ON FUNCTION ledger._audit_add_partitions(integer) IS
    '操作ログの月パーティション作成: creates this and the next months'' partitions with their guard triggers (internal; superuser)';
SELECT ledger._audit_add_partitions(3);

-- Auditing a table.
CREATE FUNCTION ledger.audit_row_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'audit_row_trigger' LANGUAGE C;
COMMENT ON FUNCTION ledger.audit_row_trigger() IS '行変更の記録: AFTER ROW trigger of partitioned tables, one record per changed row';
CREATE FUNCTION ledger.audit_transition_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'audit_transition_trigger' LANGUAGE C;
COMMENT ON FUNCTION ledger.audit_transition_trigger() IS '行変更の記録: AFTER STATEMENT trigger reading the transition tables, one record per changed row';
CREATE FUNCTION ledger.audit_statement_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'audit_statement_trigger' LANGUAGE C;
COMMENT ON FUNCTION ledger.audit_statement_trigger() IS '行変更の記録: AFTER STATEMENT trigger of partitioned tables, writes the statement''s records';
CREATE FUNCTION ledger.audit_truncate_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'audit_truncate_trigger' LANGUAGE C;
COMMENT ON FUNCTION ledger.audit_truncate_trigger() IS 'TRUNCATEの記録: AFTER TRUNCATE trigger';

CREATE FUNCTION ledger.audit_table(tab regclass, sensitive_columns text[] DEFAULT '{}', keep_columns text[] DEFAULT NULL)
RETURNS void AS 'MODULE_PATHNAME', 'audit_table' LANGUAGE C SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ledger.audit_table(regclass, text[], text[]) IS
    '操作ログの対象登録: attaches the audit triggers to a table the caller owns; named sensitive columns are never recorded, and with keep_columns nothing is but the keys and those columns';

CREATE FUNCTION ledger.unaudit_table(tab regclass) RETURNS void
    AS 'MODULE_PATHNAME', 'unaudit_table' LANGUAGE C SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION ledger.unaudit_table(regclass) FROM PUBLIC;
COMMENT ON FUNCTION ledger.unaudit_table(regclass) IS
    '操作ログの対象解除: removes the audit triggers; superuser only';

-- Which tables are audited, read from the triggers themselves (the only source of truth).
CREATE VIEW ledger.audited_tables AS
SELECT t.tgrelid::regclass AS table_name,
       ARRAY(SELECT convert_from(decode(a, 'escape'), 'UTF8')
             FROM unnest(string_to_array(encode(t.tgargs, 'escape'), '\000')) AS a
             WHERE a <> '') AS sensitive_columns_named,
       bool_and(a.tgenabled = 'A') AS always_enabled
FROM pg_trigger t
JOIN pg_trigger a ON a.tgrelid = t.tgrelid AND a.tgname LIKE 'mnl\_audit\_%'
WHERE t.tgname IN ('mnl_audit_insert', 'mnl_audit_row') AND NOT t.tgisinternal AND t.tgparentid = 0
  AND t.tgfoid IN ('ledger.audit_transition_trigger()'::regprocedure, 'ledger.audit_row_trigger()'::regprocedure)
GROUP BY t.tgrelid, t.tgargs;
COMMENT ON VIEW ledger.audited_tables IS '操作ログ対象テーブル一覧: tables with the audit triggers, and the columns named sensitive';

REVOKE ALL ON ledger.audit_event, ledger.audit_block FROM PUBLIC;

-- Sealing, verification, digest.
CREATE FUNCTION ledger.audit_seal_now() RETURNS bigint
    AS 'MODULE_PATHNAME', 'audit_seal_now' LANGUAGE C SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION ledger.audit_seal_now() FROM PUBLIC;
COMMENT ON FUNCTION ledger.audit_seal_now() IS
    '操作ログの封印: seals committed records into the next block now; returns how many (the writer does this every second)';

CREATE FUNCTION ledger.verify_audit(digest_block_seq bigint DEFAULT NULL, digest_hash bytea DEFAULT NULL,
                                    digest_sealed_at timestamptz DEFAULT NULL,
                                    OUT block_seq bigint, OUT event_id bigint, OUT problem text)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'verify_audit' LANGUAGE C STABLE SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION ledger.verify_audit(bigint, bytea, timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION ledger.verify_audit(bigint, bytea, timestamptz) IS
    '操作ログの検証: recomputes every record and block hash; returns the first break, or no row. Pass the digest kept outside (with its sealed_at) to detect removal of the newest blocks and records dated before it';

CREATE FUNCTION ledger.audit_digest(OUT block_seq bigint, OUT block_hash bytea, OUT xact_hi bigint,
                                    OUT sealed_at timestamptz)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'audit_digest' LANGUAGE C STABLE SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION ledger.audit_digest() FROM PUBLIC;
COMMENT ON FUNCTION ledger.audit_digest() IS
    '操作ログのダイジェスト: the newest block''s sequence and hash, to keep outside the database';

CREATE FUNCTION ledger.audit_writer_status(OUT ready boolean, OUT writer_pid integer, OUT queued bigint,
                                           OUT accepted bigint, OUT written bigint, OUT dropped bigint)
    AS 'MODULE_PATHNAME', 'audit_writer_status' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.audit_writer_status() IS
    '操作ログ書込みプロセスの状態: writer running, queue depth, events accepted, written and dropped since start';
