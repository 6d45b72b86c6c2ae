-- payments: the monthly payment job (支払処理) over the allowance engine (allowance.sql): one
-- run at a time, claimed by the municipality-wide job role, committed in batches, resumable.

-- 支払処理の記録: one row per payment run, updated at each committed batch so that another
-- session sees the progress.  The job writes only its own rows.
CREATE TABLE ledger.payment_run (
    run_id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_month     date    NOT NULL,
    first_month       date    NOT NULL,
    last_month        date    NOT NULL,
    rule_id           text    NOT NULL REFERENCES ledger.allowance_rule,
    run_by            name    NOT NULL DEFAULT current_user,
    job               text,
    status            text    NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'finished', 'interrupted')),
    started_at        timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    updated_at        timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    finished_at       timestamptz,
    batches           integer NOT NULL DEFAULT 0,
    certifications    integer NOT NULL DEFAULT 0,
    payments_created  integer NOT NULL DEFAULT 0,
    amount_created    bigint  NOT NULL DEFAULT 0,
    already_prepared  integer NOT NULL DEFAULT 0,
    public_servant    integer NOT NULL DEFAULT 0,
    zero_amount       integer NOT NULL DEFAULT 0,
    revisions_created integer NOT NULL DEFAULT 0,
    current_municipality text,
    last_certification_id bigint,
    backend_pid       integer NOT NULL DEFAULT pg_catalog.pg_backend_pid(),
    backend_start     timestamptz,
    certifications_skipped integer NOT NULL DEFAULT 0   -- since 0.2.0 (the update adds it last)
);
-- One run at a time, held by a row only the extension writes (an advisory lock could be taken
-- by anyone who can connect, and a session-level one outlives a failed run).
CREATE UNIQUE INDEX payment_run_one_running ON ledger.payment_run ((true)) WHERE status = 'running';
COMMENT ON INDEX ledger.payment_run_one_running IS '支払処理の排他: at most one run in progress';
COMMENT ON TABLE ledger.payment_run IS '支払処理の記録: progress and result of each CALL ledger.prepare_payments';
COMMENT ON COLUMN ledger.payment_run.run_id IS '処理ID';
COMMENT ON SEQUENCE ledger.payment_run_run_id_seq IS '支払処理IDの採番';
COMMENT ON COLUMN ledger.payment_run.payment_month IS '支払期月';
COMMENT ON COLUMN ledger.payment_run.first_month IS '支払対象の最初の月';
COMMENT ON COLUMN ledger.payment_run.last_month IS '支払対象の最後の月';
COMMENT ON COLUMN ledger.payment_run.rule_id IS '適用規則';
COMMENT ON COLUMN ledger.payment_run.run_by IS '実行ロール (the job''s staff role)';
COMMENT ON COLUMN ledger.payment_run.job IS 'ジョブ (application_name)';
COMMENT ON COLUMN ledger.payment_run.status IS '状態: running 実行中, finished 完了, interrupted 中断';
COMMENT ON COLUMN ledger.payment_run.started_at IS '開始日時';
COMMENT ON COLUMN ledger.payment_run.updated_at IS '更新日時 (each committed batch)';
COMMENT ON COLUMN ledger.payment_run.finished_at IS '終了日時';
COMMENT ON COLUMN ledger.payment_run.batches IS 'コミット済みバッチ数';
COMMENT ON COLUMN ledger.payment_run.certifications IS '対象認定数 (examined)';
COMMENT ON COLUMN ledger.payment_run.payments_created IS '作成した支払の数';
COMMENT ON COLUMN ledger.payment_run.amount_created IS '作成した支払の合計額 (円)';
COMMENT ON COLUMN ledger.payment_run.already_prepared IS '作成済みのため変更なし';
COMMENT ON COLUMN ledger.payment_run.public_servant IS '公務員のため対象外';
COMMENT ON COLUMN ledger.payment_run.zero_amount IS '支払額0円 (支給対象児童なし・所得上限等)';
COMMENT ON COLUMN ledger.payment_run.revisions_created IS '記録した額改定の数';
COMMENT ON COLUMN ledger.payment_run.certifications_skipped IS 'ロック待ちで次回に回した認定 (rows another session held locked past ledger.job_lock_timeout: the next run prepares them)';
COMMENT ON COLUMN ledger.payment_run.current_municipality IS '処理中の団体コード';
COMMENT ON COLUMN ledger.payment_run.last_certification_id IS '最後にコミットした認定ID';
COMMENT ON COLUMN ledger.payment_run.backend_pid IS '実行中のサーバプロセスID';
COMMENT ON COLUMN ledger.payment_run.backend_start IS '実行中のサーバプロセスの開始日時 (with backend_pid: is the run still alive)';
-- Read by staff and auditors; written only through ledger.payment_run_claim / _progress.
REVOKE ALL ON ledger.payment_run FROM PUBLIC;
GRANT SELECT ON ledger.payment_run TO ledger_staff, ledger_auditor;
SELECT pg_catalog.pg_extension_config_dump('ledger.payment_run', '');
SELECT pg_catalog.pg_extension_config_dump('ledger.payment_run_run_id_seq', '');
SELECT ledger.audit_table('ledger.payment_run');

