/*
A schema per tenant: the same tables and functions in each schema, the search path
switched per request (SET, SET LOCAL), upserts and nested calls in the functions. A
routine of the called name in a schema off the search path is not called, so it does
not refuse the call (planner/call_shape.py: it was refused, "by a name no other routine
has"); twins of routines with their own search_path likewise.
*/

CREATE SCHEMA ten_a;
CREATE SCHEMA ten_b;
-- a table of the same name with other columns elsewhere (an upsert's unqualified name is
-- the first on the search path: this one was taken into account and the calls refused)
CREATE SCHEMA ten_other;
CREATE TABLE ten_other.items (code text PRIMARY KEY, a int, b int, c int, d int) DISTRIBUTE BY HASH (code);
CREATE TABLE ten_a.items (id int PRIMARY KEY, name text, qty int DEFAULT 0) DISTRIBUTE BY HASH (id);
CREATE TABLE ten_b.items (id int PRIMARY KEY, name text, qty int DEFAULT 0) DISTRIBUTE BY HASH (id);
CREATE FUNCTION ten_a.add_item(i int, n text) RETURNS int LANGUAGE plpgsql AS $$ BEGIN INSERT INTO items (id, name) VALUES (i, n) ON CONFLICT (id) DO UPDATE SET qty = items.qty + 1; RETURN (SELECT count(*) FROM items); END $$;
CREATE FUNCTION ten_b.add_item(i int, n text) RETURNS int LANGUAGE plpgsql AS $$ BEGIN INSERT INTO items (id, name) VALUES (i, n) ON CONFLICT (id) DO UPDATE SET qty = items.qty + 1; RETURN (SELECT count(*) FROM items); END $$;
SET search_path = ten_a;
SELECT add_item(1, 'a1'), add_item(1, 'a1'), add_item(2, 'a2');
SET search_path = ten_b;
SELECT add_item(1, 'b1');
BEGIN;
SET LOCAL search_path = ten_a;
SELECT add_item(3, 'a3');
SELECT count(*) FROM items;
COMMIT;
SELECT count(*) FROM items;
SELECT * FROM ten_a.items ORDER BY id;
SELECT * FROM ten_b.items ORDER BY id;

-- nested: an outer function calls a function with its own search_path, which another
-- tenant's schema has too
CREATE FUNCTION ten_a.inner_fn() RETURNS bigint LANGUAGE plpgsql SET search_path = ten_a AS $$ BEGIN RETURN (SELECT sum(qty) + count(*) FROM items); END $$;
CREATE FUNCTION ten_b.inner_fn() RETURNS bigint LANGUAGE plpgsql SET search_path = ten_b AS $$ BEGIN RETURN (SELECT count(*) FROM items); END $$;
CREATE FUNCTION ten_a.outer_fn() RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN RETURN inner_fn() + 100; END $$;
SET search_path = ten_a;
SELECT outer_fn();
SELECT ten_a.outer_fn();
SELECT ten_b.inner_fn();
SET search_path = ten_b;
SELECT inner_fn();
RESET search_path;
DROP SCHEMA ten_a CASCADE;
DROP SCHEMA ten_b CASCADE;
DROP SCHEMA ten_other CASCADE;
