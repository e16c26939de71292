/*
Partitioned and inherited distributed tables (issue 12, item 5): RANGE, LIST and HASH
partitioned tables distributed by a column (each partition colocated with its parent; on
the datanodes the user's tree with the shards as the leaves' sub-partitions), DEFAULT and
sub-partitions, rows routed to the right partition and node, UPDATE moving rows across
partitions (and across nodes), filters on the partition key (pruned on the datanodes) and
on the distribution column (routed to one node), ATTACH / DETACH PARTITION of tables with
rows (also of a table distributed otherwise, whose rows move), INHERITS (parent reads
include children, ONLY does not), inside transactions that roll back, quoted mixed-case
and schema-qualified names.
*/

CREATE TABLE pt_events (id int NOT NULL, day date NOT NULL, kind text, amount numeric, PRIMARY KEY (id, day)) PARTITION BY RANGE (day) DISTRIBUTE BY HASH (id);
CREATE TABLE pt_events_2023 PARTITION OF pt_events FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE pt_events_2024 PARTITION OF pt_events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE pt_events_other PARTITION OF pt_events DEFAULT;
INSERT INTO pt_events SELECT g, DATE '2023-01-01' + (g * 7) % 800, CASE WHEN g % 3 = 0 THEN 'buy' ELSE 'sell' END, g * 1.5 FROM generate_series(1, 200) g;
SELECT count(*) FROM pt_events;
SELECT count(*) FROM pt_events_2023;
SELECT count(*) FROM pt_events_2024;
SELECT count(*) FROM pt_events_other;
SELECT count(*) FROM ONLY pt_events;
SELECT * FROM pt_events WHERE id = 17;
SELECT * FROM pt_events WHERE id IN (3, 150) ORDER BY id;
SELECT id, day FROM pt_events WHERE day BETWEEN '2024-03-01' AND '2024-03-31' ORDER BY id;
SELECT kind, count(*), sum(amount) FROM pt_events WHERE day >= '2024-01-01' GROUP BY kind ORDER BY kind;
SELECT e.id, e.kind FROM pt_events e JOIN pt_events_2024 f ON f.id = e.id AND f.day = e.day WHERE e.id < 40 ORDER BY e.id;
-- error
INSERT INTO pt_events_2023 VALUES (1000, '2024-06-01', 'x', 1);
INSERT INTO pt_events VALUES (1000, '2022-06-01', 'old', 1) RETURNING *;
SELECT count(*) FROM pt_events_other;
UPDATE pt_events SET day = '2023-02-02' WHERE id = 1000;
SELECT * FROM pt_events_2023 WHERE id = 1000;
SELECT count(*) FROM pt_events_other WHERE id = 1000;
UPDATE pt_events SET id = 1001 WHERE id = 1000;
SELECT * FROM pt_events WHERE id = 1001;
SELECT * FROM pt_events WHERE id = 1000;
DELETE FROM pt_events WHERE day < '2023-03-01' AND kind = 'buy';
SELECT count(*) FROM pt_events;
-- error
INSERT INTO pt_events VALUES (1, '2023-01-08', 'dup', 0);

BEGIN;
INSERT INTO pt_events VALUES (5000, '2024-05-05', 'tx', 5);
UPDATE pt_events SET day = '2023-05-05' WHERE id = 5000;
SELECT * FROM pt_events_2023 WHERE id = 5000;
ROLLBACK;
SELECT count(*) FROM pt_events WHERE id = 5000;

BEGIN;
CREATE TABLE pt_events_2025 PARTITION OF pt_events FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
SELECT count(*) FROM pt_events_2025;
ROLLBACK;
-- error
SELECT count(*) FROM pt_events_2025;
SELECT count(*) FROM pt_events_other;

