/*
Triggers are found by the written table's schema, resolved with the search path as
PostgreSQL does (executor/routines.py `_Registry.on_write_at`): a table of the same name in
another schema lends none of its triggers. Before, the registry knew tables by name only:
`INSERT INTO a.items` was refused for the triggers of b.items, and `INSERT INTO b.items`
with `a` first on the path was checked as a.items (its trigger proven "pinned" against
a.items' distribution, then failing on the datanode).
*/

CREATE SCHEMA trg_a;
CREATE SCHEMA trg_b;
CREATE TABLE trg_a.items (id int PRIMARY KEY, cust text) DISTRIBUTE BY HASH (id);
CREATE TABLE trg_b.items (id int, cust text) DISTRIBUTE BY HASH (cust);
CREATE TABLE trg_b.item_log (id int, note text) DISTRIBUTE BY HASH (id);
CREATE TABLE trg_b.item_stmts (op text, n int) DISTRIBUTE BY REPLICATION;
CREATE FUNCTION trg_b.log_item() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO item_log VALUES (NEW.id, NEW.cust); RETURN NEW; END $$;
CREATE FUNCTION trg_b.count_stmt() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO item_stmts VALUES (TG_OP, (SELECT count(*) FROM item_stmts)); RETURN NULL; END $$;
CREATE TRIGGER log_item AFTER INSERT ON trg_b.items FOR EACH ROW EXECUTE FUNCTION trg_b.log_item();
CREATE TRIGGER count_stmt AFTER UPDATE ON trg_b.items FOR EACH STATEMENT EXECUTE FUNCTION trg_b.count_stmt();

SET search_path = trg_a, trg_b;
-- trg_a.items has no triggers: nothing to refuse
INSERT INTO items VALUES (1, 'x'), (2, 'y');
UPDATE items SET cust = 'z' WHERE id = 2;
INSERT INTO trg_a.items VALUES (3, 'w');
-- trg_b.items' triggers, written with the schema while trg_a comes first
INSERT INTO trg_b.items VALUES (1, 'x'), (2, 'y'), (3, 'z'), (4, 'w'), (5, 'v');
UPDATE trg_b.items SET id = id + 10 WHERE id > 3;
SELECT * FROM trg_a.items ORDER BY id;
SELECT * FROM trg_b.items ORDER BY id;
SELECT * FROM trg_b.item_log ORDER BY id;
SELECT * FROM trg_b.item_stmts ORDER BY n;
SET search_path = trg_b, trg_a;
INSERT INTO items VALUES (6, 'u');
UPDATE items SET cust = cust;
SELECT * FROM item_log ORDER BY id;
SELECT * FROM item_stmts ORDER BY n;
RESET search_path;
