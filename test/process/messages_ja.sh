# Multi-process test: the extension speaks Japanese from its message catalog (po/ja.po,
# core/nls.c), in every encoding.  Every message id of the C sources has a translation; under
# lc_messages = 'ja_JP.UTF-8' the refusals read in Japanese; in an EUC_JP database, clients
# in UTF8, SJIS and EUC_JP each get the refusal's own SQLSTATE (42501, 22023, 22P02) and its
# text correctly in their encoding — in Japanese and in English — and no message holds the
# number it refused.  TAP.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap 'mnl_cluster_destroy_all' EXIT
major=$("$MNL_PGBIN/postgres" --version | sed -n 's/.* \([0-9][0-9]*\)\..*/\1/p')

# 1. The catalog is complete: every message id xgettext finds in the C sources is translated.
pot=$(mktemp /tmp/mnl-pot.XXXXXX)
make -s -C "$MNL_ROOT" pot POT_OUT="$pot" >/dev/null 2>&1
tap_ok $? "the message ids are extracted from the C sources (make pot)"
missing=$(msgcmp "$MNL_ROOT/po/ja.po" "$pot" 2>&1 | grep -c "this message is used but not defined")
untranslated=$(msgattrib --untranslated --no-obsolete "$MNL_ROOT/po/ja.po" 2>/dev/null | grep -c '^msgid "[^"]')
fuzzy=$(msgattrib --only-fuzzy --no-obsolete "$MNL_ROOT/po/ja.po" 2>/dev/null | grep -c '^msgid "[^"]')
tap_is "$missing $untranslated $fuzzy" "0 0 0" \
    "every_message_id_translated: po/ja.po translates every message id of the C sources (missing, untranslated, fuzzy)"
