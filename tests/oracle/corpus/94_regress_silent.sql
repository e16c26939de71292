/*
Silent differences the PostgreSQL regression replay found (issue 12), each reduced to its
smallest form as a user would write it: statements PostgreSQL refuses that gridpg's
rewriting strategies answered, or answered differently.
*/

-- join.sql: an aliased join hides the tables inside it; a broadcast or coordinator finish
-- rewrote the FROM list and answered (PostgreSQL: 42P01)
CREATE TABLE "RR join a" (i int, j int, t text) DISTRIBUTE BY HASH (j);
CREATE TABLE rr_join_b (i int, k int) DISTRIBUTE BY HASH (i);
INSERT INTO "RR join a" VALUES (1, 4, 'one'), (2, 3, 'two'), (3, 2, 'three'), (0, NULL, 'zero');
INSERT INTO rr_join_b VALUES (1, -1), (2, 2), (3, -3), (2, 4), (5, -5);
-- error
SELECT * FROM ("RR join a" JOIN rr_join_b USING (i)) AS x WHERE "RR join a".t = 'one';
-- error
SELECT /* hidden */ rr_join_b.k FROM ("RR join a" a JOIN rr_join_b USING (i)) AS x ORDER BY 1;
-- error
SELECT count(*) FROM rr_join_b WHERE i IN (SELECT a.i FROM ("RR join a" a JOIN rr_join_b b USING (i)) x WHERE b.k > 0);
SELECT x.t, x.k FROM ("RR join a" JOIN rr_join_b USING (i)) AS x WHERE x.t <> 'two' ORDER BY 1, 2;
SELECT a.t, b.k FROM "RR join a" a JOIN rr_join_b b USING (i) WHERE a.t = 'one';
SELECT a.t FROM ("RR join a" a JOIN rr_join_b USING (i)) AS x, "RR join a" a WHERE a.i = x.i AND a.t = 'one';
BEGIN;
-- error
SELECT * FROM ("RR join a" JOIN rr_join_b USING (i)) AS x WHERE rr_join_b.k = 4;
ROLLBACK;

