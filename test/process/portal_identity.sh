# Multi-process test: a portal bound earlier and executed later, message by message (the
# extended query protocol's Execute with a row limit, as JDBC's fetch size does), meets no
# statement of its own: the staff statement gate and the idle limit still hold at each
# Execute.  A retired clerk's open portal and an idle clerk's open portal return nothing more.
# TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap 'mnl_cluster_destroy_all' EXIT

mnl_ledger_cluster portal || exit 1
q() { mnl_psql portal -d ledger -Atc "$1" 2>&1; }
mnl_psql portal -d ledger >/dev/null <<'SQL'
INSERT INTO ledger.org_unit VALUES ('131016', 1, '本庁');
SELECT ledger.register_staff('regress_pi_leaver', '受付 退職', 1, ARRAY['clerk']);
SELECT ledger.register_staff('regress_pi_idle', '受付 放置', 1, ARRAY['clerk']);
SELECT ledger.register_staff('regress_pi_active', '受付 在職', 1, ARRAY['clerk']);
INSERT INTO ledger.org_unit VALUES ('131016', 2, '出張所');
SELECT ledger.register_staff('regress_pi_other', '受付 出張所', 2, ARRAY['clerk']);
CREATE ROLE regress_pi_pool LOGIN NOINHERIT;
GRANT regress_pi_active, regress_pi_other TO regress_pi_pool;
SELECT ledger.enrol_person('131016', 1, (b || ledger.mynumber_check_digit(b))::ledger.mynumber, '門', i::text, 'モン', 'イ', '2015-04-02', '千代田区')
FROM (SELECT i, lpad((70000000000 + i)::text, 11, '0') AS b FROM generate_series(1, 12) i) x;
-- the roads by which the identity changes inside a statement, and a read folded into a plan
CREATE FUNCTION public.fetch_p_as_other() RETURNS text LANGUAGE plpgsql SET role = 'regress_pi_other'
AS $$ DECLARE c refcursor := 'p'; r record; BEGIN FETCH c INTO r; RETURN r.family_name; END $$;
CREATE FUNCTION public.fetch_p_set_role() RETURNS text LANGUAGE plpgsql
AS $$ DECLARE c refcursor := 'p'; r record;
BEGIN EXECUTE 'SET LOCAL ROLE regress_pi_other'; FETCH c INTO r; RETURN r.family_name; END $$;
CREATE FUNCTION public.first_family() RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT family_name FROM ledger.person ORDER BY person_id LIMIT 1 $$;
SQL
portal() { python3 "$MNL_ROOT/test/process/portal.py" "${MNL_CLUSTER_DIR[portal]}/sock" "$1"; }
sorted="SELECT person_id, family_name FROM ledger.person ORDER BY given_name, person_id"

# Control: an active clerk pages through the portal.
out=$( { echo begin; echo "open $sorted"; echo "exec 5"; } | portal regress_pi_active)
tap_is "$(echo "$out" | tail -2 | tr '\n' ' ')" "SUSPENDED 2 SUSPENDED 5 " "an active clerk pages through an open portal (the road is open)"

# A retired clerk's open portal, sorted (materialised at its first Execute) or not.
flag=$(mktemp -u /tmp/mnl-pi-flag.XXXXXX)
after_open() {  # after_open SQL: run it once the client's commands so far are done
    mnl_wait_flag "$flag"
    q "$1" >/dev/null
}
out=$( { echo begin; echo "open $sorted"; echo "touch $flag"; after_open "SELECT ledger.retire_staff('regress_pi_leaver', '退職')";
         echo "exec 5"; } | portal regress_pi_leaver)
echo "$out" | tail -1 | grep -q "^ERR 42501 .*no longer active"
tap_ok $? "retired_staff_protocol_execute_of_sorted_portal: a retired clerk's open portal returns nothing more"

# An idle clerk's open portal.
q "ALTER SYSTEM SET ledger.staff_idle_session_timeout = '1s'" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
sleep 0.3
out=$( { echo begin; echo "open SELECT person_id FROM ledger.person"; echo "sleep 2"; echo "exec 5"; } | portal regress_pi_idle)
echo "$out" | tail -1 | grep -q "^ERR 57P05"
tap_ok $? "idle_limit_not_enforced_on_protocol_execute: an idle clerk's open portal is ended at its next Execute"
q "ALTER SYSTEM RESET ledger.staff_idle_session_timeout" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
sleep 1
tap_ok "$([ "$(q "SELECT count(*) FROM ledger.audit_event WHERE kind = 'denied' AND acting_role IN ('regress_pi_leaver', 'regress_pi_idle')")" -ge 1 ]; echo $?)" \
    "the refusals are recorded"

