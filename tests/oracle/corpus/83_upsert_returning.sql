/*
The ORM upsert idiom: INSERT ... ON CONFLICT ... DO UPDATE ... RETURNING (xmax <> 0) AS
updated, and other system columns in an INSERT's RETURNING on a hash-distributed table
(on a datanode the table is partitioned by shard, where PostgreSQL cannot return a system
column: the INSERT goes to the shard table), with an alias, in blocks that roll back, and
from the other coordinator. A multi-row upsert whose rows fall in several shards of one
datanode runs as one WITH of INSERTs per node, its rows given back in the client's order
(was refused, 0A000), prepared too.
Exercises: executor.dml (returns_system_columns, _leaves_for_system_columns).
*/

CREATE TABLE ups (id int PRIMARY KEY, v int, note text);
INSERT INTO ups VALUES (1, 1, 'a') ON CONFLICT (id) DO UPDATE SET v = excluded.v RETURNING (xmax <> 0) AS updated;
INSERT INTO ups VALUES (1, 2, 'b') ON CONFLICT (id) DO UPDATE SET v = excluded.v RETURNING id, v, (xmax <> 0) AS updated;
INSERT INTO ups AS u VALUES (1, 3, 'c') ON CONFLICT (id) DO UPDATE SET v = u.v + excluded.v RETURNING u.id, u.v, (u.xmax = 0) AS inserted;
/* app:web */ INSERT INTO ups (id, v) VALUES (2, 20) ON CONFLICT (id) DO NOTHING RETURNING id, xmax = 0 AS fresh, ctid IS NOT NULL AS has_ctid, xmin <> 0 AS has_xmin;
INSERT INTO ups (id, v) VALUES (2, 21) ON CONFLICT (id) DO NOTHING RETURNING id, (xmax <> 0) AS updated;
BEGIN;
INSERT INTO ups VALUES (3, 30, 'x') ON CONFLICT (id) DO UPDATE SET v = excluded.v RETURNING id, (xmax <> 0) AS updated;
INSERT INTO ups VALUES (3, 31, 'y') ON CONFLICT (id) DO UPDATE SET note = excluded.note RETURNING id, v, note, (xmax <> 0) AS updated;
ROLLBACK;
INSERT INTO ups VALUES (3, 32, 'z') ON CONFLICT (id) DO UPDATE SET v = excluded.v RETURNING id, v, (xmax <> 0) AS updated;
SELECT * FROM ups ORDER BY id;
\connect 2
BEGIN;
INSERT INTO ups VALUES (1, 100, 'c2') ON CONFLICT (id) DO UPDATE SET v = excluded.v RETURNING id, v, (xmax <> 0) AS updated;
INSERT INTO ups VALUES (4, 4, 'c2') ON CONFLICT (id) DO UPDATE SET v = excluded.v RETURNING id, v, (xmax <> 0) AS updated;
SELECT * FROM ups ORDER BY id;
ROLLBACK;
SELECT * FROM ups ORDER BY id;

INSERT INTO ups VALUES (1, 7, 'm'), (10, 10, 'm'), (2, 7, 'm'), (11, 11, 'm'), (12, 12, 'm'), (3, 7, 'm'), (13, 13, 'm') ON CONFLICT (id) DO UPDATE SET v = ups.v + excluded.v RETURNING id, v, (xmax = 0) AS inserted;
INSERT INTO ups AS u (id, v) VALUES (20, 1), (21, 2), (22, 3), (23, 4), (24, 5), (25, 6) RETURNING u.id, xmin <> 0 AS has_xmin, ctid IS NOT NULL AS has_ctid;
BEGIN;
INSERT INTO ups VALUES (30, 1, 'b'), (31, 1, 'b'), (1, 1, 'b'), (32, 1, 'b') ON CONFLICT (id) DO UPDATE SET note = excluded.note RETURNING id, note, (xmax <> 0) AS updated;
ROLLBACK;
PREPARE ups4(int, int, int, int) AS INSERT INTO ups (id, v) VALUES ($1, 1), ($2, 1), ($3, 1), ($4, 1) ON CONFLICT (id) DO UPDATE SET v = 0 RETURNING id, xmax = 0 AS inserted;
EXECUTE ups4(40, 41, 42, 43);
EXECUTE ups4(43, 44, 40, 45);
SELECT id, v, note FROM ups ORDER BY id;
