/*
Constraint triggers (CREATE CONSTRAINT TRIGGER ... DEFERRABLE) of distributed tables whose
functions touch no other distributed table fire on the datanodes holding the rows: deferred
ones at COMMIT (gridpg's PREPARE), immediate ones at the statement, SET CONSTRAINTS ALL
switching them on every node of the transaction and on nodes that join it later. (Naming
one of a HASH table in SET CONSTRAINTS is refused, 0A000:
tests/integration/test_trigger_firing.py.)
*/

CREATE TABLE ct_lines (id int PRIMARY KEY, qty int NOT NULL) DISTRIBUTE BY HASH (id);
CREATE TABLE ct_mod (id int PRIMARY KEY, qty int NOT NULL) DISTRIBUTE BY MODULO (id);
CREATE FUNCTION ct_check() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.qty > 100 THEN RAISE EXCEPTION 'line % has too many', NEW.id USING ERRCODE = '23514'; END IF; RETURN NULL; END $$;
CREATE FUNCTION ct_check_mod() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.qty > 100 THEN RAISE EXCEPTION 'mod % has too many', NEW.id USING ERRCODE = '23514'; END IF; RETURN NULL; END $$;
CREATE CONSTRAINT TRIGGER ct_deferred AFTER INSERT OR UPDATE ON ct_lines DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ct_check();
CREATE CONSTRAINT TRIGGER ct_immediate AFTER INSERT OR UPDATE ON ct_mod DEFERRABLE INITIALLY IMMEDIATE FOR EACH ROW EXECUTE FUNCTION ct_check_mod();

-- deferred: checked at COMMIT, with NEW as the event stored it (PostgreSQL's answer: the
-- UPDATE's own event passes, the INSERT's fails)
BEGIN;
INSERT INTO ct_lines VALUES (1, 500), (2, 5), (3, 7);
SELECT count(*) FROM ct_lines;
UPDATE ct_lines SET qty = 50 WHERE id = 1;
-- error
COMMIT;
INSERT INTO ct_lines VALUES (1, 50), (2, 5), (3, 7);
SELECT * FROM ct_lines ORDER BY id;
-- error
INSERT INTO ct_lines VALUES (4, 1000);
BEGIN;
INSERT INTO ct_lines VALUES (5, 1000);
-- error
SET CONSTRAINTS ALL IMMEDIATE;
ROLLBACK;
BEGIN;
INSERT INTO ct_lines VALUES (6, 1000), (7, 1);
-- error
COMMIT;
SELECT * FROM ct_lines ORDER BY id;

-- immediate, deferred for one block by SET CONSTRAINTS ALL
-- error
INSERT INTO ct_mod VALUES (1, 1000);
BEGIN;
SET CONSTRAINTS ALL DEFERRED;
INSERT INTO ct_mod VALUES (2, 1000), (3, 1);
SELECT count(*) FROM ct_mod;
-- error
COMMIT;
BEGIN;
SET CONSTRAINTS ALL DEFERRED;
INSERT INTO ct_mod VALUES (4, 10);
COMMIT;
SELECT * FROM ct_mod ORDER BY id;
