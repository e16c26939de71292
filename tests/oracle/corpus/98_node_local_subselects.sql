/*
Sub-selects beside a colocated partner (planner/node_local.py, planner/writes.py): an
UPDATE/DELETE runs whole on every node only when each CTE or FROM/USING sub-select over a
distributed table is node-local (no LIMIT/OFFSET/FETCH, aggregate, GROUP BY, DISTINCT or
window except by the distribution column; nothing nested) and passes the distribution
column through to the target's; otherwise it is evaluated over complete copies. Each node
applying its own LIMIT/count/DISTINCT ON/row_number() updated more or other rows than
PostgreSQL, without an error. Also SELECT joins, IN (SELECT ... LIMIT), INSERT ... SELECT
... LIMIT, set operations, nested sub-selects, and what IS node-local (GROUP BY and
DISTINCT ON the distribution column, windows partitioned by it).
*/

CREATE TABLE nl_jobs (id int PRIMARY KEY, state text, prio int) DISTRIBUTE BY HASH (id);
CREATE TABLE nl_items (job_id int, n int) DISTRIBUTE BY HASH (job_id);
CREATE TABLE nl_other (k text PRIMARY KEY, job int) DISTRIBUTE BY HASH (k);
CREATE TABLE nl_ref (id int PRIMARY KEY, label text) DISTRIBUTE BY REPLICATION;
INSERT INTO nl_jobs SELECT g, 'new', g % 3 FROM generate_series(1, 12) g;
INSERT INTO nl_items SELECT g % 12 + 1, g FROM generate_series(1, 30) g;
INSERT INTO nl_other SELECT 'k' || g, g FROM generate_series(1, 12) g;
INSERT INTO nl_ref VALUES (1, 'one'), (5, 'five'), (9, 'nine');

-- the probe of issue 12: queue pops and friends
WITH nx AS (SELECT id FROM nl_jobs WHERE state = 'new' ORDER BY id LIMIT 1) UPDATE nl_jobs SET state = 'taken' FROM nx WHERE nl_jobs.id = nx.id RETURNING nl_jobs.*;
WITH nx AS (SELECT id FROM nl_jobs WHERE state = 'new' ORDER BY id LIMIT 2) DELETE FROM nl_jobs USING nx WHERE nl_jobs.id = nx.id RETURNING nl_jobs.*;
UPDATE nl_jobs SET state = 'big' FROM (SELECT id FROM nl_jobs ORDER BY id DESC LIMIT 1) s WHERE s.id = nl_jobs.id RETURNING nl_jobs.*;
UPDATE nl_jobs SET state = 'cnt' FROM (SELECT count(*) c FROM nl_jobs) s WHERE nl_jobs.id = s.c RETURNING nl_jobs.*;
UPDATE nl_jobs j SET state = 'dist' FROM (SELECT DISTINCT ON (state) id FROM nl_jobs ORDER BY state, id) s WHERE s.id = j.id RETURNING j.*;
DELETE FROM nl_jobs WHERE id IN (SELECT id FROM nl_jobs ORDER BY id LIMIT 1 OFFSET 3) RETURNING *;
UPDATE nl_jobs SET state = 'rn' WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) rn FROM nl_jobs) x WHERE rn = 2) RETURNING *;
SELECT * FROM nl_jobs ORDER BY id;
WITH nx AS (SELECT id FROM nl_jobs ORDER BY id LIMIT 1) SELECT j.* FROM nl_jobs j JOIN nx USING (id);
SELECT j.* FROM nl_jobs j JOIN (SELECT id FROM nl_jobs ORDER BY id DESC LIMIT 2) x USING (id) ORDER BY 1;
INSERT INTO nl_jobs SELECT id + 100, 'copy', prio FROM nl_jobs ORDER BY id LIMIT 2 RETURNING *;
SELECT count(*) FROM nl_jobs WHERE id IN (SELECT id FROM nl_jobs ORDER BY id LIMIT 3);

