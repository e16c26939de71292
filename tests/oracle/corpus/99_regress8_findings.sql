/*
Refusals PostgreSQL 18's regression files showed in the files never replayed before (the
eighth replay, h-regress8, 2026-12-04: guc, prepared_xacts, largeobject, misc, reloptions,
create_am, ...), each reduced to its smallest form. (The silent ones that are refused now,
and the multi-session ones, are in tests/integration/test_regress8_findings.py.)
*/

-- create_am.sql:322: `SELECT INTO t FROM src` makes a table of no columns with src's
-- row count; gridpg filled it with `INSERT INTO t () SELECT ...`, no SQL: its parse
-- error escaped as an internal error that closed the client's connection
CREATE TABLE r8_src (k int, v text) DISTRIBUTE BY HASH (k);
INSERT INTO r8_src SELECT g, 'v' || g FROM generate_series(1, 9) g;
SELECT INTO r8_nocols FROM r8_src;
SELECT count(*) FROM r8_nocols;
CREATE TABLE r8_nocols2 AS SELECT FROM r8_src WHERE k < 5;
SELECT count(*) FROM r8_nocols2;
INSERT INTO r8_nocols2 SELECT FROM r8_src WHERE k < 3;
SELECT count(*) FROM r8_nocols2;
SELECT INTO r8_nocols3 FROM r8_nocols2;
SELECT count(*) FROM r8_nocols3;

-- reloptions.sql:107: a TOAST option beside the table's own of the same name; each
-- shard was made with the option's namespace dropped (pglast prints a lone option so):
-- 22023 "parameter specified more than once", and alone the TOAST setting went to the heap
CREATE TABLE r8_relopt (k int, s varchar) WITH (toast.autovacuum_vacuum_cost_delay = 23,
    autovacuum_vacuum_cost_delay = 24, fillfactor = 40) DISTRIBUTE BY HASH (k);
INSERT INTO r8_relopt VALUES (1, 'a'), (2, 'b');
SELECT count(*) FROM r8_relopt;
SELECT reloptions FROM pg_class WHERE oid = 'r8_relopt'::regclass;
CREATE TABLE r8_relopt2 (k int, s text) WITH (toast.autovacuum_enabled = false) DISTRIBUTE BY HASH (k);
INSERT INTO r8_relopt2 VALUES (1, 'a');
SELECT s FROM r8_relopt2;

-- reindex_catalog.sql: REINDEX of a system catalog ran in gridpg's distributed
-- transaction, on every server, and PREPARE TRANSACTION refuses a transaction that
-- rebuilt a mapped catalog (0A000); each server's catalog is its own: reindexed one by one
REINDEX TABLE pg_class;
REINDEX INDEX pg_class_oid_index;
REINDEX TABLE pg_shdescription;
REINDEX TABLE pg_aggregate;
SELECT count(*) > 0 FROM pg_class WHERE relname = 'r8_src';
