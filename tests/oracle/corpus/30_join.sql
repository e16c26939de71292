/*
Joins.
Exercises: planner strategy 2 (pushdown) for colocated joins on the distribution column
(users.id = orders.user_id, both HASH int; skewed and empty_t in the same colocation
group) and for joins with REPLICATION tables, incl. LEFT/RIGHT/FULL outer joins with the
reference table on either side (only some of these may be pushed down: an outer join
that preserves the reference side needs the whole distributed side); strategy 4
(redistribution) for non-colocated joins (HASH int vs MODULO, HASH vs ROUNDROBIN, HASH
text vs HASH int, bigint vs int) and joins on non-distribution columns; self joins;
strategy 5 where nothing else applies.
*/

-- colocated inner joins on the distribution column
SELECT u.id, u.name, o.order_id, o.amount FROM users u JOIN orders o ON o.user_id = u.id;
SELECT u.id, o.order_id FROM users u, orders o WHERE o.user_id = u.id AND o.status = 'paid' AND u.age > 50;
SELECT u.city, count(*) FROM users u JOIN orders o ON o.user_id = u.id GROUP BY u.city;
SELECT u.id, sum(o.amount) FROM users u JOIN orders o ON o.user_id = u.id GROUP BY u.id;
-- error
SELECT u.id, u.name, o.order_id FROM users u JOIN orders o USING (id) WHERE false;
SELECT o.order_id, u.name FROM orders o JOIN users u ON u.id = o.user_id WHERE o.amount > 4900;
SELECT u.id, o.order_id, s.sk_id FROM users u JOIN orders o ON o.user_id = u.id JOIN skewed s ON s.k = u.id WHERE u.id < 60;
SELECT u.id, o.order_id FROM users u JOIN orders o ON o.user_id = u.id AND o.qty > 8;
SELECT u.id, count(*) FROM users u JOIN orders o ON u.id = o.user_id WHERE o.created < '2024-02-01' GROUP BY u.id HAVING count(*) > 1;
SELECT u.id, o.order_id FROM users u JOIN orders o ON o.user_id = u.id ORDER BY o.order_id LIMIT 25;
SELECT u.id, o.order_id FROM users u JOIN orders o ON o.user_id = u.id ORDER BY u.id DESC, o.order_id LIMIT 40 OFFSET 10;
SELECT e.id, u.name FROM empty_t e JOIN users u ON u.id = e.id;
SELECT count(*) FROM users u JOIN empty_t e ON e.id = u.id;

-- colocated outer joins
SELECT u.id, o.order_id FROM users u LEFT JOIN orders o ON o.user_id = u.id;
SELECT u.id FROM users u LEFT JOIN orders o ON o.user_id = u.id WHERE o.order_id IS NULL;
SELECT o.order_id, u.name FROM users u RIGHT JOIN orders o ON o.user_id = u.id WHERE u.id IS NULL;
SELECT u.id, o.order_id, o.user_id FROM users u FULL JOIN orders o ON o.user_id = u.id WHERE u.id IS NULL OR o.order_id IS NULL;
SELECT count(*), count(u.id), count(o.order_id) FROM users u FULL JOIN orders o ON o.user_id = u.id;
SELECT u.id, count(o.order_id), coalesce(sum(o.amount), 0) FROM users u LEFT JOIN orders o ON o.user_id = u.id GROUP BY u.id;
SELECT u.id, e.val FROM users u LEFT JOIN empty_t e ON e.id = u.id WHERE u.id < 20;
SELECT u.id, o.order_id FROM users u LEFT JOIN orders o ON o.user_id = u.id AND o.status = 'cancelled' WHERE u.id < 100;
SELECT s.sk_id, u.name FROM skewed s LEFT JOIN users u ON u.id = s.k WHERE s.sk_id < 200;

