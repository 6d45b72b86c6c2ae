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

CREATE FUNCTION ledger.reveal(value ledger.sealed_mynumber, context text, purpose text) RETURNS ledger.mynumber
    AS 'MODULE_PATHNAME', 'sealed_reveal' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION ledger.reveal(ledger.sealed_mynumber, text, text) IS
    '個人番号の表示: members of ledger_revealer only; records the reveal (purpose) before returning the number';

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
