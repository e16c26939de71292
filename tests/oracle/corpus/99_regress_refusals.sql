/*
Ordinary statements PostgreSQL 18's regression files run that gridpg refused or failed
(the replay of 2026-12-02 20:30 UTC, issue 12), each reduced to its smallest form.
*/

-- select.sql, timetz.sql: `TABLE rel` where gridpg splices a scratch table or a view's
-- query at the relation (`TABLE scratch AS rel`): a syntax error at "AS" / "("
CREATE TABLE rr_tbl_i8 (q1 int8, q2 int8) DISTRIBUTE BY HASH (q1);
INSERT INTO rr_tbl_i8 VALUES (123, 456), (4567890123456789, -4567890123456789);
CREATE TABLE rr_tbl_other (id int, q1 int8) DISTRIBUTE BY HASH (id);
INSERT INTO rr_tbl_other VALUES (1, 123), (2, 4567890123456789);
VALUES (1, 2), (3, 4+4), (7, 77.7) UNION ALL SELECT 2+2, 57 UNION ALL TABLE rr_tbl_i8;
CREATE VIEW rr_tbl_view AS SELECT q1, q2, q1 + q2 AS s FROM rr_tbl_i8 ORDER BY q1;
TABLE rr_tbl_view;
(TABLE ONLY rr_tbl_i8) UNION (TABLE rr_tbl_i8) ORDER BY 1;
CREATE VIEW rr_tbl_q1s AS SELECT q1 FROM rr_tbl_i8;
SELECT * FROM rr_tbl_other o WHERE o.q1 IN (TABLE rr_tbl_q1s);
WITH t AS (TABLE rr_tbl_i8) SELECT count(*) FROM t JOIN rr_tbl_other USING (q1);
CREATE TABLE rr_tbl_copy AS TABLE rr_tbl_view;
INSERT INTO rr_tbl_copy TABLE rr_tbl_view;
SELECT q1, count(*) FROM rr_tbl_copy GROUP BY q1;
-- "table" in names and strings stays as written
CREATE TABLE "table" (id int, "TABLE" text) DISTRIBUTE BY HASH (id);
INSERT INTO "table" VALUES (1, 'table x');
TABLE "table";
SELECT "TABLE" FROM "table" WHERE "TABLE" = 'table x';

-- insert.sql: DEFAULT for a distribution column that has no default (NULL) or whose
-- domain has one: 42601 "DEFAULT is not allowed in this context" (it was cast for routing)
CREATE TABLE rr_dflt (col1 int4, col2 int4 NOT NULL, col3 text DEFAULT 'testing') DISTRIBUTE BY HASH (col1);
INSERT INTO rr_dflt (col1, col2, col3) VALUES (DEFAULT, 5, DEFAULT);
-- error
INSERT INTO rr_dflt (col1, col2, col3) VALUES (DEFAULT, DEFAULT, DEFAULT);
INSERT INTO rr_dflt VALUES (DEFAULT, 5, 'test');
INSERT INTO rr_dflt VALUES (DEFAULT, 7), (3, 8), (DEFAULT, 9) RETURNING *;
-- error
INSERT INTO rr_dflt (col1, col2, col3) VALUES (DEFAULT, DEFAULT);
-- error
INSERT INTO rr_dflt (col1, col2, col3) VALUES (DEFAULT, 11), (DEFAULT, 12);
INSERT INTO rr_dflt VALUES (DEFAULT, 13);
SELECT * FROM rr_dflt WHERE col1 IS NULL;
SELECT count(*) FROM rr_dflt;
CREATE DOMAIN rr_dflt_dom AS int DEFAULT 42;
CREATE TABLE rr_dflt_domain (a rr_dflt_dom, b int) DISTRIBUTE BY HASH (a);
INSERT INTO rr_dflt_domain VALUES (DEFAULT, 1), (DEFAULT, 2) RETURNING *;
SELECT * FROM rr_dflt_domain WHERE a = 42;

