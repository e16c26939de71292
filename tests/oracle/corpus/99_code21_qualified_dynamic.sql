/*
Dynamic SQL in server-side code that names distributed tables with their schema (h-code21):
the generic audit trigger `EXECUTE format('INSERT INTO %I.%I ...', TG_TABLE_SCHEMA, ...)`,
`TG_RELID::regclass` put in with %s, `quote_ident(schema) || '.' || ...`, a constant
`EXECUTE 'INSERT INTO app.t ...'`, a regclass argument, FOR ... IN EXECUTE, RETURN QUERY
EXECUTE, DO blocks. Each dynamic text asks the coordinator for the loopback's shadows of
the tables it names with their schema (sql/plpgsql_dynamic.py, `gridpg.loopback_redirect`);
before, every such statement failed with 0A000 ("dynamic SQL in server-side code reached
distributed table ..."). Text inside string literals stays as written.
*/

DROP SCHEMA IF EXISTS c21_app CASCADE;
DROP SCHEMA IF EXISTS "C21 Log" CASCADE;
CREATE SCHEMA c21_app;
CREATE SCHEMA "C21 Log";

CREATE TABLE c21_app.items (id int PRIMARY KEY, owner text NOT NULL, qty int NOT NULL DEFAULT 0) DISTRIBUTE BY HASH (id);
CREATE TABLE c21_app.audit (event_id bigserial PRIMARY KEY, tbl text, op text, row_id int, note text) DISTRIBUTE BY HASH (event_id);
CREATE TABLE "C21 Log"."Changes" (event_id bigserial PRIMARY KEY, relname text, op text, row_id int) DISTRIBUTE BY HASH (event_id);
CREATE TABLE c21_app.counts (tbl text PRIMARY KEY, n int NOT NULL) DISTRIBUTE BY REPLICATION;
INSERT INTO c21_app.counts VALUES ('items', 0);

-- the generic audit trigger: the audit table beside the audited one, by TG_TABLE_SCHEMA
CREATE FUNCTION c21_app.audit_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'DELETE' THEN EXECUTE format('INSERT INTO %I.%I (tbl, op, row_id, note) VALUES ($1, $2, $3.id, %L)', TG_TABLE_SCHEMA, 'audit', 'c21_app.items row gone') USING TG_TABLE_NAME, TG_OP, OLD; RETURN OLD; END IF; EXECUTE format('INSERT INTO %I.%I (tbl, op, row_id) VALUES ($1, $2, $3.id)', TG_TABLE_SCHEMA, 'audit') USING TG_TABLE_NAME, TG_OP, NEW; RETURN NEW; END $$;

-- TG_RELID as regclass text, and a schema off the session's path, quoted
CREATE FUNCTION c21_app.log_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'INSERT INTO ' || quote_ident('C21 Log') || '.' || quote_ident('Changes') || format(' (relname, op, row_id) SELECT %L, $1, $2', TG_RELID::regclass) USING TG_OP, CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END; RETURN NULL; END $$;

-- a statement trigger counting through the table's regclass, updating a replicated table
CREATE FUNCTION c21_app.count_rows() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE n int; BEGIN EXECUTE format('SELECT count(*) FROM %s', TG_RELID::regclass) INTO n; EXECUTE format('UPDATE %I.counts SET n = $1 WHERE tbl = $2', TG_TABLE_SCHEMA) USING n, TG_TABLE_NAME; RETURN NULL; END $$;

CREATE TRIGGER a_audit AFTER INSERT OR UPDATE OR DELETE ON c21_app.items FOR EACH ROW EXECUTE FUNCTION c21_app.audit_row();
CREATE TRIGGER b_log AFTER INSERT OR DELETE ON c21_app.items FOR EACH ROW EXECUTE FUNCTION c21_app.log_change();
CREATE TRIGGER c_count AFTER INSERT OR DELETE ON c21_app.items FOR EACH STATEMENT EXECUTE FUNCTION c21_app.count_rows();

INSERT INTO c21_app.items VALUES (1, 'ann', 3), (2, 'bob', 5), (3, 'cy', 1);
UPDATE c21_app.items SET qty = qty + 1 WHERE owner = 'ann';
DELETE FROM c21_app.items WHERE id = 3;
SELECT tbl, op, row_id, note FROM c21_app.audit ORDER BY row_id, op;
SELECT relname, op, row_id FROM "C21 Log"."Changes" ORDER BY row_id, op;
SELECT tbl, n FROM c21_app.counts;

