/*
Hostile but valid SQL text: comments before and inside statements, XL's and Greenplum's
clause words (distribute, distributed, replication, modulo, roundrobin, node, barrier)
as ordinary table and column names, dollar quoting, E'' strings, Unicode identifiers,
array and row constructors, casts and nested parentheses in routed INSERTs.
Exercises: sql.xl (clauses recognised by the scanner's tokens), sql.parse.statement_start,
executor.dml routing of VALUES rows.
*/

/* owner: web */ CREATE TABLE c1 (id int PRIMARY KEY, v text) DISTRIBUTE BY HASH (id);
-- a line comment first
/* and a block */ INSERT INTO c1 VALUES (1, 'a'), (2, 'b'), (3, 'c');
/* c */ SELECT * FROM c1 ORDER BY id;
CREATE TABLE distributed (distributed int, distribute text, replication int, modulo int, roundrobin int, node int, barrier int) DISTRIBUTE BY HASH (distributed);
INSERT INTO distributed VALUES (1, 'x', 1, 1, 1, 1, 1), (2, 'y', 2, 2, 2, 2, 2), (3, 'z', 3, 3, 3, 3, 3);
SELECT * FROM distributed ORDER BY distributed;
SELECT distribute, node FROM distributed WHERE distributed = 2;
UPDATE distributed SET node = node + 10 WHERE distributed = 3;
SELECT * FROM distributed ORDER BY 1;
CREATE TABLE node (modulo int, roundrobin text) DISTRIBUTE BY MODULO (modulo);
INSERT INTO node VALUES (1, 'one'), (2, 'two'), (3, 'three');
SELECT * FROM node ORDER BY modulo;
CREATE TABLE replication (barrier int PRIMARY KEY, node text) DISTRIBUTE BY REPLICATION;
INSERT INTO replication VALUES (1, 'r1'), (2, 'r2');
SELECT d.distributed, r.node FROM distributed d JOIN replication r ON r.barrier = d.distributed ORDER BY 1;
CREATE TABLE roundrobin (distributed int) DISTRIBUTE BY ROUNDROBIN;
INSERT INTO roundrobin VALUES (1), (2), (3);
SELECT sum(distributed) FROM roundrobin;
CREATE TABLE modulo (barrier int, distribute text) DISTRIBUTE BY HASH (barrier);
INSERT INTO modulo VALUES (1, $$distribute by hash(x)$$), (2, E'it\'s distributed'), (3, $t$ DISTRIBUTED RANDOMLY; $t$);
SELECT * FROM modulo ORDER BY barrier;
SELECT * FROM modulo WHERE distribute = $$distribute by hash(x)$$;
CREATE TABLE uni (U&"d\0061t" int, "Mixed Case" text) DISTRIBUTE BY HASH (U&"d\0061t");
INSERT INTO uni VALUES (1, 'one'), (2, 'two');
SELECT dat, "Mixed Case" FROM uni WHERE dat = 2;
SELECT * FROM uni ORDER BY 1;
CREATE TABLE cm (id int, v text DEFAULT $$ DISTRIBUTE BY HASH(v) $$) /* DISTRIBUTE BY REPLICATION */ DISTRIBUTE BY HASH (id);
INSERT INTO cm (id) VALUES (1), (2);
SELECT * FROM cm ORDER BY id;
SELECT * FROM cm /* WHERE id = 1 */ WHERE id = 2 -- id = 1
;

-- EXCLUDE constraints: without a column compared with = the table is replicated (every
-- node checks every row); with one, that column spreads the rows
CREATE TABLE excl_any (id int, during tstzrange, EXCLUDE USING gist (during WITH &&));
INSERT INTO excl_any VALUES (1, '[2024-01-01,2024-01-02)');
-- error
INSERT INTO excl_any VALUES (2, '[2024-01-01 12:00,2024-01-03)');
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE TABLE excl_room (room int, during tstzrange, EXCLUDE USING gist (room WITH =, during WITH &&));
INSERT INTO excl_room VALUES (1, '[2024-01-01,2024-01-02)'), (2, '[2024-01-01,2024-01-02)');
-- error
INSERT INTO excl_room VALUES (1, '[2024-01-01 12:00,2024-01-03)');
SELECT room, during FROM excl_room ORDER BY room;
DROP TABLE excl_any, excl_room;