CREATE TABLE pt_tags (id int NOT NULL, tag text NOT NULL, note text) PARTITION BY LIST (tag);
CREATE TABLE pt_tags_ab PARTITION OF pt_tags FOR VALUES IN ('a', 'b');
CREATE TABLE pt_tags_c PARTITION OF pt_tags FOR VALUES IN ('c');
INSERT INTO pt_tags SELECT g, chr(97 + g % 3), 'n' || g FROM generate_series(1, 60) g;
SELECT tag, count(*) FROM pt_tags GROUP BY tag ORDER BY tag;
SELECT count(*) FROM pt_tags_ab;
-- error
INSERT INTO pt_tags VALUES (99, 'z', 'nowhere');
CREATE TABLE pt_tags_z (id int NOT NULL, tag text NOT NULL, note text);
INSERT INTO pt_tags_z VALUES (99, 'z', 'attached'), (98, 'z', 'attached too');
ALTER TABLE pt_tags ATTACH PARTITION pt_tags_z FOR VALUES IN ('z');
SELECT * FROM pt_tags WHERE tag = 'z' ORDER BY id;
SELECT * FROM pt_tags WHERE id = 99;
ALTER TABLE pt_tags DETACH PARTITION pt_tags_ab;
SELECT tag, count(*) FROM pt_tags GROUP BY tag ORDER BY tag;
SELECT count(*) FROM pt_tags_ab;
INSERT INTO pt_tags_ab VALUES (500, 'a', 'detached');
SELECT count(*) FROM pt_tags_ab WHERE id = 500;

CREATE TABLE pt_moved (note text, tag text NOT NULL, id int NOT NULL) DISTRIBUTE BY REPLICATION;
INSERT INTO pt_moved VALUES ('m1', 'q', 7), ('m2', 'q', 8);
ALTER TABLE pt_tags ATTACH PARTITION pt_moved FOR VALUES IN ('q');
SELECT * FROM pt_tags WHERE tag = 'q' ORDER BY id;
SELECT count(*) FROM pt_tags;
BEGIN;
ALTER TABLE pt_tags DETACH PARTITION pt_moved;
SELECT count(*) FROM pt_tags;
ROLLBACK;
SELECT count(*) FROM pt_tags;

CREATE TABLE pt_hashed (k int NOT NULL, v text) PARTITION BY HASH (k);
CREATE TABLE pt_hashed_0 PARTITION OF pt_hashed FOR VALUES WITH (MODULUS 3, REMAINDER 0);
CREATE TABLE pt_hashed_1 PARTITION OF pt_hashed FOR VALUES WITH (MODULUS 3, REMAINDER 1);
CREATE TABLE pt_hashed_2 PARTITION OF pt_hashed FOR VALUES WITH (MODULUS 3, REMAINDER 2) PARTITION BY LIST (v);
CREATE TABLE pt_hashed_2x PARTITION OF pt_hashed_2 FOR VALUES IN ('x');
CREATE TABLE pt_hashed_2d PARTITION OF pt_hashed_2 DEFAULT;
INSERT INTO pt_hashed SELECT g, CASE WHEN g % 2 = 0 THEN 'x' ELSE 'y' END FROM generate_series(1, 90) g;
SELECT count(*) FROM pt_hashed_0;
SELECT count(*) FROM pt_hashed_1;
SELECT count(*) FROM pt_hashed_2x;
SELECT count(*) FROM pt_hashed_2d;
SELECT * FROM pt_hashed WHERE k = 42;
SELECT v, count(*) FROM pt_hashed WHERE k > 45 GROUP BY v ORDER BY v;
UPDATE pt_hashed SET v = 'x' WHERE k = 43;
SELECT count(*) FROM pt_hashed_2x;

CREATE SCHEMA "Part Space";
CREATE TABLE "Part Space"."Mixed Case" ("Key" int NOT NULL, "When" date NOT NULL, PRIMARY KEY ("Key", "When")) PARTITION BY RANGE ("When");
CREATE TABLE "Part Space"."Mixed Case Early" PARTITION OF "Part Space"."Mixed Case" FOR VALUES FROM (MINVALUE) TO ('2024-01-01');
CREATE TABLE "Part Space"."Mixed Case Late" PARTITION OF "Part Space"."Mixed Case" FOR VALUES FROM ('2024-01-01') TO (MAXVALUE);
INSERT INTO "Part Space"."Mixed Case" SELECT g, DATE '2023-12-25' + g FROM generate_series(1, 20) g;
SELECT count(*) FROM "Part Space"."Mixed Case Early";
SELECT "Key" FROM "Part Space"."Mixed Case" WHERE "When" = '2024-01-05';
SELECT * FROM "Part Space"."Mixed Case" WHERE "Key" = 3;
DROP TABLE "Part Space"."Mixed Case";
-- error
SELECT * FROM "Part Space"."Mixed Case Late";
DROP SCHEMA "Part Space";

