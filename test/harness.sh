# test/harness.sh — throwaway PostgreSQL clusters for every suite (sourced, not run).
#
# A cluster lives in a private directory under /tmp owned by the postgres OS user (initdb
# refuses root, and the checkout may sit where postgres cannot read).  It listens only on a
# Unix socket in that directory, so its port number never clashes with another server and
# nobody outside root and postgres can reach it.  The server log is copied to
# test/results/logs/ when the cluster stops, for inspection after the run.
#
#   mnl_cluster_create NAME [key=value ...]   initdb, our library preloaded unless overridden
#   mnl_cluster_start NAME | mnl_cluster_stop NAME | mnl_cluster_restart NAME
#   mnl_cluster_env NAME                      export PGHOST, PGPORT, PGUSER for clients
#   mnl_cluster_log NAME                      path of the server log
#   mnl_psql NAME [psql args]                 psql -X -v ON_ERROR_STOP=1 against NAME
#   mnl_ledger_cluster NAME [key=value ...]   a started cluster, database ledger, extension, writer
#   mnl_session_open S NAME ROLE [DB]         an open session of ROLE, kept across statements
#   mnl_session S SQL / mnl_session_close S   run SQL in it (output in $R) / end it
#
# Every function expects to run as root (test.sh and run.sh re-run themselves with sudo).

MNL_ROOT=${MNL_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
MNL_PGBIN=${MNL_PGBIN:-$(pg_config --bindir)}
MNL_RESULTS=${MNL_RESULTS:-$MNL_ROOT/test/results}
MNL_CLUSTERS=${MNL_CLUSTERS:-}
declare -gA MNL_CLUSTER_DIR 2>/dev/null || true

mnl_as_postgres() {
    runuser -u postgres -- "$@"
}

# Directory of cluster NAME (created on first use).
mnl_cluster_dir() {
    local name=$1
    if [ -z "${MNL_CLUSTER_DIR[$name]:-}" ]; then
        local dir
        dir=$(mktemp -d "/tmp/mnl-$name.XXXXXX")
        chown postgres:postgres "$dir"
        chmod 700 "$dir"
        MNL_CLUSTER_DIR[$name]=$dir
        MNL_CLUSTERS="$MNL_CLUSTERS $name"
    fi
    echo "${MNL_CLUSTER_DIR[$name]}"
}

mnl_cluster_create() {
    local name=$1; shift
    local dir
    mnl_cluster_dir "$name" >/dev/null
    dir=${MNL_CLUSTER_DIR[$name]}
    mnl_as_postgres "$MNL_PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust \
        -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2; return 1; }
    mnl_as_postgres mkdir -p "$dir/sock"
    # A throwaway key-encryption key for this cluster only.
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' | mnl_as_postgres tee "$dir/kek" >/dev/null
    chmod 600 "$dir/kek"
    {
        echo "# written by test/harness.sh"
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$dir/sock'"
        echo "port = 5432"
        echo "shared_preload_libraries = 'mynumber_ledger'"
        echo "ledger.kek_command = 'cat $dir/kek'"
        echo "fsync = off"
        echo "synchronous_commit = off"
        echo "full_page_writes = off"
        echo "max_connections = 40"
        echo "lc_messages = 'C'"
        echo "log_line_prefix = '%m [%p] %q%u@%d '"
        echo "log_min_error_statement = error"
        echo "max_wal_size = 2GB"
        local kv
        for kv in "$@"; do echo "$kv"; done
    } | mnl_as_postgres tee -a "$dir/data/postgresql.conf" >/dev/null
}

mnl_cluster_log() {
    echo "${MNL_CLUSTER_DIR[$1]}/server.log"
}

mnl_cluster_start() {
    local dir=${MNL_CLUSTER_DIR[$1]}
    mnl_as_postgres "$MNL_PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
}

mnl_cluster_stop() {
    local name=$1
    local dir=${MNL_CLUSTER_DIR[$name]:-}
    [ -n "$dir" ] && [ -d "$dir/data" ] || return 0
    mnl_as_postgres "$MNL_PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
    mkdir -p "$MNL_RESULTS/logs"
    [ -f "$dir/server.log" ] && cp "$dir/server.log" "$MNL_RESULTS/logs/$name.log"
    return 0
}

mnl_cluster_restart() {
    mnl_cluster_stop "$1"
    mnl_cluster_start "$1"
}

# Stop and remove a cluster's directory (its log was kept by mnl_cluster_stop).
mnl_cluster_destroy() {
    local name=$1
    local dir=${MNL_CLUSTER_DIR[$name]:-}
    [ -n "$dir" ] || return 0
    mnl_cluster_stop "$name"
    rm -rf "$dir"
    unset "MNL_CLUSTER_DIR[$name]"
}

mnl_cluster_env() {
    local dir=${MNL_CLUSTER_DIR[$1]}
    export PGHOST="$dir/sock" PGPORT=5432 PGUSER=postgres
}

mnl_psql() {
    local name=$1; shift
    local dir=${MNL_CLUSTER_DIR[$name]}
    PGHOST="$dir/sock" PGPORT=5432 PGUSER=postgres \
        "$MNL_PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"
}

# mnl_period_key_command DIR: writes DIR/periodkey.sh, a retention-period secret store kept
# outside the database (get prints the period's secret, made once; forget deletes it for
# good), and prints the ledger.period_key_command setting that uses it.
mnl_period_key_command() {
    local dir=$1
    cat > "$dir/periodkey.sh" <<'SH'
#!/bin/sh
d=$(dirname "$0")/periods
mkdir -p "$d"
case "$1" in
    get)    if [ ! -f "$d/$2" ]; then
                [ -f "$d/$2.forgotten" ] && exit 3
                head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$d/$2"
            fi
            cat "$d/$2" ;;
    forget) rm -f "$d/$2" && touch "$d/$2.forgotten" ;;
    *)      exit 2 ;;
