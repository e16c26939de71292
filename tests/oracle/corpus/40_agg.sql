/*
Aggregation.
Exercises: planner strategy 3, two-phase aggregation (partial aggregates on the nodes,
combined on the coordinator: count, count(DISTINCT), sum, avg as sum/count with
PostgreSQL's result type and numeric display scale, min, max, bool_and/bool_or/every,
stddev/variance families from sums of squares, string_agg/array_agg with ORDER BY inside,
HAVING/ORDER BY/LIMIT after combining), and strategy 2 for GROUP BY containing the
distribution column (fully pushed down). Also GROUP BY non-distribution columns and
expressions (strategy 3 or 4), aggregates over empty tables and all-NULL groups, and the
hot group of the skewed table. Float results are compared with a 1e-9 relative tolerance;
numeric results must match exactly, including the scale.
*/

-- plain aggregates over whole tables
SELECT count(*) FROM users;
SELECT count(*), count(age), count(city), count(DISTINCT city), count(DISTINCT age) FROM users;
SELECT count(id), count(DISTINCT id) FROM users;
SELECT count(*), count(DISTINCT user_id), count(DISTINCT status), count(qty) FROM orders;
SELECT sum(age), min(age), max(age), avg(age) FROM users;
SELECT sum(score), min(score), max(score), avg(score) FROM users;
SELECT round(avg(age), 6), round(avg(score), 6) FROM users;
SELECT sum(amount), avg(amount), sum(qty), avg(qty), min(created), max(created) FROM orders;
SELECT sum(amount * qty), sum(amount) / count(*), sum(qty)::numeric / count(qty) FROM orders;
SELECT sum(weight), avg(weight), min(weight), max(weight) FROM orders;
SELECT round(sum(weight)::numeric, 6), round(avg(weight)::numeric, 6) FROM orders;
SELECT sum(big_id), avg(big_id), min(big_id), max(big_id) FROM metrics;
SELECT sum(m_int), sum(m_num), avg(m_num), sum(m_small), avg(m_small), min(m_num), max(m_num) FROM metrics;
SELECT sum(ev_id), avg(ev_id), min(ev_id), max(ev_id), sum(val), avg(val) FROM events;
SELECT min(name), max(name), min(city), max(city), min(email), max(email) FROM users;
SELECT min(signup), max(signup), min(last_login), max(last_login) FROM users;
SELECT min(dur), max(dur), sum(dur), avg(dur) FROM events;
SELECT min(uid::text), max(uid::text), count(DISTINCT uid) FROM users;
SELECT min(day), max(day) FROM metrics;
SELECT bool_and(active), bool_or(active), every(active) FROM users;
SELECT bool_and(m_bool), bool_or(m_bool), every(m_bool), bool_and(m_bool) FILTER (WHERE m_int > 0) FROM metrics;
SELECT bool_and(coastal), bool_or(coastal) FROM cities;
SELECT count(*) FILTER (WHERE age > 50), sum(score) FILTER (WHERE city = 'oslo') FROM users;
SELECT count(*) FROM (SELECT DISTINCT city, active FROM users) x;

-- statistics
SELECT stddev(age), stddev_samp(age), stddev_pop(age), variance(age), var_samp(age), var_pop(age) FROM users;
SELECT stddev(score), stddev_pop(score), variance(score), var_pop(score) FROM users;
SELECT round(stddev(score), 8), round(var_pop(score), 8) FROM users;
SELECT stddev(weight), stddev_pop(weight), variance(weight), var_pop(weight) FROM orders;
SELECT stddev(val), var_samp(val), stddev(ratio), var_pop(ratio) FROM events, (SELECT 0.5::float8 AS ratio) c;
SELECT stddev(m_num), variance(m_num), stddev(m_int), variance(m_small), stddev(big_id) FROM metrics;
SELECT corr(age, score::float8), covar_pop(age, id), regr_slope(score::float8, age) FROM users;
SELECT stddev(age), variance(age) FROM users WHERE id = 1;
SELECT user_id, stddev(amount), var_pop(amount) FROM orders WHERE user_id < 40 GROUP BY user_id;

