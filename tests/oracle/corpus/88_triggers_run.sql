/*
Row triggers on distributed tables fire on the datanode where the row is. A trigger that
writes another distributed table runs there when every statement of it on a table
colocated with the triggering one is pinned to the row's distribution value (NEW.col or
OLD.col): the audit-table pattern. BEFORE triggers that change NEW, triggers reading
replicated tables, in transactions that commit or roll back, from both coordinators.
(Triggers whose writes would leave the row's node are refused with 0A000:
tests/integration/test_server_side_code.py.)
*/

CREATE TABLE ord (id int PRIMARY KEY, qty int NOT NULL, price numeric(10, 2), status text) DISTRIBUTE BY HASH (id);
CREATE TABLE ord_log (id int, op text, qty int, at_status text) DISTRIBUTE BY HASH (id);
CREATE TABLE ord_totals (id int PRIMARY KEY, changes int NOT NULL) DISTRIBUTE BY HASH (id);
CREATE TABLE tax_rates (code text PRIMARY KEY, pct numeric(5, 2)) DISTRIBUTE BY REPLICATION;
INSERT INTO tax_rates VALUES ('std', 20.00);

CREATE FUNCTION log_order() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'DELETE' THEN INSERT INTO ord_log VALUES (OLD.id, TG_OP, OLD.qty, OLD.status); DELETE FROM ord_totals WHERE id = OLD.id; RETURN OLD; END IF; INSERT INTO ord_log VALUES (NEW.id, TG_OP, NEW.qty, NEW.status); INSERT INTO ord_totals VALUES (NEW.id, 1) ON CONFLICT (id) DO UPDATE SET changes = ord_totals.changes + 1; RETURN NEW; END $$;
CREATE FUNCTION price_order() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.price := NEW.qty * 10 * (1 + (SELECT pct FROM tax_rates WHERE code = 'std') / 100); NEW.status := coalesce(NEW.status, 'new'); RETURN NEW; END $$;
CREATE TRIGGER price BEFORE INSERT OR UPDATE ON ord FOR EACH ROW EXECUTE FUNCTION price_order();
CREATE TRIGGER log AFTER INSERT OR UPDATE OR DELETE ON ord FOR EACH ROW EXECUTE FUNCTION log_order();

INSERT INTO ord (id, qty) SELECT g, g % 4 + 1 FROM generate_series(1, 30) g;
SELECT * FROM ord WHERE id <= 5 ORDER BY id;
SELECT op, count(*), sum(qty) FROM ord_log GROUP BY op ORDER BY op;
UPDATE ord SET qty = qty + 1, status = 'changed' WHERE id % 5 = 0;
SELECT id, qty, price, status FROM ord WHERE id % 5 = 0 ORDER BY id;
SELECT * FROM ord_totals WHERE changes > 1 ORDER BY id;
DELETE FROM ord WHERE id > 27;
SELECT count(*) FROM ord_totals;
SELECT op, count(*), sum(qty) FROM ord_log GROUP BY op ORDER BY op;

BEGIN;
INSERT INTO ord VALUES (100, 2, NULL, 'txn');
UPDATE ord SET qty = 9 WHERE id = 100;
SELECT * FROM ord_log WHERE id = 100 ORDER BY op;
SELECT * FROM ord_totals WHERE id = 100;
ROLLBACK;
SELECT count(*) FROM ord_log WHERE id = 100;
SELECT count(*) FROM ord_totals WHERE id = 100;

BEGIN;
INSERT INTO ord VALUES (101, 1, NULL, NULL), (102, 2, NULL, NULL);
SAVEPOINT s;
DELETE FROM ord WHERE id = 101;
ROLLBACK TO SAVEPOINT s;
UPDATE ord SET status = 'kept' WHERE id = 101;
COMMIT;
SELECT id, status, price FROM ord WHERE id > 100 ORDER BY id;
SELECT id, op, at_status FROM ord_log WHERE id > 100 ORDER BY id, op;
-- error
INSERT INTO ord VALUES (101, 1, NULL, NULL);
SELECT count(*) FROM ord_log WHERE id = 101;

\connect 2
INSERT INTO ord (id, qty) VALUES (200, 3);
UPDATE ord SET qty = 4 WHERE id = 200;
DELETE FROM ord WHERE id = 1;
\connect 1
SELECT id, op, qty FROM ord_log WHERE id IN (1, 200) ORDER BY id, op;
SELECT * FROM ord_totals WHERE id IN (1, 200) ORDER BY id;
SELECT count(*), sum(changes) FROM ord_totals;

-- TRUNCATE of tables whose row triggers write another table (an audit log): row triggers
-- do not fire for TRUNCATE, so it runs as in PostgreSQL (it was refused for the triggers'
-- INSERT), also with RESTART IDENTITY and several tables
CREATE TABLE tr_items (id bigserial PRIMARY KEY, name text NOT NULL);
CREATE TABLE tr_log (id bigserial PRIMARY KEY, op text, row_id bigint);
CREATE FUNCTION tr_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO tr_log (op, row_id) VALUES (TG_OP, coalesce(NEW.id, OLD.id)); RETURN coalesce(NEW, OLD); END $$;
CREATE TRIGGER tr_items_audit AFTER INSERT OR UPDATE OR DELETE ON tr_items FOR EACH ROW EXECUTE FUNCTION tr_audit();
INSERT INTO tr_items (name) VALUES ('a'), ('b');
DELETE FROM tr_items WHERE name = 'b';
SELECT op, row_id FROM tr_log ORDER BY id;
TRUNCATE tr_items, tr_log RESTART IDENTITY;
INSERT INTO tr_items (name) VALUES ('fresh') RETURNING id;
SELECT op, row_id FROM tr_log ORDER BY id;
TRUNCATE tr_items;
SELECT count(*) FROM tr_items;
SELECT op, row_id FROM tr_log ORDER BY id;
