/*
What exchanges push below themselves and what runs first (planner/gather.py,
planner/subplans.py, executor/exchange.py, executor/spool.py).
Exercises: an OR of ANDs over two non-colocated tables (TPC-H Q19's shape) whose per-table
parts are pushed as the OR of each disjunct's own conjuncts (NULLs in the columns, IS NULL
in a disjunct, a disjunct that says nothing of one table, OR in a LEFT JOIN's ON, NOT over
an OR); uncorrelated IN subqueries small enough to run first (NULLs in their rows, NOT IN,
row comparisons, = ANY / < ANY, DISTINCT and LIMIT inside, nested IN, an empty result);
IN lists over replicated tables used as filters below an exchange; semi-join reduction of
a repartitioned table (EXISTS / NOT EXISTS against a filtered anchor, NULL keys); all of
it again inside transactions after uncommitted writes, a failed statement and a savepoint.
*/

-- an OR of ANDs over two tables that are not colocated on the join column
SELECT count(*), sum(o.amount) FROM users u, orders o WHERE (o.order_id = u.id AND u.age < 30 AND o.status = 'paid') OR (o.order_id = u.id AND u.city = 'oslo' AND o.amount > 100);
SELECT u.id, o.order_id FROM users u, orders o WHERE (o.order_id = u.id AND u.age BETWEEN 20 AND 25 AND o.qty < 5) OR (o.order_id = u.id AND u.age > 70 AND o.qty >= 5) ORDER BY u.id, o.order_id;
SELECT count(*) FROM users u, orders o WHERE (o.order_id = u.id AND u.note IS NULL AND o.status IN ('new', 'paid')) OR (o.order_id = u.id AND u.active AND o.note IS NULL);
SELECT count(*) FROM users u, orders o WHERE (o.order_id = u.id AND u.age < 40) OR (o.order_id = u.id AND o.amount < 50);
SELECT count(*) FROM users u, orders o WHERE o.order_id = u.id AND (u.age < 30 OR o.amount > 900);
SELECT count(*) FROM users u, orders o WHERE o.order_id = u.id AND ((u.age < 30 AND o.qty > 2) OR (u.score > 50 AND o.weight < 10) OR (u.city IS NULL AND o.status IS NULL));
SELECT count(*) FROM users u JOIN orders o ON o.order_id = u.id WHERE NOT ((u.age < 30 AND o.qty > 2) OR (u.age >= 30 AND o.qty <= 2));
SELECT u.city, count(o.order_id) FROM users u LEFT JOIN orders o ON o.order_id = u.id AND ((o.status = 'paid' AND u.age < 50) OR (o.status = 'new' AND u.age >= 50)) GROUP BY u.city ORDER BY u.city NULLS FIRST;
SELECT count(*) FROM users u, logs l WHERE (l.user_id = u.id AND l.level = 'error' AND u.age < 50) OR (l.user_id = u.id AND l.level = 'warn' AND u.city = 'rome') OR (l.user_id = u.id AND l.dur_ms IS NULL);
SELECT sum(o.amount * (1 - o.weight / 1000)) FROM orders o, users u WHERE (u.id = o.order_id AND u.name LIKE 'a%' AND o.qty BETWEEN 1 AND 5 AND o.status IN ('paid', 'shipped')) OR (u.id = o.order_id AND u.name LIKE 'b%' AND o.qty BETWEEN 3 AND 8 AND o.status IN ('paid', 'shipped')) OR (u.id = o.order_id AND u.name LIKE 'c%' AND o.qty BETWEEN 5 AND 10 AND o.status IN ('paid', 'shipped'));
SELECT count(*) FROM users u, orders o WHERE (o.order_id = u.id AND coalesce(u.age, -1) = -1) OR (o.order_id = u.id AND o.qty IS NULL);
SELECT count(*) FROM users u, inventory i WHERE (i.inv_id = u.id AND i.warehouse = 'w1' AND u.age < 30) OR (i.inv_id = u.id AND i.warehouse = 'w2' AND u.age > 60);
SELECT count(*) FROM users u, orders o WHERE (o.order_id = u.id AND u.age < 30) OR (o.user_id = u.id AND o.amount > 990);

