/*
Subqueries, CTEs, set operations, window functions.
Exercises: planner strategy 5, coordinator finish (per-table filters pushed down, the rest
run on the catalog server): correlated subqueries across shards, CTEs (incl. recursive and
MATERIALIZED), UNION/UNION ALL/INTERSECT/EXCEPT (+ ALL) across distributed and reference
tables, window functions over the whole set; strategy 2 where a subquery is colocated
(IN/EXISTS on the distribution column) or a window is partitioned by the distribution
column; semi/anti joins possibly via strategy 4; scalar subqueries evaluated once.
*/

-- IN / NOT IN / EXISTS / NOT EXISTS
SELECT id, name FROM users WHERE id IN (SELECT user_id FROM orders WHERE amount > 4950);
SELECT id FROM users WHERE id NOT IN (SELECT user_id FROM orders);
SELECT id FROM users WHERE id NOT IN (SELECT user_id FROM logs);
SELECT id FROM users WHERE id NOT IN (SELECT user_id FROM logs WHERE user_id IS NOT NULL);
SELECT id FROM users u WHERE EXISTS (SELECT 1 FROM orders o WHERE o.user_id = u.id AND o.status = 'cancelled' AND o.qty = 10);
SELECT id FROM users u WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.user_id = u.id);
SELECT order_id FROM orders o WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = o.user_id);
SELECT id FROM users WHERE city IN (SELECT city FROM cities WHERE coastal);
SELECT id FROM users WHERE city NOT IN (SELECT city FROM cities WHERE coastal IS NOT NULL);
SELECT city FROM cities c WHERE EXISTS (SELECT 1 FROM users u WHERE u.city = c.city AND u.age > 75);
SELECT city FROM cities c WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.city = c.city);
SELECT log_id FROM logs WHERE user_id IN (SELECT id FROM users WHERE age < 20);
SELECT inv_id FROM inventory WHERE item_id IN (SELECT k FROM skewed WHERE v = 1);
SELECT ev_id FROM events WHERE device IN (SELECT device FROM events GROUP BY device HAVING count(*) < 15);
SELECT seq FROM metrics WHERE big_id IN (SELECT big_id FROM metrics GROUP BY big_id HAVING count(*) > 5);
SELECT id FROM users WHERE (id, city) IN (SELECT user_id, 'oslo' FROM orders WHERE status = 'new');
SELECT id FROM users WHERE id = ANY (SELECT user_id FROM orders WHERE order_id < 50);
SELECT id FROM users WHERE age > ALL (SELECT qty * 7 FROM orders WHERE user_id = 3);
SELECT id FROM users WHERE age < SOME (SELECT m_small FROM metrics WHERE seq < 5);
SELECT id FROM users WHERE id IN (SELECT id FROM empty_t);
SELECT id FROM users WHERE id NOT IN (SELECT id FROM empty_t) AND id < 10;
SELECT id FROM users u WHERE EXISTS (SELECT 1 FROM empty_t e WHERE e.id = u.id);

-- scalar subqueries
SELECT (SELECT count(*) FROM users), (SELECT max(amount) FROM orders), (SELECT min(ts) FROM events);
SELECT id, age - (SELECT avg(age) FROM users) FROM users WHERE id < 30;
SELECT id FROM users WHERE age > (SELECT avg(age) FROM users) AND id < 100;
SELECT order_id FROM orders WHERE amount = (SELECT max(amount) FROM orders);
SELECT id, (SELECT cname FROM countries k JOIN cities c ON c.country_code = k.code WHERE c.city = u.city) FROM users u;
SELECT (SELECT name FROM users WHERE id = 7), (SELECT count(*) FROM logs WHERE user_id = 7);
SELECT (SELECT id FROM empty_t LIMIT 1) IS NULL;
-- error
SELECT (SELECT id FROM users) FROM countries;

-- correlated subqueries
SELECT u.id, (SELECT count(*) FROM orders o WHERE o.user_id = u.id) AS n FROM users u;
SELECT u.id, (SELECT max(o.amount) FROM orders o WHERE o.user_id = u.id) FROM users u WHERE u.id < 150;
SELECT u.id, (SELECT count(*) FROM logs l WHERE l.user_id = u.id AND l.level = 'error') FROM users u WHERE u.id < 120;
SELECT o.order_id FROM orders o WHERE o.amount > (SELECT avg(o2.amount) * 1.9 FROM orders o2 WHERE o2.user_id = o.user_id);
SELECT o.order_id FROM orders o WHERE o.qty = (SELECT max(o2.qty) FROM orders o2 WHERE o2.status = o.status) AND o.user_id < 40;
SELECT i.inv_id FROM inventory i WHERE i.stock > (SELECT avg(i2.stock) FROM inventory i2 WHERE i2.warehouse = i.warehouse) AND i.item_id < 60;
SELECT c.city, (SELECT count(*) FROM users u WHERE u.city = c.city), (SELECT avg(age) FROM users u WHERE u.city = c.city) FROM cities c;
SELECT e.ev_id FROM events e WHERE e.ts = (SELECT max(e2.ts) FROM events e2 WHERE e2.device = e.device);
SELECT l.log_id FROM logs l WHERE l.dur_ms > (SELECT max(u.age) * 60 FROM users u WHERE u.id = l.user_id);
SELECT u.id FROM users u WHERE u.age = (SELECT min(u2.age) FROM users u2 WHERE u2.city = u.city);

