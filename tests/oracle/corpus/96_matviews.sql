/*
Materialized views over distributed and replicated tables: CREATE [IF NOT EXISTS] ... [WITH
[NO] DATA], SELECT from one (also joined with the distributed tables it was computed from),
REFRESH [CONCURRENTLY] [WITH NO DATA] after the tables changed, unique and plain indexes,
pg_matviews and relispopulated, views over them and materialized views over those,
ALTER MATERIALIZED VIEW (RENAME, SET SCHEMA), DROP (also by DROP TABLE ... CASCADE and
inside a block that rolls back), and PostgreSQL's errors: a read of one not populated
(55000), REFRESH CONCURRENTLY without a unique index or of one not populated (55000),
CONCURRENTLY with WITH NO DATA, writes and row locks (42809), DROP TABLE of a table one
depends on (2BP01).
Exercises: executor.matview (the view on the catalog servers, its rows in a REPLICATION
table on the datanodes, filled through the cluster), planner.matview (the errors),
planner.utility (DROP / ALTER of one on the datanodes as a table), commands.ddl (views
dropped by CASCADE).
*/

CREATE TABLE mv_sales (id int PRIMARY KEY, region text NOT NULL, amount numeric(10,2) NOT NULL) DISTRIBUTE BY HASH (id);
CREATE TABLE mv_region (region text PRIMARY KEY, manager text) DISTRIBUTE BY REPLICATION;
INSERT INTO mv_sales SELECT g, (ARRAY['east', 'west', 'north'])[g % 3 + 1], g * 1.5 FROM generate_series(1, 60) g;
INSERT INTO mv_region VALUES ('east', 'ann'), ('west', 'bob'), ('north', 'cid');

CREATE MATERIALIZED VIEW mv_totals AS SELECT region, sum(amount) AS total, count(*) AS n FROM mv_sales GROUP BY region;
SELECT * FROM mv_totals ORDER BY region;
SELECT relispopulated FROM pg_class WHERE oid = 'mv_totals'::regclass;
SELECT matviewname, ispopulated FROM pg_matviews WHERE matviewname LIKE 'mv\_%' ORDER BY 1;
-- joined with the tables it came from
SELECT t.region, t.total, r.manager, count(s.id) AS rows_now FROM mv_totals t JOIN mv_region r USING (region) JOIN mv_sales s ON s.region = t.region GROUP BY 1, 2, 3 ORDER BY 1;
SELECT s.id, s.amount, t.total FROM mv_sales s JOIN mv_totals t ON t.region = s.region WHERE s.id <= 4 ORDER BY s.id;

-- the rows stay until REFRESH
INSERT INTO mv_sales VALUES (100, 'east', 1000), (101, 'west', 2000);
SELECT * FROM mv_totals ORDER BY region;
REFRESH MATERIALIZED VIEW mv_totals;
SELECT * FROM mv_totals ORDER BY region;

-- CONCURRENTLY needs a unique index
-- error
REFRESH MATERIALIZED VIEW CONCURRENTLY mv_totals;
CREATE UNIQUE INDEX mv_totals_region ON mv_totals (region);
CREATE INDEX mv_totals_total ON mv_totals (total);
DELETE FROM mv_sales WHERE id = 100;
REFRESH MATERIALIZED VIEW CONCURRENTLY mv_totals;
SELECT * FROM mv_totals WHERE region = 'east';
SELECT indexname FROM pg_indexes WHERE tablename = 'mv_totals' ORDER BY 1;
-- error
REFRESH MATERIALIZED VIEW CONCURRENTLY mv_totals WITH NO DATA;

-- WITH NO DATA, then populated by REFRESH
CREATE MATERIALIZED VIEW mv_big AS SELECT id, amount FROM mv_sales WHERE amount > 50 WITH NO DATA;
SELECT relispopulated FROM pg_class WHERE oid = 'mv_big'::regclass;
-- error
SELECT * FROM mv_big;
-- error
SELECT count(*) FROM mv_sales s JOIN mv_big b USING (id);
-- error
REFRESH MATERIALIZED VIEW CONCURRENTLY mv_big;
CREATE UNIQUE INDEX ON mv_big (id);
REFRESH MATERIALIZED VIEW mv_big;
SELECT count(*), sum(amount) FROM mv_big;
SELECT b.id FROM mv_big b JOIN mv_sales s USING (id) WHERE s.id BETWEEN 40 AND 45 ORDER BY 1;
REFRESH MATERIALIZED VIEW mv_big WITH NO DATA;
-- error
SELECT count(*) FROM mv_big;
REFRESH MATERIALIZED VIEW mv_big;
SELECT count(*) FROM mv_big;

