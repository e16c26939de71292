/*
ORDER BY, LIMIT/OFFSET, DISTINCT, DISTINCT ON.
Exercises: planner strategy 2's k-way merge of sorted streams from the nodes (ASC/DESC,
NULLS FIRST/LAST, multi-key, keys of many types, sort on non-distribution columns and on
expressions, COLLATE "C"), LIMIT pushed to the nodes and re-applied on the coordinator,
OFFSET (must not be pushed as is), DISTINCT and DISTINCT ON across nodes (strategy 3/5),
ORDER BY over aggregates (after combining). Orders with ties and no LIMIT are compared on
the sequence of sort keys plus the multiset of rows; every order used with LIMIT/OFFSET
is total.
*/

-- single-key orders, with ties (compared on the key sequence)
SELECT city, name FROM users ORDER BY city;
SELECT city, name FROM users ORDER BY city DESC;
SELECT city, id FROM users ORDER BY city NULLS FIRST;
SELECT city, id FROM users ORDER BY city DESC NULLS LAST;
SELECT age, id FROM users ORDER BY age;
SELECT age, id FROM users ORDER BY age DESC;
SELECT status, order_id FROM orders ORDER BY status;
SELECT level, log_id FROM logs ORDER BY 1;
SELECT warehouse, item_id FROM inventory ORDER BY warehouse DESC;
SELECT k, sk_id FROM skewed ORDER BY k;
SELECT device, ev_id FROM events ORDER BY device;

-- total orders
SELECT id, name, age FROM users ORDER BY id;
SELECT id, name, age FROM users ORDER BY id DESC;
SELECT id, age FROM users ORDER BY age NULLS FIRST, id;
SELECT id, age FROM users ORDER BY age DESC NULLS LAST, id DESC;
SELECT id, age FROM users ORDER BY age ASC NULLS LAST, id;
SELECT id, age FROM users ORDER BY age DESC NULLS FIRST, id;
SELECT id, city, age FROM users ORDER BY city NULLS FIRST, age DESC NULLS LAST, id;
SELECT id, active, score FROM users ORDER BY active NULLS FIRST, score DESC NULLS FIRST, id;
SELECT order_id, user_id, amount FROM orders ORDER BY amount DESC, order_id;
SELECT order_id, created FROM orders ORDER BY created, order_id;
SELECT order_id, weight FROM orders ORDER BY weight DESC NULLS LAST, order_id;
SELECT ev_id, ts FROM events ORDER BY ts DESC, ev_id;
SELECT ev_id, dur FROM events ORDER BY dur NULLS FIRST, ev_id;
SELECT ev_id, val FROM events ORDER BY val, ev_id;
SELECT seq, big_id FROM metrics ORDER BY big_id, seq;
SELECT seq, m_num FROM metrics ORDER BY m_num DESC NULLS LAST, seq;
SELECT seq, day, m_bool FROM metrics ORDER BY m_bool, day DESC, seq;
SELECT id, uid FROM users ORDER BY uid;
SELECT id, signup FROM users ORDER BY signup DESC, id;
SELECT id, tags FROM users ORDER BY tags NULLS FIRST, id;
SELECT id, profile FROM users ORDER BY profile, id;
SELECT inv_id, price FROM inventory ORDER BY price, inv_id DESC;
SELECT log_id, at FROM logs ORDER BY at, log_id;
SELECT code, cname FROM countries ORDER BY population DESC NULLS LAST;
SELECT city FROM cities ORDER BY pop NULLS FIRST, city;
SELECT id, note FROM users ORDER BY note COLLATE "C" NULLS FIRST, id;

-- order by expressions, positions, aliases, columns not in the target list
SELECT id, age * -1 AS neg FROM users ORDER BY neg, id;
SELECT id, name FROM users ORDER BY age, id;
SELECT id FROM users ORDER BY score DESC NULLS LAST, id;
SELECT id, name FROM users ORDER BY length(coalesce(note, '')), id;
SELECT order_id, amount * qty FROM orders ORDER BY 2 DESC NULLS LAST, 1;
SELECT order_id, user_id FROM orders ORDER BY user_id % 7, order_id;
SELECT ev_id FROM events ORDER BY payload ->> 'n', ev_id;
SELECT ev_id, (payload ->> 'n')::int AS n FROM events ORDER BY n DESC NULLS LAST, ev_id;
SELECT id, CASE WHEN active THEN 1 ELSE 0 END AS a FROM users ORDER BY a, id;

