/*
A transaction block that uses temp tables and also changes the schema: a staging temp
table, then CREATE TABLE AS from it, an index, a comment, a new table with a deferred
foreign key. The DDL prepares the catalog servers (2PC), and PostgreSQL refuses to
PREPARE a transaction that touched temporary objects (0A000), so every such block failed
at its COMMIT. The session's catalog connection, where its temp tables live, now decides
the commit instead (txn/transaction.py `_choose_decider`: one phase, with its marker,
once the others prepared).
*/

DROP SCHEMA IF EXISTS ttd CASCADE;
CREATE SCHEMA ttd;
CREATE TABLE ttd.base (id int PRIMARY KEY, v text) DISTRIBUTE BY HASH (id);
INSERT INTO ttd.base SELECT g, 'v' || g FROM generate_series(1, 20) g;
CREATE TEMP TABLE picks AS SELECT id FROM ttd.base WHERE id % 4 = 0;

BEGIN;
CREATE TABLE ttd.chosen AS SELECT b.* FROM ttd.base b JOIN picks p USING (id);
ALTER TABLE ttd.chosen ADD PRIMARY KEY (id);
INSERT INTO ttd.chosen SELECT id + 100, 'extra' FROM picks;
COMMIT;
SELECT count(*), min(id), max(id) FROM ttd.chosen;
SELECT id, v FROM ttd.chosen ORDER BY id;

-- a rollback takes the DDL, the temp rows and the rows away
BEGIN;
CREATE TABLE ttd.gone (id int);
INSERT INTO picks VALUES (999);
INSERT INTO ttd.gone SELECT id FROM picks;
ROLLBACK;
SELECT count(*) FROM picks;
SELECT to_regclass('ttd.gone') IS NULL;

-- a deferred constraint failing at COMMIT undoes all of it
BEGIN;
CREATE TEMP TABLE t2 (x int) ON COMMIT DROP;
INSERT INTO t2 VALUES (1), (2);
CREATE INDEX base_v ON ttd.base (v);
UPDATE ttd.base SET v = 'changed' WHERE id IN (SELECT x FROM t2);
CREATE TABLE ttd.fk_parent (id int PRIMARY KEY) DISTRIBUTE BY HASH (id);
CREATE TABLE ttd.fk_child (pid int PRIMARY KEY REFERENCES ttd.fk_parent (id) DEFERRABLE INITIALLY DEFERRED) DISTRIBUTE BY HASH (pid);
INSERT INTO ttd.fk_child VALUES (42);
-- error
COMMIT;
SELECT to_regclass('ttd.fk_child') IS NULL, to_regclass('ttd.base_v') IS NULL;
SELECT id, v FROM ttd.base WHERE id <= 2 ORDER BY id;

-- ON COMMIT DROP staging, a comment and writes on both datanodes
BEGIN;
CREATE TEMP TABLE t3 (x int) ON COMMIT DROP;
INSERT INTO t3 SELECT id FROM ttd.base WHERE id < 8;
COMMENT ON TABLE ttd.base IS 'base rows';
UPDATE ttd.base SET v = 'via t3' WHERE id IN (SELECT x FROM t3);
COMMIT;
SELECT obj_description('ttd.base'::regclass), count(*) FROM ttd.base WHERE v = 'via t3';
SELECT to_regclass('pg_temp.t3') IS NULL;

-- the other coordinator sees the committed schema and rows
\connect 2
SELECT count(*) FROM ttd.chosen;
SELECT obj_description('ttd.base'::regclass);
\connect 1
DROP SCHEMA ttd CASCADE;