-- insert_conflict.sql: EXPLAIN of an INSERT ... ON CONFLICT with no matching unique index
-- printed the routed plan (PostgreSQL's planner: 42P10)
CREATE TABLE rr_upsert (key int, fruit text) DISTRIBUTE BY HASH (key);
-- error
EXPLAIN (COSTS OFF) INSERT INTO rr_upsert VALUES (0, 'crowberry') ON CONFLICT (key) DO NOTHING;
-- error
INSERT INTO rr_upsert VALUES (0, 'crowberry') ON CONFLICT (key) DO NOTHING;
CREATE UNIQUE INDEX rr_upsert_key ON rr_upsert (key);
INSERT INTO rr_upsert VALUES (0, 'crowberry') ON CONFLICT (key) DO NOTHING;
BEGIN;
-- error
EXPLAIN (COSTS OFF) INSERT INTO rr_upsert VALUES (1, 'fig') ON CONFLICT (lower(fruit)) DO NOTHING;
ROLLBACK;
SELECT * FROM rr_upsert;

-- join.sql: EXPLAIN of a statement finished on the coordinator printed its plan although
-- it names a relation that does not exist (PostgreSQL: 42P01)
-- error
EXPLAIN (COSTS OFF) SELECT a.i, b.k FROM "RR join a" a RIGHT JOIN rr_no_such_table b ON b.k = a.i WHERE a.t < 'x';
-- error
EXPLAIN SELECT count(*) FROM rr_join_b WHERE no_such_column > 0;

-- limit.sql: FETCH FIRST n ROWS WITH TIES over several nodes; the sorted merge applied
-- LIMIT n to the merged rows and dropped the ties (2 rows where PostgreSQL returns 10)
CREATE TABLE rr_ties (id int, thousand int, grp text) DISTRIBUTE BY HASH (id);
INSERT INTO rr_ties SELECT g, g / 10, 'g' || (g % 3) FROM generate_series(0, 99) g;
SELECT thousand FROM rr_ties WHERE thousand < 5 ORDER BY thousand FETCH FIRST 2 ROW WITH TIES;
SELECT thousand FROM rr_ties WHERE thousand < 5 ORDER BY thousand FETCH FIRST ROWS WITH TIES;
SELECT id, thousand FROM rr_ties ORDER BY thousand DESC FETCH FIRST 1 ROW WITH TIES;
SELECT thousand FROM rr_ties ORDER BY thousand OFFSET 5 FETCH NEXT 3 ROWS WITH TIES;
SELECT thousand FROM rr_ties ORDER BY thousand OFFSET 15 ROWS FETCH FIRST 10 ROWS WITH TIES;
-- unordered
SELECT id FROM /* hidden key */ rr_ties ORDER BY thousand FETCH FIRST 11 ROWS WITH TIES;
SELECT DISTINCT thousand FROM rr_ties ORDER BY thousand FETCH FIRST 2 ROWS WITH TIES;
SELECT grp, count(*) FROM rr_ties GROUP BY grp ORDER BY count(*) DESC FETCH FIRST 1 ROW WITH TIES;
SELECT count(*) FROM (SELECT thousand FROM rr_ties ORDER BY thousand FETCH FIRST 3 ROWS WITH TIES) s;
SELECT thousand FROM rr_ties ORDER BY thousand FETCH FIRST 0 ROWS WITH TIES;
BEGIN;
DELETE FROM rr_ties WHERE id % 10 > 6;
SELECT thousand FROM rr_ties ORDER BY thousand FETCH FIRST 4 ROWS WITH TIES;
ROLLBACK;
-- error
SELECT id FROM rr_ties FETCH FIRST 2 ROWS WITH TIES;

-- update.sql / returning.sql: tableoid in INSERT ... RETURNING (and MERGE ... RETURNING)
-- named the datanode's shard (gridpg_shards."public.utr2_26"); an unqualified tableoid next
-- to a subquery or CTE in FROM was taken as ambiguous and left to the datanode, which
-- answered with the shard too. Now mapped to the user's table (or partition) as in SELECT.
CREATE TABLE rr_utr (a int, b text) PARTITION BY LIST (a);
CREATE TABLE rr_utr1 (a int CHECK (a IN (1)), q text, b text);
CREATE TABLE rr_utr2 (a int CHECK (a IN (2)), b text);
ALTER TABLE rr_utr1 DROP COLUMN q;
ALTER TABLE rr_utr ATTACH PARTITION rr_utr1 FOR VALUES IN (1);
ALTER TABLE rr_utr ATTACH PARTITION rr_utr2 FOR VALUES IN (2);
INSERT INTO rr_utr VALUES (1, 'foo') RETURNING *, tableoid::regclass;
INSERT INTO rr_utr VALUES (2, 'bar') RETURNING *, tableoid::regclass;
INSERT INTO rr_utr AS u VALUES (2, 'baz'), (1, 'qux') RETURNING u.tableoid::regclass, new.tableoid::regclass, old.tableoid, b;
INSERT INTO rr_utr2 VALUES (2, 'direct') RETURNING /* the partition itself */ tableoid::regclass, *;
CREATE TABLE rr_toid (id int PRIMARY KEY, v text) DISTRIBUTE BY HASH (id);
INSERT INTO rr_toid VALUES (1, 'x') RETURNING tableoid::regclass, *;
INSERT INTO rr_toid SELECT g, 'g' FROM generate_series(2, 6) g RETURNING tableoid::regclass, id;
INSERT INTO rr_toid VALUES (1, 'y') ON CONFLICT (id) DO UPDATE SET v = excluded.v RETURNING tableoid::regclass, *;
MERGE INTO rr_toid t USING (SELECT 9 AS id, 'm' AS v) s ON t.id = s.id
  WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.v) RETURNING tableoid::regclass, t.*;
SELECT tableoid::regclass, id FROM rr_toid, (SELECT 1) s WHERE id = 1;
BEGIN;
INSERT INTO rr_toid VALUES (20, 'in a block') RETURNING tableoid::regclass, id;
ROLLBACK;
-- error
SELECT tableoid, id FROM rr_toid, (SELECT 1) s(tableoid) WHERE id = 1;

-- temp.sql: ON COMMIT of a table that is not temporary, in CREATE TABLE ... AS: accepted
-- (a permanent distributed table, one ON COMMIT DROP was meant to drop) where PostgreSQL
-- refuses it (42P16)
-- error
CREATE TABLE rr_oncommit (col) ON COMMIT DELETE ROWS AS SELECT 1;
-- error
CREATE TABLE rr_oncommit ON COMMIT DROP AS SELECT 1 AS a;
-- error
SELECT count(*) FROM rr_oncommit;

-- rowtypes.sql: a whole-row reference to a distributed table with column aliases is of
-- the table's row type in PostgreSQL (its own column names); gridpg's subquery for the
-- alias list made it a record named by the aliases ({"x": ...} for {"q1": ...}): refused
CREATE TABLE rr_pair (q1 int8, q2 int8) DISTRIBUTE BY HASH (q1);
INSERT INTO rr_pair VALUES (1, 2), (3, 4);
SELECT row_to_json(i) FROM rr_pair i ORDER BY 1::text;
SELECT i.*, i.x + i.y AS s FROM rr_pair i(x, y) ORDER BY x;
SELECT x FROM rr_pair i(x) WHERE i.q2 = 4;
