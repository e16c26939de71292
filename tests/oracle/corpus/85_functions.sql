/*
Server-side code that gridpg runs with PostgreSQL's answer: functions, procedures and DO
blocks that touch no distributed table (SQL, PL/pgSQL, BEGIN ATOMIC, nested calls,
exceptions), used over distributed tables (routed, pushed down, aggregated, in WHERE),
in transactions that commit or roll back; row triggers that only change NEW fire on the
datanodes where the rows are. (Code that reads or writes distributed tables is refused
with 0A000: tests/integration/test_server_side_code.py.)
*/

CREATE TABLE fitems (id int PRIMARY KEY, qty int NOT NULL, label text) DISTRIBUTE BY HASH (id);
CREATE TABLE fmod (id int PRIMARY KEY, qty int) DISTRIBUTE BY MODULO (id);
CREATE TABLE fref (code text PRIMARY KEY, factor int) DISTRIBUTE BY REPLICATION;
INSERT INTO fitems SELECT g, g % 7, 'item ' || g FROM generate_series(1, 40) g;
INSERT INTO fmod SELECT g, g * 3 FROM generate_series(1, 12) g;
INSERT INTO fref VALUES ('a', 2), ('b', 3);

CREATE FUNCTION twice(i int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT i * 2 $$;
CREATE FUNCTION twice_atomic(i int) RETURNS int LANGUAGE sql IMMUTABLE BEGIN ATOMIC SELECT i * 2; END;
CREATE FUNCTION bucket(i int) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN IF i < 3 THEN RETURN 'low'; ELSIF i < 5 THEN RETURN 'mid'; END IF; RETURN 'high'; END $$;
CREATE FUNCTION nested(i int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN twice(i) + twice_atomic(i); END $$;
CREATE FUNCTION checked(i int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN IF i < 0 THEN RAISE EXCEPTION 'negative: %', i USING ERRCODE = '22003'; END IF; RETURN i; END $$;
CREATE FUNCTION safe_div(a int, b int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN a / b; EXCEPTION WHEN division_by_zero THEN RETURN NULL; END $$;
CREATE PROCEDURE bump(INOUT n int) LANGUAGE plpgsql AS $$ BEGIN n := n + 1; END $$;

SELECT twice(21), twice_atomic(4), bucket(4), nested(5), safe_div(7, 0), safe_div(7, 2);
SELECT id, twice(qty), bucket(qty) FROM fitems WHERE id = 9;
SELECT id, twice(qty) AS t FROM fitems WHERE id IN (1, 2, 3) ORDER BY id;
SELECT bucket(qty) AS b, count(*), sum(twice(qty)) FROM fitems GROUP BY bucket(qty) ORDER BY b;
SELECT id FROM fitems WHERE nested(qty) > 20 ORDER BY id;
SELECT f.id, twice(f.qty) * r.factor FROM fitems f JOIN fref r ON r.code = 'b' WHERE f.id < 4 ORDER BY f.id;
SELECT max(nested(qty)), min(checked(qty)) FROM fmod;
SELECT id, safe_div(100, qty) FROM fitems WHERE id BETWEEN 5 AND 9 ORDER BY id;
-- error
SELECT checked(qty - 10) FROM fitems WHERE id = 3;
CALL bump(41);
DO $$ BEGIN PERFORM twice(1); RAISE NOTICE 'done'; END $$;
-- error
DO $$ BEGIN RAISE EXCEPTION 'from a DO block' USING ERRCODE = 'P0001'; END $$;

-- in transactions
BEGIN;
INSERT INTO fitems VALUES (100, twice(5), bucket(1));
SELECT * FROM fitems WHERE id = 100;
ROLLBACK;
SELECT count(*) FROM fitems WHERE id = 100;
BEGIN;
INSERT INTO fitems VALUES (101, nested(2), 'n');
UPDATE fitems SET qty = twice(qty) WHERE id IN (1, 2);
COMMIT;
SELECT * FROM fitems WHERE id IN (1, 2, 101) ORDER BY id;
BEGIN;
UPDATE fitems SET qty = 0 WHERE id = 3;
-- error
SELECT checked(-1);
ROLLBACK;
SELECT qty FROM fitems WHERE id = 3;

-- row triggers that change NEW fire where the rows are
CREATE FUNCTION norm_label() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.label := upper(coalesce(NEW.label, 'none')); IF NEW.qty < 0 THEN RAISE EXCEPTION 'qty must be >= 0' USING ERRCODE = '23514'; END IF; RETURN NEW; END $$;
CREATE TRIGGER fitems_norm BEFORE INSERT OR UPDATE ON fitems FOR EACH ROW EXECUTE FUNCTION norm_label();
INSERT INTO fitems VALUES (200, 1, 'abc'), (201, 2, NULL), (202, 3, 'x y');
UPDATE fitems SET label = 'lower' WHERE id = 5;
SELECT * FROM fitems WHERE id >= 200 OR id = 5 ORDER BY id;
-- error
INSERT INTO fitems VALUES (203, -1, 'bad');
SELECT count(*) FROM fitems WHERE id = 203;
CREATE FUNCTION skip_zero() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.qty = 0 THEN RETURN NULL; END IF; RETURN NEW; END $$;
CREATE TRIGGER fmod_skip BEFORE INSERT ON fmod FOR EACH ROW EXECUTE FUNCTION skip_zero();
INSERT INTO fmod VALUES (20, 0), (21, 5), (22, 0);
SELECT * FROM fmod WHERE id >= 20 ORDER BY id;
DROP TRIGGER fitems_norm ON fitems;
INSERT INTO fitems VALUES (204, 4, 'kept lower');
SELECT label FROM fitems WHERE id = 204;
