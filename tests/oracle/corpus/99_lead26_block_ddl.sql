-- Rows a statement computes on the catalog server after DDL in the same block: the
-- type, its range constructor and the function the block made exist only in the block
-- (psycopg2's test_range_escaping: CREATE TYPE ... AS RANGE, then INSERT ... VALUES of
-- its constructor, all in one transaction).
BEGIN;
CREATE TYPE textrange26 AS RANGE (subtype = text);
CREATE TABLE rangetest26 (id integer PRIMARY KEY, r textrange26);
CREATE FUNCTION twice26(int) RETURNS int LANGUAGE sql AS 'SELECT $1 * 2';
INSERT INTO rangetest26 (id, r) VALUES (1, textrange26('a', 'b', '[)')), (twice26(5), textrange26('c', 'd'));
INSERT INTO rangetest26 (id, r) SELECT g, textrange26('x', 'y') FROM generate_series(20, 25) g;
INSERT INTO rangetest26 (id, r) SELECT twice26(g), NULL FROM generate_series(30, 32) g;
INSERT INTO rangetest26 (id, r) VALUES (twice26(21), NULL) RETURNING id, r::text;
SAVEPOINT x;
INSERT INTO rangetest26 (id, r) VALUES (7, textrange26('e', 'f', '(]'));
RELEASE SAVEPOINT x;
COMMIT;
SELECT id, r::text FROM rangetest26 ORDER BY id;
BEGIN;
CREATE TABLE second26 (id int PRIMARY KEY, v int DEFAULT twice26(4));
INSERT INTO second26 (id) VALUES (twice26(1)), (twice26(2)), (twice26(3));
SELECT * FROM second26 ORDER BY id;
ROLLBACK;
SELECT count(*) FROM pg_class WHERE relname = 'second26';
BEGIN;
ALTER TABLE rangetest26 ADD COLUMN note text DEFAULT 'n';
INSERT INTO rangetest26 (id, r) VALUES (twice26(50), textrange26('p', 'q'));
SELECT id, note FROM rangetest26 WHERE id = 100;
COMMIT;
SELECT id, r::text, note FROM rangetest26 ORDER BY id;
DROP TABLE rangetest26;
DROP FUNCTION twice26(int);
DROP TYPE textrange26;
