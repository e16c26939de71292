/*
MERGE and INSERT ... ON CONFLICT in dynamic SQL of server-side code (h-code21). PostgreSQL
merges into no foreign table ("cannot execute MERGE on relation", 0A000), and a shadow has
no unique index to infer a conflict target from (42P10): such a text into a distributed
table is now run by the coordinator as the client's statement (executor/dynamic_text.py,
`gridpg.loopback_run`), its EXECUTE ... USING parameters put in as typed literals; ROW_COUNT
counts the rows written. Static ones were taken over already (99_code20_merge_in_code.sql).
*/

DROP SCHEMA IF EXISTS c21_mg CASCADE;
CREATE SCHEMA c21_mg;
CREATE TABLE c21_mg.stock (sku int PRIMARY KEY, qty int NOT NULL, note text) DISTRIBUTE BY HASH (sku);
CREATE TABLE c21_mg.incoming (sku int PRIMARY KEY, qty int NOT NULL) DISTRIBUTE BY HASH (sku);
CREATE TABLE c21_mg.totals (k text PRIMARY KEY, n int NOT NULL) DISTRIBUTE BY HASH (k);
INSERT INTO c21_mg.stock VALUES (1, 10, 'a'), (2, 20, 'b');
INSERT INTO c21_mg.incoming VALUES (2, 5), (3, 7);

-- a constant MERGE text in a DO block, names with their schema
DO $$ BEGIN EXECUTE 'MERGE INTO c21_mg.stock s USING c21_mg.incoming i ON s.sku = i.sku WHEN MATCHED THEN UPDATE SET qty = s.qty + i.qty WHEN NOT MATCHED THEN INSERT (sku, qty, note) VALUES (i.sku, i.qty, ''new'')'; END $$;
SELECT sku, qty, note FROM c21_mg.stock ORDER BY sku;

-- a made one with parameters of several types, ROW_COUNT, NULL and a quote in a parameter
CREATE FUNCTION c21_mg.put(s text, k int, q int, n text) RETURNS int LANGUAGE plpgsql AS $$ DECLARE c int; BEGIN EXECUTE format('MERGE INTO %I.stock AS d USING (VALUES ($1, $2, $3)) AS v(sku, qty, note) ON d.sku = v.sku WHEN MATCHED AND $2 = 0 THEN DELETE WHEN MATCHED THEN UPDATE SET qty = v.qty, note = v.note WHEN NOT MATCHED THEN INSERT VALUES (v.sku, v.qty, v.note)', s) USING k, q, n; GET DIAGNOSTICS c = ROW_COUNT; RETURN c; END $$;
SELECT c21_mg.put('c21_mg', 4, 40, 'it''s 50%');
SELECT c21_mg.put('c21_mg', 1, 11, NULL);
SELECT c21_mg.put('c21_mg', 2, 0, 'gone');
SELECT sku, qty, note FROM c21_mg.stock ORDER BY sku;

-- upserts with a conflict target, in a function and in a block that rolls back
CREATE FUNCTION c21_mg.bump(key text) RETURNS int LANGUAGE plpgsql AS $$ DECLARE c int; BEGIN EXECUTE 'INSERT INTO c21_mg.totals AS t (k, n) VALUES ($1, 1) ON CONFLICT (k) DO UPDATE SET n = t.n + 1' USING key; GET DIAGNOSTICS c = ROW_COUNT; RETURN c; END $$;
SELECT c21_mg.bump('x'), c21_mg.bump('y');
SELECT c21_mg.bump('x');
BEGIN;
SELECT c21_mg.bump('x');
SELECT k, n FROM c21_mg.totals ORDER BY k;
ROLLBACK;
SELECT k, n FROM c21_mg.totals ORDER BY k;

-- a trigger merging into a summary by TG_TABLE_SCHEMA
CREATE FUNCTION c21_mg.roll_up() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN EXECUTE format('MERGE INTO %I.totals t USING (VALUES ($1)) AS v(k) ON t.k = v.k WHEN MATCHED THEN UPDATE SET n = t.n + $2 WHEN NOT MATCHED THEN INSERT VALUES (v.k, $2)', TG_TABLE_SCHEMA) USING 'incoming', NEW.qty; RETURN NULL; END $$;
CREATE TRIGGER roll AFTER INSERT ON c21_mg.incoming FOR EACH ROW EXECUTE FUNCTION c21_mg.roll_up();
INSERT INTO c21_mg.incoming VALUES (5, 3), (6, 4);
INSERT INTO c21_mg.incoming VALUES (7, 1);
SELECT k, n FROM c21_mg.totals ORDER BY k;

DROP SCHEMA c21_mg CASCADE;
