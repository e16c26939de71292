/*
Multi-stage plans: exchanges and recursive planning (planner/broadcast.py, planner/subplans.py).
Exercises: joins on columns that are not the distribution column (repartition or
broadcast), 3- and 4-way joins across HASH int/bigint/text, MODULO, ROUNDROBIN and
REPLICATION tables, FROM subqueries grouped by the anchor's partitioning column under an
outer grouping (TPC-H Q13's shape), uncorrelated CTEs over distributed tables (run first,
shipped as scratch tables; referenced twice, alias lists, NULLs and text needing COPY
escapes), uncorrelated scalar subqueries (run first, their value inlined: HAVING
thresholds, WHERE, target list, zero rows = NULL, more than one row = 21000, typed values
of many types), correlated ones (which stay), and all of it inside transactions after
uncommitted writes, with errors and savepoints, and INSERT ... SELECT across distributions.
*/

-- joins on non-distribution columns
SELECT u.id, o.order_id, o.amount FROM users u JOIN orders o ON o.order_id = u.id WHERE u.id <= 60;
SELECT count(*), sum(o.amount) FROM users u JOIN orders o ON o.qty = u.age WHERE o.status = 'paid';
SELECT u.city, count(*) FROM users u JOIN orders o ON o.order_id = u.id GROUP BY u.city;
SELECT o.status, count(DISTINCT u.id) FROM orders o JOIN users u ON u.age = o.qty * 10 GROUP BY o.status;
SELECT u.id, l.log_id FROM users u JOIN logs l ON l.log_id = u.id WHERE l.level = 'error' ORDER BY u.id, l.log_id;
SELECT i.warehouse, count(*), sum(i.stock) FROM inventory i JOIN users u ON u.id = i.inv_id WHERE u.active GROUP BY i.warehouse;
SELECT m.seq, u.name FROM metrics m JOIN users u ON u.id = m.seq WHERE m.m_bool ORDER BY m.seq LIMIT 25;
SELECT s.k, count(*) FROM skewed s JOIN users u ON u.id = s.sk_id GROUP BY s.k ORDER BY s.k;
SELECT e.kind, count(*) FROM events e JOIN users u ON u.id = e.ev_id % 500 GROUP BY e.kind;
SELECT u.id, s.sk_id FROM users u JOIN skewed s ON s.v = u.id WHERE u.id < 80;

-- three- and four-way joins
SELECT u.city, count(*), sum(o.amount) FROM users u JOIN orders o ON o.user_id = u.id JOIN logs l ON l.user_id = u.id WHERE l.level = 'warn' GROUP BY u.city;
SELECT u.id, o.order_id, l.log_id FROM users u JOIN orders o ON o.order_id = u.id JOIN logs l ON l.log_id = o.order_id WHERE u.id < 120 ORDER BY u.id, o.order_id, l.log_id;
SELECT c.cname, count(*) FROM users u JOIN cities ci ON ci.city = u.city JOIN countries c ON c.code = ci.country_code JOIN orders o ON o.user_id = u.id WHERE o.status = 'shipped' GROUP BY c.cname;
SELECT i.warehouse, l.level, count(*) FROM inventory i JOIN logs l ON l.log_id = i.item_id JOIN users u ON u.id = l.user_id JOIN orders o ON o.order_id = i.inv_id GROUP BY i.warehouse, l.level;
SELECT u.id, count(*) FROM users u, orders o, skewed s WHERE o.user_id = u.id AND s.sk_id = o.order_id AND s.k = 7 GROUP BY u.id ORDER BY count(*) DESC, u.id LIMIT 10;
SELECT count(*) FROM orders o JOIN logs l ON l.user_id = o.user_id JOIN inventory i ON i.item_id = l.log_id JOIN metrics m ON m.seq = i.inv_id;
SELECT e.device, count(*) FROM events e JOIN users u ON u.id = e.ev_id % 500 JOIN orders o ON o.order_id = u.id WHERE e.kind = 'buy' GROUP BY e.device ORDER BY count(*) DESC, e.device LIMIT 5;
SELECT u.city, avg(o.amount), min(l.dur_ms), max(i.price) FROM users u JOIN orders o ON o.qty = u.id JOIN logs l ON l.log_id = o.order_id LEFT JOIN inventory i ON i.inv_id = l.log_id GROUP BY u.city;