CREATE TABLE pt_animals (name text, legs int) DISTRIBUTE BY HASH (name);
INSERT INTO pt_animals VALUES ('ant', 6), ('bee', 6);
CREATE TABLE pt_dogs (breed text) INHERITS (pt_animals);
CREATE TABLE pt_birds (wingspan int) INHERITS (pt_animals);
INSERT INTO pt_dogs VALUES ('rex', 4, 'collie'), ('max', 4, 'pug');
INSERT INTO pt_birds VALUES ('tweety', 2, 20);
SELECT * FROM pt_animals ORDER BY name;
SELECT * FROM ONLY pt_animals ORDER BY name;
SELECT * FROM pt_dogs WHERE name = 'rex';
SELECT count(*) FROM pt_animals WHERE legs = 4;
UPDATE pt_animals SET legs = legs + 1 WHERE name IN ('rex', 'tweety');
SELECT name, legs FROM pt_animals ORDER BY name;
BEGIN;
DELETE FROM pt_animals WHERE legs > 4;
SELECT count(*) FROM pt_animals;
ROLLBACK;
SELECT count(*) FROM pt_animals;
DELETE FROM ONLY pt_animals WHERE name = 'ant';
SELECT name FROM pt_animals ORDER BY name;
ALTER TABLE pt_animals ADD COLUMN color text DEFAULT 'brown';
SELECT name, color FROM pt_dogs ORDER BY name;
TRUNCATE pt_animals;
SELECT count(*) FROM pt_animals;

