/*
Differences PostgreSQL 18's regression files showed in the sixteenth replay (h-regress16b,
2026-12-06: indexing, rowsecurity, without_overlaps, tablesample and the partitioning
files), each reduced to its smallest form.
*/

-- indexing.sql:262-304, 930: a CREATE INDEX CONCURRENTLY that fails on a datanode (a row
-- the index expression cannot take) leaves PostgreSQL's INVALID index; gridpg's catalog
-- server, which builds it first over its empty copy, said valid (pg_index.indisvalid,
-- psql's \d), so nothing told a client the index needed rebuilding
CREATE TABLE r16b_cic (a int, b int);
INSERT INTO r16b_cic SELECT g, 1 FROM generate_series(1, 20) g;
INSERT INTO r16b_cic VALUES (21, 0);
-- error
CREATE INDEX CONCURRENTLY r16b_cic_idx ON r16b_cic ((a / b));
SELECT c.relname, i.indisvalid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid
  WHERE c.relnamespace = current_schema()::regnamespace AND c.relname LIKE 'r16b_cic%' ORDER BY 1;
DROP INDEX CONCURRENTLY IF EXISTS r16b_cic_idx;
DELETE FROM r16b_cic WHERE b = 0;
CREATE INDEX CONCURRENTLY r16b_cic_idx ON r16b_cic ((a / b));
SELECT c.relname, i.indisvalid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid
  WHERE c.relnamespace = current_schema()::regnamespace AND c.relname LIKE 'r16b_cic%' ORDER BY 1;
SELECT count(*) FROM r16b_cic WHERE a / b = 7;
-- a partition's invalid index is taken by its parent's CREATE INDEX, which is invalid
-- then up to the top (indexing.sql:930)
CREATE TABLE r16b_pv (a int, b int) PARTITION BY RANGE (a);
CREATE TABLE r16b_pv_1 PARTITION OF r16b_pv FOR VALUES FROM (1) TO (10) PARTITION BY RANGE (a);
CREATE TABLE r16b_pv_2 PARTITION OF r16b_pv FOR VALUES FROM (10) TO (20);
CREATE TABLE r16b_pv_11 PARTITION OF r16b_pv_1 FOR VALUES FROM (1) TO (5);
CREATE TABLE r16b_pv_12 PARTITION OF r16b_pv_1 FOR VALUES FROM (5) TO (10);
INSERT INTO r16b_pv_11 VALUES (1, 0);
-- error
CREATE INDEX CONCURRENTLY r16b_pv_idx_11 ON r16b_pv_11 ((a / b));
CREATE INDEX r16b_pv_idx ON r16b_pv ((a / b));
SELECT indexrelid::regclass::text, indisvalid, indrelid::regclass::text
  FROM pg_index WHERE indexrelid::regclass::text LIKE 'r16b_pv%' ORDER BY indexrelid::regclass::text COLLATE "C";
