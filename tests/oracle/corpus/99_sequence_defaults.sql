/*
A column DEFAULT calling currval()/lastval() beside a column DEFAULT nextval() of the same
sequence, in INSERTs into distributed tables: each row's currval is that row's nextval,
as PostgreSQL evaluates a row's defaults in column order (constraints.sql:133 failed with
55000 before: the datanode's session evaluated currval without the GTM's value). VALUES
of one and several rows, DEFAULT items, DEFAULT VALUES, RETURNING, CHECK constraints
over both columns (failed rows still draw their values), a currval column before the
nextval column, a default distribution column, blocks that roll back, a second
coordinator's session (currval undefined there until it draws).
Exercises: executor.values (sequence defaults evaluated with the GTM's values), executor.dml.
*/

CREATE SEQUENCE sd_seq;
CREATE TABLE sd_tbl (x int DEFAULT nextval('sd_seq'), y text DEFAULT '-NULL-', z int DEFAULT -1 * currval('sd_seq'),
  CONSTRAINT sd_tbl_con CHECK (x >= 3 AND y <> 'check failed' AND x < 8), CHECK (x + z = 0));
-- error
INSERT INTO sd_tbl(x, z) VALUES (2, -2);
SELECT 'one' AS one, nextval('sd_seq');
-- error
INSERT INTO sd_tbl(y) VALUES ('Y');
INSERT INTO sd_tbl(y) VALUES ('Y');
-- error
INSERT INTO sd_tbl(x, z) VALUES (1, -2);
INSERT INTO sd_tbl(z, x) VALUES (-7, 7);
-- error
INSERT INTO sd_tbl VALUES (5, 'check failed', -5);
INSERT INTO sd_tbl VALUES (7, '!check failed', -7);
INSERT INTO sd_tbl(y) VALUES ('-!NULL-');
SELECT * FROM sd_tbl ORDER BY x, y;
-- error
INSERT INTO sd_tbl(y, z) VALUES ('check failed', 4);
-- error
INSERT INTO sd_tbl(x, y) VALUES (5, 'check failed');
INSERT INTO sd_tbl(x, y) VALUES (5, '!check failed');
INSERT INTO sd_tbl(y) VALUES ('-!NULL-');
SELECT * FROM sd_tbl ORDER BY x, y;
SELECT 'seven' AS one, nextval('sd_seq');
-- error
INSERT INTO sd_tbl(y) VALUES ('Y');
SELECT 'eight' AS one, currval('sd_seq');

/* several rows, DEFAULT items, RETURNING, DEFAULT VALUES */
CREATE SEQUENCE "SD Ids" START 100;
CREATE TABLE sd_orders (id bigint DEFAULT nextval('"SD Ids"'), note text, echo bigint DEFAULT currval('"SD Ids"') * 10,
  last bigint DEFAULT lastval()) DISTRIBUTE BY HASH (id);
INSERT INTO sd_orders (note) VALUES ('a'), ('b'), ('c') RETURNING id, echo, last;
INSERT INTO sd_orders VALUES (DEFAULT, 'd', DEFAULT, DEFAULT), (DEFAULT, 'e', 7, DEFAULT) RETURNING *;
INSERT INTO sd_orders DEFAULT VALUES RETURNING id, note, echo, last;
INSERT INTO sd_orders (id, note) VALUES (500, 'given id');
SELECT * FROM sd_orders ORDER BY id;
SELECT currval('"SD Ids"'), lastval();

-- the currval column before the nextval column: the previous row's value
CREATE SEQUENCE sd_rev_seq;
CREATE TABLE sd_rev (k int, before_val int DEFAULT currval('sd_rev_seq'), after_val int DEFAULT nextval('sd_rev_seq'));
-- error
INSERT INTO sd_rev (k) VALUES (1);
SELECT nextval('sd_rev_seq');
INSERT INTO sd_rev (k) VALUES (2), (3);
SELECT * FROM sd_rev ORDER BY k;

BEGIN;
INSERT INTO sd_orders (note) VALUES ('in block') RETURNING id, echo;
ROLLBACK;
SELECT count(*) FROM sd_orders WHERE note = 'in block';
INSERT INTO sd_orders (note) VALUES ('after') RETURNING id, echo, last;

\connect 2
-- error
SELECT currval('sd_seq');
INSERT INTO sd_orders (note) VALUES ('second') RETURNING id, echo, last;
SELECT note, id = echo / 10 AS same_row FROM sd_orders ORDER BY id;
