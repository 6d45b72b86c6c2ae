#!/usr/bin/env bash
# scripts/run.sh — a local PostgreSQL cluster (15, 17 or 18: the Debian release's) under ./.run/ with mynumber_ledger built,
# installed and created in the database "ledger", left running.
#
#   scripts/run.sh          build, install, start (or just report, if already running)
#   scripts/run.sh stop     stop the server
#   scripts/run.sh status   say whether it runs and how to connect
#
# Safe to run any number of times.  The server runs as the postgres OS user; it listens on the
# Unix socket in .run/ and on localhost:$MNL_PORT (default 5439; a cluster keeps the port it
# was made with).  pg_cron runs the ledger's scheduled jobs.  A local demo: the sample roles
# log in with one password made for this cluster (printed), the superuser only as root or
# the postgres OS user.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/deps.sh"
mnl_require_root "$@"

ACTION=${1:-start}
PORT=${MNL_PORT:-5439}
DB=ledger
RUN=$ROOT/.run

# The cluster lives in .run/ when the postgres user can reach it; a checkout in a private home
# directory gets its cluster in /var/lib/mynumber_ledger/ instead, linked from .run/cluster.
cluster_base() {
    if runuser -u postgres -- test -x "$ROOT" 2>/dev/null; then
        echo "$RUN"
    else
        echo "/var/lib/mynumber_ledger/run-$(echo -n "$ROOT" | md5sum | cut -c1-12)"
    fi
}

BASE=$(cluster_base)
PGDATA_DIR=$BASE/data
SOCK=$BASE/sock
LOG=$BASE/server.log
PGBIN=$(pg_config --bindir 2>/dev/null || echo "/usr/lib/postgresql/$MNL_PG/bin")

pg() { runuser -u postgres -- "$@"; }
# What the cluster itself says (a later MNL_PORT, or a rotated key's new path, may differ from
# what this script would choose): the last setting of NAME in postgresql.conf.
conf_value() {
    sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*'\{0,1\}\([^'#]*\)'\{0,1\}.*/\1/p" \
        "$PGDATA_DIR/postgresql.conf" "$PGDATA_DIR/postgresql.auto.conf" 2>/dev/null | tail -1 | sed 's/[[:space:]]*$//'
}
if [ -f "$PGDATA_DIR/PG_VERSION" ]; then
    PORT=$(conf_value port)
    PORT=${PORT:-5432}