-- joins with reference tables (reference on either side)
SELECT u.id, c.country_code, c.pop FROM users u JOIN cities c ON c.city = u.city;
SELECT u.id, k.cname, k.region FROM users u JOIN cities c ON c.city = u.city JOIN countries k ON k.code = c.country_code;
SELECT c.city, u.id FROM cities c JOIN users u ON u.city = c.city WHERE c.coastal;
SELECT u.id, c.country_code FROM users u LEFT JOIN cities c ON c.city = u.city;
SELECT c.city, u.id FROM cities c LEFT JOIN users u ON u.city = c.city;
SELECT c.city, count(u.id) FROM cities c LEFT JOIN users u ON u.city = c.city GROUP BY c.city;
SELECT u.id, c.city FROM users u RIGHT JOIN cities c ON c.city = u.city;
SELECT c.city, u.id FROM cities c RIGHT JOIN users u ON u.city = c.city;
SELECT u.id, u.city, c.city FROM users u FULL JOIN cities c ON c.city = u.city WHERE u.id IS NULL OR c.city IS NULL;
SELECT c.city, u.id FROM cities c FULL OUTER JOIN users u ON u.city = c.city AND u.age > 70;
SELECT count(*) FROM cities c FULL JOIN users u ON u.city = c.city;
SELECT k.region, count(DISTINCT u.id), count(o.order_id) FROM countries k JOIN cities c ON c.country_code = k.code LEFT JOIN users u ON u.city = c.city LEFT JOIN orders o ON o.user_id = u.id GROUP BY k.region;
SELECT k.cname, c.city FROM countries k LEFT JOIN cities c ON c.country_code = k.code;
SELECT k.cname, c.city FROM countries k FULL JOIN cities c ON c.country_code = k.code;
SELECT i.inv_id, c.city FROM inventory i JOIN cities c ON c.pop > i.stock * 100000 WHERE i.inv_id < 30;
SELECT l.log_id, k.cname FROM logs l JOIN users u ON u.id = l.user_id JOIN cities c ON c.city = u.city JOIN countries k ON k.code = c.country_code WHERE l.level = 'error';
SELECT e.device, c.city FROM events e CROSS JOIN cities c WHERE e.ev_id % 100 = 1;
SELECT u.id, c.city FROM users u LEFT JOIN cities c ON c.city = u.city AND c.coastal WHERE u.id BETWEEN 100 AND 160;
SELECT m.seq, k.code FROM metrics m JOIN countries k ON k.population > m.m_int * 1000000 WHERE m.seq < 20;

-- self joins
SELECT a.id, b.id FROM users a JOIN users b ON a.id = b.id + 1 WHERE a.id < 50;
SELECT a.id, b.id FROM users a JOIN users b ON a.city = b.city AND a.id < b.id WHERE a.id < 30 AND b.id < 60;
SELECT a.order_id, b.order_id FROM orders a JOIN orders b ON a.user_id = b.user_id AND a.order_id < b.order_id WHERE a.user_id < 10;
SELECT a.order_id, b.order_id FROM orders a JOIN orders b ON a.amount = b.amount AND a.order_id <> b.order_id;
SELECT a.ev_id, b.ev_id FROM events a JOIN events b ON a.device = b.device AND a.ev_id + 7919 = b.ev_id;
SELECT count(*) FROM skewed a JOIN skewed b ON a.k = b.k;
SELECT a.id, b.id FROM users a LEFT JOIN users b ON b.id = a.age WHERE a.id < 100;
SELECT a.seq, b.seq FROM metrics a JOIN metrics b ON a.big_id = b.big_id AND a.seq < b.seq;

-- non-colocated joins (redistribution)
SELECT u.id, i.inv_id, i.stock FROM users u JOIN inventory i ON i.item_id = u.id;
SELECT u.id, l.log_id FROM users u JOIN logs l ON l.user_id = u.id;
SELECT u.id, count(l.log_id) FROM users u LEFT JOIN logs l ON l.user_id = u.id GROUP BY u.id;
SELECT l.log_id, u.name FROM logs l LEFT JOIN users u ON u.id = l.user_id;
SELECT o.order_id, l.log_id FROM orders o JOIN logs l ON l.log_id = o.order_id;
SELECT o.order_id, i.inv_id FROM orders o JOIN inventory i ON i.inv_id = o.order_id AND i.item_id = o.qty;
SELECT m.seq, u.name FROM metrics m JOIN users u ON u.id = m.m_int;
SELECT m.seq, u.id FROM metrics m JOIN users u ON u.id = m.big_id;
SELECT e.ev_id, u.id FROM events e JOIN users u ON u.name = 'u0' || substr(e.device, 2);
SELECT e.ev_id, s.sk_id FROM events e JOIN skewed s ON s.k = (e.payload ->> 'n')::int WHERE e.device < 'd03';
SELECT i.item_id, count(*) FROM inventory i JOIN logs l ON l.user_id = i.item_id GROUP BY i.item_id;
SELECT u.id, i.inv_id FROM users u FULL JOIN inventory i ON i.item_id = u.id WHERE u.id IS NULL OR i.inv_id IS NULL;
SELECT u.id, l.log_id FROM users u RIGHT JOIN logs l ON l.user_id = u.id WHERE l.level = 'debug';
SELECT s.k, count(*) FROM skewed s JOIN inventory i ON i.item_id = s.k GROUP BY s.k;
SELECT i.inv_id, m.seq FROM inventory i JOIN metrics m ON m.big_id = i.item_id;
SELECT count(*) FROM orders o JOIN inventory i ON i.item_id = o.user_id JOIN logs l ON l.user_id = o.user_id WHERE o.user_id < 5;

