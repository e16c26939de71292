/*
INSERT / UPDATE / DELETE / MERGE of a distributed table calling a user function that
reads the session's temp table (h-tempcode): the same call in a SELECT worked, in a write
it ran on the datanodes, which have no such table (42P01). gridpg evaluates such a call
once on the session's catalog connection (where its temp tables are, in its transaction)
and routes by the value (executor/temp_calls.py), when that is PostgreSQL's answer:
arguments without columns of the rows, code that writes nothing and reads no distributed
table, STABLE, or VOLATILE calling nothing volatile. A function returning NULL, one
raising an error (nothing written), a transaction block rolled back, PL/pgSQL running
such a write, and a PREPAREd write executed after the temp table changed.
*/
CREATE TABLE t (id int PRIMARY KEY, v text) DISTRIBUTE BY HASH (id);
INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 100) g;
CREATE TEMP TABLE params (k text PRIMARY KEY, val int);
INSERT INTO params VALUES ('min', 10), ('max', 20);
CREATE FUNCTION p(name text) RETURNS int LANGUAGE sql STABLE AS $$ SELECT val FROM params WHERE k = name $$;
SELECT count(*) FROM t WHERE id BETWEEN p('min') AND p('max');
INSERT INTO t VALUES (p('max') + 1000, 'from temp');
UPDATE t SET v = 'upd' WHERE id = p('min');
DELETE FROM t WHERE id > p('max') AND id < 30;
SELECT id, v FROM t WHERE id BETWEEN 8 AND 31 OR id > 1000 ORDER BY id;
UPDATE t SET v = 'sub' WHERE id = (SELECT val FROM params WHERE k = 'min') + 1;
UPDATE t SET v = 'both ' || p('max') WHERE id = p('min') + 2 RETURNING id, v, p('max');
INSERT INTO t VALUES (p('min') + 2000, 'ret') RETURNING id, p('max') AS mx, p('min');
INSERT INTO t SELECT id + 3000, v FROM t WHERE id BETWEEN p('min') AND p('min') + 1;
DELETE FROM t WHERE id = p(lower('MAX')) + 1000 RETURNING *;
SELECT id, v FROM t WHERE id BETWEEN 8 AND 13 OR id > 1000 ORDER BY id;

