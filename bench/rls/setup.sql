-- bench/rls/setup.sql — 1M rows in 20 org units, three copies under three kinds of policy.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
INSERT INTO ledger.org_unit SELECT '131016', o, 'org ' || o FROM generate_series(1, 20) o;
INSERT INTO ledger.org_unit VALUES ('011002', 99, 'other municipality');
SELECT ledger.register_staff('bench_approver', 'approver', 1, ARRAY['approver']);
SELECT ledger.register_staff('bench_clerk', 'clerk', 3, ARRAY['clerk']);

CREATE TABLE t_ours (id bigint PRIMARY KEY, org_unit_id int NOT NULL, payload text NOT NULL);
INSERT INTO t_ours SELECT i, 1 + (i * 7) % 20, md5(i::text) FROM generate_series(1, 1000000) i;
CREATE TABLE t_plpgsql (LIKE t_ours INCLUDING ALL);
INSERT INTO t_plpgsql SELECT * FROM t_ours;
CREATE TABLE t_subplan (LIKE t_ours INCLUDING ALL);
INSERT INTO t_subplan SELECT * FROM t_ours;

-- Ours.
SELECT ledger.protect_table('t_ours', 'org_unit_id');

-- The same answer, as a plain mapping table the baselines read.
CREATE TABLE bench_perm (role_name name, org_unit_id int);
INSERT INTO bench_perm SELECT 'bench_approver', o FROM generate_series(1, 20) o;
INSERT INTO bench_perm VALUES ('bench_clerk', 3);
CREATE INDEX ON bench_perm (role_name, org_unit_id);

-- A PL/pgSQL per-row policy.
CREATE FUNCTION bench_plpgsql_may(org int) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM bench_perm WHERE role_name = current_user AND org_unit_id = org);
END $$;
ALTER TABLE t_plpgsql ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY p ON t_plpgsql USING (bench_plpgsql_may(org_unit_id));

-- A hashed-subplan policy.
ALTER TABLE t_subplan ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY p ON t_subplan USING (org_unit_id IN (SELECT b.org_unit_id FROM bench_perm b WHERE b.role_name = current_user));

-- The keys of 20,000 lookups, as a table: an expression over a generated column in the join
-- clause would not be leakproof (int4mul can raise), and a non-leakproof clause may not be
-- pushed below any policy into the index scan.
CREATE TABLE bench_keys AS SELECT ((g * 7919) % 1000000 + 1)::bigint AS k FROM generate_series(1, 20000) g;

GRANT SELECT ON t_ours, t_plpgsql, t_subplan, bench_perm, bench_keys TO ledger_staff;
VACUUM ANALYZE t_ours, t_plpgsql, t_subplan, bench_perm, bench_keys;

-- Best elapsed ms of reps runs of a query, as the calling role.
CREATE FUNCTION bench_ms(q text, reps int) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; best numeric := 1e12; r record;
BEGIN
    FOR i IN 1..reps LOOP
        t0 := clock_timestamp();
        EXECUTE q INTO r;
        best := least(best, extract(epoch FROM clock_timestamp() - t0) * 1000);
    END LOOP;
    RETURN round(best, 2);
END $$;
GRANT EXECUTE ON FUNCTION bench_ms(text, int) TO PUBLIC;
