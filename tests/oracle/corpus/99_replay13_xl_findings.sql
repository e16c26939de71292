/*
Differences the thirteenth replay of Postgres-XL 9.2's regression files (h-xl13,
2026-12-05) showed, each reduced to its smallest form.
*/

-- xc_remote.sql:64 (Postgres-XL): nextval() in an UPDATE of a REPLICATION table was refused
-- (0A000); each row takes its own value, the same on every replica
CREATE TABLE r13x_rep (a int, b timestamp DEFAULT NULL, c boolean DEFAULT NULL) DISTRIBUTE BY REPLICATION;
CREATE SEQUENCE r13x_seq START 1;
INSERT INTO r13x_rep VALUES (1), (2), (3), (4), (5);
UPDATE r13x_rep SET a = nextval('r13x_seq'), b = now(), c = false;
SELECT a, c, b IS NOT NULL AS stamped FROM r13x_rep ORDER BY 1;
UPDATE r13x_rep SET a = nextval('r13x_seq') WHERE a > 3 RETURNING a, c, b IS NOT NULL AS stamped;
UPDATE r13x_rep SET c = true WHERE a < currval('r13x_seq') - 3;
SELECT a FROM r13x_rep WHERE c = true ORDER BY 1;
SELECT a, c FROM r13x_rep ORDER BY 1;

-- The same UPDATE of a hash table: RETURNING * answered gridpg's own columns of the rows'
-- places and values too (o, c, v0), and a column of the table named like one of them was
-- ambiguous (42702)
CREATE TABLE r13x_hash (id int, c int, o int) DISTRIBUTE BY HASH (id);
INSERT INTO r13x_hash VALUES (1, 10, 100), (2, 20, 200);
UPDATE r13x_hash SET c = nextval('r13x_seq') WHERE id = 1 RETURNING *;
UPDATE r13x_hash AS h SET o = nextval('r13x_seq') WHERE h.id = 2 RETURNING *, h.*, c + o AS co;
SELECT * FROM r13x_hash ORDER BY id;
