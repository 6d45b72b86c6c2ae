-- sealed: ledger.sealed_mynumber (暗号化した個人番号), the blind index, and reveal.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_revealer') THEN
        CREATE ROLE ledger_revealer NOLOGIN;
    END IF;
END $$;
COMMENT ON ROLE ledger_revealer IS '番号表示権限: may reveal sealed My Numbers (until staff duties decide it)';

CREATE TYPE ledger.sealed_mynumber;
CREATE FUNCTION ledger.sealed_mynumber_in(cstring) RETURNS ledger.sealed_mynumber
    AS 'MODULE_PATHNAME', 'sealed_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ledger.sealed_mynumber_out(ledger.sealed_mynumber) RETURNS cstring
    AS 'MODULE_PATHNAME', 'sealed_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ledger.sealed_mynumber_recv(internal) RETURNS ledger.sealed_mynumber
    AS 'MODULE_PATHNAME', 'sealed_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ledger.sealed_mynumber_send(ledger.sealed_mynumber) RETURNS bytea
    AS 'MODULE_PATHNAME', 'sealed_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE ledger.sealed_mynumber (
    INPUT = ledger.sealed_mynumber_in,
    OUTPUT = ledger.sealed_mynumber_out,
    RECEIVE = ledger.sealed_mynumber_recv,
    SEND = ledger.sealed_mynumber_send,
    INTERNALLENGTH = VARIABLE,
    STORAGE = plain
);
COMMENT ON TYPE ledger.sealed_mynumber IS
    '暗号化個人番号: AES-256-GCM under a data key, bound to its row''s context; text form mnl1:<base64>';
COMMENT ON FUNCTION ledger.sealed_mynumber_in(cstring) IS '暗号化個人番号の入力: checks the shape, never encrypts (restores unchanged)';
COMMENT ON FUNCTION ledger.sealed_mynumber_out(ledger.sealed_mynumber) IS '暗号化個人番号の出力: mnl1:<base64>';
COMMENT ON FUNCTION ledger.sealed_mynumber_recv(internal) IS '暗号化個人番号のバイナリ入力';
COMMENT ON FUNCTION ledger.sealed_mynumber_send(ledger.sealed_mynumber) IS '暗号化個人番号のバイナリ出力';

CREATE FUNCTION ledger.seal(mn ledger.mynumber, context text) RETURNS ledger.sealed_mynumber
    AS 'MODULE_PATHNAME', 'sealed_seal' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION ledger.seal(ledger.mynumber, text) IS
    '個人番号の暗号化: seals a number for the row named by context (fresh nonce every call)';

CREATE FUNCTION ledger.reveal(value ledger.sealed_mynumber, context text, purpose text,
                              legal_basis text DEFAULT NULL) RETURNS ledger.mynumber
    AS 'MODULE_PATHNAME', 'sealed_reveal' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.reveal(ledger.sealed_mynumber, text, text, text) IS
    '個人番号の表示: members of ledger_revealer only; records the reveal (purpose, and the legal basis of a disclosure) before returning the number';

CREATE FUNCTION ledger.mask(value ledger.sealed_mynumber, context text) RETURNS text
    AS 'MODULE_PATHNAME', 'sealed_mask' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION ledger.mask(ledger.sealed_mynumber, text) IS
    '個人番号のマスク表示: ********9018 from a sealed value, no privilege needed';

CREATE FUNCTION ledger.blind_index(mn ledger.mynumber) RETURNS bytea
    AS 'MODULE_PATHNAME', 'sealed_blind_index' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ledger.blind_index(ledger.mynumber) IS
    'ブラインドインデックス: HMAC-SHA256 of the number under its own key, for equality lookups without decrypting';
-- Whoever may compute the index can match a backup's indexes at a million guesses a second:
-- not PUBLIC.  The file managers (ledger_dba, files.sql) index their own registered files.
REVOKE ALL ON FUNCTION ledger.blind_index(ledger.mynumber) FROM PUBLIC;

