/*
Temporary tables: PostgreSQL's name resolution (pg_temp first, also over a distributed
table of the same name), temp tables kept across transactions, ON COMMIT DELETE ROWS /
DROP, temp tables filled from distributed tables (CREATE TEMP TABLE AS, SELECT INTO TEMP,
INSERT ... SELECT) and joined with HASH and REPLICATION tables, distributed tables filled
from temp tables, DISCARD TEMP. gridpg keeps a session's temp tables on its own catalog
server connection for the rest of the session.
*/

CREATE TABLE tdist (id int PRIMARY KEY, v text) DISTRIBUTE BY HASH (id);
CREATE TABLE tref (id int PRIMARY KEY, note text) DISTRIBUTE BY REPLICATION;
CREATE TABLE shadowed (id int PRIMARY KEY, v text) DISTRIBUTE BY HASH (id);
INSERT INTO tdist SELECT g, 'd' || g FROM generate_series(1, 30) g;
INSERT INTO tref VALUES (1, 'one'), (2, 'two'), (5, 'five');
INSERT INTO shadowed VALUES (1, 'distributed'), (2, 'distributed');

CREATE TEMP TABLE shadowed AS SELECT 1 AS id, 'temporary'::text AS v;
SELECT * FROM shadowed;
SELECT count(*) FROM shadowed;
SELECT * FROM shadowed WHERE id = 1;
CREATE TEMP TABLE picks (id int, tag text);
INSERT INTO picks VALUES (1, 'a'), (2, 'b'), (5, 'c'), (99, 'z');
SELECT p.id, p.tag, d.v FROM picks p JOIN tdist d ON d.id = p.id ORDER BY p.id;
SELECT p.id, d.v FROM picks p LEFT JOIN tdist d ON d.id = p.id ORDER BY p.id;
SELECT p.tag, r.note FROM picks p JOIN tref r USING (id) ORDER BY p.tag;
SELECT count(*) FROM tdist WHERE id IN (SELECT id FROM picks);
SELECT p.tag, s.v FROM picks p JOIN shadowed s USING (id);

BEGIN;
INSERT INTO picks VALUES (6, 'd');
COMMIT;
BEGIN;
INSERT INTO picks VALUES (7, 'rolled back');
ROLLBACK;
SELECT * FROM picks ORDER BY id;

CREATE TEMP TABLE per_txn (id int) ON COMMIT DELETE ROWS;
BEGIN;
INSERT INTO per_txn VALUES (1), (2);
SELECT count(*) FROM per_txn;
COMMIT;
SELECT count(*) FROM per_txn;
BEGIN;
CREATE TEMP TABLE gone (id int) ON COMMIT DROP;
INSERT INTO gone VALUES (1);
SELECT * FROM gone;
COMMIT;
-- error
SELECT * FROM gone;

CREATE TEMP TABLE copy_of AS SELECT id, v FROM tdist WHERE id > 25;
SELECT * FROM copy_of ORDER BY id;
SELECT id, v INTO TEMP into_copy FROM tdist WHERE id < 4;
SELECT * FROM into_copy ORDER BY id;
INSERT INTO picks SELECT id, v FROM tdist WHERE id BETWEEN 10 AND 12;
SELECT * FROM picks ORDER BY id, tag;
UPDATE copy_of SET v = d.v || '+' FROM tdist d WHERE d.id = copy_of.id - 20;
SELECT * FROM copy_of ORDER BY id;
DELETE FROM picks WHERE id IN (SELECT id FROM tdist WHERE id > 10);
SELECT * FROM picks ORDER BY id, tag;
INSERT INTO tdist SELECT id + 1000, tag FROM picks;
SELECT * FROM tdist WHERE id > 1000 ORDER BY id;
UPDATE tdist SET v = p.tag FROM picks p WHERE tdist.id = p.id;
SELECT * FROM tdist WHERE id < 8 ORDER BY id;
DELETE FROM tdist WHERE id IN (SELECT id + 1000 FROM picks WHERE tag <> 'a');
SELECT * FROM tdist WHERE id > 1000 ORDER BY id;
SELECT count(*) FROM pg_temp.picks;

DROP TABLE shadowed;
SELECT * FROM shadowed ORDER BY id;
CREATE TEMP TABLE shadowed (id int, v text);
SELECT * FROM shadowed;
DISCARD TEMP;
SELECT * FROM shadowed ORDER BY id;
-- error
SELECT * FROM picks;

-- a PREPAREd statement joining a temp table with a distributed one: its parameters reach
-- the gather of the distributed table (it failed: "there is no parameter $1")
CREATE TEMP TABLE wanted (id int PRIMARY KEY);
INSERT INTO wanted SELECT g FROM generate_series(1, 40, 3) g;
PREPARE tq(int, text) AS SELECT d.id, d.v FROM tdist d JOIN wanted w USING (id) WHERE d.id > $1 AND d.v >= $2 ORDER BY d.id;
EXECUTE tq(10, 'a');
EXECUTE tq(30, '');
DEALLOCATE tq;

-- CREATE TABLE / CREATE TABLE AS of a name the session's temp table already has: the new
-- table goes to the first schema of the path, as in PostgreSQL (it was looked up as the
-- temp table after it was made: 3F000 schema "pg_temp_N" does not exist)
CREATE SCHEMA twin_s;
SET search_path = twin_s;
CREATE TEMP TABLE twin_name AS SELECT 1 AS a;
CREATE TABLE twin_name (a int, b int);
INSERT INTO twin_s.twin_name VALUES (1, 2);
SELECT * FROM twin_name;
SELECT * FROM twin_s.twin_name;
CREATE TEMP TABLE twin_ctas (a int);
CREATE TABLE twin_ctas AS SELECT 2 AS a, 3 AS b;
SELECT * FROM twin_s.twin_ctas;
CREATE TEMP TABLE twin_if (a int);
CREATE TABLE IF NOT EXISTS twin_if (a int, c int);
SELECT * FROM twin_s.twin_if;
-- a CREATE TABLE IF NOT EXISTS that is skipped leaves no block open: the next DDL after a
-- temp table commits (it failed: cannot PREPARE a transaction that has operated on
-- temporary objects)
CREATE TABLE IF NOT EXISTS twin_if (a int);
CREATE TEMP TABLE after_skip (a int);
CREATE TABLE after_skip_dist (a int, b int);
INSERT INTO after_skip_dist VALUES (1, 1);
SELECT * FROM after_skip_dist;
DROP SCHEMA twin_s CASCADE;