-- small uncorrelated IN subqueries run first, their rows on every node
SELECT count(*) FROM users u JOIN logs l ON l.log_id = u.id WHERE u.id IN (SELECT user_id FROM orders WHERE amount > 900);
SELECT u.id FROM users u JOIN orders o ON o.order_id = u.id WHERE u.id IN (SELECT l.user_id FROM logs l WHERE l.level = 'error' AND l.dur_ms > 500) ORDER BY u.id, o.order_id;
SELECT count(*) FROM users u JOIN orders o ON o.order_id = u.id WHERE u.id NOT IN (SELECT l.user_id FROM logs l WHERE l.level = 'error');
SELECT count(*) FROM users u JOIN orders o ON o.order_id = u.id WHERE u.id NOT IN (SELECT l.user_id FROM logs l WHERE l.level = 'error' AND l.user_id IS NOT NULL);
SELECT count(*) FROM users u JOIN orders o ON o.order_id = u.id WHERE u.age IN (SELECT qty FROM orders WHERE status = 'new' AND qty IS NULL);
SELECT count(*) FROM users u JOIN orders o ON o.order_id = u.id WHERE (u.id, u.age) IN (SELECT user_id, qty FROM orders WHERE amount > 500);
SELECT count(*) FROM users u JOIN orders o ON o.order_id = u.id WHERE u.age = ANY (SELECT qty * 10 FROM orders WHERE status = 'paid' AND amount > 800);
SELECT count(*) FROM users u JOIN orders o ON o.order_id = u.id WHERE u.age < ANY (SELECT dur_ms / 10 FROM logs WHERE level = 'warn');
SELECT count(*) FROM users u JOIN orders o ON o.order_id = u.id WHERE u.id IN (SELECT DISTINCT user_id FROM orders WHERE qty > 8);
SELECT count(*) FROM users u JOIN orders o ON o.order_id = u.id WHERE u.id IN (SELECT user_id FROM orders WHERE qty > 8 ORDER BY amount DESC, order_id LIMIT 7);
SELECT count(*) FROM users u JOIN orders o ON o.order_id = u.id WHERE u.id IN (SELECT user_id FROM orders WHERE order_id IN (SELECT log_id FROM logs WHERE level = 'debug'));
SELECT count(*) FROM users u JOIN orders o ON o.order_id = u.id WHERE u.id IN (SELECT user_id FROM orders WHERE amount < 0);
SELECT count(*) FROM users u JOIN orders o ON o.order_id = u.id WHERE u.id NOT IN (SELECT user_id FROM orders WHERE amount < 0);
SELECT u.city, count(*) FROM users u JOIN logs l ON l.log_id = u.id WHERE l.user_id IN (SELECT id FROM users WHERE age > 65) GROUP BY u.city ORDER BY u.city NULLS FIRST;
SELECT s_id FROM (SELECT u.id AS s_id FROM users u JOIN orders o ON o.order_id = u.id WHERE o.status IN (SELECT status FROM orders WHERE amount > 995)) x ORDER BY s_id;
SELECT count(*) FROM users u JOIN orders o ON o.order_id = u.id WHERE u.id IN (SELECT count(*)::int FROM logs GROUP BY level);

-- IN lists over replicated tables filter below the exchange
SELECT count(*), sum(o.amount) FROM users u JOIN orders o ON o.order_id = u.id WHERE u.city IN (SELECT city FROM cities WHERE coastal);
SELECT count(*) FROM users u JOIN orders o ON o.order_id = u.id WHERE u.city NOT IN (SELECT city FROM cities WHERE coastal);
SELECT count(*) FROM users u JOIN orders o ON o.order_id = u.id WHERE u.city IN (SELECT city FROM cities) AND o.status IN (SELECT 'paid' UNION SELECT 'new');
SELECT count(*) FROM users u JOIN logs l ON l.log_id = u.id WHERE u.city IN (SELECT city FROM cities WHERE country_code IN (SELECT code FROM countries WHERE region = 'europe'));

