/*
Data-modifying WITH over distributed tables (planner/modifying_cte.py): each
INSERT/UPDATE/DELETE entry runs as a statement of its own, its RETURNING rows feed the
rest as a constant WITH entry. Also inside transactions that roll back, empty RETURNING results, chained entries, a
SELECT entry before the writes, and the main statement itself a write.
*/

CREATE TABLE wc_a (id int PRIMARY KEY, v int, m text DEFAULT 'ok') DISTRIBUTE BY HASH (id);
CREATE TABLE wc_b (id int PRIMARY KEY, v int, m text) DISTRIBUTE BY HASH (id);
CREATE TABLE wc_log (k text PRIMARY KEY, n int) DISTRIBUTE BY HASH (k);
CREATE TABLE wc_ref (code int PRIMARY KEY, label text) DISTRIBUTE BY REPLICATION;
INSERT INTO wc_a SELECT g, g FROM generate_series(1, 40) g;
INSERT INTO wc_ref VALUES (1, 'one'), (2, 'two');

WITH ins AS (INSERT INTO wc_a VALUES (100, 1) RETURNING id) SELECT * FROM ins;
SELECT count(*) FROM wc_a WHERE id = 100;
WITH ins AS (INSERT INTO wc_a VALUES (101, 1, 'ok'), (102, 2, 'happy') RETURNING id, m) SELECT * FROM ins ORDER BY id;
with d as (delete from wc_a where id = 5 returning *) insert into wc_b select * from d;
SELECT * FROM wc_b ORDER BY id;
SELECT count(*) FROM wc_a WHERE id = 5;
/* count what went */ WITH d AS (DELETE FROM wc_a WHERE id BETWEEN 30 AND 39 RETURNING *) SELECT count(*), sum(v), min(m) FROM d;
WITH u AS (UPDATE wc_a SET id = id + 1000 WHERE id = 1 RETURNING *) SELECT * FROM u;
WITH u (a, b) AS (UPDATE wc_a SET v = v * 10 WHERE id IN (2, 3) RETURNING id, v),
     j AS (INSERT INTO wc_log SELECT 'k' || a, b FROM u RETURNING *)
SELECT * FROM j ORDER BY k;
WITH none AS (DELETE FROM wc_a WHERE id < 0 RETURNING id, m) SELECT count(*) FROM none;
WITH d AS (DELETE FROM wc_b RETURNING *) SELECT d.id, r.label FROM d LEFT JOIN wc_ref r ON r.code = d.v ORDER BY d.id;
WITH x AS (SELECT max(code) AS mx FROM wc_ref), i AS (INSERT INTO wc_b SELECT mx + 500, 1, 'happy' FROM x RETURNING *) SELECT * FROM i;
WITH moved AS (DELETE FROM wc_b WHERE m = 'happy' RETURNING id, v) UPDATE wc_log SET n = n + (SELECT count(*) FROM moved) WHERE k = 'k2';
SELECT * FROM wc_log ORDER BY k;
BEGIN;
WITH d AS (DELETE FROM wc_a WHERE id > 20 AND id < 30 RETURNING id) INSERT INTO wc_log SELECT 'gone' || id, id FROM d;
SELECT count(*) FROM wc_a;
SELECT count(*) FROM wc_log;
ROLLBACK;
SELECT count(*) FROM wc_a;
SELECT count(*) FROM wc_log;
BEGIN;
WITH i AS (INSERT INTO wc_b VALUES (7, 7, 'sad') RETURNING *) SELECT * FROM i;
COMMIT;
SELECT * FROM wc_b ORDER BY id;
-- error
WITH i AS (INSERT INTO wc_a VALUES (2, 2) RETURNING *) SELECT * FROM i;
SELECT count(*), sum(id), sum(v) FROM wc_a;
SELECT * FROM wc_a ORDER BY id;

-- archive-and-move inside one table: the INSERT adds rows and reads nothing of the table
WITH moved AS (DELETE FROM wc_a WHERE id BETWEEN 40 AND 45 RETURNING *)
INSERT INTO wc_a SELECT id + 5000, v, m FROM moved RETURNING id, v;
SELECT count(*), min(id), max(id) FROM wc_a WHERE id > 5000;
SELECT count(*) FROM wc_a WHERE id BETWEEN 40 AND 45;
BEGIN;
with a as (insert into wc_a values (6001, 1, 'ok') returning *), b as (insert into wc_a select id + 1, v, m from a returning *) select count(*) from b;
SELECT id FROM wc_a WHERE id > 6000 ORDER BY id;
ROLLBACK;
-- key moved by delete and re-insert of the same id: no conflict with the deleted row, as in PostgreSQL
WITH d AS (DELETE FROM wc_a WHERE id = 6 RETURNING *) INSERT INTO wc_a SELECT id, v + 1, m FROM d;
SELECT id, v FROM wc_a WHERE id = 6;

-- an entry without RETURNING runs in its turn and is read by nothing; naming it is
-- PostgreSQL's error, before any part has run
CREATE TABLE mc_plain (id int PRIMARY KEY, v int);
INSERT INTO mc_plain VALUES (1, 1), (2, 2);
WITH t AS (DELETE FROM mc_plain WHERE id = 1) SELECT 1;
SELECT * FROM mc_plain ORDER BY id;
-- error
WITH t AS (DELETE FROM mc_plain) SELECT * FROM t;
SELECT count(*) FROM mc_plain;
DROP TABLE mc_plain;

-- a PREPAREd data-modifying WITH is planned at each EXECUTE, in steps
CREATE TABLE mc_prep (id int PRIMARY KEY, v int);
CREATE TABLE mc_prep_log (id int, v int);
INSERT INTO mc_prep SELECT g, g FROM generate_series(1, 5) g;
PREPARE mc_move(int) AS WITH d AS (DELETE FROM mc_prep WHERE id = $1 RETURNING *) INSERT INTO mc_prep_log SELECT * FROM d;
EXECUTE mc_move(1);
EXECUTE mc_move(2);
SELECT * FROM mc_prep_log ORDER BY id;
PREPARE mc_bump AS WITH u AS (UPDATE mc_prep SET v = v + 100 WHERE id > 3 RETURNING id) SELECT count(*) FROM u;
EXECUTE mc_bump;
SELECT * FROM mc_prep ORDER BY id;
DEALLOCATE mc_move;
DEALLOCATE mc_bump;
DROP TABLE mc_prep, mc_prep_log;
