/*
Point queries: every distributed table pinned to one shard by `dist_col = const`, or to a
few shards by `dist_col IN (...)`; reference tables alone.
Exercises: planner strategy 1, fast path / router (XL "Remote Fast Query Execution"):
routing with PostgreSQL's partition hash for int, text and bigint (extreme values), MODULO
routing, constants that need casts, parameters folded to constants, values with no rows,
IN lists pruned to a subset of nodes (pushdown to the involved nodes only), ROUNDROBIN and
REPLICATION tables (a filter on them cannot route by value).
*/

-- HASH int (users)
SELECT * FROM users WHERE id = 1;
SELECT * FROM users WHERE id = 42;
SELECT * FROM users WHERE id = 500;
SELECT * FROM users WHERE id = 0;
SELECT * FROM users WHERE id = -5;
SELECT * FROM users WHERE id = 2147483647;
SELECT name, age, score FROM users WHERE id = 77;
SELECT name, age FROM users WHERE 77 = id;
SELECT name FROM users WHERE id = '123';
SELECT name FROM users WHERE id = 123::bigint;
SELECT name FROM users WHERE id = 12.0;
SELECT name FROM users WHERE id = 100 + 23;
SELECT name FROM users WHERE id = 10 AND age > 30;
SELECT name FROM users WHERE id = 10 AND age IS NULL;
SELECT name FROM users WHERE id = 9 AND age IS NULL;
SELECT id, email FROM users WHERE id = 3;
SELECT id, tags, profile, uid FROM users WHERE id = 21;
SELECT id, last_login FROM users WHERE id = 14;
SELECT count(*) FROM users WHERE id = 250;
SELECT count(*) FROM users WHERE id = 999;
SELECT * FROM users WHERE id IN (1, 2, 3) ORDER BY id;
SELECT * FROM users WHERE id IN (5, 50, 500, 5000);
SELECT id, name FROM users WHERE id IN (10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120) ORDER BY id DESC;
SELECT id FROM users WHERE id IN (7);
SELECT id FROM users WHERE id IN (7, 7, 7);
SELECT id FROM users WHERE id = ANY (ARRAY[11, 12, 13]);
SELECT id, name FROM users WHERE id = 33 OR id = 34;
SELECT id FROM users WHERE id IN (1, 2, 3) AND city = 'oslo';
SELECT id FROM users WHERE id = 1 AND id = 2;
SELECT id FROM users WHERE id BETWEEN 10 AND 15 ORDER BY id;
-- error
SELECT * FROM users WHERE id = 'abc';
-- error
SELECT * FROM metrics WHERE big_id = 99999999999999999999::bigint;
SELECT * FROM users WHERE id = 2147483648;

-- HASH int with duplicates in the distribution column (orders.user_id)
SELECT * FROM orders WHERE user_id = 1;
SELECT * FROM orders WHERE user_id = 2;
SELECT order_id, amount FROM orders WHERE user_id = 3 ORDER BY order_id;
SELECT count(*), sum(amount), min(created), max(created) FROM orders WHERE user_id = 4;
SELECT * FROM orders WHERE user_id = 510;
SELECT * FROM orders WHERE user_id = 519;
SELECT status, count(*) FROM orders WHERE user_id = 1 GROUP BY status;
SELECT * FROM orders WHERE user_id IN (1, 2, 3) AND status = 'paid';
SELECT order_id FROM orders WHERE user_id IN (100, 200, 300) ORDER BY order_id;
SELECT * FROM orders WHERE user_id = 5 AND order_id = 0;
SELECT sum(qty) FROM orders WHERE user_id = 6;
SELECT order_id, weight FROM orders WHERE user_id = 8;

-- HASH text (events.device)
SELECT * FROM events WHERE device = 'd00';
SELECT * FROM events WHERE device = 'd03';
SELECT * FROM events WHERE device = 'd39';
SELECT * FROM events WHERE device = 'nope';
SELECT * FROM events WHERE device = '';
SELECT ev_id, kind FROM events WHERE device = 'd05' ORDER BY ev_id;
SELECT count(*) FROM events WHERE device = 'd04';
SELECT device, count(*) FROM events WHERE device IN ('d01', 'd02', 'd10', 'zz') GROUP BY device;
SELECT ev_id FROM events WHERE device = 'd02'::varchar;
SELECT ev_id FROM events WHERE device = 'D02';
SELECT ev_id FROM events WHERE device = lower('D07');
SELECT ev_id, payload FROM events WHERE device = 'd06' AND kind = 'buy';
SELECT ev_id, dur, val FROM events WHERE device = 'd08' AND val > 0;
SELECT ev_id FROM events WHERE device = ANY ('{d11,d12}');

