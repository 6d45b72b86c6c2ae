-- audit_reports: views for 自己点検・内部監査, and the auditor role that reads them.
--
-- ledger_auditor (監査) may read the trail, these views and the verifier, and nothing else
-- of the ledger.  Times are shown in the session's TimeZone (set Asia/Tokyo for 和暦 days);
-- office hours come from ledger.office_hours_start / ledger.office_hours_end, Monday to
-- Friday (national holidays are not modelled: list them with the after-hours report).

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_auditor') THEN
        CREATE ROLE ledger_auditor NOLOGIN;
    END IF;
END $$;
COMMENT ON ROLE ledger_auditor IS '監査: reads the audit trail and its reports, nothing else of the ledger';

CREATE VIEW ledger.audit_report_daily_operations AS
SELECT (logged_at)::date AS day, session_role, acting_role, staff_id, kind,
       count(*) AS events, sum(row_count) AS rows
FROM ledger.audit_event
GROUP BY 1, 2, 3, 4, 5;
COMMENT ON VIEW ledger.audit_report_daily_operations IS '利用者別・日別操作件数: operations per user per day';

CREATE VIEW ledger.audit_report_after_hours AS
SELECT e.event_id, e.logged_at, e.session_role, e.acting_role, e.staff_id, e.kind, e.relation_name,
       e.row_count, e.client_addr,
       CASE WHEN extract(isodow FROM e.logged_at) IN (6, 7) THEN 'weekend'
            WHEN e.logged_at::time < current_setting('ledger.office_hours_start')::time THEN 'before hours'
            ELSE 'after hours' END AS reason
FROM ledger.audit_event e
WHERE e.kind NOT IN ('login', 'logout', 'login_failed')
  AND (extract(isodow FROM e.logged_at) IN (6, 7)
       OR e.logged_at::time < current_setting('ledger.office_hours_start')::time
       OR e.logged_at::time >= current_setting('ledger.office_hours_end')::time);
COMMENT ON VIEW ledger.audit_report_after_hours IS '時間外操作: operations outside office hours (ledger.office_hours_start/end, weekdays)';

CREATE VIEW ledger.audit_report_denied AS
SELECT event_id, logged_at, session_role, acting_role, staff_id, client_addr, application_name,
       relation_name, kind, detail
FROM ledger.audit_event
WHERE kind IN ('denied', 'login_failed');
COMMENT ON VIEW ledger.audit_report_denied IS '拒否された操作: refused attempts and failed logins';

CREATE VIEW ledger.audit_report_reveals AS
SELECT (logged_at)::date AS day, coalesce(detail, '(no purpose given)') AS purpose, session_role,
       acting_role, staff_id, count(*) AS reveals, sum(row_count) AS numbers
FROM ledger.audit_event
WHERE kind = 'reveal'
GROUP BY 1, 2, 3, 4, 5;
COMMENT ON VIEW ledger.audit_report_reveals IS '番号の表示 (目的別): reveals of numbers by purpose, user and day';

CREATE VIEW ledger.audit_report_sessions AS
SELECT i.event_id AS login_event_id, i.logged_at AS login_at, o.logged_at AS logout_at,
       o.logged_at - i.logged_at AS duration, i.session_role, i.database_name, i.client_addr,
       i.application_name, i.backend_pid
FROM ledger.audit_event i
LEFT JOIN LATERAL (
    SELECT x.logged_at FROM ledger.audit_event x
    WHERE x.kind = 'logout' AND x.backend_pid = i.backend_pid AND x.logged_at >= i.logged_at
    ORDER BY x.logged_at LIMIT 1) o ON true
WHERE i.kind = 'login';
COMMENT ON VIEW ledger.audit_report_sessions IS 'ログイン・ログアウト: sessions with their start, end and duration';

-- The row keys of a read of a protected table, as recorded (docs/audit.md, "Whose data a read
-- returned"): a compact set, one element per municipality, with runs of ids.
CREATE FUNCTION ledger.audit_read_keys(row_keys text[]) RETURNS SETOF text[]
    AS 'MODULE_PATHNAME', 'audit_read_keys' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ledger.audit_read_keys(text[]) IS
    '読取り行の一覧: the row keys of a select record one by one, each as the row_key of a change record';
CREATE FUNCTION ledger.audit_keys_contain(row_keys text[], row_key text[]) RETURNS boolean
    AS 'MODULE_PATHNAME', 'audit_keys_contain' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ledger.audit_keys_contain(text[], text[]) IS
    '読取り行の照合: does the key set of a select record name the row with this key';
REVOKE ALL ON FUNCTION ledger.audit_read_keys(text[]), ledger.audit_keys_contain(text[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger.audit_read_keys(text[]), ledger.audit_keys_contain(text[], text[]) TO ledger_auditor;

GRANT SELECT ON ledger.audit_event, ledger.audit_block, ledger.audit_checkpoint, ledger.audited_tables,
    ledger.audit_report_daily_operations, ledger.audit_report_after_hours, ledger.audit_report_denied,
    ledger.audit_report_reveals, ledger.audit_report_sessions TO ledger_auditor;
GRANT EXECUTE ON FUNCTION ledger.verify_audit(bigint, bytea, timestamptz), ledger.audit_digest() TO ledger_auditor;
REVOKE ALL ON ledger.audit_report_daily_operations, ledger.audit_report_after_hours, ledger.audit_report_denied,
    ledger.audit_report_reveals, ledger.audit_report_sessions, ledger.audited_tables FROM PUBLIC;
