-- Lookups by My Number are an oracle (ATTACKS.md §5): each is recorded, limited per staff
-- member per minute and per day whatever the transaction does, and answers in the same time
-- found or not; the blind index is not PUBLIC's, and the mask shows no digit by default.
\ir lib.psql

SELECT plan(19);

\o /dev/null
INSERT INTO ledger.org_unit VALUES ('130001', 9951, '照会試験 本庁'), ('130001', 9952, '照会試験 支所');
SELECT ledger.register_staff('regress_l_' || x, '照会 ' || x, 9951, ARRAY['clerk'])
FROM unnest(ARRAY['rec', 'rate', 'cap', 'rb', 'rr', 'time']) x;
SELECT ledger.enrol_person('130001', 9951, '614703592811', '照会', '一', 'ショウカイ', 'イチ', '2015-04-02', '試験市');
SELECT ledger.enrol_person('130001', 9952, '508297340216', '照会', '二', 'ショウカイ', 'ニ', '2015-04-02', '試験市');
\o
SELECT person_id AS own FROM ledger.person WHERE municipality_code = '130001' AND family_name = '照会' AND given_name = '一' \gset
SELECT person_id AS other FROM ledger.person WHERE municipality_code = '130001' AND family_name = '照会' AND given_name = '二' \gset

-- Every lookup is recorded: who, the outcome, the person when found; never the number.
SET ROLE regress_l_rec;
SELECT is(ledger.find_person('614703592811', '130001'), :own::bigint, 'a clerk finds a person of the own org unit');
SELECT is(ledger.find_person('508297340216', '130001'), NULL, 'a person of another org unit is not found');
SELECT is(ledger.find_person('975310864200', '130001'), NULL, 'a number not enrolled is not found');
RESET ROLE;
SELECT is(pg_temp.wait_for_count($$kind = 'lookup' AND acting_role = 'regress_l_rec'$$, 3), 3::bigint,
    'lookup_recorded: every lookup has its record, found or not');
SELECT is((SELECT row_key FROM ledger.audit_event WHERE kind = 'lookup' AND acting_role = 'regress_l_rec' AND row_count = 1),
    ARRAY['130001', :'own'], 'lookup_record_names_the_person_found');
SELECT is((SELECT row_key FROM ledger.audit_event WHERE kind = 'lookup' AND acting_role = 'regress_l_rec' AND row_count = 0
            AND relation_name = 'ledger.person'), ARRAY['130001', :'other'],
    'lookup_of_hidden_person_names_them: the answer was "not found", the record names whose number it was');
SELECT is((SELECT count(*) FROM ledger.audit_event WHERE kind = 'lookup' AND acting_role = 'regress_l_rec'
            AND (detail ~ '[0-9]{4}' OR array_to_string(row_key, ',') ~ '614703592811|508297340216|975310864200')), 0::bigint,
    'lookup_record_holds_no_number');

-- Per minute: a tight loop gets at most the rate (in each of at most two minutes).
SET ledger.lookup_rate_per_minute = 5;
SET ledger.lookup_min_duration = 0;
CREATE FUNCTION pg_temp.lookups(n integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE ok integer := 0;
BEGIN
    FOR i IN 1..n LOOP
        BEGIN
            PERFORM ledger.find_person('975310864200', '130001');
            ok := ok + 1;
        EXCEPTION WHEN insufficient_privilege THEN NULL;
        END;
    END LOOP;
    RETURN ok;
END $$;
SET ROLE regress_l_rate;
SELECT ok(pg_temp.lookups(20) BETWEEN 5 AND 10, 'lookup_rate_limited: 20 lookups in a moment, at most the rate of 5 a minute pass');
SELECT throws_ok($$SELECT ledger.find_person('975310864200', '130001')$$, '42501', NULL,
    'lookup_rate_refusal: beyond the rate a lookup is refused');
RESET ROLE;
SELECT ok(pg_temp.wait_for($$kind = 'denied' AND acting_role = 'regress_l_rate' AND detail LIKE 'lookup refused%'$$) > 0,
    'lookup_refusal_recorded');
RESET ledger.lookup_rate_per_minute;

-- Per day, and nothing gives a lookup back: not ROLLBACK, not the isolation level.
SET ledger.lookup_daily_cap = 3;
SET ROLE regress_l_cap;
SELECT is(pg_temp.lookups(5), 3, 'lookup_daily_cap: 3 of 5 lookups pass a cap of 3');
RESET ROLE;
SET ROLE regress_l_rb;
BEGIN;
SELECT is(pg_temp.lookups(3), 3, 'three lookups (then rolled back)');
ROLLBACK;
SELECT is(pg_temp.lookups(1), 0, 'lookup_cap_not_returned_by_rollback: the rolled-back lookups still count');
RESET ROLE;
SET ROLE regress_l_rr;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT is(pg_temp.lookups(5), 3, 'lookup_cap_exact_under_repeatable_read');
COMMIT;
RESET ROLE;
-- Enrolment tells whether a number is enrolled too: it counts against the same limits, and
-- a duplicate refusal is recorded.
SELECT ledger.register_staff('regress_l_enrol', '照会 登録', 9951, ARRAY['clerk']) \g /dev/null
CREATE FUNCTION pg_temp.probe(n integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE ok integer := 0;
BEGIN
    FOR i IN 1..n LOOP
        BEGIN
            PERFORM ledger.enrol_person('130001', 9951, '614703592811', 'a', 'b', 'c', 'd', '2015-04-02', 'x');
        EXCEPTION WHEN unique_violation THEN ok := ok + 1;
                  WHEN insufficient_privilege THEN NULL;
        END;
    END LOOP;
    RETURN ok;
END $$;
SET ROLE regress_l_enrol;
SELECT is(pg_temp.probe(5), 3, 'enrol_counts_as_lookup: duplicate probes by enrolment stop at the daily cap');
RESET ROLE;
SELECT ok(pg_temp.wait_for($$kind = 'denied' AND acting_role = 'regress_l_enrol' AND detail = 'enrol refused: the number is already enrolled'$$) >= 3,
    'enrol_duplicate_refusal_recorded');
RESET ledger.lookup_daily_cap;

-- Found and not found take at least the same time (the floor; bench/lookup measures both).
SET ledger.lookup_min_duration = 60;
SET ROLE regress_l_time;
SELECT ok((SELECT clock_timestamp() - t >= interval '60 ms' FROM (SELECT clock_timestamp() AS t, ledger.find_person('614703592811', '130001')) x),
    'lookup_min_duration: a found lookup answers no sooner than the floor');
RESET ROLE;
RESET ledger.lookup_min_duration;

-- The blind index is not PUBLIC's, and the mask shows no digit unless configured.
SELECT ok(NOT has_function_privilege('regress_l_rec', 'ledger.blind_index(ledger.mynumber)', 'EXECUTE')
          AND has_function_privilege('ledger_dba', 'ledger.blind_index(ledger.mynumber)', 'EXECUTE'),
    'blind_index_not_public: staff cannot compute blind indexes; the file managers can');
SELECT is((SELECT ledger.mask(mynumber, ledger.person_context(municipality_code, person_id)) FROM ledger.person WHERE person_id = :own),
    '************', 'mask_shows_no_digits_by_default');
SELECT * FROM finish();
