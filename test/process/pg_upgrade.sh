# Multi-process test: a ledger cluster moves from PostgreSQL 15 to this server's version with
# pg_upgrade (docs/operations.md), the extension preloaded in both.  Runs where PostgreSQL 15 is
# installed beside a newer version: in the suite's PostgreSQL 17 root (scripts/deps.sh installs
# 15 there from Debian 12); elsewhere it says it skipped.  The sample municipality is kept
# under 15 (a payment run, reveals), the digest taken; after the upgrade the sealed numbers
# open, the trail verifies against that digest, a payment run and a retention run succeed,
# and the audit writer seals on.  pg_upgrade's own server starts (binary-upgrade mode) run no
# key command and are not refused by the guard.  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap 'MNL_PGBIN=$NEW_BIN; mnl_cluster_destroy_all' EXIT

OLD=15
OLD_BIN=/usr/lib/postgresql/$OLD/bin
NEW_BIN=$MNL_PGBIN
if [ ! -x "$OLD_BIN/postgres" ] || [ "$OLD_BIN" = "$NEW_BIN" ]; then
    echo "1..0 # SKIP PostgreSQL $OLD is not installed beside $("$NEW_BIN/postgres" -V) (the suite runs this in its PostgreSQL 17 root)"
    exit 0
fi

# The extension for PostgreSQL 15, built from this tree in a copy of its own.
build=$(mktemp -d /tmp/mnl-build15.XXXXXX)
(cd "$MNL_ROOT" && git ls-files -co --exclude-standard -z 2>/dev/null | xargs -0 cp --parents -t "$build/") 2>/dev/null ||
    cp -a "$MNL_ROOT/." "$build/"
make -C "$build" -s clean >/dev/null 2>&1
if make -C "$build" -s PG_CONFIG="$OLD_BIN/pg_config" with_llvm=no install >"$build/build.log" 2>&1; then
    tap_ok 0 "the extension builds and installs for PostgreSQL $OLD"
else
    tap_ok 1 "the extension builds and installs for PostgreSQL $OLD ($(tail -3 "$build/build.log" | tr '\n' ' '))"
    tap_done; exit 1
fi
rm -rf "$build"

# The old cluster (15).
MNL_PGBIN=$OLD_BIN
mnl_ledger_cluster old "compute_query_id = on" || exit 1
old=${MNL_CLUSTER_DIR[old]}
qo() { mnl_psql old -d ledger -Atc "$1" 2>&1; }
out=$(mnl_psql old -d ledger -v ON_ERROR_STOP=1 -q -f "$MNL_ROOT/scripts/sample.sql" 2>&1)
tap_ok $? "the sample municipality is kept under PostgreSQL $OLD ($(echo "$out" | grep ERROR | head -1))"
reveal="SET ROLE examiner_1; SELECT md5(string_agg(ledger.reveal_person_number('131016', person_id, '移行確認')::text, ',' ORDER BY person_id))
        FROM (SELECT person_id FROM ledger.person ORDER BY person_id LIMIT 3) p"
numbers=$(qo "$reveal")
for i in $(seq 1 60); do
    [ "$(qo "SELECT count(*) FROM ledger.verify_audit()")" = 0 ] && break
    qo "SELECT ledger.audit_seal_now()" >/dev/null; sleep 0.5
done
digest=$(qo "SELECT block_seq || ',' || encode(block_hash, 'hex') FROM ledger.audit_digest()")
persons=$(qo "SELECT count(*) FROM ledger.person")
mnl_cluster_stop old

# The new cluster, initialised empty, the same settings; pg_upgrade between the two.
MNL_PGBIN=$NEW_BIN
mnl_cluster_create new "ledger.database = 'ledger'" "compute_query_id = on" || { echo "Bail out! initdb failed"; exit 1; }
new=${MNL_CLUSTER_DIR[new]}
mnl_as_postgres cp "$old/kek" "$new/kek"
work=$(mktemp -d /tmp/mnl-pgupgrade.XXXXXX); chown postgres "$work"
out=$(cd "$work" && mnl_as_postgres "$NEW_BIN/pg_upgrade" -b "$OLD_BIN" -B "$NEW_BIN" -d "$old/data" -D "$new/data" \
      -U postgres 2>&1)
status=$?
tap_ok $status "pg_upgrade from $OLD to $("$NEW_BIN/postgres" -V | awk '{print $3}') with the extension preloaded ($(echo "$out" | grep -i -m2 'fatal\|error\|failure' | tr '\n' ' '))"
[ $status = 0 ] || { grep -h -B2 -A3 -e 'ERROR:' -e 'FATAL:' "$new"/data/pg_upgrade_output.d/*/log/*.log 2>/dev/null | head -40 | sed 's/^/# /'; }
tap_is "$(cat "$new"/data/pg_upgrade_output.d/*/log/pg_upgrade_server.log 2>/dev/null | grep -c -e 'ERROR:' -e 'FATAL:')" 0 \
    "pg_upgrade_no_key_or_guard_during_binary_upgrade: its server starts ran no key command and met no refusal"
rm -rf "$work"

mnl_cluster_start new
mnl_wait_writer new ledger
tap_ok $? "pg_upgrade_writer_runs: the audit writer attaches after the upgrade"
qn() { mnl_psql new -d ledger -Atc "$1" 2>&1; }
tap_is "$(qn "SELECT count(*) FROM ledger.person")" "$persons" "every person is there ($persons)"
tap_is "$(qn "$reveal")" "$numbers" "pg_upgrade_numbers_open: the sealed numbers open on the new version"
tap_is "$(qn "SELECT count(*) FROM ledger.verify_audit(${digest%,*}, decode('${digest#*,}', 'hex'))")" 0 \
    "pg_upgrade_trail_verifies: the trail verifies against the digest kept before the upgrade"
out=$(mnl_psql new -d ledger -v ON_ERROR_STOP=1 -Atc "SET ROLE payment_job" -c "CALL ledger.prepare_payments('2026-12-01')" 2>&1)
tap_ok $? "pg_upgrade_payment_run: a payment run succeeds after the upgrade ($(echo "$out" | grep ERROR | head -1))"
out=$(mnl_psql new -d ledger -v ON_ERROR_STOP=1 -Atc "CALL ledger.run_retention()" 2>&1)
tap_ok $? "pg_upgrade_retention_run: a retention run succeeds after the upgrade ($(echo "$out" | grep ERROR | head -1))"
for i in $(seq 1 60); do
    [ "$(qn "SELECT count(*) FROM ledger.verify_audit()")" = 0 ] && break
    qn "SELECT ledger.audit_seal_now()" >/dev/null; sleep 0.5
done
tap_ok "$([ "$(qn "SELECT block_seq FROM ledger.audit_digest()")" -gt "${digest%,*}" ] &&
          [ "$(qn "SELECT count(*) FROM ledger.verify_audit()")" = 0 ]; echo $?)" \
    "sealing goes on after the upgrade and the trail verifies"
tap_done