-- LIMIT / OFFSET
SELECT id, name FROM users ORDER BY id LIMIT 10;
SELECT id, name FROM users ORDER BY id DESC LIMIT 10;
SELECT id, name FROM users ORDER BY id LIMIT 10 OFFSET 100;
SELECT id FROM users ORDER BY id OFFSET 495;
SELECT id FROM users ORDER BY id LIMIT 0;
SELECT id FROM users ORDER BY id LIMIT ALL;
SELECT id FROM users ORDER BY id LIMIT NULL;
SELECT id FROM users ORDER BY id OFFSET 1000;
SELECT id FROM users ORDER BY id FETCH FIRST 3 ROWS ONLY;
SELECT age, id FROM users ORDER BY age DESC NULLS LAST, id FETCH FIRST 3 ROWS WITH TIES;
SELECT age, count(*) FROM (SELECT age FROM users ORDER BY age NULLS LAST, id LIMIT 50) x GROUP BY age;
SELECT id, age FROM users ORDER BY age NULLS LAST, id LIMIT 15;
SELECT id, age FROM users ORDER BY age DESC NULLS FIRST, id LIMIT 15 OFFSET 5;
SELECT order_id, amount FROM orders ORDER BY amount DESC, order_id LIMIT 20;
SELECT order_id, amount FROM orders ORDER BY amount, order_id LIMIT 20 OFFSET 30;
SELECT order_id, created FROM orders ORDER BY created DESC, order_id LIMIT 5;
SELECT order_id, weight FROM orders ORDER BY weight NULLS FIRST, order_id LIMIT 30;
SELECT order_id FROM orders WHERE status = 'new' ORDER BY order_id LIMIT 7;
SELECT ev_id, device, val FROM events ORDER BY val DESC NULLS LAST, ev_id LIMIT 12;
SELECT ev_id, device FROM events ORDER BY device DESC, ev_id LIMIT 25;
SELECT seq, big_id FROM metrics ORDER BY big_id DESC, seq LIMIT 10;
SELECT seq, big_id FROM metrics ORDER BY abs(big_id::numeric), seq LIMIT 10;
SELECT inv_id, stock FROM inventory ORDER BY stock DESC NULLS LAST, inv_id LIMIT 10;
SELECT log_id, level FROM logs ORDER BY level, log_id DESC LIMIT 10 OFFSET 3;
SELECT sk_id, k FROM skewed ORDER BY k DESC, sk_id LIMIT 10;
SELECT sk_id, v FROM skewed WHERE k = 7 ORDER BY v DESC NULLS LAST, sk_id LIMIT 10;
SELECT * FROM empty_t ORDER BY id LIMIT 5;
SELECT code FROM countries ORDER BY code LIMIT 3 OFFSET 2;
SELECT id FROM users LIMIT 0;
SELECT count(*) FROM (SELECT id FROM users LIMIT 17) x;
SELECT count(*) FROM (SELECT order_id FROM orders OFFSET 2490) x;

-- DISTINCT
SELECT DISTINCT city FROM users;
SELECT DISTINCT city FROM users ORDER BY city NULLS FIRST;
SELECT DISTINCT city, active FROM users ORDER BY 1, 2;
SELECT DISTINCT age FROM users ORDER BY age DESC NULLS LAST LIMIT 5;
SELECT DISTINCT status FROM orders ORDER BY status;
SELECT DISTINCT user_id FROM orders ORDER BY user_id LIMIT 20;
SELECT DISTINCT k FROM skewed ORDER BY k;
SELECT DISTINCT device FROM events ORDER BY device;
SELECT DISTINCT big_id FROM metrics ORDER BY big_id LIMIT 10 OFFSET 10;
SELECT DISTINCT warehouse, item_id % 2 FROM inventory ORDER BY 1, 2;
SELECT DISTINCT tags FROM users;
SELECT DISTINCT profile -> 'langs' FROM users;
SELECT DISTINCT level, user_id IS NULL FROM logs;
SELECT count(DISTINCT city) FROM (SELECT DISTINCT city, age FROM users) x;

