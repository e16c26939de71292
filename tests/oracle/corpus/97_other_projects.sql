/*
Statements as other projects' regression suites write them (issue 12: the Citus and
Postgres-XL replays of bench/regress_replay.py), each class reduced to a small form with
our own tables: what gridpg failed on, hung on or closed the connection for.
*/

-- An UPDATE/DELETE whose target is not a distributed table while it reads one: the
-- coordinator closed the connection (an internal error); PostgreSQL's own error now
CREATE TABLE op_ref (uid int, v1 int) DISTRIBUTE BY REPLICATION;
CREATE TABLE op_events (uid int, v1 int, v2 int, v3 float) DISTRIBUTE BY HASH (uid);
INSERT INTO op_ref VALUES (1, 10), (2, 20), (3, 30);
INSERT INTO op_events VALUES (1, 1, 0, 1.5), (2, 2, 0, 2.5), (3, 3, 0, 3.5);
-- error
UPDATE op_no_such_table SET v2 = 5 FROM op_ref WHERE op_ref.uid = op_no_such_table.v1;
-- error
UPDATE op_no_such_table AS ett SET v2 = 6 WHERE ett.v3 IN (SELECT e.v3 FROM op_events e, op_ref r WHERE e.uid = r.uid AND e.uid = ett.uid);
-- error
DELETE FROM /* gone */ op_no_such_table USING op_events WHERE op_events.uid = op_no_such_table.uid;
CREATE VIEW op_const_view AS SELECT 1 AS a;
-- error
UPDATE op_const_view SET a = 2 FROM op_ref;
-- error
DELETE FROM op_const_view USING op_events;
BEGIN;
-- error
UPDATE op_no_such_table SET v2 = 5 FROM op_ref;
ROLLBACK;
SELECT * FROM op_events ORDER BY uid;

-- INSERT ... SELECT * after ALTER TABLE ... DROP COLUMN of the source in the same block:
-- the gather's scratch table was shaped on a second catalog connection, which waited for
-- the block's own ALTER TABLE lock forever
CREATE TABLE op_first (uid int, t timestamp, v1 int, v2 int, v3 float, v4 bigint, UNIQUE (uid, v1)) DISTRIBUTE BY HASH (uid);
CREATE TABLE op_second (uid int, t timestamp, v1 int, v2 int, v3 float, v4 bigint, UNIQUE (uid, v1)) DISTRIBUTE BY HASH (uid);
INSERT INTO op_second SELECT g, timestamp '2024-01-01' + g * interval '1 hour', g, g * 2, g / 4.0, g * 10 FROM generate_series(1, 12) g;
BEGIN;
ALTER TABLE op_second DROP COLUMN v4;
INSERT INTO op_first SELECT * FROM op_second;
SELECT count(*), sum(v1), sum(v4), sum(v3) FROM op_first;
ROLLBACK;
SELECT count(*) FROM op_first;
BEGIN;
ALTER TABLE op_second ADD COLUMN extra text DEFAULT 'x';
INSERT INTO op_first (uid, v1, v4) SELECT uid, v1 + 100, length(extra) FROM op_second WHERE v2 > 4;
SELECT uid, v1, v4 FROM op_first ORDER BY uid, v1;
COMMIT;
SELECT uid, v1, v4 FROM op_first ORDER BY uid, v1;

