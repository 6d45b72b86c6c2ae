-- bench/rls/bench.sql — one line per case: case|role|ms|rows.  Per-row cost only: no parallel
-- workers, so every plan scans in one process.
\set ON_ERROR_STOP 1
SET max_parallel_workers_per_gather = 0;
SET jit = off;
SET enable_hashjoin = off;
SET enable_mergejoin = off;
\pset format unaligned
\pset tuples_only on
-- count over 1M rows
SELECT 'count, all 20 org units visible|hand-written filter (superuser)|' || bench_ms($$SELECT count(*) FROM t_ours WHERE org_unit_id = ANY('{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20}')$$, 7);
SET ROLE bench_approver;
SELECT 'count, all 20 org units visible|ours (ledger.may)|' || bench_ms($$SELECT count(*) FROM t_ours$$, 7);
SELECT 'count, all 20 org units visible|hashed-subplan policy|' || bench_ms($$SELECT count(*) FROM t_subplan$$, 7);
SELECT 'count, all 20 org units visible|PL/pgSQL policy|' || bench_ms($$SELECT count(*) FROM t_plpgsql$$, 1);
RESET ROLE;
SELECT 'count, 1 org unit visible|hand-written filter (superuser)|' || bench_ms($$SELECT count(*) FROM t_ours WHERE org_unit_id = ANY('{3}')$$, 7);
SET ROLE bench_clerk;
SELECT 'count, 1 org unit visible|ours (ledger.may)|' || bench_ms($$SELECT count(*) FROM t_ours$$, 7);
SELECT 'count, 1 org unit visible|hashed-subplan policy|' || bench_ms($$SELECT count(*) FROM t_subplan$$, 7);
SELECT 'count, 1 org unit visible|PL/pgSQL policy|' || bench_ms($$SELECT count(*) FROM t_plpgsql$$, 1);
RESET ROLE;
-- 20,000 indexed lookups (nested loop over the primary key) in one statement
SELECT '20000 indexed lookups|hand-written filter (superuser)|' || bench_ms($$SELECT count(*) FROM bench_keys g JOIN t_ours t ON t.id = g.k WHERE t.org_unit_id = ANY('{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20}')$$, 7);
SET ROLE bench_approver;
SELECT '20000 indexed lookups|ours (ledger.may)|' || bench_ms($$SELECT count(*) FROM bench_keys g JOIN t_ours t ON t.id = g.k$$, 7);
SELECT '20000 indexed lookups|hashed-subplan policy|' || bench_ms($$SELECT count(*) FROM bench_keys g JOIN t_subplan t ON t.id = g.k$$, 7);
SELECT '20000 indexed lookups|PL/pgSQL policy|' || bench_ms($$SELECT count(*) FROM bench_keys g JOIN t_plpgsql t ON t.id = g.k$$, 3);
RESET ROLE;
SET ROLE bench_approver;
RESET ROLE;
