/*
Small differences against PostgreSQL found by replaying PostgreSQL 18's regression files
(h-small25, 2026-12-07).
Degenerate grouping (select_having.sql:47): a HAVING with no GROUP BY and no aggregate is
answered from the HAVING alone; PostgreSQL never reads the FROM, so a WHERE that fails on a
row (1/0) is never evaluated. The coordinator finish gathered the rows with that WHERE
pushed down (22012); such references are now gathered with `false`
(planner/gather._unread_locations).
*/
CREATE SCHEMA oracle_s25;
CREATE TABLE oracle_s25.h (a int, b int);
INSERT INTO oracle_s25.h VALUES (0, 1), (1, 2), (2, 3);
SELECT 1 AS one FROM oracle_s25.h WHERE 1/a = 1 HAVING 1 < 2;
SELECT 1 AS one FROM oracle_s25.h WHERE 1/a = 1 HAVING 1 > 2;
SELECT 1 AS one FROM (SELECT * FROM oracle_s25.h WHERE 1/a = 1) s HAVING 1 < 2;
SELECT 1 AS one FROM oracle_s25.h x JOIN oracle_s25.h y ON 1/x.a = y.b HAVING 2 > 1;
SELECT 'k' AS k, (SELECT count(*) FROM oracle_s25.h) AS n FROM oracle_s25.h WHERE b > 1 HAVING 1 < 2;
-- an aggregate: rows are read, the WHERE evaluated
-- error
SELECT count(*) FROM oracle_s25.h WHERE 1/a = 1 HAVING 1 < 2;
SELECT count(*) FROM oracle_s25.h WHERE a > 0 HAVING 1 < 2;
