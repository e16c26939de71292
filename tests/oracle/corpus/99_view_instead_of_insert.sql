/*
INSERT into a view over distributed tables that an INSTEAD OF INSERT trigger carries out
(executor/routines.py `_inserts_instead`): the INSERT runs on the catalog server, where
PostgreSQL builds NEW (the view's column defaults included) and fires the trigger, and the
trigger's statements reach the cluster's tables through the loopback. Was 0A000. UPDATE
and DELETE through such views read the view's rows, and stay refused.
*/

CREATE TABLE vi_items (id int PRIMARY KEY, name text, price numeric, note text);
CREATE TABLE vi_log (item int, what text);
CREATE VIEW vi_items_v AS SELECT id, name, price, price * 1.2 AS gross FROM vi_items;
ALTER VIEW vi_items_v ALTER COLUMN name SET DEFAULT 'unnamed';
-- a row with a negative price is skipped (RETURN NULL: INSERT 0 0)
CREATE FUNCTION vi_items_v_ins() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.price < 0 THEN RETURN NULL; END IF; INSERT INTO vi_items VALUES (NEW.id, NEW.name, NEW.price, 'via view'); INSERT INTO vi_log VALUES (NEW.id, 'inserted ' || NEW.name); NEW.gross := NEW.price * 1.2; RETURN NEW; END $$;
CREATE TRIGGER vi_items_v_ins INSTEAD OF INSERT ON vi_items_v FOR EACH ROW EXECUTE FUNCTION vi_items_v_ins();

INSERT INTO vi_items_v (id, name, price) VALUES (1, 'a', 10), (2, 'b', 20);
INSERT INTO vi_items_v (id, price) VALUES (3, 30) RETURNING *;
INSERT INTO vi_items_v VALUES (4, 'skipped', -1);
INSERT INTO vi_items_v AS v (id, name, price) VALUES (5, 'e', 50) RETURNING v.id, v.gross;
SELECT * FROM vi_items ORDER BY id;
SELECT * FROM vi_items_v ORDER BY id;
SELECT * FROM vi_log ORDER BY item;
-- error
INSERT INTO vi_items_v (id, name, price) VALUES (1, 'dup', 1);
SELECT count(*) FROM vi_log;
BEGIN;
INSERT INTO vi_items_v (id, name, price) VALUES (6, 'rolled back', 60);
SELECT count(*) FROM vi_items;
ROLLBACK;
SELECT count(*), max(id) FROM vi_items;
BEGIN;
INSERT INTO vi_items_v (id, name, price) VALUES (7, 'kept', 70);
COMMIT;
SELECT id, name, note FROM vi_items WHERE id = 7;

-- Same-named views in two schemas: the INSTEAD OF trigger of one is not the other's. A
-- write into vi_s2.v checked (and refused, 0A000) the trigger of vi_s1.v, found by the
-- view's name alone (executor/routines.py `_Registry.written_code`).
CREATE SCHEMA vi_s1;
CREATE SCHEMA vi_s2;
CREATE TABLE vi_s1.t (id int PRIMARY KEY, v text);
CREATE TABLE vi_s2.t (id int PRIMARY KEY, v text);
CREATE VIEW vi_s1.v AS SELECT id, v FROM vi_s1.t;
CREATE VIEW vi_s2.v AS SELECT id, v FROM vi_s2.t;
CREATE FUNCTION vi_s1.v_ins() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO t VALUES (NEW.id, upper(NEW.v)); RETURN NEW; END $$;
CREATE TRIGGER v_ins INSTEAD OF INSERT ON vi_s1.v FOR EACH ROW EXECUTE FUNCTION vi_s1.v_ins();
INSERT INTO vi_s2.v VALUES (1, 'b'), (2, 'c');
UPDATE vi_s2.v SET v = v || '!' WHERE id = 2;
DELETE FROM vi_s2.v WHERE id = 1;
SELECT * FROM vi_s2.t ORDER BY id;
SET search_path = vi_s2, public;
INSERT INTO v VALUES (3, 'd');
UPDATE v SET v = 'e' WHERE id = 3;
SET search_path = vi_s1, public;
INSERT INTO v VALUES (4, 'f');
-- the view named with its schema (was 0A000: "it names view vi_s1.v with its schema")
INSERT INTO vi_s1.v VALUES (5, 'g') RETURNING *;
INSERT INTO vi_s1.v AS w (id, v) VALUES (6, 'h'), (7, 'i') RETURNING w.id;
SELECT * FROM vi_s1.t ORDER BY id;
SELECT * FROM vi_s2.t ORDER BY id;
RESET search_path;
