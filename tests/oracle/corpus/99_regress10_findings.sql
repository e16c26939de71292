/*
Differences PostgreSQL 18's regression files showed in the tenth replay (h-regress10,
2026-12-05), each reduced to its smallest form.
*/

-- returning.sql:147, 156, 421: a routine that depends on a temp object (`RETURNS SETOF
-- temp_table`, a BEGIN ATOMIC body over one) is made on the session's catalog connection
-- alone; DROP FUNCTION / ALTER FUNCTION of it went to every server: 42883, and the
-- routine stayed (a second CREATE FUNCTION then failed with 42723)
CREATE TEMP TABLE r10_tfoo (f1 int, f2 text);
INSERT INTO r10_tfoo VALUES (1, 'a'), (2, 'b');
CREATE FUNCTION r10_tfoo_f() RETURNS SETOF r10_tfoo AS $$ SELECT * FROM r10_tfoo OFFSET 0 $$ LANGUAGE sql STABLE;
SELECT * FROM r10_tfoo_f() ORDER BY f1;
ALTER FUNCTION r10_tfoo_f() STABLE;
DROP FUNCTION r10_tfoo_f();
-- error
DROP FUNCTION r10_tfoo_f();
CREATE FUNCTION r10_tfoo_f() RETURNS SETOF r10_tfoo AS $$ SELECT * FROM r10_tfoo OFFSET 0 $$ LANGUAGE sql STABLE;
DROP FUNCTION r10_tfoo_f;
CREATE FUNCTION r10_tfoo_count(a int) RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT count(*) + a FROM r10_tfoo; END;
SELECT r10_tfoo_count(10);
ALTER FUNCTION r10_tfoo_count(int) RENAME TO r10_tfoo_count2;
SELECT r10_tfoo_count2(20);
DROP FUNCTION r10_tfoo_count2(integer);
-- error
SELECT r10_tfoo_count2(20);
CREATE FUNCTION r10_not_temp(a int) RETURNS int LANGUAGE sql AS 'SELECT a + 1';
SELECT r10_not_temp(1);
DROP FUNCTION r10_not_temp(int);
DROP TABLE r10_tfoo;

-- returning.sql:342: INSERT ... SELECT into a table of no columns: gridpg staged the rows
-- and wrote them with `INSERT INTO t () SELECT ...` on the nodes (42601 at ")")
CREATE TABLE r10_zerocol ();
INSERT INTO r10_zerocol SELECT;
INSERT INTO r10_zerocol SELECT RETURNING 1 AS one;
INSERT INTO r10_zerocol SELECT FROM generate_series(1, 3) RETURNING 3 AS three;
-- error
INSERT INTO r10_zerocol SELECT RETURNING *;
CREATE TABLE r10_zsrc (k int, v text);
INSERT INTO r10_zsrc SELECT g, 'x' FROM generate_series(1, 5) g;
INSERT INTO r10_zerocol SELECT FROM r10_zsrc WHERE k > 1;
INSERT INTO r10_zerocol SELECT FROM r10_zsrc s JOIN r10_zsrc t ON s.v = t.v WHERE s.k = 1;
SELECT count(*) FROM r10_zerocol;
DELETE FROM r10_zerocol RETURNING 4 AS four;

-- with.sql:1545: MERGE whose source subquery reads an entry of the statement's WITH of
-- constants: the coordinator read the source's join values without the WITH (42P01)
CREATE TABLE r10_m AS SELECT i AS k, (i || ' v')::text AS v FROM generate_series(1, 16, 3) i;
WITH s AS MATERIALIZED (SELECT 17 a, 'sv' b)
MERGE INTO r10_m USING (SELECT * FROM s) o ON r10_m.k = o.a
WHEN MATCHED THEN UPDATE SET v = o.b || 'u'
WHEN NOT MATCHED THEN INSERT VALUES (o.a, o.b || 'i');
WITH s AS (SELECT 17 a, 'sv' b)
MERGE INTO r10_m USING (SELECT * FROM s) o ON r10_m.k = o.a
WHEN MATCHED THEN UPDATE SET v = o.b || 'u'
WHEN NOT MATCHED THEN INSERT VALUES (o.a, o.b || 'i');
WITH s AS (SELECT * FROM (VALUES (201, 'a'), (202, 'b'), (203, 'c'), (4, 'd')) v(a, b))
MERGE INTO r10_m USING (SELECT * FROM s) o ON r10_m.k = o.a
WHEN MATCHED THEN UPDATE SET v = o.b WHEN NOT MATCHED THEN INSERT VALUES (o.a, o.b);
SELECT * FROM r10_m ORDER BY k;
