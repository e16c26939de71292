/*
Differences PostgreSQL 18's regression files showed in the seventeenth replay (h-regress17b,
2026-12-06: foreign_data and the files of types, text search, encodings, system views and
roles replayed for the first time), each reduced to its smallest form.
*/

-- foreign_data.sql:715: ALTER TABLE ... ADD CONSTRAINT ... NO INHERIT on a table gridpg
-- distributes by hash failed (42P16 "cannot add NO INHERIT constraint to partitioned
-- table"): on the datanodes the table is the partitioned parent of its shards. The
-- datanodes now take the constraint inheritable (the shards hold the rows), the catalog
-- keeps NO INHERIT, and a child made later does not take it, as in PostgreSQL
CREATE TABLE r17b_ni (c1 int NOT NULL, c2 text, c3 date);
INSERT INTO r17b_ni VALUES (1, 'a', NULL), (2, 'b', NULL);
ALTER TABLE r17b_ni ADD CONSTRAINT r17b_ni_chk1 CHECK (c1 > 0) NO INHERIT;
ALTER TABLE r17b_ni ADD CONSTRAINT r17b_ni_nn NOT NULL c2 NO INHERIT;
-- error
INSERT INTO r17b_ni VALUES (0, 'x', NULL);
-- error
INSERT INTO r17b_ni VALUES (5, NULL, NULL);
INSERT INTO r17b_ni VALUES (3, 'c', NULL);
SELECT conname, contype, conislocal, coninhcount, connoinherit FROM pg_constraint
  WHERE conrelid = 'r17b_ni'::regclass ORDER BY conname;
CREATE TABLE r17b_ni_child (c4 int) INHERITS (r17b_ni);
INSERT INTO r17b_ni_child VALUES (0, NULL, NULL, 1);
ALTER TABLE r17b_ni ADD CONSTRAINT r17b_ni_chk2 CHECK (c1 < 100) NO INHERIT;
INSERT INTO r17b_ni_child VALUES (200, 'y', NULL, 2);
-- error
INSERT INTO r17b_ni VALUES (200, 'y', NULL);
SELECT c1, c2 FROM r17b_ni ORDER BY c1;
SELECT c1, c2 FROM ONLY r17b_ni ORDER BY c1;
SELECT r.relname, c.conname, c.connoinherit FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid
  WHERE r.relname LIKE 'r17b_ni%' AND c.contype = 'c' ORDER BY 1, 2;
-- a constraint that is not NO INHERIT, added to a table with a child, reaches the child
ALTER TABLE r17b_ni ADD CONSTRAINT r17b_ni_chk3 CHECK (c1 <> 7);
-- error
INSERT INTO r17b_ni_child VALUES (7, 'z', NULL, 3);
DROP TABLE r17b_ni CASCADE;
-- PostgreSQL 18's ALTER CONSTRAINT ... [NO] INHERIT of a not-null constraint, likewise
CREATE TABLE r17b_nn (a int, b int NOT NULL);
INSERT INTO r17b_nn VALUES (1, 1);
ALTER TABLE r17b_nn ALTER CONSTRAINT r17b_nn_b_not_null NO INHERIT;
-- error
INSERT INTO r17b_nn VALUES (2, NULL);
CREATE TABLE r17b_nn_child () INHERITS (r17b_nn);
INSERT INTO r17b_nn_child VALUES (3, NULL);
-- error
ALTER TABLE r17b_nn ALTER CONSTRAINT r17b_nn_b_not_null INHERIT;
DELETE FROM r17b_nn_child;
ALTER TABLE r17b_nn ALTER CONSTRAINT r17b_nn_b_not_null INHERIT;
-- error
INSERT INTO r17b_nn_child VALUES (4, NULL);
SELECT r.relname, c.conname, c.connoinherit FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid
  WHERE r.relname LIKE 'r17b_nn%' AND c.contype = 'n' ORDER BY 1, 2;
SELECT a, b FROM r17b_nn ORDER BY a;
DROP TABLE r17b_nn CASCADE;

-- foreign_data.sql:40, 41, 472-479, 879, 880: the foreign-data catalogs listed gridpg's
-- loopback (its foreign server, its PUBLIC user mapping with the cluster's internal
-- password among the options, and the foreign tables over it: the shadows of distributed
-- tables server-side code reached, and gridpg's own); a client sees the user's objects only
CREATE TABLE r17b_items (k int, v text);
INSERT INTO r17b_items SELECT g, 'v' || g FROM generate_series(1, 5) g;
CREATE FUNCTION r17b_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM r17b_items $$;
SELECT r17b_count();
CREATE FOREIGN DATA WRAPPER r17b_fdw OPTIONS (mode 'x');
CREATE SERVER r17b_srv FOREIGN DATA WRAPPER r17b_fdw OPTIONS (host 'h', dbname 'd');
CREATE USER MAPPING FOR PUBLIC SERVER r17b_srv OPTIONS (username 'u');
CREATE FOREIGN TABLE r17b_ft (a int) SERVER r17b_srv OPTIONS (quote '~');
SELECT fdwname, fdwhandler::regproc, fdwvalidator::regproc, fdwoptions FROM pg_foreign_data_wrapper ORDER BY 1;
SELECT * FROM information_schema.foreign_data_wrappers ORDER BY 1, 2;
SELECT * FROM information_schema.foreign_data_wrapper_options ORDER BY 1, 2, 3;
SELECT srvname, srvoptions FROM pg_foreign_server ORDER BY 1;
SELECT s.srvname, m.umoptions FROM pg_user_mapping m JOIN pg_foreign_server s ON s.oid = m.umserver ORDER BY 1;
SELECT srvname, usename, umoptions FROM pg_user_mappings ORDER BY 1, 2;
SELECT ftrelid::regclass::text, ftoptions FROM pg_foreign_table ORDER BY 1;
SELECT * FROM information_schema.foreign_servers ORDER BY 1, 2;
SELECT * FROM information_schema.foreign_server_options ORDER BY 1, 2, 3;
SELECT * FROM information_schema.user_mappings ORDER BY 1, 2, 3;
SELECT * FROM information_schema.user_mapping_options ORDER BY 1, 2, 3, 4;
SELECT foreign_table_name, foreign_server_name FROM information_schema.foreign_tables ORDER BY 1;
SELECT foreign_table_name, option_name, option_value FROM information_schema.foreign_table_options ORDER BY 1, 2;
SELECT count(*) FROM pg_foreign_server s JOIN pg_foreign_table t ON t.ftserver = s.oid;
-- psql's \des+ joins pg_description on `s.tableoid` (a system column, which kept the
-- statement from being filtered): the loopback was listed there still
COMMENT ON SERVER r17b_srv IS 'the server';
SELECT s.srvname AS "Name", pg_catalog.pg_get_userbyid(s.srvowner) AS "Owner", f.fdwname AS "Foreign-data wrapper",
  CASE WHEN srvoptions IS NULL THEN '' ELSE '(' || pg_catalog.array_to_string(ARRAY(SELECT pg_catalog.quote_ident(option_name)
  || ' ' || pg_catalog.quote_literal(option_value) FROM pg_catalog.pg_options_to_table(srvoptions)), ', ') || ')' END AS "FDW options",
  d.description AS "Description"
FROM pg_catalog.pg_foreign_server s JOIN pg_catalog.pg_foreign_data_wrapper f ON f.oid=s.srvfdw
LEFT JOIN pg_catalog.pg_description d ON d.classoid = s.tableoid AND d.objoid = s.oid AND d.objsubid = 0
ORDER BY 1;
SELECT c.relname, c.tableoid = 'pg_class'::regclass AS is_class FROM pg_class c WHERE c.relname = 'r17b_items';
-- foreign_data.sql:852, 855: statements PostgreSQL refuses whenever they mix a session's
-- temp table with a permanent one gave gridpg's 0A000 ("one utility statement over
-- temporary and other tables"); PostgreSQL's own 42809 now
CREATE TEMP TABLE r17b_temp_parted (a int) PARTITION BY LIST (a);
CREATE TEMP TABLE r17b_temp_plain (a int);
CREATE TABLE r17b_perm (a int);
CREATE TABLE r17b_perm_parted (a int) PARTITION BY LIST (a);
CREATE TEMP TABLE r17b_temp_leaf (a int);
-- error
CREATE FOREIGN TABLE r17b_fpart PARTITION OF r17b_temp_parted DEFAULT SERVER r17b_srv;
-- error
CREATE FOREIGN TABLE r17b_fchild () INHERITS (r17b_temp_plain) SERVER r17b_srv;
-- error
ALTER TABLE r17b_temp_parted ATTACH PARTITION r17b_ft DEFAULT;
-- error
ALTER TABLE r17b_temp_parted ATTACH PARTITION r17b_perm DEFAULT;
-- error
ALTER TABLE r17b_perm INHERIT r17b_temp_plain;
-- error
ALTER TABLE r17b_perm_parted ATTACH PARTITION r17b_temp_leaf DEFAULT;
SELECT count(*) FROM pg_inherits WHERE inhparent IN ('r17b_temp_parted'::regclass, 'r17b_temp_plain'::regclass,
  'r17b_perm_parted'::regclass);
DROP TABLE r17b_temp_parted, r17b_temp_plain, r17b_temp_leaf;
DROP TABLE r17b_perm, r17b_perm_parted;
-- psql's \dy listed the loopback's DDL guards (event triggers running gridpg's functions)
SELECT evtname as "Name", evtevent as "Event", pg_catalog.pg_get_userbyid(e.evtowner) as "Owner",
 e.evtfoid::pg_catalog.regproc as "Function"
FROM pg_catalog.pg_event_trigger e ORDER BY 1;
DROP FOREIGN TABLE r17b_ft;
DROP USER MAPPING FOR PUBLIC SERVER r17b_srv;
DROP SERVER r17b_srv;
DROP FOREIGN DATA WRAPPER r17b_fdw;
DROP FUNCTION r17b_count();
DROP TABLE r17b_items;