esac
SH
    chmod 755 "$dir/periodkey.sh"; chown postgres "$dir/periodkey.sh"
    echo "ledger.period_key_command = '$dir/periodkey.sh %o %p'"
}

# mnl_ledger_cluster NAME [key=value ...]: a started cluster with a database "ledger", the
# extension created in it and its audit writer attached (ledger.database = 'ledger', then the
# settings given); prints "Bail out!" and fails otherwise.
mnl_ledger_cluster() {
    local name=$1; shift
    mnl_cluster_create "$name" "ledger.database = 'ledger'" "$@" || { echo "Bail out! initdb failed"; return 1; }
    mnl_cluster_start "$name" || { echo "Bail out! cluster did not start"; return 1; }
    mnl_psql "$name" -d postgres -c "CREATE DATABASE ledger" >/dev/null &&
        mnl_psql "$name" -d ledger -c "CREATE EXTENSION mynumber_ledger" >/dev/null ||
        { echo "Bail out! the extension was not created"; return 1; }
    mnl_wait_writer "$name" ledger || { echo "Bail out! writer did not start"; return 1; }
}

# mnl_wait_writer NAME DB: wait (up to 30 s) until the audit writer of cluster NAME is
# attached to DB, where the extension must exist.
mnl_wait_writer() {
    local name=$1 db=$2 i
    for i in $(seq 1 60); do
        [ "$(mnl_psql "$name" -d "$db" -Atc "SELECT ready FROM ledger.audit_writer_status()" 2>/dev/null)" = t ] && return 0
        sleep 0.5
    done
    return 1
}