-- semi-join reduction of a repartitioned table
SELECT count(*) FROM users u WHERE u.age > 60 AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = u.id);
SELECT count(*) FROM users u WHERE u.age > 60 AND EXISTS (SELECT 1 FROM orders o WHERE o.order_id = u.id AND o.status <> 'cancelled');
SELECT count(*) FROM users u WHERE u.city = 'oslo' AND NOT EXISTS (SELECT 1 FROM logs l WHERE l.user_id = u.id);
SELECT u.id FROM users u WHERE u.score > 90 AND u.id IN (SELECT order_id FROM orders WHERE qty > 3) ORDER BY u.id;
SELECT count(*) FROM users u JOIN orders o ON o.order_id = u.id WHERE u.age IS NULL;
SELECT sub.c, count(*) FROM (SELECT substring(u.name from 1 for 1) AS c FROM users u WHERE u.score > (SELECT avg(score) FROM users WHERE score > 0) AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = u.id)) sub GROUP BY sub.c ORDER BY sub.c;

-- conjuncts a moved copy's filter applied read true over it; their columns stay behind
SELECT c_count, count(*) AS custdist FROM (SELECT u.id, count(o.order_id) FROM users u LEFT OUTER JOIN orders o ON o.qty = u.id AND o.note NOT LIKE '%a%b%' GROUP BY u.id) AS c_orders (id, c_count) GROUP BY c_count ORDER BY custdist DESC, c_count DESC;
SELECT c, count(*) FROM (SELECT u.id, count(o.order_id) AS c FROM users u LEFT JOIN orders o ON o.order_id = u.id AND o.note IS NULL AND o.status <> 'new' GROUP BY u.id) x GROUP BY c ORDER BY c;
SELECT count(*), sum(u.age) FROM users u JOIN orders o ON o.order_id = u.id WHERE o.status = 'paid' AND o.weight > 1 AND u.city IS NOT NULL;
SELECT u.id, o.amount FROM users u JOIN orders o ON o.order_id = u.id WHERE coalesce(o.note, '') = '' AND o.qty BETWEEN 2 AND 4 ORDER BY u.id, o.amount;
SELECT count(*) FROM users u WHERE EXISTS (SELECT 1 FROM orders o WHERE o.order_id = u.id AND o.status = 'shipped' AND o.created > '2023-01-01');
SELECT count(*) FROM orders o1 JOIN orders o2 ON o2.order_id = o1.qty WHERE o1.status = 'paid' AND o2.status = 'new';
SELECT count(*) FROM users u JOIN logs l ON l.user_id = u.id WHERE l.level = 'error' AND l.msg IS NOT NULL AND u.age > 40;

-- a repartitioned move its filter cuts hard, split as it loads on each node
SELECT count(*), sum(o.amount) FROM users u JOIN orders o ON o.qty = u.id WHERE o.status = 'cancelled' AND o.amount > 900;
SELECT o.qty, count(*) FROM users u JOIN orders o ON o.qty = u.id WHERE o.amount < 20 GROUP BY o.qty ORDER BY o.qty NULLS FIRST;

