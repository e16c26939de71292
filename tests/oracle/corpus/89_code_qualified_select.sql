/*
A SELECT calling functions that read distributed tables, where the function or the query
itself names the tables with their schema ("Shop".orders), views calling such functions
(over distributed tables or over none), and DECLARE CURSOR over such a SELECT, inside
transactions that commit and that roll back. The statement runs whole on the catalog
server with the loopback armed: its own schema-qualified names name the tables' shadow
schemas (executor/twins.redirect_statement), views calling code are inlined
(executor/routines._inline_code_views), and a cursor is declared over the query's rows
(executor/prepared.declare_cursor). Before, each of these was refused with 0A000.
*/

DROP SCHEMA IF EXISTS "Shop" CASCADE;
CREATE SCHEMA "Shop";
CREATE TABLE "Shop".orders (id int PRIMARY KEY, "Customer" text NOT NULL, total numeric(10, 2)) DISTRIBUTE BY HASH (id);
CREATE TABLE "Shop"."Order Lines" (order_id int, line int, qty int) DISTRIBUTE BY HASH (order_id);
CREATE TABLE "Shop".price_list (sku text PRIMARY KEY, price numeric(8, 2)) DISTRIBUTE BY REPLICATION;
INSERT INTO "Shop".orders SELECT g, 'cust' || (g % 4), g * 10 FROM generate_series(1, 20) g;
INSERT INTO "Shop"."Order Lines" SELECT g % 20 + 1, g, g % 7 FROM generate_series(1, 60) g;
INSERT INTO "Shop".price_list VALUES ('a', 1.50), ('b', 2.25), ('c''s', 9.99);

-- a SQL function naming its table with the schema
CREATE FUNCTION "Shop".order_total(o int) RETURNS numeric LANGUAGE sql STABLE AS $$ SELECT total FROM "Shop".orders WHERE id = o $$;
-- a PL/pgSQL function reading a quoted table name with a space in it
CREATE FUNCTION "Shop".line_qty(o int) RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE n bigint;  -- sum of the order's quantities, 0 when it has no lines
BEGIN
  SELECT coalesce(sum(l.qty), 0) INTO n FROM "Shop"."Order Lines" AS l WHERE l.order_id = o;  -- its lines
  RETURN n;  -- done
END $$;
-- a function in the default schema reading the other schema's tables
CREATE FUNCTION cust_orders(c text) RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM "Shop".orders WHERE "Customer" = c $$;
CREATE FUNCTION "Shop".price_of(s text) RETURNS numeric LANGUAGE sql STABLE AS $$ SELECT price FROM "Shop".price_list WHERE sku = s $$;

SELECT "Shop".order_total(3), "Shop".line_qty(5), cust_orders('cust1'), "Shop".price_of('c''s');
-- the query names the tables with their schema and calls the functions
SELECT id, "Shop".line_qty(id) FROM "Shop".orders WHERE id <= 5 ORDER BY id;
SELECT o."Customer", cust_orders(o."Customer") AS n FROM "Shop".orders o WHERE o.id < 6 ORDER BY 1, 2;
SELECT o.id, o.total, "Shop".line_qty(o.id) AS q FROM "Shop".orders AS o JOIN "Shop"."Order Lines" AS l ON l.order_id = o.id WHERE l.line = 7;
SELECT count(*) FROM "Shop".orders WHERE "Shop".line_qty(id) > 8;
SELECT "Customer", sum("Shop".line_qty(id)) FROM "Shop".orders GROUP BY "Customer" ORDER BY "Customer";
SELECT /* a comment */ "Shop" . order_total(2) + (SELECT max(total) FROM "Shop"."orders");

-- views calling such functions: over no table, over the distributed table, a view over a view
CREATE VIEW order_summary AS SELECT id, "Shop".line_qty(id) AS qty FROM generate_series(1, 4) id;
CREATE VIEW "Shop"."Big Orders" AS SELECT o.id, o.total, "Shop".line_qty(o.id) AS q FROM "Shop".orders o WHERE o.total > 150;
CREATE VIEW big_order_ids AS SELECT id FROM "Shop"."Big Orders" WHERE q > 3;
SELECT * FROM order_summary ORDER BY id;
SELECT * FROM "Shop"."Big Orders" ORDER BY id;
SELECT * FROM big_order_ids ORDER BY id;
SELECT s.id, s.qty, o.total FROM order_summary s JOIN "Shop".orders o ON o.id = s.id ORDER BY s.id;

-- a transaction that rolls back: the function sees the block's own writes, then they are gone
BEGIN;
INSERT INTO "Shop"."Order Lines" VALUES (3, 1000, 100);
UPDATE "Shop".orders SET total = 999 WHERE id = 3;
SELECT "Shop".line_qty(3), "Shop".order_total(3);
SELECT * FROM "Shop"."Big Orders" WHERE id = 3;
DECLARE c CURSOR FOR SELECT id, "Shop".line_qty(id) AS q FROM "Shop".orders WHERE id <= 4 ORDER BY id;
FETCH 2 FROM c;
FETCH ALL FROM c;
MOVE BACKWARD ALL IN c;
FETCH 1 FROM c;
CLOSE c;
DECLARE "My Cursor" CURSOR FOR SELECT * FROM order_summary ORDER BY id DESC;
FETCH FORWARD 3 FROM "My Cursor";
CLOSE "My Cursor";
ROLLBACK;
SELECT "Shop".line_qty(3), "Shop".order_total(3);

-- a transaction that commits
BEGIN;
DELETE FROM "Shop"."Order Lines" WHERE order_id = 4;
DECLARE big CURSOR FOR SELECT * FROM "Shop"."Big Orders" ORDER BY id;
FETCH 3 FROM big;
SELECT * FROM order_summary ORDER BY id;
COMMIT;
SELECT * FROM order_summary ORDER BY id;
SELECT id, "Shop".line_qty(id) FROM "Shop".orders WHERE id BETWEEN 3 AND 5 ORDER BY id;

-- errors stay PostgreSQL's
-- error
DECLARE outside CURSOR FOR SELECT id, "Shop".line_qty(id) FROM "Shop".orders;
-- error
SELECT "Shop".line_qty('x');

\connect 2
SELECT id, "Shop".line_qty(id) FROM "Shop".orders WHERE id <= 3 ORDER BY id;
SELECT * FROM "Shop"."Big Orders" ORDER BY id;
DROP SCHEMA "Shop" CASCADE;
