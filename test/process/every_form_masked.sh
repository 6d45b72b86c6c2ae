# Multi-process test (invariant 2, ATTACKS.md §6): every form the number type accepts is
# masked everywhere a statement's text or a value lands in the server log or the trail.
# Twelve forms (ASCII, full-width, mixed widths; no separator, ASCII space or hyphen, U+3000
# and the dash look-alikes U+FF0D U+30FC U+2212 U+2010 U+2015), each a different valid number,
# go through every road: the logged statement (log_statement), the STATEMENT line of an
# error, a COPY line's CONTEXT, bind parameters (logged, and in an error's CONTEXT),
# auto_explain's query text, and a reveal's purpose kept in the trail.  Then no form of any
# of the numbers may be found in the log or the trail.  A positive control proves the search
# finds a form that is there.  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap mnl_cluster_destroy_all EXIT

mnl_ledger_cluster forms "log_statement = 'all'" "log_min_error_statement = error" \
    "log_parameter_max_length = -1" "log_parameter_max_length_on_error = -1" || exit 1
dir=${MNL_CLUSTER_DIR[forms]}
q() { mnl_psql forms -d ledger -Atc "$1" 2>&1; }
q "GRANT ledger_revealer TO postgres; CREATE TABLE copied (a int)" >/dev/null

# Twelve valid numbers, and the twelve forms of each (python: one line per form, forms of
# number i on lines 12*i .. 12*i+11).
numbers=$(q "SELECT string_agg(b || ledger.mynumber_check_digit(b), ' ')
             FROM (SELECT lpad((48151623420 + i * 7919)::text, 11, '0') AS b FROM generate_series(1, 12) i) x")
forms() {
    python3 - "$@" <<'PY'
import sys
W = str.maketrans("0123456789", "０１２３４５６７８９")
for n in sys.argv[1:]:
    a, b, c = n[:4], n[4:8], n[8:]
    w = lambda s: s.translate(W)
    for f in (n, f"{a} {b} {c}", f"{a}-{b}-{c}", w(n), f"{w(a)} {w(b)} {w(c)}",
              f"{w(a)}\u3000{w(b)}\u3000{w(c)}", f"{a}\uff0d{b}\uff0d{c}", f"{w(a)}\u30fc{w(b)}\u30fc{w(c)}",
              f"{w(a)}\u2212{b}\u2212{w(c)}", f"{a}\u2010{b}\u2010{c}", f"{w(a)}\u2015{w(b)}\u2015{w(c)}",
              w(a) + b + w(c)):
        print(f)
PY
}
mapfile -t all_forms < <(forms $numbers)
set -- $numbers
accepted=0
for k in $(seq 0 11); do          # number k in its form k
    f=${all_forms[$((12 * k + k))]}
    [ "$(q "SELECT ledger.mynumber_is_valid('$f')")" = t ] && accepted=$((accepted + 1))
done
tap_is "$accepted" 12 "each of the twelve forms is accepted by the type as a valid number"

sealed=$(q "SELECT ledger.seal('$1', 'forms:1')")
for k in $(seq 0 11); do
    f=${all_forms[$((12 * k + k))]}
    mnl_psql forms -d ledger -v ON_ERROR_STOP=0 >/dev/null 2>&1 <<SQL
SELECT 'statement $f';
SELECT 'failing $f', 1 / 0;
COPY copied FROM stdin;
$f
\.
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SELECT count(*) FROM pg_class WHERE relname = 'explained $f';
RESET auto_explain.log_min_duration;
SELECT ledger.reveal('$sealed'::ledger.sealed_mynumber, 'forms:1', 'purpose $f');
SQL
    python3 "$MNL_ROOT/test/process/bind_client.py" "$dir/sock" postgres ledger 'SELECT $1::text' "bound $f" >/dev/null
    python3 "$MNL_ROOT/test/process/bind_client.py" "$dir/sock" postgres ledger 'SELECT $1::int' "$f" >/dev/null
done
# An EUC_JP database: its log lines are in EUC_JP; every form it can hold is masked there too.
mnl_psql forms -d postgres -c "CREATE DATABASE eucjp ENCODING 'EUC_JP' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0" >/dev/null
euc_forms=()
for k in $(seq 0 11); do
    f=${all_forms[$((12 * k + k))]}
    e=$(printf '%s' "$f" | iconv -f UTF-8 -t EUC-JP 2>/dev/null) || continue
    euc_forms+=("$e")
    PGCLIENTENCODING=UTF8 mnl_psql forms -d eucjp -v ON_ERROR_STOP=0 >/dev/null 2>&1 <<SQL
SELECT 'eucjp statement $f';
SELECT 'eucjp failing $f', 1 / 0;
SQL
done
# The same forms, written into a ledger text column (an address around them): each is refused.
values=$(for f in "${all_forms[@]}"; do printf "('住所 %s 号'),\n" "$f"; done)
tap_is "$(q "SELECT count(*) FILTER (WHERE ledger.contains_mynumber(t)), count(*) FROM (VALUES ${values%,}) v(t)")" \
    "${#all_forms[@]}|${#all_forms[@]}" "every_form_refused_in_free_text: contains_mynumber finds every form (the free-text CHECKs' test)"
q "COPY (SELECT detail FROM ledger.audit_event WHERE detail IS NOT NULL) TO STDOUT" >"$dir/trail_details.txt"
tap_ok "$([ "$(grep -c 'purpose' "$dir/trail_details.txt")" -ge 12 ]; echo $?)" "the reveals' purposes are in the trail"
mnl_cluster_stop forms

grep -q "bound " "$dir/server.log" && grep -qi "parameters: \$1 = " "$dir/server.log" &&
    grep -q "unnamed portal parameter \$1 = " "$dir/server.log" && grep -q "COPY copied, line 1" "$dir/server.log" &&
    grep -q "Query Text: SELECT count(\*) FROM pg_class WHERE relname = 'explained" "$dir/server.log"
tap_ok $? "every road was logged: bind parameters, an error's parameter CONTEXT, a COPY line, auto_explain"

found=""
for i in "${!all_forms[@]}"; do
    needle=${all_forms[$i]}
    grep -qaF -- "$needle" "$dir/server.log" && found="$found log:number$((i / 12)):form$((i % 12))"
    grep -qaF -- "$needle" "$dir/trail_details.txt" && found="$found trail:number$((i / 12)):form$((i % 12))"
done
tap_is "${found# }" "" "every_form_masked: no form of any number in the server log or the trail"
found=""
for e in "${euc_forms[@]}"; do
    grep -qaF -- "$e" "$dir/server.log" && found="$found $(printf '%s' "$e" | iconv -f EUC-JP -t UTF-8)"
done
grep -qa "eucjp failing" "$dir/server.log" && [ "${#euc_forms[@]}" -ge 8 ]
tap_ok $? "the EUC_JP database's statements were logged (${#euc_forms[@]} forms it can hold)"
tap_is "${found# }" "" "every_form_masked_eucjp: no form of any number in the EUC_JP database's log lines"

# positive control: the search finds a form that is there
printf 'x %s y\n' "${all_forms[$((12 * 5 + 8))]}" >>"$dir/trail_details.txt"
grep -qaF -- "${all_forms[$((12 * 5 + 8))]}" "$dir/trail_details.txt"
tap_ok $? "the search finds a form that is there (mixed widths with U+2212)"
tap_done