-- INSERT ... SELECT through the coordinator whose SELECT gives another type than the
-- target column (a float8 GROUP BY key into an integer distribution column): the rows
-- were routed as the source type's text ("cannot route value '1.5'"); PostgreSQL applies
-- the assignment cast (1.5 -> 2, banker's rounding of rint)
CREATE TABLE op_agg (uid int, v1_agg int, v4_agg bigint, label varchar(4), amount numeric(6,1)) DISTRIBUTE BY HASH (uid);
INSERT INTO op_events VALUES (4, 4, 0, 1.5), (5, 5, 1, 2.5), (6, 6, 1, 2.5);
INSERT INTO op_agg (v4_agg, v1_agg, uid) SELECT v4, v1, id FROM (SELECT sum(e.v2) AS v4, sum(e.v1) AS v1, e.v3 AS id FROM op_events e GROUP BY e.v3) AS foo;
SELECT * FROM op_agg ORDER BY uid, v1_agg;
INSERT INTO op_agg (uid, amount, label) SELECT max(v3), avg(v3), 'ab' || count(*) FROM op_events GROUP BY v2;
SELECT * FROM op_agg ORDER BY uid, v1_agg, amount;
BEGIN;
-- error
INSERT INTO op_agg (v4_agg, uid) SELECT 'x'::text, max(v1) FROM op_events GROUP BY v2;
ROLLBACK;
-- error
INSERT INTO op_agg (uid, label) SELECT max(v1), 'toolong' || count(*) FROM op_events GROUP BY v2;
SELECT count(*) FROM op_agg;

-- Row constructors inside arrays (record[]), CASE and COALESCE, ordered over several
-- nodes: the sorted merge's scratch table cannot hold an anonymous record
-- (42P16 "column has pseudo-type record[]"); they are finished on the coordinator
CREATE TABLE "op Rows" (x int, y int) DISTRIBUTE BY HASH (x);
INSERT INTO "op Rows" VALUES (1, 2), (1, 3), (2, 2), (2, 3), (3, 1);
SELECT ARRAY[NULL, (x, (y, x)), NULL, (y, (x, y))] FROM "op Rows" ORDER BY x, y;
SELECT ARRAY[[(x, (y, x))], [(x, (x, y))]] AS nested FROM "op Rows" ORDER BY x, y;
SELECT x, CASE WHEN y > 2 THEN ROW(x, y) ELSE ROW(y, x) END AS picked FROM "op Rows" ORDER BY x, y LIMIT 3;
SELECT COALESCE(NULL, ROW(x, y)) AS c FROM "op Rows" WHERE x > 1 ORDER BY y DESC, x;
SELECT row_to_json(ROW(x, y)) AS j FROM "op Rows" ORDER BY x, y;
CREATE FUNCTION op_pair(i int) RETURNS TABLE (a int, b int) LANGUAGE sql IMMUTABLE AS $$ SELECT i, i * 10 $$;
SELECT op_pair(x) FROM "op Rows" ORDER BY x, y;
BEGIN;
CREATE TABLE op_in_block (a int) DISTRIBUTE BY HASH (a);
SELECT op_pair(x), y FROM "op Rows" WHERE y < 3 ORDER BY x, y;
ROLLBACK;

-- Postgres-XL's DISTRIBUTE BY MODULO of a column that is not an integer (XL places it by
-- the value's hash modulo the node count): refused before (42P16); distributed by HASH now
CREATE TABLE op_mod_text (a text, b int) DISTRIBUTE BY MODULO (a);
CREATE TABLE op_mod_ts (a timestamp, b int) DISTRIBUTE BY MODULO (a);
CREATE TABLE "op Mod Num" (a numeric(10, 5), b int, UNIQUE (a)) DISTRIBUTE BY MODULO (a);
INSERT INTO op_mod_text VALUES ('a', 1), ('ab', 2), ('abc', 3), (NULL, 4);
INSERT INTO op_mod_ts VALUES ('2012-01-01 10:00', 1), ('2012-06-30 23:59:59', 2);
INSERT INTO "op Mod Num" VALUES (1.5, 1), (-2.25, 2), (100.12345, 3);
SELECT * FROM op_mod_text WHERE a = 'ab';
SELECT * FROM op_mod_text ORDER BY b;
SELECT * FROM op_mod_ts WHERE a = '2012-06-30 23:59:59';
SELECT * FROM "op Mod Num" WHERE a = -2.25;
-- error
INSERT INTO "op Mod Num" VALUES (1.5, 9);
UPDATE op_mod_text SET a = a || 'z' WHERE b < 3;
SELECT * FROM op_mod_text ORDER BY b;

-- A join that moves rows, in a block after ALTER TABLE: its row estimates were read on a
-- pooled connection, which waited for the block's own lock forever
BEGIN;
ALTER TABLE op_events ADD COLUMN note text DEFAULT 'n';
SELECT e.uid, e.note, a.v1_agg FROM op_events e JOIN op_agg a ON e.v1 = a.uid ORDER BY 1, 3;
ROLLBACK;

-- MERGE into a relation that is not a distributed table, from a distributed one: the
-- coordinator closed the connection (an AssertionError); PostgreSQL's own error now
-- error
MERGE INTO op_no_such_table t USING op_events e ON (t.uid = e.uid) WHEN MATCHED THEN DELETE;
-- error
MERGE INTO op_const_view v USING (SELECT e.uid FROM op_events e, op_ref r WHERE e.uid = r.uid) s ON (v.a = s.uid) WHEN MATCHED THEN DELETE;

-- A sequence renamed inside a block (XL's xc_sequence): nextval of the new name started
-- over at 1, the GTM holding it under the old name until COMMIT
CREATE SEQUENCE op_seq_1;
SELECT nextval('op_seq_1');
BEGIN;
ALTER SEQUENCE op_seq_1 RENAME TO op_seq_2;
SELECT nextval('op_seq_2');
SELECT currval('op_seq_2');
ROLLBACK;
SELECT nextval('op_seq_1');
BEGIN;
ALTER SEQUENCE op_seq_1 RENAME TO op_seq_2;
SELECT nextval('op_seq_2');
SELECT setval('op_seq_2', 10);
ALTER SEQUENCE op_seq_2 RENAME TO "Op Seq 3";
SELECT nextval('"Op Seq 3"');
COMMIT;
SELECT nextval('"Op Seq 3"'), currval('"Op Seq 3"');
