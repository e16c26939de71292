/*
INSERT ... RETURNING with a sub-select over a distributed table (h-returning28). Refused
(0A000) before: the INSERT ran on the node of each row and its sub-select would read that
node's rows only. It now runs as a data-modifying WITH (executor/returning_reads.py): the
INSERT routed as any, the RETURNING list evaluated over its rows by the cluster's planner,
with the statement's snapshot (the written table as it was before the write). UPDATE and
DELETE ... RETURNING with sub-selects are checked beside them.
*/
CREATE SCHEMA oracle_ret28;
CREATE TABLE oracle_ret28.users (id int PRIMARY KEY, name text);
CREATE TABLE oracle_ret28.orders (id int PRIMARY KEY, user_id int, total numeric(8,2));
CREATE TABLE oracle_ret28.items (id int PRIMARY KEY, order_id int, q int);
INSERT INTO oracle_ret28.users SELECT g, 'u' || g FROM generate_series(1, 20) g;
INSERT INTO oracle_ret28.orders SELECT g, g % 20 + 1, g * 1.5 FROM generate_series(1, 40) g;
INSERT INTO oracle_ret28.items SELECT g, g % 40 + 1, g FROM generate_series(1, 200) g;
SET search_path TO oracle_ret28, public;
BEGIN;
INSERT INTO orders (id, user_id, total) VALUES (101, 7, 10) RETURNING id, (SELECT name FROM users WHERE users.id = orders.user_id);
-- ordered
INSERT INTO orders AS o (id, user_id, total) VALUES (105, 3, 1), (102, 17, 2), (109, 11, 3), (103, 1, 4) RETURNING *, (SELECT name FROM users u WHERE u.id = o.user_id) AS who, (SELECT count(*) FROM orders), (SELECT sum(q) FROM items i WHERE i.order_id = o.id - 100);
-- ordered
INSERT INTO orders (id, user_id, total) SELECT 200 + id, id, id FROM users WHERE id <= 5 ORDER BY id DESC RETURNING total, (SELECT count(*) FROM items WHERE items.order_id = orders.user_id), (SELECT max(id) FROM orders);
INSERT INTO orders (id, user_id, total) VALUES (101, 8, 10), (110, 8, 10) ON CONFLICT (id) DO NOTHING RETURNING id, (SELECT name FROM users WHERE users.id = orders.user_id);
WITH w AS (SELECT 3 AS k) INSERT INTO orders (id, user_id, total) SELECT 300 + k, k, k FROM w RETURNING (SELECT array_agg(id ORDER BY id) FROM items WHERE items.order_id = orders.user_id) AS item_ids, user_id;
SELECT count(*), sum(total) FROM orders;
UPDATE orders SET total = total + 1 WHERE id = 4 RETURNING id, total, (SELECT count(*) FROM items WHERE items.order_id = orders.id), (SELECT sum(total) FROM orders);
UPDATE orders SET total = total + 1 WHERE id < 10 RETURNING id, (SELECT count(*) FROM items WHERE items.order_id = orders.id), (SELECT sum(total) FROM orders);
DELETE FROM orders WHERE id = 12 RETURNING id, (SELECT name FROM users WHERE users.id = orders.user_id), (SELECT count(*) FROM orders);
DELETE FROM orders WHERE id BETWEEN 20 AND 25 RETURNING id, (SELECT count(*) FROM items WHERE items.order_id = orders.id), (SELECT count(*) FROM orders);
ROLLBACK;
INSERT INTO orders (id, user_id, total) VALUES (120, 9, 10) RETURNING id, (SELECT name FROM users WHERE users.id = orders.user_id);
SELECT id, user_id, total FROM orders WHERE id >= 100 ORDER BY id;
-- INSERT ... SELECT of no columns: rows of the table's defaults, as many as the SELECT returns
CREATE TABLE oracle_ret28.dflt (a serial, b int DEFAULT 7, c timestamptz DEFAULT now(), d text, k int DEFAULT 1);
INSERT INTO dflt SELECT FROM generate_series(1, 3);
INSERT INTO dflt SELECT FROM orders WHERE id <= 10 RETURNING b, c = now(), d, k;
INSERT INTO dflt SELECT FROM orders WHERE false RETURNING b;
INSERT INTO dflt SELECT FROM generate_series(1, 2) UNION ALL SELECT FROM users WHERE id > 15 RETURNING b, (SELECT count(*) FROM dflt);
WITH x AS (SELECT g FROM generate_series(1, 4) g) INSERT INTO dflt SELECT FROM x, users WHERE users.id = x.g RETURNING k, (SELECT count(*) FROM users WHERE users.id < dflt.k + 3);
SELECT count(*), count(DISTINCT a), min(b), max(b), count(d), sum(k) FROM dflt;
-- ON CONFLICT on a table whose BEFORE ROW INSERT triggers reach other distributed tables
-- (the coordinator fires them on each proposed row, then the rows go with the ON CONFLICT)
CREATE TABLE oracle_ret28.prices (sku int PRIMARY KEY, price numeric);
CREATE TABLE oracle_ret28.lines (id int PRIMARY KEY, sku int, price numeric, note text);
CREATE TABLE oracle_ret28.audit (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, line_id int, what text);
INSERT INTO oracle_ret28.prices SELECT g, g * 10 FROM generate_series(1, 10) g;
CREATE FUNCTION oracle_ret28.fill_price() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.sku < 0 THEN RETURN NULL; END IF; NEW.price := (SELECT p.price FROM oracle_ret28.prices p WHERE p.sku = NEW.sku); INSERT INTO oracle_ret28.audit (line_id, what) VALUES (NEW.id, 'ins ' || NEW.sku); RETURN NEW; END $$;
CREATE TRIGGER lines_fill BEFORE INSERT ON oracle_ret28.lines FOR EACH ROW EXECUTE FUNCTION oracle_ret28.fill_price();
INSERT INTO lines (id, sku) VALUES (1, 1), (2, 2), (3, 3);
INSERT INTO lines (id, sku) VALUES (1, 5), (4, 4), (5, -1) ON CONFLICT (id) DO NOTHING RETURNING *;
-- ordered
INSERT INTO lines AS l (id, sku) VALUES (2, 6), (6, 7) ON CONFLICT (id) DO UPDATE SET price = excluded.price, note = 'upd ' || l.sku || ' ' || excluded.sku RETURNING *;
INSERT INTO lines (id, sku) VALUES (3, 8) ON CONFLICT DO NOTHING;
INSERT INTO lines (id, sku) VALUES (7, 9), (7, 10) ON CONFLICT (id) DO NOTHING RETURNING id, price;
-- error
INSERT INTO lines (id, sku) VALUES (8, 1), (8, 2) ON CONFLICT (id) DO UPDATE SET note = 'twice';
INSERT INTO lines (id, sku) VALUES (4, 2) ON CONFLICT (id) DO UPDATE SET note = 'kept' WHERE lines.price > 100 RETURNING id;
SELECT * FROM lines ORDER BY id;
SELECT line_id, what FROM audit ORDER BY id;
