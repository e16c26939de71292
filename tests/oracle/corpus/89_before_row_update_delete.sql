/*
UPDATE and DELETE run row by row by the coordinator (executor/row_writes.py): BEFORE ROW
triggers whose functions read or write other distributed tables (an audit table keyed by
its own id, a stock table), and SET / WHERE calling a function that reads another
distributed table. NEW as the triggers return it is stored, RETURN NULL skips the row, an
exception aborts the whole statement, WHEN and UPDATE OF choose the triggers, statement
and AFTER ROW triggers fire alongside, ROLLBACK undoes the rows and the triggers' writes.
*/

CREATE TABLE acct (id int PRIMARY KEY, bal int, updated_at timestamptz) DISTRIBUTE BY HASH (id);
CREATE TABLE audit (id bigserial, acct int, op text, oldbal int, newbal int) DISTRIBUTE BY HASH (id);
CREATE FUNCTION acct_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'DELETE' THEN INSERT INTO audit (acct, op, oldbal) VALUES (OLD.id, TG_OP, OLD.bal); RETURN OLD; END IF; NEW.updated_at := '2020-01-01'; INSERT INTO audit (acct, op, oldbal, newbal) VALUES (NEW.id, TG_OP, CASE WHEN TG_OP = 'UPDATE' THEN OLD.bal END, NEW.bal); RETURN NEW; END $$;
CREATE TRIGGER acct_audit BEFORE INSERT OR UPDATE OR DELETE ON acct FOR EACH ROW EXECUTE FUNCTION acct_audit();
INSERT INTO acct (id, bal) SELECT g, g * 100 FROM generate_series(1, 8) AS g;
UPDATE acct SET bal = bal + 1 WHERE id = 2;
UPDATE acct SET bal = bal * 2;
DELETE FROM acct WHERE id = 3;
SELECT * FROM acct ORDER BY id;
SELECT acct, op, oldbal, newbal FROM audit ORDER BY acct, op, oldbal;
UPDATE acct SET bal = bal - 1 WHERE id IN (1, 4) RETURNING id, bal, updated_at;
DELETE FROM acct WHERE id = 8 RETURNING *;
UPDATE acct a SET bal = a.bal + 5 WHERE a.bal > 1000 RETURNING a.id, a.bal;
UPDATE acct SET bal = 0 WHERE id > 1000 RETURNING id;
SELECT count(*), sum(oldbal), sum(newbal) FROM audit;

-- RETURN NULL skips the row (and its audit), the others are stored
CREATE FUNCTION skip_big() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF coalesce(NEW.bal, OLD.bal) > 1200 THEN INSERT INTO audit (acct, op) VALUES (coalesce(NEW.id, OLD.id), 'skipped'); RETURN NULL; END IF; IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $$;
CREATE TRIGGER a_skip BEFORE UPDATE OR DELETE ON acct FOR EACH ROW EXECUTE FUNCTION skip_big();
UPDATE acct SET bal = bal + 100;
SELECT * FROM acct ORDER BY id;
DELETE FROM acct WHERE id IN (6, 7);
SELECT id FROM acct ORDER BY id;
SELECT acct, op, count(*) FROM audit GROUP BY acct, op ORDER BY acct, op;
DROP TRIGGER a_skip ON acct;

-- an exception in a trigger aborts the whole statement: no row and no audit row changes
CREATE FUNCTION no_negative() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO audit (acct, op) VALUES (NEW.id, 'checked'); IF NEW.bal < 0 THEN RAISE EXCEPTION 'negative balance for %', NEW.id USING ERRCODE = '23514'; END IF; RETURN NEW; END $$;
CREATE TRIGGER b_check BEFORE UPDATE ON acct FOR EACH ROW EXECUTE FUNCTION no_negative();
-- error
UPDATE acct SET bal = bal - 500;
SELECT * FROM acct ORDER BY id;
SELECT op, count(*) FROM audit GROUP BY op ORDER BY op;

-- in a block that rolls back, and one that commits
BEGIN;
UPDATE acct SET bal = bal + 7;
DELETE FROM acct WHERE id = 1;
SELECT * FROM acct ORDER BY id;
SELECT op, count(*) FROM audit GROUP BY op ORDER BY op;
ROLLBACK;
SELECT * FROM acct ORDER BY id;
SELECT op, count(*) FROM audit GROUP BY op ORDER BY op;
BEGIN;
UPDATE acct SET bal = bal + 7 WHERE id = 1;
SAVEPOINT s;
DELETE FROM acct WHERE id = 2;
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT * FROM acct ORDER BY id;
SELECT op, count(*) FROM audit GROUP BY op ORDER BY op;
DROP TRIGGER b_check ON acct;

