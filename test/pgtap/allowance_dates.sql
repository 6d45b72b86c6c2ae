-- The date rules of the allowance (DOMAIN.md): reaching an age the day before the birthday,
-- the school-year ends, the under-3 month, and the rule periods as data.
\ir lib.psql

SELECT plan(29);

SELECT is(ledger.age_reached_on('2008-04-02', 18), '2026-04-01'::date, 'age_reached_day_before_birthday');
SELECT is(ledger.age_reached_on('2012-02-29', 1), '2013-02-28'::date,
    'leap_day_birth: a 29 February child reaches an age on 28 February in a common year');
SELECT is(ledger.age_reached_on('2012-03-01', 1), '2013-02-28'::date, 'born on 1 March: the day before is 28 February');
-- 18歳に達する日以後の最初の3月31日
SELECT is(ledger.school_year_end('2008-04-02', 18), '2027-03-31'::date,
    'born_2_april: covered until the 31 March after the 18th birthday');
SELECT is(ledger.school_year_end('2008-04-01', 18), '2026-03-31'::date,
    'born_1_april: covered only until the 31 March just before the 18th birthday (早生まれ)');
SELECT is(ledger.school_year_end('2008-03-31', 18), '2026-03-31'::date, 'born 31 March: the same school year as 1 April');
SELECT is(ledger.school_year_end('2009-01-15', 15), '2024-03-31'::date, 'old rule: the end of middle school (15)');
SELECT is(ledger.school_year_end('2004-04-02', 22), '2027-03-31'::date, 'birth-order count: 22 years, born 2 April');
SELECT is(ledger.school_year_end('2004-04-01', 22), '2026-03-31'::date, 'birth-order count: 22 years, born 1 April');
-- Under 3 through the month of the 3rd birthday, for every child
SELECT is(ledger.under3_last_month('2021-07-01'), '2024-07-01'::date, 'under3_month_of_birthday: born on the 1st');
SELECT is(ledger.under3_last_month('2021-07-31'), '2024-07-01'::date, 'under3_month_of_birthday: born on the last day');
SELECT is(ledger.under3_last_month('2021-02-28'), '2024-02-01'::date, 'born 28 February');
-- Property: the school-year end is always a 31 March, within a year after reaching the age
SELECT is((SELECT count(*) FROM generate_series('2000-01-01'::date, '2011-12-31', '1 day') b(d)
           WHERE to_char(ledger.school_year_end(b.d::date, 18), 'MM-DD') <> '03-31'
              OR ledger.school_year_end(b.d::date, 18) < ledger.age_reached_on(b.d::date, 18)
              OR ledger.school_year_end(b.d::date, 18) >= ledger.age_reached_on(b.d::date, 18) + 366), 0::bigint,
    'school_year_end_property: a 31 March, on or after the day the age is reached, less than a year later (every day of 12 years)');

-- Rules as data
SELECT is((SELECT count(*) FROM ledger.allowance_rule), 2::bigint, 'two rule periods are loaded');
SELECT is((SELECT rule_id FROM ledger.allowance_rule WHERE '2024-09-01' BETWEEN from_month AND coalesce(to_month, 'infinity')), 'before_2024_10',
    'September 2024 is under the old rules');
SELECT is((SELECT eligible_age || '/' || order_age || '/' || amount_third_any_age || '/' || months_per_payment
           FROM ledger.allowance_rule WHERE '2024-10-01' BETWEEN from_month AND coalesce(to_month, 'infinity')),
          '18/22/30000/2', 'October 2024: to 18, order counted to 22, third child 30,000円, paid for two months');
SELECT is((SELECT string_agg(limit_man || '/' || upper_man, ',' ORDER BY dependants) FROM ledger.income_limit),
          '622/858,660/896,698/934,736/972,774/1010,812/1048', 'the old income limits by number of dependants');

-- Payment months and the months they cover, across the reform
SELECT is((SELECT first_month || '..' || last_month FROM ledger.months_covered('2024-06-01')), '2024-02-01..2024-05-01',
    'old rules: June pays February to May');
SELECT is((SELECT first_month || '..' || last_month || ' ' || rule_id FROM ledger.months_covered('2024-10-01')),
    '2024-06-01..2024-09-01 before_2024_10', 'transition_october_2024: October 2024 pays June to September under the old rules');
SELECT is((SELECT first_month || '..' || last_month || ' ' || rule_id FROM ledger.months_covered('2024-12-01')),
    '2024-10-01..2024-11-01 from_2024_10', 'transition_december_2024: December 2024 pays October and November under the new rules');
SELECT is((SELECT first_month || '..' || last_month FROM ledger.months_covered('2025-02-01')), '2024-12-01..2025-01-01',
    'new rules: February pays December and January');
SELECT is((SELECT count(*) FROM ledger.months_covered('2024-08-01') WHERE first_month IS NOT NULL), 0::bigint,
    'August 2024 is not a payment month (old rules)');
SELECT is((SELECT first_month || '..' || last_month FROM ledger.months_covered('2025-04-01')), '2025-02-01..2025-03-01',
    'April 2025 is (new rules)');
SELECT is((SELECT count(*) FROM generate_series('2025-02-01'::date, '2030-12-01', '1 month') m(p)
           WHERE (SELECT last_month FROM ledger.months_covered(m.p::date)) IS NOT NULL), 36::bigint,
    'every even month from 2025 is a payment month: 36 of them to 2030');

-- The C date rules against the SQL they implement (written out here), every day of 1996-2030
CREATE TEMP TABLE days AS SELECT d::date AS d FROM generate_series('1996-01-01'::date, '2030-12-31', '1 day') d;
SELECT is((SELECT count(*) FROM days, unnest(ARRAY[1, 3, 12, 15, 18, 22]) n
           WHERE ledger.age_reached_on(d, n) <> ((d - 1) + make_interval(years => n))::date), 0::bigint,
    'age_reached_on_matches_sql: (birth - 1) + N years, every day of 35 years, N in 1, 3, 12, 15, 18, 22');
SELECT is((SELECT count(*) FROM days
           WHERE ledger.first_march31_on_or_after(d)
              <> make_date(extract(year FROM d)::int + CASE WHEN extract(month FROM d) > 3 THEN 1 ELSE 0 END, 3, 31)), 0::bigint,
    'first_march31_matches_sql');
SELECT is((SELECT count(*) FROM days, unnest(ARRAY[12, 15, 18, 22]) n
           WHERE ledger.school_year_end(d, n) <> ledger.first_march31_on_or_after(((d - 1) + make_interval(years => n))::date)), 0::bigint,
    'school_year_end_matches_sql');
SELECT is((SELECT count(*) FROM days WHERE ledger.under3_last_month(d) <> date_trunc('month', d + interval '3 years')::date), 0::bigint,
    'under3_last_month_matches_sql');
SELECT throws_ok($$SELECT ledger.school_year_end('infinity', 18)$$, '22023', NULL, 'an infinite birth date is refused');

SELECT * FROM finish();