-- a FROM subquery grouped by the anchor's partitioning column, grouped again outside (TPC-H Q13)
SELECT c, count(*) AS n FROM (SELECT u.id, count(l.log_id) AS c FROM users u LEFT JOIN logs l ON l.user_id = u.id AND l.level <> 'debug' GROUP BY u.id) x GROUP BY c ORDER BY n DESC, c DESC;
SELECT c_count, count(*) AS custdist FROM (SELECT u.id, count(o.order_id) FROM users u LEFT OUTER JOIN orders o ON o.qty = u.id AND o.status NOT LIKE '%c%' GROUP BY u.id) AS c_orders (id, c_count) GROUP BY c_count ORDER BY custdist DESC, c_count DESC;
SELECT n, count(*), sum(total) FROM (SELECT u.id, count(*) AS n, sum(o.amount) AS total FROM users u JOIN orders o ON o.order_id = u.id GROUP BY u.id) x GROUP BY n;
SELECT max(c), min(c), count(*) FROM (SELECT s.k, count(l.log_id) AS c FROM skewed s LEFT JOIN logs l ON l.user_id = s.k GROUP BY s.k) x;
SELECT c, count(*) FROM (SELECT u.id, count(l.log_id) AS c FROM users u LEFT JOIN logs l ON l.user_id = u.id GROUP BY u.id HAVING count(l.log_id) > 1) x GROUP BY c;
SELECT * FROM (SELECT u.id, count(l.log_id) AS c FROM users u JOIN logs l ON l.user_id = u.id GROUP BY u.id) x WHERE c > 3 ORDER BY id;
SELECT lvl, count(*) FROM (SELECT l.level AS lvl, count(*) AS c FROM logs l JOIN users u ON u.id = l.user_id GROUP BY l.level) x GROUP BY lvl;
SELECT c, count(*) FROM (SELECT u.age, count(l.log_id) AS c FROM users u LEFT JOIN logs l ON l.user_id = u.id GROUP BY u.age) x GROUP BY c ORDER BY c;

-- CTEs over distributed tables (run first, then joined locally)
WITH revenue (uid, total) AS (SELECT user_id, sum(amount) FROM orders WHERE status <> 'cancelled' GROUP BY user_id) SELECT u.id, u.name, r.total FROM users u, revenue r WHERE u.id = r.uid AND r.total = (SELECT max(total) FROM revenue) ORDER BY u.id;
WITH t AS (SELECT level, count(*) AS n FROM logs GROUP BY level) SELECT u.city, t.level, t.n FROM users u JOIN t ON t.n > u.age WHERE u.id < 30 ORDER BY u.city NULLS FIRST, t.level, u.id;
WITH t AS (SELECT user_id, max(dur_ms) AS worst FROM logs GROUP BY user_id) SELECT o.status, count(*), sum(t.worst) FROM orders o JOIN t ON t.user_id = o.user_id GROUP BY o.status;
WITH a AS (SELECT id FROM users WHERE age < 25), b AS (SELECT user_id FROM orders WHERE amount > 500) SELECT count(*) FROM a JOIN b ON b.user_id = a.id;
WITH a AS (SELECT id, city FROM users WHERE age > 60) SELECT a.city, count(*) FROM a JOIN logs l ON l.user_id = a.id GROUP BY a.city;
WITH a AS (SELECT id, note FROM users WHERE id < 40) SELECT id, note FROM a ORDER BY id;
WITH a AS (SELECT id, coalesce(note, 'x') || E'\ttab\nline\\back' AS weird FROM users WHERE id < 25) SELECT a.id, a.weird, length(a.weird) FROM a JOIN orders o ON o.order_id = a.id ORDER BY a.id;
WITH a AS (SELECT id, NULL::text AS nothing, tags, profile, uid, last_login FROM users WHERE id % 50 = 1) SELECT a.id, a.nothing, a.tags, a.profile, a.uid, a.last_login FROM a JOIN orders o ON o.order_id = a.id ORDER BY a.id;
WITH a AS (SELECT device, count(*) AS n FROM events GROUP BY device) SELECT count(*), sum(n), max(n) FROM a;
WITH a AS (SELECT big_id, m_num FROM metrics WHERE m_bool) SELECT count(*), sum(a.m_num) FROM a JOIN metrics m ON m.big_id = a.big_id;
WITH a AS (SELECT user_id, count(*) AS c FROM orders GROUP BY user_id) SELECT c, count(*) FROM a GROUP BY c ORDER BY c;
WITH empty AS (SELECT id FROM users WHERE id < 0) SELECT count(*) FROM empty JOIN orders o ON o.user_id = empty.id;
WITH x AS (SELECT * FROM (SELECT 1 AS one) s) SELECT count(*) FROM x JOIN users u ON u.id = x.one;
WITH a AS (SELECT id FROM users WHERE city = 'oslo') SELECT count(*) FROM orders WHERE user_id IN (SELECT id FROM a);
WITH a AS (SELECT id FROM users WHERE city = 'oslo') SELECT count(*) FROM logs l WHERE NOT EXISTS (SELECT 1 FROM a WHERE a.id = l.user_id);
WITH a AS MATERIALIZED (SELECT user_id, sum(qty) AS q FROM orders GROUP BY user_id) SELECT u.city, sum(a.q) FROM users u JOIN a ON a.user_id = u.id GROUP BY u.city;
WITH a AS (SELECT id FROM users WHERE id < 10) SELECT a.id, (SELECT count(*) FROM a a2 WHERE a2.id < a.id) FROM a ORDER BY a.id;