-- IF NOT EXISTS, and an existing name
CREATE MATERIALIZED VIEW IF NOT EXISTS mv_totals AS SELECT 1 AS one;
-- error
CREATE MATERIALIZED VIEW mv_totals AS SELECT 1 AS one;

-- writes and row locks are refused as PostgreSQL refuses them
-- error
INSERT INTO mv_totals VALUES ('south', 1, 1);
-- error
UPDATE mv_totals SET total = 0;
-- error
DELETE FROM mv_totals;
-- error
TRUNCATE mv_totals;
-- error
SELECT * FROM mv_totals FOR UPDATE;
SELECT count(*) FROM mv_totals;

-- views and materialized views over it; a column list and an expression
CREATE VIEW mv_totals_v AS SELECT region, total FROM mv_totals WHERE n > 0;
CREATE MATERIALIZED VIEW mv_grand (grand, regions) AS SELECT sum(total), count(*) FROM mv_totals_v;
SELECT * FROM mv_grand;
CREATE MATERIALIZED VIEW mv_ref_only AS SELECT upper(region) AS r, manager FROM mv_region ORDER BY 1;
SELECT * FROM mv_ref_only ORDER BY r;

-- ALTER MATERIALIZED VIEW
CREATE SCHEMA mv_other;
ALTER MATERIALIZED VIEW mv_ref_only RENAME TO mv_managers;
ALTER MATERIALIZED VIEW mv_managers SET SCHEMA mv_other;
SELECT * FROM mv_other.mv_managers ORDER BY r;
ALTER MATERIALIZED VIEW mv_other.mv_managers RENAME COLUMN manager TO boss;
UPDATE mv_region SET manager = 'dee' WHERE region = 'east';
REFRESH MATERIALIZED VIEW mv_other.mv_managers;
SELECT r, boss FROM mv_other.mv_managers ORDER BY r;

-- dependencies: refused without CASCADE, and rolled back with the block
-- error
DROP TABLE mv_sales;
BEGIN;
DROP TABLE mv_sales CASCADE;
-- error
SELECT * FROM mv_totals;
ROLLBACK;
SELECT * FROM mv_totals ORDER BY region;
SELECT * FROM mv_grand;

-- a block that refreshes and rolls back keeps the old rows
INSERT INTO mv_sales VALUES (200, 'north', 5000);
BEGIN;
REFRESH MATERIALIZED VIEW mv_totals;
SELECT total FROM mv_totals WHERE region = 'north';
ROLLBACK;
SELECT total FROM mv_totals WHERE region = 'north';

-- duplicate rows: the unique index refuses them (23505); CONCURRENTLY checks them first (21000)
CREATE TABLE mv_foo (a int, b int);
INSERT INTO mv_foo VALUES (1, 10), (2, NULL), (2, NULL);
CREATE MATERIALIZED VIEW mv_dup AS SELECT * FROM mv_foo WHERE b IS NOT NULL;
CREATE UNIQUE INDEX ON mv_dup (a);
INSERT INTO mv_foo SELECT * FROM mv_foo WHERE a = 1;
-- error
REFRESH MATERIALIZED VIEW mv_dup;
-- error
REFRESH MATERIALIZED VIEW CONCURRENTLY mv_dup;
BEGIN;
SAVEPOINT before_refresh;
-- error
REFRESH MATERIALIZED VIEW CONCURRENTLY mv_dup;
ROLLBACK TO SAVEPOINT before_refresh;
SELECT * FROM mv_dup;
COMMIT;
DELETE FROM mv_foo WHERE a = 1;
INSERT INTO mv_foo VALUES (1, 11), (3, 30);
REFRESH MATERIALIZED VIEW CONCURRENTLY mv_dup;
SELECT * FROM mv_dup ORDER BY a;
DROP TABLE mv_foo CASCADE;

-- DROP, and the same names again
DROP MATERIALIZED VIEW mv_grand;
DROP MATERIALIZED VIEW IF EXISTS mv_no_such;
DROP MATERIALIZED VIEW mv_big, mv_other.mv_managers;
DROP TABLE mv_sales CASCADE;
SELECT matviewname FROM pg_matviews WHERE matviewname LIKE 'mv\_%' ORDER BY 1;
CREATE TABLE mv_sales (id int PRIMARY KEY, region text NOT NULL, amount numeric(10,2) NOT NULL) DISTRIBUTE BY HASH (id);
INSERT INTO mv_sales VALUES (1, 'east', 10), (2, 'west', 20);
CREATE MATERIALIZED VIEW mv_totals AS SELECT region, sum(amount) AS total FROM mv_sales GROUP BY region;
SELECT * FROM mv_totals ORDER BY region;
DROP MATERIALIZED VIEW mv_totals;
