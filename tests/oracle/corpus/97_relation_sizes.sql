/*
Size functions of distributed tables answer the cluster's storage, not the catalog server's
empty copy: pg_relation_size (every fork), pg_table_size, pg_indexes_size,
pg_total_relation_size and pg_size_pretty of them, of HASH, REPLICATION and ROUNDROBIN
tables, their indexes and TOAST tables, by name, by regclass, by oid over pg_class, inside
a block that rolls back, from the second coordinator; PostgreSQL's errors (unknown
relation, bad fork name). The exact byte counts differ from one PostgreSQL's (a HASH table
is 32 shards, each its own pages), so the statements compare what both must agree on:
empty or not, which is larger, partitioned parents 0 (insert.sql:51, strings.sql:592 of
PostgreSQL's regression files read the catalog server's copy before).
Exercises: commands.sizes (the datanodes' sizes), planner.sizes (the rewrite).
*/

CREATE TABLE sz_orders (id int PRIMARY KEY, note text, body text) DISTRIBUTE BY HASH (id);
CREATE TABLE sz_codes (code text PRIMARY KEY, label text) DISTRIBUTE BY REPLICATION;
CREATE TABLE sz_log (line text) DISTRIBUTE BY ROUNDROBIN;
CREATE TABLE "Sz Empty" (id int PRIMARY KEY) DISTRIBUTE BY HASH (id);
CREATE INDEX sz_orders_note ON sz_orders (note);
SELECT pg_relation_size('sz_orders') AS before_rows, pg_table_size('sz_orders') = 0 AS heap_empty;

INSERT INTO sz_orders SELECT g, 'note ' || g, NULL FROM generate_series(1, 3000) g;
INSERT INTO sz_orders SELECT 5000 + k, 'big', (SELECT string_agg(md5((g * k)::text), '') FROM generate_series(1, 1000) g) FROM generate_series(1, 2) k;
INSERT INTO sz_codes SELECT 'c' || g, 'label ' || g FROM generate_series(1, 500) g;
INSERT INTO sz_log SELECT 'line ' || g FROM generate_series(1, 400) g;

/* plain calls, as a user checks a table's size */
SELECT pg_relation_size('sz_orders') > 0 AS has_pages, pg_relation_size('sz_orders', 'init') AS init_fork;
SELECT pg_table_size('sz_orders') >= pg_relation_size('sz_orders') AS table_covers_heap,
       pg_indexes_size('sz_orders') > 0 AS has_index_pages,
       pg_total_relation_size('sz_orders') = pg_table_size('sz_orders') + pg_indexes_size('sz_orders') AS total_adds_up;
SELECT pg_relation_size(format('%I.sz_orders', current_schema())::regclass) > 0 AS schema_qualified, pg_relation_size('sz_orders'::regclass) > 0 AS by_regclass;
SELECT pg_relation_size('sz_orders_note') > 0 AS index_pages, pg_relation_size('sz_orders_pkey', 'main') > 0 AS pkey_pages;
SELECT pg_size_pretty(pg_total_relation_size('sz_orders')) <> '0 bytes' AS pretty_not_empty;
SELECT pg_relation_size('sz_codes') > 0 AS ref_pages, pg_total_relation_size('sz_codes') > pg_relation_size('sz_codes') AS ref_has_index;
SELECT pg_relation_size('sz_log') > 0 AS rr_pages, pg_indexes_size('sz_log') AS rr_no_index;
SELECT pg_relation_size('"Sz Empty"') AS empty_heap, pg_indexes_size('"Sz Empty"') > 0 AS empty_index_has_metapage;

-- the TOAST table of a distributed table (strings.sql:592)
SELECT pg_relation_size(reltoastrelid) = 0 AS is_empty FROM pg_class WHERE relname = 'sz_orders';
SELECT pg_table_size('sz_orders') > pg_relation_size('sz_orders') AS toast_counted;