-- sub-selects over the temp table in VALUES rows (evaluated once, as PostgreSQL does)
INSERT INTO t VALUES ((SELECT val FROM params WHERE k = 'max') + 9000, 'sub');
INSERT INTO t VALUES ((SELECT val FROM params WHERE k = 'min') + 9000, ARRAY(SELECT k FROM params ORDER BY k)::text), (9100, (EXISTS (SELECT 1 FROM params WHERE val > 15))::text || p('max')) RETURNING *;
-- error
INSERT INTO t VALUES ((SELECT val FROM params) + 9200, 'two rows');
-- error
INSERT INTO t VALUES ((SELECT val FROM params WHERE k = 'none'), 'null key');
INSERT INTO t VALUES ((SELECT max(t2.id) FROM t t2, params WHERE t2.id < 9000) + 1, 'mixed');
SELECT id, v FROM t WHERE id > 9000 OR id = 1021 ORDER BY id;
-- set-returning functions and calls in FROM (their rows put back as unnest(array))
CREATE FUNCTION p_set() RETURNS SETOF int LANGUAGE sql STABLE AS $$ SELECT val FROM params ORDER BY val $$;
UPDATE t SET v = 'in set' WHERE id IN (SELECT p_set());
UPDATE t SET v = 'any set' WHERE id = ANY (ARRAY(SELECT p_set() + 1));
UPDATE t SET v = 'from set' FROM p_set() WHERE t.id = p_set + 2 RETURNING t.id, p_set;
UPDATE t SET v = 'ordinality' FROM p_set() WITH ORDINALITY AS x(val, n) WHERE t.id = x.val + 3 RETURNING t.id, x.n;
UPDATE t SET v = 'from scalar' FROM p('min') AS q WHERE t.id = q + 4 RETURNING q;
DELETE FROM t USING p('max') WHERE t.id = p + 5 RETURNING t.id, p;
INSERT INTO t SELECT p_set() + 9500, 'srf' RETURNING *;
INSERT INTO t VALUES (p_set() + 9600, 'srf in values');
WITH s AS (SELECT p_set()) UPDATE t SET v = 'cte' FROM s WHERE t.id = s.p_set + 6 RETURNING t.id, s.p_set;
-- error
UPDATE t SET v = 'never' WHERE id = p_set();
-- error
UPDATE t SET v = 'never' WHERE id = 1 RETURNING p_set();
SELECT id, v FROM t WHERE id BETWEEN 10 AND 26 OR id > 9500 ORDER BY id;
-- a function returning NULL
CREATE FUNCTION p_none() RETURNS int LANGUAGE sql STABLE AS $$ SELECT val FROM params WHERE k = 'none' $$;
UPDATE t SET v = 'null key' WHERE id = p_none();
UPDATE t SET v = coalesce(p_none()::text, 'was null') WHERE id = 1;
INSERT INTO t VALUES (4000, 'x' || p_none());
SELECT id, v FROM t WHERE id IN (1, 4000) ORDER BY id;
-- nested calls, PL/pgSQL, and a VOLATILE function that only reads the temp table
CREATE FUNCTION p_pl(name text) RETURNS int LANGUAGE plpgsql STABLE AS $$ BEGIN RETURN p(name) * 2; END $$;
CREATE FUNCTION p_vol(name text) RETURNS int LANGUAGE sql AS $$ SELECT val + 1 FROM params WHERE k = name $$;
UPDATE t SET v = 'pl' WHERE id = p_pl('min');
UPDATE t SET v = 'vol' WHERE id = p_vol(p('max')::text) OR id = p_vol('max');
SELECT id, v FROM t WHERE id IN (20, 21) ORDER BY id;
-- code reading the temp table and distributed or replicated tables (the loopback runs it)
CREATE TABLE r (id int PRIMARY KEY, n int) DISTRIBUTE BY REPLICATION;
INSERT INTO r VALUES (1, 1), (2, 2);
CREATE FUNCTION p_dist() RETURNS int LANGUAGE sql STABLE AS $$ SELECT val + (SELECT count(*)::int FROM t WHERE id < 3) FROM params WHERE k = 'min' $$;
CREATE FUNCTION p_repl() RETURNS int LANGUAGE sql STABLE AS $$ SELECT val + (SELECT sum(n)::int FROM r) FROM params WHERE k = 'min' $$;
UPDATE t SET v = 'dist' WHERE id = p_dist();
DELETE FROM t WHERE id = p_dist() + 1;
INSERT INTO t VALUES (p_dist() + 7000, 'dist');
UPDATE t SET v = 'repl' WHERE id = p_repl();
SELECT id, v FROM t WHERE id BETWEEN 12 AND 13 OR id > 7000 ORDER BY id;
-- an error raised by the function: nothing written
CREATE FUNCTION p_strict(name text) RETURNS int LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM params WHERE k = name) THEN
    RAISE EXCEPTION 'no parameter %', name USING ERRCODE = '22023'; -- nothing written
  END IF; -- known
  RETURN (SELECT val FROM params WHERE k = name); -- its value
