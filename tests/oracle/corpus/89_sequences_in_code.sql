/*
Sequence functions (nextval, setval, currval, lastval) called by server-side code take the
cluster's sequences, the GTM's, as PostgreSQL's own functions do: a BEFORE INSERT trigger
numbering rows (fired by the coordinator on each new row, executor/triggers.py), AFTER
triggers writing audit rows numbered by a sequence and rows of a table with a serial
column, SQL and PL/pgSQL functions, procedures, DO blocks, dynamic EXECUTE, nested
functions, a function with its own search_path, SECURITY DEFINER, setval inside functions,
currval/lastval after them, a rolled-back transaction (sequences are not transactional), a
temp sequence, errors (currval not yet defined, maximum reached, setval out of bounds).
The code runs with the loopback armed; its calls reach the gridpg_lb_calls functions
(executor/loopback.py SEQUENCE_CALLS). Before, each server drew from its own copy of the
sequence: duplicate values, silently.
*/

-- a BEFORE INSERT trigger numbering num_orders
CREATE SEQUENCE order_no_seq;
CREATE TABLE num_orders (id int PRIMARY KEY, order_no bigint) DISTRIBUTE BY HASH (id);
CREATE FUNCTION set_no() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN new.order_no := nextval('order_no_seq'); RETURN new; END $$;
CREATE TRIGGER num_orders_no BEFORE INSERT ON num_orders FOR EACH ROW EXECUTE FUNCTION set_no();
INSERT INTO num_orders (id) SELECT g FROM generate_series(1, 10) g;
SELECT count(DISTINCT order_no), count(*), min(order_no), max(order_no) FROM num_orders;
SELECT nextval('order_no_seq');
INSERT INTO num_orders (id) VALUES (11), (12) RETURNING id, order_no;
SELECT currval('order_no_seq'), lastval();
BEGIN;
INSERT INTO num_orders (id) VALUES (13);
SELECT order_no FROM num_orders WHERE id = 13;
ROLLBACK;
SELECT nextval('order_no_seq');
-- the trigger fills only a missing number
CREATE OR REPLACE FUNCTION set_no() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF new.order_no IS NULL THEN new.order_no := nextval('order_no_seq'); END IF; RETURN new; END $$;
INSERT INTO num_orders VALUES (20, 1000), (21, NULL);
SELECT id, order_no FROM num_orders WHERE id >= 20 ORDER BY id;

-- AFTER triggers: audit rows numbered by a sequence, and rows of a table with a serial column
CREATE SEQUENCE audit_seq START 500;
CREATE TABLE audit (n bigint, what text, row_id int) DISTRIBUTE BY HASH (n);
CREATE TABLE ord_events (id serial, order_id int, tag text) DISTRIBUTE BY HASH (order_id);
CREATE TABLE notes (id int, body text) DISTRIBUTE BY HASH (id);
CREATE FUNCTION audit_note() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO audit VALUES (nextval('audit_seq'), tg_op, new.id); INSERT INTO ord_events (order_id, tag) VALUES (new.id, 'noted'); RETURN NULL; END $$;
CREATE TRIGGER notes_audit AFTER INSERT OR UPDATE ON notes FOR EACH ROW EXECUTE FUNCTION audit_note();
INSERT INTO notes SELECT g, 'n' || g FROM generate_series(1, 6) g;
UPDATE notes SET body = 'changed' WHERE id <= 2;
SELECT count(DISTINCT n), count(*), min(n), max(n) FROM audit;
SELECT what, count(*) FROM audit GROUP BY what ORDER BY what;
SELECT count(DISTINCT id), count(*), min(id), max(id) FROM ord_events;
SELECT currval('audit_seq'), lastval();

