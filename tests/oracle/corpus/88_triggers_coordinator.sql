/*
Triggers the coordinator fires (executor/triggers.py): AFTER row and statement-level
triggers of a distributed table whose functions write tables the datanode cannot (an audit
table distributed by its own key, a replicated table, a counter keyed differently, a log
read and written whole). The write runs on the datanodes with those triggers kept off, and
the coordinator fires them on its catalog server through the loopback, inside the
statement's distributed transaction: NEW/OLD as stored (after BEFORE row triggers), WHEN,
UPDATE OF, TG_ARGV, name order, exceptions, DISABLE TRIGGER, commit and rollback, the
other coordinator. (Forms refused with 0A000: tests/integration/test_trigger_firing.py.)
*/

CREATE TABLE acct (id int PRIMARY KEY, owner text NOT NULL, balance numeric(12, 2) NOT NULL, touched int DEFAULT 0) DISTRIBUTE BY HASH (id);
CREATE TABLE acct_audit (audit_id int PRIMARY KEY, acct_id int, op text, old_balance numeric(12, 2), new_balance numeric(12, 2), trig text, lvl text, argv text) DISTRIBUTE BY HASH (audit_id);
CREATE TABLE owner_totals (owner text PRIMARY KEY, n int NOT NULL, total numeric(14, 2) NOT NULL) DISTRIBUTE BY HASH (owner);
CREATE TABLE event_ref (op text, acct_id int) DISTRIBUTE BY REPLICATION;
CREATE TABLE stmt_log (pos int, trig text, op text, lvl text, tim text) DISTRIBUTE BY HASH (pos);
INSERT INTO owner_totals VALUES ('ann', 0, 0), ('bob', 0, 0), ('cy', 0, 0);

CREATE FUNCTION audit_acct() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE next_id int; BEGIN SELECT coalesce(max(audit_id), 0) + 1 INTO next_id FROM acct_audit; IF TG_OP = 'DELETE' THEN INSERT INTO acct_audit VALUES (next_id, OLD.id, TG_OP, OLD.balance, NULL, TG_NAME, TG_LEVEL, TG_ARGV[0]); RETURN OLD; END IF; INSERT INTO acct_audit VALUES (next_id, NEW.id, TG_OP, CASE WHEN TG_OP = 'UPDATE' THEN OLD.balance END, NEW.balance, TG_NAME, TG_LEVEL, TG_ARGV[0]); RETURN NEW; END $$;

CREATE FUNCTION count_owner() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE who text; delta numeric; cnt int; BEGIN IF TG_OP = 'INSERT' THEN who := NEW.owner; delta := NEW.balance; cnt := 1; ELSIF TG_OP = 'DELETE' THEN who := OLD.owner; delta := -OLD.balance; cnt := -1; ELSE who := NEW.owner; delta := NEW.balance - OLD.balance; cnt := 0; END IF; UPDATE owner_totals SET n = n + cnt, total = total + delta WHERE owner = who; RETURN NULL; END $$;

CREATE FUNCTION ref_event() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO event_ref VALUES (TG_OP, coalesce(NEW.id, OLD.id)); RETURN NULL; END $$;

CREATE FUNCTION log_statement() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO stmt_log SELECT coalesce(max(pos), 0) + 1, TG_NAME, TG_OP, TG_LEVEL, TG_WHEN FROM stmt_log; RETURN NULL; END $$;

CREATE FUNCTION touch_acct() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.touched := coalesce(NEW.touched, 0) + 1; RETURN NEW; END $$;

CREATE TRIGGER b_audit AFTER INSERT OR UPDATE OR DELETE ON acct FOR EACH ROW EXECUTE FUNCTION audit_acct('first');
CREATE TRIGGER c_owner AFTER INSERT OR DELETE OR UPDATE OF balance ON acct FOR EACH ROW EXECUTE FUNCTION count_owner();
CREATE TRIGGER d_big AFTER INSERT OR UPDATE ON acct FOR EACH ROW WHEN (NEW.balance >= 1000) EXECUTE FUNCTION ref_event();
CREATE TRIGGER a_stmt_before BEFORE INSERT OR UPDATE OR DELETE ON acct FOR EACH STATEMENT EXECUTE FUNCTION log_statement();
CREATE TRIGGER z_stmt_after AFTER INSERT OR UPDATE OR DELETE ON acct FOR EACH STATEMENT EXECUTE FUNCTION log_statement();
CREATE TRIGGER touch BEFORE INSERT OR UPDATE ON acct FOR EACH ROW EXECUTE FUNCTION touch_acct();