-- derived tables
SELECT x.city, x.n FROM (SELECT city, count(*) AS n FROM users GROUP BY city) x WHERE x.n > 50;
SELECT avg(n) FROM (SELECT user_id, count(*) AS n FROM orders GROUP BY user_id) t;
SELECT t.status, max(t.total) FROM (SELECT user_id, status, sum(amount) AS total FROM orders GROUP BY 1, 2) t GROUP BY t.status;
SELECT count(*) FROM (SELECT DISTINCT user_id FROM orders WHERE status = 'paid') a JOIN (SELECT DISTINCT user_id FROM orders WHERE status = 'new') b USING (user_id);
SELECT * FROM (SELECT id, name FROM users ORDER BY id LIMIT 5) x ORDER BY id DESC;
SELECT * FROM (VALUES (1, 'a'), (2, 'b')) v(id, label) JOIN users u USING (id);

-- CTEs
WITH big AS (SELECT user_id, sum(amount) AS s FROM orders GROUP BY user_id) SELECT u.id, u.name, big.s FROM users u JOIN big ON big.user_id = u.id WHERE big.s > 50000;
WITH c AS (SELECT city, count(*) AS n FROM users GROUP BY city) SELECT * FROM c WHERE n > 40;
WITH a AS (SELECT id FROM users WHERE age > 70), b AS (SELECT user_id FROM orders WHERE status = 'paid') SELECT count(*) FROM a JOIN b ON b.user_id = a.id;
WITH x AS MATERIALIZED (SELECT * FROM orders WHERE qty > 8) SELECT status, count(*) FROM x GROUP BY status;
WITH x AS NOT MATERIALIZED (SELECT * FROM events WHERE kind = 'buy') SELECT device, count(*) FROM x GROUP BY device;
WITH u AS (SELECT * FROM users), o AS (SELECT * FROM orders) SELECT u.city, sum(o.amount) FROM u JOIN o ON o.user_id = u.id GROUP BY u.city;
WITH e AS (SELECT * FROM empty_t) SELECT count(*) FROM e;
WITH r AS (SELECT id FROM users WHERE id < 5) SELECT r.id, o.order_id FROM r LEFT JOIN orders o ON o.user_id = r.id;
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 20) SELECT s.n, u.name FROM s JOIN users u ON u.id = s.n;
WITH RECURSIVE chain(id, depth) AS (SELECT id, 0 FROM users WHERE id = 1 UNION ALL SELECT u.id, c.depth + 1 FROM chain c JOIN users u ON u.id = c.id * 2 WHERE c.depth < 8) SELECT * FROM chain;
WITH RECURSIVE r AS (SELECT 1 AS lvl, code FROM countries WHERE code = 'no' UNION SELECT r.lvl + 1, k.code FROM r JOIN countries k ON k.region = 'europe' AND k.code > r.code) SELECT lvl, code FROM r;
WITH t AS (SELECT user_id, amount, row_number() OVER (PARTITION BY user_id ORDER BY amount DESC, order_id) AS rn FROM orders) SELECT user_id, amount FROM t WHERE rn = 1;