-- inside transactions, after uncommitted writes
BEGIN;
INSERT INTO orders VALUES (910001, 1, 999.50, NULL, 'paid', '2024-02-01 00:00:00+00', NULL, NULL), (1, 910002, 10.00, 3, 'paid', NULL, 1.0, 'x');
INSERT INTO logs VALUES (920001, NULL, 'error', 'm', NULL, 900), (1, 2, 'error', 'm', NULL, 901);
UPDATE users SET age = NULL, city = 'oslo' WHERE id IN (1, 2, 3);
SELECT count(*), sum(o.amount) FROM users u, orders o WHERE (o.order_id = u.id AND u.age < 30 AND o.status = 'paid') OR (o.order_id = u.id AND u.city = 'oslo' AND o.amount > 100);
SELECT count(*) FROM users u, orders o WHERE (o.order_id = u.id AND coalesce(u.age, -1) = -1) OR (o.order_id = u.id AND o.qty IS NULL);
SELECT count(*) FROM users u JOIN logs l ON l.log_id = u.id WHERE u.id IN (SELECT user_id FROM orders WHERE amount > 900);
SELECT count(*) FROM users u JOIN orders o ON o.order_id = u.id WHERE u.id NOT IN (SELECT l.user_id FROM logs l WHERE l.level = 'error');
SELECT count(*) FROM users u JOIN orders o ON o.order_id = u.id WHERE u.id NOT IN (SELECT l.user_id FROM logs l WHERE l.level = 'error' AND l.user_id IS NOT NULL);
SELECT count(*) FROM users u WHERE u.city = 'oslo' AND NOT EXISTS (SELECT 1 FROM logs l WHERE l.user_id = u.id);
SELECT count(*) FROM users u WHERE u.age IS NULL AND EXISTS (SELECT 1 FROM orders o WHERE o.order_id = u.id);
SAVEPOINT s1;
-- error
SELECT count(*) FROM users u JOIN orders o ON o.order_id = u.id WHERE u.id IN (SELECT 1 / (qty - qty) FROM orders WHERE amount > 999);
ROLLBACK TO SAVEPOINT s1;
DELETE FROM orders WHERE amount > 990;
SELECT count(*) FROM users u JOIN logs l ON l.log_id = u.id WHERE u.id IN (SELECT user_id FROM orders WHERE amount > 900);
SELECT count(*), sum(o.amount) FROM users u JOIN orders o ON o.order_id = u.id WHERE u.city IN (SELECT city FROM cities WHERE coastal);
SELECT c_count, count(*) AS custdist FROM (SELECT u.id, count(o.order_id) FROM users u LEFT OUTER JOIN orders o ON o.qty = u.id AND o.note NOT LIKE '%a%b%' GROUP BY u.id) AS c_orders (id, c_count) GROUP BY c_count ORDER BY custdist DESC, c_count DESC;
SELECT count(*), sum(o.amount) FROM users u JOIN orders o ON o.qty = u.id WHERE o.status = 'cancelled' AND o.amount > 900;
ROLLBACK;
SELECT count(*) FROM users u JOIN logs l ON l.log_id = u.id WHERE u.id IN (SELECT user_id FROM orders WHERE amount > 900);
SELECT count(*), sum(o.amount) FROM users u, orders o WHERE (o.order_id = u.id AND u.age < 30 AND o.status = 'paid') OR (o.order_id = u.id AND u.city = 'oslo' AND o.amount > 100);

BEGIN;
UPDATE orders SET qty = NULL WHERE order_id % 7 = 0;
INSERT INTO users (id, name, age, city) VALUES (990001, 'zed', NULL, NULL);
INSERT INTO orders VALUES (990001, 5, 1.00, NULL, NULL, NULL, NULL, NULL);
SELECT count(*) FROM users u, orders o WHERE (o.order_id = u.id AND u.age IS NULL) OR (o.order_id = u.id AND o.qty IS NULL AND o.status = 'paid');
SELECT count(*) FROM users u JOIN orders o ON o.order_id = u.id WHERE u.age IN (SELECT qty FROM orders WHERE status = 'new' AND qty IS NULL);
SELECT count(*) FROM users u WHERE u.age IS NULL AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = u.id);
COMMIT;
SELECT count(*) FROM users u, orders o WHERE (o.order_id = u.id AND u.age IS NULL) OR (o.order_id = u.id AND o.qty IS NULL AND o.status = 'paid');
DELETE FROM orders WHERE order_id = 990001;
DELETE FROM users WHERE id = 990001;
