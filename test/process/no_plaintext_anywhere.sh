# Multi-process test (invariant 2): after a workload that seals, looks up, reveals, fails on
# literals, violates unique keys and logs every statement, no number it used appears in any
# file of the cluster — tables, indexes, catalogs and statistics (raw pages), WAL — nor in the
# server log.  A positive control proves the scan finds plaintext that is there.  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap mnl_cluster_destroy_all EXIT

mnl_ledger_cluster scan "log_statement = 'all'" "log_min_error_statement = error" || exit 1
dir=${MNL_CLUSTER_DIR[scan]}
mnl_psql scan -d ledger -c "GRANT ledger_revealer TO postgres" >/dev/null

# The numbers this workload uses (valid, chosen for this test only).
numbers="613805426170 880364729510 270958316442 459271603889 735620918466"
for n in $numbers; do
    [ "$(mnl_psql scan -d ledger -Atc "SELECT ledger.mynumber_is_valid('$n')")" = t ] || echo "Bail out! fixture number is not valid"
done
set -- $numbers
mnl_psql scan -d ledger -v ON_ERROR_STOP=0 >/dev/null 2>&1 <<SQL
CREATE TABLE person (id int PRIMARY KEY, mn ledger.sealed_mynumber NOT NULL, mn_index bytea NOT NULL UNIQUE, note text);
SELECT ledger.audit_table('person');
INSERT INTO person VALUES (1, ledger.seal('$1', 'person:1'), ledger.blind_index('$1'), 'PLAINTEXT-CANARY-4242');
INSERT INTO person VALUES (2, ledger.seal('${2:0:4} ${2:4:4} ${2:8:4}', 'person:2'), ledger.blind_index('${2:0:4}-${2:4:4}-${2:8:4}'), NULL);
INSERT INTO person VALUES (3, ledger.seal(translate('$3', '0123456789', '０１２３４５６７８９')::ledger.mynumber, 'person:3'), ledger.blind_index('$3'), NULL);
INSERT INTO person VALUES (4, ledger.seal('$1', 'person:4'), ledger.blind_index('$1'), NULL);
-- every form the type accepts: full-width grouped by an ASCII space, grouped by U+3000, mixed widths
INSERT INTO person VALUES (5, ledger.seal(translate('${5:0:4} ${5:4:4} ${5:8:4}', '0123456789', '０１２３４５６７８９')::ledger.mynumber, 'person:5'),
                           ledger.blind_index('${5:0:4}　${5:4:4}　${5:8:4}'), NULL);
SELECT translate('${5:0:4}-${5:4:4}-', '0123456789', '０１２３４５６７８９') || '${5:8:4}', 1 / 0;
SELECT id FROM person WHERE mn_index = ledger.blind_index('$2');
SELECT ledger.reveal(mn, 'person:' || id, 'scan test') FROM person;
SELECT 1 / 0, '$4'::ledger.mynumber;
SELECT '$5'::ledger.mynumber, ledger.reveal(mn, 'person:9', 'wrong context') FROM person WHERE id = 1;
CREATE TEMP TABLE scratch (mn ledger.mynumber PRIMARY KEY);
INSERT INTO scratch VALUES ('$4');
INSERT INTO scratch VALUES ('$4');
-- a revealed number copied into a ledger text column is refused before the row is written
-- (the CHECK runs before the heap and the WAL see the new row), here and rolled back alike
INSERT INTO ledger.org_unit VALUES ('130001', 1, '試験課');
INSERT INTO ledger.person (municipality_code, org_unit_id, family_name, given_name, birth_date, address)
    VALUES ('130001', 1, '試験', '一', '2015-04-02', '試験市');
UPDATE ledger.person SET address = address || (SELECT ledger.reveal(mn, 'person:1', 'copy')::text FROM person WHERE id = 1);
BEGIN;
UPDATE ledger.person SET given_name = (SELECT translate(ledger.reveal(mn, 'person:3', 'copy')::text, '0123456789', '０１２３４５６７８９') FROM person WHERE id = 3);
ROLLBACK;
ANALYZE person;
SQL
mnl_psql scan -d ledger -c "CHECKPOINT" >/dev/null
mnl_cluster_stop scan

found=""
for n in $numbers; do
    wide=$(echo "$n" | sed 's/0/０/g;s/1/１/g;s/2/２/g;s/3/３/g;s/4/４/g;s/5/５/g;s/6/６/g;s/7/７/g;s/8/８/g;s/9/９/g')
    wg=$(echo "${n:0:4} ${n:4:4} ${n:8:4}" | sed 's/0/０/g;s/1/１/g;s/2/２/g;s/3/３/g;s/4/４/g;s/5/５/g;s/6/６/g;s/7/７/g;s/8/８/g;s/9/９/g')
    mixed="$(echo "${n:0:4}-${n:4:4}-" | sed 's/0/０/g;s/1/１/g;s/2/２/g;s/3/３/g;s/4/４/g;s/5/５/g;s/6/６/g;s/7/７/g;s/8/８/g;s/9/９/g')${n:8:4}"
    for needle in "$n" "${n:0:4} ${n:4:4} ${n:8:4}" "${n:0:4}-${n:4:4}-${n:8:4}" "$wide" "$wg" \
                  "${n:0:4}　${n:4:4}　${n:8:4}" "$mixed"; do
        hits=$(grep -rlaF -- "$needle" "$dir/data" "$dir/server.log" 2>/dev/null)
        [ -n "$hits" ] && found="$found $n:$(echo "$hits" | sed "s|$dir/||" | tr '\n' ',')"
    done
done
tap_is "${found# }" "" "no_plaintext_anywhere: no number in any relation file, WAL segment or the server log"

grep -rlaF "PLAINTEXT-CANARY-4242" "$dir/data/base" >/dev/null
tap_ok $? "the scan finds plaintext that is there (a canary in a text column, in the table's pages)"
grep -rlaF "PLAINTEXT-CANARY-4242" "$dir/data/pg_wal" >/dev/null
tap_ok $? "the scan reads the WAL (the canary is in it)"
grep -q "LOG:  statement: INSERT INTO person VALUES (1, ledger.seal('\*\*\*\*\*\*\*\*\*\*\*\*'" "$dir/server.log"
tap_ok $? "log_statement lines are kept, with the number masked"
grep -q "DETAIL:  Key (mn)=(\*\*\*\*\*\*\*\*\*\*\*\*) already exists." "$dir/server.log"
tap_ok $? "a unique violation's detail is logged with the number masked"
grep -q "STATEMENT:  SELECT 1 / 0, '\*\*\*\*\*\*\*\*\*\*\*\*'::ledger.mynumber" "$dir/server.log"
tap_ok $? "the statement of a failed query is logged with the number masked"
grep -q 'a My Number is not stored in clear in column "address" of protected table "person"' "$dir/server.log" &&
    grep -q 'a My Number is not stored in clear in column "given_name" of protected table "person"' "$dir/server.log"
tap_ok $? "revealed_number_into_free_text_not_in_wal: both copies were refused before the row was written (and the scan above found neither)"
tap_done
