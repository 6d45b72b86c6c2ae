# Multi-process test: the sample municipality of scripts/run.sh (千代田区, 300 recipients) as
# scripts/sample.sql loads it — its payment job's run of 令和8年10月 and a second run of 12月 —
# reconciles: every payment is the sum of its months' totals, every total the sum of the
# per-child amounts, each with a reason; nothing for 公務員; a rerun changes nothing.  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap mnl_cluster_destroy_all EXIT

mnl_ledger_cluster sample || exit 1
q() { mnl_psql sample -d ledger -Atc "$1" 2>&1; }
mnl_psql sample -d ledger -f "$MNL_ROOT/scripts/sample.sql" >/dev/null 2>&1
tap_is "$(q "SELECT count(*) FROM ledger.recipient")|$(q "SELECT status FROM ledger.payment_run")" "300|finished" \
    "scripts/sample.sql loads 300 recipients and its payment job's run finishes"
mnl_psql sample -d ledger -U payment_job \
    -c "CALL ledger.prepare_payments('2026-12-01')" >/dev/null 2>&1
tap_is "$(q "SELECT string_agg(to_char(payment_month, 'YYYY-MM') || ':' || status, ',' ORDER BY run_id) FROM ledger.payment_run")" \
    "2026-10:finished,2026-12:finished" "the job runs 令和8年12月 as well"

# The auditor's reconciliation, written out independently of the run.
per_month="
    SELECT p.payment_id, p.amount AS paid, m::date AS month,
           (SELECT coalesce(sum(a.amount), 0) FROM ledger.monthly_amount(p.municipality_code, p.recipient_id, m::date) a) AS total,
           (SELECT count(*) FILTER (WHERE a.reason IS NULL OR a.reason = '') FROM ledger.monthly_amount(p.municipality_code, p.recipient_id, m::date) a) AS unexplained
    FROM ledger.payment p CROSS JOIN generate_series(p.first_month, p.last_month, interval '1 month') m"
tap_is "$(q "SELECT count(*) FROM (SELECT payment_id, min(paid) AS paid, sum(total) AS total FROM ($per_month) x GROUP BY 1) y WHERE paid <> total")" 0 \
    "sample_payments_reconcile: every payment equals the sum of its months' per-child amounts"
tap_is "$(q "SELECT sum(unexplained) FROM ($per_month) x")" 0 "every per-child amount comes with a reason"
tap_is "$(q "SELECT sum(amount_created) FROM ledger.payment_run")" "$(q "SELECT sum(amount) FROM ledger.payment")" \
    "the runs' reported totals equal the payments' sum"
tap_is "$(q "SELECT count(*) FROM ledger.payment p JOIN ledger.recipient r USING (municipality_code, recipient_id) WHERE r.is_public_servant")" 0 \
    "no payment for the sample's 公務員"
tap_is "$(q "SELECT count(*) FROM ledger.certification_revision v JOIN ledger.certification c USING (municipality_code, certification_id)
             WHERE v.new_amount <> ledger.monthly_total(c.municipality_code, c.recipient_id, v.effective_month)")" 0 \
    "every 額改定 names the month's total"
before=$(q "SELECT count(*) || '/' || sum(amount) FROM ledger.payment")
mnl_psql sample -d ledger -U payment_job \
    -c "CALL ledger.prepare_payments('2026-12-01')" >/dev/null 2>&1
tap_is "$(q "SELECT count(*) || '/' || sum(amount) FROM ledger.payment")" "$before" "a rerun changes nothing"
tap_is "$(q "SELECT count(*) FROM ledger.verify_audit()")" 0 "the trail verifies"
tap_done
