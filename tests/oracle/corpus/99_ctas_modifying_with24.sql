/*
CREATE TABLE ... AS whose query has a data-modifying WITH (the archive-while-you-update
pattern of a course over Northwind: mark products discontinued and keep their order lines
in a table of their own). It was refused with 0A000; now the WITH's INSERT/UPDATE/DELETE
run first as steps, and the table is made from the query over their RETURNING rows
(planner/modifying_cte.py), in one transaction. A query that reads a table the WITH
writes, and WITH NO DATA or IF NOT EXISTS (where PostgreSQL runs no part of the query),
stay refused.
*/

DROP SCHEMA IF EXISTS cmw CASCADE;
CREATE SCHEMA cmw;
SET search_path = cmw;
CREATE TABLE products (product_id int PRIMARY KEY, name text, units int, discontinued int DEFAULT 0);
CREATE TABLE order_details (order_id int, product_id int, qty int, PRIMARY KEY (order_id, product_id));
INSERT INTO products SELECT g, 'p' || g, g % 15, 0 FROM generate_series(1, 40) g;
INSERT INTO order_details SELECT o, 1 + (o * 7) % 40, o % 5 FROM generate_series(1, 200) o;

CREATE TABLE last_orders AS
WITH prod_update AS (
    UPDATE products SET discontinued = 1 WHERE units < 4 RETURNING product_id
)
SELECT * FROM order_details WHERE product_id IN (SELECT product_id FROM prod_update);
SELECT count(*), sum(qty) FROM last_orders;
SELECT product_id, count(*) FROM last_orders GROUP BY 1 ORDER BY 1;
SELECT count(*) FROM products WHERE discontinued = 1;

-- a temp table from a DELETE's rows
CREATE TEMP TABLE gone AS
  WITH d AS (DELETE FROM order_details WHERE qty = 0 RETURNING *)
  SELECT order_id, product_id FROM d ORDER BY 1, 2;
SELECT count(*) FROM gone;
SELECT count(*) FROM order_details;

-- in a block: rolled back together
BEGIN;
CREATE TABLE inblock AS WITH i AS (INSERT INTO products VALUES (100, 'new', 1) RETURNING *) SELECT * FROM i;
SELECT count(*) FROM inblock;
ROLLBACK;
SELECT count(*) FROM products WHERE product_id = 100;

-- column names given, an aggregate over the entry
CREATE TABLE moved (n, total) AS
  WITH m AS (UPDATE order_details SET qty = qty + 1 WHERE order_id <= 10 RETURNING qty)
  SELECT count(*), sum(qty) FROM m;
SELECT * FROM moved;
SELECT sum(qty) FROM order_details WHERE order_id <= 10;
RESET search_path;
DROP SCHEMA cmw CASCADE;
