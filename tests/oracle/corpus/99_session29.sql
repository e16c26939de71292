/*
Session-level SQL as users and their tools write it (h-session29, 2026-12-07), over
HASH, REPLICATION and default-placed tables: cursors (SCROLL, WITH HOLD across COMMIT,
FETCH/MOVE forms, over joins and aggregates, pg_cursors), SQL-level PREPARE / EXECUTE /
DEALLOCATE across ALTER TABLE, savepoints after errors, SET LOCAL of the time zone read
by datanode-computed values, advisory locks released by DISCARD ALL, sequence limits, temp
tables shadowing a distributed table of the same name.
*/

CREATE TABLE s29_h (id int PRIMARY KEY, g int, v text) DISTRIBUTE BY HASH (id);
CREATE TABLE s29_r (g int PRIMARY KEY, name text) DISTRIBUTE BY REPLICATION;
CREATE TABLE s29_d (id int, g int, v text);
INSERT INTO s29_h SELECT i, i % 7, 'v' || i FROM generate_series(1, 3000) i;
INSERT INTO s29_r SELECT i, 'g' || i FROM generate_series(0, 6) i;
INSERT INTO s29_d SELECT i, i % 5, 'd' || i FROM generate_series(1, 2000) i;

-- scrollable cursor over a distributed table
BEGIN;
DECLARE c1 SCROLL CURSOR FOR SELECT id, v FROM s29_h ORDER BY id;
FETCH NEXT c1;
FETCH 3 c1;
FETCH PRIOR c1;
FETCH ABSOLUTE 100 c1;
FETCH RELATIVE -5 c1;
FETCH BACKWARD 3 c1;
FETCH LAST c1;
FETCH ABSOLUTE -2 c1;
FETCH ABSOLUTE 5000 c1;
FETCH PRIOR c1;
MOVE BACKWARD ALL c1;
FETCH c1;
MOVE FORWARD 2990 c1;
FETCH FORWARD ALL c1;
FETCH BACKWARD 2 c1;
DECLARE c2 NO SCROLL CURSOR FOR SELECT id FROM s29_h ORDER BY id;
ROLLBACK;
BEGIN;
DECLARE c2 NO SCROLL CURSOR FOR SELECT id FROM s29_h ORDER BY id;
FETCH 2 c2;
-- error
FETCH PRIOR c2;
ROLLBACK;

-- WITH HOLD cursors over a join with aggregates and over default placement
BEGIN;
DECLARE h1 CURSOR WITH HOLD FOR SELECT c.g, r.name, count(*), min(c.id) FROM s29_h c JOIN s29_r r ON r.g = c.g GROUP BY c.g, r.name ORDER BY c.g;
DECLARE h2 SCROLL CURSOR WITH HOLD FOR SELECT id, v FROM s29_d WHERE id > 1990 ORDER BY id;
FETCH 2 h1;
COMMIT;
FETCH ALL h1;
FETCH BACKWARD 3 h2;
FETCH LAST h2;
FETCH ABSOLUTE 3 h2;
SELECT name, is_holdable FROM pg_cursors ORDER BY name;
CLOSE h1;
-- error
FETCH h1;
CLOSE ALL;
SELECT count(*) FROM pg_cursors;
BEGIN;
DECLARE h3 CURSOR WITH HOLD FOR SELECT id FROM s29_h ORDER BY id;
ROLLBACK;
-- error
FETCH h3;
BEGIN;
DECLARE h4 CURSOR WITH HOLD FOR SELECT count(*), sum(id) FROM s29_h;
COMMIT;
INSERT INTO s29_h VALUES (5000, 1, 'new');
FETCH h4;
CLOSE h4;
DELETE FROM s29_h WHERE id = 5000;
BEGIN;
DECLARE c4 CURSOR FOR SELECT g, count(*) FROM s29_h GROUP BY g ORDER BY g;
FETCH 3 c4;
MOVE 2 c4;
FETCH c4;
FETCH c4;
FETCH c4;
DECLARE d CURSOR FOR SELECT h.id, r.name FROM s29_h h JOIN s29_r r ON r.g = h.g WHERE h.id BETWEEN 100 AND 120 ORDER BY r.name, h.id;
FETCH 5 d;
MOVE 3 d;
FETCH 2 d;
DECLARE a CURSOR FOR SELECT id FROM s29_h WHERE g = 3 ORDER BY id DESC LIMIT 4 OFFSET 2;
FETCH ALL a;
DECLARE j CURSOR FOR SELECT id FROM s29_h ORDER BY id;
MOVE 2990 j;
FETCH 20 j;
COMMIT;
-- error
FETCH c4;

