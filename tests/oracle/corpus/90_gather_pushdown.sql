/*
Coordinator finish and exchanges with pushed-down projections and filters.
Exercises: non-colocated joins (HASH int vs ROUNDROBIN, vs MODULO, vs HASH text, HASH
tables joined on other columns), subqueries, CTEs, set operations and window functions
over them, with WHERE/ON conditions that filter one table (pushed into what is gathered or
broadcast) and conditions that must NOT be pushed: tests on the nullable side of outer
joins (IS NULL, COALESCE, IS DISTINCT FROM), ON conditions on the preserved side, FULL
joins, correlated and uncorrelated subqueries, volatile functions, the same table read
twice with different filters, NATURAL joins, column alias lists, whole-row references.
*/

-- inner joins, filters on either side
SELECT u.id, l.log_id, l.level FROM users u JOIN logs l ON l.user_id = u.id WHERE l.level = 'error' AND u.age > 60;
SELECT u.city, count(*) FROM users u JOIN logs l ON l.user_id = u.id WHERE l.dur_ms BETWEEN 100 AND 900 GROUP BY u.city;
SELECT l.log_id, i.inv_id FROM logs l JOIN inventory i ON i.item_id = l.user_id WHERE i.warehouse IN ('w1', 'w3') AND l.level <> 'debug' AND l.dur_ms IS NOT NULL;
SELECT u.id, o.order_id FROM users u JOIN orders o ON o.qty = u.id WHERE u.active AND o.status = 'paid';
SELECT count(*), sum(o.amount) FROM orders o JOIN logs l ON l.log_id = o.order_id WHERE l.msg LIKE 'user%' AND o.amount > 1000;
SELECT u.name, l.msg FROM users u, logs l WHERE u.id = l.user_id AND lower(l.msg) LIKE '%timeout%' AND substring(u.name from 1 for 2) = 'u0' ORDER BY u.name, l.log_id;
SELECT u.id, l.log_id FROM users u JOIN logs l ON l.user_id = u.id AND l.level = 'warn' WHERE u.city = 'oslo';
SELECT u.id, l.log_id FROM users u JOIN logs l ON l.user_id = u.id WHERE (l.level = 'warn' OR u.age < 20) AND u.score > 10;
SELECT u.id, l.log_id FROM users u JOIN logs l ON l.user_id = u.id WHERE CASE WHEN l.dur_ms > 2500 THEN 'slow' ELSE 'fast' END = 'slow' AND u.id % 3 = 0;
SELECT u.id, l.log_id FROM users u JOIN logs l ON l.user_id = u.id WHERE coalesce(l.dur_ms, -1) < 0;
SELECT u.id, l.log_id FROM users u JOIN logs l ON l.user_id = u.id WHERE NOT (l.level = 'info') AND u.email IS NULL;
SELECT e.device, l.log_id FROM events e JOIN logs l ON l.log_id = e.ev_id % 1000 WHERE e.kind = 'click' AND l.level IN ('error', 'warn');

-- outer joins: conditions that may and may not be pushed
SELECT u.id, l.log_id FROM users u LEFT JOIN logs l ON l.user_id = u.id WHERE l.level IS NULL;
SELECT u.id, l.log_id FROM users u LEFT JOIN logs l ON l.user_id = u.id WHERE coalesce(l.level, 'none') = 'none';
SELECT u.id, l.log_id FROM users u LEFT JOIN logs l ON l.user_id = u.id WHERE l.level IS DISTINCT FROM 'error' AND u.id < 40;
SELECT u.id, l.log_id FROM users u LEFT JOIN logs l ON l.user_id = u.id AND u.age > 50;
SELECT u.id, l.log_id, l.level FROM users u LEFT JOIN logs l ON l.user_id = u.id AND l.level = 'error' WHERE u.id <= 100;
SELECT u.id FROM users u LEFT JOIN logs l ON l.user_id = u.id AND l.level = 'error' WHERE l.log_id IS NULL;
SELECT u.id, l.log_id FROM logs l RIGHT JOIN users u ON l.user_id = u.id AND l.dur_ms > 4000 WHERE u.city = 'lima';
SELECT u.id, l.log_id FROM logs l RIGHT JOIN users u ON l.user_id = u.id WHERE l.dur_ms IS NULL AND u.id > 480;
SELECT u.id, l.log_id FROM users u FULL JOIN logs l ON l.user_id = u.id AND l.level = 'info' AND u.age > 30;
SELECT u.id, l.log_id FROM users u FULL JOIN logs l ON l.user_id = u.id WHERE u.id IS NULL OR l.level = 'debug';
SELECT u.id, l.log_id, i.inv_id FROM users u LEFT JOIN logs l ON l.user_id = u.id LEFT JOIN inventory i ON i.item_id = l.log_id AND i.stock > 10 WHERE u.id < 30 AND i.warehouse IS NULL;
SELECT u.id, x.log_id FROM users u LEFT JOIN (logs l JOIN inventory i ON i.item_id = l.log_id) AS x ON x.user_id = u.id WHERE u.id < 50 AND x.warehouse IS NULL;
SELECT u.id, l.log_id FROM users u LEFT JOIN (logs l JOIN inventory i ON i.item_id = l.log_id AND i.stock > 50) ON l.user_id = u.id AND l.level = 'error' WHERE u.age > 70;

