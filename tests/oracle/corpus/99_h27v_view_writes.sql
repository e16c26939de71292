/*
Writes through automatically updatable views over distributed tables that have rules of
their own (h-views27, from PostgreSQL 18's updatable_views.sql:236 and :2069-2085). A DO
ALSO rule (an audit log) or a conditional INSTEAD rule keeps the original write, which goes
through the view on the datanodes; it was refused (0A000 "it has INSTEAD OF triggers or
rules, which would run on each datanode") because the datanodes' copies of the view held
the rule too. Rules the coordinator applies are now kept off the datanodes for views as for
tables (planner/utility._rules_per_group), and the write through the view passes
(multi._ensure_plain_view counts only the rules the datanodes would apply).
*/
CREATE TABLE h27_base (a int PRIMARY KEY, b text) DISTRIBUTE BY HASH (a);
INSERT INTO h27_base SELECT g, 'row ' || g FROM generate_series(1, 8) g;
CREATE VIEW h27_pos AS SELECT * FROM h27_base WHERE a > 0;
CREATE TABLE h27_hist (id serial, a int, b text);
CREATE RULE h27_log AS ON INSERT TO h27_pos DO ALSO INSERT INTO h27_hist (a, b) VALUES (new.a, new.b);
INSERT INTO h27_pos VALUES (9, DEFAULT), (10, DEFAULT);
INSERT INTO h27_pos VALUES (11, 'eleven');
INSERT INTO h27_pos SELECT g, 'sel ' || g FROM generate_series(12, 14) g;
SELECT a, b FROM h27_hist ORDER BY a;
SELECT * FROM h27_base ORDER BY a;
-- another event: the INSERT rule does not fire, the view writes as without it
UPDATE h27_pos SET b = upper(b) WHERE a BETWEEN 3 AND 10;
DELETE FROM h27_pos WHERE a = 2;
SELECT * FROM h27_pos ORDER BY a;
SELECT count(*) FROM h27_hist;
-- the rule renamed, then replaced by a conditional INSTEAD rule keeping other rows
ALTER RULE h27_log ON h27_pos RENAME TO h27_log2;
INSERT INTO h27_pos VALUES (15, 'fifteen');
CREATE OR REPLACE RULE h27_log2 AS ON INSERT TO h27_pos WHERE new.a > 100 DO INSTEAD INSERT INTO h27_hist (a, b) VALUES (new.a, 'big');
-- a conditional INSTEAD rule makes the view not automatically updatable: PostgreSQL's 55000
-- error
INSERT INTO h27_pos VALUES (16, 'sixteen'), (116, 'big one');
-- error
INSERT INTO h27_pos VALUES (16, 'sixteen');
UPDATE h27_pos SET b = 'upd' WHERE a = 15;
SELECT a, b FROM h27_hist ORDER BY a;
SELECT * FROM h27_base ORDER BY a;
CREATE OR REPLACE RULE h27_log2 AS ON INSERT TO h27_pos DO ALSO INSERT INTO h27_hist (a, b) VALUES (new.a, 'also');
BEGIN;
INSERT INTO h27_pos VALUES (17, 'in block'), (117, 'in block');
SELECT count(*) FROM h27_hist;
ROLLBACK;
SELECT count(*) FROM h27_base;
SELECT count(*) FROM h27_hist;
DROP RULE h27_log2 ON h27_pos;
INSERT INTO h27_pos VALUES (118, 'no rule');
SELECT count(*) FROM h27_hist;
-- view defaults and table defaults under a DO ALSO rule (bug #17633's test)
CREATE TABLE h27_def (a int, b text DEFAULT 'Table default', c text DEFAULT 'Table default', d text, e text) DISTRIBUTE BY HASH (a);
CREATE VIEW h27_def_view AS SELECT * FROM h27_def;
ALTER VIEW h27_def_view ALTER b SET DEFAULT 'View default';
ALTER VIEW h27_def_view ALTER d SET DEFAULT 'View default';
CREATE RULE h27_def_ins AS ON INSERT TO h27_def_view DO ALSO INSERT INTO h27_def VALUES (new.a, new.b, new.c, new.d, new.e);
INSERT INTO h27_def_view VALUES (11);
INSERT INTO h27_def_view VALUES (12), (13);
INSERT INTO h27_def_view VALUES (14, DEFAULT, DEFAULT, DEFAULT, DEFAULT);
INSERT INTO h27_def_view VALUES (15, DEFAULT, DEFAULT, DEFAULT, DEFAULT), (16, DEFAULT, DEFAULT, DEFAULT, DEFAULT);
SELECT * FROM h27_def ORDER BY a, c NULLS LAST, d NULLS LAST;
CREATE OR REPLACE RULE h27_def_ins AS ON INSERT TO h27_def_view DO ALSO INSERT INTO h27_def (a, b, e) SELECT new.a, new.b, 'xxx';
TRUNCATE h27_def;
INSERT INTO h27_def_view VALUES (1, DEFAULT, DEFAULT, DEFAULT, DEFAULT);
INSERT INTO h27_def_view VALUES (2, DEFAULT, DEFAULT, DEFAULT, DEFAULT), (3, DEFAULT, DEFAULT, DEFAULT, DEFAULT);
SELECT * FROM h27_def ORDER BY a, e NULLS FIRST;
/*
RETURNING of a write whose DO ALSO rules write (the audit rule of an `INSERT ... RETURNING
id`): the original statement runs as written and its RETURNING is the answer, as in
PostgreSQL (planner/rules.expand refused every RETURNING under rules that write, 0A000).
Under an INSTEAD rule it stays refused.
*/
CREATE TABLE h27_orders (id serial PRIMARY KEY, item text, qty int) DISTRIBUTE BY HASH (id);
CREATE TABLE h27_audit (seq serial, op text, order_id int, qty int);
CREATE RULE h27_orders_ins AS ON INSERT TO h27_orders DO ALSO INSERT INTO h27_audit (op, order_id, qty) VALUES ('ins', new.id, new.qty);
CREATE RULE h27_orders_upd AS ON UPDATE TO h27_orders DO ALSO INSERT INTO h27_audit (op, order_id, qty) VALUES ('upd', old.id, new.qty);
CREATE RULE h27_orders_del AS ON DELETE TO h27_orders DO ALSO INSERT INTO h27_audit (op, order_id, qty) VALUES ('del', old.id, old.qty);
INSERT INTO h27_orders (item, qty) VALUES ('apple', 3) RETURNING id, item, qty;
INSERT INTO h27_orders (item, qty) VALUES ('pear', 5), ('plum', 7) RETURNING *;
UPDATE h27_orders SET qty = qty * 10 WHERE item <> 'apple' RETURNING id, qty, old.qty AS was;
DELETE FROM h27_orders WHERE item = 'pear' RETURNING item, qty;
SELECT op, order_id, qty FROM h27_audit ORDER BY op, order_id;
SELECT * FROM h27_orders ORDER BY id;
-- through a view with a DO ALSO rule of its own
CREATE VIEW h27_big AS SELECT a AS id, b AS item FROM h27_base WHERE a > 4;
CREATE RULE h27_big_ins AS ON INSERT TO h27_big DO ALSO INSERT INTO h27_audit (op, order_id) VALUES ('view', new.id);
INSERT INTO h27_big (id, item) VALUES (200, 'fig'), (201, 'date') RETURNING *;
UPDATE h27_big SET item = 'FIG' WHERE id = 200 RETURNING id, item;
SELECT op, order_id, qty FROM h27_audit ORDER BY op, order_id;
CREATE TABLE h27_shadowed (id int, v text) DISTRIBUTE BY HASH (id);
CREATE RULE h27_shadowed_ins AS ON INSERT TO h27_shadowed DO INSTEAD INSERT INTO h27_audit (op, order_id) VALUES ('instead', new.id);
INSERT INTO h27_shadowed VALUES (1, 'x');
SELECT op, order_id FROM h27_audit WHERE op = 'instead';
/*
MERGE into a table whose rules write (rules.sql:1260): PostgreSQL refuses it (0A000, "MERGE
is not supported for relations with rules"); the rules live on the catalog servers only,
so the datanodes took the MERGE and wrote past them (MERGE 1, the row in the table the
INSTEAD rule redirects away from). Now PostgreSQL's refusal (planner/rules.merge_refusal).
*/
CREATE TABLE h27_m1 (a int, b text) DISTRIBUTE BY HASH (a);
CREATE TABLE h27_m2 (a int, b text) DISTRIBUTE BY HASH (a);
CREATE RULE h27_m_ins AS ON INSERT TO h27_m1 DO INSTEAD INSERT INTO h27_m2 VALUES (new.*);
-- error
MERGE INTO h27_m1 t USING (SELECT 1 AS a) s ON t.a = s.a WHEN MATCHED THEN UPDATE SET b = 'u' WHEN NOT MATCHED THEN INSERT VALUES (s.a, 'm');
-- error
WITH s AS (SELECT 2 AS a) MERGE INTO h27_m1 t USING s ON t.a = s.a WHEN NOT MATCHED THEN INSERT VALUES (s.a, 'w');
SELECT count(*) FROM h27_m1;
-- a disabled rule lets it run, as in PostgreSQL
ALTER TABLE h27_m1 DISABLE RULE h27_m_ins;
MERGE INTO h27_m1 t USING (SELECT 1 AS a) s ON t.a = s.a WHEN NOT MATCHED THEN INSERT VALUES (s.a, 'm');
ALTER TABLE h27_m1 ENABLE RULE h27_m_ins;
-- error
MERGE INTO h27_m1 t USING (SELECT 3 AS a) s ON t.a = s.a WHEN NOT MATCHED THEN INSERT VALUES (s.a, 'm');
DROP RULE h27_m_ins ON h27_m1;
MERGE INTO h27_m1 t USING (SELECT 4 AS a) s ON t.a = s.a WHEN NOT MATCHED THEN INSERT VALUES (s.a, 'm');
SELECT * FROM h27_m1;
SELECT count(*) FROM h27_m2;
/*
An UPDATE whose SET of the distribution column keeps its value (`SET id = 1, ... WHERE id
= 1`, `SET id = id`: ORMs set every column) on a table with row triggers (triggers.sql:486):
the planner moves no row (planner/writes.updates_column), but the trigger checks read any
SET of the column as a move and refused it (0A000, "it has BEFORE ROW UPDATE triggers and
the UPDATE sets the distribution column"). Both now ask the planner's question.
*/
CREATE TABLE h27_su (id int PRIMARY KEY, description text, touched int DEFAULT 0) DISTRIBUTE BY HASH (id);
CREATE FUNCTION h27_su_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.touched := OLD.touched + 1; RETURN NEW; END $$;
CREATE TRIGGER h27_su_t BEFORE UPDATE ON h27_su FOR EACH ROW EXECUTE FUNCTION h27_su_touch();
CREATE TABLE h27_su_log (n serial, id int, what text);
CREATE FUNCTION h27_su_log_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO h27_su_log (id, what) VALUES (NEW.id, TG_OP || ' ' || NEW.description); RETURN NULL; END $$;
CREATE TRIGGER h27_su_after AFTER UPDATE OF id ON h27_su FOR EACH ROW EXECUTE FUNCTION h27_su_log_f();
INSERT INTO h27_su VALUES (1, 'a'), (2, 'b'), (3, 'c');
UPDATE h27_su SET description = 'no no', id = 1 WHERE id = 1;
UPDATE h27_su SET id = id, description = 'all' WHERE id > 1;
UPDATE h27_su SET description = 'plain' WHERE id = 3 RETURNING *;
UPDATE h27_su SET id = 2, description = 'two' WHERE description = 'all' AND id = 2 RETURNING id, touched;
SELECT * FROM h27_su ORDER BY id;
SELECT id, what FROM h27_su_log ORDER BY id, what;
/*
Transition tables of the AFTER STATEMENT triggers of an INSERT ... ON CONFLICT DO UPDATE
(triggers.sql:2241): refused (0A000); the coordinator now fires them one by one, an INSERT
trigger's NEW TABLE holding the inserted rows, an UPDATE trigger's OLD and NEW TABLE the
updated ones, though both name theirs new_table (executor/triggers._fire_upsert_statements).
*/
CREATE TABLE h27_tt (a int PRIMARY KEY, b text) DISTRIBUTE BY HASH (a);
CREATE TABLE h27_tt_log (n serial, what text);
CREATE FUNCTION h27_tt_ins() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO h27_tt_log (what) SELECT TG_NAME || ' new=' || coalesce((SELECT string_agg(t::text, ', ' ORDER BY a) FROM new_table t), '-'); RETURN NULL; END $$;
CREATE FUNCTION h27_tt_upd() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO h27_tt_log (what) SELECT TG_NAME || ' old=' || coalesce((SELECT string_agg(t::text, ', ' ORDER BY a) FROM old_table t), '-') || ' new=' || coalesce((SELECT string_agg(t::text, ', ' ORDER BY a) FROM new_table t), '-'); RETURN NULL; END $$;
CREATE TRIGGER h27_tt_i AFTER INSERT ON h27_tt REFERENCING NEW TABLE AS new_table FOR EACH STATEMENT EXECUTE FUNCTION h27_tt_ins();
CREATE TRIGGER h27_tt_u AFTER UPDATE ON h27_tt REFERENCING OLD TABLE AS old_table NEW TABLE AS new_table FOR EACH STATEMENT EXECUTE FUNCTION h27_tt_upd();
INSERT INTO h27_tt VALUES (1, 'AAA'), (2, 'BBB') ON CONFLICT (a) DO UPDATE SET b = h27_tt.b || ':' || excluded.b;
INSERT INTO h27_tt VALUES (1, 'AAA'), (2, 'BBB'), (3, 'CCC'), (4, 'DDD') ON CONFLICT (a) DO UPDATE SET b = h27_tt.b || ':' || excluded.b;
INSERT INTO h27_tt VALUES (3, 'CCC'), (4, 'DDD') ON CONFLICT (a) DO UPDATE SET b = h27_tt.b || ':' || excluded.b RETURNING *;
INSERT INTO h27_tt VALUES (4, 'x'), (5, 'y') ON CONFLICT (a) DO UPDATE SET b = 'z' WHERE h27_tt.a > 100;
SELECT what FROM h27_tt_log ORDER BY n;
SELECT * FROM h27_tt ORDER BY a;
