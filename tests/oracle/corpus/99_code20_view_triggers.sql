/*
UPDATE and DELETE of a view over distributed tables carried out by the view's INSTEAD OF
row triggers (executor/view_instead.py): the statement runs on the catalog server with the
loopback armed over a temporary stand-in of the view that reads the view's shadow, the
view's triggers copied onto it, so PostgreSQL scans the rows, fires each trigger with OLD
and NEW, counts the rows whose trigger returned non-NULL and computes RETURNING. Refused
before (0A000 "cannot run function ...: it reads or writes distributed table"), and an
INSERT into a view over two tables was refused by the planner.
*/

CREATE TABLE c20_acct (id int PRIMARY KEY, owner text, balance int);
CREATE TABLE c20_prof (id int PRIMARY KEY, city text);
CREATE TABLE c20_audit (acct int, op text, detail text);
INSERT INTO c20_acct SELECT g, 'owner' || g, g * 100 FROM generate_series(1, 12) g;
INSERT INTO c20_prof SELECT g, 'city' || (g % 3) FROM generate_series(1, 12) g;
CREATE VIEW c20_people AS SELECT a.id, a.owner, a.balance, p.city FROM c20_acct a JOIN c20_prof p USING (id);
CREATE FUNCTION c20_people_ins() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO c20_acct VALUES (NEW.id, NEW.owner, coalesce(NEW.balance, 0)); INSERT INTO c20_prof VALUES (NEW.id, NEW.city); INSERT INTO c20_audit VALUES (NEW.id, TG_OP, TG_TABLE_NAME); RETURN NEW; END $$;
CREATE FUNCTION c20_people_upd() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.balance < 0 THEN RETURN NULL; END IF; UPDATE c20_acct SET owner = NEW.owner, balance = NEW.balance WHERE id = OLD.id; UPDATE c20_prof SET city = NEW.city WHERE id = OLD.id; IF NEW.owner = 'boom' THEN RAISE EXCEPTION 'boom at %', OLD.id USING ERRCODE = 'P0001'; END IF; INSERT INTO c20_audit VALUES (OLD.id, TG_OP, OLD.balance || '->' || NEW.balance); NEW.owner := upper(NEW.owner); RETURN NEW; END $$;
CREATE FUNCTION c20_people_del() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF OLD.city = 'city0' THEN RETURN NULL; END IF; DELETE FROM c20_prof WHERE id = OLD.id; DELETE FROM c20_acct WHERE id = OLD.id; INSERT INTO c20_audit VALUES (OLD.id, TG_OP, TG_WHEN || ' ' || TG_LEVEL || ' ' || TG_NAME); RETURN OLD; END $$;
CREATE TRIGGER c20_people_i INSTEAD OF INSERT ON c20_people FOR EACH ROW EXECUTE FUNCTION c20_people_ins();
CREATE TRIGGER c20_people_u INSTEAD OF UPDATE ON c20_people FOR EACH ROW EXECUTE FUNCTION c20_people_upd();
CREATE TRIGGER c20_people_d INSTEAD OF DELETE ON c20_people FOR EACH ROW EXECUTE FUNCTION c20_people_del();

INSERT INTO c20_people VALUES (13, 'owner13', 1300, 'city1') RETURNING *;
INSERT INTO c20_people (id, owner, city) SELECT id + 100, owner, 'copied' FROM c20_acct WHERE id <= 2;
UPDATE c20_people SET balance = balance + 1 WHERE id <= 3;
UPDATE c20_people SET city = city || '!', owner = 'x' WHERE id = 4 RETURNING id, owner, city, balance;
UPDATE c20_people SET balance = -5 WHERE id IN (5, 6) RETURNING *;
UPDATE c20_people SET balance = 0 WHERE city = 'nowhere';
DELETE FROM c20_people WHERE id BETWEEN 7 AND 12 RETURNING id, city;
DELETE FROM c20_people AS p WHERE p.id = 101;
SELECT * FROM c20_people ORDER BY id;
SELECT * FROM c20_acct ORDER BY id;
SELECT * FROM c20_audit ORDER BY acct, op, detail;

-- the WHERE reads another distributed table; UPDATE ... FROM one
UPDATE c20_people SET balance = balance * 2 WHERE id IN (SELECT acct FROM c20_audit WHERE op = 'INSERT');
UPDATE c20_people v SET city = p.city || '/from' FROM c20_prof p WHERE p.id = v.id AND v.id = 2 RETURNING v.id, v.city;
SELECT * FROM c20_people ORDER BY id;

