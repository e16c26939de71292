/*
What SQLAlchemy 2.1's own test suite sends (h-sqla9: test/sql, test/dialect/postgresql,
test/orm and the dialect suite replayed through gridpg and plain PostgreSQL 18), each
reduced to its smallest form.
*/

-- test_insert_exec.py test_insert_w_bindparam_in_nested_insert: a data-modifying WITH
-- query ahead of INSERT ... VALUES; gridpg read the WITH query's VALUES list as the
-- statement's: 42601 "INSERT has more target columns than expressions"
CREATE TABLE sq9_extra (id serial PRIMARY KEY, x_value varchar, y_value varchar);
CREATE TABLE sq9_data (id serial PRIMARY KEY, x varchar, y varchar, z int);
WITH inst AS (INSERT INTO sq9_extra (x_value, y_value) VALUES ('x', 'y') RETURNING sq9_extra.id)
 INSERT INTO sq9_data (x, y, z) VALUES ('a', 'y1', (SELECT inst.id FROM inst)), ('b', 'y2', (SELECT inst.id FROM inst)), ('c', 'y3', (SELECT inst.id FROM inst)) RETURNING sq9_data.id, sq9_data.y || ' returned' AS anon_1;
SELECT id, x, y, z FROM sq9_data ORDER BY id;
SELECT id, x_value, y_value FROM sq9_extra ORDER BY id;
WITH inst AS (INSERT INTO sq9_extra (x_value, y_value) VALUES ('x2', 'y2'), ('x3', 'y3') RETURNING id)
 INSERT INTO sq9_data (x, y, z) VALUES ('d', 'y4', (SELECT max(id) FROM inst));
SELECT id, x, y, z FROM sq9_data ORDER BY id;
-- error
WITH inst AS (INSERT INTO sq9_extra (x_value, y_value) VALUES ('x4', 'y4') RETURNING id)
 INSERT INTO sq9_data (x, y, z) VALUES ('e', 'y5');
SELECT count(*) FROM sq9_extra;

-- test_functions.py test_aggregate_strings_execute: a table named `values` (a keyword
-- PostgreSQL takes as a name); gridpg took the name for the VALUES keyword: 42703
-- column "value" does not exist
CREATE TABLE "values" (id serial PRIMARY KEY, value varchar, unicode_value varchar);
INSERT INTO values (value, unicode_value) VALUES ('a', 'b x'), ('b', 'c y'), (NULL, NULL);
INSERT INTO values VALUES (DEFAULT, 'c', 'a z');
INSERT INTO oracle_99_sqla9_findings.values (value) VALUES ('d') RETURNING id, value;
INSERT INTO values AS v (value) VALUES ('e');
SELECT string_agg(value, ', ' ORDER BY value) FROM values;
SELECT id, value, unicode_value FROM values ORDER BY id;

-- test_insert_exec.py IMVSentinelTest (sort_by_parameter_order with a Sequence primary
-- key): insertmanyvalues calls nextval in a VALUES list in FROM, sorted by its counter;
-- refused 0A000 "nextval() in this kind of statement is not supported"
CREATE SEQUENCE sq9_result_id_seq;
CREATE SEQUENCE sq9_some_id_seq;
CREATE SEQUENCE sq9_other_seq START 100;
CREATE TABLE sq9_t (id int PRIMARY KEY, data varchar, some_identity int);
INSERT INTO sq9_t (id, data) SELECT p0::INTEGER, p1::VARCHAR FROM (VALUES (nextval('sq9_result_id_seq'), 'd0'::VARCHAR, 0), (nextval('sq9_result_id_seq'), 'd1'::VARCHAR, 1), (nextval('sq9_result_id_seq'), 'd2'::VARCHAR, 2)) AS imp_sen(p0, p1, sen_counter) ORDER BY sen_counter RETURNING sq9_t.id, sq9_t.id;
INSERT INTO sq9_t (id, data, some_identity) SELECT p0::INTEGER, p1::VARCHAR, nextval('sq9_some_id_seq') FROM (VALUES (nextval('sq9_result_id_seq'), 'd3'::VARCHAR, 0), (nextval('sq9_result_id_seq'), 'd4'::VARCHAR, 1)) AS imp_sen(p0, p1, sen_counter) ORDER BY sen_counter RETURNING sq9_t.id, sq9_t.data, sq9_t.some_identity;
INSERT INTO sq9_t (id, data, some_identity) SELECT p0, p1, nextval('sq9_result_id_seq') FROM (VALUES (nextval('sq9_result_id_seq'), 'd5', 1), (nextval('sq9_result_id_seq'), 'd6', 0)) AS imp_sen(p0, p1, sen_counter) ORDER BY sen_counter RETURNING id, data, some_identity;
SELECT currval('sq9_result_id_seq'), currval('sq9_some_id_seq');
SELECT lastval();
INSERT INTO sq9_t (id, data) SELECT p0, p1 FROM (VALUES (nextval('sq9_other_seq'), 'd7', 0), (nextval('sq9_other_seq'), 'd8', 1)) AS v(p0, p1, c) WHERE c > 0;
SELECT id, data, some_identity FROM sq9_t ORDER BY id;
SELECT v.a, v.b FROM (VALUES (nextval('sq9_some_id_seq'), 'x'), (nextval('sq9_some_id_seq'), 'y')) AS v(a, b) ORDER BY b;
SELECT lastval();
-- error
INSERT INTO sq9_t (id, data) SELECT p0, p1 FROM (VALUES (nextval('sq9_no_such_seq'), 'd9')) AS v(p0, p1);