END $$;
-- error
UPDATE t SET v = 'never' WHERE id = p_strict('nope');
-- error
INSERT INTO t VALUES (p_strict('nope'), 'never');
SELECT count(*) FROM t WHERE v = 'never';
-- inside a transaction block: the block's own writes to the temp table are seen
BEGIN;
UPDATE params SET val = 50 WHERE k = 'min';
UPDATE t SET v = 'in block' WHERE id = p('min');
SELECT id, v FROM t WHERE id = 50;
ROLLBACK;
SELECT id, v FROM t WHERE id IN (10, 50) ORDER BY id;
SELECT val FROM params ORDER BY k;
BEGIN;
UPDATE params SET val = 60 WHERE k = 'max';
DELETE FROM t WHERE id = p('max');
COMMIT;
SELECT count(*) FROM t WHERE id = 60;
-- an error in a block fails the block
BEGIN;
UPDATE t SET v = 'rolled' WHERE id = p('min');
-- error
DELETE FROM t WHERE id = p_strict('nope');
ROLLBACK;
SELECT id, v FROM t WHERE id = 10;
-- PL/pgSQL running such writes
CREATE FUNCTION bump(tag text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  UPDATE t SET v = tag WHERE id = p('min'); -- routed by the value
  INSERT INTO t VALUES (p('min') + 5000, tag); -- a new row
END $$;
SELECT bump('bumped');
SELECT id, v FROM t WHERE id IN (10, 5010) ORDER BY id;
DO $$ BEGIN UPDATE t SET v = 'do block' WHERE id = p('min') + 1; END $$;
CREATE FUNCTION bump_key(key text) RETURNS int LANGUAGE plpgsql AS $$ DECLARE n int; BEGIN UPDATE t SET v = 'by key' WHERE id = p(key) OR id = p(key) + 2; GET DIAGNOSTICS n = ROW_COUNT; RETURN n; END $$;
BEGIN;
SELECT bump_key('min');
SELECT id, v FROM t WHERE id BETWEEN 10 AND 12 ORDER BY id;
ROLLBACK;
SELECT bump_key('min');
SELECT id, v FROM t WHERE id BETWEEN 10 AND 12 OR id = 5010 ORDER BY id;
-- a PREPAREd write sees the temp table's contents at each execution
PREPARE upd(text, text) AS UPDATE t SET v = $2 WHERE id = p($1);
EXECUTE upd('min', 'first');
UPDATE params SET val = 11 WHERE k = 'min';
EXECUTE upd('min', 'second');
EXECUTE upd('none', 'third');
SELECT id, v FROM t WHERE id IN (10, 11) ORDER BY id;
DEALLOCATE upd;
-- MERGE
MERGE INTO t USING (SELECT p('min') AS id) s ON t.id = s.id
  WHEN MATCHED THEN UPDATE SET v = 'merged'
  WHEN NOT MATCHED THEN INSERT VALUES (s.id, 'merged new');
UPDATE params SET val = 6000 WHERE k = 'min';
MERGE INTO t USING (SELECT p('min') AS id) s ON t.id = s.id
  WHEN MATCHED THEN UPDATE SET v = 'merged'
  WHEN NOT MATCHED THEN INSERT VALUES (s.id, 'merged new');
SELECT id, v FROM t WHERE id IN (11, 6000) ORDER BY id;
-- writes of a table with triggers (BEFORE ROW on the datanodes, AFTER ROW writing another table)
CREATE TABLE tt (id int PRIMARY KEY, v text) DISTRIBUTE BY HASH (id);
CREATE TABLE audit (id int, note text) DISTRIBUTE BY HASH (id);
INSERT INTO tt SELECT g, 'v' FROM generate_series(1, 30) g;
CREATE FUNCTION tt_before() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.v := NEW.v || '!'; RETURN NEW; END $$;
CREATE TRIGGER tb BEFORE UPDATE ON tt FOR EACH ROW EXECUTE FUNCTION tt_before();
UPDATE tt SET v = 'before' WHERE id = p('max') - 5;
CREATE FUNCTION tt_after() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO audit VALUES (NEW.id, NEW.v); RETURN NULL; END $$;
CREATE TRIGGER ta AFTER UPDATE ON tt FOR EACH ROW EXECUTE FUNCTION tt_after();
UPDATE tt SET v = 'after' WHERE id IN (p('max') - 4, p('max') - 3);
SELECT id, v FROM tt WHERE v <> 'v' ORDER BY id;
SELECT id, note FROM audit ORDER BY id;
SELECT count(*), sum(id) FROM t;
-- a scalar function whose body has a line starting " RETURNS SETOF" (in a comment): it is
-- still one value (pg_get_functiondef's RETURNS clause is its second line), not a set
CREATE FUNCTION p_doc(name text) RETURNS int LANGUAGE plpgsql STABLE AS $$
/*
 RETURNS SETOF int was its first signature
*/
BEGIN RETURN (SELECT val FROM params WHERE k = name); END $$;
INSERT INTO t VALUES (p_doc('max') + 7000, 'doc');
UPDATE t SET v = 'doc upd' WHERE id = p_doc('min') + 7000 - 10 + 10;
SELECT id, v FROM t WHERE id > 7000 ORDER BY id;