-- string_agg / array_agg with ORDER BY inside
SELECT string_agg(name, ',' ORDER BY name) FROM users WHERE id < 30;
SELECT string_agg(name, ',' ORDER BY id DESC) FROM users WHERE city = 'lima';
SELECT city, string_agg(name, ';' ORDER BY age NULLS FIRST, id) FROM users GROUP BY city;
SELECT array_agg(id ORDER BY id) FROM users WHERE age = 40;
SELECT array_agg(order_id ORDER BY amount DESC, order_id) FROM orders WHERE user_id = 1;
SELECT user_id, array_agg(status ORDER BY order_id) FROM orders WHERE user_id < 30 GROUP BY user_id;
SELECT status, array_agg(DISTINCT user_id ORDER BY user_id) FROM orders WHERE user_id < 15 GROUP BY status;
SELECT string_agg(DISTINCT city, '|' ORDER BY city) FROM users;
SELECT device, string_agg(kind, ',' ORDER BY ev_id) FROM events GROUP BY device;
-- count(alias.*) of an outer join's side beside a shipped aggregate (the whole row of a
-- null-extended side is NULL; a row of NULL fields is not)
SELECT u.city, count(o.*), count(o), array_agg(o.status ORDER BY o.order_id) FROM users u LEFT JOIN orders o ON o.user_id = u.id AND o.order_id < 40 WHERE u.id < 25 GROUP BY u.city ORDER BY 1;
SELECT u.city, count(DISTINCT o.*), array_agg(o.order_id ORDER BY o.order_id) FROM users u LEFT JOIN orders o ON o.user_id = u.id AND o.order_id < 40 WHERE u.id < 25 GROUP BY u.city ORDER BY 1;
SELECT u.city, array_agg(o.* ORDER BY o.order_id)::text FROM users u JOIN orders o ON o.user_id = u.id AND o.order_id < 12 GROUP BY u.city ORDER BY 1;
SELECT array_agg(tags ORDER BY id) FROM users WHERE id < 20 AND tags IS NOT NULL AND cardinality(tags) = 2;
SELECT jsonb_agg(name ORDER BY id), json_object_agg(name, age ORDER BY id) FROM users WHERE id < 15;
SELECT jsonb_object_agg(code, cname) FROM countries;
SELECT count(*), array_agg(code ORDER BY code) FROM countries WHERE population IS NULL;

-- GROUP BY the distribution column (pushdown)
SELECT user_id, count(*), sum(amount), avg(amount), min(qty), max(qty) FROM orders GROUP BY user_id;
SELECT id, count(*) FROM users GROUP BY id HAVING count(*) > 1;
SELECT device, count(*), count(DISTINCT kind), min(ts), max(ts), sum(val) FROM events GROUP BY device;
SELECT big_id, count(*), sum(m_num) FROM metrics GROUP BY big_id;
SELECT item_id, sum(stock), avg(price) FROM inventory GROUP BY item_id;
SELECT k, count(*), sum(v), avg(v) FROM skewed GROUP BY k;
SELECT user_id, count(*) FROM orders GROUP BY user_id HAVING count(*) >= 10;
SELECT user_id, sum(amount) FROM orders GROUP BY user_id ORDER BY sum(amount) DESC, user_id LIMIT 10;
SELECT user_id, status, count(*) FROM orders GROUP BY user_id, status;
SELECT o.user_id, u.name, count(*) FROM orders o JOIN users u ON u.id = o.user_id GROUP BY o.user_id, u.name;

-- GROUP BY non-distribution columns
SELECT city, count(*), avg(age), sum(score), min(name), max(name) FROM users GROUP BY city;
SELECT active, count(*), count(age), avg(score) FROM users GROUP BY active;
SELECT status, count(*), sum(amount), avg(amount), count(DISTINCT user_id) FROM orders GROUP BY status;
SELECT kind, count(*), avg(val), stddev(val) FROM events GROUP BY kind;
SELECT m_bool, count(*), sum(big_id), avg(m_int) FROM metrics GROUP BY m_bool;
SELECT warehouse, count(*), sum(stock), count(DISTINCT item_id), max(restock) FROM inventory GROUP BY warehouse;
SELECT level, count(*), count(user_id), count(DISTINCT user_id), avg(dur_ms) FROM logs GROUP BY level;
SELECT s, count(*), count(DISTINCT k), sum(v) FROM skewed GROUP BY s;
SELECT city, active, count(*) FROM users GROUP BY city, active;
SELECT qty, count(*) FROM orders GROUP BY qty;
SELECT age, count(*) FROM users GROUP BY age HAVING count(*) > 8;
SELECT signup, count(*) FROM users GROUP BY signup HAVING count(*) > 1;
SELECT uid, count(*) FROM users GROUP BY uid HAVING count(*) > 1;
SELECT tags, count(*) FROM users GROUP BY tags;
SELECT profile -> 'pref' ->> 'color', count(*) FROM users GROUP BY 1;
SELECT dur, count(*) FROM events GROUP BY dur HAVING count(*) > 1;
SELECT code, kind, count(*) FROM events GROUP BY code, kind HAVING count(*) > 3;