fi
running() { [ -f "$PGDATA_DIR/PG_VERSION" ] && pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; }
psql_su() { PGHOST=$SOCK PGPORT=$PORT PGUSER=postgres "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

instructions() {
    local kek password
    kek=$(conf_value ledger.kek_command)
    password=$(cat "$BASE/demo-password" 2>/dev/null || echo "(see $BASE/demo-password)")
    cat <<EOF

mynumber_ledger is running (PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}'), data in $PGDATA_DIR).

  superuser (installs, keys, policies), as root or the postgres OS user only:
    sudo psql -h $SOCK -p $PORT -U postgres -d $DB

  sample staff of 千代田区 (131016), one role per person; _1 = 子育て支援課 (org unit 1),
  _2 = 神田出張所 (org unit 2).  Any OS user, with the demo password of this local cluster
  (every sample role has it; a real installation authenticates its staff its own way):
    export PGPASSWORD=$password
    psql -h $SOCK -p $PORT -U clerk_1 -d $DB          受付: reads and writes org unit 1
    psql -h $SOCK -p $PORT -U examiner_2 -d $DB       審査: org unit 2, may reveal numbers there
    psql -h $SOCK -p $PORT -U approver_1 -d $DB       決裁: reads every org unit, writes none
    psql -h $SOCK -p $PORT -U administrator_1 -d $DB  システム管理: manages staff, sees no personal data
    psql -h $SOCK -p $PORT -U auditor_1 -d $DB        監査: the audit trail only
    psql -h $SOCK -p $PORT -U ledger_app -d $DB       pooled application role: BEGIN; SET LOCAL ROLE clerk_1; ...
    psql -h $SOCK -p $PORT -U payment_job -d $DB      支払処理: the payment run's role (every org unit)
    (or over TCP: psql "host=localhost port=$PORT dbname=$DB user=clerk_1")
  try, as clerk_1:
    SELECT person_id, family_name, given_name, mynumber_masked FROM ledger.person_masked LIMIT 5;
    SELECT count(*) FROM ledger.person;               -- org unit 1 only
    SELECT * FROM ledger.monthly_amount('131016', 2, '2026-12-01');   -- each child, its amount and reason
  as payment_job (令和8年12月: October and November):
    CALL ledger.prepare_payments('2026-12-01');
    SELECT payments_created, amount_created, public_servant, revisions_created FROM ledger.payment_run;
  as examiner_2:
    SELECT ledger.reveal_person_number('131016', person_id, '認定審査') FROM ledger.person LIMIT 1;
  as auditor_1:
    SELECT kind, acting_role, staff_id, relation_name, row_count FROM ledger.audit_event ORDER BY event_id DESC LIMIT 10;
    SELECT * FROM ledger.verify_audit();             -- no row: the audit trail is intact
  try, as any of them:
    SELECT '1234 5678 9018'::ledger.mynumber;        -- 123456789018
    SELECT '123456789010'::ledger.mynumber;          -- ERROR 22P02, no digits in the message
    SELECT * FROM ledger.audit_writer_status();      -- the audit writer is attached
    SELECT ledger.seal('123456789018', 'demo:1');     -- mnl1:... (AES-256-GCM, key outside)

  scheduled jobs (pg_cron; look as the superuser): the retention run daily at 02:30, inquiry
  data expiry hourly, the payment run on the 1st of every 支払期月 at 01:00 (as payment_job):
    SELECT jobid, jobname, schedule, username, command FROM cron.job;
    SELECT jobid, status, start_time, return_message FROM cron.job_run_details ORDER BY start_time DESC LIMIT 5;
    CALL ledger.run_retention(dry_run => true);       -- what the retention run would delete now

  key-encryption key of this local cluster: ledger.kek_command = '$kek'

  server log: $LOG
  stop:       scripts/run.sh stop
EOF
}

case $ACTION in
    stop)
        if running; then
            pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null
            echo "stopped"
        else
            echo "not running"
        fi
        exit 0 ;;
    status)
        if running; then instructions; else echo "not running (scripts/run.sh starts it)"; fi
        exit 0 ;;
    start) ;;
    *) echo "usage: scripts/run.sh [start|stop|status]" >&2; exit 2 ;;
esac

mnl_install_deps || exit 1
PGBIN=$(pg_config --bindir)
make -C "$ROOT" -s >/dev/null
make -C "$ROOT" -s install >/dev/null

mkdir -p "$RUN"
if [ "$BASE" != "$RUN" ]; then
    mkdir -p "$BASE"
    ln -sfn "$BASE" "$RUN/cluster"
fi
chown postgres:postgres "$BASE"

# A key-encryption key for this local cluster, made once and kept beside it (0600, postgres).
# A real installation gets its key from a vault or an HSM through ledger.kek_command.
if [ ! -f "$BASE/kek" ]; then
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$BASE/kek"
    chown postgres:postgres "$BASE/kek"
    chmod 600 "$BASE/kek"
fi

if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
    pg "$PGBIN/initdb" -D "$PGDATA_DIR" -U postgres -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    pg mkdir -p "$SOCK"
    pg tee -a "$PGDATA_DIR/postgresql.conf" >/dev/null <<EOF
# --- written by scripts/run.sh
listen_addresses = 'localhost'
port = $PORT
unix_socket_directories = '$SOCK'
shared_preload_libraries = 'pg_cron,mynumber_ledger'
ledger.database = '$DB'
compute_query_id = on
lc_messages = 'C'
log_line_prefix = '%m [%p] %q%u@%d '
EOF
fi

# Settings added by later versions of this script reach an existing cluster too.
if ! grep -q "^ledger.database" "$PGDATA_DIR/postgresql.conf"; then
    printf "ledger.database = '%s'\ncompute_query_id = on\n" "$DB" | pg tee -a "$PGDATA_DIR/postgresql.conf" >/dev/null
    running && pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null
fi
if ! grep -q "^ledger.kek_command" "$PGDATA_DIR/postgresql.conf"; then
    printf "ledger.kek_command = 'cat %s/kek'\n" "$BASE" | pg tee -a "$PGDATA_DIR/postgresql.conf" >/dev/null
    running && pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null
fi

