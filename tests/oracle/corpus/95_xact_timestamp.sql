/*
One transaction timestamp across nodes: now(), CURRENT_TIMESTAMP, transaction_timestamp(),
'now'::timestamptz, timestamptz 'now', CURRENT_DATE, LOCALTIMESTAMP and DEFAULT now()
columns give one value for the whole transaction, whichever datanode stores the row and
whether the catalog server or a datanode evaluates the call. Only equalities and counts
are compared (the instants differ between the two systems).
Exercises: sql.xact_time (calls replaced by the coordinator's instant, column defaults
given explicitly in INSERT ... VALUES), txn.transaction (the instant fixed at BEGIN),
frontend.statements (simple and extended paths, the fast paths bypassed).
*/

CREATE TABLE ts_t (id int PRIMARY KEY, created timestamptz, d date, note text,
                   made timestamptz DEFAULT now(), made_day date DEFAULT CURRENT_DATE,
                   made_local timestamp DEFAULT LOCALTIMESTAMP) DISTRIBUTE BY HASH (id);
CREATE TABLE ts_ref (k int PRIMARY KEY, at timestamptz DEFAULT CURRENT_TIMESTAMP) DISTRIBUTE BY REPLICATION;

-- a block writing both datanodes, one statement per row
BEGIN;
INSERT INTO ts_t (id, created) VALUES (1, now());
INSERT INTO ts_t (id, created) VALUES (2, now());
INSERT INTO ts_t (id, created) VALUES (3, now());
INSERT INTO ts_t (id, created) VALUES (4, now());
INSERT INTO ts_t (id, created) VALUES (5, current_timestamp);
INSERT INTO ts_t (id, created) VALUES (6, transaction_timestamp());
INSERT INTO ts_t (id, created) VALUES (7, 'now'::timestamptz), (8, timestamptz 'now'), (9, CAST('now' AS timestamptz));
INSERT INTO ts_t (id, created, d) VALUES (10, pg_catalog.now(), current_date), (11, now(), 'today'::date), (12, now(), date 'today');
INSERT INTO ts_t VALUES (13, now(), current_date, 'all columns');
INSERT INTO ts_t (id, created, made) VALUES (14, now(), DEFAULT), (15, now(), DEFAULT);
INSERT INTO ts_ref (k) VALUES (1), (2);
SELECT count(*), count(DISTINCT created), count(DISTINCT made), count(DISTINCT made_day), count(DISTINCT made_local) FROM ts_t;
SELECT count(*) FROM ts_t WHERE created = now();
SELECT count(*) FROM ts_t WHERE made = created AND made_day = current_date AND made_local = localtimestamp;
SELECT now() = (SELECT max(created) FROM ts_t) AS same, now() = (SELECT min(made) FROM ts_t) AS same_default;
SELECT current_timestamp = (SELECT max(at) FROM ts_ref) AS ref_same, (SELECT count(DISTINCT at) FROM ts_ref) AS ref_values;
SELECT count(*) FROM ts_t WHERE d IS NOT NULL AND d = current_date;
SELECT localtimestamp = now()::timestamp AS local_same, current_date = now()::date AS date_same;
SELECT statement_timestamp() >= now() AS later, clock_timestamp() >= now() AS clock_later;
UPDATE ts_t SET note = 'touched', created = now() WHERE id > 6;
SELECT count(DISTINCT created), count(*) FILTER (WHERE created = transaction_timestamp()) FROM ts_t;
SELECT id FROM ts_t WHERE created = now() - interval '0 s' AND made <= now() ORDER BY id;
COMMIT;
SELECT count(DISTINCT created), count(DISTINCT made), count(DISTINCT made_day) FROM ts_t;
SELECT count(*) FROM ts_t WHERE created <> made;