INSERT INTO acct VALUES (1, 'ann', 100), (2, 'bob', 2000), (3, 'cy', 50), (4, 'ann', 1500);
SELECT * FROM acct ORDER BY id;
SELECT acct_id, op, old_balance, new_balance, trig, lvl, argv FROM acct_audit ORDER BY acct_id, op;
SELECT * FROM owner_totals ORDER BY owner;
SELECT * FROM event_ref ORDER BY acct_id;
SELECT * FROM stmt_log ORDER BY pos;

-- UPDATE OF balance fires c_owner; an UPDATE of owner alone does not (b_audit still does)
UPDATE acct SET balance = balance + 1000 WHERE id IN (1, 3);
UPDATE acct SET owner = 'bob' WHERE id = 3;
SELECT * FROM acct ORDER BY id;
SELECT * FROM owner_totals ORDER BY owner;
SELECT acct_id, op, old_balance, new_balance FROM acct_audit WHERE op = 'UPDATE' ORDER BY acct_id, new_balance;
SELECT * FROM event_ref ORDER BY acct_id, op;

-- WHEN comparing whole rows
CREATE TRIGGER f_changed AFTER UPDATE ON acct FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION ref_event();
UPDATE acct SET balance = balance WHERE id = 1;
UPDATE acct SET balance = balance + 0.5 WHERE id = 4;
SELECT op, acct_id, count(*) FROM event_ref WHERE acct_id IN (1, 4) GROUP BY op, acct_id ORDER BY acct_id, op;
DROP TRIGGER f_changed ON acct;

-- statement triggers fire once even when no row changes
UPDATE acct SET balance = 0 WHERE id > 1000;
DELETE FROM acct WHERE id = 2 RETURNING id, owner, balance;
SELECT count(*), max(pos) FROM stmt_log;
SELECT trig, op, lvl, tim, count(*) FROM stmt_log GROUP BY trig, op, lvl, tim ORDER BY trig, op;
SELECT * FROM owner_totals ORDER BY owner;

-- RETURNING of the client's own columns, INSERT ... SELECT from a distributed table
INSERT INTO acct SELECT 10 + id, owner, balance / 2 FROM acct WHERE id <= 4 RETURNING id, owner, balance, touched;
SELECT count(*) FROM acct_audit;
SELECT * FROM owner_totals ORDER BY owner;

-- rollback undoes the triggers' writes on every node
BEGIN;
UPDATE acct SET balance = balance * 2;
DELETE FROM acct WHERE id = 1;
SELECT * FROM owner_totals ORDER BY owner;
SELECT count(*) FROM event_ref;
ROLLBACK;
SELECT * FROM owner_totals ORDER BY owner;
SELECT count(*) FROM event_ref;
SELECT count(*) FROM acct_audit;
SELECT count(*) FROM stmt_log;

-- commit keeps them; a savepoint rolled back undoes only its part
BEGIN;
INSERT INTO acct VALUES (20, 'cy', 5);
SAVEPOINT s;
UPDATE acct SET balance = 7 WHERE id = 20;
ROLLBACK TO SAVEPOINT s;
DELETE FROM acct WHERE id = 11;
COMMIT;
SELECT * FROM acct ORDER BY id;
SELECT acct_id, op, old_balance, new_balance FROM acct_audit WHERE acct_id IN (11, 20) ORDER BY acct_id, op;
SELECT * FROM owner_totals ORDER BY owner;

-- a trigger raising an exception aborts the statement everywhere
CREATE FUNCTION no_negative() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.balance < 0 THEN INSERT INTO event_ref VALUES ('refused', NEW.id); RAISE EXCEPTION 'negative balance for %', NEW.id USING ERRCODE = '23514'; END IF; INSERT INTO event_ref VALUES ('checked', NEW.id); RETURN NULL; END $$;
CREATE TRIGGER e_check AFTER INSERT OR UPDATE ON acct FOR EACH ROW EXECUTE FUNCTION no_negative();
-- error
UPDATE acct SET balance = balance - 200;
SELECT * FROM acct ORDER BY id;
SELECT op, count(*) FROM event_ref GROUP BY op ORDER BY op;
SELECT count(*) FROM acct_audit;
BEGIN;
INSERT INTO acct VALUES (30, 'ann', 1);
SAVEPOINT s;
-- error
INSERT INTO acct VALUES (31, 'ann', -1);
ROLLBACK TO SAVEPOINT s;
INSERT INTO acct VALUES (32, 'bob', 2);
COMMIT;
SELECT * FROM acct WHERE id >= 30 ORDER BY id;
SELECT op, count(*) FROM event_ref GROUP BY op ORDER BY op;
SELECT * FROM owner_totals ORDER BY owner;