-- the same table twice, different filters
SELECT a.log_id, b.log_id FROM logs a JOIN logs b ON b.log_id = a.log_id + 1 WHERE a.level = 'error' AND b.level = 'info';
SELECT a.log_id FROM logs a JOIN users u ON u.id = a.user_id JOIN logs b ON b.user_id = u.id WHERE a.level = 'error' AND b.dur_ms > 4500;
SELECT l.log_id FROM logs l JOIN users u ON u.id = l.user_id WHERE l.level = 'error' AND EXISTS (SELECT 1 FROM logs l2 WHERE l2.user_id = l.user_id AND l2.level = 'debug');
SELECT l.log_id FROM logs l JOIN users u ON u.id = l.user_id WHERE l.level = 'warn' AND NOT EXISTS (SELECT 1 FROM logs l2 WHERE l2.user_id = l.user_id AND l2.log_id <> l.log_id);

-- subqueries: correlated (unqualified outer columns), uncorrelated aggregates, IN
SELECT id, name FROM users WHERE age > (SELECT avg(dur_ms) / 100 FROM logs WHERE user_id = id) ORDER BY id;
SELECT id FROM users WHERE id IN (SELECT user_id FROM logs WHERE level = 'error' AND dur_ms < 200) AND city <> 'rome';
SELECT id FROM users WHERE id NOT IN (SELECT item_id FROM inventory WHERE item_id IS NOT NULL) AND id < 60;
SELECT id FROM users WHERE id NOT IN (SELECT user_id FROM logs) AND id < 60;
SELECT log_id FROM logs WHERE dur_ms > (SELECT avg(dur_ms) FROM logs) AND level = 'error';
SELECT log_id FROM logs l WHERE l.dur_ms > (SELECT max(age) FROM users WHERE users.id = l.user_id) * 60 AND l.level = 'info';
SELECT u.id, (SELECT count(*) FROM logs WHERE logs.user_id = u.id AND logs.level = 'error') FROM users u WHERE u.id < 40;
SELECT s.uid, s.n FROM (SELECT user_id AS uid, count(*) AS n FROM logs WHERE level <> 'debug' GROUP BY user_id) s JOIN users u ON u.id = s.uid WHERE s.n > 2 AND u.age > 40;
SELECT x.id FROM (SELECT id, age AS dur FROM users) x JOIN logs ON logs.user_id = x.id WHERE dur > 60 AND level = 'info';
SELECT x.level, count(*) FROM (SELECT l.level, u.city FROM logs l JOIN users u ON u.id = l.user_id WHERE u.city IN ('oslo', 'paris')) x GROUP BY x.level;

-- CTEs
WITH errs AS (SELECT * FROM logs WHERE level = 'error') SELECT u.city, count(*) FROM errs JOIN users u ON u.id = errs.user_id GROUP BY u.city;
WITH big AS (SELECT item_id, sum(stock) AS s FROM inventory WHERE warehouse = 'w2' GROUP BY item_id) SELECT l.log_id, big.s FROM logs l JOIN big ON big.item_id = l.log_id WHERE l.level = 'debug';
WITH u AS (SELECT id, city FROM users WHERE age < 30), l AS (SELECT user_id FROM logs WHERE dur_ms < 500) SELECT u.city, count(*) FROM u JOIN l ON l.user_id = u.id GROUP BY u.city;
WITH RECURSIVE chain(id, depth) AS (SELECT id, 0 FROM users WHERE id = 1 UNION ALL SELECT l.log_id, c.depth + 1 FROM chain c JOIN logs l ON l.user_id = c.id WHERE c.depth < 2 AND l.level = 'info') SELECT count(*), max(depth) FROM chain;

-- set operations
SELECT user_id FROM logs WHERE level = 'error' UNION SELECT id FROM users WHERE age > 75;
SELECT user_id FROM logs WHERE level = 'error' INTERSECT SELECT user_id FROM orders WHERE status = 'paid';
SELECT item_id FROM inventory WHERE warehouse = 'w1' EXCEPT SELECT user_id FROM logs WHERE level = 'info';

-- window functions over non-colocated joins
SELECT u.id, l.log_id, row_number() OVER (PARTITION BY u.id ORDER BY l.log_id) FROM users u JOIN logs l ON l.user_id = u.id WHERE l.level = 'error' AND u.id < 100;
SELECT l.level, l.log_id, sum(l.dur_ms) OVER (PARTITION BY l.level ORDER BY l.log_id) FROM logs l JOIN users u ON u.id = l.user_id WHERE u.active AND l.log_id < 300;
SELECT u.city, rank() OVER (ORDER BY count(*) DESC, u.city) FROM users u JOIN logs l ON l.user_id = u.id WHERE l.dur_ms > 1000 GROUP BY u.city;