-- GROUP BY expressions
SELECT age / 10 AS decade, count(*), avg(score) FROM users GROUP BY age / 10;
SELECT date_trunc('month', created) AS m, count(*), sum(amount) FROM orders GROUP BY 1;
SELECT extract(dow FROM created), status, count(*) FROM orders GROUP BY 1, 2;
SELECT upper(city), count(*) FROM users GROUP BY upper(city);
SELECT id % 5, count(*), sum(age) FROM users GROUP BY id % 5;
SELECT user_id % 10, count(*) FROM orders GROUP BY user_id % 10;
SELECT CASE WHEN amount > 2500 THEN 'big' ELSE 'small' END, count(*), sum(amount) FROM orders GROUP BY 1;
SELECT length(device), count(*) FROM events GROUP BY length(device);
SELECT big_id > 0, count(*), min(big_id), max(big_id) FROM metrics GROUP BY big_id > 0;
SELECT substr(name, 1, 2), count(*) FROM users GROUP BY substr(name, 1, 2);
SELECT coalesce(city, '?'), count(*) FROM users GROUP BY coalesce(city, '?');
SELECT (payload ->> 'n')::int % 10, count(*) FROM events GROUP BY 1;

-- HAVING
SELECT city, count(*) FROM users GROUP BY city HAVING count(*) > 55;
SELECT city, avg(age) FROM users GROUP BY city HAVING avg(age) > 49;
SELECT status, sum(amount) FROM orders GROUP BY status HAVING sum(amount) > 1500000;
SELECT user_id FROM orders GROUP BY user_id HAVING bool_and(status <> 'cancelled');
SELECT user_id, max(amount) - min(amount) FROM orders GROUP BY user_id HAVING max(amount) - min(amount) > 4000;
SELECT device FROM events GROUP BY device HAVING count(DISTINCT kind) = 3 AND count(*) < 20;
SELECT level FROM logs GROUP BY level HAVING min(dur_ms) = 0;
SELECT count(*) FROM users HAVING count(*) > 0;
SELECT count(*) FROM users HAVING count(*) > 100000;
SELECT k FROM skewed GROUP BY k HAVING count(*) > 100;

-- expressions over aggregates
SELECT sum(amount) / count(*), round(sum(amount) / count(*), 2), max(amount) - min(amount) FROM orders;
SELECT status, sum(amount) / count(*) AS mean, count(*) * 100 / (SELECT count(*) FROM orders) AS pct FROM orders GROUP BY status;
SELECT city, sum(age)::numeric / count(age), avg(age) = sum(age)::numeric / count(age) FROM users GROUP BY city;
SELECT count(*) + 1, sum(age) * 2, coalesce(max(age), 0) + min(age) FROM users;
SELECT user_id, round(100.0 * sum(qty) / NULLIF(count(*), 0), 3) FROM orders WHERE user_id < 50 GROUP BY user_id;
SELECT CASE WHEN count(*) > 100 THEN 'many' ELSE 'few' END, city FROM users GROUP BY city;
SELECT kind, round((sum(val) / count(val))::numeric, 6), round(avg(val)::numeric, 6) FROM events GROUP BY kind;

-- empty tables and empty inputs
SELECT count(*), count(val), sum(val), avg(val), min(val), max(val) FROM empty_t;
SELECT sum(price), avg(price), stddev(price), variance(price), sum(f), avg(f), stddev(f) FROM empty_t;
SELECT bool_and(val > 0), bool_or(val > 0), every(val > 0), string_agg(label, ','), array_agg(id) FROM empty_t;
SELECT count(DISTINCT label), min(label), max(label) FROM empty_t;
SELECT id, count(*) FROM empty_t GROUP BY id;
SELECT label, sum(val) FROM empty_t GROUP BY label;
SELECT count(*), sum(age), avg(score) FROM users WHERE id < 0;
SELECT count(*), sum(amount) FROM orders WHERE user_id = 99999;
SELECT count(*) FROM empty_t HAVING count(*) = 0;

