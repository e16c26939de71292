/*
Differences PostgreSQL 18's regression files showed in the fourteenth replay (h-regress14,
2026-12-05: triggers, updatable_views, merge, matview, inherit and beside them), each
reduced to its smallest form.
*/

-- triggers.sql:214: a row trigger's WHEN condition reading new.tableoid / old.tableoid.
-- The coordinator fires AFTER ROW triggers of a distributed table itself, reading WHEN over
-- the row as a subquery without system columns: 42703 "column new.tableoid does not
-- exist", where PostgreSQL fires the trigger (or skips it when WHEN is false)
CREATE TABLE r14_oids (a int, b int);
INSERT INTO r14_oids VALUES (1, 10), (2, 20);
CREATE TABLE r14_log (k int, what text);
CREATE FUNCTION r14_note() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO r14_log VALUES (coalesce(NEW.b, OLD.b) + 1000, TG_ARGV[0]); RETURN NULL; END $$;
CREATE TRIGGER r14_moved AFTER UPDATE ON r14_oids FOR EACH ROW WHEN (new.tableoid <> old.tableoid) EXECUTE FUNCTION r14_note('moved');
UPDATE r14_oids SET b = b + 1;
SELECT * FROM r14_log ORDER BY k, what;
CREATE TRIGGER r14_same AFTER UPDATE ON r14_oids FOR EACH ROW WHEN (new.tableoid = old.tableoid AND new.tableoid <> 0) EXECUTE FUNCTION r14_note('same');
UPDATE r14_oids SET b = b + 1 WHERE a = 1;
SELECT * FROM r14_log ORDER BY k, what;
CREATE TRIGGER r14_gone AFTER DELETE ON r14_oids FOR EACH ROW WHEN (old.tableoid <> 0) EXECUTE FUNCTION r14_note('gone');
DELETE FROM r14_oids WHERE a = 2;
SELECT * FROM r14_log ORDER BY k, what;
SELECT a, b FROM r14_oids ORDER BY a;

-- triggers.sql:1487 (create_table.sql:749 alike): a partitioned parent without
-- partitions whose column gridpg had distributed it by (no DISTRIBUTE BY, no key) is
-- dropped kept naming that column: every later ATTACH PARTITION / PARTITION OF failed
-- (42703 "column ... named in DISTRIBUTE BY does not exist") and its rows found no
-- partition (23514); it is placed again by the default rules, as a plain table is
CREATE TABLE r14_anc (fd text, b text, fd2 int, fd3 int, a int) PARTITION BY RANGE (b);
ALTER TABLE r14_anc DROP COLUMN fd, DROP COLUMN fd2, DROP COLUMN fd3;
CREATE TABLE r14_mid (fd int, a int, fd2 int, b text) PARTITION BY RANGE (b);
ALTER TABLE r14_mid DROP COLUMN fd, DROP COLUMN fd2;
ALTER TABLE r14_anc ATTACH PARTITION r14_mid FOR VALUES FROM ('aaaa') TO ('zzzz');
CREATE TABLE r14_leaf (b text, fd int, a int);
ALTER TABLE r14_leaf DROP COLUMN fd;
ALTER TABLE r14_mid ATTACH PARTITION r14_leaf FOR VALUES FROM ('aaaa') TO ('bbbb');
CREATE TABLE r14_leaf2 PARTITION OF r14_mid FOR VALUES FROM ('bbbb') TO ('cccc');
INSERT INTO r14_mid VALUES (1, 'aardvark'), (2, 'aanimals');
INSERT INTO r14_leaf VALUES ('aardwolf', 2);
INSERT INTO r14_anc VALUES ('aasvogel', 3), ('bison', 4);
SELECT tableoid::regclass::text AS part, b, a FROM r14_anc ORDER BY a, b;
SELECT a, count(*) FROM r14_anc GROUP BY a ORDER BY a;
CREATE TABLE r14_cols (useless_1 int, id int, useless_2 int, d int, b int) PARTITION BY RANGE (id);
ALTER TABLE r14_cols DROP COLUMN useless_1;
ALTER TABLE r14_cols DROP COLUMN useless_2;
CREATE INDEX r14_cols_b ON r14_cols (b) WHERE b = 1;
CREATE TABLE r14_cols_1_10 PARTITION OF r14_cols FOR VALUES FROM (1) TO (10);
INSERT INTO r14_cols VALUES (1, 2, 3), (5, 6, 7);
SELECT tableoid::regclass::text AS part, id, d, b FROM r14_cols ORDER BY id;
UPDATE r14_cols SET d = d + 1 WHERE id = 5;
SELECT id, d, b FROM r14_cols WHERE id = 5;

-- matview.sql:304-313: EXPLAIN ANALYZE CREATE TABLE AS / MATERIALIZED VIEW of a relation
-- that exists: PostgreSQL's 42P07, or with IF NOT EXISTS a NOTICE and no plan, where
-- gridpg refused the statement first (0A000)
CREATE TABLE r14_ctas (a int);
INSERT INTO r14_ctas VALUES (1), (2);
-- error
EXPLAIN (ANALYZE, COSTS OFF, SUMMARY OFF, TIMING OFF, BUFFERS OFF) CREATE TABLE r14_ctas AS SELECT 1 / 0 AS a;
EXPLAIN (ANALYZE, COSTS OFF, SUMMARY OFF, TIMING OFF, BUFFERS OFF) CREATE TABLE IF NOT EXISTS r14_ctas AS SELECT 1 / 0 AS a;
CREATE MATERIALIZED VIEW r14_mv AS SELECT a FROM r14_ctas;
-- error
EXPLAIN (ANALYZE, COSTS OFF, SUMMARY OFF, TIMING OFF, BUFFERS OFF) CREATE MATERIALIZED VIEW r14_mv AS SELECT 1 / 0;
EXPLAIN (ANALYZE, COSTS OFF, SUMMARY OFF, TIMING OFF, BUFFERS OFF) CREATE MATERIALIZED VIEW IF NOT EXISTS r14_mv AS SELECT 1 / 0;
SELECT a FROM r14_mv ORDER BY a;

-- merge.sql:117: MERGE into a materialized view over a distributed table: PostgreSQL's
-- 0A000 "cannot execute MERGE on relation" (42809 before)
-- error
MERGE INTO r14_mv m USING r14_ctas t ON m.a = t.a WHEN MATCHED THEN DELETE;
