/*
Trigger functions that name the tables they write with their schema (the audit trigger as
the PostgreSQL wiki writes it, `INSERT INTO audit.logged_actions ...`; a function with
`SET search_path = ''` naming every table, as PostgreSQL's manual advises). The coordinator
fires them (executor/triggers.py) through twins whose `schema.table` names the loopback's
shadow of that table (`qualified_to_shadows`); before, every write to the table was
refused with 0A000 ("it names distributed table ... with its schema").
*/

DROP SCHEMA IF EXISTS tq_app CASCADE;
DROP SCHEMA IF EXISTS "TQ Audit" CASCADE;
CREATE SCHEMA tq_app;
CREATE SCHEMA "TQ Audit";

CREATE TABLE tq_app.accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric(12, 2) NOT NULL DEFAULT 0) DISTRIBUTE BY HASH (id);
CREATE TABLE "TQ Audit"."Logged Actions" (event_id bigserial PRIMARY KEY, table_name text, action text, row_id int, delta numeric(12, 2), note text) DISTRIBUTE BY HASH (event_id);
CREATE TABLE tq_app.owner_counts (owner text PRIMARY KEY, n int NOT NULL DEFAULT 0) DISTRIBUTE BY HASH (owner);
CREATE TABLE tq_app.grand_total (k int PRIMARY KEY, total numeric(14, 2) NOT NULL) DISTRIBUTE BY REPLICATION;
INSERT INTO tq_app.grand_total VALUES (1, 0);

-- the wiki's shape: the audit table named with its schema, quoted, spaces around the dot
CREATE FUNCTION tq_app.log_action() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'DELETE' THEN INSERT INTO "TQ Audit"."Logged Actions" (table_name, action, row_id, delta, note) VALUES (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, 'D', OLD.id, -OLD.balance, 'tq_app.accounts row gone'); RETURN OLD; END IF; INSERT INTO "TQ Audit" . "Logged Actions" (table_name, action, row_id, delta, note) VALUES (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, substr(TG_OP, 1, 1), NEW.id, NEW.balance - CASE WHEN TG_OP = 'UPDATE' THEN OLD.balance ELSE 0 END, NULL); RETURN NEW; END $$;

-- the manual's advice for secure functions: an empty search_path, every name qualified
CREATE FUNCTION tq_app.add_to_total() RETURNS trigger LANGUAGE plpgsql SET search_path = '' AS $$ BEGIN UPDATE tq_app.grand_total SET total = total + NEW.balance - CASE WHEN TG_OP = 'UPDATE' THEN OLD.balance ELSE 0 END WHERE k = 1; RETURN NULL; END $$;

-- an upsert into a table named with its schema, its alias and a three-part column
CREATE FUNCTION tq_app.count_owner() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO tq_app.owner_counts AS c (owner, n) VALUES (NEW.owner, 1) ON CONFLICT (owner) DO UPDATE SET n = c.n + 1; UPDATE tq_app.owner_counts SET n = tq_app.owner_counts.n + 0 WHERE owner = NEW.owner; RETURN NULL; END $$;

-- a statement trigger reading the table itself with its schema, a comment in between
CREATE FUNCTION tq_app.check_sum() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE total numeric; BEGIN SELECT sum(balance) INTO total FROM /* every account */ tq_app . accounts; IF total > 1000 THEN RAISE EXCEPTION 'total % over the limit', total USING ERRCODE = 'P0001'; END IF; RETURN NULL; END $$;

CREATE TRIGGER a_log AFTER INSERT OR UPDATE OR DELETE ON tq_app.accounts FOR EACH ROW EXECUTE FUNCTION tq_app.log_action();
CREATE TRIGGER b_total AFTER INSERT OR UPDATE OF balance ON tq_app.accounts FOR EACH ROW EXECUTE FUNCTION tq_app.add_to_total();
CREATE TRIGGER c_count AFTER INSERT ON tq_app.accounts FOR EACH ROW EXECUTE FUNCTION tq_app.count_owner();
CREATE TRIGGER d_check AFTER INSERT OR UPDATE ON tq_app.accounts FOR EACH STATEMENT EXECUTE FUNCTION tq_app.check_sum();

INSERT INTO tq_app.accounts VALUES (1, 'ann', 10), (2, 'bob', 20), (3, 'ann', 5.5);
INSERT INTO tq_app.accounts (id, owner, balance) VALUES (4, 'cy', 7) RETURNING id, owner;
UPDATE tq_app.accounts SET balance = balance + 1 WHERE owner = 'ann';
UPDATE tq_app.accounts SET owner = 'bo' WHERE id = 2;
DELETE FROM tq_app.accounts WHERE id = 4;
SELECT table_name, action, row_id, delta, note FROM "TQ Audit"."Logged Actions" ORDER BY event_id;
SELECT owner, n FROM tq_app.owner_counts ORDER BY owner;
SELECT total FROM tq_app.grand_total;

-- the check trigger's exception undoes the row and every write the triggers made
-- error
UPDATE tq_app.accounts SET balance = 2000 WHERE id = 1;
BEGIN;
INSERT INTO tq_app.accounts VALUES (5, 'dee', 1);
SAVEPOINT s;
INSERT INTO tq_app.accounts VALUES (6, 'dee', 2);
ROLLBACK TO SAVEPOINT s;
SELECT count(*) FROM "TQ Audit"."Logged Actions";
COMMIT;
BEGIN;
INSERT INTO tq_app.accounts VALUES (7, 'eve', 3);
ROLLBACK;
SELECT table_name, action, row_id, delta FROM "TQ Audit"."Logged Actions" ORDER BY event_id;
SELECT owner, n FROM tq_app.owner_counts ORDER BY owner;
SELECT total FROM tq_app.grand_total;
SELECT id, owner, balance FROM tq_app.accounts ORDER BY id;

-- the other coordinator fires them too
\connect 2
INSERT INTO tq_app.accounts VALUES (8, 'fay', 4);
SELECT count(*), sum(delta) FROM "TQ Audit"."Logged Actions";
SELECT owner, n FROM tq_app.owner_counts ORDER BY owner;
\connect 1
SELECT total FROM tq_app.grand_total;
SELECT action, count(*) FROM "TQ Audit"."Logged Actions" GROUP BY action ORDER BY action;

DROP SCHEMA tq_app CASCADE;
DROP SCHEMA "TQ Audit" CASCADE;
