/*
Routed INSERT ... VALUES: array and row constructors, casts and nested parentheses;
volatile expressions (nextval, random(), now(), clock_timestamp(), gen_random_uuid()),
subqueries and set-returning functions in VALUES, evaluated once before routing (so every
row lands where its stored value says: the datanodes' partition constraints refuse any
other placement); special date/time values in a distribution column; distribution-column
defaults; INSERT ... SELECT ... FROM ONLY.
Exercises: executor.dml (_values_shape, routing) and executor.values (evaluate once).
Volatile values differ between runs, so their checks compare what is deterministic.
*/

CREATE TABLE arr (id int, tags text[], pt int[], r text, n numeric) DISTRIBUTE BY HASH (id);
INSERT INTO arr VALUES (1, ARRAY['a', 'b'], ARRAY[1, 2], 'x', 1.5), (2, ARRAY['c'], '{3,4}', (('y')), ((2 + 3) * (4))::numeric);
INSERT INTO arr VALUES ((3), '{"d,e",f}'::text[], ARRAY[(5), ((6))], ROW(1, 'z')::text, CAST('7.25' AS numeric));
INSERT INTO arr (id, tags) VALUES (4 + 1, ARRAY[upper('g'), lower('H')]), (6, NULL), (7, ARRAY[]::text[]);
INSERT INTO arr (id, pt) VALUES (8, (ARRAY[[1, 2], [3, 4]])[2:2]), (9, ARRAY[(SELECT 10), 11]);
INSERT INTO arr VALUES (10, ARRAY['a,b', 'c)d', '(e'], '{}', '(,)', -0.5) RETURNING id, tags;
SELECT * FROM arr ORDER BY id;
SELECT id, tags[1] FROM arr WHERE id = 5;
SELECT * FROM arr WHERE id = 3;
SELECT * FROM arr WHERE id = 8;

-- sequences in VALUES: values from the cluster-wide sequence, in PostgreSQL's order
CREATE SEQUENCE vs;
CREATE TABLE sq (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id);
INSERT INTO sq VALUES (nextval('vs'), 1), (nextval('vs'), 2), (nextval('vs'), currval('vs'));
INSERT INTO sq VALUES (nextval('vs'), 10 * currval('vs')) RETURNING *;
INSERT INTO sq (v, id) VALUES (lastval(), nextval('vs'::regclass));
SELECT * FROM sq ORDER BY id;
SELECT * FROM sq WHERE id = 2;
SELECT currval('vs');

-- set-returning functions and subqueries
CREATE TABLE gs (id int, v int) DISTRIBUTE BY HASH (id);
INSERT INTO gs VALUES (generate_series(1, 10), 1);
INSERT INTO gs VALUES (generate_series(11, 13), generate_series(1, 3));
INSERT INTO gs VALUES ((SELECT max(id) + 1 FROM gs), 2);
INSERT INTO gs VALUES ((SELECT 100), (SELECT count(*) FROM generate_series(1, 4)));
SELECT * FROM gs ORDER BY id;
SELECT count(*) FROM gs WHERE id = 14;

-- volatile functions
CREATE TABLE vol (id int, x float8, t timestamptz, u uuid) DISTRIBUTE BY HASH (id);
INSERT INTO vol VALUES ((random() * 1000)::int, random(), now(), gen_random_uuid()), ((random() * 1000)::int, random(), clock_timestamp(), gen_random_uuid());
INSERT INTO vol SELECT g, random(), now(), gen_random_uuid() FROM generate_series(1, 20) g;
SELECT count(*), count(DISTINCT u), bool_and(x >= 0 AND x < 1), bool_and(t <= clock_timestamp()) FROM vol;
CREATE TABLE byts (t timestamptz, v int) DISTRIBUTE BY HASH (t);
INSERT INTO byts VALUES (now(), 1), (clock_timestamp(), 2), (CURRENT_TIMESTAMP, 3), ('epoch', 4), ('-infinity', 5), ('infinity', 6);
SELECT v FROM byts ORDER BY v;
SELECT v FROM byts WHERE t = 'epoch';
SELECT v FROM byts WHERE t = '-infinity';
CREATE TABLE byuuid (u uuid DEFAULT gen_random_uuid(), v int) DISTRIBUTE BY HASH (u);
INSERT INTO byuuid (v) VALUES (1), (2), (3), (4), (5), (6);
INSERT INTO byuuid VALUES (gen_random_uuid(), 7), (DEFAULT, 8);
SELECT count(*), count(DISTINCT u), sum(v) FROM byuuid;
CREATE TABLE byrand (id int, v int) DISTRIBUTE BY HASH (id);
INSERT INTO byrand VALUES ((random() * 100000)::int, 1), ((random() * 100000)::int, 2), ((random() * 100000)::int, 3), ((random() * 100000)::int, 4);
SELECT sum(v), count(*) FROM byrand;