-- Claim the run: runs whose session is gone (or is this one: a run that failed here) are marked
-- interrupted, then the new run's row is the one 'running' row, or 55P03.
CREATE FUNCTION ledger._payment_run_claim(caller oid, payment_month date, first_month date, last_month date,
                                          rule_id text, job text)
RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
END $$;
REVOKE ALL ON FUNCTION ledger._payment_run_claim(oid, date, date, date, text, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._payment_run_claim(oid, date, date, date, text, text) IS
    '支払処理の開始 (internal twin of ledger.payment_run_claim)';
CREATE FUNCTION ledger.payment_run_claim(payment_month date, first_month date, last_month date, rule_id text, job text)
RETURNS bigint AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.payment_run_claim(date, date, date, text, text) IS
    '支払処理の開始: used by ledger.prepare_payments; the one running run, or 55P03';

-- Add a committed batch to the caller's own running run (this session's), or finish it.
CREATE FUNCTION ledger._payment_run_progress(caller oid, run_id bigint, certifications integer, payments integer,
                                             amount bigint, already_prepared integer, public_servant integer,
                                             zero_amount integer, revisions integer, skipped integer, municipality text,
                                             last_certification_id bigint, finished boolean)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
END $$;
REVOKE ALL ON FUNCTION ledger._payment_run_progress(oid, bigint, integer, integer, bigint, integer, integer, integer,
                                                    integer, integer, text, bigint, boolean) FROM PUBLIC;
COMMENT ON FUNCTION ledger._payment_run_progress(oid, bigint, integer, integer, bigint, integer, integer, integer,
                                                 integer, integer, text, bigint, boolean) IS
    '支払処理の進捗 (internal twin of ledger.payment_run_progress)';
CREATE FUNCTION ledger.payment_run_progress(run_id bigint, certifications integer, payments integer, amount bigint,
                                            already_prepared integer, public_servant integer, zero_amount integer,
                                            revisions integer, skipped integer, municipality text,
                                            last_certification_id bigint, finished boolean)
RETURNS void AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.payment_run_progress(bigint, integer, integer, bigint, integer, integer, integer, integer,
                                                integer, text, bigint, boolean) IS
    '支払処理の進捗: used by ledger.prepare_payments after each committed batch';

-- One batch of a payment run, in one statement: the amounts of every month the payment covers
-- (and the month before, for the 額改定), the 額改定 where a month's total differs from the
-- month before within the certification, the payment rows, and the certification's current
-- monthly amount.  Existing rows are left as they are (ON CONFLICT DO NOTHING): a second run
-- changes nothing.  Runs as the caller: row-level security and the write gate decide.
CREATE FUNCTION ledger._prepare_payment_batch(municipality_code text, certification_ids bigint[],
                                              payment_month date, first_month date, last_month date,
                                              OUT certifications integer, OUT payments integer, OUT amount bigint,
                                              OUT already_prepared integer, OUT public_servant integer,
                                              OUT zero_amount integer, OUT revisions integer)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET jit = off AS $$
#variable_conflict use_column
DECLARE
    muni text := _prepare_payment_batch.municipality_code;
    fm date := _prepare_payment_batch.first_month;
    lm date := _prepare_payment_batch.last_month;
    pm date := _prepare_payment_batch.payment_month;
    rids bigint[];
