/*
INSERT into a distributed table whose VALUES or SELECT call a function that reads
distributed tables (a lookup function, a set-returning function, a PL/pgSQL total, a column
default), as applications write them: `INSERT INTO log SELECT id, name_of(id) FROM t`.
gridpg refused them (0A000 "cannot run function ...: it reads or writes distributed
table"). Now the INSERT runs whole on the catalog server with the loopback armed, as such
a SELECT does: the code reaches the tables through their shadows, and so do the new rows.
*/

DROP SCHEMA IF EXISTS icc CASCADE;
CREATE SCHEMA icc;
SET search_path = icc, public;
CREATE TABLE names (id int PRIMARY KEY, name text) DISTRIBUTE BY HASH (id);
CREATE TABLE src (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id);
CREATE TABLE dst (seq serial, id int UNIQUE, label text, made date DEFAULT '2020-01-01', n int GENERATED ALWAYS AS (id * 2) STORED) DISTRIBUTE BY HASH (id);
CREATE TABLE log (id int, label text);
INSERT INTO names SELECT g, 'name' || g FROM generate_series(1, 150) g;
INSERT INTO src SELECT g, g % 7 FROM generate_series(1, 120) g;
CREATE FUNCTION name_of(i int) RETURNS text LANGUAGE sql STABLE AS $$ SELECT name FROM names WHERE id = i $$;
CREATE FUNCTION total() RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN RETURN (SELECT sum(v) FROM src); END $$;
CREATE FUNCTION first_names() RETURNS SETOF names LANGUAGE sql AS $$ SELECT * FROM names WHERE id < 4 $$;

INSERT INTO dst (id, label) SELECT id, name_of(id) FROM src WHERE id <= 110;
SELECT count(*), count(DISTINCT seq), min(label), max(label), sum(n), min(made) FROM dst;
INSERT INTO dst (id, label) VALUES (1000, name_of(5)), (1001, total()::text) RETURNING id, label, n, made;
INSERT INTO log SELECT id, name FROM first_names();
INSERT INTO log SELECT 200, total()::text;
SELECT id, label FROM log ORDER BY id;

-- a duplicate key among the rows: nothing of the statement stays
-- error
INSERT INTO dst (id, label) SELECT id, name_of(id) FROM src WHERE id BETWEEN 105 AND 115;
SELECT count(*) FROM dst;

-- in a block: rolled back with it
BEGIN;
INSERT INTO dst (id, label) SELECT id + 5000, name_of(id) FROM src WHERE id < 10;
SELECT count(*) FROM dst;
ROLLBACK;
SELECT count(*) FROM dst;

-- the table it reads is the table it writes: the SELECT sees the rows from before
INSERT INTO src SELECT id + 1000, (total() % 100)::int FROM src;
SELECT count(*), sum(v) FROM src;

INSERT INTO dst (id, label) SELECT 7000, name_of(1) ON CONFLICT DO NOTHING;
INSERT INTO dst (id, label) SELECT 7000, name_of(2) ON CONFLICT DO NOTHING;
SELECT id, label FROM dst WHERE id = 7000;
WITH s AS (SELECT id FROM src WHERE id < 3) INSERT INTO dst (id, label) SELECT id + 8000, name_of(id) FROM s RETURNING id, label;

-- SQL's PREPARE of such statements: checked when executed (it was refused when prepared)
PREPARE add_one(int) AS INSERT INTO dst (id, label) VALUES ($1, name_of($1 - 8000)) RETURNING label;
EXECUTE add_one(8100);
EXECUTE add_one(8101);
PREPARE look(int) AS SELECT name_of($1) AS name, total() AS total;
EXECUTE look(3);
PREPARE looks AS SELECT id, name_of(id) FROM src WHERE id < 4 ORDER BY id;
EXECUTE looks;
DEALLOCATE ALL;

-- a column default that calls such a function
CREATE TABLE counted (id int PRIMARY KEY, n bigint DEFAULT total()) DISTRIBUTE BY HASH (id);
INSERT INTO counted (id) VALUES (1);
INSERT INTO counted VALUES (2, DEFAULT), (3, 5);
SELECT * FROM counted ORDER BY id;

-- a BEFORE ROW trigger of the target still fires for each row
CREATE FUNCTION shout() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.label := upper(NEW.label); RETURN NEW; END $$;
CREATE TRIGGER shout_t BEFORE INSERT ON dst FOR EACH ROW EXECUTE FUNCTION shout();
INSERT INTO dst (id, label) VALUES (9000, name_of(9)) RETURNING label;
RESET search_path;
DROP SCHEMA icc CASCADE;