-- join.sql: a join renamed by position, `(a CROSS JOIN b) AS x (c1, c2, ...)`: the copy of
-- a table moved for the join held only the columns the query names (42P10 "join
-- expression has 3 columns available but 5 columns specified")
CREATE TABLE rr_j1 (i integer, j integer, t text) DISTRIBUTE BY HASH (i);
CREATE TABLE rr_j2 (i integer, k integer) DISTRIBUTE BY HASH (k);
INSERT INTO rr_j1 VALUES (1, 4, 'one'), (2, 3, 'two'), (3, 2, 'three'), (4, 1, 'four'), (0, NULL, 'zero');
INSERT INTO rr_j2 VALUES (1, -1), (2, 2), (3, -3), (2, 4), (5, -5), (NULL, 0);
SELECT ii, tt, kk FROM (rr_j1 CROSS JOIN rr_j2) AS tx (ii, jj, tt, ii2, kk);
SELECT tx.ii, tx.kk FROM (rr_j1 a CROSS JOIN rr_j2 b) AS tx (ii, jj, tt, ii2, kk) WHERE tx.jj > 1;
SELECT x.q, count(*) FROM (rr_j1 a JOIN rr_j2 b ON a.j = b.k) AS x (p, q) GROUP BY x.q;
SELECT x.r FROM (rr_j1 a LEFT JOIN rr_j2 b ON a.i = b.k) AS x (p, q, r) ORDER BY 1;

-- aggregates.sql: min/max of a row constructor; its partial per node was a column of
-- pseudo-type record (42P16)
CREATE TABLE rr_aggtest (id int, a int2, b float4) DISTRIBUTE BY HASH (id);
INSERT INTO rr_aggtest VALUES (1, 56, 7.8), (2, 100, 99.097), (3, 0, 0.09561), (4, 42, 324.78), (5, 100, 1.5);
SELECT max(row(a, b)) FROM rr_aggtest;
SELECT min(row(b, a)), max(row(b, a)), count(*) FROM rr_aggtest;
SELECT a % 3 AS m, max(row(a, b)), min(row(a, id)) FROM rr_aggtest GROUP BY 1;

-- with.sql: a view whose WITH RECURSIVE has a CYCLE clause; pg_get_viewdef prints the
-- mark values as casts ('Y'::text), which PostgreSQL's grammar refuses: the permanent view
-- was taken as reading no distributed table and answered from the catalog server's empty
-- copy (0 rows, silently); the temporary one failed with a syntax error at "::"
CREATE TABLE rr_graph (f int, t int, label text) DISTRIBUTE BY HASH (f);
INSERT INTO rr_graph VALUES (1, 2, 'arc 1 -> 2'), (1, 3, 'arc 1 -> 3'), (2, 3, 'arc 2 -> 3'),
  (1, 4, 'arc 1 -> 4'), (4, 5, 'arc 4 -> 5'), (5, 1, 'arc 5 -> 1');
CREATE VIEW rr_v_cycle AS
WITH RECURSIVE search_graph(f, t, label) AS (
  SELECT * FROM rr_graph g
  UNION ALL
  SELECT g.* FROM rr_graph g, search_graph sg WHERE g.f = sg.t
) CYCLE f, t SET is_cycle TO 'Y' DEFAULT 'N' USING path
SELECT f, t, label, is_cycle FROM search_graph;
SELECT * FROM rr_v_cycle;
SELECT is_cycle, count(*) FROM rr_v_cycle GROUP BY is_cycle;
CREATE TEMP VIEW rr_v_cycle_temp AS
WITH RECURSIVE search_graph(f, t, label) AS (
  SELECT * FROM rr_graph g
  UNION ALL
  SELECT g.* FROM rr_graph g, search_graph sg WHERE g.f = sg.t
) CYCLE f, t SET is_cycle TO 'Y' DEFAULT 'N' USING path
SELECT f, t, label FROM search_graph;
SELECT * FROM rr_v_cycle_temp;
DROP VIEW rr_v_cycle_temp;

-- create_table.sql: a table created in pg_temp by name is temporary (it was distributed,
-- and the datanodes refused its schema: 3F000 schema "pg_temp_N" does not exist)
CREATE TABLE pg_temp.rr_implicitly_temp (a int PRIMARY KEY);
INSERT INTO pg_temp.rr_implicitly_temp VALUES (1);
INSERT INTO rr_implicitly_temp VALUES (2);
SELECT * FROM rr_implicitly_temp;
SELECT t.a, j.t FROM rr_implicitly_temp t JOIN rr_j1 j ON j.i = t.a;
CREATE TABLE pg_temp.rr_implicitly_temp2 AS SELECT i, t FROM rr_j1 WHERE i < 3;
SELECT * FROM rr_implicitly_temp2;
SELECT relpersistence FROM pg_class WHERE relname IN ('rr_implicitly_temp', 'rr_implicitly_temp2');
DROP TABLE rr_implicitly_temp, rr_implicitly_temp2;

-- with.sql: an INSERT's WITH read by its VALUES rows and by ON CONFLICT ... DO UPDATE:
-- the rows were evaluated without it (42P01 relation "aa" does not exist)
CREATE TABLE rr_withz (k int PRIMARY KEY, v text) DISTRIBUTE BY HASH (k);
WITH aa AS (SELECT 1 a, 2 b)
INSERT INTO rr_withz VALUES (1, (SELECT b || ' insert' FROM aa WHERE a = 1))
ON CONFLICT (k) DO UPDATE SET v = (SELECT b || ' update' FROM aa WHERE a = 1 LIMIT 1);
WITH aa AS (SELECT 1 a, 2 b)
INSERT INTO rr_withz VALUES (1, (SELECT b || ' insert' FROM aa WHERE a = 1))
ON CONFLICT (k) DO UPDATE SET v = (SELECT b || ' update' FROM aa WHERE a = 1 LIMIT 1);
WITH aa AS (SELECT 3 a, 4 b), bb AS (SELECT a + b AS c FROM aa)
INSERT INTO rr_withz VALUES ((SELECT a FROM aa), (SELECT c::text FROM bb)), (2, 'two') RETURNING *;
WITH aa AS (SELECT max(k) m FROM rr_withz)
INSERT INTO rr_withz VALUES ((SELECT m + 10 FROM aa), 'ten more') RETURNING *;
SELECT * FROM rr_withz;

-- select_into.sql: SELECT ... INTO where the statement does not allow one: PostgreSQL's
-- 42601 / 0A000 (gridpg ran the statement half-way first: 0A000 from COPY, 25P01, 42501)
-- error
DECLARE rr_foo CURSOR FOR SELECT 1 INTO rr_j1;
-- error
INSERT INTO rr_j1 (i) SELECT 1 INTO rr_f;
-- error
INSERT INTO rr_j1 (i) SELECT i INTO rr_f FROM rr_j2;
-- error
COPY (SELECT 1 INTO rr_frak UNION SELECT 2) TO STDOUT;
SELECT count(*) FROM rr_j1;

-- groupingsets.sql: CREATE VIEW over a temp table is a temporary view (PostgreSQL says so
-- in a notice); it was refused as one statement over temporary and other relations
CREATE TEMP TABLE rr_tq (i int);
INSERT INTO rr_tq VALUES (1), (3), (5);
CREATE VIEW rr_v_mixed AS SELECT j.i, j.t FROM rr_j1 j JOIN rr_tq USING (i);
CREATE VIEW rr_v_temp_only AS SELECT i * 2 AS d FROM rr_tq;
SELECT * FROM rr_v_mixed;
SELECT * FROM rr_v_temp_only;
SELECT relname, relpersistence FROM pg_class WHERE relname IN ('rr_v_mixed', 'rr_v_temp_only');
DROP VIEW rr_v_mixed, rr_v_temp_only;
DROP TABLE rr_tq;
