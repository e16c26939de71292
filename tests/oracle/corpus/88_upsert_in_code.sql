/*
INSERT ... ON CONFLICT (target) DO UPDATE / DO NOTHING into distributed and replicated
tables from server-side code (sql/plpgsql_upsert.py): postgres_fdw cannot send it to the
loopback's shadows (42P10 before), so the twin of the routine or trigger function hands the
statement, its variables' values written in, to the coordinator (gridpg.loopback_run), which
runs it inside the caller's transaction. Upsert-counter triggers (AFTER INSERT / DELETE,
daily counters, ON CONFLICT ON CONSTRAINT, excluded, DO UPDATE ... WHERE), PL/pgSQL
functions (RETURNING INTO, STRICT, FOUND, ROW_COUNT, EXCEPTION blocks), procedures
committing, DO blocks; commit, rollback, savepoints, the other coordinator.
*/

CREATE TABLE shop_orders (id int PRIMARY KEY, cust text NOT NULL, placed date NOT NULL, amount numeric(10, 2) NOT NULL) DISTRIBUTE BY HASH (id);
CREATE TABLE cust_counts (cust text PRIMARY KEY, n int NOT NULL, total numeric(12, 2) NOT NULL) DISTRIBUTE BY HASH (cust);
CREATE TABLE daily (day date CONSTRAINT daily_pk PRIMARY KEY, orders int NOT NULL DEFAULT 0, big int NOT NULL DEFAULT 0) DISTRIBUTE BY MODULO (day);
CREATE TABLE tag_counts (owner text, tag text, n int NOT NULL, UNIQUE (owner, tag)) DISTRIBUTE BY HASH (owner);
CREATE TABLE seen_cust (cust text PRIMARY KEY, first_order int NOT NULL) DISTRIBUTE BY REPLICATION;

-- the counter trigger every app has
CREATE FUNCTION count_order() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'INSERT' THEN INSERT INTO cust_counts (cust, n, total) VALUES (NEW.cust, 1, NEW.amount) ON CONFLICT (cust) DO UPDATE SET n = cust_counts.n + 1, total = cust_counts.total + excluded.total; ELSIF TG_OP = 'DELETE' THEN UPDATE cust_counts SET n = n - 1, total = total - OLD.amount WHERE cust = OLD.cust; END IF; RETURN NULL; END $$;
CREATE FUNCTION count_day() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO daily AS d (day, orders, big) VALUES (NEW.placed, 1, CASE WHEN NEW.amount >= 100 THEN 1 ELSE 0 END) ON CONFLICT ON CONSTRAINT daily_pk DO UPDATE SET orders = d.orders + 1, big = d.big + excluded.big; RETURN NEW; END $$;
CREATE FUNCTION first_seen() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO seen_cust VALUES (NEW.cust, NEW.id) ON CONFLICT (cust) DO NOTHING; IF FOUND THEN RAISE NOTICE 'new customer %', NEW.cust; END IF; RETURN NULL; END $$;
CREATE TRIGGER orders_count AFTER INSERT OR DELETE ON shop_orders FOR EACH ROW EXECUTE FUNCTION count_order();
CREATE TRIGGER orders_day AFTER INSERT ON shop_orders FOR EACH ROW EXECUTE FUNCTION count_day();
CREATE TRIGGER orders_seen AFTER INSERT ON shop_orders FOR EACH ROW EXECUTE FUNCTION first_seen();

INSERT INTO shop_orders VALUES (1, 'ann', '2024-01-01', 50), (2, 'bob', '2024-01-01', 150), (3, 'ann', '2024-01-02', 200);
INSERT INTO shop_orders VALUES (4, 'ann', '2024-01-02', 10);
SELECT * FROM cust_counts ORDER BY cust;
SELECT * FROM daily ORDER BY day;
SELECT * FROM seen_cust ORDER BY cust;