-- set operations
SELECT city FROM users UNION SELECT city FROM cities;
SELECT city FROM users UNION ALL SELECT city FROM cities;
SELECT city FROM users INTERSECT SELECT city FROM cities;
SELECT city FROM cities EXCEPT SELECT city FROM users;
SELECT city FROM users EXCEPT SELECT city FROM cities;
SELECT city FROM users INTERSECT ALL SELECT city FROM users WHERE age > 60;
SELECT city FROM users EXCEPT ALL SELECT city FROM users WHERE age > 30;
SELECT user_id FROM orders UNION SELECT user_id FROM logs;
SELECT user_id FROM orders INTERSECT SELECT user_id FROM logs;
SELECT user_id FROM logs EXCEPT SELECT id FROM users;
SELECT id FROM users UNION ALL SELECT user_id FROM orders WHERE order_id < 100;
SELECT item_id FROM inventory INTERSECT SELECT k FROM skewed;
SELECT device FROM events UNION SELECT code FROM countries;
SELECT id, name FROM users WHERE id < 5 UNION ALL SELECT id, label FROM empty_t;
SELECT id FROM empty_t EXCEPT SELECT id FROM users;
SELECT status AS x, count(*) FROM orders GROUP BY status UNION ALL SELECT level, count(*) FROM logs GROUP BY level;
SELECT id FROM users WHERE id < 10 UNION SELECT id FROM users WHERE id BETWEEN 5 AND 15 ORDER BY id;
SELECT id FROM users WHERE id < 10 UNION ALL SELECT id FROM users WHERE id < 5 ORDER BY 1 DESC;
SELECT city FROM users UNION SELECT city FROM cities ORDER BY city NULLS FIRST LIMIT 5;
(SELECT order_id FROM orders ORDER BY amount DESC, order_id LIMIT 3) UNION ALL (SELECT order_id FROM orders ORDER BY amount, order_id LIMIT 3);
SELECT count(*) FROM (SELECT user_id FROM orders UNION SELECT user_id FROM logs) x;
SELECT 1 UNION SELECT 2 INTERSECT SELECT 2;
-- error
SELECT id FROM users UNION SELECT name FROM users;

-- window functions
SELECT id, city, row_number() OVER (PARTITION BY city ORDER BY id) FROM users;
SELECT id, age, rank() OVER (ORDER BY age DESC NULLS LAST), dense_rank() OVER (ORDER BY age DESC NULLS LAST) FROM users;
SELECT order_id, user_id, sum(amount) OVER (PARTITION BY user_id ORDER BY order_id) FROM orders;
SELECT order_id, user_id, amount, sum(amount) OVER (PARTITION BY user_id) AS total, count(*) OVER (PARTITION BY user_id) FROM orders;
SELECT order_id, lag(amount) OVER (PARTITION BY user_id ORDER BY order_id), lead(amount, 2) OVER (PARTITION BY user_id ORDER BY order_id) FROM orders WHERE user_id < 60;
SELECT id, sum(age) OVER (ORDER BY id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) FROM users;
SELECT id, avg(score) OVER (ORDER BY id ROWS BETWEEN 5 PRECEDING AND 5 FOLLOWING) FROM users;
SELECT id, first_value(name) OVER w, last_value(name) OVER w, nth_value(name, 2) OVER w FROM users WINDOW w AS (PARTITION BY city ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING);
SELECT id, ntile(4) OVER (ORDER BY id), percent_rank() OVER (ORDER BY id), cume_dist() OVER (ORDER BY id) FROM users;
SELECT device, ev_id, row_number() OVER (PARTITION BY device ORDER BY ts, ev_id) FROM events;
SELECT ev_id, round((avg(val) OVER (PARTITION BY device))::numeric, 6) FROM events;
SELECT seq, big_id, count(*) OVER (PARTITION BY big_id), max(m_int) OVER (PARTITION BY big_id) FROM metrics;
SELECT status, count(*), sum(count(*)) OVER () FROM orders GROUP BY status;
SELECT city, count(*), rank() OVER (ORDER BY count(*) DESC) FROM users GROUP BY city;
SELECT id, row_number() OVER (ORDER BY id) FROM users ORDER BY id LIMIT 10;
SELECT * FROM (SELECT order_id, user_id, rank() OVER (PARTITION BY user_id ORDER BY amount DESC, order_id) AS r FROM orders) x WHERE r <= 2;
SELECT k, sk_id, row_number() OVER (PARTITION BY k ORDER BY sk_id) FROM skewed;
SELECT log_id, sum(dur_ms) OVER (ORDER BY log_id RANGE BETWEEN 10 PRECEDING AND CURRENT ROW) FROM logs;
SELECT id, count(*) OVER (), sum(val) OVER () FROM empty_t;
SELECT inv_id, warehouse, stock, stock - avg(stock) OVER (PARTITION BY warehouse) FROM inventory;
SELECT id, array_agg(id) OVER (PARTITION BY city ORDER BY id ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) FROM users WHERE id < 80;
SELECT order_id, amount, sum(amount) FILTER (WHERE qty > 5) OVER (PARTITION BY user_id) FROM orders WHERE user_id < 40;

-- CTE columns named as PostgreSQL names unaliased expressions (CASE, coalesce, a cast, a row constructor)
WITH c AS (SELECT user_id, CASE WHEN amount > 2500 THEN 'big' ELSE 'small' END, coalesce(qty, 0), amount::int FROM orders)
SELECT "case", count(*), sum("coalesce"), max(amount) FROM c GROUP BY "case" ORDER BY "case";
WITH c AS (SELECT u.city, greatest(u.age, 30), count(*) OVER () FROM users u JOIN orders o ON o.user_id = u.id)
SELECT city, max("greatest"), min("count") FROM c GROUP BY city ORDER BY city;
