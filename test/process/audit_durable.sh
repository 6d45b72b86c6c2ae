# Multi-process test: "recorded before answered" holds across a crash (ATTACKS.md §7).  The
# audit writer is held up (a superuser keeps the trail locked), then the server stops
# abruptly (pg_ctl -m immediate) right after clients were answered.  A reveal's record, and
# (ledger.audit_read_durable, on by default) an audited read's record, is committed
# synchronously by the writer before the statement is answered: every answered statement
# has its record after the restart; so has every read whose values an error's text or a notice
# carried to the client.  The control, with read durability off, shows the test
# can see a loss: reads answered while the writer was held up are gone.  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap 'mnl_session_close_all; mnl_cluster_destroy_all' EXIT

mnl_ledger_cluster durable || exit 1
dir=${MNL_CLUSTER_DIR[durable]}
q() { mnl_psql durable -d ledger -Atc "$1" 2>&1; }
setup=$(q "SET synchronous_commit = on; GRANT ledger_revealer TO postgres; CREATE TABLE d (id int PRIMARY KEY, v text); SELECT ledger.audit_table('d');
   INSERT INTO d SELECT i, 'v' || i FROM generate_series(1, 10) i")
echo "$setup" | grep -q ERROR && { echo "Bail out! setup failed: $setup"; exit 1; }
sealed=$(q "SET synchronous_commit = on; SELECT ledger.seal('613805426170', 'durable:1')")   # its data key made durably
crash() {
    mnl_as_postgres "$MNL_PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
    mnl_cluster_start durable && mnl_wait_writer durable ledger
}
hold_writer() {   # the trail's tables locked: the writer's inserts wait
    mnl_session_open holder durable postgres
    mnl_session holder "BEGIN; SELECT format('LOCK TABLE %s IN EXCLUSIVE MODE', string_agg(c.oid::regclass::text, ', '))
        FROM pg_class c WHERE c.oid = 'ledger.audit_event'::regclass
           OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'ledger.audit_event'::regclass) \\gexec" >/dev/null
}
reads() {   # reads() TAG [SETTING]: ten audited reads, each answered
    local sql="" i
    for i in $(seq 1 10); do sql="$sql SELECT v FROM d WHERE id = $i /* $1 */;"; done
    mnl_psql durable -d ledger -Atc "${2:-SELECT 1}" -c "$sql" >/dev/null 2>&1
}
records() { q "SELECT count(*) FROM ledger.audit_event WHERE relation_name = 'public.d' AND kind = 'select' AND detail IS NULL" ; }

# Control: read durability off, the writer held up, the server stopped right after.
before=$(records)
hold_writer
start=$(date +%s%N)
reads control "SET ledger.audit_read_durable = off"
took=$(( ($(date +%s%N) - start) / 1000000 ))
crash
mnl_session_close holder
lost=$(( before + 10 - $(records) ))
tap_ok "$([ "$lost" -gt 0 ]; echo $?)" \
    "control: with ledger.audit_read_durable off, reads answered at once (${took} ms) are lost in a crash ($lost of 10)"

# Durable reads: they wait for the writer; once answered, a crash keeps them.
before=$(records)
hold_writer
( reads durable; echo done >"$dir/reads.done" ) &
sleep 2
tap_ok "$([ ! -f "$dir/reads.done" ]; echo $?)" "read_not_answered_before_durable: a read waits while its record cannot be committed"
mnl_session holder "COMMIT" >/dev/null
for i in $(seq 1 100); do [ -f "$dir/reads.done" ] && break; sleep 0.1; done
crash
mnl_session_close holder
tap_is "$(( $(records) - before ))" 10 "read_durable_across_crash: every answered read has its record after an immediate stop"

# Reveals: durable always.
revealed() { q "SELECT count(*) FROM ledger.audit_event WHERE kind = 'reveal' AND detail LIKE '%durable test%'"; }
before=$(revealed)
hold_writer
( for i in 1 2 3 4 5; do
      mnl_psql durable -d ledger -Atc "SELECT ledger.reveal('$sealed'::ledger.sealed_mynumber, 'durable:1', 'durable test $i')" \
          >>"$dir/reveals.out" 2>&1
  done; echo done >"$dir/reveals.done" ) &
sleep 2
tap_ok "$([ ! -s "$dir/reveals.out" ]; echo $?)" "reveal_not_answered_before_durable: no number returned while its record cannot be committed"
mnl_session holder "COMMIT" >/dev/null
for i in $(seq 1 100); do [ -f "$dir/reveals.done" ] && break; sleep 0.1; done
crash
mnl_session_close holder
tap_is "$(grep -c '^613805426170$' "$dir/reveals.out")" 5 "the five reveals were answered"
tap_is "$(( $(revealed) - before ))" 5 "reveal_durable_across_crash: every answered reveal has its record after an immediate stop"

