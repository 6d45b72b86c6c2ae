# Multi-process test: the guard decides on the table PostgreSQL acts on (ATTACKS.md §5, a
# name that resolves to one table when checked and another when used).  The owner of a
# protected table b.t keeps a decoy a.t ahead of it on search_path.  Session 2 holds a lock on
# the decoy; session 1 sends a statement naming "t", which the guard would check against the
# decoy while PostgreSQL waits for the lock; session 2 drops the decoy and commits, and
# PostgreSQL, looking the name up again after its wait, finds the protected table.  Every
# statement must still be refused (or act on the decoy), and the protected table stay as it
# was.  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap 'mnl_session_close_all; mnl_cluster_destroy_all' EXIT

mnl_ledger_cluster race || exit 1
q() { mnl_psql race -d ledger -Atc "$1" 2>&1; }

mnl_psql race -d ledger >/dev/null <<'SQL'
CREATE ROLE race_dba LOGIN;
CREATE SCHEMA a AUTHORIZATION race_dba;
CREATE SCHEMA b AUTHORIZATION race_dba;
SET ROLE race_dba;
CREATE FUNCTION a.spy() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
SQL
# A fresh protected table b.t for each attack: one that got through does not spoil the next.
fresh_protected() {
    mnl_psql race -d ledger >/dev/null <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS b.t, b.gone, a.t, a.gone;
SET ROLE race_dba;
CREATE TABLE b.t (id int PRIMARY KEY, org_unit_id int NOT NULL, note text);
INSERT INTO b.t VALUES (1, 9001, 'note 1'), (2, 9002, 'note 2');
SELECT ledger.protect_table('b.t', 'org_unit_id');
SQL
}

mnl_session_open s1 race race_dba
mnl_session_open s2 race race_dba
mnl_session s1 "SET search_path = a, b" >/dev/null

# race NAME SQL CHECK EXPECTED: the decoy locked by s2, SQL sent by s1, the decoy dropped
# while s1 waits; then CHECK (run as the superuser) must print EXPECTED.
race() {
    local name=$1 sql=$2 check=$3 expected=$4 i waiting=0
    fresh_protected
    q "CREATE TABLE a.t (id int, org_unit_id int, note text); ALTER TABLE a.t OWNER TO race_dba" >/dev/null
    mnl_session s2 "BEGIN; LOCK TABLE a.t IN ACCESS EXCLUSIVE MODE" >/dev/null
    mnl_session_send s1 "$sql"
    for i in $(seq 1 50); do
        [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE usename = 'race_dba' AND wait_event_type = 'Lock'")" -gt 0 ] &&
            { waiting=1; break; }
        sleep 0.1
    done
    mnl_session s2 "DROP TABLE a.t; COMMIT" >/dev/null
    mnl_session_wait s1
    local said=$R
    q "DROP TABLE IF EXISTS a.t" >/dev/null
    [ "$waiting" = 1 ] && [ "$(q "$check")" = "$expected" ]
    tap_ok $? "$name (the statement waited: $waiting; it said: $(echo "$said" | head -1))"
}

race guard_race_disable_rls "ALTER TABLE t DISABLE ROW LEVEL SECURITY" \
    "SELECT relrowsecurity FROM pg_class WHERE oid = 'b.t'::regclass" t
race guard_race_drop_policy "DROP POLICY mnl_rls_select ON t" \
    "SELECT count(*) FROM pg_policy WHERE polrelid = 'b.t'::regclass AND polname = 'mnl_rls_select'" 1
race guard_race_create_policy "CREATE POLICY open_all ON t USING (true)" \
    "SELECT count(*) FROM pg_policy WHERE polrelid = 'b.t'::regclass AND polname = 'open_all'" 0
race guard_race_create_trigger "CREATE TRIGGER spy AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION a.spy()" \
    "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'b.t'::regclass AND tgname = 'spy'" 0
race guard_race_create_rule "CREATE RULE spy AS ON INSERT TO t DO ALSO NOTHING" \
    "SELECT count(*) FROM pg_rewrite WHERE ev_class = 'b.t'::regclass" 0
race guard_race_create_index "CREATE INDEX spy ON t (note)" \
    "SELECT count(*) FROM pg_index WHERE indrelid = 'b.t'::regclass" 1
race guard_race_truncate "TRUNCATE t" \
    "SELECT count(*) FROM b.t" 2
race guard_race_rename "ALTER TABLE t RENAME TO gone" \
    "SELECT count(*) FROM pg_class WHERE oid = 'b.t'::regclass" 1
race guard_race_set_schema "ALTER TABLE t SET SCHEMA a" \
    "SELECT count(*) FROM pg_class WHERE relname = 't' AND relnamespace = 'b'::regnamespace" 1
race guard_race_drop_table "DROP TABLE t" \
    "SELECT count(*) FROM pg_class WHERE relname = 't' AND relnamespace = 'b'::regnamespace" 1
race guard_race_create_statistics "CREATE STATISTICS spy ON id, note FROM t" \
    "SELECT count(*) FROM pg_statistic_ext WHERE stxrelid = 'b.t'::regclass" 0

# The guard locks only for a caller PostgreSQL would let through: someone who does not own
# the table gets PostgreSQL's own refusal at once, without queueing a lock behind a reader
# (which would hold every later reader up behind it).
fresh_protected
q "CREATE ROLE race_other LOGIN; GRANT USAGE ON SCHEMA b TO race_other" >/dev/null
mnl_session_open s3 race race_other
mnl_session s2 "BEGIN; SELECT count(*) FROM b.t" >/dev/null
start=$(date +%s%N)
mnl_session s3 "SET lock_timeout = '5s'; ALTER TABLE b.t DISABLE ROW LEVEL SECURITY"
took=$(( ($(date +%s%N) - start) / 1000000 )) said=$R
mnl_session s2 "COMMIT" >/dev/null
echo "$said" | grep -q "must be owner of table t" && [ "$took" -lt 4000 ]
tap_ok $? "guard_lock_not_queued_by_non_owner: a non-owner is refused at once (${took} ms: $(echo "$said" | grep ERROR))"

tap_is "$(q "SELECT count(*) FROM pg_stat_activity WHERE usename = 'race_dba' AND state = 'idle in transaction (aborted)'")" 0 \
    "no session was left waiting"
tap_done