-- inside a block: the counters see the block's own writes; rollback undoes them everywhere
BEGIN;
INSERT INTO shop_orders VALUES (5, 'cy', '2024-01-03', 500);
SELECT * FROM cust_counts ORDER BY cust;
SELECT * FROM daily ORDER BY day;
ROLLBACK;
SELECT * FROM cust_counts ORDER BY cust;
SELECT * FROM daily ORDER BY day;
SELECT * FROM seen_cust ORDER BY cust;

BEGIN;
INSERT INTO shop_orders VALUES (6, 'cy', '2024-01-03', 500);
SAVEPOINT s1;
INSERT INTO shop_orders VALUES (7, 'cy', '2024-01-03', 1);
ROLLBACK TO SAVEPOINT s1;
INSERT INTO shop_orders SELECT 100 + g, 'dee', '2024-01-04', g * 60 FROM generate_series(1, 3) g;
COMMIT;
SELECT * FROM cust_counts ORDER BY cust;
SELECT * FROM daily ORDER BY day;
DELETE FROM shop_orders WHERE cust = 'dee' AND amount > 100;
SELECT * FROM cust_counts ORDER BY cust;
-- an UPDATE fires none of them: it runs as any UPDATE (it was refused for their functions)
UPDATE shop_orders SET amount = amount + 1 WHERE id IN (1, 2) RETURNING id, amount;
SELECT * FROM cust_counts ORDER BY cust;

-- a trigger's error undoes the statement and its counters
CREATE FUNCTION no_zero() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.amount = 0 THEN RAISE EXCEPTION 'zero order %', NEW.id USING ERRCODE = 'P0001'; END IF; RETURN NULL; END $$;
CREATE TRIGGER orders_zz AFTER INSERT ON shop_orders FOR EACH ROW EXECUTE FUNCTION no_zero();
-- error
INSERT INTO shop_orders VALUES (8, 'eve', '2024-01-05', 5), (9, 'eve', '2024-01-05', 0);
SELECT * FROM cust_counts ORDER BY cust;
SELECT * FROM seen_cust ORDER BY cust;

