/*
gridpg's internal objects stay out of ordinary catalog queries: after server-side code has
read and written distributed tables (which gives each table a loopback shadow, a
postgres_fdw foreign table of the same name in a schema gridpg_lb_<oid> on the catalog
server), pg_class, pg_type, pg_attribute, pg_namespace, pg_tables, pg_foreign_table and
information_schema.tables / columns / schemata list the user's objects once, as
PostgreSQL does (PostgreSQL's subselect.sql:1117 found `tenk1` twice before); also
joined, quoted, schema-qualified, inside a block that rolls back and from the second
coordinator.
Exercises: commands.internal_view.
*/

CREATE TABLE io_items (id int PRIMARY KEY, name text NOT NULL, qty int DEFAULT 0) DISTRIBUTE BY HASH (id);
CREATE TABLE "IO Ref" (code text PRIMARY KEY, label text) DISTRIBUTE BY REPLICATION;
INSERT INTO io_items SELECT g, 'item ' || g, g FROM generate_series(1, 20) g;
INSERT INTO "IO Ref" VALUES ('a', 'alpha'), ('b', 'beta');
CREATE FUNCTION io_total() RETURNS bigint LANGUAGE sql AS $$ SELECT sum(qty) FROM io_items $$;
CREATE FUNCTION io_label(c text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN (SELECT label FROM "IO Ref" WHERE code = c); END $$;
CREATE FUNCTION io_bump() RETURNS void LANGUAGE plpgsql AS $$ BEGIN UPDATE io_items SET qty = qty + 1 WHERE id <= 2; END $$;
-- server-side code over both tables (the loopback's shadows now exist)
SELECT io_total(), io_label('b');
SELECT io_bump();
SELECT io_total();

/* the regression's check: one row per name */
SELECT relname FROM pg_class WHERE relname = 'io_items';
SELECT count(*) FROM pg_class WHERE relname IN ('io_items', 'IO Ref');
SELECT c.relname, c.relkind FROM pg_catalog.pg_class c WHERE c.relname LIKE 'io\_%' OR c.relname = 'IO Ref' ORDER BY 1;
SELECT count(*) AS foreign_tables FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'f' AND c.relname IN ('io_items', 'IO Ref');
SELECT count(*) AS shadow_schemas FROM pg_namespace WHERE nspname LIKE 'gridpg\_lb\_%';
SELECT count(*) AS shard_schemas FROM pg_catalog.pg_namespace WHERE nspname = 'gridpg_shards';
-- the twins of coordinator-fired trigger functions (schema gridpg_tg) stay out too
CREATE FUNCTION io_note() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO "IO Ref" VALUES ('n' || NEW.id, 'new'); RETURN NULL; END $$;
CREATE TRIGGER io_note AFTER INSERT ON io_items FOR EACH ROW EXECUTE FUNCTION io_note();
INSERT INTO io_items VALUES (100, 'fired', 1);
SELECT code, label FROM "IO Ref" ORDER BY code;
DROP TRIGGER io_note ON io_items;
SELECT count(*) AS twin_schemas FROM pg_namespace WHERE nspname = 'gridpg_tg';
SELECT count(*) AS twin_schemata FROM information_schema.schemata WHERE schema_name = 'gridpg_tg';
SELECT typname FROM pg_type WHERE typname IN ('io_items', '_io_items') ORDER BY 1;
SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
 WHERE c.relname = 'io_items' AND a.attnum > 0 ORDER BY a.attnum;
SELECT count(*) AS attrs FROM pg_attribute WHERE attrelid IN (SELECT oid FROM pg_class WHERE relname = 'io_items') AND attnum > 0;
SELECT count(*) AS foreign_rows FROM pg_foreign_table ft JOIN pg_class c ON c.oid = ft.ftrelid WHERE c.relname = 'io_items';
SELECT tablename FROM pg_tables WHERE tablename IN ('io_items', 'IO Ref') ORDER BY 1;
SELECT table_name, table_type FROM information_schema.tables WHERE table_name IN ('io_items', 'IO Ref') ORDER BY 1;
SELECT table_name, column_name, ordinal_position FROM information_schema.columns
 WHERE table_name IN ('io_items', 'IO Ref') ORDER BY 1, 3;
SELECT count(*) AS lb_schemata FROM information_schema.schemata WHERE schema_name LIKE 'gridpg\_lb%';
-- a psql-style lookup by pattern and visibility
SELECT c.relname FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relname OPERATOR(pg_catalog.~) '^(io_items)$' COLLATE pg_catalog.default AND pg_catalog.pg_table_is_visible(c.oid);
SELECT 'io_items'::regclass::text AS by_regclass, to_regclass('io_items') IS NOT NULL AS found;
-- SQLAlchemy's reflection (Inspector.get_schema_names, get_table_names) names columns with
-- their schema: such a statement was kept as sent and listed gridpg_lb_* (h-pytools)
SELECT pg_catalog.pg_namespace.nspname FROM pg_catalog.pg_namespace
 WHERE pg_catalog.pg_namespace.nspname LIKE 'gridpg\_%' ORDER BY pg_catalog.pg_namespace.nspname;
SELECT pg_catalog.pg_class.relname FROM pg_catalog.pg_class JOIN pg_catalog.pg_namespace
 ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace
 WHERE pg_catalog.pg_class.relname IN ('io_items', 'IO Ref') ORDER BY pg_catalog.pg_class.relname;

BEGIN;
SELECT io_bump();
SELECT count(*) FROM pg_class WHERE relname = 'io_items';
ROLLBACK;

\connect 2
SELECT io_total(), io_label('a');
SELECT relname FROM pg_class WHERE relname = 'io_items';
SELECT table_name FROM information_schema.tables WHERE table_name = 'IO Ref';
