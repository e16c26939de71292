/*
tableoid of a distributed table's rows inside expressions (issue 12, "no silent wrong
answer"): as a name, compared with names, as a number, sorted and grouped on, beside *,
in CASE, subqueries and joins with pg_class; over a plain HASH table, a partitioned table
(RANGE, rows on both datanodes) and an inheritance tree. A datanode numbers its tables
itself: where the number shows, gridpg answers with the catalog server's OIDs (compared
here only with the same session's 'name'::regclass and pg_class, never printed).
*/

CREATE TABLE toid_t (a int, b text) DISTRIBUTE BY HASH (a);
INSERT INTO toid_t SELECT i, 'x' || i FROM generate_series(1, 12) i;
CREATE TABLE toid_p (a int, b text) PARTITION BY RANGE (a) DISTRIBUTE BY HASH (a);
CREATE TABLE toid_p1 PARTITION OF toid_p FOR VALUES FROM (0) TO (5);
CREATE TABLE toid_p2 PARTITION OF toid_p FOR VALUES FROM (5) TO (100);
INSERT INTO toid_p SELECT i, 'y' || i FROM generate_series(1, 12) i;
CREATE TABLE toid_parent (a int, b text);
CREATE TABLE toid_child (c int) INHERITS (toid_parent);
INSERT INTO toid_parent SELECT i, 'p' || i FROM generate_series(1, 4) i;
INSERT INTO toid_child SELECT i, 'c' || i, i * 10 FROM generate_series(5, 8) i;

-- beside * (inheritance and partition queries in PostgreSQL's own tests)
SELECT tableoid::regclass, * FROM toid_t ORDER BY 2;
SELECT tableoid::regclass, * FROM toid_p ORDER BY 2;
SELECT tableoid::regclass, * FROM toid_parent ORDER BY 2;
SELECT tableoid::regclass, * FROM toid_p ORDER BY 1, 2;
SELECT tableoid::regclass, p.* FROM toid_p p ORDER BY a DESC LIMIT 4;
SELECT tableoid::regclass::text AS part, a FROM toid_p ORDER BY 1, 2;
-- compared with names
SELECT a FROM toid_p WHERE tableoid = 'toid_p2'::regclass ORDER BY a;
SELECT a FROM toid_p WHERE tableoid <> 'toid_p2'::regclass::oid ORDER BY a;
SELECT a FROM toid_parent WHERE tableoid IN ('toid_child'::regclass) ORDER BY a;
SELECT a, CASE WHEN tableoid = 'toid_p1'::regclass THEN 'first' ELSE 'second' END AS part FROM toid_p ORDER BY a;
SELECT count(*) FROM toid_t WHERE tableoid = 'toid_t'::regclass;
-- as a number: the catalog's OIDs
SELECT tableoid::int = 'toid_t'::regclass::int AS same, count(*) FROM toid_t GROUP BY 1;
SELECT tableoid::oid = 'toid_p1'::regclass AS first, count(*) FROM toid_p GROUP BY 1 ORDER BY 1;
SELECT a FROM toid_p ORDER BY tableoid DESC, a LIMIT 5;
SELECT tableoid::regclass, count(*) FROM toid_p GROUP BY tableoid ORDER BY tableoid;
SELECT tableoid::regclass, count(*) FROM toid_parent GROUP BY 1 ORDER BY 1;
SELECT DISTINCT tableoid::regclass FROM toid_p ORDER BY 1;
SELECT c.relname, t.a FROM toid_p t JOIN pg_class c ON c.oid = t.tableoid ORDER BY 2;
SELECT a FROM toid_p t WHERE t.tableoid = (SELECT oid FROM pg_class WHERE relname = 'toid_p1') ORDER BY a;
SELECT s.x = 'toid_p2'::regclass AS second, count(*) FROM (SELECT tableoid AS x FROM toid_p) s GROUP BY 1 ORDER BY 1;
SELECT max(tableoid::regclass::text), min(tableoid)::regclass FROM toid_p;
SELECT a, (SELECT relname FROM pg_class WHERE oid = toid_p.tableoid) FROM toid_p WHERE a IN (2, 9) ORDER BY a;
-- a bare tableoid output joins the catalog
SELECT c.relname FROM pg_class c WHERE c.oid IN (SELECT tableoid FROM toid_p) ORDER BY 1;
-- set operations, and INSERT ... SELECT storing the table (as a name, as an OID joined with pg_class)
SELECT tableoid::regclass, a FROM toid_p1 UNION ALL SELECT tableoid::regclass, a FROM toid_t ORDER BY 2, 1 LIMIT 4;
SELECT tableoid::regclass::text FROM toid_p UNION SELECT tableoid::regclass::text FROM toid_parent ORDER BY 1;
SELECT * FROM (SELECT tableoid::regclass, a FROM toid_p UNION ALL SELECT tableoid::regclass, a FROM toid_t) s WHERE a = 3 ORDER BY 1;
-- ONLY: the parent's own rows (inherit.sql joins them with pg_class)
SELECT relname, p.* FROM ONLY toid_parent p, pg_class WHERE p.tableoid = pg_class.oid ORDER BY 2;
SELECT relname, p.* FROM toid_parent p, pg_class WHERE p.tableoid = pg_class.oid ORDER BY 2;
SELECT tableoid::int > 0 AS pos, a FROM ONLY toid_parent ORDER BY a;
SELECT count(*) FROM ONLY toid_parent p JOIN toid_parent q ON p.a = q.a WHERE q.tableoid::int > 0;
CREATE TABLE toid_names (a int, part text);
INSERT INTO toid_names SELECT a, tableoid::regclass::text FROM toid_p;
SELECT part, count(*) FROM toid_names GROUP BY 1 ORDER BY 1;
CREATE TABLE toid_classes (a int, r regclass);
INSERT INTO toid_classes SELECT a, tableoid::regclass FROM toid_p;
SELECT r, count(*) FROM toid_classes WHERE r IN ('toid_p1'::regclass, 'toid_p2'::regclass) GROUP BY 1 ORDER BY 1;
-- writes
UPDATE toid_p SET b = b || '!' WHERE tableoid = 'toid_p1'::regclass RETURNING tableoid::regclass, a, b;
DELETE FROM toid_parent WHERE tableoid = 'toid_child'::regclass AND a = 5 RETURNING tableoid::regclass, a;
SELECT tableoid::regclass, * FROM toid_parent ORDER BY a;
