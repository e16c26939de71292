/*
Server-side code that takes sequence values and then runs DDL: each value is taken once,
as in PostgreSQL's one run, although gridpg runs such code twice (a first attempt that
stops at the DDL, then a capture run whose DDL becomes distributed DDL): the capture run
takes the first attempt's values again instead of calling the sequence again. Temp
sequences (the catalog server's own) and the cluster's (the GTM's); nextval, setval and
currval; calls inside an EXCEPTION block that rolls back; a temp sequence called after
the DDL; then the sequences' positions read back.
Exercises: executor.code_ddl (SequenceEcho, run_capturing, gridpg.code_ddl_sequence_ask),
commands.sequences.loopback_call.
*/

CREATE SEQUENCE cs;
SELECT setval('cs', 100);
CREATE TEMP SEQUENCE ts;

-- a temp sequence, then DDL: a function, a DO block
CREATE FUNCTION take_temp() RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE v bigint; BEGIN v := nextval('ts'); CREATE TABLE made_t1 (id int PRIMARY KEY); RETURN v; END $$;
SELECT take_temp();
SELECT nextval('ts');
DO $$ BEGIN PERFORM nextval('ts'); PERFORM nextval('ts'); CREATE TABLE made_t2 (id int PRIMARY KEY); END $$;
SELECT nextval('ts'), currval('ts');

-- the cluster's sequence, then DDL; currval after the DDL
CREATE FUNCTION take_cluster() RETURNS text LANGUAGE plpgsql AS $$ DECLARE v bigint; w bigint; BEGIN v := nextval('cs'); w := nextval('cs'); CREATE TABLE made_c1 (id int PRIMARY KEY); RETURN v || ',' || w || ',' || currval('cs'); END $$;
SELECT take_cluster();
SELECT nextval('cs'), currval('cs');
DO $$ BEGIN PERFORM nextval('cs'); CREATE TABLE made_c2 (id int PRIMARY KEY); END $$;
SELECT nextval('cs');

-- setval before the DDL
DO $$ BEGIN PERFORM setval('cs', 500); CREATE TABLE made_c3 (id int PRIMARY KEY); END $$;
SELECT nextval('cs');
DO $$ BEGIN PERFORM setval('ts', 40, false); CREATE TABLE made_t3 (id int PRIMARY KEY); END $$;
SELECT nextval('ts');

-- a value taken in an EXCEPTION block that rolls back stays taken
CREATE FUNCTION caught() RETURNS text LANGUAGE plpgsql AS $$ DECLARE a bigint; b bigint; BEGIN BEGIN a := nextval('cs'); RAISE EXCEPTION 'undo'; EXCEPTION WHEN raise_exception THEN NULL; END; b := nextval('cs'); CREATE TABLE made_c4 (id int PRIMARY KEY); RETURN a || ',' || b; END $$;
SELECT caught();
SELECT nextval('cs');

-- a temp sequence called after the DDL too
CREATE FUNCTION around() RETURNS text LANGUAGE plpgsql AS $$ DECLARE a bigint; b bigint; BEGIN a := nextval('ts'); CREATE TABLE made_t4 (id int PRIMARY KEY); b := nextval('ts'); RETURN a || ',' || b || ',' || currval('ts'); END $$;
SELECT around();
SELECT nextval('ts');

-- the tables are the cluster's
INSERT INTO made_t1 VALUES (1), (2);
INSERT INTO made_c4 SELECT g FROM generate_series(1, 10) g;
SELECT count(*) FROM made_t1;
SELECT count(*), sum(id) FROM made_c4;
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relname LIKE 'made\_%' AND c.relkind = 'r' ORDER BY 1;
SELECT last_value, is_called FROM cs;