CREATE FUNCTION ledger.sealed_key_id(value ledger.sealed_mynumber) RETURNS integer
    AS 'MODULE_PATHNAME', 'sealed_key_id' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ledger.sealed_key_id(ledger.sealed_mynumber) IS
    '暗号化に使った鍵ID: which data key sealed the value';

CREATE FUNCTION ledger._reseal(value ledger.sealed_mynumber, context text) RETURNS ledger.sealed_mynumber
    AS 'MODULE_PATHNAME', 'sealed_reseal' LANGUAGE C VOLATILE STRICT;
REVOKE ALL ON FUNCTION ledger._reseal(ledger.sealed_mynumber, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._reseal(ledger.sealed_mynumber, text) IS
    '再暗号化 (internal): the same number sealed again under the active key of its own key family; the number never leaves it';

CREATE FUNCTION ledger._sealed_key_current(value ledger.sealed_mynumber) RETURNS boolean
    AS 'MODULE_PATHNAME', 'sealed_key_current' LANGUAGE C VOLATILE STRICT;
REVOKE ALL ON FUNCTION ledger._sealed_key_current(ledger.sealed_mynumber) FROM PUBLIC;
COMMENT ON FUNCTION ledger._sealed_key_current(ledger.sealed_mynumber) IS
    '現行鍵の確認 (internal): is the value under the active key of its own key family (a retention period''s key stays that period''s)?';

CREATE FUNCTION ledger._seal_for_period(value ledger.sealed_mynumber, context text, period text) RETURNS ledger.sealed_mynumber
    AS 'MODULE_PATHNAME', 'sealed_seal_for_period' LANGUAGE C VOLATILE STRICT;
REVOKE ALL ON FUNCTION ledger._seal_for_period(ledger.sealed_mynumber, text, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._seal_for_period(ledger.sealed_mynumber, text, text) IS
    '期間鍵による再暗号化 (internal): the same number under the key of the retention period in which it expires';

-- Progress of ledger.rekey, committed with every batch so another session can watch it.
CREATE TABLE ledger.rekey_progress (
    relation     regclass    NOT NULL,
    column_name  name        NOT NULL,
    started_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    done         bigint      NOT NULL,
    remaining    bigint,
    finished_at  timestamptz,
    PRIMARY KEY (relation, column_name, started_at)
);
COMMENT ON TABLE ledger.rekey_progress IS '再暗号化の進捗: one row per ledger.rekey run, updated after every committed batch';
COMMENT ON COLUMN ledger.rekey_progress.relation IS '対象テーブル';
COMMENT ON COLUMN ledger.rekey_progress.column_name IS '対象列';
COMMENT ON COLUMN ledger.rekey_progress.started_at IS '開始日時';
COMMENT ON COLUMN ledger.rekey_progress.updated_at IS '更新日時';
COMMENT ON COLUMN ledger.rekey_progress.done IS '処理済み件数';
COMMENT ON COLUMN ledger.rekey_progress.remaining IS '残り件数 (at the last batch)';
COMMENT ON COLUMN ledger.rekey_progress.finished_at IS '完了日時';
REVOKE ALL ON ledger.rekey_progress FROM PUBLIC;

-- Re-seal, in committed batches, every value of tab.col not sealed under the active key of
-- its own key family: live values move to the live key, a value under a retention period's
-- key stays under that period's key (so destroying it still shreds every copy).
-- context_sql is an SQL expression over the row giving the value's context, as it was given
-- to ledger.seal (e.g. $$'person:' || id$$).  Interrupted, it resumes where it stopped.
-- (No SET search_path: a procedure with SET clauses cannot COMMIT.  It is not SECURITY
-- DEFINER, runs with its superuser caller's rights, and names everything with its schema.)
CREATE PROCEDURE ledger.rekey(tab regclass, col name, context_sql text, batch_size integer DEFAULT 1000)
LANGUAGE plpgsql AS $$
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
END $$;
REVOKE ALL ON PROCEDURE ledger.rekey(regclass, name, text, integer) FROM PUBLIC;
COMMENT ON PROCEDURE ledger.rekey(regclass, name, text, integer) IS
    '再暗号化: re-seals a column under the active data key in committed, resumable batches; progress in ledger.rekey_progress';
