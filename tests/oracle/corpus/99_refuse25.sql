/*
What users' SQL hits that an earlier session refused or left (h-refuse25). First: one
transaction instant in a write outside a transaction block that reaches one datanode
only (sent there without BEGIN): a column's DEFAULT now(), the statement's own now() and a
BEFORE ROW trigger's `NEW.updated_at := now()` hold one value, as in PostgreSQL, on a
hash table, a REPLICATION table on every datanode and one placed on one datanode, by
INSERT ... VALUES, DEFAULT, INSERT ... SELECT, UPDATE, RETURNING, and in blocks. Times
are compared as facts (`=`, count(DISTINCT ...)), never as values.
*/

CREATE FUNCTION touch25() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
CREATE FUNCTION touch25_cur() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := CURRENT_TIMESTAMP; NEW.day := CURRENT_DATE; RETURN NEW; END $$;
CREATE TABLE th (id int PRIMARY KEY, v int, created_at timestamptz DEFAULT now(), updated_at timestamptz, day date) DISTRIBUTE BY HASH (id);
CREATE TABLE tr (id int PRIMARY KEY, v int, created_at timestamptz DEFAULT now(), updated_at timestamptz, day date) DISTRIBUTE BY REPLICATION;
CREATE TABLE t1 (id int PRIMARY KEY, v int, created_at timestamptz DEFAULT now(), updated_at timestamptz, day date) DISTRIBUTE BY REPLICATION TO NODE (dn1);
CREATE TABLE tc (id int PRIMARY KEY, v int, created_at timestamptz DEFAULT CURRENT_TIMESTAMP, updated_at timestamptz, day date DEFAULT CURRENT_DATE) DISTRIBUTE BY HASH (id);
CREATE TRIGGER th_touch BEFORE INSERT OR UPDATE ON th FOR EACH ROW EXECUTE FUNCTION touch25();
CREATE TRIGGER tr_touch BEFORE INSERT OR UPDATE ON tr FOR EACH ROW EXECUTE FUNCTION touch25();
CREATE TRIGGER t1_touch BEFORE INSERT OR UPDATE ON t1 FOR EACH ROW EXECUTE FUNCTION touch25();
CREATE TRIGGER tc_touch BEFORE INSERT OR UPDATE ON tc FOR EACH ROW EXECUTE FUNCTION touch25_cur();

