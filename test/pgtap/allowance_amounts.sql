-- The monthly amount of the allowance (DOMAIN.md 児童手当): every worked example, a boundary
-- test for each rule (age bands, school-year ends, birth order, support, income limits, the
-- reform month), the certification dates (15日特例), and properties over generated households.
-- Runs as a superuser: what is tested here is the arithmetic; payments.sql runs the job role.
\ir lib.psql
SET jit = off;  -- the property queries are large; compiling them costs more than running them

SELECT plan(48);

\o /dev/null
INSERT INTO ledger.org_unit VALUES ('141003', 9801, '横浜市 こども青少年局');

-- A household: recipient rid (person rid * 100) and its children (persons rid * 100 + i),
-- each in care from birth, supported unless said otherwise.
CREATE FUNCTION pg_temp.household(rid bigint, births date[], supported boolean[] DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger.person (municipality_code, person_id, org_unit_id, family_name, given_name, birth_date)
    VALUES ('141003', rid * 100, 9801, '受給', '者', '1980-05-05');
    INSERT INTO ledger.recipient (municipality_code, recipient_id, person_id, org_unit_id) VALUES ('141003', rid, rid * 100, 9801);
    FOR i IN 1 .. coalesce(cardinality(births), 0) LOOP
        PERFORM pg_temp.add_child(rid, i, births[i], coalesce(supported[i], true));
    END LOOP;
    RETURN rid;
END $$;
CREATE FUNCTION pg_temp.add_child(rid bigint, i integer, birth date, supported boolean DEFAULT true,
                                  from_date date DEFAULT NULL, until_date date DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger.person (municipality_code, person_id, org_unit_id, family_name, given_name, birth_date)
    VALUES ('141003', rid * 100 + i, 9801, '児童', i::text, birth);
    INSERT INTO ledger.child (municipality_code, person_id, recipient_id, org_unit_id, supported, from_date, until_date)
    VALUES ('141003', rid * 100 + i, rid, 9801, supported, coalesce(from_date, birth), until_date);
    RETURN rid * 100 + i;
END $$;
-- "amount band order" of each child in birth-date order, for compact comparisons
CREATE FUNCTION pg_temp.kids(rid bigint, month date) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(amount || ' ' || band || coalesce(' #' || birth_order, ''), ', ' ORDER BY birth_date, child_id)
    FROM ledger.monthly_amount('141003', rid, month)
$$;
CREATE FUNCTION pg_temp.total(rid bigint, month date) RETURNS integer LANGUAGE sql AS $$
    SELECT ledger.monthly_total('141003', rid, month)
$$;
\o

-- 1. DOMAIN.md, new rules (令和6年10月分から)
SELECT pg_temp.household(1, ARRAY['2003-04-02', '2008-04-01', '2021-07-01']::date[]) \g /dev/null
SELECT is(pg_temp.kids(1, '2024-12-01'), '0 order_only #1, 10000 after_primary #2, 30000 age3_to_primary #3',
    'domain_example_new_rules: a supported 21-year-old counts as 第1子 only; the 16-year-old 10,000円; the third child 30,000円');
SELECT is(pg_temp.total(1, '2024-12-01'), 40000, 'the total is the sum of the children''s amounts');
SELECT is((SELECT reason FROM ledger.monthly_amount('141003', 1, '2024-12-01') WHERE birth_order = 3),
    '3歳以上小学校修了前 第3子 30,000円', 'each child''s amount comes with its reason');
SELECT is(pg_temp.kids(1, '2024-09-01'),
    '0 past_order_age, 0 order_only #1, 0 income_unknown #2',
    'the same household in September 2024 is under the old rules (15/18 years, income limits: no income recorded, nothing paid)');

-- 2. Under 3 through the month of the 3rd birthday, for every child (new rules: first child)
SELECT pg_temp.household(2, ARRAY['2022-07-01']::date[]) \g /dev/null
SELECT pg_temp.household(3, ARRAY['2022-07-31']::date[]) \g /dev/null
SELECT is(pg_temp.total(2, '2025-07-01') || '/' || pg_temp.total(2, '2025-08-01'), '15000/10000',
    'under3_through_birthday_month: born on the 1st, 15,000円 in the month of the 3rd birthday, 10,000円 the month after');
SELECT is(pg_temp.total(3, '2025-07-01') || '/' || pg_temp.total(3, '2025-08-01'), '15000/10000',
    'under3_through_birthday_month: born on the last day of the month, the same months');
SELECT is(pg_temp.total(2, '2025-06-01'), 15000, 'the month before the 3rd birthday month: 15,000円');

-- 3. Birth month: in care from the month after
SELECT pg_temp.household(4, ARRAY['2024-11-01']::date[]) \g /dev/null
SELECT is(pg_temp.kids(4, '2024-11-01') || ' / ' || pg_temp.kids(4, '2024-12-01'), '0 not_yet_in_care / 15000 under3 #1',
    'born_on_the_1st: nothing for the month of birth, 15,000円 from the month after');

-- 4. The eligible-age school-year end: 2 April and 1 April births (new rules, 18)
SELECT pg_temp.household(5, ARRAY['2008-04-01']::date[]) \g /dev/null
SELECT pg_temp.household(6, ARRAY['2008-04-02']::date[]) \g /dev/null
SELECT is(pg_temp.total(5, '2026-03-01') || '/' || pg_temp.total(5, '2026-04-01'), '10000/0',
    'born_1_april_eligible_until_march_before_18th_birthday: paid for March 2026, not April');
SELECT is(pg_temp.total(6, '2026-04-01') || '/' || pg_temp.total(6, '2027-03-01') || '/' || pg_temp.total(6, '2027-04-01'),
    '10000/10000/0', 'born_2_april_eligible_until_march_after_18th_birthday: paid through March 2027');
SELECT is((SELECT band FROM ledger.monthly_amount('141003', 5, '2026-04-01')), 'order_only',
    'past the eligible age but under 22: counted for the order, paid nothing');

-- 5. Birth order: supported 19-22-year-olds count, unsupported ones do not
SELECT pg_temp.household(7, ARRAY['2005-06-10', '2012-05-05', '2018-09-09']::date[]) \g /dev/null
SELECT pg_temp.household(8, ARRAY['2005-06-10', '2012-05-05', '2018-09-09']::date[], ARRAY[false, true, true]) \g /dev/null
SELECT is(pg_temp.kids(7, '2025-06-01'), '0 order_only #1, 10000 after_primary #2, 30000 age3_to_primary #3',
    'supported_20_year_old_counts: the youngest is 第3子, 30,000円');
SELECT is(pg_temp.kids(8, '2025-06-01'), '0 not_supported, 10000 after_primary #1, 10000 age3_to_primary #2',
    'unsupported_20_year_old_not_counted: the youngest is 第2子, 10,000円');
SELECT pg_temp.household(16, ARRAY['2015-05-05', '2018-05-05', '2020-05-05']::date[], ARRAY[true, false, true]) \g /dev/null
SELECT is(pg_temp.kids(16, '2025-06-01'), '10000 age3_to_primary #1, 0 not_supported, 10000 age3_to_primary #2',
    'unsupported_child_not_paid_nor_counted: a young child the recipient does not support gets nothing and moves nobody up');
-- the 22-year end: born 2005-06-10 counts through March 2028
SELECT is(pg_temp.total(7, '2028-03-01') || '/' || pg_temp.total(7, '2028-04-01'), '40000/20000',
    'order_age_end_22: the eldest counts through the March after reaching 22; then the third becomes 第2子');
SELECT is((SELECT coalesce(birth_order::text, 'none') || ' ' || band FROM ledger.monthly_amount('141003', 7, '2028-04-01')
           WHERE birth_date = '2005-06-10'), 'none past_order_age', 'past the 22-year end the eldest has no birth order');
-- 22-year end: 1 April vs 2 April
SELECT pg_temp.household(9, ARRAY['2004-04-01', '2014-01-01', '2016-01-01']::date[]) \g /dev/null
SELECT pg_temp.household(10, ARRAY['2004-04-02', '2014-01-01', '2016-01-01']::date[]) \g /dev/null
SELECT is(pg_temp.total(9, '2026-03-01') || '/' || pg_temp.total(9, '2026-04-01'), '40000/20000',
    'born 1 April: counted for the order until the March before the 22nd birthday');
SELECT is(pg_temp.total(10, '2026-04-01') || '/' || pg_temp.total(10, '2027-04-01'), '40000/20000',
    'born 2 April: counted until the March after the 22nd birthday');

-- 6. Third or later child: 30,000円 at any age under the new rules
SELECT pg_temp.household(11, ARRAY['2006-05-01', '2008-05-01', '2009-05-01']::date[]) \g /dev/null
SELECT is(pg_temp.kids(11, '2025-02-01'), '10000 after_primary #1, 10000 after_primary #2, 30000 after_primary #3',
    'third_child_any_age: a 15-year-old third child gets 30,000円');

-- 7. Old rules (until 令和6年9月分)
SELECT pg_temp.household(12, ARRAY['2008-04-02', '2012-06-01', '2016-06-01', '2021-06-01']::date[]) \g /dev/null
INSERT INTO ledger.recipient_income VALUES ('141003', 12, 9801, 2023, 3000000, 3), ('141003', 12, 9801, 2024, 3000000, 3);
SELECT is(pg_temp.kids(12, '2024-03-01'),
    '10000 after_primary #1, 10000 age3_to_primary #2, 15000 age3_to_primary #3, 15000 under3 #4',
    'old_rules_amounts: middle school 10,000円, primary 10,000円 (third or later 15,000円), under 3 15,000円');
SELECT is(pg_temp.kids(12, '2024-04-01'),
    '0 order_only #1, 10000 age3_to_primary #2, 15000 age3_to_primary #3, 15000 under3 #4',
    'old_eligible_age_15: born 2 April 2008, paid through March 2024 (15-year school-year end), counted for the order after');
SELECT is(pg_temp.total(12, '2024-09-01') || '/' || pg_temp.total(12, '2024-10-01'), '40000/80000',
    'reform_month: September 2024 under the old rules, October 2024 under the new (the 16-year-old paid again, 3rd and 4th children 30,000円)');

-- 8. Income limits (old rules; 以上, 児童手当法第5条), dependants 2: 698万 / 934万
SELECT pg_temp.household(13, ARRAY['2015-06-01']::date[]) \g /dev/null
INSERT INTO ledger.recipient_income VALUES ('141003', 13, 9801, 2021, 6979999, 2), ('141003', 13, 9801, 2022, 6980000, 2),
                                           ('141003', 13, 9801, 2023, 9340000, 2);
SELECT is(pg_temp.total(13, '2022-05-01'), 10000, 'income one yen under the 所得制限限度額: the full amount');
SELECT is(pg_temp.kids(13, '2022-06-01'), '5000 special_benefit #1',
    'income_exactly_at_limit: at the 所得制限限度額, 特例給付 5,000円');
SELECT is(pg_temp.total(13, '2023-05-01'), 5000, 'the income of a 手当年度 holds from June to May');
SELECT is(pg_temp.kids(13, '2023-06-01'), '0 over_upper_limit #1',
    'income_exactly_at_upper_limit: at the 所得上限限度額, nothing');
SELECT pg_temp.household(14, ARRAY['2015-06-01']::date[]) \g /dev/null
INSERT INTO ledger.recipient_income VALUES ('141003', 14, 9801, 2021, 9500000, 2);
SELECT is(pg_temp.total(14, '2022-05-01'), 5000,
    'upper_limit_from_june_2022: above the upper limit in May 2022 still 特例給付 (the upper limit applies from 令和4年6月分)');
SELECT is((SELECT limit_yen || '/' || upper_yen FROM ledger.income_limits('before_2024_10', 7)), '8880000/11240000',
    'dependants beyond the table: +38万円 each (7 dependants: 888万 / 1,124万)');
SELECT is((SELECT limit_yen || '/' || upper_yen FROM ledger.income_limits('before_2024_10', 0)), '6220000/8580000',
    'no dependants: 622万 / 858万');
SELECT is(pg_temp.total(13, '2024-10-01'), 10000, 'new_rules_no_income_limit: from October 2024 the income does not matter');
SELECT is(pg_temp.kids(14, '2024-06-01'), '0 income_unknown #1', 'old rules with no income recorded for the year: nothing (所得未確認)');

-- 9. Leaving care: the month of leaving is paid, nothing after
SELECT pg_temp.household(15, ARRAY[]::date[]) \g /dev/null
SELECT pg_temp.add_child(15, 1, '2020-02-02', true, '2020-02-02', '2025-05-20') \g /dev/null
SELECT is(pg_temp.total(15, '2025-05-01') || '/' || pg_temp.kids(15, '2025-06-01'), '10000/0 left_care',
    'left_care_month_paid: paid for the month the child leaves, nothing from the next');
SELECT pg_temp.add_child(15, 2, '2015-02-02', true, '2025-03-10') \g /dev/null
SELECT is(pg_temp.total(15, '2025-03-01') || '/' || pg_temp.total(15, '2025-04-01'), '10000/20000',
    'a child taken into care on 10 March counts from April');

-- 10. Certification dates
SELECT is(ledger.certification_first_month('2025-02-09', '2025-01-25'), '2025-02-01'::date,
    'claim_on_15th_day: 15日特例, payment from the month after the birth');
SELECT is(ledger.certification_first_month('2025-02-10', '2025-01-25'), '2025-03-01'::date,
    'claim_on_16th_day: no 15日特例, payment from the month after the claim');
SELECT is(ledger.certification_first_month('2025-01-31', '2025-01-25'), '2025-02-01'::date, 'a claim in the month of the birth');
SELECT is(ledger.certification_first_month('2025-03-15', NULL), '2025-04-01'::date, 'claim_month_plus_one: without an event');
SELECT is(ledger.certification_first_month('2025-01-05', '2024-12-31'), '2025-01-01'::date,
    'moved in on 31 December, claimed on 5 January: from January');
SELECT is(ledger.certification_last_month('2025-07-31'), '2025-07-01'::date, 'last_month_is_extinction_month');
INSERT INTO ledger.certification (municipality_code, certification_id, recipient_id, org_unit_id, claim_date, event_date, status)
VALUES ('141003', 1, 1, 9801, '2025-02-09', '2025-01-25', 'certified');
SELECT is((SELECT first_month FROM ledger.certification WHERE municipality_code = '141003' AND certification_id = 1),
    '2025-02-01'::date, 'a certification entered without a first month gets the rule''s');

-- 11. Properties over generated households: 300 households of 0-5 children born 1998-2026,
-- some unsupported, income drawn around the limits, over every month from 2022-01 to 2027-12.
\o /dev/null
SELECT setseed(0.42);
CREATE TEMP TABLE gen AS
SELECT 1000 + h AS rid,
       (SELECT array_agg(date '1998-01-01' + (random() * 10600)::int ORDER BY 1) FROM generate_series(1, (random() * 5)::int + h * 0)) AS births,
       (SELECT array_agg(random() > 0.15) FROM generate_series(1, 6 + h * 0)) AS supported,
       (random() * 12000000)::int AS income, (random() * 7)::int AS dependants
FROM generate_series(1, 300) h;
SELECT pg_temp.household(rid, births, supported) FROM gen;
INSERT INTO ledger.recipient_income SELECT '141003', rid, 9801, y, income, dependants FROM gen, generate_series(2021, 2024) y;
CREATE TEMP TABLE months AS SELECT m::date AS month FROM generate_series('2022-01-01'::date, '2027-12-01', '1 month') m;
CREATE TEMP TABLE before_totals AS
SELECT a.recipient_id, a.month, sum(a.amount) AS total, count(*) AS rows
FROM ledger.child_allowance('141003', (SELECT array_agg(rid) FROM gen), '2022-01-01', '2027-12-01') a GROUP BY 1, 2;
\o
SELECT is((SELECT count(*) FROM ledger.child_allowance('141003', (SELECT array_agg(rid) FROM gen), '2022-01-01', '2027-12-01') a
           WHERE a.amount < 0 OR a.amount NOT IN (0, 5000, 10000, 15000, 30000)), 0::bigint,
    'property_amount_never_negative: every amount is 0 or one of the rule amounts');
SELECT is((SELECT count(*) FROM ledger.child_allowance('141003', (SELECT array_agg(rid) FROM gen), '2022-01-01', '2027-12-01') a
           JOIN ledger.allowance_rule r USING (rule_id)
           WHERE a.amount > 0 AND a.birth_date < a.month - make_interval(years => r.eligible_age + 1)), 0::bigint,
    'property_nobody_paid_past_eligible_age');
SELECT is((SELECT count(*) FROM (SELECT recipient_id, month, array_agg(birth_order ORDER BY birth_order) o
           FROM ledger.child_allowance('141003', (SELECT array_agg(rid) FROM gen), '2022-01-01', '2027-12-01')
           WHERE birth_order IS NOT NULL GROUP BY 1, 2) s
           WHERE s.o <> (SELECT array_agg(i) FROM generate_series(1, cardinality(s.o)) i)), 0::bigint,
    'property_birth_orders_are_1_to_n: the counted children are numbered 1..n in each month');
SELECT is((SELECT count(*) FROM ledger.child_allowance('141003', (SELECT array_agg(rid) FROM gen), '2022-01-01', '2027-12-01') a
           JOIN ledger.child_allowance('141003', (SELECT array_agg(rid) FROM gen), '2022-01-01', '2027-12-01') b
             ON a.recipient_id = b.recipient_id AND a.month = b.month AND a.birth_date < b.birth_date
           WHERE a.birth_order > b.birth_order), 0::bigint,
    'property_older_children_come_first: a younger child never has a lower birth order');

-- Adding an unsupported 20-year-old (born 2006-01-01: 19-22 under the new rules) changes nothing; adding a supported one changes something.
\o /dev/null
SELECT pg_temp.add_child(rid, 50, '2006-01-01', false) FROM gen;
\o
SELECT is((SELECT count(*) FROM before_totals b
           FULL JOIN (SELECT a.recipient_id, a.month, sum(a.amount) AS total
                      FROM ledger.child_allowance('141003', (SELECT array_agg(rid) FROM gen), '2022-01-01', '2027-12-01') a
                      GROUP BY 1, 2) n USING (recipient_id, month)
           WHERE coalesce(b.total, 0) <> coalesce(n.total, 0)), 0::bigint,
    'property_unsupported_20_year_old_changes_nothing: 300 households, 72 months each');
\o /dev/null
UPDATE ledger.child SET supported = true WHERE municipality_code = '141003' AND person_id % 100 = 50;
\o
SELECT ok((SELECT count(*) FROM before_totals b
           JOIN (SELECT a.recipient_id, a.month, sum(a.amount) AS total
                 FROM ledger.child_allowance('141003', (SELECT array_agg(rid) FROM gen), '2022-01-01', '2027-12-01') a
                 GROUP BY 1, 2) n USING (recipient_id, month)
           WHERE b.total < n.total) > 0,
    'the same property bites: a supported 20-year-old raises some totals (the order moves the youngest up)');
\o /dev/null
UPDATE ledger.child SET supported = false WHERE municipality_code = '141003' AND person_id % 100 = 50;
\o

-- Moving a claim later never raises what is owed: for each household and event date, the sum of
-- the monthly totals from the certification's first month to December 2027, for claims made
-- 0..40 days after the event.
SELECT is((SELECT count(*) FROM (
    SELECT g.rid, e.event, d.days,
           (SELECT coalesce(sum(t.total), 0) FROM before_totals t
             WHERE t.recipient_id = g.rid AND t.month >= ledger.certification_first_month(e.event + d.days, e.event)) AS owed,
           lag((SELECT coalesce(sum(t.total), 0) FROM before_totals t
                 WHERE t.recipient_id = g.rid AND t.month >= ledger.certification_first_month(e.event + d.days - 1, e.event)))
               OVER (PARTITION BY g.rid, e.event ORDER BY d.days) AS owed_a_day_earlier
    FROM (SELECT rid FROM gen WHERE rid % 10 = 0) g
    CROSS JOIN (VALUES (date '2023-01-20'), (date '2024-09-25'), (date '2025-06-30')) e(event)
    CROSS JOIN generate_series(0, 40) d(days)) s
    WHERE s.owed > s.owed_a_day_earlier), 0::bigint,
    'property_later_claim_never_owes_more: claims 0-40 days after three events, 30 households');
SELECT is((SELECT count(*) FROM (SELECT g::date AS event FROM generate_series(date '2024-01-01', date '2025-12-31', '1 day') g) e,
                  generate_series(0, 40) d(days)
           WHERE ledger.certification_first_month(e.event + d.days, e.event)
               < ledger.certification_first_month(e.event + d.days - 1, e.event)), 0::bigint,
    'property_first_month_monotone: the first month never moves earlier as the claim moves later (every event day of 2 years)');

SELECT * FROM finish();
