# Multi-process test: numbers survive a real pg_dump / pg_restore into a fresh database (custom
# and plain formats) and a server restart; a non-UTF-8 (EUC_JP) database reads full-width
# input too.  TAP output.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap mnl_cluster_destroy_all EXIT

mnl_cluster_create dump "ledger.database = 'src'" || { echo "Bail out! initdb failed"; exit 1; }
mnl_cluster_start dump || { echo "Bail out! cluster did not start"; exit 1; }
dir=${MNL_CLUSTER_DIR[dump]}
mnl_cluster_env dump

mnl_psql dump -d postgres -c "CREATE DATABASE src" -c "CREATE DATABASE dst_custom" -c "CREATE DATABASE dst_plain"
mnl_psql dump -d src <<'SQL'
CREATE EXTENSION mynumber_ledger;
CREATE TABLE person (
    id int PRIMARY KEY,
    mn ledger.mynumber NOT NULL UNIQUE,
    employer ledger.corporate_number
);
INSERT INTO person
SELECT i, (b || ledger.mynumber_check_digit(b))::ledger.mynumber,
       (ledger.corporate_number_check_digit(c) || c)::ledger.corporate_number
FROM (SELECT i, lpad((i * 7919)::text, 11, '0') AS b, lpad((i * 104729)::text, 12, '0') AS c
      FROM generate_series(1, 2000) AS i) AS g
WHERE ledger.mynumber_is_valid(b || ledger.mynumber_check_digit(b));
ANALYZE person;
-- A DBA's protected table: its policies and triggers must come back with the data.
INSERT INTO ledger.org_unit VALUES ('131016', 1, '本庁');
CREATE TABLE case_note (id int PRIMARY KEY, org_unit_id int NOT NULL, note text);
INSERT INTO case_note VALUES (1, 1, 'kept');
SELECT ledger.protect_table('case_note', 'org_unit_id');
SQL
mnl_wait_writer dump src || echo "# the writer did not start in src"
digest="SELECT count(*) || ':' || md5(string_agg(id || '/' || mn::text || '/' || employer::text, ',' ORDER BY id)) FROM person"
want=$(mnl_psql dump -d src -Atc "$digest")

mnl_as_postgres "$MNL_PGBIN/pg_dump" -h "$dir/sock" -U postgres -Fc -f "$dir/src.dump" src
tap_ok $? "pg_dump (custom format) of a database with number columns"
mnl_as_postgres "$MNL_PGBIN/pg_restore" -h "$dir/sock" -U postgres --exit-on-error -d dst_custom "$dir/src.dump"
tap_ok $? "pg_restore into a fresh database"
tap_is "$(mnl_psql dump -d dst_custom -Atc "$digest")" "$want" "dump_restore_round_trip: every number restored unchanged (custom format)"
tap_is "$(mnl_psql dump -d dst_custom -Atc "SELECT count(*) FROM person WHERE mn = (SELECT mn FROM person WHERE id = 77)")" 1 \
    "restored numbers compare with = without ledger on the search_path"
tap_is "$(mnl_psql dump -d dst_custom -Atc "SELECT count(*) FROM pg_depend d JOIN pg_operator o ON o.oid = d.objid
          WHERE d.classid = 'pg_operator'::regclass AND d.deptype = 'e'")" 12 \
    "the restored extension owns its twelve operators (not dumped separately)"

mnl_as_postgres "$MNL_PGBIN/pg_dump" -h "$dir/sock" -U postgres -Fp src | mnl_psql dump -d dst_plain >/dev/null 2>"$dir/plain.err"
tap_ok $? "a plain-format dump loads with psql"
tap_is "$(mnl_psql dump -d dst_custom -Atc "SELECT relation::text, rls_forced FROM ledger.protected_tables WHERE relation::text = 'case_note'")" \
    "case_note|t" "protected_table_restored: a protected table comes back with its forced policies"
tap_is "$(mnl_psql dump -d dst_custom -Atc "SELECT count(*) FROM ledger.org_unit")|$(mnl_psql dump -d dst_custom -Atc "SELECT count(*) FROM case_note")" \
    "1|1" "the registry and the protected table's rows are restored"
tap_is "$(mnl_psql dump -d dst_plain -Atc "$digest")" "$want" "dump_restore_round_trip: every number restored unchanged (plain format)"
# The restore wrote row records into the copy's trail (its audited tables' triggers ran), in a
# database no audit writer serves: nothing will ever seal them, and the verifier says so.
restored_records=$(mnl_psql dump -d dst_custom -Atc "SELECT count(*) FROM ledger.audit_event")
said=$(mnl_psql dump -d dst_custom -Atc "SELECT problem FROM ledger.verify_audit()")
[ "$restored_records" -gt 0 ] && echo "$said" | grep -q "the audit writer serves another database"
tap_ok $? "restored_copy_trail_not_called_intact: a restored copy's unsealed trail ($restored_records records) is reported, not intact"
tap_is "$(mnl_psql dump -d src -Atc "SELECT count(*) FROM ledger.verify_audit()")" 0 "the served database's trail verifies"

mnl_cluster_restart dump
tap_is "$(mnl_psql dump -d src -Atc "$digest")" "$want" "numbers read the same after a server restart"

# A municipality's database in EUC_JP: the client sends UTF-8, the server converts.
mnl_psql dump -d postgres -c "CREATE DATABASE eucjp ENCODING 'EUC_JP' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0" \
    && mnl_psql dump -d eucjp -c "CREATE EXTENSION mynumber_ledger"
tap_is "$(PGCLIENTENCODING=UTF8 mnl_psql dump -d eucjp -Atc "SELECT '１２３４ー５６７８ー９０１８'::ledger.mynumber, ledger.mynumber_is_valid('１２３４　５６７８　９０１８')")" \
    "123456789018|t" "full-width and grouped input is read in an EUC_JP database"
out=$(PGCLIENTENCODING=UTF8 mnl_psql dump -d eucjp -Atc "SELECT '９５１０ ６９３３ ３０５'::ledger.mynumber" 2>&1)
tap_is "$out" "ERROR:  invalid input for type mynumber: expected 12 digits, found 11
LINE 1: SELECT '９５１０ ６９３３ ３０５'::ledger.mynumber
               ^
HINT:  A mynumber has exactly 12 digits." "an EUC_JP database refuses a short number with the same message"

# A SQL_ASCII database does not validate bytes: an overlong UTF-8 form of a digit (C0 B1 for
# "1") must not be read as that digit.
mnl_psql dump -d postgres -c "CREATE DATABASE sqlascii ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0" \
    && mnl_psql dump -d sqlascii -c "CREATE EXTENSION mynumber_ledger"
tap_is "$(mnl_psql dump -d sqlascii -Atc "SELECT ledger.mynumber_is_valid(E'1234567890\\xC0\\xB18'), ledger.mynumber_is_valid('123456789018')")" \
    "f|t" "overlong_utf8_digit_refused: an overlong encoding of a digit is not a digit"
tap_done