-- one statement outside a block: one value for its rows on every node
INSERT INTO ts_t (id, created) VALUES (20, now()), (21, now()), (22, now()), (23, now()), (24, now()), (25, now());
SELECT count(DISTINCT created), count(DISTINCT made) FROM ts_t WHERE id BETWEEN 20 AND 25;
SELECT count(*) FROM ts_t WHERE id BETWEEN 20 AND 25 AND created = made;
INSERT INTO ts_t (id) VALUES (30), (31), (32), (33), (34), (35);
SELECT count(DISTINCT made), count(DISTINCT made_day) FROM ts_t WHERE id BETWEEN 30 AND 35;
UPDATE ts_t SET created = now() WHERE id BETWEEN 30 AND 35;
SELECT count(DISTINCT created) FROM ts_t WHERE id BETWEEN 30 AND 35;
INSERT INTO ts_t (id, created) SELECT g, now() FROM generate_series(40, 47) g;
SELECT count(DISTINCT created) FROM ts_t WHERE id BETWEEN 40 AND 47;

-- time zone and DateStyle of the session apply to the pinned values
BEGIN;
SET LOCAL timezone = 'Asia/Tokyo';
SET LOCAL datestyle = 'German, DMY';
INSERT INTO ts_t (id, created, d) VALUES (50, now(), current_date), (51, now(), current_date), (52, 'now', 'today');
SELECT count(DISTINCT made_day), count(DISTINCT made_local), count(DISTINCT d) FROM ts_t WHERE id BETWEEN 50 AND 52;
SELECT count(*) FROM ts_t WHERE id BETWEEN 50 AND 52 AND made_local = localtimestamp AND d = current_date AND made_day = current_date;
SELECT localtimestamp = now()::timestamp AS tokyo_local, current_date = (now() AT TIME ZONE 'Asia/Tokyo')::date AS tokyo_date;
SELECT current_date + 1 = 'tomorrow'::date AS tomorrow, current_date - 1 = date 'yesterday' AS yesterday;
ROLLBACK;
SELECT count(*) FROM ts_t WHERE id BETWEEN 50 AND 52;

-- a block that rolls back leaves nothing; the next block has its own instant
BEGIN;
INSERT INTO ts_t (id, created) VALUES (60, now()), (61, now());
SELECT count(DISTINCT created) FROM ts_t WHERE id IN (60, 61);
ROLLBACK;
BEGIN;
INSERT INTO ts_t (id, created) VALUES (62, now()), (63, now()), (64, now());
SELECT count(*) FROM ts_t WHERE id BETWEEN 60 AND 64 AND created = now() AND made = now();
SELECT (SELECT max(created) FROM ts_t WHERE id < 20) < now() AS later_block;
COMMIT;

