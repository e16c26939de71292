/*
SQL as users write it, found wrong by the h-odd pass (issue 12):
- `SELECT 1/0 FROM t WHERE id = 77` (no such row), `UPDATE t SET n = 1/0 WHERE id = 77`,
  `WHERE n = sqrt(-1)`: PostgreSQL folds an expression of literals when it plans, so its
  error comes with no row to read; the simple protocol's routed fast path ran the
  statement prepared with its literals as parameters of a generic plan, computed per
  row: 0 rows (UPDATE 0) where PostgreSQL fails.
- `SELECT min(p), max(p) FROM t` of a composite-type column over several nodes: 42P16
  (column has pseudo-type record: PostgreSQL's min/max of records answer `record`, which
  the partial aggregates' table cannot hold); now finished on the catalog server.
- a function whose name holds a double quote (`"count ""them"" all"(10)`) or is written
  with Unicode escapes (`U&"tally\00e9"()`) and reads a distributed table: the routine
  guard looked for the name in the statement's text as stored, did not find it, and the
  call ran unchecked: over the catalog server's empty copy (10 for 15), or per node in
  a SELECT over the table (each node counting its own rows), silently.
*/
CREATE TABLE readings (id int PRIMARY KEY, n int, t varchar(3));
INSERT INTO readings VALUES (1, 10, 'a'), (2, 20, 'b');
-- error
SELECT 1/0 FROM readings WHERE id = 77;
-- error
SELECT 1/0 FROM readings WHERE id = 77;
-- error
SELECT n FROM readings WHERE id = 77 AND n = 10 / 0;
-- error
UPDATE readings SET n = 1/0 WHERE id = 77;
-- error
DELETE FROM readings WHERE id = 78 AND n > sqrt(-1);
-- error
SELECT id FROM readings WHERE id = 79 AND n < 2147483647 + 1;
SELECT n / 2 FROM readings WHERE id = 1;
SELECT n / 2 FROM readings WHERE id = 1;
SELECT n FROM readings WHERE id = 2 AND n = 40 / 2;
UPDATE readings SET n = n + 1 WHERE id = 2 RETURNING n;
SELECT id, n, t FROM readings ORDER BY id;
CREATE TYPE point2 AS (x int, label text);
CREATE TABLE shapes (id int PRIMARY KEY, corner point2, kind text);
INSERT INTO shapes SELECT g, ROW(g % 4, chr(97 + g % 5))::point2, CASE WHEN g % 2 = 0 THEN 'even' ELSE 'odd' END FROM generate_series(1, 30) g;
SELECT min(corner), max(corner) FROM shapes;
SELECT kind, min(corner), max(corner), count(*) FROM shapes GROUP BY kind ORDER BY kind;
SELECT min(corner) FILTER (WHERE (corner).x > 1) FROM shapes WHERE id > 3;
BEGIN;
UPDATE shapes SET corner = ROW(9, 'z') WHERE id = 7;
SELECT max(corner) FROM shapes;
ROLLBACK;
SELECT max(corner) FROM shapes;
CREATE TABLE tally (id int PRIMARY KEY);
INSERT INTO tally SELECT generate_series(1, 5);
CREATE FUNCTION "count ""them"" all"(x int) RETURNS bigint LANGUAGE sql AS $$ SELECT x + count(*) FROM tally $$;
SELECT "count ""them"" all"(10);
SELECT id, "count ""them"" all"(id) FROM tally ORDER BY id;
CREATE FUNCTION U&"tally\00e9"() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM tally $$;
SELECT U&"tally\00e9"();
SELECT "tallyé"();
CREATE FUNCTION "Tally Of"(lo int) RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN RETURN (SELECT count(*) FROM tally WHERE id >= lo); END $$;
SELECT "Tally Of"(2);
