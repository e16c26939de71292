/*
Server-side code over a distributed inheritance tree (h-plpgsql26): `FROM ONLY parent`,
`UPDATE ONLY`, `DELETE FROM ONLY` inside PL/pgSQL functions, SQL functions, dynamic SQL and
DO blocks read and write the parent's own rows, and the same statements without ONLY the
children's too. Through the loopback, postgres_fdw's statements carried no ONLY: the
children's rows were read and written silently (sql/shadow_only.py). Also a child added and
one dropped after the code first ran (the shadow is made again), and joins.
*/

CREATE TABLE inh_parent (id int, v text) DISTRIBUTE BY HASH (id);
CREATE TABLE inh_kid (extra int) INHERITS (inh_parent);
CREATE TABLE inh_other (id int, w text) DISTRIBUTE BY HASH (id);
INSERT INTO inh_parent VALUES (1, 'p1'), (2, 'p2');
INSERT INTO inh_kid VALUES (3, 'k3', 30), (4, 'k4', 40);
INSERT INTO inh_other VALUES (1, 'o1'), (3, 'o3');

CREATE FUNCTION inh_only_pl() RETURNS SETOF text LANGUAGE plpgsql AS $$ BEGIN RETURN QUERY SELECT v FROM ONLY inh_parent ORDER BY id; END $$;
CREATE FUNCTION inh_all_pl() RETURNS SETOF text LANGUAGE plpgsql AS $$ BEGIN RETURN QUERY SELECT v FROM inh_parent ORDER BY id; END $$;
CREATE FUNCTION inh_only_sql() RETURNS SETOF text LANGUAGE sql AS $$ SELECT v FROM ONLY inh_parent ORDER BY id $$;
CREATE FUNCTION inh_all_sql() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM inh_parent $$;
CREATE FUNCTION inh_only_count() RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE n bigint; BEGIN SELECT count(*) INTO n FROM ONLY inh_parent; RETURN n; END $$;
CREATE FUNCTION inh_only_dynamic() RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE n bigint; BEGIN EXECUTE 'SELECT count(*) FROM ONLY inh_parent WHERE id > $1' INTO n USING 0; RETURN n; END $$;
CREATE FUNCTION inh_only_join() RETURNS SETOF text LANGUAGE plpgsql AS $$ BEGIN RETURN QUERY SELECT p.v || '/' || o.w FROM ONLY inh_parent p JOIN inh_other o ON o.id = p.id ORDER BY 1; END $$;
CREATE FUNCTION inh_all_join() RETURNS SETOF text LANGUAGE plpgsql AS $$ BEGIN RETURN QUERY SELECT p.v || '/' || o.w FROM inh_parent p JOIN inh_other o ON o.id = p.id ORDER BY 1; END $$;
CREATE FUNCTION inh_only_update(suffix text) RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE n bigint; BEGIN UPDATE ONLY inh_parent SET v = v || suffix; GET DIAGNOSTICS n = ROW_COUNT; RETURN n; END $$;
CREATE FUNCTION inh_all_update(suffix text) RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE n bigint; BEGIN UPDATE inh_parent SET v = v || suffix WHERE id > 1; GET DIAGNOSTICS n = ROW_COUNT; RETURN n; END $$;
CREATE FUNCTION inh_only_delete(k int) RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE n bigint; BEGIN DELETE FROM ONLY inh_parent WHERE id >= k; GET DIAGNOSTICS n = ROW_COUNT; RETURN n; END $$;
CREATE FUNCTION inh_all_delete(k int) RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE n bigint; BEGIN DELETE FROM inh_parent WHERE id >= k; GET DIAGNOSTICS n = ROW_COUNT; RETURN n; END $$;
CREATE FUNCTION inh_insert(k int) RETURNS void LANGUAGE plpgsql AS $$ BEGIN INSERT INTO inh_parent VALUES (k, 'new' || k); END $$;

