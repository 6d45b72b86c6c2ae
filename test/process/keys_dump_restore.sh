# Multi-process test: the key-encryption key from ledger.kek_command, and sealed numbers
# through a real pg_dump / pg_restore into a fresh database.  TAP output.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap mnl_cluster_destroy_all EXIT

mnl_cluster_create keys "ledger.database = 'src'" || { echo "Bail out! initdb failed"; exit 1; }
mnl_cluster_start keys || { echo "Bail out! cluster did not start"; exit 1; }
dir=${MNL_CLUSTER_DIR[keys]}
kek=$(cat "$dir/kek")
q() { mnl_psql keys -d "$1" -Atc "$2" 2>&1; }

mnl_psql keys -d postgres -c "CREATE DATABASE src" -c "CREATE DATABASE dst" >/dev/null
mnl_psql keys -d src >/dev/null <<'SQL'
CREATE EXTENSION mynumber_ledger;
GRANT ledger_revealer TO postgres;
CREATE TABLE person (id int PRIMARY KEY, mn ledger.sealed_mynumber NOT NULL, mn_index bytea NOT NULL);
INSERT INTO person
SELECT i, ledger.seal(n, 'person:' || i), ledger.blind_index(n)
FROM (SELECT i, (b || ledger.mynumber_check_digit(b))::ledger.mynumber AS n
      FROM (SELECT i, lpad((i * 7919)::text, 11, '0') AS b FROM generate_series(1, 200) i) x
      WHERE ledger.mynumber_is_valid(b || ledger.mynumber_check_digit(b))) y;
CREATE INDEX ON person (mn_index);
SQL
mnl_wait_writer keys src
digest="SELECT count(*) || ':' || md5(string_agg(id || '/' || ledger.reveal(mn, 'person:' || id, 'restore check')::text, ',' ORDER BY id)) FROM person"
want=$(q src "$digest")
stored=$(q src "SELECT md5(string_agg(mn::text, ',' ORDER BY id)) FROM person")

mnl_as_postgres "$MNL_PGBIN/pg_dump" -h "$dir/sock" -U postgres -Fc -f "$dir/src.dump" src
tap_ok $? "pg_dump of a database with sealed numbers"
grep -c "$kek" "$dir/src.dump" >/dev/null
tap_ok $((1 - $?)) "kek_not_in_dump: the key-encryption key is nowhere in the dump"
mnl_as_postgres "$MNL_PGBIN/pg_restore" -h "$dir/sock" -U postgres --exit-on-error -d dst "$dir/src.dump"
tap_ok $? "pg_restore into a fresh database"
tap_is "$(q dst "SELECT md5(string_agg(mn::text, ',' ORDER BY id)) FROM person")" "$stored" \
    "sealed_dump_round_trip: the restored values are the same bytes (no re-encryption)"
tap_is "$(q dst "$digest")" "$want" "sealed_dump_round_trip: every restored value opens to the same number"
n=$(q src "SELECT ledger.reveal(mn, 'person:' || id, 'lookup')::text FROM person WHERE id = 77")
tap_is "$(q dst "SELECT id FROM person WHERE mn_index = ledger.blind_index('$n')")" 77 \
    "the blind index finds a person in the restored database"

tap_is "$(q src "SELECT count(*) FROM pg_settings WHERE name = 'ledger.kek_command'")" 1 "the superuser sees the setting"
q src "CREATE ROLE regress_plain LOGIN" >/dev/null
tap_is "$(PGUSER=regress_plain "$MNL_PGBIN/psql" -X -h "$dir/sock" -d src -Atc "SELECT count(*) FROM pg_settings WHERE name = 'ledger.kek_command'" 2>&1)" 0 \
    "kek_command_hidden: an ordinary role does not see ledger.kek_command"
grep -q "$kek" "$dir/server.log"
tap_ok $((1 - $?)) "kek_not_in_log: the key never reaches the server log"

# Another key-encryption key: nothing opens, and the error says why without any key.
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' | mnl_as_postgres tee "$dir/kek" >/dev/null
mnl_cluster_restart keys
out=$(q src "SELECT ledger.reveal(mn, 'person:1', 'x') FROM person WHERE id = 1")
echo "$out" | grep -q "does not open with the configured key-encryption key"
tap_ok $? "wrong_kek_refused: values sealed under another key-encryption key do not open"

# A command that prints something else stops the server at start.
echo "not a key" | mnl_as_postgres tee "$dir/kek" >/dev/null
mnl_cluster_stop keys
mnl_cluster_start keys 2>/dev/null
tap_ok $((1 - $?)) "malformed_kek_stops_startup: the server does not start with a malformed key"
grep -q "ledger.kek_command did not print a 32-byte key" "$dir/server.log"
tap_ok $? "malformed_kek_stops_startup: the log says why"

# No command at all: the server starts, CREATE EXTENSION refuses.
echo "ledger.kek_command = ''" | mnl_as_postgres tee -a "$dir/data/postgresql.conf" >/dev/null
mnl_cluster_start keys
out=$(q postgres "CREATE EXTENSION mynumber_ledger")
echo "$out" | grep -q "no key-encryption key is configured"
tap_ok $? "missing_kek_refuses_create_extension"
tap_done
