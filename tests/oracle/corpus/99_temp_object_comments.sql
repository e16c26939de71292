/*
COMMENT ON a constraint or trigger of a temp table, and COMMENT ON / ALTER / DROP
STATISTICS of a temp table's statistics object (made in the current schema, not pg_temp):
the session's own objects, on its connection alone. gridpg sent them to the other servers
too (42P01 for the table, 42704 for the statistics object). The same statements on a
permanent table's objects still reach every server.
*/

DROP SCHEMA IF EXISTS toc CASCADE;
CREATE SCHEMA toc;
SET search_path = toc, public;
CREATE TEMP TABLE tk (id int CONSTRAINT tk_pos CHECK (id > 0), v text);
CREATE TABLE permk (id int PRIMARY KEY, v text CONSTRAINT permk_v CHECK (v <> ''));
CREATE FUNCTION toc_trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER tk_trg BEFORE INSERT ON tk FOR EACH ROW EXECUTE FUNCTION toc_trg();
COMMENT ON CONSTRAINT tk_pos ON tk IS 'positive';
COMMENT ON CONSTRAINT tk_pos ON pg_temp.tk IS 'positive, qualified';
COMMENT ON TRIGGER tk_trg ON tk IS 'a trigger';
COMMENT ON CONSTRAINT permk_v ON permk IS 'not empty';
SELECT conname, obj_description(oid, 'pg_constraint') FROM pg_constraint WHERE conname IN ('tk_pos', 'permk_v') ORDER BY 1;
SELECT obj_description(oid, 'pg_trigger') FROM pg_trigger WHERE tgname = 'tk_trg';
-- error
COMMENT ON CONSTRAINT no_such ON tk IS 'x';
CREATE STATISTICS tk_st ON id, v FROM tk;
CREATE STATISTICS permk_st ON id, v FROM permk;
COMMENT ON STATISTICS tk_st IS 'temp stats';
COMMENT ON STATISTICS toc.tk_st IS 'temp stats, qualified';
ALTER STATISTICS tk_st SET STATISTICS 100;
ALTER STATISTICS tk_st RENAME TO tk_st2;
COMMENT ON STATISTICS permk_st IS 'permanent stats';
ALTER STATISTICS permk_st SET STATISTICS 50;
SELECT stxname, stxstattarget, obj_description(oid, 'pg_statistic_ext') FROM pg_statistic_ext WHERE stxnamespace = 'toc'::regnamespace ORDER BY 1;
BEGIN;
DROP STATISTICS tk_st2;
ROLLBACK;
SELECT count(*) FROM pg_statistic_ext WHERE stxname = 'tk_st2';
DROP STATISTICS tk_st2;
DROP STATISTICS IF EXISTS tk_st2;
-- error
DROP STATISTICS tk_st2;
DROP STATISTICS permk_st;
SELECT count(*) FROM pg_statistic_ext WHERE stxnamespace = 'toc'::regnamespace;
DROP TABLE tk;
DROP SCHEMA toc CASCADE;
