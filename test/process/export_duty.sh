# Multi-process test: bulk export needs the export duty (抽出).  psql's \copy sends COPY ...
# TO STDOUT, the road a real client takes: a clerk without the export duty is refused for a
# protected table, for a query over one (a view included), and for a function that reads one;
# a staff member with the duty exports, and the export is recorded with its row count.  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap 'mnl_cluster_destroy_all' EXIT

mnl_ledger_cluster export || exit 1
q() { mnl_psql export -d ledger -Atc "$1" 2>&1; }
mnl_psql export -d ledger >/dev/null <<'SQL'
INSERT INTO ledger.org_unit VALUES ('131016', 1, '本庁');
SELECT ledger.register_staff('regress_x_clerk', '受付', 1, ARRAY['clerk']);
SELECT ledger.register_staff('regress_x_appr', '決裁', 1, ARRAY['approver']);
SELECT ledger.enrol_person('131016', 1, (b || ledger.mynumber_check_digit(b))::ledger.mynumber, '抽出', i::text, 'チュウシュツ', 'イ', '2015-04-02', '千代田区')
FROM (SELECT i, lpad((40000000000 + i)::text, 11, '0') AS b FROM generate_series(1, 5) i) x;
CREATE FUNCTION public.regress_names() RETURNS SETOF text LANGUAGE sql AS 'SELECT family_name FROM ledger.person';
SQL
as_role() {  # as_role ROLE PSQL-COMMAND: output and errors of psql as ROLE
    PGHOST="${MNL_CLUSTER_DIR[export]}/sock" PGPORT=5432 "$MNL_PGBIN/psql" -X -q -U "$1" -d ledger -c "$2" 2>&1
}
for what in "ledger.person" "(SELECT family_name, address FROM ledger.person_masked)" "(SELECT * FROM public.regress_names())"; do
    out=$(as_role regress_x_clerk "\\copy $what TO '/dev/null'")
    echo "$out" | grep -Eq "needs the export duty|staff run no DDL"
    tap_ok $? "copy_to_without_export_refused: \\copy $what as a clerk"
done
out=$(as_role regress_x_clerk "CREATE TEMP TABLE t AS SELECT * FROM ledger.person_masked")
echo "$out" | grep -Eq "needs the export duty|staff run no DDL"
tap_ok $? "copy_via_temp_table_refused: CREATE TEMP TABLE ... AS SELECT (then \\copy of it) needs the export duty too"
q "CREATE TABLE public.regress_sink (n text); GRANT INSERT ON public.regress_sink TO PUBLIC" >/dev/null
out=$(as_role regress_x_clerk "INSERT INTO public.regress_sink SELECT family_name FROM ledger.person")
echo "$out" | grep -Eq "needs the export duty|staff run no DDL"
tap_ok $? "copy_via_insert_select_refused: INSERT INTO an unprotected table SELECT ... FROM a protected one"
tap_is "$(q "SELECT count(*) FROM public.regress_sink")" 0 "nothing reached the unprotected table"
out=$(as_role regress_x_clerk "CREATE TEMP TABLE t2 AS SELECT * FROM public.regress_names()")
echo "$out" | grep -Eq "needs the export duty|staff run no DDL"
tap_ok $? "copy_via_function_into_temp_table_refused: a function that reads protected rows, into a temporary table"
out=$(as_role regress_x_clerk "INSERT INTO public.regress_sink SELECT public.regress_names()")
echo "$out" | grep -Eq "needs the export duty|staff run no DDL"
tap_ok $? "copy_via_function_in_target_list_refused"
# Utility statements that store what they evaluate: a function of the clerk's own reading
# protected rows, evaluated into a table or an index, is an export too.
mnl_psql export -d ledger >/dev/null <<'SQL'
CREATE FUNCTION public.regress_grab() RETURNS text LANGUAGE sql VOLATILE AS
    $$ SELECT string_agg(family_name || given_name, ';') FROM ledger.person $$;
CREATE FUNCTION public.regress_grab_imm(int) RETURNS text LANGUAGE sql IMMUTABLE AS
    $$ SELECT string_agg(family_name || given_name, ';') FROM ledger.person $$;