-- joins on non-distribution columns
SELECT u.id, o.order_id FROM users u JOIN orders o ON o.order_id = u.id;
SELECT u.id, o.order_id FROM users u JOIN orders o ON o.qty = u.age;
SELECT u.city, o.status, count(*) FROM users u JOIN orders o ON o.order_id = u.id * 3 GROUP BY u.city, o.status;
SELECT u.id, e.ev_id FROM users u JOIN events e ON e.code = 'c' || u.id::text WHERE u.id < 31;
SELECT a.id, b.order_id FROM users a JOIN orders b ON a.age = b.qty * 10 AND a.id < b.user_id WHERE a.id < 40;
SELECT u.id, m.seq FROM users u JOIN metrics m ON m.m_small = u.age WHERE u.id < 200;
SELECT u.id, l.log_id FROM users u JOIN logs l ON l.dur_ms = u.age * 10;
SELECT o.order_id, e.ev_id FROM orders o JOIN events e ON (e.payload ->> 'n')::int = o.qty AND e.device = 'd01' WHERE o.user_id = 3;

-- non-equi, cross and lateral
SELECT u.id, c.city FROM users u CROSS JOIN cities c WHERE u.id < 5;
SELECT count(*) FROM users u CROSS JOIN countries k;
SELECT u.id, o.order_id FROM users u JOIN orders o ON o.user_id BETWEEN u.id AND u.id + 1 WHERE u.id < 20;
SELECT u.id, x.order_id, x.amount FROM users u CROSS JOIN LATERAL (SELECT order_id, amount FROM orders o WHERE o.user_id = u.id ORDER BY amount DESC, order_id LIMIT 2) x WHERE u.id < 100;
SELECT u.id, x.n FROM users u LEFT JOIN LATERAL (SELECT count(*) AS n FROM logs l WHERE l.user_id = u.id) x ON true WHERE u.id < 50;
SELECT u.id, t FROM users u, unnest(u.tags) AS t WHERE u.id < 200;
SELECT u.id, g FROM users u, generate_series(1, 3) g WHERE u.id < 10;

-- joins with filters on several tables and USING / NATURAL
SELECT id, name, val FROM users JOIN empty_t USING (id);
SELECT user_id, count(*) FROM orders JOIN logs USING (user_id) WHERE user_id < 30 GROUP BY user_id;
SELECT * FROM cities NATURAL JOIN (SELECT 'oslo'::text AS city) x;
SELECT o.order_id, u.name, c.country_code, k.region FROM orders o JOIN users u ON u.id = o.user_id LEFT JOIN cities c ON c.city = u.city LEFT JOIN countries k ON k.code = c.country_code WHERE o.order_id % 10 = 0;

-- outer joins whose preserved side holds no sharded table (a function, VALUES): each node
-- would keep every preserved row, NULL-extended where its shard has no match
SELECT g, u.name FROM generate_series(1, 6) g LEFT JOIN users u ON u.id = g ORDER BY g;
SELECT count(*), count(u.id) FROM generate_series(1, 50) g LEFT JOIN users u ON u.id = g;
SELECT v.n, u.name FROM (VALUES (1), (4), (100000)) v(n) LEFT JOIN users u ON u.id = v.n ORDER BY 1;
SELECT g, u.name FROM users u RIGHT JOIN generate_series(1, 4) g ON u.id = g ORDER BY g;
SELECT u.id, g FROM users u FULL JOIN generate_series(0, 3) g ON u.id = g WHERE u.id IS NULL OR u.id < 3 ORDER BY 2 NULLS FIRST, 1;
SELECT g, count(o.order_id) FROM generate_series(1, 5) g LEFT JOIN orders o ON o.user_id = g GROUP BY g ORDER BY g;
