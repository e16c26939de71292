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