-- uncorrelated scalar subqueries (run first, their value inlined)
SELECT user_id, sum(amount) AS v FROM orders GROUP BY user_id HAVING sum(amount) > (SELECT sum(amount) * 0.002 FROM orders) ORDER BY v DESC, user_id;
SELECT u.id, sum(o.amount) FROM users u JOIN orders o ON o.order_id = u.id GROUP BY u.id HAVING sum(o.amount) > (SELECT avg(amount) FROM orders o2 JOIN logs l ON l.log_id = o2.order_id) ORDER BY u.id;
SELECT count(*) FROM users WHERE age > (SELECT avg(qty) FROM orders);
SELECT count(*) FROM logs WHERE dur_ms > (SELECT avg(dur_ms) FROM logs) AND level = 'info';
SELECT id, (SELECT max(amount) FROM orders) AS top, (SELECT min(ts) FROM events) AS first FROM users WHERE id < 6 ORDER BY id;
SELECT count(*) FROM users WHERE signup > (SELECT min(restock) FROM inventory WHERE warehouse = 'w2');
SELECT count(*) FROM orders WHERE amount > (SELECT amount FROM orders WHERE order_id = -1);
SELECT count(*) FROM orders WHERE coalesce((SELECT amount FROM orders WHERE order_id = -1), 0) = 0;
SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM logs) AS both_counts;
SELECT u.id FROM users u WHERE u.name = (SELECT name FROM users WHERE id = 17);
SELECT count(*) FROM users WHERE tags = (SELECT tags FROM users WHERE id = 3);
SELECT count(*) FROM users WHERE profile = (SELECT profile FROM users WHERE id = 4);
SELECT count(*) FROM users WHERE uid = (SELECT uid FROM users WHERE id = 5);
SELECT count(*) FROM events WHERE dur > (SELECT avg(dur) FROM events WHERE kind = 'view');
SELECT count(*) FROM events WHERE val < (SELECT avg(val) FROM events);
SELECT count(*) FROM metrics WHERE big_id > (SELECT avg(big_id) FROM metrics)::bigint;
SELECT count(*) FROM users WHERE active = (SELECT bool_and(active) FROM users WHERE id < 3);
SELECT count(*) FROM events WHERE ts > (SELECT max(last_login) FROM users) - interval '400 days';
SELECT count(*) FROM users WHERE (SELECT count(*) FROM orders WHERE status = 'new') > 100;
SELECT x.cntrycode, count(*) FROM (SELECT substring(city from 1 for 1) AS cntrycode FROM users WHERE score > (SELECT avg(score) FROM users WHERE score > 0) AND NOT EXISTS (SELECT 1 FROM logs l WHERE l.user_id = users.id)) x GROUP BY x.cntrycode ORDER BY x.cntrycode NULLS FIRST;
SELECT count(*) FROM users u WHERE EXISTS (SELECT 1 FROM logs l WHERE l.user_id = u.id AND l.dur_ms > (SELECT avg(dur_ms) FROM logs));
SELECT level, count(*) FROM logs WHERE user_id IN (SELECT user_id FROM orders WHERE amount > (SELECT avg(amount) FROM orders)) GROUP BY level;
SELECT count(*) FROM orders WHERE amount > ALL (SELECT amount FROM orders WHERE order_id < 5);
-- error
SELECT count(*) FROM users WHERE age = (SELECT qty FROM orders WHERE order_id < 10);
-- error
SELECT id FROM users WHERE id < (SELECT user_id FROM orders);
SELECT count(*) FROM users WHERE age < (SELECT qty FROM orders WHERE order_id = 1);

