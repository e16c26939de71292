/*
OIDs in statements over distributed tables (issue 12, "a wrong answer must never be
silent"): every server numbers its tables, types and functions itself, and a client sees
the catalog server's numbers. 'name'::regclass, to_regclass(), 'f(int)'::regprocedure,
'type'::regtype computed on a datanode were that datanode's OIDs: `o = 't'::regclass`
over a stored oid column found no row, `r::oid = 't'::regclass::oid` compared two
numberings. Columns of type regclass/regtype/regprocedure hold names (each datanode its
own number for them): compared with names they stay on the datanodes; used as numbers
(casts to oid, ORDER BY, min/max, pg_class joins) the coordinator finish answers with the
catalog server's OIDs. Never printed here: only compared within one session.
Exercises: planner.catalog_oids, planner.query (the finish), planner.gather (no filter on
OID-typed columns).
*/

CREATE TYPE oid_mood AS ENUM ('low', 'high');
CREATE FUNCTION oid_f(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 + 1';
CREATE TABLE oid_u (id int PRIMARY KEY);
CREATE TABLE oid_t (id int PRIMARY KEY, r regclass, ty regtype, f regprocedure, o oid, rs regclass[], note text) DISTRIBUTE BY HASH (id);
CREATE TABLE oid_keep (id int, r regclass) DISTRIBUTE BY REPLICATION;
INSERT INTO oid_t VALUES (1, 'oid_t', 'oid_mood', 'oid_f(int)', NULL, '{oid_t,oid_u}', 'one');
INSERT INTO oid_t VALUES (2, 'oid_u', 'int4', 'oid_f(integer)', NULL, ARRAY['oid_u'], 'two');
INSERT INTO oid_t (id, r, ty, note) VALUES (3, 'oid_u'::regclass, 'oid_mood'::regtype, 'three'), (4, NULL, NULL, 'four');
INSERT INTO oid_t (id, o, note) VALUES (5, (SELECT oid FROM pg_class WHERE relname = 'oid_t'), 'five');
INSERT INTO oid_t (id, o, note) VALUES (6, (SELECT oid FROM pg_type WHERE typname = 'oid_mood'), 'six');
INSERT INTO oid_t (id, r, o, note) SELECT g, 'oid_t', NULL, 'g' || g FROM generate_series(7, 12) g;
INSERT INTO oid_keep VALUES (1, 'oid_t'), (2, 'oid_u');

-- names: read and compared on the datanodes
SELECT id, r, ty, f, rs, note FROM oid_t ORDER BY id;
SELECT id FROM oid_t WHERE r = 'oid_u'::regclass ORDER BY id;
SELECT id FROM oid_t WHERE r IN ('oid_u', 'oid_t'::regclass) AND id < 5 ORDER BY id;
SELECT id FROM oid_t WHERE ty = 'oid_mood'::regtype ORDER BY id;
SELECT id FROM oid_t WHERE f = 'oid_f(int)'::regprocedure ORDER BY id;
SELECT id, r::text, ty::text FROM oid_t WHERE r IS NOT NULL ORDER BY id;
SELECT count(*) FROM oid_t WHERE to_regclass('oid_t') IS NOT NULL;
SELECT id FROM oid_t WHERE id = 2 AND r = 'oid_u'::regclass;
SELECT t.id, k.id FROM oid_t t JOIN oid_keep k ON k.r = t.r ORDER BY 1, 2;
-- an oid column holding the catalog's numbers, compared with constants
SELECT id FROM oid_t WHERE o = 'oid_t'::regclass ORDER BY id;
SELECT id FROM oid_t WHERE o = to_regclass('oid_t') ORDER BY id;
SELECT id FROM oid_t WHERE o = 'oid_mood'::regtype ORDER BY id;
SELECT id, o = 'oid_t'::regclass AS is_t FROM oid_t WHERE o IS NOT NULL ORDER BY id;
SELECT count(*) FILTER (WHERE o = 'oid_t'::regclass) AS t, count(*) FILTER (WHERE o = 'oid_mood'::regtype) AS mood FROM oid_t;
SELECT id, o::regclass::text FROM oid_t WHERE id = 5;
SELECT id, o::regtype::text FROM oid_t WHERE id = 6;
-- constants as numbers beside distributed tables
SELECT 'oid_t'::regclass::oid = (SELECT oid FROM pg_class WHERE relname = 'oid_t') AS same, count(*) FROM oid_t;
SELECT ('oid_t'::regclass::oid = c.oid) AS same FROM oid_t t, pg_class c WHERE c.relname = 'oid_t' AND t.id = 1;
SELECT id, 'oid_mood'::regtype::oid = (SELECT oid FROM pg_type WHERE typname = 'oid_mood') AS same FROM oid_t WHERE id = 1;
SELECT id, 'oid_f(int)'::regprocedure::oid = (SELECT oid FROM pg_proc WHERE proname = 'oid_f') AS same FROM oid_t WHERE id = 2;
SELECT to_regclass('oid_t')::oid = (SELECT oid FROM pg_class WHERE relname = 'oid_t') AS same FROM oid_t WHERE id = 3;
-- stored names used as numbers
SELECT id, r::oid = 'oid_t'::regclass::oid AS is_t FROM oid_t WHERE r IS NOT NULL ORDER BY id;
SELECT id, r::oid = (SELECT oid FROM pg_class WHERE relname = 'oid_u') AS is_u FROM oid_t WHERE id < 5 ORDER BY id;
SELECT t.id, c.relname FROM oid_t t JOIN pg_class c ON c.oid = t.r ORDER BY t.id;
SELECT t.id, y.typname FROM oid_t t JOIN pg_type y ON y.oid = t.ty ORDER BY t.id;
SELECT min(r)::regclass::text, max(r)::regclass::text FROM oid_t;
SELECT r::text, count(*) FROM oid_t GROUP BY r ORDER BY r;
SELECT id FROM oid_t WHERE r IS NOT NULL ORDER BY r, id;
SELECT id, r FROM oid_t WHERE r IS NOT NULL ORDER BY 2, 1 LIMIT 3;
SELECT id FROM oid_t WHERE r::oid > 0 AND id < 5 ORDER BY id;
SELECT id FROM oid_t WHERE r::oid = o ORDER BY id;
SELECT x.id FROM (SELECT id, r AS x_r FROM oid_t) x WHERE x.x_r::oid = 'oid_u'::regclass::oid ORDER BY 1;
SELECT rs[1]::oid = 'oid_t'::regclass::oid AS first_t FROM oid_t WHERE id = 1;
-- functions that look an object up by OID, over a stored oid column
SELECT id, format_type(o, NULL) FROM oid_t WHERE o IS NOT NULL ORDER BY id;
SELECT id, has_table_privilege(o, 'select') AS can FROM oid_t WHERE id = 5;
SELECT id, pg_table_is_visible(o) AS visible FROM oid_t WHERE id = 5;
SELECT id, pg_describe_object('pg_class'::regclass, o, 0) FROM oid_t WHERE id = 5;
SELECT id, has_table_privilege('oid_t', 'select') AS can FROM oid_t WHERE id < 3 ORDER BY id;
-- writes by name stay on the datanodes
UPDATE oid_t SET r = 'oid_t' WHERE id = 3;
UPDATE oid_t SET ty = 'int4'::regtype WHERE ty = 'oid_mood'::regtype AND id = 3;
DELETE FROM oid_t WHERE r = 'oid_u'::regclass AND id = 2;
SELECT id, r, ty FROM oid_t WHERE id < 5 ORDER BY id;
SELECT count(*) FROM oid_t WHERE r = 'oid_t'::regclass;
