-- mynumber_ledger: 児童手当等支給台帳 with the protections of its 特定個人情報保護評価.
-- This file opens the install script; the Makefile appends the other src/*.sql files
-- in the order it declares.

\echo Use "CREATE EXTENSION mynumber_ledger" to load this file. \quit

COMMENT ON SCHEMA ledger IS '児童手当等支給台帳 (mynumber_ledger): ledger tables, number types and their protections';

-- The schema is created by CREATE EXTENSION from the control file.  Nobody but its owner
-- creates objects in it; everybody may name the types in it.
REVOKE ALL ON SCHEMA ledger FROM PUBLIC;
GRANT USAGE ON SCHEMA ledger TO PUBLIC;
-- keys: the data keys (データ鍵), wrapped by the key-encryption key that ledger.kek_command
-- supplies at server start.  CREATE EXTENSION stops here when no key-encryption key is set.

CREATE FUNCTION ledger._require_kek() RETURNS void
    AS 'MODULE_PATHNAME', 'keys_require_kek' LANGUAGE C;
REVOKE ALL ON FUNCTION ledger._require_kek() FROM PUBLIC;
COMMENT ON FUNCTION ledger._require_kek() IS '鍵暗号化鍵の確認: raises unless ledger.kek_command supplied a key (internal)';
SELECT ledger._require_kek();

-- One row per data key version.  wrapped = nonce(12) || AES-256-GCM(KEK, dek) || tag(16),
-- with "mnl-dek-v1|<purpose>|<version>" as associated data.  Made on first use of a purpose.
CREATE TABLE ledger.data_key (
    key_id       integer     PRIMARY KEY,
    purpose      text        NOT NULL CHECK (purpose ~ '^(number|number:[0-9]{4}|blind_index|pseudonym:[a-z][a-z0-9_]{0,62})$'),
    version      integer     NOT NULL,
    wrapped      bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    retired_at   timestamptz,
    destroyed_at timestamptz,
    UNIQUE (purpose, version)
);
COMMENT ON TABLE ledger.data_key IS 'データ鍵: data keys wrapped by the key-encryption key; never readable in the clear';
COMMENT ON COLUMN ledger.data_key.key_id IS '鍵ID (written into every sealed value)';
COMMENT ON COLUMN ledger.data_key.purpose IS '用途: number (encryption), number:<year> (a retention period''s key), blind_index (HMAC), pseudonym:<affair> (each affair''s 符号)';
COMMENT ON COLUMN ledger.data_key.version IS '版';
COMMENT ON COLUMN ledger.data_key.wrapped IS 'ラップされた鍵: nonce || ciphertext || tag';
COMMENT ON COLUMN ledger.data_key.created_at IS '作成日時';
COMMENT ON COLUMN ledger.data_key.retired_at IS '退役日時: no longer seals, still opens';
COMMENT ON COLUMN ledger.data_key.destroyed_at IS '破棄日時: what it sealed can no longer be opened';
-- Dumped with the database, so that a restore with the same key-encryption key opens
-- every value (pg_dump cannot read a key in the clear: only wrapped ones are stored).
SELECT pg_catalog.pg_extension_config_dump('ledger.data_key', '');
REVOKE ALL ON ledger.data_key FROM PUBLIC;

CREATE FUNCTION ledger.active_key_id(purpose text) RETURNS integer
    AS 'MODULE_PATHNAME', 'keys_active_id' LANGUAGE C VOLATILE STRICT;
REVOKE ALL ON FUNCTION ledger.active_key_id(text) FROM PUBLIC;
COMMENT ON FUNCTION ledger.active_key_id(text) IS '使用中の鍵ID: the data key new values of a purpose are sealed with (made on first use)';

CREATE FUNCTION ledger.rotate_key(purpose text) RETURNS integer
    AS 'MODULE_PATHNAME', 'keys_rotate' LANGUAGE C VOLATILE STRICT;
REVOKE ALL ON FUNCTION ledger.rotate_key(text) FROM PUBLIC;
COMMENT ON FUNCTION ledger.rotate_key(text) IS
    'データ鍵の更新: a new version seals from now on; the old one is retired and still opens until ledger.rekey has run';

CREATE FUNCTION ledger.rewrap_data_keys() RETURNS integer
    AS 'MODULE_PATHNAME', 'keys_rewrap' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION ledger.rewrap_data_keys() FROM PUBLIC;
COMMENT ON FUNCTION ledger.rewrap_data_keys() IS
    '鍵暗号化鍵の更新: wraps every data key again with the key from ledger.kek_command_next';

CREATE FUNCTION ledger._forget_period_key(period text) RETURNS integer
    AS 'MODULE_PATHNAME', 'keys_forget_period' LANGUAGE C VOLATILE STRICT;
REVOKE ALL ON FUNCTION ledger._forget_period_key(text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._forget_period_key(text) IS
    '期間鍵の破棄 (crypto-shredding, internal): ledger.period_key_command forgets the period''s secret; its data keys are marked destroyed';
-- numbers: ledger.mynumber (個人番号) and ledger.corporate_number (法人番号).
--
-- Both are stored as int8 (8 bytes, pass by value), so comparison, sorting and hashing are
-- int8's own internal functions: the order of the stored value is the order of the digits.
-- Input, receive and the casts from text are the extension's C functions (numbers.c), which
-- refuse every number whose check digit is wrong.  ANALYZE keeps no values (number_stats.c).

CREATE FUNCTION ledger.number_typanalyze(internal) RETURNS boolean
    AS 'MODULE_PATHNAME', 'number_typanalyze' LANGUAGE C STRICT;
COMMENT ON FUNCTION ledger.number_typanalyze(internal) IS
    '番号型の統計収集: ANALYZE that records null fraction and distinct count but never a value';

------------------------------------------------------------------------------------------
-- ledger.mynumber
------------------------------------------------------------------------------------------

CREATE TYPE ledger.mynumber;

-- Input depends on ledger.allow_all_zero_mynumber, hence STABLE.
CREATE FUNCTION ledger.mynumber_in(cstring) RETURNS ledger.mynumber
    AS 'MODULE_PATHNAME', 'mynumber_in' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ledger.mynumber_out(ledger.mynumber) RETURNS cstring
    AS 'MODULE_PATHNAME', 'mynumber_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ledger.mynumber_recv(internal) RETURNS ledger.mynumber
    AS 'MODULE_PATHNAME', 'mynumber_recv' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ledger.mynumber_send(ledger.mynumber) RETURNS bytea
    AS 'MODULE_PATHNAME', 'mynumber_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE ledger.mynumber (
    INPUT = ledger.mynumber_in,
    OUTPUT = ledger.mynumber_out,
    RECEIVE = ledger.mynumber_recv,
    SEND = ledger.mynumber_send,
    ANALYZE = ledger.number_typanalyze,
    INTERNALLENGTH = 8,
    PASSEDBYVALUE,
    ALIGNMENT = double,
    STORAGE = plain
);
COMMENT ON TYPE ledger.mynumber IS
    '個人番号: 12 digits whose check digit is right (平成26年総務省令第85号 第5条)';
COMMENT ON FUNCTION ledger.mynumber_in(cstring) IS '個人番号の入力: text form, half/full-width, grouped 4-4-4';
COMMENT ON FUNCTION ledger.mynumber_out(ledger.mynumber) IS '個人番号の出力: the 12 ASCII digits';
COMMENT ON FUNCTION ledger.mynumber_recv(internal) IS '個人番号のバイナリ入力: big-endian int8, checked';
COMMENT ON FUNCTION ledger.mynumber_send(ledger.mynumber) IS '個人番号のバイナリ出力: big-endian int8';

-- Comparison: int8's internal functions on the identical representation.
--
-- The operators themselves live in pg_catalog, like the built-in ones: "mn = $1" then works
-- whatever the caller's search_path, and no operator of the same name in a schema earlier on
-- a search_path (public, pg_temp) can capture the values being compared.
CREATE FUNCTION ledger.mynumber_eq(ledger.mynumber, ledger.mynumber) RETURNS boolean
    AS 'int8eq' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION ledger.mynumber_ne(ledger.mynumber, ledger.mynumber) RETURNS boolean
    AS 'int8ne' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION ledger.mynumber_lt(ledger.mynumber, ledger.mynumber) RETURNS boolean
    AS 'int8lt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION ledger.mynumber_le(ledger.mynumber, ledger.mynumber) RETURNS boolean
    AS 'int8le' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION ledger.mynumber_gt(ledger.mynumber, ledger.mynumber) RETURNS boolean
    AS 'int8gt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION ledger.mynumber_ge(ledger.mynumber, ledger.mynumber) RETURNS boolean
    AS 'int8ge' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION ledger.mynumber_cmp(ledger.mynumber, ledger.mynumber) RETURNS integer
    AS 'btint8cmp' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION ledger.mynumber_sortsupport(internal) RETURNS void
    AS 'btint8sortsupport' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ledger.mynumber_hash(ledger.mynumber) RETURNS integer
    AS 'hashint8' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION ledger.mynumber_hash_extended(ledger.mynumber, bigint) RETURNS bigint
    AS 'hashint8extended' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;

COMMENT ON FUNCTION ledger.mynumber_eq(ledger.mynumber, ledger.mynumber) IS '個人番号の比較: =';
COMMENT ON FUNCTION ledger.mynumber_ne(ledger.mynumber, ledger.mynumber) IS '個人番号の比較: <>';
COMMENT ON FUNCTION ledger.mynumber_lt(ledger.mynumber, ledger.mynumber) IS '個人番号の比較: <';
COMMENT ON FUNCTION ledger.mynumber_le(ledger.mynumber, ledger.mynumber) IS '個人番号の比較: <=';
COMMENT ON FUNCTION ledger.mynumber_gt(ledger.mynumber, ledger.mynumber) IS '個人番号の比較: >';
COMMENT ON FUNCTION ledger.mynumber_ge(ledger.mynumber, ledger.mynumber) IS '個人番号の比較: >=';
COMMENT ON FUNCTION ledger.mynumber_cmp(ledger.mynumber, ledger.mynumber) IS '個人番号の比較: btree support (-1, 0, 1)';
COMMENT ON FUNCTION ledger.mynumber_sortsupport(internal) IS '個人番号の比較: btree sort support';
COMMENT ON FUNCTION ledger.mynumber_hash(ledger.mynumber) IS '個人番号のハッシュ: hash index and hash join support';
COMMENT ON FUNCTION ledger.mynumber_hash_extended(ledger.mynumber, bigint) IS '個人番号のハッシュ: seeded, for hash partitioning';

CREATE OPERATOR pg_catalog.= (
    LEFTARG = ledger.mynumber, RIGHTARG = ledger.mynumber, FUNCTION = ledger.mynumber_eq,
    COMMUTATOR = OPERATOR(pg_catalog.=), NEGATOR = OPERATOR(pg_catalog.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR pg_catalog.<> (
    LEFTARG = ledger.mynumber, RIGHTARG = ledger.mynumber, FUNCTION = ledger.mynumber_ne,
    COMMUTATOR = OPERATOR(pg_catalog.<>), NEGATOR = OPERATOR(pg_catalog.=),
    RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR pg_catalog.< (
    LEFTARG = ledger.mynumber, RIGHTARG = ledger.mynumber, FUNCTION = ledger.mynumber_lt,
    COMMUTATOR = OPERATOR(pg_catalog.>), NEGATOR = OPERATOR(pg_catalog.>=),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR pg_catalog.<= (
    LEFTARG = ledger.mynumber, RIGHTARG = ledger.mynumber, FUNCTION = ledger.mynumber_le,
    COMMUTATOR = OPERATOR(pg_catalog.>=), NEGATOR = OPERATOR(pg_catalog.>),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR pg_catalog.> (
    LEFTARG = ledger.mynumber, RIGHTARG = ledger.mynumber, FUNCTION = ledger.mynumber_gt,
    COMMUTATOR = OPERATOR(pg_catalog.<), NEGATOR = OPERATOR(pg_catalog.<=),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR pg_catalog.>= (
    LEFTARG = ledger.mynumber, RIGHTARG = ledger.mynumber, FUNCTION = ledger.mynumber_ge,
    COMMUTATOR = OPERATOR(pg_catalog.<=), NEGATOR = OPERATOR(pg_catalog.<),
    RESTRICT = scalargesel, JOIN = scalargejoinsel);

CREATE OPERATOR CLASS ledger.mynumber_ops
    DEFAULT FOR TYPE ledger.mynumber USING btree AS
        OPERATOR 1 pg_catalog.<,
        OPERATOR 2 pg_catalog.<=,
        OPERATOR 3 pg_catalog.=,
        OPERATOR 4 pg_catalog.>=,
        OPERATOR 5 pg_catalog.>,
        FUNCTION 1 ledger.mynumber_cmp(ledger.mynumber, ledger.mynumber),
        FUNCTION 2 ledger.mynumber_sortsupport(internal);
CREATE OPERATOR CLASS ledger.mynumber_hash_ops
    DEFAULT FOR TYPE ledger.mynumber USING hash AS
        OPERATOR 1 pg_catalog.=,
        FUNCTION 1 ledger.mynumber_hash(ledger.mynumber),
        FUNCTION 2 ledger.mynumber_hash_extended(ledger.mynumber, bigint);
COMMENT ON OPERATOR pg_catalog.= (ledger.mynumber, ledger.mynumber) IS '個人番号の比較: 等しい';
COMMENT ON OPERATOR pg_catalog.<> (ledger.mynumber, ledger.mynumber) IS '個人番号の比較: 等しくない';
COMMENT ON OPERATOR pg_catalog.< (ledger.mynumber, ledger.mynumber) IS '個人番号の比較: より小さい';
COMMENT ON OPERATOR pg_catalog.<= (ledger.mynumber, ledger.mynumber) IS '個人番号の比較: 以下';
COMMENT ON OPERATOR pg_catalog.> (ledger.mynumber, ledger.mynumber) IS '個人番号の比較: より大きい';
COMMENT ON OPERATOR pg_catalog.>= (ledger.mynumber, ledger.mynumber) IS '個人番号の比較: 以上';
COMMENT ON OPERATOR CLASS ledger.mynumber_ops USING btree IS '個人番号のBツリー演算子クラス: keys, ranges, sorting, merge joins';
COMMENT ON OPERATOR FAMILY ledger.mynumber_ops USING btree IS '個人番号のBツリー演算子族';
COMMENT ON OPERATOR CLASS ledger.mynumber_hash_ops USING hash IS '個人番号のハッシュ演算子クラス: hash indexes, joins, partitioning';
COMMENT ON OPERATOR FAMILY ledger.mynumber_hash_ops USING hash IS '個人番号のハッシュ演算子族';

-- Casts: from text and varchar as assignment (INSERT ... VALUES ($1) with a text parameter
-- works), to text and varchar only when asked for, so a number never slips silently into a
-- text column.
CREATE FUNCTION ledger.mynumber(text) RETURNS ledger.mynumber
    AS 'MODULE_PATHNAME', 'mynumber_from_text' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ledger.mynumber(text) IS '個人番号への変換: cast from text, checked like input';
CREATE CAST (text AS ledger.mynumber) WITH FUNCTION ledger.mynumber(text) AS ASSIGNMENT;
CREATE CAST (varchar AS ledger.mynumber) WITH FUNCTION ledger.mynumber(text) AS ASSIGNMENT;
CREATE CAST (ledger.mynumber AS text) WITH INOUT;
CREATE CAST (ledger.mynumber AS varchar) WITH INOUT;
CREATE CAST (ledger.mynumber AS bpchar) WITH INOUT;
COMMENT ON CAST (text AS ledger.mynumber) IS '個人番号への変換: text, on assignment, checked';
COMMENT ON CAST (varchar AS ledger.mynumber) IS '個人番号への変換: varchar, on assignment, checked';
COMMENT ON CAST (ledger.mynumber AS text) IS '個人番号から文字列へ: explicit only';
COMMENT ON CAST (ledger.mynumber AS varchar) IS '個人番号から文字列へ: explicit only';
COMMENT ON CAST (ledger.mynumber AS bpchar) IS '個人番号から文字列へ: explicit only';

CREATE FUNCTION ledger.mynumber_is_valid(text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'mynumber_is_valid' LANGUAGE C STABLE STRICT LEAKPROOF PARALLEL SAFE;
COMMENT ON FUNCTION ledger.mynumber_is_valid(text) IS
    '個人番号の検査: true when the text would be accepted as a mynumber; never raises';

CREATE FUNCTION ledger.mynumber_check_digit(text) RETURNS integer
    AS 'MODULE_PATHNAME', 'mynumber_check_digit' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ledger.mynumber_check_digit(text) IS
    '個人番号の検査用数字: check digit (0-9) of an 11-digit base';

CREATE FUNCTION ledger.mynumber_mask(ledger.mynumber) RETURNS text
    AS 'MODULE_PATHNAME', 'mynumber_mask' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
COMMENT ON FUNCTION ledger.mynumber_mask(ledger.mynumber) IS
    '個人番号のマスク表示: ********9018 (only the last four digits shown)';

------------------------------------------------------------------------------------------
-- ledger.corporate_number
------------------------------------------------------------------------------------------

CREATE TYPE ledger.corporate_number;

CREATE FUNCTION ledger.corporate_number_in(cstring) RETURNS ledger.corporate_number
    AS 'MODULE_PATHNAME', 'corporate_number_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ledger.corporate_number_out(ledger.corporate_number) RETURNS cstring
    AS 'MODULE_PATHNAME', 'corporate_number_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ledger.corporate_number_recv(internal) RETURNS ledger.corporate_number
    AS 'MODULE_PATHNAME', 'corporate_number_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ledger.corporate_number_send(ledger.corporate_number) RETURNS bytea
    AS 'MODULE_PATHNAME', 'corporate_number_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE ledger.corporate_number (
    INPUT = ledger.corporate_number_in,
    OUTPUT = ledger.corporate_number_out,
    RECEIVE = ledger.corporate_number_recv,
    SEND = ledger.corporate_number_send,
    ANALYZE = ledger.number_typanalyze,
    INTERNALLENGTH = 8,
    PASSEDBYVALUE,
    ALIGNMENT = double,
    STORAGE = plain
);
COMMENT ON TYPE ledger.corporate_number IS
    '法人番号: 13 digits, check digit first (平成26年財務省令第70号 第2条)';
COMMENT ON FUNCTION ledger.corporate_number_in(cstring) IS '法人番号の入力: text form, half/full-width, grouped 1-4-4-4';
COMMENT ON FUNCTION ledger.corporate_number_out(ledger.corporate_number) IS '法人番号の出力: the 13 ASCII digits';
COMMENT ON FUNCTION ledger.corporate_number_recv(internal) IS '法人番号のバイナリ入力: big-endian int8, checked';
COMMENT ON FUNCTION ledger.corporate_number_send(ledger.corporate_number) IS '法人番号のバイナリ出力: big-endian int8';

CREATE FUNCTION ledger.corporate_number_eq(ledger.corporate_number, ledger.corporate_number) RETURNS boolean
    AS 'int8eq' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION ledger.corporate_number_ne(ledger.corporate_number, ledger.corporate_number) RETURNS boolean
    AS 'int8ne' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION ledger.corporate_number_lt(ledger.corporate_number, ledger.corporate_number) RETURNS boolean
    AS 'int8lt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION ledger.corporate_number_le(ledger.corporate_number, ledger.corporate_number) RETURNS boolean
    AS 'int8le' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION ledger.corporate_number_gt(ledger.corporate_number, ledger.corporate_number) RETURNS boolean
    AS 'int8gt' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION ledger.corporate_number_ge(ledger.corporate_number, ledger.corporate_number) RETURNS boolean
    AS 'int8ge' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION ledger.corporate_number_cmp(ledger.corporate_number, ledger.corporate_number) RETURNS integer
    AS 'btint8cmp' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION ledger.corporate_number_sortsupport(internal) RETURNS void
    AS 'btint8sortsupport' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ledger.corporate_number_hash(ledger.corporate_number) RETURNS integer
    AS 'hashint8' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
CREATE FUNCTION ledger.corporate_number_hash_extended(ledger.corporate_number, bigint) RETURNS bigint
    AS 'hashint8extended' LANGUAGE internal IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;

COMMENT ON FUNCTION ledger.corporate_number_eq(ledger.corporate_number, ledger.corporate_number) IS '法人番号の比較: =';
COMMENT ON FUNCTION ledger.corporate_number_ne(ledger.corporate_number, ledger.corporate_number) IS '法人番号の比較: <>';
COMMENT ON FUNCTION ledger.corporate_number_lt(ledger.corporate_number, ledger.corporate_number) IS '法人番号の比較: <';
COMMENT ON FUNCTION ledger.corporate_number_le(ledger.corporate_number, ledger.corporate_number) IS '法人番号の比較: <=';
COMMENT ON FUNCTION ledger.corporate_number_gt(ledger.corporate_number, ledger.corporate_number) IS '法人番号の比較: >';
COMMENT ON FUNCTION ledger.corporate_number_ge(ledger.corporate_number, ledger.corporate_number) IS '法人番号の比較: >=';
COMMENT ON FUNCTION ledger.corporate_number_cmp(ledger.corporate_number, ledger.corporate_number) IS '法人番号の比較: btree support (-1, 0, 1)';
COMMENT ON FUNCTION ledger.corporate_number_sortsupport(internal) IS '法人番号の比較: btree sort support';
COMMENT ON FUNCTION ledger.corporate_number_hash(ledger.corporate_number) IS '法人番号のハッシュ: hash index and hash join support';
COMMENT ON FUNCTION ledger.corporate_number_hash_extended(ledger.corporate_number, bigint) IS '法人番号のハッシュ: seeded, for hash partitioning';

CREATE OPERATOR pg_catalog.= (
    LEFTARG = ledger.corporate_number, RIGHTARG = ledger.corporate_number,
    FUNCTION = ledger.corporate_number_eq,
    COMMUTATOR = OPERATOR(pg_catalog.=), NEGATOR = OPERATOR(pg_catalog.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR pg_catalog.<> (
    LEFTARG = ledger.corporate_number, RIGHTARG = ledger.corporate_number,
    FUNCTION = ledger.corporate_number_ne,
    COMMUTATOR = OPERATOR(pg_catalog.<>), NEGATOR = OPERATOR(pg_catalog.=),
    RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR pg_catalog.< (
    LEFTARG = ledger.corporate_number, RIGHTARG = ledger.corporate_number,
    FUNCTION = ledger.corporate_number_lt,
    COMMUTATOR = OPERATOR(pg_catalog.>), NEGATOR = OPERATOR(pg_catalog.>=),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR pg_catalog.<= (
    LEFTARG = ledger.corporate_number, RIGHTARG = ledger.corporate_number,
    FUNCTION = ledger.corporate_number_le,
    COMMUTATOR = OPERATOR(pg_catalog.>=), NEGATOR = OPERATOR(pg_catalog.>),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR pg_catalog.> (
    LEFTARG = ledger.corporate_number, RIGHTARG = ledger.corporate_number,
    FUNCTION = ledger.corporate_number_gt,
    COMMUTATOR = OPERATOR(pg_catalog.<), NEGATOR = OPERATOR(pg_catalog.<=),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR pg_catalog.>= (
    LEFTARG = ledger.corporate_number, RIGHTARG = ledger.corporate_number,
    FUNCTION = ledger.corporate_number_ge,
    COMMUTATOR = OPERATOR(pg_catalog.<=), NEGATOR = OPERATOR(pg_catalog.<),
    RESTRICT = scalargesel, JOIN = scalargejoinsel);

CREATE OPERATOR CLASS ledger.corporate_number_ops
    DEFAULT FOR TYPE ledger.corporate_number USING btree AS
        OPERATOR 1 pg_catalog.<,
        OPERATOR 2 pg_catalog.<=,
        OPERATOR 3 pg_catalog.=,
        OPERATOR 4 pg_catalog.>=,
        OPERATOR 5 pg_catalog.>,
        FUNCTION 1 ledger.corporate_number_cmp(ledger.corporate_number, ledger.corporate_number),
        FUNCTION 2 ledger.corporate_number_sortsupport(internal);
CREATE OPERATOR CLASS ledger.corporate_number_hash_ops
    DEFAULT FOR TYPE ledger.corporate_number USING hash AS
        OPERATOR 1 pg_catalog.=,
        FUNCTION 1 ledger.corporate_number_hash(ledger.corporate_number),
        FUNCTION 2 ledger.corporate_number_hash_extended(ledger.corporate_number, bigint);
COMMENT ON OPERATOR pg_catalog.= (ledger.corporate_number, ledger.corporate_number) IS '法人番号の比較: 等しい';
COMMENT ON OPERATOR pg_catalog.<> (ledger.corporate_number, ledger.corporate_number) IS '法人番号の比較: 等しくない';
COMMENT ON OPERATOR pg_catalog.< (ledger.corporate_number, ledger.corporate_number) IS '法人番号の比較: より小さい';
COMMENT ON OPERATOR pg_catalog.<= (ledger.corporate_number, ledger.corporate_number) IS '法人番号の比較: 以下';
COMMENT ON OPERATOR pg_catalog.> (ledger.corporate_number, ledger.corporate_number) IS '法人番号の比較: より大きい';
COMMENT ON OPERATOR pg_catalog.>= (ledger.corporate_number, ledger.corporate_number) IS '法人番号の比較: 以上';
COMMENT ON OPERATOR CLASS ledger.corporate_number_ops USING btree IS '法人番号のBツリー演算子クラス: keys, ranges, sorting, merge joins';
COMMENT ON OPERATOR FAMILY ledger.corporate_number_ops USING btree IS '法人番号のBツリー演算子族';
COMMENT ON OPERATOR CLASS ledger.corporate_number_hash_ops USING hash IS '法人番号のハッシュ演算子クラス: hash indexes, joins, partitioning';
COMMENT ON OPERATOR FAMILY ledger.corporate_number_hash_ops USING hash IS '法人番号のハッシュ演算子族';

CREATE FUNCTION ledger.corporate_number(text) RETURNS ledger.corporate_number
    AS 'MODULE_PATHNAME', 'corporate_number_from_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ledger.corporate_number(text) IS '法人番号への変換: cast from text, checked like input';
CREATE CAST (text AS ledger.corporate_number) WITH FUNCTION ledger.corporate_number(text) AS ASSIGNMENT;
CREATE CAST (varchar AS ledger.corporate_number) WITH FUNCTION ledger.corporate_number(text) AS ASSIGNMENT;
CREATE CAST (ledger.corporate_number AS text) WITH INOUT;
CREATE CAST (ledger.corporate_number AS varchar) WITH INOUT;
CREATE CAST (ledger.corporate_number AS bpchar) WITH INOUT;
COMMENT ON CAST (text AS ledger.corporate_number) IS '法人番号への変換: text, on assignment, checked';
COMMENT ON CAST (varchar AS ledger.corporate_number) IS '法人番号への変換: varchar, on assignment, checked';
COMMENT ON CAST (ledger.corporate_number AS text) IS '法人番号から文字列へ: explicit only';
COMMENT ON CAST (ledger.corporate_number AS varchar) IS '法人番号から文字列へ: explicit only';
COMMENT ON CAST (ledger.corporate_number AS bpchar) IS '法人番号から文字列へ: explicit only';

CREATE FUNCTION ledger.corporate_number_is_valid(text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'corporate_number_is_valid' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
COMMENT ON FUNCTION ledger.corporate_number_is_valid(text) IS
    '法人番号の検査: true when the text would be accepted as a corporate_number; never raises';

CREATE FUNCTION ledger.corporate_number_check_digit(text) RETURNS integer
    AS 'MODULE_PATHNAME', 'corporate_number_check_digit' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ledger.corporate_number_check_digit(text) IS
    '法人番号の検査用数字: check digit (1-9) of a 12-digit base';
-- sealed: ledger.sealed_mynumber (暗号化した個人番号), the blind index, and reveal.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_revealer') THEN
        CREATE ROLE ledger_revealer NOLOGIN;
    END IF;
END $$;
COMMENT ON ROLE ledger_revealer IS '番号表示権限: may reveal sealed My Numbers (until staff duties decide it)';

CREATE TYPE ledger.sealed_mynumber;
CREATE FUNCTION ledger.sealed_mynumber_in(cstring) RETURNS ledger.sealed_mynumber
    AS 'MODULE_PATHNAME', 'sealed_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ledger.sealed_mynumber_out(ledger.sealed_mynumber) RETURNS cstring
    AS 'MODULE_PATHNAME', 'sealed_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ledger.sealed_mynumber_recv(internal) RETURNS ledger.sealed_mynumber
    AS 'MODULE_PATHNAME', 'sealed_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ledger.sealed_mynumber_send(ledger.sealed_mynumber) RETURNS bytea
    AS 'MODULE_PATHNAME', 'sealed_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE ledger.sealed_mynumber (
    INPUT = ledger.sealed_mynumber_in,
    OUTPUT = ledger.sealed_mynumber_out,
    RECEIVE = ledger.sealed_mynumber_recv,
    SEND = ledger.sealed_mynumber_send,
    INTERNALLENGTH = VARIABLE,
    STORAGE = plain
);
COMMENT ON TYPE ledger.sealed_mynumber IS
    '暗号化個人番号: AES-256-GCM under a data key, bound to its row''s context; text form mnl1:<base64>';
COMMENT ON FUNCTION ledger.sealed_mynumber_in(cstring) IS '暗号化個人番号の入力: checks the shape, never encrypts (restores unchanged)';
COMMENT ON FUNCTION ledger.sealed_mynumber_out(ledger.sealed_mynumber) IS '暗号化個人番号の出力: mnl1:<base64>';
COMMENT ON FUNCTION ledger.sealed_mynumber_recv(internal) IS '暗号化個人番号のバイナリ入力';
COMMENT ON FUNCTION ledger.sealed_mynumber_send(ledger.sealed_mynumber) IS '暗号化個人番号のバイナリ出力';

CREATE FUNCTION ledger.seal(mn ledger.mynumber, context text) RETURNS ledger.sealed_mynumber
    AS 'MODULE_PATHNAME', 'sealed_seal' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION ledger.seal(ledger.mynumber, text) IS
    '個人番号の暗号化: seals a number for the row named by context (fresh nonce every call)';

CREATE FUNCTION ledger.reveal(value ledger.sealed_mynumber, context text, purpose text,
                              legal_basis text DEFAULT NULL) RETURNS ledger.mynumber
    AS 'MODULE_PATHNAME', 'sealed_reveal' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.reveal(ledger.sealed_mynumber, text, text, text) IS
    '個人番号の表示: members of ledger_revealer only; records the reveal (purpose, and the legal basis of a disclosure) before returning the number';

CREATE FUNCTION ledger.mask(value ledger.sealed_mynumber, context text) RETURNS text
    AS 'MODULE_PATHNAME', 'sealed_mask' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION ledger.mask(ledger.sealed_mynumber, text) IS
    '個人番号のマスク表示: ********9018 from a sealed value, no privilege needed';

CREATE FUNCTION ledger.blind_index(mn ledger.mynumber) RETURNS bytea
    AS 'MODULE_PATHNAME', 'sealed_blind_index' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ledger.blind_index(ledger.mynumber) IS
    'ブラインドインデックス: HMAC-SHA256 of the number under its own key, for equality lookups without decrypting';

CREATE FUNCTION ledger.sealed_key_id(value ledger.sealed_mynumber) RETURNS integer
    AS 'MODULE_PATHNAME', 'sealed_key_id' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ledger.sealed_key_id(ledger.sealed_mynumber) IS
    '暗号化に使った鍵ID: which data key sealed the value';

CREATE FUNCTION ledger._reseal(value ledger.sealed_mynumber, context text) RETURNS ledger.sealed_mynumber
    AS 'MODULE_PATHNAME', 'sealed_reseal' LANGUAGE C VOLATILE STRICT;
REVOKE ALL ON FUNCTION ledger._reseal(ledger.sealed_mynumber, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._reseal(ledger.sealed_mynumber, text) IS
    '再暗号化 (internal): the same number sealed again under the active key; the number never leaves it';

CREATE FUNCTION ledger._seal_for_period(value ledger.sealed_mynumber, context text, period text) RETURNS ledger.sealed_mynumber
    AS 'MODULE_PATHNAME', 'sealed_seal_for_period' LANGUAGE C VOLATILE STRICT;
REVOKE ALL ON FUNCTION ledger._seal_for_period(ledger.sealed_mynumber, text, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._seal_for_period(ledger.sealed_mynumber, text, text) IS
    '期間鍵による再暗号化 (internal): the same number under the key of the retention period in which it expires';

-- Progress of ledger.rekey, committed with every batch so another session can watch it.
CREATE TABLE ledger.rekey_progress (
    relation     regclass    NOT NULL,
    column_name  name        NOT NULL,
    started_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    done         bigint      NOT NULL,
    remaining    bigint,
    finished_at  timestamptz,
    PRIMARY KEY (relation, column_name, started_at)
);
COMMENT ON TABLE ledger.rekey_progress IS '再暗号化の進捗: one row per ledger.rekey run, updated after every committed batch';
COMMENT ON COLUMN ledger.rekey_progress.relation IS '対象テーブル';
COMMENT ON COLUMN ledger.rekey_progress.column_name IS '対象列';
COMMENT ON COLUMN ledger.rekey_progress.started_at IS '開始日時';
COMMENT ON COLUMN ledger.rekey_progress.updated_at IS '更新日時';
COMMENT ON COLUMN ledger.rekey_progress.done IS '処理済み件数';
COMMENT ON COLUMN ledger.rekey_progress.remaining IS '残り件数 (at the last batch)';
COMMENT ON COLUMN ledger.rekey_progress.finished_at IS '完了日時';
REVOKE ALL ON ledger.rekey_progress FROM PUBLIC;

-- Re-seal, in committed batches, every value of tab.col not sealed under the active key.
-- context_sql is an SQL expression over the row giving the value's context, as it was given
-- to ledger.seal (e.g. $$'person:' || id$$).  Interrupted, it resumes where it stopped.
-- (No SET search_path: a procedure with SET clauses cannot COMMIT.  It is not SECURITY
-- DEFINER, runs with its superuser caller's rights, and names everything with its schema.)
CREATE PROCEDURE ledger.rekey(tab regclass, col name, context_sql text, batch_size integer DEFAULT 1000)
LANGUAGE plpgsql AS $$
DECLARE
    active integer := ledger.active_key_id('number');
    started timestamptz := pg_catalog.clock_timestamp();
    n bigint;
    total bigint := 0;
    left_over bigint;
BEGIN
    IF batch_size < 1 THEN
        RAISE EXCEPTION 'batch_size must be positive' USING ERRCODE = '22023',
            HINT = 'Give the number of rows to re-seal per committed batch, e.g. 1000.';
    END IF;
    INSERT INTO ledger.rekey_progress VALUES (tab, col, started, started, 0, NULL, NULL);
    COMMIT;
    LOOP
        EXECUTE pg_catalog.format('UPDATE %s t SET %I = ledger._reseal(t.%I, %s) '
                       'WHERE (t.tableoid, t.ctid) IN (SELECT tableoid, ctid FROM %s '
                       'WHERE ledger.sealed_key_id(%I) <> $1 LIMIT $2 FOR UPDATE SKIP LOCKED)',
                       tab, col, col, context_sql, tab, col)
            USING active, batch_size;
        GET DIAGNOSTICS n = ROW_COUNT;
        total := total + n;
        EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s WHERE ledger.sealed_key_id(%I) <> $1', tab, col)
            INTO left_over USING active;
        UPDATE ledger.rekey_progress SET done = total, remaining = left_over, updated_at = pg_catalog.clock_timestamp(),
               finished_at = CASE WHEN n = 0 THEN pg_catalog.clock_timestamp() END
        WHERE relation = tab AND column_name = col AND started_at = started;
        RAISE NOTICE 'rekey %.%: % re-sealed, % left', tab, col, total, left_over;
        COMMIT;
        EXIT WHEN n = 0;
    END LOOP;
END $$;
REVOKE ALL ON PROCEDURE ledger.rekey(regclass, name, text, integer) FROM PUBLIC;
COMMENT ON PROCEDURE ledger.rekey(regclass, name, text, integer) IS
    '再暗号化: re-seals a column under the active data key in committed, resumable batches; progress in ledger.rekey_progress';
-- audit: the trail (操作ログ), its blocks, the triggers that feed it, and the guard that
-- keeps it append-only.  See audit.h for the parts written in C and docs/audit.md for the
-- consistency model and the verification procedure.

-- Each backend takes a block of 100 ids per nextval and hands them out itself.
CREATE SEQUENCE ledger.audit_event_id_seq INCREMENT BY 100;
COMMENT ON SEQUENCE ledger.audit_event_id_seq IS '操作ログ番号: event ids, taken 100 at a time per backend; unique, not gap-free';

-- One row per event.  Column order is the C layout in audit.h (AuditAttr); record_hash is
-- SHA-256 of the canonical encoding of the other columns (audit_record.c).
CREATE TABLE ledger.audit_event (
    event_id          bigint      NOT NULL,
    xact_id           bigint      NOT NULL,
    logged_at         timestamptz NOT NULL,
    statement_at      timestamptz NOT NULL,
    kind              text        NOT NULL,
    database_name     text        NOT NULL,
    session_role      text        NOT NULL,
    acting_role       text        NOT NULL,
    staff_id          bigint,
    backend_pid       integer     NOT NULL,
    client_addr       inet,
    application_name  text,
    relation_id       oid,
    relation_name     text,
    row_key           text[],
    column_names      text[],
    sensitive_columns text[],
    old_values        text[],
    new_values        text[],
    row_count         bigint,
    query_id          bigint,
    detail            text,
    record_hash       bytea       NOT NULL
) PARTITION BY RANGE (logged_at);
COMMENT ON TABLE ledger.audit_event IS '操作ログ: the audit trail, append-only, partitioned by month (UTC)';
COMMENT ON COLUMN ledger.audit_event.event_id IS 'ログ番号';
COMMENT ON COLUMN ledger.audit_event.xact_id IS 'トランザクション番号: full id of the writing top-level transaction; orders sealing';
COMMENT ON COLUMN ledger.audit_event.logged_at IS '記録日時: clock time of the event';
COMMENT ON COLUMN ledger.audit_event.statement_at IS '文の開始日時';
COMMENT ON COLUMN ledger.audit_event.kind IS '操作種別: insert, update, delete, truncate, select, reveal, denied, login, login_failed, logout';
COMMENT ON COLUMN ledger.audit_event.database_name IS 'データベース名';
COMMENT ON COLUMN ledger.audit_event.session_role IS 'ログインしたロール (session_user)';
COMMENT ON COLUMN ledger.audit_event.acting_role IS '実行ロール (current_user after SET ROLE)';
COMMENT ON COLUMN ledger.audit_event.staff_id IS '職員ID (set once staff exist)';
COMMENT ON COLUMN ledger.audit_event.backend_pid IS 'サーバプロセスID';
COMMENT ON COLUMN ledger.audit_event.client_addr IS '接続元アドレス (NULL for Unix sockets)';
COMMENT ON COLUMN ledger.audit_event.application_name IS 'アプリケーション名';
COMMENT ON COLUMN ledger.audit_event.relation_id IS '対象テーブルOID';
COMMENT ON COLUMN ledger.audit_event.relation_name IS '対象テーブル名 (schema-qualified, at the time)';
COMMENT ON COLUMN ledger.audit_event.row_key IS '行の主キー値 (sensitive key columns NULL)';
COMMENT ON COLUMN ledger.audit_event.column_names IS '記録した列 (the changed ones for an update)';
COMMENT ON COLUMN ledger.audit_event.sensitive_columns IS '値を記録しない列: number types and columns marked sensitive';
COMMENT ON COLUMN ledger.audit_event.old_values IS '変更前の値, aligned with column_names; NULL where SQL NULL or withheld';
COMMENT ON COLUMN ledger.audit_event.new_values IS '変更後の値, aligned with column_names';
COMMENT ON COLUMN ledger.audit_event.row_count IS '件数: rows returned or changed';
COMMENT ON COLUMN ledger.audit_event.query_id IS '問合せID (compute_query_id), never the query text';
COMMENT ON COLUMN ledger.audit_event.detail IS '詳細: purpose, reason, duration';
COMMENT ON COLUMN ledger.audit_event.record_hash IS 'レコードハッシュ: SHA-256 of the canonical encoding';

-- Sealing and verification read transaction ranges; reports by time use partition pruning.
CREATE INDEX audit_event_xact_brin ON ledger.audit_event USING brin (xact_id);

CREATE TABLE ledger.audit_event_default PARTITION OF ledger.audit_event DEFAULT;
COMMENT ON TABLE ledger.audit_event_default IS '操作ログ (月パーティション外): events of a month whose partition was missing';

-- Sealed blocks: block_hash = SHA-256("mnl-audit-block-v1" || prev_hash || block_seq ||
-- xact_lo || xact_hi || record hashes in (xact_id, event_id) order || record_count).
CREATE TABLE ledger.audit_block (
    block_seq       bigint      PRIMARY KEY,
    xact_lo         bigint      NOT NULL,
    xact_hi         bigint      NOT NULL,
    record_count    bigint      NOT NULL,
    first_logged_at timestamptz,
    last_logged_at  timestamptz,
    prev_hash       bytea       NOT NULL,
    block_hash      bytea       NOT NULL,
    sealed_at       timestamptz NOT NULL,
    CHECK (xact_lo < xact_hi)
);
COMMENT ON TABLE ledger.audit_block IS '操作ログの封印ブロック: hash-chained blocks of committed records';
COMMENT ON COLUMN ledger.audit_block.block_seq IS 'ブロック番号';
COMMENT ON COLUMN ledger.audit_block.xact_lo IS '対象トランザクション範囲の下限 (inclusive)';
COMMENT ON COLUMN ledger.audit_block.xact_hi IS '対象トランザクション範囲の上限 (exclusive)';
COMMENT ON COLUMN ledger.audit_block.record_count IS '収録件数';
COMMENT ON COLUMN ledger.audit_block.first_logged_at IS '最初の記録日時';
COMMENT ON COLUMN ledger.audit_block.last_logged_at IS '最後の記録日時';
COMMENT ON COLUMN ledger.audit_block.prev_hash IS '直前ブロックのハッシュ (32 zero bytes for the first)';
COMMENT ON COLUMN ledger.audit_block.block_hash IS 'ブロックハッシュ';
COMMENT ON COLUMN ledger.audit_block.sealed_at IS '封印日時';

-- The guard: any INSERT, UPDATE, DELETE or TRUNCATE through SQL is refused, for every role,
-- and the attempt itself is recorded as a denied event.
CREATE FUNCTION ledger.audit_trail_guard() RETURNS trigger
    AS 'MODULE_PATHNAME', 'audit_trail_guard' LANGUAGE C;
COMMENT ON FUNCTION ledger.audit_trail_guard() IS '操作ログの改ざん防止: refuses every change to the trail made through SQL';

CREATE TRIGGER audit_event_append_only BEFORE INSERT OR UPDATE OR DELETE ON ledger.audit_event
    FOR EACH ROW EXECUTE FUNCTION ledger.audit_trail_guard();
CREATE TRIGGER audit_event_no_dml BEFORE INSERT OR UPDATE OR DELETE ON ledger.audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.audit_trail_guard();
CREATE TRIGGER audit_event_no_dml BEFORE INSERT OR UPDATE OR DELETE ON ledger.audit_event_default
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.audit_trail_guard();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON ledger.audit_event_default
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.audit_trail_guard();
CREATE TRIGGER audit_block_append_only BEFORE INSERT OR UPDATE OR DELETE ON ledger.audit_block
    FOR EACH ROW EXECUTE FUNCTION ledger.audit_trail_guard();
CREATE TRIGGER audit_block_no_dml BEFORE INSERT OR UPDATE OR DELETE ON ledger.audit_block
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.audit_trail_guard();
CREATE TRIGGER audit_block_no_truncate BEFORE TRUNCATE ON ledger.audit_block
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.audit_trail_guard();
ALTER TABLE ledger.audit_event ENABLE ALWAYS TRIGGER audit_event_append_only,
    ENABLE ALWAYS TRIGGER audit_event_no_dml;
ALTER TABLE ledger.audit_event_default ENABLE ALWAYS TRIGGER audit_event_no_truncate,
    ENABLE ALWAYS TRIGGER audit_event_no_dml;
ALTER TABLE ledger.audit_block ENABLE ALWAYS TRIGGER audit_block_append_only,
    ENABLE ALWAYS TRIGGER audit_block_no_truncate, ENABLE ALWAYS TRIGGER audit_block_no_dml;

-- Month partitions, created ahead of time by the audit writer (and here, at install).
-- Verification checkpoints: where ledger.verify_audit starts after expired partitions were
-- detached by the trail's own retention (ledger._audit_detach_before).
CREATE TABLE ledger.audit_checkpoint (
    checkpoint_seq bigint      PRIMARY KEY,
    block_seq      bigint      NOT NULL,
    block_hash     bytea       NOT NULL,
    xact_hi        bigint      NOT NULL,
    detached       text[]      NOT NULL,
    made_at        timestamptz NOT NULL
);
COMMENT ON TABLE ledger.audit_checkpoint IS '検証チェックポイント: the block verification starts from after expired partitions were detached';
COMMENT ON COLUMN ledger.audit_checkpoint.checkpoint_seq IS 'チェックポイント番号';
COMMENT ON COLUMN ledger.audit_checkpoint.block_seq IS '起点ブロック';
COMMENT ON COLUMN ledger.audit_checkpoint.block_hash IS '起点ブロックのハッシュ';
COMMENT ON COLUMN ledger.audit_checkpoint.xact_hi IS '起点ブロックの上限トランザクション';
COMMENT ON COLUMN ledger.audit_checkpoint.detached IS '切り離したパーティション';
COMMENT ON COLUMN ledger.audit_checkpoint.made_at IS '作成日時';
CREATE TRIGGER audit_checkpoint_append_only BEFORE INSERT OR UPDATE OR DELETE ON ledger.audit_checkpoint
    FOR EACH ROW EXECUTE FUNCTION ledger.audit_trail_guard();
CREATE TRIGGER audit_checkpoint_no_truncate BEFORE TRUNCATE ON ledger.audit_checkpoint
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.audit_trail_guard();
ALTER TABLE ledger.audit_checkpoint ENABLE ALWAYS TRIGGER audit_checkpoint_append_only,
    ENABLE ALWAYS TRIGGER audit_checkpoint_no_truncate;
REVOKE ALL ON ledger.audit_checkpoint FROM PUBLIC;

CREATE FUNCTION ledger._audit_detach_before(cutoff timestamptz) RETURNS text[]
    AS 'MODULE_PATHNAME', 'audit_detach_before' LANGUAGE C VOLATILE STRICT;
REVOKE ALL ON FUNCTION ledger._audit_detach_before(timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION ledger._audit_detach_before(timestamptz) IS
    '操作ログの保存期間 (internal): detaches month partitions ending by cutoff, after sealing them and recording a verification checkpoint';

CREATE FUNCTION ledger._audit_add_partitions(months_ahead integer DEFAULT 3) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    first_month date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
    m date;
    part text;
    created integer := 0;
BEGIN
    FOR i IN 0..months_ahead LOOP
        m := first_month + make_interval(months => i);
        part := 'audit_event_' || to_char(m, 'YYYYMM');
        CONTINUE WHEN to_regclass(format('ledger.%I', part)) IS NOT NULL
            OR EXISTS (SELECT 1 FROM ledger.audit_checkpoint c WHERE part = ANY (c.detached));
        EXECUTE format('CREATE TABLE ledger.%I PARTITION OF ledger.audit_event '
                       'FOR VALUES FROM (%L) TO (%L)', part,
                       m::text || ' 00:00:00+00', (m + interval '1 month')::date::text || ' 00:00:00+00');
        EXECUTE format('CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON ledger.%I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION ledger.audit_trail_guard()', part);
        EXECUTE format('CREATE TRIGGER audit_event_no_dml BEFORE INSERT OR UPDATE OR DELETE ON ledger.%I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION ledger.audit_trail_guard()', part);
        EXECUTE format('ALTER TABLE ledger.%I ENABLE ALWAYS TRIGGER audit_event_no_truncate, '
                       'ENABLE ALWAYS TRIGGER audit_event_no_dml', part);
        EXECUTE format('COMMENT ON TABLE ledger.%I IS %L', part, '操作ログ ' || to_char(m, 'YYYY年MM月'));
        IF NOT EXISTS (SELECT 1 FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
                       WHERE d.classid = 'pg_class'::regclass AND d.objid = format('ledger.%I', part)::regclass
                         AND d.deptype = 'e' AND e.extname = 'mynumber_ledger') THEN
            EXECUTE format('ALTER EXTENSION mynumber_ledger ADD TABLE ledger.%I', part);
        END IF;
        created := created + 1;
    END LOOP;
    RETURN created;
END $$;
REVOKE ALL ON FUNCTION ledger._audit_add_partitions(integer) FROM PUBLIC;
COMMENT ON FUNCTION ledger._audit_add_partitions(integer) IS
    '操作ログの月パーティション作成: creates this and the next months'' partitions (internal)';
SELECT ledger._audit_add_partitions(3);

-- Auditing a table.
CREATE FUNCTION ledger.audit_row_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'audit_row_trigger' LANGUAGE C;
COMMENT ON FUNCTION ledger.audit_row_trigger() IS '行変更の記録: AFTER ROW trigger of partitioned tables, one record per changed row';
CREATE FUNCTION ledger.audit_transition_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'audit_transition_trigger' LANGUAGE C;
COMMENT ON FUNCTION ledger.audit_transition_trigger() IS '行変更の記録: AFTER STATEMENT trigger reading the transition tables, one record per changed row';
CREATE FUNCTION ledger.audit_statement_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'audit_statement_trigger' LANGUAGE C;
COMMENT ON FUNCTION ledger.audit_statement_trigger() IS '行変更の記録: AFTER STATEMENT trigger of partitioned tables, writes the statement''s records';
CREATE FUNCTION ledger.audit_truncate_trigger() RETURNS trigger
    AS 'MODULE_PATHNAME', 'audit_truncate_trigger' LANGUAGE C;
COMMENT ON FUNCTION ledger.audit_truncate_trigger() IS 'TRUNCATEの記録: AFTER TRUNCATE trigger';

CREATE FUNCTION ledger.audit_table(tab regclass, sensitive_columns text[] DEFAULT '{}') RETURNS void
    AS 'MODULE_PATHNAME', 'audit_table' LANGUAGE C SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ledger.audit_table(regclass, text[]) IS
    '操作ログの対象登録: attaches the audit triggers to a table the caller owns; named columns are never recorded';

CREATE FUNCTION ledger.unaudit_table(tab regclass) RETURNS void
    AS 'MODULE_PATHNAME', 'unaudit_table' LANGUAGE C SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION ledger.unaudit_table(regclass) FROM PUBLIC;
COMMENT ON FUNCTION ledger.unaudit_table(regclass) IS
    '操作ログの対象解除: removes the audit triggers; superuser only';

-- Which tables are audited, read from the triggers themselves (the only source of truth).
CREATE VIEW ledger.audited_tables AS
SELECT t.tgrelid::regclass AS table_name,
       ARRAY(SELECT convert_from(decode(a, 'escape'), 'UTF8')
             FROM unnest(string_to_array(encode(t.tgargs, 'escape'), '\000')) AS a
             WHERE a <> '') AS sensitive_columns_named,
       bool_and(a.tgenabled = 'A') AS always_enabled
FROM pg_trigger t
JOIN pg_trigger a ON a.tgrelid = t.tgrelid AND a.tgname LIKE 'mnl\_audit\_%'
WHERE t.tgname IN ('mnl_audit_insert', 'mnl_audit_row') AND NOT t.tgisinternal AND t.tgparentid = 0
  AND t.tgfoid IN ('ledger.audit_transition_trigger()'::regprocedure, 'ledger.audit_row_trigger()'::regprocedure)
GROUP BY t.tgrelid, t.tgargs;
COMMENT ON VIEW ledger.audited_tables IS '操作ログ対象テーブル一覧: tables with the audit triggers, and the columns named sensitive';

REVOKE ALL ON ledger.audit_event, ledger.audit_block FROM PUBLIC;

-- Sealing, verification, digest.
CREATE FUNCTION ledger.audit_seal_now() RETURNS bigint
    AS 'MODULE_PATHNAME', 'audit_seal_now' LANGUAGE C SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION ledger.audit_seal_now() FROM PUBLIC;
COMMENT ON FUNCTION ledger.audit_seal_now() IS
    '操作ログの封印: seals committed records into the next block now; returns how many (the writer does this every second)';

CREATE FUNCTION ledger.verify_audit(digest_block_seq bigint DEFAULT NULL, digest_hash bytea DEFAULT NULL,
                                    OUT block_seq bigint, OUT event_id bigint, OUT problem text)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'verify_audit' LANGUAGE C STABLE SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION ledger.verify_audit(bigint, bytea) FROM PUBLIC;
COMMENT ON FUNCTION ledger.verify_audit(bigint, bytea) IS
    '操作ログの検証: recomputes every record and block hash; returns the first break, or no row. Pass the digest kept outside to detect removal of the newest blocks';

CREATE FUNCTION ledger.audit_digest(OUT block_seq bigint, OUT block_hash bytea, OUT xact_hi bigint,
                                    OUT sealed_at timestamptz)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'audit_digest' LANGUAGE C STABLE SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION ledger.audit_digest() FROM PUBLIC;
COMMENT ON FUNCTION ledger.audit_digest() IS
    '操作ログのダイジェスト: the newest block''s sequence and hash, to keep outside the database';

CREATE FUNCTION ledger.audit_writer_status(OUT ready boolean, OUT writer_pid integer, OUT queued bigint,
                                           OUT accepted bigint, OUT written bigint, OUT dropped bigint)
    AS 'MODULE_PATHNAME', 'audit_writer_status' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.audit_writer_status() IS
    '操作ログ書込みプロセスの状態: writer running, queue depth, events accepted, written and dropped since start';
-- audit_reports: views for 自己点検・内部監査, and the auditor role that reads them.
--
-- ledger_auditor (監査) may read the trail, these views and the verifier, and nothing else
-- of the ledger.  Times are shown in the session's TimeZone (set Asia/Tokyo for 和暦 days);
-- office hours come from ledger.office_hours_start / ledger.office_hours_end, Monday to
-- Friday (national holidays are not modelled: list them with the after-hours report).

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_auditor') THEN
        CREATE ROLE ledger_auditor NOLOGIN;
    END IF;
END $$;
COMMENT ON ROLE ledger_auditor IS '監査: reads the audit trail and its reports, nothing else of the ledger';

CREATE VIEW ledger.audit_report_daily_operations AS
SELECT (logged_at)::date AS day, session_role, acting_role, staff_id, kind,
       count(*) AS events, sum(row_count) AS rows
FROM ledger.audit_event
GROUP BY 1, 2, 3, 4, 5;
COMMENT ON VIEW ledger.audit_report_daily_operations IS '利用者別・日別操作件数: operations per user per day';

CREATE VIEW ledger.audit_report_after_hours AS
SELECT e.event_id, e.logged_at, e.session_role, e.acting_role, e.staff_id, e.kind, e.relation_name,
       e.row_count, e.client_addr,
       CASE WHEN extract(isodow FROM e.logged_at) IN (6, 7) THEN 'weekend'
            WHEN e.logged_at::time < current_setting('ledger.office_hours_start')::time THEN 'before hours'
            ELSE 'after hours' END AS reason
FROM ledger.audit_event e
WHERE e.kind NOT IN ('login', 'logout', 'login_failed')
  AND (extract(isodow FROM e.logged_at) IN (6, 7)
       OR e.logged_at::time < current_setting('ledger.office_hours_start')::time
       OR e.logged_at::time >= current_setting('ledger.office_hours_end')::time);
COMMENT ON VIEW ledger.audit_report_after_hours IS '時間外操作: operations outside office hours (ledger.office_hours_start/end, weekdays)';

CREATE VIEW ledger.audit_report_denied AS
SELECT event_id, logged_at, session_role, acting_role, staff_id, client_addr, application_name,
       relation_name, kind, detail
FROM ledger.audit_event
WHERE kind IN ('denied', 'login_failed');
COMMENT ON VIEW ledger.audit_report_denied IS '拒否された操作: refused attempts and failed logins';

CREATE VIEW ledger.audit_report_reveals AS
SELECT (logged_at)::date AS day, coalesce(detail, '(no purpose given)') AS purpose, session_role,
       acting_role, staff_id, count(*) AS reveals, sum(row_count) AS numbers
FROM ledger.audit_event
WHERE kind = 'reveal'
GROUP BY 1, 2, 3, 4, 5;
COMMENT ON VIEW ledger.audit_report_reveals IS '番号の表示 (目的別): reveals of numbers by purpose, user and day';

CREATE VIEW ledger.audit_report_sessions AS
SELECT i.event_id AS login_event_id, i.logged_at AS login_at, o.logged_at AS logout_at,
       o.logged_at - i.logged_at AS duration, i.session_role, i.database_name, i.client_addr,
       i.application_name, i.backend_pid
FROM ledger.audit_event i
LEFT JOIN LATERAL (
    SELECT x.logged_at FROM ledger.audit_event x
    WHERE x.kind = 'logout' AND x.backend_pid = i.backend_pid AND x.logged_at >= i.logged_at
    ORDER BY x.logged_at LIMIT 1) o ON true
WHERE i.kind = 'login';
COMMENT ON VIEW ledger.audit_report_sessions IS 'ログイン・ログアウト: sessions with their start, end and duration';

GRANT SELECT ON ledger.audit_event, ledger.audit_block, ledger.audit_checkpoint, ledger.audited_tables,
    ledger.audit_report_daily_operations, ledger.audit_report_after_hours, ledger.audit_report_denied,
    ledger.audit_report_reveals, ledger.audit_report_sessions TO ledger_auditor;
GRANT EXECUTE ON FUNCTION ledger.verify_audit(bigint, bytea), ledger.audit_digest() TO ledger_auditor;
REVOKE ALL ON ledger.audit_report_daily_operations, ledger.audit_report_after_hours, ledger.audit_report_denied,
    ledger.audit_report_reveals, ledger.audit_report_sessions, ledger.audited_tables FROM PUBLIC;
-- staff: organisation units (組織), affairs (事務), duties (職責), staff (職員) and the
-- permission decision behind row-level security.  perm.c caches the answer of
-- ledger._permitted_org_units(); gate.c gates the administration functions below.

-- 団体コード: 5 digits and a check digit (11 - weighted sum mod 11, last digit).
CREATE FUNCTION ledger.municipality_code_is_valid(code text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    SELECT code ~ '^[0-9]{6}$'
       AND (11 - (6 * substr(code, 1, 1)::int + 5 * substr(code, 2, 1)::int + 4 * substr(code, 3, 1)::int
                + 3 * substr(code, 4, 1)::int + 2 * substr(code, 5, 1)::int) % 11) % 10
           = substr(code, 6, 1)::int;
END;
COMMENT ON FUNCTION ledger.municipality_code_is_valid(text) IS '団体コードの検査: six digits whose last is the check digit';

CREATE DOMAIN ledger.municipality_code AS text
    CONSTRAINT municipality_code_check CHECK (ledger.municipality_code_is_valid(VALUE));
COMMENT ON DOMAIN ledger.municipality_code IS '団体コード (地方公共団体コード, 6 digits with check digit); leads every ledger key';

CREATE TABLE ledger.org_unit (
    municipality_code ledger.municipality_code NOT NULL,
    org_unit_id       integer NOT NULL,
    name              text    NOT NULL,
    PRIMARY KEY (municipality_code, org_unit_id),
    UNIQUE (org_unit_id)
);
COMMENT ON TABLE ledger.org_unit IS '組織 (所属): org units of a municipality; every ledger row names one';
COMMENT ON COLUMN ledger.org_unit.municipality_code IS '団体コード';
COMMENT ON COLUMN ledger.org_unit.org_unit_id IS '所属ID (unique across municipalities)';
COMMENT ON COLUMN ledger.org_unit.name IS '所属名';

CREATE TABLE ledger.affair (
    affair_code  text PRIMARY KEY CHECK (affair_code ~ '^[a-z][a-z0-9_]{0,62}$'),
    name         text NOT NULL,
    legal_basis  text NOT NULL
);
COMMENT ON TABLE ledger.affair IS '事務: affairs for which the ledger holds data, with their legal basis';
COMMENT ON COLUMN ledger.affair.affair_code IS '事務コード';
COMMENT ON COLUMN ledger.affair.name IS '事務の名称';
COMMENT ON COLUMN ledger.affair.legal_basis IS '根拠法令';
INSERT INTO ledger.affair VALUES
    ('child_allowance', '児童手当法による児童手当の支給に関する事務',
     '行政手続における特定の個人を識別するための番号の利用等に関する法律 第9条第1項 別表第一; 児童手当法');

CREATE TYPE ledger.staff_action AS ENUM
    ('read', 'write', 'reveal', 'approve', 'export', 'administer_staff', 'read_audit');
COMMENT ON TYPE ledger.staff_action IS
    '操作権限: read 閲覧, write 更新, reveal 番号表示, approve 決裁, export 抽出, administer_staff 職員管理, read_audit 監査ログ閲覧';

CREATE TABLE ledger.duty (
    duty_code    text PRIMARY KEY CHECK (duty_code ~ '^[a-z][a-z0-9_]{0,62}$'),
    name         text NOT NULL,
    description  text,
    reveal_quota_per_day integer CHECK (reveal_quota_per_day >= 0)
);
COMMENT ON TABLE ledger.duty IS '職責: a named set of permitted actions';
COMMENT ON COLUMN ledger.duty.duty_code IS '職責コード';
COMMENT ON COLUMN ledger.duty.name IS '職責名';
COMMENT ON COLUMN ledger.duty.description IS '説明';
COMMENT ON COLUMN ledger.duty.reveal_quota_per_day IS '番号表示の1日上限 (NULL: ledger.reveal_quota_per_day)';

CREATE TABLE ledger.duty_permission (
    duty_code  text NOT NULL REFERENCES ledger.duty ON UPDATE CASCADE,
    action     ledger.staff_action NOT NULL,
    scope      text NOT NULL CHECK (scope IN ('own_org_unit', 'all')),
    PRIMARY KEY (duty_code, action)
);
COMMENT ON TABLE ledger.duty_permission IS '職責の権限: duty × action × scope (own org unit, or every org unit of the municipality)';
COMMENT ON COLUMN ledger.duty_permission.duty_code IS '職責コード';
COMMENT ON COLUMN ledger.duty_permission.action IS '操作';
COMMENT ON COLUMN ledger.duty_permission.scope IS '範囲: own_org_unit 自所属のみ, all 全所属';

INSERT INTO ledger.duty (duty_code, name, description) VALUES
    ('clerk',         '受付',       'Takes claims and enters ledger data in the own org unit'),
    ('examiner',      '審査',       'Examines claims; may reveal My Numbers in the own org unit'),
    ('approver',      '決裁',       'Approves decisions and bulk operations across the municipality'),
    ('administrator', 'システム管理', 'Manages staff and duties; reads no personal data'),
    ('auditor',       '監査',       'Reads the audit trail only'),
    -- the payment run (allowance.sql) is a staff member like any other: the same row-level
    -- security and write gate as the staff it pays for
    ('payment_job',   '支払処理',   'The scheduled payment run: reads and writes every org unit; reveals nothing');
INSERT INTO ledger.duty_permission VALUES
    ('clerk', 'read', 'own_org_unit'), ('clerk', 'write', 'own_org_unit'),
    ('examiner', 'read', 'own_org_unit'), ('examiner', 'write', 'own_org_unit'),
    ('examiner', 'reveal', 'own_org_unit'),
    ('approver', 'read', 'all'), ('approver', 'approve', 'all'), ('approver', 'export', 'all'),
    ('administrator', 'administer_staff', 'all'),
    ('auditor', 'read_audit', 'all'),
    ('payment_job', 'read', 'all'), ('payment_job', 'write', 'all');

CREATE TABLE ledger.staff (
    municipality_code ledger.municipality_code NOT NULL,
    staff_id       bigint GENERATED ALWAYS AS IDENTITY,
    role_name      name   NOT NULL UNIQUE,
    full_name      text   NOT NULL,
    org_unit_id    integer NOT NULL,
    valid_from     date   NOT NULL,
    valid_until    date,
    retired_at     timestamptz,
    retired_reason text,
    registered_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (municipality_code, staff_id),
    UNIQUE (staff_id),
    FOREIGN KEY (municipality_code, org_unit_id) REFERENCES ledger.org_unit,
    CHECK (valid_until IS NULL OR valid_until >= valid_from)
);
COMMENT ON TABLE ledger.staff IS '職員: one person, one PostgreSQL role (個人ごとのユーザID), with a validity period';
COMMENT ON COLUMN ledger.staff.municipality_code IS '団体コード';
COMMENT ON COLUMN ledger.staff.staff_id IS '職員ID';
COMMENT ON COLUMN ledger.staff.role_name IS 'ロール名 (the person''s own PostgreSQL role)';
COMMENT ON COLUMN ledger.staff.full_name IS '氏名';
COMMENT ON COLUMN ledger.staff.org_unit_id IS '所属ID';
COMMENT ON COLUMN ledger.staff.valid_from IS '有効開始日 (in ledger.time_zone)';
COMMENT ON COLUMN ledger.staff.valid_until IS '有効終了日 (last valid day, inclusive)';
COMMENT ON COLUMN ledger.staff.retired_at IS '退職・異動日時: denied from this moment';
COMMENT ON COLUMN ledger.staff.retired_reason IS '退職・異動理由';
COMMENT ON COLUMN ledger.staff.registered_at IS '登録日時';

CREATE TABLE ledger.staff_duty (
    municipality_code ledger.municipality_code NOT NULL,
    staff_id     bigint NOT NULL,
    duty_code    text   NOT NULL REFERENCES ledger.duty ON UPDATE CASCADE,
    affair_code  text   NOT NULL REFERENCES ledger.affair,
    valid_from   date   NOT NULL,
    valid_until  date,
    PRIMARY KEY (municipality_code, staff_id, duty_code, affair_code),
    FOREIGN KEY (municipality_code, staff_id) REFERENCES ledger.staff,
    CHECK (valid_until IS NULL OR valid_until >= valid_from)
);
COMMENT ON TABLE ledger.staff_duty IS '職員の職責: which duties a staff member holds for which affair, and when';
COMMENT ON COLUMN ledger.staff_duty.municipality_code IS '団体コード';
COMMENT ON COLUMN ledger.staff_duty.staff_id IS '職員ID';
COMMENT ON COLUMN ledger.staff_duty.duty_code IS '職責コード';
COMMENT ON COLUMN ledger.staff_duty.affair_code IS '事務コード';
COMMENT ON COLUMN ledger.staff_duty.valid_from IS '有効開始日';
COMMENT ON COLUMN ledger.staff_duty.valid_until IS '有効終了日 (inclusive)';

REVOKE ALL ON ledger.org_unit, ledger.affair, ledger.duty, ledger.duty_permission,
              ledger.staff, ledger.staff_duty FROM PUBLIC;

-- The registry is configuration: pg_dump keeps it.
SELECT pg_catalog.pg_extension_config_dump('ledger.org_unit', '');
SELECT pg_catalog.pg_extension_config_dump('ledger.affair', 'WHERE affair_code <> ''child_allowance''');
SELECT pg_catalog.pg_extension_config_dump('ledger.duty',
    'WHERE duty_code NOT IN (''clerk'', ''examiner'', ''approver'', ''administrator'', ''auditor'', ''payment_job'')');
SELECT pg_catalog.pg_extension_config_dump('ledger.duty_permission',
    'WHERE duty_code NOT IN (''clerk'', ''examiner'', ''approver'', ''administrator'', ''auditor'', ''payment_job'')');
SELECT pg_catalog.pg_extension_config_dump('ledger.staff', '');
SELECT pg_catalog.pg_extension_config_dump('ledger.staff_duty', '');
SELECT pg_catalog.pg_extension_config_dump('ledger.staff_staff_id_seq', '');
COMMENT ON SEQUENCE ledger.staff_staff_id_seq IS '職員IDの採番';

-- Every change to the registry: backends recompute their permission answers (perm.c).
CREATE FUNCTION ledger._registry_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'perm_registry_changed' LANGUAGE C;
REVOKE ALL ON FUNCTION ledger._registry_changed() FROM PUBLIC;
COMMENT ON FUNCTION ledger._registry_changed() IS '権限キャッシュの無効化 (internal trigger)';
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['org_unit', 'affair', 'duty', 'duty_permission', 'staff', 'staff_duty'] LOOP
        EXECUTE pg_catalog.format('CREATE TRIGGER mnl_registry_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE '
                                  'ON ledger.%I FOR EACH STATEMENT EXECUTE FUNCTION ledger._registry_changed()', t);
        EXECUTE pg_catalog.format('ALTER TABLE ledger.%I ENABLE ALWAYS TRIGGER mnl_registry_changed', t);
        PERFORM ledger.audit_table(pg_catalog.format('ledger.%I', t)::regclass);
    END LOOP;
END $$;

-- Today, where staff validity dates are counted.
CREATE FUNCTION ledger._today() RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT (pg_catalog.statement_timestamp() AT TIME ZONE pg_catalog.current_setting('ledger.time_zone'))::date;
END;
REVOKE ALL ON FUNCTION ledger._today() FROM PUBLIC;
COMMENT ON FUNCTION ledger._today() IS '本日 (in ledger.time_zone, at the start of the statement)';

-- The decision, in one place: the org units where role may do action for affair today.
-- A role that is not staff gets staff_id NULL and no org unit.  perm.c caches the answer
-- until the registry changes or recheck_at (the next midnight) passes.
CREATE FUNCTION ledger._permitted_org_units(role name, action text, affair text,
                                            OUT staff_id bigint, OUT org_units integer[],
                                            OUT recheck_at timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT me.staff_id,
           COALESCE((SELECT pg_catalog.array_agg(DISTINCT o.org_unit_id)
                     FROM ledger.staff_duty sd
                     JOIN ledger.duty_permission dp
                       ON dp.duty_code = sd.duty_code AND dp.action::text = _permitted_org_units.action
                     JOIN ledger.org_unit o
                       ON o.municipality_code = me.municipality_code
                      AND (dp.scope = 'all' OR o.org_unit_id = me.org_unit_id)
                     WHERE sd.municipality_code = me.municipality_code
                       AND sd.staff_id = me.staff_id
                       AND sd.affair_code = _permitted_org_units.affair
                       AND sd.valid_from <= d.today
                       AND (sd.valid_until IS NULL OR sd.valid_until >= d.today)
                       AND me.retired_at IS NULL
                       AND me.valid_from <= d.today
                       AND (me.valid_until IS NULL OR me.valid_until >= d.today)),
                    '{}'),
           ((d.today + 1)::timestamp AT TIME ZONE pg_catalog.current_setting('ledger.time_zone'))
    FROM (SELECT ledger._today() AS today) d
    LEFT JOIN ledger.staff me ON me.role_name = _permitted_org_units.role;
END;
REVOKE ALL ON FUNCTION ledger._permitted_org_units(name, text, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._permitted_org_units(name, text, text) IS
    '権限判定: the org units where a role may do an action for an affair today (cached by ledger.may)';

CREATE FUNCTION ledger.may(action text, affair text, org_unit integer) RETURNS boolean
    AS 'MODULE_PATHNAME', 'perm_may' LANGUAGE C STABLE LEAKPROOF PARALLEL SAFE COST 1;
COMMENT ON FUNCTION ledger.may(text, text, integer) IS
    '権限判定 (行): may the current role do action on a row of this org unit for this affair; the USING clause of every ledger policy';

CREATE FUNCTION ledger.must(action text, affair text, org_unit integer, relation regclass) RETURNS boolean
    AS 'MODULE_PATHNAME', 'perm_must' LANGUAGE C STABLE PARALLEL SAFE COST 1;
COMMENT ON FUNCTION ledger.must(text, text, integer, regclass) IS
    '権限確認 (書込み): true, or error 42501 recorded in the audit trail; the WITH CHECK clause of ledger policies';

CREATE FUNCTION ledger._write_gate() RETURNS trigger
    AS 'MODULE_PATHNAME', 'perm_write_gate' LANGUAGE C;
-- EXECUTE stays with PUBLIC: a table owner's ledger.protect_table() creates the trigger.
COMMENT ON FUNCTION ledger._write_gate() IS
    '更新権限の確認 (statement trigger): refuses, with an audit event, writes by a role without the write action';


-- ---------------------------------------------------------------------------------------
-- Staff administration.  The public functions are C (gate.c): each runs its twin
-- ledger._<name>(caller, ...) below as the extension owner, passing the calling role.
-- ---------------------------------------------------------------------------------------

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_staff') THEN
        CREATE ROLE ledger_staff NOLOGIN;
    END IF;
END $$;
COMMENT ON ROLE ledger_staff IS '職員ロール: every active staff member; table privileges, rows by row-level security';

-- Refuses unless caller holds action for org_unit in affair (a superuser always does).
CREATE FUNCTION ledger._require(caller oid, action text, affair text, org_unit integer)
RETURNS void LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE oid = caller) THEN
        RETURN;
    END IF;
    IF org_unit = ANY ((ledger._permitted_org_units(
            (SELECT rolname FROM pg_catalog.pg_roles WHERE oid = caller), action, affair)).org_units) THEN
        RETURN;
    END IF;
    RAISE EXCEPTION 'permission denied: % on org unit % for affair %', action, org_unit, affair
        USING ERRCODE = '42501',
              HINT = 'Staff administration needs a duty with the administer_staff action (システム管理) for this org unit.';
END $$;
REVOKE ALL ON FUNCTION ledger._require(oid, text, text, integer) FROM PUBLIC;

-- Separation of duties: nobody administers their own role, or a role they can act as.
CREATE FUNCTION ledger._require_other(caller oid, target name) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE oid = caller) THEN
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = target
               AND pg_catalog.pg_has_role(caller, r.oid, 'MEMBER')) THEN
        RAISE EXCEPTION 'permission denied: a staff administrator cannot change their own duties or role'
            USING ERRCODE = '42501', HINT = 'Another administrator must do it (職務の分離).';
    END IF;
END $$;
REVOKE ALL ON FUNCTION ledger._require_other(oid, name) FROM PUBLIC;
COMMENT ON FUNCTION ledger._require_other(oid, name) IS '職務の分離 (internal): refuses an administrator acting on a role they are or can become';
COMMENT ON FUNCTION ledger._require(oid, text, text, integer) IS '権限確認 (internal): error 42501 unless the caller holds the action';

-- Role memberships follow the registry: ledger_staff while active, ledger_auditor while a
-- read_audit duty is valid today; NOLOGIN once retired.  (A validity period that simply
-- ends is applied by the next sync: ledger.sync_staff_roles(), run daily.)
CREATE FUNCTION ledger._sync_staff_role(sid bigint) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s ledger.staff;
    active boolean;
    grp text;
    wanted boolean;
BEGIN
    SELECT * INTO STRICT s FROM ledger.staff WHERE staff_id = sid;
    active := s.retired_at IS NULL AND (s.valid_until IS NULL OR s.valid_until >= ledger._today());
    -- ledger_revealer is not granted: a ledger number is revealed only through
    -- ledger.reveal_person_number, which checks the reveal duty for the row's org unit.
    FOREACH grp IN ARRAY ARRAY['ledger_staff', 'ledger_auditor'] LOOP
        wanted := active AND (grp = 'ledger_staff' OR EXISTS (
            SELECT 1 FROM ledger.staff_duty sd JOIN ledger.duty_permission dp USING (duty_code)
            WHERE sd.staff_id = sid AND dp.action = 'read_audit'
              AND sd.valid_from <= ledger._today()
              AND (sd.valid_until IS NULL OR sd.valid_until >= ledger._today())));
        IF wanted = EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m
                            WHERE m.roleid = grp::regrole AND m.member = s.role_name::regrole) THEN
            CONTINUE;
        ELSIF wanted THEN
            EXECUTE format('GRANT %I TO %I', grp, s.role_name);
        ELSE
            EXECUTE format('REVOKE %I FROM %I', grp, s.role_name);
        END IF;
    END LOOP;
    IF NOT active THEN
        EXECUTE format('ALTER ROLE %I NOLOGIN', s.role_name);
    END IF;
END $$;
REVOKE ALL ON FUNCTION ledger._sync_staff_role(bigint) FROM PUBLIC;
COMMENT ON FUNCTION ledger._sync_staff_role(bigint) IS 'ロール同期 (internal): memberships and LOGIN follow the registry';

-- Re-applies role memberships and LOGIN for every staff member (validity periods that ended
-- or began since the last run).  For pg_cron, daily; a superuser or an administrator runs it.
CREATE FUNCTION ledger._sync_staff_roles(caller oid) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    sid bigint;
    n integer := 0;
BEGIN
    IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE oid = caller) THEN
        PERFORM ledger._require(caller, 'administer_staff', 'child_allowance',
                                (SELECT org_unit_id FROM ledger.staff WHERE role_name =
                                    (SELECT rolname FROM pg_catalog.pg_roles WHERE oid = caller)));
    END IF;
    FOR sid IN SELECT staff_id FROM ledger.staff ORDER BY staff_id LOOP
        PERFORM ledger._sync_staff_role(sid);
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;
REVOKE ALL ON FUNCTION ledger._sync_staff_roles(oid) FROM PUBLIC;
COMMENT ON FUNCTION ledger._sync_staff_roles(oid) IS 'ロール同期 (internal twin of ledger.sync_staff_roles)';

CREATE FUNCTION ledger.sync_staff_roles() RETURNS integer
    AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.sync_staff_roles() IS
    'ロール同期: applies every validity period that began or ended (memberships, LOGIN); run daily with pg_cron';

CREATE FUNCTION ledger._register_staff(caller oid, role_name name, full_name text, org_unit integer,
                                       duties text[], valid_from date, valid_until date,
                                       affair text, login boolean)
RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    muni text;
    r pg_catalog.pg_roles;
    sid bigint;
    d text;
    start date := COALESCE(valid_from, ledger._today());
BEGIN
    SELECT municipality_code INTO muni FROM ledger.org_unit o WHERE o.org_unit_id = org_unit;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'org unit % does not exist', org_unit USING ERRCODE = '23503',
            HINT = 'Add it to ledger.org_unit first.';
    END IF;
    PERFORM ledger._require(caller, 'administer_staff', affair, org_unit);
    IF duties IS NULL OR cardinality(duties) = 0 THEN
        RAISE EXCEPTION 'a staff member needs at least one duty' USING ERRCODE = '22023',
            HINT = 'Give duties such as ARRAY[''clerk''] (see ledger.duty).';
    END IF;
    FOREACH d IN ARRAY duties LOOP
        IF NOT EXISTS (SELECT 1 FROM ledger.duty WHERE duty_code = d) THEN
            RAISE EXCEPTION 'duty "%" does not exist', d USING ERRCODE = '23503',
                HINT = 'See ledger.duty for the defined duties.';
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM ledger.staff s WHERE s.role_name = _register_staff.role_name) THEN
        RAISE EXCEPTION 'role "%" is already registered as staff', role_name USING ERRCODE = '23505',
            HINT = 'One person, one role: a role is registered once and never reused after retirement.';
    END IF;
    SELECT * INTO r FROM pg_catalog.pg_roles WHERE rolname = role_name;
    IF FOUND THEN
        IF r.rolsuper OR r.rolbypassrls OR r.rolcreaterole OR r.rolreplication THEN
            RAISE EXCEPTION 'role "%" cannot be staff: it is a superuser or has BYPASSRLS, CREATEROLE or REPLICATION', role_name
                USING ERRCODE = '42501',
                      HINT = 'Staff roles are ordinary roles; give the person a role of their own.';
        END IF;
        RAISE EXCEPTION 'role "%" already exists', role_name USING ERRCODE = '42710',
            HINT = 'register_staff creates the person''s own new role; an existing role may have members or rights of its own.';
    END IF;
    EXECUTE format('CREATE ROLE %I %s', role_name, CASE WHEN login THEN 'LOGIN' ELSE 'NOLOGIN' END);
    IF current_setting('ledger.staff_idle_session_timeout') <> '0' THEN
        EXECUTE format('ALTER ROLE %I SET idle_session_timeout = %L', role_name,
                       current_setting('ledger.staff_idle_session_timeout'));
    END IF;
    INSERT INTO ledger.staff (municipality_code, role_name, full_name, org_unit_id, valid_from, valid_until)
    VALUES (muni, role_name, full_name, org_unit, start, valid_until)
    RETURNING staff_id INTO sid;
    INSERT INTO ledger.staff_duty (municipality_code, staff_id, duty_code, affair_code, valid_from, valid_until)
    SELECT DISTINCT muni, sid, x, affair, start, valid_until FROM unnest(duties) AS x;
    PERFORM ledger._sync_staff_role(sid);
    RETURN sid;
END $$;
REVOKE ALL ON FUNCTION ledger._register_staff(oid, name, text, integer, text[], date, date, text, boolean) FROM PUBLIC;
COMMENT ON FUNCTION ledger._register_staff(oid, name, text, integer, text[], date, date, text, boolean) IS
    '職員登録 (internal twin of ledger.register_staff)';

CREATE FUNCTION ledger.register_staff(role_name name, full_name text, org_unit integer, duties text[],
                                      valid_from date DEFAULT NULL, valid_until date DEFAULT NULL,
                                      affair text DEFAULT 'child_allowance', login boolean DEFAULT true)
RETURNS bigint AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.register_staff(name, text, integer, text[], date, date, text, boolean) IS
    '職員登録: one person, one role (created if missing), org unit, duties and validity; needs administer_staff';

CREATE FUNCTION ledger._retire_staff(caller oid, role_name name, reason text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s ledger.staff;
BEGIN
    SELECT * INTO s FROM ledger.staff st WHERE st.role_name = _retire_staff.role_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role "%" is not registered as staff', role_name USING ERRCODE = '42704',
            HINT = 'See ledger.staff.';
    END IF;
    -- administer_staff for every affair the person works in (and at least child_allowance)
    PERFORM ledger._require(caller, 'administer_staff', a.affair_code, s.org_unit_id)
    FROM (SELECT affair_code FROM ledger.staff_duty WHERE staff_id = s.staff_id
          UNION SELECT 'child_allowance') a;
    PERFORM ledger._require_other(caller, role_name);
    IF s.retired_at IS NOT NULL THEN
        RAISE EXCEPTION 'staff member "%" has already retired', role_name USING ERRCODE = '55000',
            HINT = 'Nothing to do.';
    END IF;
    UPDATE ledger.staff
       SET retired_at = pg_catalog.now(), retired_reason = reason,
           valid_until = LEAST(COALESCE(valid_until, ledger._today()), ledger._today())
     WHERE staff_id = s.staff_id;
    UPDATE ledger.staff_duty
       SET valid_until = LEAST(COALESCE(valid_until, ledger._today()), ledger._today())
     WHERE staff_id = s.staff_id AND valid_from <= ledger._today();
    PERFORM ledger._sync_staff_role(s.staff_id);
END $$;
REVOKE ALL ON FUNCTION ledger._retire_staff(oid, name, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._retire_staff(oid, name, text) IS '職員の退職・異動 (internal twin of ledger.retire_staff)';

CREATE FUNCTION ledger.retire_staff(role_name name, reason text DEFAULT NULL)
RETURNS void AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.retire_staff(name, text) IS
    '職員の退職・異動: denied in every open session from the next statement; the role becomes NOLOGIN';

CREATE FUNCTION ledger._assign_duty(caller oid, role_name name, duty text, affair text,
                                    valid_from date, valid_until date)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s ledger.staff;
BEGIN
    SELECT * INTO s FROM ledger.staff st WHERE st.role_name = _assign_duty.role_name AND st.retired_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role "%" is not active staff', role_name USING ERRCODE = '42704',
            HINT = 'Register the person with ledger.register_staff() first.';
    END IF;
    PERFORM ledger._require(caller, 'administer_staff', affair, s.org_unit_id);
    PERFORM ledger._require_other(caller, role_name);
    IF NOT EXISTS (SELECT 1 FROM ledger.duty d WHERE d.duty_code = _assign_duty.duty) THEN
        RAISE EXCEPTION 'duty "%" does not exist', duty USING ERRCODE = '23503', HINT = 'See ledger.duty.';
    END IF;
    INSERT INTO ledger.staff_duty (municipality_code, staff_id, duty_code, affair_code, valid_from, valid_until)
    VALUES (s.municipality_code, s.staff_id, duty, affair, COALESCE(valid_from, ledger._today()), valid_until)
    ON CONFLICT (municipality_code, staff_id, duty_code, affair_code)
    DO UPDATE SET valid_from = EXCLUDED.valid_from, valid_until = EXCLUDED.valid_until;
    PERFORM ledger._sync_staff_role(s.staff_id);
END $$;
REVOKE ALL ON FUNCTION ledger._assign_duty(oid, name, text, text, date, date) FROM PUBLIC;
COMMENT ON FUNCTION ledger._assign_duty(oid, name, text, text, date, date) IS '職責の付与 (internal twin of ledger.assign_duty)';

CREATE FUNCTION ledger.assign_duty(role_name name, duty text, affair text DEFAULT 'child_allowance',
                                   valid_from date DEFAULT NULL, valid_until date DEFAULT NULL)
RETURNS void AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.assign_duty(name, text, text, date, date) IS
    '職責の付与: gives a staff member a duty for an affair; seen by every session from the next statement';

CREATE FUNCTION ledger._revoke_duty(caller oid, role_name name, duty text, affair text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s ledger.staff;
BEGIN
    SELECT * INTO s FROM ledger.staff st WHERE st.role_name = _revoke_duty.role_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role "%" is not registered as staff', role_name USING ERRCODE = '42704', HINT = 'See ledger.staff.';
    END IF;
    PERFORM ledger._require(caller, 'administer_staff', affair, s.org_unit_id);
    PERFORM ledger._require_other(caller, role_name);
    DELETE FROM ledger.staff_duty sd
     WHERE sd.staff_id = s.staff_id AND sd.duty_code = _revoke_duty.duty AND sd.affair_code = _revoke_duty.affair;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'staff member "%" does not hold duty "%" for affair "%"', role_name, duty, affair
            USING ERRCODE = '42704', HINT = 'See ledger.staff_duty.';
    END IF;
    PERFORM ledger._sync_staff_role(s.staff_id);
END $$;
REVOKE ALL ON FUNCTION ledger._revoke_duty(oid, name, text, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._revoke_duty(oid, name, text, text) IS '職責の取消し (internal twin of ledger.revoke_duty)';

CREATE FUNCTION ledger.revoke_duty(role_name name, duty text, affair text DEFAULT 'child_allowance')
RETURNS void AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.revoke_duty(name, text, text) IS
    '職責の取消し: takes a duty away; seen by every session from the next statement';

CREATE FUNCTION ledger.protect_table(tab regclass, org_column name, affair text DEFAULT 'child_allowance',
                                     sensitive_columns text[] DEFAULT NULL)
RETURNS void AS 'MODULE_PATHNAME', 'protect_table' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.protect_table(regclass, name, text, text[]) IS
    'テーブルの保護: row-level security (enabled, forced) on the org unit column through ledger.may/must, the write gate and the audit triggers';

CREATE VIEW ledger.protected_tables AS
    SELECT c.oid::regclass AS relation,
           (SELECT pg_catalog.pg_get_expr(p.polqual, p.polrelid) FROM pg_catalog.pg_policy p
             WHERE p.polrelid = c.oid AND p.polname = 'mnl_rls_select') AS read_policy,
           c.relrowsecurity AS rls_enabled, c.relforcerowsecurity AS rls_forced
    FROM pg_catalog.pg_class c
    WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'mnl_rls_select');
COMMENT ON VIEW ledger.protected_tables IS '保護対象テーブル: tables under the extension''s row-level security';
-- ledger: the 児童手当等支給台帳 tables.  Every table leads with the 団体コード, names the org
-- unit that keeps the row (row-level security rests on it), and is protected with
-- ledger.protect_table(): RLS enabled and forced, the write gate, the audit triggers.
-- Amounts are computed by the allowance engine (a later component); the columns it needs
-- are here.

CREATE TABLE ledger.person (
    municipality_code ledger.municipality_code NOT NULL,
    person_id        bigint GENERATED BY DEFAULT AS IDENTITY,
    org_unit_id      integer NOT NULL,
    mynumber         ledger.sealed_mynumber,
    mynumber_index   bytea,
    family_name      text NOT NULL,
    given_name       text NOT NULL,
    family_name_kana text,
    given_name_kana  text,
    birth_date       date NOT NULL,
    address          text,
    enrolled_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    closed_on        date,
    PRIMARY KEY (municipality_code, person_id),
    FOREIGN KEY (municipality_code, org_unit_id) REFERENCES ledger.org_unit,
    CONSTRAINT person_number_sealed_with_index CHECK ((mynumber IS NULL) = (mynumber_index IS NULL)),
    CONSTRAINT person_one_number UNIQUE (municipality_code, mynumber_index),
    -- the key the household's rows refer to with their org unit (one household, one org unit)
    CONSTRAINT person_in_org_unit UNIQUE (municipality_code, person_id, org_unit_id),
    -- a real birth date (the allowance's date rules refuse anything else)
    CONSTRAINT person_birth_date_real CHECK (birth_date > '1900-01-01' AND birth_date < '2200-01-01')
);
CREATE INDEX person_mynumber_index ON ledger.person (mynumber_index);
COMMENT ON TABLE ledger.person IS '個人: recipients, children and other persons of the ledger';
COMMENT ON COLUMN ledger.person.municipality_code IS '団体コード';
COMMENT ON COLUMN ledger.person.person_id IS '個人ID (宛名番号)';
COMMENT ON COLUMN ledger.person.org_unit_id IS '担当所属ID';
COMMENT ON COLUMN ledger.person.mynumber IS '個人番号 (暗号化, context person:<団体コード>:<個人ID>); given once, at enrolment';
COMMENT ON COLUMN ledger.person.mynumber_index IS '個人番号のブラインドインデックス (ledger.blind_index)';
COMMENT ON COLUMN ledger.person.family_name IS '氏';
COMMENT ON COLUMN ledger.person.given_name IS '名';
COMMENT ON COLUMN ledger.person.family_name_kana IS '氏 (カナ)';
COMMENT ON COLUMN ledger.person.given_name_kana IS '名 (カナ)';
COMMENT ON COLUMN ledger.person.birth_date IS '生年月日';
COMMENT ON COLUMN ledger.person.address IS '住所';
COMMENT ON COLUMN ledger.person.enrolled_at IS '登録日時';
COMMENT ON COLUMN ledger.person.closed_on IS '記録の完結日: the person''s last certification ended (retention counts from here)';

CREATE TABLE ledger.recipient (
    municipality_code ledger.municipality_code NOT NULL,
    recipient_id      bigint GENERATED BY DEFAULT AS IDENTITY,
    person_id         bigint  NOT NULL,
    org_unit_id       integer NOT NULL,
    is_public_servant boolean NOT NULL DEFAULT false,
    registered_on     date    NOT NULL DEFAULT CURRENT_DATE,
    PRIMARY KEY (municipality_code, recipient_id),
    UNIQUE (municipality_code, person_id),
    CONSTRAINT recipient_in_org_unit UNIQUE (municipality_code, recipient_id, org_unit_id),
    FOREIGN KEY (municipality_code, person_id) REFERENCES ledger.person,
    FOREIGN KEY (municipality_code, org_unit_id) REFERENCES ledger.org_unit
);
COMMENT ON TABLE ledger.recipient IS '受給者';
COMMENT ON COLUMN ledger.recipient.municipality_code IS '団体コード';
COMMENT ON COLUMN ledger.recipient.recipient_id IS '受給者ID';
COMMENT ON COLUMN ledger.recipient.person_id IS '個人ID';
COMMENT ON COLUMN ledger.recipient.org_unit_id IS '担当所属ID';
COMMENT ON COLUMN ledger.recipient.is_public_servant IS '公務員 (paid by the employer, not by the municipality)';
COMMENT ON COLUMN ledger.recipient.registered_on IS '登録日';

CREATE TABLE ledger.child (
    municipality_code ledger.municipality_code NOT NULL,
    child_id          bigint GENERATED BY DEFAULT AS IDENTITY,
    person_id         bigint  NOT NULL,
    recipient_id      bigint  NOT NULL,
    org_unit_id       integer NOT NULL,
    supported         boolean NOT NULL DEFAULT true,
    support_confirmed_on date,
    relationship      text,
    from_date         date    NOT NULL,
    until_date        date,
    PRIMARY KEY (municipality_code, child_id),
    UNIQUE (municipality_code, recipient_id, person_id),
    -- the child, the recipient and the child's person are of one org unit: foreign keys ignore
    -- row-level security, so without this a row in one org unit could point into another and
    -- the payment job (which reads every org unit) would carry it across
    CONSTRAINT child_of_recipient_in_org_unit FOREIGN KEY (municipality_code, recipient_id, org_unit_id)
        REFERENCES ledger.recipient (municipality_code, recipient_id, org_unit_id) ON UPDATE CASCADE,
    CONSTRAINT child_person_in_org_unit FOREIGN KEY (municipality_code, person_id, org_unit_id)
        REFERENCES ledger.person (municipality_code, person_id, org_unit_id) DEFERRABLE INITIALLY DEFERRED,
    FOREIGN KEY (municipality_code, org_unit_id) REFERENCES ledger.org_unit,
    CHECK (until_date IS NULL OR until_date >= from_date)
);
COMMENT ON TABLE ledger.child IS '児童: children (and older persons counted for birth order) of a recipient';
COMMENT ON COLUMN ledger.child.municipality_code IS '団体コード';
COMMENT ON COLUMN ledger.child.child_id IS '児童ID';
COMMENT ON COLUMN ledger.child.person_id IS '個人ID';
COMMENT ON COLUMN ledger.child.recipient_id IS '受給者ID';
COMMENT ON COLUMN ledger.child.org_unit_id IS '担当所属ID';
COMMENT ON COLUMN ledger.child.supported IS '監護相当・生計費の負担 (counts for the birth order)';
COMMENT ON COLUMN ledger.child.support_confirmed_on IS '確認書の受理日';
COMMENT ON COLUMN ledger.child.relationship IS '続柄';
COMMENT ON COLUMN ledger.child.from_date IS '監護開始日';
COMMENT ON COLUMN ledger.child.until_date IS '監護終了日';

CREATE TABLE ledger.certification (
    municipality_code ledger.municipality_code NOT NULL,
    certification_id  bigint GENERATED BY DEFAULT AS IDENTITY,
    recipient_id      bigint  NOT NULL,
    org_unit_id       integer NOT NULL,
    claim_date        date    NOT NULL,
    event_date        date,
    decision_date     date,
    first_month       date,
    monthly_amount    integer CHECK (monthly_amount >= 0),
    extinguished_on   date,
    extinction_reason text,
    status            text    NOT NULL DEFAULT 'claimed'
                      CHECK (status IN ('claimed', 'certified', 'rejected', 'extinguished')),
    PRIMARY KEY (municipality_code, certification_id),
    CONSTRAINT certification_in_org_unit UNIQUE (municipality_code, certification_id, org_unit_id),
    CONSTRAINT certification_of_recipient_in_org_unit FOREIGN KEY (municipality_code, recipient_id, org_unit_id)
        REFERENCES ledger.recipient (municipality_code, recipient_id, org_unit_id) ON UPDATE CASCADE,
    FOREIGN KEY (municipality_code, org_unit_id) REFERENCES ledger.org_unit,
    CHECK (first_month IS NULL OR first_month = date_trunc('month', first_month)::date),
    CHECK ((status = 'extinguished') = (extinguished_on IS NOT NULL))
);
COMMENT ON TABLE ledger.certification IS '認定: a recipient''s certification (認定請求 to 消滅)';
COMMENT ON COLUMN ledger.certification.municipality_code IS '団体コード';
COMMENT ON COLUMN ledger.certification.certification_id IS '認定ID';
COMMENT ON COLUMN ledger.certification.recipient_id IS '受給者ID';
COMMENT ON COLUMN ledger.certification.org_unit_id IS '担当所属ID';
COMMENT ON COLUMN ledger.certification.claim_date IS '認定請求日';
COMMENT ON COLUMN ledger.certification.event_date IS '事由発生日 (出生日・転入日): a claim within 15 days of it starts from the month after it (15日特例)';
COMMENT ON COLUMN ledger.certification.decision_date IS '認定日';
COMMENT ON COLUMN ledger.certification.first_month IS '支給開始月 (first day of the month)';
COMMENT ON COLUMN ledger.certification.monthly_amount IS '手当月額 (円)';
COMMENT ON COLUMN ledger.certification.extinguished_on IS '消滅日';
COMMENT ON COLUMN ledger.certification.extinction_reason IS '消滅事由';
COMMENT ON COLUMN ledger.certification.status IS '状態: claimed 請求中, certified 認定, rejected 却下, extinguished 消滅';

CREATE TABLE ledger.certification_revision (
    municipality_code ledger.municipality_code NOT NULL,
    revision_id       bigint GENERATED BY DEFAULT AS IDENTITY,
    certification_id  bigint  NOT NULL,
    org_unit_id       integer NOT NULL,
    effective_month   date    NOT NULL CHECK (effective_month = date_trunc('month', effective_month)::date),
    old_amount        integer NOT NULL CHECK (old_amount >= 0),
    new_amount        integer NOT NULL CHECK (new_amount >= 0),
    reason            text    NOT NULL,
    decided_on        date,
    PRIMARY KEY (municipality_code, revision_id),
    UNIQUE (municipality_code, certification_id, effective_month),
    CONSTRAINT revision_of_certification_in_org_unit FOREIGN KEY (municipality_code, certification_id, org_unit_id)
        REFERENCES ledger.certification (municipality_code, certification_id, org_unit_id) ON UPDATE CASCADE ON DELETE CASCADE,
    FOREIGN KEY (municipality_code, org_unit_id) REFERENCES ledger.org_unit
);
COMMENT ON TABLE ledger.certification_revision IS '額改定: history of a certification''s monthly amount';
COMMENT ON COLUMN ledger.certification_revision.municipality_code IS '団体コード';
COMMENT ON COLUMN ledger.certification_revision.revision_id IS '額改定ID';
COMMENT ON COLUMN ledger.certification_revision.certification_id IS '認定ID';
COMMENT ON COLUMN ledger.certification_revision.org_unit_id IS '担当所属ID';
COMMENT ON COLUMN ledger.certification_revision.effective_month IS '改定月';
COMMENT ON COLUMN ledger.certification_revision.old_amount IS '改定前月額';
COMMENT ON COLUMN ledger.certification_revision.new_amount IS '改定後月額';
COMMENT ON COLUMN ledger.certification_revision.reason IS '改定事由 (出生, 3歳到達, 児童の減少, 出生順位の変動, ...)';
COMMENT ON COLUMN ledger.certification_revision.decided_on IS '決定日';

CREATE TABLE ledger.payment (
    municipality_code ledger.municipality_code NOT NULL,
    payment_id        bigint GENERATED BY DEFAULT AS IDENTITY,
    certification_id  bigint  NOT NULL,
    recipient_id      bigint  NOT NULL,
    org_unit_id       integer NOT NULL,
    payment_month     date    NOT NULL CHECK (payment_month = date_trunc('month', payment_month)::date),
    first_month       date    NOT NULL,
    last_month        date    NOT NULL,
    amount            integer NOT NULL CHECK (amount >= 0),
    status            text    NOT NULL DEFAULT 'planned'
                      CHECK (status IN ('planned', 'paid', 'withheld', 'returned', 'cancelled')),
    paid_on           date,
    PRIMARY KEY (municipality_code, payment_id),
    UNIQUE (municipality_code, certification_id, payment_month),
    CONSTRAINT payment_of_certification_in_org_unit FOREIGN KEY (municipality_code, certification_id, org_unit_id)
        REFERENCES ledger.certification (municipality_code, certification_id, org_unit_id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT payment_of_recipient_in_org_unit FOREIGN KEY (municipality_code, recipient_id, org_unit_id)
        REFERENCES ledger.recipient (municipality_code, recipient_id, org_unit_id) ON UPDATE CASCADE,
    FOREIGN KEY (municipality_code, org_unit_id) REFERENCES ledger.org_unit,
    CHECK (first_month <= last_month AND last_month < payment_month)
);
COMMENT ON TABLE ledger.payment IS '支払: one payment of a certification in a 支払期月';
COMMENT ON COLUMN ledger.payment.municipality_code IS '団体コード';
COMMENT ON COLUMN ledger.payment.payment_id IS '支払ID';
COMMENT ON COLUMN ledger.payment.certification_id IS '認定ID';
COMMENT ON COLUMN ledger.payment.recipient_id IS '受給者ID';
COMMENT ON COLUMN ledger.payment.org_unit_id IS '担当所属ID';
COMMENT ON COLUMN ledger.payment.payment_month IS '支払期月';
COMMENT ON COLUMN ledger.payment.first_month IS '支払対象の最初の月';
COMMENT ON COLUMN ledger.payment.last_month IS '支払対象の最後の月';
COMMENT ON COLUMN ledger.payment.amount IS '支払額 (円)';
COMMENT ON COLUMN ledger.payment.status IS '状態: planned 予定, paid 支払済, withheld 差止, returned 返還, cancelled 取消';
COMMENT ON COLUMN ledger.payment.paid_on IS '支払日';

-- Row-level security, the write gate and the audit triggers on every ledger table.
-- The audit trail keeps which person columns changed, not their values: the auditor reads the
-- trail and must not read personal data through it.
SELECT ledger.protect_table('ledger.person', 'org_unit_id', 'child_allowance',
    ARRAY['mynumber_index', 'family_name', 'given_name', 'family_name_kana', 'given_name_kana',
          'birth_date', 'address']);
SELECT ledger.protect_table('ledger.recipient', 'org_unit_id');
SELECT ledger.protect_table('ledger.child', 'org_unit_id');
SELECT ledger.protect_table('ledger.certification', 'org_unit_id');
SELECT ledger.protect_table('ledger.certification_revision', 'org_unit_id');
SELECT ledger.protect_table('ledger.payment', 'org_unit_id');

-- The ledger is data, but it belongs to the extension: pg_dump keeps it as configuration.
-- (Reading it is an audited read like any other: run pg_dump where the audit writer runs.)
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['ledger.person', 'ledger.recipient', 'ledger.child', 'ledger.certification',
                             'ledger.certification_revision', 'ledger.payment',
                             'ledger.person_person_id_seq', 'ledger.recipient_recipient_id_seq',
                             'ledger.child_child_id_seq', 'ledger.certification_certification_id_seq',
                             'ledger.certification_revision_revision_id_seq', 'ledger.payment_payment_id_seq'] LOOP
        PERFORM pg_catalog.pg_extension_config_dump(t::regclass, '');
    END LOOP;
END $$;

-- Staff get table privileges; rows are decided by the policies.  A My Number is given once:
-- no role may update it.
REVOKE ALL ON ledger.person, ledger.recipient, ledger.child, ledger.certification,
              ledger.certification_revision, ledger.payment FROM PUBLIC;
-- Not the blind index: with it and ledger.blind_index anyone could test guesses of a number.
-- Persons are enrolled through ledger.enrol_person.
GRANT SELECT (municipality_code, person_id, org_unit_id, mynumber, family_name, given_name,
              family_name_kana, given_name_kana, birth_date, address, enrolled_at, closed_on) ON ledger.person TO ledger_staff;
GRANT DELETE ON ledger.person TO ledger_staff;
GRANT UPDATE (org_unit_id, family_name, given_name, family_name_kana, given_name_kana, birth_date, address, closed_on)
    ON ledger.person TO ledger_staff;
GRANT SELECT, INSERT, UPDATE, DELETE ON ledger.recipient, ledger.child, ledger.certification,
              ledger.certification_revision, ledger.payment TO ledger_staff;
GRANT USAGE ON SCHEMA ledger TO ledger_staff;

COMMENT ON SEQUENCE ledger.person_person_id_seq IS '個人IDの採番';
COMMENT ON SEQUENCE ledger.recipient_recipient_id_seq IS '受給者IDの採番';
COMMENT ON SEQUENCE ledger.child_child_id_seq IS '児童IDの採番';
COMMENT ON SEQUENCE ledger.certification_certification_id_seq IS '認定IDの採番';
COMMENT ON SEQUENCE ledger.certification_revision_revision_id_seq IS '額改定IDの採番';
COMMENT ON SEQUENCE ledger.payment_payment_id_seq IS '支払IDの採番';

-- The sealing context of a person's number: a sealed value opens only in its own row.
CREATE FUNCTION ledger.person_context(municipality_code text, person_id bigint) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    SELECT 'person:' || municipality_code || ':' || person_id;
END;
COMMENT ON FUNCTION ledger.person_context(text, bigint) IS '暗号化の文脈: person:<団体コード>:<個人ID>';

-- Enrolment, lookup by number and reveal act for the caller through the gate (gate.c): the
-- twins run as the extension owner and check the caller's duty for the org unit first.

-- Enrolment: the only way a My Number enters the ledger, sealed before it is written.
CREATE FUNCTION ledger._enrol_person(caller oid, municipality_code text, org_unit_id integer, mynumber ledger.mynumber,
                                     family_name text, given_name text, family_name_kana text,
                                     given_name_kana text, birth_date date, address text)
RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    pid bigint;
BEGIN
    PERFORM ledger._require(caller, 'write', 'child_allowance', org_unit_id);
    IF NOT EXISTS (SELECT 1 FROM ledger.org_unit o WHERE o.org_unit_id = _enrol_person.org_unit_id
                   AND o.municipality_code = _enrol_person.municipality_code) THEN
        RAISE EXCEPTION 'org unit % is not of municipality %', org_unit_id, municipality_code
            USING ERRCODE = '23503', HINT = 'See ledger.org_unit.';
    END IF;
    IF mynumber IS NOT NULL AND EXISTS (
        SELECT 1 FROM ledger.person p
        WHERE p.municipality_code = _enrol_person.municipality_code
          AND p.mynumber_index = ledger.blind_index(_enrol_person.mynumber)) THEN
        RAISE EXCEPTION 'a person with this My Number is already enrolled' USING ERRCODE = '23505',
            HINT = 'Find the person with ledger.find_person().';
    END IF;
    pid := nextval('ledger.person_person_id_seq');
    INSERT INTO ledger.person (municipality_code, person_id, org_unit_id, mynumber, mynumber_index,
                               family_name, given_name, family_name_kana, given_name_kana, birth_date, address)
    VALUES (_enrol_person.municipality_code, pid, _enrol_person.org_unit_id,
            ledger.seal(_enrol_person.mynumber, ledger.person_context(_enrol_person.municipality_code, pid)),
            ledger.blind_index(_enrol_person.mynumber),
            _enrol_person.family_name, _enrol_person.given_name, _enrol_person.family_name_kana,
            _enrol_person.given_name_kana, _enrol_person.birth_date, _enrol_person.address);
    -- The person's 符号 in this affair (linkage.sql): the key of any affair-local table.
    IF mynumber IS NOT NULL THEN
        INSERT INTO ledger.person_pseudonym
        VALUES (_enrol_person.municipality_code, pid, 'child_allowance',
                ledger.pseudonym(_enrol_person.mynumber, 'child_allowance'));
    END IF;
    RETURN pid;
END $$;
REVOKE ALL ON FUNCTION ledger._enrol_person(oid, text, integer, ledger.mynumber, text, text, text, text, date, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._enrol_person(oid, text, integer, ledger.mynumber, text, text, text, text, date, text) IS
    '個人の登録 (internal twin of ledger.enrol_person)';

CREATE FUNCTION ledger.enrol_person(municipality_code text, org_unit_id integer, mynumber ledger.mynumber,
                                    family_name text, given_name text, family_name_kana text,
                                    given_name_kana text, birth_date date, address text)
RETURNS bigint AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.enrol_person(text, integer, ledger.mynumber, text, text, text, text, date, text) IS
    '個人の登録: seals the My Number for its row and stores its blind index; the caller needs write in the org unit';

CREATE FUNCTION ledger._find_person(caller oid, mynumber ledger.mynumber, municipality_code text)
RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    p record;
BEGIN
    SELECT x.person_id, x.org_unit_id INTO p FROM ledger.person x
     WHERE x.municipality_code = _find_person.municipality_code
       AND x.mynumber_index = ledger.blind_index(_find_person.mynumber);
    -- Someone the caller may not read is not found.
    IF NOT FOUND OR NOT (p.org_unit_id = ANY ((ledger._permitted_org_units(
            (SELECT rolname FROM pg_catalog.pg_roles WHERE oid = caller), 'read', 'child_allowance')).org_units)
            OR (SELECT rolsuper FROM pg_catalog.pg_roles WHERE oid = caller)) THEN
        RETURN NULL;
    END IF;
    RETURN p.person_id;
END $$;
REVOKE ALL ON FUNCTION ledger._find_person(oid, ledger.mynumber, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._find_person(oid, ledger.mynumber, text) IS '個人番号による検索 (internal twin of ledger.find_person)';

CREATE FUNCTION ledger.find_person(mynumber ledger.mynumber, municipality_code text)
RETURNS bigint AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.find_person(ledger.mynumber, text) IS
    '個人番号による検索: the person id, by blind index, if the caller may read that person (else NULL)';

-- Reveal a person's number: the caller must hold reveal for the person's org unit.
CREATE FUNCTION ledger._reveal_person_number(caller oid, municipality_code text, person_id bigint, purpose text,
                                             legal_basis text)
RETURNS ledger.mynumber LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    p ledger.person;
BEGIN
    SELECT * INTO p FROM ledger.person x
     WHERE x.municipality_code = _reveal_person_number.municipality_code
       AND x.person_id = _reveal_person_number.person_id;
    IF NOT FOUND OR p.mynumber IS NULL THEN
        RAISE EXCEPTION 'no My Number to reveal for this person' USING ERRCODE = '02000',
            HINT = 'The person does not exist or has no number.';
    END IF;
    PERFORM ledger._require(caller, 'reveal', 'child_allowance', p.org_unit_id);
    PERFORM ledger._reveal_allowance(caller, 1);    -- the daily quota (disclosure.sql)
    RETURN ledger.reveal(p.mynumber, ledger.person_context(p.municipality_code, p.person_id), purpose, legal_basis);
END $$;
REVOKE ALL ON FUNCTION ledger._reveal_person_number(oid, text, bigint, text, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._reveal_person_number(oid, text, bigint, text, text) IS
    '個人番号の表示 (internal twin of ledger.reveal_person_number)';

CREATE FUNCTION ledger.reveal_person_number(municipality_code text, person_id bigint, purpose text,
                                            legal_basis text DEFAULT NULL)
RETURNS ledger.mynumber AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.reveal_person_number(text, bigint, text, text) IS
    '個人番号の表示 (個人): needs the reveal duty for the person''s org unit (checked today); recorded with its purpose before it returns';

CREATE VIEW ledger.person_masked WITH (security_invoker = true) AS
    SELECT municipality_code, person_id, org_unit_id,
           ledger.mask(mynumber, ledger.person_context(municipality_code, person_id)) AS mynumber_masked,
           family_name, given_name, family_name_kana, given_name_kana, birth_date, address
    FROM ledger.person;
COMMENT ON VIEW ledger.person_masked IS '個人 (マスク表示): the number as ********9018, under the caller''s row-level security';
GRANT SELECT ON ledger.person_masked TO ledger_staff;
-- files: 特定個人情報ファイル - the registered files, and the DDL guard that refuses any new
-- place able to hold a My Number outside them (番号法 第29条).  files.c is the event trigger;
-- the rule itself is the SQL below.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_dba') THEN
        CREATE ROLE ledger_dba NOLOGIN;
    END IF;
END $$;
COMMENT ON ROLE ledger_dba IS '特定個人情報ファイル管理者: may register files that hold My Numbers';

CREATE TABLE ledger.registered_file (
    schema_name   name NOT NULL,
    table_name    name NOT NULL,
    file_name     text NOT NULL,
    affair_code   text NOT NULL REFERENCES ledger.affair,
    legal_basis   text NOT NULL,
    registered_by name NOT NULL,
    registered_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (schema_name, table_name)
);
COMMENT ON TABLE ledger.registered_file IS
    '特定個人情報ファイル: tables (by name, registered before they are created) allowed to hold My Numbers';
COMMENT ON COLUMN ledger.registered_file.schema_name IS 'スキーマ名';
COMMENT ON COLUMN ledger.registered_file.table_name IS 'テーブル名';
COMMENT ON COLUMN ledger.registered_file.file_name IS '特定個人情報ファイル名 (as in the PIA)';
COMMENT ON COLUMN ledger.registered_file.affair_code IS '事務コード';
COMMENT ON COLUMN ledger.registered_file.legal_basis IS '根拠法令';
COMMENT ON COLUMN ledger.registered_file.registered_by IS '登録者';
COMMENT ON COLUMN ledger.registered_file.registered_at IS '登録日時';
REVOKE ALL ON ledger.registered_file FROM PUBLIC;
GRANT SELECT ON ledger.registered_file TO PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('ledger.registered_file', '');
SELECT ledger.audit_table('ledger.registered_file');

-- Can a value of this type hold a My Number?  Through domains, arrays, ranges and composite
-- types, down to ledger.mynumber or ledger.sealed_mynumber (法人番号 is public: not counted).
CREATE FUNCTION ledger.type_holds_mynumber(typ regtype) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    WITH RECURSIVE reach(t) AS (
        SELECT typ::oid
        UNION
        SELECT x.next
        FROM reach r
        JOIN pg_catalog.pg_type ty ON ty.oid = r.t
        CROSS JOIN LATERAL (
            SELECT ty.typbasetype WHERE ty.typtype = 'd'
            UNION ALL SELECT ty.typelem WHERE ty.typelem <> 0
            UNION ALL SELECT rg.rngsubtype FROM pg_catalog.pg_range rg WHERE rg.rngtypid = ty.oid
            UNION ALL SELECT a.atttypid FROM pg_catalog.pg_attribute a
                      WHERE ty.typtype = 'c' AND a.attrelid = ty.typrelid AND a.attnum > 0 AND NOT a.attisdropped
        ) AS x(next)
    )
    SELECT EXISTS (SELECT 1 FROM reach WHERE t IN ('ledger.mynumber'::regtype, 'ledger.sealed_mynumber'::regtype));
END;
COMMENT ON FUNCTION ledger.type_holds_mynumber(regtype) IS
    '個人番号を保持できる型か: through domains, arrays, ranges and composite types';

-- What the DDL that just ended created or changed that can hold a My Number outside the
-- registered files: one row per refusal, with the reason.  Called by the event trigger.
CREATE FUNCTION ledger._unregistered_number_holders()
RETURNS TABLE (object_identity text, reason text)
LANGUAGE sql STABLE
BEGIN ATOMIC
    WITH RECURSIVE cmd AS (
        SELECT c.objid, c.object_type, c.command_tag, c.object_identity
        FROM pg_catalog.pg_event_trigger_ddl_commands() c
    ),
    -- types the commands created or changed (a composite type is reported by its pg_class row)
    changed_type AS (
        SELECT ty.oid FROM cmd JOIN pg_catalog.pg_type ty
          ON (cmd.object_type IN ('type', 'domain') AND ty.oid = cmd.objid)
          OR (cmd.object_type = 'composite type' AND (ty.typrelid = cmd.objid OR ty.oid = cmd.objid))
    ),
    -- every relation whose columns the commands may have changed: the relations named, all
    -- tables of a created or renamed schema, tables typed by or using a changed type, and the
    -- inheritance descendants of all of these (a column added to a parent reaches them)
    touched(oid) AS (
        SELECT cmd.objid FROM cmd
         WHERE cmd.object_type IN ('table', 'table column', 'materialized view', 'foreign table')
        UNION
        SELECT cl.oid FROM pg_catalog.pg_class cl JOIN cmd ON cmd.object_type = 'schema' AND cl.relnamespace = cmd.objid
        UNION
        SELECT cl.oid FROM pg_catalog.pg_class cl WHERE cl.reloftype IN (SELECT oid FROM changed_type)
        UNION
        SELECT a.attrelid FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid
         WHERE a.attnum > 0 AND (ty.oid IN (SELECT oid FROM changed_type) OR ty.typelem IN (SELECT oid FROM changed_type)
                                 OR ty.typbasetype IN (SELECT oid FROM changed_type))
        UNION
        SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN touched t ON i.inhparent = t.oid
    ),
    rel AS (
        SELECT DISTINCT cl.oid, cl.relname, n.nspname, cl.relkind
        FROM touched t
        JOIN pg_catalog.pg_class cl ON cl.oid = t.oid
        JOIN pg_catalog.pg_namespace n ON n.oid = cl.relnamespace
        WHERE cl.relkind IN ('r', 'p', 'm', 'f') AND n.nspname <> 'ledger'
    )
    SELECT pg_catalog.quote_ident(rel.nspname) || '.' || pg_catalog.quote_ident(rel.relname) ||
           '.' || pg_catalog.quote_ident(a.attname),
           'column can hold a My Number and the table is not a registered file'
    FROM rel
    JOIN pg_catalog.pg_attribute a ON a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE ledger.type_holds_mynumber(a.atttypid)
      AND NOT EXISTS (SELECT 1 FROM ledger.registered_file f
                      WHERE f.schema_name = rel.nspname AND f.table_name = rel.relname
                        AND rel.relkind IN ('r', 'p'))
    UNION ALL
    SELECT DISTINCT cmd.object_identity, 'a type that can hold a My Number is reserved to the extension'
    FROM cmd
    JOIN pg_catalog.pg_type ty
      ON (cmd.object_type IN ('type', 'domain') AND ty.oid = cmd.objid)
      OR (cmd.object_type = 'composite type' AND (ty.typrelid = cmd.objid OR ty.oid = cmd.objid))
    JOIN pg_catalog.pg_namespace n ON n.oid = ty.typnamespace
    WHERE n.nspname <> 'ledger' AND ledger.type_holds_mynumber(ty.oid)
    UNION ALL
    SELECT cmd.object_identity, 'extended statistics would keep sampled My Numbers'
    FROM cmd
    JOIN pg_catalog.pg_statistic_ext s ON s.oid = cmd.objid
    WHERE cmd.object_type = 'statistics object'
      AND (EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                   WHERE a.attrelid = s.stxrelid AND a.attnum = ANY (s.stxkeys)
                     AND ledger.type_holds_mynumber(a.atttypid))
           OR s.stxexprs IS NOT NULL AND EXISTS (
                   SELECT 1 FROM pg_catalog.pg_attribute a
                   WHERE a.attrelid = s.stxrelid AND a.attnum > 0 AND NOT a.attisdropped
                     AND ledger.type_holds_mynumber(a.atttypid)));
END;
REVOKE ALL ON FUNCTION ledger._unregistered_number_holders() FROM PUBLIC;
COMMENT ON FUNCTION ledger._unregistered_number_holders() IS
    'ファイル作成制限の判定 (internal): what the ending DDL made that can hold a My Number outside the registered files';

CREATE FUNCTION ledger._file_guard() RETURNS event_trigger
    AS 'MODULE_PATHNAME', 'files_guard' LANGUAGE C;
COMMENT ON FUNCTION ledger._file_guard() IS
    'ファイル作成制限 (番号法第29条): refuses DDL that makes a place for My Numbers outside the registered files';

CREATE EVENT TRIGGER mnl_file_guard ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE', 'CREATE SCHEMA', 'ALTER SCHEMA',
                 'CREATE MATERIALIZED VIEW', 'CREATE FOREIGN TABLE', 'ALTER FOREIGN TABLE',
                 'CREATE TYPE', 'ALTER TYPE', 'CREATE DOMAIN', 'ALTER DOMAIN', 'CREATE STATISTICS')
    EXECUTE FUNCTION ledger._file_guard();
COMMENT ON EVENT TRIGGER mnl_file_guard IS 'ファイル作成制限 (番号法第29条): see ledger._file_guard()';

-- Refuses (42501) unless caller is a superuser or a member of ledger_dba; what names the act.
CREATE FUNCTION ledger._require_dba(caller oid, what text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE oid = caller)
       AND NOT pg_catalog.pg_has_role(caller, 'ledger_dba', 'MEMBER') THEN
        RAISE EXCEPTION 'permission denied: only members of ledger_dba %', what
            USING ERRCODE = '42501', HINT = 'Ask the 特定個人情報ファイル管理者 (a member of ledger_dba), or schedule it as a superuser.';
    END IF;
END $$;
REVOKE ALL ON FUNCTION ledger._require_dba(oid, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._require_dba(oid, text) IS '特定個人情報ファイル管理者の確認 (internal): error 42501 unless ledger_dba or superuser';

-- Registering a file: a member of ledger_dba (or a superuser), recorded in the audit trail.
CREATE FUNCTION ledger._register_file(caller oid, schema_name name, table_name name, file_name text,
                                      legal_basis text, affair text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM ledger._require_dba(caller, 'register files that hold My Numbers');
    IF coalesce(pg_catalog.btrim(file_name), '') = '' OR coalesce(pg_catalog.btrim(legal_basis), '') = '' THEN
        RAISE EXCEPTION 'a registered file needs its name and legal basis' USING ERRCODE = '22023',
            HINT = 'Give the file''s name as in the PIA and the article of law that allows it.';
    END IF;
    INSERT INTO ledger.registered_file (schema_name, table_name, file_name, affair_code, legal_basis, registered_by)
    VALUES (schema_name, table_name, file_name, affair, legal_basis,
            (SELECT rolname FROM pg_catalog.pg_roles WHERE oid = caller));
END $$;
REVOKE ALL ON FUNCTION ledger._register_file(oid, name, name, text, text, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._register_file(oid, name, name, text, text, text) IS
    '特定個人情報ファイルの登録 (internal twin of ledger.register_file)';

CREATE FUNCTION ledger.register_file(schema_name name, table_name name, file_name text, legal_basis text,
                                     affair text DEFAULT 'child_allowance')
RETURNS void AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.register_file(name, name, text, text, text) IS
    '特定個人情報ファイルの登録: lets the named table (existing or not yet created) hold My Numbers; ledger_dba only, recorded';
-- network: 情報提供ネットワークシステム through the 中間サーバー - the rule list
-- (照会許可用照合リスト), inquiries with their permits (情報提供許可証) and results, provisions
-- with the 自動応答不可 review queue, and the record of every exchange (情報提供等の記録).
-- The public functions are gated in C (gate.c): each runs its twin ledger._<name>(caller, ...)
-- as the extension owner, which checks the caller's duties first; a refusal is 42501 and is
-- recorded in the audit trail even though the call rolls back.

CREATE TABLE ledger.data_item (
    item_code  text PRIMARY KEY CHECK (item_code ~ '^[a-z][a-z0-9_]{0,62}$'),
    name       text NOT NULL
);
COMMENT ON TABLE ledger.data_item IS '特定個人情報の項目: data items exchanged over the network';
COMMENT ON COLUMN ledger.data_item.item_code IS '項目コード';
COMMENT ON COLUMN ledger.data_item.name IS '項目名';
INSERT INTO ledger.data_item VALUES
    ('resident_record', '住民票関係情報'),
    ('local_tax', '地方税関係情報'),
    ('child_allowance', '児童手当関係情報'),
    ('public_assistance', '生活保護関係情報');

CREATE TABLE ledger.inquiry_rule (
    requester        text    NOT NULL,
    requester_affair text    NOT NULL REFERENCES ledger.affair,
    provider         text    NOT NULL,
    item_code        text    NOT NULL REFERENCES ledger.data_item,
    allowed          boolean NOT NULL,
    auto_answer      boolean NOT NULL,
    legal_basis      text    NOT NULL CHECK (legal_basis <> ''),
    loaded_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (requester, requester_affair, provider, item_code)
);
COMMENT ON TABLE ledger.inquiry_rule IS
    '照会許可用照合リスト: which requester, for which affair, may ask which provider for which item';
COMMENT ON COLUMN ledger.inquiry_rule.requester IS '情報照会者 (団体コード or institution code)';
COMMENT ON COLUMN ledger.inquiry_rule.requester_affair IS '事務';
COMMENT ON COLUMN ledger.inquiry_rule.provider IS '情報提供者';
COMMENT ON COLUMN ledger.inquiry_rule.item_code IS '特定個人情報の項目';
COMMENT ON COLUMN ledger.inquiry_rule.allowed IS '照会可否';
COMMENT ON COLUMN ledger.inquiry_rule.auto_answer IS '自動応答可 (false = 自動応答不可フラグ: staff review before providing)';
COMMENT ON COLUMN ledger.inquiry_rule.legal_basis IS '根拠法令 (番号法別表第二, 第19条第14号, ...)';
COMMENT ON COLUMN ledger.inquiry_rule.loaded_at IS '取込日時';

CREATE TABLE ledger.inquiry_permit (
    permit_id        uuid    PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
    municipality_code ledger.municipality_code NOT NULL,
    person_id        bigint  NOT NULL,
    org_unit_id      integer NOT NULL,
    requester_affair text    NOT NULL,
    provider         text    NOT NULL,
    item_code        text    NOT NULL,
    purpose          text    NOT NULL,
    issued_to        name    NOT NULL,
    issued_at        timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    FOREIGN KEY (municipality_code, person_id) REFERENCES ledger.person
);
COMMENT ON TABLE ledger.inquiry_permit IS '情報提供許可証: issued when an inquiry passes the rule list; the inquiry must carry it';
COMMENT ON COLUMN ledger.inquiry_permit.permit_id IS '許可証ID';
COMMENT ON COLUMN ledger.inquiry_permit.municipality_code IS '団体コード';
COMMENT ON COLUMN ledger.inquiry_permit.person_id IS '個人ID';
COMMENT ON COLUMN ledger.inquiry_permit.org_unit_id IS '担当所属ID';
COMMENT ON COLUMN ledger.inquiry_permit.requester_affair IS '事務';
COMMENT ON COLUMN ledger.inquiry_permit.provider IS '情報提供者';
COMMENT ON COLUMN ledger.inquiry_permit.item_code IS '項目 (the scope of the permit)';
COMMENT ON COLUMN ledger.inquiry_permit.purpose IS '照会目的';
COMMENT ON COLUMN ledger.inquiry_permit.issued_to IS '照会職員 (role)';
COMMENT ON COLUMN ledger.inquiry_permit.issued_at IS '発行日時';
COMMENT ON COLUMN ledger.inquiry_permit.expires_at IS '有効期限';

CREATE TABLE ledger.inquiry_result (
    permit_id        uuid    PRIMARY KEY,
    municipality_code ledger.municipality_code NOT NULL,
    person_id        bigint  NOT NULL,
    org_unit_id      integer NOT NULL,
    item_code        text    NOT NULL,
    result           jsonb   NOT NULL,
    received_at      timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    FOREIGN KEY (municipality_code, person_id) REFERENCES ledger.person
);
COMMENT ON TABLE ledger.inquiry_result IS '照会結果: deleted automatically when it expires (ledger.expire_inquiry_data)';
COMMENT ON COLUMN ledger.inquiry_result.permit_id IS '許可証ID';
COMMENT ON COLUMN ledger.inquiry_result.municipality_code IS '団体コード';
COMMENT ON COLUMN ledger.inquiry_result.person_id IS '個人ID';
COMMENT ON COLUMN ledger.inquiry_result.org_unit_id IS '担当所属ID';
COMMENT ON COLUMN ledger.inquiry_result.item_code IS '項目';
COMMENT ON COLUMN ledger.inquiry_result.result IS '照会結果の内容';
COMMENT ON COLUMN ledger.inquiry_result.received_at IS '受領日時';
COMMENT ON COLUMN ledger.inquiry_result.expires_at IS '削除予定日時';

CREATE TABLE ledger.provision_request (
    request_id       bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    municipality_code ledger.municipality_code NOT NULL,
    person_id        bigint  NOT NULL,
    org_unit_id      integer NOT NULL,
    requester        text    NOT NULL,
    requester_affair text    NOT NULL,
    item_code        text    NOT NULL,
    received_at      timestamptz NOT NULL,
    status           text    NOT NULL CHECK (status IN ('answered', 'pending_review', 'rejected')),
    answer           jsonb,
    reviewed_by      name,
    reviewed_at      timestamptz,
    review_reason    text,
    FOREIGN KEY (municipality_code, person_id) REFERENCES ledger.person
);
COMMENT ON TABLE ledger.provision_request IS
    '情報提供の求め: answered automatically, or held for review when the item is 自動応答不可';
COMMENT ON COLUMN ledger.provision_request.request_id IS '受付番号';
COMMENT ON COLUMN ledger.provision_request.municipality_code IS '団体コード';
COMMENT ON COLUMN ledger.provision_request.person_id IS '個人ID';
COMMENT ON COLUMN ledger.provision_request.org_unit_id IS '担当所属ID';
COMMENT ON COLUMN ledger.provision_request.requester IS '情報照会者';
COMMENT ON COLUMN ledger.provision_request.requester_affair IS '照会者の事務';
COMMENT ON COLUMN ledger.provision_request.item_code IS '項目';
COMMENT ON COLUMN ledger.provision_request.received_at IS '受付日時';
COMMENT ON COLUMN ledger.provision_request.status IS '状態: answered 提供済, pending_review 確認待ち, rejected 不提供';
COMMENT ON COLUMN ledger.provision_request.answer IS '提供内容';
COMMENT ON COLUMN ledger.provision_request.reviewed_by IS '確認職員';
COMMENT ON COLUMN ledger.provision_request.reviewed_at IS '確認日時';
COMMENT ON COLUMN ledger.provision_request.review_reason IS '確認理由';

CREATE TABLE ledger.exchange_record (
    record_id        bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    municipality_code ledger.municipality_code NOT NULL,
    person_id        bigint  NOT NULL,
    org_unit_id      integer NOT NULL,
    direction        text    NOT NULL CHECK (direction IN ('inquiry', 'provision')),
    requester        text    NOT NULL,
    requester_affair text    NOT NULL,
    provider         text    NOT NULL,
    item_code        text    NOT NULL,
    outcome          text    NOT NULL,
    staff_role       name,
    recorded_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    keep_until       date    NOT NULL,
    permit_id        uuid,
    request_id       bigint
);
CREATE INDEX exchange_record_person ON ledger.exchange_record (municipality_code, person_id);
COMMENT ON TABLE ledger.exchange_record IS '情報提供等の記録: every inquiry and provision, kept 7 years (マイナポータルで本人が確認する記録)';
COMMENT ON COLUMN ledger.exchange_record.record_id IS '記録番号';
COMMENT ON COLUMN ledger.exchange_record.municipality_code IS '団体コード';
COMMENT ON COLUMN ledger.exchange_record.person_id IS '個人ID';
COMMENT ON COLUMN ledger.exchange_record.org_unit_id IS '担当所属ID';
COMMENT ON COLUMN ledger.exchange_record.direction IS '種別: inquiry 照会, provision 提供';
COMMENT ON COLUMN ledger.exchange_record.requester IS '情報照会者';
COMMENT ON COLUMN ledger.exchange_record.requester_affair IS '事務';
COMMENT ON COLUMN ledger.exchange_record.provider IS '情報提供者';
COMMENT ON COLUMN ledger.exchange_record.item_code IS '項目';
COMMENT ON COLUMN ledger.exchange_record.outcome IS '結果: permitted, received, answered, pending_review, approved, rejected';
COMMENT ON COLUMN ledger.exchange_record.staff_role IS '職員 (role)';
COMMENT ON COLUMN ledger.exchange_record.recorded_at IS '記録日時';
COMMENT ON COLUMN ledger.exchange_record.keep_until IS '保存期限 (7年)';
COMMENT ON COLUMN ledger.exchange_record.permit_id IS '許可証ID';
COMMENT ON COLUMN ledger.exchange_record.request_id IS '受付番号';

-- Staff read these under the same row-level security as the ledger; only the twins write.
SELECT ledger.protect_table('ledger.inquiry_permit', 'org_unit_id');
SELECT ledger.protect_table('ledger.inquiry_result', 'org_unit_id', 'child_allowance', ARRAY['result']);
SELECT ledger.protect_table('ledger.provision_request', 'org_unit_id', 'child_allowance', ARRAY['answer']);
SELECT ledger.protect_table('ledger.exchange_record', 'org_unit_id');
SELECT ledger.audit_table('ledger.inquiry_rule');
SELECT ledger.audit_table('ledger.data_item');
REVOKE ALL ON ledger.data_item, ledger.inquiry_rule, ledger.inquiry_permit, ledger.inquiry_result,
              ledger.provision_request, ledger.exchange_record FROM PUBLIC;
GRANT SELECT ON ledger.data_item, ledger.inquiry_rule TO ledger_staff, ledger_dba;
GRANT SELECT ON ledger.inquiry_permit, ledger.inquiry_result, ledger.provision_request,
                ledger.exchange_record TO ledger_staff;
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['ledger.inquiry_rule', 'ledger.inquiry_permit', 'ledger.inquiry_result',
                             'ledger.provision_request', 'ledger.exchange_record',
                             'ledger.provision_request_request_id_seq', 'ledger.exchange_record_record_id_seq'] LOOP
        PERFORM pg_catalog.pg_extension_config_dump(t::regclass, '');
    END LOOP;
    PERFORM pg_catalog.pg_extension_config_dump('ledger.data_item',
        'WHERE item_code NOT IN (''resident_record'', ''local_tax'', ''child_allowance'', ''public_assistance'')');
END $$;
COMMENT ON SEQUENCE ledger.provision_request_request_id_seq IS '受付番号の採番';
COMMENT ON SEQUENCE ledger.exchange_record_record_id_seq IS '記録番号の採番';

-- ---------------------------------------------------------------------------------------
-- The rule list from CSV
-- ---------------------------------------------------------------------------------------

-- One CSV field list per line: requester,requester_affair,provider,item_code,allowed,auto_answer,legal_basis
-- (a header line naming these columns first; fields may be double-quoted).  Every line is
-- checked; any bad line refuses the whole file, naming each bad line; nothing is half-loaded.
CREATE FUNCTION ledger._load_inquiry_rules(caller oid, csv text, replace_all boolean)
RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    lines text[];
    f text[];
    errs text[] := '{}';
    bad integer[] := '{}';
    loaded ledger.inquiry_rule[] := '{}';
    n integer := 0;
    i integer;
    seen text[] := '{}';
    k text;
BEGIN
    PERFORM ledger._require_dba(caller, 'load the rule list');
    lines := regexp_split_to_array(regexp_replace(coalesce(csv, ''), E'\r', '', 'g'), E'\n');
    IF cardinality(lines) = 0 OR btrim(lines[1]) <>
       'requester,requester_affair,provider,item_code,allowed,auto_answer,legal_basis' THEN
        RAISE EXCEPTION 'the rule list must start with the header line' USING ERRCODE = '22P04',
            HINT = 'requester,requester_affair,provider,item_code,allowed,auto_answer,legal_basis';
    END IF;
    -- (No temporary table: the twin runs with the owner's rights, and a table of the caller's
    -- own pg_temp, with the caller's triggers, must never be written with them.)
    FOR i IN 2 .. cardinality(lines) LOOP
        CONTINUE WHEN btrim(lines[i]) = '';
        -- fields: a quoted field may hold commas; "" is a quote
        SELECT array_agg(CASE WHEN m[1] LIKE '"%' THEN replace(substr(m[1], 2, length(m[1]) - 2), '""', '"')
                              ELSE btrim(m[1]) END ORDER BY ord)
          INTO f
          FROM regexp_matches(lines[i] || ',', '("(?:[^"]|"")*"|[^,]*),', 'g') WITH ORDINALITY AS x(m, ord);
        IF cardinality(f) <> 7 THEN
            errs := errs || format('line %s: %s fields, expected 7', i, coalesce(cardinality(f), 0));
            bad := bad || i;
            CONTINUE;
        END IF;
        IF f[1] = '' OR f[3] = '' THEN
            errs := errs || format('line %s: requester and provider are required', i);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM ledger.affair WHERE affair_code = f[2]) THEN
            errs := errs || format('line %s: unknown affair "%s"', i, left(f[2], 40));
        END IF;
        IF NOT EXISTS (SELECT 1 FROM ledger.data_item WHERE item_code = f[4]) THEN
            errs := errs || format('line %s: unknown data item "%s"', i, left(f[4], 40));
        END IF;
        IF lower(f[5]) NOT IN ('true', 'false') OR lower(f[6]) NOT IN ('true', 'false') THEN
            errs := errs || format('line %s: allowed and auto_answer must be true or false', i);
            bad := bad || i;
            CONTINUE;
        END IF;
        IF f[7] = '' THEN
            errs := errs || format('line %s: the legal basis is required', i);
        END IF;
        k := concat_ws(E'\x1f', f[1], f[2], f[3], f[4]);
        IF k = ANY (seen) THEN
            errs := errs || format('line %s: duplicate of an earlier line', i);
        END IF;
        seen := seen || k;
        IF cardinality(errs) > 0 AND errs[cardinality(errs)] LIKE format('line %s:%%', i) THEN
            bad := bad || i;
        END IF;
        loaded := loaded || ROW(f[1], f[2], f[3], f[4], lower(f[5])::boolean, lower(f[6])::boolean, f[7], now())::ledger.inquiry_rule;
        n := n + 1;
    END LOOP;
    IF cardinality(errs) > 0 THEN
        RAISE EXCEPTION 'the rule list has % bad line(s); nothing was loaded',
            (SELECT count(DISTINCT b) FROM unnest(bad) b)
            USING ERRCODE = '22P04', DETAIL = array_to_string(errs[1:20], E'\n'),
                  HINT = 'Correct the lines named and load the whole file again.';
    END IF;
    IF replace_all THEN
        DELETE FROM ledger.inquiry_rule;
    END IF;
    INSERT INTO ledger.inquiry_rule SELECT * FROM unnest(loaded)
    ON CONFLICT (requester, requester_affair, provider, item_code) DO UPDATE
        SET allowed = EXCLUDED.allowed, auto_answer = EXCLUDED.auto_answer,
            legal_basis = EXCLUDED.legal_basis, loaded_at = EXCLUDED.loaded_at;
    RETURN n;
END $$;
REVOKE ALL ON FUNCTION ledger._load_inquiry_rules(oid, text, boolean) FROM PUBLIC;
COMMENT ON FUNCTION ledger._load_inquiry_rules(oid, text, boolean) IS '照合リストの取込 (internal twin of ledger.load_inquiry_rules)';

CREATE FUNCTION ledger.load_inquiry_rules(csv text, replace_all boolean DEFAULT true)
RETURNS integer AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.load_inquiry_rules(text, boolean) IS
    '照会許可用照合リストの取込: validates every CSV line (errors name the lines), loads all or nothing; ledger_dba only, recorded';

-- ---------------------------------------------------------------------------------------
-- Inquiry: rule check, permit, result with expiry
-- ---------------------------------------------------------------------------------------

CREATE FUNCTION ledger._record_exchange(p ledger.person, direction text, requester text, requester_affair text,
                                        provider text, item text, outcome text, staff name,
                                        permit uuid, request bigint)
RETURNS void LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO ledger.exchange_record (municipality_code, person_id, org_unit_id, direction, requester,
                                        requester_affair, provider, item_code, outcome, staff_role,
                                        keep_until, permit_id, request_id)
    VALUES (p.municipality_code, p.person_id, p.org_unit_id, direction, requester, requester_affair,
            provider, item, outcome, staff,
            (pg_catalog.now() + pg_catalog.make_interval(years => 7))::date, permit, request)
$$;
REVOKE ALL ON FUNCTION ledger._record_exchange(ledger.person, text, text, text, text, text, text, name, uuid, bigint) FROM PUBLIC;
COMMENT ON FUNCTION ledger._record_exchange(ledger.person, text, text, text, text, text, text, name, uuid, bigint) IS
    '情報提供等の記録の作成 (internal)';

CREATE FUNCTION ledger._request_inquiry(caller oid, municipality_code text, person_id bigint, provider text,
                                        item text, purpose text, affair text)
RETURNS uuid LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    p ledger.person;
    r ledger.inquiry_rule;
    who name := (SELECT rolname FROM pg_catalog.pg_roles WHERE oid = caller);
    permit uuid;
BEGIN
    -- The rule list first, before anything else is looked at.
    SELECT * INTO r FROM ledger.inquiry_rule ir
     WHERE ir.requester = _request_inquiry.municipality_code AND ir.requester_affair = affair
       AND ir.provider = _request_inquiry.provider AND ir.item_code = item AND ir.allowed;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'inquiry refused: % may not ask % for % in affair %',
            municipality_code, provider, item, affair
            USING ERRCODE = '42501', HINT = 'The 照会許可用照合リスト has no allowing line for this inquiry.';
    END IF;
    SELECT * INTO p FROM ledger.person x
     WHERE x.municipality_code = _request_inquiry.municipality_code AND x.person_id = _request_inquiry.person_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'person % of % does not exist', person_id, municipality_code USING ERRCODE = '02000',
            HINT = 'Give the person''s id in the ledger.';
    END IF;
    PERFORM ledger._require(caller, 'read', affair, p.org_unit_id);
    IF coalesce(btrim(purpose), '') = '' THEN
        RAISE EXCEPTION 'an inquiry needs its purpose' USING ERRCODE = '22023', HINT = 'State why the item is needed.';
    END IF;
    INSERT INTO ledger.inquiry_permit (municipality_code, person_id, org_unit_id, requester_affair, provider,
                                       item_code, purpose, issued_to, issued_at, expires_at)
    VALUES (p.municipality_code, p.person_id, p.org_unit_id, affair, provider, item, purpose, who, now(),
            now() + current_setting('ledger.inquiry_permit_lifetime')::interval)
    RETURNING permit_id INTO permit;
    PERFORM ledger._record_exchange(p, 'inquiry', p.municipality_code, affair, provider, item, 'permitted', who, permit, NULL);
    RETURN permit;
END $$;
REVOKE ALL ON FUNCTION ledger._request_inquiry(oid, text, bigint, text, text, text, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._request_inquiry(oid, text, bigint, text, text, text, text) IS '情報照会 (internal twin of ledger.request_inquiry)';

CREATE FUNCTION ledger.request_inquiry(municipality_code text, person_id bigint, provider text, item text,
                                       purpose text, affair text DEFAULT 'child_allowance')
RETURNS uuid AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.request_inquiry(text, bigint, text, text, text, text) IS
    '情報照会: checked against the rule list before anything else; returns the 情報提供許可証 the inquiry must carry';

CREATE FUNCTION ledger._receive_inquiry_result(caller oid, permit uuid, result jsonb)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    pm ledger.inquiry_permit;
    p ledger.person;
BEGIN
    SELECT * INTO pm FROM ledger.inquiry_permit WHERE permit_id = permit;
    IF NOT FOUND OR pm.expires_at <= now() THEN
        RAISE EXCEPTION 'the result does not carry a valid permit' USING ERRCODE = '42501',
            HINT = 'A result is accepted only with an unexpired 情報提供許可証 from ledger.request_inquiry.';
    END IF;
    PERFORM ledger._require(caller, 'read', pm.requester_affair, pm.org_unit_id);
    IF EXISTS (SELECT 1 FROM ledger.inquiry_result WHERE permit_id = permit) THEN
        RAISE EXCEPTION 'a result for this permit was already received' USING ERRCODE = '23505',
            HINT = 'A permit covers one inquiry.';
    END IF;
    SELECT * INTO STRICT p FROM ledger.person x
     WHERE x.municipality_code = pm.municipality_code AND x.person_id = pm.person_id;
    INSERT INTO ledger.inquiry_result VALUES (permit, pm.municipality_code, pm.person_id, pm.org_unit_id,
        pm.item_code, result, now(), now() + current_setting('ledger.inquiry_result_lifetime')::interval);
    PERFORM ledger._record_exchange(p, 'inquiry', pm.municipality_code, pm.requester_affair, pm.provider,
                                    pm.item_code, 'received', (SELECT rolname FROM pg_catalog.pg_roles WHERE oid = caller),
                                    permit, NULL);
END $$;
REVOKE ALL ON FUNCTION ledger._receive_inquiry_result(oid, uuid, jsonb) FROM PUBLIC;
COMMENT ON FUNCTION ledger._receive_inquiry_result(oid, uuid, jsonb) IS '照会結果の受領 (internal twin of ledger.receive_inquiry_result)';

CREATE FUNCTION ledger.receive_inquiry_result(permit uuid, result jsonb)
RETURNS void AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.receive_inquiry_result(uuid, jsonb) IS
    '照会結果の受領: accepted only with an unexpired permit; kept until ledger.inquiry_result_lifetime passes';

-- Deletes expired inquiry results and permits; returns how many of each.  Run by the retention
-- job (pg_cron); a superuser or a ledger_dba member may run it by hand.
CREATE FUNCTION ledger._expire_inquiry_data(caller oid, OUT results_deleted bigint, OUT permits_deleted bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM ledger._require_dba(caller, 'expire inquiry data');
    DELETE FROM ledger.inquiry_result WHERE expires_at <= now();
    GET DIAGNOSTICS results_deleted = ROW_COUNT;
    DELETE FROM ledger.inquiry_permit pm WHERE pm.expires_at <= now()
       AND NOT EXISTS (SELECT 1 FROM ledger.inquiry_result r WHERE r.permit_id = pm.permit_id);
    GET DIAGNOSTICS permits_deleted = ROW_COUNT;
END $$;
REVOKE ALL ON FUNCTION ledger._expire_inquiry_data(oid) FROM PUBLIC;
COMMENT ON FUNCTION ledger._expire_inquiry_data(oid) IS '照会結果の自動削除 (internal twin of ledger.expire_inquiry_data)';

CREATE FUNCTION ledger.expire_inquiry_data(OUT results_deleted bigint, OUT permits_deleted bigint)
AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.expire_inquiry_data() IS
    '照会結果の自動削除: deletes expired results and permits (each deletion is in the audit trail)';

-- ---------------------------------------------------------------------------------------
-- Provision: rule check, automatic answer unless 自動応答不可, review queue
-- ---------------------------------------------------------------------------------------

-- What the ledger provides for an item about a person (児童手当関係情報).
CREATE FUNCTION ledger._provision_answer(item text, p ledger.person) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE item
        WHEN 'child_allowance' THEN pg_catalog.jsonb_build_object(
            'recipient', EXISTS (SELECT 1 FROM ledger.recipient r
                                 WHERE r.municipality_code = p.municipality_code AND r.person_id = p.person_id),
            'certifications', COALESCE((
                SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                           'status', c.status, 'first_month', c.first_month,
                           'monthly_amount', c.monthly_amount, 'extinguished_on', c.extinguished_on)
                       ORDER BY c.certification_id)
                FROM ledger.certification c JOIN ledger.recipient r
                  ON r.municipality_code = c.municipality_code AND r.recipient_id = c.recipient_id
                WHERE r.municipality_code = p.municipality_code AND r.person_id = p.person_id), '[]'::jsonb))
        ELSE NULL END
$$;
REVOKE ALL ON FUNCTION ledger._provision_answer(text, ledger.person) FROM PUBLIC;
COMMENT ON FUNCTION ledger._provision_answer(text, ledger.person) IS '提供内容の作成 (internal): what the ledger provides for an item';

CREATE FUNCTION ledger._receive_provision_request(caller oid, requester text, requester_affair text, item text,
                                                  municipality_code text, person_id bigint)
RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r ledger.inquiry_rule;
    p ledger.person;
    id bigint;
    answer jsonb;
    who name := (SELECT rolname FROM pg_catalog.pg_roles WHERE oid = caller);
BEGIN
    SELECT * INTO r FROM ledger.inquiry_rule ir
     WHERE ir.requester = _receive_provision_request.requester
       AND ir.requester_affair = _receive_provision_request.requester_affair
       AND ir.provider = _receive_provision_request.municipality_code
       AND ir.item_code = item AND ir.allowed;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'provision refused: % may not ask % for % in affair %',
            requester, municipality_code, item, requester_affair
            USING ERRCODE = '42501', HINT = 'The 照会許可用照合リスト has no allowing line for this request.';
    END IF;
    SELECT * INTO p FROM ledger.person x
     WHERE x.municipality_code = _receive_provision_request.municipality_code
       AND x.person_id = _receive_provision_request.person_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'person % of % does not exist', person_id, municipality_code USING ERRCODE = '02000',
            HINT = 'The 符号 did not resolve to a person of the ledger.';
    END IF;
    PERFORM ledger._require(caller, 'read', 'child_allowance', p.org_unit_id);
    IF r.auto_answer THEN
        answer := ledger._provision_answer(item, p);
    END IF;
    INSERT INTO ledger.provision_request (municipality_code, person_id, org_unit_id, requester, requester_affair,
                                          item_code, received_at, status, answer)
    VALUES (p.municipality_code, p.person_id, p.org_unit_id, requester, requester_affair, item, now(),
            CASE WHEN r.auto_answer THEN 'answered' ELSE 'pending_review' END, answer)
    RETURNING request_id INTO id;
    PERFORM ledger._record_exchange(p, 'provision', requester, requester_affair, p.municipality_code, item,
                                    CASE WHEN r.auto_answer THEN 'answered' ELSE 'pending_review' END, who, NULL, id);
    RETURN id;
END $$;
REVOKE ALL ON FUNCTION ledger._receive_provision_request(oid, text, text, text, text, bigint) FROM PUBLIC;
COMMENT ON FUNCTION ledger._receive_provision_request(oid, text, text, text, text, bigint) IS
    '情報提供の求めの受付 (internal twin of ledger.receive_provision_request)';

CREATE FUNCTION ledger.receive_provision_request(requester text, requester_affair text, item text,
                                                 municipality_code text, person_id bigint)
RETURNS bigint AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.receive_provision_request(text, text, text, text, bigint) IS
    '情報提供の求めの受付: checked against the rule list; answered automatically, or queued for review when the item is 自動応答不可';

CREATE FUNCTION ledger._review_provision(caller oid, request_id bigint, approve boolean, reason text)
RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    q ledger.provision_request;
    p ledger.person;
    who name := (SELECT rolname FROM pg_catalog.pg_roles WHERE oid = caller);
    provided jsonb;
BEGIN
    SELECT * INTO q FROM ledger.provision_request pr WHERE pr.request_id = _review_provision.request_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no provision request %', request_id USING ERRCODE = '02000', HINT = 'See ledger.provision_request.';
    END IF;
    PERFORM ledger._require(caller, 'approve', 'child_allowance', q.org_unit_id);
    IF q.status <> 'pending_review' THEN
        RAISE EXCEPTION 'provision request % is not waiting for review (%)', request_id, q.status
            USING ERRCODE = '55000', HINT = 'Only requests in pending_review are reviewed.';
    END IF;
    IF coalesce(btrim(reason), '') = '' THEN
        RAISE EXCEPTION 'a review needs its reason' USING ERRCODE = '22023', HINT = 'State why the item is or is not provided.';
    END IF;
    SELECT * INTO STRICT p FROM ledger.person x WHERE x.municipality_code = q.municipality_code AND x.person_id = q.person_id;
    IF approve THEN
        provided := ledger._provision_answer(q.item_code, p);
    END IF;
    UPDATE ledger.provision_request pr
       SET status = CASE WHEN approve THEN 'answered' ELSE 'rejected' END, answer = provided,
           reviewed_by = who, reviewed_at = now(), review_reason = reason
     WHERE pr.request_id = q.request_id;
    PERFORM ledger._record_exchange(p, 'provision', q.requester, q.requester_affair, q.municipality_code, q.item_code,
                                    CASE WHEN approve THEN 'approved' ELSE 'rejected' END, who, NULL, q.request_id);
    RETURN provided;
END $$;
REVOKE ALL ON FUNCTION ledger._review_provision(oid, bigint, boolean, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._review_provision(oid, bigint, boolean, text) IS '提供内容の確認 (internal twin of ledger.review_provision)';

CREATE FUNCTION ledger.review_provision(request_id bigint, approve boolean, reason text)
RETURNS jsonb AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.review_provision(bigint, boolean, text) IS
    '提供内容の確認 (自動応答不可): a staff member with the approve duty provides or refuses a held request, with a reason';

-- Every exchange about one person (what マイナポータル shows), under the caller's policies.
CREATE FUNCTION ledger.exchange_records_for(municipality_code text, person_id bigint)
RETURNS SETOF ledger.exchange_record LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT * FROM ledger.exchange_record e
    WHERE e.municipality_code = exchange_records_for.municipality_code
      AND e.person_id = exchange_records_for.person_id
    ORDER BY e.recorded_at, e.record_id;
END;
COMMENT ON FUNCTION ledger.exchange_records_for(text, bigint) IS
    '情報提供等の記録の開示: every inquiry and provision about one person, and nothing about anyone else';
-- linkage: per-affair pseudonyms (符号) and the only way to map a person between affairs.
-- pseudonym.c computes them; ledger.link checks a rule and records every link.

CREATE FUNCTION ledger.pseudonym(mn ledger.mynumber, affair text) RETURNS bytea
    AS 'MODULE_PATHNAME', 'pseudonym_of_number' LANGUAGE C STABLE STRICT PARALLEL SAFE;
-- Not for staff: someone holding a number and duties in two affairs could compute both
-- pseudonyms and join without a rule.  Staff get pseudonyms through pseudonym_of_person and link.
REVOKE ALL ON FUNCTION ledger.pseudonym(ledger.mynumber, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger.pseudonym(ledger.mynumber, text) IS
    '事務ごとの符号: HMAC-SHA256 of the number under the affair''s own key (owner only; staff use ledger.pseudonym_of_person and ledger.link)';

CREATE FUNCTION ledger._pseudonym_of_sealed(value ledger.sealed_mynumber, context text, affair text) RETURNS bytea
    AS 'MODULE_PATHNAME', 'pseudonym_of_sealed' LANGUAGE C STABLE STRICT;
REVOKE ALL ON FUNCTION ledger._pseudonym_of_sealed(ledger.sealed_mynumber, text, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._pseudonym_of_sealed(ledger.sealed_mynumber, text, text) IS
    '符号の算出 (internal): from a sealed number, which is opened and hashed in C and never returned';

CREATE TABLE ledger.person_pseudonym (
    municipality_code ledger.municipality_code NOT NULL,
    person_id    bigint NOT NULL,
    affair_code  text   NOT NULL REFERENCES ledger.affair,
    pseudonym    bytea  NOT NULL,
    PRIMARY KEY (municipality_code, person_id, affair_code),
    UNIQUE (municipality_code, affair_code, pseudonym),
    FOREIGN KEY (municipality_code, person_id) REFERENCES ledger.person ON DELETE CASCADE
);
COMMENT ON TABLE ledger.person_pseudonym IS '符号: each person''s pseudonym in each affair it was issued for (owner only)';
COMMENT ON COLUMN ledger.person_pseudonym.municipality_code IS '団体コード';
COMMENT ON COLUMN ledger.person_pseudonym.person_id IS '個人ID';
COMMENT ON COLUMN ledger.person_pseudonym.affair_code IS '事務コード';
COMMENT ON COLUMN ledger.person_pseudonym.pseudonym IS '符号';
REVOKE ALL ON ledger.person_pseudonym FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('ledger.person_pseudonym', '');

CREATE TABLE ledger.linkage_rule (
    from_affair  text NOT NULL REFERENCES ledger.affair,
    to_affair    text NOT NULL REFERENCES ledger.affair,
    legal_basis  text NOT NULL CHECK (legal_basis <> ''),
    PRIMARY KEY (from_affair, to_affair),
    CHECK (from_affair <> to_affair)
);
COMMENT ON TABLE ledger.linkage_rule IS '紐付け規則: which affair may map a person to which other affair, and why';
COMMENT ON COLUMN ledger.linkage_rule.from_affair IS '紐付け元の事務';
COMMENT ON COLUMN ledger.linkage_rule.to_affair IS '紐付け先の事務';
COMMENT ON COLUMN ledger.linkage_rule.legal_basis IS '根拠法令';
REVOKE ALL ON ledger.linkage_rule FROM PUBLIC;
GRANT SELECT ON ledger.linkage_rule TO ledger_staff, ledger_dba;
SELECT pg_catalog.pg_extension_config_dump('ledger.linkage_rule', '');
SELECT ledger.audit_table('ledger.linkage_rule');
SELECT ledger.audit_table('ledger.person_pseudonym', ARRAY['pseudonym']);

CREATE TABLE ledger.link_record (
    link_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    municipality_code ledger.municipality_code NOT NULL,
    person_id    bigint  NOT NULL,
    org_unit_id  integer NOT NULL,
    from_affair  text    NOT NULL,
    to_affair    text    NOT NULL,
    purpose      text    NOT NULL,
    linked_by    name    NOT NULL,
    linked_at    timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE ledger.link_record IS '紐付けの記録: every mapping of a person between affairs';
COMMENT ON COLUMN ledger.link_record.link_id IS '記録番号';
COMMENT ON COLUMN ledger.link_record.municipality_code IS '団体コード';
COMMENT ON COLUMN ledger.link_record.person_id IS '個人ID';
COMMENT ON COLUMN ledger.link_record.org_unit_id IS '担当所属ID';
COMMENT ON COLUMN ledger.link_record.from_affair IS '紐付け元の事務';
COMMENT ON COLUMN ledger.link_record.to_affair IS '紐付け先の事務';
COMMENT ON COLUMN ledger.link_record.purpose IS '目的';
COMMENT ON COLUMN ledger.link_record.linked_by IS '職員 (role)';
COMMENT ON COLUMN ledger.link_record.linked_at IS '日時';
COMMENT ON SEQUENCE ledger.link_record_link_id_seq IS '紐付けの記録番号の採番';
SELECT ledger.protect_table('ledger.link_record', 'org_unit_id');
REVOKE ALL ON ledger.link_record FROM PUBLIC;
GRANT SELECT ON ledger.link_record TO ledger_staff;
SELECT pg_catalog.pg_extension_config_dump('ledger.link_record', '');
SELECT pg_catalog.pg_extension_config_dump('ledger.link_record_link_id_seq', '');

-- A rule: ledger_dba (or a superuser), recorded.
CREATE FUNCTION ledger._allow_linkage(caller oid, from_affair text, to_affair text, legal_basis text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM ledger._require_dba(caller, 'set linkage rules');
    INSERT INTO ledger.linkage_rule VALUES (from_affair, to_affair, legal_basis)
    ON CONFLICT ON CONSTRAINT linkage_rule_pkey DO UPDATE SET legal_basis = EXCLUDED.legal_basis;
END $$;
REVOKE ALL ON FUNCTION ledger._allow_linkage(oid, text, text, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._allow_linkage(oid, text, text, text) IS '紐付け規則の登録 (internal twin of ledger.allow_linkage)';

CREATE FUNCTION ledger.allow_linkage(from_affair text, to_affair text, legal_basis text)
RETURNS void AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.allow_linkage(text, text, text) IS
    '紐付け規則の登録: lets ledger.link map persons from one affair to another; ledger_dba only, recorded';

-- Map a person from one affair's pseudonym to another's: only under a rule, only for staff of
-- both affairs who may read the person, and recorded.
CREATE FUNCTION ledger._link(caller oid, municipality_code text, from_affair text, pseudonym bytea, to_affair text, purpose text)
RETURNS bytea LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    p ledger.person;
    who name := (SELECT rolname FROM pg_catalog.pg_roles WHERE oid = caller);
    target bytea;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM ledger.linkage_rule r WHERE r.from_affair = _link.from_affair
                   AND r.to_affair = _link.to_affair) THEN
        RAISE EXCEPTION 'linkage refused: no rule maps % to %', from_affair, to_affair
            USING ERRCODE = '42501', HINT = 'Linking beyond the affair''s purpose needs a rule in ledger.linkage_rule (番号法).';
    END IF;
    IF coalesce(btrim(purpose), '') = '' THEN
        RAISE EXCEPTION 'a link needs its purpose' USING ERRCODE = '22023', HINT = 'State why the person is linked.';
    END IF;
    SELECT x.* INTO p FROM ledger.person x
      JOIN ledger.person_pseudonym pp ON pp.municipality_code = x.municipality_code AND pp.person_id = x.person_id
     WHERE pp.municipality_code = _link.municipality_code AND pp.affair_code = from_affair
       AND pp.pseudonym = _link.pseudonym;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no person has this pseudonym in affair %', from_affair USING ERRCODE = '02000',
            HINT = 'Give a pseudonym issued in the affair you link from.';
    END IF;
    PERFORM ledger._require(caller, 'read', from_affair, p.org_unit_id);
    IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE oid = caller)
       AND cardinality((ledger._permitted_org_units(who, 'read', to_affair)).org_units) = 0 THEN
        RAISE EXCEPTION 'permission denied: no read duty for affair %', to_affair USING ERRCODE = '42501',
            HINT = 'Only staff of the target affair receive its pseudonyms.';
    END IF;
    target := ledger._pseudonym_of_sealed(p.mynumber, ledger.person_context(p.municipality_code, p.person_id), to_affair);
    INSERT INTO ledger.person_pseudonym VALUES (p.municipality_code, p.person_id, to_affair, target)
    ON CONFLICT DO NOTHING;
    INSERT INTO ledger.link_record (municipality_code, person_id, org_unit_id, from_affair, to_affair, purpose, linked_by)
    VALUES (p.municipality_code, p.person_id, p.org_unit_id, from_affair, to_affair, purpose, who);
    RETURN target;
END $$;
REVOKE ALL ON FUNCTION ledger._link(oid, text, text, bytea, text, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._link(oid, text, text, bytea, text, text) IS '紐付け (internal twin of ledger.link)';

CREATE FUNCTION ledger.link(municipality_code text, from_affair text, pseudonym bytea, to_affair text, purpose text)
RETURNS bytea AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.link(text, text, bytea, text, text) IS
    '紐付け: a person''s pseudonym in another affair, only under a linkage rule, for staff of both affairs; recorded in ledger.link_record';

-- The person's pseudonym in the ledger's own affair, for the staff who may read the person.
CREATE FUNCTION ledger._pseudonym_of_person(caller oid, municipality_code text, person_id bigint)
RETURNS bytea LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    p ledger.person;
BEGIN
    SELECT * INTO p FROM ledger.person x
     WHERE x.municipality_code = _pseudonym_of_person.municipality_code AND x.person_id = _pseudonym_of_person.person_id;
    IF NOT FOUND OR p.mynumber IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM ledger._require(caller, 'read', 'child_allowance', p.org_unit_id);
    RETURN (SELECT pp.pseudonym FROM ledger.person_pseudonym pp
            WHERE pp.municipality_code = p.municipality_code AND pp.person_id = p.person_id
              AND pp.affair_code = 'child_allowance');
END $$;
REVOKE ALL ON FUNCTION ledger._pseudonym_of_person(oid, text, bigint) FROM PUBLIC;
COMMENT ON FUNCTION ledger._pseudonym_of_person(oid, text, bigint) IS '符号の取得 (internal twin of ledger.pseudonym_of_person)';

CREATE FUNCTION ledger.pseudonym_of_person(municipality_code text, person_id bigint)
RETURNS bytea AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.pseudonym_of_person(text, bigint) IS
    '符号の取得: the person''s pseudonym in the child_allowance affair, for staff who may read the person';
-- disclosure: reveal quotas and the two-person rule (PIA 7 事故事例: one person's mistake must
-- not expose hundreds of numbers).  A staff member's reveals per day are limited by duty
-- (ledger.duty.reveal_quota_per_day, else ledger.reveal_quota_per_day); beyond the quota, or
-- to reveal more than ledger.bulk_reveal_threshold numbers at once, a second staff member with
-- the approve duty must have approved.  Reveals are counted by the audit writer from the
-- trail itself (ledger.reveal_tally), so a ROLLBACK does not give a reveal back.

CREATE TABLE ledger.reveal_tally (
    role_name  name    NOT NULL,
    day        date    NOT NULL,
    reveals    integer NOT NULL,
    PRIMARY KEY (role_name, day)
);
COMMENT ON TABLE ledger.reveal_tally IS '番号表示件数: reveals per role and day (in ledger.time_zone), counted by the audit writer';
COMMENT ON COLUMN ledger.reveal_tally.role_name IS 'ロール名';
COMMENT ON COLUMN ledger.reveal_tally.day IS '日付';
COMMENT ON COLUMN ledger.reveal_tally.reveals IS '表示件数';
REVOKE ALL ON ledger.reveal_tally FROM PUBLIC;
GRANT SELECT ON ledger.reveal_tally TO ledger_auditor;

CREATE TABLE ledger.disclosure_approval (
    approval_id   bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    municipality_code ledger.municipality_code NOT NULL,
    org_unit_id   integer NOT NULL,
    requested_by  name    NOT NULL,
    kind          text    NOT NULL CHECK (kind IN ('reveal_quota', 'bulk_reveal')),
    count         integer NOT NULL CHECK (count > 0),
    purpose       text    NOT NULL CHECK (purpose <> ''),
    requested_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    approved_by   name,
    approved_at   timestamptz,
    used_count    integer NOT NULL DEFAULT 0,
    expires_at    timestamptz NOT NULL,
    CHECK (used_count <= count)
);
COMMENT ON TABLE ledger.disclosure_approval IS '二者承認: a second staff member''s approval of a bulk reveal or of reveals beyond the daily quota';
COMMENT ON COLUMN ledger.disclosure_approval.approval_id IS '承認番号';
COMMENT ON COLUMN ledger.disclosure_approval.municipality_code IS '団体コード';
COMMENT ON COLUMN ledger.disclosure_approval.org_unit_id IS '申請者の所属ID';
COMMENT ON COLUMN ledger.disclosure_approval.requested_by IS '申請者 (role)';
COMMENT ON COLUMN ledger.disclosure_approval.kind IS '種別: reveal_quota 上限超過, bulk_reveal 一括表示';
COMMENT ON COLUMN ledger.disclosure_approval.count IS '件数';
COMMENT ON COLUMN ledger.disclosure_approval.purpose IS '目的';
COMMENT ON COLUMN ledger.disclosure_approval.requested_at IS '申請日時';
COMMENT ON COLUMN ledger.disclosure_approval.approved_by IS '承認者 (role)';
COMMENT ON COLUMN ledger.disclosure_approval.approved_at IS '承認日時';
COMMENT ON COLUMN ledger.disclosure_approval.used_count IS '使用済み件数';
COMMENT ON COLUMN ledger.disclosure_approval.expires_at IS '有効期限';
COMMENT ON SEQUENCE ledger.disclosure_approval_approval_id_seq IS '承認番号の採番';
SELECT ledger.protect_table('ledger.disclosure_approval', 'org_unit_id');
REVOKE ALL ON ledger.disclosure_approval FROM PUBLIC;
GRANT SELECT ON ledger.disclosure_approval TO ledger_staff;
SELECT pg_catalog.pg_extension_config_dump('ledger.disclosure_approval', '');
SELECT pg_catalog.pg_extension_config_dump('ledger.disclosure_approval_approval_id_seq', '');

-- May the caller reveal n more numbers now?  Consumes an approval when one is needed;
-- refuses (42501) otherwise.  Called by the reveal twins before anything is revealed.
CREATE FUNCTION ledger._reveal_allowance(caller oid, n integer) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    who name := (SELECT rolname FROM pg_catalog.pg_roles WHERE oid = caller);
    quota integer;
    used integer;
    a ledger.disclosure_approval;
BEGIN
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE oid = caller) THEN
        RETURN;
    END IF;
    -- one check at a time per staff member (the writer counts the reveals after they happen):
    -- a lock on the staff row, which only the owner can take (an advisory lock anyone could
    -- hold to stop a colleague's reveals)
    PERFORM 1 FROM ledger.staff s WHERE s.role_name = who FOR NO KEY UPDATE;
    IF n > current_setting('ledger.bulk_reveal_threshold')::integer THEN
        SELECT * INTO a FROM ledger.disclosure_approval d
         WHERE d.requested_by = who AND d.kind = 'bulk_reveal' AND d.approved_by IS NOT NULL
           AND d.used_count = 0 AND d.count >= n AND d.expires_at > now()
         ORDER BY d.approval_id LIMIT 1 FOR UPDATE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'revealing % numbers at once needs a second staff member''s approval', n
                USING ERRCODE = '42501',
                      HINT = format('Request it with ledger.request_disclosure_approval(''bulk_reveal'', %s, purpose); a staff member with the approve duty approves it (二者承認).', n);
        END IF;
        UPDATE ledger.disclosure_approval SET used_count = n WHERE approval_id = a.approval_id;
        RETURN;
    END IF;
    SELECT max(COALESCE(d.reveal_quota_per_day, current_setting('ledger.reveal_quota_per_day')::integer)) INTO quota
      FROM ledger.staff s
      JOIN ledger.staff_duty sd ON sd.staff_id = s.staff_id
      JOIN ledger.duty_permission dp ON dp.duty_code = sd.duty_code AND dp.action = 'reveal'
      JOIN ledger.duty d ON d.duty_code = sd.duty_code
     WHERE s.role_name = who AND s.retired_at IS NULL
       AND sd.valid_from <= ledger._today() AND (sd.valid_until IS NULL OR sd.valid_until >= ledger._today());
    used := COALESCE((SELECT reveals FROM ledger.reveal_tally WHERE role_name = who AND day = ledger._today()), 0);
    IF used + n <= COALESCE(quota, 0) THEN
        RETURN;
    END IF;
    SELECT * INTO a FROM ledger.disclosure_approval d
     WHERE d.requested_by = who AND d.kind = 'reveal_quota' AND d.approved_by IS NOT NULL
       AND d.count - d.used_count >= n AND d.expires_at > now()
     ORDER BY d.approval_id LIMIT 1 FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the daily reveal quota (%) is reached', COALESCE(quota, 0)
            USING ERRCODE = '42501',
                  HINT = 'Request more with ledger.request_disclosure_approval(''reveal_quota'', count, purpose); a staff member with the approve duty approves it.';
    END IF;
    UPDATE ledger.disclosure_approval SET used_count = used_count + n WHERE approval_id = a.approval_id;
END $$;
REVOKE ALL ON FUNCTION ledger._reveal_allowance(oid, integer) FROM PUBLIC;
COMMENT ON FUNCTION ledger._reveal_allowance(oid, integer) IS '表示件数の確認 (internal): quota, bulk threshold and approvals';

CREATE FUNCTION ledger._request_disclosure_approval(caller oid, kind text, count integer, purpose text)
RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s ledger.staff;
    id bigint;
BEGIN
    SELECT * INTO s FROM ledger.staff st
     WHERE st.role_name = (SELECT rolname FROM pg_catalog.pg_roles WHERE oid = caller) AND st.retired_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'permission denied: only active staff request an approval' USING ERRCODE = '42501',
            HINT = 'SET ROLE to the staff member''s own role.';
    END IF;
    PERFORM ledger._require(caller, 'reveal', 'child_allowance', s.org_unit_id);
    IF kind NOT IN ('reveal_quota', 'bulk_reveal') OR count IS NULL OR count < 1 OR coalesce(btrim(purpose), '') = '' THEN
        RAISE EXCEPTION 'an approval request needs a kind (reveal_quota or bulk_reveal), a positive count and a purpose'
            USING ERRCODE = '22023', HINT = 'For example: ledger.request_disclosure_approval(''bulk_reveal'', 40, ''年次の一括照会'').';
    END IF;
    INSERT INTO ledger.disclosure_approval (municipality_code, org_unit_id, requested_by, kind, count, purpose, expires_at)
    VALUES (s.municipality_code, s.org_unit_id, s.role_name, kind, count, purpose,
            ((ledger._today() + 1)::timestamp AT TIME ZONE current_setting('ledger.time_zone')))
    RETURNING approval_id INTO id;
    RETURN id;
END $$;
REVOKE ALL ON FUNCTION ledger._request_disclosure_approval(oid, text, integer, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._request_disclosure_approval(oid, text, integer, text) IS
    '二者承認の申請 (internal twin of ledger.request_disclosure_approval)';

CREATE FUNCTION ledger.request_disclosure_approval(kind text, count integer, purpose text)
RETURNS bigint AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.request_disclosure_approval(text, integer, text) IS
    '二者承認の申請: asks for a bulk reveal or for reveals beyond the daily quota; valid until the end of the day';

CREATE FUNCTION ledger._approve_disclosure(caller oid, approval_id bigint)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    a ledger.disclosure_approval;
BEGIN
    SELECT * INTO a FROM ledger.disclosure_approval d WHERE d.approval_id = _approve_disclosure.approval_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no approval request %', approval_id USING ERRCODE = '02000', HINT = 'See ledger.disclosure_approval.';
    END IF;
    PERFORM ledger._require(caller, 'approve', 'child_allowance', a.org_unit_id);
    -- never the requester, nor a role either of them can act as (NULL - a vanished role - refuses too)
    IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE oid = caller)
       AND COALESCE((SELECT r.oid = caller OR pg_catalog.pg_has_role(caller, r.oid, 'MEMBER')
                            OR pg_catalog.pg_has_role(r.oid, caller, 'MEMBER')
                     FROM pg_catalog.pg_roles r WHERE r.rolname = a.requested_by), true) THEN
        RAISE EXCEPTION 'permission denied: the requester cannot approve their own request' USING ERRCODE = '42501',
            HINT = 'A second staff member with the approve duty must approve (二者承認).';
    END IF;
    IF a.approved_by IS NOT NULL OR a.expires_at <= now() THEN
        RAISE EXCEPTION 'approval request % is already approved or expired', approval_id USING ERRCODE = '55000',
            HINT = 'Request a new approval.';
    END IF;
    UPDATE ledger.disclosure_approval d
       SET approved_by = (SELECT rolname FROM pg_catalog.pg_roles WHERE oid = caller), approved_at = now()
     WHERE d.approval_id = a.approval_id;
END $$;
REVOKE ALL ON FUNCTION ledger._approve_disclosure(oid, bigint) FROM PUBLIC;
COMMENT ON FUNCTION ledger._approve_disclosure(oid, bigint) IS '二者承認 (internal twin of ledger.approve_disclosure)';

CREATE FUNCTION ledger.approve_disclosure(approval_id bigint)
RETURNS void AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.approve_disclosure(bigint) IS
    '二者承認: a second staff member with the approve duty for the requester''s org unit approves; never the requester';

-- Several persons' numbers at once: every person must be revealable by the caller; more than
-- ledger.bulk_reveal_threshold needs an approved bulk_reveal request.
CREATE FUNCTION ledger._reveal_people(caller oid, municipality_code text, person_ids bigint[], purpose text,
                                      legal_basis text)
RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    p ledger.person;
    result jsonb := '{}';
    n integer := 0;
BEGIN
    FOR p IN SELECT x.* FROM ledger.person x
              WHERE x.municipality_code = _reveal_people.municipality_code
                AND x.person_id = ANY (person_ids) AND x.mynumber IS NOT NULL
              ORDER BY x.person_id LOOP
        PERFORM ledger._require(caller, 'reveal', 'child_allowance', p.org_unit_id);
        n := n + 1;
    END LOOP;
    IF n <> cardinality(ARRAY(SELECT DISTINCT unnest(person_ids))) THEN
        RAISE EXCEPTION 'some of the persons do not exist or have no number' USING ERRCODE = '02000',
            HINT = 'Give ids of enrolled persons with a number.';
    END IF;
    PERFORM ledger._reveal_allowance(caller, n);
    FOR p IN SELECT x.* FROM ledger.person x
              WHERE x.municipality_code = _reveal_people.municipality_code AND x.person_id = ANY (person_ids)
              ORDER BY x.person_id LOOP
        result := result || jsonb_build_object(p.person_id::text,
            ledger.reveal(p.mynumber, ledger.person_context(p.municipality_code, p.person_id), purpose, legal_basis)::text);
    END LOOP;
    RETURN result;
END $$;
REVOKE ALL ON FUNCTION ledger._reveal_people(oid, text, bigint[], text, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._reveal_people(oid, text, bigint[], text, text) IS '一括表示 (internal twin of ledger.reveal_people)';

CREATE FUNCTION ledger.reveal_people(municipality_code text, person_ids bigint[], purpose text, legal_basis text DEFAULT NULL)
RETURNS jsonb AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.reveal_people(text, bigint[], text, text) IS
    '一括表示: several persons'' numbers as {person_id: number}; above ledger.bulk_reveal_threshold only with a second person''s approval';
-- retention: 保存期間経過後の削除 (番号法 第20条, 個人情報保護委員会ガイドライン).  Policies say what
-- expires when and what happens to it; legal holds (保存延長) keep named rows; the procedure
-- ledger.run_retention works in committed batches, each with its 削除記録 in the same
-- transaction, so an interrupted run resumes with the same result.  Run it with pg_cron.

CREATE TABLE ledger.retention_policy (
    policy_id      text    PRIMARY KEY CHECK (policy_id ~ '^[a-z][a-z0-9_]{0,62}$'),
    run_order      integer NOT NULL DEFAULT 100,
    schema_name    name    NOT NULL,
    table_name     name    NOT NULL,
    key_column     name    NOT NULL,
    anchor_column  name    NOT NULL,
    period         interval NOT NULL CHECK (period > interval '0'),
    counting       text    NOT NULL CHECK (counting IN ('from_date', 'from_next_april')),
    action         text    NOT NULL CHECK (action IN ('delete', 'erase_number', 'anonymise')),
    erase_columns  name[],
    person_expr    text,
    enabled        boolean NOT NULL DEFAULT true,
    description    text    NOT NULL,
    CHECK (action <> 'erase_number' OR cardinality(erase_columns) > 0),
    CHECK (action <> 'anonymise' OR cardinality(erase_columns) > 0)
);
COMMENT ON TABLE ledger.retention_policy IS
    '保存期間: what expires when (anchor date, period, counting from the date or from the next 1 April) and what happens to it';
COMMENT ON COLUMN ledger.retention_policy.policy_id IS 'ポリシーID';
COMMENT ON COLUMN ledger.retention_policy.run_order IS '実行順';
COMMENT ON COLUMN ledger.retention_policy.schema_name IS 'スキーマ名';
COMMENT ON COLUMN ledger.retention_policy.table_name IS 'テーブル名';
COMMENT ON COLUMN ledger.retention_policy.key_column IS 'キー列 (bigint; for holds, batches and the deletion record)';
COMMENT ON COLUMN ledger.retention_policy.anchor_column IS '起算日の列 (date)';
COMMENT ON COLUMN ledger.retention_policy.period IS '保存期間';
COMMENT ON COLUMN ledger.retention_policy.counting IS '起算: from_date その日から, from_next_april 翌年度の4月1日から';
COMMENT ON COLUMN ledger.retention_policy.action IS '処理: delete 削除, erase_number 番号のみ消去, anonymise 匿名化';
COMMENT ON COLUMN ledger.retention_policy.erase_columns IS '消去・匿名化する列';
COMMENT ON COLUMN ledger.retention_policy.person_expr IS '個人IDを求める式 (over alias t; for holds naming a person)';
COMMENT ON COLUMN ledger.retention_policy.enabled IS '有効';
COMMENT ON COLUMN ledger.retention_policy.description IS '説明 (文書管理規程の根拠)';
REVOKE ALL ON ledger.retention_policy FROM PUBLIC;
GRANT SELECT ON ledger.retention_policy TO ledger_auditor, ledger_dba;

-- Batches are taken in anchor order through these indexes, so each batch reads only what it
-- deletes (not the dead rows of the batches before it).
CREATE INDEX certification_retention ON ledger.certification (extinguished_on, certification_id)
    WHERE extinguished_on IS NOT NULL;
CREATE INDEX person_retention ON ledger.person (closed_on, person_id) WHERE closed_on IS NOT NULL;
CREATE INDEX exchange_record_retention ON ledger.exchange_record (keep_until, record_id);

-- Defaults (DOMAIN.md): ledger records 5 years from the 1 April after the record closed;
-- 情報提供等の記録 7 years (keep_until is their last day).
INSERT INTO ledger.retention_policy (policy_id, run_order, schema_name, table_name, key_column, anchor_column,
                                     period, counting, action, erase_columns, person_expr, description) VALUES
    ('certification', 10, 'ledger', 'certification', 'certification_id', 'extinguished_on',
     '5 years', 'from_next_april', 'delete', NULL,
     '(SELECT r.person_id FROM ledger.recipient r WHERE r.municipality_code = t.municipality_code AND r.recipient_id = t.recipient_id)',
     '消滅した認定 (支払・額改定を含む): 5年, 翌年度4月1日起算 (文書管理規程)'),
    ('person_number', 20, 'ledger', 'person', 'person_id', 'closed_on',
     '5 years', 'from_next_april', 'erase_number', ARRAY['mynumber', 'mynumber_index']::name[], 't.person_id',
     '完結した個人の個人番号: 5年, 翌年度4月1日起算; 番号のみ消去 (ガイドライン)'),
    ('exchange_record', 30, 'ledger', 'exchange_record', 'record_id', 'keep_until',
     '1 day', 'from_date', 'delete', NULL, 't.person_id',
     '情報提供等の記録: 7年 (keep_until の翌日に削除)');
SELECT pg_catalog.pg_extension_config_dump('ledger.retention_policy',
    'WHERE policy_id NOT IN (''certification'', ''person_number'', ''exchange_record'')');
SELECT ledger.audit_table('ledger.retention_policy');   -- after the defaults: changes from here on

CREATE TABLE ledger.legal_hold (
    hold_id      bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    municipality_code ledger.municipality_code NOT NULL,
    scope        text    NOT NULL CHECK (scope IN ('person', 'record', 'table')),
    schema_name  name,
    table_name   name,
    person_id    bigint,
    record_key   bigint,
    reason       text    NOT NULL CHECK (reason <> ''),
    held_until   date,
    created_by   name    NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    lifted_at    timestamptz,
    CHECK (scope <> 'person' OR person_id IS NOT NULL),
    CHECK (scope <> 'record' OR (table_name IS NOT NULL AND record_key IS NOT NULL)),
    CHECK (scope <> 'table' OR table_name IS NOT NULL)
);
COMMENT ON TABLE ledger.legal_hold IS '保存延長 (不服申立て・訴訟・調査): rows a hold names are never touched by retention';
COMMENT ON COLUMN ledger.legal_hold.hold_id IS '保存延長ID';
COMMENT ON COLUMN ledger.legal_hold.municipality_code IS '団体コード';
COMMENT ON COLUMN ledger.legal_hold.scope IS '対象: person 個人, record 記録, table テーブル';
COMMENT ON COLUMN ledger.legal_hold.schema_name IS 'スキーマ名';
COMMENT ON COLUMN ledger.legal_hold.table_name IS 'テーブル名';
COMMENT ON COLUMN ledger.legal_hold.person_id IS '個人ID';
COMMENT ON COLUMN ledger.legal_hold.record_key IS '記録のキー';
COMMENT ON COLUMN ledger.legal_hold.reason IS '理由';
COMMENT ON COLUMN ledger.legal_hold.held_until IS '期限 (NULL: until lifted)';
COMMENT ON COLUMN ledger.legal_hold.created_by IS '設定者';
COMMENT ON COLUMN ledger.legal_hold.created_at IS '設定日時';
COMMENT ON COLUMN ledger.legal_hold.lifted_at IS '解除日時';
COMMENT ON SEQUENCE ledger.legal_hold_hold_id_seq IS '保存延長IDの採番';
REVOKE ALL ON ledger.legal_hold FROM PUBLIC;
GRANT SELECT ON ledger.legal_hold TO ledger_auditor, ledger_dba;
SELECT ledger.audit_table('ledger.legal_hold');
SELECT pg_catalog.pg_extension_config_dump('ledger.legal_hold', '');
SELECT pg_catalog.pg_extension_config_dump('ledger.legal_hold_hold_id_seq', '');

-- Placing and lifting holds: ledger_dba (or a superuser), recorded.
CREATE FUNCTION ledger._place_hold(caller oid, municipality_code text, scope text, reason text,
                                   person_id bigint, table_name regclass, record_key bigint, held_until date)
RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    id bigint;
BEGIN
    PERFORM ledger._require_dba(caller, 'place legal holds');
    INSERT INTO ledger.legal_hold (municipality_code, scope, schema_name, table_name, person_id, record_key,
                                   reason, held_until, created_by)
    SELECT municipality_code, scope, n.nspname, c.relname, person_id, record_key, reason, held_until,
           (SELECT rolname FROM pg_catalog.pg_roles WHERE oid = caller)
    FROM (SELECT 1) x
    LEFT JOIN pg_catalog.pg_class c ON c.oid = table_name
    LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    RETURNING hold_id INTO id;
    RETURN id;
END $$;
REVOKE ALL ON FUNCTION ledger._place_hold(oid, text, text, text, bigint, regclass, bigint, date) FROM PUBLIC;
COMMENT ON FUNCTION ledger._place_hold(oid, text, text, text, bigint, regclass, bigint, date) IS '保存延長の設定 (internal twin of ledger.place_hold)';

CREATE FUNCTION ledger.place_hold(municipality_code text, scope text, reason text, person_id bigint DEFAULT NULL,
                                  table_name regclass DEFAULT NULL, record_key bigint DEFAULT NULL,
                                  held_until date DEFAULT NULL)
RETURNS bigint AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.place_hold(text, text, text, bigint, regclass, bigint, date) IS
    '保存延長の設定: a person, a record (table and key) or a whole table is kept past its retention; ledger_dba only, recorded';

CREATE FUNCTION ledger._lift_hold(caller oid, hold_id bigint) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM ledger._require_dba(caller, 'lift legal holds');
    UPDATE ledger.legal_hold h SET lifted_at = now() WHERE h.hold_id = _lift_hold.hold_id AND h.lifted_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no hold % in force', hold_id USING ERRCODE = '02000', HINT = 'See ledger.retention_held.';
    END IF;
END $$;
REVOKE ALL ON FUNCTION ledger._lift_hold(oid, bigint) FROM PUBLIC;
COMMENT ON FUNCTION ledger._lift_hold(oid, bigint) IS '保存延長の解除 (internal twin of ledger.lift_hold)';

CREATE FUNCTION ledger.lift_hold(hold_id bigint) RETURNS void
    AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.lift_hold(bigint) IS '保存延長の解除: the held rows are processed by the next retention run; recorded';

-- Runs that commit as they go (retention, payments) hold a 'running' row instead of an advisory
-- lock.  Such a row is stale when the session that started it is gone, or is this very session
-- (the run failed here: nothing runs two of them at once in one session).
CREATE FUNCTION ledger._backend_start() RETURNS timestamptz
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT a.backend_start FROM pg_catalog.pg_stat_activity a WHERE a.pid = pg_catalog.pg_backend_pid();
END;
REVOKE ALL ON FUNCTION ledger._backend_start() FROM PUBLIC;
COMMENT ON FUNCTION ledger._backend_start() IS 'このセッションの開始日時 (internal)';

-- What a run records as its job: the client's application_name (pg_cron sets one), else the backend.
CREATE FUNCTION ledger._job_name() RETURNS text
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT COALESCE(NULLIF(pg_catalog.current_setting('application_name'), ''), 'backend ' || pg_catalog.pg_backend_pid());
END;
REVOKE ALL ON FUNCTION ledger._job_name() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger._job_name() TO ledger_staff;
COMMENT ON FUNCTION ledger._job_name() IS 'ジョブ名 (internal): application_name, else the backend';

CREATE FUNCTION ledger._run_session_gone(pid integer, started timestamptz) RETURNS boolean
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT (_run_session_gone.pid = pg_catalog.pg_backend_pid() AND started IS NOT DISTINCT FROM ledger._backend_start())
        OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a
                       WHERE a.pid = _run_session_gone.pid AND a.backend_start IS NOT DISTINCT FROM started);
END;
REVOKE ALL ON FUNCTION ledger._run_session_gone(integer, timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION ledger._run_session_gone(integer, timestamptz) IS
    '実行の中断判定 (internal): the session that started a run is gone, or is this one';

CREATE TABLE ledger.retention_run (
    run_id       bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    dry_run      boolean NOT NULL,
    job          text,
    status       text    NOT NULL CHECK (status IN ('running', 'finished', 'interrupted')),
    current_policy text,
    rows_done    bigint  NOT NULL DEFAULT 0,
    report       jsonb   NOT NULL DEFAULT '{}',
    backend_pid  integer NOT NULL DEFAULT pg_catalog.pg_backend_pid(),
    backend_start timestamptz
);
-- One run at a time, held by a row (an advisory lock could be taken by anyone who can connect).
CREATE UNIQUE INDEX retention_run_one_running ON ledger.retention_run ((true)) WHERE status = 'running';
COMMENT ON INDEX ledger.retention_run_one_running IS '保存期間処理の排他: at most one run in progress';
COMMENT ON TABLE ledger.retention_run IS '保存期間処理の実行: one row per run, committed with every batch (progress visible to other sessions)';
COMMENT ON COLUMN ledger.retention_run.run_id IS '実行ID';
COMMENT ON COLUMN ledger.retention_run.started_at IS '開始日時';
COMMENT ON COLUMN ledger.retention_run.updated_at IS '更新日時';
COMMENT ON COLUMN ledger.retention_run.finished_at IS '終了日時';
COMMENT ON COLUMN ledger.retention_run.backend_pid IS '実行中のサーバプロセスID';
COMMENT ON COLUMN ledger.retention_run.backend_start IS '実行中のサーバプロセスの開始日時 (with backend_pid: is the run still alive)';
COMMENT ON COLUMN ledger.retention_run.dry_run IS '試行 (nothing changed)';
COMMENT ON COLUMN ledger.retention_run.job IS 'ジョブ (application_name, e.g. pg_cron)';
COMMENT ON COLUMN ledger.retention_run.status IS '状態: running, finished; a run whose session ended while running is interrupted';
COMMENT ON COLUMN ledger.retention_run.current_policy IS '処理中のポリシー';
COMMENT ON COLUMN ledger.retention_run.rows_done IS '処理済み件数';
COMMENT ON COLUMN ledger.retention_run.report IS '結果: per policy, rows processed (or that would be, in a dry run), rows held';
COMMENT ON SEQUENCE ledger.retention_run_run_id_seq IS '実行IDの採番';
REVOKE ALL ON ledger.retention_run FROM PUBLIC;
GRANT SELECT ON ledger.retention_run TO ledger_auditor, ledger_dba;

CREATE TABLE ledger.deletion_record (
    deletion_id  bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id       bigint  NOT NULL,
    policy_id    text    NOT NULL,
    relation     text    NOT NULL,
    action       text    NOT NULL,
    row_count    integer NOT NULL,
    key_min      bigint  NOT NULL,
    key_max      bigint  NOT NULL,
    key_digest   bytea   NOT NULL,
    deleted_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    job          text
);
COMMENT ON TABLE ledger.deletion_record IS
    '削除記録: one row per committed retention batch (policy, table, count, key range, SHA-256 of the sorted keys, time, job); kept in the audit trail';
COMMENT ON COLUMN ledger.deletion_record.deletion_id IS '削除記録ID';
COMMENT ON COLUMN ledger.deletion_record.run_id IS '実行ID';
COMMENT ON COLUMN ledger.deletion_record.policy_id IS 'ポリシーID';
COMMENT ON COLUMN ledger.deletion_record.relation IS '対象テーブル';
COMMENT ON COLUMN ledger.deletion_record.action IS '処理';
COMMENT ON COLUMN ledger.deletion_record.row_count IS '件数';
COMMENT ON COLUMN ledger.deletion_record.key_min IS '最小キー';
COMMENT ON COLUMN ledger.deletion_record.key_max IS '最大キー';
COMMENT ON COLUMN ledger.deletion_record.key_digest IS 'キーのダイジェスト: sha256 of the keys, sorted, comma-separated';
COMMENT ON COLUMN ledger.deletion_record.deleted_at IS '削除日時';
COMMENT ON COLUMN ledger.deletion_record.job IS 'ジョブ';
COMMENT ON SEQUENCE ledger.deletion_record_deletion_id_seq IS '削除記録IDの採番';
REVOKE ALL ON ledger.deletion_record FROM PUBLIC;
GRANT SELECT ON ledger.deletion_record TO ledger_auditor, ledger_dba;
SELECT ledger.audit_table('ledger.deletion_record');
SELECT pg_catalog.pg_extension_config_dump('ledger.deletion_record', '');

-- The first day on which a row anchored on anchor is past its period (the last day kept is
-- the day before).  from_next_april counts from the first 1 April after the anchor.
CREATE FUNCTION ledger.retention_expires_on(anchor date, period interval, counting text) RETURNS date
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    SELECT (CASE counting
                WHEN 'from_date' THEN anchor
                ELSE pg_catalog.make_date(pg_catalog.date_part('year', anchor)::integer
                                          + CASE WHEN anchor < pg_catalog.make_date(pg_catalog.date_part('year', anchor)::integer, 4, 1)
                                                 THEN 0 ELSE 1 END, 4, 1)
            END + period)::date;
END;
COMMENT ON FUNCTION ledger.retention_expires_on(date, interval, text) IS
    '削除日: the first day a row is past its retention (the day before is the last day kept)';

-- The latest anchor date that has expired by day d: rows with anchor <= it are due.
CREATE FUNCTION ledger._retention_cutoff(d date, period interval, counting text) RETURNS date
LANGUAGE plpgsql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    x date := (d - period)::date;       -- the start of counting must be on or before x
    april date;
BEGIN
    IF counting = 'from_date' THEN
        RETURN x;
    END IF;
    -- the first 1 April strictly after the anchor is on or before x  <=>  anchor < the latest 1 April <= x
    april := make_date(date_part('year', x)::integer - CASE WHEN x < make_date(date_part('year', x)::integer, 4, 1) THEN 1 ELSE 0 END, 4, 1);
    RETURN april - 1;
END $$;
REVOKE ALL ON FUNCTION ledger._retention_cutoff(date, interval, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._retention_cutoff(date, interval, text) IS '削除対象の起算日の上限 (internal): anchors on or before it are due';

-- SQL condition, over alias t, that keeps rows a hold names.
CREATE FUNCTION ledger._retention_not_held(p ledger.retention_policy) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.format(
        'NOT EXISTS (SELECT 1 FROM ledger.legal_hold h WHERE h.lifted_at IS NULL '
        'AND (h.held_until IS NULL OR h.held_until >= ledger._today()) AND h.municipality_code = t.municipality_code '
        'AND ((h.scope = ''record'' AND h.schema_name = %L AND h.table_name = %L AND h.record_key = t.%I)%s))',
        p.schema_name, p.table_name, p.key_column,
        CASE WHEN p.person_expr IS NULL THEN ''
             ELSE pg_catalog.format(' OR (h.scope = ''person'' AND h.person_id = %s)', p.person_expr) END)
$$;
REVOKE ALL ON FUNCTION ledger._retention_not_held(ledger.retention_policy) FROM PUBLIC;
COMMENT ON FUNCTION ledger._retention_not_held(ledger.retention_policy) IS '保存延長の条件 (internal)';

-- SQL condition, over alias t, for rows of a policy due by day d and not yet processed.
CREATE FUNCTION ledger._retention_due(p ledger.retention_policy, d date) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.format('t.%I <= %L::date', p.anchor_column, ledger._retention_cutoff(d, p.period, p.counting))
        || CASE p.action
               WHEN 'delete' THEN ''
               ELSE pg_catalog.format(' AND t.%I IS NOT NULL', p.erase_columns[1]) END
$$;
REVOKE ALL ON FUNCTION ledger._retention_due(ledger.retention_policy, date) FROM PUBLIC;
COMMENT ON FUNCTION ledger._retention_due(ledger.retention_policy, date) IS '削除対象の条件 (internal)';

-- The SET list of an erase or anonymise action.
CREATE FUNCTION ledger._retention_set_list(p ledger.retention_policy) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.string_agg(
        pg_catalog.format('%I = %s', c,
            CASE WHEN p.action = 'erase_number' OR NOT a.attnotnull THEN 'NULL'
                 WHEN a.atttypid IN ('text'::regtype, 'varchar'::regtype) THEN '''***'''
                 WHEN a.atttypid = 'date'::regtype THEN pg_catalog.format('pg_catalog.date_trunc(''year'', %I)::date', c)
                 ELSE 'NULL' END), ', ')
    FROM pg_catalog.unnest(p.erase_columns) AS c
    JOIN pg_catalog.pg_attribute a
      ON a.attrelid = pg_catalog.format('%I.%I', p.schema_name, p.table_name)::regclass AND a.attname = c
$$;
REVOKE ALL ON FUNCTION ledger._retention_set_list(ledger.retention_policy) FROM PUBLIC;
COMMENT ON FUNCTION ledger._retention_set_list(ledger.retention_policy) IS '消去・匿名化の内容 (internal)';

-- The retention run.  A superuser (the pg_cron job) runs it; see docs/retention.md.
-- (No SET clause: a procedure with one cannot COMMIT.  It names everything with its schema.)
CREATE PROCEDURE ledger.run_retention(dry_run boolean DEFAULT false, batch_size integer DEFAULT 1000,
                                      only_policy text DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
    p ledger.retention_policy;
    run bigint;
    today date := ledger._today();
    tab text;
    due text;
    keys bigint[];
    n integer;
    would bigint;
    held bigint;
    done_policy bigint;
    job text := ledger._job_name();
    saved_path text := pg_catalog.current_setting('search_path');
BEGIN
    -- the caller's search_path must not resolve anything the run executes
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false);
    IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'permission denied: the retention run needs a superuser' USING ERRCODE = '42501',
            HINT = 'Schedule CALL ledger.run_retention() with pg_cron as a superuser.';
    END IF;
    IF batch_size < 1 THEN
        RAISE EXCEPTION 'batch_size must be positive' USING ERRCODE = '22023', HINT = 'For example 1000.';
    END IF;
    -- Runs whose session ended while they ran (or is this one: a run that failed here).
    UPDATE ledger.retention_run r SET status = 'interrupted'
     WHERE r.status = 'running' AND ledger._run_session_gone(r.backend_pid, r.backend_start);
    BEGIN
        INSERT INTO ledger.retention_run (started_at, updated_at, dry_run, job, status, backend_start)
        VALUES (pg_catalog.clock_timestamp(), pg_catalog.clock_timestamp(), dry_run, job, 'running',
                ledger._backend_start())
        RETURNING run_id INTO run;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'another retention run is in progress' USING ERRCODE = '55P03',
            HINT = 'Runs never overlap; wait for it to finish (see ledger.retention_run).';
    END;
    COMMIT;

    FOR p IN SELECT * FROM ledger.retention_policy
              WHERE enabled AND (only_policy IS NULL OR policy_id = only_policy)
              ORDER BY run_order, policy_id LOOP
        tab := pg_catalog.format('%I.%I', p.schema_name, p.table_name);
        -- the run writes with a superuser's rights: only into tables a superuser owns (no one
        -- else's triggers may run with those rights)
        IF NOT (SELECT o.rolsuper FROM pg_catalog.pg_class c JOIN pg_catalog.pg_roles o ON o.oid = c.relowner
                WHERE c.oid = tab::regclass) THEN
            RAISE EXCEPTION 'retention policy % names table %, which a non-superuser owns', p.policy_id, tab
                USING ERRCODE = '42501', HINT = 'Policies apply to tables owned by a superuser (the ledger''s own).';
        END IF;
        due := ledger._retention_due(p, today);
        done_policy := 0;
        EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s t WHERE %s AND NOT %s', tab, due,
                                  ledger._retention_not_held(p)) INTO held;
        IF EXISTS (SELECT 1 FROM ledger.legal_hold h WHERE h.scope = 'table' AND h.lifted_at IS NULL
                   AND (h.held_until IS NULL OR h.held_until >= today)
                   AND h.schema_name = p.schema_name AND h.table_name = p.table_name) THEN
            EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s t WHERE %s', tab, due) INTO held;
            UPDATE ledger.retention_run SET report = report || pg_catalog.jsonb_build_object(p.policy_id,
                   pg_catalog.jsonb_build_object('held_table', true, 'held', held)), updated_at = pg_catalog.clock_timestamp()
             WHERE run_id = run;
            COMMIT;
            CONTINUE;
        END IF;
        IF dry_run THEN
            EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %s t WHERE %s AND %s', tab, due,
                                      ledger._retention_not_held(p)) INTO would;
            UPDATE ledger.retention_run SET report = report || pg_catalog.jsonb_build_object(p.policy_id,
                   pg_catalog.jsonb_build_object('would_' || p.action, would, 'held', held)),
                   updated_at = pg_catalog.clock_timestamp()
             WHERE run_id = run;
            RAISE NOTICE 'retention (dry run) %: % rows would be processed (%), % held', p.policy_id, would, p.action, held;
            COMMIT;
            CONTINUE;
        END IF;
        LOOP
            EXECUTE pg_catalog.format(
                'SELECT pg_catalog.array_agg(k ORDER BY k) FROM (SELECT t.%I AS k FROM %s t WHERE %s AND %s '
                'ORDER BY t.%I, t.%I LIMIT $1 FOR UPDATE OF t SKIP LOCKED) s',
                p.key_column, tab, due, ledger._retention_not_held(p), p.anchor_column, p.key_column)
                INTO keys USING batch_size;
            EXIT WHEN keys IS NULL;
            IF p.action = 'delete' THEN
                EXECUTE pg_catalog.format('DELETE FROM %s t WHERE t.%I = ANY ($1)', tab, p.key_column) USING keys;
            ELSE
                EXECUTE pg_catalog.format('UPDATE %s t SET %s WHERE t.%I = ANY ($1)', tab,
                                          ledger._retention_set_list(p), p.key_column) USING keys;
                IF p.schema_name = 'ledger' AND p.table_name = 'person' AND p.action = 'erase_number' THEN
                    -- pseudonyms derive from the number: they go with it
                    DELETE FROM ledger.person_pseudonym pp WHERE pp.person_id = ANY (keys);
                END IF;
            END IF;
            n := pg_catalog.cardinality(keys);
            INSERT INTO ledger.deletion_record (run_id, policy_id, relation, action, row_count, key_min, key_max, key_digest, job)
            VALUES (run, p.policy_id, tab, p.action, n, keys[1], keys[n],
                    pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.array_to_string(keys, ','), 'UTF8')), job);
            done_policy := done_policy + n;
            UPDATE ledger.retention_run
               SET rows_done = rows_done + n, current_policy = p.policy_id, updated_at = pg_catalog.clock_timestamp(),
                   report = report || pg_catalog.jsonb_build_object(p.policy_id,
                            pg_catalog.jsonb_build_object(p.action, done_policy, 'held', held))
             WHERE run_id = run;
            COMMIT;
        END LOOP;
        UPDATE ledger.retention_run
           SET report = report || pg_catalog.jsonb_build_object(p.policy_id,
                        pg_catalog.jsonb_build_object(p.action, done_policy, 'held', held)),
               updated_at = pg_catalog.clock_timestamp()
         WHERE run_id = run;
        COMMIT;
    END LOOP;

    IF NOT dry_run AND only_policy IS NULL THEN
        PERFORM ledger.expire_inquiry_data();
        PERFORM ledger.sync_staff_roles();
        UPDATE ledger.retention_run SET report = report || pg_catalog.jsonb_build_object('shredded_periods',
               pg_catalog.to_jsonb(ledger._shred_spent_periods()))
         WHERE run_id = run;
        COMMIT;
        -- the trail's own retention: expired months detached after a verification checkpoint
        UPDATE ledger.retention_run SET report = report || pg_catalog.jsonb_build_object('detached_audit_partitions',
               pg_catalog.to_jsonb(ledger._audit_detach_before(
                   pg_catalog.now() - pg_catalog.current_setting('ledger.audit_retention')::interval)))
         WHERE run_id = run;
    END IF;
    UPDATE ledger.retention_run SET status = 'finished', finished_at = pg_catalog.clock_timestamp(),
           current_policy = NULL, updated_at = pg_catalog.clock_timestamp()
     WHERE run_id = run;
    COMMIT;
    PERFORM pg_catalog.set_config('search_path', saved_path, false);
END $$;
REVOKE ALL ON PROCEDURE ledger.run_retention(boolean, integer, text) FROM PUBLIC;
COMMENT ON PROCEDURE ledger.run_retention(boolean, integer, text) IS
    '保存期間経過後の削除: committed batches with a 削除記録 each; never overlaps; resumable; dry run reports only';

-- Closing a person's record (記録の完結): sets closed_on and, when ledger.period_key_command is
-- configured, seals the number again under the key of the retention period in which it
-- expires, so that destroying that period's key later shreds every copy, backups included.
CREATE FUNCTION ledger._close_person(caller oid, municipality_code text, person_id bigint, closed_on date)
RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    p ledger.person;
    pol ledger.retention_policy;
    period text;
BEGIN
    SELECT * INTO p FROM ledger.person x
     WHERE x.municipality_code = _close_person.municipality_code AND x.person_id = _close_person.person_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no person % in %', person_id, municipality_code USING ERRCODE = '02000', HINT = 'See ledger.person.';
    END IF;
    PERFORM ledger._require(caller, 'write', 'child_allowance', p.org_unit_id);
    SELECT * INTO pol FROM ledger.retention_policy WHERE policy_id = 'person_number';
    IF closed_on IS NOT NULL AND p.mynumber IS NOT NULL AND FOUND
       AND current_setting('ledger.period_key_command') <> '' THEN
        period := date_part('year', ledger.retention_expires_on(closed_on, pol.period, pol.counting))::text;
        UPDATE ledger.person x SET closed_on = _close_person.closed_on,
               mynumber = ledger._seal_for_period(p.mynumber, ledger.person_context(p.municipality_code, p.person_id), period)
         WHERE x.municipality_code = p.municipality_code AND x.person_id = p.person_id;
    ELSE
        UPDATE ledger.person x SET closed_on = _close_person.closed_on
         WHERE x.municipality_code = p.municipality_code AND x.person_id = p.person_id;
    END IF;
    RETURN period;
END $$;
REVOKE ALL ON FUNCTION ledger._close_person(oid, text, bigint, date) FROM PUBLIC;
COMMENT ON FUNCTION ledger._close_person(oid, text, bigint, date) IS '記録の完結 (internal twin of ledger.close_person)';

CREATE FUNCTION ledger.close_person(municipality_code text, person_id bigint, closed_on date)
RETURNS text AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.close_person(text, bigint, date) IS
    '記録の完結: sets closed_on; the number is sealed again under its retention period''s key (returned, NULL when none)';

-- Destroys the key of every retention period that has begun and under which no live value
-- is sealed any more; returns the periods shredded.  Called at the end of a retention run.
CREATE FUNCTION ledger._shred_spent_periods() RETURNS text[]
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    period text;
    done text[] := '{}';
BEGIN
    IF current_setting('ledger.period_key_command') = '' THEN
        RETURN done;
    END IF;
    FOR period IN
        SELECT DISTINCT substr(k.purpose, 8) FROM ledger.data_key k
         WHERE k.purpose LIKE 'number:%' AND k.destroyed_at IS NULL
           AND substr(k.purpose, 8)::integer <= date_part('year', ledger._today())
           AND NOT EXISTS (SELECT 1 FROM ledger.data_key k2 JOIN ledger.person x
                             ON ledger.sealed_key_id(x.mynumber) = k2.key_id
                           WHERE k2.purpose = k.purpose AND x.mynumber IS NOT NULL)
         ORDER BY 1 LOOP
        PERFORM ledger._forget_period_key(period);
        done := done || period;
    END LOOP;
    RETURN done;
END $$;
REVOKE ALL ON FUNCTION ledger._shred_spent_periods() FROM PUBLIC;
COMMENT ON FUNCTION ledger._shred_spent_periods() IS '期間鍵の破棄 (internal): periods whose numbers are all gone';

CREATE VIEW ledger.retention_held AS
    SELECT h.hold_id, h.municipality_code, h.scope, h.schema_name, h.table_name, h.person_id, h.record_key,
           h.reason, h.held_until, h.created_by, h.created_at
    FROM ledger.legal_hold h
    WHERE h.lifted_at IS NULL AND (h.held_until IS NULL OR h.held_until >= ledger._today());
COMMENT ON VIEW ledger.retention_held IS '保存延長中: the holds in force today';
REVOKE ALL ON ledger.retention_held FROM PUBLIC;
GRANT SELECT ON ledger.retention_held TO ledger_auditor, ledger_dba;
-- allowance: 児童手当 rules as data, and the date rules the engine stands on (児童手当法;
-- 年齢計算ニ関スル法律 and 民法第143条: a person reaches an age on the day before the birthday).

-- The date rules are C (allowance_dates.c): a payment run evaluates them for every child and
-- month.  Each has the SQL it implements beside it, which the tests compare it with.

-- The day a person born on birth reaches the age of years: the day before the birthday
-- (for a 29 February birthday in a common year, 28 February).
--   SQL: ((birth - 1) + make_interval(years => years))::date
CREATE FUNCTION ledger.age_reached_on(birth date, years integer) RETURNS date
    AS 'MODULE_PATHNAME', 'allowance_age_reached_on' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ledger.age_reached_on(date, integer) IS
    '年齢到達日: the day before the birthday (年齢計算ニ関スル法律, 民法第143条)';

-- The first 31 March on or after d (以後の最初の3月31日).
--   SQL: make_date(year(d) + CASE WHEN month(d) > 3 THEN 1 ELSE 0 END, 3, 31)
CREATE FUNCTION ledger.first_march31_on_or_after(d date) RETURNS date
    AS 'MODULE_PATHNAME', 'allowance_first_march31' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ledger.first_march31_on_or_after(date) IS '以後の最初の3月31日';

-- The last day of a school-year age limit: 「N歳に達する日以後の最初の3月31日」.  A child born
-- on 2 April is covered until the 31 March after the Nth birthday; one born on 1 April only
-- until the 31 March just before it (早生まれ belong to the earlier school year).
--   SQL: first_march31_on_or_after(age_reached_on(birth, years))
CREATE FUNCTION ledger.school_year_end(birth date, years integer) RETURNS date
    AS 'MODULE_PATHNAME', 'allowance_school_year_end' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ledger.school_year_end(date, integer) IS
    'N歳に達する日以後の最初の3月31日: the end of the school year in which the child turns N';

-- The last month of the under-3 amount: the month of the 3rd birthday, for every child
-- (「出生の日から三年を経過しない児童」 keeps those born on the 1st in it too).
--   SQL: date_trunc('month', birth + make_interval(years => 3))::date
CREATE FUNCTION ledger.under3_last_month(birth date) RETURNS date
    AS 'MODULE_PATHNAME', 'allowance_under3_last_month' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ledger.under3_last_month(date) IS '3歳未満の額の最後の月: the month of the 3rd birthday';

-- Rule periods: a reform is a new row, not new code.
CREATE TABLE ledger.allowance_rule (
    rule_id              text    PRIMARY KEY,
    from_month           date    NOT NULL CHECK (from_month = date_trunc('month', from_month)::date),
    to_month             date    CHECK (to_month IS NULL OR to_month = date_trunc('month', to_month)::date),
    eligible_age         integer NOT NULL,
    order_age            integer NOT NULL,
    amount_under3        integer NOT NULL,
    amount_3_to_primary  integer NOT NULL,
    amount_3_to_primary_third integer NOT NULL,
    amount_after_primary integer NOT NULL,
    amount_third_any_age integer,
    primary_end_age      integer NOT NULL DEFAULT 12,
    income_limits        boolean NOT NULL,
    special_amount       integer,
    upper_limit_from     date,
    limit_step_man       integer,
    payment_months       integer[] NOT NULL,
    months_per_payment   integer NOT NULL,
    legal_source         text    NOT NULL,
    CHECK (to_month IS NULL OR to_month >= from_month)
);
COMMENT ON TABLE ledger.allowance_rule IS '支給要件と手当額: one row per rule period (改正ごとに1行)';
COMMENT ON COLUMN ledger.allowance_rule.rule_id IS '規則ID';
COMMENT ON COLUMN ledger.allowance_rule.from_month IS '適用開始月 (月分)';
COMMENT ON COLUMN ledger.allowance_rule.to_month IS '適用終了月 (月分, NULL: 現行)';
COMMENT ON COLUMN ledger.allowance_rule.eligible_age IS '支給対象: N歳に達する日以後の最初の3月31日まで';
COMMENT ON COLUMN ledger.allowance_rule.order_age IS '出生順位の算定: N歳に達する日以後の最初の3月31日までの監護する子';
COMMENT ON COLUMN ledger.allowance_rule.amount_under3 IS '3歳未満 (月額)';
COMMENT ON COLUMN ledger.allowance_rule.amount_3_to_primary IS '3歳以上小学校修了前 第1子・第2子';
COMMENT ON COLUMN ledger.allowance_rule.amount_3_to_primary_third IS '3歳以上小学校修了前 第3子以降';
COMMENT ON COLUMN ledger.allowance_rule.amount_after_primary IS '小学校修了後 (中学生・高校生年代)';
COMMENT ON COLUMN ledger.allowance_rule.amount_third_any_age IS '第3子以降 (年齢によらず; NULL: 年齢別)';
COMMENT ON COLUMN ledger.allowance_rule.primary_end_age IS '小学校修了: N歳に達する日以後の最初の3月31日';
COMMENT ON COLUMN ledger.allowance_rule.income_limits IS '所得制限の有無';
COMMENT ON COLUMN ledger.allowance_rule.special_amount IS '特例給付 (月額, 所得制限限度額以上)';
COMMENT ON COLUMN ledger.allowance_rule.upper_limit_from IS '所得上限限度額の適用開始月';
COMMENT ON COLUMN ledger.allowance_rule.limit_step_man IS '限度額の加算 (万円): 扶養親族等が ledger.income_limit の最大数を超える1人ごと';
COMMENT ON COLUMN ledger.allowance_rule.payment_months IS '支払期月';
COMMENT ON COLUMN ledger.allowance_rule.months_per_payment IS '1回の支払の月数';
COMMENT ON COLUMN ledger.allowance_rule.legal_source IS '根拠法令';
REVOKE ALL ON ledger.allowance_rule FROM PUBLIC;
GRANT SELECT ON ledger.allowance_rule TO ledger_staff, ledger_auditor;
INSERT INTO ledger.allowance_rule VALUES
    ('before_2024_10', '2012-04-01', '2024-09-01', 15, 18, 15000, 10000, 15000, 10000, NULL, 12,
     true, 5000, '2022-06-01', 38, ARRAY[2, 6, 10], 4,
     '児童手当法 (令和6年法律第47号による改正前) 第4条, 第5条, 第6条, 第8条, 附則第2条; 令和3年法律第66号 (所得上限, 令和4年6月分から)'),
    ('from_2024_10', '2024-10-01', NULL, 18, 22, 15000, 10000, 30000, 10000, 30000, 12,
     false, NULL, NULL, NULL, ARRAY[2, 4, 6, 8, 10, 12], 2,
     '児童手当法 (令和6年法律第47号 子ども・子育て支援法等の一部を改正する法律による改正後) 第4条, 第6条, 第8条');
SELECT pg_catalog.pg_extension_config_dump('ledger.allowance_rule',
    'WHERE rule_id NOT IN (''before_2024_10'', ''from_2024_10'')');
SELECT ledger.audit_table('ledger.allowance_rule');

-- 所得制限限度額 / 所得上限限度額 (万円) by number of dependants, for the rules with limits.
CREATE TABLE ledger.income_limit (
    rule_id      text    NOT NULL REFERENCES ledger.allowance_rule,
    dependants   integer NOT NULL CHECK (dependants >= 0),
    limit_man    integer NOT NULL,
    upper_man    integer NOT NULL,
    PRIMARY KEY (rule_id, dependants)
);
COMMENT ON TABLE ledger.income_limit IS '所得制限限度額・所得上限限度額 (万円, 扶養親族等の数ごと; 以降1人につき38万円加算)';
COMMENT ON COLUMN ledger.income_limit.rule_id IS '規則ID';
COMMENT ON COLUMN ledger.income_limit.dependants IS '扶養親族等の数';
COMMENT ON COLUMN ledger.income_limit.limit_man IS '所得制限限度額 (万円)';
COMMENT ON COLUMN ledger.income_limit.upper_man IS '所得上限限度額 (万円)';
REVOKE ALL ON ledger.income_limit FROM PUBLIC;
GRANT SELECT ON ledger.income_limit TO ledger_staff, ledger_auditor;
INSERT INTO ledger.income_limit VALUES
    ('before_2024_10', 0, 622, 858), ('before_2024_10', 1, 660, 896), ('before_2024_10', 2, 698, 934),
    ('before_2024_10', 3, 736, 972), ('before_2024_10', 4, 774, 1010), ('before_2024_10', 5, 812, 1048);
SELECT pg_catalog.pg_extension_config_dump('ledger.income_limit', 'WHERE rule_id <> ''before_2024_10''');
SELECT ledger.audit_table('ledger.income_limit');

-- The months a payment month (支払期月) pays for, under the rule in force for the last of them:
-- old rules 2, 6, 10月 for the four preceding months; new rules every even month for the two
-- preceding months.  The transition falls out of the data: 令和6年10月 pays June to September
-- under the old rules, 12月 pays October and November under the new.  NULL when the month is
-- not a payment month.
CREATE FUNCTION ledger.months_covered(payment_month date, OUT first_month date, OUT last_month date,
                                      OUT rule_id text)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT (pg_catalog.date_trunc('month', payment_month) - pg_catalog.make_interval(months => r.months_per_payment))::date,
           (pg_catalog.date_trunc('month', payment_month) - interval '1 month')::date,
           r.rule_id
    FROM ledger.allowance_rule r
    WHERE (pg_catalog.date_trunc('month', payment_month) - interval '1 month')::date
          BETWEEN r.from_month AND COALESCE(r.to_month, 'infinity'::date)
      AND pg_catalog.date_part('month', payment_month)::integer = ANY (r.payment_months);
END;
COMMENT ON FUNCTION ledger.months_covered(date) IS
    '支払対象月: the months a 支払期月 pays for, under the rule in force for the last of them (NULL if not a payment month)';

-- 所得: the recipient's income as judged for a 手当年度 (June of benefit_year to May of the
-- next, on the income of the year before benefit_year) and the number of dependants.  Only the
-- rules with income limits read it.
CREATE TABLE ledger.recipient_income (
    municipality_code ledger.municipality_code NOT NULL,
    recipient_id      bigint  NOT NULL,
    org_unit_id       integer NOT NULL,
    benefit_year      integer NOT NULL CHECK (benefit_year BETWEEN 2000 AND 2200),
    income            integer NOT NULL CHECK (income >= 0),
    dependants        integer NOT NULL CHECK (dependants BETWEEN 0 AND 99),
    PRIMARY KEY (municipality_code, recipient_id, benefit_year),
    CONSTRAINT income_of_recipient_in_org_unit FOREIGN KEY (municipality_code, recipient_id, org_unit_id)
        REFERENCES ledger.recipient (municipality_code, recipient_id, org_unit_id) ON UPDATE CASCADE ON DELETE CASCADE,
    FOREIGN KEY (municipality_code, org_unit_id) REFERENCES ledger.org_unit
);
COMMENT ON TABLE ledger.recipient_income IS '受給者の所得: 手当年度 (6月分から翌年5月分) ごとの所得額と扶養親族等の数';
COMMENT ON COLUMN ledger.recipient_income.municipality_code IS '団体コード';
COMMENT ON COLUMN ledger.recipient_income.recipient_id IS '受給者ID';
COMMENT ON COLUMN ledger.recipient_income.org_unit_id IS '担当所属ID';
COMMENT ON COLUMN ledger.recipient_income.benefit_year IS '手当年度: June of this year to May of the next (前年所得)';
COMMENT ON COLUMN ledger.recipient_income.income IS '所得額 (円, 控除後)';
COMMENT ON COLUMN ledger.recipient_income.dependants IS '扶養親族等の数';
SELECT ledger.protect_table('ledger.recipient_income', 'org_unit_id');
SELECT pg_catalog.pg_extension_config_dump('ledger.recipient_income', '');
REVOKE ALL ON ledger.recipient_income FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON ledger.recipient_income TO ledger_staff;

-- The 手当年度 of a month: June to May.
CREATE FUNCTION ledger.benefit_year(month date) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    SELECT pg_catalog.date_part('year', month - interval '5 months')::integer;
END;
COMMENT ON FUNCTION ledger.benefit_year(date) IS '手当年度: 6月分から翌年5月分 (the year of its June)';

-- 所得制限限度額 and 所得上限限度額 (円) of a rule for a number of dependants: the table's row,
-- or its last row plus limit_step_man for each further dependant.  NULL for rules without limits.
CREATE FUNCTION ledger.income_limits(rule_id text, dependants integer, OUT limit_yen bigint, OUT upper_yen bigint)
LANGUAGE sql STABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    SELECT (l.limit_man + r.limit_step_man * (income_limits.dependants - l.dependants))::bigint * 10000,
           (l.upper_man + r.limit_step_man * (income_limits.dependants - l.dependants))::bigint * 10000
    FROM ledger.income_limit l JOIN ledger.allowance_rule r USING (rule_id)
    WHERE l.rule_id = income_limits.rule_id AND l.dependants <= income_limits.dependants
    ORDER BY l.dependants DESC LIMIT 1;
END;
COMMENT ON FUNCTION ledger.income_limits(text, integer) IS
    '所得制限限度額・所得上限限度額 (円) for a number of dependants (以降1人につき limit_step_man 万円加算)';

-- 支給開始月: the month after the claim; under the 15日特例 (a claim within 15 days after the
-- birth or the move, counted from the day after it) the month after that event.
CREATE FUNCTION ledger.certification_first_month(claim_date date, event_date date) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT (pg_catalog.date_trunc('month',
                CASE WHEN event_date IS NOT NULL AND event_date <= claim_date AND claim_date <= event_date + 15
                     THEN event_date ELSE claim_date END::timestamp) + interval '1 month')::date;
END;
COMMENT ON FUNCTION ledger.certification_first_month(date, date) IS
    '支給開始月: 請求月の翌月; 15日特例 (出生・転入の翌日から15日以内の請求) は事由発生月の翌月';

-- 支給終了月: the month of the 消滅 event.
CREATE FUNCTION ledger.certification_last_month(extinguished_on date) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT pg_catalog.date_trunc('month', extinguished_on::timestamp)::date;
END;
COMMENT ON FUNCTION ledger.certification_last_month(date) IS '支給終了月: 消滅事由の生じた月 (NULL: 継続中)';

-- A certification entered without a first month gets the one the rule gives.
CREATE FUNCTION ledger._certification_first_month() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NEW.first_month IS NULL THEN
        NEW.first_month := ledger.certification_first_month(NEW.claim_date, NEW.event_date);
    END IF;
    RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION ledger._certification_first_month() FROM PUBLIC;
COMMENT ON FUNCTION ledger._certification_first_month() IS '支給開始月の設定 (trigger): ledger.certification_first_month when none is given';
CREATE TRIGGER certification_first_month BEFORE INSERT ON ledger.certification
    FOR EACH ROW EXECUTE FUNCTION ledger._certification_first_month();

-- The allowance of each child of the given recipients for each month of a range, with the
-- reason: the one computation behind ledger.monthly_amount, the 額改定 and the payment run.
-- Row-level security applies: a caller computes only what the caller may read.
--   in care   from the month after the child's from_date through the month of until_date
--             (監護の開始・終了; an increase starts the month after, a decrease the month after the
--             month of the event);
--   counted   supported (監護相当・生計費の負担), in care and not past the order-age school-year
--             end: the children that make up the birth order, oldest first;
--   eligible  counted and not past the eligible-age school-year end;
--   amount    by age band and birth order under the month's rule; under rules with income
--             limits, 特例給付 at or above the 所得制限限度額 and nothing at or above the
--             所得上限限度額 (以上, 児童手当法第5条), judged on the recipient's income for the
--             month's 手当年度 (none recorded: nothing, 所得未確認).
CREATE FUNCTION ledger.child_allowance(municipality_code text, recipient_ids bigint[], first_month date, last_month date)
RETURNS TABLE (recipient_id bigint, month date, child_id bigint, person_id bigint, birth_date date,
               birth_order integer, band text, amount integer, reason text, rule_id text)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    WITH rm AS (
        -- each recipient and month, under the month's rule, with the income judgement
        SELECT x.rid, m.month, r.rule_id, r.eligible_age, r.order_age, r.primary_end_age,
               r.amount_under3, r.amount_3_to_primary, r.amount_3_to_primary_third, r.amount_after_primary,
               r.amount_third_any_age, r.special_amount,
               CASE WHEN NOT r.income_limits THEN 'none'
                    ELSE COALESCE((SELECT CASE WHEN r.upper_limit_from IS NOT NULL AND m.month >= r.upper_limit_from
                                                    AND i.income >= l.upper_yen THEN 'upper'
                                               WHEN i.income >= l.limit_yen THEN 'limit'
                                               ELSE 'under' END
                                   FROM ledger.recipient_income i
                                   CROSS JOIN LATERAL ledger.income_limits(r.rule_id, i.dependants) l
                                   WHERE i.municipality_code = child_allowance.municipality_code
                                     AND i.recipient_id = x.rid
                                     AND i.benefit_year = ledger.benefit_year(m.month)), 'unknown') END AS income_band
        FROM (SELECT DISTINCT u.rid FROM pg_catalog.unnest(child_allowance.recipient_ids) u(rid)) x
        CROSS JOIN (SELECT g::date AS month
                    FROM pg_catalog.generate_series(pg_catalog.date_trunc('month', child_allowance.first_month::timestamp),
                                                    pg_catalog.date_trunc('month', child_allowance.last_month::timestamp),
                                                    interval '1 month') g) m
        JOIN ledger.allowance_rule r ON m.month >= r.from_month AND (r.to_month IS NULL OR m.month <= r.to_month)
    ), kid AS (
        SELECT c.recipient_id, rm.month, c.child_id, c.person_id, p.birth_date, rm.rule_id, rm.income_band,
               rm.order_age, rm.eligible_age, rm.special_amount,
               (pg_catalog.date_trunc('month', c.from_date::timestamp) < rm.month
                AND (c.until_date IS NULL OR rm.month <= c.until_date)) AS in_care,
               c.until_date IS NOT NULL AND rm.month > c.until_date AS left_care,
               c.supported,
               rm.month <= ledger.school_year_end(p.birth_date, rm.order_age) AS within_order_age,
               rm.month <= ledger.school_year_end(p.birth_date, rm.eligible_age) AS within_eligible_age,
               CASE WHEN rm.month <= ledger.under3_last_month(p.birth_date) THEN 'under3'
                    WHEN rm.month <= ledger.school_year_end(p.birth_date, rm.primary_end_age) THEN 'age3_to_primary'
                    ELSE 'after_primary' END AS age_band,
               rm.amount_under3, rm.amount_3_to_primary, rm.amount_3_to_primary_third, rm.amount_after_primary,
               rm.amount_third_any_age
        -- driven by the recipients, one index lookup each (OFFSET 0 keeps it so): a batch never
        -- scans every child
        FROM (SELECT DISTINCT u.rid FROM pg_catalog.unnest(child_allowance.recipient_ids) u(rid)) x
        CROSS JOIN LATERAL (SELECT * FROM ledger.child c1
                            WHERE c1.municipality_code = child_allowance.municipality_code AND c1.recipient_id = x.rid
                            OFFSET 0) c
        JOIN ledger.person p ON p.municipality_code = c.municipality_code AND p.person_id = c.person_id
        JOIN rm ON rm.rid = c.recipient_id
    ), kid_counted AS (
        SELECT k.*, k.supported AND k.in_care AND k.within_order_age AS counted FROM kid k
    ), ordered AS (
        SELECT k.*,
               CASE WHEN k.counted
                    THEN pg_catalog.row_number() OVER (PARTITION BY k.recipient_id, k.month, k.counted
                                                        ORDER BY k.birth_date, k.child_id)::integer END AS birth_order
        FROM kid_counted k
    ), b AS (
        SELECT o.*,
               CASE WHEN NOT o.counted OR NOT o.within_eligible_age THEN 0
                    WHEN o.birth_order >= 3 AND o.amount_third_any_age IS NOT NULL THEN o.amount_third_any_age
                    WHEN o.age_band = 'under3' THEN o.amount_under3
                    WHEN o.age_band = 'age3_to_primary' AND o.birth_order >= 3 THEN o.amount_3_to_primary_third
                    WHEN o.age_band = 'age3_to_primary' THEN o.amount_3_to_primary
                    ELSE o.amount_after_primary END AS base_amount
        FROM ordered o
    )
    SELECT b.recipient_id, b.month, b.child_id, b.person_id, b.birth_date, b.birth_order,
           CASE WHEN NOT b.supported THEN 'not_supported'
                WHEN b.left_care THEN 'left_care'
                WHEN NOT b.in_care THEN 'not_yet_in_care'
                WHEN NOT b.within_order_age THEN 'past_order_age'
                WHEN NOT b.within_eligible_age THEN 'order_only'
                WHEN b.income_band = 'unknown' THEN 'income_unknown'
                WHEN b.income_band = 'upper' THEN 'over_upper_limit'
                WHEN b.income_band = 'limit' THEN 'special_benefit'
                ELSE b.age_band END,
           CASE WHEN b.base_amount = 0 OR b.income_band IN ('unknown', 'upper') THEN 0
                WHEN b.income_band = 'limit' THEN b.special_amount
                ELSE b.base_amount END,
           CASE WHEN NOT b.supported THEN '監護相当・生計費の負担なし (出生順位に数えない)'
                WHEN b.left_care THEN '監護終了 (支給なし)'
                WHEN NOT b.in_care THEN '監護開始の翌月から'
                WHEN NOT b.within_order_age THEN pg_catalog.format('%s歳年度末を経過 (出生順位に数えない)', b.order_age)
                WHEN NOT b.within_eligible_age THEN pg_catalog.format('第%s子: %s歳年度末を経過 (出生順位のみ算定, 支給なし)',
                                                                       b.birth_order, b.eligible_age)
                ELSE pg_catalog.format('%s 第%s子 %s円%s',
                         CASE b.age_band WHEN 'under3' THEN '3歳未満'
                                         WHEN 'age3_to_primary' THEN '3歳以上小学校修了前'
                                         ELSE '小学校修了後' END,
                         b.birth_order, pg_catalog.to_char(b.base_amount, 'FM999,999'),
                         CASE b.income_band WHEN 'unknown' THEN ' -> 所得未確認のため支給なし'
                                            WHEN 'upper' THEN ' -> 所得上限限度額以上のため支給なし'
                                            WHEN 'limit' THEN pg_catalog.format(' -> 所得制限限度額以上: 特例給付 %s円',
                                                                                pg_catalog.to_char(b.special_amount, 'FM999,999'))
                                            ELSE '' END)
           END,
           b.rule_id
    FROM b;
END;
COMMENT ON FUNCTION ledger.child_allowance(text, bigint[], date, date) IS
    '児童ごとの手当月額と理由: per recipient, month and child, the birth order, age band, amount and reason';

-- 手当月額: one recipient, one month, each child with the reason.
CREATE FUNCTION ledger.monthly_amount(municipality_code text, recipient_id bigint, month date)
RETURNS TABLE (child_id bigint, person_id bigint, birth_date date, birth_order integer, band text,
               amount integer, reason text, rule_id text)
LANGUAGE sql STABLE PARALLEL SAFE SET jit = off
BEGIN ATOMIC
    SELECT a.child_id, a.person_id, a.birth_date, a.birth_order, a.band, a.amount, a.reason, a.rule_id
    FROM ledger.child_allowance(monthly_amount.municipality_code, ARRAY[monthly_amount.recipient_id],
                                monthly_amount.month, monthly_amount.month) a
    ORDER BY a.birth_order NULLS LAST, a.birth_date, a.child_id;
END;
COMMENT ON FUNCTION ledger.monthly_amount(text, bigint, date) IS
    '手当月額の内訳: each child of a recipient in a month, with birth order, age band, amount and reason';

CREATE FUNCTION ledger.monthly_total(municipality_code text, recipient_id bigint, month date) RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE SET jit = off
BEGIN ATOMIC
    SELECT COALESCE(pg_catalog.sum(a.amount), 0)::integer
    FROM ledger.child_allowance(monthly_total.municipality_code, ARRAY[monthly_total.recipient_id],
                                monthly_total.month, monthly_total.month) a;
END;
COMMENT ON FUNCTION ledger.monthly_total(text, bigint, date) IS '手当月額: the sum of ledger.monthly_amount';

-- 支払処理の記録: one row per payment run, updated at each committed batch so that another
-- session sees the progress.  The job writes only its own rows.
CREATE TABLE ledger.payment_run (
    run_id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_month     date    NOT NULL,
    first_month       date    NOT NULL,
    last_month        date    NOT NULL,
    rule_id           text    NOT NULL REFERENCES ledger.allowance_rule,
    run_by            name    NOT NULL DEFAULT current_user,
    job               text,
    status            text    NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'finished', 'interrupted')),
    started_at        timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    updated_at        timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    finished_at       timestamptz,
    batches           integer NOT NULL DEFAULT 0,
    certifications    integer NOT NULL DEFAULT 0,
    payments_created  integer NOT NULL DEFAULT 0,
    amount_created    bigint  NOT NULL DEFAULT 0,
    already_prepared  integer NOT NULL DEFAULT 0,
    public_servant    integer NOT NULL DEFAULT 0,
    zero_amount       integer NOT NULL DEFAULT 0,
    revisions_created integer NOT NULL DEFAULT 0,
    current_municipality text,
    last_certification_id bigint,
    backend_pid       integer NOT NULL DEFAULT pg_catalog.pg_backend_pid(),
    backend_start     timestamptz
);
-- One run at a time, held by a row only the extension writes (an advisory lock could be taken
-- by anyone who can connect, and a session-level one outlives a failed run).
CREATE UNIQUE INDEX payment_run_one_running ON ledger.payment_run ((true)) WHERE status = 'running';
COMMENT ON INDEX ledger.payment_run_one_running IS '支払処理の排他: at most one run in progress';
COMMENT ON TABLE ledger.payment_run IS '支払処理の記録: progress and result of each CALL ledger.prepare_payments';
COMMENT ON COLUMN ledger.payment_run.run_id IS '処理ID';
COMMENT ON SEQUENCE ledger.payment_run_run_id_seq IS '支払処理IDの採番';
COMMENT ON COLUMN ledger.payment_run.payment_month IS '支払期月';
COMMENT ON COLUMN ledger.payment_run.first_month IS '支払対象の最初の月';
COMMENT ON COLUMN ledger.payment_run.last_month IS '支払対象の最後の月';
COMMENT ON COLUMN ledger.payment_run.rule_id IS '適用規則';
COMMENT ON COLUMN ledger.payment_run.run_by IS '実行ロール (the job''s staff role)';
COMMENT ON COLUMN ledger.payment_run.job IS 'ジョブ (application_name)';
COMMENT ON COLUMN ledger.payment_run.status IS '状態: running 実行中, finished 完了, interrupted 中断';
COMMENT ON COLUMN ledger.payment_run.started_at IS '開始日時';
COMMENT ON COLUMN ledger.payment_run.updated_at IS '更新日時 (each committed batch)';
COMMENT ON COLUMN ledger.payment_run.finished_at IS '終了日時';
COMMENT ON COLUMN ledger.payment_run.batches IS 'コミット済みバッチ数';
COMMENT ON COLUMN ledger.payment_run.certifications IS '対象認定数 (examined)';
COMMENT ON COLUMN ledger.payment_run.payments_created IS '作成した支払の数';
COMMENT ON COLUMN ledger.payment_run.amount_created IS '作成した支払の合計額 (円)';
COMMENT ON COLUMN ledger.payment_run.already_prepared IS '作成済みのため変更なし';
COMMENT ON COLUMN ledger.payment_run.public_servant IS '公務員のため対象外';
COMMENT ON COLUMN ledger.payment_run.zero_amount IS '支払額0円 (支給対象児童なし・所得上限等)';
COMMENT ON COLUMN ledger.payment_run.revisions_created IS '記録した額改定の数';
COMMENT ON COLUMN ledger.payment_run.current_municipality IS '処理中の団体コード';
COMMENT ON COLUMN ledger.payment_run.last_certification_id IS '最後にコミットした認定ID';
COMMENT ON COLUMN ledger.payment_run.backend_pid IS '実行中のサーバプロセスID';
COMMENT ON COLUMN ledger.payment_run.backend_start IS '実行中のサーバプロセスの開始日時 (with backend_pid: is the run still alive)';
-- Read by staff and auditors; written only through ledger.payment_run_claim / _progress.
REVOKE ALL ON ledger.payment_run FROM PUBLIC;
GRANT SELECT ON ledger.payment_run TO ledger_staff, ledger_auditor;
SELECT pg_catalog.pg_extension_config_dump('ledger.payment_run', '');
SELECT ledger.audit_table('ledger.payment_run');

-- Claim the run: runs whose session is gone (or is this one: a run that failed here) are marked
-- interrupted, then the new run's row is the one 'running' row, or 55P03.
CREATE FUNCTION ledger._payment_run_claim(caller oid, payment_month date, first_month date, last_month date,
                                          rule_id text, job text)
RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    who name := (SELECT r.rolname FROM pg_catalog.pg_roles r WHERE r.oid = caller);
    run bigint;
BEGIN
    IF (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid = caller)
       OR pg_catalog.cardinality((ledger._permitted_org_units(who, 'write', 'child_allowance')).org_units) = 0 THEN
        RAISE EXCEPTION 'permission denied: the payment run needs a staff role with write in the child allowance'
            USING ERRCODE = '42501',
            HINT = 'Run it as a job role registered with ledger.register_staff(..., ARRAY[''payment_job'']), not as a superuser.';
    END IF;
    UPDATE ledger.payment_run r SET status = 'interrupted', updated_at = pg_catalog.clock_timestamp()
     WHERE r.status = 'running' AND ledger._run_session_gone(r.backend_pid, r.backend_start);
    BEGIN
        INSERT INTO ledger.payment_run (payment_month, first_month, last_month, rule_id, run_by, job,
                                        backend_pid, backend_start)
        VALUES (payment_month, first_month, last_month, rule_id, who, job, pg_catalog.pg_backend_pid(),
                ledger._backend_start())
        RETURNING ledger.payment_run.run_id INTO run;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'another payment run is in progress' USING ERRCODE = '55P03',
            HINT = 'Runs never overlap; wait for it to finish (see ledger.payment_run).';
    END;
    RETURN run;
END $$;
REVOKE ALL ON FUNCTION ledger._payment_run_claim(oid, date, date, date, text, text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._payment_run_claim(oid, date, date, date, text, text) IS
    '支払処理の開始 (internal twin of ledger.payment_run_claim)';
CREATE FUNCTION ledger.payment_run_claim(payment_month date, first_month date, last_month date, rule_id text, job text)
RETURNS bigint AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.payment_run_claim(date, date, date, text, text) IS
    '支払処理の開始: used by ledger.prepare_payments; the one running run, or 55P03';

-- Add a committed batch to the caller's own running run (this session's), or finish it.
CREATE FUNCTION ledger._payment_run_progress(caller oid, run_id bigint, certifications integer, payments integer,
                                             amount bigint, already_prepared integer, public_servant integer,
                                             zero_amount integer, revisions integer, municipality text,
                                             last_certification_id bigint, finished boolean)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE ledger.payment_run r
       SET batches = r.batches + CASE WHEN finished THEN 0 ELSE 1 END,
           certifications = r.certifications + _payment_run_progress.certifications,
           payments_created = r.payments_created + payments, amount_created = r.amount_created + amount,
           already_prepared = r.already_prepared + _payment_run_progress.already_prepared,
           public_servant = r.public_servant + _payment_run_progress.public_servant,
           zero_amount = r.zero_amount + _payment_run_progress.zero_amount,
           revisions_created = r.revisions_created + revisions,
           current_municipality = COALESCE(municipality, r.current_municipality),
           last_certification_id = COALESCE(_payment_run_progress.last_certification_id, r.last_certification_id),
           status = CASE WHEN finished THEN 'finished' ELSE r.status END,
           finished_at = CASE WHEN finished THEN pg_catalog.clock_timestamp() END,
           updated_at = pg_catalog.clock_timestamp()
     WHERE r.run_id = _payment_run_progress.run_id AND r.status = 'running'
       AND r.backend_pid = pg_catalog.pg_backend_pid()
       AND r.run_by = (SELECT x.rolname FROM pg_catalog.pg_roles x WHERE x.oid = caller);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'payment run % is not running in this session', run_id USING ERRCODE = '55000',
            HINT = 'Progress is recorded by ledger.prepare_payments for its own run.';
    END IF;
END $$;
REVOKE ALL ON FUNCTION ledger._payment_run_progress(oid, bigint, integer, integer, bigint, integer, integer, integer,
                                                    integer, text, bigint, boolean) FROM PUBLIC;
COMMENT ON FUNCTION ledger._payment_run_progress(oid, bigint, integer, integer, bigint, integer, integer, integer,
                                                 integer, text, bigint, boolean) IS
    '支払処理の進捗 (internal twin of ledger.payment_run_progress)';
CREATE FUNCTION ledger.payment_run_progress(run_id bigint, certifications integer, payments integer, amount bigint,
                                            already_prepared integer, public_servant integer, zero_amount integer,
                                            revisions integer, municipality text, last_certification_id bigint,
                                            finished boolean)
RETURNS void AS 'MODULE_PATHNAME', 'gated_call' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION ledger.payment_run_progress(bigint, integer, integer, bigint, integer, integer, integer, integer,
                                                text, bigint, boolean) IS
    '支払処理の進捗: used by ledger.prepare_payments after each committed batch';

-- One batch of a payment run, in one statement: the amounts of every month the payment covers
-- (and the month before, for the 額改定), the 額改定 where a month's total differs from the
-- month before within the certification, the payment rows, and the certification's current
-- monthly amount.  Existing rows are left as they are (ON CONFLICT DO NOTHING): a second run
-- changes nothing.  Runs as the caller: row-level security and the write gate decide.
CREATE FUNCTION ledger._prepare_payment_batch(municipality_code text, certification_ids bigint[],
                                              payment_month date, first_month date, last_month date,
                                              OUT certifications integer, OUT payments integer, OUT amount bigint,
                                              OUT already_prepared integer, OUT public_servant integer,
                                              OUT zero_amount integer, OUT revisions integer)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET jit = off AS $$
#variable_conflict use_column
DECLARE
    muni text := _prepare_payment_batch.municipality_code;
    fm date := _prepare_payment_batch.first_month;
    lm date := _prepare_payment_batch.last_month;
    pm date := _prepare_payment_batch.payment_month;
    rids bigint[];
BEGIN
    IF NOT EXISTS (SELECT 1 FROM ledger.months_covered(pm) m WHERE m.first_month = fm AND m.last_month = lm) THEN
        RAISE EXCEPTION 'the months % to % are not those payment month % covers', fm, lm, pm USING ERRCODE = '22023',
            HINT = 'Use CALL ledger.prepare_payments(payment_month).';
    END IF;
    SELECT pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE r.is_public_servant),
           pg_catalog.array_agg(DISTINCT c.recipient_id) FILTER (WHERE NOT r.is_public_servant)
      INTO certifications, public_servant, rids
      FROM pg_catalog.unnest(certification_ids) x(id)
      CROSS JOIN LATERAL (SELECT * FROM ledger.certification c1
                          WHERE c1.municipality_code = muni AND c1.certification_id = x.id OFFSET 0) c
      JOIN ledger.recipient r ON r.municipality_code = c.municipality_code AND r.recipient_id = c.recipient_id;

    WITH paid AS (
        SELECT c.municipality_code, c.certification_id, c.recipient_id, c.org_unit_id, c.first_month AS cert_first,
               GREATEST(c.first_month, fm) AS pay_first,
               LEAST(COALESCE(ledger.certification_last_month(c.extinguished_on), lm), lm) AS pay_last
        FROM pg_catalog.unnest(certification_ids) x(id)
        CROSS JOIN LATERAL (SELECT * FROM ledger.certification c1
                            WHERE c1.municipality_code = muni AND c1.certification_id = x.id OFFSET 0) c
        WHERE c.recipient_id = ANY (rids)
    ), kid AS MATERIALIZED (
        -- every child of every recipient, for the covered months and the month before
        SELECT a.recipient_id, a.month, a.child_id, a.birth_order, a.band, a.amount, a.rule_id
        FROM ledger.child_allowance(muni, rids, (fm - interval '1 month')::date, lm) a
    ), kid_total AS (
        SELECT k.recipient_id, k.month, pg_catalog.sum(k.amount)::integer AS total FROM kid k GROUP BY 1, 2
    ), month_total AS (
        SELECT p.certification_id, p.recipient_id, m.month::date AS month, COALESCE(t.total, 0) AS total
        FROM paid p
        CROSS JOIN LATERAL pg_catalog.generate_series(GREATEST(p.cert_first, (p.pay_first - interval '1 month')::date),
                                                      p.pay_last, interval '1 month') m(month)
        LEFT JOIN kid_total t ON t.recipient_id = p.recipient_id AND t.month = m.month::date
    ), changed AS (
        -- the months whose total differs from the month before, within the certification
        SELECT p.municipality_code, p.certification_id, p.recipient_id, p.org_unit_id, t.month,
               b.total AS old_amount, t.total AS new_amount
        FROM paid p
        JOIN month_total t ON t.certification_id = p.certification_id AND t.month >= p.pay_first
        JOIN month_total b ON b.certification_id = p.certification_id AND b.month = (t.month - interval '1 month')::date
        WHERE t.total <> b.total
    ), child_change AS MATERIALIZED (
        -- why: the children of those months whose amount, band or birth order moved
        SELECT n.recipient_id, n.month,
               CASE WHEN o.rule_id <> n.rule_id THEN '制度改正'
                    WHEN o.band = 'not_yet_in_care' AND n.amount > 0 THEN '出生・監護開始'
                    WHEN n.band = 'left_care' AND o.band <> 'left_care' THEN '監護終了 (児童の減少)'
                    WHEN o.band = 'under3' AND n.band <> 'under3' AND o.amount > 0 AND n.amount > 0 THEN '3歳到達'
                    WHEN o.amount > 0 AND n.band IN ('order_only', 'past_order_age') THEN '支給対象年齢の到達'
                    WHEN o.birth_order IS DISTINCT FROM n.birth_order THEN '出生順位の変動'
                    WHEN o.band = 'age3_to_primary' AND n.band = 'after_primary' THEN '小学校修了'
                    WHEN o.band IN ('special_benefit', 'over_upper_limit', 'income_unknown')
                      OR n.band IN ('special_benefit', 'over_upper_limit', 'income_unknown') THEN '所得の判定'
                    ELSE '支給要件の変動' END AS why
        FROM kid n
        JOIN kid o ON o.recipient_id = n.recipient_id AND o.child_id = n.child_id
                  AND o.month = (n.month - interval '1 month')::date
        WHERE (n.amount <> o.amount OR o.birth_order IS DISTINCT FROM n.birth_order OR o.band <> n.band)
          AND EXISTS (SELECT 1 FROM changed ch WHERE ch.recipient_id = n.recipient_id AND ch.month = n.month)
    ), change_reason AS (
        SELECT w.recipient_id, w.month, pg_catalog.string_agg(DISTINCT w.why, '、' ORDER BY w.why) AS reason
        FROM child_change w GROUP BY w.recipient_id, w.month
    ), new_revision AS (
        INSERT INTO ledger.certification_revision (municipality_code, certification_id, org_unit_id, effective_month,
                                                   old_amount, new_amount, reason, decided_on)
        SELECT x.municipality_code, x.certification_id, x.org_unit_id, x.month, x.old_amount, x.new_amount,
               COALESCE(w.reason, '支給要件の変動'),
               (pg_catalog.statement_timestamp() AT TIME ZONE pg_catalog.current_setting('ledger.time_zone'))::date
        FROM changed x
        LEFT JOIN change_reason w ON w.recipient_id = x.recipient_id AND w.month = x.month
        ON CONFLICT (municipality_code, certification_id, effective_month) DO NOTHING
        RETURNING 1
    ), due AS (
        SELECT p.municipality_code, p.certification_id, p.recipient_id, p.org_unit_id, p.pay_first, p.pay_last,
               COALESCE(pg_catalog.sum(t.total) FILTER (WHERE t.month >= p.pay_first), 0)::integer AS amount,
               pg_catalog.max(t.total) FILTER (WHERE t.month = p.pay_last) AS current_amount
        FROM paid p JOIN month_total t ON t.certification_id = p.certification_id
        GROUP BY p.municipality_code, p.certification_id, p.recipient_id, p.org_unit_id, p.pay_first, p.pay_last
    ), new_payment AS (
        INSERT INTO ledger.payment (municipality_code, certification_id, recipient_id, org_unit_id, payment_month,
                                    first_month, last_month, amount)
        SELECT d.municipality_code, d.certification_id, d.recipient_id, d.org_unit_id, pm, d.pay_first, d.pay_last, d.amount
        FROM due d WHERE d.amount > 0
        ON CONFLICT (municipality_code, certification_id, payment_month) DO NOTHING
        RETURNING payment.amount
    ), current_amount AS (
        -- the certification's 手当月額 follows the newest prepared month
        UPDATE ledger.certification c SET monthly_amount = d.current_amount
        FROM due d
        WHERE c.municipality_code = d.municipality_code AND c.certification_id = d.certification_id
          AND c.monthly_amount IS DISTINCT FROM d.current_amount
          AND NOT EXISTS (SELECT 1 FROM ledger.payment x
                          WHERE x.municipality_code = d.municipality_code AND x.certification_id = d.certification_id
                            AND x.payment_month > pm)
        RETURNING 1
    )
    SELECT (SELECT pg_catalog.count(*) FROM new_payment)::integer,
           (SELECT COALESCE(pg_catalog.sum(n.amount), 0) FROM new_payment n)::bigint,
           ((SELECT pg_catalog.count(*) FROM due WHERE due.amount > 0) - (SELECT pg_catalog.count(*) FROM new_payment))::integer,
           (SELECT pg_catalog.count(*) FROM due WHERE due.amount = 0)::integer,
           (SELECT pg_catalog.count(*) FROM new_revision)::integer
      INTO payments, amount, already_prepared, zero_amount, revisions;
END $$;
REVOKE ALL ON FUNCTION ledger._prepare_payment_batch(text, bigint[], date, date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger._prepare_payment_batch(text, bigint[], date, date, date) TO ledger_staff;
COMMENT ON FUNCTION ledger._prepare_payment_batch(text, bigint[], date, date, date) IS
    '支払処理の1バッチ (internal, runs as the caller): amounts, 額改定, payments and the current monthly amount';

-- 支払処理: CALL ledger.prepare_payments('2026-12-01') creates the payments of a 支払期月 for
-- every certification the caller may write, for the months that payment covers (under the
-- rule in force for the last of them), in committed batches with the progress in
-- ledger.payment_run.  公務員 are skipped (their employer pays).  Idempotent: what exists is
-- kept, so a second run, or a run resumed after a kill, changes nothing already done.  It runs
-- as the calling staff role (the payment_job duty), through row-level security and the write
-- gate like any staff member; every row it writes is in the audit trail.
CREATE PROCEDURE ledger.prepare_payments(payment_month date, batch_size integer DEFAULT 1000)
LANGUAGE plpgsql AS $$
DECLARE
    pm date;
    cov record;
    run bigint;
    muni text;
    after_id bigint;
    ids bigint[];
    b record;
    job text;
    saved_path text := pg_catalog.current_setting('search_path');
BEGIN
    -- the caller's search_path must not resolve anything the run executes
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false);
    pm := pg_catalog.date_trunc('month', payment_month::timestamp)::date;
    job := ledger._job_name();
    SELECT * INTO cov FROM ledger.months_covered(pm);
    IF cov.first_month IS NULL THEN
        RAISE EXCEPTION '% is not a payment month (支払期月)', pg_catalog.to_char(pm, 'YYYY-MM') USING ERRCODE = '22023',
            HINT = 'Payment months are in ledger.allowance_rule.payment_months (from 2024-10: every even month).';
    END IF;
    IF batch_size IS NULL OR batch_size < 1 THEN
        RAISE EXCEPTION 'batch_size must be positive' USING ERRCODE = '22023', HINT = 'For example 1000.';
    END IF;
    -- the claim refuses a superuser (who would pass every policy) and a role without write
    run := ledger.payment_run_claim(pm, cov.first_month, cov.last_month, cov.rule_id, job);
    COMMIT;

    FOR muni IN SELECT DISTINCT c.municipality_code FROM ledger.certification c ORDER BY 1 LOOP
        after_id := 0;
        LOOP
            SELECT pg_catalog.array_agg(s.certification_id ORDER BY s.certification_id) INTO ids
            FROM (SELECT c.certification_id FROM ledger.certification c
                  WHERE c.municipality_code = muni AND c.certification_id > after_id
                    AND c.status IN ('certified', 'extinguished')
                    AND c.first_month <= cov.last_month
                    AND (c.extinguished_on IS NULL OR c.extinguished_on >= cov.first_month)
                  ORDER BY c.certification_id LIMIT batch_size) s;
            EXIT WHEN ids IS NULL;
            b := ledger._prepare_payment_batch(muni, ids, pm, cov.first_month, cov.last_month);
            after_id := ids[pg_catalog.cardinality(ids)];
            PERFORM ledger.payment_run_progress(run, b.certifications, b.payments, b.amount, b.already_prepared,
                                                b.public_servant, b.zero_amount, b.revisions, muni, after_id, false);
            COMMIT;
        END LOOP;
    END LOOP;
    PERFORM ledger.payment_run_progress(run, 0, 0, 0, 0, 0, 0, 0, NULL, NULL, true);
    COMMIT;
    SELECT * INTO b FROM ledger.payment_run r WHERE r.run_id = run;
    RAISE NOTICE 'payment run % for %: % payments (% yen), % already prepared, % public servants skipped, % revisions',
        run, pg_catalog.to_char(pm, 'YYYY-MM'), b.payments_created, b.amount_created, b.already_prepared,
        b.public_servant, b.revisions_created;
    PERFORM pg_catalog.set_config('search_path', saved_path, false);
END $$;
REVOKE ALL ON PROCEDURE ledger.prepare_payments(date, integer) FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE ledger.prepare_payments(date, integer) TO ledger_staff;
COMMENT ON PROCEDURE ledger.prepare_payments(date, integer) IS
    '支払処理: the payments of a 支払期月 in committed batches, as the calling job role; idempotent; skips 公務員';
