/*
Differences the eleventh replay of other projects' regression files (h-replay11,
2026-12-05: OpenTenBase's 17 files never replayed before, Postgres-XL 9.2's 20) showed,
each reduced to its smallest form.
*/

-- xl_known_bugs.sql:58 (OpenTenBase): INSERT/UPDATE/DELETE through an automatically
-- updatable view whose WHERE (and WITH CHECK OPTION) reads a REPLICATION table in a
-- subquery: 0A000, although each datanode holds all of that table's rows
CREATE TABLE r11_base (a int) DISTRIBUTE BY REPLICATION;
CREATE TABLE r11_ref (a int PRIMARY KEY) DISTRIBUTE BY REPLICATION;
INSERT INTO r11_ref SELECT * FROM generate_series(1, 10);
CREATE VIEW r11_rw_view AS SELECT * FROM r11_base b WHERE EXISTS (SELECT 1 FROM r11_ref r WHERE r.a = b.a) WITH CHECK OPTION;
INSERT INTO r11_rw_view VALUES (5);
-- error
INSERT INTO r11_rw_view VALUES (15);
SELECT a FROM r11_rw_view ORDER BY a;
UPDATE r11_rw_view SET a = 6 WHERE a = 5;
-- error
UPDATE r11_rw_view SET a = 60 WHERE a = 6;
SELECT a FROM r11_base ORDER BY a;
DELETE FROM r11_rw_view WHERE a = 6 RETURNING a;
SELECT count(*) FROM r11_base;
-- the same over a HASH table: each row routed, the subquery read on its node
CREATE TABLE r11_hash (k int, a int);
INSERT INTO r11_hash VALUES (1, 1), (2, 2), (3, 30);
CREATE VIEW r11_hash_view AS SELECT * FROM r11_hash WHERE a IN (SELECT a FROM r11_ref) WITH CHECK OPTION;
INSERT INTO r11_hash_view VALUES (4, 4), (5, 5);
-- error
INSERT INTO r11_hash_view VALUES (6, 60);
UPDATE r11_hash_view SET a = a + 1;
SELECT k, a FROM r11_hash_view ORDER BY k;
SELECT k, a FROM r11_hash ORDER BY k;
DELETE FROM r11_hash_view WHERE k > 3;
INSERT INTO r11_hash_view SELECT g, g FROM generate_series(7, 9) g;
SELECT k, a FROM r11_hash ORDER BY k;
-- a view whose subquery reads a HASH table stays refused (0A000 on gridpg only, so not
-- compared here): its rows are spread over the nodes

-- opentenbase_c_explain.sql:57 (OpenTenBase): INSERT ... VALUES whose rows read a
-- distributed table in a subquery and also say DEFAULT: 42601 "DEFAULT is not allowed in
-- this context" (the rows went the INSERT ... SELECT way), nothing inserted
CREATE TABLE r11_src (x int);
INSERT INTO r11_src SELECT generate_series(1, 300);
CREATE TABLE r11_a3 (id int, num int, name text DEFAULT 'def');
INSERT INTO r11_a3 VALUES (10, 20, '40'), (-1, 2, DEFAULT), ((SELECT count(*) FROM r11_src), (SELECT i FROM (VALUES (3)) AS foo (i)), 'values are fun!');
INSERT INTO r11_a3 VALUES (11, DEFAULT, DEFAULT), ((SELECT max(x) FROM r11_src) + 1, 3, (SELECT 'n' || count(*) FROM r11_src WHERE x > 298));
INSERT INTO r11_a3 VALUES (DEFAULT, (SELECT min(x) FROM r11_src WHERE x > 1000), DEFAULT);
SELECT id, num, name FROM r11_a3 ORDER BY id, num, name;
CREATE TABLE r11_s3 (id serial, k int, t text DEFAULT 'z');
INSERT INTO r11_s3 (k, t) VALUES (1, DEFAULT), ((SELECT count(*)::int FROM r11_src), 'q') RETURNING id, k, t;
INSERT INTO r11_s3 VALUES (DEFAULT, (SELECT max(x) FROM r11_src), DEFAULT), (DEFAULT, 7, (SELECT string_agg(x::text, ',' ORDER BY x) FROM r11_src WHERE x < 4)) RETURNING id, k, t;
PREPARE r11_p(int) AS INSERT INTO r11_a3 VALUES ($1, DEFAULT, DEFAULT), ((SELECT count(*) FROM r11_src WHERE x < $1), $1, 'p');
EXECUTE r11_p(5);
DEALLOCATE r11_p;
SELECT id, num, name FROM r11_a3 WHERE id < 6 ORDER BY id, num, name;
SELECT k, t FROM r11_s3 ORDER BY id;

-- opentenbase_c_text.sql:25 (OpenTenBase): an ordered query over several nodes whose
-- output is of a pseudo-type (cstring, void): 42P16 "column has pseudo-type cstring" from
-- the sorted merge's scratch table; finished on the coordinator now, as record columns are
CREATE TABLE r11_cstring (id int, ip inet);
INSERT INTO r11_cstring SELECT g, ('10.0.' || g || '.0/25')::inet FROM generate_series(1, 20) g;
SELECT cstring_in(ip::text::cstring) FROM r11_cstring ORDER BY id LIMIT 3 OFFSET 10;
SELECT ip::text::cstring FROM r11_cstring ORDER BY id DESC LIMIT 2;
CREATE FUNCTION r11_void(int) RETURNS void LANGUAGE sql AS $$ SELECT 1 $$;
SELECT id, r11_void(id) FROM r11_cstring ORDER BY id LIMIT 2;