-- DISABLE / ENABLE TRIGGER
ALTER TABLE acct DISABLE TRIGGER c_owner;
UPDATE acct SET balance = balance + 1 WHERE id = 30;
SELECT * FROM owner_totals ORDER BY owner;
ALTER TABLE acct ENABLE TRIGGER c_owner;
UPDATE acct SET balance = balance + 1 WHERE id = 30;
SELECT * FROM owner_totals ORDER BY owner;
DROP TRIGGER e_check ON acct;

-- the other coordinator
\connect 2
INSERT INTO acct VALUES (40, 'cy', 4000);
UPDATE acct SET balance = 1 WHERE id = 40;
DELETE FROM acct WHERE id = 40;
\connect 1
SELECT acct_id, op, old_balance, new_balance FROM acct_audit WHERE acct_id = 40 ORDER BY op;
SELECT * FROM owner_totals ORDER BY owner;
SELECT * FROM event_ref WHERE acct_id = 40 ORDER BY op;
SELECT count(*), count(DISTINCT audit_id), min(audit_id), max(audit_id) FROM acct_audit;
SELECT count(*), count(DISTINCT pos), max(pos) FROM stmt_log;
SELECT * FROM acct ORDER BY id;

-- INSERT ... ON CONFLICT DO UPDATE: INSERT triggers for inserted rows, UPDATE ones for updated
-- rows (UPDATE OF matched against DO UPDATE SET); INSERT and UPDATE statement triggers
INSERT INTO acct VALUES (30, 'ann', 3), (70, 'cy', 7), (71, 'bob', 1200) ON CONFLICT (id) DO UPDATE SET balance = acct.balance + excluded.balance RETURNING id, balance, touched;
INSERT INTO acct VALUES (70, 'cy', 1) ON CONFLICT (id) DO UPDATE SET owner = 'ann';
INSERT INTO acct VALUES (70, 'cy', 1), (72, 'cy', 2) ON CONFLICT (id) DO NOTHING;
SELECT acct_id, op, old_balance, new_balance FROM acct_audit WHERE acct_id IN (30, 70, 71, 72) ORDER BY acct_id, op, new_balance;
SELECT * FROM owner_totals ORDER BY owner;
SELECT * FROM event_ref WHERE acct_id IN (30, 70, 71, 72) ORDER BY acct_id, op;
SELECT pos, trig, op, tim FROM stmt_log WHERE pos > (SELECT max(pos) - 10 FROM stmt_log) ORDER BY pos;

-- name order: for each row, every AFTER ROW trigger in name order
CREATE TRIGGER m_two AFTER UPDATE ON acct FOR EACH ROW EXECUTE FUNCTION log_statement();
CREATE TRIGGER m_one AFTER UPDATE ON acct FOR EACH ROW EXECUTE FUNCTION log_statement();
UPDATE acct SET balance = balance + 1 WHERE id IN (3, 4, 10);
SELECT string_agg(trig, ',' ORDER BY pos) FROM stmt_log WHERE pos > (SELECT max(pos) - 8 FROM stmt_log);
DROP TRIGGER m_one ON acct;
DROP TRIGGER m_two ON acct;

