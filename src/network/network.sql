-- network: 情報提供ネットワークシステム through the 中間サーバー - the rule list
-- (照会許可用照合リスト), inquiries with their permits (情報提供許可証) and results, provisions
-- with the 自動応答不可 review queue, and the record of every exchange (情報提供等の記録).
-- The public functions are gated in C (gate.c): each runs its twin ledger._<name>(caller, ...)
-- as the extension owner, which checks the caller's duties first; a refusal is 42501 and is
-- recorded in the audit trail even though the call rolls back.

CREATE TABLE ledger.data_item (
    item_code  text PRIMARY KEY CHECK (item_code ~ '^[a-z][a-z0-9_]{0,62}$'),
    name       text NOT NULL
);
COMMENT ON TABLE ledger.data_item IS '特定個人情報の項目: data items exchanged over the network';
COMMENT ON COLUMN ledger.data_item.item_code IS '項目コード';
COMMENT ON COLUMN ledger.data_item.name IS '項目名';
INSERT INTO ledger.data_item VALUES
    ('resident_record', '住民票関係情報'),
    ('local_tax', '地方税関係情報'),
    ('child_allowance', '児童手当関係情報'),
    ('public_assistance', '生活保護関係情報');

CREATE TABLE ledger.inquiry_rule (
    requester        text    NOT NULL,
    requester_affair text    NOT NULL REFERENCES ledger.affair,
    provider         text    NOT NULL,
    item_code        text    NOT NULL REFERENCES ledger.data_item,
    allowed          boolean NOT NULL,
    auto_answer      boolean NOT NULL,
    legal_basis      text    NOT NULL CHECK (NOT ledger._is_blank(legal_basis)),
    loaded_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (requester, requester_affair, provider, item_code)
);
COMMENT ON TABLE ledger.inquiry_rule IS
    '照会許可用照合リスト: which requester, for which affair, may ask which provider for which item';
COMMENT ON COLUMN ledger.inquiry_rule.requester IS '情報照会者 (団体コード or institution code)';
COMMENT ON COLUMN ledger.inquiry_rule.requester_affair IS '事務';
COMMENT ON COLUMN ledger.inquiry_rule.provider IS '情報提供者';
COMMENT ON COLUMN ledger.inquiry_rule.item_code IS '特定個人情報の項目';
COMMENT ON COLUMN ledger.inquiry_rule.allowed IS '照会可否';
COMMENT ON COLUMN ledger.inquiry_rule.auto_answer IS '自動応答可 (false = 自動応答不可フラグ: staff review before providing)';
COMMENT ON COLUMN ledger.inquiry_rule.legal_basis IS '根拠法令 (番号法別表第二, 第19条第14号, ...)';
COMMENT ON COLUMN ledger.inquiry_rule.loaded_at IS '取込日時';

CREATE TABLE ledger.inquiry_permit (
    permit_id        uuid    PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
    municipality_code ledger.municipality_code NOT NULL,
    person_id        bigint  NOT NULL,
    org_unit_id      integer NOT NULL,
    requester_affair text    NOT NULL,
    provider         text    NOT NULL,
    item_code        text    NOT NULL,
    purpose          text    NOT NULL,
    issued_to        name    NOT NULL,
    issued_at        timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    FOREIGN KEY (municipality_code, person_id) REFERENCES ledger.person,
    CONSTRAINT inquiry_permit_requester_affair_no_mynumber CHECK (NOT ledger.contains_mynumber(requester_affair)),
    CONSTRAINT inquiry_permit_provider_no_mynumber CHECK (NOT ledger.contains_mynumber(provider)),
    CONSTRAINT inquiry_permit_item_code_no_mynumber CHECK (NOT ledger.contains_mynumber(item_code)),
    CONSTRAINT inquiry_permit_purpose_no_mynumber CHECK (NOT ledger.contains_mynumber(purpose))
);
COMMENT ON TABLE ledger.inquiry_permit IS '情報提供許可証: issued when an inquiry passes the rule list; the inquiry must carry it';
COMMENT ON COLUMN ledger.inquiry_permit.permit_id IS '許可証ID';
COMMENT ON COLUMN ledger.inquiry_permit.municipality_code IS '団体コード';
COMMENT ON COLUMN ledger.inquiry_permit.person_id IS '個人ID';
COMMENT ON COLUMN ledger.inquiry_permit.org_unit_id IS '担当所属ID';
COMMENT ON COLUMN ledger.inquiry_permit.requester_affair IS '事務';
COMMENT ON COLUMN ledger.inquiry_permit.provider IS '情報提供者';
COMMENT ON COLUMN ledger.inquiry_permit.item_code IS '項目 (the scope of the permit)';
COMMENT ON COLUMN ledger.inquiry_permit.purpose IS '照会目的';
COMMENT ON COLUMN ledger.inquiry_permit.issued_to IS '照会職員 (role)';
COMMENT ON COLUMN ledger.inquiry_permit.issued_at IS '発行日時';
COMMENT ON COLUMN ledger.inquiry_permit.expires_at IS '有効期限';

