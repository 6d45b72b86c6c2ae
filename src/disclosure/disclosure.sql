-- disclosure: reveal quotas and the two-person rule (PIA 7 事故事例: one person's mistake must
-- not expose hundreds of numbers).  A staff member's reveals per day are limited by duty
-- (ledger.duty.reveal_quota_per_day, else ledger.reveal_quota_per_day); beyond the quota, or
-- to reveal more than ledger.bulk_reveal_threshold numbers at once, a second staff member with
-- the approve duty must have approved.  Reveals are counted, and approvals used up, by the
-- audit writer in its own transactions (ledger.reveal_tally, disclosure_approval.used_count),
-- so a ROLLBACK gives neither back.

CREATE TABLE ledger.reveal_tally (
    role_name  name    NOT NULL,
    day        date    NOT NULL,
    reveals    integer NOT NULL,
    PRIMARY KEY (role_name, day)
);
COMMENT ON TABLE ledger.reveal_tally IS '番号表示件数: reveals per role and day (in ledger.time_zone), counted by the audit writer';
COMMENT ON COLUMN ledger.reveal_tally.role_name IS 'ロール名';
COMMENT ON COLUMN ledger.reveal_tally.day IS '日付';
COMMENT ON COLUMN ledger.reveal_tally.reveals IS '表示件数';
REVOKE ALL ON ledger.reveal_tally FROM PUBLIC;
GRANT SELECT ON ledger.reveal_tally TO ledger_auditor;

CREATE TABLE ledger.disclosure_approval (
    approval_id   bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    municipality_code ledger.municipality_code NOT NULL,
    org_unit_id   integer NOT NULL,
    requested_by  name    NOT NULL,
    kind          text    NOT NULL CHECK (kind IN ('reveal_quota', 'bulk_reveal')),
    count         integer NOT NULL CHECK (count > 0),
    purpose       text    NOT NULL CHECK (NOT ledger._is_blank(purpose)),
    requested_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    approved_by   name,
    approved_at   timestamptz,
    used_count    integer NOT NULL DEFAULT 0,
    expires_at    timestamptz NOT NULL,
    CHECK (used_count <= count),
    CONSTRAINT disclosure_approval_purpose_no_mynumber CHECK (NOT ledger.contains_mynumber(purpose))
);
COMMENT ON TABLE ledger.disclosure_approval IS '二者承認: a second staff member''s approval of a bulk reveal or of reveals beyond the daily quota';
COMMENT ON COLUMN ledger.disclosure_approval.approval_id IS '承認番号';
COMMENT ON COLUMN ledger.disclosure_approval.municipality_code IS '団体コード';
COMMENT ON COLUMN ledger.disclosure_approval.org_unit_id IS '申請者の所属ID';
COMMENT ON COLUMN ledger.disclosure_approval.requested_by IS '申請者 (role)';
COMMENT ON COLUMN ledger.disclosure_approval.kind IS '種別: reveal_quota 上限超過, bulk_reveal 一括表示';
COMMENT ON COLUMN ledger.disclosure_approval.count IS '件数';
COMMENT ON COLUMN ledger.disclosure_approval.purpose IS '目的';
COMMENT ON COLUMN ledger.disclosure_approval.requested_at IS '申請日時';
COMMENT ON COLUMN ledger.disclosure_approval.approved_by IS '承認者 (role)';
COMMENT ON COLUMN ledger.disclosure_approval.approved_at IS '承認日時';
COMMENT ON COLUMN ledger.disclosure_approval.used_count IS '使用済み件数';
COMMENT ON COLUMN ledger.disclosure_approval.expires_at IS '有効期限';
COMMENT ON SEQUENCE ledger.disclosure_approval_approval_id_seq IS '承認番号の採番';
SELECT ledger.protect_table('ledger.disclosure_approval', 'org_unit_id');
REVOKE ALL ON ledger.disclosure_approval FROM PUBLIC;
GRANT SELECT ON ledger.disclosure_approval TO ledger_staff;
SELECT pg_catalog.pg_extension_config_dump('ledger.disclosure_approval', '');
SELECT pg_catalog.pg_extension_config_dump('ledger.disclosure_approval_approval_id_seq', '');

-- The bookkeeping (disclosure.c): read under the latest snapshot, written by the audit writer.
CREATE FUNCTION ledger._reveals_today(role name) RETURNS integer
    AS 'MODULE_PATHNAME', 'disclosure_reveals_today' LANGUAGE C VOLATILE STRICT;
REVOKE ALL ON FUNCTION ledger._reveals_today(name) FROM PUBLIC;
COMMENT ON FUNCTION ledger._reveals_today(name) IS
    '本日の表示件数 (internal): what the audit writer has counted, under the latest snapshot (not the transaction''s)';

CREATE FUNCTION ledger._usable_approval(role name, kind text, n integer) RETURNS bigint
    AS 'MODULE_PATHNAME', 'disclosure_usable_approval' LANGUAGE C VOLATILE STRICT;