-- transition tables (REFERENCING OLD/NEW TABLE): built from the rows the datanodes changed
CREATE TABLE batch_sums (op text, n int, total numeric(14, 2)) DISTRIBUTE BY HASH (n);
CREATE FUNCTION sum_batch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'UPDATE' THEN INSERT INTO batch_sums SELECT 'UPDATE', count(*), sum(n.balance - o.balance) FROM new_rows n JOIN old_rows o USING (id); ELSE INSERT INTO batch_sums SELECT TG_OP, count(*), coalesce(sum(balance), 0) FROM new_rows; END IF; RETURN NULL; END $$;
CREATE FUNCTION sum_deleted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO batch_sums SELECT TG_OP, count(*), coalesce(sum(balance), 0) FROM gone; RETURN NULL; END $$;
CREATE TRIGGER s_upd AFTER UPDATE ON acct REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sum_batch();
CREATE TRIGGER s_ins AFTER INSERT ON acct REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sum_batch();
CREATE TRIGGER s_del AFTER DELETE ON acct REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION sum_deleted();
UPDATE acct SET balance = balance + 5 WHERE id < 30;
INSERT INTO acct VALUES (50, 'ann', 10), (51, 'bob', 20), (52, 'cy', 30);
DELETE FROM acct WHERE id >= 51;
UPDATE acct SET balance = 0 WHERE id < 0;
BEGIN;
INSERT INTO acct VALUES (60, 'ann', 1);
ROLLBACK;
SELECT * FROM batch_sums ORDER BY op, n, total;
DROP TRIGGER s_upd ON acct;
DROP TRIGGER s_ins ON acct;
DROP TRIGGER s_del ON acct;

-- a replicated table's triggers: fired once by the coordinator, not once per copy
CREATE TABLE rates (code text PRIMARY KEY, pct numeric(5, 2)) DISTRIBUTE BY REPLICATION;
CREATE FUNCTION rate_event() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO event_ref VALUES (TG_OP || ':' || coalesce(NEW.code, OLD.code), NULL); RETURN NULL; END $$;
CREATE TRIGGER rates_audit AFTER INSERT OR UPDATE OR DELETE ON rates FOR EACH ROW EXECUTE FUNCTION rate_event();
CREATE TRIGGER rates_stmt AFTER INSERT OR UPDATE OR DELETE ON rates FOR EACH STATEMENT EXECUTE FUNCTION log_statement();
INSERT INTO rates VALUES ('std', 20), ('low', 5);
UPDATE rates SET pct = pct + 1;
DELETE FROM rates WHERE code = 'low';
SELECT op, count(*) FROM event_ref WHERE acct_id IS NULL GROUP BY op ORDER BY op;
SELECT trig, op, count(*) FROM stmt_log WHERE trig = 'rates_stmt' GROUP BY trig, op ORDER BY op;

-- TRUNCATE with statement triggers: fired once, by the coordinator
CREATE TRIGGER t_before BEFORE TRUNCATE ON acct FOR EACH STATEMENT EXECUTE FUNCTION log_statement();
CREATE TRIGGER t_after AFTER TRUNCATE ON acct FOR EACH STATEMENT EXECUTE FUNCTION log_statement();
BEGIN;
TRUNCATE acct;
SELECT count(*) FROM acct;
SELECT trig, op, lvl, tim FROM stmt_log WHERE op = 'TRUNCATE' ORDER BY pos;
ROLLBACK;
SELECT count(*) FROM acct;
TRUNCATE TABLE acct;
SELECT count(*) FROM acct;
SELECT pos, trig, op, lvl, tim FROM stmt_log WHERE op = 'TRUNCATE' ORDER BY pos;

-- an audit table whose column defaults to now(): the trigger's INSERT through the loopback
-- needs the block's instant, which must not wait for the catalog server running the trigger
-- (it hung: the caller's catalog connection was asked for its transaction start)
CREATE TABLE stamped (id int PRIMARY KEY, v int) DISTRIBUTE BY HASH (id);
CREATE TABLE stamped_log (log_id bigserial PRIMARY KEY, op text, row_id int, at timestamptz DEFAULT now()) DISTRIBUTE BY HASH (log_id);
CREATE FUNCTION stamped_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO stamped_log (op, row_id) VALUES (TG_OP, coalesce(NEW.id, OLD.id)); RETURN coalesce(NEW, OLD); END $$;
CREATE TRIGGER stamped_audit AFTER INSERT OR UPDATE OR DELETE ON stamped FOR EACH ROW EXECUTE FUNCTION stamped_audit();
INSERT INTO stamped SELECT g, g * 10 FROM generate_series(1, 5) g;
BEGIN;
UPDATE stamped SET v = v + 1 WHERE id < 3;
SELECT op, count(*), count(DISTINCT at) FROM stamped_log GROUP BY op ORDER BY op;
COMMIT;
DELETE FROM stamped WHERE id = 5;
SELECT op, count(*), min(row_id), max(row_id) FROM stamped_log GROUP BY op ORDER BY op;