# Rows and messages that reach the client before a read ends: a cursor's FETCH, an error's
# text (a failing cast quotes the value), a notice raised while rows are read.  None leaves
# the server before the records of the rows read so far are durable.
failed() {   # failed DETAIL [RELATION]: its records
    q "SELECT count(*) FROM ledger.audit_event WHERE relation_name = '${2:-public.d}' AND kind = 'select' AND detail = '$1'"
}
message_case() {   # message_case NAME SQL VALUE DETAIL [client [RELATION]]
    local name=$1 sql=$2 value=$3 detail=$4 before
    before=$(failed "$detail" "${6:-public.d}")
    logsize=$(stat -c %s "$(mnl_cluster_log durable)")
    rm -f "$dir/$name.out" "$dir/$name.done"
    hold_writer
    if [ "${5:-}" = client ]; then   # a driver's own protocol client (SQL is its command line)
        ( eval "$sql" >"$dir/$name.out" 2>&1; echo done >"$dir/$name.done" ) &
    else
        ( mnl_psql durable -d ledger -Atc "$sql" >"$dir/$name.out" 2>&1; echo done >"$dir/$name.done" ) &
    fi
    sleep 2
    tap_ok "$(! grep -q "$value" "$dir/$name.out"; echo $?)" \
        "${name}_not_sent_before_durable: the ${name} waits while the read's record cannot be committed"
    tap_ok "$(! tail -c +$((logsize + 1)) "$(mnl_cluster_log durable)" | grep -q "$value"; echo $?)" \
        "${name}_not_logged_before_durable: nor does the server log have it"
    mnl_session holder "COMMIT" >/dev/null
    for i in $(seq 1 100); do [ -f "$dir/$name.done" ] && break; sleep 0.1; done
    crash
    mnl_session_close holder
    tap_ok "$(grep -q "$value" "$dir/$name.out"; echo $?)" "the ${name} reached the client once the record was durable"
    tap_is "$(( $(failed "$detail" "${6:-public.d}") - before ))" 1 \
        "${name}_read_durable_across_crash: the read the ${name} came from is recorded after an immediate stop"
}
message_case error "SELECT (v || 'x')::int FROM d WHERE id = 3" 'v3x' 'statement failed'
message_case fetch "BEGIN; DECLARE c CURSOR FOR SELECT v FROM d ORDER BY id; FETCH 2 FROM c;" 'v1' 'rows fetched'
message_case portal "python3 $MNL_ROOT/test/process/fetch_client.py ${MNL_CLUSTER_DIR[durable]}/sock postgres ledger 'SELECT v FROM d ORDER BY id' 2" 'v1' 'rows fetched' client
message_case warning "DO \$\$DECLARE r record; BEGIN FOR r IN SELECT v FROM d WHERE id = 5 LOOP RAISE WARNING 'wrow %', r.v; END LOOP; END\$\$" \
    'wrow v5' 'rows read before a message to the client'
message_case notice "DO \$\$DECLARE r record; BEGIN FOR r IN SELECT v FROM d WHERE id = 4 LOOP RAISE NOTICE 'row %', r.v; END LOOP; END\$\$" \
    'row v4' 'rows read before a message to the client'
