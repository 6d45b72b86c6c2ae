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

CREATE FUNCTION ledger._key_period(purpose text) RETURNS text
    AS 'MODULE_PATHNAME', 'keys_period_of' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
REVOKE ALL ON FUNCTION ledger._key_period(text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._key_period(text) IS
    '期間鍵の期間 (internal): the retention period of a period key''s purpose, NULL for any other purpose';

CREATE FUNCTION ledger._forget_period_key(period text) RETURNS integer
    AS 'MODULE_PATHNAME', 'keys_forget_period' LANGUAGE C VOLATILE STRICT;
REVOKE ALL ON FUNCTION ledger._forget_period_key(text) FROM PUBLIC;
COMMENT ON FUNCTION ledger._forget_period_key(text) IS
    '期間鍵の破棄 (crypto-shredding, internal): ledger.period_key_command forgets the period''s secret; its data keys are marked destroyed';