-- variants: OFFSET, FETCH FIRST WITH TIES, a CTE named like its table, a computed key, aggregates, windows
TRUNCATE nl_jobs;
INSERT INTO nl_jobs SELECT g, 'new', g % 3 FROM generate_series(1, 12) g;
WITH nx AS (SELECT id FROM nl_jobs ORDER BY id OFFSET 9) UPDATE nl_jobs SET state = 'off' FROM nx WHERE nl_jobs.id = nx.id RETURNING nl_jobs.*;
UPDATE nl_jobs SET state = 'ties' FROM (SELECT id FROM nl_jobs ORDER BY prio FETCH FIRST 2 ROWS WITH TIES) s WHERE s.id = nl_jobs.id RETURNING nl_jobs.*;
WITH nl_items AS (SELECT job_id FROM nl_items ORDER BY job_id, n LIMIT 1) UPDATE nl_jobs SET state = 'shadow' FROM nl_items WHERE nl_jobs.id = nl_items.job_id RETURNING nl_jobs.*;
WITH nx AS (SELECT id + 1 AS id FROM nl_jobs WHERE id < 4) UPDATE nl_jobs SET state = 'plus' FROM nx WHERE nl_jobs.id = nx.id RETURNING nl_jobs.*;
WITH nx(id) AS (SELECT prio FROM nl_jobs) UPDATE nl_jobs SET state = 'renamed' FROM nx WHERE nl_jobs.id = nx.id RETURNING nl_jobs.*;
UPDATE nl_jobs SET prio = s.m FROM (SELECT max(n) m FROM nl_items) s WHERE nl_jobs.id = s.m / 3 RETURNING nl_jobs.*;
UPDATE nl_jobs SET prio = 7 FROM (SELECT job_id, row_number() OVER (ORDER BY n DESC) r FROM nl_items) s WHERE s.job_id = nl_jobs.id AND s.r = 1 RETURNING nl_jobs.*;
UPDATE nl_jobs SET prio = 8 FROM (SELECT state, min(id) id FROM nl_jobs GROUP BY state) s WHERE s.id = nl_jobs.id RETURNING nl_jobs.*;
DELETE FROM nl_jobs USING (SELECT DISTINCT prio AS id FROM nl_jobs) s WHERE s.id = nl_jobs.id RETURNING nl_jobs.*;
SELECT * FROM nl_jobs ORDER BY id;

-- nested sub-selects, set operations, a CTE read by a SubLink, LATERAL
TRUNCATE nl_jobs;
INSERT INTO nl_jobs SELECT g, 'new', g % 3 FROM generate_series(1, 12) g;
UPDATE nl_jobs SET state = 'nest' FROM (SELECT id FROM (SELECT id FROM nl_jobs ORDER BY id LIMIT 3) a WHERE id > 1) s WHERE s.id = nl_jobs.id RETURNING nl_jobs.*;
UPDATE nl_jobs SET state = 'deep' WHERE id IN (SELECT id FROM nl_jobs WHERE id IN (SELECT job_id FROM nl_items ORDER BY n DESC LIMIT 2)) RETURNING *;
WITH nx AS (SELECT id FROM nl_jobs UNION ALL SELECT job_id FROM nl_items ORDER BY 1 LIMIT 4) DELETE FROM nl_jobs USING nx WHERE nl_jobs.id = nx.id RETURNING nl_jobs.*;
UPDATE nl_jobs SET state = 'union' FROM (SELECT id FROM nl_jobs WHERE id > 10 UNION SELECT job_id FROM nl_items WHERE n = 30) s WHERE s.id = nl_jobs.id RETURNING nl_jobs.*;
UPDATE nl_jobs SET state = 'except' FROM (SELECT id FROM nl_jobs EXCEPT SELECT job_id FROM nl_items WHERE n > 6) s WHERE s.id = nl_jobs.id RETURNING nl_jobs.*;
WITH nx AS (SELECT id FROM nl_jobs WHERE state = 'new') UPDATE nl_jobs SET prio = 9 FROM nx WHERE nl_jobs.id = nx.id AND (SELECT count(*) FROM nx) = 4 RETURNING nl_jobs.*;
WITH a AS (SELECT id FROM nl_jobs ORDER BY id DESC LIMIT 3), b AS (SELECT id FROM a) UPDATE nl_jobs SET prio = 10 FROM b WHERE b.id = nl_jobs.id RETURNING nl_jobs.*;
UPDATE nl_jobs SET prio = 11 FROM nl_ref r, LATERAL (SELECT job_id FROM nl_items WHERE job_id >= r.id ORDER BY job_id, n LIMIT 1) s WHERE s.job_id = nl_jobs.id RETURNING nl_jobs.*;
DELETE FROM nl_jobs USING nl_other o WHERE o.job = nl_jobs.id AND o.k IN (SELECT k FROM nl_other ORDER BY k LIMIT 2) RETURNING nl_jobs.*;
SELECT * FROM nl_jobs ORDER BY id;