CREATE TABLE ledger.inquiry_result (
    permit_id        uuid    PRIMARY KEY,
    municipality_code ledger.municipality_code NOT NULL,
    person_id        bigint  NOT NULL,
    org_unit_id      integer NOT NULL,
    item_code        text    NOT NULL,
    result           jsonb   NOT NULL,
    received_at      timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    FOREIGN KEY (municipality_code, person_id) REFERENCES ledger.person,
    -- the network carries 符号, never a My Number
    CONSTRAINT inquiry_result_result_no_mynumber CHECK (NOT ledger.contains_mynumber(result)),
    CONSTRAINT inquiry_result_item_code_no_mynumber CHECK (NOT ledger.contains_mynumber(item_code))
);
COMMENT ON TABLE ledger.inquiry_result IS '照会結果: deleted automatically when it expires (ledger.expire_inquiry_data)';
COMMENT ON COLUMN ledger.inquiry_result.permit_id IS '許可証ID';
COMMENT ON COLUMN ledger.inquiry_result.municipality_code IS '団体コード';
COMMENT ON COLUMN ledger.inquiry_result.person_id IS '個人ID';
COMMENT ON COLUMN ledger.inquiry_result.org_unit_id IS '担当所属ID';
COMMENT ON COLUMN ledger.inquiry_result.item_code IS '項目';
COMMENT ON COLUMN ledger.inquiry_result.result IS '照会結果の内容';
COMMENT ON COLUMN ledger.inquiry_result.received_at IS '受領日時';
COMMENT ON COLUMN ledger.inquiry_result.expires_at IS '削除予定日時';

-- The 中間サーバー's connection: the one identity that may hand the ledger what arrives from
-- the network (provision requests, inquiry results).  Staff never receive on its behalf.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_connector') THEN
        CREATE ROLE ledger_connector NOLOGIN;
    END IF;
END $$;
COMMENT ON ROLE ledger_connector IS '中間サーバー接続: the network connector''s identity; grant it to the connector''s own login role only';

CREATE TABLE ledger.provision_request (
    request_id       bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    municipality_code ledger.municipality_code NOT NULL,
    person_id        bigint  NOT NULL,
    org_unit_id      integer NOT NULL,
    requester        text    NOT NULL,
    requester_affair text    NOT NULL,
    item_code        text    NOT NULL,
    received_at      timestamptz NOT NULL,
    status           text    NOT NULL CHECK (status IN ('answered', 'pending_review', 'rejected')),
    answer           jsonb,
    reviewed_by      name,
    reviewed_at      timestamptz,
    review_reason    text,
    permit_id        uuid    NOT NULL UNIQUE,
    permit_expires_at timestamptz NOT NULL,
    answer_expires_at timestamptz,
    FOREIGN KEY (municipality_code, person_id) REFERENCES ledger.person,
    -- the network carries 符号, never a My Number: neither an answer nor a reviewer's reason holds one
    CONSTRAINT provision_request_answer_no_mynumber CHECK (NOT ledger.contains_mynumber(answer)),
    CONSTRAINT provision_request_review_reason_no_mynumber CHECK (NOT ledger.contains_mynumber(review_reason)),
    CONSTRAINT provision_request_requester_no_mynumber CHECK (NOT ledger.contains_mynumber(requester)),
    CONSTRAINT provision_request_requester_affair_no_mynumber CHECK (NOT ledger.contains_mynumber(requester_affair)),
    CONSTRAINT provision_request_item_code_no_mynumber CHECK (NOT ledger.contains_mynumber(item_code))
);
COMMENT ON TABLE ledger.provision_request IS
    '情報提供の求め: answered automatically, or held for review when the item is 自動応答不可';