SELECT * FROM inh_only_pl();
SELECT * FROM inh_all_pl();
SELECT * FROM inh_only_sql();
SELECT inh_all_sql();
SELECT inh_only_count();
SELECT inh_only_dynamic();
SELECT * FROM inh_only_join();
SELECT * FROM inh_all_join();
SELECT id, inh_only_count() FROM inh_parent ORDER BY id;
BEGIN;
SELECT inh_only_update('!');
SELECT id, v FROM inh_parent ORDER BY id;
ROLLBACK;
BEGIN;
SELECT inh_all_update('?');
SELECT id, v FROM inh_parent ORDER BY id;
SELECT inh_only_delete(2);
SELECT inh_all_delete(4);
SELECT id, v FROM inh_parent ORDER BY id;
ROLLBACK;
-- row by row (postgres_fdw cannot send a SET or WHERE calling random(): it reads the rows
-- with their ctid, then writes each; frontend/by_ctid.py)
CREATE FUNCTION inh_volatile_update(only_parent bool) RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE n bigint; BEGIN IF only_parent THEN UPDATE ONLY inh_parent SET v = v || (random() < 2)::text; ELSE UPDATE inh_parent SET v = v || (random() < 2)::text WHERE id <> 2; END IF; GET DIAGNOSTICS n = ROW_COUNT; RETURN n; END $$;
CREATE FUNCTION inh_volatile_delete(only_parent bool) RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE n bigint; BEGIN IF only_parent THEN DELETE FROM ONLY inh_parent WHERE random() < 2 AND id = 1; ELSE DELETE FROM inh_parent WHERE random() < 2 AND id IN (2, 3); END IF; GET DIAGNOSTICS n = ROW_COUNT; RETURN n; END $$;
BEGIN;
SELECT inh_volatile_update(true);
SELECT inh_volatile_update(false);
SELECT id, v FROM inh_parent ORDER BY id;
SELECT inh_volatile_delete(true);
SELECT inh_volatile_delete(false);
SELECT id, v FROM inh_parent ORDER BY id;
ROLLBACK;
CREATE FUNCTION inh_truncate(only_parent bool) RETURNS void LANGUAGE plpgsql AS $$ BEGIN IF only_parent THEN TRUNCATE ONLY inh_parent; ELSE TRUNCATE inh_parent; END IF; END $$;
BEGIN;
SELECT inh_truncate(true);
SELECT id, v FROM inh_parent ORDER BY id;
SELECT inh_truncate(false);
SELECT count(*) FROM inh_parent;
ROLLBACK;
SELECT inh_insert(5);
SELECT id, v FROM ONLY inh_parent ORDER BY id;
DO $$ DECLARE n bigint; m bigint; BEGIN SELECT count(*) INTO n FROM ONLY inh_parent; SELECT count(*) INTO m FROM inh_parent; INSERT INTO inh_other VALUES (n, 'only'), (m, 'all'); END $$;
SELECT id, w FROM inh_other ORDER BY id, w;

-- a second child after the code ran: its rows are children's rows, not the parent's
CREATE TABLE inh_kid2 () INHERITS (inh_parent);
INSERT INTO inh_kid2 VALUES (6, 'k6');
SELECT * FROM inh_only_pl();
SELECT * FROM inh_all_pl();
SELECT inh_all_sql();
-- a statement that reads the tree itself and calls code reading distributed tables runs
-- whole through the loopback: ONLY there too (misc.sql:189; refused with 0A000 before)
CREATE FUNCTION inh_others(inh_parent) RETURNS SETOF text LANGUAGE sql AS $$ SELECT w FROM inh_other WHERE id = $1.id $$;
SELECT p.id, inh_others(p) FROM ONLY inh_parent p ORDER BY 1, 2;
SELECT p.id, p.inh_others FROM inh_parent p ORDER BY 1, 2;
SELECT p.v, (SELECT count(*) FROM inh_others(p)) FROM ONLY inh_parent p WHERE p.id < 10 ORDER BY 1;
-- the children gone: the parent reads alone again
DROP TABLE inh_kid, inh_kid2;
SELECT * FROM inh_only_pl();
SELECT * FROM inh_all_pl();
SELECT inh_only_update('.');
SELECT inh_all_sql();
SELECT id, v FROM inh_parent ORDER BY id;

