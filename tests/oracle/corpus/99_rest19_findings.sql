/*
Differences PostgreSQL 18's regression files from merge.sql on showed in the h-rest19 replay
(2026-12-06), each reduced to its smallest form.
*/

-- type_sanity.sql:561: CREATE TABLE AS and SELECT INTO gave a column of a domain type the
-- domain's base type (the types were read from a RowDescription, which names the base
-- type): the domain's constraints were not checked on later writes, silently
CREATE DOMAIN r19_posint AS int CHECK (VALUE > 0);
CREATE DOMAIN r19_short AS varchar(3);
CREATE TABLE r19_src (id int, p r19_posint, s r19_short);
INSERT INTO r19_src VALUES (1, 5, 'abc'), (2, 7, 'de');
CREATE TABLE r19_ctas AS SELECT 5::r19_posint AS c, 1::information_schema.cardinal_number AS n,
  'x'::text AS t, ARRAY[1]::r19_posint[] AS a;
SELECT attname, atttypid::regtype, atttypmod FROM pg_attribute
  WHERE attrelid = 'r19_ctas'::regclass AND attnum > 0 ORDER BY attnum;
-- error
INSERT INTO r19_ctas VALUES (-1, 1, 'y', NULL);
-- error
INSERT INTO r19_ctas VALUES (1, -1, 'y', NULL);
INSERT INTO r19_ctas VALUES (2, 2, 'y', NULL);
SELECT * INTO r19_into FROM r19_src WHERE id > 0;
SELECT attname, atttypid::regtype FROM pg_attribute
  WHERE attrelid = 'r19_into'::regclass AND attnum > 0 ORDER BY attnum;
-- error
UPDATE r19_into SET p = 0 WHERE id = 1;
-- error
INSERT INTO r19_into VALUES (3, 1, 'abcd');
CREATE TABLE r19_ctas_cols (x, y) AS SELECT s, p FROM r19_src;
SELECT attname, atttypid::regtype FROM pg_attribute
  WHERE attrelid = 'r19_ctas_cols'::regclass AND attnum > 0 ORDER BY attnum;
SELECT * FROM r19_ctas_cols ORDER BY x;
CREATE TABLE r19_ctas_empty AS SELECT p, s::text AS s FROM r19_src WITH NO DATA;
SELECT attname, atttypid::regtype FROM pg_attribute
  WHERE attrelid = 'r19_ctas_empty'::regclass AND attnum > 0 ORDER BY attnum;
SELECT count(*) FROM r19_ctas_empty;
DROP TABLE r19_src, r19_ctas, r19_into, r19_ctas_cols, r19_ctas_empty;
DROP DOMAIN r19_posint, r19_short;

-- merge.sql:886: a MERGE whose ON names the target's distribution column and the source's
-- key without their relations (`ON tid = sid`) was refused (0A000 "only when the ON
-- condition equates the target's distribution column with an expression of the source's
-- columns"); bare names are resolved as PostgreSQL resolves them (an ambiguous one is
-- PostgreSQL's 42702)
CREATE TABLE r19_mt (tid integer NOT NULL, balance integer);
CREATE TABLE r19_ms (delta integer, sid integer, balance integer DEFAULT 0);
INSERT INTO r19_mt (tid, balance) VALUES (1, 100), (2, 200), (3, 300);
INSERT INTO r19_ms (sid, delta) VALUES (1, 10), (2, 20), (4, 40), (5, 50), (6, 60), (7, 70);
CREATE VIEW r19_mv AS SELECT * FROM r19_ms WHERE sid < 6;
BEGIN;
-- unordered
MERGE INTO r19_mt t USING r19_mv ON tid = sid
  WHEN MATCHED AND tid >= 2 THEN UPDATE SET balance = t.balance + delta
  WHEN NOT MATCHED THEN INSERT (balance, tid) VALUES (balance + delta, sid)
  WHEN MATCHED AND tid < 2 THEN DELETE
  RETURNING merge_action(), t.*;
SELECT * FROM r19_mt ORDER BY tid;
ROLLBACK;
BEGIN;
MERGE INTO r19_mt USING r19_ms ON sid = tid WHEN NOT MATCHED THEN INSERT VALUES (sid, delta);
SELECT * FROM r19_mt ORDER BY tid;
ROLLBACK;
-- error
MERGE INTO r19_mt USING r19_ms ON tid = balance WHEN NOT MATCHED THEN DO NOTHING;
-- error
MERGE INTO r19_mt USING (SELECT sid AS tid, delta FROM r19_ms) s ON tid = tid
  WHEN NOT MATCHED THEN INSERT VALUES (s.tid, 1);
SELECT * FROM r19_mt ORDER BY tid;
DROP VIEW r19_mv;
DROP TABLE r19_mt, r19_ms;

-- updatable_views.sql:1679, 1692: INSERT through a view whose WHERE reads other distributed
-- tables in subqueries was refused (0A000); an INSERT evaluates no view condition without
-- a CHECK OPTION (with one it stays refused: each node would read its own rows only)
CREATE TABLE r19_tx1 (a integer);
CREATE TABLE r19_tx2 (b integer);
CREATE TABLE r19_tx3 (c integer);
CREATE VIEW r19_vx1 AS SELECT a FROM r19_tx1 WHERE EXISTS (SELECT 1 FROM r19_tx2 JOIN r19_tx3 ON b = c);
CREATE VIEW r19_vx2 AS SELECT a AS aa FROM r19_vx1;
INSERT INTO r19_vx1 VALUES (1);
INSERT INTO r19_vx1 VALUES (2) RETURNING *;
INSERT INTO r19_vx1 SELECT 3;
INSERT INTO r19_vx2 VALUES (4), (5);
SELECT * FROM r19_tx1 ORDER BY a;
SELECT * FROM r19_vx1;
INSERT INTO r19_tx2 VALUES (1);
INSERT INTO r19_tx3 VALUES (1);
SELECT * FROM r19_vx2 ORDER BY aa;
DROP VIEW r19_vx2, r19_vx1;
DROP TABLE r19_tx1, r19_tx2, r19_tx3;