COMMENT ON COLUMN ledger.provision_request.request_id IS '受付番号';
COMMENT ON COLUMN ledger.provision_request.municipality_code IS '団体コード';
COMMENT ON COLUMN ledger.provision_request.person_id IS '個人ID';
COMMENT ON COLUMN ledger.provision_request.org_unit_id IS '担当所属ID';
COMMENT ON COLUMN ledger.provision_request.requester IS '情報照会者';
COMMENT ON COLUMN ledger.provision_request.requester_affair IS '照会者の事務';
COMMENT ON COLUMN ledger.provision_request.item_code IS '項目';
COMMENT ON COLUMN ledger.provision_request.received_at IS '受付日時';
COMMENT ON COLUMN ledger.provision_request.status IS '状態: answered 提供済, pending_review 確認待ち, rejected 不提供';
COMMENT ON COLUMN ledger.provision_request.answer IS '提供内容';
COMMENT ON COLUMN ledger.provision_request.reviewed_by IS '確認職員';
COMMENT ON COLUMN ledger.provision_request.reviewed_at IS '確認日時';
COMMENT ON COLUMN ledger.provision_request.review_reason IS '確認理由';
COMMENT ON COLUMN ledger.provision_request.permit_id IS '情報提供許可証ID (the requester''s permit, carried by the request; used once)';
COMMENT ON COLUMN ledger.provision_request.permit_expires_at IS '許可証の有効期限';
COMMENT ON COLUMN ledger.provision_request.answer_expires_at IS '提供内容の削除予定日時 (like inquiry results)';

CREATE TABLE ledger.exchange_record (
    record_id        bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    municipality_code ledger.municipality_code NOT NULL,
    person_id        bigint  NOT NULL,
    org_unit_id      integer NOT NULL,
    direction        text    NOT NULL CHECK (direction IN ('inquiry', 'provision')),
    requester        text    NOT NULL,
    requester_affair text    NOT NULL,
    provider         text    NOT NULL,
    item_code        text    NOT NULL,
    outcome          text    NOT NULL,
    staff_role       name,
    recorded_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    keep_until       date    NOT NULL,
    permit_id        uuid,
    request_id       bigint,
    CONSTRAINT exchange_record_requester_no_mynumber CHECK (NOT ledger.contains_mynumber(requester)),
    CONSTRAINT exchange_record_requester_affair_no_mynumber CHECK (NOT ledger.contains_mynumber(requester_affair)),
    CONSTRAINT exchange_record_provider_no_mynumber CHECK (NOT ledger.contains_mynumber(provider)),
    CONSTRAINT exchange_record_item_code_no_mynumber CHECK (NOT ledger.contains_mynumber(item_code)),
    CONSTRAINT exchange_record_outcome_no_mynumber CHECK (NOT ledger.contains_mynumber(outcome))
);
CREATE INDEX exchange_record_person ON ledger.exchange_record (municipality_code, person_id);
CREATE INDEX exchange_record_permit ON ledger.exchange_record (permit_id) WHERE permit_id IS NOT NULL;
COMMENT ON INDEX ledger.exchange_record_permit IS '許可証による検索: a permit is used once';
COMMENT ON TABLE ledger.exchange_record IS '情報提供等の記録: every inquiry and provision, kept 7 years (マイナポータルで本人が確認する記録)';
COMMENT ON COLUMN ledger.exchange_record.record_id IS '記録番号';
COMMENT ON COLUMN ledger.exchange_record.municipality_code IS '団体コード';
COMMENT ON COLUMN ledger.exchange_record.person_id IS '個人ID';
COMMENT ON COLUMN ledger.exchange_record.org_unit_id IS '担当所属ID';
COMMENT ON COLUMN ledger.exchange_record.direction IS '種別: inquiry 照会, provision 提供';
COMMENT ON COLUMN ledger.exchange_record.requester IS '情報照会者';
COMMENT ON COLUMN ledger.exchange_record.requester_affair IS '事務';
COMMENT ON COLUMN ledger.exchange_record.provider IS '情報提供者';
COMMENT ON COLUMN ledger.exchange_record.item_code IS '項目';
COMMENT ON COLUMN ledger.exchange_record.outcome IS '結果: permitted, received, answered, pending_review, approved, rejected';
COMMENT ON COLUMN ledger.exchange_record.staff_role IS '職員 (role)';
COMMENT ON COLUMN ledger.exchange_record.recorded_at IS '記録日時';
COMMENT ON COLUMN ledger.exchange_record.keep_until IS '保存期限 (7年)';
COMMENT ON COLUMN ledger.exchange_record.permit_id IS '許可証ID';
COMMENT ON COLUMN ledger.exchange_record.request_id IS '受付番号';