-- untyped 'now' / 'today' assigned to date/time columns, also a distribution column
-- (timestamp.sql's pattern: rows routed by the value itself)
CREATE TABLE ts_hash (d1 timestamp(2) without time zone);
BEGIN;
INSERT INTO ts_t (id, created, d) VALUES (70, 'now', 'today'), (71, 'now', 'today'), (72, 'NOW ', 'Today');
SELECT count(*) FROM ts_t WHERE id BETWEEN 70 AND 72 AND created = now() AND d = current_date AND made = created;
INSERT INTO ts_hash VALUES ('now');
INSERT INTO ts_hash VALUES ('now');
INSERT INTO ts_hash VALUES ('today'), ('tomorrow'), ('yesterday');
SELECT count(*) AS two FROM ts_hash WHERE d1 = timestamp(2) without time zone 'now';
SELECT count(*) AS one FROM ts_hash WHERE d1 = timestamp without time zone 'tomorrow';
SELECT count(d1), count(DISTINCT d1) FROM ts_hash;
UPDATE ts_t SET d = 'tomorrow' WHERE id = 70;
SELECT d = current_date + 1 FROM ts_t WHERE id = 70;
COMMIT;

-- what the catalog server evaluates itself (a temp table's default, a function without
-- tables) agrees with what the datanodes store
CREATE TEMP TABLE ts_tmp (k int, c timestamptz DEFAULT now(), d date DEFAULT current_date);
CREATE FUNCTION ts_fn() RETURNS timestamptz LANGUAGE sql STABLE AS 'SELECT now()';
BEGIN;
INSERT INTO ts_tmp (k) VALUES (1);
INSERT INTO ts_t (id, created) VALUES (80, now()), (81, now());
SELECT (SELECT c FROM ts_tmp) = now() AS temp_default, ts_fn() = now() AS fn, (SELECT d FROM ts_tmp) = current_date AS temp_day;
SELECT count(*) FROM ts_t WHERE id IN (80, 81) AND created = (SELECT c FROM ts_tmp) AND made = created;
COMMIT;
BEGIN;
INSERT INTO ts_t (id) VALUES (82), (83);
INSERT INTO ts_tmp (k) VALUES (2);
SELECT count(*) FROM ts_t WHERE id IN (82, 83) AND made = (SELECT c FROM ts_tmp WHERE k = 2);
COMMIT;

-- column names and types as PostgreSQL gives them
SELECT pg_typeof(now()), pg_typeof(current_date), pg_typeof(localtimestamp), pg_typeof(current_time), pg_typeof(localtime(2)), pg_typeof('now'::timestamp), pg_typeof(current_timestamp(0));
SELECT now() IS NOT NULL, current_timestamp IS NOT NULL, transaction_timestamp() IS NOT NULL;
SELECT 'now'::text AS word, length(now()::text) > 0 AS n;

-- INSERT ... SELECT leaving DEFAULT now() / CURRENT_DATE to the table: one instant on every node
BEGIN;
INSERT INTO ts_t (id, note) SELECT g, 'bulk' FROM generate_series(1000, 1060) g;
INSERT INTO ts_t (id, note) SELECT g, 'again' FROM generate_series(1100, 1120) g UNION ALL SELECT 1121, 'more';
SELECT count(DISTINCT made), count(DISTINCT made_day), count(*) FROM ts_t WHERE id >= 1000;
SELECT bool_and(made = now()) FROM ts_t WHERE id >= 1000;
WITH src AS (SELECT g FROM generate_series(1200, 1210) g) INSERT INTO ts_t (id) SELECT g FROM src;
SELECT count(DISTINCT made) FROM ts_t WHERE id >= 1000;
ROLLBACK;

-- INSERT ... SELECT with untyped literals for enum/jsonb/date columns beside a DEFAULT now()
-- column it does not list: the literals take the target columns' types, as in PostgreSQL
CREATE TYPE ts_state AS ENUM ('new', 'paid');
CREATE TABLE ts_orders (id bigserial PRIMARY KEY, k int, state ts_state NOT NULL DEFAULT 'new',
                        meta jsonb, due date, created_at timestamptz DEFAULT now());
INSERT INTO ts_orders (k, state, meta, due) SELECT g, 'paid', '{"src": "web"}', '2026-01-31' FROM generate_series(1, 4) g;
INSERT INTO ts_orders (k, state) WITH w AS (SELECT 7 AS a) SELECT a, 'new' FROM w ORDER BY 1;
SELECT k, state::text, meta, due FROM ts_orders ORDER BY k;
SELECT count(DISTINCT created_at) FROM ts_orders;

-- ALTER TABLE ... ADD COLUMN ... DEFAULT now() fills the existing rows of every node with the
-- transaction's one instant (each node's own start gave each node's rows another); the
-- column keeps its default for later rows; IF NOT EXISTS keeps an existing column's default
CREATE TABLE ts_add (id int PRIMARY KEY);
INSERT INTO ts_add SELECT generate_series(1, 40);
BEGIN;
ALTER TABLE ts_add ADD COLUMN made timestamptz DEFAULT now();
ALTER TABLE ts_add ADD COLUMN day date NOT NULL DEFAULT CURRENT_DATE, ADD COLUMN at timestamp DEFAULT LOCALTIMESTAMP,
    ADD COLUMN n int DEFAULT 7;
SELECT count(DISTINCT made), bool_and(made = now()), count(DISTINCT day), count(DISTINCT at), sum(n) FROM ts_add;
COMMIT;
ALTER TABLE ts_add ADD COLUMN later timestamptz DEFAULT transaction_timestamp();
SELECT count(DISTINCT later), count(DISTINCT made) FROM ts_add;
ALTER TABLE ts_add ADD COLUMN IF NOT EXISTS made timestamptz DEFAULT now() + interval '1 day';
SELECT a.attname, pg_catalog.pg_get_expr(d.adbin, d.adrelid) FROM pg_catalog.pg_attrdef d
  JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
  WHERE d.adrelid = 'ts_add'::regclass ORDER BY a.attnum;