# A portal that answers from its store (EXECUTE of a prepared statement, an SQL FETCH, a
# data-modifying WITH: run whole at its first Execute) answers only the role that read: the
# pooled role's switch to another clerk, with the portal open, ends the transaction.
for form in "EXECUTE s" "FETCH ALL FROM c" \
            "WITH d AS (UPDATE ledger.person SET address = address WHERE false RETURNING 1) SELECT person_id FROM ledger.person"; do
    out=$( { echo begin; echo "sql PREPARE s AS $sorted"; echo "sql SET LOCAL ROLE regress_pi_active";
             echo "sql DECLARE c CURSOR FOR $sorted"; echo "open $form";
             echo "sql SET LOCAL ROLE regress_pi_other"; echo "exec 20"; } | portal regress_pi_pool)
    echo "$out" | sed -n 5p | grep -q "^SUSPENDED 2" && echo "$out" | sed -n 6p | grep -q "^ERR 42501 .*read only by the role" &&
        echo "$out" | sed -n 7p | grep -q "^ERR 25P02"
    tap_ok $? "store_portal_answered_to_another_role_refused: ${form%% *} ... in a protocol portal, then SET ROLE ($(echo "$out" | tail -3 | tr '\n' '|'))"
done

# ... nor reached by a change of identity outside a top-level statement: set_config('role')
# in a fast-path call (refused at the first row that would leave), a function with SET role,
# SET ROLE in a function's EXECUTE (refused at the change); each then FETCHes the open portal
# under the other clerk.
for road in "setrole regress_pi_other" "sql SELECT public.fetch_p_as_other()" "sql SELECT public.fetch_p_set_role()"; do
    out=$( { echo begin; echo "sql PREPARE s AS $sorted"; echo "sql SET LOCAL ROLE regress_pi_active";
             echo "open EXECUTE s"; echo "$road"; echo "exec 20"; } | portal regress_pi_pool)
    echo "$out" | sed -n 4p | grep -q "^SUSPENDED 2" && echo "$out" | sed -n 5,6p | grep -q "^ERR 42501 .*read only by the role" &&
        ! echo "$out" | grep -q "^ROWS"
    tap_ok $? "store_portal_reached_by_identity_change_in_statement_refused: ${road%% (*} ($(echo "$out" | tail -3 | tr '\n' '|'))"
done

# A read folded into a plan (an IMMUTABLE function that reads a protected table, run by the
# planner): the cursor over that plan runs for the planning role only, and a prepared
# statement is planned again for another role (which sees none of the first clerk's rows).
out=$( { echo begin; echo "sql SET LOCAL ROLE regress_pi_active"; echo "sql DECLARE c CURSOR FOR SELECT public.first_family()";
         echo "sql SET LOCAL ROLE regress_pi_other"; echo "sql FETCH c"; } | portal regress_pi_pool)
echo "$out" | sed -n 5p | grep -q "^ERR 42501 .*role that planned"
tap_ok $? "immutable_fold_cursor_fetched_by_another_role_refused ($(echo "$out" | tail -2 | tr '\n' '|'))"
out=$(PGHOST="${MNL_CLUSTER_DIR[portal]}/sock" PGPORT=5432 "$MNL_PGBIN/psql" -X -qAt -U regress_pi_pool -d ledger 2>&1 <<'SQL'
BEGIN;
PREPARE f AS SELECT coalesce(public.first_family(), '(none)');
SET LOCAL ROLE regress_pi_active;
EXECUTE f;
SET LOCAL ROLE regress_pi_other;
EXECUTE f;
DEALLOCATE f;
COMMIT;
SQL
)
tap_is "$(echo "$out" | tr '\n' ' ')" "門 (none) " \
    "immutable_fold_prepared_plan_replanned_for_another_role: the other clerk's EXECUTE plans again, under its own sight"
tap_done