-- Staff read these under the same row-level security as the ledger; only the twins write.
SELECT ledger.protect_table('ledger.inquiry_permit', 'org_unit_id');
SELECT ledger.protect_table('ledger.inquiry_result', 'org_unit_id', 'child_allowance', ARRAY['result']);
SELECT ledger.protect_table('ledger.provision_request', 'org_unit_id', 'child_allowance', ARRAY['answer']);
SELECT ledger.protect_table('ledger.exchange_record', 'org_unit_id');
SELECT ledger.audit_table('ledger.inquiry_rule');
SELECT ledger.audit_table('ledger.data_item');
REVOKE ALL ON ledger.data_item, ledger.inquiry_rule, ledger.inquiry_permit, ledger.inquiry_result,
              ledger.provision_request, ledger.exchange_record FROM PUBLIC;
GRANT SELECT ON ledger.data_item, ledger.inquiry_rule TO ledger_staff, ledger_dba;
GRANT SELECT ON ledger.inquiry_permit, ledger.inquiry_result, ledger.provision_request,
                ledger.exchange_record TO ledger_staff;
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['ledger.inquiry_rule', 'ledger.inquiry_permit', 'ledger.inquiry_result',
                             'ledger.provision_request', 'ledger.exchange_record',
                             'ledger.provision_request_request_id_seq', 'ledger.exchange_record_record_id_seq'] LOOP
        PERFORM pg_catalog.pg_extension_config_dump(t::regclass, '');
    END LOOP;
    PERFORM pg_catalog.pg_extension_config_dump('ledger.data_item',
        'WHERE item_code NOT IN (''resident_record'', ''local_tax'', ''child_allowance'', ''public_assistance'')');
END $$;
COMMENT ON SEQUENCE ledger.provision_request_request_id_seq IS '受付番号の採番';
COMMENT ON SEQUENCE ledger.exchange_record_record_id_seq IS '記録番号の採番';

-- ---------------------------------------------------------------------------------------
-- The rule list from CSV
-- ---------------------------------------------------------------------------------------

-- One CSV field list per line: requester,requester_affair,provider,item_code,allowed,auto_answer,legal_basis
-- (a header line naming these columns first; fields may be double-quoted).  Every line is
-- checked; any bad line refuses the whole file, naming each bad line; nothing is half-loaded.
CREATE FUNCTION ledger._load_inquiry_rules(caller oid, csv text, replace_all boolean)
RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
END $$;
REVOKE ALL ON FUNCTION ledger._load_inquiry_rules(oid, text, boolean) FROM PUBLIC;
COMMENT ON FUNCTION ledger._load_inquiry_rules(oid, text, boolean) IS '照合リストの取込 (internal twin of ledger.load_inquiry_rules)';

