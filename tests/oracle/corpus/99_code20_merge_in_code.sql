/*
MERGE inside server-side code whose target is a distributed table (a PL/pgSQL function, a
DO block, a procedure, a SQL function, a trigger function): through the loopback the
target is a postgres_fdw foreign table, into which PostgreSQL merges nothing ("cannot
execute MERGE on relation", 0A000). The statement is now handed to the coordinator as an
upsert is (sql/plpgsql_upsert.py, `gridpg.loopback_run`), the PL/pgSQL variables it uses
written in as typed literals: FOUND, ROW_COUNT, RETURNING INTO and RETURN QUERY as in
PostgreSQL.
*/

CREATE TABLE m20_stock (item int PRIMARY KEY, qty int, note text);
CREATE TABLE m20_moves (item int, delta int);
CREATE TABLE m20_totals (item int PRIMARY KEY, moved int);
INSERT INTO m20_stock SELECT g, g, 'start' FROM generate_series(1, 8) g;
INSERT INTO m20_moves SELECT g, g * 10 FROM generate_series(5, 12) g;

CREATE FUNCTION m20_apply(upto int) RETURNS int LANGUAGE plpgsql AS $$ DECLARE n int; BEGIN MERGE INTO m20_stock t USING (SELECT item, delta FROM m20_moves WHERE item <= upto) s ON t.item = s.item WHEN MATCHED AND s.delta > 100 THEN DELETE WHEN MATCHED THEN UPDATE SET qty = t.qty + s.delta, note = 'moved' WHEN NOT MATCHED THEN INSERT VALUES (s.item, s.delta, 'new'); GET DIAGNOSTICS n = ROW_COUNT; RETURN n; END $$;
SELECT m20_apply(10);
SELECT * FROM m20_stock ORDER BY item;
SELECT m20_apply(0);

CREATE FUNCTION m20_set(k int, v int) RETURNS text LANGUAGE plpgsql AS $$ DECLARE act text; BEGIN MERGE INTO m20_stock t USING (VALUES (k, v)) AS s(item, qty) ON t.item = s.item WHEN MATCHED THEN UPDATE SET qty = s.qty WHEN NOT MATCHED THEN INSERT VALUES (s.item, s.qty, 'set') RETURNING merge_action() INTO act; IF NOT FOUND THEN RETURN 'none'; END IF; RETURN act; END $$;
SELECT m20_set(1, 100);
SELECT m20_set(50, 500);
SELECT * FROM m20_stock WHERE item IN (1, 50) ORDER BY item;

CREATE FUNCTION m20_touch(lo int) RETURNS TABLE (action text, item int, qty int) LANGUAGE plpgsql AS $$ BEGIN RETURN QUERY MERGE INTO m20_stock t USING (SELECT generate_series(lo, lo + 2) AS item) s ON t.item = s.item WHEN MATCHED THEN UPDATE SET qty = t.qty + 1 WHEN NOT MATCHED THEN INSERT VALUES (s.item, 0, 'touched') RETURNING merge_action(), t.item, t.qty; END $$;
SELECT * FROM m20_touch(2) ORDER BY item;
SELECT * FROM m20_touch(99) ORDER BY item;

DO $$ BEGIN MERGE INTO m20_stock t USING m20_moves s ON t.item = s.item WHEN NOT MATCHED THEN INSERT VALUES (s.item, -s.delta, 'from do'); END $$;
SELECT * FROM m20_stock ORDER BY item;

CREATE PROCEDURE m20_proc(k int) LANGUAGE plpgsql AS $$ BEGIN MERGE INTO m20_stock t USING (SELECT k AS item) s ON t.item = s.item WHEN MATCHED THEN UPDATE SET note = 'proc'; COMMIT; MERGE INTO m20_stock t USING (SELECT k + 1 AS item) s ON t.item = s.item WHEN MATCHED THEN DELETE; ROLLBACK; END $$;
CALL m20_proc(3);
SELECT * FROM m20_stock WHERE item IN (3, 4) ORDER BY item;

CREATE FUNCTION m20_sql(k int) RETURNS void LANGUAGE sql AS $$ MERGE INTO m20_stock t USING (SELECT k AS item) s ON t.item = s.item WHEN MATCHED THEN UPDATE SET note = 'sql fn' $$;
SELECT m20_sql(6);
SELECT note FROM m20_stock WHERE item = 6;

-- a variable named like a column of the target: ambiguous, as in PostgreSQL
CREATE FUNCTION m20_ambiguous(qty int) RETURNS void LANGUAGE plpgsql AS $$ BEGIN MERGE INTO m20_stock t USING (SELECT 1 AS item) s ON t.item = s.item WHEN MATCHED AND qty > 0 THEN UPDATE SET note = 'x'; END $$;
-- error
SELECT m20_ambiguous(1);

-- an error inside: caught by an EXCEPTION block, which undoes the MERGE
CREATE FUNCTION m20_guarded(k int) RETURNS text LANGUAGE plpgsql AS $$ BEGIN MERGE INTO m20_stock t USING (SELECT k AS item) s ON t.item = s.item WHEN MATCHED THEN UPDATE SET qty = qty / 0; RETURN 'merged'; EXCEPTION WHEN division_by_zero THEN RETURN 'caught'; END $$;
SELECT m20_guarded(1);
SELECT qty FROM m20_stock WHERE item = 1;

-- a trigger function merging into a table keyed otherwise (fired by the coordinator)
CREATE FUNCTION m20_count() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN MERGE INTO m20_totals t USING (SELECT NEW.item AS item, NEW.delta AS delta) s ON t.item = s.item WHEN MATCHED THEN UPDATE SET moved = t.moved + s.delta WHEN NOT MATCHED THEN INSERT VALUES (s.item, s.delta); RETURN NEW; END $$;
CREATE TRIGGER m20_count AFTER INSERT ON m20_moves FOR EACH ROW EXECUTE FUNCTION m20_count();
INSERT INTO m20_moves VALUES (1, 5), (1, 7), (2, 1);
SELECT * FROM m20_totals ORDER BY item;

-- in blocks: rolled back and committed with the caller
BEGIN;
SELECT m20_set(2, 222);
SELECT qty FROM m20_stock WHERE item = 2;
ROLLBACK;
SELECT qty FROM m20_stock WHERE item = 2;
BEGIN;
SELECT m20_set(2, 223);
COMMIT;
SELECT qty FROM m20_stock WHERE item = 2;