-- special date and time values in the distribution column
CREATE TABLE byday (d date, v int) DISTRIBUTE BY HASH (d);
INSERT INTO byday VALUES ('today', 1), ('epoch', 2), ('infinity', 3), ('-infinity', 4), ('yesterday', 5), ('tomorrow', 6), (CURRENT_DATE, 7);
INSERT INTO byday VALUES ('Jan 5 2020', 8), ('2020-01-05'::date + 1, 9);
SELECT v FROM byday ORDER BY v;
SELECT v FROM byday WHERE d = 'today' ORDER BY v;
SELECT v FROM byday WHERE d = CURRENT_DATE ORDER BY v;
SELECT v FROM byday WHERE d = '2020-01-05';
SELECT d - CURRENT_DATE AS diff, v FROM byday WHERE v IN (1, 5, 6) ORDER BY v;
SELECT v FROM byday WHERE d = 'infinity';

-- INSERT ... SELECT from ONLY
CREATE TABLE src (id int, v text) DISTRIBUTE BY HASH (id);
INSERT INTO src VALUES (1, 'a'), (2, 'b'), (3, 'c');
CREATE TABLE dst (id int, v text) DISTRIBUTE BY HASH (id);
INSERT INTO dst SELECT * FROM ONLY src;
INSERT INTO dst SELECT id + 10, v FROM ONLY src WHERE id > 1;
INSERT INTO dst (id) SELECT s.id + 20 FROM ONLY src s JOIN ONLY dst d USING (id);
INSERT INTO src SELECT id + 100, upper(v) FROM ONLY src;
WITH x AS (SELECT * FROM ONLY src WHERE id < 3) INSERT INTO dst SELECT id + 1000, v FROM x;
WITH x AS (SELECT id FROM ONLY src), y AS (SELECT id * 2 AS id FROM x) INSERT INTO dst (id) SELECT id + 2000 FROM y RETURNING id;
SELECT * FROM dst ORDER BY id;
SELECT * FROM src ORDER BY id;

-- plain scalar functions and SQL value functions outside the distribution column are computed
-- by the datanode (no evaluation before routing); in it, or a set-returning or sequence
-- function anywhere, the row is evaluated once first
INSERT INTO users (id, name, signup, last_login) VALUES (9001, upper('x'), CURRENT_DATE - 1 + 1 - CURRENT_DATE + DATE '2024-05-01', '2024-01-01 00:00+00'::timestamptz + interval '1 day');
SELECT id, name, signup, last_login FROM users WHERE id = 9001;
INSERT INTO users (id, name) VALUES (9002, md5('a') || length('abc')), (9003, concat('p', 'q'));
SELECT id, name FROM users WHERE id IN (9002, 9003) ORDER BY id;
DELETE FROM users WHERE id > 9000;

-- serial and identity columns beside a set-returning function in VALUES: one value per row
-- made, and the one more PostgreSQL's default takes when the function ends (ids after it
-- are PostgreSQL's); an explicit DEFAULT of the one VALUES row likewise
CREATE TABLE srf_ids (id serial, k int, g bigint GENERATED ALWAYS AS IDENTITY);
INSERT INTO srf_ids (k) VALUES (generate_series(1, 3)) RETURNING id, k, g;
-- error
INSERT INTO srf_ids (k) VALUES (generate_series(1, 2)), (10);
INSERT INTO srf_ids (id, k) VALUES (DEFAULT, generate_series(1, 2));
INSERT INTO srf_ids (k) VALUES (generate_series(1, 0));
SELECT currval('srf_ids_id_seq');
INSERT INTO srf_ids (k) SELECT generate_series(20, 21);
INSERT INTO srf_ids (k) VALUES ((SELECT max(k) FROM srf_ids));
SELECT id, k, g FROM srf_ids ORDER BY id, k;