-- the view named with its schema, a column default, SET ... = DEFAULT
ALTER VIEW c20_people ALTER COLUMN city SET DEFAULT 'default city';
UPDATE c20_people SET city = DEFAULT WHERE id = 3 RETURNING id, city;

-- a trigger's error undoes the whole statement; blocks roll back and commit
-- error
UPDATE c20_people SET owner = 'boom' WHERE id = 2;
SELECT * FROM c20_people WHERE id = 2;
-- error
INSERT INTO c20_people VALUES (1, 'dup', 1, 'c');
BEGIN;
DELETE FROM c20_people WHERE id = 13;
SELECT count(*) FROM c20_acct;
ROLLBACK;
SELECT count(*) FROM c20_acct;
BEGIN;
SAVEPOINT s1;
UPDATE c20_people SET balance = 77 WHERE id = 1;
ROLLBACK TO SAVEPOINT s1;
UPDATE c20_people SET balance = 88 WHERE id = 13;
COMMIT;
SELECT id, balance FROM c20_acct WHERE id IN (1, 13) ORDER BY id;

-- statement-level triggers of the view fire once per statement
CREATE FUNCTION c20_people_stmt() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO c20_audit VALUES (0, TG_OP, TG_WHEN || ' ' || TG_LEVEL); RETURN NULL; END $$;
CREATE TRIGGER c20_people_s BEFORE UPDATE OR DELETE ON c20_people FOR EACH STATEMENT EXECUTE FUNCTION c20_people_stmt();
UPDATE c20_people SET balance = balance + 1 WHERE id <= 4;
DELETE FROM c20_people WHERE id = 999;
SELECT * FROM c20_audit WHERE acct = 0 ORDER BY op, detail;

-- a view over one table, an audit trigger writing another distributed table
CREATE VIEW c20_rich AS SELECT id, owner, balance FROM c20_acct WHERE balance > 300;
CREATE FUNCTION c20_rich_trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO c20_audit VALUES (coalesce(NEW.id, OLD.id), 'rich ' || TG_OP, NULL); IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $$;
CREATE TRIGGER c20_rich_t INSTEAD OF UPDATE OR DELETE ON c20_rich FOR EACH ROW EXECUTE FUNCTION c20_rich_trg();
UPDATE c20_rich SET balance = 0;
DELETE FROM c20_rich WHERE id > 100;
SELECT acct, op FROM c20_audit WHERE op LIKE 'rich%' ORDER BY acct, op;
SELECT count(*) FROM c20_acct WHERE balance = 0;

-- INSTEAD OF triggers whose functions touch no distributed table (they change NEW and
-- write nothing): run on the catalog server all the same (planned, they went to the
-- datanodes, where the triggers would run on each node: refused)
CREATE TABLE c20_plain (a int PRIMARY KEY, b text);
INSERT INTO c20_plain SELECT g, 'row ' || g FROM generate_series(-2, 3) g;
CREATE VIEW c20_plain_v AS SELECT * FROM c20_plain WHERE a < 2;
CREATE FUNCTION c20_plain_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; NEW.b := upper(NEW.b); RETURN NEW; END $$;
CREATE TRIGGER c20_plain_t INSTEAD OF INSERT OR UPDATE OR DELETE ON c20_plain_v FOR EACH ROW EXECUTE FUNCTION c20_plain_fn();
INSERT INTO c20_plain_v VALUES (10, 'ten') RETURNING *;
UPDATE c20_plain_v SET b = 'x' WHERE a = 1 RETURNING *;
UPDATE c20_plain_v SET b = 'y' RETURNING a, b;
DELETE FROM c20_plain_v WHERE a = 0 RETURNING *;
SELECT * FROM c20_plain ORDER BY a;
-- a view whose only INSTEAD OF trigger is for INSERT: an UPDATE writes through it (was 0A000)
CREATE VIEW c20_plain_v2 AS SELECT * FROM c20_plain;
CREATE FUNCTION c20_plain_fn2() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER c20_plain_t2 INSTEAD OF INSERT ON c20_plain_v2 FOR EACH ROW EXECUTE FUNCTION c20_plain_fn2();
UPDATE c20_plain_v2 SET b = 'through' WHERE a = 3 RETURNING *;
DELETE FROM c20_plain_v2 WHERE a = -2;
SELECT * FROM c20_plain ORDER BY a;
