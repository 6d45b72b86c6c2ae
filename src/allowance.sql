-- allowance: 児童手当 rules as data, and the date rules the engine stands on (児童手当法;
-- 年齢計算ニ関スル法律 and 民法第143条: a person reaches an age on the day before the birthday).

-- The day a person born on birth reaches the age of years: the day before the birthday
-- (for a 29 February birthday in a common year, 28 February).
CREATE FUNCTION ledger.age_reached_on(birth date, years integer) RETURNS date
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    SELECT ((birth - 1) + pg_catalog.make_interval(years => years))::date;
END;
COMMENT ON FUNCTION ledger.age_reached_on(date, integer) IS
    '年齢到達日: the day before the birthday (年齢計算ニ関スル法律, 民法第143条)';

-- The first 31 March on or after d (以後の最初の3月31日).
CREATE FUNCTION ledger.first_march31_on_or_after(d date) RETURNS date
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    SELECT pg_catalog.make_date(pg_catalog.date_part('year', d)::integer
                                + CASE WHEN pg_catalog.date_part('month', d) > 3 THEN 1 ELSE 0 END, 3, 31);
END;
COMMENT ON FUNCTION ledger.first_march31_on_or_after(date) IS '以後の最初の3月31日';

-- The last day of a school-year age limit: 「N歳に達する日以後の最初の3月31日」.  A child born
-- on 2 April is covered until the 31 March after the Nth birthday; one born on 1 April only
-- until the 31 March just before it (早生まれ belong to the earlier school year).
CREATE FUNCTION ledger.school_year_end(birth date, years integer) RETURNS date
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    SELECT ledger.first_march31_on_or_after(ledger.age_reached_on(birth, years));
END;
COMMENT ON FUNCTION ledger.school_year_end(date, integer) IS
    'N歳に達する日以後の最初の3月31日: the end of the school year in which the child turns N';

-- The last month of the under-3 amount: the month of the 3rd birthday, for every child
-- (「出生の日から三年を経過しない児童」 keeps those born on the 1st in it too).
CREATE FUNCTION ledger.under3_last_month(birth date) RETURNS date
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
    SELECT pg_catalog.date_trunc('month', birth + pg_catalog.make_interval(years => 3))::date;
END;
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
COMMENT ON COLUMN ledger.allowance_rule.payment_months IS '支払期月';
COMMENT ON COLUMN ledger.allowance_rule.months_per_payment IS '1回の支払の月数';
COMMENT ON COLUMN ledger.allowance_rule.legal_source IS '根拠法令';
REVOKE ALL ON ledger.allowance_rule FROM PUBLIC;
GRANT SELECT ON ledger.allowance_rule TO ledger_staff, ledger_auditor;
INSERT INTO ledger.allowance_rule VALUES
    ('before_2024_10', '2012-04-01', '2024-09-01', 15, 18, 15000, 10000, 15000, 10000, NULL, 12,
     true, 5000, '2022-06-01', ARRAY[2, 6, 10], 4,
     '児童手当法 (令和6年法律第47号による改正前) 第4条, 第5条, 第6条, 第8条, 附則第2条; 令和3年法律第66号 (所得上限, 令和4年6月分から)'),
    ('from_2024_10', '2024-10-01', NULL, 18, 22, 15000, 10000, 30000, 10000, 30000, 12,
     false, NULL, NULL, ARRAY[2, 4, 6, 8, 10, 12], 2,
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