-- SQL-level prepared statements across ALTER TABLE
PREPARE s29_p1(int) AS SELECT * FROM s29_h WHERE id = $1;
EXECUTE s29_p1(5);
PREPARE s29_p3(int, text) AS SELECT count(*), max(v) FROM s29_h WHERE g = $1 AND v > $2;
EXECUTE s29_p3(2, 'v5');
PREPARE s29_star AS SELECT * FROM s29_h WHERE id = 1;
EXECUTE s29_star;
ALTER TABLE s29_h ADD COLUMN w int DEFAULT 7;
EXECUTE s29_p3(3, 'v5');
ALTER TABLE s29_h DROP COLUMN w;
ALTER TABLE s29_h ALTER COLUMN g TYPE bigint;
EXECUTE s29_p3(2, 'v5');
SELECT name, result_types FROM pg_prepared_statements WHERE name LIKE 's29%' ORDER BY name;
ALTER TABLE s29_h RENAME COLUMN v TO vv;
-- error
EXECUTE s29_p3(2, 'v5');
ALTER TABLE s29_h RENAME COLUMN vv TO v;
EXECUTE s29_p3(2, 'v5');
PREPARE s29_pj(int) AS SELECT r.name, count(*) FROM s29_h p JOIN s29_r r USING (g) WHERE p.id < $1 GROUP BY r.name ORDER BY 1;
EXECUTE s29_pj(100);
-- error
EXECUTE s29_pj(100, 2);
DEALLOCATE ALL;
SELECT count(*) FROM pg_prepared_statements;

-- savepoints after errors
BEGIN;
UPDATE s29_h SET v = 'one' WHERE id <= 10;
SAVEPOINT a;
UPDATE s29_h SET v = 'two' WHERE id <= 20;
SAVEPOINT b;
-- error
INSERT INTO s29_h VALUES (1, 9);
ROLLBACK TO b;
SELECT v, count(*) FROM s29_h WHERE id <= 30 GROUP BY v ORDER BY v;
ROLLBACK TO a;
SELECT v, count(*) FROM s29_h WHERE id <= 30 GROUP BY v ORDER BY v;
SAVEPOINT c;
UPDATE s29_r SET name = 'five';
RELEASE c;
SAVEPOINT a;
DELETE FROM s29_h WHERE id > 1990;
RELEASE SAVEPOINT a;
ROLLBACK TO a;
ROLLBACK;
SELECT count(*), count(DISTINCT v) FROM s29_h;
SELECT count(*) FROM s29_r WHERE name = 'five';

-- SET LOCAL of the time zone, values computed on the datanodes
CREATE TABLE s29_t (id int PRIMARY KEY, ts timestamptz) DISTRIBUTE BY HASH (id);
INSERT INTO s29_t SELECT i, '2024-06-01 12:00:00+00'::timestamptz + i * interval '1 day' FROM generate_series(1, 2000) i;
BEGIN;
SET LOCAL TIME ZONE 'Asia/Tokyo';
SELECT ts::text, to_char(ts, 'YYYY-MM-DD HH24:MI'), date_trunc('day', ts)::text FROM s29_t WHERE id < 4 ORDER BY id;
SAVEPOINT a;
SET LOCAL TIME ZONE 'America/New_York';
SELECT ts::text FROM s29_t WHERE id = 1;
ROLLBACK TO a;
SELECT ts::text FROM s29_t WHERE id = 1;
COMMIT;
SELECT ts::text FROM s29_t WHERE id = 1;

-- advisory locks: DISCARD ALL releases the session's
SELECT pg_advisory_lock(2901), pg_advisory_lock_shared(2902), pg_try_advisory_lock(2903);
SELECT objid, mode FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() ORDER BY objid;
DISCARD ALL;
SET search_path TO oracle_99_session29, public;
SET TimeZone TO 'UTC';
SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();
SELECT pg_advisory_unlock(2901);

-- sequence limits
CREATE SEQUENCE s29_sq MAXVALUE 2;
SELECT nextval('s29_sq'), nextval('s29_sq');
-- error
SELECT nextval('s29_sq');
-- error
SELECT setval('s29_sq', 5);

-- a temp table shadows the distributed one of the same name
CREATE TEMP TABLE s29_h (id int PRIMARY KEY, v text);
INSERT INTO s29_h VALUES (1, 'temp');
SELECT count(*), min(v) FROM s29_h;
SELECT count(*) FROM oracle_99_session29.s29_h;
SELECT t.v, p.v FROM s29_h t JOIN oracle_99_session29.s29_h p USING (id);
DROP TABLE s29_h;
SELECT count(*) FROM s29_h;
