-- linkage: per-affair pseudonyms (符号) and the only way to map a person between affairs.
-- pseudonym.c computes them; ledger.link checks a rule and records every link.

CREATE FUNCTION ledger.pseudonym(mn ledger.mynumber, affair text) RETURNS bytea
    AS 'MODULE_PATHNAME', 'pseudonym_of_number' LANGUAGE C STABLE STRICT PARALLEL SAFE;
-- Not for staff: someone holding a number and duties in two affairs could compute both
-- pseudonyms and join without a rule.  Staff get pseudonyms through pseudonym_of_person and link.
REVOKE ALL ON FUNCTION ledger.pseudonym(ledger.mynumber, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger.pseudonym(ledger.mynumber, text) IS
    '事務ごとの符号: HMAC-SHA256 of the number under the affair''s own key (owner only; staff use ledger.pseudonym_of_person and ledger.link)';

CREATE FUNCTION ledger._pseudonym_of_sealed(value ledger.sealed_mynumber, context text, affair text) RETURNS bytea
    AS 'MODULE_PATHNAME', 'pseudonym_of_sealed' LANGUAGE C STABLE STRICT;
REVOKE ALL ON FUNCTION ledger._pseudonym_of_sealed(ledger.sealed_mynumber, text, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._pseudonym_of_sealed(ledger.sealed_mynumber, text, text) IS
    '符号の算出 (internal): from a sealed number, which is opened and hashed in C and never returned';

CREATE TABLE ledger.person_pseudonym (
    municipality_code ledger.municipality_code NOT NULL,
    person_id    bigint NOT NULL,
    affair_code  text   NOT NULL REFERENCES ledger.affair,
    pseudonym    bytea  NOT NULL,
    PRIMARY KEY (municipality_code, person_id, affair_code),
    UNIQUE (municipality_code, affair_code, pseudonym),
    FOREIGN KEY (municipality_code, person_id) REFERENCES ledger.person ON DELETE CASCADE
);
COMMENT ON TABLE ledger.person_pseudonym IS '符号: each person''s pseudonym in each affair it was issued for (owner only)';
COMMENT ON COLUMN ledger.person_pseudonym.municipality_code IS '団体コード';
COMMENT ON COLUMN ledger.person_pseudonym.person_id IS '個人ID';
COMMENT ON COLUMN ledger.person_pseudonym.affair_code IS '事務コード';
COMMENT ON COLUMN ledger.person_pseudonym.pseudonym IS '符号';
REVOKE ALL ON ledger.person_pseudonym FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('ledger.person_pseudonym', '');

CREATE TABLE ledger.linkage_rule (
    from_affair  text NOT NULL REFERENCES ledger.affair,
    to_affair    text NOT NULL REFERENCES ledger.affair,
    legal_basis  text NOT NULL CHECK (NOT ledger._is_blank(legal_basis)),
    PRIMARY KEY (from_affair, to_affair),
    CHECK (from_affair <> to_affair)
);
COMMENT ON TABLE ledger.linkage_rule IS '紐付け規則: which affair may map a person to which other affair, and why';
COMMENT ON COLUMN ledger.linkage_rule.from_affair IS '紐付け元の事務';
COMMENT ON COLUMN ledger.linkage_rule.to_affair IS '紐付け先の事務';
COMMENT ON COLUMN ledger.linkage_rule.legal_basis IS '根拠法令';
REVOKE ALL ON ledger.linkage_rule FROM PUBLIC;
GRANT SELECT ON ledger.linkage_rule TO ledger_staff, ledger_dba;
SELECT pg_catalog.pg_extension_config_dump('ledger.linkage_rule', '');
SELECT ledger.audit_table('ledger.linkage_rule');
SELECT ledger.audit_table('ledger.person_pseudonym', ARRAY['pseudonym']);

CREATE TABLE ledger.link_record (
    link_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    municipality_code ledger.municipality_code NOT NULL,
    person_id    bigint  NOT NULL,
    org_unit_id  integer NOT NULL,
    from_affair  text    NOT NULL,
    to_affair    text    NOT NULL,
    purpose      text    NOT NULL,
    linked_by    name    NOT NULL,
    linked_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT link_record_purpose_no_mynumber CHECK (NOT ledger.contains_mynumber(purpose)),
    CONSTRAINT link_record_from_affair_no_mynumber CHECK (NOT ledger.contains_mynumber(from_affair)),
    CONSTRAINT link_record_to_affair_no_mynumber CHECK (NOT ledger.contains_mynumber(to_affair))
);
COMMENT ON TABLE ledger.link_record IS '紐付けの記録: every mapping of a person between affairs';
COMMENT ON COLUMN ledger.link_record.link_id IS '記録番号';
COMMENT ON COLUMN ledger.link_record.municipality_code IS '団体コード';
COMMENT ON COLUMN ledger.link_record.person_id IS '個人ID';
COMMENT ON COLUMN ledger.link_record.org_unit_id IS '担当所属ID';
COMMENT ON COLUMN ledger.link_record.from_affair IS '紐付け元の事務';
COMMENT ON COLUMN ledger.link_record.to_affair IS '紐付け先の事務';
COMMENT ON COLUMN ledger.link_record.purpose IS '目的';
COMMENT ON COLUMN ledger.link_record.linked_by IS '職員 (role)';
COMMENT ON COLUMN ledger.link_record.linked_at IS '日時';
COMMENT ON SEQUENCE ledger.link_record_link_id_seq IS '紐付けの記録番号の採番';
SELECT ledger.protect_table('ledger.link_record', 'org_unit_id');
REVOKE ALL ON ledger.link_record FROM PUBLIC;
GRANT SELECT ON ledger.link_record TO ledger_staff;
SELECT pg_catalog.pg_extension_config_dump('ledger.link_record', '');
SELECT pg_catalog.pg_extension_config_dump('ledger.link_record_link_id_seq', '');

-- A rule: ledger_dba (or a superuser), recorded.
CREATE FUNCTION ledger._allow_linkage(caller oid, from_affair text, to_affair text, legal_basis text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM ledger._require_dba(caller, 'set linkage rules');
    INSERT INTO ledger.linkage_rule VALUES (from_affair, to_affair, legal_basis)
    ON CONFLICT ON CONSTRAINT linkage_rule_pkey DO UPDATE SET legal_basis = EXCLUDED.legal_basis;
END $$;
REVOKE ALL ON FUNCTION ledger._allow_linkage(oid, text, text, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._allow_linkage(oid, text, text, text) IS '紐付け規則の登録 (internal twin of ledger.allow_linkage)';

CREATE FUNCTION ledger.allow_linkage(from_affair text, to_affair text, legal_basis text)
RETURNS void AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.allow_linkage(text, text, text) IS
    '紐付け規則の登録: lets ledger.link map persons from one affair to another; ledger_dba only, recorded';

-- Map a person from one affair's pseudonym to another's: only under a rule, only for staff of
-- both affairs who may read the person, and recorded.
CREATE FUNCTION ledger._link(caller oid, municipality_code text, from_affair text, pseudonym bytea, to_affair text, purpose text)
RETURNS bytea LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
END $$;
REVOKE ALL ON FUNCTION ledger._link(oid, text, text, bytea, text, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._link(oid, text, text, bytea, text, text) IS '紐付け (internal twin of ledger.link)';

CREATE FUNCTION ledger.link(municipality_code text, from_affair text, pseudonym bytea, to_affair text, purpose text)
RETURNS bytea AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.link(text, text, bytea, text, text) IS
    '紐付け: a person''s pseudonym in another affair, only under a linkage rule, for staff of both affairs; recorded in ledger.link_record';

-- The person's pseudonym in the ledger's own affair, for the staff who may read the person.
CREATE FUNCTION ledger._pseudonym_of_person(caller oid, municipality_code text, person_id bigint)
RETURNS bytea LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
END $$;
REVOKE ALL ON FUNCTION ledger._pseudonym_of_person(oid, text, bigint) FROM PUBLIC;
COMMENT ON FUNCTION ledger._pseudonym_of_person(oid, text, bigint) IS '符号の取得 (internal twin of ledger.pseudonym_of_person)';

CREATE FUNCTION ledger.pseudonym_of_person(municipality_code text, person_id bigint)
RETURNS bytea AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.pseudonym_of_person(text, bigint) IS
    '符号の取得: the person''s pseudonym in the child_allowance affair, for staff who may read the person';
