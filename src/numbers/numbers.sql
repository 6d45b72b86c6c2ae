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

-- Casts: from text and varchar implicitly, to text and varchar only when asked for.  One way
-- only: a typed string parameter (pgJDBC's setString sends varchar; a driver's $1::text)
-- resolves a function or operator that takes a My Number, and is checked as input is (check
-- digit, 22P02); a number never slips silently into a text column or a text function, nor
-- does a text comparison run where a number comparison was meant (no cast back).
CREATE FUNCTION ledger.mynumber(text) RETURNS ledger.mynumber
    AS 'MODULE_PATHNAME', 'mynumber_from_text' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ledger.mynumber(text) IS '個人番号への変換: cast from text, checked like input';
CREATE CAST (text AS ledger.mynumber) WITH FUNCTION ledger.mynumber(text) AS IMPLICIT;
CREATE CAST (varchar AS ledger.mynumber) WITH FUNCTION ledger.mynumber(text) AS IMPLICIT;
CREATE CAST (ledger.mynumber AS text) WITH INOUT;
CREATE CAST (ledger.mynumber AS varchar) WITH INOUT;
CREATE CAST (ledger.mynumber AS bpchar) WITH INOUT;
COMMENT ON CAST (text AS ledger.mynumber) IS '個人番号への変換: text, implicit (a typed string parameter resolves), checked';
COMMENT ON CAST (varchar AS ledger.mynumber) IS '個人番号への変換: varchar, implicit (a typed string parameter resolves), checked';
COMMENT ON CAST (ledger.mynumber AS text) IS '個人番号から文字列へ: explicit only';
COMMENT ON CAST (ledger.mynumber AS varchar) IS '個人番号から文字列へ: explicit only';
COMMENT ON CAST (ledger.mynumber AS bpchar) IS '個人番号から文字列へ: explicit only';

CREATE FUNCTION ledger.mynumber_is_valid(text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'mynumber_is_valid' LANGUAGE C STABLE STRICT LEAKPROOF PARALLEL SAFE;
COMMENT ON FUNCTION ledger.mynumber_is_valid(text) IS
    '個人番号の検査: true when the text would be accepted as a mynumber; never raises';

CREATE FUNCTION ledger.contains_mynumber(text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'contains_mynumber' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
COMMENT ON FUNCTION ledger.contains_mynumber(text) IS
    '個人番号の混入検査: true when the text holds a valid My Number in any form the type accepts (the log masker''s test); never raises. The ledger''s free-text columns refuse such text';
CREATE FUNCTION ledger.contains_mynumber(jsonb) RETURNS boolean
    AS 'MODULE_PATHNAME', 'contains_mynumber_jsonb' LANGUAGE C IMMUTABLE STRICT LEAKPROOF PARALLEL SAFE;
COMMENT ON FUNCTION ledger.contains_mynumber(jsonb) IS
    '個人番号の混入検査 (jsonb): as for text, in each key, string and number of the value, decoded (an escaped control character does not hide a number)';

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
CREATE CAST (text AS ledger.corporate_number) WITH FUNCTION ledger.corporate_number(text) AS IMPLICIT;
CREATE CAST (varchar AS ledger.corporate_number) WITH FUNCTION ledger.corporate_number(text) AS IMPLICIT;
CREATE CAST (ledger.corporate_number AS text) WITH INOUT;
CREATE CAST (ledger.corporate_number AS varchar) WITH INOUT;
CREATE CAST (ledger.corporate_number AS bpchar) WITH INOUT;
COMMENT ON CAST (text AS ledger.corporate_number) IS '法人番号への変換: text, implicit (a typed string parameter resolves), checked';
COMMENT ON CAST (varchar AS ledger.corporate_number) IS '法人番号への変換: varchar, implicit (a typed string parameter resolves), checked';
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