# pg_cron in the ledger's database, its jobs run by background workers (no password needed).
if ! grep -q "^cron.database_name" "$PGDATA_DIR/postgresql.conf"; then
    pg tee -a "$PGDATA_DIR/postgresql.conf" >/dev/null <<EOF
shared_preload_libraries = 'pg_cron,mynumber_ledger'
cron.database_name = '$DB'
cron.use_background_workers = on
max_worker_processes = 16
EOF
    running && pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null
fi

# Who may connect: the superuser only from root or the postgres OS user (peer, mapped); the
# sample roles from any OS user with the cluster's demo password (the socket directory is
# open to all, as /var/run/postgresql is).
if [ ! -f "$BASE/demo-password" ]; then
    head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$BASE/demo-password"
    chmod 644 "$BASE/demo-password"
fi
pg chmod 755 "$SOCK"
pg tee "$PGDATA_DIR/pg_ident.conf" >/dev/null <<EOF
# written by scripts/run.sh: the OS users that may log in as the superuser
mnl_admin  root      postgres
mnl_admin  postgres  postgres
EOF
pg tee "$PGDATA_DIR/pg_hba.conf" >/dev/null <<EOF
# written by scripts/run.sh (a local demo)
local  all  postgres                peer map=mnl_admin
host   all  postgres  0.0.0.0/0     reject
host   all  postgres  ::/0          reject
local  all  all                     scram-sha-256
host   all  all       127.0.0.1/32  scram-sha-256
host   all  all       ::1/128       scram-sha-256
EOF

if running; then
    pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" reload >/dev/null
    echo "already running"
else
    pg "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$LOG" -w -t 60 start >/dev/null
fi

if [ "$(psql_su -d postgres -Atc "SELECT count(*) FROM pg_database WHERE datname = '$DB'")" = 0 ]; then
    psql_su -d postgres -c "CREATE DATABASE $DB"
fi
# Create the extension, or bring an existing one up to the version just installed.
PGOPTIONS='-c client_min_messages=warning' psql_su -d "$DB" \
    -c "CREATE EXTENSION IF NOT EXISTS mynumber_ledger" -c "ALTER EXTENSION mynumber_ledger UPDATE"

# The sample municipality, once: it reads audited tables, so wait for the audit writer.
for _ in $(seq 1 60); do
    [ "$(psql_su -d "$DB" -Atc "SELECT ready FROM ledger.audit_writer_status()" 2>/dev/null)" = t ] && break
    sleep 0.5
done
if [ "$(psql_su -d "$DB" -Atc "SELECT count(*) FROM ledger.org_unit")" = 0 ]; then
    psql_su -d "$DB" -f "$ROOT/scripts/sample.sql" >/dev/null
    echo "sample municipality loaded (千代田区 131016: 2 org units, 11 staff, 300 recipients, payments of 2026-10)"
fi

# The demo password for the sample roles that have none yet.
for role in $(psql_su -d "$DB" -Atc "SELECT rolname FROM pg_authid WHERE rolcanlogin AND NOT rolsuper
                                       AND rolpassword IS NULL AND rolname !~ '^pg_' ORDER BY 1"); do
    psql_su -d "$DB" -c "ALTER ROLE \"$role\" PASSWORD '$(cat "$BASE/demo-password")'" >/dev/null
done

# The ledger's jobs (docs/operations.md), scheduled once.
PGOPTIONS='-c client_min_messages=warning' psql_su -d "$DB" -c "CREATE EXTENSION IF NOT EXISTS pg_cron"
if [ "$(psql_su -d "$DB" -Atc "SELECT count(*) FROM cron.job WHERE jobname LIKE 'ledger-%'")" = 0 ]; then
    psql_su -d "$DB" >/dev/null <<'SQL'
SELECT cron.schedule('ledger-retention', '30 2 * * *', 'CALL ledger.run_retention()');
SELECT cron.schedule('ledger-expire-inquiry', '15 * * * *', 'SELECT ledger.expire_inquiry_data()');
SELECT cron.schedule_in_database('ledger-payments', '0 1 1 2,4,6,8,10,12 *',
    $$CALL ledger.prepare_payments(date_trunc('month', now())::date)$$, 'ledger', 'payment_job');
SQL
    echo "pg_cron jobs scheduled: ledger-retention, ledger-expire-inquiry, ledger-payments"
fi

instructions
