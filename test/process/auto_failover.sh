# Multi-process test: failover run by pg_auto_failover (Debian's pg-auto-failover-cli and
# postgresql-N-auto-failover), set up the way docs/operations.md describes: a monitor, a
# primary whose ledger answers reveals and audited reads while its standby confirms each commit
# (pg_auto_failover's synchronous_standby_names), then the primary's keeper and server are
# killed.  The monitor promotes the standby; pg_auto_failover holds it read-only until the old
# primary's demotion times out, and the audit writer waits for that instead of failing.  On the
# new primary the writer runs, every answered reveal and read is in the trail, the trail
# verifies against the digest kept before, sealing continues; the old primary rejoins as a
# standby.  The nodes talk over TCP on 127.0.0.1, on ports made from the major version so that
# the suite's versions can run side by side.  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"

if ! command -v pg_autoctl >/dev/null; then
    echo "1..0 # SKIP pg_autoctl is not installed (scripts/deps.sh installs pg-auto-failover-cli)"
    exit 0
fi
major=$("$MNL_PGBIN/pg_config" --version | sed 's/^PostgreSQL \([0-9]*\).*/\1/')
port_monitor=$((21000 + major * 10)); port1=$((port_monitor + 1)); port2=$((port_monitor + 2))

base=$(mnl_cluster_dir autofailover)
# Each keeper runs in a process group of its own (setsid); its subprocesses rename themselves,
# so they are found by group: the group of NODE's keeper is the pid in its pid file.
keeper_group() {
    head -1 "$base/xdg/run/pg_autoctl$base/$1/pg_autoctl.pid" 2>/dev/null
}
declare -A groups
kill_node() {  # kill_node NODE: its keeper's group and its server, at once (no clean stop)
    local g=${groups[$1]:-}
    [ -n "$g" ] && kill -9 -- "-$g" 2>/dev/null
    [ -f "$base/$1/postmaster.pid" ] && kill -9 "$(head -1 "$base/$1/postmaster.pid")" 2>/dev/null
    rm -f "$base/xdg/run/pg_autoctl$base/$1/pg_autoctl.pid"
    unset "groups[$1]"
}
cleanup() {
    local d
    for d in monitor node1 node2; do kill_node "$d"; done
    sleep 1
    mkdir -p "$MNL_RESULTS/logs"
    for d in monitor node1 node2; do
        cat "$base/$d.keeper.log" "$base/$d"/log/*.log > "$MNL_RESULTS/logs/autofailover-$d.log" 2>/dev/null
    done
    mnl_cluster_destroy_all
}
trap cleanup EXIT

# pg_autoctl as the postgres OS user, its state and sockets inside this test's directory.
ctl() {
    runuser -u postgres -- env -i HOME="$base" PATH="$MNL_PGBIN:/usr/bin:/bin" \
        XDG_CONFIG_HOME="$base/xdg/config" XDG_DATA_HOME="$base/xdg/data" XDG_RUNTIME_DIR="$base/xdg/run" \
        PG_REGRESS_SOCK_DIR="$base/sock" PGHOST="$base/sock" "$@"
}
keeper() {  # keeper NODE: pg_autoctl run for NODE, in the background
    ctl setsid pg_autoctl run --pgdata "$base/$1" >>"$base/$1.keeper.log" 2>&1 &
    local i
    for i in $(seq 1 40); do
        groups[$1]=$(keeper_group "$1")
        [ -n "${groups[$1]}" ] && return 0
        sleep 0.25
    done
}
q() {       # q PORT SQL
    "$MNL_PGBIN/psql" -X -q -At -h "$base/sock" -p "$1" -U postgres -d ledger -c "$2" 2>&1
}
state() {   # state NODE: the state the monitor reports for NODE
    "$MNL_PGBIN/psql" -X -At -h "$base/sock" -p "$port_monitor" -U postgres -d pg_auto_failover \
        -c "SELECT reportedstate FROM pgautofailover.node WHERE nodename = '$1'" 2>/dev/null
}
bail() {
    echo "Bail out! setting up pg_auto_failover failed (logs: $MNL_RESULTS/logs/autofailover-*.log)"
    tap_done; exit 1
}
wait_for() {  # wait_for SECONDS 'SHELL CONDITION': until it holds (evaluated each time)
    local t=$1 i
    for i in $(seq 1 $((t * 2))); do eval "$2" && return 0; sleep 0.5; done
    return 1
}
ctl mkdir -p "$base/xdg/run" "$base/sock"
chmod 700 "$base/xdg/run"
monitor_uri="postgres://autoctl_node@127.0.0.1:$port_monitor/pg_auto_failover?sslmode=disable"

# The monitor, listening on 127.0.0.1 only, with short health checks (the defaults take a
# minute to fail over; a municipality keeps or tunes them, docs/operations.md).
ctl pg_autoctl create monitor --pgdata "$base/monitor" --pgport "$port_monitor" --pgctl "$MNL_PGBIN/pg_ctl" \
    --hostname 127.0.0.1 --auth trust --no-ssl >"$base/monitor.keeper.log" 2>&1
tap_ok $? "pg_autoctl create monitor"
ctl pg_autoctl config set --pgdata "$base/monitor" postgresql.listen_addresses 127.0.0.1 >/dev/null 2>&1
{
    echo "pgautofailover.health_check_period = 1000"
    echo "pgautofailover.health_check_timeout = 1000"
    echo "pgautofailover.health_check_retry_delay = 500"
    echo "pgautofailover.node_considered_unhealthy_timeout = 3000"
    echo "pgautofailover.primary_demote_timeout = 5000"
} | ctl tee -a "$base/monitor/postgresql.conf" >/dev/null
keeper monitor
wait_for 30 '"$MNL_PGBIN/pg_isready" -q -h "$base/sock" -p "$port_monitor"'
tap_ok $? "the monitor runs"

# The primary: our own initdb, the extension preloaded, then given to pg_autoctl.
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' | ctl tee "$base/kek" >/dev/null
chmod 600 "$base/kek"
ctl "$MNL_PGBIN/initdb" -D "$base/node1" -U postgres --auth=trust -E UTF8 --locale=C --no-sync >/dev/null 2>&1
{
    echo "shared_preload_libraries = 'mynumber_ledger'"
    echo "ledger.kek_command = 'cat $base/kek'"
    echo "ledger.database = 'ledger'"
    echo "synchronous_commit = on"
    echo "fsync = off"
    echo "lc_messages = 'C'"
    # pg_autoctl's base backup waits for a spread checkpoint: keep it short
    echo "checkpoint_completion_target = 0.1"
    echo "checkpoint_timeout = 30s"
} | ctl tee -a "$base/node1/postgresql.conf" >/dev/null
node() {    # node NAME PORT: pg_autoctl create postgres
    ctl pg_autoctl create postgres --pgdata "$base/$1" --pgport "$2" --pgctl "$MNL_PGBIN/pg_ctl" \
        --hostname 127.0.0.1 --listen 127.0.0.1 --auth trust --no-ssl --monitor "$monitor_uri" \
        --name "$1" --dbname ledger >>"$base/$1.keeper.log" 2>&1
}
node node1 "$port1"
tap_ok $? "pg_autoctl create postgres (node1, the ledger's primary)"
keeper node1
wait_for 60 '[ "$(state node1)" = single ]'
tap_is "$(state node1)" single "node1 runs alone"
wait_for 30 '"$MNL_PGBIN/pg_isready" -q -h "$base/sock" -p "$port1"'
q "$port1" "CREATE EXTENSION mynumber_ledger" >/dev/null
tap_is "$(q "$port1" "SELECT count(*) FROM pg_extension WHERE extname = 'mynumber_ledger'")" 1 "the extension is created on node1"
wait_for 30 '[ "$(q "$port1" "SELECT ready FROM ledger.audit_writer_status()")" = t ]'
rc=$?; tap_ok $rc "the audit writer runs on node1"; [ $rc = 0 ] || bail

node node2 "$port2"
tap_ok $? "pg_autoctl create postgres (node2, a standby made from node1)"
keeper node2
wait_for 90 '[ "$(state node1)/$(state node2)" = primary/secondary ]'
tap_is "$(state node1)/$(state node2)" primary/secondary "the monitor has node1 primary, node2 its standby"
echo "# at $SECONDS s: node2 is node1's standby"
wait_for 30 '[ "$(q "$port1" "SELECT count(*) FROM pg_stat_replication WHERE sync_state IN ('\''sync'\'', '\''quorum'\'')")" = 1 ]'
tap_ok $? "node2 confirms every commit of node1 ($(q "$port1" "SHOW synchronous_standby_names"))"

out=$("$MNL_PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -At -h "$base/sock" -p "$port1" -U postgres -d ledger 2>&1 <<'SQL'
INSERT INTO ledger.org_unit VALUES ('131016', 1, '本庁');
SELECT ledger.register_staff('examiner_f', '審査', 1, ARRAY['examiner']);
SELECT ledger.enrol_person('131016', 1, (b || ledger.mynumber_check_digit(b))::ledger.mynumber,
                           '切替', '花子', 'キリカエ', 'ハナコ', date '1990-01-01' + i, '千代田区')
FROM (SELECT i, lpad((i * 7919)::text, 11, '0') AS b FROM generate_series(1, 12) i) g
WHERE ledger.mynumber_is_valid(b || ledger.mynumber_check_digit(b));
SQL
)
tap_ok $? "a ledger on node1 ($(echo "$out" | grep ERROR | head -1))"
wait_for 30 '[ "$(q "$port1" "SELECT ledger.audit_seal_now(); SELECT count(*) FROM ledger.verify_audit()" | tail -1)" = 0 ]'
# (a standby refuses audited reads: what it has replayed is compared by WAL position)
lsn=$(q "$port1" "SELECT pg_current_wal_lsn()")
wait_for 30 '[ "$(q "$port2" "SELECT pg_last_wal_replay_lsn() >= '\''$lsn'\''")" = t ]'
tap_ok $? "node2 replays node1's ledger (to $lsn)"
echo "# at $SECONDS s: the ledger loaded"
digest=$(q "$port1" "SELECT block_seq || ',' || encode(block_hash, 'hex') FROM ledger.audit_digest()")

# A burst of reveals and audited reads; node1's keeper and server killed right after the last.
answered=0
for id in $(q "$port1" "SELECT person_id FROM ledger.person ORDER BY person_id LIMIT 8"); do
    out=$(q "$port1" "SET ROLE examiner_f; SELECT ledger.reveal_person_number('131016', $id, 'auto failover $id')")
    [ ${#out} = 12 ] && answered=$((answered + 1))
    q "$port1" "SET ROLE examiner_f; SELECT given_name FROM ledger.person WHERE person_id = $id" >/dev/null
done
tap_is "$answered" 8 "eight reveals answered on node1"
echo "# at $SECONDS s: node1 killed"
kill_node node1
started=$(date +%s)

# The monitor notices and promotes node2.
wait_for 120 'case $(state node2) in wait_primary|primary) true ;; *) false ;; esac'
tap_ok $? "auto_failover_promotes: the monitor promotes node2 ($(state node2) after $(( $(date +%s) - started )) s)"
wait_for 30 '[ "$(q "$port2" "SELECT ready FROM ledger.audit_writer_status()")" = t ]'
tap_ok $? "auto_failover_writer_runs: the audit writer runs on node2 (ready $(( $(date +%s) - started )) s after the kill)"
readonly_errors=$(cat "$base"/node2/log/*.log 2>/dev/null | grep -c 'read-only transaction')
tap_is "$readonly_errors" 0 \
    "auto_failover_writer_waits_read_only: while pg_auto_failover held node2 read-only the writer waited, no write failed ($(cat "$base"/node2/log/*.log 2>/dev/null | grep -c 'audit writer waits') waits said)"
tap_is "$(q "$port2" "SELECT count(*) FROM ledger.audit_event WHERE kind = 'reveal' AND detail LIKE '%auto failover %'")" "$answered" \
    "auto_failover_keeps_answered_reveals: every reveal node1 answered is in node2's trail"
tap_is "$(q "$port2" "SELECT count(DISTINCT row_key::text) FROM ledger.audit_event WHERE kind = 'select'
             AND relation_name = 'ledger.person' AND acting_role = 'examiner_f'")" 8 \
    "auto_failover_keeps_answered_reads: every answered read is recorded with the row it returned"
tap_is "$(q "$port2" "SELECT count(*) FROM ledger.verify_audit(${digest%,*}, decode('${digest#*,}', 'hex'))")" 0 \
    "auto_failover_trail_verifies: node2's trail verifies against the digest kept before the failover"
out=$(q "$port2" "SET ROLE examiner_f; SELECT ledger.reveal_person_number('131016', (SELECT min(person_id) FROM ledger.person), 'after auto failover')")
tap_is "${#out}" 12 "a reveal on node2 after the failover is answered"
wait_for 30 '[ "$(q "$port2" "SELECT ledger.audit_seal_now(); SELECT count(*) FROM ledger.verify_audit()" | tail -1)" = 0 ]'
new=$(q "$port2" "SELECT block_seq FROM ledger.audit_digest()")
tap_ok "$([ "$new" -gt "${digest%,*}" ] && [ "$(q "$port2" "SELECT count(*) FROM ledger.verify_audit()")" = 0 ]; echo $?)" \
    "auto_failover_sealing_continues: node2 seals (block ${digest%,*} then $new) and its trail verifies"

# The old primary comes back: pg_auto_failover rewinds it and it follows node2.
echo "# at $SECONDS s: node1's keeper started again"
keeper node1
wait_for 120 '[ "$(state node1)/$(state node2)" = secondary/primary ]'
tap_is "$(state node1)/$(state node2)" secondary/primary "the old primary rejoins as node2's standby"
wait_for 30 '[ "$(q "$port1" "SELECT count(*) FROM ledger.audit_event WHERE detail = '\''after auto failover'\''")" = 1 ]'
tap_ok $? "auto_failover_rejoined_has_trail: the rejoined node1 replays node2's trail"
echo "# $SECONDS s in all"
tap_done