-- a trigger writing another row of its own table: that write fires the table's triggers too
CREATE FUNCTION mirror() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.id = 1 THEN UPDATE acct SET bal = NEW.bal WHERE id = 2; END IF; RETURN NEW; END $$;
CREATE TRIGGER m_mirror BEFORE UPDATE ON acct FOR EACH ROW EXECUTE FUNCTION mirror();
UPDATE acct SET bal = 4242 WHERE id = 1;
SELECT * FROM acct ORDER BY id;
SELECT acct, op, oldbal, newbal FROM audit WHERE newbal = 4242 ORDER BY acct;
DROP TRIGGER m_mirror ON acct;

-- a trigger changing the very row being updated: 27000, as PostgreSQL refuses it
CREATE TABLE selfy (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id);
CREATE TABLE selfy_log (id int, note text) DISTRIBUTE BY HASH (note);
INSERT INTO selfy VALUES (1, 0), (2, 0);
CREATE FUNCTION selfy_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO selfy_log VALUES (NEW.id, 'touch'); IF NEW.v = 1 THEN UPDATE selfy SET v = 99 WHERE id = NEW.id; END IF; RETURN NEW; END $$;
CREATE TRIGGER selfy_touch BEFORE UPDATE ON selfy FOR EACH ROW EXECUTE FUNCTION selfy_touch();
-- error
UPDATE selfy SET v = 1 WHERE id = 1;
SELECT * FROM selfy ORDER BY id;
SELECT count(*) FROM selfy_log;
UPDATE selfy SET v = 2;
SELECT * FROM selfy ORDER BY id;
SELECT id, note FROM selfy_log ORDER BY id;

-- WHEN, UPDATE OF, statement-level and AFTER ROW triggers alongside
CREATE TABLE stmt_log (pos int, trig text, op text, lvl text, tim text) DISTRIBUTE BY HASH (pos);
CREATE FUNCTION log_statement() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO stmt_log SELECT coalesce(max(pos), 0) + 1, TG_NAME, TG_OP, TG_LEVEL, TG_WHEN FROM stmt_log; RETURN NULL; END $$;
CREATE FUNCTION log_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO stmt_log SELECT coalesce(max(pos), 0) + 1, TG_NAME, TG_OP, TG_LEVEL, TG_WHEN || ':' || coalesce(NEW.bal, OLD.bal) FROM stmt_log; IF TG_WHEN = 'BEFORE' AND TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $$;
CREATE TRIGGER s_before BEFORE UPDATE OR DELETE ON acct FOR EACH STATEMENT EXECUTE FUNCTION log_statement();
CREATE TRIGGER s_after AFTER UPDATE OR DELETE ON acct FOR EACH STATEMENT EXECUTE FUNCTION log_statement();
CREATE TRIGGER r_when BEFORE UPDATE ON acct FOR EACH ROW WHEN (OLD.bal IS DISTINCT FROM NEW.bal) EXECUTE FUNCTION log_row();
CREATE TRIGGER r_of BEFORE UPDATE OF updated_at ON acct FOR EACH ROW EXECUTE FUNCTION log_row();
CREATE TRIGGER r_after AFTER UPDATE OR DELETE ON acct FOR EACH ROW EXECUTE FUNCTION log_row();
UPDATE acct SET bal = bal WHERE id = 1;
UPDATE acct SET bal = bal + 1 WHERE id = 2;
UPDATE acct SET updated_at = '2021-01-01' WHERE id = 4;
DELETE FROM acct WHERE id = 5;
UPDATE acct SET bal = 0 WHERE id > 1000;
SELECT trig, op, lvl, tim, count(*) FROM stmt_log GROUP BY trig, op, lvl, tim ORDER BY trig, op, lvl, tim;
SELECT count(*), count(DISTINCT pos), max(pos) FROM stmt_log;
SELECT * FROM acct ORDER BY id;
SELECT acct, op, oldbal, newbal FROM audit WHERE op IN ('UPDATE', 'DELETE') ORDER BY acct, op, oldbal, newbal;

