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
LANGUAGE sql STABLE PARALLEL RESTRICTED
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
LANGUAGE sql STABLE STRICT PARALLEL RESTRICTED
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

-- The functions here that read the ledger's tables are PARALLEL RESTRICTED: a parallel worker
-- may not read an audited table (its read could not be recorded there: docs/audit.md).

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
LANGUAGE sql STABLE PARALLEL RESTRICTED
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
        -- months of a finite range, at most 100 years of them: 'infinity' gives no month
        -- (generate_series would never end), nor does a range a caller made too long
        CROSS JOIN (SELECT g::date AS month
                    FROM pg_catalog.generate_series(
                             CASE WHEN pg_catalog.isfinite(child_allowance.first_month)
                                   AND pg_catalog.isfinite(child_allowance.last_month)
                                  THEN pg_catalog.date_trunc('month', child_allowance.first_month::timestamp) END,
                             LEAST(pg_catalog.date_trunc('month', child_allowance.last_month::timestamp),
                                   child_allowance.first_month::timestamp + interval '100 years'),
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
LANGUAGE sql STABLE PARALLEL RESTRICTED SET jit = off
BEGIN ATOMIC
    SELECT a.child_id, a.person_id, a.birth_date, a.birth_order, a.band, a.amount, a.reason, a.rule_id
    FROM ledger.child_allowance(monthly_amount.municipality_code, ARRAY[monthly_amount.recipient_id],
                                monthly_amount.month, monthly_amount.month) a
    ORDER BY a.birth_order NULLS LAST, a.birth_date, a.child_id;
END;
COMMENT ON FUNCTION ledger.monthly_amount(text, bigint, date) IS
    '手当月額の内訳: each child of a recipient in a month, with birth order, age band, amount and reason';

CREATE FUNCTION ledger.monthly_total(municipality_code text, recipient_id bigint, month date) RETURNS integer
LANGUAGE sql STABLE PARALLEL RESTRICTED SET jit = off
BEGIN ATOMIC
    SELECT COALESCE(pg_catalog.sum(a.amount), 0)::integer
    FROM ledger.child_allowance(monthly_total.municipality_code, ARRAY[monthly_total.recipient_id],
                                monthly_total.month, monthly_total.month) a;
END;
COMMENT ON FUNCTION ledger.monthly_total(text, bigint, date) IS '手当月額: the sum of ledger.monthly_amount';

