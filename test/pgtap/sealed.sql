-- Sealed numbers: AES-256-GCM bound to a context, refusals of altered values, the blind
-- index, and reveal with its audit event (which survives ROLLBACK).
\ir lib.psql

SELECT plan(29);

DROP TABLE IF EXISTS regress_sealed;
DROP ROLE IF EXISTS regress_revealer;
DROP ROLE IF EXISTS regress_no_reveal;
CREATE ROLE regress_revealer IN ROLE ledger_revealer;
CREATE ROLE regress_no_reveal;

CREATE TABLE regress_sealed (id int PRIMARY KEY, mn ledger.sealed_mynumber NOT NULL, mn_index bytea NOT NULL);
INSERT INTO regress_sealed
SELECT i, ledger.seal(n, 'regress_sealed:' || i), ledger.blind_index(n)
FROM (VALUES (1, '123456789018'::ledger.mynumber), (2, '271828182840'), (3, '271828182890')) v(i, n);
CREATE INDEX ON regress_sealed (mn_index);
GRANT SELECT ON regress_sealed TO regress_revealer, regress_no_reveal;

SELECT is((SELECT count(*) FROM regress_sealed WHERE mn::text ~ '123456789018|271828182840|271828182890'), 0::bigint,
    'sealed_value_holds_no_plaintext: the stored text form contains no number');
SELECT is(octet_length(ledger.sealed_mynumber_send((SELECT mn FROM regress_sealed WHERE id = 1))), 41,
    'a sealed value is 41 bytes: version, key id, nonce, ciphertext, tag');
SELECT isnt(ledger.seal('123456789018', 'x')::text, ledger.seal('123456789018', 'x')::text,
    'fresh_nonce: sealing the same number twice gives different values');
SELECT is(ledger.mask(mn, 'regress_sealed:1'), '************', 'mask needs no privilege and shows no digit by default')
FROM regress_sealed WHERE id = 1;

-- Reveal.
SET ROLE regress_revealer;
SELECT is(ledger.reveal(mn, 'regress_sealed:2', '児童手当 認定審査')::text, '271828182840', 'a revealer gets the number back')
FROM regress_sealed WHERE id = 2;
SELECT throws_ok($$SELECT ledger.reveal(mn, 'regress_sealed:2', 'x') FROM regress_sealed WHERE id = 1$$, 'XX001',
    'sealed number does not open in this context', 'copied_value_does_not_open: a value read in another row''s context is refused');
SELECT throws_ok($$SELECT ledger.reveal(mn, 'regress_sealed:1', '') FROM regress_sealed WHERE id = 1$$, '22023',
    'a reveal needs a purpose', 'a reveal without a purpose is refused');
SELECT is(ledger.reveal(mn, 'regress_sealed:1', '他市町村への提供', '番号法第19条第8号')::text, '123456789018',
    'a disclosure names its legal basis') FROM regress_sealed WHERE id = 1;
SELECT throws_ok($$SELECT ledger.reveal(ledger.seal('123456789018', repeat('x', 3000000)), repeat('x', 3000000), 'x')$$,
    '54000', NULL, 'reveal_huge_context_is_a_user_error: a context too long to record is refused as such (not XX000)');
RESET ROLE;
SET ROLE regress_no_reveal;
SELECT throws_ok($$SELECT ledger.reveal(mn, 'regress_sealed:1', 'curious') FROM regress_sealed WHERE id = 1$$, '42501',
    'permission denied to reveal a My Number', 'reveal_requires_role: a role outside ledger_revealer is refused');
SELECT is(ledger.mask(mn, 'regress_sealed:1'), '************', 'but it may see the masked form') FROM regress_sealed WHERE id = 1;
RESET ROLE;
SET ledger.mask_digits = 4;
SET ROLE regress_no_reveal;
SELECT is(ledger.mask(mn, 'regress_sealed:1'), '********9018', 'mask_digits: the configured digits are shown') FROM regress_sealed WHERE id = 1;
RESET ROLE;
RESET ledger.mask_digits;

-- The reveal's event is accepted before the number is returned: a rolled-back reveal stays recorded.
SELECT clock_timestamp() AS t0 \gset
BEGIN;
SET LOCAL ROLE regress_revealer;
SELECT ledger.reveal(mn, 'regress_sealed:3', 'rollback probe') IS NOT NULL FROM regress_sealed WHERE id = 3;
ROLLBACK;
SELECT is(pg_temp.wait_for(format('kind = %L AND detail = %L AND acting_role = %L AND logged_at > %L',
          'reveal', 'rollback probe', 'regress_revealer', :'t0')), 1::bigint,
    'reveal_survives_rollback: the reveal is recorded though its transaction rolled back');
SELECT ok(pg_temp.wait_for(format('kind = %L AND acting_role = %L', 'denied', 'regress_no_reveal')) > 0,
    'a refused reveal is recorded as denied');
SELECT ok(pg_temp.wait_for(format('kind = %L AND detail = %L', 'reveal', '児童手当 認定審査')) > 0,
    'reveals are recorded with their purpose');
