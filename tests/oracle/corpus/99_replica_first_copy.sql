-- Writes to every copy of a REPLICATION table lock their rows on its first node first
-- (planner/writes.first_copy_lock): the locking query must never change a write's answer,
-- nor fail where PostgreSQL runs the write, whatever shape the statement takes.
CREATE TABLE rf (k text PRIMARY KEY, n int NOT NULL, note text) DISTRIBUTE BY REPLICATION;
CREATE TABLE rf_src (k text, d int) DISTRIBUTE BY REPLICATION;
CREATE TABLE rf_hash (id int PRIMARY KEY, k text) DISTRIBUTE BY HASH (id);
INSERT INTO rf SELECT 'k' || g, g, NULL FROM generate_series(1, 20) g;
INSERT INTO rf_src VALUES ('k1', 10), ('k2', 20), ('k3', 30), ('zz', 99);
INSERT INTO rf_hash SELECT g, 'k' || (g % 7 + 1) FROM generate_series(1, 30) g;
UPDATE rf SET n = n + 1 WHERE k = 'k1' RETURNING k, n;
/* leading comment */ UPDATE rf -- the target
  SET note = 'c' -- a note
  WHERE k IN ('k2', 'k3') -- two rows
  RETURNING k, note;
WITH d AS (SELECT k, d FROM rf_src WHERE d < 25) UPDATE rf AS r SET n = r.n + d.d FROM d WHERE r.k = d.k RETURNING r.k, r.n;
UPDATE rf r SET n = s.d FROM rf_src s WHERE s.k = r.k AND s.d > 25 RETURNING r.k, r.n, s.d;
UPDATE rf SET n = (SELECT max(d) FROM rf_src) WHERE k = 'k4' RETURNING n;
UPDATE rf SET (n, note) = (SELECT d, 'row' FROM rf_src WHERE rf_src.k = 'k1') WHERE k = 'k5' RETURNING k, n, note;
UPDATE rf SET note = 'sub' WHERE k IN (SELECT k FROM rf_hash WHERE id < 4) RETURNING k;
UPDATE rf SET note = 'none' WHERE false;
UPDATE rf SET note = NULL WHERE note = 'sub';
DELETE FROM rf WHERE k = 'k20' RETURNING *;
DELETE FROM rf r USING rf_src s WHERE s.k = r.k AND s.d = 30 RETURNING r.k;
WITH gone AS (SELECT 'k19'::text AS k) DELETE FROM ONLY rf WHERE k IN (SELECT k FROM gone) RETURNING k;
UPDATE ONLY rf SET n = -n WHERE n > 17 RETURNING k, n;
SELECT k, n, note FROM rf ORDER BY k;
-- in a transaction, with savepoints and an error rolled back to one
BEGIN;
UPDATE rf SET n = n + 100 WHERE k = 'k6';
SAVEPOINT s1;
-- error
UPDATE rf SET n = 1 / 0 WHERE k = 'k7';
ROLLBACK TO SAVEPOINT s1;
DELETE FROM rf WHERE k = 'k8';
COMMIT;
SELECT k, n FROM rf WHERE k IN ('k6', 'k7', 'k8') ORDER BY k;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM rf;
UPDATE rf SET n = n * 2 WHERE k = 'k9' RETURNING n;
DELETE FROM rf WHERE k = 'k10' RETURNING k;
COMMIT;
SET default_transaction_isolation = 'repeatable read';
UPDATE rf SET n = n + 1 WHERE k = 'k11' RETURNING n;
RESET default_transaction_isolation;
-- prepared, parameters the lock leaves out
PREPARE up1(int, text) AS UPDATE rf SET n = $1 WHERE k = $2 RETURNING k, n;
EXECUTE up1(500, 'k12');
PREPARE up2(text, text) AS UPDATE rf SET note = $1 WHERE k = 'k13' AND $2 = 'go' RETURNING k, note;
EXECUTE up2('prepared', 'go');
PREPARE del1(text) AS DELETE FROM rf WHERE k = $1 RETURNING k;
EXECUTE del1('k14');
DEALLOCATE up1;
DEALLOCATE up2;
DEALLOCATE del1;
-- roles with fewer rights than the lock would need: the writes run as on PostgreSQL
DROP ROLE IF EXISTS rf_deleter;
DROP ROLE IF EXISTS rf_updater;
DROP ROLE IF EXISTS rf_columns;
CREATE ROLE rf_deleter;
CREATE ROLE rf_updater;
CREATE ROLE rf_columns;
GRANT USAGE ON SCHEMA oracle_99_replica_first_copy TO rf_deleter, rf_updater, rf_columns;
GRANT SELECT, DELETE ON rf TO rf_deleter;
GRANT UPDATE ON rf TO rf_updater;
GRANT SELECT (k, n), UPDATE (n) ON rf TO rf_columns;
SET ROLE rf_deleter;
DELETE FROM rf WHERE k = 'k16' RETURNING k;
-- error
UPDATE rf SET n = 0 WHERE k = 'k17';
RESET ROLE;
SET ROLE rf_updater;
UPDATE rf SET note = 'blind';
-- error
UPDATE rf SET n = 0 WHERE k = 'k17';
RESET ROLE;
SET ROLE rf_columns;
UPDATE rf SET n = n + 1 WHERE k = 'k17' RETURNING n;
-- error
UPDATE rf SET note = 'x' WHERE k = 'k17';
RESET ROLE;
SELECT k, n, note FROM rf ORDER BY k;
-- row security on the replicated table
ALTER TABLE rf ENABLE ROW LEVEL SECURITY;
CREATE POLICY rf_sel ON rf FOR SELECT USING (true);
CREATE POLICY rf_upd ON rf FOR UPDATE USING (n < 100);
GRANT SELECT, UPDATE ON rf TO rf_updater;
SET ROLE rf_updater;
UPDATE rf SET note = 'policy' RETURNING k, n;
RESET ROLE;
SELECT k, n, note FROM rf ORDER BY k;
ALTER TABLE rf DISABLE ROW LEVEL SECURITY;
-- upserts run on the first copy to their answer before the others
CREATE TABLE rf_up (k text PRIMARY KEY, n int NOT NULL CHECK (n < 50), seen int DEFAULT 0) DISTRIBUTE BY REPLICATION;
INSERT INTO rf_up VALUES ('a', 1), ('b', 2) ON CONFLICT DO NOTHING RETURNING *;
INSERT INTO rf_up VALUES ('a', 10), ('c', 3) ON CONFLICT DO NOTHING RETURNING *;
INSERT INTO rf_up VALUES ('a', 1), ('d', 4) ON CONFLICT (k) DO UPDATE SET n = rf_up.n + excluded.n, seen = rf_up.seen + 1 RETURNING k, n, seen;
INSERT INTO rf_up AS u VALUES ('b', 5) ON CONFLICT (k) DO UPDATE SET n = u.n + 1 WHERE u.n > 100 RETURNING k, n;
INSERT INTO rf_up VALUES ('b', 5) ON CONFLICT ON CONSTRAINT rf_up_pkey DO UPDATE SET n = excluded.n RETURNING k, n;
-- error
INSERT INTO rf_up VALUES ('a', 1) ON CONFLICT (k) DO UPDATE SET n = rf_up.n + 60;
-- error
INSERT INTO rf_up VALUES ('e', 1), ('e', 2) ON CONFLICT (k) DO UPDATE SET n = excluded.n;
PREPARE up3(text, int) AS INSERT INTO rf_up VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET n = rf_up.n + $2 RETURNING k, n;
EXECUTE up3('c', 7);
EXECUTE up3('f', 7);
DEALLOCATE up3;
BEGIN;
INSERT INTO rf_up VALUES ('g', 1) ON CONFLICT DO NOTHING;
INSERT INTO rf_up VALUES ('g', 2) ON CONFLICT (k) DO UPDATE SET n = excluded.n + rf_up.n RETURNING n;
ROLLBACK;
SELECT k, n, seen FROM rf_up ORDER BY k;
-- a simple view over it, and a partitioned replicated table
CREATE VIEW rf_v AS SELECT k, n FROM rf WHERE n < 1000;
UPDATE rf_v SET n = n + 1000 WHERE k = 'k2' RETURNING k, n;
DELETE FROM rf_v WHERE k = 'k3' RETURNING k;
CREATE TABLE rfp (id int, k text, v int) PARTITION BY RANGE (id) DISTRIBUTE BY REPLICATION;
CREATE TABLE rfp1 PARTITION OF rfp FOR VALUES FROM (0) TO (10);
CREATE TABLE rfp2 PARTITION OF rfp FOR VALUES FROM (10) TO (20);
INSERT INTO rfp SELECT g, 'p' || g, g FROM generate_series(0, 19) g;
UPDATE rfp SET v = v * 10 WHERE id IN (3, 13) RETURNING id, v;
DELETE FROM rfp WHERE id BETWEEN 8 AND 11 RETURNING id;
UPDATE rfp SET id = id + 10 WHERE id = 2 RETURNING id, k;
SELECT id, k, v FROM rfp ORDER BY id;
SELECT k, n, note FROM rf ORDER BY k;
DROP VIEW rf_v;
DROP POLICY rf_sel ON rf;
DROP POLICY rf_upd ON rf;
REVOKE ALL ON rf FROM rf_deleter, rf_updater, rf_columns;
REVOKE ALL ON SCHEMA oracle_99_replica_first_copy FROM rf_deleter, rf_updater, rf_columns;
DROP ROLE rf_deleter;
DROP ROLE rf_updater;
DROP ROLE rf_columns;