BEGIN
    IF NOT EXISTS (SELECT 1 FROM ledger.months_covered(pm) m WHERE m.first_month = fm AND m.last_month = lm) THEN
        RAISE EXCEPTION 'the months % to % are not those payment month % covers', fm, lm, pm USING ERRCODE = '22023',
            HINT = 'Use CALL ledger.prepare_payments(payment_month).';
    END IF;
    SELECT pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE r.is_public_servant),
           pg_catalog.array_agg(DISTINCT c.recipient_id) FILTER (WHERE NOT r.is_public_servant)
      INTO certifications, public_servant, rids
      FROM pg_catalog.unnest(certification_ids) x(id)
      CROSS JOIN LATERAL (SELECT * FROM ledger.certification c1
                          WHERE c1.municipality_code = muni AND c1.certification_id = x.id OFFSET 0) c
      JOIN ledger.recipient r ON r.municipality_code = c.municipality_code AND r.recipient_id = c.recipient_id;

    WITH paid AS (
        SELECT c.municipality_code, c.certification_id, c.recipient_id, c.org_unit_id, c.first_month AS cert_first,
               GREATEST(c.first_month, fm) AS pay_first,
               LEAST(COALESCE(ledger.certification_last_month(c.extinguished_on), lm), lm) AS pay_last
        FROM pg_catalog.unnest(certification_ids) x(id)
        CROSS JOIN LATERAL (SELECT * FROM ledger.certification c1
                            WHERE c1.municipality_code = muni AND c1.certification_id = x.id OFFSET 0) c
        WHERE c.recipient_id = ANY (rids)
    ), kid AS MATERIALIZED (
        -- every child of every recipient, for the covered months and the month before
        SELECT a.recipient_id, a.month, a.child_id, a.birth_order, a.band, a.amount, a.rule_id
        FROM ledger.child_allowance(muni, rids, (fm - interval '1 month')::date, lm) a
    ), kid_total AS (
        SELECT k.recipient_id, k.month, pg_catalog.sum(k.amount)::integer AS total FROM kid k GROUP BY 1, 2
    ), month_total AS (
        SELECT p.certification_id, p.recipient_id, m.month::date AS month, COALESCE(t.total, 0) AS total
        FROM paid p
        CROSS JOIN LATERAL pg_catalog.generate_series(GREATEST(p.cert_first, (p.pay_first - interval '1 month')::date),
                                                      p.pay_last, interval '1 month') m(month)
        LEFT JOIN kid_total t ON t.recipient_id = p.recipient_id AND t.month = m.month::date
    ), changed AS (
        -- the months whose total differs from the month before, within the certification
        SELECT p.municipality_code, p.certification_id, p.recipient_id, p.org_unit_id, t.month,
               b.total AS old_amount, t.total AS new_amount
        FROM paid p
        JOIN month_total t ON t.certification_id = p.certification_id AND t.month >= p.pay_first
        JOIN month_total b ON b.certification_id = p.certification_id AND b.month = (t.month - interval '1 month')::date
        WHERE t.total <> b.total
    ), child_change AS MATERIALIZED (
        -- why: the children of those months whose amount, band or birth order moved
        SELECT n.recipient_id, n.month,
               CASE WHEN o.rule_id <> n.rule_id THEN '制度改正'
                    WHEN o.band = 'not_yet_in_care' AND n.amount > 0 THEN '出生・監護開始'
                    WHEN n.band = 'left_care' AND o.band <> 'left_care' THEN '監護終了 (児童の減少)'
                    WHEN o.band = 'under3' AND n.band <> 'under3' AND o.amount > 0 AND n.amount > 0 THEN '3歳到達'
                    WHEN o.amount > 0 AND n.band IN ('order_only', 'past_order_age') THEN '支給対象年齢の到達'
                    WHEN o.birth_order IS DISTINCT FROM n.birth_order THEN '出生順位の変動'
                    WHEN o.band = 'age3_to_primary' AND n.band = 'after_primary' THEN '小学校修了'
                    WHEN o.band IN ('special_benefit', 'over_upper_limit', 'income_unknown')
                      OR n.band IN ('special_benefit', 'over_upper_limit', 'income_unknown') THEN '所得の判定'
                    ELSE '支給要件の変動' END AS why
        FROM kid n
        JOIN kid o ON o.recipient_id = n.recipient_id AND o.child_id = n.child_id
                  AND o.month = (n.month - interval '1 month')::date
        WHERE (n.amount <> o.amount OR o.birth_order IS DISTINCT FROM n.birth_order OR o.band <> n.band)
          AND EXISTS (SELECT 1 FROM changed ch WHERE ch.recipient_id = n.recipient_id AND ch.month = n.month)
    ), change_reason AS (
        SELECT w.recipient_id, w.month, pg_catalog.string_agg(DISTINCT w.why, '、' ORDER BY w.why) AS reason
        FROM child_change w GROUP BY w.recipient_id, w.month
    ), new_revision AS (
        INSERT INTO ledger.certification_revision (municipality_code, certification_id, org_unit_id, effective_month,
                                                   old_amount, new_amount, reason, decided_on)
        SELECT x.municipality_code, x.certification_id, x.org_unit_id, x.month, x.old_amount, x.new_amount,
               COALESCE(w.reason, '支給要件の変動'),
               (pg_catalog.statement_timestamp() AT TIME ZONE pg_catalog.current_setting('ledger.time_zone'))::date
        FROM changed x
        LEFT JOIN change_reason w ON w.recipient_id = x.recipient_id AND w.month = x.month
        ON CONFLICT (municipality_code, certification_id, effective_month) DO NOTHING
        RETURNING 1
    ), due AS (
        SELECT p.municipality_code, p.certification_id, p.recipient_id, p.org_unit_id, p.pay_first, p.pay_last,
               COALESCE(pg_catalog.sum(t.total) FILTER (WHERE t.month >= p.pay_first), 0)::integer AS amount,
               pg_catalog.max(t.total) FILTER (WHERE t.month = p.pay_last) AS current_amount
        FROM paid p JOIN month_total t ON t.certification_id = p.certification_id
        GROUP BY p.municipality_code, p.certification_id, p.recipient_id, p.org_unit_id, p.pay_first, p.pay_last
    ), new_payment AS (
        INSERT INTO ledger.payment (municipality_code, certification_id, recipient_id, org_unit_id, payment_month,
                                    first_month, last_month, amount)
        SELECT d.municipality_code, d.certification_id, d.recipient_id, d.org_unit_id, pm, d.pay_first, d.pay_last, d.amount
        FROM due d WHERE d.amount > 0
        ON CONFLICT (municipality_code, certification_id, payment_month) DO NOTHING
        RETURNING payment.amount
    ), current_amount AS (
        -- the certification's 手当月額 follows the newest prepared month
        UPDATE ledger.certification c SET monthly_amount = d.current_amount
        FROM due d
        WHERE c.municipality_code = d.municipality_code AND c.certification_id = d.certification_id
          AND c.monthly_amount IS DISTINCT FROM d.current_amount
          AND NOT EXISTS (SELECT 1 FROM ledger.payment x
                          WHERE x.municipality_code = d.municipality_code AND x.certification_id = d.certification_id
                            AND x.payment_month > pm)
        RETURNING 1
    )
    SELECT (SELECT pg_catalog.count(*) FROM new_payment)::integer,
           (SELECT COALESCE(pg_catalog.sum(n.amount), 0) FROM new_payment n)::bigint,
           ((SELECT pg_catalog.count(*) FROM due WHERE due.amount > 0) - (SELECT pg_catalog.count(*) FROM new_payment))::integer,
           (SELECT pg_catalog.count(*) FROM due WHERE due.amount = 0)::integer,
           (SELECT pg_catalog.count(*) FROM new_revision)::integer
      INTO payments, amount, already_prepared, zero_amount, revisions;
