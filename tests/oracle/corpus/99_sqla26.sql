/*
What SQLAlchemy 2.0.59's own test suite sends (h-sqla26: test/dialect/postgresql,
test/dialect/test_suite.py, test/sql and 21 files of test/orm, through psycopg 3, against
gridpg and plain PostgreSQL 18), each reduced to its smallest form.
*/

-- test_suite.py ServerSideCursorsTest test_roundtrip_fetchall / _fetchmany: a block that
-- creates a table (DDL: the catalog servers join the 2PC), writes it on both datanodes and
-- reads an aggregate through a server-side cursor (`stream_results`: psycopg's DECLARE).
-- The cursor's rows are materialized in a temp table on the block's catalog connection,
-- and PostgreSQL refuses to PREPARE a transaction that touched temporary objects: the
-- COMMIT failed with 0A000 and the table and its rows were lost
BEGIN;
CREATE TABLE sq26_cur (id serial PRIMARY KEY, data varchar(50));
INSERT INTO sq26_cur (data) VALUES ('a'), ('b'), ('c'), ('d');
DECLARE sq26_c CURSOR FOR SELECT count(*) AS n, max(data) AS top FROM sq26_cur;
FETCH ALL FROM sq26_c;
UPDATE sq26_cur SET data = data || ' updated' WHERE id = 2;
DECLARE sq26_d CURSOR FOR SELECT data, count(*) FROM sq26_cur GROUP BY data ORDER BY data;
FETCH 2 FROM sq26_d;
CLOSE sq26_d;
DELETE FROM sq26_cur WHERE id = 4;
COMMIT;
SELECT id, data FROM sq26_cur ORDER BY id;

-- the same with a rollback: the table, its rows and the cursors are gone
BEGIN;
CREATE TABLE sq26_gone (id int PRIMARY KEY, v text);
INSERT INTO sq26_gone SELECT g, 'v' || g FROM generate_series(1, 10) g;
DECLARE sq26_e CURSOR FOR SELECT sum(id) FROM sq26_gone;
FETCH ALL FROM sq26_e;
ROLLBACK;
SELECT to_regclass('sq26_gone') IS NULL;

-- a cursor over an aggregate, then DDL on an existing table and writes on both datanodes
BEGIN;
DECLARE sq26_f CURSOR FOR SELECT count(*) FROM sq26_cur;
FETCH ALL FROM sq26_f;
CLOSE sq26_f;
ALTER TABLE sq26_cur ADD COLUMN extra int DEFAULT 7;
UPDATE sq26_cur SET extra = id * 10;
COMMIT;
SELECT id, data, extra FROM sq26_cur ORDER BY id;
\connect 2
SELECT id, data, extra FROM sq26_cur ORDER BY id;
\connect 1