-- per row over pg_class, as monitoring queries do
SELECT c.relname, pg_relation_size(c.oid) > 0 AS has_pages, pg_total_relation_size(c.oid) > 0 AS has_storage
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = current_schema() AND c.relname LIKE 'sz\_%' ORDER BY 1;
SELECT count(*) AS tables_with_rows FROM pg_tables
 WHERE schemaname = current_schema() AND pg_relation_size(format('%I.%I', schemaname, tablename)::regclass) > 0;
/* a size next to the table's own rows */
SELECT count(*) AS n, pg_relation_size('sz_orders') > 0 AS has_pages FROM sz_orders;
SELECT id FROM sz_orders WHERE id <= 3 AND pg_relation_size('sz_orders') > 0 ORDER BY id;

-- written into a distributed table: the size of the cluster's table, evaluated once
CREATE TABLE sz_report (name text, bytes bigint);
INSERT INTO sz_report VALUES ('orders', pg_relation_size('sz_orders'));
INSERT INTO sz_report SELECT 'codes', pg_total_relation_size('sz_codes');
SELECT name, bytes > 0 AS has_pages FROM sz_report ORDER BY name;

-- a partitioned table is 0 as in PostgreSQL, its partitions hold the pages
CREATE TABLE sz_events (id int NOT NULL, day date NOT NULL, what text) PARTITION BY RANGE (day);
CREATE TABLE sz_events_jan PARTITION OF sz_events FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
CREATE TABLE sz_events_feb PARTITION OF sz_events FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
INSERT INTO sz_events SELECT g, date '2026-01-01' + (g % 40), 'e' || g FROM generate_series(1, 800) g;
SELECT pg_relation_size('sz_events') AS parent, pg_total_relation_size('sz_events') AS parent_total,
       pg_relation_size('sz_events_jan') > 0 AS jan, pg_relation_size('sz_events_feb') > 0 AS feb;

-- ANALYZE gives pg_class the cluster's row count (a partitioned table's too; its relpages stay 0)
ANALYZE sz_orders, sz_events;
SELECT relname, reltuples::bigint AS rows_estimate, relpages > 0 AS has_pages FROM pg_class
 WHERE relname IN ('sz_orders', 'sz_events', 'sz_events_jan', 'sz_events_feb') AND relnamespace = current_schema()::regnamespace ORDER BY 1;

-- inside a block that rolls back: the new table's rows count, then nothing
BEGIN;
CREATE TABLE sz_tmp (id int, v text);
SELECT pg_relation_size('sz_tmp') AS new_empty;
INSERT INTO sz_tmp SELECT g, 'v' || g FROM generate_series(1, 1000) g;
SELECT pg_relation_size('sz_tmp') > 0 AS filled_in_block, pg_total_relation_size('sz_tmp') >= pg_relation_size('sz_tmp') AS total_ok;
ROLLBACK;
-- error
SELECT pg_relation_size('sz_tmp');

-- PostgreSQL's errors
-- error
SELECT pg_relation_size('sz_orders', 'bogus');
-- error
SELECT pg_total_relation_size('sz_missing');
SELECT pg_relation_size(NULL::regclass) AS null_rel;

-- after TRUNCATE the heap is empty again
TRUNCATE sz_log;
SELECT pg_relation_size('sz_log') AS truncated;

\connect 2
SELECT pg_relation_size('sz_orders') > 0 AS has_pages, pg_size_pretty(pg_relation_size('sz_codes')) <> '0 bytes' AS ref_pretty;
SELECT c.relname, pg_indexes_size(c.oid) > 0 AS indexed FROM pg_class c
 WHERE c.relnamespace = current_schema()::regnamespace AND c.relname IN ('sz_orders', 'sz_codes', 'sz_log') ORDER BY 1;

-- ANALYZE inside a transaction block (PostgreSQL allows it; VACUUM it refuses)
BEGIN;
INSERT INTO sz_log VALUES ('in block');
ANALYZE sz_log;
SELECT count(*) FROM sz_log;
COMMIT;
SELECT count(*) FROM sz_log;
BEGIN;
INSERT INTO sz_log VALUES ('gone');
ANALYZE;
ROLLBACK;
SELECT count(*) FROM sz_log WHERE line = 'gone';
BEGIN;
-- error
VACUUM sz_log;
ROLLBACK;