CREATE FUNCTION ledger.load_inquiry_rules(csv text, replace_all boolean DEFAULT true)
RETURNS integer AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.load_inquiry_rules(text, boolean) IS
    '照会許可用照合リストの取込: validates every CSV line (errors name the lines), loads all or nothing; ledger_dba only, recorded';

-- ---------------------------------------------------------------------------------------
-- Inquiry: rule check, permit, result with expiry
-- ---------------------------------------------------------------------------------------

CREATE FUNCTION ledger._record_exchange(p ledger.person, direction text, requester text, requester_affair text,
                                        provider text, item text, outcome text, staff name,
                                        permit uuid, request bigint)
RETURNS void LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO ledger.exchange_record (municipality_code, person_id, org_unit_id, direction, requester,
                                        requester_affair, provider, item_code, outcome, staff_role,
                                        keep_until, permit_id, request_id)
    VALUES (p.municipality_code, p.person_id, p.org_unit_id, direction, requester, requester_affair,
            provider, item, outcome, staff,
            (pg_catalog.now() + pg_catalog.make_interval(years => 7))::date, permit, request)
$$;
REVOKE ALL ON FUNCTION ledger._record_exchange(ledger.person, text, text, text, text, text, text, name, uuid, bigint) FROM PUBLIC;
COMMENT ON FUNCTION ledger._record_exchange(ledger.person, text, text, text, text, text, text, name, uuid, bigint) IS
    '情報提供等の記録の作成 (internal)';

CREATE FUNCTION ledger._request_inquiry(caller oid, municipality_code text, person_id bigint, provider text,
                                        item text, purpose text, affair text)
