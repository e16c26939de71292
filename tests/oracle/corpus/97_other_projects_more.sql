/*
More statement shapes from other projects' regression suites (issue 12: the Citus,
Postgres-XL and OpenTenBase replays of bench/regress_replay.py, rebuilt by
bench/prepare_corpus.py), each reduced to a small form with our own tables.
*/

-- SELECT ... INTO (Citus's merge.sql): run as a query, it created the table on this
-- coordinator's catalog server alone: its rows on no datanode, the other coordinator
-- without it ("table does not exist" from the second catalog server at DROP). Now
-- PostgreSQL's CREATE TABLE AS
CREATE TABLE oq_demo (id1 int, val1 int);
INSERT INTO oq_demo VALUES (1, 10), (3, 30), (5, 50), (7, NULL);
SELECT * INTO oq_into_1 FROM oq_demo ORDER BY 1, 2;
SELECT id1 INTO TABLE oq_into_2 FROM oq_demo WHERE id1 > 1 UNION SELECT 100;
SELECT 7 AS a, 'x'::text AS b INTO UNLOGGED oq_into_3;
WITH c AS (SELECT id1 * 2 AS d FROM oq_demo) SELECT d INTO oq_into_4 FROM c WHERE d > 2;
SELECT * FROM oq_into_1 ORDER BY id1;
SELECT * FROM oq_into_2 ORDER BY id1;
SELECT * FROM oq_into_3;
SELECT * FROM oq_into_4 ORDER BY d;
SELECT relname, relpersistence FROM pg_class WHERE relname LIKE 'oq_into_%' AND relkind = 'r' ORDER BY relname;
-- error
SELECT * INTO oq_into_1 FROM oq_demo;
BEGIN;
SELECT * INTO oq_into_5 FROM oq_demo WHERE val1 > 10;
SELECT count(*) FROM oq_into_5;
ROLLBACK;
-- error
SELECT * FROM oq_into_5;
SELECT oq_into_1.id1, oq_demo.val1 FROM oq_into_1 JOIN oq_demo USING (id1) ORDER BY 1;
\connect 2
SELECT * FROM oq_into_1 ORDER BY id1;
SELECT count(*), sum(id1) FROM oq_into_2;
DROP TABLE oq_into_1, oq_into_2;
DROP TABLE oq_into_3, oq_into_4;
\connect 1

-- DROP TABLE of a table with serial and identity columns in a block that rolls back
-- (XL's xc_sequence): the GTM's sequences were dropped at once, so after the ROLLBACK
-- they started again from 1 and handed out values twice
CREATE TABLE oq_serial (col1 int, col2 serial, col3 int GENERATED ALWAYS AS IDENTITY);
INSERT INTO oq_serial VALUES (1, DEFAULT), (2, DEFAULT);
BEGIN;
DROP TABLE oq_serial;
ROLLBACK;
SELECT nextval('oq_serial_col2_seq');
INSERT INTO oq_serial VALUES (3, DEFAULT);
SELECT * FROM oq_serial ORDER BY col1;
BEGIN;
DROP TABLE oq_serial;
SAVEPOINT s;
ROLLBACK;
INSERT INTO oq_serial VALUES (4, DEFAULT);
SELECT * FROM oq_serial ORDER BY col1;
BEGIN;
DROP TABLE oq_serial;
COMMIT;
CREATE TABLE oq_serial (col1 int, col2 serial);
INSERT INTO oq_serial VALUES (5, DEFAULT);
BEGIN;
DROP TABLE oq_serial;
CREATE TABLE oq_serial (col1 int, col2 serial);
INSERT INTO oq_serial VALUES (6, DEFAULT);
COMMIT;
INSERT INTO oq_serial VALUES (7, DEFAULT);
SELECT * FROM oq_serial ORDER BY col1;

-- EXECUTE with arguments of a statement without parameters (Citus's null_parameters):
-- PostgreSQL ignores them; gridpg failed with 42601
CREATE TABLE oq_text_key (key text, value text);
INSERT INTO oq_text_key VALUES ('a', 'x'), ('b', 'y');
PREPARE oq_null_update AS UPDATE oq_text_key SET value = '' WHERE key = NULL;
EXECUTE oq_null_update(NULL);
EXECUTE oq_null_update(1, 'two');
PREPARE oq_no_params AS SELECT key FROM oq_text_key ORDER BY key;
EXECUTE oq_no_params(NULL);
PREPARE oq_one_param(text) AS SELECT value FROM oq_text_key WHERE key = $1;
-- error
EXECUTE oq_one_param;
-- error
EXECUTE oq_one_param('a', 'b');
EXECUTE oq_one_param('a');
DEALLOCATE oq_null_update;
DEALLOCATE oq_no_params;
DEALLOCATE oq_one_param;

-- A CTE whose select list is `alias.*` over a distributed table joined with a catalog
-- view (Citus's subquery_local_tables): the subplan took `icl` for its one column and
-- failed with an internal error (XX000) when the rows came back with all of them
CREATE TABLE oq_cols (table_name text, column_name text);
INSERT INTO oq_cols VALUES ('oq_cols', 'table_name'), ('oq_cols', 'nothing');
WITH q AS (
    SELECT icl.* FROM oq_cols td
    JOIN information_schema.columns icl ON icl.table_name::text = lower(td.table_name)
        AND icl.column_name::text = lower(td.column_name)
) SELECT column_name, ordinal_position FROM q;
WITH q AS (SELECT td.* FROM oq_cols td WHERE td.column_name <> 'nothing')
SELECT q.column_name FROM q JOIN pg_class c ON c.relname = q.table_name;

-- A temp table created with Postgres-XL's DISTRIBUTE BY (xc_temp): not known as the
-- session's temp table, so a join with a replicated table went to a datanode (42P01)
CREATE TABLE oq_rep (a int, b_rep char(1)) DISTRIBUTE BY REPLICATION;
CREATE TEMP TABLE oq_temp_rep (a int, b_tprep char(1)) DISTRIBUTE BY REPLICATION;
CREATE TEMP TABLE oq_temp_hash (a int, b_tphash char(1)) DISTRIBUTE BY HASH(a);
INSERT INTO oq_rep VALUES (1, 'a'), (2, 'b'), (NULL, 'e');
INSERT INTO oq_temp_rep VALUES (1, 'A'), (3, 'C');
INSERT INTO oq_temp_hash VALUES (2, 'B'), (NULL, 'E');
SELECT * FROM oq_rep, oq_temp_rep ORDER BY 1, 2, 3, 4;
SELECT * FROM oq_rep JOIN oq_temp_hash USING (a) ORDER BY 1;
SELECT * FROM oq_rep NATURAL JOIN oq_temp_rep ORDER BY 1;
SELECT * FROM oq_temp_rep UNION ALL SELECT * FROM oq_temp_hash ORDER BY 1, 2;
DROP TABLE oq_temp_rep, oq_temp_hash;

-- INSERT ... RETURNING a system column into a member of an inheritance tree (XL's
-- xc_returning): gridpg named a shard table, which such a table (plain on its datanodes)
-- does not have (42P01)
CREATE TABLE oq_fp (f1 int, f2 varchar(255), f3 int);
CREATE TABLE oq_fp_child (fc int) INHERITS (oq_fp);
INSERT INTO oq_fp_child VALUES (123, 'child', 999, -123) RETURNING ctid IS NOT NULL AS has_ctid, *;
INSERT INTO oq_fp VALUES (124, 'parent', 998), (125, 'parent', 997) RETURNING tableoid::regclass, ctid IS NOT NULL AS has_ctid, f1;
SELECT * FROM oq_fp ORDER BY f1;
SELECT * FROM ONLY oq_fp ORDER BY f1;

-- TABLESPACE pg_default on a HASH table and its indexes (Citus's with_modifying; pgAdmin
-- writes it on every CREATE TABLE and CREATE INDEX): the datanode copy is partitioned,
-- where PostgreSQL refuses the default tablespace by name (0A000)
CREATE TABLE oq_ts (a int, b int, c text) TABLESPACE pg_default;
CREATE UNIQUE INDEX oq_ts_ab ON oq_ts USING btree (a, b) TABLESPACE pg_default;
CREATE INDEX oq_ts_c ON oq_ts (c) TABLESPACE pg_default;
INSERT INTO oq_ts VALUES (1, 2, 'x'), (2, 3, 'y');
-- error
INSERT INTO oq_ts VALUES (1, 2, 'z');
SELECT * FROM oq_ts ORDER BY a;
SELECT indexname, tablespace FROM pg_indexes WHERE tablename = 'oq_ts' ORDER BY indexname;
SELECT relname, reltablespace FROM pg_class WHERE relname LIKE 'oq_ts%' ORDER BY relname;
CREATE TABLE oq_ts2 (a int, b int, CONSTRAINT oq_ts2_pk PRIMARY KEY (a) USING INDEX TABLESPACE pg_default) TABLESPACE pg_default;
CREATE TABLE oq_ts3 (a int PRIMARY KEY USING INDEX TABLESPACE pg_default, b int);
ALTER TABLE oq_ts2 ADD CONSTRAINT oq_ts2_ab UNIQUE (a, b) USING INDEX TABLESPACE pg_default;
INSERT INTO oq_ts2 VALUES (1, 1), (2, 2);
INSERT INTO oq_ts3 VALUES (1, 1);
-- error
INSERT INTO oq_ts2 VALUES (1, 3);
-- error
INSERT INTO oq_ts3 VALUES (1, 3);
SELECT conname, contype FROM pg_constraint WHERE conrelid IN ('oq_ts2'::regclass, 'oq_ts3'::regclass) ORDER BY conname;