-- test_types.py EnumTest, and any migration that makes an enum and reads its table in
-- one transaction: a sorted merge (ORDER BY over several nodes) or a two-phase aggregate
-- over a column of the type put its partial rows in a table on a side connection, which
-- cannot see the type: 42704 type "sq9_mood" does not exist
BEGIN;
CREATE TYPE sq9_mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE sq9_feel (id int, m sq9_mood);
INSERT INTO sq9_feel VALUES (1, 'happy'), (2, 'sad'), (3, 'ok'), (4, 'happy'), (5, 'sad'), (6, 'ok'), (7, 'ok'), (8, 'sad'), (9, 'happy'), (10, 'ok'), (11, 'sad'), (12, 'happy'), (13, 'ok'), (14, 'ok'), (15, 'sad'), (16, NULL);
SELECT id, m::text FROM sq9_feel ORDER BY id;
SELECT m::text, id FROM sq9_feel ORDER BY m, id LIMIT 7;
SELECT DISTINCT m::text FROM sq9_feel ORDER BY m::text;
SELECT (SELECT DISTINCT m FROM sq9_feel ORDER BY m LIMIT 1)::text AS first_m;
SELECT m::text, count(*), min(id) FROM sq9_feel GROUP BY m ORDER BY m;
SELECT max(m)::text, min(m)::text FROM sq9_feel;
COMMIT;
SELECT id, m::text FROM sq9_feel WHERE id < 5 ORDER BY m DESC, id;
BEGIN;
ALTER TYPE sq9_mood ADD VALUE 'meh' BEFORE 'ok';
CREATE TABLE sq9_feel2 (id int, m sq9_mood);
INSERT INTO sq9_feel2 VALUES (1, 'happy'), (2, 'sad'), (3, 'ok'), (4, 'happy'), (5, 'sad'), (6, 'ok');
SELECT m::text, count(*) FROM sq9_feel2 GROUP BY m ORDER BY m;
ROLLBACK;
SELECT count(*) FROM pg_class WHERE relname = 'sq9_feel2';

-- (found while reducing the above) a scalar subquery over a distributed table run first
-- and put in as a literal: a cast of it named its column by the type ("text"), where
-- PostgreSQL names it by the subquery's column
CREATE TABLE sq9_nm (id int PRIMARY KEY, m text);
INSERT INTO sq9_nm VALUES (1, 'a'), (2, 'b'), (3, 'c');
SELECT (SELECT m FROM sq9_nm ORDER BY m LIMIT 1)::text;
SELECT (SELECT max(m) FROM sq9_nm)::varchar, (SELECT count(*) FROM sq9_nm)::int;
SELECT id, (SELECT max(m) FROM sq9_nm)::text FROM sq9_nm ORDER BY id;
SELECT 1 + (SELECT count(*) FROM sq9_nm), (SELECT min(id) FROM sq9_nm) + 0;
SELECT CAST((SELECT min(m) FROM sq9_nm) AS text) COLLATE "C";

-- test_reflection.py test_renamed_sequence_reflection: a serial column's sequence made
-- and renamed in one block; nextval under the new name repeated the values the block
-- had drawn (the GTM copied the catalog's position from outside the block): 23505
BEGIN;
CREATE TABLE sq9_rs (id serial PRIMARY KEY);
SELECT nextval('sq9_rs_id_seq');
INSERT INTO sq9_rs (id) VALUES (1);
INSERT INTO sq9_rs DEFAULT VALUES RETURNING id;
ALTER TABLE sq9_rs_id_seq RENAME TO sq9_foobar_id_seq;
SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'sq9_rs'::regclass;
SELECT nextval('sq9_foobar_id_seq');
INSERT INTO sq9_rs (id) VALUES (3);
INSERT INTO sq9_rs DEFAULT VALUES RETURNING id;
SELECT currval('sq9_foobar_id_seq');
COMMIT;
INSERT INTO sq9_rs DEFAULT VALUES RETURNING id;
SELECT nextval('sq9_foobar_id_seq');
SELECT id FROM sq9_rs ORDER BY id;
BEGIN;
CREATE SEQUENCE sq9_s1;
SELECT nextval('sq9_s1'), nextval('sq9_s1');
ALTER SEQUENCE sq9_s1 RENAME TO sq9_s2;
SELECT nextval('sq9_s2');
ROLLBACK;
SELECT to_regclass('sq9_s2'), to_regclass('sq9_s1');

-- test_on_conflict.py (index_where): ON CONFLICT names a partial unique index by its
-- predicate; gridpg's datanodes plan its statements generically (the prepared fast
-- path sends the literal-free form), where no partial index is inferred: 42P10
CREATE TABLE sq9_h (id int, kind text, n int);
CREATE UNIQUE INDEX sq9_h_live ON sq9_h (id) WHERE kind = 'live';
INSERT INTO sq9_h VALUES (1, 'live', 1) ON CONFLICT (id) WHERE kind = 'live' DO UPDATE SET n = sq9_h.n + 1 RETURNING id, n;
INSERT INTO sq9_h VALUES (1, 'live', 1) ON CONFLICT (id) WHERE kind = 'live' DO UPDATE SET n = sq9_h.n + 1 RETURNING id, n;
INSERT INTO sq9_h VALUES (1, 'dead', 1), (2, 'live', 5) ON CONFLICT (id) WHERE kind = 'live' DO NOTHING RETURNING id, n;
-- error
INSERT INTO sq9_h VALUES (3, 'live', 1) ON CONFLICT (id) WHERE kind = 'dead' DO NOTHING;
SELECT id, kind, n FROM sq9_h ORDER BY id, kind;
