# Multi-process test: a pooled application role behind a real PgBouncer in transaction mode,
# with one server connection for two clients taking turns, as a municipal system's pool hands
# the same session to one request after another.  A staff identity set per transaction
# (set_config('role', ..., true), SET LOCAL ROLE) is gone before the next client's
# transaction; a pooled login's session-level SET ROLE is refused; an identity carried into a
# transaction anyway (set_config('role', ..., false)) is refused at the next client's first
# statement instead of acting, and being recorded, as the previous client's staff member.
# Each read's record names the staff member who read.  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
stop_pgbouncer() { [ -f "${pgb_dir:-/nonexistent}/pgbouncer.pid" ] && kill "$(cat "$pgb_dir/pgbouncer.pid")" 2>/dev/null; true; }
trap 'stop_pgbouncer; mnl_cluster_destroy_all' EXIT

mnl_ledger_cluster pgb || exit 1
q() { mnl_psql pgb -d ledger -Atc "$1" 2>&1; }
setup=$(mnl_psql pgb -d ledger -Atq 2>&1 <<'SQL'
INSERT INTO ledger.org_unit VALUES ('131016', 1, '本庁'), ('131016', 2, '出張所');
SELECT ledger.register_staff('regress_pgb_a', '窓口 甲', 1, ARRAY['clerk']);
SELECT ledger.register_staff('regress_pgb_b', '窓口 乙', 2, ARRAY['clerk']);
CREATE ROLE regress_pgb_app LOGIN NOINHERIT;
GRANT regress_pgb_a, regress_pgb_b TO regress_pgb_app;
SELECT ledger.enrol_person('131016', 1 + (i > 4)::int, (b || ledger.mynumber_check_digit(b))::ledger.mynumber,
                           '池', i::text, 'イケ', 'イ', '2016-04-02', '千代田区')
FROM (SELECT i, lpad((82000000000 + i)::text, 11, '0') AS b FROM generate_series(1, 6) i) x;
SQL
)
echo "$setup" | grep -q ERROR && { echo "Bail out! setup failed: $setup"; exit 1; }

# PgBouncer, as the postgres OS user, on a Unix socket of its own: transaction mode, one
# server connection for every client.
pgb_dir=${MNL_CLUSTER_DIR[pgb]}/pgbouncer
mnl_as_postgres mkdir -p "$pgb_dir"
mnl_as_postgres tee "$pgb_dir/userlist.txt" >/dev/null <<<'"regress_pgb_app" ""'
mnl_as_postgres tee "$pgb_dir/pgbouncer.ini" >/dev/null <<INI
[databases]
ledger = host=${MNL_CLUSTER_DIR[pgb]}/sock port=5432 dbname=ledger
[pgbouncer]
listen_addr =
listen_port = 6432
unix_socket_dir = $pgb_dir
auth_type = trust
auth_file = $pgb_dir/userlist.txt
pool_mode = transaction
default_pool_size = 1
max_client_conn = 10
logfile = $pgb_dir/pgbouncer.log
pidfile = $pgb_dir/pgbouncer.pid
INI
mnl_as_postgres pgbouncer -d -q "$pgb_dir/pgbouncer.ini" || { echo "Bail out! pgbouncer did not start"; exit 1; }
for _ in $(seq 1 50); do [ -S "$pgb_dir/.s.PGSQL.6432" ] && break; sleep 0.1; done

out=$(/usr/bin/python3 "$MNL_ROOT/test/process/pgbouncer_clients.py" "$pgb_dir" 6432 regress_pgb_app regress_pgb_a regress_pgb_b 2>&1)
echo "$out" | sed 's/^/# /'
res() { echo "$out" | sed -n "s/^$1 //p"; }
tap_is "$(res a_request)" 4 "a request of client A as staff member A (set_config('role', ..., true)) sees A's org unit"
tap_is "$(res b_after_a)" regress_pgb_app \
    "pooled_transaction_identity_not_left: client B, on the same server connection next, is the pooled role again"
tap_is "$(res b_set_local_role)" 2 "client B's request with SET LOCAL ROLE sees B's org unit"
tap_is "$(res a_after_b)" regress_pgb_app "and client A after it is the pooled role again"
tap_is "$(res a_session_set_role)" "ERR 42501" \
    "pooled_session_set_role_refused: a pooled login's session-level SET ROLE is refused"
tap_is "$(res b_after_session_set_role)" regress_pgb_app "so client B is not left acting as A"
tap_is "$(res a_set_config_session)" "ERR 42501" \
    "pooled_identity_for_session_refused_at_commit: set_config('role', ..., false) by a pooled login cannot commit"
