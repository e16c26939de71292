/*
Differences PostgreSQL 18's regression files showed in the thirteenth replay (h-regress13,
2026-12-05), each reduced to its smallest form.
*/

-- insert.sql:439, insert.sql:621, insert_conflict.sql:552: DROP COLUMN of the column
-- gridpg's default rules had distributed a table by (no DISTRIBUTE BY, no key): the
-- column is the partition key of the table's shards on the datanodes, so PostgreSQL
-- there refused the drop (42P16) where plain PostgreSQL drops it; the table is now placed
-- again by the default rules over the columns left
CREATE TABLE r13_drop (c text, b text, a int);
INSERT INTO r13_drop VALUES ('x', 'one', 1), ('y', 'two', 2), ('z', 'three', 3);
ALTER TABLE r13_drop DROP COLUMN c;
SELECT * FROM r13_drop ORDER BY a;
INSERT INTO r13_drop VALUES ('four', 4);
SELECT b, a FROM r13_drop WHERE b = 'four';
UPDATE r13_drop SET a = a * 10 WHERE b = 'two';
SELECT * FROM r13_drop ORDER BY a;
BEGIN;
ALTER TABLE r13_drop DROP COLUMN b;
SELECT * FROM r13_drop ORDER BY a;
ROLLBACK;
SELECT * FROM r13_drop ORDER BY a;
-- the table of insert.sql:438: dropped, added again and attached as a partition
CREATE TABLE r13_parted (a int NOT NULL, b int NOT NULL) PARTITION BY RANGE (a, b);
CREATE TABLE r13_part4 (LIKE r13_parted);
ALTER TABLE r13_part4 DROP a;
ALTER TABLE r13_part4 ADD a int NOT NULL;
ALTER TABLE r13_parted ATTACH PARTITION r13_part4 FOR VALUES FROM (1, 30) TO (1, 40);
INSERT INTO r13_parted (b, a) SELECT g, 1 FROM generate_series(30, 35) g;
SELECT a, b FROM r13_parted ORDER BY b;
-- no hashable column left: the rows are spread without one
CREATE TABLE r13_points (k int, p point, q box);
INSERT INTO r13_points VALUES (1, '(1,2)', '((0,0),(1,1))'), (2, '(3,4)', '((0,0),(2,2))');
ALTER TABLE r13_points DROP COLUMN k;
SELECT p::text, q::text FROM r13_points ORDER BY p[0];
INSERT INTO r13_points VALUES ('(5,6)', '((1,1),(3,3))');
SELECT count(*), sum(p[0]) FROM r13_points;
DROP TABLE r13_drop, r13_parted, r13_points;

-- constraints.sql:852, 868: a NOT VALID not-null constraint (PostgreSQL 18) over rows still
-- NULL: the scratch copies gridpg makes with LIKE (the rows an UPDATE of the distribution
-- column moves; the datanode's table made a plain inheritance parent) took it as a valid
-- constraint and failed on those rows (23502)
CREATE TABLE r13_nn (a int, b int);
INSERT INTO r13_nn VALUES (NULL, 1), (2, 2), (NULL, 3), (NULL, 4);
ALTER TABLE r13_nn ADD CONSTRAINT r13_nn_a NOT NULL a NOT VALID;
-- error
INSERT INTO r13_nn VALUES (NULL, 5);
UPDATE r13_nn SET a = 100 WHERE b = 1;
SELECT * FROM r13_nn ORDER BY b;
-- error
UPDATE r13_nn SET a = NULL WHERE b = 2;
CREATE TABLE r13_nn_child (a int, b int) INHERITS (r13_nn);
SELECT conname, convalidated FROM pg_constraint WHERE conrelid = 'r13_nn'::regclass AND contype = 'n';
INSERT INTO r13_nn_child VALUES (7, 7);
SELECT * FROM r13_nn ORDER BY b;
-- error
ALTER TABLE r13_nn VALIDATE CONSTRAINT r13_nn_a;
DELETE FROM r13_nn WHERE a IS NULL;
ALTER TABLE r13_nn VALIDATE CONSTRAINT r13_nn_a;
SELECT conname, convalidated FROM pg_constraint WHERE conrelid = 'r13_nn'::regclass AND contype = 'n';
DROP TABLE r13_nn CASCADE;
