/*
What an earlier session left (h-left25). A temp table's transaction-time defaults: the
temp table lives on the session's catalog server, whose own transaction start its
`DEFAULT now()` read, while the statement's now() was the coordinator's pinned instant;
`INSERT INTO tt DEFAULT VALUES RETURNING created_at = now()` was false. Times are compared
as facts (`=`), never as values.
*/

CREATE TEMP TABLE tt25 (id int, created_at timestamptz DEFAULT now(), day date DEFAULT CURRENT_DATE, at3 timestamp(3) DEFAULT CURRENT_TIMESTAMP, note text DEFAULT 'x');
CREATE TABLE dist25 (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id);
INSERT INTO dist25 VALUES (1, 1), (2, 2), (3, 3);
INSERT INTO tt25 DEFAULT VALUES RETURNING created_at = now() AS same, day = CURRENT_DATE AS day_same, at3 = now()::timestamp(3) AS at_same, note;
INSERT INTO tt25 (id) VALUES (1) RETURNING created_at = now() AS same, created_at = CURRENT_TIMESTAMP AS same2;
INSERT INTO tt25 (id) VALUES (2), (3) RETURNING id, created_at = now() AS same;
INSERT INTO tt25 VALUES (4, DEFAULT) RETURNING created_at = now() AS same;
INSERT INTO tt25 (id) SELECT 5 RETURNING created_at = now() AS same;
INSERT INTO tt25 (id) SELECT id + 10 FROM dist25 RETURNING id, created_at = now() AS same;
INSERT INTO tt25 (id, created_at) VALUES (6, now()) RETURNING created_at = now() AS same;
UPDATE tt25 SET created_at = DEFAULT WHERE id = 1 RETURNING created_at = now() AS same;
UPDATE tt25 SET (id, created_at) = (id, DEFAULT) WHERE id = 2 RETURNING created_at = now() AS same;
INSERT INTO tt25 (id) VALUES (7);
SELECT count(*) FROM tt25;
BEGIN;
INSERT INTO dist25 VALUES (4, 4);
INSERT INTO tt25 DEFAULT VALUES RETURNING created_at = now() AS same;
INSERT INTO tt25 (id) VALUES (20);
INSERT INTO tt25 (id) SELECT id + 20 FROM dist25 RETURNING id, created_at = now() AS same;
UPDATE tt25 SET created_at = DEFAULT WHERE id = 3 RETURNING created_at = now() AS same;
SELECT id, created_at = now() AS same FROM tt25 WHERE id >= 20 OR id = 3 ORDER BY id;
COMMIT;
BEGIN;
INSERT INTO tt25 (id) VALUES (30);
INSERT INTO dist25 VALUES (5, 5);
INSERT INTO tt25 (id) VALUES (31) RETURNING created_at = now() AS same;
SELECT count(DISTINCT created_at) FROM tt25 WHERE id IN (30, 31);
COMMIT;

-- A data-modifying WITH whose main statement INSERTs into the table an entry writes,
-- reading it: the main statement reads it as it was before the entry's writes.
CREATE TABLE w25 (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id);
CREATE TABLE wr25 (id int PRIMARY KEY, v int) DISTRIBUTE BY REPLICATION;
INSERT INTO w25 SELECT g, g FROM generate_series(1, 10) g;
INSERT INTO wr25 SELECT g, g FROM generate_series(1, 10) g;
WITH i AS (INSERT INTO w25 VALUES (50, 50) RETURNING id) INSERT INTO w25 SELECT id + 100, v FROM w25 WHERE id <= 2 OR id = 50;
WITH u AS (UPDATE w25 SET v = 0 WHERE id = 9 RETURNING id) INSERT INTO w25 SELECT id + 200, v FROM w25 WHERE id >= 9 AND id < 50 RETURNING id, v;
WITH d AS (DELETE FROM w25 WHERE id = 3 RETURNING id) INSERT INTO w25 SELECT w.id + 300, w.v + (SELECT count(*) FROM d) FROM w25 AS w WHERE w.id BETWEEN 3 AND 4;
WITH u AS (UPDATE wr25 SET v = v * 10 WHERE id <= 2 RETURNING id, v) INSERT INTO wr25 SELECT wr25.id + 100, wr25.v FROM wr25 JOIN u USING (id);
SELECT * FROM w25 ORDER BY id;
SELECT * FROM wr25 ORDER BY id;
-- a table above the before-image cap, filtered by the main INSERT's WHERE
CREATE TABLE wb25 (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id);
INSERT INTO wb25 SELECT g, g FROM generate_series(1, 10050) g;
WITH u AS (UPDATE wb25 SET v = 0 WHERE id <= 2 RETURNING id) INSERT INTO wb25 SELECT id + 20000, v FROM wb25 WHERE id <= 3 RETURNING id, v;
SELECT count(*), sum(v) FROM wb25;