-- NATURAL joins, USING, alias column lists, whole rows
SELECT count(*) FROM orders NATURAL JOIN logs;
SELECT user_id, count(*) FROM orders JOIN logs USING (user_id) WHERE logs.level = 'error' GROUP BY user_id;
SELECT x.c, count(*) FROM logs AS x(a, b, c) JOIN users u ON u.id = x.b WHERE x.c = 'warn' GROUP BY x.c;
SELECT l::text FROM logs l JOIN users u ON u.id = l.user_id WHERE u.age < 20 AND l.level = 'error';
SELECT row_to_json(l)::text FROM logs l JOIN users u ON u.id = l.user_id WHERE u.id = 5 OR u.id = 6;
SELECT l.* FROM logs l JOIN inventory i ON i.inv_id = l.log_id WHERE i.warehouse = 'w4';

-- NULL handling in pushed filters
SELECT u.id, l.log_id FROM users u JOIN logs l ON l.user_id = u.id WHERE u.age IS NULL AND l.dur_ms IS NOT NULL;
SELECT u.id, l.log_id FROM users u JOIN logs l ON l.user_id = u.id WHERE u.email IS NOT DISTINCT FROM NULL AND l.level <> 'warn';
SELECT u.id, l.log_id FROM users u JOIN logs l ON l.user_id = u.id WHERE (u.age > 50) IS NOT TRUE AND l.level = 'info';
SELECT u.id, l.log_id FROM users u JOIN logs l ON l.user_id = u.id WHERE nullif(l.level, 'debug') IS NULL AND u.id < 200;

-- volatile and time-dependent conditions are evaluated once, above the gather
SELECT count(*) FROM users u JOIN logs l ON l.user_id = u.id WHERE random() < 2 AND l.at < now();
SELECT count(*) FROM users u JOIN logs l ON l.user_id = u.id WHERE l.at < current_date AND u.signup < current_timestamp;

-- inside a transaction, after uncommitted writes (the gather reads them)
BEGIN;
INSERT INTO logs VALUES (5001, 1, 'error', 'fresh', '2024-01-01', 7);
UPDATE users SET age = 99 WHERE id = 1;
SELECT u.id, u.age, l.log_id FROM users u JOIN logs l ON l.user_id = u.id WHERE l.level = 'error' AND u.age = 99;
SELECT count(*) FROM users u LEFT JOIN logs l ON l.user_id = u.id AND l.msg = 'fresh' WHERE u.id <= 2;
ROLLBACK;
SELECT count(*) FROM logs l JOIN users u ON u.id = l.user_id WHERE l.msg = 'fresh';

-- repartition shapes: a table equated to another's distribution column moves by hash, once
SELECT count(*), sum(l.dur_ms) FROM users u JOIN logs l ON l.user_id = u.id WHERE u.age > 30;
SELECT count(*) FROM logs l, users u WHERE u.id = l.user_id AND l.dur_ms < (SELECT avg(dur_ms) FROM logs l2 WHERE l2.user_id = u.id);
SELECT u.id, u.name FROM users u WHERE u.id IN (SELECT l.user_id FROM logs l WHERE l.level = 'error' AND l.dur_ms > (SELECT avg(l3.dur_ms) FROM logs l3 WHERE l3.user_id = l.user_id)) ORDER BY u.id;
SELECT u.city, count(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM logs l WHERE l.user_id = u.id) GROUP BY u.city;
SELECT count(*) FROM users u WHERE u.id NOT IN (SELECT l.user_id FROM logs l WHERE l.user_id = u.id AND l.level = 'info');
SELECT count(*) FROM users u WHERE u.id NOT IN (SELECT l.user_id FROM logs l WHERE l.user_id IS NOT NULL);
SELECT count(*) FROM users u WHERE u.id IN (SELECT i.item_id FROM inventory i GROUP BY i.item_id HAVING sum(i.stock) > 100);
SELECT u.id, sum(i.stock) FROM users u JOIN inventory i ON i.item_id = u.id GROUP BY u.id ORDER BY u.id LIMIT 20;
SELECT count(*) FROM users u JOIN logs l ON l.user_id = u.id JOIN inventory i ON i.item_id = l.user_id WHERE i.warehouse = 'w2';
SELECT u.id, l.log_id FROM users u LEFT JOIN logs l ON l.user_id = u.id AND l.level = 'warn' WHERE u.id BETWEEN 100 AND 130 ORDER BY u.id, l.log_id;
BEGIN;
INSERT INTO logs VALUES (6001, 3, 'error', 'late', '2024-02-01', 1);
SELECT count(*), sum(l.dur_ms) FROM users u JOIN logs l ON l.user_id = u.id WHERE u.id = 3 OR u.age > 70;
ROLLBACK;
SELECT c, count(*), sum(a) FROM (SELECT u.city AS c, u.age AS a FROM users u WHERE u.age > (SELECT avg(age) FROM users WHERE score > 0) AND NOT EXISTS (SELECT 1 FROM logs l WHERE l.user_id = u.id)) x GROUP BY c;
SELECT c, count(*) FROM (SELECT substring(u.name from 1 for 2) AS c FROM users u WHERE u.id IN (SELECT l.user_id FROM logs l WHERE l.level = 'warn') AND u.score > (SELECT avg(score) FROM users)) x GROUP BY c ORDER BY c;
