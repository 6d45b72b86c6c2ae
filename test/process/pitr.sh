# Multi-process test: point-in-time recovery from a base backup (pg_basebackup) and the WAL
# archive, the way docs/operations.md sets it up.  After the base backup the ledger goes on
# (an examiner's reveal; later a retention run that erases an expired number and destroys its
# period's key); the server is then lost and recovered to a point before that run.  The
# recovered ledger has the records up to that point and its trail verifies against the digest
# kept before the backup (and says so, against one kept after the point: newest blocks
# missing); the sealed numbers open; the shredded period stays unreadable although the
# recovered ledger holds its number again (its secret lived outside the database, and no
# recovery brings it back); the recovered server's writer seals on.  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap mnl_cluster_destroy_all EXIT

mnl_cluster_dir pitr >/dev/null
dir=${MNL_CLUSTER_DIR[pitr]}
mnl_as_postgres mkdir -p "$dir/archive"
# the period secrets live outside the database
pk=$(mnl_period_key_command "$dir")
mnl_ledger_cluster pitr "$pk" \
    "archive_mode = on" "archive_command = 'cp %p $dir/archive/%f'" "wal_level = replica" || exit 1
q() { mnl_psql pitr -d ledger -Atc "$1" 2>&1; }
sealed_all() {   # wait until the writer has sealed every record, then the digest kept outside
    local i
    for i in $(seq 1 60); do
        [ "$(q "SELECT count(*) FROM ledger.verify_audit()")" = 0 ] && break
        q "SELECT ledger.audit_seal_now()" >/dev/null
        sleep 0.5
    done
    q "SELECT block_seq || ',' || encode(block_hash, 'hex') FROM ledger.audit_digest()"
}

out=$(mnl_psql pitr -d ledger -v ON_ERROR_STOP=1 -Atq 2>&1 <<'SQL'
SET synchronous_commit = on;
INSERT INTO ledger.org_unit VALUES ('131016', 1, '本庁');
SELECT ledger.register_staff('examiner_p', '審査', 1, ARRAY['examiner']);
SELECT ledger.enrol_person('131016', 1, '123456789018', '満了', '甲', 'マンリョウ', 'コウ', '2008-04-02', '市内');
SELECT ledger.enrol_person('131016', 1, '271828182840', '存続', '乙', 'ゾンゾク', 'オツ', '2015-04-02', '市内');
SELECT ledger.close_person('131016', person_id, '2015-01-01') FROM ledger.person WHERE given_name = '甲';
SQL
)
tap_ok $? "a ledger with two persons, one closed in a period long expired ($(echo "$out" | grep ERROR | head -1))"
digest_before=$(sealed_all)

mnl_as_postgres "$MNL_PGBIN/pg_basebackup" -h "$dir/sock" -U postgres -D "$dir/base" -X stream --checkpoint=fast
tap_ok $? "pg_basebackup with the WAL archive on"

# After the backup: a reveal; the point to recover to; then a retention run that erases the
# expired number and destroys its period's key (its secret, outside the database, is gone).
reveal="SET ROLE examiner_p; SELECT ledger.reveal_person_number('131016', person_id, 'PITR確認') FROM ledger.person WHERE given_name ="
tap_is "$(q "SET synchronous_commit = on; $reveal '乙'")" 271828182840 "an examiner reveals a number after the backup"
sealed_all >/dev/null
target=$(q "SELECT now()")
sleep 1
mnl_psql pitr -d ledger -Atc "SET synchronous_commit = on" -c "CALL ledger.run_retention()" >/dev/null 2>&1
tap_is "$(q "SELECT report->'shredded_periods' FROM ledger.retention_run ORDER BY run_id DESC LIMIT 1")" '["2020"]' \
    "a retention run after that point destroys the expired period's key"
digest_after=$(sealed_all)
wal=$(q "SELECT pg_walfile_name(pg_switch_wal())")
for i in $(seq 1 60); do
    [ "$(q "SELECT last_archived_wal >= '$wal' FROM pg_stat_archiver")" = t ] && break
    sleep 0.5
done

# The server is lost: stopped at once, its data directory gone.  Recovered from the base
# backup and the archive to the point before the retention run.
mnl_as_postgres "$MNL_PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
mv "$dir/data" "$dir/data.lost"
mnl_as_postgres cp -a "$dir/base" "$dir/data"
mnl_as_postgres touch "$dir/data/recovery.signal"
printf "restore_command = 'cp %s/archive/%%f %%p'\nrecovery_target_time = '%s'\nrecovery_target_action = 'promote'\n" "$dir" "$target" |
    mnl_as_postgres tee -a "$dir/data/postgresql.conf" >/dev/null
mnl_cluster_start pitr
tap_ok $? "the server recovers from the base backup and the archive"
for i in $(seq 1 120); do [ "$(q "SELECT pg_is_in_recovery()")" = f ] && break; sleep 0.5; done
mnl_wait_writer pitr ledger
tap_ok $? "the recovered server's audit writer attaches"

tap_is "$(q "SELECT count(*) FROM ledger.audit_event WHERE kind = 'reveal' AND detail LIKE '%PITR確認%'")" 1 \
    "pitr_keeps_records_to_the_target: the reveal made after the backup is in the recovered trail"
tap_is "$(q "SELECT count(*) FROM ledger.verify_audit(${digest_before%,*}, decode('${digest_before#*,}', 'hex'))")" 0 \
    "pitr_trail_verifies: the recovered trail verifies against the digest kept before the backup"
# (the recovered writer may already have sealed a block of its own under the digest's number)
out=$(q "SELECT problem FROM ledger.verify_audit(${digest_after%,*}, decode('${digest_after#*,}', 'hex'))")
tap_ok "$(echo "$out" | grep -qx -e 'the chain ends before the digest kept outside the database (newest blocks removed)' \
                                 -e 'the block does not match the digest kept outside the database'; echo $?)" \
    "pitr_shorter_than_kept_digest_reported: against a digest kept after the target, the verifier reports the difference ($out)"
tap_is "$(q "$reveal '乙'")" 271828182840 "pitr_sealed_numbers_open: a live period's number opens on the recovered server"
tap_is "$(q "SELECT count(*) FROM ledger.person WHERE given_name = '甲' AND mynumber IS NOT NULL")" 1 \
    "the recovered ledger, from before the retention run, still holds the expired number sealed"
out=$(q "SELECT ledger.reveal(mynumber, ledger.person_context(municipality_code, person_id), 'PITR') FROM ledger.person WHERE given_name = '甲'")
tap_ok "$(echo "$out" | grep -q "the key of retention period 2020 was destroyed" && ! echo "$out" | grep -q 123456789018; echo $?)" \
    "pitr_shredded_period_stays_unreadable: its period's key was destroyed outside the database; no recovery opens it ($(echo "$out" | head -1 | cut -c1-80))"
digest_new=$(sealed_all)
tap_ok "$([ -n "$digest_new" ] && [ "$(q "SELECT count(*) FROM ledger.verify_audit()")" = 0 ]; echo $?)" \
    "sealing goes on on the recovered server, and its trail verifies ($digest_new)"
tap_done
