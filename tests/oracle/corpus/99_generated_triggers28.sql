/*
Stored (and virtual) generated columns on tables with BEFORE ROW triggers (lead, 2026-12-07): a trigger
that stays on the datanode (it only sets NEW's fields) and one the coordinator fires
because it writes another distributed table (an audit row), on a HASH table and on a
table made REPLICATION by its keys, through INSERT (single and multi-row, RETURNING the
generated column), UPDATE (the trigger's change to a base column shows in the generated
one), DELETE, inside a block and rolled back. PostgreSQL computes a stored generated column
after the BEFORE triggers; gridpg failed these with "cannot insert a non-DEFAULT value into
column" (INSERT) and 0A000 (UPDATE).
*/

CREATE TABLE gen_audit (id serial PRIMARY KEY, msg text);
CREATE FUNCTION gen_note() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO gen_audit (msg) VALUES (TG_OP || ':' || NEW.name); NEW.name := initcap(NEW.name); RETURN NEW; END $$;
CREATE FUNCTION gen_trim() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.name := btrim(NEW.name); RETURN NEW; END $$;

CREATE TABLE gen_people (id int PRIMARY KEY, name text NOT NULL, age int, name_len int GENERATED ALWAYS AS (length(name)) STORED, label text GENERATED ALWAYS AS (upper(name) || '/' || coalesce(age, 0)) STORED, shout text GENERATED ALWAYS AS (name || '!') VIRTUAL) DISTRIBUTE BY HASH (id);
CREATE TRIGGER gen_people_note BEFORE INSERT OR UPDATE ON gen_people FOR EACH ROW EXECUTE FUNCTION gen_note();
INSERT INTO gen_people (id, name, age) VALUES (1, 'al', 30);
INSERT INTO gen_people (id, name, age) VALUES (2, 'beatrice', 41), (3, 'cy', NULL) RETURNING id, name, name_len, label, shout;
INSERT INTO gen_people VALUES (4, 'dora', 5, DEFAULT, DEFAULT, DEFAULT) RETURNING *;
-- error
INSERT INTO gen_people (id, name, name_len) VALUES (5, 'eve', 3);
UPDATE gen_people SET name = 'al b' WHERE id = 1 RETURNING id, name, name_len, label, shout;
UPDATE gen_people SET age = age + 1 WHERE id IN (2, 3);
-- error
UPDATE gen_people SET name_len = 7 WHERE id = 2;
SELECT id, name, age, name_len, label, shout FROM gen_people ORDER BY id;
SELECT msg FROM gen_audit ORDER BY msg;
BEGIN;
INSERT INTO gen_people (id, name) VALUES (6, 'fay');
UPDATE gen_people SET name = name || 'x' WHERE id = 6 RETURNING name_len, label;
ROLLBACK;
SELECT count(*) FROM gen_people WHERE id = 6;
DELETE FROM gen_people WHERE id = 3 RETURNING name_len, label;

-- two unique keys sharing no column: REPLICATION
CREATE TABLE gen_accounts (id int PRIMARY KEY, name text UNIQUE, credit int, doubled int GENERATED ALWAYS AS (credit * 2) STORED);
CREATE TRIGGER gen_accounts_note BEFORE INSERT OR UPDATE ON gen_accounts FOR EACH ROW EXECUTE FUNCTION gen_note();
INSERT INTO gen_accounts (id, name, credit) VALUES (1, 'ann', 10), (2, 'bob', 20) RETURNING *;
UPDATE gen_accounts SET credit = credit + 1, name = name || '2' RETURNING id, name, doubled;
SELECT * FROM gen_accounts ORDER BY id;

-- a trigger the datanodes fire themselves
CREATE TABLE gen_local (id int PRIMARY KEY, name text, trimmed_len int GENERATED ALWAYS AS (length(name)) STORED) DISTRIBUTE BY HASH (id);
CREATE TRIGGER gen_local_trim BEFORE INSERT OR UPDATE ON gen_local FOR EACH ROW EXECUTE FUNCTION gen_trim();
INSERT INTO gen_local (id, name) VALUES (1, '  padded  '), (2, 'x') RETURNING *;
UPDATE gen_local SET name = name || '   ' RETURNING *;
SELECT msg FROM gen_audit ORDER BY msg;

-- identity columns GENERATED ALWAYS (the trigger sees the sequence's value; the row kept
-- it): gridpg stored NULL (23502) when the coordinator fired the trigger
CREATE TABLE gen_ident (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text, len int GENERATED ALWAYS AS (length(name)) STORED) DISTRIBUTE BY HASH (id);
CREATE FUNCTION gen_seen() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO gen_audit (msg) VALUES ('seen ' || NEW.id || ' ' || NEW.name || ' ' || coalesce(NEW.len::text, 'null')); RETURN NEW; END $$;
CREATE TRIGGER gen_ident_seen BEFORE INSERT ON gen_ident FOR EACH ROW EXECUTE FUNCTION gen_seen();
INSERT INTO gen_ident (name) VALUES ('one'), ('three') RETURNING *;
-- error
INSERT INTO gen_ident (id, name) VALUES (50, 'fifty');
INSERT INTO gen_ident (id, name) OVERRIDING SYSTEM VALUE VALUES (50, 'fifty') RETURNING *;
INSERT INTO gen_ident VALUES (DEFAULT, 'four', DEFAULT) RETURNING id, len;
SELECT * FROM gen_ident ORDER BY id;
CREATE TABLE gen_ident_rep (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text UNIQUE);
CREATE TRIGGER gen_ident_rep_seen BEFORE INSERT ON gen_ident_rep FOR EACH ROW EXECUTE FUNCTION gen_note();
INSERT INTO gen_ident_rep (name) VALUES ('x1'), ('x2') RETURNING *;
SELECT * FROM gen_ident_rep ORDER BY id;
SELECT msg FROM gen_audit ORDER BY msg;
