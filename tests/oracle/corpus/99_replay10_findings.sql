/*
Differences the tenth replay of other projects' regression files (h-replay10, 2026-12-05:
Citus's 68 files, Postgres-XL 9.2's 20) showed, each reduced to its smallest form.
*/

-- alter_distributed_table.sql:438 (Citus): ALTER TABLE ... RENAME of a table the user
-- partitioned renamed the shards a HASH table has on its datanodes, but such a table
-- has none (its leaf partitions have them): 42P01 on `gridpg_shards."s.t_0"`, for every
-- rename of a partitioned table, whatever the new name
CREATE TABLE r10_parted (tenant int NOT NULL, at date NOT NULL, v text) PARTITION BY RANGE (at);
CREATE TABLE r10_parted_p1 PARTITION OF r10_parted FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
INSERT INTO r10_parted VALUES (1, '2020-03-01', 'a'), (2, '2020-04-01', 'b'), (3, '2020-05-01', 'c');
ALTER TABLE r10_parted RENAME TO r10_parted_renamed;
SELECT tenant, at, v FROM r10_parted_renamed ORDER BY tenant;
SELECT v FROM r10_parted_renamed WHERE tenant = 2;
ALTER TABLE r10_parted_p1 RENAME TO r10_parted_p1_12345678901234567890123456789012345678901234567890;
ALTER TABLE r10_parted_renamed RENAME TO r10_parted_123456789012345678901234567890123456789012345678901234567;
INSERT INTO r10_parted_1234567890123456789012345678901234567890123456789012 VALUES (4, '2020-06-01', 'd');
SELECT tenant, v FROM r10_parted_1234567890123456789012345678901234567890123456789012 ORDER BY tenant;
SELECT count(*) FROM r10_parted_p1_1234567890123456789012345678901234567890123456789;
-- a partitioned table without partitions, and one with a sub-partitioned partition
CREATE TABLE r10_empty_parted (k int, v int) PARTITION BY LIST (v);
ALTER TABLE r10_empty_parted RENAME TO r10_empty_parted2;
CREATE TABLE r10_empty_parted2_1 PARTITION OF r10_empty_parted2 FOR VALUES IN (1) PARTITION BY RANGE (k);
CREATE TABLE r10_empty_parted2_1a PARTITION OF r10_empty_parted2_1 FOR VALUES FROM (0) TO (100);
INSERT INTO r10_empty_parted2 VALUES (5, 1), (6, 1);
ALTER TABLE r10_empty_parted2_1 RENAME TO r10_mid;
ALTER TABLE r10_empty_parted2 RENAME TO r10_top;
SELECT k, v FROM r10_top ORDER BY k;
SELECT k FROM r10_mid WHERE k = 6;
-- error
ALTER TABLE r10_no_such_parted RENAME TO r10_x;
-- the same through ALTER TABLE ... SET SCHEMA and ALTER SCHEMA ... RENAME
DROP SCHEMA IF EXISTS oracle_r10_a CASCADE;
DROP SCHEMA IF EXISTS oracle_r10_b CASCADE;
CREATE SCHEMA oracle_r10_a;
CREATE TABLE oracle_r10_a.pt (a int, b int) PARTITION BY LIST (b);
CREATE TABLE oracle_r10_a.pt1 PARTITION OF oracle_r10_a.pt FOR VALUES IN (1);
INSERT INTO oracle_r10_a.pt VALUES (5, 1), (7, 1);
ALTER SCHEMA oracle_r10_a RENAME TO oracle_r10_b;
SELECT a, b FROM oracle_r10_b.pt ORDER BY a;
ALTER TABLE oracle_r10_b.pt SET SCHEMA oracle_99_replay10_findings;
SELECT a, b FROM pt ORDER BY a;
SELECT a FROM oracle_r10_b.pt1 WHERE a = 7;
DROP TABLE pt;
DROP SCHEMA oracle_r10_b CASCADE;