-- what IS node-local: the distribution column grouped, DISTINCT ON it, windows partitioned by it
TRUNCATE nl_jobs;
INSERT INTO nl_jobs SELECT g, 'new', g % 3 FROM generate_series(1, 12) g;
UPDATE nl_jobs SET prio = s.c FROM (SELECT job_id, count(*) c FROM nl_items GROUP BY job_id) s WHERE s.job_id = nl_jobs.id RETURNING nl_jobs.*;
UPDATE nl_jobs SET state = 'top' FROM (SELECT DISTINCT ON (job_id) job_id, n FROM nl_items ORDER BY job_id, n DESC) s WHERE s.job_id = nl_jobs.id AND s.n > 27 RETURNING nl_jobs.*;
DELETE FROM nl_jobs USING (SELECT job_id, rank() OVER (PARTITION BY job_id ORDER BY n) r, n FROM nl_items) s WHERE s.job_id = nl_jobs.id AND s.r = 1 AND s.n = 12 RETURNING nl_jobs.*;
WITH nx AS (SELECT id FROM nl_jobs WHERE prio > 2) UPDATE nl_jobs SET state = 'cte' FROM nx WHERE nl_jobs.id = nx.id RETURNING nl_jobs.*;
WITH nx(k) AS (SELECT i.job_id FROM nl_items i JOIN nl_jobs j ON j.id = i.job_id WHERE i.n < 3) DELETE FROM nl_jobs USING nx WHERE nl_jobs.id = nx.k RETURNING nl_jobs.*;
UPDATE nl_jobs SET state = 'having' FROM (SELECT job_id FROM nl_items GROUP BY job_id HAVING sum(n) > 50) s WHERE s.job_id = nl_jobs.id RETURNING nl_jobs.*;
SELECT * FROM nl_jobs ORDER BY id;
SELECT j.id, s.c FROM nl_jobs j JOIN (SELECT job_id, count(*) c FROM nl_items GROUP BY job_id) s ON s.job_id = j.id ORDER BY 1;
SELECT count(*) FROM nl_jobs j JOIN (SELECT job_id FROM nl_items ORDER BY n LIMIT 5) s ON s.job_id = j.id;
SELECT count(*) FROM (SELECT id, row_number() OVER (ORDER BY id) rn FROM nl_jobs) s WHERE rn <= 2;

-- a statement pinned to one node by its own table: a CTE over the same table (same name) is not
TRUNCATE nl_jobs;
INSERT INTO nl_jobs SELECT g, 'new', g % 3 FROM generate_series(1, 12) g;
WITH nx AS (SELECT id FROM nl_jobs ORDER BY id LIMIT 1) SELECT * FROM nl_jobs JOIN nx USING (id) WHERE nl_jobs.id = 3;
WITH nx AS (SELECT id FROM nl_jobs ORDER BY id LIMIT 1) SELECT * FROM nl_jobs JOIN nx USING (id) WHERE id = 3;
WITH nx AS (SELECT job_id AS id FROM nl_items ORDER BY n LIMIT 1) SELECT * FROM nl_jobs JOIN nx USING (id) WHERE id = 5;
WITH nx AS (SELECT count(*) c FROM nl_jobs) SELECT * FROM nl_jobs, nx WHERE nl_jobs.id = 3;
WITH nx AS (SELECT id FROM nl_jobs ORDER BY id LIMIT 1) UPDATE nl_jobs SET state = 'x' FROM nx WHERE nl_jobs.id = nx.id AND nl_jobs.id = 3 RETURNING nl_jobs.*;
WITH nx AS (SELECT count(*) c FROM nl_jobs) UPDATE nl_jobs SET state = 'z' FROM nx WHERE nl_jobs.id = 3 AND nx.c = 12 RETURNING nl_jobs.*;
WITH nx AS (SELECT max(id) m FROM nl_jobs) DELETE FROM nl_jobs USING nx WHERE nl_jobs.id = 4 AND nx.m = 12 RETURNING nl_jobs.*;
WITH v(k) AS (VALUES (6)) SELECT j.* FROM nl_jobs j, v WHERE j.id = 6 AND v.k = j.id;
SELECT * FROM nl_jobs ORDER BY id;

-- a volatile function in a sub-select is drawn once, as in PostgreSQL (each count is always 1 there)
TRUNCATE nl_jobs;
INSERT INTO nl_jobs SELECT g, 'new', g % 3 FROM generate_series(1, 12) g;
SELECT count(*) FROM nl_jobs WHERE id = (SELECT (random() * 11)::int + 1);
SELECT count(*) FROM nl_jobs WHERE id = (SELECT (random() * 11)::int + 1);
SELECT count(*) FROM nl_jobs WHERE id = (SELECT (random() * 11)::int + 1);
SELECT count(*) FROM nl_jobs WHERE id IN (SELECT id FROM nl_ref ORDER BY random() LIMIT 1);
SELECT count(*) FROM nl_jobs WHERE id IN (SELECT id FROM nl_ref ORDER BY random() LIMIT 1);
SELECT count(*) FROM nl_jobs WHERE id IN (SELECT id FROM nl_jobs ORDER BY random() LIMIT 1);
SELECT count(*) FROM nl_jobs WHERE id IN (SELECT id FROM nl_jobs ORDER BY random() LIMIT 1);
SELECT count(*) FROM nl_jobs j JOIN (SELECT id FROM nl_ref ORDER BY random() LIMIT 1) s USING (id);
SELECT count(*) FROM nl_jobs j JOIN (SELECT id FROM nl_ref ORDER BY random() LIMIT 1) s USING (id);
SELECT count(*) FROM (SELECT id FROM nl_jobs WHERE id IN (SELECT id FROM nl_ref ORDER BY random() LIMIT 1)) s;