-- correlated subqueries stay correlated (not run first)
SELECT u.id FROM users u WHERE u.age > (SELECT avg(qty) FROM orders o WHERE o.user_id = u.id) * 5 ORDER BY u.id;
SELECT id FROM users WHERE age > (SELECT max(dur_ms) / 100 FROM logs WHERE user_id = id) ORDER BY id;
SELECT o.order_id FROM orders o WHERE o.amount > (SELECT 2 * avg(o2.amount) FROM orders o2 WHERE o2.status = o.status) ORDER BY o.order_id LIMIT 20;

-- inside transactions, after uncommitted writes
BEGIN;
INSERT INTO orders VALUES (900001, 3, 99999.99, 77, 'paid', '2024-01-01 00:00:00+00', 1.5, 'big');
UPDATE users SET age = 99 WHERE id = 3;
WITH t AS (SELECT user_id, sum(amount) AS s FROM orders GROUP BY user_id) SELECT u.id, u.age, t.s FROM users u JOIN t ON t.user_id = u.id WHERE t.s = (SELECT max(s) FROM t);
SELECT count(*) FROM orders WHERE amount > (SELECT max(amount) - 1 FROM orders);
SELECT c, count(*) FROM (SELECT u.id, count(o.order_id) AS c FROM users u LEFT JOIN orders o ON o.qty = u.age GROUP BY u.id) x GROUP BY c ORDER BY c;
SELECT u.id, o.order_id FROM users u JOIN orders o ON o.qty = u.id WHERE o.order_id = 900001;
DELETE FROM logs WHERE level = 'error';
SELECT count(*) FROM logs WHERE dur_ms > (SELECT avg(dur_ms) FROM logs);
WITH e AS (SELECT level, count(*) AS n FROM logs GROUP BY level) SELECT * FROM e ORDER BY level;
ROLLBACK;
SELECT count(*) FROM orders WHERE amount > (SELECT max(amount) - 1 FROM orders);
SELECT count(*) FROM logs WHERE level = 'error';

BEGIN;
UPDATE orders SET amount = amount * 2 WHERE status = 'new';
SAVEPOINT s1;
-- error
SELECT count(*) FROM users WHERE age = (SELECT qty FROM orders);
ROLLBACK TO SAVEPOINT s1;
WITH t AS (SELECT status, sum(amount) AS s FROM orders GROUP BY status) SELECT status, s FROM t ORDER BY status;
SELECT count(*) FROM orders o JOIN users u ON u.id = o.order_id WHERE o.amount > (SELECT avg(amount) FROM orders);
COMMIT;
WITH t AS (SELECT status, sum(amount) AS s FROM orders GROUP BY status) SELECT status, s FROM t ORDER BY status;

BEGIN;
-- error
SELECT count(*) FROM users WHERE age = (SELECT qty FROM orders);
-- error
SELECT 1;
ROLLBACK;

BEGIN ISOLATION LEVEL REPEATABLE READ;
WITH t AS (SELECT user_id, count(*) AS n FROM orders GROUP BY user_id) SELECT count(*), sum(n) FROM t;
SELECT count(*) FROM users u JOIN orders o ON o.order_id = u.id WHERE o.amount > (SELECT avg(amount) FROM orders);
COMMIT;

