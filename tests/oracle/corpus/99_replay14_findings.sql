/*
Differences the fourteenth replay of Citus's regression files (h-citus14, 2026-12-05)
showed in files never replayed before, each reduced to its smallest form.
*/

-- multi_prepare_sql.sql:201 (Citus): a prepared statement whose parameter is of a type of
-- the default search_path's schema, executed under a search_path without that schema:
-- 42704 "type ... does not exist" (the coordinator named the type without its schema,
-- as its own connection sees it, and the datanodes read the name under the session's path)
DROP SCHEMA IF EXISTS r14 CASCADE;
DROP SCHEMA IF EXISTS r14_other CASCADE;
CREATE SCHEMA r14;
CREATE SCHEMA r14_other;
CREATE TYPE public.r14_pair AS (i integer, i2 integer);
CREATE TABLE r14.ret (id bigint NOT NULL, comment varchar(20), stats public.r14_pair);
INSERT INTO r14.ret VALUES (1, 'a', '(1,1)'), (2, 'b', '(2,2)'), (3, 'c', '(1,1)');
SET search_path TO r14_other;
PREPARE r14_one(public.r14_pair) AS SELECT count(*) FROM r14.ret WHERE id = 1 AND stats = $1;
EXECUTE r14_one('(1,1)');
EXECUTE r14_one('(1,1)'::public.r14_pair);
PREPARE r14_all(public.r14_pair) AS SELECT id, comment FROM r14.ret WHERE stats = $1 ORDER BY id;
EXECUTE r14_all('(1,1)');
EXECUTE r14_all('(2,2)');
PREPARE r14_put(public.r14_pair) AS INSERT INTO r14.ret VALUES (4, 'd', $1) RETURNING id, stats::text;
EXECUTE r14_put('(4,4)');
DEALLOCATE r14_one;
DEALLOCATE r14_all;
DEALLOCATE r14_put;
RESET search_path;

-- multi_modifications.sql:367-418, 488 (Citus): an UPDATE setting the distribution column
-- to a value a top-level WHERE conjunct equates it with (`SET a = s.a ... WHERE t.a =
-- s.a`, `SET a = b WHERE a = b`) keeps every row on its node: 0A000 "UPDATE of the
-- distribution column with a FROM that reads tables", as if the rows moved
CREATE TABLE r14.d1 (a int, b int, c int) DISTRIBUTE BY HASH (a);
CREATE TABLE r14.d2 (a int, b int, c int) DISTRIBUTE BY HASH (a);
INSERT INTO r14.d1 SELECT g, g % 7, g % 5 FROM generate_series(1, 40) g;
INSERT INTO r14.d2 SELECT g, g % 7 + 1, g % 3 FROM generate_series(1, 40, 2) g;
UPDATE r14.d1 SET a = r14.d2.a, c = r14.d2.c + 100 FROM r14.d2 WHERE r14.d1.a = r14.d2.a;
UPDATE r14.d1 SET a = b, c = 7 WHERE a = b;
UPDATE r14.d1 t SET a = s.a, b = -s.b FROM r14.d2 s WHERE s.a = t.a AND t.b = s.c AND (s.c > 1 OR s.c < 0) RETURNING t.a, t.b, t.c;
WITH cte AS (SELECT a, b FROM r14.d1) UPDATE r14.d1 SET a = cte.a, c = c + 1000 FROM cte WHERE r14.d1.a = cte.a;
SELECT * FROM r14.d1 ORDER BY a;
-- multi_modifications.sql:544-589: the same in a MERGE's WHEN MATCHED UPDATE, equated by ON
MERGE INTO r14.d1 USING r14.d2 src ON (r14.d1.a = src.a) WHEN MATCHED THEN UPDATE SET a = src.a, b = src.b * 10;
MERGE INTO r14.d1 USING r14.d1 src ON (r14.d1.a = src.a AND r14.d1.a = src.b) WHEN MATCHED THEN UPDATE SET a = src.b, c = -1;
SELECT * FROM r14.d1 ORDER BY a;
-- a value not equated still moves the row
UPDATE r14.d1 SET a = a + 100 WHERE a = 3;
SELECT * FROM r14.d1 WHERE a IN (3, 103) ORDER BY a;

-- multi_select_for_update.sql:38, 57, 69 (Citus): a join of two tables on their
-- distribution columns with one side pinned by the WHERE clause ran on every node (the
-- other side was not pinned), where FOR UPDATE with ORDER BY was refused (0A000). The
-- pin now follows the equality: the statement goes to the one node, whole
CREATE TABLE r14.f1 (id int, val_1 int) DISTRIBUTE BY HASH (id);
CREATE TABLE r14.f3 (id int, val_1 int) DISTRIBUTE BY HASH (id);
INSERT INTO r14.f1 SELECT g, g + 1 FROM generate_series(1, 30) g;
INSERT INTO r14.f3 SELECT g, g * 2 FROM generate_series(1, 30, 2) g;
SELECT * FROM r14.f1 AS tt1 INNER JOIN r14.f1 AS tt2 ON tt1.id = tt2.id WHERE tt1.id = 1 ORDER BY 1 FOR UPDATE;
SELECT * FROM r14.f1 AS tt1 INNER JOIN r14.f3 AS tt3 ON tt1.id = tt3.id WHERE tt1.id = 1 ORDER BY 1 FOR UPDATE;
SELECT * FROM r14.f1 AS tt1 INNER JOIN r14.f3 AS tt3 ON tt1.id = tt3.id WHERE tt1.id IN (3, 4, 5) ORDER BY 1 FOR SHARE;
-- the pin through outer joins, USING and WHERE equalities gives PostgreSQL's rows
SELECT f1.id, f3.val_1 FROM r14.f1 LEFT JOIN r14.f3 ON f1.id = f3.id WHERE f1.id = 2;
SELECT f1.id, f3.val_1 FROM r14.f1 LEFT JOIN r14.f3 ON f1.id = f3.id WHERE f1.id IN (2, 3, 17) AND f3.id IS NULL ORDER BY 1;
SELECT f1.id, f3.id FROM r14.f3 RIGHT JOIN r14.f1 ON f1.id = f3.id WHERE f1.id = 4;
SELECT f1.id, f3.id FROM r14.f1 FULL JOIN r14.f3 ON f1.id = f3.id WHERE f3.id = 5;
SELECT count(*), sum(f3.val_1) FROM r14.f1 JOIN r14.f3 USING (id) WHERE f1.id = 7;
SELECT count(*) FROM r14.f1, r14.f3 WHERE f3.id = f1.id AND f1.id = 9;
SELECT count(*) FROM r14.f1 JOIN r14.f3 ON f1.id = f3.id WHERE f3.id = 9 OR f1.id = 10;
UPDATE r14.f3 SET val_1 = f1.val_1 FROM r14.f1 WHERE f1.id = f3.id AND f1.id = 11 RETURNING f3.id, f3.val_1;
DELETE FROM r14.f3 USING r14.f1 WHERE f1.id = f3.id AND f1.id = 13 RETURNING f3.id;
SELECT count(*), sum(val_1) FROM r14.f3;
PREPARE r14_pin(int) AS SELECT * FROM r14.f1 AS tt1 JOIN r14.f3 AS tt3 ON tt1.id = tt3.id WHERE tt1.id = $1 ORDER BY 1 FOR UPDATE;
EXECUTE r14_pin(15);
EXECUTE r14_pin(16);
EXECUTE r14_pin(17);
DEALLOCATE r14_pin;

-- pg13.sql:93 (Citus): EXPLAIN of a statement over distributed tables with an option that
-- needs ANALYZE printed gridpg's plan; PostgreSQL refuses the option list (22023)
-- error
EXPLAIN (WAL) INSERT INTO r14.f1 VALUES (100, 1);
-- error
EXPLAIN (COSTS OFF, TIMING) SELECT * FROM r14.f1;
-- error
EXPLAIN (SERIALIZE) SELECT * FROM r14.f1;
-- error
EXPLAIN (ANALYZE, GENERIC_PLAN) SELECT * FROM r14.f1 WHERE id = $1;
SELECT count(*) FROM r14.f1 WHERE id = 100;

-- multi_sequence_default.sql:37 (Citus): ALTER TABLE ... ADD COLUMN filled from a sequence
-- numbered a node's rows in the order of their ctids' texts ('(0,10)' before '(0,2)'):
-- the rows inserted 1, 2, 3 got 1, 12, 23 where PostgreSQL's scan gives 1, 2, 3
CREATE SEQUENCE r14.seq_0;
CREATE TABLE r14.seq_test (x int, y int) DISTRIBUTE BY HASH (x);
INSERT INTO r14.seq_test SELECT 1, s FROM generate_series(1, 50) s;
ALTER TABLE r14.seq_test ADD COLUMN z int DEFAULT nextval('r14.seq_0');
ALTER TABLE r14.seq_test ADD COLUMN w serial;
SELECT * FROM r14.seq_test ORDER BY y LIMIT 15;
SELECT count(*) FROM r14.seq_test WHERE z = y AND w = y;

DROP SCHEMA r14 CASCADE;
DROP SCHEMA r14_other CASCADE;
DROP TYPE public.r14_pair;