-- multi_insert_select.sql:1888 (Citus): a WITH on the INSERT and another on its SELECT;
-- gridpg ran the SELECT as `WITH a AS (...) WITH b AS (...) SELECT ...`: 42601. The
-- SELECT's names see the INSERT's and shadow them
CREATE TABLE r10_src (u int, v int);
CREATE TABLE r10_dst (user_id int, value_1 int);
INSERT INTO r10_src VALUES (1, 1), (2, 2), (3, 3);
WITH removed_rows AS (DELETE FROM r10_src WHERE u < 3 RETURNING u)
INSERT INTO r10_dst (user_id, value_1) WITH value AS (SELECT 1) SELECT * FROM removed_rows, value;
SELECT user_id, value_1 FROM r10_dst ORDER BY 1, 2;
SELECT u, v FROM r10_src ORDER BY u;
WITH rr AS (SELECT u FROM r10_src) INSERT INTO r10_dst (user_id, value_1)
WITH value AS (SELECT 7) SELECT * FROM rr, value;
WITH o AS (SELECT 1 AS one) INSERT INTO r10_dst WITH o AS (SELECT 2 AS one) SELECT one, one FROM o;
WITH o AS (SELECT 10 AS one) INSERT INTO r10_dst (value_1, user_id)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT one, i FROM n, o
RETURNING user_id, value_1;
WITH o AS (SELECT u FROM r10_src) INSERT INTO r10_dst
WITH p AS (SELECT u * 100 AS w FROM o) SELECT w, w FROM p UNION ALL SELECT 0, 0 ORDER BY 1;
SELECT user_id, value_1 FROM r10_dst ORDER BY 1, 2;
-- error
WITH o AS (SELECT 1 AS one) INSERT INTO r10_dst WITH d AS (DELETE FROM r10_src RETURNING u) SELECT u, one FROM d, o;
SELECT count(*) FROM r10_src;

-- multi_insert_select.sql:2137 (Citus): INSERT ... SELECT through an automatically
-- updatable view over a distributed table was refused (0A000); the SELECT now runs first
-- and its rows take the VALUES path (assignment casts as PostgreSQL applies them to the
-- SELECT's columns, the view's mapping, CHECK OPTION, RETURNING on the nodes)
CREATE TABLE r10_vt (a int, b int, c text DEFAULT 'dflt');
CREATE VIEW r10_vt_v AS SELECT b AS bee, a AS ay FROM r10_vt;
CREATE VIEW r10_vt_chk AS SELECT a, b FROM r10_vt WHERE b > 0 WITH CHECK OPTION;
INSERT INTO r10_src VALUES (10, 100), (11, 110), (12, 120);
INSERT INTO r10_vt_v SELECT v, u FROM r10_src;
INSERT INTO r10_vt_v (ay, bee) SELECT u * 1.5, v / 4.0 FROM r10_src WHERE u > 10 RETURNING bee, ay;
INSERT INTO r10_vt_v SELECT 5, 6;
INSERT INTO r10_vt_v SELECT g * 10, g FROM generate_series(20, 22) g;
INSERT INTO r10_vt_v SELECT v, u FROM r10_src WHERE false;
INSERT INTO r10_vt_v AS x SELECT v, u FROM r10_src WHERE false RETURNING x.ay;
WITH s AS (SELECT u FROM r10_src) INSERT INTO r10_vt_v SELECT (SELECT max(v) FROM r10_src), u + 100 FROM s;
INSERT INTO r10_vt_chk SELECT u, v FROM r10_src WHERE u = 10;
SELECT a, b, c FROM r10_vt ORDER BY a, b;
-- error
INSERT INTO r10_vt_chk SELECT u, -v FROM r10_src WHERE u = 11;
-- error
INSERT INTO r10_vt_v SELECT 1, 2, 3;
-- error
INSERT INTO r10_vt_v (ay, bee) SELECT 1;
-- error
INSERT INTO r10_vt_v (ay) SELECT 'x';
SELECT count(*) FROM r10_vt;
CREATE TABLE r10_vs (id serial, k int, v text);
CREATE VIEW r10_vs_v AS SELECT k AS key, v, id FROM r10_vs;
INSERT INTO r10_vs_v (key, v) SELECT u, 'x' || u FROM r10_src ORDER BY u RETURNING key, v, id;
INSERT INTO r10_vs_v SELECT 1, 'given', 99;
SELECT id, k, v FROM r10_vs ORDER BY id;
