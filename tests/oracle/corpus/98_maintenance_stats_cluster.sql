/*
Maintenance statements on distributed tables answer as PostgreSQL's on the user's table.
pg_class.reltuples of a table and of its indexes is the cluster's row count after CREATE
INDEX (PostgreSQL counts the heap while building), REINDEX (in and outside a block),
CLUSTER, ANALYZE and VACUUM; it stays -1 while nothing counted the rows; relpages follows
(the numbers of pages differ: a HASH table is 32 shards). CLUSTER: USING, the clustered
index remembered (pg_index.indisclustered through the coordinator), ALTER TABLE ... CLUSTER
ON / SET WITHOUT CLUSTER, inside a block, a bare CLUSTER (refused in a block), a
partitioned table (refused in a block, its error order), PostgreSQL's errors.
Exercises: commands.relstats, commands.clustering, planner.clustering.
*/

CREATE TABLE ms_orders (id int PRIMARY KEY, grp int, note text) DISTRIBUTE BY HASH (id);
CREATE TABLE ms_codes (code int PRIMARY KEY, label text) DISTRIBUTE BY REPLICATION;
CREATE TABLE ms_log (id int, line text) DISTRIBUTE BY ROUNDROBIN;
INSERT INTO ms_orders SELECT g, (g * 7919) % 100, 'n' || g FROM generate_series(1, 3000) g;
INSERT INTO ms_codes SELECT g, 'c' || g FROM generate_series(1, 200) g;
INSERT INTO ms_log SELECT g, 'l' || g FROM generate_series(1, 500) g;
SELECT relname, reltuples::bigint AS rows_estimate, relpages > 0 AS has_pages FROM pg_class
 WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r' AND relname LIKE 'ms%' ORDER BY 1;

-- CREATE INDEX counts the rows of a table nothing counted before
CREATE INDEX ms_orders_grp ON ms_orders (grp);
CREATE INDEX ms_codes_label ON ms_codes (label);
CREATE INDEX ms_log_id ON ms_log (id);
SELECT relname, relkind, reltuples::bigint AS rows_estimate, relpages > 0 AS has_pages FROM pg_class
 WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'i') AND relname LIKE 'ms%' ORDER BY 1;

-- more rows, then ANALYZE, CREATE INDEX, REINDEX, VACUUM: each keeps the cluster's count
INSERT INTO ms_orders SELECT g, (g * 7919) % 100, 'n' || g FROM generate_series(3001, 5000) g;
ANALYZE ms_orders;
SELECT reltuples::bigint AS rows_estimate FROM pg_class WHERE oid = 'ms_orders'::regclass;
INSERT INTO ms_orders SELECT g, (g * 7919) % 100, 'n' || g FROM generate_series(5001, 6000) g;
CREATE INDEX ms_orders_note ON ms_orders (note);
SELECT relname, reltuples::bigint AS rows_estimate, relpages > 0 AS has_pages FROM pg_class
 WHERE relname LIKE 'ms_orders%' AND relnamespace = current_schema()::regnamespace ORDER BY 1;
INSERT INTO ms_orders SELECT g, (g * 7919) % 100, 'n' || g FROM generate_series(6001, 6500) g;
REINDEX TABLE ms_orders;
SELECT relname, reltuples::bigint AS rows_estimate FROM pg_class
 WHERE relname LIKE 'ms_orders%' AND relnamespace = current_schema()::regnamespace ORDER BY 1;
VACUUM ms_orders;
SELECT reltuples::bigint AS rows_estimate, relpages > 0 AS has_pages FROM pg_class WHERE oid = 'ms_orders'::regclass;
REINDEX INDEX ms_orders_note;
SELECT reltuples::bigint AS rows_estimate FROM pg_class WHERE oid = 'ms_orders_note'::regclass;

-- inside a block: REINDEX and CREATE INDEX count, a rollback takes it back
BEGIN;
INSERT INTO ms_codes SELECT g, 'c' || g FROM generate_series(201, 300) g;
REINDEX TABLE ms_codes;
SELECT relname, reltuples::bigint AS rows_estimate FROM pg_class
 WHERE relname LIKE 'ms_codes%' AND relnamespace = current_schema()::regnamespace ORDER BY 1;
