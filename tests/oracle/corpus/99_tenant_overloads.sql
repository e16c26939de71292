/*
Routines of one name in schema-per-tenant databases: the guard that checks what a
statement's code reaches follows an unqualified call only into routines of the schemas
on the search path the call runs with (executor/routines.py `_callable`, `_run_paths`),
as PostgreSQL resolves it. Before, another tenant's routine of the name was checked too,
and a statement that PostgreSQL runs was refused in its name (0A000 "gridpg cannot run
function tenant_b.order_total(...)").
*/

DROP SCHEMA IF EXISTS tov_a CASCADE;
DROP SCHEMA IF EXISTS tov_b CASCADE;
CREATE SCHEMA tov_a;
CREATE SCHEMA tov_b;
CREATE TABLE tov_a.orders (id int PRIMARY KEY, customer_id int, amount numeric) DISTRIBUTE BY HASH (id);
CREATE TABLE tov_a.customers (id int PRIMARY KEY, name text, total numeric) DISTRIBUTE BY HASH (id);
CREATE TABLE tov_b.items (id bigint PRIMARY KEY, qty int) DISTRIBUTE BY HASH (id);
INSERT INTO tov_a.orders SELECT g, 1 + g % 3, g FROM generate_series(1, 12) g;
INSERT INTO tov_a.customers VALUES (1, 'a', 0), (2, 'b', 0), (3, 'c', 0);
INSERT INTO tov_b.items VALUES (1, 5), (2, 7);
CREATE FUNCTION tov_a.order_total(cid int) RETURNS numeric LANGUAGE plpgsql STABLE AS $$ DECLARE t numeric; BEGIN SELECT sum(amount) INTO t FROM orders WHERE customer_id = cid; RETURN coalesce(t, 0); END $$;
CREATE FUNCTION tov_a.label(cid int) RETURNS text LANGUAGE plpgsql STABLE AS $$ BEGIN RETURN 'c' || cid || '=' || order_total(cid); END $$;
CREATE FUNCTION tov_b.order_total(cid bigint) RETURNS numeric LANGUAGE plpgsql STABLE AS $$ BEGIN RETURN (SELECT sum(qty) FROM tov_b.items WHERE id = cid); END $$;
CREATE FUNCTION tov_b.label(cid bigint) RETURNS text LANGUAGE sql STABLE AS $$ SELECT 'b' || cid $$;

SET search_path = tov_a;
SELECT id, name, order_total(id) FROM customers ORDER BY id;
UPDATE customers SET total = order_total(id) WHERE id = 2;
UPDATE customers SET name = label(id) WHERE id = 3;
SELECT id, name, total FROM customers ORDER BY id;
SELECT label(1), order_total(2);

SET search_path = tov_b;
SELECT order_total(1), label(2);
SELECT id, qty, label(id) FROM items ORDER BY id;
RESET search_path;

DROP SCHEMA tov_a CASCADE;
DROP SCHEMA tov_b CASCADE;