SQL
out=$(as_role regress_x_clerk "PREPARE q AS SELECT family_name FROM ledger.person; CREATE TEMP TABLE loot AS EXECUTE q")
echo "$out" | grep -Eq "needs the export duty|staff run no DDL"
tap_ok $? "create_table_as_execute_skips_export_duty: CREATE TABLE AS EXECUTE of a prepared read needs the export duty"
out=$(as_role regress_x_clerk "CREATE TEMP TABLE loot (id int); INSERT INTO loot VALUES (1); ALTER TABLE loot ADD COLUMN w text DEFAULT public.regress_grab()")
echo "$out" | grep -Eq "needs the export duty|staff run no DDL"
tap_ok $? "alter_table_add_column_volatile_default_copies_rows: a default that reads protected rows, filled into every row, needs it"
out2=$(printf '1\n\\.\n' | PGHOST="${MNL_CLUSTER_DIR[export]}/sock" PGPORT=5432 "$MNL_PGBIN/psql" -X -q -U regress_x_clerk -d ledger \
       -c "CREATE TEMP TABLE loot (id int, w text DEFAULT public.regress_grab())" -c "COPY loot (id) FROM STDIN" 2>&1)
echo "$out2" | grep -Eq "needs the export duty|staff run no DDL"
tap_ok $? "copy_from_default_copies_rows: COPY FROM into a table whose default reads protected rows needs it"
out=$(as_role regress_x_clerk "CREATE TEMP TABLE loot (id int); INSERT INTO loot VALUES (1); CREATE INDEX ON loot (public.regress_grab_imm(id))")
echo "$out" | grep -Eq "needs the export duty|staff run no DDL"
tap_ok $? "index_expression_copies_rows: an index whose expression reads protected rows (an index-only scan returns it) needs it"
out=$(as_role regress_x_clerk "CREATE TEMP TABLE box (v text) PARTITION BY LIST (v);
    CREATE TEMP TABLE box_1 PARTITION OF box FOR VALUES IN (public.regress_grab())")
echo "$out" | grep -Eq "needs the export duty|staff run no DDL"
tap_ok $? "partition_bound_copies_rows: a partition bound evaluated from protected rows (kept in pg_class, which every role reads) needs it"
out=$(as_role regress_x_clerk "CREATE TEMP TABLE dump (family_name text);
    WITH ins AS (INSERT INTO dump SELECT family_name FROM ledger.person RETURNING 1) SELECT count(*) FROM ins")
echo "$out" | grep -Eq "needs the export duty|staff run no DDL"
tap_ok $? "writable_cte_copies_rows_without_export_duty: a data-modifying WITH that copies protected rows needs it"
out=$(as_role regress_x_clerk "DO \$\$ BEGIN EXECUTE format('ALTER ROLE regress_x_clerk SET application_name = %L',
    (SELECT string_agg(family_name, ';') FROM ledger.person)); END \$\$")
echo "$out" | grep -Eq "staff do not set role or database defaults|staff run no DDL"
tap_ok $? "bulk_copy_into_role_settings_without_export_duty: staff cannot store text in role settings every role reads"
out=$(as_role regress_x_clerk "COMMENT ON ROLE regress_x_clerk IS 'x'")
echo "$out" | grep -Eq "staff do not set role or database defaults or comments|staff run no DDL"
tap_ok $? "bulk_copy_into_comments_refused: nor in comments"
tap_is "$(q "SELECT count(*) FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole, unnest(s.setconfig) c
              WHERE r.rolname = 'regress_x_clerk' AND c LIKE 'application_name=%'")" 0 \
    "nothing reached the role's settings"
# The server log as a sink: a RAISE or a failing cast carrying every row of the org unit.
as_role regress_x_clerk "DO \$\$ BEGIN RAISE WARNING 'dump %', (SELECT string_agg(family_name || given_name || address, ';')
    FROM ledger.person, generate_series(1, 20)); END \$\$" >/dev/null 2>&1
as_role regress_x_clerk "SELECT ('dump2 ' || (SELECT string_agg(family_name || given_name || address, ';')
    FROM ledger.person, generate_series(1, 20)))::int" >/dev/null 2>&1
sleep 0.5
rows=$(grep -E 'WARNING:  dump |ERROR:  invalid input syntax for type integer: "dump2 ' "$(mnl_cluster_log export)")
tap_is "$(echo "$rows" | grep -c .)|$(echo "$rows" | awk '{ if (length($0) > 400) n++ } END { print n + 0 }')" "2|0" \
    "bulk_copy_into_server_log_without_export_duty: a staff member's RAISE or error message reaches the log cut short"
