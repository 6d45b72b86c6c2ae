# Multi-process test: data key rotation with ledger.rekey (interrupted and resumed), and
# key-encryption key rotation through ledger.kek_command_next and a restart.  TAP output.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap mnl_cluster_destroy_all EXIT

mnl_cluster_create rot "ledger.database = 'ledger'" || { echo "Bail out! initdb failed"; exit 1; }
mnl_cluster_start rot || { echo "Bail out! cluster did not start"; exit 1; }
dir=${MNL_CLUSTER_DIR[rot]}
q() { mnl_psql rot -d ledger -Atc "$1" 2>&1; }
mnl_psql rot -d postgres -c "CREATE DATABASE ledger" >/dev/null
mnl_psql rot -d ledger >/dev/null <<'SQL'
CREATE EXTENSION mynumber_ledger;
GRANT ledger_revealer TO postgres;
CREATE TABLE p (id int PRIMARY KEY, mn ledger.sealed_mynumber NOT NULL);
INSERT INTO p SELECT i, ledger.seal((b || ledger.mynumber_check_digit(b))::ledger.mynumber, 'p:' || i)
FROM (SELECT i, lpad((i * 7919)::text, 11, '0') b FROM generate_series(1, 8000) i) x
WHERE ledger.mynumber_is_valid(b || ledger.mynumber_check_digit(b));
SQL
mnl_wait_writer rot ledger
digest="SELECT count(*) || ':' || md5(string_agg(ledger.reveal(mn, 'p:' || id, 'check')::text, ',' ORDER BY id)) FROM p"
want=$(q "$digest")
total=$(q "SELECT count(*) FROM p")
old=$(q "SELECT ledger.active_key_id('number')")
new=$(q "SELECT ledger.rotate_key('number')")
[ "$new" != "$old" ]
tap_ok $? "rotate_key makes a new data key ($old -> $new)"
tap_is "$(q "SELECT retired_at IS NOT NULL FROM ledger.data_key WHERE key_id = $old")" t "the old key is retired"
tap_is "$(q "SELECT ledger.sealed_key_id(ledger.seal('123456789018', 'x'))")" "$new" "new values are sealed with the new key"
tap_is "$(q "$digest")" "$want" "values sealed with the retired key still open"

# Interrupt a rekey part-way (statement_timeout), then resume it.
PGOPTIONS="-c statement_timeout=400" q "CALL ledger.rekey('p', 'mn', \$\$'p:' || id || left(pg_sleep(0.0002)::text, 0)\$\$, 200)" >/dev/null
moved=$(q "SELECT count(*) FROM p WHERE ledger.sealed_key_id(mn) = $new")
[ "$moved" -gt 0 ] && [ "$moved" -lt "$total" ]
tap_ok $? "rekey_interrupted: a cancelled rekey kept its committed batches ($moved of $total)"
q "CALL ledger.rekey('p', 'mn', \$\$'p:' || id\$\$, 1000)" >/dev/null
tap_is "$(q "SELECT count(*) FROM p WHERE ledger.sealed_key_id(mn) <> $new")" 0 "rekey_resumed: the second run finished the rest"
tap_is "$(q "SELECT done, remaining FROM ledger.rekey_progress WHERE finished_at IS NOT NULL ORDER BY started_at DESC LIMIT 1" | tr '|' ' ')" \
    "$((total - moved)) 0" "rekey_progress shows what the resumed run did"
tap_is "$(q "$digest")" "$want" "every value opens to the same number after the rekey"

# KEK rotation: next key at start, rewrap, swap, restart.
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' | mnl_as_postgres tee "$dir/kek.next" >/dev/null
echo "ledger.kek_command_next = 'cat $dir/kek.next'" | mnl_as_postgres tee -a "$dir/data/postgresql.conf" >/dev/null
mnl_cluster_restart rot
tap_is "$(q "SELECT ledger.rewrap_data_keys()")" "$(q "SELECT count(*) FROM ledger.data_key WHERE destroyed_at IS NULL")" \
    "rewrap_data_keys wraps every data key with the next key-encryption key"
tap_is "$(q "$digest")" "$want" "between the rewrap and the restart every value still opens (next key tried second)"
echo "ledger.kek_command = 'cat $dir/kek.next'" | mnl_as_postgres tee -a "$dir/data/postgresql.conf" >/dev/null
echo "ledger.kek_command_next = ''" | mnl_as_postgres tee -a "$dir/data/postgresql.conf" >/dev/null
mnl_cluster_restart rot
mnl_wait_writer rot ledger
tap_is "$(q "$digest")" "$want" "kek_rotation: after the swap and a restart every value opens"
tap_done