msgfmt --check -o /dev/null "$MNL_ROOT/po/ja.po" 2>/dev/null
tap_ok $? "po/ja.po passes msgfmt --check (each translation keeps its format directives)"
rm -f "$pot"
# ... the SQL functions' message ids included: src/core/sql_messages.c is what po/sql_messages.py
# reads from the install script's RAISEs now
python3 "$MNL_ROOT/po/sql_messages.py" --check
tap_ok $? "sql_messages_current: src/core/sql_messages.c lists every RAISE message of src/*/*.sql (po/sql_messages.py --check)"
# ... and every file that reports includes the header that names the catalog's domain
nodomain=""
for f in "$MNL_ROOT"/src/*/*.c; do
    grep -q "ereport" "$f" && ! grep -q '#include "core/mynumber_ledger.h"' "$f" && nodomain="$nodomain ${f#$MNL_ROOT/}"
done
tap_is "$nodomain" "" "every_report_in_the_domain: each C file with an ereport includes core/mynumber_ledger.h (TEXTDOMAIN)"
tap_ok "$([ -f "$(pg_config --localedir)/ja/LC_MESSAGES/mynumber_ledger-$major.mo" ]; echo $?)" \
    "the catalog is installed beside PostgreSQL's own (mynumber_ledger-$major.mo)"

# 2. A ledger database in EUC_JP, Japanese messages.
locale -a 2>/dev/null | grep -qi '^ja_JP\.utf-\?8$' || { echo "Bail out! the ja_JP.UTF-8 locale is missing (scripts/deps.sh makes it)"; exit 1; }
mnl_cluster_create nls "ledger.database = 'ledger'" || exit 1
mnl_cluster_start nls || exit 1
mnl_psql nls -d postgres -c "CREATE DATABASE ledger ENCODING 'EUC_JP' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0" >/dev/null &&
    mnl_psql nls -d ledger -c "CREATE EXTENSION mynumber_ledger" >/dev/null &&
    mnl_wait_writer nls ledger || { echo "Bail out! the extension was not created in an EUC_JP database"; exit 1; }
tap_ok 0 "the extension installs in an EUC_JP database"
setup=$(PGCLIENTENCODING=UTF8 mnl_psql nls -d ledger -Atq 2>&1 <<'SQL'
INSERT INTO ledger.org_unit VALUES ('131016', 1, '子育て支援課');
SELECT ledger.register_staff('regress_nls_clerk', '受付 一', 1, ARRAY['clerk']);
SELECT ledger.register_staff('regress_nls_examiner', '審査 一', 1, ARRAY['examiner']);
CREATE ROLE regress_nls_dba LOGIN IN ROLE ledger_dba;
CREATE SCHEMA nls_dba AUTHORIZATION regress_nls_dba;
SELECT ledger.enrol_person('131016', 1, '81000000001' || ledger.mynumber_check_digit('81000000001'), '鈴木', '花子', 'スズキ', 'ハナコ', '2016-04-02', '千代田区');
SQL
)
echo "$setup" | grep -q ERROR && { echo "Bail out! setup failed: $setup"; exit 1; }
pid=$(mnl_psql nls -d ledger -Atc "SELECT max(person_id) FROM ledger.person")

as_client() {   # as_client ENCODING ROLE SQL: the error lines, converted from ENCODING to UTF-8
    local enc=$1 role=$2 sql=$3 iconv_enc
    case $enc in SJIS) iconv_enc=SHIFT_JIS ;; EUC_JP) iconv_enc=EUC-JP ;; *) iconv_enc=UTF-8 ;; esac
    PGHOST="${MNL_CLUSTER_DIR[nls]}/sock" PGPORT=5432 PGCLIENTENCODING=$enc \
        "$MNL_PGBIN/psql" -X -q -v VERBOSITY=verbose -U "$role" -d ledger -c "$sql" 2>&1 |
        iconv -f "$iconv_enc" -t UTF-8 2>&1 | grep -E '^(ERROR|HINT|DETAIL|エラー|ヒント|詳細)'
}
translated() {  # the catalog's translation of a message id, as the server reads it
    LC_ALL=ja_JP.UTF-8 LANGUAGE=ja TEXTDOMAINDIR="$(pg_config --localedir)" gettext -d "mynumber_ledger-$major" "$1"
}
reveal_blank="SELECT ledger.reveal_person_number('131016', $pid, ' ')"
dba_table="CREATE TABLE nls_dba.copy_of_numbers (mn ledger.mynumber)"
wrong="81000000001$(( ($(mnl_psql nls -d ledger -Atc "SELECT ledger.mynumber_check_digit('81000000001')") + 1) % 10 ))"
wrong_digit="SELECT '$wrong'::ledger.mynumber"
jp_purpose=$(translated "a reveal needs a purpose")
jp_place=$(translated "cannot create a place for My Numbers outside the registered files (My Number Act, article 29)")
tap_ok "$([ -n "$jp_purpose" ] && [ "$jp_purpose" != "a reveal needs a purpose" ]; echo $?)" "the catalog answers in Japanese ($jp_purpose)"

mnl_psql nls -d postgres -c "ALTER DATABASE ledger SET lc_messages = 'ja_JP.UTF-8'" >/dev/null
# a RAISE of the SQL functions: its message id, its parameters put into the translation
no_org="SELECT ledger.register_staff('regress_nls_nobody', 'nobody', 99, ARRAY['clerk'])"  # ASCII: sent as is in every client encoding
jp_no_org=$(translated "org unit % does not exist" | sed 's/%/99/')
jp_no_org_hint=$(translated "Add it to ledger.org_unit first.")
jp_reveal=$(translated "permission denied: % for affair %" | sed 's/%/reveal/; s/%/child_allowance/')
not_payment_month="CALL ledger.prepare_payments('2026-11-01')"
jp_not_payment_month=$(translated "% is not a payment month (支払期月)" | sed 's/%/2026-11/')
clerk_reveal="SELECT ledger.reveal_person_number('131016', $pid, 'check')"
tap_ok "$([ -n "$jp_no_org" ] && [ "$jp_no_org" != "org unit 99 does not exist" ]; echo $?)" "the catalog translates the SQL functions' messages ($jp_no_org)"
for enc in UTF8 SJIS EUC_JP; do
    out=$(as_client $enc postgres "$no_org")
    echo "$out" | sed 's/^/# /'
    echo "$out" | grep -q "23503: $jp_no_org" && echo "$out" | grep -q "$jp_no_org_hint"
    tap_ok $? "japanese_raise_in_${enc}_client: a PL/pgSQL refusal, 23503, its parameter and hint in Japanese, read correctly in $enc"
    out=$(as_client $enc regress_nls_clerk "$clerk_reveal")
    echo "$out" | grep -q "42501: $jp_reveal"
    tap_ok $? "japanese_raise_42501_in_${enc}_client: a clerk's reveal refused by the SQL gate, 42501, in Japanese in $enc"
    out=$(as_client $enc postgres "$not_payment_month")
    echo "$out" | grep -q "22023: $jp_not_payment_month"
    tap_ok $? "japanese_raise_non_ascii_id_in_${enc}_client: an id with Japanese in it (支払期月) is found in the EUC_JP database's text"
done
# a parameter is cut in the translation: a staff member's RAISE of one of the ids carries no rows
out=$(as_client UTF8 regress_nls_clerk "DO \$\$BEGIN RAISE EXCEPTION 'org unit % does not exist', repeat('行', 2000); END\$\$")
echo "$out" | grep -q "所属 行行行" && [ "$(echo "$out" | head -1 | wc -c)" -lt 200 ]
tap_ok $? "translated_raise_parameter_cut: a translated message keeps at most 64 bytes of a parameter ($(echo "$out" | head -1 | wc -c) bytes)"
# ... and a staff member's parameters share the staff budget (256 bytes) across the message, its
# hint and its detail: the eight-parameter id and two-parameter hints cannot carry more rows
out=$(as_client UTF8 regress_nls_clerk "DO \$\$DECLARE p text := repeat('行', 40); BEGIN RAISE EXCEPTION 'payment run % for %: % payments (% yen), % already prepared, % public servants skipped, % revisions, % certifications held locked (left to the next run)', p, p, p, p, p, p, p, p USING HINT = format('This needs a duty with the %s action (%s) for the org unit concerned; ask a staff administrator.', p, p), DETAIL = format('Request it with ledger.request_disclosure_approval(''bulk_reveal'', %s, purpose); a staff member with the approve duty approves it (二者承認).', p); END\$\$")
rows=$(echo "$out" | grep -o '行' | wc -l)
echo "$out" | grep -q "支払処理" && [ "$rows" -le 128 ]
tap_ok $? "translated_raise_parameters_share_staff_budget: one message's parameters carry at most 256 bytes of the author's text ($rows characters of 2 bytes in EUC_JP)"
# ... and a statement's translated warnings count against the messages it may log (20)
log=$(mnl_cluster_log nls)
loop=$(printf '支払処理 ループ' | iconv -f UTF-8 -t EUC-JP)   # the log is in the database's encoding
before=$(grep -ac -- "$loop" "$log")
as_client UTF8 regress_nls_clerk "DO \$\$BEGIN FOR i IN 1..30 LOOP RAISE WARNING 'payment run % for %: % payments (% yen), % already prepared, % public servants skipped, % revisions, % certifications held locked (left to the next run)', 'ループ', i, 1, 1, 1, 1, 1, 1; END LOOP; END\$\$" >/dev/null
sleep 0.5
logged=$(( $(grep -ac -- "$loop" "$log") - before ))
[ "$logged" -ge 1 ] && [ "$logged" -le 20 ]
tap_ok $? "translated_raise_counts_against_staff_messages: 30 translated warnings of one statement, $logged logged (at most 20)"
for enc in UTF8 SJIS EUC_JP; do
    out=$(as_client $enc regress_nls_examiner "$reveal_blank")
    echo "$out" | sed 's/^/# /'
    echo "$out" | grep -q "22023: $jp_purpose"
    tap_ok $? "japanese_22023_in_${enc}_client: a reveal without a purpose, 22023, in Japanese, read correctly in $enc"
    out=$(as_client $enc regress_nls_dba "$dba_table")
    echo "$out" | grep -q "42501: $jp_place"
    tap_ok $? "japanese_42501_in_${enc}_client: the 番号法第29条 refusal keeps 42501 and reads correctly in $enc"
    out=$(as_client $enc regress_nls_clerk "$wrong_digit")
    echo "$out" | sed "s/^/# /"
    echo "$out" | grep -q "22P02" && ! echo "$out" | grep -q "$wrong"
    tap_ok $? "japanese_22P02_in_${enc}_client_no_number: a wrong check digit, 22P02, and the message holds no number"
done
mnl_psql nls -d postgres -c "ALTER DATABASE ledger SET lc_messages = 'C'" >/dev/null
for enc in UTF8 SJIS EUC_JP; do
    out=$(as_client $enc regress_nls_dba "$dba_table")
    echo "$out" | grep -q "42501: cannot create a place for My Numbers outside the registered files"
    tap_ok $? "english_42501_in_${enc}_client: in English too, in an EUC_JP database"
done
tap_done