# ... nor through the other texts of a message: a RAISE's HINT, a generated statement's QUERY
# or CONTEXT (attack round 14: 12,000-character log lines of every person of the org unit).
as_role regress_x_clerk "DO \$\$ BEGIN RAISE EXCEPTION 'x' USING HINT = 'hint3 ' || (SELECT string_agg(family_name || given_name || address, ';')
    FROM ledger.person, generate_series(1, 20)); END \$\$" >/dev/null 2>&1
as_role regress_x_clerk "DO \$\$ BEGIN EXECUTE 'SELECT query4 ' || (SELECT string_agg(family_name || given_name || address, ';')
    FROM ledger.person, generate_series(1, 20)); END \$\$" >/dev/null 2>&1
sleep 0.5
long=$(grep -E 'hint3 |query4 ' "$(mnl_cluster_log export)" | awk '{ if (length($0) > 400) n++ } END { print n + 0 }')
seen=$(grep -cE 'hint3 |query4 ' "$(mnl_cluster_log export)")
tap_ok "$([ "$seen" -ge 2 ] && [ "$long" -eq 0 ]; echo $?)" \
    "bulk_copy_into_log_through_hint_query_context: HINT, QUERY and CONTEXT of a staff session's message are cut short too ($seen lines, $long long)"
# ... nor one short message per row (attack round 15: a RAISE WARNING loop logged all 450 rows)
as_role regress_x_clerk "DO \$\$ DECLARE r record; BEGIN FOR r IN SELECT family_name FROM ledger.person, generate_series(1, 20) LOOP
    RAISE WARNING 'row5 %', r.family_name; END LOOP; END \$\$" >/dev/null 2>&1
sleep 0.5
logged=$(grep -c 'WARNING:  row5 ' "$(mnl_cluster_log export)")
note=$(grep -c 'further messages of this staff statement are not logged' "$(mnl_cluster_log export)")
tap_ok "$([ "$logged" -le 20 ] && [ "$note" -ge 1 ]; echo $?)" \
    "bulk_copy_into_log_one_row_per_message: a staff statement logs at most 20 messages of its own ($logged, and a note)"
# ... and one budget for a whole message (attack round 16: message, DETAIL and HINT each cut on
# its own gave 3 × 256 bytes a message); the statement a staff client sent, when long, is not
# logged with its error.
as_role regress_x_clerk "DO \$\$ BEGIN RAISE WARNING 'm6 %', repeat('a', 200) USING DETAIL = 'd6 ' || repeat('b', 200),
    HINT = 'h6 ' || repeat('c', 200); END \$\$" >/dev/null 2>&1
as_role regress_x_clerk "SELECT 1 / 0 /* $(printf 'x%.0s' $(seq 1 300)) stmt7 */" >/dev/null 2>&1
sleep 0.5
tap_is "$(grep -c 'm6 ' "$(mnl_cluster_log export)")|$(grep -c 'h6 ' "$(mnl_cluster_log export)")|$(grep -c 'stmt7' "$(mnl_cluster_log export)")" "1|0|0" \
    "bulk_copy_into_log_one_budget_per_message: a staff message's texts share one 256-byte budget; a long statement is not logged"
tap_is "$(as_role regress_x_clerk "SELECT count(*) FROM ledger.person_masked" | sed -n 3p | tr -d ' ')" 5 \
    "the clerk still reads the rows on screen (the duty is about bulk export)"
out=$(as_role regress_x_appr "\\copy (SELECT family_name FROM ledger.person_masked) TO STDOUT")
tap_is "$(echo "$out" | grep -c '^抽出$')" 5 "copy_to_with_export_duty: a staff member with the export duty exports"
sleep 1
tap_ok "$([ "$(q "SELECT count(*) FROM ledger.audit_event WHERE kind = 'denied' AND acting_role = 'regress_x_clerk' AND detail LIKE 'copy to refused%'")" -ge 3 ]; echo $?)" \
    "copy_to_refusal_recorded"
tap_is "$(q "SELECT row_count FROM ledger.audit_event WHERE kind = 'select' AND acting_role = 'regress_x_appr' AND relation_name = 'ledger.person' ORDER BY event_id DESC LIMIT 1")" 5 \
    "copy_to_recorded_with_row_count"
tap_done