# Open sessions kept across statements of other sessions (a staff member logged in while
# someone else retires them, say).  A session is a psql reading a FIFO, its output kept in a
# file: unlike a bash coproc, the descriptors outlive the process, so a session the server
# ends (a retirement, the idle limit) is read to its last line instead of killing the test.
declare -A MNL_SESSION_FD MNL_SESSION_OUT MNL_SESSION_PID MNL_SESSION_POS
# mnl_session_open NAME CLUSTER ROLE [DB]
mnl_session_open() {
    local name=$1 cluster=$2 role=$3 db=${4:-ledger} dir fd
    dir=$(mktemp -d "${TMPDIR:-/tmp}/mnl-session.XXXXXX")
    mkfifo "$dir/in"
    PGHOST="${MNL_CLUSTER_DIR[$cluster]}/sock" PGPORT=5432 \
        "$MNL_PGBIN/psql" -X -At -U "$role" -d "$db" <"$dir/in" >"$dir/out" 2>&1 &
    MNL_SESSION_PID[$name]=$!
    exec {fd}>"$dir/in"
    MNL_SESSION_FD[$name]=$fd
    MNL_SESSION_OUT[$name]=$dir/out
    MNL_SESSION_POS[$name]=0
}
# mnl_session NAME SQL: run SQL in the open session (up to 20 s); its output is left in $R.
# A session that has ended gives what it printed last (the server's message) in $R.
mnl_session() {
    mnl_session_send "$1" "$2"
    mnl_session_wait "$1"
}
# mnl_session_send NAME SQL: send SQL to the open session without waiting for it (a statement
# that waits on another session's lock); mnl_session_wait NAME then collects its output in $R.
declare -A MNL_SESSION_MARKER
mnl_session_send() {
    local name=$1 marker="__end_${RANDOM}_${RANDOM}__"
    MNL_SESSION_MARKER[$name]=$marker
    # \echo, not a SELECT: it answers in an aborted transaction too.
    ( printf '%s\n;\n\\echo %s\n' "$2" "$marker" >&"${MNL_SESSION_FD[$name]}" ) 2>/dev/null
}
mnl_session_wait() {
    local name=$1 marker=${MNL_SESSION_MARKER[$1]} out=${MNL_SESSION_OUT[$1]} i
    for i in $(seq 1 200); do
        grep -q "^$marker\$" "$out" && break
        kill -0 "${MNL_SESSION_PID[$name]}" 2>/dev/null || { sleep 0.2; break; }
        sleep 0.1
    done
    R=$(tail -c +"$((MNL_SESSION_POS[$name] + 1))" "$out" | sed "/^$marker\$/,\$d")
    MNL_SESSION_POS[$name]=$(stat -c %s "$out")
}
# mnl_session_close NAME: end the session (\q) and wait for it.
mnl_session_close() {
    local name=$1 fd=${MNL_SESSION_FD[$1]}
    ( printf '\\q\n' >&"$fd" ) 2>/dev/null
    exec {fd}>&-
    wait "${MNL_SESSION_PID[$name]}" 2>/dev/null
    rm -rf "$(dirname "${MNL_SESSION_OUT[$name]}")"
    unset "MNL_SESSION_FD[$name]" "MNL_SESSION_PID[$name]"
}
# Close every open session; for trap EXIT (before the clusters go).
mnl_session_close_all() {
    local name
    for name in "${!MNL_SESSION_FD[@]}"; do
        mnl_session_close "$name"
    done
}

# Stop every cluster this shell created; for trap EXIT.
mnl_cluster_destroy_all() {
    local name
    for name in $MNL_CLUSTERS; do
        mnl_cluster_destroy "$name"
    done
}

# mnl_wait_flag FILE: wait (up to 30 s) until FILE exists, then remove it.  A test client
# that takes commands on stdin (fastpath.py, portal.py: "touch FILE") makes it once the
# commands before it are done, so that what the test does next comes after them for certain
# (a guessed sleep fails on a loaded machine).
mnl_wait_flag() {
    local i
    for i in $(seq 1 300); do [ -e "$1" ] && break; sleep 0.1; done
    rm -f "$1"
}

# --- TAP helpers for the shell-written suites -------------------------------------------

MNL_TAP_N=0
MNL_TAP_FAILED=0

tap_ok() {    # tap_ok CONDITION_EXIT_CODE DESCRIPTION
    MNL_TAP_N=$((MNL_TAP_N + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $MNL_TAP_N - $2"
    else
        echo "not ok $MNL_TAP_N - $2"
        MNL_TAP_FAILED=$((MNL_TAP_FAILED + 1))
    fi
}

tap_is() {    # tap_is GOT EXPECTED DESCRIPTION
    if [ "$1" = "$2" ]; then
        tap_ok 0 "$3"
    else
        tap_ok 1 "$3"
        echo "#   got:      '$1'"
        echo "#   expected: '$2'"
    fi
}

tap_done() {
    echo "1..$MNL_TAP_N"
    [ "$MNL_TAP_FAILED" -eq 0 ]
}
