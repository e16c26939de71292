/*
Differences the twelfth replay of Postgres-XL 9.2's regression files (h-xl12, 2026-12-05)
showed, each reduced to its smallest form.
*/

-- xc_for_update.sql:134, xc_misc.sql:191 (Postgres-XL): DECLARE ... CURSOR FOR SELECT ...
-- FOR UPDATE/SHARE over a distributed table was refused (0A000) although the same SELECT
-- runs; the cursor now returns the locked rows
CREATE TABLE r12x_locked (val int, val2 int, val3 int);
INSERT INTO r12x_locked VALUES (1, 11, 1122), (2, 11, 3344), (3, 12, 5566);
CREATE TABLE r12x_rep (a int, b int) DISTRIBUTE BY REPLICATION;
INSERT INTO r12x_rep VALUES (10, 1), (20, 2);
BEGIN;
DECLARE r12x_c1 CURSOR FOR SELECT * FROM r12x_locked ORDER BY val FOR UPDATE;
FETCH 1 FROM r12x_c1;
DECLARE r12x_c2 CURSOR FOR SELECT val, val2 FROM r12x_locked WHERE val2 = 11 ORDER BY val FOR SHARE;
FETCH ALL FROM r12x_c2;
FETCH ALL FROM r12x_c1;
UPDATE r12x_locked SET val3 = val3 + 1 WHERE val = 1;
CLOSE r12x_c1;
CLOSE r12x_c2;
COMMIT;
SELECT * FROM r12x_locked ORDER BY val;
-- rows inserted after the DECLARE are not seen; a cursor with row marks is NO SCROLL
BEGIN;
DECLARE r12x_c3 NO SCROLL CURSOR FOR SELECT * FROM r12x_rep ORDER BY a FOR UPDATE;
INSERT INTO r12x_rep VALUES (5, 0);
FETCH ALL FROM r12x_c3;
DECLARE r12x_c4 CURSOR FOR SELECT a FROM r12x_rep ORDER BY a FOR NO KEY UPDATE NOWAIT;
FETCH 2 FROM r12x_c4;
-- error
FETCH BACKWARD 1 FROM r12x_c4;
ROLLBACK;
BEGIN;
DECLARE r12x_c5 CURSOR FOR SELECT val FROM r12x_locked WHERE val = 2 FOR KEY SHARE;
FETCH NEXT FROM r12x_c5;
-- error
MOVE BACKWARD 1 IN r12x_c5;
ROLLBACK;
-- PostgreSQL's own refusals of a cursor with row marks
BEGIN;
-- error
DECLARE r12x_c6 SCROLL CURSOR FOR SELECT * FROM r12x_locked FOR UPDATE;
ROLLBACK;
BEGIN;
-- error
DECLARE r12x_c7 INSENSITIVE CURSOR FOR SELECT * FROM r12x_locked FOR SHARE;
ROLLBACK;
-- error
DECLARE r12x_c8 CURSOR WITH HOLD FOR SELECT * FROM r12x_locked FOR NO KEY UPDATE;
SELECT count(*) FROM r12x_rep;

-- xc_for_update.sql:165 (Postgres-XL): CREATE TABLE ... INHERITS of a HASH table that a
-- view reads was refused (0A000, "views, rules or foreign keys depend on it"): the
-- datanodes' copy becomes a plain table, and the plain views over it (and over those
-- views) are now made again there
CREATE TABLE r12x_parent (val int, val2 int, val3 int);
INSERT INTO r12x_parent VALUES (1, 11, 1122), (2, 11, 3344);
CREATE VIEW r12x_parent_v AS SELECT * FROM r12x_parent WHERE val = 2;
CREATE VIEW r12x_parent_v2 (v, w) WITH (security_barrier) AS SELECT val, val3 FROM r12x_parent_v WHERE val3 > 1000 WITH LOCAL CHECK OPTION;
CREATE VIEW r12x_parent_v3 AS SELECT 'v2' AS k, count(*) AS n FROM r12x_parent_v2 UNION ALL SELECT 'all', count(*) FROM r12x_parent;
CREATE TABLE r12x_child (d int, e int) INHERITS (r12x_parent);
INSERT INTO r12x_child VALUES (2, 12, 5566, 1, 1), (3, 13, 7788, 2, 2);
SELECT * FROM r12x_parent ORDER BY val, val3;
SELECT * FROM r12x_parent_v ORDER BY val3;
SELECT * FROM r12x_parent_v2 ORDER BY w;
SELECT * FROM r12x_parent_v3 ORDER BY k;
-- error
INSERT INTO r12x_parent_v2 VALUES (2, 1);
INSERT INTO r12x_parent_v2 VALUES (2, 4000);
UPDATE r12x_parent_v2 SET w = w + 1 WHERE w = 3344;
SELECT * FROM ONLY r12x_parent ORDER BY val, val3;
DROP TABLE r12x_child;
SELECT * FROM r12x_parent_v2 ORDER BY w;
SELECT * FROM r12x_parent_v3 ORDER BY k;

-- xc_for_update.sql:37-41 (Postgres-XL): a SELECT over a WITH entry that locks rows
-- (`WITH q AS (SELECT ... FOR UPDATE) SELECT ... FROM q`) over several nodes was refused
-- (0A000); the entry now runs first as a locking SELECT of its own. The outer FOR UPDATE
-- over CTE references alone locks nothing in PostgreSQL, and is dropped
CREATE TABLE r12x_t1 (val int, val2 int);
CREATE TABLE r12x_t2 (val int, val2 int);
INSERT INTO r12x_t1 VALUES (1, 11), (2, 11), (5, 12);
INSERT INTO r12x_t2 VALUES (3, 11), (4, 11);
WITH q1 AS (SELECT * FROM r12x_t1 ORDER BY 1) SELECT * FROM q1 ORDER BY val FOR UPDATE;
WITH q1 AS (SELECT * FROM r12x_t1 ORDER BY 1 FOR UPDATE) SELECT * FROM q1 ORDER BY val FOR UPDATE;
WITH q1 AS (SELECT * FROM r12x_t1 ORDER BY 1 FOR UPDATE) SELECT * FROM q1, r12x_t2 ORDER BY 1, 3;
BEGIN;
WITH q1 AS (SELECT val, val2 AS v FROM r12x_t1 WHERE val2 = 11 FOR SHARE), q2 AS (SELECT * FROM r12x_t2)
SELECT q1.val, q2.val, v FROM q1 JOIN q2 ON q2.val2 = q1.v ORDER BY 1, 2;
WITH j AS (SELECT * FROM r12x_t1 ORDER BY val LIMIT 2 FOR UPDATE SKIP LOCKED) SELECT count(*), sum(val) FROM j;
WITH q1 AS (SELECT * FROM r12x_t1 FOR NO KEY UPDATE OF r12x_t1) SELECT max(val2) FROM q1;
COMMIT;
-- a FOR UPDATE over a join of a locking CTE with a table, or in a sub-select in FROM,
-- stays refused (0A000 on gridpg only, so not compared here)