-- INSERT ... SELECT and CREATE TABLE AS across distributions
CREATE TABLE by_status (status varchar(12), user_id int, total numeric(14,2)) DISTRIBUTE BY HASH (status);
INSERT INTO by_status SELECT o.status, o.user_id, sum(o.amount) FROM orders o JOIN users u ON u.id = o.order_id GROUP BY o.status, o.user_id;
SELECT status, count(*), sum(total) FROM by_status GROUP BY status ORDER BY status;
INSERT INTO by_status SELECT 'cte', uid, t FROM (WITH r AS (SELECT user_id AS uid, sum(amount) AS t FROM orders GROUP BY user_id) SELECT uid, t FROM r WHERE t > (SELECT avg(t) FROM r)) x;
SELECT count(*), sum(total) FROM by_status WHERE status = 'cte';
BEGIN;
INSERT INTO by_status SELECT l.level, l.user_id, l.dur_ms FROM logs l JOIN users u ON u.id = l.log_id WHERE u.age > 50;
SELECT status, count(*) FROM by_status GROUP BY status ORDER BY status;
ROLLBACK;
SELECT status, count(*) FROM by_status GROUP BY status ORDER BY status;
CREATE TABLE heavy AS SELECT u.id, u.city, count(o.order_id) AS n FROM users u LEFT JOIN orders o ON o.qty = u.id GROUP BY u.id, u.city;
SELECT count(*), sum(n) FROM heavy;
SELECT h.city, sum(h.n) FROM heavy h JOIN users u ON u.id = h.id GROUP BY h.city ORDER BY h.city NULLS FIRST;

-- INSERT ... SELECT on the datanodes: rows kept where made (colocated, ROUNDROBIN) or repartitioned by the target's hash
CREATE TABLE by_user (user_id int NOT NULL, n int, total numeric(14,2), first_note text) DISTRIBUTE BY HASH (user_id);
CREATE TABLE by_qty (qty int, order_id int, amount numeric(12,2)) DISTRIBUTE BY HASH (qty);
CREATE TABLE by_device (device text, ev bigint, kind text) DISTRIBUTE BY HASH (device);
CREATE TABLE by_big (big_id bigint, seq int) DISTRIBUTE BY HASH (big_id);
CREATE TABLE rr_copy (log_id int, level text, dur_ms int) DISTRIBUTE BY ROUNDROBIN;
CREATE TABLE rep_copy (code text, n int) DISTRIBUTE BY REPLICATION;
CREATE TABLE keyed (k int PRIMARY KEY, v int) DISTRIBUTE BY HASH (k);
INSERT INTO by_user SELECT user_id, count(*), sum(amount), min(note) FROM orders GROUP BY user_id;
INSERT INTO by_user (user_id, n) SELECT o.user_id, o.qty FROM orders o JOIN users u ON u.id = o.user_id WHERE u.age > 70;
INSERT INTO by_qty SELECT qty, order_id, amount FROM orders WHERE status = 'paid';
INSERT INTO by_qty (qty, order_id) SELECT l.dur_ms % 50, l.log_id FROM logs l WHERE l.level = 'warn' RETURNING qty, order_id;
INSERT INTO by_qty SELECT NULL, order_id, amount FROM orders WHERE order_id < 20;
INSERT INTO by_device SELECT device, ev_id, kind FROM events WHERE kind IS DISTINCT FROM 'view';
INSERT INTO by_device SELECT u.city, u.id, u.name FROM users u WHERE u.city IS NOT NULL AND u.id < 200;
INSERT INTO by_big SELECT big_id, seq FROM metrics WHERE m_bool;
INSERT INTO by_big SELECT user_id::bigint * 1000000007, order_id FROM orders WHERE qty > 5;
INSERT INTO rr_copy SELECT log_id, level, dur_ms FROM logs WHERE dur_ms > 2000;
INSERT INTO rr_copy SELECT o.order_id, o.status, o.qty FROM orders o JOIN users u ON u.id = o.order_id;
INSERT INTO rep_copy SELECT city, count(*) FROM users WHERE city IS NOT NULL GROUP BY city;
INSERT INTO rep_copy SELECT status, qty FROM orders WHERE order_id < 30;
INSERT INTO keyed SELECT order_id, qty FROM orders WHERE order_id <= 100;
INSERT INTO keyed SELECT order_id, -1 FROM orders WHERE order_id BETWEEN 90 AND 110 ON CONFLICT (k) DO UPDATE SET v = excluded.v RETURNING k, v;
INSERT INTO keyed SELECT order_id + 1000, qty FROM orders WHERE order_id <= 50 ON CONFLICT DO NOTHING;
SELECT count(*), sum(user_id), sum(n), sum(total), count(first_note) FROM by_user;
SELECT qty, count(*), sum(order_id), sum(amount) FROM by_qty GROUP BY qty ORDER BY qty NULLS FIRST;
SELECT count(*), sum(ev), count(kind) FROM by_device;
SELECT device, count(*) FROM by_device WHERE device IN ('oslo', 'lima') GROUP BY device ORDER BY device;
SELECT count(*), sum(big_id), sum(seq) FROM by_big;
SELECT level, count(*), sum(dur_ms) FROM rr_copy GROUP BY level ORDER BY level;
SELECT code, sum(n) FROM rep_copy GROUP BY code ORDER BY code;
SELECT count(*), sum(k), sum(v) FROM keyed;
SELECT b.user_id, b.n, u.name FROM by_user b JOIN users u ON u.id = b.user_id WHERE b.user_id < 15 ORDER BY b.user_id, b.n;
SELECT d.device, count(*) FROM by_device d JOIN events e ON e.device = d.device GROUP BY d.device ORDER BY count(*) DESC, d.device LIMIT 5;
-- error
INSERT INTO by_user SELECT NULL, 1, 2, 'x' FROM orders WHERE order_id < 5;
-- error
INSERT INTO keyed SELECT order_id % 3, 1 FROM orders WHERE order_id < 10;
SELECT count(*), sum(k), sum(v) FROM keyed;
BEGIN;
INSERT INTO orders VALUES (900002, 42, 1.00, 3, 'paid', '2024-01-01 00:00:00+00', 1.0, 'fresh');
INSERT INTO by_qty SELECT qty, order_id, amount FROM orders WHERE order_id = 900002;
INSERT INTO by_user (user_id, n) SELECT user_id, qty FROM orders WHERE order_id = 900002;
SELECT count(*) FROM by_qty WHERE order_id = 900002;
SELECT n FROM by_user WHERE user_id = 42 ORDER BY n;
-- error
INSERT INTO keyed SELECT 1, qty FROM orders WHERE order_id = 900002;
ROLLBACK;
SELECT count(*) FROM by_qty WHERE order_id = 900002;
SELECT count(*) FROM by_user WHERE user_id = 42;
BEGIN;
DELETE FROM by_qty WHERE qty IS NULL;
INSERT INTO by_qty SELECT qty, order_id + 5000, amount FROM by_qty WHERE qty < 5;
SELECT qty, count(*) FROM by_qty GROUP BY qty ORDER BY qty NULLS FIRST;
COMMIT;
SELECT qty, count(*), sum(order_id) FROM by_qty GROUP BY qty ORDER BY qty NULLS FIRST;