# COPY ... TO: its rows (CopyData) wait for the records like a query's.  A superuser's COPY of a
# whole table (as pg_dump runs it) is recorded before its first megabyte leaves; through a
# query, the query's reads are.  Rows of 10 kB: without the hold the server's send buffer
# would send them at once.
setup=$(q "SET synchronous_commit = on; CREATE TABLE big (id int PRIMARY KEY, v text); SELECT ledger.audit_table('big');
   INSERT INTO big SELECT i, 'big' || i || repeat('x', 10000) FROM generate_series(1, 300) i")
echo "$setup" | grep -q ERROR && { echo "Bail out! setup failed: $setup"; exit 1; }
message_case copy_table "python3 $MNL_ROOT/test/process/copy_client.py ${MNL_CLUSTER_DIR[durable]}/sock postgres ledger 'COPY big TO STDOUT'" \
    'big1x' 'copy to, rows before a message to the client' client public.big
message_case copy_query "python3 $MNL_ROOT/test/process/copy_client.py ${MNL_CLUSTER_DIR[durable]}/sock postgres ledger 'COPY (SELECT v FROM big ORDER BY id) TO STDOUT'" \
    'big1x' 'rows read before a message to the client' client public.big

# A lookup by number answers which person holds it: like a reveal, not before its record is
# durable.
lookups() { q "SELECT count(*) FROM ledger.audit_event WHERE kind = 'lookup'"; }
before=$(lookups)
rm -f "$dir/lookup.out" "$dir/lookup.done"
hold_writer
( mnl_psql durable -d ledger -Atc "SELECT 'answer:' || coalesce(ledger.find_person('613805426170', '131016')::text, 'none')" \
      >"$dir/lookup.out" 2>&1; echo done >"$dir/lookup.done" ) &
sleep 2
tap_ok "$(! grep -q 'answer:' "$dir/lookup.out"; echo $?)" \
    "lookup_not_answered_before_durable: a lookup by number waits while its record cannot be committed"
mnl_session holder "COMMIT" >/dev/null
for i in $(seq 1 100); do [ -f "$dir/lookup.done" ] && break; sleep 0.1; done
crash
mnl_session_close holder
tap_ok "$(grep -q 'answer:' "$dir/lookup.out"; echo $?)" "the lookup was answered once its record was durable ($(head -c 80 "$dir/lookup.out"))"
tap_is "$(( $(lookups) - before ))" 1 "lookup_durable_across_crash: an answered lookup is recorded after an immediate stop"

# A function called through the fast path (FunctionCall, libpq's PQfn): its result waits for
# the records of what it read, like a statement's rows.
q "CREATE FUNCTION read_d() RETURNS text LANGUAGE sql AS \$\$SELECT string_agg(v, ',' ORDER BY id) FROM d WHERE id <= 3\$\$" >/dev/null
fn_oid=$(q "SELECT 'read_d()'::regprocedure::oid")
reads_of_d() { q "SELECT count(*) FROM ledger.audit_event WHERE relation_name = 'public.d' AND kind = 'select'"; }
before=$(reads_of_d)
rm -f "$dir/fastpath.out" "$dir/fastpath.done"
hold_writer
( python3 "$MNL_ROOT/test/process/fn_client.py" "$dir/sock" postgres ledger "$fn_oid" >"$dir/fastpath.out" 2>&1
  echo done >"$dir/fastpath.done" ) &
sleep 2
tap_ok "$(! grep -q 'v1,v2' "$dir/fastpath.out"; echo $?)" \
    "fastpath_result_not_sent_before_durable: a fast-path call's result waits while its read's record cannot be committed ($(tr '\n' ' ' <"$dir/fastpath.out"))"
mnl_session holder "COMMIT" >/dev/null
for i in $(seq 1 100); do [ -f "$dir/fastpath.done" ] && break; sleep 0.1; done
crash
mnl_session_close holder
tap_ok "$(grep -q 'v1,v2,v3' "$dir/fastpath.out"; echo $?)" "the fast-path result reached the client once the record was durable"
tap_ok "$([ "$(reads_of_d)" -gt "$before" ]; echo $?)" \
    "fastpath_read_durable_across_crash: the read behind a fast-path result is recorded after an immediate stop"

# ... and when the record cannot be made durable in time, the result does not leave with the error.
hold_writer
q "ALTER ROLE postgres SET ledger.audit_queue_timeout = 1000" >/dev/null
out=$(python3 "$MNL_ROOT/test/process/fn_client.py" "$dir/sock" postgres ledger "$fn_oid" 2>&1)
mnl_session holder "ROLLBACK" >/dev/null
mnl_session_close holder
q "ALTER ROLE postgres RESET ledger.audit_queue_timeout" >/dev/null
tap_ok "$(echo "$out" | grep -q '^ERR 55000' && ! echo "$out" | grep -q 'v1,v2'; echo $?)" \
    "fastpath_result_not_sent_when_not_durable: a fast-path result whose read could not be recorded does not leave ($(echo "$out" | tr '\n' ' '))"

# A statement whose records cannot be made durable in time: none of its rows leave with the
# error (a client speaking the protocol itself would otherwise see them).
hold_writer
q "ALTER ROLE postgres SET ledger.audit_queue_timeout = 1000" >/dev/null
out=$(python3 "$MNL_ROOT/test/process/fetch_client.py" "$dir/sock" postgres ledger 'SELECT v FROM d ORDER BY id' 0 2>&1)
mnl_session holder "ROLLBACK" >/dev/null
mnl_session_close holder
q "ALTER ROLE postgres RESET ledger.audit_queue_timeout" >/dev/null
tap_ok "$(echo "$out" | grep -q '^ERR 55000' && ! echo "$out" | grep -q '^v'; echo $?)" \
    "rows_not_sent_when_not_durable: the rows of a statement whose record failed do not leave ($(echo "$out" | tr '\n' ' '))"

# A record that cannot be made durable in time: the text is withheld, the SQLSTATE kept.
hold_writer
out=$(mnl_psql durable -d ledger -At -c "SET ledger.audit_queue_timeout = 1000" \
      -c "\\set VERBOSITY verbose" -c "SELECT (v || 'y')::int FROM d WHERE id = 5" 2>&1)
mnl_session holder "ROLLBACK" >/dev/null
mnl_session_close holder
tap_ok "$(echo "$out" | grep -q 'withheld' && ! echo "$out" | grep -q 'v5y' && echo "$out" | grep -q 22P02; echo $?)" \
    "message_withheld_when_not_durable: the error's text does not leave, its SQLSTATE does ($(echo "$out" | head -1 | cut -c1-90))"
tap_done