-- functions: PL/pgSQL with INSERT ... nextval() RETURNING INTO, currval inside, SQL
CREATE SEQUENCE s_ord START 100 INCREMENT 5;
CREATE TABLE items (id int PRIMARY KEY, name text) DISTRIBUTE BY HASH (id);
CREATE FUNCTION mk(n text) RETURNS int LANGUAGE plpgsql AS $$ DECLARE i int; BEGIN INSERT INTO items (id, name) VALUES (nextval('s_ord'), n) RETURNING id INTO i; RETURN i; END $$;
SELECT mk('a'), mk('b');
SELECT currval('s_ord');
SELECT nextval('s_ord');
CREATE FUNCTION mk2(n text) RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE i bigint; BEGIN i := nextval('s_ord'); INSERT INTO items VALUES (i, n); RETURN currval('s_ord'); END $$;
SELECT mk2('c');
CREATE FUNCTION mk3() RETURNS bigint LANGUAGE sql AS $$ SELECT nextval('s_ord') $$;
SELECT mk3();
SELECT currval('s_ord'), lastval();
SELECT mk3(), currval('s_ord'), mk3(), lastval();
SELECT * FROM items ORDER BY id;
-- per row of a set-returning function
SELECT g, mk3() AS v FROM generate_series(1, 3) g ORDER BY g;
SELECT currval('s_ord');
-- setval inside functions (both forms), then what follows
CREATE FUNCTION reset_to(v bigint) RETURNS bigint LANGUAGE sql AS $$ SELECT setval('s_ord', v) $$;
CREATE FUNCTION reset_before(v bigint) RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN PERFORM setval('s_ord', v, false); RETURN v; END $$;
SELECT reset_to(1000);
SELECT currval('s_ord'), nextval('s_ord');
SELECT reset_before(2000);
SELECT currval('s_ord');
SELECT mk3();
-- nested functions, dynamic SQL, a regclass argument
CREATE FUNCTION outer_mk(n text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN mk(n) || '/' || mk3(); END $$;
SELECT outer_mk('d');
CREATE FUNCTION dyn_next(seq text) RETURNS bigint LANGUAGE plpgsql AS $$ DECLARE v bigint; BEGIN EXECUTE format('SELECT nextval(%L)', seq) INTO v; RETURN v; END $$;
SELECT dyn_next('s_ord'), currval('s_ord');
CREATE FUNCTION next_of(r regclass) RETURNS bigint LANGUAGE sql AS $$ SELECT nextval(r) $$;
SELECT next_of('order_no_seq'), next_of('s_ord');
SELECT lastval();

-- procedures and DO blocks, inside and outside a transaction block
CREATE PROCEDURE add_items(k int) LANGUAGE plpgsql AS $$ BEGIN FOR i IN 1..k LOOP INSERT INTO items VALUES (nextval('s_ord'), 'p' || i); END LOOP; END $$;
CALL add_items(3);
SELECT count(*), max(id) = currval('s_ord') FROM items WHERE name LIKE 'p%';
DO $$ BEGIN PERFORM nextval('order_no_seq'); PERFORM setval('audit_seq', 900); END $$;
SELECT currval('order_no_seq'), currval('audit_seq'), nextval('audit_seq');
BEGIN;
DO $$ BEGIN INSERT INTO items VALUES (nextval('s_ord'), 'in block'); END $$;
SELECT name FROM items WHERE id = currval('s_ord');
ROLLBACK;
SELECT count(*) FROM items WHERE name = 'in block';
SELECT nextval('s_ord') - currval('s_ord');

-- its own search_path, SECURITY DEFINER
CREATE SCHEMA seq_home;
CREATE SEQUENCE seq_home.home_seq START 40;
CREATE FUNCTION own_path_next() RETURNS bigint LANGUAGE plpgsql SET search_path = seq_home, pg_catalog AS $$ BEGIN RETURN nextval('home_seq') + nextval('home_seq'::text::regclass); END $$;
SELECT own_path_next(), currval('seq_home.home_seq');
SELECT nextval('seq_home.home_seq');
CREATE FUNCTION definer_next() RETURNS bigint LANGUAGE sql SECURITY DEFINER AS $$ SELECT nextval('order_no_seq') $$;
SELECT definer_next(), currval('order_no_seq');

-- a temp sequence in a function (the session's own)
CREATE TEMP SEQUENCE tmp_seq START 7;
CREATE FUNCTION tmp_next() RETURNS bigint LANGUAGE sql AS $$ SELECT nextval('tmp_seq') $$;
SELECT tmp_next(), tmp_next(), currval('tmp_seq');
SELECT lastval(), nextval('tmp_seq');
DO $$ BEGIN PERFORM setval('tmp_seq', 70); END $$;
SELECT tmp_next();

-- errors keep PostgreSQL's SQLSTATE
CREATE SEQUENCE never_used;
CREATE FUNCTION cur_never() RETURNS bigint LANGUAGE sql AS $$ SELECT currval('never_used') $$;
-- error
SELECT cur_never();
CREATE SEQUENCE tiny MAXVALUE 2;
CREATE FUNCTION next_tiny() RETURNS bigint LANGUAGE sql AS $$ SELECT nextval('tiny') $$;
SELECT next_tiny(), next_tiny();
-- error
SELECT next_tiny();
CREATE FUNCTION set_tiny(v bigint) RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN RETURN setval('tiny', v); END $$;
-- error
SELECT set_tiny(10);
CREATE FUNCTION next_of_table() RETURNS bigint LANGUAGE sql AS $$ SELECT nextval('items') $$;
-- error
SELECT next_of_table();
CREATE FUNCTION catch_tiny() RETURNS text LANGUAGE plpgsql AS $$ BEGIN PERFORM nextval('tiny'); RETURN 'no'; EXCEPTION WHEN sequence_generator_limit_exceeded THEN RETURN 'limit'; END $$;
SELECT catch_tiny();
SELECT currval('tiny');

-- the other coordinator continues the same sequences
\connect 2
SELECT mk3() > 2000, mk('e') > 2000;
-- error
SELECT currval('order_no_seq');
INSERT INTO num_orders (id) VALUES (30);
SELECT count(DISTINCT order_no) = count(*) FROM num_orders;
SELECT count(DISTINCT id) = count(*) FROM items;
DROP SCHEMA seq_home CASCADE;