-- repartitioned rows cut to the keys the filtered anchor has (semi-join reduction)
SELECT o.status, count(*), sum(l.dur_ms) FROM orders o JOIN logs l ON l.user_id = o.user_id WHERE o.status = 'paid' AND o.qty > 3 GROUP BY o.status;
SELECT count(*) FROM orders o WHERE o.status = 'new' AND o.amount > (SELECT avg(l.dur_ms) FROM logs l WHERE l.user_id = o.user_id);
SELECT count(*) FROM orders o WHERE o.status = 'shipped' AND NOT EXISTS (SELECT 1 FROM logs l WHERE l.user_id = o.user_id AND l.level = 'error');
SELECT o.order_id, l.log_id FROM orders o LEFT JOIN logs l ON l.user_id = o.user_id AND l.level = 'warn' WHERE o.status = 'cancelled' AND o.order_id < 400 ORDER BY o.order_id, l.log_id NULLS FIRST;
SELECT count(*) FROM orders o WHERE o.qty = 1 AND o.user_id IN (SELECT l.user_id FROM logs l WHERE l.dur_ms > 1000);
SELECT count(*) FROM orders o JOIN logs l ON l.user_id = o.user_id WHERE o.status = 'nothing-matches';
BEGIN;
INSERT INTO logs VALUES (99001, 7, 'error', 'fresh', '2024-01-01 00:00:00+00', 5), (99002, 8, 'info', 'fresh', '2024-01-01 00:00:00+00', 6);
UPDATE orders SET status = 'paid' WHERE user_id IN (7, 8);
SELECT o.status, count(*), sum(l.dur_ms) FROM orders o JOIN logs l ON l.user_id = o.user_id WHERE o.status = 'paid' AND o.qty > 3 GROUP BY o.status;
SELECT count(*) FROM orders o WHERE o.status = 'paid' AND EXISTS (SELECT 1 FROM logs l WHERE l.user_id = o.user_id AND l.msg = 'fresh');
ROLLBACK;