-- rolled back with the transaction, and with a savepoint
BEGIN;
INSERT INTO c21_app.items VALUES (4, 'dee', 2);
SAVEPOINT s;
INSERT INTO c21_app.items VALUES (5, 'eve', 2);
ROLLBACK TO SAVEPOINT s;
SELECT op, row_id FROM c21_app.audit WHERE row_id >= 4 ORDER BY row_id;
ROLLBACK;
SELECT count(*) FROM c21_app.audit;
SELECT count(*) FROM "C21 Log"."Changes";
SELECT tbl, n FROM c21_app.counts;

-- functions: a constant text, format with %I.%I, a regclass argument, INTO, FOR IN, RETURN QUERY
CREATE FUNCTION c21_app.note(msg text) RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE n bigint; BEGIN EXECUTE 'INSERT INTO c21_app.audit (tbl, op, row_id, note) VALUES (''fn'', ''NOTE'', 0, $1)' USING msg; EXECUTE format('SELECT count(*) FROM %I.%I WHERE op = %L', 'c21_app', 'audit', 'NOTE') INTO n; RETURN n; END $$;
SELECT c21_app.note('first');
SELECT c21_app.note('c21_app.audit stays text');
SELECT tbl, op, note FROM c21_app.audit WHERE op = 'NOTE' ORDER BY note;

CREATE FUNCTION c21_app.rows_of(r regclass) RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE n bigint; BEGIN EXECUTE 'SELECT count(*) FROM ' || r::text INTO n; RETURN n; END $$;
SELECT c21_app.rows_of('c21_app.items'), c21_app.rows_of('"C21 Log"."Changes"');

CREATE FUNCTION c21_app.owners(s text) RETURNS SETOF text LANGUAGE plpgsql AS $$ DECLARE r record; BEGIN FOR r IN EXECUTE format('SELECT owner FROM %I.items ORDER BY id', s) LOOP RETURN NEXT upper(r.owner); END LOOP; RETURN QUERY EXECUTE format('SELECT owner || $1 FROM %I.items WHERE qty > $2 ORDER BY id', s) USING '!', 4; END $$;
SELECT * FROM c21_app.owners('c21_app');

CREATE PROCEDURE c21_app.bump(s text, k int) LANGUAGE plpgsql AS $$ BEGIN EXECUTE format('UPDATE %I.items SET qty = qty + 10 WHERE id = $1', s) USING k; END $$;
CALL c21_app.bump('c21_app', 2);
BEGIN;
CALL c21_app.bump('c21_app', 1);
SELECT c21_app.note('in a block');
ROLLBACK;
SELECT id, owner, qty FROM c21_app.items ORDER BY id;
SELECT count(*) FROM c21_app.audit WHERE op = 'NOTE';

-- DO blocks, a constant text and a made one
DO $$ BEGIN EXECUTE 'UPDATE c21_app.items SET owner = ''ann2'' WHERE id = 1'; END $$;
DO $$ DECLARE s text := 'c21_app'; BEGIN EXECUTE format('INSERT INTO %I.items VALUES (7, %L, 7)', s, 'c21_app.items'); END $$;
SELECT id, owner, qty FROM c21_app.items ORDER BY id;
SELECT tbl, op, row_id FROM c21_app.audit WHERE op <> 'NOTE' ORDER BY row_id, op;
SELECT tbl, n FROM c21_app.counts;

-- a failing dynamic statement undoes the whole statement
-- error
DO $$ BEGIN EXECUTE 'INSERT INTO c21_app.items VALUES (8, ''x'', 1)'; EXECUTE 'INSERT INTO c21_app.items VALUES (8, ''y'', 1)'; END $$;
SELECT count(*) FROM c21_app.items;

-- the other coordinator too
\connect 2
INSERT INTO c21_app.items VALUES (9, 'fay', 4);
SELECT c21_app.rows_of('c21_app.audit');
\connect 1
SELECT relname, op, row_id FROM "C21 Log"."Changes" ORDER BY row_id, op;
SELECT tbl, n FROM c21_app.counts;

DROP SCHEMA c21_app CASCADE;
DROP SCHEMA "C21 Log" CASCADE;
