/*
Differences PostgreSQL 18's regression files showed in the fifteenth replay (h-regress15,
2026-12-06: plpgsql, domain, partition_prune, window, join_hash and beside them), each
reduced to its smallest form.
*/

-- domain.sql:412, 462: a column without a default of its own takes its domain's default.
-- gridpg read the column's own default only: a domain DEFAULT nextval('s') was evaluated
-- by each datanode from its own copy of the sequence (the same values on several nodes,
-- the cluster's sequence untouched), and a domain default on the distribution column was
-- routed as NULL where the node stored the default (23514 "no partition ... found for row")
CREATE SEQUENCE r15_seq;
CREATE DOMAIN r15_seqdom AS int DEFAULT nextval('r15_seq');
CREATE SEQUENCE r15_seq2 START 100;
CREATE DOMAIN r15_seqdom2 AS int DEFAULT nextval('r15_seq2');
CREATE DOMAIN r15_checked AS r15_seqdom2 CHECK (VALUE > 0);
CREATE TABLE r15_ids (k int PRIMARY KEY, v r15_seqdom, w r15_checked, x int);
INSERT INTO r15_ids (k) VALUES (1), (2), (3), (4);
INSERT INTO r15_ids (k, x) SELECT g, g FROM generate_series(5, 8) g;
INSERT INTO r15_ids (k, x) VALUES (9, 9), (10, 10);
INSERT INTO r15_ids VALUES (11, DEFAULT, DEFAULT, 11);
INSERT INTO r15_ids (k, v, w) VALUES (12, 1000, 1000);
SELECT k, v, w, x FROM r15_ids ORDER BY k;
SELECT count(DISTINCT v), count(DISTINCT w) FROM r15_ids;
SELECT nextval('r15_seq'), nextval('r15_seq2');
UPDATE r15_ids SET v = DEFAULT WHERE k = 1;
SELECT k, v FROM r15_ids WHERE k = 1;
-- a column's own default (also an explicit DEFAULT NULL) wins over its domain's
CREATE TABLE r15_own (k int PRIMARY KEY, v r15_seqdom DEFAULT 7, w r15_seqdom DEFAULT NULL);
INSERT INTO r15_own (k) VALUES (1), (2);
SELECT * FROM r15_own ORDER BY k;
SELECT nextval('r15_seq');
-- the distribution column (gridpg's default rules: the first hashable column)
CREATE DOMAIN r15_five AS int DEFAULT 5;
CREATE DOMAIN r15_five_pos AS r15_five CHECK (VALUE > 0);
CREATE TABLE r15_keyed (k r15_five, v int);
INSERT INTO r15_keyed DEFAULT VALUES;
INSERT INTO r15_keyed (v) VALUES (1), (2);
INSERT INTO r15_keyed (v) SELECT g FROM generate_series(3, 4) g;
SELECT * FROM r15_keyed WHERE k = 5 ORDER BY v;
CREATE TABLE r15_keyed2 (k r15_five_pos, v int);
INSERT INTO r15_keyed2 (v) VALUES (1), (2);
SELECT * FROM r15_keyed2 WHERE k = 5 ORDER BY v;
ALTER DOMAIN r15_five SET DEFAULT 6;
INSERT INTO r15_keyed (v) VALUES (10);
SELECT * FROM r15_keyed ORDER BY v NULLS FIRST;
-- ALTER TABLE ... ADD COLUMN of such a domain over rows: each datanode filled its rows
-- from its own copy of the sequence (4 distinct values for 6 rows); now the cluster's
CREATE TABLE r15_later (k int PRIMARY KEY, x int);
INSERT INTO r15_later SELECT g, g FROM generate_series(1, 6) g;
ALTER TABLE r15_later ADD COLUMN v r15_seqdom;
SELECT count(DISTINCT v), max(v) - min(v) FROM r15_later;
SELECT nextval('r15_seq');
ALTER TABLE r15_later ADD COLUMN w r15_checked, ADD COLUMN y int;
SELECT count(DISTINCT w), max(w) - min(w) FROM r15_later;
SELECT nextval('r15_seq2');
DROP TABLE r15_ids, r15_own, r15_keyed, r15_keyed2, r15_later;
