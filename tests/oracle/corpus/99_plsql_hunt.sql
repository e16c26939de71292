/*
Cases from replaying PostgreSQL's PL/pgSQL regression files through gridpg (issue 12),
over tables with gridpg's default distribution: PL/pgSQL bodies pglast's catalog-less
parser could not read (an array of a domain or composite as the result, a %ROWTYPE[]
variable), DO blocks PostgreSQL's PL/pgSQL grammar rejects (PostgreSQL's SQLSTATE, was
0A000), row-by-row writes of code on a table whose triggers the coordinator fires, and
UPDATEs of the distribution column (rows move) next to foreign keys and triggers.
(Refusals, 0A000: tests/integration/test_plsql_hunt.py.)
*/

CREATE DOMAIN uint2 AS int4 CHECK (VALUE >= 0 AND VALUE < 65536);
CREATE TYPE pair AS (i int, j int);
CREATE DOMAIN ordered_pair AS pair CHECK ((VALUE).i <= (VALUE).j);
CREATE TABLE slot (id int, name text, hits int);
INSERT INTO slot SELECT g, 's' || g, g * 10 FROM generate_series(1, 12) g;

CREATE FUNCTION build_uint2_array(x int2) RETURNS uint2[] LANGUAGE plpgsql AS $$ BEGIN RETURN array[x, x]; END $$;
SELECT build_uint2_array(7::int2)::text;
-- error
SELECT build_uint2_array(-1::int2);
CREATE FUNCTION build_pairs(i int, j int) RETURNS ordered_pair[] LANGUAGE plpgsql AS $$ DECLARE r ordered_pair[] := array[row(i, j)::ordered_pair]; BEGIN r[2] := row(i, j + 1)::ordered_pair; RETURN r; END $$;
SELECT build_pairs(1, 2)::text;
-- error
SELECT build_pairs(2, 1);
CREATE FUNCTION slot_hits(lo int) RETURNS SETOF pair[] LANGUAGE plpgsql AS $$ BEGIN RETURN QUERY SELECT array_agg(row(id, hits)::pair ORDER BY id) FROM slot WHERE id >= lo; END $$;
SELECT h::text FROM slot_hits(10) h;

DO $$ DECLARE rows slot%ROWTYPE[]; n int; BEGIN rows := array(SELECT s FROM slot s WHERE id <= 3 ORDER BY id); n := array_length(rows, 1); IF n <> 3 OR rows[2].name <> 's2' THEN RAISE EXCEPTION 'wrong rows %', rows; END IF; UPDATE slot SET hits = hits + n WHERE id = rows[1].id; END $$;
SELECT * FROM slot WHERE id <= 3 ORDER BY id;

-- error
DO $$ DECLARE x constant int; BEGIN x := 42; END $$;
-- error
DO $$ DECLARE x int NOT NULL; BEGIN RAISE NOTICE 'x = %', x; END $$;
-- error
DO $$ DECLARE c slot; BEGIN d.c2.x = 1; END $$;
-- error
DO LANGUAGE plpgsql $$ BEGIN RETURN 1; END $$;
-- error
DO $$ BEGIN UPDATE slot SET hits = 0; SELEC 1; END $$;
SELECT count(*) FROM slot WHERE hits = 0;

CREATE TABLE slot_log (note text, id int);
CREATE FUNCTION slot_trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO slot_log VALUES (TG_OP || ' ' || OLD.hits || '->' || NEW.hits, NEW.id); RETURN NEW; END $$;
CREATE TRIGGER slot_t AFTER UPDATE ON slot FOR EACH ROW EXECUTE FUNCTION slot_trg();
CREATE FUNCTION slot_limit() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 4; END $$;
CREATE FUNCTION bump_slots() RETURNS int LANGUAGE plpgsql AS $$ DECLARE n int; BEGIN UPDATE slot SET hits = hits + 1 WHERE id < slot_limit(); GET DIAGNOSTICS n = ROW_COUNT; DELETE FROM slot WHERE id > 3 * slot_limit() - 1; RETURN n; END $$;
SELECT bump_slots();
SELECT * FROM slot ORDER BY id;
SELECT * FROM slot_log ORDER BY id, note;
BEGIN;
SELECT bump_slots();
SELECT count(*) FROM slot_log;
ROLLBACK;
SELECT count(*) FROM slot_log;

CREATE TABLE moved (a int, b int);
CREATE TABLE moved_log (op text);
CREATE FUNCTION moved_trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO moved_log VALUES (TG_OP || ' ' || TG_WHEN || ' ' || TG_LEVEL); RETURN NULL; END $$;
CREATE TRIGGER moved_upd AFTER UPDATE ON moved FOR EACH STATEMENT EXECUTE FUNCTION moved_trg();
CREATE TRIGGER moved_ins AFTER INSERT ON moved FOR EACH STATEMENT EXECUTE FUNCTION moved_trg();
CREATE TRIGGER moved_del BEFORE DELETE ON moved FOR EACH STATEMENT EXECUTE FUNCTION moved_trg();
CREATE TRIGGER moved_ins_row AFTER INSERT ON moved FOR EACH ROW EXECUTE FUNCTION moved_trg();
INSERT INTO moved SELECT g, g FROM generate_series(1, 10) g;
UPDATE moved SET a = a + 100 WHERE b <= 5;
SELECT * FROM moved ORDER BY a;
SELECT op, count(*) FROM moved_log GROUP BY op ORDER BY op;

CREATE TABLE parent_key (a int PRIMARY KEY, b text);
CREATE TABLE child_key (a int REFERENCES parent_key, b text);
INSERT INTO parent_key VALUES (1, 'x'), (2, 'y'), (3, 'z');
INSERT INTO child_key VALUES (1, 'c');
-- error
UPDATE parent_key SET a = 11 WHERE a = 1;
UPDATE parent_key SET a = a + 20 WHERE a > 1;
SELECT * FROM parent_key ORDER BY a;
SELECT * FROM child_key ORDER BY a;