REVOKE ALL ON FUNCTION ledger._usable_approval(name, text, integer) FROM PUBLIC;
COMMENT ON FUNCTION ledger._usable_approval(name, text, integer) IS
    '使用できる承認 (internal): an approved, unexpired approval of the role covering n reveals, under the latest snapshot';

CREATE FUNCTION ledger._use_approval(approval_id bigint, n integer) RETURNS void
    AS 'MODULE_PATHNAME', 'disclosure_use_approval' LANGUAGE C VOLATILE STRICT;
REVOKE ALL ON FUNCTION ledger._use_approval(bigint, integer) FROM PUBLIC;
COMMENT ON FUNCTION ledger._use_approval(bigint, integer) IS
    '承認の使用 (internal): spends n of an approval through the audit writer, committed before it returns (a ROLLBACK does not give it back)';

-- May the caller reveal n more numbers now?  Uses up an approval when one is needed;
-- refuses (42501) otherwise.  Called by the reveal twins before anything is revealed.
-- Exact under every isolation level and with concurrent sessions: one check at a time per
-- staff member (a lock on the staff row, held to the end of the caller's transaction; only
-- the owner can take it, unlike an advisory lock anyone could hold), counts read under the
-- latest snapshot, and every reveal and use committed by the writer before it returns.
-- One row per staff member who reveals: the reveal checks of one staff member take its lock
-- in turn (the staff row itself would make a retirement wait for the examiner's open
-- transaction).
CREATE TABLE ledger.reveal_serial (role_name name PRIMARY KEY);
REVOKE ALL ON ledger.reveal_serial FROM PUBLIC;
COMMENT ON TABLE ledger.reveal_serial IS '表示確認の直列化 (internal): a row per revealing staff member, locked while their quota is checked';
COMMENT ON COLUMN ledger.reveal_serial.role_name IS '職員ロール';

CREATE FUNCTION ledger._statement_reveals(n integer) RETURNS integer
    AS 'MODULE_PATHNAME', 'disclosure_statement_reveals' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION ledger._statement_reveals(integer) FROM PUBLIC;
COMMENT ON FUNCTION ledger._statement_reveals(integer) IS
    '文単位の表示件数 (internal): numbers revealed in the current statement, these included (outside every transaction)';

CREATE FUNCTION ledger._reveal_allowance(caller oid, n integer) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
END $$;
REVOKE ALL ON FUNCTION ledger._reveal_allowance(oid, integer) FROM PUBLIC;
COMMENT ON FUNCTION ledger._reveal_allowance(oid, integer) IS '表示件数の確認 (internal): quota, bulk threshold and approvals, exact under every isolation level';

CREATE FUNCTION ledger._request_disclosure_approval(caller oid, kind text, count integer, purpose text)
RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
END $$;
REVOKE ALL ON FUNCTION ledger._request_disclosure_approval(oid, text, integer, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._request_disclosure_approval(oid, text, integer, text) IS
    '二者承認の申請 (internal twin of ledger.request_disclosure_approval)';

CREATE FUNCTION ledger.request_disclosure_approval(kind text, count integer, purpose text)
RETURNS bigint AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.request_disclosure_approval(text, integer, text) IS
    '二者承認の申請: asks for a bulk reveal or for reveals beyond the daily quota; valid until the end of the day';

CREATE FUNCTION ledger._approve_disclosure(caller oid, approval_id bigint)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
END $$;
REVOKE ALL ON FUNCTION ledger._approve_disclosure(oid, bigint) FROM PUBLIC;
COMMENT ON FUNCTION ledger._approve_disclosure(oid, bigint) IS '二者承認 (internal twin of ledger.approve_disclosure)';

CREATE FUNCTION ledger.approve_disclosure(approval_id bigint)
RETURNS void AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.approve_disclosure(bigint) IS
    '二者承認: a second staff member with the approve duty for the requester''s org unit approves; never the requester';

-- Several persons' numbers at once: every person must be revealable by the caller; more than
-- ledger.bulk_reveal_threshold needs an approved bulk_reveal request.
CREATE FUNCTION ledger._reveal_people(caller oid, municipality_code text, person_ids bigint[], purpose text,
                                      legal_basis text)
RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
END $$;
REVOKE ALL ON FUNCTION ledger._reveal_people(oid, text, bigint[], text, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._reveal_people(oid, text, bigint[], text, text) IS '一括表示 (internal twin of ledger.reveal_people)';

CREATE FUNCTION ledger.reveal_people(municipality_code text, person_ids bigint[], purpose text, legal_basis text DEFAULT NULL)
RETURNS jsonb AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.reveal_people(text, bigint[], text, text) IS
    '一括表示: several persons'' numbers as {person_id: number}; above ledger.bulk_reveal_threshold only with a second person''s approval';
