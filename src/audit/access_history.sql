-- access_history: whose data a record is about, read back (本人開示 and the incident question).
-- Each answers as a jsonb array of objects (jsonb_to_recordset turns it into rows).
-- ledger.access_history answers a person's request to know who used their data: every
-- reveal of their number, every lookup that found them, every change to the rows about them
-- (person, recipient, children, certifications, 額改定, payments, incomes), every read that
-- returned one of them, and every exchange over the network.  ledger.audit_persons_seen
-- answers the auditor's incident question: whose data did a staff member read, reveal, find
-- or change in a period.  Both read the trail as its
-- owner through the gate (gate.c); the caller needs the disclose_access action (本人開示担当)
-- or the auditor's read_audit, and never sees anything but the history itself.
-- Reads of protected tables are in both: a read's record keeps the keys of the rows it
-- returned (docs/audit.md), matched with ledger.audit_keys_contain.  The rows about a person
-- come from the ledger now and from the trail's own record of which person a row was about.

-- The rows about a person, as (relation, row key) pairs of the audit trail: those about the
-- person now, and those that ever were, from the trail itself (it keeps the person_id of
-- recipient and child rows and the recipient_id / certification_id of the rows below them),
-- so a row moved to another person, or deleted, keeps its history with this person too.
CREATE FUNCTION ledger._rows_about(municipality_code text, person_id bigint)
RETURNS TABLE (relation_name text, row_key text[])
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
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
$$;
REVOKE ALL ON FUNCTION ledger._rows_about(text, bigint) FROM PUBLIC;
COMMENT ON FUNCTION ledger._rows_about(text, bigint) IS '個人に関する行 (internal): the trail''s (relation, row key) of every ledger row about a person';

-- Refuses (42501) unless the caller may read access histories of the municipality: a
-- superuser, a member of ledger_auditor (who reads the whole trail anyway), or staff with
-- disclose_access in an org unit of that municipality (NULL: of their own).
CREATE FUNCTION ledger._require_history(caller oid, municipality_code text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
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
END $$;
REVOKE ALL ON FUNCTION ledger._require_history(oid, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._require_history(oid, text) IS '本人開示・監査の確認 (internal): 42501 unless superuser, auditor or disclose_access in the municipality';

CREATE FUNCTION ledger._access_history(caller oid, municipality_code text, person_id bigint,
                                       from_time timestamptz, to_time timestamptz)
RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
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
END $$;
REVOKE ALL ON FUNCTION ledger._access_history(oid, text, bigint, timestamptz, timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION ledger._access_history(oid, text, bigint, timestamptz, timestamptz) IS
    '本人開示 (internal twin of ledger.access_history)';

CREATE FUNCTION ledger.access_history(municipality_code text, person_id bigint,
                                      from_time timestamptz DEFAULT NULL, to_time timestamptz DEFAULT NULL)
RETURNS jsonb AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.access_history(text, bigint, timestamptz, timestamptz) IS
    '本人開示: who read, revealed, found, changed or exchanged this person''s data, when and why (disclose_access or the auditor)';

CREATE FUNCTION ledger._audit_persons_seen(caller oid, staff_role name, from_time timestamptz, to_time timestamptz)
RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
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
END $$;
REVOKE ALL ON FUNCTION ledger._audit_persons_seen(oid, name, timestamptz, timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION ledger._audit_persons_seen(oid, name, timestamptz, timestamptz) IS
    '閲覧対象者の一覧 (internal twin of ledger.audit_persons_seen)';

CREATE FUNCTION ledger.audit_persons_seen(staff_role name, from_time timestamptz DEFAULT NULL, to_time timestamptz DEFAULT NULL)
RETURNS jsonb AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.audit_persons_seen(name, timestamptz, timestamptz) IS
    '閲覧対象者の一覧 (事故時の調査): the persons whose rows a staff member read or changed, or whose number they revealed or found, in a period';
