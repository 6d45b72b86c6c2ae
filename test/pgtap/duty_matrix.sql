-- The whole duty × action × scope matrix, generated: for each sample duty, a staff member
-- holding only that duty asks ledger.may() for every action in the own org unit and in
-- another org unit of the same municipality, and the answers are compared with the matrix
-- written out below (independently of ledger.duty_permission).  Then the same staff read
-- and write a protected table in both org units, which the policies must allow or refuse
-- exactly as the matrix says.
\ir lib.psql

SELECT plan(6 * 8 * 2 + 5 * 2 * 2 + 1);

\o /dev/null
INSERT INTO ledger.org_unit VALUES ('271004', 9101, '大阪市 こども青少年局'), ('271004', 9102, '大阪市 区役所');
SELECT ledger.register_staff('regress_m_' || d, d, 9101, ARRAY[d])
FROM unnest(ARRAY['clerk', 'examiner', 'approver', 'administrator', 'auditor', 'disclosure_officer']) d;
CREATE TABLE regress_matrix (id int PRIMARY KEY, org_unit_id int NOT NULL);
INSERT INTO regress_matrix VALUES (1, 9101), (2, 9102);
SELECT ledger.protect_table('regress_matrix', 'org_unit_id');
GRANT SELECT, INSERT, UPDATE, DELETE ON regress_matrix TO ledger_staff;
\o

-- The expected matrix: (duty, action) → scope; absent means never.
CREATE TEMP TABLE expected (duty text, action text, scope text);
INSERT INTO expected VALUES
    ('clerk', 'read', 'own'), ('clerk', 'write', 'own'),
    ('examiner', 'read', 'own'), ('examiner', 'write', 'own'), ('examiner', 'reveal', 'own'),
    ('approver', 'read', 'all'), ('approver', 'approve', 'all'), ('approver', 'export', 'all'),
    ('administrator', 'administer_staff', 'all'),
    ('auditor', 'read_audit', 'all'),
    ('disclosure_officer', 'disclose_access', 'all');
GRANT SELECT ON expected TO PUBLIC;

CREATE TEMP TABLE cells (duty text, action text, org text, got boolean, want boolean);
GRANT ALL ON cells TO PUBLIC;
DO $$
DECLARE
    d text; a text; o int; got boolean;
BEGIN
    FOREACH d IN ARRAY ARRAY['clerk', 'examiner', 'approver', 'administrator', 'auditor', 'disclosure_officer'] LOOP
        FOREACH a IN ARRAY ARRAY['read', 'write', 'reveal', 'approve', 'export', 'administer_staff', 'read_audit', 'disclose_access'] LOOP
            FOREACH o IN ARRAY ARRAY[9101, 9102] LOOP
                EXECUTE format('SET ROLE %I', 'regress_m_' || d);
                got := ledger.may(a, 'child_allowance', o);
                RESET ROLE;
                INSERT INTO cells VALUES (d, a, CASE o WHEN 9101 THEN 'own' ELSE 'other' END, got,
                    EXISTS (SELECT 1 FROM expected e WHERE e.duty = d AND e.action = a
                            AND (e.scope = 'all' OR o = 9101)));
            END LOOP;
        END LOOP;
    END LOOP;
END $$;

SELECT is(got, want, format('duty_matrix: %s %s %s org unit', duty, action, org))
FROM cells ORDER BY duty, action, org;

-- Enforcement on a protected table follows the matrix.
CREATE TEMP TABLE table_cells (duty text, what text, org text, got boolean, want boolean);
GRANT ALL ON table_cells TO PUBLIC;
DO $$
DECLARE
    d text; o int; n bigint; ok boolean;
BEGIN
    FOREACH d IN ARRAY ARRAY['clerk', 'examiner', 'approver', 'administrator', 'auditor'] LOOP
        FOREACH o IN ARRAY ARRAY[9101, 9102] LOOP
            EXECUTE format('SET ROLE %I', 'regress_m_' || d);
            SELECT count(*) INTO n FROM regress_matrix WHERE org_unit_id = o;
            BEGIN
                INSERT INTO regress_matrix VALUES (1000 + o, o);
                DELETE FROM regress_matrix WHERE id = 1000 + o;
                ok := true;
            EXCEPTION WHEN insufficient_privilege THEN
                ok := false;
            END;
            RESET ROLE;
            INSERT INTO table_cells VALUES
                (d, 'read', CASE o WHEN 9101 THEN 'own' ELSE 'other' END, n = 1,
                 EXISTS (SELECT 1 FROM expected e WHERE e.duty = d AND e.action = 'read' AND (e.scope = 'all' OR o = 9101))),
                (d, 'write', CASE o WHEN 9101 THEN 'own' ELSE 'other' END, ok,
                 EXISTS (SELECT 1 FROM expected e WHERE e.duty = d AND e.action = 'write' AND (e.scope = 'all' OR o = 9101)));
        END LOOP;
    END LOOP;
END $$;

SELECT is(got, want, format('duty_matrix_enforced: %s %s in the %s org unit', duty, what, org))
FROM table_cells ORDER BY duty, what, org;

SELECT is((SELECT count(*) FROM regress_matrix), 2::bigint, 'the matrix walk left the table as it was');

SELECT * FROM finish();
