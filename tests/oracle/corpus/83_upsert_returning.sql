/*
The ORM upsert idiom: INSERT ... ON CONFLICT ... DO UPDATE ... RETURNING (xmax <> 0) AS
updated, and other system columns in an INSERT's RETURNING on a hash-distributed table
(on a datanode the table is partitioned by shard, where PostgreSQL cannot return a system
column: the INSERT goes to the shard table), with an alias, in blocks that roll back, and
from the other coordinator.
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