-- one row, one node, outside a block
INSERT INTO th (id, v) VALUES (1, 1) RETURNING id, created_at = updated_at AS same, updated_at = now() AS now_same;
INSERT INTO tr (id, v) VALUES (1, 1) RETURNING id, created_at = updated_at AS same, updated_at = now() AS now_same;
INSERT INTO t1 (id, v) VALUES (1, 1) RETURNING id, created_at = updated_at AS same, updated_at = now() AS now_same;
INSERT INTO tc (id, v) VALUES (1, 1) RETURNING id, created_at = updated_at AS same, day = created_at::date AS day_same;
INSERT INTO th (id, v) VALUES (2, 1);
INSERT INTO tr (id, v) VALUES (2, 1);
INSERT INTO t1 (id, v) VALUES (2, 1);
INSERT INTO tc (id, v) VALUES (2, 1);
INSERT INTO th VALUES (3, 1, DEFAULT);
INSERT INTO t1 VALUES (3, 1, DEFAULT);
INSERT INTO th (id, v) SELECT 4, 1;
INSERT INTO tr (id, v) SELECT 4, 1;
INSERT INTO t1 (id, v) SELECT 4, 1;
INSERT INTO th (id, v, created_at) VALUES (5, 1, now());
INSERT INTO th (id, v, created_at) VALUES (6, 1, CURRENT_TIMESTAMP);
INSERT INTO th (id, v, created_at) VALUES (7, 1, 'now');
SELECT id, created_at = updated_at AS same FROM th ORDER BY id;
SELECT id, created_at = updated_at AS same FROM tr ORDER BY id;
SELECT id, created_at = updated_at AS same FROM t1 ORDER BY id;
SELECT id, created_at = updated_at AS same, day = created_at::date AS day_same FROM tc ORDER BY id;
-- UPDATE of one row, the statement's own now() beside the trigger's
UPDATE th SET v = 2, created_at = now() WHERE id = 1 RETURNING id, created_at = updated_at AS same, updated_at = now() AS now_same;
UPDATE tr SET v = 2, created_at = now() WHERE id = 1 RETURNING id, created_at = updated_at AS same, updated_at = now() AS now_same;
UPDATE t1 SET v = 2, created_at = now() WHERE id = 1 RETURNING id, created_at = updated_at AS same, updated_at = now() AS now_same;
UPDATE th SET v = 3, created_at = CURRENT_TIMESTAMP WHERE id = 2;
UPDATE t1 SET v = 3, created_at = transaction_timestamp() WHERE id = 2;
UPDATE tc SET v = 3, created_at = CURRENT_TIMESTAMP, day = CURRENT_DATE WHERE id = 2;
SELECT id, v, created_at = updated_at AS same FROM th ORDER BY id;
SELECT id, v, created_at = updated_at AS same FROM t1 ORDER BY id;
SELECT id, v, created_at = updated_at AS same, day = created_at::date AS day_same FROM tc ORDER BY id;
-- MERGE's INSERT actions: the defaults they leave hold the same instant (in a block too)
MERGE INTO th USING (SELECT 40 AS id) s ON th.id = s.id WHEN NOT MATCHED THEN INSERT (id, v) VALUES (s.id, 1) RETURNING created_at = updated_at AS same, updated_at = now() AS now_same;
MERGE INTO tr USING (SELECT 40 AS id) s ON tr.id = s.id WHEN NOT MATCHED THEN INSERT VALUES (s.id, 1, DEFAULT) RETURNING created_at = updated_at AS same, updated_at = now() AS now_same;
MERGE INTO th USING (SELECT g AS id FROM generate_series(41, 46) g) s ON th.id = s.id WHEN NOT MATCHED THEN INSERT (id, v) VALUES (s.id, 1);
MERGE INTO t1 USING (SELECT 41 AS id) s ON t1.id = s.id WHEN NOT MATCHED THEN INSERT (id, v) VALUES (s.id, 1);
MERGE INTO tc USING (SELECT 41 AS id) s ON tc.id = s.id WHEN NOT MATCHED THEN INSERT (id, v) VALUES (s.id, 1);
SELECT id, created_at = updated_at AS same FROM th WHERE id >= 40 ORDER BY id;
SELECT id, created_at = updated_at AS same FROM t1 WHERE id >= 40 ORDER BY id;
SELECT id, created_at = updated_at AS same, day = created_at::date AS day_same FROM tc WHERE id >= 40 ORDER BY id;
BEGIN;
SELECT pg_sleep(0.02);
MERGE INTO th USING (SELECT 47 AS id) s ON th.id = s.id WHEN NOT MATCHED THEN INSERT (id, v) VALUES (s.id, 1);
SELECT created_at = updated_at AS same, created_at = now() AS now_same FROM th WHERE id = 47;
COMMIT;
-- an error midway: nothing stored, nothing of the statement's instant left behind
-- error
INSERT INTO th (id, v) VALUES (1, 9);
INSERT INTO th (id, v) VALUES (8, 1) RETURNING created_at = updated_at AS same;
-- the same on another coordinator
\connect 2
INSERT INTO th (id, v) VALUES (21, 1) RETURNING created_at = updated_at AS same, updated_at = now() AS now_same;
INSERT INTO t1 (id, v) VALUES (21, 1) RETURNING created_at = updated_at AS same, updated_at = now() AS now_same;
UPDATE th SET v = 2, created_at = now() WHERE id = 21 RETURNING created_at = updated_at AS same;
INSERT INTO tr (id, v) SELECT 21, 1;
SELECT id, created_at = updated_at AS same FROM tr WHERE id = 21;
-- in a block: one instant for every statement, every node
BEGIN;
SELECT pg_sleep(0.02);
INSERT INTO th (id, v) VALUES (30, 1), (31, 1), (32, 1);
INSERT INTO t1 (id, v) VALUES (30, 1);
UPDATE th SET v = 5 WHERE id IN (1, 2, 3);
UPDATE tr SET v = 5 WHERE id = 2;
SELECT count(DISTINCT updated_at), bool_and(updated_at = now()), bool_and(created_at = now()) FROM th WHERE id >= 30;
SELECT count(DISTINCT updated_at), bool_and(updated_at = now()) FROM th WHERE v = 5;
SELECT bool_and(updated_at = now()), bool_and(created_at = updated_at) FROM t1 WHERE id = 30;
SELECT bool_and(updated_at = now()) FROM tr WHERE v = 5;
COMMIT;