SELECT ok(pg_temp.wait_for(format('kind = %L AND detail = %L', 'reveal', '他市町村への提供 (legal basis: 番号法第19条第8号)')) > 0,
    'disclosures are recorded with their legal basis');
SELECT is((SELECT count(*) FROM ledger.audit_event e WHERE e::text ~ '123456789018|271828182840|271828182890'), 0::bigint,
    'no_plaintext_mynumber_in_trail: reveals leave no number in the trail');

-- A caller's search_path cannot slip its own operator into the key lookups, which run with
-- the key table owner's rights.
DROP SCHEMA IF EXISTS regress_evil CASCADE;
CREATE SCHEMA regress_evil;
CREATE TABLE regress_evil.log (who text);
GRANT USAGE ON SCHEMA regress_evil TO PUBLIC;
GRANT INSERT ON regress_evil.log TO PUBLIC;
CREATE FUNCTION regress_evil.eq(text, text) RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO regress_evil.log VALUES (current_user);
    RETURN $1 OPERATOR(pg_catalog.=) $2;
END $f$;
CREATE OPERATOR regress_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = regress_evil.eq);
SET ROLE regress_no_reveal;
SET search_path = regress_evil, pg_catalog;
SELECT ledger.seal('123456789018', 'evil') IS NOT NULL AS sealed;
RESET search_path;
RESET ROLE;
SELECT is((SELECT count(*) FROM regress_evil.log), 0::bigint,
    'search_path_hijack_refused: a caller''s operator never runs inside the key lookups');
DROP SCHEMA regress_evil CASCADE;

-- Altered and foreign values.
CREATE FUNCTION pg_temp.flip(v ledger.sealed_mynumber, byte int) RETURNS ledger.sealed_mynumber LANGUAGE sql AS $$
    SELECT ('mnl1:' || encode(set_byte(ledger.sealed_mynumber_send(v), byte,
                                       get_byte(ledger.sealed_mynumber_send(v), byte) # 1), 'base64'))::ledger.sealed_mynumber $$;
SELECT throws_ok($$SELECT ledger.mask(pg_temp.flip(mn, 20), 'regress_sealed:1') FROM regress_sealed WHERE id = 1$$, 'XX001',
    'sealed number does not open in this context', 'bit_flip_in_ciphertext_refused');
SELECT throws_ok($$SELECT ledger.mask(pg_temp.flip(mn, 30), 'regress_sealed:1') FROM regress_sealed WHERE id = 1$$, 'XX001',
    'sealed number does not open in this context', 'bit_flip_in_tag_refused');
SELECT throws_ok($$SELECT ledger.mask(pg_temp.flip(mn, 8), 'regress_sealed:1') FROM regress_sealed WHERE id = 1$$, 'XX001',
    'sealed number does not open in this context', 'bit_flip_in_nonce_refused');
SELECT throws_ok($$SELECT ledger.mask(pg_temp.flip(mn, 4), 'regress_sealed:1') FROM regress_sealed WHERE id = 1$$, 'XX001',
    NULL, 'a changed key id is refused');
SELECT throws_ok($$SELECT ledger.mask(a.mn, 'regress_sealed:1') FROM regress_sealed a WHERE a.id = 2$$, 'XX001',
    'sealed number does not open in this context', 'swapped_value_refused: another row''s value under this row''s context');
SELECT throws_ok($$SELECT ('mnl1:' || encode(substr(ledger.sealed_mynumber_send(mn), 1, 40), 'base64'))::ledger.sealed_mynumber FROM regress_sealed WHERE id = 1$$,
    '22P02', NULL, 'truncated_value_refused: a value one byte short is not accepted as input');
SELECT throws_ok($$SELECT 'mnl2:AQAAAAHpFv4rDC1b91EtG0hj33CO8dKZNh9jhSEzUZ5xX3b4XODYbis='::ledger.sealed_mynumber$$,
    '22P02', 'invalid input for type sealed_mynumber: missing "mnl1:" prefix', 'foreign text is refused');
SELECT throws_ok($$SELECT 'mnl1:!!!!AAAAAek W/4rDC1b91EtG0hj33CO8dKZNh9jhSEzUZ5xX3b4XODYbis='::ledger.sealed_mynumber$$,
    '22P02', NULL, 'malformed base64 is refused');

-- Blind index: equal numbers, equal index; lookups use the index and never decrypt.
SELECT is(ledger.blind_index('1234 5678 9018'), ledger.blind_index('１２３４５６７８９０１８'),
    'the blind index depends on the number, not on how it was typed');
SET enable_seqscan = off;
SELECT matches(pg_temp.plan_of($$SELECT id FROM regress_sealed WHERE mn_index = ledger.blind_index('271828182840')$$),
    'Index', 'blind_index_lookup_uses_index');
RESET enable_seqscan;
SELECT is((SELECT id FROM regress_sealed WHERE mn_index = ledger.blind_index('2718-2818-2840')), 2,
    'a lookup by number finds the row');

DROP TABLE regress_sealed;
DROP ROLE regress_revealer;
DROP ROLE regress_no_reveal;
SELECT * FROM finish();
