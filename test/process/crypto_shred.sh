# Multi-process test: crypto-shredding.  A closed person's number is sealed under its retention
# period's key; a pg_dump taken before the retention run still holds that sealed value and
# that period's wrapped key; after the run has erased the number and destroyed the period's
# key (ledger.period_key_command forgets its secret), the dump restored into another cluster
# with the same KEK cannot open it — while a number of a live period restores and opens.  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap mnl_cluster_destroy_all EXIT

mnl_cluster_dir shred >/dev/null
dir=${MNL_CLUSTER_DIR[shred]}
pk=$(mnl_period_key_command "$dir")

mnl_ledger_cluster shred "$pk" || exit 1
q() { mnl_psql shred -d ledger -Atc "$1" 2>&1; }

mnl_psql shred -d ledger >/dev/null <<'SQL'
INSERT INTO ledger.org_unit VALUES ('131016', 1, '本庁');
SELECT ledger.enrol_person('131016', 1, '123456789018', '満了', '甲', 'マンリョウ', 'コウ', '2008-04-02', '市内');
SELECT ledger.enrol_person('131016', 1, '271828182840', '存続', '乙', 'ゾンゾク', 'オツ', '2015-04-02', '市内');
SQL
# A command that does not say where the operation and the period go (as an old doc had it,
# "command get <year>") is refused, not run: every period would get the same answer.
q "ALTER SYSTEM SET ledger.period_key_command = '$dir/periodkey.sh get'" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null; sleep 0.3
out=$(q "SELECT ledger.close_person('131016', (SELECT min(person_id) FROM ledger.person), '2015-01-01')")
echo "$out" | grep -q "must contain %o (the operation) and %p (the period)"
tap_ok $? "period_key_command_without_placeholders_refused: $(echo "$out" | head -1 | cut -c1-80)"
q "ALTER SYSTEM RESET ledger.period_key_command" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null; sleep 0.3
a=$(q "SELECT person_id FROM ledger.person WHERE given_name = '甲'")
b=$(q "SELECT person_id FROM ledger.person WHERE given_name = '乙'")
tap_is "$(q "SELECT ledger.close_person('131016', $a, '2015-01-01')")|$(q "SELECT ledger.close_person('131016', $b, (current_date - 30))")" \
    "2020|$(q "SELECT date_part('year', ledger.retention_expires_on(current_date - 30, '5 years', 'from_next_april'))")" \
    "closing a record seals its number under the key of the period in which it expires"
reveal="SELECT ledger.reveal(mynumber, ledger.person_context(municipality_code, person_id), 'shredding test') FROM ledger.person WHERE given_name ="
tap_is "$(q "$reveal '甲'")" 123456789018 "before the run, the expired person's number opens"

# A key rotation and a rekey before the backup (ATTACKS.md §9): every value stays in its key
# family, so the backup below still holds the expired number under its period's key.
q "SELECT ledger.rotate_key('number')" >/dev/null
q "CALL ledger.rekey('ledger.person', 'mynumber', \$\$ledger.person_context(municipality_code, person_id)\$\$, 100)" >/dev/null
tap_is "$(q "SELECT string_agg(k.purpose, ',' ORDER BY p.person_id) FROM ledger.person p
             JOIN ledger.data_key k ON k.key_id = ledger.sealed_key_id(p.mynumber)")" \
    "number:2020,number:$(q "SELECT date_part('year', ledger.retention_expires_on(current_date - 30, '5 years', 'from_next_april'))")" \
    "rekey_keeps_period_key_family: closed persons' numbers stay under their retention period's key"
tap_is "$(q "$reveal '甲'")" 123456789018 "after the rekey the number still opens"

mnl_as_postgres "$MNL_PGBIN/pg_dump" -h "$dir/sock" -U postgres -Fc -f "$dir/before.dump" ledger
tap_ok $? "a backup is taken before the retention run"

q "CALL ledger.run_retention()" >/dev/null
tap_is "$(q "SELECT count(*) FROM ledger.person WHERE given_name = '甲' AND mynumber IS NULL")" 1 \
    "the run erases the expired number"
tap_is "$(q "SELECT report->'shredded_periods' FROM ledger.retention_run ORDER BY run_id DESC LIMIT 1")" '["2020"]' \
    "the run destroys the spent period's key, and only that one"
[ ! -f "$dir/periods/2020" ] && [ -f "$dir/periods/$(q "SELECT substr(purpose, 8) FROM ledger.data_key WHERE purpose LIKE 'number:%' AND destroyed_at IS NULL")" ]
tap_ok $? "the period secret is gone from the key command's store; the live period's remains"

# The backup, restored into another cluster with the same KEK and key command.
mnl_cluster_dir shred2 >/dev/null
mnl_cluster_create shred2 "ledger.database = 'restored'" "$pk" || { echo "Bail out! initdb failed"; exit 1; }
cp "$dir/kek" "${MNL_CLUSTER_DIR[shred2]}/kek"
mnl_cluster_start shred2 || { echo "Bail out! cluster 2 did not start"; exit 1; }
mnl_psql shred2 -d postgres -c "CREATE DATABASE restored" >/dev/null
mnl_as_postgres "$MNL_PGBIN/pg_restore" -h "${MNL_CLUSTER_DIR[shred2]}/sock" -U postgres -d restored "$dir/before.dump" \
    >"$dir/restore.log" 2>&1
tap_ok $? "the backup restores"
mnl_wait_writer shred2 restored
r() { mnl_psql shred2 -d restored -Atc "$1" 2>&1; }
tap_is "$(r "SELECT count(*) FROM ledger.person WHERE mynumber IS NOT NULL")" 2 "the restored backup still holds both sealed numbers"
tap_is "$(r "$reveal '乙'")" 271828182840 "a number of a live period opens from the backup"
out=$(r "$reveal '甲'")
echo "$out" | grep -q "the key of retention period 2020 was destroyed"
tap_ok $? "backup_cannot_open_shredded_number: the expired number cannot be opened from the backup"
echo "$out" | grep -q "123456789018"
tap_ok $(( $? == 0 )) "and no digit of it appears"
tap_is "$(q "SELECT count(*) FROM ledger.verify_audit()")" 0 "the trail verifies"
tap_done
