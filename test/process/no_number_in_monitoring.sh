# Multi-process test (ATTACKS.md §6): no number in monitoring.  pg_stat_statements keeps the
# text of utility statements (DO, EXPLAIN, CALL, PREPARE) verbatim, in its view and in its
# file on disk; pg_stat_activity shows a running statement to pg_read_all_stats members, for
# the simple and the extended protocol.  With mynumber_ledger listed after
# pg_stat_statements, neither may hold a number; listed before, the server warns at start.
# TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap 'mnl_session_close_all; mnl_cluster_destroy_all' EXIT

mnl_ledger_cluster mon "shared_preload_libraries = 'pg_stat_statements,mynumber_ledger'" \
    "pg_stat_statements.track_utility = on" "pg_stat_statements.save = on" || exit 1
dir=${MNL_CLUSTER_DIR[mon]}
q() { mnl_psql mon -d ledger -Atc "$1" 2>&1; }
q "CREATE EXTENSION pg_stat_statements; CREATE PROCEDURE keep(t text) LANGUAGE sql AS \$\$SELECT 1\$\$" >/dev/null

numbers=$(q "SELECT string_agg(b || ledger.mynumber_check_digit(b), ' ')
             FROM (SELECT lpad((27182818284 + i * 104729)::text, 11, '0') AS b FROM generate_series(1, 8) i) x")
set -- $numbers
wide=$(python3 -c "import sys; print(sys.argv[1].translate(str.maketrans('0123456789', '０１２３４５６７８９')))" "$5")
mnl_psql mon -d ledger >/dev/null 2>&1 <<SQL
DO \$\$BEGIN PERFORM '$1'; END\$\$;
EXPLAIN SELECT '$2'::text;
CALL keep('$3');
PREPARE held AS SELECT '$4'::text;
DO \$\$BEGIN PERFORM '$wide'; END\$\$;
SQL

# pg_stat_activity while statements run: simple protocol, then extended (Parse/Bind/Execute)
mnl_session_open watcher mon postgres
(mnl_psql mon -d ledger -Atc "SELECT pg_sleep(3), '$6'::text" >/dev/null 2>&1 &)
(python3 "$MNL_ROOT/test/process/bind_client.py" "$dir/sock" postgres ledger "SELECT pg_sleep(3), '$7'::text" >/dev/null 2>&1 &)
sleep 1.5
mnl_session watcher "SELECT query FROM pg_stat_activity WHERE query LIKE '%pg_sleep(3)%' AND pid <> pg_backend_pid()"
activity=$R
tap_is "$(echo "$activity" | grep -c "pg_sleep(3), '\*\*\*\*\*\*\*\*\*\*\*\*'::text")" 2 \
    "pg_stat_activity shows both running statements, masked (simple and extended protocol)"
sleep 2

# application_name is the client's free text: masked in pg_stat_activity and in the trail
(PGAPPNAME="case $8" mnl_psql mon -d ledger -Atc "SELECT pg_sleep(2)" >/dev/null 2>&1 &)
sleep 1
appname=$(q "SELECT application_name FROM pg_stat_activity WHERE application_name LIKE 'case %'")
tap_is "$appname" "case ************" "application_name_masked: pg_stat_activity shows the client's name masked"
sleep 1.5
# PostgreSQL keeps application_name in ASCII: a separator the number type accepts (U+3000)
# becomes "???" (15) or "\xe3\x80\x80" (16 on), which must not hide the number from the masker.
(PGAPPNAME="sep ${8:0:4}　${8:4:4}　${8:8:4}" mnl_psql mon -d ledger -Atc "SELECT pg_sleep(2)" >/dev/null 2>&1 &)
sleep 1
appname=$(q "SELECT application_name FROM pg_stat_activity WHERE application_name LIKE 'sep %'")
tap_ok "$(echo "$appname" | grep -q '^sep \*\*\*\*' && ! echo "$appname" | grep -q "${8:0:4}"; echo $?)" \
    "application_name_non_ascii_separator_masked: the name's digits are masked ($appname)"
sleep 1.5
# debug_print_parse dumps a statement's constants as raw bytes: the node tree is not logged
mnl_psql mon -d ledger -Atc "SET debug_print_parse = on" -c "SELECT '$1'::text AS debug_canary" >/dev/null 2>&1
grep -q "not logged by mynumber_ledger: a node tree" "$dir/server.log" && ! grep -q ":constvalue" "$dir/server.log"
tap_ok $? "debug_node_tree_not_logged: debug_print_parse's tree (constants as bytes) is kept out of the log"
# a staff session is not shown in pg_stat_activity; the registry's free text (an org unit's name:
# the DBA's, with no free-text check) is masked in the trail
mnl_psql mon -d ledger >/dev/null 2>&1 <<SQL
INSERT INTO ledger.org_unit VALUES ('131016', 1, '本庁 $1');
SELECT ledger.register_staff('mon_clerk', '氏名', 1, ARRAY['clerk']);
SQL
(mnl_psql mon -d ledger -U mon_clerk -Atc "SELECT pg_sleep(2), '$2'::text" >/dev/null 2>&1 &)
sleep 1
staff_row=$(q "SELECT state || '|' || coalesce(query, '') FROM pg_stat_activity WHERE usename = 'mon_clerk' AND backend_type = 'client backend'")
tap_is "$staff_row" "disabled|" "staff_activity_not_shown: a staff session's statement is not in pg_stat_activity"
sleep 1.5
trail=$(q "SELECT string_agg(coalesce(application_name, '') || array_to_string(coalesce(new_values, '{}'), ','), E'\n') FROM ledger.audit_event")
echo "$trail" | grep -q "本庁 \*\*\*\*\*\*\*\*\*\*\*\*" && echo "$trail" | grep -q "case \*\*\*\*\*\*\*\*\*\*\*\*"
tap_ok $? "trail_free_text_masked: a registry row's free text and the client's application_name are masked in the trail"
activity="$activity$appname$staff_row$trail"
# names are free text: a table and a column named like a number, a login attempt under one
mnl_psql mon -d ledger >/dev/null 2>&1 <<SQL
CREATE TABLE "t $3" (id int PRIMARY KEY, "c $4" text);
SELECT ledger.audit_table('"t $3"');
INSERT INTO "t $3" VALUES (1, 'x');
SQL
mnl_psql mon -d ledger -U "$5" -c "SELECT 1" >/dev/null 2>&1
sleep 1.5
names=$(q "SELECT string_agg(coalesce(relation_name, '') || ' ' || array_to_string(coalesce(column_names, '{}'), ',') || ' ' || coalesce(session_role, ''), E'\n') FROM ledger.audit_event")
echo "$names" | grep -q 'public."t \*\*\*\*\*\*\*\*\*\*\*\*" id,c \*\*\*\*\*\*\*\*\*\*\*\*' && echo "$names" | grep -q '^ *\*\*\*\*\*\*\*\*\*\*\*\*$'
tap_ok $? "names_masked_in_trail: a table, a column and a login named like a number are masked in the trail"
activity="$activity$names"

texts=$(q "SELECT string_agg(query, E'\n') FROM pg_stat_statements")
# PostgreSQL 15 keeps a utility statement's text as sent (masked); 16 and later replace its
# constants with parameters ($1) themselves.
echo "$texts" | grep -qE "PERFORM '\*\*\*\*\*\*\*\*\*\*\*\*'|^DO \\\$1" &&
    echo "$texts" | grep -qE "CALL keep\('\*\*\*\*\*\*\*\*\*\*\*\*'\)|CALL keep\(\\\$1\)"
tap_ok $? "pg_stat_statements keeps the utility statements, masked (or, 16 on, with their constants as parameters)"
mnl_cluster_stop mon
found=""
grep -qF -- "$5" "$dir/server.log" && found="$found log-prefix:$5"
for n in $numbers "$wide"; do
    echo "$texts$activity" | grep -qF -- "$n" && found="$found view:$n"
    grep -rlaF -- "$n" "$dir/data/pg_stat_tmp" "$dir/data/pg_stat" >/dev/null 2>&1 && found="$found file:$n"
done
tap_is "${found# }" "" "no_number_in_monitoring: no number in pg_stat_activity, pg_stat_statements or its files"

# listed before pg_stat_statements: warned at start
mnl_as_postgres sed -i "s/^shared_preload_libraries = 'pg_stat_statements,mynumber_ledger'/shared_preload_libraries = 'mynumber_ledger,pg_stat_statements'/" "$dir/data/postgresql.conf"
mnl_cluster_start mon
grep -q "WARNING:  pg_stat_statements is loaded after mynumber_ledger" "$dir/server.log"
tap_ok $? "monitoring_order_warned: a server loading pg_stat_statements after the extension is warned at start"
tap_done