-- all-NULL groups
SELECT id % 13 = 0 AS nullscore, sum(score), avg(score), min(score), max(score), count(score) FROM users GROUP BY 1;
SELECT sum(age), avg(age), stddev(age), bool_and(active) FROM users WHERE age IS NULL;
SELECT city, sum(score), avg(score), count(score) FROM users WHERE score IS NULL GROUP BY city;
SELECT qty IS NULL, sum(qty), avg(qty), max(qty) FROM orders GROUP BY qty IS NULL;
SELECT string_agg(note, ',' ORDER BY id), array_agg(note ORDER BY id) FROM users WHERE note IS NULL AND id < 40;
SELECT count(DISTINCT note), count(note) FROM users WHERE id % 4 = 0;
SELECT m_bool, count(*), sum(m_int) FROM metrics WHERE m_bool IS NULL GROUP BY m_bool;

-- skewed hot group
SELECT k, count(*), count(DISTINCT v), sum(v), avg(v), stddev(v), min(s), max(s) FROM skewed GROUP BY k HAVING count(*) > 50;
SELECT v, count(*) FROM skewed WHERE k = 7 GROUP BY v;
SELECT count(*), count(DISTINCT k), count(DISTINCT v), count(DISTINCT (k, v)) FROM skewed;

-- ordered-set and misc aggregates
SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY age), percentile_cont(0.25) WITHIN GROUP (ORDER BY age) FROM users;
SELECT city, percentile_disc(0.9) WITHIN GROUP (ORDER BY score) FROM users GROUP BY city;
SELECT mode() WITHIN GROUP (ORDER BY status) FROM orders;
SELECT bit_and(age), bit_or(age), bit_xor(age) FROM users;
SELECT count(*) FROM (SELECT user_id FROM orders GROUP BY user_id) x;
SELECT avg(c), max(c) FROM (SELECT user_id, count(*) AS c FROM orders GROUP BY user_id) x;
SELECT GROUPING(city), city, count(*) FROM users GROUP BY ROLLUP (city);
SELECT status, qty > 5, count(*) FROM orders GROUP BY CUBE (status, qty > 5);
SELECT city, active, count(*) FROM users GROUP BY GROUPING SETS ((city), (active), ());

-- variance of real: PostgreSQL accumulates each value's exact binary value (as float8),
-- not its 6-digit decimal text (aggregates.sql of PostgreSQL's regression suite)
CREATE TABLE agg_f4 (id int, r real) DISTRIBUTE BY HASH (id);
INSERT INTO agg_f4 SELECT g, (g * 1.37)::real / 3 FROM generate_series(1, 500) g;
INSERT INTO agg_f4 VALUES (501, 0.1), (502, 100.5), (503, -7.25e-3), (504, NULL);
SELECT stddev_pop(r), stddev_samp(r), var_pop(r), var_samp(r), variance(r), stddev(r) FROM agg_f4;
SELECT id % 3 AS k, stddev(r), var_pop(r) FROM agg_f4 GROUP BY 1 ORDER BY 1;
SELECT stddev_pop(r::float8), var_samp(r::numeric) FROM agg_f4;

-- columns functionally dependent on a grouped primary key (as ORMs write GROUP BY pk)
SELECT u.name, u.city, count(o.order_id) AS n FROM users u LEFT JOIN orders o ON o.user_id = u.id GROUP BY u.id ORDER BY n DESC, u.id LIMIT 10;
SELECT name, age, count(*) FROM users GROUP BY id HAVING age > 30 ORDER BY name, age LIMIT 5;
SELECT u.id, u.name, sum(o.amount) FROM users u JOIN orders o ON o.user_id = u.id GROUP BY u.id ORDER BY 3 DESC NULLS LAST, 1 LIMIT 5;
-- error
SELECT status, amount, count(*) FROM orders GROUP BY status;
-- error
SELECT name, count(*) FROM users;

-- Order-sensitive aggregates over a sorted subquery take its order (as PostgreSQL feeds them).
SELECT array_agg(id) FROM (SELECT id FROM users WHERE id < 25 ORDER BY id) s;
SELECT string_agg(name, ',') FROM (SELECT name, id FROM users WHERE id < 20 ORDER BY id DESC) s;
SELECT json_agg(order_id) FROM (SELECT order_id FROM orders WHERE order_id < 30 ORDER BY amount, order_id) s;

-- SQL/JSON aggregate constructors are aggregates (they were concatenated per node).
SELECT JSON_ARRAYAGG(id ORDER BY id) FROM users WHERE id < 30;
SELECT JSON_OBJECTAGG(id::text: name RETURNING jsonb) FROM users WHERE id < 6;
SELECT active, JSON_ARRAYAGG(id ORDER BY id) FROM users WHERE id < 40 GROUP BY active ORDER BY active;
SELECT id, JSON_ARRAYAGG(id) OVER (ORDER BY id) FROM users WHERE id < 8 ORDER BY id;
