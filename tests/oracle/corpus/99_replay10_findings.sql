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