-- PL/pgSQL functions: RETURNING INTO, STRICT, FOUND, ROW_COUNT, DO UPDATE ... WHERE
CREATE FUNCTION tag(who text, t text) RETURNS int LANGUAGE plpgsql AS $$ DECLARE cnt int; BEGIN INSERT INTO tag_counts AS c (owner, tag, n) VALUES (who, lower(t), 1) ON CONFLICT (owner, tag) DO UPDATE SET n = c.n + 1 RETURNING c.n INTO cnt; RETURN cnt; END $$;
CREATE FUNCTION tag_strict(who text, t text) RETURNS text LANGUAGE plpgsql AS $$ DECLARE cnt int; o text; BEGIN INSERT INTO tag_counts AS c (owner, tag, n) VALUES (who, t, 1) ON CONFLICT (owner, tag) DO UPDATE SET n = c.n + 1 WHERE c.n < 3 RETURNING n, owner INTO STRICT cnt, o; RETURN o || ':' || cnt; END $$;
CREATE FUNCTION tag_once(who text, t text) RETURNS text LANGUAGE plpgsql AS $$ DECLARE rc int; BEGIN INSERT INTO tag_counts VALUES (who, t, 1) ON CONFLICT (owner, tag) DO NOTHING; GET DIAGNOSTICS rc = ROW_COUNT; RETURN rc || ' ' || FOUND; END $$;
CREATE FUNCTION tag_many(who text) RETURNS int LANGUAGE plpgsql AS $$ DECLARE cnt int; BEGIN INSERT INTO tag_counts VALUES (who, 'x', 1), (who, 'y', 1) ON CONFLICT (owner, tag) DO UPDATE SET n = tag_counts.n + 1 RETURNING n INTO cnt; RETURN cnt; END $$;
CREATE FUNCTION tag_bad(n int) RETURNS void LANGUAGE plpgsql AS $$ BEGIN INSERT INTO tag_counts VALUES ('amb', 'amb', n) ON CONFLICT (owner, tag) DO UPDATE SET n = tag_counts.n + n; END $$;
CREATE FUNCTION tag_safe(who text, t text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN BEGIN INSERT INTO tag_counts VALUES (who, t, 1) ON CONFLICT (owner, tag) DO UPDATE SET n = tag_counts.n + 1; RAISE EXCEPTION 'undo'; EXCEPTION WHEN raise_exception THEN RETURN 'undone'; END; END $$;
SELECT tag('ann', 'Red'), tag('ann', 'red'), tag('bob', 'red');
SELECT tag_strict('ann', 'red');
-- error
SELECT tag_strict('ann', 'red');
SELECT tag_once('ann', 'red'), tag_once('ann', 'blue');
-- error
SELECT tag_many('cy');
SELECT count(*) FROM tag_counts WHERE owner = 'cy';
-- error
SELECT tag_bad(1);
SELECT tag_safe('ann', 'red'), tag_safe('zed', 'new');
SELECT * FROM tag_counts ORDER BY owner, tag;
BEGIN;
SELECT tag('fay', 'a'), tag('fay', 'a');
SELECT * FROM tag_counts WHERE owner = 'fay';
ROLLBACK;
SELECT count(*) FROM tag_counts WHERE owner = 'fay';

-- values of every kind written into the statement
CREATE TABLE kinds (k int PRIMARY KEY, t text, ts timestamptz, d numeric, a int[], j jsonb, b bytea) DISTRIBUTE BY HASH (k);
CREATE FUNCTION put_kinds(kk int, t text, ts timestamptz, d numeric, a int[], j jsonb, b bytea) RETURNS void LANGUAGE plpgsql AS $$ BEGIN INSERT INTO kinds VALUES (put_kinds.kk, put_kinds.t, put_kinds.ts, put_kinds.d, put_kinds.a, put_kinds.j, put_kinds.b) ON CONFLICT (k) DO UPDATE SET t = excluded.t || '+', a = kinds.a || put_kinds.a; END $$;
CREATE FUNCTION put_bad(k int) RETURNS void LANGUAGE plpgsql AS $$ BEGIN INSERT INTO kinds (k) VALUES (k) ON CONFLICT (k) DO NOTHING; END $$;
SELECT put_kinds(1, E'it''s \\ "q" 50%', '2024-02-29 12:34:56.789+02', 1.10, ARRAY[1, NULL, 3], '{"x": [1, "y"]}', '\x00ff');
SELECT put_kinds(1, NULL, NULL, NULL, ARRAY[4], NULL, NULL);
SELECT put_kinds(2, NULL, NULL, NULL, NULL, NULL, NULL);
-- error
SELECT put_bad(3);
SELECT * FROM kinds ORDER BY k;

-- DO blocks and procedures (a procedure's COMMIT keeps what it upserted)
DO $$ DECLARE i int; BEGIN FOR i IN 1..4 LOOP INSERT INTO tag_counts VALUES ('loop', 't' || (i % 2), i) ON CONFLICT (owner, tag) DO UPDATE SET n = tag_counts.n + excluded.n; END LOOP; END $$;
SELECT * FROM tag_counts WHERE owner = 'loop' ORDER BY tag;
CREATE PROCEDURE tag_batches(who text) LANGUAGE plpgsql AS $$ BEGIN INSERT INTO tag_counts VALUES (who, 'p', 1) ON CONFLICT (owner, tag) DO UPDATE SET n = tag_counts.n + 1; COMMIT; INSERT INTO tag_counts VALUES (who, 'p', 1) ON CONFLICT (owner, tag) DO UPDATE SET n = tag_counts.n + 1; ROLLBACK; END $$;
CALL tag_batches('proc');
SELECT * FROM tag_counts WHERE owner = 'proc';

-- the other coordinator
\connect 2
INSERT INTO shop_orders VALUES (10, 'ann', '2024-01-01', 100);
SELECT tag('ann', 'red');
\connect 1
SELECT * FROM cust_counts ORDER BY cust;
SELECT * FROM daily ORDER BY day;
SELECT * FROM tag_counts ORDER BY owner, tag;