-- UPDATE of the distribution column inside server-side code: the rows move between
-- datanodes with their copies on a side catalog connection (the caller's runs the code;
-- plpgsql_call.sql:547 failed with 0A000)
CREATE TABLE moved_keys (x int, note text) DISTRIBUTE BY HASH (x);
INSERT INTO moved_keys VALUES (0, 'zero'), (10, 'ten');
CREATE FUNCTION moved_get(k int) RETURNS text LANGUAGE plpgsql STABLE AS $$ DECLARE r text; BEGIN SELECT note INTO r FROM moved_keys WHERE x = k; RETURN r; END $$;
CREATE FUNCTION moved_shift(d int) RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE n bigint; BEGIN UPDATE moved_keys SET x = x + d; GET DIAGNOSTICS n = ROW_COUNT; RETURN n; END $$;
CREATE FUNCTION moved_one(k int, d int) RETURNS int LANGUAGE plpgsql AS $$ DECLARE r int; BEGIN UPDATE moved_keys SET x = x + d WHERE x = k RETURNING x INTO r; RETURN r; END $$;
DO $$ BEGIN UPDATE moved_keys SET x = x + 1; IF moved_get(1) IS DISTINCT FROM 'zero' THEN RAISE EXCEPTION 'not moved'; END IF; UPDATE moved_keys SET x = x + 1; END $$;
SELECT x, note FROM moved_keys ORDER BY x;
SELECT moved_shift(5);
SELECT x, note FROM moved_keys ORDER BY x;
SELECT moved_one(7, 100);
SELECT x, note FROM moved_keys ORDER BY x;
BEGIN;
SELECT moved_shift(1000);
SELECT x, note FROM moved_keys ORDER BY x;
ROLLBACK;
SELECT x, note FROM moved_keys ORDER BY x;
BEGIN;
DO $$ BEGIN UPDATE moved_keys SET x = -x; END $$;
SELECT moved_get(-107), moved_get(-17);
COMMIT;
SELECT x, note FROM moved_keys ORDER BY x;
DO $$ BEGIN BEGIN UPDATE moved_keys SET x = x * 2; PERFORM 1 / 0; EXCEPTION WHEN division_by_zero THEN RAISE NOTICE 'undone'; END; END $$;
SELECT x, note FROM moved_keys ORDER BY x;

-- arrays of copied types in every spelling (plpgsql_array.sql:91: the body was unreadable,
-- the DO block refused)
DO $$ DECLARE v int; a v%type array; b v%TYPE ARRAY[1]; c moved_keys%rowtype[]; BEGIN a := array(SELECT x FROM moved_keys ORDER BY x); c := array(SELECT m FROM moved_keys m ORDER BY x); b := a; INSERT INTO moved_keys VALUES (array_length(b, 1) * 1000, c[1].note); END $$;
SELECT x, note FROM moved_keys ORDER BY x;

-- the first child comes after the code ran (the shadow was made whole, then split), by
-- INHERITS and by ALTER TABLE ... INHERIT
CREATE TABLE late_parent (id int, v text) DISTRIBUTE BY HASH (id);
INSERT INTO late_parent VALUES (1, 'p');
CREATE FUNCTION late_counts() RETURNS text LANGUAGE plpgsql AS $$ DECLARE a bigint; b bigint; BEGIN SELECT count(*) INTO a FROM ONLY late_parent; SELECT count(*) INTO b FROM late_parent; RETURN a || '/' || b; END $$;
SELECT late_counts();
CREATE TABLE late_kid () INHERITS (late_parent);
INSERT INTO late_kid VALUES (2, 'k');
SELECT late_counts();
CREATE TABLE late_kid2 (id int, v text) DISTRIBUTE BY HASH (id);
INSERT INTO late_kid2 VALUES (3, 'k2'), (4, 'k2');
ALTER TABLE late_kid2 INHERIT late_parent;
SELECT late_counts();
ALTER TABLE late_kid2 NO INHERIT late_parent;
SELECT late_counts();
CREATE TABLE mv_audit (n serial, old_x int, new_x int) DISTRIBUTE BY HASH (n);
CREATE TABLE mv_t (x int, note text) DISTRIBUTE BY HASH (x);
INSERT INTO mv_t VALUES (1, 'a'), (2, 'b');
CREATE FUNCTION mv_log() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO mv_audit (old_x, new_x) VALUES (OLD.x, NEW.x); RETURN NULL; END $$;
CREATE TRIGGER mv_after AFTER UPDATE ON mv_t FOR EACH ROW EXECUTE FUNCTION mv_log();
CREATE FUNCTION mv_shift() RETURNS void LANGUAGE plpgsql AS $$ BEGIN UPDATE mv_t SET x = x + 10; END $$;
UPDATE mv_t SET x = x + 100;
SELECT old_x, new_x FROM mv_audit ORDER BY 1;
SELECT mv_shift();
SELECT old_x, new_x FROM mv_audit ORDER BY 1;
SELECT x, note FROM mv_t ORDER BY 1;
CREATE FUNCTION mv_stmt() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO mv_audit (old_x, new_x) VALUES (-1, -1); RETURN NULL; END $$;
CREATE TRIGGER mv_stmt_t AFTER UPDATE ON mv_t FOR EACH STATEMENT EXECUTE FUNCTION mv_stmt();
SELECT mv_shift();
SELECT old_x, new_x FROM mv_audit ORDER BY 1, 2;
SELECT x, note FROM mv_t ORDER BY 1;
