/*
UPDATE ... SET col = DEFAULT (also `(a, col) = (x, DEFAULT)`, ON CONFLICT DO UPDATE and
MERGE's UPDATE) of a column whose default reads the transaction time (issue 12, h-probe). Each datanode evaluated `now()` with its own transaction start: in a block,
`updated_at = now()` was false for every row and one statement's rows held one instant
per node. The item is now given the block's instant, as INSERT's defaults are.
*/
CREATE SCHEMA oracle_utd;
CREATE TABLE oracle_utd.t (id int PRIMARY KEY, at timestamptz DEFAULT now(), d date DEFAULT current_date, n int DEFAULT 5);
INSERT INTO oracle_utd.t (id, at, d, n) SELECT g, '2000-01-01', '2000-01-01', 0 FROM generate_series(1, 30) g;
BEGIN;
SELECT count(*) FROM oracle_utd.t;
UPDATE oracle_utd.t SET at = DEFAULT WHERE id <= 20;
UPDATE oracle_utd.t SET at = DEFAULT, n = DEFAULT WHERE id = 25;
update oracle_utd.t set "at" = default, d = DEFAULT where id = 26 returning at = now(), d = current_date, n;
SELECT count(*) FROM oracle_utd.t WHERE at = now();
SELECT count(DISTINCT at) FROM oracle_utd.t WHERE at > '2001-01-01';
SELECT id, n FROM oracle_utd.t WHERE n <> 0 ORDER BY id;
INSERT INTO oracle_utd.t (id, n) VALUES (1, 1), (2, 1), (27, 1) ON CONFLICT (id) DO UPDATE SET at = DEFAULT, n = excluded.n;
MERGE INTO oracle_utd.t USING (VALUES (21), (22), (23)) s(id) ON t.id = s.id WHEN MATCHED THEN UPDATE SET at = DEFAULT;
UPDATE oracle_utd.t SET (n, at) = (3, DEFAULT) WHERE id IN (28, 29);
UPDATE oracle_utd.t SET (at, n) = (DEFAULT, 4) WHERE id = 30;
SELECT count(*) FROM oracle_utd.t WHERE at = now();
SELECT count(DISTINCT at) FROM oracle_utd.t WHERE at > '2001-01-01';
COMMIT;
SELECT count(DISTINCT at) FROM oracle_utd.t WHERE at > '2001-01-01';