tap_is "$(res b_after_set_config_session)" regress_pgb_app "so the next client is the pooled role, not A"
tap_is "$(res a_set_config_session_in_block)" "ERR 42501" \
    "pooled_identity_for_session_in_block_refused: nor in a transaction block, whatever it read meanwhile"
tap_is "$(res b_reset_role)" regress_pgb_app "client B leaves it with RESET ROLE"
tap_is "$(res b_request)" 2 "and its next request works as B"
tap_is "$(res a_setting_carrier)" "ERR 42501" \
    "pooled_session_setting_carries_rows_refused: a pooled login's transaction cannot leave rows in a session setting"
tap_is "$(res b_after_setting_carrier)" "(none)" "so the next client finds nothing there"
for name in hold_cursor prepare listen temp_table temp_function; do
    tap_is "$(res a_state_$name)" "ERR 42501" \
        "pooled_session_state_carries_rows_refused: $name left by a transaction that read as A cannot commit"
done
tap_is "$(res pool_prepare_without_data)" "" "a pooled login's PREPARE in a transaction that read nothing is fine"
tap_is "$(res a_hold_cursor_declared) $(res b_fetch_hold_cursor)" "ERR 42501 ERR 34000" \
    "pooled_hold_cursor_refused_when_declared: a held cursor (stored before a commit could be refused) is refused at DECLARE"
tap_is "$(res a_prepare_then_rollback) $(res b_execute_prepared)" "ERR 42501 ERR 26000" \
    "pooled_prepare_after_read_refused: a PREPARE after a read (a rollback would not undo it) is refused when made"
tap_is "$(res pool_temp_sequence)" "ERR 42501" \
    "pooled_temp_object_refused: a pooled login makes no temporary object (a temporary sequence's nextval counts past any rollback)"
tap_is "$(res a_setval_after_read)" "ERR 42501" \
    "pooled_setval_refused: a sequence's value (no rollback undoes it) is not set by a pooled login"
tap_is "$(res a_advisory_lock)" "ERR 42501" "pooled_session_advisory_lock_refused: nor a session-level advisory lock (pg_locks shows it)"
tap_is "$(res a_setseed)" "ERR 42501" "pooled_setseed_refused: nor the random seed (random() would hand it to the next client)"
tap_is "$(res a_wal_message)" "ERR 42501" "pooled_wal_message_refused: nor a message into the WAL (pg_logical_emit_message)"
tap_is "$(res a_notify)" "ERR 42501" "pooled_notify_refused: nor a notification (its channel and payload reach any listener)"
tap_is "$(res a_staff_ddl)" "ERR 42501" "staff_ddl_refused: staff run no DDL (an enum's labels, a default, a body, a name would hold rows)"
tap_is "$(res a_role_default_after_read)" "ERR 42501" \
    "pooled_role_default_after_read_refused: nor the pooled role itself, in a transaction that read as staff (ALTER ROLE ... SET)"
tap_is "$(res a_setting_local)" "for this transaction" "a setting for the transaction only (set_config(..., true)) is fine"
# An identity given at connection (options=-c role=...): the connection itself is refused.
out=$(PGHOST="${MNL_CLUSTER_DIR[pgb]}/sock" PGPORT=5432 PGOPTIONS="-c role=regress_pgb_a" \
      "$MNL_PGBIN/psql" -X -At -U regress_pgb_app -d ledger -c "SELECT count(*) FROM ledger.person" 2>&1)
echo "$out" | grep -q "would outlive the transaction" && ! echo "$out" | grep -q "^[0-9]"
tap_ok $? "pooled_identity_from_connection_refused: a staff identity given at connection is refused ($(echo "$out" | head -1 | cut -c1-70))"
sleep 1.5   # the read records are queued, written within ledger.audit_flush_delay
tap_is "$(q "SELECT string_agg(DISTINCT r, ' ') FROM (SELECT acting_role || ':' || (SELECT count(*) FROM ledger.audit_read_keys(e.row_key)) AS r
             FROM ledger.audit_event e WHERE kind = 'select' AND relation_name = 'ledger.person') x")" \
    "regress_pgb_a:4 regress_pgb_b:2" \
    "pooled_reads_name_their_staff: each read behind the pool is recorded under the staff member of its own request"
tap_ok "$([ "$(q "SELECT count(*) FROM ledger.audit_event WHERE kind = 'denied' AND detail LIKE '%pooled login%'")" -ge 2 ]; echo $?)" \
    "the refusals are recorded"
tap_done