-- HASH bigint (metrics.big_id)
SELECT * FROM metrics WHERE big_id = 0;
SELECT * FROM metrics WHERE big_id = 1;
SELECT * FROM metrics WHERE big_id = -1;
SELECT * FROM metrics WHERE big_id = 2147483648;
SELECT * FROM metrics WHERE big_id = -2147483649;
SELECT * FROM metrics WHERE big_id = 4611686018427387904;
SELECT * FROM metrics WHERE big_id = 9223372036854775807;
SELECT * FROM metrics WHERE big_id = -9223372036854775808;
SELECT * FROM metrics WHERE big_id = 5;
SELECT * FROM metrics WHERE big_id = 1::int;
SELECT * FROM metrics WHERE big_id = '2147483648';
SELECT seq, m_num FROM metrics WHERE big_id IN (0, 1, -1, 9223372036854775807) ORDER BY seq;
SELECT count(*) FROM metrics WHERE big_id IN (2147483648, -2147483649, 4611686018427387904);
SELECT big_id, count(*) FROM metrics WHERE big_id IN (SELECT big_id FROM metrics WHERE seq = 17) GROUP BY big_id;

-- MODULO (inventory.item_id)
SELECT * FROM inventory WHERE item_id = 1;
SELECT * FROM inventory WHERE item_id = 2;
SELECT * FROM inventory WHERE item_id = 150;
SELECT * FROM inventory WHERE item_id = 300;
SELECT * FROM inventory WHERE item_id = 0;
SELECT * FROM inventory WHERE item_id = -3;
SELECT warehouse, sum(stock) FROM inventory WHERE item_id = 17 GROUP BY warehouse;
SELECT inv_id FROM inventory WHERE item_id IN (3, 4, 5, 6, 7, 8) ORDER BY inv_id;
SELECT count(*) FROM inventory WHERE item_id IN (1000, 2000);

-- skewed: the hot value and a cold one
SELECT count(*), sum(v), min(v), max(v) FROM skewed WHERE k = 7;
SELECT * FROM skewed WHERE k = 8;
SELECT * FROM skewed WHERE k = 7 AND sk_id < 20;
SELECT s, count(*) FROM skewed WHERE k = 7 GROUP BY s;
SELECT sk_id FROM skewed WHERE k IN (7, 12) AND v = 50;

-- empty table
SELECT * FROM empty_t WHERE id = 1;
SELECT count(*) FROM empty_t WHERE id IN (1, 2, 3);

-- ROUNDROBIN: no routing by value possible
SELECT * FROM logs WHERE log_id = 10;
SELECT * FROM logs WHERE user_id = 10;
SELECT log_id, level FROM logs WHERE log_id IN (1, 2, 3, 999) ORDER BY log_id;

-- REPLICATION: whole statement to one node
SELECT * FROM countries WHERE code = 'no';
SELECT * FROM countries WHERE code IN ('fr', 'it', 'xx') ORDER BY code;
SELECT * FROM cities WHERE city = 'oslo';
SELECT c.city, k.cname FROM cities c JOIN countries k ON k.code = c.country_code WHERE c.city = 'lima';
SELECT region, count(*) FROM countries GROUP BY region;

-- router + reference table join
SELECT u.id, u.city, c.country_code FROM users u JOIN cities c ON c.city = u.city WHERE u.id = 15;
SELECT u.id, k.cname FROM users u JOIN cities c ON c.city = u.city JOIN countries k ON k.code = c.country_code WHERE u.id IN (1, 2, 3, 4, 5, 6);
-- router: colocated join pinned to one shard
SELECT u.name, o.order_id, o.amount FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = 2 ORDER BY o.order_id;
SELECT u.name, count(o.order_id) FROM users u LEFT JOIN orders o ON o.user_id = u.id WHERE u.id = 499 GROUP BY u.name;
SELECT count(*) FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = 1 AND o.user_id = 1;
