/*
DROP, TRUNCATE, VACUUM and ANALYZE naming a session's temp tables beside distributed ones,
as cleanup scripts write them (`DROP TABLE IF EXISTS staging, target`). gridpg refused them (0A000
"cannot run one utility statement over temporary and other tables"); now the temp part runs
on the session's catalog connection and the rest as usual, in one transaction: all or
nothing, as in PostgreSQL.
*/

DROP SCHEMA IF EXISTS mtd CASCADE;
CREATE SCHEMA mtd;
SET search_path = mtd, public;
CREATE TABLE dist_a (id int PRIMARY KEY, v text) DISTRIBUTE BY HASH (id);
CREATE TABLE dist_b (id int, w int);
CREATE TEMP TABLE stage (id int, v text);
INSERT INTO dist_a SELECT g, 'a' || g FROM generate_series(1, 10) g;
INSERT INTO dist_b SELECT g, g * 2 FROM generate_series(1, 10) g;
INSERT INTO stage SELECT g, 's' || g FROM generate_series(1, 5) g;

VACUUM stage, dist_b;
ANALYZE dist_b (w), stage;
VACUUM (ANALYZE) stage (id), dist_a;
TRUNCATE stage, dist_b;
SELECT (SELECT count(*) FROM stage) AS stage_rows, (SELECT count(*) FROM dist_b) AS b_rows, (SELECT count(*) FROM dist_a) AS a_rows;

INSERT INTO stage VALUES (1, 'x');
INSERT INTO dist_b VALUES (1, 1);
-- a name that does not exist: nothing is dropped
-- error
DROP TABLE stage, dist_b, no_such_table;
SELECT (SELECT count(*) FROM stage) AS stage_rows, (SELECT count(*) FROM dist_b) AS b_rows;

-- a view over the distributed table: RESTRICT refuses, and the temp table stays
CREATE VIEW b_view AS SELECT id FROM dist_b;
-- error
DROP TABLE stage, dist_b;
SELECT count(*) FROM stage;

-- the same in a block rolled back: both stay
BEGIN;
DROP TABLE dist_b, stage CASCADE;
ROLLBACK;
SELECT (SELECT count(*) FROM stage) AS stage_rows, (SELECT count(*) FROM dist_b) AS b_rows;

DROP TABLE IF EXISTS stage, dist_b, not_there CASCADE;
SELECT relname FROM pg_class WHERE relname IN ('stage', 'dist_b', 'b_view') ORDER BY relname;

CREATE TEMP TABLE stage2 (id int);
CREATE TEMP SEQUENCE tseq;
CREATE SEQUENCE mtd.pseq;
DROP SEQUENCE tseq, pseq;
SELECT relname FROM pg_class WHERE relname IN ('tseq', 'pseq') ORDER BY relname;
DROP TABLE pg_temp.stage2, mtd.dist_a;
SELECT relname FROM pg_class WHERE relname IN ('stage2', 'dist_a') ORDER BY relname;
RESET search_path;
DROP SCHEMA mtd CASCADE;
