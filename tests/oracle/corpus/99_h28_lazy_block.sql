/*
Uncorrelated sub-selects evaluated only when a row needs them, as PostgreSQL's InitPlans
are, also inside a client's block and for sequence draws (h-silent28):
* inside BEGIN ... COMMIT, a scalar sub-select over distributed tables whose value fails
  (22012, 21000) where PostgreSQL never evaluates it (no rows, a CASE branch not taken, an
  AND already false) leaves the block going on, its other writes kept: the subplans run
  under a savepoint, rolled back to before the statement runs again by the coordinator
  finish (executor/subplans.py `_lazy_savepoint`); a sub-select whose value a row does
  need still fails the block, as in PostgreSQL, and a client's savepoint still works;
* `nextval()`, or a VOLATILE function of the user's, in a sub-select of a condition over
  distributed tables (run on the catalog server over the loopback's shadows) is called
  only when a row needs it: the next nextval() is PostgreSQL's, the function's writes
  are PostgreSQL's (planner/lazy_initplans.py: postgres_fdw no longer computes the
  sub-select as a parameter before its scan, nor does gridpg run it first).
*/
CREATE TABLE zero28 (x int) DISTRIBUTE BY HASH (x);
CREATE TABLE none28 (a int) DISTRIBUTE BY HASH (a);
CREATE TABLE two28 (y int) DISTRIBUTE BY HASH (y);
CREATE TABLE w28 (k int, v text) DISTRIBUTE BY HASH (k);
INSERT INTO zero28 VALUES (0);
INSERT INTO two28 VALUES (1), (2);
BEGIN;
INSERT INTO w28 VALUES (1, 'a'), (2, 'b'), (3, 'c');
SELECT * FROM none28 WHERE a < (SELECT 1/x FROM zero28);
UPDATE w28 SET v = 'bb' WHERE k = 2;
SELECT k, CASE WHEN k > 100 THEN (SELECT 1/x FROM zero28) END AS c FROM w28 ORDER BY k;
SELECT count(*) FROM w28 WHERE k > 100 AND k < (SELECT y FROM two28);
INSERT INTO w28 VALUES (4, 'd');
COMMIT;
SELECT * FROM w28 ORDER BY k;
-- a client's savepoint before, rolled back to after: the block as PostgreSQL's
BEGIN;
SAVEPOINT before28;
INSERT INTO w28 VALUES (5, 'e');
SELECT * FROM none28 WHERE a < (SELECT y FROM two28);
SELECT k FROM w28 WHERE k > 4 ORDER BY k;
ROLLBACK TO SAVEPOINT before28;
SELECT count(*) FROM w28;
INSERT INTO w28 VALUES (6, 'f');
COMMIT;
SELECT * FROM w28 ORDER BY k;
-- the block's first statement, then writes whose conditions hold such sub-selects
BEGIN;
SELECT * FROM none28 WHERE a < (SELECT 1/x FROM zero28);
UPDATE w28 SET v = 'never' WHERE k > 100 AND k < (SELECT 1/x FROM zero28);
DELETE FROM w28 WHERE k > 100 AND k < (SELECT y FROM two28);
INSERT INTO w28 SELECT a, 'n' FROM none28 WHERE a < (SELECT 1/x FROM zero28);
UPDATE w28 SET v = CASE WHEN k > 100 THEN (SELECT 1/x FROM zero28)::text ELSE v || '+' END WHERE k < 3;
WITH c AS (SELECT * FROM none28 WHERE a < (SELECT 1/x FROM zero28)) SELECT * FROM c;
SELECT k, (SELECT 1/x FROM zero28) AS q FROM w28 WHERE k > 100;
COMMIT;
SELECT * FROM w28 ORDER BY k;
-- a value a row needs: the error stands and the block has failed
BEGIN;
INSERT INTO w28 VALUES (7, 'g');
-- error
SELECT k FROM w28 WHERE k < (SELECT 1/x FROM zero28);
-- error
SELECT 1;
ROLLBACK;
SELECT * FROM w28 ORDER BY k;
-- nextval() in a sub-select of a condition: drawn when a row needs it
CREATE SEQUENCE s28;
SELECT * FROM none28 WHERE a < (SELECT nextval('s28'));
SELECT nextval('s28');
SELECT k FROM w28 WHERE k > 10 AND k < (SELECT nextval('s28'));
SELECT nextval('s28');
SELECT k FROM w28 WHERE k < (SELECT nextval('s28')) ORDER BY k;
SELECT nextval('s28');
SELECT k FROM w28 WHERE k = ANY (ARRAY(SELECT nextval('s28'))) AND k > 10;
SELECT nextval('s28');
SELECT w.k FROM w28 w JOIN none28 n ON n.a = w.k AND n.a < (SELECT nextval('s28'));
SELECT nextval('s28');
SELECT (SELECT nextval('s28')) AS n, k FROM w28 WHERE k > 10;
-- conditions in PostgreSQL's order (cheapest first): here nextval() is drawn for every row
SELECT k FROM w28 WHERE md5(k::text) = 'x' AND k < nextval('s28');
SELECT nextval('s28');
SELECT k FROM w28 WHERE k < nextval('s28') AND k > 100;
SELECT nextval('s28');
SELECT currval('s28'), nextval('s28');
BEGIN;
SELECT * FROM none28 WHERE a < (SELECT nextval('s28'));
SELECT nextval('s28');
COMMIT;
-- a VOLATILE function of the user's that writes a distributed table, in a condition's
-- sub-select: called when a row needs it (it ran first, always, before)
CREATE TABLE log28 (n int) DISTRIBUTE BY HASH (n);
CREATE FUNCTION bump28() RETURNS int LANGUAGE plpgsql AS $$ BEGIN INSERT INTO log28 VALUES (1); RETURN 5; END $$;
SELECT * FROM none28 WHERE a < (SELECT bump28());
SELECT count(*) FROM log28;
SELECT k FROM w28 WHERE k > 100 AND k < (SELECT bump28());
SELECT count(*) FROM log28;
SELECT k FROM w28 WHERE k < (SELECT bump28()) ORDER BY k;
SELECT count(*) FROM log28;
BEGIN;
SELECT * FROM none28 WHERE a < (SELECT bump28());
SELECT count(*) FROM log28;
ROLLBACK;
SELECT k FROM w28 WHERE md5(k::text) = 'x' AND bump28() > 0;
SELECT k FROM w28 WHERE k < 3 AND bump28() > 0 ORDER BY k;
SELECT count(*) FROM log28;
-- a VOLATILE function that only reads: its sub-select still runs first (the same value)
CREATE FUNCTION cnt28() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM w28 $$;
SELECT k FROM w28 WHERE k < (SELECT cnt28()) ORDER BY k;
SELECT * FROM none28 WHERE a = (SELECT cnt28());
