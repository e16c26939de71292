/*
Differences PostgreSQL 18's regression files after merge.sql showed in the h-regress25
replay (2026-12-07: prepare, publication and the files around them), each in its
smallest form.
*/

-- prepare.sql:62, 64: CREATE TEMP TABLE ... AS EXECUTE of a statement reading a
-- distributed table was refused (0A000); the temp table is filled from the cluster's rows.
-- WITH NO DATA answers SELECT 0, as PostgreSQL's EXECUTE does.
CREATE TABLE rg25_items (id int PRIMARY KEY, label text, n int);
INSERT INTO rg25_items SELECT g, 'item ' || g, g % 7 FROM generate_series(1, 60) g;
PREPARE rg25_q(int, int) AS SELECT id, label, n * 2 AS twice FROM rg25_items WHERE n = $1 AND id > $2;
CREATE TEMP TABLE rg25_copy AS EXECUTE rg25_q(3, 10);
SELECT * FROM rg25_copy ORDER BY id;
CREATE TEMP TABLE rg25_none AS EXECUTE rg25_q(3, 10) WITH NO DATA;
SELECT count(*) FROM rg25_none;
CREATE TEMP TABLE rg25_named (k, v) AS EXECUTE rg25_q(5, 0);
SELECT k, v, twice FROM rg25_named ORDER BY k;
BEGIN;
CREATE TEMP TABLE rg25_dropped ON COMMIT DROP AS EXECUTE rg25_q(1, 20);
SELECT count(*), min(id), max(id) FROM rg25_dropped;
COMMIT;
-- error
SELECT count(*) FROM rg25_dropped;
-- the temp copy is the session's own: later writes to the table do not reach it
UPDATE rg25_items SET label = 'changed' WHERE n = 3;
SELECT count(*) FILTER (WHERE label = 'changed') FROM rg25_copy;
-- write_parallel.sql:39: EXPLAIN CREATE TABLE ... AS EXECUTE went whole to the catalog
-- server, which has none of the session's prepared statements (26000); it explains the
-- bound statement now (plans differ by design: only the errors and what is left compared)
PREPARE rg25_w AS DELETE FROM rg25_items WHERE id < 0;
-- error
EXPLAIN CREATE TABLE rg25_nope AS EXECUTE rg25_nosuch;
-- error
EXPLAIN CREATE TABLE rg25_nope AS EXECUTE rg25_q(1);
SELECT to_regclass('rg25_nope') IS NULL AS not_created, count(*) FROM rg25_items;
DEALLOCATE rg25_w;
DEALLOCATE rg25_q;

-- publication.sql:166 and ~75 statements after it: a row filter or a column list of a
-- table gridpg distributes by hash (a partitioned table on the datanodes) failed with
-- 22023; the datanodes now publish through the partition root, the catalog servers keep
-- the publication as written.
DROP PUBLICATION IF EXISTS rg25_pub_filter, rg25_pub_cols, rg25_pub_parted;
CREATE TABLE rg25_pub (a int PRIMARY KEY, b int, c text);
INSERT INTO rg25_pub SELECT g, g % 4, 'c' || g FROM generate_series(1, 30) g;
CREATE PUBLICATION rg25_pub_filter FOR TABLE rg25_pub WHERE (a > 10) WITH (publish = 'insert, update');
CREATE PUBLICATION rg25_pub_cols FOR TABLE rg25_pub (a, b);
SELECT pubname, tablename, attnames, rowfilter FROM pg_publication_tables
  WHERE pubname LIKE 'rg25%' ORDER BY pubname;
-- the filter reads only the replica identity (the primary key): updates pass
UPDATE rg25_pub SET b = b + 1 WHERE a < 5;
ALTER PUBLICATION rg25_pub_filter SET TABLE rg25_pub WHERE (b > 1);
-- error
UPDATE rg25_pub SET c = 'x' WHERE a = 3;
ALTER PUBLICATION rg25_pub_filter SET TABLE rg25_pub WHERE (a > 20);
UPDATE rg25_pub SET c = 'y' WHERE a = 3;
ALTER PUBLICATION rg25_pub_cols SET TABLE rg25_pub (a, c);
ALTER PUBLICATION rg25_pub_cols SET (publish_via_partition_root = true);
ALTER PUBLICATION rg25_pub_cols SET (publish_via_partition_root = false, publish = 'insert');
SELECT pubname, pubviaroot, pubinsert, pubupdate FROM pg_publication
  WHERE pubname LIKE 'rg25%' ORDER BY pubname;
SELECT a, b, c FROM rg25_pub WHERE a IN (1, 3, 4, 5) ORDER BY a;
-- a table partitioned by the client: PostgreSQL's own refusal, from the catalog server
CREATE TABLE rg25_parted (a int, b int) PARTITION BY RANGE (a);
CREATE TABLE rg25_parted_1 PARTITION OF rg25_parted FOR VALUES FROM (0) TO (100);
-- error
CREATE PUBLICATION rg25_pub_parted FOR TABLE rg25_parted WHERE (a > 1);
CREATE PUBLICATION rg25_pub_parted FOR TABLE rg25_parted_1 WHERE (a > 1);
-- error
ALTER PUBLICATION rg25_pub_parted SET TABLE rg25_parted WHERE (a > 1);
ALTER PUBLICATION rg25_pub_parted SET (publish_via_partition_root = true);
ALTER PUBLICATION rg25_pub_parted SET TABLE rg25_parted WHERE (a > 1);
-- error
ALTER PUBLICATION rg25_pub_parted SET (publish_via_partition_root = false);
SELECT pubname, tablename, rowfilter FROM pg_publication_tables
  WHERE pubname = 'rg25_pub_parted' ORDER BY tablename;
DROP PUBLICATION rg25_pub_filter, rg25_pub_cols, rg25_pub_parted;

-- spgist.sql:45: a correlated EXISTS over a table with a column of a type without an
-- equality operator (box): the planner's estimate of the table's distinct rows (SELECT
-- DISTINCT b on a datanode) failed the statement with 42883; that estimate is optional.
CREATE TABLE rg25_boxes (id int, b box);
INSERT INTO rg25_boxes SELECT g, box(point(g, g), point(g + 1, g + 1)) FROM generate_series(1, 50) g;
SELECT count(*) FROM (VALUES (point(5, 5)), (point(8, 8)), (point(120, 120))) v(p)
  WHERE EXISTS (SELECT * FROM rg25_boxes b WHERE b.b && box(v.p, v.p));
SELECT v.p FROM (VALUES (point(5, 5)), (point(8, 8)), (point(120, 120))) v(p)
  WHERE NOT EXISTS (SELECT 1 FROM rg25_boxes b WHERE b.b && box(v.p, v.p));