-- A data-modifying WITH whose main statement reads the table it writes: the main
-- statement sees the table as it was before the WITH's writes (PostgreSQL's one snapshot)
CREATE TABLE mw (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id);
CREATE TABLE mr (id int PRIMARY KEY, v int) DISTRIBUTE BY REPLICATION;
CREATE TABLE mlog (n bigint, s bigint) DISTRIBUTE BY HASH (n);
INSERT INTO mw SELECT g, g FROM generate_series(1, 20) g;
INSERT INTO mr SELECT g, g FROM generate_series(1, 20) g;
WITH d AS (DELETE FROM mw WHERE id <= 3 RETURNING id) SELECT count(*), sum(v) FROM mw;
WITH u AS (UPDATE mw SET v = v + 100 WHERE id = 5 RETURNING id) SELECT id, v FROM mw WHERE id = 5;
WITH u AS (UPDATE mw SET v = v + 1000 WHERE id = 8 RETURNING id, v) SELECT a.v AS old, u.v AS new FROM mw a JOIN u USING (id);
WITH u AS (UPDATE mw SET v = v + 1 WHERE id > 15 RETURNING id, v) SELECT a.id, a.v, u.v AS new FROM mw AS a LEFT JOIN u USING (id) ORDER BY a.id;
WITH i AS (INSERT INTO mw VALUES (21, 21), (22, 22) RETURNING id) SELECT (SELECT count(*) FROM mw), (SELECT count(*) FROM i);
WITH d AS (DELETE FROM mr WHERE id <= 3 RETURNING id) SELECT count(*), sum(v) FROM mr;
WITH d AS (DELETE FROM mr WHERE id = 10 RETURNING id) SELECT x.id, x.v FROM mr x WHERE x.id BETWEEN 9 AND 11 ORDER BY x.id;
WITH d AS (DELETE FROM mw WHERE id = 12 RETURNING id) SELECT mw.id FROM mw JOIN d USING (id);
WITH d AS (DELETE FROM mw WHERE id = 13 RETURNING id) SELECT count(*) FROM mw WHERE id IN (SELECT id FROM d);
WITH d AS (DELETE FROM mw WHERE id = 14 RETURNING id) INSERT INTO mlog SELECT count(*), sum(v) FROM mw;
WITH u AS (UPDATE mr SET v = -v WHERE id = 15 RETURNING id) SELECT m.id, m.v, EXISTS (SELECT 1 FROM u WHERE u.id = m.id) AS updated FROM mr m WHERE m.id >= 14 ORDER BY m.id;
BEGIN;
WITH d AS (DELETE FROM mw WHERE id = 16 RETURNING id) SELECT count(*) FROM mw;
SELECT count(*) FROM mw;
ROLLBACK;
SELECT * FROM mlog;
SELECT id, v FROM mw ORDER BY id;
SELECT id, v FROM mr ORDER BY id;
-- what the before-image cannot stand for: refused (0A000) on gridpg, so not compared here