-- DISTINCT ON
SELECT DISTINCT ON (city) city, id, name FROM users ORDER BY city, id;
SELECT DISTINCT ON (city) city, id, age FROM users ORDER BY city NULLS FIRST, age DESC NULLS LAST, id;
SELECT DISTINCT ON (user_id) user_id, order_id, amount FROM orders ORDER BY user_id, amount DESC, order_id;
SELECT DISTINCT ON (status) status, order_id, created FROM orders ORDER BY status, created, order_id;
SELECT DISTINCT ON (device) device, ev_id, ts FROM events ORDER BY device, ts DESC, ev_id;
SELECT DISTINCT ON (k) k, sk_id FROM skewed ORDER BY k, sk_id DESC;
SELECT DISTINCT ON (warehouse) warehouse, inv_id, stock FROM inventory ORDER BY warehouse, stock DESC NULLS LAST, inv_id;
SELECT DISTINCT ON (level) level, log_id FROM logs ORDER BY level, log_id LIMIT 2;
SELECT DISTINCT ON (user_id) user_id, order_id FROM orders ORDER BY user_id DESC, order_id LIMIT 10;

-- ORDER BY over aggregates and joins
SELECT city, count(*) FROM users GROUP BY city ORDER BY count(*) DESC, city NULLS FIRST;
SELECT city, avg(age) FROM users GROUP BY city ORDER BY 2 DESC, 1;
SELECT status, sum(amount) AS s FROM orders GROUP BY status ORDER BY s;
SELECT user_id, count(*) AS c FROM orders GROUP BY user_id ORDER BY c DESC, user_id LIMIT 10;
SELECT device, max(ts) FROM events GROUP BY device ORDER BY max(ts) DESC, device LIMIT 5;
SELECT level, count(*) FROM logs GROUP BY level ORDER BY level DESC;
SELECT u.id, count(o.order_id) AS n FROM users u LEFT JOIN orders o ON o.user_id = u.id GROUP BY u.id ORDER BY n DESC, u.id LIMIT 15;
SELECT u.id, o.order_id, o.amount FROM users u JOIN orders o ON o.user_id = u.id ORDER BY o.amount DESC, o.order_id LIMIT 10;
SELECT u.id, c.country_code FROM users u JOIN cities c ON c.city = u.city ORDER BY c.country_code, u.id LIMIT 25;
SELECT l.log_id, u.name FROM logs l JOIN users u ON u.id = l.user_id ORDER BY l.log_id LIMIT 20 OFFSET 20;

-- Anonymous records in the output of a sorted statement (ROW(...), whole-row references
-- to a function with ordinality, a subquery or VALUES): finished where a record can live.
SELECT u.id, x FROM users u, unnest(u.tags) WITH ORDINALITY AS x(tag, pos) WHERE u.id < 20 ORDER BY 1, x;
SELECT u.id, x FROM users u, unnest(u.tags) AS x WHERE u.id < 20 ORDER BY 1, 2;
SELECT (u.id, u.city) AS r FROM users u WHERE u.id < 15 ORDER BY r;
SELECT s FROM (SELECT id, age FROM users WHERE id < 12) s ORDER BY 1;
SELECT v, u.id FROM users u, (VALUES (1, 'a'), (2, 'b')) v(k, label) WHERE u.id < 4 ORDER BY u.id, v;
SELECT ROW(o.order_id, o.amount) FROM orders o WHERE o.order_id < 30 ORDER BY 1 LIMIT 5;

-- ORDER BY keys that are not in the output: each node returns them as extra columns.
SELECT name FROM users ORDER BY age DESC NULLS LAST, id LIMIT 7;
SELECT u.id AS user_id FROM users u WHERE u.active ORDER BY lower(u.city) NULLS FIRST, u.score DESC NULLS LAST, 1 LIMIT 6 OFFSET 3;
SELECT order_id FROM orders ORDER BY amount, order_id DESC LIMIT 5;
SELECT o.order_id, u.name FROM orders o JOIN users u ON u.id = o.user_id ORDER BY u.signup DESC NULLS LAST, o.order_id LIMIT 8;
SELECT name FROM users ORDER BY score * 2 - age NULLS LAST, id OFFSET 195;