END $$;
REVOKE ALL ON FUNCTION ledger._prepare_payment_batch(text, bigint[], date, date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger._prepare_payment_batch(text, bigint[], date, date, date) TO ledger_staff;
COMMENT ON FUNCTION ledger._prepare_payment_batch(text, bigint[], date, date, date) IS
    '支払処理の1バッチ (internal, runs as the caller): amounts, 額改定, payments and the current monthly amount';

-- 支払処理: CALL ledger.prepare_payments('2026-12-01') creates the payments of a 支払期月 for
-- every certification the caller may write, for the months that payment covers (under the
-- rule in force for the last of them), in committed batches with the progress in
-- ledger.payment_run.  公務員 are skipped (their employer pays).  Idempotent: what exists is
-- kept, so a second run, or a run resumed after a kill, changes nothing already done.  It runs
-- as the calling staff role (the payment_job duty), through row-level security and the write
-- gate like any staff member; every row it writes is in the audit trail.
CREATE PROCEDURE ledger.prepare_payments(payment_month date, batch_size integer DEFAULT 1000)
LANGUAGE plpgsql AS $$
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
END $$;
REVOKE ALL ON PROCEDURE ledger.prepare_payments(date, integer) FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE ledger.prepare_payments(date, integer) TO ledger_staff;
COMMENT ON PROCEDURE ledger.prepare_payments(date, integer) IS
    '支払処理: the payments of a 支払期月 in committed batches, as the calling job role; idempotent; skips 公務員';