-- stock checks: a trigger reading and writing another distributed table
CREATE TABLE st_stock (item int PRIMARY KEY, qty int) DISTRIBUTE BY HASH (item);
CREATE TABLE st_orders (id int PRIMARY KEY, item int, qty int) DISTRIBUTE BY HASH (id);
INSERT INTO st_stock VALUES (1, 10), (2, 5), (3, 40);
CREATE FUNCTION check_stock() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE have int; BEGIN SELECT qty INTO have FROM st_stock WHERE item = NEW.item; IF have < NEW.qty THEN RAISE EXCEPTION 'not enough stock for %', NEW.item; END IF; UPDATE st_stock SET qty = qty - NEW.qty WHERE item = NEW.item; RETURN NEW; END $$;
CREATE TRIGGER st_orders_stock BEFORE INSERT OR UPDATE ON st_orders FOR EACH ROW EXECUTE FUNCTION check_stock();
INSERT INTO st_orders VALUES (1, 1, 3);
-- error
INSERT INTO st_orders VALUES (2, 2, 9);
INSERT INTO st_orders VALUES (3, 3, 4), (4, 3, 5), (5, 2, 1);
UPDATE st_orders SET qty = 2 WHERE id = 1;
SELECT * FROM st_orders ORDER BY id;
SELECT * FROM st_stock ORDER BY item;
-- error
UPDATE st_orders SET qty = qty + 20 WHERE item = 3;
SELECT * FROM st_stock ORDER BY item;

-- SET and WHERE calling a function that reads another distributed table, per row
CREATE FUNCTION stock_of(i int) RETURNS int LANGUAGE sql STABLE AS $$ SELECT qty FROM st_stock WHERE item = i $$;
UPDATE st_orders SET qty = stock_of(item) / 4 WHERE id IN (1, 5);
SELECT id, stock_of(item) FROM st_orders ORDER BY id;
SELECT * FROM st_orders ORDER BY id;
SELECT * FROM st_stock ORDER BY item;
UPDATE st_orders SET qty = 1 WHERE qty < stock_of(item) / 4 RETURNING id, qty;
SELECT * FROM st_stock ORDER BY item;
DELETE FROM st_orders WHERE qty > stock_of(item);
DELETE FROM st_orders WHERE qty * 10 < stock_of(item) RETURNING id, item;
SELECT * FROM st_orders ORDER BY id;

-- STABLE code sees the statement's snapshot (blind to the earlier rows' trigger writes),
-- VOLATILE code sees them (the quantities as a multiset: row order is PostgreSQL's choice)
CREATE FUNCTION stock_now(i int) RETURNS int LANGUAGE sql VOLATILE AS $$ SELECT qty FROM st_stock WHERE item = i $$;
UPDATE st_stock SET qty = 30 WHERE item = 1;
INSERT INTO st_orders VALUES (10, 1, 0), (11, 1, 0), (12, 1, 0);
UPDATE st_orders SET qty = stock_of(item) / 10 WHERE id >= 10;
SELECT qty, count(*) FROM st_orders WHERE id >= 10 GROUP BY qty ORDER BY qty;
SELECT * FROM st_stock ORDER BY item;
UPDATE st_stock SET qty = 30 WHERE item = 1;
UPDATE st_orders SET qty = stock_now(item) / 10 WHERE id >= 10;
SELECT qty, count(*) FROM st_orders WHERE id >= 10 GROUP BY qty ORDER BY qty;
SELECT * FROM st_stock ORDER BY item;
DELETE FROM st_orders WHERE id >= 10 AND qty < stock_now(item);
SELECT count(*) FROM st_orders WHERE id >= 10;

-- a table without triggers: the same per-row code
CREATE TABLE st_plain (id int PRIMARY KEY, item int, qty int) DISTRIBUTE BY HASH (id);
INSERT INTO st_plain VALUES (1, 1, 0), (2, 2, 0), (3, 3, 0), (4, 1, 0);
UPDATE st_plain SET qty = stock_of(item);
SELECT * FROM st_plain ORDER BY id;
DELETE FROM st_plain WHERE qty = stock_of(1) RETURNING id;
SELECT * FROM st_plain ORDER BY id;
BEGIN;
UPDATE st_plain SET qty = stock_of(item) + 100 WHERE stock_of(item) > 0;
SELECT * FROM st_plain ORDER BY id;
ROLLBACK;
SELECT * FROM st_plain ORDER BY id;