-- Found on the way by the regression replay: distribution values in another DateStyle
-- (pg_regress's Postgres style) and a rounded timestamptz(2) 'now' could not be routed.
SET DateStyle TO 'Postgres, MDY';
CREATE TABLE pt_stamps (d1 timestamptz(2), note text) DISTRIBUTE BY HASH (d1);
INSERT INTO pt_stamps VALUES ('Mon Feb 10 17:32:01 1997 PST', 'a'), ('Feb 16 17:32:01 0097 BC', 'b'), ('infinity', 'c');
INSERT INTO pt_stamps VALUES ('now', 'now');
SELECT d1, note FROM pt_stamps WHERE d1 = 'Mon Feb 10 17:32:01 1997 PST';
SELECT d1, note FROM pt_stamps WHERE note <> 'now' ORDER BY d1;
SELECT count(*) FROM pt_stamps WHERE d1 = (SELECT d1 FROM pt_stamps WHERE note = 'now');
CREATE TABLE pt_days (d date, n int) PARTITION BY RANGE (d) DISTRIBUTE BY HASH (d);
CREATE TABLE pt_days_all PARTITION OF pt_days DEFAULT;
INSERT INTO pt_days VALUES ('Feb 16 0097 BC', 1), ('12-31-1999', 2), ('epoch', 3);
SELECT * FROM pt_days ORDER BY d;
SELECT n FROM pt_days WHERE d = '12-31-1999';
RESET DateStyle;

-- tableoid names the user's partition (the datanodes hold shards below it)
SELECT tableoid::regclass, id, day FROM pt_events WHERE id IN (3, 4, 150);
SELECT tableoid::regclass, id FROM pt_events WHERE id = 17;
SELECT count(*) FROM pt_events WHERE tableoid = 'pt_events_2024'::regclass;
SELECT x.tableoid::regclass AS part, x.id FROM pt_events x WHERE x.day > '2024-12-01' ORDER BY x.id LIMIT 3;
-- a sorted merge of rows with tableoid (the scratch table cannot have a column named tableoid)
SELECT tableoid::regclass, id FROM pt_events ORDER BY id DESC LIMIT 3;
SELECT DISTINCT tableoid::regclass FROM pt_events ORDER BY 1;
SELECT tableoid = 'pt_events_2024'::regclass AS in_2024, id FROM pt_events ORDER BY id LIMIT 2;
UPDATE pt_events SET day = '2024-02-02' WHERE id = 17 RETURNING tableoid::regclass, id, day;
SELECT tableoid::regclass, * FROM pt_dogs;
SELECT p.tableoid::regclass AS part, p.tag FROM pt_tags p WHERE p.id = 99;

-- storage options of a HASH table (partitioned on the datanodes) reach its shards
ALTER TABLE pt_stamps SET (fillfactor = 70, autovacuum_enabled = false);
ALTER TABLE pt_stamps RESET (fillfactor);
SELECT reloptions FROM pg_class WHERE oid = 'pt_stamps'::regclass;
-- error
ALTER TABLE pt_events SET (fillfactor = 70);

-- UNLOGGED HASH tables (their shards are unlogged); a temp partition of a permanent table
CREATE UNLOGGED TABLE pt_unlogged (a int PRIMARY KEY, b text);
INSERT INTO pt_unlogged VALUES (1, 'x'), (2, 'y');
SELECT * FROM pt_unlogged ORDER BY a;
SELECT relpersistence FROM pg_class WHERE oid = 'pt_unlogged'::regclass;
-- error
CREATE TEMP TABLE pt_temp_part PARTITION OF pt_tags FOR VALUES IN ('t');

-- ATTACH of a partitioned table (with a filled leaf) distributed otherwise: its leaves move
CREATE TABLE pt_rp (a text, b bigint, c numeric, d int, e varchar) PARTITION BY RANGE (a, b);
CREATE TABLE pt_pb (e varchar, c numeric, a text, b bigint, d int) PARTITION BY RANGE (c);
ALTER TABLE pt_rp ATTACH PARTITION pt_pb FOR VALUES FROM ('b', 10) TO ('b', 20);
CREATE TABLE pt_pc (e varchar, d int, c numeric, b bigint, a text) PARTITION BY RANGE (abs(d));
CREATE TABLE pt_pc1 PARTITION OF pt_pc FOR VALUES FROM (1) TO (15);
INSERT INTO pt_pc1 VALUES ('x', 5, 150, 12, 'b'), ('y', 7, 160, 15, 'b');
ALTER TABLE pt_pb ATTACH PARTITION pt_pc FOR VALUES FROM (100) TO (200);
SELECT tableoid::regclass, * FROM pt_rp;
SELECT * FROM pt_pc1;
INSERT INTO pt_rp VALUES ('b', 11, 120, 3, 'z');
SELECT tableoid::regclass, a, b FROM pt_rp WHERE a = 'b';
-- error
INSERT INTO pt_rp VALUES ('b', 11, 220, 3, 'z');

-- ALTER TABLE ... INHERIT / NO INHERIT between tables distributed alike
CREATE TABLE pt_ip (a int, b text);
CREATE TABLE pt_ic (a int, b text, c int);
INSERT INTO pt_ip VALUES (1, 'p');
INSERT INTO pt_ic VALUES (2, 'c', 3);
ALTER TABLE pt_ic INHERIT pt_ip;
SELECT * FROM pt_ip ORDER BY a;
BEGIN;
ALTER TABLE pt_ic NO INHERIT pt_ip;
SELECT count(*) FROM pt_ip;
ROLLBACK;
SELECT count(*) FROM pt_ip;

-- distribution values PostgreSQL rounds to the column's type modifier are routed rounded
CREATE TABLE pt_typmod (millions numeric(3, -6), units numeric(2, 0), t timestamp(0));
INSERT INTO pt_typmod VALUES (123456, 0.123, '2024-01-01 10:00:00.7'), (2345678, 2.345, '2024-01-01 10:00:01.2');
SELECT * FROM pt_typmod ORDER BY 1;
SELECT units FROM pt_typmod WHERE millions = 2000000;
CREATE TABLE pt_ts (t timestamp(0), v int) DISTRIBUTE BY HASH (t);
INSERT INTO pt_ts VALUES ('2024-01-01 10:00:00.7', 1);
SELECT * FROM pt_ts WHERE t = '2024-01-01 10:00:01';

-- alter_table.sql: a table with a foreign key to a HASH table (partitioned on the
-- datanodes, so the key has a clone per shard partition there) becomes an inheritance
-- parent: the conversion re-added the clones too, and CREATE TABLE ... INHERITS failed
-- (42710 "constraint ..._1 already exists")
CREATE TABLE inh_fk_ref (b int PRIMARY KEY);
INSERT INTO inh_fk_ref VALUES (1), (5);
CREATE TABLE inh_fk_p (a int, b int);
ALTER TABLE inh_fk_p ADD CONSTRAINT inh_fk FOREIGN KEY (a) REFERENCES inh_fk_ref MATCH FULL;
INSERT INTO inh_fk_p VALUES (1, 10), (5, 50);
CREATE TABLE inh_fk_c () INHERITS (inh_fk_p);
INSERT INTO inh_fk_c VALUES (5, 30);
-- error
INSERT INTO inh_fk_p VALUES (7, 70);
SELECT * FROM inh_fk_p ORDER BY b;