ROLLBACK;
BEGIN;
REINDEX TABLE ms_orders;
CREATE INDEX ms_log_line ON ms_log (line);
SELECT relname, reltuples::bigint AS rows_estimate FROM pg_class
 WHERE relname LIKE 'ms_log%' AND relnamespace = current_schema()::regnamespace ORDER BY 1;
COMMIT;

-- CLUSTER: nothing remembered yet
-- error
CLUSTER ms_orders;
CLUSTER ms_orders USING ms_orders_grp;
SELECT c.relname, i.indisclustered FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid = 'ms_orders'::regclass ORDER BY 1;
SELECT count(*), sum(grp) FROM ms_orders;
CLUSTER ms_orders;
ALTER TABLE ms_orders CLUSTER ON ms_orders_pkey;
SELECT c.relname, i.indisclustered FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid = 'ms_orders'::regclass ORDER BY 1;
CLUSTER ms_orders;
SELECT relname, reltuples::bigint AS rows_estimate FROM pg_class
 WHERE relname LIKE 'ms_orders%' AND relnamespace = current_schema()::regnamespace ORDER BY 1;
-- error
CLUSTER ms_orders USING ms_no_such_index;
-- error
ALTER TABLE ms_orders CLUSTER ON ms_no_such_index;

-- in a block: CLUSTER of a table runs, a bare CLUSTER is refused
BEGIN;
CLUSTER ms_orders USING ms_orders_grp;
ALTER TABLE ms_orders ADD COLUMN extra int, CLUSTER ON ms_orders_note;
CLUSTER ms_orders;
SELECT c.relname, i.indisclustered FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid = 'ms_orders'::regclass ORDER BY 1;
COMMIT;
SELECT count(*), count(extra) FROM ms_orders;
BEGIN;
CLUSTER ms_codes USING ms_codes_pkey;
CLUSTER ms_log USING ms_log_id;
-- error
CLUSTER;
ROLLBACK;
SELECT c.relname, i.indisclustered FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid IN ('ms_codes'::regclass, 'ms_log'::regclass) ORDER BY 1;
CLUSTER ms_log USING ms_log_id;
CLUSTER;
SELECT count(*), sum(id) FROM ms_log;
ALTER TABLE ms_orders SET WITHOUT CLUSTER;
SELECT c.relname, i.indisclustered FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid = 'ms_orders'::regclass ORDER BY 1;
-- error
CLUSTER ms_orders;

-- a partitioned table: CLUSTER ... USING only outside a block, nothing to remember
CREATE TABLE ms_events (id int NOT NULL, day int NOT NULL) PARTITION BY RANGE (day) DISTRIBUTE BY HASH (id);
CREATE TABLE ms_events_a PARTITION OF ms_events FOR VALUES FROM (0) TO (50);
CREATE TABLE ms_events_b PARTITION OF ms_events FOR VALUES FROM (50) TO (100);
INSERT INTO ms_events SELECT g, g % 100 FROM generate_series(1, 400) g;
CREATE INDEX ms_events_day ON ms_events (day);
BEGIN;
-- error
CLUSTER ms_events USING ms_events_day;
ROLLBACK;
BEGIN;
-- error
CLUSTER ms_events;
ROLLBACK;
CLUSTER ms_events USING ms_events_day;
-- error
CLUSTER ms_events;
-- error
ALTER TABLE ms_events CLUSTER ON ms_events_day;
SELECT count(*), sum(day) FROM ms_events;
SELECT relname, reltuples::bigint AS rows_estimate FROM pg_class
 WHERE relname LIKE 'ms_events_%' AND relkind = 'r' AND relnamespace = current_schema()::regnamespace ORDER BY 1;
-- a partition is a plain table: CLUSTER and REINDEX of it run in a block
BEGIN;
CLUSTER ms_events_a USING ms_events_a_day_idx;
REINDEX TABLE ms_events_b;
SELECT c.relname, i.indisclustered FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid = 'ms_events_a'::regclass ORDER BY 1;
COMMIT;
SELECT relname, reltuples::bigint AS rows_estimate FROM pg_class
 WHERE relname LIKE 'ms_events_%' AND relkind = 'r' AND relnamespace = current_schema()::regnamespace ORDER BY 1;
