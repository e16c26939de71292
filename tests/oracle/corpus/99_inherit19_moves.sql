/*
UPDATE of the distribution column through an inheritance parent (h-inherit19,
inherit.sql:46-83). It was refused (0A000, "moved rows would leave their child table"),
and the statements after it answered from rows PostgreSQL had changed. Each member of the
tree now moves its own rows (DELETE FROM ONLY member on the nodes, a copy per member on
the catalog server inheriting as the members do, the one UPDATE of the parent's copy, each
copy's rows routed back into its member). Multiple inheritance, ONLY, FROM (VALUES),
RETURNING of the parent's columns and of the whole row, a rolled-back block.
*/
CREATE SCHEMA oracle_inh19m;
CREATE TABLE oracle_inh19m.a (aa text, n int);
CREATE TABLE oracle_inh19m.b (bb text) INHERITS (oracle_inh19m.a);
CREATE TABLE oracle_inh19m.c (cc text) INHERITS (oracle_inh19m.a);
CREATE TABLE oracle_inh19m.d (dd text) INHERITS (oracle_inh19m.b, oracle_inh19m.c, oracle_inh19m.a);
INSERT INTO oracle_inh19m.a (aa, n) SELECT 'a' || i, i FROM generate_series(1, 6) i;
INSERT INTO oracle_inh19m.b (aa, n, bb) SELECT 'b' || i, i, 'bb' || i FROM generate_series(1, 6) i;
INSERT INTO oracle_inh19m.c (aa, n, cc) SELECT 'c' || i, i, 'cc' || i FROM generate_series(1, 6) i;
INSERT INTO oracle_inh19m.d (aa, n, dd) SELECT 'd' || i, i, 'dd' || i FROM generate_series(1, 6) i;
UPDATE oracle_inh19m.a SET aa = 'zzzz' WHERE aa = 'a4';
UPDATE ONLY oracle_inh19m.a SET aa = 'zzzzz' WHERE aa = 'a5';
UPDATE oracle_inh19m.b SET aa = 'zzz' WHERE aa = 'a3';
UPDATE ONLY oracle_inh19m.b SET aa = aa || 'only' WHERE n < 3 RETURNING aa, n, bb;
UPDATE oracle_inh19m.a AS t SET aa = t.aa || v.s FROM (VALUES (4, 'p'), (5, 'm')) v(k, s) WHERE t.n = v.k RETURNING t.aa, t.n, v.s;
UPDATE oracle_inh19m.c SET aa = upper(aa), n = n + 10 WHERE n = 6 RETURNING c::text;
UPDATE oracle_inh19m.b SET aa = 'new' WHERE n = 1 RETURNING *;
SELECT relname, a.* FROM oracle_inh19m.a, pg_class WHERE a.tableoid = pg_class.oid ORDER BY 1, 2, 3;
SELECT * FROM oracle_inh19m.d ORDER BY 1, 2;
SELECT * FROM ONLY oracle_inh19m.b ORDER BY 1, 2;
SELECT count(*) FROM oracle_inh19m.a WHERE aa = 'new';
SELECT count(*) FROM oracle_inh19m.c WHERE aa = 'D6';
BEGIN;
UPDATE oracle_inh19m.a SET aa = 'blk' || n WHERE n = 2;
SELECT aa, n FROM oracle_inh19m.a WHERE aa LIKE 'blk%' ORDER BY 1, 2;
ROLLBACK;
SELECT count(*) FROM oracle_inh19m.a WHERE aa LIKE 'blk%';
UPDATE oracle_inh19m.a SET aa = 'all';
SELECT relname, count(*) FROM oracle_inh19m.a, pg_class WHERE a.tableoid = pg_class.oid AND aa = 'all' GROUP BY 1 ORDER BY 1;
