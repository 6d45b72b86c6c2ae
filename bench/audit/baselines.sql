-- Baselines for bench/audit, the triggers a municipal system would write without the
-- extension.  Same table shape for every variant: bench_<variant>(id, municipality, name,
-- amount, updated).

-- 1. A PL/pgSQL trigger that logs the row as jsonb.
CREATE TABLE bench_jsonb_log (id bigserial, at timestamptz NOT NULL DEFAULT clock_timestamp(),
                              who text NOT NULL DEFAULT current_user, tab text, op text, row_data jsonb);
CREATE FUNCTION bench_jsonb_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bench_jsonb_log (tab, op, row_data)
    VALUES (TG_TABLE_NAME, TG_OP, to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END));
    RETURN NULL;
END $$;

-- 2. A PL/pgSQL hash chain: each record hashes the previous record's hash with its own
-- content, found by scanning for the newest record (no index: the naive version, quadratic).
CREATE TABLE bench_chain_log (seq bigint, at timestamptz, who text, row_data jsonb, prev bytea, hash bytea);
CREATE FUNCTION bench_chain_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_seq bigint;
    last_hash bytea;
    body jsonb := to_jsonb(NEW);
BEGIN
    SELECT seq, hash INTO last_seq, last_hash FROM bench_chain_log ORDER BY seq DESC LIMIT 1;
    INSERT INTO bench_chain_log VALUES (coalesce(last_seq, 0) + 1, clock_timestamp(), current_user, body,
        last_hash, sha256(coalesce(last_hash, '\x') || convert_to(body::text, 'UTF8')));
    RETURN NULL;
END $$;

CREATE FUNCTION bench_make_table(variant text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('DROP TABLE IF EXISTS %I', 'bench_' || variant);
    EXECUTE format('CREATE TABLE %I (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, municipality char(6) NOT NULL, '
                   'name text NOT NULL, amount integer NOT NULL, updated date NOT NULL)', 'bench_' || variant);
    IF variant = 'ours' THEN
        PERFORM ledger.audit_table(('bench_' || variant)::regclass);
    ELSIF variant = 'jsonb' THEN
        EXECUTE 'CREATE TRIGGER t AFTER INSERT OR UPDATE OR DELETE ON bench_jsonb FOR EACH ROW EXECUTE FUNCTION bench_jsonb_trigger()';
    ELSIF variant = 'chain' THEN
        EXECUTE 'CREATE TRIGGER t AFTER INSERT OR UPDATE OR DELETE ON bench_chain FOR EACH ROW EXECUTE FUNCTION bench_chain_trigger()';
    END IF;
END $$;

-- Milliseconds for one INSERT ... SELECT of n rows into a fresh table of the variant.
CREATE FUNCTION bench_insert_ms(variant text, n integer) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz;
BEGIN
    PERFORM bench_make_table(variant);
    t0 := clock_timestamp();
    EXECUTE format('INSERT INTO %I (municipality, name, amount, updated) '
                   'SELECT ''131016'', ''受給者'' || i, 10000 + i %% 20000, date ''2024-10-01'' + i %% 365 '
                   'FROM generate_series(1, %s) AS i', 'bench_' || variant, n);
    RETURN round((extract(epoch FROM clock_timestamp() - t0) * 1000)::numeric, 1);
END $$;