RETURNS uuid LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
END $$;
REVOKE ALL ON FUNCTION ledger._request_inquiry(oid, text, bigint, text, text, text, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._request_inquiry(oid, text, bigint, text, text, text, text) IS '情報照会 (internal twin of ledger.request_inquiry)';

CREATE FUNCTION ledger.request_inquiry(municipality_code text, person_id bigint, provider text, item text,
                                       purpose text, affair text DEFAULT 'child_allowance')
RETURNS uuid AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.request_inquiry(text, bigint, text, text, text, text) IS
    '情報照会: checked against the rule list before anything else; returns the 情報提供許可証 the inquiry must carry';

-- Refuses (42501) unless caller is the network connector (a member of ledger_connector) or a
-- superuser: staff never receive what arrives from the network.
CREATE FUNCTION ledger._require_connector(caller oid, what text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT ledger._is_superuser(caller)
       AND NOT pg_catalog.pg_has_role(caller, 'ledger_connector', 'MEMBER') THEN
        RAISE EXCEPTION 'permission denied: only the network connector may %', what
            USING ERRCODE = '42501', HINT = 'The 中間サーバー''s connection (a member of ledger_connector) hands the ledger what arrives from the network.';
    END IF;
END $$;
REVOKE ALL ON FUNCTION ledger._require_connector(oid, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._require_connector(oid, text) IS '中間サーバー接続の確認 (internal): error 42501 unless the caller is the network connector';

CREATE FUNCTION ledger._receive_inquiry_result(caller oid, permit uuid, result jsonb)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
END $$;
REVOKE ALL ON FUNCTION ledger._receive_inquiry_result(oid, uuid, jsonb) FROM PUBLIC;
COMMENT ON FUNCTION ledger._receive_inquiry_result(oid, uuid, jsonb) IS '照会結果の受領 (internal twin of ledger.receive_inquiry_result)';

CREATE FUNCTION ledger.receive_inquiry_result(permit uuid, result jsonb)
RETURNS void AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.receive_inquiry_result(uuid, jsonb) IS
    '照会結果の受領: accepted only with an unexpired permit; kept until ledger.inquiry_result_lifetime passes';

-- Deletes expired inquiry results and permits; returns how many of each.  Run by the retention
-- job (pg_cron); a superuser or a ledger_dba member may run it by hand.
CREATE FUNCTION ledger._expire_inquiry_data(caller oid, OUT results_deleted bigint, OUT permits_deleted bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
END $$;
REVOKE ALL ON FUNCTION ledger._expire_inquiry_data(oid) FROM PUBLIC;
COMMENT ON FUNCTION ledger._expire_inquiry_data(oid) IS '照会結果の自動削除 (internal twin of ledger.expire_inquiry_data)';

CREATE FUNCTION ledger.expire_inquiry_data(OUT results_deleted bigint, OUT permits_deleted bigint)
AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.expire_inquiry_data() IS
    '照会結果の自動削除: deletes expired results and permits (each deletion is in the audit trail)';

-- ---------------------------------------------------------------------------------------
-- Provision: rule check, automatic answer unless 自動応答不可, review queue
-- ---------------------------------------------------------------------------------------

-- What the ledger provides for an item about a person (児童手当関係情報).
CREATE FUNCTION ledger._provision_answer(item text, p ledger.person) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE item
        WHEN 'child_allowance' THEN pg_catalog.jsonb_build_object(
            'recipient', EXISTS (SELECT 1 FROM ledger.recipient r
                                 WHERE r.municipality_code = p.municipality_code AND r.person_id = p.person_id),
            'certifications', COALESCE((
                SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                           'status', c.status, 'first_month', c.first_month,
                           'monthly_amount', c.monthly_amount, 'extinguished_on', c.extinguished_on)
                       ORDER BY c.certification_id)
                FROM ledger.certification c JOIN ledger.recipient r
                  ON r.municipality_code = c.municipality_code AND r.recipient_id = c.recipient_id
                WHERE r.municipality_code = p.municipality_code AND r.person_id = p.person_id), '[]'::jsonb))
        ELSE NULL END
$$;
REVOKE ALL ON FUNCTION ledger._provision_answer(text, ledger.person) FROM PUBLIC;
COMMENT ON FUNCTION ledger._provision_answer(text, ledger.person) IS '提供内容の作成 (internal): what the ledger provides for an item';

CREATE FUNCTION ledger._receive_provision_request(caller oid, requester text, requester_affair text, item text,
                                                  municipality_code text, person_id bigint,
                                                  permit uuid, permit_expires_at timestamptz)
RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
END $$;
REVOKE ALL ON FUNCTION ledger._receive_provision_request(oid, text, text, text, text, bigint, uuid, timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION ledger._receive_provision_request(oid, text, text, text, text, bigint, uuid, timestamptz) IS
    '情報提供の求めの受付 (internal twin of ledger.receive_provision_request)';

CREATE FUNCTION ledger.receive_provision_request(requester text, requester_affair text, item text,
                                                 municipality_code text, person_id bigint,
                                                 permit uuid, permit_expires_at timestamptz)
RETURNS bigint AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.receive_provision_request(text, text, text, text, bigint, uuid, timestamptz) IS
    '情報提供の求めの受付: the network connector only, with the request''s unexpired 情報提供許可証 (used once); checked against the rule list; answered automatically, or queued for review when the item is 自動応答不可';

CREATE FUNCTION ledger._review_provision(caller oid, request_id bigint, approve boolean, reason text)
RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
END $$;
REVOKE ALL ON FUNCTION ledger._review_provision(oid, bigint, boolean, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._review_provision(oid, bigint, boolean, text) IS '提供内容の確認 (internal twin of ledger.review_provision)';

CREATE FUNCTION ledger.review_provision(request_id bigint, approve boolean, reason text)
RETURNS jsonb AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.review_provision(bigint, boolean, text) IS
    '提供内容の確認 (自動応答不可): a staff member with the approve duty provides or refuses a held request, with a reason';

-- Every exchange about one person (what マイナポータル shows), under the caller's policies.
CREATE FUNCTION ledger.exchange_records_for(municipality_code text, person_id bigint)
RETURNS SETOF ledger.exchange_record LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT * FROM ledger.exchange_record e
    WHERE e.municipality_code = exchange_records_for.municipality_code
      AND e.person_id = exchange_records_for.person_id
    ORDER BY e.recorded_at, e.record_id;
END;
COMMENT ON FUNCTION ledger.exchange_records_for(text, bigint) IS
    '情報提供等の記録の開示: every inquiry and provision about one person, and nothing about anyone else';
