/*
Exchange choices made by the planner from the datanodes' estimates (planner/estimates.py,
planner/broadcast.py), and the semi-join key tables of reduced repartitions
(executor/exchange.py: keys pumped node to node, read as one sorted array).
Exercises: EXISTS / NOT EXISTS / IN against a filtered anchor, with keys few (reduced) and
many (not reduced), NULL keys on both sides, an empty key set, keys repeated across rows;
the anchor and the moved table both sharded on other columns (ROUNDROBIN logs, MODULO
inventory); repartitions read once per source or once per destination; EXISTS that
PostgreSQL joins (no lookup index) beside EXISTS it runs per row (LIMIT, aggregate, under
OR); parameters in the anchor's filter (PREPARE/EXECUTE); all inside transactions after
uncommitted writes (the keys and the moved rows from them), after a failed statement
rolled back to a savepoint, and read-only transactions.
*/

-- keys few: the anchor's filter cuts hard
SELECT count(*) FROM users u WHERE u.score > 95 AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = u.id);
SELECT count(*) FROM users u WHERE u.score > 95 AND EXISTS (SELECT 1 FROM orders o WHERE o.order_id = u.id);
SELECT u.id FROM users u WHERE u.age = 33 AND NOT EXISTS (SELECT * FROM orders o WHERE o.order_id = u.id) ORDER BY u.id;
SELECT u.id FROM users u WHERE u.age = 33 AND u.id IN (SELECT o.order_id FROM orders o WHERE o.amount > 10) ORDER BY u.id;
SELECT count(*) FROM users u WHERE u.city = 'rome' AND u.age < 40 AND NOT EXISTS (SELECT 1 FROM logs l WHERE l.user_id = u.id AND l.level = 'error');
SELECT u.city, count(*), sum(u.score) FROM users u WHERE u.score > 90 AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.qty = u.id) GROUP BY u.city ORDER BY u.city NULLS FIRST;

-- keys many: the anchor's filter keeps most rows
SELECT count(*) FROM users u WHERE u.id > 0 AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = u.id);
SELECT count(*) FROM users u WHERE u.name <> '' AND EXISTS (SELECT 1 FROM logs l WHERE l.user_id = u.id);
SELECT count(*) FROM users u WHERE u.age IS NOT NULL AND u.id IN (SELECT o.qty FROM orders o);

-- no key at all, and NULLs on either side
SELECT count(*) FROM users u WHERE u.score > 100000 AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = u.id);
SELECT count(*) FROM users u WHERE u.age IS NULL AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.qty = u.id);
SELECT count(*) FROM users u WHERE u.age IS NULL AND u.id NOT IN (SELECT o.qty FROM orders o WHERE o.qty IS NOT NULL);
SELECT count(*) FROM users u WHERE u.score < 5 AND EXISTS (SELECT 1 FROM logs l WHERE l.user_id = u.id AND l.dur_ms IS NULL);

-- EXISTS PostgreSQL runs per row: the copy keeps its lookup index
SELECT count(*) FROM users u WHERE u.score > 80 AND EXISTS (SELECT 1 FROM orders o WHERE o.order_id = u.id LIMIT 1);
SELECT count(*) FROM users u WHERE u.score > 80 AND (u.age < 20 OR EXISTS (SELECT 1 FROM orders o WHERE o.order_id = u.id));
SELECT count(*) FROM users u WHERE u.score > 80 AND EXISTS (SELECT count(*) FROM orders o WHERE o.order_id = u.id HAVING count(*) > 1);

-- the moved table's filter cuts it: one read per source, kept by partition as it loads
SELECT count(*), sum(o.amount) FROM users u JOIN orders o ON o.qty = u.id WHERE o.status = 'new' AND o.amount < 100;
SELECT o.qty, count(*) FROM users u JOIN orders o ON o.qty = u.id WHERE o.amount > 500 AND u.age > 30 GROUP BY o.qty ORDER BY o.qty;
SELECT count(*) FROM inventory i JOIN users u ON u.id = i.inv_id WHERE i.stock < 10;
SELECT count(*) FROM users u JOIN logs l ON l.dur_ms = u.id WHERE l.level = 'warn';

-- parameters in the anchor's filter
PREPARE few_keys(numeric) AS SELECT count(*) FROM users u WHERE u.score > $1 AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = u.id);
EXECUTE few_keys(95);
EXECUTE few_keys(10);
EXECUTE few_keys(1000);
DEALLOCATE few_keys;

-- inside a transaction after uncommitted writes: keys and moved rows from them
BEGIN;
INSERT INTO users (id, name, age, city, score) VALUES (880001, 'kim', 33, 'rome', 99.50), (880002, 'lee', 33, NULL, 99.90);
INSERT INTO orders VALUES (880001, 5, 12.00, 880002, 'new', NULL, NULL, NULL), (7, 880003, 600.00, 7, 'paid', NULL, NULL, NULL);
UPDATE users SET score = 99.99 WHERE id IN (3, 4, 5);
DELETE FROM orders WHERE order_id IN (4, 6);
SELECT count(*) FROM users u WHERE u.score > 95 AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = u.id);
SELECT u.id FROM users u WHERE u.age = 33 AND NOT EXISTS (SELECT * FROM orders o WHERE o.order_id = u.id) ORDER BY u.id;
SELECT u.city, count(*), sum(u.score) FROM users u WHERE u.score > 90 AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.qty = u.id) GROUP BY u.city ORDER BY u.city NULLS FIRST;
SELECT count(*), sum(o.amount) FROM users u JOIN orders o ON o.qty = u.id WHERE o.status = 'new' AND o.amount < 100;
SAVEPOINT s1;
-- error
SELECT count(*) FROM users u WHERE u.score > 95 AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = u.id AND o.qty / (o.qty - o.qty) > 0);
ROLLBACK TO SAVEPOINT s1;
SELECT count(*) FROM users u WHERE u.score > 95 AND EXISTS (SELECT 1 FROM orders o WHERE o.order_id = u.id);
INSERT INTO logs VALUES (880010, 880001, 'error', 'x', NULL, NULL);
SELECT count(*) FROM users u WHERE u.city = 'rome' AND u.age < 40 AND NOT EXISTS (SELECT 1 FROM logs l WHERE l.user_id = u.id AND l.level = 'error');
ROLLBACK;
SELECT count(*) FROM users u WHERE u.score > 95 AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = u.id);

-- a transaction that commits its writes, then reads them back
BEGIN;
INSERT INTO users (id, name, age, score) VALUES (880100, 'max', 33, 98.00);
SELECT u.id FROM users u WHERE u.age = 33 AND NOT EXISTS (SELECT * FROM orders o WHERE o.order_id = u.id) ORDER BY u.id;
COMMIT;
SELECT u.id FROM users u WHERE u.age = 33 AND NOT EXISTS (SELECT * FROM orders o WHERE o.order_id = u.id) ORDER BY u.id;
DELETE FROM users WHERE id = 880100;

-- read-only: no scratch tables on the datanodes, the same rows
BEGIN READ ONLY;
SELECT count(*) FROM users u WHERE u.score > 95 AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = u.id);
SELECT count(*), sum(o.amount) FROM users u JOIN orders o ON o.qty = u.id WHERE o.status = 'new' AND o.amount < 100;
COMMIT;
