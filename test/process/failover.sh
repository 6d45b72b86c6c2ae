# Multi-process test: failover to a synchronous streaming standby (pg_ctl promote), the way
# docs/operations.md sets it up.  The primary answers reveals and audited reads while the
# standby confirms each commit (synchronous_standby_names); it is then killed and the standby
# promoted.  On the new primary the audit writer runs, every reveal and every read that was
# answered is in the trail, the trail verifies against the digest kept before, and sealing
# continues.  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap mnl_cluster_destroy_all EXIT

mnl_ledger_cluster primary "wal_level = replica" "max_wal_senders = 4" "hot_standby = on" \
    "synchronous_commit = on" || exit 1
dir=${MNL_CLUSTER_DIR[primary]}
p() { mnl_psql primary -d ledger -Atc "$1" 2>&1; }

# The standby: a base backup of the primary, streaming as 'standby1', then named the
# synchronous standby (a commit waits until it has the commit's WAL).
mnl_cluster_dir standby >/dev/null
sdir=${MNL_CLUSTER_DIR[standby]}
mnl_as_postgres "$MNL_PGBIN/pg_basebackup" -d "host=$dir/sock port=5432 user=postgres application_name=standby1" \
    -D "$sdir/data" -R -X stream >/dev/null 2>&1
tap_ok $? "pg_basebackup makes the standby"
mnl_as_postgres mkdir -p "$sdir/sock"
echo "unix_socket_directories = '$sdir/sock'" | mnl_as_postgres tee -a "$sdir/data/postgresql.conf" >/dev/null
mnl_as_postgres cp "$dir/kek" "$sdir/kek"
echo "ledger.kek_command = 'cat $sdir/kek'" | mnl_as_postgres tee -a "$sdir/data/postgresql.conf" >/dev/null
mnl_cluster_start standby
s() { mnl_psql standby -d ledger -Atc "$1" 2>&1; }
p "ALTER SYSTEM SET synchronous_standby_names = 'standby1'" >/dev/null
p "SELECT pg_reload_conf()" >/dev/null
for i in $(seq 1 60); do [ "$(p "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'")" = sync ] && break; sleep 0.5; done
tap_is "$(p "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'")" sync "the standby streams synchronously"

out=$(mnl_psql primary -d ledger -v ON_ERROR_STOP=1 -Atq 2>&1 <<'SQL'
INSERT INTO ledger.org_unit VALUES ('131016', 1, '本庁');
SELECT ledger.register_staff('examiner_f', '審査', 1, ARRAY['examiner']);
SELECT ledger.enrol_person('131016', 1, (b || ledger.mynumber_check_digit(b))::ledger.mynumber,
                           '切替', '太郎', 'キリカエ', 'タロウ', date '1990-01-01' + i, '千代田区')
FROM (SELECT i, lpad((i * 7919)::text, 11, '0') AS b FROM generate_series(1, 12) i) g
WHERE ledger.mynumber_is_valid(b || ledger.mynumber_check_digit(b));
SQL
)
tap_ok $? "a ledger on the primary ($(echo "$out" | grep ERROR | head -1))"
for i in $(seq 1 60); do
    [ "$(p "SELECT count(*) FROM ledger.verify_audit()")" = 0 ] && break
    p "SELECT ledger.audit_seal_now()" >/dev/null; sleep 0.5
done
digest=$(p "SELECT block_seq || ',' || encode(block_hash, 'hex') FROM ledger.audit_digest()")

# A burst: reveals and audited reads, each answered; the primary killed right after the last.
answered=0
for id in $(p "SELECT person_id FROM ledger.person ORDER BY person_id LIMIT 8"); do
    out=$(p "SET ROLE examiner_f; SELECT ledger.reveal_person_number('131016', $id, 'failover $id')")
    [ ${#out} = 12 ] && answered=$((answered + 1))
    p "SET ROLE examiner_f; SELECT given_name FROM ledger.person WHERE person_id = $id /* failover read */" >/dev/null
done
tap_is "$answered" 8 "eight reveals answered on the primary"
mnl_as_postgres "$MNL_PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1

# The standby promoted.
mnl_as_postgres "$MNL_PGBIN/pg_ctl" -D "$sdir/data" -w promote >/dev/null 2>&1
tap_ok $? "pg_ctl promote"
for i in $(seq 1 60); do [ "$(s "SELECT pg_is_in_recovery()")" = f ] && break; sleep 0.5; done
# the new primary has no synchronous standby: commits must not wait for one
s "ALTER SYSTEM SET synchronous_standby_names = ''" >/dev/null
s "SELECT pg_reload_conf()" >/dev/null
mnl_wait_writer standby ledger
tap_ok $? "failover_writer_runs: the audit writer runs on the promoted standby"
tap_is "$(s "SELECT count(*) FROM ledger.audit_event WHERE kind = 'reveal' AND detail LIKE '%failover %'")" "$answered" \
    "failover_keeps_answered_reveals: every reveal the old primary answered is in the new primary's trail"
tap_is "$(s "SELECT count(DISTINCT row_key::text) FROM ledger.audit_event WHERE kind = 'select' AND relation_name = 'ledger.person'
             AND acting_role = 'examiner_f'")" 8 \
    "failover_keeps_answered_reads: every answered read of a protected table is recorded, with the row it returned"
tap_is "$(s "SELECT count(*) FROM ledger.verify_audit(${digest%,*}, decode('${digest#*,}', 'hex'))")" 0 \
    "failover_trail_verifies: the trail verifies against the digest kept before the failover"
s "SET ROLE examiner_f; SELECT ledger.reveal_person_number('131016', (SELECT min(person_id) FROM ledger.person), 'after failover')" >/dev/null
for i in $(seq 1 60); do
    [ "$(s "SELECT count(*) FROM ledger.verify_audit()")" = 0 ] && break
    s "SELECT ledger.audit_seal_now()" >/dev/null; sleep 0.5
done
new=$(s "SELECT block_seq FROM ledger.audit_digest()")
tap_ok "$([ "$new" -gt "${digest%,*}" ] && [ "$(s "SELECT count(*) FROM ledger.verify_audit()")" = 0 ]; echo $?)" \
    "failover_sealing_continues: the new primary seals (block ${digest%,*} then $new) and its trail verifies"
tap_done
