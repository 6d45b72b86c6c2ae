# Multi-process test: a ledger created with an older release is updated in place
# (ALTER EXTENSION mynumber_ledger UPDATE), step by step, to the current one, and ends the same as
# a fresh install (src/upgrade/README.md).  The library of the current release serves the older
# SQL until the update (the writer attaches, numbers seal and open, protect_table works); the
# update keeps the ledger's data, the sealed numbers and the trail, which still verifies against
# the digest kept before it.  Compared with a fresh install: every object as pg_dump
# --binary-upgrade writes it (definitions, privileges, comments, policies, triggers), the
# privilege snapshot, and what a dump of the configuration tables keeps.  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap 'mnl_cluster_destroy_all' EXIT

# The releases, oldest first: each has its frozen install script in src/upgrade/ (the current
# one is built from the sources) and an upgrade script from the one before.
current=$(sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" "$MNL_ROOT/mynumber_ledger.control")
releases=$(cd "$MNL_ROOT/src/upgrade" && ls mynumber_ledger--*.sql | grep -v -- '--.*--' |
           sed 's/mynumber_ledger--\(.*\)\.sql/\1/' | sort -V)
oldest=$(echo "$releases" | head -1)

mnl_cluster_create up "ledger.database = 'ledger'" "compute_query_id = on" || { echo "Bail out! initdb failed"; exit 1; }
mnl_cluster_start up || { echo "Bail out! cluster did not start"; exit 1; }
dir=${MNL_CLUSTER_DIR[up]}
q() { mnl_psql up -d ledger -Atc "$1" 2>&1; }
qf() { mnl_psql up -d fresh -Atc "$1" 2>&1; }
mnl_psql up -d postgres -c "CREATE DATABASE ledger" -c "CREATE DATABASE fresh" >/dev/null

# --- the oldest release, served by the current library ---------------------------------------
out=$(mnl_psql up -d ledger -v ON_ERROR_STOP=1 -c "CREATE EXTENSION mynumber_ledger VERSION '$oldest'" 2>&1)
tap_ok $? "the oldest release ($oldest) installs with the current library ($(echo "$out" | grep ERROR | head -1))"
mnl_wait_writer up ledger
tap_is "$(q "SELECT ready FROM ledger.audit_writer_status()")" t \
    "library_serves_older_sql: the current library's audit writer serves a $oldest database"
setup=$(mnl_psql up -d ledger -v ON_ERROR_STOP=1 -Atq 2>&1 <<'SQL'
INSERT INTO ledger.org_unit VALUES ('131016', 1, '子育て支援課'), ('131016', 2, '神田出張所');
SELECT ledger.register_staff(d || '_' || o, d || ' ' || o, o, ARRAY[d])
FROM (VALUES ('clerk'), ('examiner'), ('auditor')) AS duty(d), generate_series(1, 2) AS o;
SET ROLE clerk_1;
SELECT ledger.enrol_person('131016', 1, (b || ledger.mynumber_check_digit(b))::ledger.mynumber,
                           '佐藤', '一郎', 'サトウ', 'イチロウ', date '1980-01-01' + i, '千代田区1-' || i)
FROM (SELECT i, lpad((i * 7919)::text, 11, '0') AS b FROM generate_series(1, 40) i) g
WHERE ledger.mynumber_is_valid(b || ledger.mynumber_check_digit(b));
RESET ROLE;
-- a provision request received under 0.1.0, which carried no permit
INSERT INTO ledger.provision_request (municipality_code, person_id, org_unit_id, requester, requester_affair,
                                      item_code, received_at, status)
SELECT '131016', person_id, 1, '他団体', 'child_allowance', 'resident_record', now(), 'pending_review'
FROM ledger.person ORDER BY person_id LIMIT 1;
-- a DBA's protected table, protected under the older release
CREATE TABLE case_note (note_id int PRIMARY KEY, org_unit_id int NOT NULL, note text);
INSERT INTO case_note VALUES (1, 1, '面談記録');
SELECT ledger.protect_table('case_note', 'org_unit_id');
SQL
)
tap_is "$(echo "$setup" | grep -c ERROR)" 0 "a ledger is kept under $oldest: staff, persons with sealed numbers, a protected table ($(echo "$setup" | grep ERROR | head -1))"
persons=$(q "SELECT count(*) FROM ledger.person")
opened_before=$(q "SET ROLE examiner_1; SELECT md5(string_agg(ledger.reveal_person_number('131016', person_id, '認定審査')::text, ',' ORDER BY person_id)) FROM (SELECT person_id FROM ledger.person ORDER BY person_id LIMIT 5) p")
tap_ok "$([ "${#opened_before}" = 32 ]; echo $?)" "an examiner reveals the sealed numbers under $oldest ($opened_before)"
# the digest kept outside, once the writer has sealed what is there
for i in $(seq 1 60); do
    [ "$(q "SELECT count(*) FROM ledger.verify_audit() WHERE problem LIKE '%not sealed%'")" = 0 ] && break
    q "SELECT ledger.audit_seal_now()" >/dev/null 2>&1
    sleep 0.5
done
digest=$(q "SELECT block_seq || ',' || encode(block_hash, 'hex') FROM ledger.audit_digest()")
tap_is "$(q "SELECT count(*) FROM ledger.verify_audit()")" 0 "the trail verifies under $oldest"

# --- step by step to the current release ------------------------------------------------------
steps=""
prev=$oldest
for v in $(echo "$releases" | tail -n +2) "$current"; do
    [ "$v" = "$prev" ] && continue
    out=$(mnl_psql up -d ledger -v ON_ERROR_STOP=1 -c "ALTER EXTENSION mynumber_ledger UPDATE TO '$v'" 2>&1)
    tap_ok $? "ALTER EXTENSION mynumber_ledger UPDATE TO '$v' (from $prev) ($(echo "$out" | grep ERROR | head -1))"
    steps="$steps $prev→$v"
    prev=$v
done
tap_is "$(q "SELECT extversion FROM pg_extension WHERE extname = 'mynumber_ledger'")" "$current" \
    "the ledger is at the current release ($current) after:$steps"

# --- the same as a fresh install ---------------------------------------------------------------
qf "CREATE EXTENSION mynumber_ledger" >/dev/null
schema() {
    # What differs by OID, xid or row data is left out: the physical default of a column added
    # by the update (binary_upgrade_set_missing_value; the same value either way) and sequence
    # positions.  The configuration tables' dump conditions are compared by name.
    mnl_as_postgres "$MNL_PGBIN/pg_dump" -h "$dir/sock" -U postgres --binary-upgrade --schema-only \
            --exclude-schema=public "$1" |
        grep -v -e '^--' -e '^$' -e 'binary_upgrade_set_next' -e 'binary_upgrade_set_record_init_privs' \
                -e "pg_catalog.set_config('search_path'" -e '^\\restrict' -e '^\\unrestrict' -e 'relfrozenxid' \
                -e "^WHERE oid = '[0-9]*';" -e 'binary_upgrade_create_empty_extension' \
                -e 'binary_upgrade_set_missing_value' -e 'pg_catalog.setval('
    mnl_psql up -d "$1" -At -c "SELECT e.extconfig[i]::regclass::text || ' ' || coalesce(e.extcondition[i], '')
        FROM pg_extension e, generate_subscripts(e.extconfig, 1) i WHERE e.extname = 'mynumber_ledger' ORDER BY 1"
}
schema ledger >"$dir/updated.schema"
schema fresh >"$dir/fresh.schema"
diff "$dir/updated.schema" "$dir/fresh.schema" >"$dir/schema.diff"
tap_ok $? "updated_equals_fresh_install: every object, definition, privilege, comment, policy and trigger as a fresh $current install ($(wc -l <"$dir/fresh.schema") lines; $(head -c 300 "$dir/schema.diff" | tr '\n' ' '))"
tap_ok "$([ "$(wc -l <"$dir/fresh.schema")" -gt 1000 ]; echo $?)" "the comparison saw the extension's objects (not an empty dump)"
diff <(mnl_psql up -d ledger -At -F ' ' -f "$MNL_ROOT/test/fixtures/privileges.sql") \
     <(mnl_psql up -d fresh -At -F ' ' -f "$MNL_ROOT/test/fixtures/privileges.sql") >"$dir/priv.diff"
tap_ok $? "updated_privileges_equal_fresh: the privilege snapshot of the updated ledger is a fresh install's ($(head -c 200 "$dir/priv.diff" | tr '\n' ' '))"
registry="SELECT string_agg(x::text, ';' ORDER BY x::text) FROM (SELECT d.duty_code, p.action, p.scope FROM ledger.duty d LEFT JOIN ledger.duty_permission p USING (duty_code)) x"
tap_is "$(q "$registry")" "$(qf "$registry")" "the extension's own duties and permissions are a fresh install's"

# --- the data, the numbers and the trail survive ------------------------------------------------
tap_is "$(q "SELECT count(*) FROM ledger.person")" "$persons" "every person is still in the ledger ($persons)"
opened_after=$(q "SET ROLE examiner_1; SELECT md5(string_agg(ledger.reveal_person_number('131016', person_id, '認定審査')::text, ',' ORDER BY person_id)) FROM (SELECT person_id FROM ledger.person ORDER BY person_id LIMIT 5) p")
tap_is "$opened_after" "$opened_before" "sealed_numbers_open_after_update: every number sealed under $oldest opens the same"
tap_is "$(q "SELECT count(*) FROM ledger.verify_audit(${digest%,*}, decode('${digest#*,}', 'hex'))")" 0 \
    "trail_verifies_after_update: the trail verifies against the digest kept before the update"
tap_ok "$(q "SELECT count(*) FROM ledger.audit_event WHERE kind = 'reveal' AND detail LIKE '%認定審査%'" | awk '{exit !($1 >= 2)}'; echo $?)" \
    "the reveals before and after the update are in the trail"
tap_is "$(q "SELECT count(*) FROM ledger.provision_request WHERE permit_id IS NOT NULL AND permit_expires_at = received_at")" 1 \
    "a provision request of $oldest gets a permit id of its own, expired when it was received"
# (five each time: the daily reveal quota is 20)
# the DBA's table has what protect_table gives now: the legal-hold guard, a trail that keeps
# only the keys and the org unit
tap_is "$(q "SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger WHERE tgrelid = 'case_note'::regclass AND tgname LIKE 'mnl_rls_hold%'")" \
    "mnl_rls_hold_delete,mnl_rls_hold_truncate,mnl_rls_hold_update" "protected_table_updated: a table protected under $oldest gains the legal-hold guard"
q "SET ROLE clerk_1; UPDATE case_note SET note = '更新後の記録' WHERE note_id = 1" >/dev/null
tap_is "$(q "SELECT count(*) FROM ledger.audit_event WHERE relation_name = 'public.case_note' AND kind = 'update' AND (old_values::text LIKE '%記録%' OR new_values::text LIKE '%記録%')")" 0 \
    "and its trail keeps no personal value any more (the note is withheld)"
out=$(q "SELECT ledger._protect_update('case_note')")
tap_ok "$(echo "$out" | grep -q 42501; [ $? = 0 ] || echo "$out" | grep -q "only in the extension's update script"; echo $?)" \
    "_protect_update refuses outside the extension's script ($(echo "$out" | head -1))"
tap_done
